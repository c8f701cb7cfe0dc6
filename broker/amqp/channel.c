/* Channel state, dispatch by method id, the unacked-delivery ring and
 * consumer credit. Per-class handlers live in exchange.c, queue.c, basic.c,
 * confirm.c and tx.c. */
#include <stdlib.h>
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "broker/auth/user.h"
#include "broker/core/route.h"
#include "broker/proto/ftable.h"
#include "broker/net/conn.h"
#include "broker/util/wr_log.h"

wr_chan *chan_new(wr_conn *c, uint16_t id)
{
    wr_chan *ch = calloc(1, sizeof(*ch));
    if (!ch) return NULL;
    ch->conn = c;
    ch->id = id;
    ch->vhost = conn_vhost(c);
    ch->next_tag = 1;
    ch->next_seq = 1;
    wr_map_init(&ch->consumers);
    route_result_init(&ch->route);
    return ch;
}

uint16_t chan_id(const wr_chan *ch)
{
    return ch->id;
}

uint32_t chan_consumer_count(const wr_chan *ch)
{
    return (uint32_t)ch->consumers.count;
}

uint32_t chan_unacked_count(const wr_chan *ch)
{
    return ch->ua_live;
}

uint32_t chan_unconfirmed_count(const wr_chan *ch)
{
    return ch->wait_len;
}

int chan__send(wr_chan *ch, const amqp091_method *m)
{
    return conn_send_method(ch->conn, ch->id, m);
}

int chan__reply(wr_chan *ch, uint32_t id)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    return chan__send(ch, &m);
}

const char *chan__vhost_name(wr_chan *ch)
{
    return vhost_name(ch->vhost);
}

int chan__check_perm(wr_chan *ch, unsigned perm, const char *kind, wr_bytes name, uint32_t mid,
                     wr_amqp_error *err)
{
    const wr_user *u = conn_user(ch->conn);
    const char *vn = chan__vhost_name(ch);
    if (user_can(u, vn, perm, (const char *)name.ptr, name.len)) return 0;
    /* the default exchange is checked and reported as "amq.default" */
    if (name.len == 0 && kind[0] == 'e') name = wr_bytes_of("amq.default", 11);
    return wr_amqp_fail(err, 403, mid, "access to %s '%.*s' in vhost '%s' refused for user '%s'",
                        kind, (int)name.len, (const char *)name.ptr, vn, user_name(u));
}

int chan__queue_name(wr_chan *ch, wr_bytes in, wr_bytes *out, uint32_t mid, wr_amqp_error *err)
{
    if (in.len) {
        *out = in;
        return 0;
    }
    if (!ch->has_last_q) return wr_amqp_fail(err, 404, mid, "no previously declared queue");
    out->ptr = (const uint8_t *)ch->last_q;
    out->len = ch->last_q_len;
    return 0;
}

void chan__set_last_queue(wr_chan *ch, wr_bytes name)
{
    size_t n = name.len < CHAN__TAG_MAX ? name.len : CHAN__TAG_MAX - 1;
    memmove(ch->last_q, name.ptr, n);
    ch->last_q_len = (uint8_t)n;
    ch->has_last_q = true;
}

int chan__find_queue(wr_chan *ch, wr_bytes name, uint32_t mid, wr_queue **out, wr_amqp_error *err)
{
    wr_queue *q = vhost_queue(ch->vhost, name);
    if (!q)
        return wr_amqp_fail(err, 404, mid, "no queue '%.*s' in vhost '%s'", (int)name.len,
                            (const char *)name.ptr, chan__vhost_name(ch));
    if (!queue_access_ok(q, ch->conn))
        return wr_amqp_fail(
            err, 405, mid,
            "cannot obtain exclusive access to locked queue '%.*s' in vhost '%s'. It "
            "could be originally declared on another connection or the exclusive "
            "property value does not match that of the original declaration.",
            (int)name.len, (const char *)name.ptr, chan__vhost_name(ch));
    *out = q;
    return 0;
}

