/* Unit tests for broker/proto/ftable.h: every type letter built, validated,
 * iterated and read back; lookups, integer widening, order-insensitive
 * equality, arrays, nesting limits, and malformed content (bad type letter,
 * cut at every point, lengths beyond the end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/proto/ftable.h"
#include "broker/proto/wire.h"

static wr_bytes B(const wr_buf *b)
{
    return wr_bytes_of(b->data, b->len);
}

/* One table holding every type. */
static void build_all(wr_buf *t)
{
    wr_buf inner, arr;
    ftable_value v;

    wr_buf_init(&inner);
    wr_buf_init(&arr);
    assert_int_equal(ftable_put_bool(&inner, "nested", true), 0);
    v.type = 'I';
    v.v.i = -5;
    assert_int_equal(ftable_array_put_value(&arr, &v), 0);
    v.type = 'S';
    v.v.str = wr_bytes_str("two");
    assert_int_equal(ftable_array_put_value(&arr, &v), 0);

    assert_int_equal(ftable_put_bool(t, "t", true), 0);
    assert_int_equal(ftable_put_i8(t, "b", -3), 0);
    assert_int_equal(ftable_put_u8(t, "B", 250), 0);
    assert_int_equal(ftable_put_i16(t, "s", -30000), 0);
    assert_int_equal(ftable_put_u16(t, "u", 60000), 0);
    assert_int_equal(ftable_put_i32(t, "I", -2000000000), 0);
    assert_int_equal(ftable_put_u32(t, "i", 4000000000u), 0);
    assert_int_equal(ftable_put_i64(t, "l", -9000000000000000000ll), 0);
    assert_int_equal(ftable_put_float(t, "f", 1.5f), 0);
    assert_int_equal(ftable_put_double(t, "d", -2.25), 0);
    assert_int_equal(ftable_put_decimal(t, "D", 2, 12345), 0);
    assert_int_equal(ftable_put_longstr(t, "S", "hello", 5), 0);
    assert_int_equal(ftable_put_bytes(t, "x", "\0\1\2", 3), 0);
    assert_int_equal(ftable_put_array(t, "A", B(&arr)), 0);
    assert_int_equal(ftable_put_timestamp(t, "T", 1700000000000ull), 0);
    assert_int_equal(ftable_put_table(t, "F", B(&inner)), 0);
    assert_int_equal(ftable_put_void(t, "V"), 0);
    wr_buf_free(&inner);
    wr_buf_free(&arr);
}

