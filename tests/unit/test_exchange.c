/* Unit tests for broker/core/exchange.h and headers_match.h: type names,
 * creation and accessors, alternate-exchange argument, binding identity
 * (order-insensitive arguments, idempotent bind, unbind of a missing binding),
 * unbind_all_to / unbind_all_from, counts for auto-delete and if-unused,
 * iteration, x-match validation texts and headers matching rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/core/exchange.h"
#include "broker/core/headers_match.h"
#include "broker/core/route.h"
#include "broker/proto/ftable.h"

static wr_bytes S(const char *s)
{
    return wr_bytes_of(s, strlen(s));
}

static wr_bytes BB(const wr_buf *b)
{
    return wr_bytes_of(b->data, b->len);
}

static const wr_bytes NONE = {NULL, 0};

static int Q[8];

static wr_exchange *mk(enum exch_type t)
{
    wr_exchange *ex = exch_new(S("x"), t, false, false, false, NONE, NULL, NULL);
    assert_non_null(ex);
    return ex;
}

static uint32_t route_n(wr_exchange *ex, const char *rk, wr_bytes headers)
{
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(ex, S(rk), headers, &r), 0);
    uint32_t n = r.n_queues;
    route_result_free(&r);
    return n;
}

static void test_type_parse(void **state)
{
    (void)state;
    enum exch_type t;
    assert_int_equal(exch_type_parse(S("direct"), &t), 0);
    assert_int_equal(t, EXCH_DIRECT);
    assert_int_equal(exch_type_parse(S("fanout"), &t), 0);
    assert_int_equal(t, EXCH_FANOUT);
    assert_int_equal(exch_type_parse(S("topic"), &t), 0);
    assert_int_equal(t, EXCH_TOPIC);
    assert_int_equal(exch_type_parse(S("headers"), &t), 0);
    assert_int_equal(t, EXCH_HEADERS);
    assert_int_equal(exch_type_parse(S("Direct"), &t), WR_ENOTFOUND);
    assert_int_equal(exch_type_parse(S("x-consistent-hash"), &t), WR_ENOTFOUND);
    assert_int_equal(exch_type_parse(S(""), &t), WR_ENOTFOUND);
    assert_int_equal(exch_type_parse(S("direc"), &t), WR_ENOTFOUND);
    assert_string_equal(exch_type_name(EXCH_HEADERS), "headers");
    assert_string_equal(exch_type_name(EXCH_FANOUT), "fanout");
}

static void test_new_accessors(void **state)
{
    (void)state;
    wr_buf a;
    wr_buf_init(&a);
    ftable_put_cstr(&a, "alternate-exchange", "ae");
    ftable_put_i32(&a, "other", 5);
    int owner, data;
    wr_exchange *ex = exch_new(S("logs"), EXCH_FANOUT, true, true, true, BB(&a), &owner, NULL);
    wr_buf_free(&a); /* the exchange keeps its own copy */
    assert_non_null(ex);
    wr_bytes n = exch_name(ex);
    assert_int_equal(n.len, 4);
    assert_memory_equal(n.ptr, "logs", 4);
    assert_int_equal(exch_get_type(ex), EXCH_FANOUT);
    assert_true(exch_durable(ex) && exch_auto_delete(ex) && exch_internal(ex));
    assert_ptr_equal(exch_owner(ex), &owner);
    assert_null(exch_user_data(ex));
    exch_set_user_data(ex, &data);
    assert_ptr_equal(exch_user_data(ex), &data);
    ftable_value v;
    assert_int_equal(ftable_get(exch_arguments(ex), "other", &v), 0);
    assert_int_equal(v.v.i, 5);
    wr_bytes ae;
    assert_true(exch_alternate(ex, &ae));
    assert_int_equal(ae.len, 2);
    assert_memory_equal(ae.ptr, "ae", 2);
    exch_free(ex);

    ex = mk(EXCH_DIRECT);
    assert_false(exch_alternate(ex, &ae));
    assert_int_equal(exch_arguments(ex).len, 0);
    assert_false(exch_durable(ex) || exch_auto_delete(ex) || exch_internal(ex));
    exch_free(ex);

    /* a non-longstr alternate-exchange is not an alternate exchange */
    wr_buf_init(&a);
    ftable_put_i32(&a, "alternate-exchange", 1);
    ex = exch_new(S("y"), EXCH_DIRECT, false, false, false, BB(&a), NULL, NULL);
    assert_false(exch_alternate(ex, NULL));
    exch_free(ex);
    wr_buf_free(&a);
}

