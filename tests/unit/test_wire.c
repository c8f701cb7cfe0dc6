/* Unit tests for broker/proto/wire.h: big-endian readers and writers, every
 * reader at every cut point (the cursor must not move on failure), length
 * fields that point past the end, and the UTF-8 check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/proto/wire.h"

static void test_roundtrip(void **state)
{
    wr_buf b;
    wire_rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    wr_bytes s = {0}, l = {0}, t = {0};
    static const uint8_t table[] = {1, 'k', 't', 1};
    (void)state;

    wr_buf_init(&b);
    assert_int_equal(wire_put_u8(&b, 0xAB), 0);
    assert_int_equal(wire_put_u16(&b, 0x1234), 0);
    assert_int_equal(wire_put_u32(&b, 0xDEADBEEF), 0);
    assert_int_equal(wire_put_u64(&b, 0x0102030405060708ull), 0);
    assert_int_equal(wire_put_shortstr(&b, "abc", 3), 0);
    assert_int_equal(wire_put_longstr(&b, "hello", 5), 0);
    assert_int_equal(wire_put_table(&b, wr_bytes_of(table, sizeof(table))), 0);
    static const uint8_t want[] = {0xAB, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3,   4,   5,
                                   6,    7,    8,    3,    'a',  'b',  'c',  0, 0, 0,   5,   'h',
                                   'e',  'l',  'l',  'o',  0,    0,    0,    4, 1, 'k', 't', 1};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));

    wire_rd_init(&r, b.data, b.len);
    assert_int_equal(wire_get_u8(&r, &u8), 0);
    assert_int_equal(u8, 0xAB);
    assert_int_equal(wire_get_u16(&r, &u16), 0);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(wire_get_u32(&r, &u32), 0);
    assert_int_equal(u32, 0xDEADBEEF);
    assert_int_equal(wire_get_u64(&r, &u64), 0);
    assert_true(u64 == 0x0102030405060708ull);
    assert_int_equal(wire_get_shortstr(&r, &s), 0);
    assert_true(wr_bytes_eq_str(s, "abc"));
    assert_int_equal(wire_get_longstr(&r, &l), 0);
    assert_true(wr_bytes_eq_str(l, "hello"));
    assert_int_equal(wire_get_table(&r, &t), 0);
    assert_int_equal(t.len, sizeof(table));
    assert_int_equal(wire_remaining(&r), 0);
    assert_int_equal(wire_get_u8(&r, &u8), WR_EMALFORMED);
    wr_buf_free(&b);
}

typedef int (*reader)(wire_rd *r, void *out);
static int rd_u8(wire_rd *r, void *o)
{
    return wire_get_u8(r, o);
}
static int rd_u16(wire_rd *r, void *o)
{
    return wire_get_u16(r, o);
}
static int rd_u32(wire_rd *r, void *o)
{
    return wire_get_u32(r, o);
}
static int rd_u64(wire_rd *r, void *o)
{
    return wire_get_u64(r, o);
}
static int rd_ss(wire_rd *r, void *o)
{
    return wire_get_shortstr(r, o);
}
static int rd_ls(wire_rd *r, void *o)
{
    return wire_get_longstr(r, o);
}
static int rd_tb(wire_rd *r, void *o)
{
    return wire_get_table(r, o);
}

static void cut_all(reader fn, const uint8_t *enc, size_t len)
{
    uint64_t out[4];
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        wire_rd r;
        memcpy(copy, enc, cut);
        wire_rd_init(&r, copy, cut);
        assert_int_equal(fn(&r, out), WR_EMALFORMED);
        assert_int_equal(r.off, 0); /* unchanged on failure */
        free(copy);
    }
    wire_rd r;
    wire_rd_init(&r, enc, len);
    assert_int_equal(fn(&r, out), 0);
    assert_int_equal(r.off, len);
}

static void test_cuts(void **state)
{
    static const uint8_t n[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t ss[] = {3, 'a', 'b', 'c'};
    static const uint8_t ls[] = {0, 0, 0, 3, 'a', 'b', 'c'};
    static const uint8_t tb[] = {0, 0, 0, 4, 1, 'k', 't', 0};
    (void)state;
    cut_all(rd_u8, n, 1);
    cut_all(rd_u16, n, 2);
    cut_all(rd_u32, n, 4);
    cut_all(rd_u64, n, 8);
    cut_all(rd_ss, ss, sizeof(ss));
    cut_all(rd_ls, ls, sizeof(ls));
    cut_all(rd_tb, tb, sizeof(tb));
}

static void test_offset_reads(void **state)
{
    /* readers honour off and never read before it */
    static const uint8_t p[] = {9, 9, 0, 0, 0, 0xFF, 'x'};
    wire_rd r;
    wr_bytes v;
    (void)state;
    wire_rd_init(&r, p, sizeof(p));
    r.off = 2;
    assert_int_equal(wire_get_longstr(&r, &v), WR_EMALFORMED); /* 255 > 1 remaining */
    assert_int_equal(r.off, 2);
    assert_int_equal(wire_get_bytes(&r, 5, &v), 0);
    assert_int_equal(wire_get_bytes(&r, 1, &v), WR_EMALFORMED);
}

static void test_bad_table(void **state)
{
    static const uint8_t tb[] = {0, 0, 0, 3, 1, 'k', '!'};
    wire_rd r;
    wr_bytes v;
    (void)state;
    wire_rd_init(&r, tb, sizeof(tb));
    assert_int_equal(wire_get_table(&r, &v), WR_EMALFORMED);
    assert_int_equal(r.off, 0);
}

static void test_writer_limits(void **state)
{
    wr_buf b;
    char s[256];
    (void)state;
    memset(s, 'z', sizeof(s));
    wr_buf_init(&b);
    assert_int_equal(wire_put_shortstr(&b, s, 256), WR_EINVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(wire_put_shortstr(&b, s, 255), 0);
    assert_int_equal(b.len, 256);
    assert_int_equal(wire_put_shortstr(&b, NULL, 0), 0);
    assert_int_equal(wire_put_longstr(&b, NULL, 0), 0);
    assert_int_equal(b.len, 256 + 1 + 4);
    wr_buf_free(&b);
}

static void test_utf8(void **state)
{
    (void)state;
#define OK(s)  assert_true(wire_utf8_valid((const uint8_t *)s, sizeof(s) - 1))
#define BAD(s) assert_false(wire_utf8_valid((const uint8_t *)s, sizeof(s) - 1))
    OK("");
    OK("plain ascii");
    OK("caf\xc3\xa9");
    OK("\xe2\x82\xac");     /* euro */
    OK("\xf0\x9f\x90\x87"); /* rabbit */
    OK("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    OK("\xed\x9f\xbf");     /* U+D7FF */
    BAD("\xff");
    BAD("\xc3");             /* cut */
    BAD("\xc0\x80");         /* overlong NUL */
    BAD("\xe0\x80\xaf");     /* overlong */
    BAD("\xed\xa0\x80");     /* surrogate */
    BAD("\xf4\x90\x80\x80"); /* > U+10FFFF */
    BAD("\xf0\x9f\x90");     /* cut */
    BAD("a\x80");            /* stray continuation */
#undef OK
#undef BAD
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_cuts),
        cmocka_unit_test(test_offset_reads),  cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_writer_limits), cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
