/* basic class: qos, consume, cancel, get, ack, nack, reject, recover and
 * publish (chan_publish, after the connection assembled the content). Codes
 * and texts follow RabbitMQ 3.8's rabbit_channel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "broker/auth/user.h"
#include "broker/core/route.h"
#include "broker/net/conn.h"
#include "broker/proto/ftable.h"

/* 16 random bytes as RabbitMQ's rabbit_guid:binary: "<prefix>-" + 22 chars of
 * url-safe base64 without padding. */
static void gen_name(wr_chan *ch, const char *prefix, char *out, size_t cap, uint8_t *outlen)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static uint64_t state;
    uint8_t raw[16];
    if (!state) {
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&state, sizeof(state), 1, f) != 1)
            state = (uint64_t)(uintptr_t)ch ^ 0x9e3779b97f4a7c15ull;
        if (f) fclose(f);
        state |= 1;
    }
    for (int i = 0; i < 16; i += 8) {
        /* xorshift64* */
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        uint64_t x = state * 0x2545f4914f6cdd1dull ^ ++ch->ctag_seq;
        memcpy(raw + i, &x, 8);
    }
    int n = snprintf(out, cap, "%s-", prefix);
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits) out[n++] = b64[(acc << (6 - bits)) & 63];
    out[n] = 0;
    *outlen = (uint8_t)n;
}

void chan__gen_name(wr_chan *ch, const char *prefix, char *out, size_t cap, uint8_t *outlen)
{
    gen_name(ch, prefix, out, cap, outlen);
}

static int basic_qos(wr_chan *ch, const amqp091_basic_qos *q, uint32_t mid, wr_amqp_error *err)
{
    if (q->prefetch_size != 0)
        return wr_amqp_fail(err, 540, mid, "prefetch_size!=0 (%u)", (unsigned)q->prefetch_size);
    if (q->global)
        ch->global_prefetch = q->prefetch_count;
    else
        ch->consumer_prefetch = q->prefetch_count;
    int rc = chan__reply(ch, AMQP091_BASIC_QOS_OK);
    chan__kick(ch);
    return rc;
}

static int basic_consume(wr_chan *ch, const amqp091_basic_consume *a, uint32_t mid,
                         wr_amqp_error *err)
{
    wr_bytes qname;
    int rc = chan__queue_name(ch, a->queue, &qname, mid, err);
    if (rc < 0) return rc;
    if (a->consumer_tag.len && wr_map_get(&ch->consumers, a->consumer_tag.ptr, a->consumer_tag.len))
        return wr_amqp_fail(err, 530, mid, "attempt to reuse consumer tag '%.*s'",
                            (int)a->consumer_tag.len, (const char *)a->consumer_tag.ptr);
    if (chan__is_reply_to(qname)) return chan__reply_consume(ch, a, mid, err);
    rc = chan__check_perm(ch, WR_PERM_READ, "queue", qname, mid, err);
    if (rc < 0) return rc;
    wr_queue *q;
    rc = chan__find_queue(ch, qname, mid, &q, err);
    if (rc < 0) return rc;
    int64_t prio = 0;
    if (a->arguments.len) {
        ftable_value v;
        if (ftable_get(a->arguments, "x-priority", &v) == 0 && !ftable_as_int(&v, &prio))
            return wr_amqp_fail(
                err, 406, mid,
                "invalid arg 'x-priority' for queue '%.*s' in vhost '%s': {unacceptable_type,%s}",
                (int)qname.len, (const char *)qname.ptr, chan__vhost_name(ch),
                ftable_type_name(v.type));
    }
    if (!queue_can_consume(q, a->exclusive))
        return wr_amqp_fail(err, 403, mid, "queue '%.*s' in vhost '%s' in exclusive use",
                            (int)qname.len, (const char *)qname.ptr, chan__vhost_name(ch));
    chan_consumer *c = calloc(1, sizeof(*c));
    if (!c) return WR_ENOMEM;
    c->ch = ch;
    c->q = q;
    c->no_ack = a->no_ack;
    c->prefetch = ch->consumer_prefetch;
    if (a->consumer_tag.len) {
        memcpy(c->tag, a->consumer_tag.ptr, a->consumer_tag.len);
        c->tag_len = (uint8_t)a->consumer_tag.len;
    } else {
        gen_name(ch, "amq.ctag", c->tag, sizeof(c->tag), &c->tag_len);
    }
    if (wr_map_put(&ch->consumers, c->tag, c->tag_len, c) < 0) {
        free(c);
        return WR_ENOMEM;
    }
    wr_bytes tag = {(const uint8_t *)c->tag, c->tag_len};
    c->qc = queue_consume(q, &chan__consumer_ops, c, tag, a->no_ack, a->exclusive, (int32_t)prio,
                          ch->conn);
    if (!c->qc) {
        wr_map_del(&ch->consumers, c->tag, c->tag_len);
        free(c);
        return WR_ENOMEM;
    }
    /* consume-ok goes out before the first basic.deliver: the queue only
     * starts delivering on the kick below */
    if (!a->nowait) {
        amqp091_method r;
        memset(&r, 0, sizeof(r));
        r.id = AMQP091_BASIC_CONSUME_OK;
        r.u.basic_consume_ok.consumer_tag = tag;
        rc = chan__send(ch, &r);
        if (rc < 0) return rc;
    }
    queue_kick(q);
    return 0;
}