static void test_every_type(void **state)
{
    wr_buf t;
    ftable_value v, e;
    ftable_iter it;
    wr_bytes k;
    int64_t n;
    (void)state;

    wr_buf_init(&t);
    build_all(&t);
    assert_int_equal(ftable_validate(t.data, t.len), 0);
    assert_int_equal(ftable_count(B(&t)), 17);

    assert_int_equal(ftable_get(B(&t), "t", &v), 0);
    assert_int_equal(v.type, 't');
    assert_true(v.v.b);
    assert_int_equal(ftable_get(B(&t), "b", &v), 0);
    assert_int_equal(v.v.i, -3);
    assert_int_equal(ftable_get(B(&t), "B", &v), 0);
    assert_int_equal(v.v.i, 250);
    assert_int_equal(ftable_get(B(&t), "s", &v), 0);
    assert_int_equal(v.v.i, -30000);
    assert_int_equal(ftable_get(B(&t), "u", &v), 0);
    assert_int_equal(v.v.i, 60000);
    assert_int_equal(ftable_get(B(&t), "I", &v), 0);
    assert_int_equal(v.v.i, -2000000000);
    assert_int_equal(ftable_get(B(&t), "i", &v), 0);
    assert_int_equal(v.v.i, 4000000000ll);
    assert_int_equal(ftable_get(B(&t), "l", &v), 0);
    assert_true(v.v.i == -9000000000000000000ll);
    assert_int_equal(ftable_get(B(&t), "f", &v), 0);
    assert_true(v.type == 'f' && v.v.f == 1.5f);
    assert_int_equal(ftable_get(B(&t), "d", &v), 0);
    assert_true(v.type == 'd' && v.v.d == -2.25);
    assert_int_equal(ftable_get(B(&t), "D", &v), 0);
    assert_int_equal(v.v.dec.scale, 2);
    assert_int_equal(v.v.dec.value, 12345);
    assert_int_equal(ftable_get(B(&t), "S", &v), 0);
    assert_true(wr_bytes_eq_str(v.v.str, "hello"));
    assert_int_equal(ftable_get(B(&t), "x", &v), 0);
    assert_int_equal(v.type, 'x');
    assert_int_equal(v.v.str.len, 3);
    assert_int_equal(ftable_get(B(&t), "T", &v), 0);
    assert_true(v.v.u == 1700000000000ull);
    assert_int_equal(ftable_get(B(&t), "V", &v), 0);
    assert_int_equal(v.type, 'V');
    assert_int_equal(ftable_get(B(&t), "F", &v), 0);
    assert_int_equal(ftable_get(v.v.table, "nested", &e), 0);
    assert_true(e.v.b);
    assert_int_equal(ftable_get(B(&t), "A", &v), 0);
    ftable_iter_init(&it, v.v.array);
    assert_int_equal(ftable_array_next(&it, &e), 1);
    assert_true(e.type == 'I' && e.v.i == -5);
    assert_int_equal(ftable_array_next(&it, &e), 1);
    assert_true(e.type == 'S' && wr_bytes_eq_str(e.v.str, "two"));
    assert_int_equal(ftable_array_next(&it, &e), 0);
    assert_int_equal(ftable_get(B(&t), "missing", &v), WR_ENOTFOUND);
    assert_int_equal(ftable_get(B(&t), "S", NULL), 0);

    /* integer widening: the seven integer types, not timestamp/bool/string */
    const char *ints = "bBsuIil";
    for (const char *c = ints; *c; c++) {
        char key[2] = {*c, 0};
        assert_int_equal(ftable_get(B(&t), key, &v), 0);
        assert_true(ftable_as_int(&v, &n));
    }
    assert_int_equal(ftable_get(B(&t), "T", &v), 0);
    assert_false(ftable_as_int(&v, &n));
    assert_int_equal(ftable_get(B(&t), "S", &v), 0);
    assert_false(ftable_as_int(&v, &n));

    /* iteration order is wire order; copying every entry gives the same bytes */
    wr_buf copy;
    wr_buf_init(&copy);
    ftable_iter_init(&it, B(&t));
    int count = 0;
    while (ftable_next(&it, &k, &v) == 1) {
        assert_int_equal(ftable_put_value(&copy, k.ptr, k.len, &v), 0);
        count++;
    }
    assert_int_equal(count, 17);
    assert_int_equal(copy.len, t.len);
    assert_memory_equal(copy.data, t.data, t.len);
    wr_buf_free(&copy);
    wr_buf_free(&t);
}

static void test_known_bytes(void **state)
{
    wr_buf t;
    static const uint8_t want[] = {1,   'k', 'S', 0, 0, 0, 2, 'v', 'w', 1,
                                   'n', 'l', 0,   0, 0, 0, 0, 0,   0,   7};
    (void)state;
    wr_buf_init(&t);
    assert_int_equal(ftable_put_cstr(&t, "k", "vw"), 0);
    assert_int_equal(ftable_put_i64(&t, "n", 7), 0);
    assert_int_equal(t.len, sizeof(want));
    assert_memory_equal(t.data, want, sizeof(want));
    wr_buf_free(&t);
}

static void test_L_reads_as_l(void **state)
{
    static const uint8_t t[] = {1, 'k', 'L', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE};
    ftable_value v;
    int64_t n;
    (void)state;
    assert_int_equal(ftable_validate(t, sizeof(t)), 0);
    assert_int_equal(ftable_get(wr_bytes_of(t, sizeof(t)), "k", &v), 0);
    assert_int_equal(v.type, 'l');
    assert_true(ftable_as_int(&v, &n));
    assert_int_equal(n, -2);
}

static void test_cut_everywhere(void **state)
{
    wr_buf t;
    (void)state;
    wr_buf_init(&t);
    build_all(&t);
    /* every proper prefix that does not end on an entry boundary is malformed;
     * entry boundaries are valid tables with fewer entries */
    size_t boundaries[32];
    int nb = 0;
    ftable_iter it;
    wr_bytes k;
    ftable_value v;
    ftable_iter_init(&it, B(&t));
    boundaries[nb++] = 0;
    while (ftable_next(&it, &k, &v) == 1) boundaries[nb++] = it.rd.off;
    for (size_t cut = 0; cut < t.len; cut++) {
        bool boundary = false;
        for (int i = 0; i < nb; i++)
            if (boundaries[i] == cut) boundary = true;
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, t.data, cut);
        assert_int_equal(ftable_validate(copy, cut), boundary ? 0 : WR_EMALFORMED);
        free(copy);
    }
    wr_buf_free(&t);
}