static void test_bind_idempotent(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_DIRECT);
    assert_false(exch_in_use(ex));
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("k"), NONE), 0);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("k"), NONE), 0);
    assert_int_equal(exch_binding_count(ex), 1);
    assert_true(exch_in_use(ex));
    assert_true(exch_has_binding(ex, DEST_QUEUE, &Q[0], S("k"), NONE));
    assert_false(exch_has_binding(ex, DEST_QUEUE, &Q[0], S("j"), NONE));
    assert_false(exch_has_binding(ex, DEST_EXCHANGE, &Q[0], S("k"), NONE));
    /* same queue, other key: a second binding */
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("j"), NONE), 0);
    assert_int_equal(exch_binding_count(ex), 2);
    exch_free(ex);
}

static void test_bind_args_order_insensitive(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_DIRECT);
    wr_buf a, b, c;
    wr_buf_init(&a);
    wr_buf_init(&b);
    wr_buf_init(&c);
    ftable_put_cstr(&a, "p", "1");
    ftable_put_i32(&a, "q", 2);
    ftable_put_i32(&b, "q", 2);
    ftable_put_cstr(&b, "p", "1");
    ftable_put_i64(&c, "q", 2); /* other type: another binding */
    ftable_put_cstr(&c, "p", "1");
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("k"), BB(&a)), 0);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("k"), BB(&b)), 0);
    assert_int_equal(exch_binding_count(ex), 1);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("k"), BB(&c)), 0);
    assert_int_equal(exch_binding_count(ex), 2);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("k"), NONE), 0);
    assert_int_equal(exch_binding_count(ex), 3);
    /* unbind with the arguments in the other order */
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[0], S("k"), BB(&b)), 0);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[0], S("k"), BB(&a)), WR_ENOTFOUND);
    assert_int_equal(exch_binding_count(ex), 2);
    assert_int_equal(route_n(ex, "k", NONE), 1); /* two bindings, one copy */
    wr_buf_free(&a);
    wr_buf_free(&b);
    wr_buf_free(&c);
    exch_free(ex);
}

static void test_unbind_missing(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_TOPIC);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[0], S("k"), NONE), WR_ENOTFOUND);
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("a.*"), NONE), 0);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[1], S("a.*"), NONE), WR_ENOTFOUND);
    assert_int_equal(exch_unbind(ex, DEST_EXCHANGE, &Q[0], S("a.*"), NONE), WR_ENOTFOUND);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[0], S("a.*"), NONE), 0);
    assert_int_equal(exch_binding_count(ex), 0);
    assert_int_equal(route_n(ex, "a.b", NONE), 0);
    exch_free(ex);
}

static void test_direct_routing(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_DIRECT);
    exch_bind(ex, DEST_QUEUE, &Q[0], S("a"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[1], S("a"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[2], S("b"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[3], S(""), NONE);
    assert_int_equal(route_n(ex, "a", NONE), 2);
    assert_int_equal(route_n(ex, "b", NONE), 1);
    assert_int_equal(route_n(ex, "", NONE), 1);
    assert_int_equal(route_n(ex, "c", NONE), 0);
    assert_int_equal(route_n(ex, "A", NONE), 0);
    /* remove the middle of a same-key chain, then the head */
    exch_bind(ex, DEST_QUEUE, &Q[4], S("a"), NONE);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[1], S("a"), NONE), 0);
    assert_int_equal(route_n(ex, "a", NONE), 2);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[4], S("a"), NONE), 0);
    assert_int_equal(route_n(ex, "a", NONE), 1);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[0], S("a"), NONE), 0);
    assert_int_equal(route_n(ex, "a", NONE), 0);
    exch_free(ex);
}

