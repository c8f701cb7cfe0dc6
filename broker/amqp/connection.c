/* The connection class and the frame router: handshake (start, start-ok,
 * tune, open), connection.close in both directions, channel.open/close,
 * content assembly for basic.publish, and every frame-level error with
 * RabbitMQ 3.8's reply code and text (rabbit_reader.erl,
 * rabbit_command_assembler.erl, rabbit_channel.erl). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/amqp/channel.h"
#include "broker/auth/user.h"
#include "broker/core/msg.h"
#include "broker/core/vhost.h"
#include "broker/net/conn_int.h"
#include "broker/persist.h"
#include "broker/proto/amqp091_sidetable.h"
#include "broker/proto/ftable.h"
#include "broker/util/wr_log.h"

/* rabbit_channel's ?MAX_MSG_SIZE (512 MiB): the text says "configured max size"
 * for any other limit, the 128 MiB default included */
#define HARD_MAX_MESSAGE_SIZE 536870912ull

/* ---- connection.start, built once per broker ---- */

int connection__build_start(wr_broker *b)
{
    static const char *caps[] = {
        "publisher_confirms",           "exchange_exchange_bindings", "basic.nack",
        "consumer_cancel_notify",       "connection.blocked",         "consumer_priorities",
        "authentication_failure_close", "per_consumer_qos",           "direct_reply_to"};
    wr_buf capt, props, mechs;
    amqp091_method m;
    int rc = WR_ENOMEM;
    wr_buf_init(&capt);
    wr_buf_init(&props);
    wr_buf_init(&mechs);
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (ftable_put_bool(&capt, caps[i], true) < 0) goto out;
    if (ftable_put_table(&props, "capabilities", wr_bytes_of(capt.data, capt.len)) < 0 ||
        ftable_put_cstr(&props, "cluster_name", b->cluster_name) < 0 ||
        ftable_put_cstr(&props, "copyright",
                        "Copyright (c) 2007-2020 VMware, Inc. or its affiliates.") < 0 ||
        ftable_put_cstr(&props, "information",
                        "Licensed under the MPL 1.1. Website: https://rabbitmq.com") < 0 ||
        ftable_put_cstr(&props, "platform", BROKER_PLATFORM) < 0 ||
        ftable_put_cstr(&props, "product", "RabbitMQ") < 0 ||
        ftable_put_cstr(&props, "version", BROKER_VERSION) < 0)
        goto out;
    for (int i = 0; i < b->cfg->n_auth_mechanisms; i++) {
        const char *mname = b->cfg->auth_mechanisms[i];
        if (strcmp(mname, "PLAIN") != 0 && strcmp(mname, "AMQPLAIN") != 0) continue;
        if ((mechs.len && wr_buf_append(&mechs, " ", 1) < 0) ||
            wr_buf_append(&mechs, mname, strlen(mname)) < 0)
            goto out;
    }
    if (b->cfg->n_auth_mechanisms == 0 && wr_buf_append(&mechs, "PLAIN AMQPLAIN", 14) < 0) goto out;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_START;
    m.u.connection_start.version_major = 0;
    m.u.connection_start.version_minor = 9;
    m.u.connection_start.server_properties = wr_bytes_of(props.data, props.len);
    m.u.connection_start.mechanisms = wr_bytes_of(mechs.data, mechs.len);
    m.u.connection_start.locales = wr_bytes_str("en_US");
    wr_buf_reset(&b->start_frame);
    rc = frame_put_method(&b->start_frame, 0, &m);
out:
    wr_buf_free(&capt);
    wr_buf_free(&props);
    wr_buf_free(&mechs);
    return rc;
}

/* ---- error helpers ---- */

/* Erlang's ~w of a binary: <<1,2,3>>; with as_string (~p) printable bytes
 * come out as <<"abc">>. */
static void fmt_bin(char *out, size_t cap, const uint8_t *p, size_t n, bool as_string)
{
    size_t o = 0;
    bool printable = as_string && n > 0;
    for (size_t i = 0; printable && i < n; i++)
        if (p[i] < 32 || p[i] > 126) printable = false;
    o += (size_t)snprintf(out + o, cap - o, printable ? "<<\"" : "<<");
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (printable) {
            if (p[i] == '"' || p[i] == '\\') out[o++] = '\\';
            out[o++] = (char)p[i];
            out[o] = '\0';
        } else {
            o += (size_t)snprintf(out + o, cap - o, i ? ",%u" : "%u", p[i]);
        }
    }
    if (o + 4 < cap) snprintf(out + o, cap - o, printable ? "\">>" : ">>");
}

static void send_close(wr_conn *c, uint16_t code, const char *text, uint32_t mid)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_CLOSE;
    m.u.connection_close.reply_code = code;
    m.u.connection_close.reply_text = wr_bytes_of(text, strnlen(text, 255));
    m.u.connection_close.class_id = (uint16_t)(mid >> 16);
    m.u.connection_close.method_id = (uint16_t)(mid & 0xffff);
    (void)conn__send_method_always(c, 0, &m);
}

