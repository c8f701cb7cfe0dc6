/* Unit tests for the generated codec (broker/proto/generated/amqp091_framing.h)
 * and the side table: every method is built on the wire by an independent
 * encoder driven by a per-method argument signature, decoded, re-encoded and
 * compared byte for byte; every cut point and one trailing byte must be
 * rejected. Then field-level checks of the methods a broker lives on, the
 * basic properties, and malformed input (unknown ids, bad UTF-8, bad tables,
 * the continuation flag, which is ignored as RabbitMQ does). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/proto/amqp091_sidetable.h"
#include "broker/proto/frame.h"
#include "broker/proto/ftable.h"
#include "broker/proto/generated/amqp091_framing.h"
#include "broker/proto/wire.h"

/* Argument signatures, from the spec's argument lists:
 * o octet, u short, l long, L longlong, T timestamp, b bit, s shortstr,
 * S longstr, t table. */
static const struct {
    uint32_t id;
    const char *sig;
} SIGS[] = {
    {AMQP091_BASIC_QOS, "lub"},
    {AMQP091_BASIC_QOS_OK, ""},
    {AMQP091_BASIC_CONSUME, "ussbbbbt"},
    {AMQP091_BASIC_CONSUME_OK, "s"},
    {AMQP091_BASIC_CANCEL, "sb"},
    {AMQP091_BASIC_CANCEL_OK, "s"},
    {AMQP091_BASIC_PUBLISH, "ussbb"},
    {AMQP091_BASIC_RETURN, "usss"},
    {AMQP091_BASIC_DELIVER, "sLbss"},
    {AMQP091_BASIC_GET, "usb"},
    {AMQP091_BASIC_GET_OK, "Lbssl"},
    {AMQP091_BASIC_GET_EMPTY, "s"},
    {AMQP091_BASIC_ACK, "Lb"},
    {AMQP091_BASIC_REJECT, "Lb"},
    {AMQP091_BASIC_RECOVER_ASYNC, "b"},
    {AMQP091_BASIC_RECOVER, "b"},
    {AMQP091_BASIC_RECOVER_OK, ""},
    {AMQP091_BASIC_NACK, "Lbb"},
    {AMQP091_CONNECTION_START, "ootSS"},
    {AMQP091_CONNECTION_START_OK, "tsSs"},
    {AMQP091_CONNECTION_SECURE, "S"},
    {AMQP091_CONNECTION_SECURE_OK, "S"},
    {AMQP091_CONNECTION_TUNE, "ulu"},
    {AMQP091_CONNECTION_TUNE_OK, "ulu"},
    {AMQP091_CONNECTION_OPEN, "ssb"},
    {AMQP091_CONNECTION_OPEN_OK, "s"},
    {AMQP091_CONNECTION_CLOSE, "usuu"},
    {AMQP091_CONNECTION_CLOSE_OK, ""},
    {AMQP091_CONNECTION_BLOCKED, "s"},
    {AMQP091_CONNECTION_UNBLOCKED, ""},
    {AMQP091_CONNECTION_UPDATE_SECRET, "Ss"},
    {AMQP091_CONNECTION_UPDATE_SECRET_OK, ""},
    {AMQP091_CHANNEL_OPEN, "s"},
    {AMQP091_CHANNEL_OPEN_OK, "S"},
    {AMQP091_CHANNEL_FLOW, "b"},
    {AMQP091_CHANNEL_FLOW_OK, "b"},
    {AMQP091_CHANNEL_CLOSE, "usuu"},
    {AMQP091_CHANNEL_CLOSE_OK, ""},
    {AMQP091_ACCESS_REQUEST, "sbbbbb"},
    {AMQP091_ACCESS_REQUEST_OK, "u"},
    {AMQP091_EXCHANGE_DECLARE, "ussbbbbbt"},
    {AMQP091_EXCHANGE_DECLARE_OK, ""},
    {AMQP091_EXCHANGE_DELETE, "usbb"},
    {AMQP091_EXCHANGE_DELETE_OK, ""},
    {AMQP091_EXCHANGE_BIND, "usssbt"},
    {AMQP091_EXCHANGE_BIND_OK, ""},
    {AMQP091_EXCHANGE_UNBIND, "usssbt"},
    {AMQP091_EXCHANGE_UNBIND_OK, ""},
    {AMQP091_QUEUE_DECLARE, "usbbbbbt"},
    {AMQP091_QUEUE_DECLARE_OK, "sll"},
    {AMQP091_QUEUE_BIND, "usssbt"},
    {AMQP091_QUEUE_BIND_OK, ""},
    {AMQP091_QUEUE_PURGE, "usb"},
    {AMQP091_QUEUE_PURGE_OK, "l"},
    {AMQP091_QUEUE_DELETE, "usbbb"},
    {AMQP091_QUEUE_DELETE_OK, "l"},
    {AMQP091_QUEUE_UNBIND, "ussst"},
    {AMQP091_QUEUE_UNBIND_OK, ""},
    {AMQP091_TX_SELECT, ""},
    {AMQP091_TX_SELECT_OK, ""},
    {AMQP091_TX_COMMIT, ""},
    {AMQP091_TX_COMMIT_OK, ""},
    {AMQP091_TX_ROLLBACK, ""},
    {AMQP091_TX_ROLLBACK_OK, ""},
    {AMQP091_CONFIRM_SELECT, "b"},
    {AMQP091_CONFIRM_SELECT_OK, ""},
};
#define NSIGS (sizeof(SIGS) / sizeof(SIGS[0]))

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 17;
}

