/* Unit tests for broker/proto/frame.h: parsing (complete, partial at every cut
 * point, bad frame-end, unknown type, oversized), method frames, content split
 * across body frames by frame_max (including empty and exact-multiple bodies),
 * method+content in one call, heartbeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/proto/frame.h"
#include "broker/proto/wire.h"

static void test_parse_heartbeat(void **state)
{
    wr_buf b;
    wr_frame f;
    (void)state;
    wr_buf_init(&b);
    assert_int_equal(frame_put_heartbeat(&b), 0);
    static const uint8_t want[] = {8, 0, 0, 0, 0, 0, 0, 0xCE};
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.data, want, 8);
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_equal(frame_parse(b.data, cut, 4096, &f), 0);
    assert_int_equal(frame_parse(b.data, b.len, 4096, &f), 8);
    assert_int_equal(f.type, AMQP091_FRAME_HEARTBEAT);
    assert_int_equal(f.channel, 0);
    assert_int_equal(f.size, 0);
    wr_buf_free(&b);
}

static void test_method_frame(void **state)
{
    wr_buf b;
    wr_frame f;
    amqp091_method m, d;
    (void)state;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_PUBLISH;
    m.u.basic_publish.exchange = wr_bytes_str("ex");
    m.u.basic_publish.routing_key = wr_bytes_str("key");
    m.u.basic_publish.mandatory = true;
    wr_buf_init(&b);
    assert_int_equal(wire_put_u8(&b, 0x55), 0); /* something already queued */
    assert_int_equal(frame_put_method(&b, 7, &m), 0);
    const uint8_t *p = b.data + 1;
    size_t len = b.len - 1;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, p, cut);
        assert_int_equal(frame_parse(copy, cut, 131072, &f), 0);
        free(copy);
    }
    assert_int_equal(frame_parse(p, len, 131072, &f), (long)len);
    assert_int_equal(f.type, AMQP091_FRAME_METHOD);
    assert_int_equal(f.channel, 7);
    assert_int_equal(f.size, len - 8);
    assert_int_equal(amqp091_decode_method(f.payload, f.size, &d), 0);
    assert_int_equal(d.id, AMQP091_BASIC_PUBLISH);
    assert_true(wr_bytes_eq_str(d.u.basic_publish.routing_key, "key"));
    assert_true(d.u.basic_publish.mandatory);

    /* an encoder error leaves the buffer as it was */
    size_t before = b.len;
    m.id = 0x00630063u;
    assert_int_equal(frame_put_method(&b, 7, &m), WR_EUNKNOWN);
    assert_int_equal(b.len, before);
    wr_buf_free(&b);
}

static void test_parse_errors(void **state)
{
    uint8_t fr[16] = {1, 0, 1, 0, 0, 0, 2, 'a', 'b', 0xCE};
    wr_frame f;
    (void)state;
    assert_int_equal(frame_parse(fr, 10, 4096, &f), 10);
    assert_int_equal(frame_parse(fr, 16, 4096, &f), 10); /* only one frame consumed */
    fr[9] = 0xCD;
    assert_int_equal(frame_parse(fr, 10, 4096, &f), WR_EMALFORMED);
    fr[9] = 0xCE;
    for (int t = 0; t < 256; t++) {
        fr[0] = (uint8_t)t;
        long rc = frame_parse(fr, 10, 4096, &f);
        if (t == 1 || t == 2 || t == 3 || t == 8)
            assert_int_equal(rc, 10);
        else
            assert_int_equal(rc, WR_EMALFORMED);
    }
    /* unknown type is reported from the first 7 bytes, before the payload arrives */
    fr[0] = 4;
    assert_int_equal(frame_parse(fr, 7, 4096, &f), WR_EMALFORMED);
    /* oversized: reported as soon as the header is in */
    fr[0] = 3;
    wire_store_u32(fr + 3, 4097);
    assert_int_equal(frame_parse(fr, 7, 4096, &f), WR_ETOOBIG);
    wire_store_u32(fr + 3, 4096);
    assert_int_equal(frame_parse(fr, 7, 4096, &f), 0);
    wire_store_u32(fr + 3, 0xFFFFFFFFu);
    assert_int_equal(frame_parse(fr, 7, 131072, &f), WR_ETOOBIG);
    assert_int_equal(frame_parse(fr, 16, 0, &f), 0); /* no limit: waits for 4 GiB */
}

/* Parses the content frames in buf and checks them against body; returns the
 * number of body frames. */