void conn_close_with(wr_conn *c, const wr_amqp_error *e)
{
    uint64_t wait;
    if (c->state >= CONN_CLOSING) return;
    wr_error("closing AMQP connection (%s, vhost: '%s', user: '%s'):\n%s", c->name, c->vhost_name,
             c->user ? user_name(c->user) : "", e->text);
    send_close(c, e->code, e->text, e->method_id);
    c->state = CONN_CLOSING;
    uv_timer_stop(&c->hb_timer);
    /* RabbitMQ waits for close-ok for the heartbeat timeout, at most 30 s */
    wait = (c->heartbeat > 0 && c->heartbeat < 30) ? (uint64_t)c->heartbeat * 1000 : 30000;
    if (c->b->stopping) wait = 1000;
    conn__arm_timeout(c, wait);
    /* channels are torn down at the next safe point (end of the read batch,
     * or the output flush), never inside this call */
}

/* An error on the connection. Opening or running: connection.close. Before
 * tune-ok RabbitMQ closes the socket without a word, except for the cases
 * handled at their call sites (login refused). */
static int conn_fail(wr_conn *c, uint16_t code, uint32_t mid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int conn_fail(wr_conn *c, uint16_t code, uint32_t mid, const char *fmt, ...)
{
    wr_amqp_error e;
    va_list ap;
    int n;
    e.code = code;
    e.hard = true;
    e.method_id = mid;
    n = snprintf(e.text, sizeof(e.text), "%s - ", wr_reply_name(code));
    va_start(ap, fmt);
    vsnprintf(e.text + n, sizeof(e.text) - (size_t)n, fmt, ap);
    va_end(ap);
    if (c->state == CONN_RUNNING || c->state == CONN_OPENING) {
        /* after tune-ok RabbitMQ answers errors with connection.close (3.10.8:
         * "unexpected method in connection state opening" is a 504) */
        conn_close_with(c, &e);
    } else if (c->state < CONN_RUNNING) {
        wr_error("closing AMQP connection (%s) during handshake:\n%s", c->name, e.text);
        conn__destroy(c);
    }
    return -1;
}

static int frame_error(wr_conn *c, const wr_frame *f, const char *what)
{
    char snip[128];
    size_t n = f->size > 16 ? 16 : f->size;
    fmt_bin(snip, sizeof(snip), f->payload, n, true);
    return conn_fail(c, 501, 0, "type %u, %s octets = %s: %s", f->type,
                     f->size > 16 ? "first 16" : "all", snip, what);
}

static int unexpected_frame(wr_conn *c, const wr_frame *f)
{
    char snip[128];
    size_t n = f->size > 16 ? 16 : f->size;
    fmt_bin(snip, sizeof(snip), f->payload, n, true);
    return conn_fail(c, 505, 0, "type %u, %s octets = %s", f->type,
                     f->size > 16 ? "first 16" : "all", snip);
}

void connection__bad_frame(wr_conn *c, int rc, const uint8_t *buf, size_t len)
{
    uint8_t type = buf[0];
    uint32_t size = wire_load_u32(buf + 3);
    char snip[128];
    size_t avail = len - FRAME_HEADER_SIZE;
    size_t n = size < avail ? size : avail;
    if (rc == WR_ETOOBIG) {
        conn_fail(c, 501, 0,
                  "type %u, all octets = <<>>: {frame_too_large,%" PRIu32 ",%" PRIu32 "}", type,
                  size, c->recv_frame_max > 8 ? c->recv_frame_max - 8 : 0);
    } else if (type != AMQP091_FRAME_METHOD && type != AMQP091_FRAME_HEADER &&
               type != AMQP091_FRAME_BODY && type != AMQP091_FRAME_HEARTBEAT) {
        fmt_bin(snip, sizeof(snip), buf + FRAME_HEADER_SIZE, n > 16 ? 16 : n, true);
        conn_fail(c, 501, 0, "type %u, %s octets = %s: unknown_frame", type,
                  size > 16 ? "first 16" : "all", snip);
    } else {
        fmt_bin(snip, sizeof(snip), buf + FRAME_HEADER_SIZE, n > 16 ? 16 : n, true);
        conn_fail(c, 501, 0, "type %u, %s octets = %s: {invalid_frame_end_marker,%u}", type,
                  size > 16 ? "first 16" : "all", snip, buf[FRAME_HEADER_SIZE + size]);
    }
    /* RabbitMQ treats these as fatal: the stream is out of sync, so input is
     * dropped and the socket closes after a grace period (its
     * SILENT_CLOSE_DELAY, 3 s) or when the client closes it */
    if (c->state == CONN_CLOSING) {
        c->discard_input = true;
        conn__arm_timeout(c, 3000);
    }
}

/* Decodes a method frame. On failure raises the error and returns -1. */
static int decode_method(wr_conn *c, const wr_frame *f, amqp091_method *m)
{
    int rc;
    uint32_t id;
    if (f->size < 4) return frame_error(c, f, "unknown_frame");
    id = wire_load_u32(f->payload);
    rc = amqp091_decode_method(f->payload, f->size, m);
    if (rc == 0) return 0;
    if (rc == WR_EUNKNOWN) {
        /* RabbitMQ's reader crashes on an unknown method id: the socket just
         * closes, with no connection.close (checked against 3.10.8) */
        wr_error("closing AMQP connection (%s):\nunknown method id {%u,%u}", c->name, id >> 16,
                 id & 0xffff);
        conn__destroy(c);
        return -1;
    }
    {
        char snip[160];
        size_t n = f->size - 4;
        fmt_bin(snip, sizeof(snip), f->payload + 4, n > 24 ? 24 : n, false);
        return conn_fail(c, 501, id, "cannot decode %s", snip);
    }
}

/* ---- channels ---- */

static conn_chan *chan_slot(wr_conn *c, uint16_t n)
{
    if (n >= c->chans_cap) {
        uint32_t cap = c->chans_cap ? c->chans_cap : 8;
        conn_chan *grown;
        while (cap <= n) cap *= 2;
        if (cap > 65536) cap = 65536;
        grown = realloc(c->chans, cap * sizeof(*grown));
        if (!grown) return NULL;
        memset(grown + c->chans_cap, 0, (cap - c->chans_cap) * sizeof(*grown));
        c->chans = grown;
        c->chans_cap = cap;
    }
    return &c->chans[n];
}

static void asm_reset(conn_chan *s)
{
    if (!s->as) return;
    if (s->as->msg) msg_unref(s->as->msg);
    s->as->msg = NULL;
    s->as->state = ASM_NONE;
}

static void slot_release(wr_conn *c, conn_chan *s)
{
    asm_reset(s);
    free(s->as);
    s->as = NULL;
    if (s->chan) {
        wr_chan *ch = s->chan;
        s->chan = NULL;
        chan_free(ch);
    }
    if (s->state == CH_OPEN) c->n_open--;
    s->state = CH_NONE;
    s->touched = false;
}

void connection__free_channels(wr_conn *c)
{
    for (uint32_t i = 0; i < c->chans_cap; i++)
        if (c->chans[i].state != CH_NONE || c->chans[i].as) slot_release(c, &c->chans[i]);
    c->n_touched = 0;
    c->chans_torn_down = true;
}

static void touch(wr_conn *c, conn_chan *s, uint16_t n)
{
    if (s->touched) return;
    if (c->n_touched == c->touched_cap) {
        uint32_t cap = c->touched_cap ? c->touched_cap * 2 : 8;
        uint16_t *grown = realloc(c->touched, cap * sizeof(*grown));
        if (!grown) return; /* the channel's confirms go out at its next flush */
        c->touched = grown;
        c->touched_cap = cap;
    }
    s->touched = true;
    c->touched[c->n_touched++] = n;
}

void connection__after_batch(wr_conn *c)
{
    for (uint32_t i = 0; i < c->n_touched; i++) {
        conn_chan *s = &c->chans[c->touched[i]];
        s->touched = false;
        if (s->state == CH_OPEN && s->chan && c->state == CONN_RUNNING) chan_flush(s->chan);
    }
    c->n_touched = 0;
    if ((c->state == CONN_CLOSING || c->state == CONN_CLOSED) && !c->chans_torn_down) {
        connection__free_channels(c);
        if (c->vhost) {
            vhost_conn_closed(c->vhost, c);
            c->vhost = NULL;
        }
    }
}

/* A soft error on channel n: channel.close, the channel's state is freed
 * now and the number waits for close-ok. */
static int channel_error(wr_conn *c, uint16_t n, conn_chan *s, const wr_amqp_error *e)
{
    amqp091_method m;
    wr_debug("channel error on connection %s, channel %u:\n%s", c->name, n, e->text);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CHANNEL_CLOSE;
    m.u.channel_close.reply_code = e->code;
    m.u.channel_close.reply_text = wr_bytes_of(e->text, strnlen(e->text, 255));
    m.u.channel_close.class_id = (uint16_t)(e->method_id >> 16);
    m.u.channel_close.method_id = (uint16_t)(e->method_id & 0xffff);
    slot_release(c, s);
    s->state = CH_CLOSING;
    (void)conn_send_method(c, n, &m);
    return 0;
}

static int chan_result(wr_conn *c, uint16_t n, conn_chan *s, int rc, wr_amqp_error *e, uint32_t mid)
{
    if (rc == 0) return 0;
    if (rc == WR_EAMQP) {
        if (e->hard) {
            conn_close_with(c, e);
            return -1;
        }
        return channel_error(c, n, s, e);
    }
    return conn_fail(c, 541, mid, "%s", wr_strerror(rc));
}

static int publish_complete(wr_conn *c, uint16_t n, conn_chan *s)
{
    wr_amqp_error e;
    conn_asm *as = s->as;
    wr_msg *msg = as->msg;
    int rc;
    as->msg = NULL;
    as->state = ASM_NONE;
    memset(&e, 0, sizeof(e));
    touch(c, s, n);
    rc = chan_publish(s->chan, &as->pub, msg, &e);
    return chan_result(c, n, s, rc, &e, AMQP091_BASIC_PUBLISH);
}

static int content_header(wr_conn *c, uint16_t n, conn_chan *s, const wr_frame *f)
{
    conn_asm *as = s->as;
    uint16_t class_id;
    uint64_t body_size, maxsz = c->b->cfg->max_message_size;
    wr_bytes props;
    amqp091_basic_properties pr;
    if (frame_get_content_header(f->payload, f->size, &class_id, &body_size, &props) < 0)
        return frame_error(c, f, "unknown_frame");
    if (wire_load_u16(f->payload + 2) != 0) /* weight must be 0 (rabbit_command_assembler) */
        return conn_fail(c, 505, AMQP091_BASIC_PUBLISH,
                         "expected content header for class 60, got non content header frame "
                         "instead");
    if (class_id != AMQP091_CLASS_BASIC)
        return conn_fail(c, 505, AMQP091_BASIC_PUBLISH,
                         "expected content header for class 60, got one for class %u instead",
                         class_id);
    if (amqp091_decode_basic_properties(props.ptr, props.len, &pr) < 0)
        return conn_fail(c, 501, AMQP091_BASIC_PUBLISH, "cannot decode properties");
    if (maxsz && body_size > maxsz) {
        wr_amqp_error e;
        wr_amqp_fail(&e, 406, AMQP091_BASIC_PUBLISH,
                     maxsz == HARD_MAX_MESSAGE_SIZE
                         ? "message size %" PRIu64 " is larger than max size %" PRIu64
                         : "message size %" PRIu64 " is larger than configured max size %" PRIu64,
                     body_size, maxsz);
        return channel_error(c, n, s, &e);
    }
    as->msg = msg_new(as->pub.exchange, as->pub.routing_key, props.ptr, props.len, body_size);
    if (!as->msg) return conn_fail(c, 541, AMQP091_BASIC_PUBLISH, "out of memory");
    as->remaining = body_size;
    if (body_size == 0) return publish_complete(c, n, s);
    as->state = ASM_BODY;
    return 0;
}

static int content_body(wr_conn *c, uint16_t n, conn_chan *s, const wr_frame *f)
{
    conn_asm *as = s->as;
    wr_msg *msg = as->msg;
    if (f->size > as->remaining)
        return conn_fail(c, 501, AMQP091_BASIC_PUBLISH,
                         "content body frame of %" PRIu32 " bytes overruns the %" PRIu64
                         " bytes left of the declared body size",
                         f->size, as->remaining);
    memcpy(msg->body + msg->body_filled, f->payload, f->size);
    msg->body_filled += f->size;
    as->remaining -= f->size;
    if (as->remaining == 0) return publish_complete(c, n, s);
    return 0;
}

static int channel_frame(wr_conn *c, const wr_frame *f)
{
    uint16_t n = f->channel;
    conn_chan *s = chan_slot(c, n);
    amqp091_method m;
    wr_amqp_error e;
    int rc;
    if (!s) return conn_fail(c, 541, 0, "out of memory");
    if (f->type == AMQP091_FRAME_HEARTBEAT) return unexpected_frame(c, f);

    if (s->state == CH_CLOSING) {
        /* only channel.close / close-ok matter until the client confirms */
        if (f->type != AMQP091_FRAME_METHOD || f->size < 4) return 0;
        if (amqp091_decode_method(f->payload, f->size, &m) < 0) return 0;
        if (m.id == AMQP091_CHANNEL_CLOSE_OK) {
            s->state = CH_NONE;
        } else if (m.id == AMQP091_CHANNEL_CLOSE) {
            memset(&m, 0, sizeof(m));
            m.id = AMQP091_CHANNEL_CLOSE_OK;
            (void)conn_send_method(c, n, &m);
        }
        return 0;
    }

    if (s->state == CH_NONE) {
        if (c->channel_max && c->n_open >= c->channel_max)
            return conn_fail(c, 530, 0,
                             "number of channels opened (%u) has reached the negotiated "
                             "channel_max (%u)",
                             c->n_open, c->channel_max);
        if (f->type != AMQP091_FRAME_METHOD)
            return conn_fail(c, 505, 0, "expected method frame, got non method frame instead");
        if (decode_method(c, f, &m) < 0) return -1;
        if (m.id != AMQP091_CHANNEL_OPEN) return conn_fail(c, 504, m.id, "expected 'channel.open'");
        if (n == 0) return conn_fail(c, 504, m.id, "unexpected method in connection state running");
        s->chan = chan_new(c, n);
        if (!s->chan) return conn_fail(c, 541, m.id, "out of memory");
        chan_set_store(s->chan, persist_store(c->b)); /* confirms and -oks after commit */
        s->state = CH_OPEN;
        c->n_open++;
        memset(&m, 0, sizeof(m));
        m.id = AMQP091_CHANNEL_OPEN_OK;
        return conn_send_method(c, n, &m) < 0 ? conn_fail(c, 541, 0, "out of memory") : 0;
    }

    /* open channel */
    if (s->as && s->as->state == ASM_HEADER) {
        if (f->type == AMQP091_FRAME_HEADER) return content_header(c, n, s, f);
        return conn_fail(c, 505, AMQP091_BASIC_PUBLISH,
                         "expected content header for class 60, got non content header frame "
                         "instead");
    }
    if (s->as && s->as->state == ASM_BODY) {
        if (f->type == AMQP091_FRAME_BODY) return content_body(c, n, s, f);
        return conn_fail(c, 505, AMQP091_BASIC_PUBLISH,
                         "expected content body, got non content body frame instead");
    }
    if (f->type != AMQP091_FRAME_METHOD)
        return conn_fail(c, 505, 0, "expected method frame, got non method frame instead");
    if (decode_method(c, f, &m) < 0) return -1;

    switch (m.id) {
    case AMQP091_CHANNEL_OPEN:
        return conn_fail(c, 504, m.id, "second 'channel.open' seen");
    case AMQP091_CHANNEL_CLOSE:
        slot_release(c, s);
        memset(&m, 0, sizeof(m));
        m.id = AMQP091_CHANNEL_CLOSE_OK;
        (void)conn_send_method(c, n, &m);
        return 0;
    case AMQP091_BASIC_PUBLISH:
        if (!s->as && !(s->as = calloc(1, sizeof(*s->as))))
            return conn_fail(c, 541, m.id, "out of memory");
        s->as->pub = m.u.basic_publish;
        memcpy(s->as->ex, m.u.basic_publish.exchange.ptr, m.u.basic_publish.exchange.len);
        memcpy(s->as->rk, m.u.basic_publish.routing_key.ptr, m.u.basic_publish.routing_key.len);
        s->as->pub.exchange = wr_bytes_of(s->as->ex, m.u.basic_publish.exchange.len);
        s->as->pub.routing_key = wr_bytes_of(s->as->rk, m.u.basic_publish.routing_key.len);
        s->as->state = ASM_HEADER;
        return 0;
    default:
        break;
    }
    if ((m.id >> 16) == AMQP091_CLASS_CONNECTION || !amqp091_client_may_send(m.id) ||
        m.id == AMQP091_CHANNEL_CLOSE_OK)
        return conn_fail(c, 503, m.id, "unimplemented method");
    memset(&e, 0, sizeof(e));
    touch(c, s, n);
    rc = chan_handle(s->chan, &m, &e);
    return chan_result(c, n, s, rc, &e, m.id);
}

/* ---- handshake ---- */

int connection__header(wr_conn *c, const uint8_t *hdr)
{
    static const uint8_t v091[8] = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};
    static const uint8_t v09[8] = {'A', 'M', 'Q', 'P', 1, 1, 0, 9};
    if (memcmp(hdr, v091, 8) != 0 && memcmp(hdr, v09, 8) != 0) {
        char snip[64];
        fmt_bin(snip, sizeof(snip), hdr, 8, true);
        wr_error("closing AMQP connection (%s):\nbad protocol header %s", c->name, snip);
        if (wr_buf_append(&c->out, v091, 8) == 0) conn__mark_dirty(c);
        conn__close_after_flush(c);
        return -1;
    }
    if (wr_buf_append(&c->out, c->b->start_frame.data, c->b->start_frame.len) < 0) {
        conn__destroy(c);
        return -1;
    }
    conn__mark_dirty(c);
    c->state = CONN_STARTING;
    return 0;
}

