/* wr_core queues with fake consumers and a fake clock: FIFO, round robin,
 * credit, consumer priorities, single active consumer, requeue order,
 * exclusive/auto-delete rules, purge, TTL, length limits, dead-lettering
 * (x-death), priority queues, declare argument validation texts. */
#include "tests/unit/core_fixture.h"

static int setup(void **state)
{
    fx_now = 1000000;
    *state = fx_vhost();
    return 0;
}

static int teardown(void **state)
{
    vhost_free(*state);
    return 0;
}

/* ---- FIFO, get ------------------------------------------------------------ */

static void t_fifo_get(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg("a"));
    fx_pub(q, fx_msg("b"));
    fx_pub(q, fx_msg("c"));
    assert_int_equal(queue_message_count(q), 3);
    queue_got g;
    assert_true(queue_get(q, true, &g));
    assert_string_equal(fx_body(g.msg), "a");
    assert_int_equal(g.remaining, 2);
    assert_false(g.redelivered);
    msg_unref(g.msg);
    fx_get_expect(q, "b");
    fx_get_expect(q, "c");
    assert_false(queue_get(q, true, &g));
    assert_null(g.msg);
}

static void t_get_unacked_then_ack(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg("a"));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    assert_int_equal(queue_message_count(q), 0);
    assert_int_equal(queue_unacked_count(q), 1);
    queue_ack(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(queue_unacked_count(q), 0);
}

static void t_qpos_increasing(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons c;
    fx_consume(&c, q, -1, false, false, 0);
    for (int i = 0; i < 5; i++) fx_pub(q, fx_msg("m"));
    assert_int_equal(c.n, 5);
    for (int i = 1; i < 5; i++) assert_true(c.qpos[i] > c.qpos[i - 1]);
    for (int i = 0; i < 5; i++) queue_ack(q, c.qpos[i], c.got[i]);
    fx_cons_free(&c);
}

/* ---- consumers ------------------------------------------------------------ */

static void t_deliver_on_publish(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons c;
    fx_consume(&c, q, -1, true, false, 0);
    assert_int_equal(queue_consumer_count(q), 1);
    fx_pub(q, fx_msg("x"));
    assert_int_equal(c.n, 1);
    assert_string_equal(fx_body(c.got[0]), "x");
    assert_int_equal(queue_message_count(q), 0);
    assert_int_equal(queue_unacked_count(q), 0); /* no-ack: settled on delivery */
    fx_cons_free(&c);
}

static void t_consume_does_not_deliver_until_kick(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg("a"));
    fx_pub(q, fx_msg("b"));
    fake_cons c;
    fx_consume(&c, q, -1, true, false, 0);
    assert_int_equal(c.n, 0);
    queue_kick(q);
    assert_int_equal(c.n, 2);
    assert_string_equal(fx_body(c.got[0]), "a");
    assert_string_equal(fx_body(c.got[1]), "b");
    fx_cons_free(&c);
}

static void t_round_robin(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons a, b;
    fx_consume(&a, q, -1, true, false, 0);
    fx_consume(&b, q, -1, true, false, 0);
    for (int i = 0; i < 6; i++) fx_pub(q, fx_msg(i % 2 ? "odd" : "even"));
    assert_int_equal(a.n, 3);
    assert_int_equal(b.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(fx_body(a.got[i]), "even");
        assert_string_equal(fx_body(b.got[i]), "odd");
    }
    fx_cons_free(&a);
    fx_cons_free(&b);
}

static void t_credit_limits_and_kick(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons c;
    fx_consume(&c, q, 2, false, false, 0);
    for (int i = 0; i < 5; i++) fx_pub(q, fx_msg("m"));
    assert_int_equal(c.n, 2);
    assert_int_equal(queue_message_count(q), 3);
    assert_int_equal(queue_unacked_count(q), 2);
    c.credit = 10;
    queue_kick(q);
    assert_int_equal(c.n, 5);
    assert_int_equal(queue_message_count(q), 0);
    for (int i = 0; i < 5; i++) queue_ack(q, c.qpos[i], c.got[i]);
    assert_int_equal(queue_unacked_count(q), 0);
    fx_cons_free(&c);
}

static void t_consumer_priorities(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons lo, hi;
    fx_consume(&lo, q, -1, true, false, 0);
    fx_consume(&hi, q, 3, true, false, 10);
    for (int i = 0; i < 5; i++) fx_pub(q, fx_msg("m"));
    assert_int_equal(hi.n, 3); /* all while it has credit */
    assert_int_equal(lo.n, 2); /* then the lower priority */
    fx_cons_free(&lo);
    fx_cons_free(&hi);
}

static void t_deliver_failure_keeps_message(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons c;
    fx_consume(&c, q, -1, false, false, 0);
    c.fail = 1;
    fx_pub(q, fx_msg("a"));
    assert_int_equal(c.n, 0);
    assert_int_equal(queue_message_count(q), 1);
    assert_int_equal(queue_unacked_count(q), 0);
    queue_kick(q);
    assert_int_equal(c.n, 1);
    assert_false(c.redelivered[0]);
    queue_ack(q, c.qpos[0], c.got[0]);
    fx_cons_free(&c);
}