static void test_fanout_routing(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_FANOUT);
    assert_int_equal(route_n(ex, "x", NONE), 0);
    for (int i = 0; i < 5; i++) exch_bind(ex, DEST_QUEUE, &Q[i], S("ignored"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[0], S("other"), NONE);
    assert_int_equal(route_n(ex, "anything", NONE), 5);
    assert_int_equal(route_n(ex, "", NONE), 5);
    exch_free(ex);
}

static void test_unbind_all_to(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_DIRECT);
    exch_bind(ex, DEST_QUEUE, &Q[0], S("a"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[0], S("b"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[1], S("a"), NONE);
    exch_bind(ex, DEST_EXCHANGE, &Q[2], S("a"), NONE);
    assert_int_equal(exch_unbind_all_to(ex, &Q[0]), 2);
    assert_int_equal(exch_unbind_all_to(ex, &Q[0]), 0);
    assert_int_equal(exch_binding_count(ex), 2);
    assert_int_equal(route_n(ex, "a", NONE), 1);
    assert_int_equal(route_n(ex, "b", NONE), 0);
    assert_int_equal(exch_unbind_all_to(ex, &Q[2]), 1);
    assert_int_equal(exch_unbind_all_to(ex, &Q[1]), 1);
    assert_false(exch_in_use(ex)); /* an auto-delete exchange would go now */
    exch_free(ex);
}

static void test_unbind_all_to_every_type(void **state)
{
    (void)state;
    enum exch_type types[] = {EXCH_DIRECT, EXCH_FANOUT, EXCH_TOPIC, EXCH_HEADERS};
    for (int t = 0; t < 4; t++) {
        wr_exchange *ex = mk(types[t]);
        for (int i = 0; i < 8; i++) {
            exch_bind(ex, DEST_QUEUE, &Q[i], S("k"), NONE);
            exch_bind(ex, DEST_QUEUE, &Q[i], S("#"), NONE);
        }
        uint32_t all = route_n(ex, "k", NONE);
        assert_int_equal(all, 8);
        for (int i = 0; i < 8; i += 2) assert_int_equal(exch_unbind_all_to(ex, &Q[i]), 2);
        assert_int_equal(exch_binding_count(ex), 8);
        assert_int_equal(route_n(ex, "k", NONE), 4);
        for (int i = 1; i < 8; i += 2) assert_int_equal(exch_unbind_all_to(ex, &Q[i]), 2);
        assert_int_equal(route_n(ex, "k", NONE), 0);
        assert_false(exch_in_use(ex));
        exch_free(ex);
    }
}

typedef struct unbound_log {
    int n, n_exchanges;
} unbound_log;

static void on_unbound(void *ctx, wr_dest_kind k, void *dest, wr_bytes rk, wr_bytes args)
{
    unbound_log *l = ctx;
    (void)dest;
    (void)args;
    (void)rk;
    l->n++;
    if (k == DEST_EXCHANGE) l->n_exchanges++;
}

static void test_unbind_all_from(void **state)
{
    (void)state;
    enum exch_type types[] = {EXCH_DIRECT, EXCH_FANOUT, EXCH_TOPIC, EXCH_HEADERS};
    for (int t = 0; t < 4; t++) {
        wr_exchange *ex = mk(types[t]);
        exch_bind(ex, DEST_QUEUE, &Q[0], S("a"), NONE);
        exch_bind(ex, DEST_EXCHANGE, &Q[1], S("a"), NONE);
        exch_bind(ex, DEST_EXCHANGE, &Q[2], S("b.#"), NONE);
        unbound_log l = {0, 0};
        assert_int_equal(exch_unbind_all_from(ex, on_unbound, &l), 3);
        assert_int_equal(l.n, 3);
        assert_int_equal(l.n_exchanges, 2);
        assert_int_equal(exch_binding_count(ex), 0);
        assert_int_equal(route_n(ex, "a", NONE), 0);
        /* the exchange is still usable */
        assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[0], S("a"), NONE), 0);
        assert_int_equal(route_n(ex, "a", NONE), 1);
        assert_int_equal(exch_unbind_all_from(ex, NULL, NULL), 1);
        exch_free(ex);
    }
}