/* Login refused: with authentication_failure_close, connection.close 403
 * (class/method 0,0) and wait for close-ok; otherwise close the socket. */
static int auth_fail(wr_conn *c, const char *user, const char *why)
{
    char text[256];
    wr_error("closing AMQP connection (%s):\n%s login refused: %s", c->name, c->mechanism, why);
    (void)user;
    if (c->caps & CONN_CAP_AUTH_FAILURE_CLOSE) {
        snprintf(text, sizeof(text),
                 "ACCESS_REFUSED - Login was refused using authentication mechanism %s. For "
                 "details see the broker logfile.",
                 c->mechanism);
        send_close(c, 403, text, 0);
        c->state = CONN_CLOSING;
        conn__arm_timeout(c, 30000);
        return -1;
    }
    conn__close_after_flush(c);
    return -1;
}

/* not_allowed during tuning/opening: connection.close 530 and wait. */
static int handshake_refuse(wr_conn *c, uint32_t mid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int handshake_refuse(wr_conn *c, uint32_t mid, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    int n = snprintf(text, sizeof(text), "NOT_ALLOWED - ");
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
    va_end(ap);
    wr_error("closing AMQP connection (%s):\n%s", c->name, text);
    send_close(c, 530, text, mid);
    c->state = CONN_CLOSING;
    conn__arm_timeout(c, 30000);
    return -1;
}

static void read_caps(wr_conn *c, wr_bytes props)
{
    static const struct {
        const char *k;
        uint64_t bit;
    } map[] = {
        {"authentication_failure_close", CONN_CAP_AUTH_FAILURE_CLOSE},
        {"connection.blocked", CONN_CAP_CONNECTION_BLOCKED},
        {"consumer_cancel_notify", CONN_CAP_CONSUMER_CANCEL_NOTIFY},
        {"publisher_confirms", CONN_CAP_PUBLISHER_CONFIRMS},
        {"basic.nack", CONN_CAP_BASIC_NACK},
        {"exchange_exchange_bindings", CONN_CAP_EXCHANGE_EXCHANGE_BINDINGS},
        {"per_consumer_qos", CONN_CAP_PER_CONSUMER_QOS},
    };
    ftable_value capv, v;
    c->caps = 0;
    if (ftable_get(props, "capabilities", &capv) < 0 || capv.type != 'F') return;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (ftable_get(capv.v.table, map[i].k, &v) == 0 && v.type == 't' && v.v.b)
            c->caps |= map[i].bit;
}

static bool mechanism_enabled(const wr_conn *c, wr_bytes mech)
{
    const cfg_config *cfg = c->b->cfg;
    if (!wr_bytes_eq_str(mech, "PLAIN") && !wr_bytes_eq_str(mech, "AMQPLAIN")) return false;
    if (cfg->n_auth_mechanisms == 0) return true;
    for (int i = 0; i < cfg->n_auth_mechanisms; i++)
        if (wr_bytes_eq_str(mech, cfg->auth_mechanisms[i])) return true;
    return false;
}

static int handle_start_ok(wr_conn *c, const amqp091_connection_start_ok *a)
{
    wr_bytes user = {0}, pass = {0};
    const wr_user *u;
    char uname[256];
    amqp091_method m;
    /* keep the client properties (management, capabilities) */
    free(c->client_props_mem);
    c->client_props_mem = malloc(a->client_properties.len ? a->client_properties.len : 1);
    if (!c->client_props_mem) return conn_fail(c, 541, 0, "out of memory");
    memcpy(c->client_props_mem, a->client_properties.ptr, a->client_properties.len);
    c->client_props = wr_bytes_of(c->client_props_mem, a->client_properties.len);
    read_caps(c, c->client_props);
    if (!mechanism_enabled(c, a->mechanism)) {
        wr_error("closing AMQP connection (%s):\nunknown authentication mechanism '%.*s'", c->name,
                 (int)(a->mechanism.len > 64 ? 64 : a->mechanism.len),
                 (const char *)a->mechanism.ptr);
        conn__destroy(c); /* RabbitMQ: command_invalid during the handshake, silent close */
        return -1;
    }
    snprintf(c->mechanism, sizeof(c->mechanism), "%.*s", (int)a->mechanism.len,
             (const char *)a->mechanism.ptr);
    if (wr_bytes_eq_str(a->mechanism, "PLAIN")) {
        /* [authzid] NUL authcid NUL passwd */
        const uint8_t *r = a->response.ptr, *z1, *z2;
        size_t len = a->response.len;
        z1 = len ? memchr(r, 0, len) : NULL;
        z2 = z1 ? memchr(z1 + 1, 0, len - (size_t)(z1 + 1 - r)) : NULL;
        if (!z1 || !z2) return auth_fail(c, "", "response invalid");
        user = wr_bytes_of(z1 + 1, (size_t)(z2 - z1 - 1));
        pass = wr_bytes_of(z2 + 1, len - (size_t)(z2 + 1 - r));
    } else {
        ftable_value lv, pv;
        wr_bytes t = a->response;
        if (ftable_validate(t.ptr, t.len) < 0 || ftable_get(t, "LOGIN", &lv) < 0 ||
            ftable_get(t, "PASSWORD", &pv) < 0 || lv.type != 'S' || pv.type != 'S')
            return auth_fail(c, "", "AMQPLAIN auth info is missing LOGIN or PASSWORD field");
        user = lv.v.str;
        pass = pv.v.str;
    }
    snprintf(uname, sizeof(uname), "%.*s", (int)(user.len > 255 ? 255 : user.len),
             (const char *)user.ptr);
    u = user_find(c->b->users, (const char *)user.ptr, user.len);
    if (!u) {
        char why[320];
        snprintf(why, sizeof(why), "user '%s' - invalid credentials", uname);
        return auth_fail(c, uname, why);
    }
    if (!user_check_password(u, pass.ptr, pass.len)) {
        char why[320];
        snprintf(why, sizeof(why), "user '%s' - invalid credentials", uname);
        return auth_fail(c, uname, why);
    }
    if (user_loopback_only(u) && !c->peer_loopback) {
        char why[320];
        snprintf(why, sizeof(why), "user '%s' can only connect via localhost", uname);
        return auth_fail(c, uname, why);
    }
    c->user = u;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_TUNE;
    m.u.connection_tune.channel_max = c->b->cfg->channel_max;
    m.u.connection_tune.frame_max = c->b->cfg->frame_max;
    m.u.connection_tune.heartbeat = c->b->cfg->heartbeat;
    c->state = CONN_TUNING;
    return conn_send_method(c, 0, &m) < 0 ? conn_fail(c, 541, 0, "out of memory") : 0;
}

/* tune-ok values outside the limits: RabbitMQ raises not_allowed in the
 * tuning state, which ends the connection without a connection.close
 * (checked against 3.10.8: channel_max 0 and frame_max 0 close the socket). */
static int negotiate(wr_conn *c, const char *field, uint32_t min, uint32_t server, uint32_t client)
{
    const char *why = NULL;
    char text[200];
    if (client != 0 && client < min)
        why = "lower than the minimum";
    else if (server != 0 && (client == 0 || client > server))
        why = "higher than the maximum";
    if (!why) return 0;
    snprintf(text, sizeof(text), "negotiated %s = %u%s is %s allowed value (%u)", field, client,
             (client == 0 && strcmp(field, "channel_max") == 0) ? " (no limit)" : "", why,
             why[0] == 'l' ? min : server);
    wr_error("closing AMQP connection (%s) during handshake:\nNOT_ALLOWED - %s", c->name, text);
    conn__destroy(c);
    return -1;
}

static int handle_tune_ok(wr_conn *c, const amqp091_connection_tune_ok *a)
{
    const cfg_config *cfg = c->b->cfg;
    if (negotiate(c, "frame_max", cfg->frame_min ? cfg->frame_min : 4096, cfg->frame_max,
                  a->frame_max) < 0)
        return -1;
    if (negotiate(c, "channel_max", 1, cfg->channel_max, a->channel_max) < 0) return -1;
    c->frame_max = a->frame_max;
    c->recv_frame_max = a->frame_max;
    c->channel_max = a->channel_max;
    c->heartbeat = a->heartbeat;
    c->state = CONN_OPENING;
    conn__start_heartbeat(c);
    return 0;
}

static int handle_open(wr_conn *c, const amqp091_connection_open *a)
{
    amqp091_method m;
    wr_vhost *v;
    snprintf(c->vhost_name, sizeof(c->vhost_name), "%.*s", (int)a->virtual_host.len,
             (const char *)a->virtual_host.ptr);
    v = broker_vhost(c->b, (const char *)a->virtual_host.ptr, a->virtual_host.len);
    if (!v)
        return handshake_refuse(c, AMQP091_CONNECTION_OPEN, "vhost %s not found", c->vhost_name);
    if (!user_has_vhost_access(c->user, c->vhost_name))
        return handshake_refuse(c, AMQP091_CONNECTION_OPEN,
                                "access to vhost '%s' refused for user '%s'", c->vhost_name,
                                user_name(c->user));
    c->vhost = v;
    c->state = CONN_RUNNING;
    uv_timer_stop(&c->hs_timer);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_OPEN_OK;
    wr_info("connection <0.%llu.0> (%s): user '%s' authenticated and granted access to vhost '%s'",
            (unsigned long long)c->id, c->name, user_name(c->user), c->vhost_name);
    if (conn_send_method(c, 0, &m) < 0) return conn_fail(c, 541, 0, "out of memory");
    if (c->b->blocked) connection__blocked_changed(c);
    return 0;
}

static int client_close(wr_conn *c)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_CLOSE_OK;
    (void)conn_send_method(c, 0, &m);
    connection__free_channels(c);
    conn__close_after_flush(c);
    return -1;
}