static void test_bad_type_letters(void **state)
{
    uint8_t t[4] = {1, 'k', 0, 0};
    const char *good = "tbBsuIilLfdDSxATFV";
    (void)state;
    for (int c = 0; c < 256; c++) {
        t[2] = (uint8_t)c;
        if (strchr(good, c) && c) continue;
        assert_int_equal(ftable_validate(t, 3), WR_EMALFORMED);
    }
    /* 'V' needs no payload; 't' needs one byte */
    t[2] = 'V';
    assert_int_equal(ftable_validate(t, 3), 0);
    t[2] = 't';
    assert_int_equal(ftable_validate(t, 3), WR_EMALFORMED);
    assert_int_equal(ftable_validate(t, 4), 0);
}

static void test_length_overflow(void **state)
{
    /* longstr claiming 4 GiB */
    static const uint8_t t[] = {1, 'k', 'S', 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
    /* key length beyond the end */
    static const uint8_t u[] = {200, 'k'};
    /* nested table whose content is malformed */
    static const uint8_t w[] = {1, 'k', 'F', 0, 0, 0, 3, 1, 'z', '?'};
    /* array with a bad element */
    static const uint8_t a[] = {1, 'k', 'A', 0, 0, 0, 1, 'Q'};
    (void)state;
    assert_int_equal(ftable_validate(t, sizeof(t)), WR_EMALFORMED);
    assert_int_equal(ftable_validate(u, sizeof(u)), WR_EMALFORMED);
    assert_int_equal(ftable_validate(w, sizeof(w)), WR_EMALFORMED);
    assert_int_equal(ftable_validate(a, sizeof(a)), WR_EMALFORMED);
    assert_int_equal(ftable_validate(NULL, 0), 0);
}

/* depth d: table { "n": F { "n": F ... {} } } with d levels in all */
static void build_nested(wr_buf *out, int d)
{
    wr_buf cur, next;
    wr_buf_init(&cur);
    for (int i = 1; i < d; i++) {
        wr_buf_init(&next);
        assert_int_equal(ftable_put_table(&next, "n", B(&cur)), 0);
        wr_buf_free(&cur);
        cur = next;
    }
    *out = cur;
}

static void test_depth_limit(void **state)
{
    wr_buf t;
    (void)state;
    build_nested(&t, WIRE_TABLE_MAX_DEPTH);
    assert_int_equal(ftable_validate(t.data, t.len), 0);
    wr_buf_free(&t);
    build_nested(&t, WIRE_TABLE_MAX_DEPTH + 1);
    assert_int_equal(ftable_validate(t.data, t.len), WR_EMALFORMED);
    wr_buf_free(&t);

    /* arrays count as levels too */
    wr_buf cur, next;
    wr_buf_init(&cur);
    ftable_value v;
    for (int i = 1; i < WIRE_TABLE_MAX_DEPTH + 1; i++) {
        wr_buf_init(&next);
        v.type = 'A';
        v.v.array = B(&cur);
        assert_int_equal(ftable_array_put_value(&next, &v), 0);
        wr_buf_free(&cur);
        cur = next;
    }
    assert_int_equal(ftable_validate_array(cur.data, cur.len), WR_EMALFORMED);
    wr_buf_free(&cur);
}

static void test_equal_any_order(void **state)
{
    wr_buf a, b, c, d;
    (void)state;
    wr_buf_init(&a);
    wr_buf_init(&b);
    wr_buf_init(&c);
    wr_buf_init(&d);
    ftable_put_i64(&a, "x-max-length", 10);
    ftable_put_cstr(&a, "x-queue-mode", "lazy");
    ftable_put_cstr(&b, "x-queue-mode", "lazy");
    ftable_put_i64(&b, "x-max-length", 10);
    assert_true(ftable_equal(B(&a), B(&b)));
    assert_true(ftable_equal(B(&b), B(&a)));
    /* same value, different type: not equal (RabbitMQ compares typed values) */
    ftable_put_cstr(&c, "x-queue-mode", "lazy");
    ftable_put_i32(&c, "x-max-length", 10);
    assert_false(ftable_equal(B(&a), B(&c)));
    /* a subset is not equal */
    ftable_put_cstr(&d, "x-queue-mode", "lazy");
    assert_false(ftable_equal(B(&a), B(&d)));
    assert_false(ftable_equal(B(&d), B(&a)));
    /* empty tables */
    assert_true(ftable_equal(wr_bytes_of(NULL, 0), wr_bytes_of(NULL, 0)));
    assert_false(ftable_equal(B(&a), wr_bytes_of(NULL, 0)));
    /* nested tables compare in any order too */
    wr_buf na, nb;
    wr_buf_init(&na);
    wr_buf_init(&nb);
    ftable_put_table(&na, "n", B(&a));
    ftable_put_table(&nb, "n", B(&b));
    assert_true(ftable_equal(B(&na), B(&nb)));
    /* malformed is never equal, not even to itself */
    static const uint8_t bad[] = {1, 'k', '?'};
    assert_false(ftable_equal(wr_bytes_of(bad, 3), wr_bytes_of(bad, 3)));
    wr_buf_free(&na);
    wr_buf_free(&nb);
    wr_buf_free(&a);
    wr_buf_free(&b);
    wr_buf_free(&c);
    wr_buf_free(&d);
}

static void test_equal_large_and_duplicates(void **state)
{
    wr_buf a, b, c, d;
    char key[16];
    (void)state;
    wr_buf_init(&a);
    wr_buf_init(&b);
    /* 20000 entries in opposite orders: equal, and quick (sorted, not quadratic) */
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ftable_put_i64(&a, key, i);
        snprintf(key, sizeof(key), "k%d", 19999 - i);
        ftable_put_i64(&b, key, 19999 - i);
    }
    assert_true(ftable_equal(B(&a), B(&b)));
    /* change one value */
    b.data[b.len - 1] ^= 1;
    assert_false(ftable_equal(B(&a), B(&b)));
    wr_buf_free(&a);
    wr_buf_free(&b);

    /* repeated keys are matched in wire order, not all against the first */
    wr_buf_init(&c);
    wr_buf_init(&d);
    ftable_put_i64(&c, "k", 1);
    ftable_put_i64(&c, "k", 1);
    ftable_put_i64(&d, "k", 1);
    ftable_put_i64(&d, "k", 2);
    assert_false(ftable_equal(B(&c), B(&d)));
    assert_false(ftable_equal(B(&d), B(&c)));
    wr_buf_free(&c);
    wr_buf_free(&d);
}