/* ---- unacked ring ------------------------------------------------------- */

static chan_unacked *ua_at(wr_chan *ch, uint32_t i)
{
    return &ch->ua[(ch->ua_head + i) & (ch->ua_cap - 1)];
}

/* Appends a record; returns it or NULL on ENOMEM. Amortised: the ring only
 * grows (doubling), so steady-state deliveries allocate nothing. */
static chan_unacked *ua_push(wr_chan *ch)
{
    if (ch->ua_len == ch->ua_cap) {
        uint32_t ncap = ch->ua_cap ? ch->ua_cap * 2 : 64;
        chan_unacked *n = malloc(sizeof(*n) * ncap);
        if (!n) return NULL;
        for (uint32_t i = 0; i < ch->ua_len; i++) n[i] = *ua_at(ch, i);
        free(ch->ua);
        ch->ua = n;
        ch->ua_cap = ncap;
        ch->ua_head = 0;
    }
    chan_unacked *u = ua_at(ch, ch->ua_len++);
    ch->ua_live++;
    return u;
}

/* Drops dead records from the head. */
static void ua_compact(wr_chan *ch)
{
    while (ch->ua_len && !ua_at(ch, 0)->live) {
        ch->ua_head = (ch->ua_head + 1) & (ch->ua_cap - 1);
        ch->ua_len--;
    }
}

