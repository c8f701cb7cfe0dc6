/* wr_core messages: allocation layout, decoded properties, expiration
 * validation with RabbitMQ's texts, clone for dead-lettering. */
#include "tests/unit/core_fixture.h"

static void t_msg_fields(void **state)
{
    (void)state;
    wr_msg *a = fx_msg("hello");
    wr_msg *b = fx_msg("x");
    assert_int_equal(a->refs, 1);
    assert_true(b->id > a->id);
    assert_int_equal(a->routing_key.len, 2);
    assert_memory_equal(a->routing_key.ptr, "rk", 2);
    assert_int_equal(a->exchange.len, 0);
    assert_string_equal(fx_body(a), "hello");
    assert_false(a->persistent);
    assert_int_equal(a->ttl_ms, -1);
    assert_int_equal(a->priority, 0);
    assert_ptr_equal(msg_ref(a), a);
    assert_int_equal(a->refs, 2);
    msg_unref(a);
    msg_unref(a);
    msg_unref(b);
    msg_unref(NULL);
}

static void t_msg_props(void **state)
{
    (void)state;
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG | AMQP091_BASIC_PRIORITY_FLAG |
              AMQP091_BASIC_EXPIRATION_FLAG | AMQP091_BASIC_CONTENT_TYPE_FLAG;
    p.delivery_mode = 2;
    p.priority = 7;
    p.expiration = S("1500");
    p.content_type = S("text/plain");
    wr_msg *m = fx_msg_props("ex", "key", "b", &p);
    assert_true(m->persistent);
    assert_int_equal(m->priority, 7);
    assert_int_equal(m->ttl_ms, 1500);
    assert_int_equal(m->props.content_type.len, 10);
    assert_memory_equal(m->props.content_type.ptr, "text/plain", 10);
    /* the decoded view points into the message's own copy */
    assert_true(m->props.content_type.ptr >= m->props_raw &&
                m->props.content_type.ptr < m->props_raw + m->props_len);
    msg_unref(m);
}

static void t_msg_transient_mode1(void **state)
{
    (void)state;
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = 1;
    wr_msg *m = fx_msg_props("", "k", "", &p);
    assert_false(m->persistent);
    assert_int_equal(m->body_len, 0);
    msg_unref(m);
}

static void t_msg_bad_props(void **state)
{
    (void)state;
    /* content-type flag set but no shortstr follows */
    const uint8_t raw[] = {0x80, 0x00};
    assert_null(msg_new(S(""), S("k"), raw, sizeof(raw), 1));
}

static void expect_exp_error(const char *exp, const char *text)
{
    wr_amqp_error e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(msg_check_expiration(S(exp), NULL, 0x003C0028u, &e), WR_EAMQP);
    assert_int_equal(e.code, 406);
    assert_int_equal(e.method_id, 0x003C0028u);
    assert_string_equal(e.text, text);
}

static void t_msg_expiration_ok(void **state)
{
    (void)state;
    wr_amqp_error e;
    int64_t v = -5;
    assert_int_equal(msg_check_expiration(S("0"), &v, 0, &e), 0);
    assert_int_equal(v, 0);
    assert_int_equal(msg_check_expiration(S("60000"), &v, 0, &e), 0);
    assert_int_equal(v, 60000);
    assert_int_equal(msg_check_expiration(S("4294967295"), &v, 0, &e), 0);
    assert_int_equal(v, 4294967295LL);
}

static void t_msg_expiration_errors(void **state)
{
    (void)state;
    expect_exp_error("abc", "PRECONDITION_FAILED - invalid expiration 'abc': no_integer");
    expect_exp_error("", "PRECONDITION_FAILED - invalid expiration '': no_integer");
    expect_exp_error("-1", "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}");
    expect_exp_error("10s",
                     "PRECONDITION_FAILED - invalid expiration '10s': {leftover_string,\"s\"}");
    expect_exp_error("4294967296", "PRECONDITION_FAILED - invalid expiration '4294967296': "
                                   "{value_too_big,4294967296}");
}

static void t_msg_bad_expiration_ignored_by_new(void **state)
{
    (void)state;
    wr_msg *m = fx_msg_exp("b", "soon");
    assert_int_equal(m->ttl_ms, -1);
    msg_unref(m);
}

static void t_msg_clone(void **state)
{
    (void)state;
    wr_msg *a = fx_msg("payload");
    const uint8_t raw[] = {0x00, 0x00};
    wr_msg *b = msg_clone_with(a, S("dlx"), S("new"), raw, sizeof(raw));
    assert_non_null(b);
    assert_int_not_equal(a->id, b->id);
    assert_string_equal(fx_body(b), "payload");
    assert_int_equal(b->exchange.len, 3);
    assert_memory_equal(b->routing_key.ptr, "new", 3);
    assert_int_equal(b->refs, 1);
    msg_unref(a);
    msg_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_msg_fields),
        cmocka_unit_test(t_msg_props),
        cmocka_unit_test(t_msg_transient_mode1),
        cmocka_unit_test(t_msg_bad_props),
        cmocka_unit_test(t_msg_expiration_ok),
        cmocka_unit_test(t_msg_expiration_errors),
        cmocka_unit_test(t_msg_bad_expiration_ignored_by_new),
        cmocka_unit_test(t_msg_clone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
