/* Bounded memory for durable queues over the real store: committed
 * persistent messages past the head window are paged out and read back in
 * order with their properties; acks and requeues across the window edge;
 * recovered backlogs start paged out; a message shared by two queues. */
#include "tests/unit/core_fixture.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "broker/core/vhost_store.h"
#include "storage/store.h"

typedef struct node {
    char dir[64];
    uv_loop_t loop;
    store *st;
} node;

static void node_open(node *n)
{
    assert_int_equal(uv_loop_init(&n->loop), 0);
    store_opts o = {.dir = n->dir};
    assert_int_equal(store_open(&n->loop, &o, &n->st), 0);
}

static void node_new(node *n)
{
    strcpy(n->dir, "/tmp/test_paging.XXXXXX");
    assert_non_null(mkdtemp(n->dir));
    node_open(n);
}

static void commit_done(void *ctx, int status)
{
    int *flag = ctx;
    *flag = status == 0 ? 1 : -1;
}

/* Commits everything queued so far and waits for the fsync. */
static void node_sync(node *n)
{
    int done = 0;
    assert_int_equal(store_commit(n->st, commit_done, &done), 0);
    time_t deadline = time(NULL) + 10;
    while (!done && time(NULL) < deadline) uv_run(&n->loop, UV_RUN_ONCE);
    assert_int_equal(done, 1);
}

static void node_close(node *n)
{
    store_close(n->st);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
}

static void node_rm(node *n)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", n->dir);
    assert_int_equal(system(cmd), 0);
}

/* Commits and ticks the queues until q keeps at most `want` bodies in
 * memory (the pager needs its commit callback first). */
static void wait_paged(node *n, wr_queue *q, uint32_t want)
{
    time_t deadline = time(NULL) + 10;
    while (queue_in_memory_count(q) > want && time(NULL) < deadline) {
        node_sync(n);
        queue_tick(q, fx_now);
    }
    assert_true(queue_in_memory_count(q) <= want);
}

static wr_msg *pmsg(uint32_t i)
{
    char body[32], cid[32];
    snprintf(body, sizeof(body), "m%05u", i);
    snprintf(cid, sizeof(cid), "c%u", i);
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG | AMQP091_BASIC_CORRELATION_ID_FLAG;
    p.delivery_mode = 2;
    p.correlation_id = S(cid);
    return fx_msg_props("ex", "rk", body, &p);
}

static void expect_msg(const wr_msg *m, uint32_t i)
{
    char body[32], cid[32];
    snprintf(body, sizeof(body), "m%05u", i);
    snprintf(cid, sizeof(cid), "c%u", i);
    assert_string_equal(fx_body(m), body);
    assert_true(m->persistent);
    assert_true(m->props.flags & AMQP091_BASIC_CORRELATION_ID_FLAG);
    assert_int_equal(m->props.correlation_id.len, strlen(cid));
    assert_memory_equal(m->props.correlation_id.ptr, cid, strlen(cid));
    assert_int_equal(m->exchange.len, 2);
    assert_memory_equal(m->exchange.ptr, "ex", 2);
    assert_memory_equal(m->routing_key.ptr, "rk", 2);
}

static wr_queue *declare(wr_vhost *v, const char *name, bool lazy)
{
    wr_buf a;
    wr_buf_init(&a);
    if (lazy) ftable_put_cstr(&a, "x-queue-mode", "lazy");
    wr_queue *q = NULL;
    wr_amqp_error e;
    assert_int_equal(vhost_queue_declare(v, S(name), true, false, NULL,
                                         (wr_bytes){a.data, (uint32_t)a.len}, &q, 0, &e),
                     0);
    wr_buf_free(&a);
    return q;
}

#define N 2000u