/* Index of the live record with `tag`, or -1 (binary search: tags ascend). */
static long ua_find(wr_chan *ch, uint64_t tag)
{
    uint32_t lo = 0, hi = ch->ua_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t t = ua_at(ch, mid)->tag;
        if (t == tag) return ua_at(ch, mid)->live && !ua_at(ch, mid)->held ? (long)mid : -1;
        if (t < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int chan__check_tag(wr_chan *ch, uint64_t tag, bool multiple, uint32_t mid, wr_amqp_error *err)
{
    if (tag == 0 && multiple) return 0;
    if (ua_find(ch, tag) < 0)
        return wr_amqp_fail(err, 406, mid, "unknown delivery tag %llu", (unsigned long long)tag);
    return 0;
}

/* Settles one record. Requeue/discard give the message back to its queue;
 * ack removes it. */
static void ua_settle_one(wr_chan *ch, chan_unacked *u, enum chan_settle how)
{
    /* copy out first: the queue may deliver to this channel synchronously,
     * which can grow (move) the ring */
    wr_queue *q = u->q;
    wr_msg *msg = u->msg;
    uint64_t qpos = u->qpos;
    u->live = false;
    u->msg = NULL;
    ch->ua_live--;
    if (u->cons) {
        u->cons->unacked--;
        ch->consumer_unacked--;
    }
    switch (how) {
    case CHAN_ACK:
        queue_ack(q, qpos, msg);
        break;
    case CHAN_REQUEUE:
        queue_requeue(q, qpos, msg);
        break;
    case CHAN_DISCARD:
        queue_reject(q, qpos, msg);
        break;
    }
    msg_unref(msg);
}

void chan__settle(wr_chan *ch, uint64_t tag, bool multiple, enum chan_settle how)
{
    if (multiple) {
        /* in delivery order so requeued messages keep their order; deliveries
         * made while settling (tags >= next_tag) are not touched */
        uint64_t limit = tag ? tag : ch->next_tag - 1;
        for (uint32_t i = 0; i < ch->ua_len; i++) {
            chan_unacked *u = ua_at(ch, i);
            if (u->tag > limit) break;
            if (u->live && !u->held) ua_settle_one(ch, u, how);
        }
    } else {
        long i = ua_find(ch, tag);
        if (i >= 0) ua_settle_one(ch, ua_at(ch, (uint32_t)i), how);
    }
    ua_compact(ch);
    chan__kick(ch);
}

void chan__tx_hold(wr_chan *ch, uint64_t tag, bool multiple, enum chan_settle how)
{
    for (uint32_t i = 0; i < ch->ua_len; i++) {
        chan_unacked *u = ua_at(ch, i);
        if (multiple ? (tag != 0 && u->tag > tag) : u->tag > tag) break;
        if (!u->live || u->held || (!multiple && u->tag != tag)) continue;
        u->held = true;
        u->held_how = (uint8_t)how;
    }
}

void chan__tx_release(wr_chan *ch, bool commit)
{
    uint64_t limit = ch->next_tag - 1;
    for (uint32_t i = 0; i < ch->ua_len; i++) {
        chan_unacked *u = ua_at(ch, i);
        if (u->tag > limit) break;
        if (!u->live || !u->held) continue;
        u->held = false;
        if (commit) ua_settle_one(ch, u, (enum chan_settle)u->held_how);
    }
    ua_compact(ch);
    chan__kick(ch);
}

void chan__requeue_all(wr_chan *ch)
{
    chan__settle(ch, 0, true, CHAN_REQUEUE);
}

/* ---- consumer credit and delivery --------------------------------------- */

/* True when the consumer may take one more message now. */
static bool cons_has_credit(void *ctx)
{
    chan_consumer *c = ctx;
    wr_chan *ch = c->ch;
    if (c->cancelled || ch->flow_paused || ch->freeing) return false;
    if (!conn_writable(ch->conn)) return false;
    if (c->no_ack) return true;
    if (c->prefetch && c->unacked >= c->prefetch) return false;
    if (ch->global_prefetch && ch->consumer_unacked >= ch->global_prefetch) return false;
    return true;
}

/* The queue hands over one message: send basic.deliver + content straight to
 * the connection and record the unacked delivery (no allocation in steady
 * state). Returns 0, or <0 to make the queue keep the message. */
static int cons_deliver(void *ctx, wr_queue *q, wr_msg *msg, uint64_t qpos, bool redelivered)
{
    chan_consumer *c = ctx;
    wr_chan *ch = c->ch;
    chan_unacked *u = NULL;
    if (!c->no_ack) {
        u = ua_push(ch);
        if (!u) return WR_ENOMEM;
    }
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_DELIVER;
    m.u.basic_deliver.consumer_tag.ptr = (const uint8_t *)c->tag;
    m.u.basic_deliver.consumer_tag.len = c->tag_len;
    m.u.basic_deliver.delivery_tag = ch->next_tag;
    m.u.basic_deliver.redelivered = redelivered;
    m.u.basic_deliver.exchange = msg->exchange;
    m.u.basic_deliver.routing_key = msg->routing_key;
    int rc = conn_send_content(ch->conn, ch->id, &m, msg);
    if (rc < 0) {
        if (u) {
            ch->ua_len--;
            ch->ua_live--;
        }
        return rc;
    }
    if (u) {
        u->tag = ch->next_tag;
        u->q = q;
        u->msg = msg_ref(msg);
        u->qpos = qpos;
        u->cons = c;
        u->live = true;
        u->held = false;
        c->unacked++;
        ch->consumer_unacked++;
    }
    ch->next_tag++;
    return 0;
}

/* The queue cancelled the consumer (queue deleted). */
static void cons_cancelled(void *ctx)
{
    chan_consumer *c = ctx;
    wr_chan *ch = c->ch;
    c->qc = NULL;
    if (ch->freeing) return;
    chan__consumer_drop(ch, c, true);
}

const queue_consumer_ops chan__consumer_ops = {
    .deliver = cons_deliver,
    .has_credit = cons_has_credit,
    .cancelled = cons_cancelled,
};

void chan__consumer_drop(wr_chan *ch, chan_consumer *c, bool notify)
{
    if (c->cancelled) return;
    c->cancelled = true;
    if (c->qc) {
        wr_consumer *qc = c->qc;
        c->qc = NULL;
        queue_cancel(c->q, qc);
    }
    if (notify && conn_has_cap(ch->conn, "consumer_cancel_notify")) {
        amqp091_method m;
        memset(&m, 0, sizeof(m));
        m.id = AMQP091_BASIC_CANCEL;
        m.u.basic_cancel.consumer_tag.ptr = (const uint8_t *)c->tag;
        m.u.basic_cancel.consumer_tag.len = c->tag_len;
        m.u.basic_cancel.nowait = true;
        chan__send(ch, &m);
    }
    wr_map_del(&ch->consumers, c->tag, c->tag_len);
    /* unacked records keep pointing at c until settled: detach them */
    for (uint32_t i = 0; i < ch->ua_len; i++) {
        chan_unacked *u = ua_at(ch, i);
        if (u->cons == c) {
            u->cons = NULL;
            if (u->live) ch->consumer_unacked--;
        }
    }
    free(c);
}

void chan__kick(wr_chan *ch)
{
    if (ch->freeing || ch->flow_paused) return;
    const char *k;
    size_t kl;
    void *v;
    for (size_t it = 0; wr_map_next(&ch->consumers, &it, &k, &kl, &v);) {
        chan_consumer *c = v;
        if (c->qc && cons_has_credit(c)) queue_kick(c->q);
    }
}

void chan_set_paused(wr_chan *ch, bool paused)
{
    ch->flow_paused = paused;
    if (!paused) chan__kick(ch);
}

/* ---- dispatch ----------------------------------------------------------- */

int chan_handle(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err)
{
    switch (m->id >> 16) {
    case AMQP091_CLASS_EXCHANGE:
        chan__store_mark(ch);
        return chan__exchange(ch, m, err);
    case AMQP091_CLASS_QUEUE:
        chan__store_mark(ch);
        return chan__queue(ch, m, err);
    case AMQP091_CLASS_BASIC:
        return chan__basic(ch, m, err);
    case AMQP091_CLASS_CONFIRM:
        return chan__confirm(ch, m, err);
    case AMQP091_CLASS_TX:
        chan__store_mark(ch);
        return chan__tx(ch, m, err);
    case AMQP091_CLASS_CHANNEL:
        if (m->id == AMQP091_CHANNEL_FLOW) {
            /* RabbitMQ 3.8 (rabbit_channel handle_method channel.flow):
             * active=true is echoed; active=false is not implemented. */
            if (!m->u.channel_flow.active) return wr_amqp_fail(err, 540, m->id, "active=false");
            amqp091_method r;
            memset(&r, 0, sizeof(r));
            r.id = AMQP091_CHANNEL_FLOW_OK;
            r.u.channel_flow_ok.active = true;
            return chan__send(ch, &r);
        }
        break;
    case AMQP091_CLASS_ACCESS:
        if (m->id == AMQP091_ACCESS_REQUEST) {
            amqp091_method r;
            memset(&r, 0, sizeof(r));
            r.id = AMQP091_ACCESS_REQUEST_OK;
            r.u.access_request_ok.ticket = 1;
            return chan__send(ch, &r);
        }
        break;
    default:
        break;
    }
    return wr_amqp_fail(err, 503, m->id, "unimplemented method");
}

void chan_free(wr_chan *ch)
{
    if (!ch) return;
    /* cancel consumers first so requeued messages are not redelivered to them */
    const char *k;
    size_t kl;
    void *v;
    chan__reply_cancel(ch);
    ch->freeing = true;
    for (size_t it = 0; wr_map_next(&ch->consumers, &it, &k, &kl, &v);)
        chan__consumer_drop(ch, v, false);
    ch->freeing = false;
    ch->flow_paused = true; /* no kicks into this channel */
    chan__tx_release(ch, false);
    chan__requeue_all(ch);
    ch->freeing = true;
    chan__tx_clear(ch);
    chan__confirm_detach(ch);
    chan__defer_detach(ch);
    route_result_free(&ch->route);
    wr_map_free(&ch->consumers);
    free(ch->ua);
    free(ch->wait);
    free(ch->acks);
    free(ch->nacks);
    free(ch->txp);
    free(ch);
}

/* ---- basic.get and routing ---------------------------------------------- */

int chan__record_get(wr_chan *ch, wr_queue *q, const queue_got *g, bool no_ack)
{
    chan_unacked *u = NULL;
    if (!no_ack) {
        u = ua_push(ch);
        if (!u) {
            queue_requeue(q, g->qpos, g->msg);
            msg_unref(g->msg);
            return WR_ENOMEM;
        }
    }
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_GET_OK;
    m.u.basic_get_ok.delivery_tag = ch->next_tag;
    m.u.basic_get_ok.redelivered = g->redelivered;
    m.u.basic_get_ok.exchange = g->msg->exchange;
    m.u.basic_get_ok.routing_key = g->msg->routing_key;
    m.u.basic_get_ok.message_count = g->remaining;
    int rc = conn_send_content(ch->conn, ch->id, &m, g->msg);
    if (u) {
        u->tag = ch->next_tag;
        u->q = q;
        u->msg = g->msg; /* takes the reference queue_get gave us */
        u->qpos = g->qpos;
        u->cons = NULL;
        u->live = true;
        u->held = false;
    } else {
        msg_unref(g->msg);
    }
    ch->next_tag++;
    return rc;
}

/* ---- sender-selected distribution (CC / BCC headers) ---- */

/* Adds q to the set (linear: the CC/BCC path is rare and small). */
static int chan__ssd_add(void ***set, uint32_t *n, uint32_t *cap, void *q)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*set)[i] == q) return 0;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        void **ns = realloc(*set, nc * sizeof(*ns));
        if (!ns) return WR_ENOMEM;
        *set = ns;
        *cap = nc;
    }
    (*set)[(*n)++] = q;
    return 0;
}