static void t_single_active_consumer(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_bool(&a, "x-single-active-consumer", true);
    wr_queue *q = fx_declare(v, "sac", &a);
    wr_buf_free(&a);
    fake_cons c1, c2;
    fx_consume(&c1, q, -1, true, false, 0);
    fx_consume(&c2, q, -1, true, false, 5);
    assert_int_equal(queue_consumer_count(q), 2);
    for (int i = 0; i < 4; i++) fx_pub(q, fx_msg("m"));
    assert_int_equal(c1.n, 4);
    assert_int_equal(c2.n, 0);
    c1.credit = 0;
    fx_pub(q, fx_msg("waiting"));
    assert_int_equal(c2.n, 0); /* the inactive one never gets any */
    queue_cancel(q, c1.qc);
    assert_int_equal(c2.n, 1); /* handover: the next one takes the backlog */
    assert_string_equal(fx_body(c2.got[0]), "waiting");
    fx_cons_free(&c1);
    fx_cons_free(&c2);
}

static void t_exclusive_consumer_rules(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    assert_true(queue_can_consume(q, true));
    fake_cons c;
    fx_consume(&c, q, -1, true, true, 0);
    assert_false(queue_can_consume(q, false));
    assert_false(queue_can_consume(q, true));
    queue_cancel(q, c.qc);
    assert_true(queue_can_consume(q, false));
    fake_cons d;
    fx_consume(&d, q, -1, true, false, 0);
    assert_false(queue_can_consume(q, true)); /* exclusive while others consume */
    assert_true(queue_can_consume(q, false));
}

/* ---- requeue ---------------------------------------------------------------- */

static void t_requeue_original_order(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    const char *bodies[] = {"1", "2", "3", "4", "5"};
    for (int i = 0; i < 5; i++) fx_pub(q, fx_msg(bodies[i]));
    queue_got g[3];
    for (int i = 0; i < 3; i++) assert_true(queue_get(q, false, &g[i]));
    /* requeue out of order: 3 then 1; 2 stays unacked */
    queue_requeue(q, g[2].qpos, g[2].msg);
    queue_requeue(q, g[0].qpos, g[0].msg);
    assert_int_equal(queue_message_count(q), 4);
    const char *want[] = {"1", "3", "4", "5"};
    const bool redel[] = {true, true, false, false};
    for (int i = 0; i < 4; i++) {
        queue_got x;
        assert_true(queue_get(q, true, &x));
        assert_string_equal(fx_body(x.msg), want[i]);
        assert_int_equal(x.redelivered, redel[i]);
        msg_unref(x.msg);
    }
    queue_ack(q, g[1].qpos, g[1].msg);
    for (int i = 0; i < 3; i++) msg_unref(g[i].msg);
    assert_int_equal(queue_unacked_count(q), 0);
}

static void t_requeue_redelivers_to_consumer(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons c;
    fx_consume(&c, q, 1, false, false, 0);
    fx_pub(q, fx_msg("a"));
    fx_pub(q, fx_msg("b"));
    assert_int_equal(c.n, 1);
    c.credit = 1;
    queue_requeue(q, c.qpos[0], c.got[0]); /* back at the head, ahead of b */
    assert_int_equal(c.n, 2);
    assert_string_equal(fx_body(c.got[1]), "a");
    assert_true(c.redelivered[1]);
    assert_int_equal(queue_message_count(q), 1);
    fx_cons_free(&c);
}

static void t_reject_without_dlx_drops(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg("a"));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(queue_message_count(q), 0);
    assert_int_equal(queue_unacked_count(q), 0);
}

/* ---- purge, delete, auto-delete ------------------------------------------- */

static void t_purge_ready_only(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    for (int i = 0; i < 4; i++) fx_pub(q, fx_msg("m"));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    assert_int_equal(queue_purge(q), 3);
    assert_int_equal(queue_message_count(q), 0);
    assert_int_equal(queue_unacked_count(q), 1);
    assert_int_equal(queue_purge(q), 0);
    queue_requeue(q, g.qpos, g.msg); /* unacked survives the purge */
    msg_unref(g.msg);
    assert_int_equal(queue_message_count(q), 1);
}

static void t_delete_cancels_consumers(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fake_cons c;
    fx_consume(&c, q, -1, false, false, 0);
    fx_pub(q, fx_msg("a"));
    vhost_queue_delete(v, q);
    assert_true(c.cancelled);
    assert_null(vhost_queue(v, S("q")));
    assert_true(queue_is_deleted(q));
    /* the outstanding delivery can still be settled */
    queue_ack(q, c.qpos[0], c.got[0]);
    assert_int_equal(fx_pub(q, fx_msg("late")), QUEUE_PUB_OK);
    vhost_tick(v, fx_now);
    fx_cons_free(&c);
}

static void t_deleted_queue_requeue_is_noop(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg("a"));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    vhost_queue_delete(v, q);
    vhost_tick(v, fx_now); /* not reaped: one delivery outstanding */
    queue_requeue(q, g.qpos, g.msg);
    assert_int_equal(queue_message_count(q), 0);
    msg_unref(g.msg);
    vhost_tick(v, fx_now); /* reaped now */
}

static void t_auto_delete_on_last_cancel(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = NULL;
    wr_amqp_error e;
    assert_int_equal(vhost_queue_declare(v, S("ad"), false, true, NULL, NOARGS, &q, 0, &e), 0);
    vhost_tick(v, fx_now);
    assert_non_null(vhost_queue(v, S("ad"))); /* never consumed: stays */
    fake_cons a, b;
    fx_consume(&a, q, -1, true, false, 0);
    fx_consume(&b, q, -1, true, false, 0);
    queue_cancel(q, a.qc);
    assert_non_null(vhost_queue(v, S("ad")));
    queue_cancel(q, b.qc);
    assert_null(vhost_queue(v, S("ad")));
    assert_false(b.cancelled); /* queue_cancel does not call back */
    vhost_tick(v, fx_now);
}

