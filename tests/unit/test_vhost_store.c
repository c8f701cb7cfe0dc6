/* wr_core durability over the real store: durable definitions and
 * persistent messages written through vhost_store, then recovered into a
 * fresh vhost after closing and reopening the store. */
#include "tests/unit/core_fixture.h"

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

static wr_msg *persistent(const char *rk, const char *body)
{
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG | AMQP091_BASIC_CONTENT_TYPE_FLAG;
    p.delivery_mode = 2;
    p.content_type = S("text/plain");
    return fx_msg_props("dx", rk, body, &p);
}

static wr_queue *declare(wr_vhost *v, const char *name, bool durable)
{
    wr_queue *q = NULL;
    wr_amqp_error e;
    assert_int_equal(vhost_queue_declare(v, S(name), durable, false, NULL, NOARGS, &q, 0, &e), 0);
    return q;
}

static void t_definitions_and_messages_survive(void **state)
{
    (void)state;
    node n;
    strcpy(n.dir, "/tmp/test_vhost_store.XXXXXX");
    assert_non_null(mkdtemp(n.dir));
    node_open(&n);
    wr_vhost *v = fx_vhost();
    vhost_store_attach(v, n.st);
    wr_exchange *dx = NULL, *tx = NULL;
    wr_buf xa;
    wr_buf_init(&xa);
    ftable_put_cstr(&xa, "alternate-exchange", "amq.fanout");
    assert_int_equal(vhost_exchange_declare(v, S("dx"), EXCH_DIRECT, true, false, false,
                                            (wr_bytes){xa.data, (uint32_t)xa.len}, &dx),
                     0);
    wr_buf_free(&xa);
    assert_int_equal(
        vhost_exchange_declare(v, S("tx"), EXCH_FANOUT, false, false, false, NOARGS, &tx), 0);
    wr_queue *dq = declare(v, "dq", true);
    wr_queue *tq = declare(v, "tq", false);
    wr_queue *gone = declare(v, "gone", true);
    wr_queue *other = declare(v, "other", true);
    assert_int_equal(vhost_bind(v, dx, DEST_QUEUE, dq, S("k"), NOARGS), 0);
    assert_int_equal(vhost_bind(v, dx, DEST_QUEUE, other, S("k2"), NOARGS), 0);
    assert_int_equal(vhost_bind(v, dx, DEST_QUEUE, other, S("k3"), NOARGS), 0);
    assert_int_equal(vhost_unbind(v, dx, DEST_QUEUE, other, S("k3"), NOARGS), 0);
    assert_int_equal(vhost_bind(v, dx, DEST_QUEUE, tq, S("k"), NOARGS), 0);
    assert_int_equal(
        vhost_bind(v, vhost_exchange(v, S("amq.direct")), DEST_QUEUE, dq, S("builtin"), NOARGS), 0);
    assert_int_equal(vhost_bind(v, dx, DEST_QUEUE, gone, S("k"), NOARGS), 0);

    wr_msg *m1 = persistent("k", "m1");
    assert_int_equal(queue_publish(dq, m1), QUEUE_PUB_STORING);
    assert_int_equal(queue_publish(other, m1), QUEUE_PUB_STORING); /* one record, two queues */
    msg_unref(m1);
    assert_int_equal(fx_pub(dq, persistent("k", "m2")), QUEUE_PUB_STORING);
    assert_int_equal(fx_pub(dq, persistent("k", "m3")), QUEUE_PUB_STORING);
    assert_int_equal(fx_pub(dq, fx_msg("transient")), QUEUE_PUB_OK);
    assert_int_equal(fx_pub(tq, persistent("k", "not durable queue")), QUEUE_PUB_OK);
    assert_int_equal(fx_pub(gone, persistent("k", "deleted")), QUEUE_PUB_STORING);
    queue_got g1, g2;
    assert_true(queue_get(dq, true, &g1)); /* m1: settled */
    msg_unref(g1.msg);
    assert_true(queue_get(dq, false, &g2)); /* m2: delivered, left unacked */
    vhost_queue_delete(v, gone);
    node_sync(&n);
    queue_requeue(dq, g2.qpos, g2.msg);
    msg_unref(g2.msg);
    vhost_free(v);
    node_close(&n);

    node_open(&n);
    wr_vhost *v2 = fx_vhost();
    vhost_store_attach(v2, n.st);
    assert_int_equal(vhost_store_recover(v2), 0);
    dx = vhost_exchange(v2, S("dx"));
    assert_non_null(dx);
    assert_true(exch_durable(dx));
    assert_int_equal(exch_get_type(dx), EXCH_DIRECT);
    wr_bytes alt;
    assert_true(exch_alternate(dx, &alt));
    assert_int_equal(alt.len, 10);
    assert_null(vhost_exchange(v2, S("tx")));
    assert_null(vhost_queue(v2, S("tq")));
    assert_null(vhost_queue(v2, S("gone")));
    dq = vhost_queue(v2, S("dq"));
    other = vhost_queue(v2, S("other"));
    assert_non_null(dq);
    assert_non_null(other);
    assert_true(queue_durable(dq));
    /* bindings between durable ends, without the removed one */
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(dx, S("k"), NOARGS, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_ptr_equal(r.queues[0], dq);
    assert_int_equal(route_message(dx, S("k2"), NOARGS, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_int_equal(route_message(dx, S("k3"), NOARGS, &r), 0);
    assert_int_equal(r.n_queues, 0); /* k3 unbound before the restart */
    /* a binding from a predeclared exchange */
    assert_int_equal(route_message(vhost_exchange(v2, S("amq.direct")), S("builtin"), NOARGS, &r),
                     0);
    assert_int_equal(r.n_queues, 1);
    assert_ptr_equal(r.queues[0], dq);
    route_result_free(&r);
    /* dq: m2 (was delivered: redelivered) then m3; the transient one is gone */
    assert_int_equal(queue_message_count(dq), 2);
    queue_got g;
    assert_true(queue_get(dq, true, &g));
    assert_string_equal(fx_body(g.msg), "m2");
    assert_true(g.redelivered);
    assert_true(g.msg->persistent);
    assert_memory_equal(g.msg->props.content_type.ptr, "text/plain", 10);
    assert_memory_equal(g.msg->routing_key.ptr, "k", 1);
    uint64_t old_id = g.msg->id;
    msg_unref(g.msg);
    assert_true(queue_get(dq, false, &g));
    assert_string_equal(fx_body(g.msg), "m3");
    assert_false(g.redelivered);
    queue_ack(dq, g.qpos, g.msg);
    msg_unref(g.msg);
    assert_int_equal(queue_message_count(other), 1);
    fx_get_expect(other, "m1");
    /* new messages get ids above the recovered ones, queue positions too */
    wr_msg *m4 = persistent("k", "m4");
    assert_true(m4->id > old_id);
    assert_int_equal(fx_pub(dq, m4), QUEUE_PUB_STORING);
    node_sync(&n);
    vhost_free(v2);
    node_close(&n);

    /* third boot: everything settled except m4 */
    node_open(&n);
    wr_vhost *v3 = fx_vhost();
    vhost_store_attach(v3, n.st);
    assert_int_equal(vhost_store_recover(v3), 0);
    dq = vhost_queue(v3, S("dq"));
    assert_non_null(dq);
    assert_int_equal(queue_message_count(dq), 1);
    fx_get_expect(dq, "m4");
    assert_int_equal(queue_message_count(vhost_queue(v3, S("other"))), 0);
    vhost_free(v3);
    node_close(&n);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", n.dir);
    assert_int_equal(system(cmd), 0);
}

static void t_deleted_exchange_bindings_not_recovered(void **state)
{
    (void)state;
    node n;
    strcpy(n.dir, "/tmp/test_vhost_store.XXXXXX");
    assert_non_null(mkdtemp(n.dir));
    node_open(&n);
    wr_vhost *v = fx_vhost();
    vhost_store_attach(v, n.st);
    wr_exchange *x = NULL;
    assert_int_equal(vhost_exchange_declare(v, S("x"), EXCH_FANOUT, true, false, false, NOARGS, &x),
                     0);
    wr_queue *q = declare(v, "q", true);
    assert_int_equal(vhost_bind(v, x, DEST_QUEUE, q, S(""), NOARGS), 0);
    vhost_exchange_delete(v, x);
    /* same name again, a new incarnation without the binding */
    assert_int_equal(vhost_exchange_declare(v, S("x"), EXCH_FANOUT, true, false, false, NOARGS, &x),
                     0);
    node_sync(&n);
    vhost_free(v);
    node_close(&n);
    node_open(&n);
    wr_vhost *v2 = fx_vhost();
    vhost_store_attach(v2, n.st);
    assert_int_equal(vhost_store_recover(v2), 0);
    x = vhost_exchange(v2, S("x"));
    assert_non_null(x);
    assert_int_equal(exch_binding_count(x), 0);
    vhost_free(v2);
    node_close(&n);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", n.dir);
    assert_int_equal(system(cmd), 0);
}

/* A durable queue declared before the store is attached (load_definitions
 * at boot) takes over the stored queue and its messages. */
static void t_queue_declared_before_attach_adopts(void **state)
{
    (void)state;
    node n;
    strcpy(n.dir, "/tmp/test_vhost_store.XXXXXX");
    assert_non_null(mkdtemp(n.dir));
    for (int boot = 0; boot < 3; boot++) {
        node_open(&n);
        wr_vhost *v = fx_vhost();
        wr_queue *q = boot ? declare(v, "pre", true) : NULL;
        vhost_store_attach(v, n.st);
        assert_int_equal(vhost_store_recover(v), 0);
        if (!boot) q = declare(v, "pre", true);
        assert_ptr_equal(vhost_queue(v, S("pre")), q);
        assert_int_equal(queue_message_count(q), (uint32_t)boot);
        assert_int_equal(fx_pub(q, persistent("k", "again")), QUEUE_PUB_STORING);
        node_sync(&n);
        vhost_free(v);
        node_close(&n);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", n.dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_definitions_and_messages_survive),
        cmocka_unit_test(t_deleted_exchange_bindings_not_recovered),
        cmocka_unit_test(t_queue_declared_before_attach_adopts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