static void test_builder_errors(void **state)
{
    wr_buf t;
    char key[300];
    ftable_value v;
    (void)state;
    memset(key, 'k', sizeof(key));
    key[256] = 0;
    wr_buf_init(&t);
    assert_int_equal(ftable_put_bool(&t, key, true), WR_EINVAL);
    assert_int_equal(t.len, 0);
    key[255] = 0;
    assert_int_equal(ftable_put_bool(&t, key, true), 0);
    v.type = '?';
    assert_int_equal(ftable_put_value(&t, "a", 1, &v), WR_EINVAL);
    assert_int_equal(t.len, 255 + 1 + 1 + 1); /* the failed entry left nothing behind */
    wr_buf_free(&t);
}

static void test_server_properties_shape(void **state)
{
    /* what connection.start needs: nested capabilities table of bools */
    wr_buf caps, props;
    ftable_value v, e;
    (void)state;
    wr_buf_init(&caps);
    wr_buf_init(&props);
    const char *names[] = {
        "publisher_confirms",           "exchange_exchange_bindings", "basic.nack",
        "consumer_cancel_notify",       "connection.blocked",         "consumer_priorities",
        "authentication_failure_close", "per_consumer_qos",           "direct_reply_to"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(ftable_put_bool(&caps, names[i], true), 0);
    assert_int_equal(ftable_put_table(&props, "capabilities", B(&caps)), 0);
    assert_int_equal(ftable_put_cstr(&props, "product", "RabbitMQ"), 0);
    assert_int_equal(ftable_put_cstr(&props, "version", "3.8.3"), 0);
    assert_int_equal(ftable_validate(props.data, props.len), 0);
    assert_int_equal(ftable_get(B(&props), "capabilities", &v), 0);
    assert_int_equal(v.type, 'F');
    assert_int_equal(ftable_get(v.v.table, "basic.nack", &e), 0);
    assert_true(e.type == 't' && e.v.b);
    wr_buf_free(&caps);
    wr_buf_free(&props);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_L_reads_as_l),
        cmocka_unit_test(test_cut_everywhere),
        cmocka_unit_test(test_bad_type_letters),
        cmocka_unit_test(test_length_overflow),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_equal_any_order),
        cmocka_unit_test(test_equal_large_and_duplicates),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_server_properties_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