static int channel0_frame(wr_conn *c, const wr_frame *f)
{
    amqp091_method m;
    if (f->type == AMQP091_FRAME_HEARTBEAT) {
        if (f->size != 0) return frame_error(c, f, "unknown_frame");
        return 0;
    }
    if (f->type != AMQP091_FRAME_METHOD) {
        if (c->state != CONN_RUNNING) return unexpected_frame(c, f);
        if (f->type == AMQP091_FRAME_HEADER && f->size < FRAME_CONTENT_HEADER_FIXED + 2)
            return frame_error(c, f, "unknown_frame");
        return unexpected_frame(c, f);
    }
    if (decode_method(c, f, &m) < 0) return -1;
    switch (c->state) {
    case CONN_STARTING:
        if (m.id == AMQP091_CONNECTION_START_OK)
            return handle_start_ok(c, &m.u.connection_start_ok);
        break;
    case CONN_TUNING:
        if (m.id == AMQP091_CONNECTION_TUNE_OK) return handle_tune_ok(c, &m.u.connection_tune_ok);
        break;
    case CONN_OPENING:
        if (m.id == AMQP091_CONNECTION_OPEN) return handle_open(c, &m.u.connection_open);
        break;
    case CONN_RUNNING:
        if (m.id == AMQP091_CONNECTION_CLOSE) {
            wr_info("closing AMQP connection <0.%llu.0> (%s, vhost: '%s', user: '%s')",
                    (unsigned long long)c->id, c->name, c->vhost_name, user_name(c->user));
            return client_close(c);
        }
        if (m.id == AMQP091_CONNECTION_UPDATE_SECRET) {
            amqp091_method r;
            memset(&r, 0, sizeof(r));
            r.id = AMQP091_CONNECTION_UPDATE_SECRET_OK;
            return conn_send_method(c, 0, &r) < 0 ? conn_fail(c, 541, 0, "out of memory") : 0;
        }
        break;
    default:
        break;
    }
    {
        static const char *names[] = {"pre_init", "starting", "tuning", "opening", "running"};
        return conn_fail(c, 504, m.id, "unexpected method in connection state %s",
                         names[c->state < 5 ? c->state : 4]);
    }
}