typedef struct iter_log {
    int n;
    int stop_after;
} iter_log;

static int on_binding(void *ctx, const exch_binding_info *b)
{
    iter_log *l = ctx;
    assert_int_equal(b->kind, DEST_QUEUE);
    char want[2] = {(char)('a' + l->n), 0};
    assert_int_equal(b->routing_key.len, 1);
    assert_memory_equal(b->routing_key.ptr, want, 1);
    l->n++;
    return l->n == l->stop_after ? 42 : 0;
}

static void test_foreach_binding(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_TOPIC);
    exch_bind(ex, DEST_QUEUE, &Q[0], S("a"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[1], S("b"), NONE);
    exch_bind(ex, DEST_QUEUE, &Q[2], S("c"), NONE);
    iter_log l = {0, 0};
    assert_int_equal(exch_foreach_binding(ex, on_binding, &l), 0);
    assert_int_equal(l.n, 3);
    l = (iter_log){0, 2};
    assert_int_equal(exch_foreach_binding(ex, on_binding, &l), 42);
    assert_int_equal(l.n, 2);
    exch_free(ex);
}

/* --- headers -------------------------------------------------------------- */

static void test_xmatch_validation(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_HEADERS);
    wr_amqp_error err;
    wr_buf a;
    const char *ok[] = {"all", "any", "all-with-x", "any-with-x"};
    for (int i = 0; i < 4; i++) {
        wr_buf_init(&a);
        ftable_put_cstr(&a, "x-match", ok[i]);
        assert_int_equal(exch_check_binding(ex, BB(&a), 0x00320014, &err), 0);
        assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[i], S(""), BB(&a)), 0);
        wr_buf_free(&a);
    }
    assert_int_equal(exch_check_binding(ex, NONE, 0x00320014, &err), 0);

    wr_buf_init(&a);
    ftable_put_cstr(&a, "x-match", "foo");
    assert_int_equal(exch_check_binding(ex, BB(&a), 0x00320014, &err), WR_EAMQP);
    assert_int_equal(err.code, 406);
    assert_int_equal(err.method_id, 0x00320014);
    assert_string_equal(err.text, "PRECONDITION_FAILED - Invalid x-match field value <<\"foo\">>; "
                                  "expected all or any");
    assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[5], S(""), BB(&a)), WR_EINVAL);
    wr_buf_free(&a);

    wr_buf_init(&a);
    ftable_put_i32(&a, "x-match", 23);
    assert_int_equal(exch_check_binding(ex, BB(&a), 1, &err), WR_EAMQP);
    assert_string_equal(err.text, "PRECONDITION_FAILED - Invalid x-match field type signedint "
                                  "(value 23); expected longstr");
    wr_buf_free(&a);

    /* other exchange types do not look at x-match */
    wr_exchange *d = mk(EXCH_DIRECT);
    wr_buf_init(&a);
    ftable_put_cstr(&a, "x-match", "foo");
    assert_int_equal(exch_check_binding(d, BB(&a), 1, &err), 0);
    assert_int_equal(exch_bind(d, DEST_QUEUE, &Q[0], S(""), BB(&a)), 0);
    wr_buf_free(&a);
    exch_free(d);
    assert_int_equal(exch_binding_count(ex), 4);
    exch_free(ex);
}

/* Builds a table from "key=type:value" specs: S longstr, I int32, l int64,
 * b int8, d double, f float, t bool, V void, x bytes. */