/* Routes one key into the set: the default exchange names a queue, any
 * other exchange routes through its bindings. */
static int chan__ssd_route(wr_chan *ch, wr_exchange *ex, bool dflt, wr_bytes rk, wr_bytes headers,
                           void ***set, uint32_t *n, uint32_t *cap)
{
    int rc;
    if (dflt) {
        wr_queue *q = vhost_queue(ch->vhost, rk);
        return q ? chan__ssd_add(set, n, cap, q) : 0;
    }
    if ((rc = route_message(ex, rk, headers, &ch->route)) < 0) return rc;
    for (uint32_t i = 0; i < ch->route.n_queues; i++)
        if ((rc = chan__ssd_add(set, n, cap, ch->route.queues[i])) < 0) return rc;
    return 0;
}

/* Routes every longstr routing key of a CC or BCC header array. */
static int chan__ssd_keys(wr_chan *ch, wr_exchange *ex, bool dflt, const ftable_value *arr,
                          wr_bytes headers, void ***set, uint32_t *n, uint32_t *cap)
{
    ftable_iter it;
    ftable_value v;
    int r, rc;
    if (arr->type != 'A') return 0;
    ftable_iter_init(&it, arr->v.array);
    while ((r = ftable_array_next(&it, &v)) > 0)
        if (v.type == 'S' &&
            (rc = chan__ssd_route(ch, ex, dflt, v.v.str, headers, set, n, cap)) < 0)
            return rc;
    return r < 0 ? WR_EMALFORMED : 0;
}