/* A small valid table used for every 't' argument. */
static void sample_table(wr_buf *t)
{
    wr_buf inner;
    wr_buf_init(&inner);
    assert_int_equal(ftable_put_bool(&inner, "publisher_confirms", true), 0);
    assert_int_equal(ftable_put_cstr(t, "product", "warren"), 0);
    assert_int_equal(ftable_put_i64(t, "x-max-length", 10), 0);
    assert_int_equal(ftable_put_table(t, "capabilities", wr_bytes_of(inner.data, inner.len)), 0);
    wr_buf_free(&inner);
}

/* Builds a method payload for sig. mode 0: zeros/empty; 1: random values. */
static void build_payload(wr_buf *b, uint32_t id, const char *sig, int mode)
{
    int nbits = 0;
    size_t bitpos = 0;

    assert_int_equal(wire_put_u32(b, id), 0);
    for (const char *c = sig; *c; c++) {
        if (*c != 'b') nbits = 0;
        switch (*c) {
        case 'o':
            wire_put_u8(b, mode ? (uint8_t)rnd() : 0);
            break;
        case 'u':
            wire_put_u16(b, mode ? (uint16_t)rnd() : 0);
            break;
        case 'l':
            wire_put_u32(b, mode ? (uint32_t)rnd() : 0);
            break;
        case 'L':
        case 'T':
            wire_put_u64(b, mode ? rnd() << 20 ^ rnd() : 0);
            break;
        case 'b':
            if (nbits == 0 || nbits == 8) {
                nbits = 0;
                bitpos = b->len;
                wire_put_u8(b, 0);
            }
            if (mode && (rnd() & 1)) b->data[bitpos] |= (uint8_t)(1u << nbits);
            nbits++;
            break;
        case 's': {
            char s[256];
            size_t n = mode ? rnd() % 256 : 0;
            for (size_t i = 0; i < n; i++) s[i] = (char)('a' + rnd() % 26);
            assert_int_equal(wire_put_shortstr(b, s, n), 0);
            break;
        }
        case 'S': {
            uint8_t s[600];
            size_t n = mode ? rnd() % sizeof(s) : 0;
            for (size_t i = 0; i < n; i++) s[i] = (uint8_t)rnd(); /* any bytes */
            assert_int_equal(wire_put_longstr(b, s, n), 0);
            break;
        }
        case 't': {
            wr_buf t;
            wr_buf_init(&t);
            if (mode) sample_table(&t);
            assert_int_equal(wire_put_table(b, wr_bytes_of(t.data, t.len)), 0);
            wr_buf_free(&t);
            break;
        }
        default:
            fail_msg("bad signature letter %c", *c);
        }
    }
}