static void t_exclusive_owner(void **state)
{
    wr_vhost *v = *state;
    wr_conn *c1 = (wr_conn *)(uintptr_t)0x1000, *c2 = (wr_conn *)(uintptr_t)0x2000;
    wr_queue *q = NULL;
    wr_amqp_error e;
    assert_int_equal(vhost_queue_declare(v, S("ex"), false, false, c1, NOARGS, &q, 0, &e), 0);
    assert_ptr_equal(queue_owner(q), c1);
    assert_true(queue_access_ok(q, c1));
    assert_false(queue_access_ok(q, c2));
    wr_queue *p = fx_declare(v, "plain", NULL);
    assert_true(queue_access_ok(p, c2));
    vhost_conn_closed(v, c2);
    assert_non_null(vhost_queue(v, S("ex")));
    vhost_conn_closed(v, c1);
    assert_null(vhost_queue(v, S("ex")));
    assert_non_null(vhost_queue(v, S("plain")));
}

/* ---- TTL ------------------------------------------------------------------ */

static wr_queue *ttl_queue(wr_vhost *v, const char *name, int64_t ttl)
{
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i64(&a, "x-message-ttl", ttl);
    wr_queue *q = fx_declare(v, name, &a);
    wr_buf_free(&a);
    return q;
}

static void t_queue_ttl_tick(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = ttl_queue(v, "t", 1000);
    fx_pub(q, fx_msg("a"));
    fx_now += 500;
    fx_pub(q, fx_msg("b"));
    fx_now += 499;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 2);
    fx_now += 1;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 1);
    fx_now += 500;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 0);
}

static void t_per_message_ttl_min(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = ttl_queue(v, "t", 10000);
    fx_pub(q, fx_msg_exp("short", "100"));
    fx_pub(q, fx_msg_exp("long", "50000"));
    fx_now += 100;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 1);
    fx_now += 9899;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 1); /* queue TTL wins over 50000 */
    fx_now += 1;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 0);
}

static void t_expired_skipped_on_get(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg_exp("old", "10"));
    fx_pub(q, fx_msg("fresh"));
    fx_now += 20;
    queue_got g;
    assert_true(queue_get(q, true, &g));
    assert_string_equal(fx_body(g.msg), "fresh");
    assert_int_equal(g.remaining, 0);
    msg_unref(g.msg);
}

static void t_ttl_zero(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = ttl_queue(v, "z", 0);
    fx_pub(q, fx_msg("nobody"));
    assert_int_equal(queue_message_count(q), 0);
    fake_cons c;
    fx_consume(&c, q, -1, true, false, 0);
    fx_pub(q, fx_msg("taken"));
    assert_int_equal(c.n, 1);
    fx_cons_free(&c);
}

static void t_requeue_keeps_expiry(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = ttl_queue(v, "t", 1000);
    fx_pub(q, fx_msg("a"));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    fx_now += 1000;
    queue_requeue(q, g.qpos, g.msg);
    msg_unref(g.msg);
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 0);
}

static void t_x_expires(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i32(&a, "x-expires", 2000);
    wr_queue *q = fx_declare(v, "exp", &a);
    wr_buf_free(&a);
    fx_now += 1500;
    vhost_tick(v, fx_now);
    assert_non_null(vhost_queue(v, S("exp")));
    queue_touch(q); /* a redeclare counts as use */
    fake_cons c;
    fx_consume(&c, q, -1, true, false, 0);
    fx_now += 5000;
    vhost_tick(v, fx_now);
    assert_non_null(vhost_queue(v, S("exp"))); /* in use by a consumer */
    queue_cancel(q, c.qc);
    fx_now += 1999;
    vhost_tick(v, fx_now);
    assert_false(queue_is_deleted(q));
    fx_now += 1;
    vhost_tick(v, fx_now);
    /* deleted and reaped in the same tick (nothing outstanding) */
    assert_null(vhost_queue(v, S("exp")));
}

static void t_x_expires_publish_is_not_use(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i32(&a, "x-expires", 1000);
    wr_queue *q = fx_declare(v, "exp", &a);
    wr_buf_free(&a);
    fx_now += 900;
    assert_ptr_equal(vhost_queue(v, S("exp")), q);
    fx_pub(q, fx_msg("kept?"));
    fx_now += 100;
    vhost_tick(v, fx_now);
    assert_null(vhost_queue(v, S("exp"))); /* deleted with its message */
}

/* ---- length limits -------------------------------------------------------- */

static wr_queue *limited(wr_vhost *v, const char *name, const char *key, int64_t n,
                         const char *overflow, const char *dlx)
{
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i64(&a, key, n);
    if (overflow) ftable_put_cstr(&a, "x-overflow", overflow);
    if (dlx) ftable_put_cstr(&a, "x-dead-letter-exchange", dlx);
    wr_queue *q = fx_declare(v, name, &a);
    wr_buf_free(&a);
    return q;
}

static void t_max_length_drop_head(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = limited(v, "ml", "x-max-length", 2, NULL, NULL);
    fx_pub(q, fx_msg("1"));
    fx_pub(q, fx_msg("2"));
    assert_int_equal(fx_pub(q, fx_msg("3")), QUEUE_PUB_OK);
    assert_int_equal(queue_message_count(q), 2);
    fx_get_expect(q, "2");
    fx_get_expect(q, "3");
}

static void t_max_length_bytes(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = limited(v, "mlb", "x-max-length-bytes", 10, NULL, NULL);
    fx_pub(q, fx_msg("12345"));
    fx_pub(q, fx_msg("67890"));
    fx_pub(q, fx_msg("abc"));
    assert_int_equal(queue_message_count(q), 2);
    fx_get_expect(q, "67890");
    fx_get_expect(q, "abc");
}