static void table(wr_buf *b, const char *const *specs)
{
    wr_buf_init(b);
    for (; *specs; specs++) {
        char key[64];
        const char *eq = strchr(*specs, '=');
        assert_non_null(eq);
        memcpy(key, *specs, (size_t)(eq - *specs));
        key[eq - *specs] = 0;
        char t = eq[1];
        const char *v = eq + 3;
        switch (t) {
        case 'S':
            ftable_put_cstr(b, key, v);
            break;
        case 'x':
            ftable_put_bytes(b, key, v, strlen(v));
            break;
        case 'I':
            ftable_put_i32(b, key, (int32_t)atoi(v));
            break;
        case 'l':
            ftable_put_i64(b, key, atoll(v));
            break;
        case 'b':
            ftable_put_i8(b, key, (int8_t)atoi(v));
            break;
        case 'd':
            ftable_put_double(b, key, atof(v));
            break;
        case 'f':
            ftable_put_float(b, key, (float)atof(v));
            break;
        case 't':
            ftable_put_bool(b, key, v[0] == '1');
            break;
        case 'V':
            ftable_put_void(b, key);
            break;
        case 'T':
            ftable_put_timestamp(b, key, (uint64_t)atoll(v));
            break;
        default:
            fail();
        }
    }
}

static bool hm(const char *const *args, const char *const *headers)
{
    wr_buf a, h;
    table(&a, args);
    table(&h, headers);
    enum hmatch_mode m;
    assert_int_equal(hmatch_parse_mode(BB(&a), &m, NULL, 0), 0);
    bool r = hmatch_match(BB(&a), m, BB(&h));
    wr_buf_free(&a);
    wr_buf_free(&h);
    return r;
}

#define T(...) ((const char *const[]){__VA_ARGS__, NULL})
#define E      ((const char *const[]){NULL})

static void test_headers_all(void **state)
{
    (void)state;
    assert_true(hm(T("a=S:1", "b=S:2"), T("b=S:2", "a=S:1", "c=S:3")));
    assert_false(hm(T("a=S:1", "b=S:2"), T("a=S:1")));
    assert_false(hm(T("a=S:1", "b=S:2"), T("a=S:1", "b=S:3")));
    assert_false(hm(T("a=S:1"), E));
    assert_true(hm(T("x-match=S:all", "a=S:1"), T("a=S:1")));
    /* no keys: all matches everything, even no headers */
    assert_true(hm(E, E));
    assert_true(hm(T("x-match=S:all"), T("q=S:1")));
}

static void test_headers_any(void **state)
{
    (void)state;
    assert_true(hm(T("x-match=S:any", "a=S:1", "b=S:2"), T("b=S:2")));
    assert_false(hm(T("x-match=S:any", "a=S:1", "b=S:2"), T("b=S:3", "c=S:2")));
    assert_false(hm(T("x-match=S:any", "a=S:1"), E));
    assert_false(hm(T("x-match=S:any"), T("a=S:1"))); /* no keys: nothing */
}

static void test_headers_types(void **state)
{
    (void)state;
    /* int and longstr are different types */
    assert_false(hm(T("a=I:1"), T("a=S:1")));
    assert_false(hm(T("a=S:1"), T("a=I:1")));
    /* integer widths are one class compared by value */
    assert_true(hm(T("a=I:1"), T("a=l:1")));
    assert_true(hm(T("a=b:-5"), T("a=I:-5")));
    assert_false(hm(T("a=I:1"), T("a=l:2")));
    /* numbers compare by value across int/float (Erlang ==) */
    assert_true(hm(T("a=d:1.5"), T("a=f:1.5")));
    assert_false(hm(T("a=d:1.5"), T("a=I:1")));
    assert_true(hm(T("a=d:1"), T("a=I:1")));
    assert_true(hm(T("a=I:2"), T("a=f:2")));
    /* bool */
    assert_true(hm(T("a=t:1"), T("a=t:1")));
    assert_false(hm(T("a=t:1"), T("a=t:0")));
    /* longstr and byte array are both binaries */
    assert_true(hm(T("a=S:z"), T("a=x:z")));
    assert_false(hm(T("a=S:z"), T("a=x:y")));
    assert_false(hm(T("a=t:1"), T("a=I:1"))); /* true is not 1 */
    /* a timestamp is an integer */
    assert_true(hm(T("a=T:1700000000"), T("a=l:1700000000")));
    assert_false(hm(T("a=T:5"), T("a=I:-5")));
    assert_true(hm(T("a=x:z"), T("a=x:z")));
}