static void check_payload(const uint8_t *p, size_t len, uint32_t id)
{
    amqp091_method m;
    wr_buf out;
    uint8_t *copy;

    assert_int_equal(amqp091_decode_method(p, len, &m), 0);
    assert_int_equal(m.id, id);
    wr_buf_init(&out);
    assert_int_equal(amqp091_encode_method(&out, &m), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, p, len);
    wr_buf_free(&out);

    /* every cut point; each copy is exactly as long as the cut so ASan sees overreads */
    for (size_t cut = 0; cut < len; cut++) {
        copy = malloc(cut ? cut : 1);
        memcpy(copy, p, cut);
        assert_int_equal(amqp091_decode_method(copy, cut, &m), WR_EMALFORMED);
        free(copy);
    }
    /* one trailing byte */
    copy = malloc(len + 1);
    memcpy(copy, p, len);
    copy[len] = 0;
    assert_int_equal(amqp091_decode_method(copy, len + 1, &m), WR_EMALFORMED);
    free(copy);
}

static void test_every_method_roundtrip(void **state)
{
    (void)state;
    assert_int_equal(NSIGS, AMQP091_METHOD_COUNT);
    rng_state = 42;
    for (size_t i = 0; i < NSIGS; i++) {
        bool listed = false;
        for (size_t j = 0; j < AMQP091_METHOD_COUNT; j++)
            if (amqp091_method_ids[j] == SIGS[i].id) listed = true;
        assert_true(listed);
        for (int round = 0; round < 6; round++) {
            wr_buf b;
            wr_buf_init(&b);
            build_payload(&b, SIGS[i].id, SIGS[i].sig, round ? 1 : 0);
            check_payload(b.data, b.len, SIGS[i].id);
            wr_buf_free(&b);
        }
        assert_string_not_equal(amqp091_method_name(SIGS[i].id), "unknown");
    }
}

static void test_ids_and_names(void **state)
{
    (void)state;
    assert_int_equal(AMQP091_BASIC_PUBLISH, 0x003C0028u);
    assert_int_equal(AMQP091_EXCHANGE_UNBIND_OK, (40u << 16) | 51u);
    assert_int_equal(AMQP091_CLASS_BASIC, 60);
    assert_int_equal(AMQP091_FRAME_END, 206);
    assert_int_equal(AMQP091_FRAME_HEARTBEAT, 8);
    assert_int_equal(AMQP091_REPLY_NOT_FOUND, 404);
    assert_int_equal(AMQP091_REPLY_FRAME_ERROR, 501);
    assert_int_equal(AMQP091_REPLY_PRECONDITION_FAILED, 406);
    assert_string_equal(amqp091_method_name(AMQP091_BASIC_PUBLISH), "basic.publish");
    assert_string_equal(amqp091_method_name(AMQP091_CONNECTION_START_OK), "connection.start-ok");
    assert_string_equal(amqp091_method_name(AMQP091_BASIC_RECOVER_ASYNC), "basic.recover-async");
    assert_string_equal(amqp091_method_name(0x00630001u), "unknown");
    assert_true(amqp091_method_has_content(AMQP091_BASIC_PUBLISH));
    assert_true(amqp091_method_has_content(AMQP091_BASIC_DELIVER));
    assert_true(amqp091_method_has_content(AMQP091_BASIC_GET_OK));
    assert_true(amqp091_method_has_content(AMQP091_BASIC_RETURN));
    assert_false(amqp091_method_has_content(AMQP091_BASIC_ACK));
    assert_false(amqp091_method_has_content(AMQP091_BASIC_GET_EMPTY));
    assert_true(amqp091_method_is_sync(AMQP091_QUEUE_DECLARE));
    assert_true(amqp091_method_is_sync(AMQP091_CONNECTION_START));
    assert_false(amqp091_method_is_sync(AMQP091_QUEUE_DECLARE_OK));
    assert_false(amqp091_method_is_sync(AMQP091_BASIC_PUBLISH));
    assert_false(amqp091_method_is_sync(AMQP091_BASIC_ACK));
}

static void test_nowait(void **state)
{
    amqp091_method m;
    (void)state;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_QUEUE_DECLARE;
    assert_false(amqp091_method_nowait(&m));
    m.u.queue_declare.nowait = true;
    assert_true(amqp091_method_nowait(&m));
    m.id = AMQP091_CONFIRM_SELECT;
    m.u.confirm_select.nowait = true;
    assert_true(amqp091_method_nowait(&m));
    m.id = AMQP091_BASIC_PUBLISH;
    assert_false(amqp091_method_nowait(&m));
}