static void t_reject_publish(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = limited(v, "rp", "x-max-length", 1, "reject-publish", NULL);
    assert_int_equal(fx_pub(q, fx_msg("1")), QUEUE_PUB_OK);
    assert_int_equal(fx_pub(q, fx_msg("2")), QUEUE_PUB_REJECTED);
    assert_int_equal(queue_message_count(q), 1);
    fx_get_expect(q, "1");
    assert_int_equal(fx_pub(q, fx_msg("3")), QUEUE_PUB_OK);
}

/* ---- dead-lettering ------------------------------------------------------- */

/* A DLX fanout exchange "dlx" bound to queue "dead"; returns "dead". */
static wr_queue *dead_queue(wr_vhost *v)
{
    wr_exchange *ex = NULL;
    assert_int_equal(
        vhost_exchange_declare(v, S("dlx"), EXCH_FANOUT, false, false, false, NOARGS, &ex), 0);
    wr_queue *d = fx_declare(v, "dead", NULL);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, d, S(""), NOARGS), 0);
    return d;
}

static wr_queue *dlx_source(wr_vhost *v, const char *name, const char *dlrk)
{
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_cstr(&a, "x-dead-letter-exchange", "dlx");
    if (dlrk) ftable_put_cstr(&a, "x-dead-letter-routing-key", dlrk);
    wr_queue *q = fx_declare(v, name, &a);
    wr_buf_free(&a);
    return q;
}

static ftable_value hdr(const wr_msg *m, const char *key)
{
    ftable_value val;
    memset(&val, 0, sizeof(val));
    assert_true(m->props.flags & AMQP091_BASIC_HEADERS_FLAG);
    if (ftable_get(m->props.headers, key, &val) != 0) fail_msg("no header %s", key);
    return val;
}

static void assert_str(ftable_value val, const char *s)
{
    assert_int_equal(val.type, 'S');
    assert_int_equal(val.v.str.len, strlen(s));
    assert_memory_equal(val.v.str.ptr, s, strlen(s));
}

/* The first x-death table of m. */
static wr_bytes first_death(const wr_msg *m, int *n_entries)
{
    ftable_value xd = hdr(m, "x-death");
    assert_int_equal(xd.type, 'A');
    ftable_iter it;
    ftable_iter_init(&it, xd.v.array);
    ftable_value e, first;
    int n = 0;
    while (ftable_array_next(&it, &e) == 1) {
        if (n == 0) first = e;
        n++;
    }
    assert_true(n > 0);
    assert_int_equal(first.type, 'F');
    if (n_entries) *n_entries = n;
    return first.v.table;
}

static void t_dead_letter_rejected(void **state)
{
    wr_vhost *v = *state;
    wr_queue *d = dead_queue(v);
    wr_queue *q = dlx_source(v, "src", NULL);
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    wr_msg *m = fx_msg_props("amq.direct", "key1", "body", &p);
    fx_pub(q, m);
    queue_got g;
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(queue_message_count(d), 1);
    queue_got x;
    assert_true(queue_get(d, true, &x));
    assert_string_equal(fx_body(x.msg), "body");
    assert_int_equal(x.msg->exchange.len, 3); /* republished through "dlx" */
    assert_memory_equal(x.msg->routing_key.ptr, "key1", 4);
    int n;
    wr_bytes death = first_death(x.msg, &n);
    assert_int_equal(n, 1);
    ftable_value val;
    assert_int_equal(ftable_get(death, "count", &val), 0);
    assert_int_equal(val.type, 'l');
    assert_int_equal(val.v.i, 1);
    assert_int_equal(ftable_get(death, "reason", &val), 0);
    assert_str(val, "rejected");
    assert_int_equal(ftable_get(death, "queue", &val), 0);
    assert_str(val, "src");
    assert_int_equal(ftable_get(death, "exchange", &val), 0);
    assert_str(val, "amq.direct");
    assert_int_equal(ftable_get(death, "time", &val), 0);
    assert_int_equal(val.type, 'T');
    assert_int_equal(ftable_get(death, "routing-keys", &val), 0);
    assert_int_equal(val.type, 'A');
    ftable_iter it;
    ftable_iter_init(&it, val.v.array);
    ftable_value rk;
    assert_int_equal(ftable_array_next(&it, &rk), 1);
    assert_str(rk, "key1");
    assert_int_equal(ftable_get(death, "original-expiration", NULL), WR_ENOTFOUND);
    assert_str(hdr(x.msg, "x-first-death-reason"), "rejected");
    assert_str(hdr(x.msg, "x-first-death-queue"), "src");
    assert_str(hdr(x.msg, "x-first-death-exchange"), "amq.direct");
    msg_unref(x.msg);
}

static void t_dead_letter_expired_original_expiration(void **state)
{
    wr_vhost *v = *state;
    wr_queue *d = dead_queue(v);
    wr_queue *q = dlx_source(v, "src", NULL);
    fx_pub(q, fx_msg_exp("e", "50"));
    fx_now += 50;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 0);
    queue_got x;
    assert_true(queue_get(d, true, &x));
    assert_false(x.msg->props.flags & AMQP091_BASIC_EXPIRATION_FLAG);
    assert_int_equal(x.msg->ttl_ms, -1);
    wr_bytes death = first_death(x.msg, NULL);
    ftable_value val;
    assert_int_equal(ftable_get(death, "reason", &val), 0);
    assert_str(val, "expired");
    assert_int_equal(ftable_get(death, "original-expiration", &val), 0);
    assert_str(val, "50");
    msg_unref(x.msg);
}