static void t_lazy_queue_pages_out_and_delivers_in_order(void **state)
{
    (void)state;
    node n;
    node_new(&n);
    wr_vhost *v = fx_vhost();
    vhost_store_attach(v, n.st);
    wr_queue *q = declare(v, "lazy", true);
    for (uint32_t i = 0; i < N; i++) assert_int_equal(fx_pub(q, pmsg(i)), QUEUE_PUB_STORING);
    /* uncommitted messages stay in memory */
    assert_int_equal(queue_in_memory_count(q), N);
    wait_paged(&n, q, QUEUE_PAGE_WINDOW);
    assert_int_equal(queue_message_count(q), N);

    /* 300 unacked deliveries cross the window edge; requeue them all */
    queue_got g[300];
    for (uint32_t i = 0; i < 300; i++) {
        assert_true(queue_get(q, false, &g[i]));
        expect_msg(g[i].msg, i);
        assert_false(g[i].redelivered);
        assert_true(queue_in_memory_count(q) <= 2 * QUEUE_PAGE_WINDOW);
    }
    for (uint32_t i = 300; i-- > 0;) {
        queue_requeue(q, g[i].qpos, g[i].msg);
        msg_unref(g[i].msg);
    }
    assert_int_equal(queue_message_count(q), N);

    /* a consumer gets them all in order: the first 300 redelivered */
    fake_cons c;
    fx_consume(&c, q, 200, false, false, 0);
    uint32_t next = 0;
    while (next < N) {
        c.credit = 200;
        queue_kick(q);
        assert_true(c.n > 0);
        for (int i = 0; i < c.n; i++, next++) {
            expect_msg(c.got[i], next);
            assert_int_equal(c.redelivered[i], next < 300);
            queue_ack(q, c.qpos[i], c.got[i]);
        }
        fx_cons_free(&c);
        assert_true(queue_in_memory_count(q) <= 2 * QUEUE_PAGE_WINDOW);
    }
    assert_int_equal(queue_message_count(q), 0);
    assert_int_equal(queue_unacked_count(q), 0);
    queue_cancel(q, c.qc);
    node_sync(&n);
    vhost_free(v);
    node_close(&n);

    /* everything was acked: nothing comes back */
    node_open(&n);
    wr_vhost *v2 = fx_vhost();
    vhost_store_attach(v2, n.st);
    assert_int_equal(vhost_store_recover(v2), 0);
    assert_int_equal(queue_message_count(vhost_queue(v2, S("lazy"))), 0);
    vhost_store_attach(v2, NULL);
    vhost_free(v2);
    node_close(&n);
    node_rm(&n);
}

static void t_recovered_backlog_starts_paged_out(void **state)
{
    (void)state;
    node n;
    node_new(&n);
    wr_vhost *v = fx_vhost();
    vhost_store_attach(v, n.st);
    wr_queue *lq = declare(v, "lazy", true);
    wr_queue *dq = declare(v, "default", false);
    for (uint32_t i = 0; i < N; i++) {
        wr_msg *m = pmsg(i);
        assert_int_equal(queue_publish(lq, m), QUEUE_PUB_STORING);
        assert_int_equal(queue_publish(dq, m), QUEUE_PUB_STORING); /* one record, two queues */
        msg_unref(m);
    }
    queue_got g;
    assert_true(queue_get(dq, false, &g)); /* delivered, not acked: redelivered after restart */
    node_sync(&n);
    node_sync(&n);
    msg_unref(g.msg);
    vhost_store_attach(v, NULL);
    vhost_free(v);
    node_close(&n);

    node_open(&n);
    wr_vhost *v2 = fx_vhost();
    vhost_store_attach(v2, n.st);
    assert_int_equal(vhost_store_recover(v2), 0);
    lq = vhost_queue(v2, S("lazy"));
    dq = vhost_queue(v2, S("default"));
    assert_int_equal(queue_message_count(lq), N);
    assert_int_equal(queue_message_count(dq), N);
    assert_int_equal(queue_in_memory_count(lq), 0);
    assert_int_equal(queue_in_memory_count(dq), 0);
    /* drain the lazy queue first: the default one still reads the shared
     * records afterwards */
    for (uint32_t i = 0; i < N; i++) {
        assert_true(queue_get(lq, false, &g));
        expect_msg(g.msg, i);
        assert_false(g.redelivered);
        queue_ack(lq, g.qpos, g.msg);
        msg_unref(g.msg);
        assert_true(queue_in_memory_count(lq) <= QUEUE_PAGE_WINDOW);
    }
    node_sync(&n);
    for (uint32_t i = 0; i < N; i++) {
        assert_true(queue_get(dq, true, &g));
        expect_msg(g.msg, i);
        assert_int_equal(g.redelivered, i == 0);
        msg_unref(g.msg);
    }
    assert_false(queue_get(dq, true, &g));
    vhost_store_attach(v2, NULL);
    vhost_free(v2);
    node_close(&n);
    node_rm(&n);
}