static void test_sidetable(void **state)
{
    (void)state;
    assert_int_equal(amqp091_reply_of(AMQP091_EXCHANGE_UNBIND), (40u << 16) | 51u);
    assert_int_equal(amqp091_reply_of(AMQP091_QUEUE_UNBIND), AMQP091_QUEUE_UNBIND_OK);
    assert_int_equal(amqp091_reply_of(AMQP091_CONFIRM_SELECT), AMQP091_CONFIRM_SELECT_OK);
    assert_int_equal(amqp091_reply_of(AMQP091_BASIC_PUBLISH), 0);
    assert_int_equal(amqp091_reply_of(AMQP091_QUEUE_DECLARE_OK), 0);
    /* every synchronous request has a reply */
    for (size_t i = 0; i < AMQP091_METHOD_COUNT; i++) {
        uint32_t id = amqp091_method_ids[i];
        if (amqp091_method_is_sync(id)) assert_int_not_equal(amqp091_reply_of(id), 0);
        if (amqp091_reply_of(id)) assert_true(amqp091_method_is_sync(id));
        /* every method travels in at least one direction */
        assert_true(amqp091_client_may_send(id) || amqp091_server_may_send(id));
    }
    assert_true(amqp091_client_may_send(AMQP091_BASIC_PUBLISH));
    assert_true(amqp091_client_may_send(AMQP091_CONNECTION_START_OK));
    assert_false(amqp091_client_may_send(AMQP091_CONNECTION_START));
    assert_false(amqp091_client_may_send(AMQP091_BASIC_DELIVER));
    assert_false(amqp091_client_may_send(AMQP091_QUEUE_DECLARE_OK));
    assert_false(amqp091_client_may_send(AMQP091_CONNECTION_BLOCKED));
    assert_true(amqp091_server_may_send(AMQP091_BASIC_CANCEL));
    assert_true(amqp091_server_may_send(AMQP091_BASIC_ACK));
    assert_false(amqp091_server_may_send(AMQP091_BASIC_PUBLISH));
    assert_true(amqp091_channel0_only(AMQP091_CONNECTION_CLOSE));
    assert_false(amqp091_channel0_only(AMQP091_CHANNEL_CLOSE));
    assert_int_equal(amqp091_class_of(AMQP091_BASIC_ACK), 60);
    assert_int_equal(amqp091_index_of(AMQP091_BASIC_ACK), 80);
}

static void test_publish_fields(void **state)
{
    /* basic.publish ticket 0, exchange "amq.direct", routing key "rk", mandatory */
    static const uint8_t p[] = {0,   60,  0,   40,  0,   0,   10, 'a', 'm', 'q', '.',
                                'd', 'i', 'r', 'e', 'c', 't', 2,  'r', 'k', 1};
    amqp091_method m;
    (void)state;
    assert_int_equal(amqp091_decode_method(p, sizeof(p), &m), 0);
    assert_int_equal(m.id, AMQP091_BASIC_PUBLISH);
    assert_true(wr_bytes_eq_str(m.u.basic_publish.exchange, "amq.direct"));
    assert_true(wr_bytes_eq_str(m.u.basic_publish.routing_key, "rk"));
    assert_true(m.u.basic_publish.mandatory);
    assert_false(m.u.basic_publish.immediate);
    /* the slices borrow from the payload */
    assert_ptr_equal(m.u.basic_publish.routing_key.ptr, p + 18);
}

static void test_bits_ignore_unused(void **state)
{
    /* RabbitMQ reads only the bits it knows; the rest of the octet is ignored */
    static const uint8_t p[] = {0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 7, 0xFE};
    amqp091_method m;
    (void)state;
    assert_int_equal(amqp091_decode_method(p, sizeof(p), &m), 0);
    assert_int_equal(m.u.basic_ack.delivery_tag, 7);
    assert_false(m.u.basic_ack.multiple);
}

static void test_encode_known_bytes(void **state)
{
    amqp091_method m;
    wr_buf b;
    static const uint8_t want[] = {0, 50, 0, 11, 3, 'a', 'b', 'c', 0, 0, 0, 5, 0, 0, 1, 0};
    (void)state;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_QUEUE_DECLARE_OK;
    m.u.queue_declare_ok.queue = wr_bytes_str("abc");
    m.u.queue_declare_ok.message_count = 5;
    m.u.queue_declare_ok.consumer_count = 256;
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_method(&b, &m), 0);
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    wr_buf_free(&b);
}