static void t_dead_letter_maxlen(void **state)
{
    wr_vhost *v = *state;
    wr_queue *d = dead_queue(v);
    wr_queue *q = limited(v, "ml", "x-max-length", 1, NULL, "dlx");
    fx_pub(q, fx_msg("first"));
    fx_pub(q, fx_msg("second"));
    queue_got x;
    assert_true(queue_get(d, true, &x));
    assert_string_equal(fx_body(x.msg), "first");
    ftable_value val;
    assert_int_equal(ftable_get(first_death(x.msg, NULL), "reason", &val), 0);
    assert_str(val, "maxlen");
    msg_unref(x.msg);
}

static void t_reject_publish_dlx(void **state)
{
    wr_vhost *v = *state;
    wr_queue *d = dead_queue(v);
    wr_queue *q = limited(v, "rpd", "x-max-length", 0, "reject-publish-dlx", "dlx");
    assert_int_equal(fx_pub(q, fx_msg("no room")), QUEUE_PUB_REJECTED);
    assert_int_equal(queue_message_count(q), 0);
    assert_int_equal(queue_message_count(d), 1);
}

static void t_dead_letter_routing_key_and_cc(void **state)
{
    wr_vhost *v = *state;
    wr_exchange *ex = NULL;
    assert_int_equal(
        vhost_exchange_declare(v, S("dlx"), EXCH_DIRECT, false, false, false, NOARGS, &ex), 0);
    wr_queue *d = fx_declare(v, "dead", NULL);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, d, S("parked"), NOARGS), 0);
    wr_queue *q = dlx_source(v, "src", "parked");
    /* headers with a CC list: dropped when the routing key is replaced */
    wr_buf cc, h;
    wr_buf_init(&cc);
    wr_buf_init(&h);
    ftable_value s = {.type = 'S'};
    s.v.str = S("other");
    ftable_array_put_value(&cc, &s);
    ftable_put_array(&h, "CC", (wr_bytes){cc.data, (uint32_t)cc.len});
    ftable_put_cstr(&h, "app", "x");
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_HEADERS_FLAG;
    p.headers = (wr_bytes){h.data, (uint32_t)h.len};
    fx_pub(q, fx_msg_props("", "orig", "b", &p));
    wr_buf_free(&cc);
    wr_buf_free(&h);
    queue_got g;
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    queue_got x;
    assert_true(queue_get(d, true, &x));
    assert_memory_equal(x.msg->routing_key.ptr, "parked", 6);
    assert_int_equal(ftable_get(x.msg->props.headers, "CC", NULL), WR_ENOTFOUND);
    assert_str(hdr(x.msg, "app"), "x");
    ftable_value rks;
    assert_int_equal(ftable_get(first_death(x.msg, NULL), "routing-keys", &rks), 0);
    ftable_iter it;
    ftable_iter_init(&it, rks.v.array);
    ftable_value k;
    assert_int_equal(ftable_array_next(&it, &k), 1);
    assert_str(k, "orig");
    assert_int_equal(ftable_array_next(&it, &k), 1);
    assert_str(k, "other");
    msg_unref(x.msg);
}

static void t_dead_letter_count_increments(void **state)
{
    wr_vhost *v = *state;
    /* a <-> b through two fanout DLXs; rejecting bounces the message */
    wr_exchange *xa = NULL, *xb = NULL;
    assert_int_equal(
        vhost_exchange_declare(v, S("to-b"), EXCH_FANOUT, false, false, false, NOARGS, &xb), 0);
    assert_int_equal(
        vhost_exchange_declare(v, S("to-a"), EXCH_FANOUT, false, false, false, NOARGS, &xa), 0);
    wr_buf aa, ab;
    wr_buf_init(&aa);
    wr_buf_init(&ab);
    ftable_put_cstr(&aa, "x-dead-letter-exchange", "to-b");
    ftable_put_cstr(&ab, "x-dead-letter-exchange", "to-a");
    wr_queue *qa = fx_declare(v, "qa", &aa);
    wr_queue *qb = fx_declare(v, "qb", &ab);
    wr_buf_free(&aa);
    wr_buf_free(&ab);
    exch_bind(xa, DEST_QUEUE, qa, S(""), NOARGS);
    exch_bind(xb, DEST_QUEUE, qb, S(""), NOARGS);
    fx_pub(qa, fx_msg("ping"));
    wr_queue *order[] = {qa, qb, qa};
    for (int i = 0; i < 3; i++) {
        queue_got g;
        assert_true(queue_get(order[i], false, &g));
        queue_reject(order[i], g.qpos, g.msg);
        msg_unref(g.msg);
    }
    queue_got x;
    assert_true(queue_get(qb, true, &x));
    int n;
    wr_bytes death = first_death(x.msg, &n);
    assert_int_equal(n, 2); /* one entry per (queue, reason) */
    ftable_value val;
    assert_int_equal(ftable_get(death, "queue", &val), 0);
    assert_str(val, "qa");
    assert_int_equal(ftable_get(death, "count", &val), 0);
    assert_int_equal(val.v.i, 2);
    assert_str(hdr(x.msg, "x-first-death-queue"), "qa");
    msg_unref(x.msg);
}

static void t_dead_letter_cycle_dropped(void **state)
{
    wr_vhost *v = *state;
    /* expired messages dead-lettered back into the same queue: a cycle */
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i64(&a, "x-message-ttl", 10);
    ftable_put_cstr(&a, "x-dead-letter-exchange", "");
    wr_queue *q = fx_declare(v, "loop", &a);
    wr_buf_free(&a);
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    fx_pub(q, fx_msg_props("", "loop", "x", &p));
    fx_now += 10;
    vhost_tick(v, fx_now);
    assert_int_equal(queue_message_count(q), 0);
}