static void t_transient_and_purge_with_paged_entries(void **state)
{
    (void)state;
    node n;
    node_new(&n);
    wr_vhost *v = fx_vhost();
    vhost_store_attach(v, n.st);
    wr_queue *q = declare(v, "lazy", true);
    for (uint32_t i = 0; i < 1000; i++) {
        assert_true(fx_pub(q, pmsg(i)) >= 0);
        if (i % 10 == 0) assert_int_equal(fx_pub(q, fx_msg("transient")), QUEUE_PUB_OK);
    }
    wait_paged(&n, q, QUEUE_PAGE_WINDOW + 100); /* transient ones stay in memory */
    /* order is kept across paged and in-memory entries */
    queue_got g;
    for (uint32_t i = 0; i < 600; i++) {
        assert_true(queue_get(q, true, &g));
        expect_msg(g.msg, i);
        msg_unref(g.msg);
        if (i % 10 == 0) fx_get_expect(q, "transient");
    }
    assert_int_equal(queue_purge(q), 400 + 40);
    assert_int_equal(queue_in_memory_count(q), 0);
    node_sync(&n);
    vhost_store_attach(v, NULL);
    vhost_free(v);
    node_close(&n);
    node_open(&n);
    wr_vhost *v2 = fx_vhost();
    vhost_store_attach(v2, n.st);
    assert_int_equal(vhost_store_recover(v2), 0);
    assert_int_equal(queue_message_count(vhost_queue(v2, S("lazy"))), 0);
    vhost_store_attach(v2, NULL);
    vhost_free(v2);
    node_close(&n);
    node_rm(&n);
}

/* A default-mode queue keeps everything in memory until its bodies pass
 * QUEUE_PAGE_MEM_BYTES; then committed ones past the head window are paged
 * out until it is back under the threshold. */
static void t_default_queue_pages_above_threshold(void **state)
{
    (void)state;
    node n;
    node_new(&n);
    wr_vhost *v = fx_vhost();
    vhost_store_attach(v, n.st);
    wr_queue *q = declare(v, "big", false);
    const uint32_t big = 1u << 20, count = (uint32_t)(QUEUE_PAGE_MEM_BYTES / big) + 8;
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = 2;
    wr_buf pb;
    wr_buf_init(&pb);
    assert_int_equal(amqp091_encode_basic_properties(&pb, &p), 0);
    for (uint32_t i = 0; i < count; i++) {
        wr_msg *m = msg_new(S(""), S("big"), pb.data, (uint32_t)pb.len, big);
        assert_non_null(m);
        memset(m->body, (int)('a' + i % 26), big);
        m->body_filled = big;
        assert_int_equal(fx_pub(q, m), QUEUE_PUB_STORING);
        if (i == 16) {
            node_sync(&n);
            node_sync(&n);
            queue_tick(q, fx_now);
            assert_int_equal(queue_in_memory_count(q), 17); /* under the threshold */
        }
    }
    wr_buf_free(&pb);
    const uint32_t cap = (uint32_t)(QUEUE_PAGE_MEM_BYTES / big);
    wait_paged(&n, q, cap);
    assert_true(queue_in_memory_count(q) < count);
    for (uint32_t i = 0; i < count; i++) {
        queue_got g;
        assert_true(queue_get(q, true, &g));
        assert_int_equal(g.msg->body_len, big);
        assert_int_equal(g.msg->body[0], 'a' + i % 26);
        assert_int_equal(g.msg->body[big - 1], 'a' + i % 26);
        msg_unref(g.msg);
        assert_true(queue_in_memory_count(q) <= cap);
    }
    assert_int_equal(queue_message_count(q), 0);
    node_sync(&n);
    vhost_store_attach(v, NULL);
    vhost_free(v);
    node_close(&n);
    node_rm(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_lazy_queue_pages_out_and_delivers_in_order),
        cmocka_unit_test(t_recovered_backlog_starts_paged_out),
        cmocka_unit_test(t_transient_and_purge_with_paged_entries),
        cmocka_unit_test(t_default_queue_pages_above_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