static void test_encode_errors(void **state)
{
    amqp091_method m;
    wr_buf b;
    char big[300];
    (void)state;
    memset(big, 'q', sizeof(big));
    memset(&m, 0, sizeof(m));
    wr_buf_init(&b);
    m.id = AMQP091_QUEUE_DECLARE_OK;
    m.u.queue_declare_ok.queue = wr_bytes_of(big, 256);
    assert_int_equal(amqp091_encode_method(&b, &m), WR_EINVAL);
    assert_int_equal(b.len, 0);
    m.u.queue_declare_ok.queue = wr_bytes_of(big, 255);
    assert_int_equal(amqp091_encode_method(&b, &m), 0);
    m.id = 0x00630063u;
    assert_int_equal(amqp091_encode_method(&b, &m), WR_EUNKNOWN);
    wr_buf_free(&b);
}

static void test_unknown_method(void **state)
{
    static const uint8_t bad_class[] = {0, 99, 0, 10};
    static const uint8_t bad_method[] = {0, 60, 0, 99};
    amqp091_method m;
    (void)state;
    assert_int_equal(amqp091_decode_method(bad_class, sizeof(bad_class), &m), WR_EUNKNOWN);
    assert_int_equal(m.id, 0x0063000Au);
    assert_int_equal(amqp091_decode_method(bad_method, sizeof(bad_method), &m), WR_EUNKNOWN);
    assert_int_equal(amqp091_decode_method(bad_method, 3, &m), WR_EMALFORMED);
}

static void test_utf8_checked_like_rabbitmq(void **state)
{
    /* queue.declare with queue name "\xff": rejected (RabbitMQ: FRAME_ERROR) */
    static const uint8_t qd[] = {0, 50, 0, 10, 0, 0, 1, 0xFF, 0, 0, 0, 0, 0};
    /* basic.publish with routing key "\xff": accepted (content methods skip the check) */
    static const uint8_t pub[] = {0, 60, 0, 40, 0, 0, 0, 1, 0xFF, 0};
    /* queue.declare with a valid 2-byte sequence */
    static const uint8_t ok[] = {0, 50, 0, 10, 0, 0, 2, 0xC3, 0xA9, 0, 0, 0, 0, 0};
    amqp091_method m;
    (void)state;
    assert_int_equal(amqp091_decode_method(qd, sizeof(qd), &m), WR_EMALFORMED);
    assert_int_equal(amqp091_decode_method(pub, sizeof(pub), &m), 0);
    assert_int_equal(amqp091_decode_method(ok, sizeof(ok), &m), 0);
    assert_true(wr_bytes_eq_str(m.u.queue_declare.queue, "\xc3\xa9"));
}

static void test_bad_table_argument(void **state)
{
    /* queue.declare "" with arguments {"k": '?' ...}: bad type letter */
    static const uint8_t p[] = {0, 50, 0, 10, 0, 0, 0, 0, 0, 0, 0, 4, 1, 'k', '?', 0};
    /* table length beyond the payload */
    static const uint8_t q[] = {0, 50, 0, 10, 0, 0, 0, 0, 0, 0, 0, 9, 0};
    amqp091_method m;
    (void)state;
    assert_int_equal(amqp091_decode_method(p, sizeof(p), &m), WR_EMALFORMED);
    assert_int_equal(amqp091_decode_method(q, sizeof(q), &m), WR_EMALFORMED);
}

/* ---- basic properties ---- */

static void fill_props(amqp091_basic_properties *p, wr_buf *hdrs)
{
    memset(p, 0, sizeof(*p));
    wr_buf_init(hdrs);
    sample_table(hdrs);
    p->content_type = wr_bytes_str("application/json");
    p->content_encoding = wr_bytes_str("gzip");
    p->headers = wr_bytes_of(hdrs->data, hdrs->len);
    p->delivery_mode = 2;
    p->priority = 9;
    p->correlation_id = wr_bytes_str("corr-1");
    p->reply_to = wr_bytes_str("amq.rabbitmq.reply-to");
    p->expiration = wr_bytes_str("60000");
    p->message_id = wr_bytes_str("m-1");
    p->timestamp = 1700000000;
    p->type = wr_bytes_str("t");
    p->user_id = wr_bytes_str("guest");
    p->app_id = wr_bytes_str("app");
    p->cluster_id = wr_bytes_str("c");
}