static void test_headers_void_presence(void **state)
{
    (void)state;
    assert_true(hm(T("a=V:"), T("a=S:anything")));
    assert_true(hm(T("a=V:"), T("a=I:7")));
    assert_false(hm(T("a=V:"), T("b=S:1")));
    assert_true(hm(T("x-match=S:any", "a=V:", "b=S:1"), T("a=l:0")));
    /* a void header value matches only a void (or presence) pattern */
    assert_false(hm(T("a=S:1"), T("a=V:")));
}

static void test_headers_x_keys(void **state)
{
    (void)state;
    /* x- keys in the pattern are ignored by all/any */
    assert_true(hm(T("x-foo=S:1", "a=S:1"), T("a=S:1")));
    assert_false(hm(T("x-match=S:any", "x-foo=S:1"), T("x-foo=S:1")));
    assert_true(hm(T("x-foo=S:1"), E)); /* only x- keys: all matches */
    /* ... but count with -with-x */
    assert_false(hm(T("x-match=S:all-with-x", "x-foo=S:1", "a=S:1"), T("a=S:1")));
    assert_true(hm(T("x-match=S:all-with-x", "x-foo=S:1", "a=S:1"), T("a=S:1", "x-foo=S:1")));
    assert_true(hm(T("x-match=S:any-with-x", "x-foo=S:1", "a=S:1"), T("x-foo=S:1")));
    assert_false(hm(T("x-match=S:any-with-x", "x-foo=S:1"), T("x-foo=S:2")));
}

static void test_headers_exchange_routing(void **state)
{
    (void)state;
    wr_exchange *ex = mk(EXCH_HEADERS);
    wr_buf a1, a2, h;
    table(&a1, T("x-match=S:all", "format=S:pdf", "type=S:report"));
    table(&a2, T("x-match=S:any", "format=S:zip", "type=S:log"));
    exch_bind(ex, DEST_QUEUE, &Q[0], S("ignored"), BB(&a1));
    exch_bind(ex, DEST_QUEUE, &Q[1], S(""), BB(&a2));
    table(&h, T("format=S:pdf", "type=S:report"));
    assert_int_equal(route_n(ex, "", BB(&h)), 1);
    wr_buf_free(&h);
    table(&h, T("format=S:pdf", "type=S:log"));
    assert_int_equal(route_n(ex, "", BB(&h)), 1);
    wr_buf_free(&h);
    table(&h, T("format=S:zip", "type=S:log"));
    assert_int_equal(route_n(ex, "", BB(&h)), 1);
    wr_buf_free(&h);
    assert_int_equal(route_n(ex, "", NONE), 0);
    wr_buf_free(&a1);
    wr_buf_free(&a2);
    exch_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_parse),
        cmocka_unit_test(test_new_accessors),
        cmocka_unit_test(test_bind_idempotent),
        cmocka_unit_test(test_bind_args_order_insensitive),
        cmocka_unit_test(test_unbind_missing),
        cmocka_unit_test(test_direct_routing),
        cmocka_unit_test(test_fanout_routing),
        cmocka_unit_test(test_unbind_all_to),
        cmocka_unit_test(test_unbind_all_to_every_type),
        cmocka_unit_test(test_unbind_all_from),
        cmocka_unit_test(test_foreach_binding),
        cmocka_unit_test(test_xmatch_validation),
        cmocka_unit_test(test_headers_all),
        cmocka_unit_test(test_headers_any),
        cmocka_unit_test(test_headers_types),
        cmocka_unit_test(test_headers_void_presence),
        cmocka_unit_test(test_headers_x_keys),
        cmocka_unit_test(test_headers_exchange_routing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