int connection__frame(wr_conn *c, const wr_frame *f)
{
    if (c->state == CONN_CLOSING) {
        amqp091_method m;
        if (f->channel != 0 || f->type != AMQP091_FRAME_METHOD || f->size < 4) return 0;
        if (amqp091_decode_method(f->payload, f->size, &m) < 0) return 0;
        if (m.id == AMQP091_CONNECTION_CLOSE_OK) {
            conn__close_after_flush(c);
            return -1;
        }
        if (m.id == AMQP091_CONNECTION_CLOSE) {
            memset(&m, 0, sizeof(m));
            m.id = AMQP091_CONNECTION_CLOSE_OK;
            (void)conn__send_method_always(c, 0, &m);
        }
        return 0;
    }
    if (c->state >= CONN_CLOSED) return -1;
    /* rabbit_command_assembler:analyze_frame runs before the frame's place in
     * the sequence is checked: too-short method/header frames and heartbeats
     * with a payload are 501 unknown_frame on any channel */
    if ((f->type == AMQP091_FRAME_METHOD && f->size < 4) ||
        (f->type == AMQP091_FRAME_HEADER && f->size < FRAME_CONTENT_HEADER_FIXED) ||
        (f->type == AMQP091_FRAME_HEARTBEAT && f->size != 0))
        return frame_error(c, f, "unknown_frame");
    if (f->channel == 0) return channel0_frame(c, f);
    if (c->state != CONN_RUNNING) {
        /* frames on other channels before open: RabbitMQ's unexpected_frame */
        return unexpected_frame(c, f);
    }
    return channel_frame(c, f);
}