static void t_dead_letter_keeps_many_headers(void **state)
{
    wr_vhost *v = *state;
    wr_queue *d = dead_queue(v);
    wr_queue *q = dlx_source(v, "src", NULL);
    wr_buf h;
    wr_buf_init(&h);
    char key[16];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "h%03d", i);
        ftable_put_i64(&h, key, i);
    }
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_HEADERS_FLAG;
    p.headers = (wr_bytes){h.data, (uint32_t)h.len};
    fx_pub(q, fx_msg_props("", "k", "b", &p));
    wr_buf_free(&h);
    queue_got g;
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    queue_got x;
    assert_true(queue_get(d, true, &x));
    /* 300 + x-death + 3 x-first-death-* */
    assert_int_equal(ftable_count(x.msg->props.headers), 304);
    ftable_value val = hdr(x.msg, "h299");
    assert_int_equal(val.v.i, 299);
    msg_unref(x.msg);
}

static void t_dead_letter_hostile_x_death(void **state)
{
    wr_vhost *v = *state;
    wr_queue *d = dead_queue(v);
    wr_queue *q = dlx_source(v, "src", NULL);
    /* x-death from the client: junk elements and a matching entry whose
     * count is a string */
    wr_buf ent, arr, h;
    wr_buf_init(&ent);
    wr_buf_init(&arr);
    wr_buf_init(&h);
    ftable_put_cstr(&ent, "queue", "src");
    ftable_put_cstr(&ent, "reason", "rejected");
    ftable_put_cstr(&ent, "count", "lots");
    ftable_value junk = {.type = 'I', .v.i = 7};
    ftable_array_put_value(&arr, &junk);
    ftable_value t = {.type = 'F'};
    t.v.table = (wr_bytes){ent.data, (uint32_t)ent.len};
    ftable_array_put_value(&arr, &t);
    ftable_put_array(&h, "x-death", (wr_bytes){arr.data, (uint32_t)arr.len});
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_HEADERS_FLAG;
    p.headers = (wr_bytes){h.data, (uint32_t)h.len};
    fx_pub(q, fx_msg_props("", "k", "b", &p));
    wr_buf_free(&ent);
    wr_buf_free(&arr);
    wr_buf_free(&h);
    queue_got g;
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    queue_got x;
    assert_true(queue_get(d, true, &x));
    int n;
    wr_bytes death = first_death(x.msg, &n);
    assert_int_equal(n, 2); /* matched entry first, the junk element kept */
    ftable_value val;
    assert_int_equal(ftable_get(death, "count", &val), 0);
    assert_int_equal(val.type, 'l');
    assert_int_equal(val.v.i, 1);
    msg_unref(x.msg);
}

static void t_dead_letter_missing_dlx_drops(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = dlx_source(v, "src", NULL); /* "dlx" never declared */
    fx_pub(q, fx_msg("a"));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(queue_message_count(q), 0);
}

/* ---- priority queues ------------------------------------------------------ */

static wr_queue *prio_queue(wr_vhost *v, int max)
{
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_u8(&a, "x-max-priority", (uint8_t)max);
    wr_queue *q = fx_declare(v, "pq", &a);
    wr_buf_free(&a);
    return q;
}

static void t_priority_order(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = prio_queue(v, 5);
    fx_pub(q, fx_msg_prio("p1", 1));
    fx_pub(q, fx_msg("p0"));
    fx_pub(q, fx_msg_prio("p9", 9)); /* capped at 5 */
    fx_pub(q, fx_msg_prio("p5", 5));
    fx_pub(q, fx_msg_prio("p1b", 1));
    const char *want[] = {"p9", "p5", "p1", "p1b", "p0"};
    for (int i = 0; i < 5; i++) fx_get_expect(q, want[i]);
}

static void t_priority_ignored_without_arg(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "q", NULL);
    fx_pub(q, fx_msg_prio("low-first", 0));
    fx_pub(q, fx_msg_prio("high", 9));
    fx_get_expect(q, "low-first");
    fx_get_expect(q, "high");
}

static void t_priority_requeue(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = prio_queue(v, 3);
    fx_pub(q, fx_msg_prio("h1", 3));
    fx_pub(q, fx_msg_prio("h2", 3));
    fx_pub(q, fx_msg_prio("l", 1));
    queue_got g;
    assert_true(queue_get(q, false, &g));
    assert_string_equal(fx_body(g.msg), "h1");
    queue_requeue(q, g.qpos, g.msg);
    msg_unref(g.msg);
    fx_get_expect(q, "h1");
    fx_get_expect(q, "h2");
    fx_get_expect(q, "l");
}

/* ---- argument validation -------------------------------------------------- */

static void expect_args_error(wr_vhost *v, wr_buf *a, const char *text)
{
    wr_amqp_error e;
    memset(&e, 0, sizeof(e));
    wr_queue *q = NULL;
    int rc = vhost_queue_declare(v, S("q"), false, false, NULL,
                                 (wr_bytes){a->data, (uint32_t)a->len}, &q, 0x0032000Au, &e);
    assert_int_equal(rc, WR_EAMQP);
    assert_int_equal(e.code, 406);
    assert_int_equal(e.method_id, 0x0032000Au);
    assert_string_equal(e.text, text);
    assert_null(vhost_queue(v, S("q")));
    wr_buf_reset(a);
}