static int basic_cancel(wr_chan *ch, const amqp091_basic_cancel *a, uint32_t mid,
                        wr_amqp_error *err)
{
    (void)mid;
    (void)err;
    if (ch->has_reply && a->consumer_tag.len == ch->reply_tag_len &&
        memcmp(a->consumer_tag.ptr, ch->reply_tag, ch->reply_tag_len) == 0) {
        chan__reply_cancel(ch);
        if (a->nowait) return 0;
        amqp091_method r;
        memset(&r, 0, sizeof(r));
        r.id = AMQP091_BASIC_CANCEL_OK;
        r.u.basic_cancel_ok.consumer_tag = a->consumer_tag;
        return chan__send(ch, &r);
    }
    chan_consumer *c = wr_map_get(&ch->consumers, a->consumer_tag.ptr, a->consumer_tag.len);
    amqp091_method r;
    memset(&r, 0, sizeof(r));
    r.id = AMQP091_BASIC_CANCEL_OK;
    r.u.basic_cancel_ok.consumer_tag = a->consumer_tag;
    int rc = 0;
    /* reply first: a->consumer_tag may not outlive the consumer */
    if (!a->nowait) rc = chan__send(ch, &r);
    if (c) chan__consumer_drop(ch, c, false);
    return rc;
}

static int basic_get(wr_chan *ch, const amqp091_basic_get *a, uint32_t mid, wr_amqp_error *err)
{
    wr_bytes qname;
    int rc = chan__queue_name(ch, a->queue, &qname, mid, err);
    if (rc < 0) return rc;
    rc = chan__check_perm(ch, WR_PERM_READ, "queue", qname, mid, err);
    if (rc < 0) return rc;
    wr_queue *q;
    rc = chan__find_queue(ch, qname, mid, &q, err);
    if (rc < 0) return rc;
    queue_got g;
    if (!queue_get(q, a->no_ack, &g)) {
        amqp091_method r;
        memset(&r, 0, sizeof(r));
        r.id = AMQP091_BASIC_GET_EMPTY;
        return chan__send(ch, &r);
    }
    return chan__record_get(ch, q, &g, a->no_ack);
}

static int basic_settle(wr_chan *ch, uint32_t mid, uint64_t tag, bool multiple,
                        enum chan_settle how, wr_amqp_error *err)
{
    int rc = chan__check_tag(ch, tag, multiple, mid, err);
    if (rc < 0) return rc;
    if (ch->mode == CHAN_MODE_TX)
        chan__tx_hold(ch, tag, multiple, how);
    else
        chan__settle(ch, tag, multiple, how);
    return 0;
}