static void assert_props_equal(const amqp091_basic_properties *a, const amqp091_basic_properties *b)
{
    uint16_t f = a->flags;
    assert_int_equal(a->flags, b->flags);
#define S(field, flag)                                                                             \
    if (f & flag)                                                                                  \
        assert_true(wr_bytes_eq(a->field, b->field));                                              \
    else                                                                                           \
        assert_int_equal(b->field.len, 0);
    S(content_type, AMQP091_BASIC_CONTENT_TYPE_FLAG)
    S(content_encoding, AMQP091_BASIC_CONTENT_ENCODING_FLAG)
    S(headers, AMQP091_BASIC_HEADERS_FLAG)
    S(correlation_id, AMQP091_BASIC_CORRELATION_ID_FLAG)
    S(reply_to, AMQP091_BASIC_REPLY_TO_FLAG)
    S(expiration, AMQP091_BASIC_EXPIRATION_FLAG)
    S(message_id, AMQP091_BASIC_MESSAGE_ID_FLAG)
    S(type, AMQP091_BASIC_TYPE_FLAG)
    S(user_id, AMQP091_BASIC_USER_ID_FLAG)
    S(app_id, AMQP091_BASIC_APP_ID_FLAG)
    S(cluster_id, AMQP091_BASIC_CLUSTER_ID_FLAG)
#undef S
    assert_int_equal(b->delivery_mode,
                     (f & AMQP091_BASIC_DELIVERY_MODE_FLAG) ? a->delivery_mode : 0);
    assert_int_equal(b->priority, (f & AMQP091_BASIC_PRIORITY_FLAG) ? a->priority : 0);
    assert_int_equal(b->timestamp, (f & AMQP091_BASIC_TIMESTAMP_FLAG) ? a->timestamp : 0);
}

static void props_roundtrip(uint16_t flags)
{
    amqp091_basic_properties in, out;
    wr_buf hdrs, b;
    uint8_t *copy;

    fill_props(&in, &hdrs);
    in.flags = flags;
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_basic_properties(&b, &in), 0);
    assert_int_equal(b.len, amqp091_basic_properties_size(&in));
    assert_int_equal(amqp091_decode_basic_properties(b.data, b.len, &out), 0);
    assert_props_equal(&in, &out);
    for (size_t cut = 0; cut < b.len; cut++) {
        copy = malloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        assert_int_equal(amqp091_decode_basic_properties(copy, cut, &out), WR_EMALFORMED);
        free(copy);
    }
    copy = malloc(b.len + 1);
    memcpy(copy, b.data, b.len);
    copy[b.len] = 0;
    assert_int_equal(amqp091_decode_basic_properties(copy, b.len + 1, &out), WR_EMALFORMED);
    free(copy);
    wr_buf_free(&b);
    wr_buf_free(&hdrs);
}

static void test_props_each_and_all(void **state)
{
    (void)state;
    assert_int_equal(AMQP091_BASIC_CONTENT_TYPE_FLAG, 1u << 15);
    assert_int_equal(AMQP091_BASIC_CLUSTER_ID_FLAG, 1u << 2);
    props_roundtrip(0);
    for (int bit = 15; bit >= 2; bit--) props_roundtrip((uint16_t)(1u << bit));
    props_roundtrip(0xFFFC);
    props_roundtrip(AMQP091_BASIC_DELIVERY_MODE_FLAG | AMQP091_BASIC_HEADERS_FLAG);
}

static void test_props_known_bytes(void **state)
{
    /* content-type "text/plain", delivery-mode 2 */
    static const uint8_t p[] = {0x90, 0x00, 10,  't', 'e', 'x', 't',
                                '/',  'p',  'l', 'a', 'i', 'n', 2};
    amqp091_basic_properties out;
    wr_buf b;
    (void)state;
    assert_int_equal(amqp091_decode_basic_properties(p, sizeof(p), &out), 0);
    assert_int_equal(out.flags, AMQP091_BASIC_CONTENT_TYPE_FLAG | AMQP091_BASIC_DELIVERY_MODE_FLAG);
    assert_true(wr_bytes_eq_str(out.content_type, "text/plain"));
    assert_int_equal(out.delivery_mode, 2);
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_basic_properties(&b, &out), 0);
    assert_int_equal(b.len, sizeof(p));
    assert_memory_equal(b.data, p, sizeof(p));
    wr_buf_free(&b);
}