bool connection__is_publish(const wr_frame *f)
{
    return f->type == AMQP091_FRAME_METHOD && f->size >= 4 &&
           wire_load_u32(f->payload) == AMQP091_BASIC_PUBLISH;
}

void connection__shutdown(wr_conn *c)
{
    wr_amqp_error e;
    if (c->state < CONN_RUNNING) {
        conn__destroy(c);
        return;
    }
    if (c->state != CONN_RUNNING) return;
    wr_amqp_fail(&e, 320, 0, "broker forced connection closure with reason 'shutdown'");
    conn_close_with(c, &e);
}

void connection__blocked_changed(wr_conn *c)
{
    amqp091_method m;
    wr_broker *b = c->b;
    if (c->state != CONN_RUNNING) return;
    if (b->blocked && c->read_paused_block && !c->blocked_sent &&
        (c->caps & CONN_CAP_CONNECTION_BLOCKED)) { /* publishers only, as RabbitMQ */
        memset(&m, 0, sizeof(m));
        m.id = AMQP091_CONNECTION_BLOCKED;
        m.u.connection_blocked.reason = wr_bytes_str(b->blocked_reason);
        (void)conn_send_method(c, 0, &m);
        c->blocked_sent = true;
    } else if (!b->blocked) {
        if (c->blocked_sent) {
            memset(&m, 0, sizeof(m));
            m.id = AMQP091_CONNECTION_UNBLOCKED;
            (void)conn_send_method(c, 0, &m);
            c->blocked_sent = false;
        }
        if (c->read_paused_block) {
            c->read_paused_block = false;
            conn__resume_later(c); /* the held publish, then reading again */
        }
    }
    if (!c->read_paused_bp) {
        for (uint32_t i = 0; i < c->chans_cap; i++)
            if (c->chans[i].state == CH_OPEN && c->chans[i].chan)
                chan_set_paused(c->chans[i].chan, false);
    }
}