int chan__basic(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err)
{
    switch (m->id) {
    case AMQP091_BASIC_QOS:
        return basic_qos(ch, &m->u.basic_qos, m->id, err);
    case AMQP091_BASIC_CONSUME:
        return basic_consume(ch, &m->u.basic_consume, m->id, err);
    case AMQP091_BASIC_CANCEL:
        return basic_cancel(ch, &m->u.basic_cancel, m->id, err);
    case AMQP091_BASIC_GET:
        return basic_get(ch, &m->u.basic_get, m->id, err);
    case AMQP091_BASIC_ACK:
        return basic_settle(ch, m->id, m->u.basic_ack.delivery_tag, m->u.basic_ack.multiple,
                            CHAN_ACK, err);
    case AMQP091_BASIC_NACK:
        return basic_settle(ch, m->id, m->u.basic_nack.delivery_tag, m->u.basic_nack.multiple,
                            m->u.basic_nack.requeue ? CHAN_REQUEUE : CHAN_DISCARD, err);
    case AMQP091_BASIC_REJECT:
        return basic_settle(ch, m->id, m->u.basic_reject.delivery_tag, false,
                            m->u.basic_reject.requeue ? CHAN_REQUEUE : CHAN_DISCARD, err);
    case AMQP091_BASIC_RECOVER_ASYNC:
    case AMQP091_BASIC_RECOVER: {
        bool requeue = m->id == AMQP091_BASIC_RECOVER ? m->u.basic_recover.requeue
                                                      : m->u.basic_recover_async.requeue;
        /* RabbitMQ 3.8 only supports requeue=true */
        if (!requeue) return wr_amqp_fail(err, 540, m->id, "requeue=false");
        chan__requeue_all(ch);
        if (m->id == AMQP091_BASIC_RECOVER) return chan__reply(ch, AMQP091_BASIC_RECOVER_OK);
        return 0;
    }
    default:
        return wr_amqp_fail(err, 503, m->id, "unimplemented method");
    }
}

/* ---- publish ------------------------------------------------------------ */

/* RabbitMQ's parse_expiration: an integer string (optional sign) in
 * [0, 2^32-1]. Fills the reason text on error. */
static bool expiration_ok(wr_bytes e, char *why, size_t whylen)
{
    size_t i = 0;
    bool neg = false;
    if (i < e.len && (e.ptr[i] == '+' || e.ptr[i] == '-')) neg = e.ptr[i++] == '-';
    size_t digits_start = i;
    uint64_t v = 0;
    bool big = false;
    while (i < e.len && e.ptr[i] >= '0' && e.ptr[i] <= '9') {
        if (v > UINT64_MAX / 20)
            big = true;
        else
            v = v * 10 + (e.ptr[i] - '0');
        i++;
    }
    if (i == digits_start) {
        snprintf(why, whylen, "no_integer");
        return false;
    }
    if (i < e.len) {
        snprintf(why, whylen, "{leftover_string,\"%.*s\"}", (int)(e.len - i),
                 (const char *)e.ptr + i);
        return false;
    }
    if (neg && v != 0) {
        snprintf(why, whylen, "{value_negative,-%llu}", (unsigned long long)v);
        return false;
    }
    if (big || v > 4294967295ull) {
        snprintf(why, whylen, "{value_too_large,%.*s}", (int)(e.len - digits_start),
                 (const char *)e.ptr + digits_start);
        return false;
    }
    return true;
}

/* A copy of msg whose reply_to names this channel's reply consumer. */
static wr_msg *with_reply_to(wr_chan *ch, const wr_msg *msg)
{
    amqp091_basic_properties p = msg->props;
    p.reply_to.ptr = (const uint8_t *)ch->reply_name;
    p.reply_to.len = ch->reply_name_len;
    wr_buf b;
    wr_buf_init(&b);
    wr_msg *n = NULL;
    if (amqp091_encode_basic_properties(&b, &p) == 0)
        n = msg_new(msg->exchange, msg->routing_key, b.data, (uint32_t)b.len, msg->body_len);
    wr_buf_free(&b);
    if (n) {
        memcpy(n->body, msg->body, msg->body_len);
        n->body_filled = msg->body_len;
    }
    return n;
}