static void t_args_int_errors(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i64(&a, "x-max-length", -1);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'q' in vhost "
                      "'/': {value_negative,-1}");
    ftable_put_cstr(&a, "x-message-ttl", "1000");
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost "
                      "'/': {unacceptable_type,longstr}");
    ftable_put_i32(&a, "x-expires", 0);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-expires' for queue 'q' in vhost '/': "
                      "{value_zero,0}");
    ftable_put_i64(&a, "x-message-ttl", 4294967296LL);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost "
                      "'/': {value_too_big,4294967296}");
    ftable_put_i32(&a, "x-max-priority", 256);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'q' in vhost "
                      "'/': {max_value_exceeded,256}");
    ftable_put_double(&a, "x-max-length-bytes", 1.5);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-max-length-bytes' for queue 'q' in "
                      "vhost '/': {unacceptable_type,double}");
    wr_buf_free(&a);
}

static void t_args_string_errors(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_cstr(&a, "x-overflow", "drop-tail");
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue 'q' in vhost '/': "
                      "invalid_overflow");
    ftable_put_cstr(&a, "x-queue-mode", "eager");
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-queue-mode' for queue 'q' in vhost "
                      "'/': invalid_queue_mode");
    ftable_put_cstr(&a, "x-queue-type", "stream");
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q' in vhost "
                      "'/': invalid_queue_type");
    ftable_put_cstr(&a, "x-dead-letter-routing-key", "rk");
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue "
                      "'q' in vhost '/': routing_key_but_no_dlx_defined");
    ftable_put_i32(&a, "x-single-active-consumer", 1);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-single-active-consumer' for queue "
                      "'q' in vhost '/': {unacceptable_type,signedint}");
    wr_buf_free(&a);
}

static void t_args_first_failure_in_rabbit_order(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    /* both bad: x-message-ttl is checked before x-max-length */
    ftable_put_i64(&a, "x-max-length", -5);
    ftable_put_i64(&a, "x-message-ttl", -7);
    expect_args_error(v, &a,
                      "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q' in vhost "
                      "'/': {value_negative,-7}");
    wr_buf_free(&a);
}

static void t_args_accepted(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_i64(&a, "x-message-ttl", 0);
    ftable_put_u16(&a, "x-max-length", 10);
    ftable_put_cstr(&a, "x-overflow", "reject-publish");
    ftable_put_cstr(&a, "x-queue-mode", "lazy");
    ftable_put_cstr(&a, "x-queue-type", "classic");
    ftable_put_cstr(&a, "x-dead-letter-exchange", "d");
    ftable_put_cstr(&a, "x-dead-letter-routing-key", "r");
    ftable_put_bool(&a, "x-single-active-consumer", false);
    ftable_put_cstr(&a, "x-unknown-thing", "ignored");
    wr_queue *q = fx_declare(v, "ok", &a);
    assert_non_null(q);
    wr_bytes got = queue_arguments(q);
    assert_int_equal(got.len, a.len);
    assert_memory_equal(got.ptr, a.data, a.len);
    wr_buf_free(&a);
}

static void t_quorum_rules(void **state)
{
    wr_vhost *v = *state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_cstr(&a, "x-queue-type", "quorum");
    wr_amqp_error e;
    wr_queue *q = NULL;
    wr_bytes ab = {a.data, (uint32_t)a.len};
    assert_int_equal(vhost_queue_declare(v, S("qq"), false, false, NULL, ab, &q, 0, &e), WR_EAMQP);
    assert_string_equal(e.text, "PRECONDITION_FAILED - invalid property 'non-durable' for queue "
                                "'qq' in vhost '/'");
    assert_int_equal(vhost_queue_declare(v, S("qq"), true, true, NULL, ab, &q, 0, &e), WR_EAMQP);
    assert_string_equal(e.text, "PRECONDITION_FAILED - invalid property 'auto-delete' for queue "
                                "'qq' in vhost '/'");
    assert_int_equal(vhost_queue_declare(v, S("qq"), true, false, NULL, ab, &q, 0, &e), 0);
    assert_true(queue_durable(q));
    wr_buf_free(&a);
}

/* ---- persistence hooks ----------------------------------------------------- */

typedef struct fake_store {
    int enq, delivered, settled, deleted;
    uint64_t last_qpos;
    bool wait;
} fake_store;

static bool fs_enqueue(void *ctx, wr_queue *q, wr_msg *msg, uint64_t qpos)
{
    fake_store *s = ctx;
    (void)q;
    assert_true(msg->persistent);
    s->enq++;
    s->last_qpos = qpos;
    return s->wait;
}

static void fs_delivered(void *ctx, wr_queue *q, uint64_t qpos)
{
    fake_store *s = ctx;
    (void)q;
    (void)qpos;
    s->delivered++;
}

static void fs_settle(void *ctx, wr_queue *q, uint64_t qpos)
{
    fake_store *s = ctx;
    (void)q;
    (void)qpos;
    s->settled++;
}

static void fs_deleted(void *ctx, wr_queue *q)
{
    fake_store *s = ctx;
    (void)q;
    s->deleted++;
}

static const queue_store_ops fs_ops = {fs_enqueue, fs_delivered, fs_settle, fs_deleted, NULL, NULL};

static wr_msg *persistent(const char *body)
{
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = 2;
    return fx_msg_props("", "rk", body, &p);
}

static wr_queue *durable_queue(wr_vhost *v, const char *name)
{
    wr_queue *q = NULL;
    wr_amqp_error e;
    assert_int_equal(vhost_queue_declare(v, S(name), true, false, NULL, NOARGS, &q, 0, &e), 0);
    return q;
}

