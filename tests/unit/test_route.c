/* Unit tests for broker/core/route.h: exchange-to-exchange chains and
 * cycles, alternate exchanges (chains, cycles, missing, RabbitMQ's "own
 * routing gave nothing" rule), queue dedupe (small and large fan-outs), a
 * reused result, and no allocation when routing through a direct exchange
 * with a warm result (malloc is wrapped at link time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/core/exchange.h"
#include "broker/core/route.h"
#include "broker/proto/ftable.h"

/* --- allocation counter (ld --wrap) --------------------------------------- */
void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_calloc(size_t a, size_t b);
static long n_allocs;
void *__wrap_malloc(size_t n)
{
    n_allocs++;
    return __real_malloc(n);
}
void *__wrap_realloc(void *p, size_t n)
{
    n_allocs++;
    return __real_realloc(p, n);
}
void *__wrap_calloc(size_t a, size_t b)
{
    n_allocs++;
    return __real_calloc(a, b);
}

static wr_bytes S(const char *s)
{
    return wr_bytes_of(s, strlen(s));
}

static const wr_bytes NONE = {NULL, 0};
static int Q[4096];

/* A tiny vhost: exchanges by name, for the alternate-exchange lookup. */
typedef struct vh {
    wr_exchange *xs[16];
    int n;
} vh;

static wr_exchange *lookup(void *owner, wr_bytes name)
{
    vh *v = owner;
    for (int i = 0; i < v->n; i++) {
        wr_bytes n = exch_name(v->xs[i]);
        if (n.len == name.len && memcmp(n.ptr, name.ptr, n.len) == 0) return v->xs[i];
    }
    return NULL;
}

static wr_exchange *add(vh *v, const char *name, enum exch_type t, const char *ae)
{
    wr_buf a;
    wr_buf_init(&a);
    if (ae) ftable_put_cstr(&a, "alternate-exchange", ae);
    wr_exchange *ex =
        exch_new(S(name), t, false, false, false, wr_bytes_of(a.data, a.len), v, lookup);
    wr_buf_free(&a);
    assert_non_null(ex);
    v->xs[v->n++] = ex;
    return ex;
}

static void vh_free(vh *v)
{
    for (int i = 0; i < v->n; i++) exch_free(v->xs[i]);
    v->n = 0;
}

static bool has(const wr_route_result *r, void *q)
{
    for (uint32_t i = 0; i < r->n_queues; i++)
        if (r->queues[i] == q) return true;
    return false;
}