static void test_props_malformed(void **state)
{
    static const uint8_t cont[] = {0x00, 0x01};
    static const uint8_t badhdr[] = {0x20, 0x00, 0, 0, 0, 3, 1, 'k', 'Z'};
    amqp091_basic_properties out, in;
    wr_buf b;
    char big[256];
    (void)state;
    /* RabbitMQ ignores the continuation bit: a property list with only it set is empty. */
    assert_int_equal(amqp091_decode_basic_properties(cont, sizeof(cont), &out), 0);
    assert_int_equal(out.flags, 0);
    assert_int_equal(amqp091_decode_basic_properties(badhdr, sizeof(badhdr), &out), WR_EMALFORMED);
    assert_int_equal(amqp091_decode_basic_properties(cont, 0, &out), WR_EMALFORMED);
    memset(&in, 0, sizeof(in));
    memset(big, 'x', sizeof(big));
    in.flags = AMQP091_BASIC_MESSAGE_ID_FLAG;
    in.message_id = wr_bytes_of(big, 256);
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_basic_properties(&b, &in), WR_EINVAL);
    /* an oversized field whose flag is clear is not written, so not an error */
    in.flags = 0;
    assert_int_equal(amqp091_encode_basic_properties(&b, &in), 0);
    assert_int_equal(b.len, 2);
    wr_buf_free(&b);
}

/* ---- the fuzz seed corpora, written by pika's encoder (tests/fuzz/make_corpus.py) ---- */

#ifndef WR_SOURCE_DIR
#define WR_SOURCE_DIR "."
#endif

typedef void (*seed_fn)(const uint8_t *p, size_t len, const char *name);

static int for_each_seed(const char *target, seed_fn fn)
{
    char dir[512], path[1024];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", WR_SOURCE_DIR, target);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        uint8_t *buf = malloc(1 << 20);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        fn(buf, len, e->d_name);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void seed_method(const uint8_t *p, size_t len, const char *name)
{
    amqp091_method m;
    wr_buf b;
    int rc = amqp091_decode_method(p, len, &m);
    if (rc) fail_msg("method seed %s: %d", name, rc);
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_method(&b, &m), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, p, len);
    wr_buf_free(&b);
}

static void seed_props(const uint8_t *p, size_t len, const char *name)
{
    amqp091_basic_properties props;
    wr_buf b;
    int rc = amqp091_decode_basic_properties(p, len, &props);
    if (rc) fail_msg("props seed %s: %d", name, rc);
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_basic_properties(&b, &props), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, p, len);
    wr_buf_free(&b);
}

static void seed_table(const uint8_t *p, size_t len, const char *name)
{
    if (ftable_validate(p, len)) fail_msg("table seed %s does not validate", name);
}

static void seed_frames(const uint8_t *p, size_t len, const char *name)
{
    wr_frame f;
    amqp091_method m;
    while (len) {
        long n = frame_parse(p, len, 131072, &f);
        if (n <= 0) fail_msg("frame seed %s: %ld", name, n);
        if (f.type == AMQP091_FRAME_METHOD)
            assert_int_equal(amqp091_decode_method(f.payload, f.size, &m), 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Every seed decodes, and methods/properties re-encode to pika's exact bytes. */
static void test_pika_seeds(void **state)
{
    (void)state;
    assert_true(for_each_seed("fuzz_method", seed_method) >= AMQP091_METHOD_COUNT);
    assert_true(for_each_seed("fuzz_props", seed_props) > 0);
    assert_true(for_each_seed("fuzz_table", seed_table) > 0);
    assert_true(for_each_seed("fuzz_frame", seed_frames) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_roundtrip),
        cmocka_unit_test(test_ids_and_names),
        cmocka_unit_test(test_nowait),
        cmocka_unit_test(test_sidetable),
        cmocka_unit_test(test_publish_fields),
        cmocka_unit_test(test_bits_ignore_unused),
        cmocka_unit_test(test_encode_known_bytes),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_utf8_checked_like_rabbitmq),
        cmocka_unit_test(test_bad_table_argument),
        cmocka_unit_test(test_props_each_and_all),
        cmocka_unit_test(test_props_known_bytes),
        cmocka_unit_test(test_props_malformed),
        cmocka_unit_test(test_pika_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