/* A copy of msg without the BCC header (RabbitMQ strips it before delivery).
 * Returns NULL on ENOMEM. */
static wr_msg *chan__strip_bcc(const wr_msg *msg)
{
    amqp091_basic_properties p = msg->props;
    wr_buf hb, pb;
    ftable_iter it;
    wr_bytes k;
    ftable_value v;
    wr_msg *out = NULL;
    int r;

    wr_buf_init(&hb);
    wr_buf_init(&pb);
    ftable_iter_init(&it, msg->props.headers);
    while ((r = ftable_next(&it, &k, &v)) > 0) {
        if (k.len == 3 && !memcmp(k.ptr, "BCC", 3)) continue;
        if (ftable_put_value(&hb, k.ptr, k.len, &v) < 0) goto out;
    }
    if (r < 0) goto out;
    p.headers.ptr = hb.data;
    p.headers.len = (uint32_t)hb.len;
    if (amqp091_encode_basic_properties(&pb, &p) < 0) goto out;
    out = msg_clone_with(msg, msg->exchange, msg->routing_key, pb.data, (uint32_t)pb.len);
    if (out) out->persistent = msg->persistent;
out:
    wr_buf_free(&hb);
    wr_buf_free(&pb);
    return out;
}

int chan__route(wr_chan *ch, wr_exchange *ex, bool mandatory, wr_msg *msg)
{
    bool confirm = ch->mode == CHAN_MODE_CONFIRM;
    uint64_t seq = confirm ? chan__confirm_next(ch) : 0;
    bool rejected = false, wait_store = false;
    int rc = 0;
    uint32_t n = 0, ssd_cap = 0;
    void **ssd = NULL; /* CC/BCC destinations */
    if (msg->exchange.len == 0 && chan__is_reply_name(msg->routing_key)) {
        /* direct reply-to: not a queue, so mandatory still returns it */
        wr_chan *dst = chan__reply_lookup(msg->routing_key);
        if (dst) rc = chan__reply_deliver(dst, msg);
        if (rc == 0 && mandatory) rc = chan__return(ch, msg);
        goto out;
    }
    void **qs = NULL;
    wr_queue *direct = NULL;
    ftable_value cc, bcc;
    bool has_cc = msg->props.headers.len && ftable_get(msg->props.headers, "CC", &cc) == 0;
    bool has_bcc = msg->props.headers.len && ftable_get(msg->props.headers, "BCC", &bcc) == 0;
    if (ex && (has_cc || has_bcc)) {
        bool dflt = msg->exchange.len == 0;
        rc =
            chan__ssd_route(ch, ex, dflt, msg->routing_key, msg->props.headers, &ssd, &n, &ssd_cap);
        if (rc == 0 && has_cc)
            rc = chan__ssd_keys(ch, ex, dflt, &cc, msg->props.headers, &ssd, &n, &ssd_cap);
        if (rc == 0 && has_bcc)
            rc = chan__ssd_keys(ch, ex, dflt, &bcc, msg->props.headers, &ssd, &n, &ssd_cap);
        if (rc < 0) goto out;
        if (has_bcc && n) {
            wr_msg *stripped = chan__strip_bcc(msg);
            if (!stripped) {
                rc = WR_ENOMEM;
                goto out;
            }
            msg_unref(msg);
            msg = stripped;
        }
        qs = ssd;
    } else if (ex && msg->exchange.len == 0) {
        /* the default exchange: implicitly bound to every queue by name */
        direct = vhost_queue(ch->vhost, msg->routing_key);
        qs = (void **)&direct;
        n = direct ? 1 : 0;
    } else if (ex) {
        rc = route_message(ex, msg->routing_key, msg->props.headers, &ch->route);
        if (rc < 0) goto out;
        qs = ch->route.queues;
        n = ch->route.n_queues;
    }
    if (n == 0) {
        if (mandatory) rc = chan__return(ch, msg);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            int r = queue_publish((wr_queue *)qs[i], msg);
            if (r == QUEUE_PUB_REJECTED)
                rejected = true;
            else if (r == QUEUE_PUB_STORING)
                wait_store = true;
        }
    }
out:
    if (confirm) {
        if (rc < 0 || rejected)
            chan__confirm_done(ch, seq, false);
        else if (wait_store)
            chan__confirm_wait(ch, seq);
        else
            chan__confirm_done(ch, seq, true);
    }
    free(ssd);
    msg_unref(msg);
    return rc;
}