int chan_publish(wr_chan *ch, const amqp091_basic_publish *p, wr_msg *msg, wr_amqp_error *err)
{
    const uint32_t mid = AMQP091_BASIC_PUBLISH;
    int rc;
    if (p->immediate) {
        rc = wr_amqp_fail(err, 540, mid, "immediate=true");
        goto fail;
    }
    if (!ch->pub_ok_valid || p->exchange.len != ch->pub_ok_len ||
        memcmp(p->exchange.ptr, ch->pub_ok, ch->pub_ok_len) != 0) {
        rc = chan__check_perm(ch, WR_PERM_WRITE, "exchange", p->exchange, mid, err);
        if (rc < 0) goto fail;
        if (p->exchange.len < CHAN__TAG_MAX) {
            memcpy(ch->pub_ok, p->exchange.ptr, p->exchange.len);
            ch->pub_ok_len = (uint8_t)p->exchange.len;
            ch->pub_ok_valid = true;
        }
    }
    wr_exchange *ex = vhost_exchange(ch->vhost, p->exchange);
    if (!ex) {
        rc = wr_amqp_fail(err, 404, mid, "no exchange '%.*s' in vhost '%s'", (int)p->exchange.len,
                          (const char *)p->exchange.ptr, chan__vhost_name(ch));
        goto fail;
    }
    if (exch_internal(ex)) {
        rc =
            wr_amqp_fail(err, 403, mid, "cannot publish to internal exchange '%.*s' in vhost '%s'",
                         (int)p->exchange.len, (const char *)p->exchange.ptr, chan__vhost_name(ch));
        goto fail;
    }
    const amqp091_basic_properties *pr = &msg->props;
    if (pr->flags & AMQP091_BASIC_USER_ID_FLAG) {
        const wr_user *u = conn_user(ch->conn);
        const char *un = user_name(u);
        size_t unl = strlen(un);
        if ((pr->user_id.len != unl || memcmp(pr->user_id.ptr, un, unl) != 0) &&
            !user_has_tag(u, "impersonator")) {
            rc = wr_amqp_fail(err, 406, mid,
                              "user_id property set to '%.*s' but authenticated user was '%s'",
                              (int)pr->user_id.len, (const char *)pr->user_id.ptr, un);
            goto fail;
        }
    }
    if (pr->flags & AMQP091_BASIC_EXPIRATION_FLAG) {
        char why[128];
        if (!expiration_ok(pr->expiration, why, sizeof(why))) {
            rc = wr_amqp_fail(err, 406, mid, "invalid expiration '%.*s': %s",
                              (int)pr->expiration.len, (const char *)pr->expiration.ptr, why);
            goto fail;
        }
    }
    if ((pr->flags & AMQP091_BASIC_REPLY_TO_FLAG) && chan__is_reply_to(pr->reply_to)) {
        if (!ch->has_reply) {
            rc = wr_amqp_fail(err, 406, mid, "fast reply consumer does not exist");
            goto fail;
        }
        wr_msg *m2 = with_reply_to(ch, msg);
        if (!m2) {
            rc = WR_ENOMEM;
            goto fail;
        }
        msg_unref(msg);
        msg = m2;
    }
    if (ch->mode == CHAN_MODE_TX) return chan__tx_add_pub(ch, p->exchange, p->mandatory, msg);
    return chan__route(ch, ex, p->mandatory, msg);
fail:
    msg_unref(msg);
    return rc;
}

int chan__return(wr_chan *ch, wr_msg *msg)
{
    amqp091_method r;
    memset(&r, 0, sizeof(r));
    r.id = AMQP091_BASIC_RETURN;
    r.u.basic_return.reply_code = 312;
    r.u.basic_return.reply_text.ptr = (const uint8_t *)"NO_ROUTE";
    r.u.basic_return.reply_text.len = 8;
    r.u.basic_return.exchange = msg->exchange;
    r.u.basic_return.routing_key = msg->routing_key;
    return conn_send_content(ch->conn, ch->id, &r, msg);
}