static void t_store_enqueue_only_persistent_on_durable(void **state)
{
    wr_vhost *v = *state;
    fake_store fs = {.wait = true};
    wr_queue *tq = fx_declare(v, "transient", NULL);
    vhost_set_store_ops(v, &fs_ops, &fs);
    wr_queue *dq = durable_queue(v, "durable");
    assert_int_equal(fx_pub(dq, persistent("p")), QUEUE_PUB_STORING);
    assert_int_equal(fs.enq, 1);
    assert_int_equal(fx_pub(dq, fx_msg("t")), QUEUE_PUB_OK);
    assert_int_equal(fx_pub(tq, persistent("p")), QUEUE_PUB_OK);
    assert_int_equal(fs.enq, 1);
    fs.wait = false;
    assert_int_equal(fx_pub(dq, persistent("p2")), QUEUE_PUB_OK); /* stored, no wait */
    assert_int_equal(fs.enq, 2);
}

static void t_store_settle_paths(void **state)
{
    wr_vhost *v = *state;
    fake_store fs = {0};
    vhost_set_store_ops(v, &fs_ops, &fs);
    wr_queue *q = durable_queue(v, "d");
    for (int i = 0; i < 4; i++) fx_pub(q, persistent("m"));
    queue_got g;
    assert_true(queue_get(q, false, &g)); /* marked delivered */
    assert_int_equal(fs.delivered, 1);
    queue_requeue(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_true(queue_get(q, false, &g)); /* a redelivery: not marked again */
    assert_int_equal(fs.delivered, 1);
    queue_ack(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(fs.settled, 1);
    assert_true(queue_get(q, true, &g)); /* no-ack: settled at once */
    msg_unref(g.msg);
    assert_int_equal(fs.settled, 2);
    assert_true(queue_get(q, false, &g));
    queue_reject(q, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(fs.settled, 3);
    assert_int_equal(queue_purge(q), 1);
    assert_int_equal(fs.settled, 4);
    fx_pub(q, persistent("last"));
    vhost_queue_delete(v, q);
    assert_int_equal(fs.deleted, 1);
    assert_int_equal(fs.settled, 4);
}

static void t_store_recover(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = durable_queue(v, "r");
    wr_msg *a = persistent("a"), *b = persistent("b"), *c = persistent("c");
    assert_int_equal(queue_recover(q, b, 7, false), 0);
    assert_int_equal(queue_recover(q, a, 5, true), 0);
    assert_int_equal(queue_recover(q, c, 9, false), 0);
    msg_unref(a);
    msg_unref(b);
    msg_unref(c);
    queue_set_store_id(q, 42);
    assert_int_equal(queue_store_id(q), 42);
    assert_int_equal(queue_message_count(q), 3);
    fake_store fs = {0};
    vhost_set_store_ops(v, &fs_ops, &fs);
    fx_pub(q, persistent("new"));
    assert_true(fs.last_qpos > 9);
    queue_got g;
    assert_true(queue_get(q, true, &g));
    assert_string_equal(fx_body(g.msg), "a");
    assert_true(g.redelivered);
    msg_unref(g.msg);
    fx_get_expect(q, "b");
    fx_get_expect(q, "c");
    fx_get_expect(q, "new");
}

/* ---- throughput shape ----------------------------------------------------- */

static void t_many_messages_ring_growth(void **state)
{
    wr_vhost *v = *state;
    wr_queue *q = fx_declare(v, "big", NULL);
    char b[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(b, sizeof(b), "%d", i);
        fx_pub(q, fx_msg(b));
    }
    assert_int_equal(queue_message_count(q), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(b, sizeof(b), "%d", i);
        fx_get_expect(q, b);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(t_fifo_get),
        T(t_get_unacked_then_ack),
        T(t_qpos_increasing),
        T(t_deliver_on_publish),
        T(t_consume_does_not_deliver_until_kick),
        T(t_round_robin),
        T(t_credit_limits_and_kick),
        T(t_consumer_priorities),
        T(t_deliver_failure_keeps_message),
        T(t_single_active_consumer),
        T(t_exclusive_consumer_rules),
        T(t_requeue_original_order),
        T(t_requeue_redelivers_to_consumer),
        T(t_reject_without_dlx_drops),
        T(t_purge_ready_only),
        T(t_delete_cancels_consumers),
        T(t_deleted_queue_requeue_is_noop),
        T(t_auto_delete_on_last_cancel),
        T(t_exclusive_owner),
        T(t_queue_ttl_tick),
        T(t_per_message_ttl_min),
        T(t_expired_skipped_on_get),
        T(t_ttl_zero),
        T(t_requeue_keeps_expiry),
        T(t_x_expires),
        T(t_x_expires_publish_is_not_use),
        T(t_max_length_drop_head),
        T(t_max_length_bytes),
        T(t_reject_publish),
        T(t_dead_letter_rejected),
        T(t_dead_letter_expired_original_expiration),
        T(t_dead_letter_maxlen),
        T(t_reject_publish_dlx),
        T(t_dead_letter_routing_key_and_cc),
        T(t_dead_letter_count_increments),
        T(t_dead_letter_cycle_dropped),
        T(t_dead_letter_keeps_many_headers),
        T(t_dead_letter_hostile_x_death),
        T(t_dead_letter_missing_dlx_drops),
        T(t_priority_order),
        T(t_priority_ignored_without_arg),
        T(t_priority_requeue),
        T(t_args_int_errors),
        T(t_args_string_errors),
        T(t_args_first_failure_in_rabbit_order),
        T(t_args_accepted),
        T(t_quorum_rules),
        T(t_store_enqueue_only_persistent_on_durable),
        T(t_store_settle_paths),
        T(t_store_recover),
        T(t_many_messages_ring_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