static void test_e2e_chain(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *a = add(&v, "a", EXCH_DIRECT, NULL);
    wr_exchange *b = add(&v, "b", EXCH_TOPIC, NULL);
    wr_exchange *c = add(&v, "c", EXCH_FANOUT, NULL);
    exch_bind(a, DEST_EXCHANGE, b, S("k.x"), NONE);
    exch_bind(b, DEST_EXCHANGE, c, S("k.*"), NONE);
    exch_bind(b, DEST_QUEUE, &Q[1], S("#"), NONE);
    exch_bind(c, DEST_QUEUE, &Q[2], S(""), NONE);
    exch_bind(a, DEST_QUEUE, &Q[0], S("k.x"), NONE);
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(a, S("k.x"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 3);
    assert_true(has(&r, &Q[0]) && has(&r, &Q[1]) && has(&r, &Q[2]));
    assert_int_equal(r.n_exchanges, 3);
    assert_int_equal(route_message(a, S("other"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    /* publishing to the middle of the chain */
    assert_int_equal(route_message(b, S("k.y"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 2);
    route_result_free(&r);
    vh_free(&v);
}

static void test_e2e_cycle(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *a = add(&v, "a", EXCH_FANOUT, NULL);
    wr_exchange *b = add(&v, "b", EXCH_FANOUT, NULL);
    wr_exchange *c = add(&v, "c", EXCH_FANOUT, NULL);
    exch_bind(a, DEST_EXCHANGE, b, S(""), NONE);
    exch_bind(b, DEST_EXCHANGE, c, S(""), NONE);
    exch_bind(c, DEST_EXCHANGE, a, S(""), NONE);
    exch_bind(a, DEST_EXCHANGE, a, S(""), NONE); /* self binding */
    exch_bind(c, DEST_QUEUE, &Q[0], S(""), NONE);
    exch_bind(a, DEST_QUEUE, &Q[0], S(""), NONE);
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(b, S("x"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_int_equal(r.n_exchanges, 3);
    route_result_free(&r);
    vh_free(&v);
}

static void test_dedupe_diamond(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *a = add(&v, "a", EXCH_TOPIC, NULL);
    wr_exchange *b = add(&v, "b", EXCH_FANOUT, NULL);
    wr_exchange *c = add(&v, "c", EXCH_FANOUT, NULL);
    exch_bind(a, DEST_EXCHANGE, b, S("a.*"), NONE);
    exch_bind(a, DEST_EXCHANGE, c, S("*.b"), NONE);
    exch_bind(a, DEST_QUEUE, &Q[0], S("a.*"), NONE);
    exch_bind(a, DEST_QUEUE, &Q[0], S("#"), NONE);
    exch_bind(b, DEST_QUEUE, &Q[0], S(""), NONE);
    exch_bind(b, DEST_QUEUE, &Q[1], S(""), NONE);
    exch_bind(c, DEST_QUEUE, &Q[1], S(""), NONE);
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(a, S("a.b"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 2);
    assert_true(has(&r, &Q[0]) && has(&r, &Q[1]));
    route_result_free(&r);
    vh_free(&v);
}

static void test_large_fanout_dedupe(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *a = add(&v, "a", EXCH_FANOUT, NULL);
    wr_exchange *b = add(&v, "b", EXCH_FANOUT, NULL);
    for (int i = 0; i < 3000; i++) exch_bind(a, DEST_QUEUE, &Q[i], S(""), NONE);
    for (int i = 1000; i < 4000; i++) exch_bind(b, DEST_QUEUE, &Q[i], S(""), NONE);
    exch_bind(a, DEST_EXCHANGE, b, S(""), NONE);
    wr_route_result r;
    route_result_init(&r);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(route_message(a, S(""), NONE, &r), 0);
        assert_int_equal(r.n_queues, 4000);
        static bool seen[4096];
        memset(seen, 0, sizeof(seen));
        for (uint32_t i = 0; i < r.n_queues; i++) {
            int idx = (int)((int *)r.queues[i] - Q);
            assert_false(seen[idx]);
            seen[idx] = true;
        }
        /* a small result after a large one reuses the memory correctly */
        assert_int_equal(route_message(b, S(""), NONE, &r), 0);
        assert_int_equal(r.n_queues, 3000);
    }
    route_result_free(&r);
    vh_free(&v);
}

static void test_ae_basic(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *x = add(&v, "x", EXCH_DIRECT, "ae");
    wr_exchange *ae = add(&v, "ae", EXCH_FANOUT, NULL);
    exch_bind(x, DEST_QUEUE, &Q[0], S("k"), NONE);
    exch_bind(ae, DEST_QUEUE, &Q[9], S(""), NONE);
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(x, S("k"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_true(has(&r, &Q[0]));
    assert_int_equal(route_message(x, S("nope"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_true(has(&r, &Q[9]));
    route_result_free(&r);
    vh_free(&v);
}

static void test_ae_missing_ignored(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *x = add(&v, "x", EXCH_DIRECT, "does-not-exist");
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(x, S("k"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    /* no lookup callback at all */
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_cstr(&a, "alternate-exchange", "x");
    wr_exchange *y =
        exch_new(S("y"), EXCH_DIRECT, false, false, false, wr_bytes_of(a.data, a.len), NULL, NULL);
    wr_buf_free(&a);
    assert_int_equal(route_message(y, S("k"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    exch_free(y);
    route_result_free(&r);
    vh_free(&v);
}

static void test_ae_chain_and_cycle(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *x = add(&v, "x", EXCH_DIRECT, "ae1");
    add(&v, "ae1", EXCH_DIRECT, "ae2");
    wr_exchange *ae2 = add(&v, "ae2", EXCH_TOPIC, "x"); /* cycle back to x */
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(x, S("a.b"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    assert_int_equal(r.n_exchanges, 3);
    exch_bind(ae2, DEST_QUEUE, &Q[2], S("a.#"), NONE);
    assert_int_equal(route_message(x, S("a.b"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_true(has(&r, &Q[2]));
    assert_int_equal(route_message(x, S("b"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    /* self as alternate exchange */
    wr_exchange *s = add(&v, "self", EXCH_DIRECT, "self");
    assert_int_equal(route_message(s, S("k"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    assert_int_equal(r.n_exchanges, 1);
    route_result_free(&r);
    vh_free(&v);
}

/* RabbitMQ uses the alternate exchange only when the exchange's own routing
 * gave no destination at all: routing to an exchange with nothing behind it
 * does not trigger it (that exchange's own AE applies instead). */
static void test_ae_not_used_when_routed_to_exchange(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *x = add(&v, "x", EXCH_DIRECT, "ae");
    wr_exchange *empty = add(&v, "empty", EXCH_FANOUT, NULL);
    wr_exchange *ae = add(&v, "ae", EXCH_FANOUT, NULL);
    exch_bind(ae, DEST_QUEUE, &Q[9], S(""), NONE);
    exch_bind(x, DEST_EXCHANGE, empty, S("k"), NONE);
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(x, S("k"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    /* a destination exchange's own AE is used */
    wr_exchange *y = add(&v, "y", EXCH_DIRECT, NULL);
    wr_exchange *mid = add(&v, "mid", EXCH_DIRECT, "ae");
    exch_bind(y, DEST_EXCHANGE, mid, S("k"), NONE);
    assert_int_equal(route_message(y, S("k"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_true(has(&r, &Q[9]));
    /* and a seen exchange still counts as a destination (no AE) */
    exch_bind(x, DEST_EXCHANGE, x, S("self"), NONE);
    assert_int_equal(route_message(x, S("self"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    route_result_free(&r);
    vh_free(&v);
}

static void test_internal_exchange_as_destination(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *x = add(&v, "x", EXCH_FANOUT, NULL);
    wr_exchange *in = exch_new(S("in"), EXCH_FANOUT, false, false, true, NONE, &v, lookup);
    v.xs[v.n++] = in;
    exch_bind(x, DEST_EXCHANGE, in, S(""), NONE);
    exch_bind(in, DEST_QUEUE, &Q[3], S(""), NONE);
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(x, S(""), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    route_result_free(&r);
    vh_free(&v);
}

static void test_headers_through_e2e(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *x = add(&v, "x", EXCH_TOPIC, NULL);
    wr_exchange *h = add(&v, "h", EXCH_HEADERS, NULL);
    wr_buf a, hd;
    wr_buf_init(&a);
    wr_buf_init(&hd);
    ftable_put_cstr(&a, "color", "red");
    ftable_put_cstr(&hd, "color", "red");
    exch_bind(x, DEST_EXCHANGE, h, S("#"), NONE);
    exch_bind(h, DEST_QUEUE, &Q[4], S(""), wr_bytes_of(a.data, a.len));
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(x, S("any"), wr_bytes_of(hd.data, hd.len), &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_int_equal(route_message(x, S("any"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 0);
    route_result_free(&r);
    wr_buf_free(&a);
    wr_buf_free(&hd);
    vh_free(&v);
}

static void test_no_alloc_when_warm(void **state)
{
    (void)state;
    vh v = {.n = 0};
    wr_exchange *d = add(&v, "d", EXCH_DIRECT, NULL);
    wr_exchange *t = add(&v, "t", EXCH_TOPIC, NULL);
    wr_exchange *f = add(&v, "f", EXCH_FANOUT, NULL);
    exch_bind(d, DEST_QUEUE, &Q[0], S("orders"), NONE);
    for (int i = 0; i < 100; i++) {
        char k[32];
        snprintf(k, sizeof(k), "key%d", i);
        exch_bind(d, DEST_QUEUE, &Q[i + 1], S(k), NONE);
    }
    exch_bind(t, DEST_QUEUE, &Q[1], S("stock.*.nyse"), NONE);
    exch_bind(t, DEST_QUEUE, &Q[2], S("stock.#"), NONE);
    exch_bind(t, DEST_QUEUE, &Q[3], S("#.nyse"), NONE);
    for (int i = 0; i < 50; i++) exch_bind(f, DEST_QUEUE, &Q[i], S(""), NONE);
    assert_true(n_allocs > 0); /* the wrapper sees the library's allocations */
    wr_route_result r;
    route_result_init(&r);
    /* even a fresh result does not allocate for a direct route to one queue */
    long before = n_allocs;
    assert_int_equal(route_message(d, S("orders"), NONE, &r), 0);
    assert_int_equal(r.n_queues, 1);
    assert_int_equal(n_allocs, before);
    /* warm up topic and fanout, then no allocation per message */
    route_message(t, S("stock.usd.nyse"), NONE, &r);
    route_message(f, S(""), NONE, &r);
    before = n_allocs;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(route_message(d, S("orders"), NONE, &r), 0);
        assert_int_equal(route_message(t, S("stock.usd.nyse"), NONE, &r), 0);
        assert_int_equal(r.n_queues, 3);
        assert_int_equal(route_message(f, S(""), NONE, &r), 0);
        assert_int_equal(r.n_queues, 50);
    }
    assert_int_equal(n_allocs, before);
    route_result_free(&r);
    vh_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_chain),
        cmocka_unit_test(test_e2e_cycle),
        cmocka_unit_test(test_dedupe_diamond),
        cmocka_unit_test(test_large_fanout_dedupe),
        cmocka_unit_test(test_ae_basic),
        cmocka_unit_test(test_ae_missing_ignored),
        cmocka_unit_test(test_ae_chain_and_cycle),
        cmocka_unit_test(test_ae_not_used_when_routed_to_exchange),
        cmocka_unit_test(test_internal_exchange_as_destination),
        cmocka_unit_test(test_headers_through_e2e),
        cmocka_unit_test(test_no_alloc_when_warm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