static int check_content(const uint8_t *p, size_t len, uint16_t ch, const uint8_t *props,
                         size_t props_len, const uint8_t *body, uint64_t body_len,
                         uint32_t frame_max)
{
    wr_frame f;
    long n = frame_parse(p, len, frame_max, &f);
    assert_true(n > 0);
    assert_int_equal(f.type, AMQP091_FRAME_HEADER);
    assert_int_equal(f.channel, ch);
    assert_int_equal(f.size, 12 + props_len);
    uint16_t cls;
    uint64_t bsize;
    wr_bytes pr;
    assert_int_equal(frame_get_content_header(f.payload, f.size, &cls, &bsize, &pr), 0);
    assert_int_equal(cls, 60);
    assert_int_equal(wire_load_u16(f.payload + 2), 0);
    assert_true(bsize == body_len);
    assert_int_equal(pr.len, props_len);
    if (props_len) assert_memory_equal(pr.ptr, props, props_len);
    assert_int_equal(frame_get_content_header(f.payload, 13, &cls, &bsize, &pr), WR_EMALFORMED);
    p += n;
    len -= (size_t)n;
    uint64_t got = 0;
    int frames = 0;
    while (len) {
        n = frame_parse(p, len, frame_max, &f);
        assert_true(n > 0);
        assert_int_equal(f.type, AMQP091_FRAME_BODY);
        assert_int_equal(f.channel, ch);
        assert_true(f.size > 0);
        if (frame_max) assert_true(f.size + 8 <= frame_max);
        assert_memory_equal(f.payload, body + got, f.size);
        got += f.size;
        frames++;
        p += n;
        len -= (size_t)n;
    }
    assert_true(got == body_len);
    return frames;
}

static void test_content_split(void **state)
{
    static const uint8_t props[] = {0x10, 0x00, 2}; /* delivery-mode 2 */
    size_t big = 1 << 20;
    uint8_t *body = malloc(big);
    wr_buf b;
    (void)state;
    for (size_t i = 0; i < big; i++) body[i] = (uint8_t)(i * 31 + 7);
    wr_buf_init(&b);

    /* empty body: header frame only */
    assert_int_equal(frame_put_content(&b, 3, 60, props, sizeof(props), body, 0, 4096), 0);
    assert_int_equal(b.len, 8 + 12 + sizeof(props));
    assert_int_equal(check_content(b.data, b.len, 3, props, sizeof(props), body, 0, 4096), 0);

    struct {
        uint64_t len;
        uint32_t fmax;
        int frames;
    } cases[] = {
        {1, 4096, 1},    {4088, 4096, 1}, {4089, 4096, 2},
        {8176, 4096, 2}, {8177, 4096, 3}, {1 << 20, 131072, 9},
        {1 << 20, 0, 1}, {1000, 100, 11}, {100000, 131072, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr_buf_reset(&b);
        assert_int_equal(
            frame_put_content(&b, 9, 60, props, sizeof(props), body, cases[i].len, cases[i].fmax),
            0);
        assert_int_equal(check_content(b.data, b.len, 9, props, sizeof(props), body, cases[i].len,
                                       cases[i].fmax),
                         cases[i].frames);
    }
    /* frame_max too small to carry a byte */
    wr_buf_reset(&b);
    assert_int_equal(frame_put_content(&b, 9, 60, props, sizeof(props), body, 10, 8), WR_EINVAL);
    assert_int_equal(b.len, 0);
    wr_buf_free(&b);
    free(body);
}

static void test_method_content(void **state)
{
    static const uint8_t props[] = {0x80, 0x00, 4, 't', 'e', 'x', 't'};
    static const uint8_t body[] = "hello, world";
    amqp091_method m, d;
    wr_buf b;
    wr_frame f;
    (void)state;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_DELIVER;
    m.u.basic_deliver.consumer_tag = wr_bytes_str("ctag");
    m.u.basic_deliver.delivery_tag = 42;
    m.u.basic_deliver.exchange = wr_bytes_str("");
    m.u.basic_deliver.routing_key = wr_bytes_str("q");
    wr_buf_init(&b);
    assert_int_equal(
        frame_put_method_content(&b, 5, &m, props, sizeof(props), body, sizeof(body) - 1, 4096), 0);
    long n = frame_parse(b.data, b.len, 4096, &f);
    assert_true(n > 0);
    assert_int_equal(f.type, AMQP091_FRAME_METHOD);
    assert_int_equal(amqp091_decode_method(f.payload, f.size, &d), 0);
    assert_int_equal(d.u.basic_deliver.delivery_tag, 42);
    assert_int_equal(check_content(b.data + n, b.len - (size_t)n, 5, props, sizeof(props), body,
                                   sizeof(body) - 1, 4096),
                     1);
    wr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_heartbeat), cmocka_unit_test(test_method_frame),
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_content_split),
        cmocka_unit_test(test_method_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
