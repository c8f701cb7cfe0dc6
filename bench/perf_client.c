/* perf_client: one AMQP connection of warren-perf (setup, producer, consumer
 * or idle), as a small state machine on the shared libuv loop. */
#include "bench/perf.h"
#include "bench/perf_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_HIGH (256 * 1024) /* producers stop filling above this */
#define READ_MIN (64 * 1024)
#define CH       1

enum cstate { CS_CONNECTING, CS_HANDSHAKE, CS_SETUP, CS_RUNNING, CS_CLOSING, CS_CLOSED };

/* One step of a client's setup: a synchronous method and the reply it awaits. */
enum step_kind {
    ST_EXCHANGE,
    ST_QUEUE,
    ST_QUEUE_ANON,
    ST_BIND,
    ST_QOS,
    ST_CONSUME,
    ST_CONFIRM,
    ST_DELETE
};
typedef struct step {
    enum step_kind kind;
    char queue[256];
} step;

struct perf_client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_timer_t timer; /* rate limiting for producers */
    enum perf_role role;
    enum cstate state;
    void (*on_ready)(perf_client *c);
    char queue[256];
    step *steps;
    int nsteps, step;
    wr_buf in;
    wr_buf out[2];
    int cur; /* out[cur] is filling; out[!cur] may be in flight */
    bool writing;
    uint32_t frame_max;
    bool stop;
    bool go;     /* producers publish only once every client is ready */
    int handles; /* open libuv handles still to close */
    /* producer */
    wr_buf tmpl;   /* one whole publish: method + header + body frames */
    size_t ts_off; /* offset of the body timestamp inside tmpl, or 0 */
    uint64_t published, settled_upto, settled;
    uint8_t *ring; /* settled flags for in-flight seqs */
    uint64_t *ring_ns;
    uint32_t ring_mask;
    uint64_t rate_start_ns;
    /* consumer */
    uint64_t last_tag, acked_tag, received;
    int content; /* 0 none, 1 want header, 2 in body */
    bool content_is_return;
    uint64_t body_left, body_seen;
    uint8_t ts[8];
    perf_client *next;
};

static perf_client *clients;
static int n_live, n_ready;

uint64_t perf_now_ns(void)
{
    return uv_hrtime();
}

static void client_close(perf_client *c);
static void client_flush(perf_client *c);
static void producer_fill(perf_client *c);

/* ---------- output ---------- */

static void on_write(uv_write_t *req, int status)
{
    perf_client *c = req->data;
    c->writing = false;
    c->out[!c->cur].len = 0;
    if (status < 0) {
        if (c->state != CS_CLOSING && c->state != CS_CLOSED)
            perf_error("write: %s", uv_strerror(status));
        client_close(c);
        return;
    }
    if (c->role == PERF_PRODUCER && c->state == CS_RUNNING) producer_fill(c);
    client_flush(c);
}

static void client_flush(perf_client *c)
{
    uv_buf_t b;
    int rc;
    if (c->writing || !c->out[c->cur].len || c->state == CS_CLOSED) return;
    b = uv_buf_init((char *)c->out[c->cur].data, (unsigned)c->out[c->cur].len);
    c->wreq.data = c;
    rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc) {
        perf_error("write: %s", uv_strerror(rc));
        client_close(c);
        return;
    }
    c->writing = true;
    c->cur = !c->cur;
}

static wr_buf *OUT(perf_client *c)
{
    return &c->out[c->cur];
}

/* ---------- methods we send ---------- */

static void send_start_ok(perf_client *c)
{
    wr_buf *b = OUT(c);
    size_t at = pw_method(b, 0, 10, 11), tstart, cstart;
    char resp[300];
    int n;

    /* client-properties */
    tstart = b->len;
    pw_u32(b, 0);
    pw_sstr(b, "product");
    pw_u8(b, 'S');
    pw_lstr(b, "warren-perf", 11);
    pw_sstr(b, "capabilities");
    pw_u8(b, 'F');
    cstart = b->len;
    pw_u32(b, 0);
    const char *caps[] = {"publisher_confirms", "consumer_cancel_notify", "basic.nack",
                          "exchange_exchange_bindings"};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        pw_sstr(b, caps[i]);
        pw_u8(b, 't');
        pw_u8(b, 1);
    }
    {
        uint32_t l = (uint32_t)(b->len - cstart - 4);
        b->data[cstart] = (uint8_t)(l >> 24), b->data[cstart + 1] = (uint8_t)(l >> 16);
        b->data[cstart + 2] = (uint8_t)(l >> 8), b->data[cstart + 3] = (uint8_t)l;
    }
    {
        uint32_t l = (uint32_t)(b->len - tstart - 4);
        b->data[tstart] = (uint8_t)(l >> 24), b->data[tstart + 1] = (uint8_t)(l >> 16);
        b->data[tstart + 2] = (uint8_t)(l >> 8), b->data[tstart + 3] = (uint8_t)l;
    }
    pw_sstr(b, "PLAIN");
    n = snprintf(resp, sizeof(resp), "%c%s%c%s", 0, perf_o.user, 0, perf_o.pass);
    pw_lstr(b, resp, (uint32_t)n);
    pw_sstr(b, "en_US");
    pw_end(b, at);
}

static void send_simple(perf_client *c, uint16_t ch, uint16_t cls, uint16_t meth)
{
    size_t at = pw_method(OUT(c), ch, cls, meth);
    pw_end(OUT(c), at);
}

static void send_step(perf_client *c)
{
    wr_buf *b = OUT(c);
    step *s = &c->steps[c->step];
    size_t at;
    const char *q = s->queue[0] ? s->queue : c->queue;

    switch (s->kind) {
    case ST_EXCHANGE:
        at = pw_method(b, CH, 40, 10);
        pw_u16(b, 0);
        pw_sstr(b, perf_o.exchange);
        pw_sstr(b, perf_o.exchange_type);
        pw_u8(b, 0x02); /* durable */
        pw_u32(b, 0);
        break;
    case ST_QUEUE:
    case ST_QUEUE_ANON: {
        bool durable = s->kind == ST_QUEUE && (perf_o.durable || perf_o.persistent);
        at = pw_method(b, CH, 50, 10);
        pw_u16(b, 0);
        pw_sstr(b, s->kind == ST_QUEUE ? q : "");
        /* passive, durable, exclusive, auto-delete, nowait */
        pw_u8(b, (uint8_t)((durable ? 0x02 : 0) | (s->kind == ST_QUEUE_ANON ? 0x04 | 0x08 : 0)));
        if (perf_o.lazy) {
            size_t t = b->len;
            pw_u32(b, 0);
            pw_sstr(b, "x-queue-mode");
            pw_u8(b, 'S');
            pw_lstr(b, "lazy", 4);
            uint32_t l = (uint32_t)(b->len - t - 4);
            b->data[t + 2] = (uint8_t)(l >> 8), b->data[t + 3] = (uint8_t)l;
        } else {
            pw_u32(b, 0);
        }
        break;
    }
    case ST_BIND:
        at = pw_method(b, CH, 50, 20);
        pw_u16(b, 0);
        pw_sstr(b, q);
        pw_sstr(b, perf_o.exchange);
        pw_sstr(b, perf_o.routing_key[0] ? perf_o.routing_key : q);
        pw_u8(b, 0);
        pw_u32(b, 0);
        break;
    case ST_QOS:
        at = pw_method(b, CH, 60, 10);
        pw_u32(b, 0);
        pw_u16(b, (uint16_t)perf_o.prefetch);
        pw_u8(b, 0);
        break;
    case ST_CONSUME:
        at = pw_method(b, CH, 60, 20);
        pw_u16(b, 0);
        pw_sstr(b, q);
        pw_sstr(b, "");
        pw_u8(b, perf_o.autoack ? 0x02 : 0);
        pw_u32(b, 0);
        break;
    case ST_CONFIRM:
        at = pw_method(b, CH, 85, 10);
        pw_u8(b, 0);
        break;
    case ST_DELETE:
        at = pw_method(b, CH, 50, 40);
        pw_u16(b, 0);
        pw_sstr(b, q);
        pw_u8(b, 0);
        break;
    default:
        return;
    }
    pw_end(b, at);
}

static void add_step(perf_client *c, enum step_kind k, const char *queue)
{
    step *s = realloc(c->steps, sizeof(step) * (size_t)(c->nsteps + 1));
    if (!s) return;
    c->steps = s;
    s[c->nsteps].kind = k;
    snprintf(s[c->nsteps].queue, sizeof(s[c->nsteps].queue), "%.255s", queue ? queue : "");
    c->nsteps++;
}

static bool exchange_is_predeclared(void)
{
    return !perf_o.exchange[0] || !strncmp(perf_o.exchange, "amq.", 4);
}

static void plan_steps(perf_client *c)
{
    char name[300];
    switch (c->role) {
    case PERF_SETUP:
        if (!exchange_is_predeclared()) add_step(c, ST_EXCHANGE, NULL);
        if (perf_o.queue_pattern[0]) {
            for (int i = perf_o.pattern_from; i <= perf_o.pattern_to; i++) {
                snprintf(name, sizeof(name), perf_o.queue_pattern, i);
                add_step(c, ST_QUEUE, name);
                if (perf_o.exchange[0]) add_step(c, ST_BIND, name);
            }
        } else if (perf_o.queue[0]) {
            add_step(c, ST_QUEUE, perf_o.queue);
            if (perf_o.exchange[0]) add_step(c, ST_BIND, perf_o.queue);
        }
        break;
    case PERF_PRODUCER:
        if (perf_o.confirm > 0) add_step(c, ST_CONFIRM, NULL);
        break;
    case PERF_CONSUMER:
        if (!c->queue[0]) {
            add_step(c, ST_QUEUE_ANON, NULL);
            if (perf_o.exchange[0]) add_step(c, ST_BIND, NULL);
        }
        if (perf_o.prefetch > 0) add_step(c, ST_QOS, NULL);
        add_step(c, ST_CONSUME, NULL);
        break;
    case PERF_IDLE:
        break;
    }
}

/* ---------- producer ---------- */

static void build_template(perf_client *c)
{
    wr_buf *b = &c->tmpl;
    size_t at, left, off = 0;
    uint32_t chunk = c->frame_max - 8;
    const char *rk = perf_o.routing_key[0] ? perf_o.routing_key : c->queue;

    wr_buf_reset(b);
    at = pw_method(b, CH, 60, 40);
    pw_u16(b, 0);
    pw_sstr(b, perf_o.exchange);
    pw_sstr(b, rk);
    pw_u8(b, perf_o.mandatory ? 1 : 0);
    pw_end(b, at);
    at = pw_begin(b, PW_FRAME_HEADER, CH);
    pw_u16(b, 60);
    pw_u16(b, 0);
    pw_u64(b, perf_o.size);
    pw_u16(b, 0x1000); /* delivery-mode present */
    pw_u8(b, perf_o.persistent ? 2 : 1);
    pw_end(b, at);
    left = perf_o.size;
    c->ts_off = 0;
    while (left > 0) {
        uint32_t n = left < chunk ? (uint32_t)left : chunk;
        if (wr_buf_reserve(b, (size_t)n + 8)) return;
        at = pw_begin(b, PW_FRAME_BODY, CH);
        if (off == 0 && n >= 8) c->ts_off = b->len;
        memset(b->data + b->len, 'x', n);
        b->len += n;
        pw_end(b, at);
        left -= n;
        off += n;
    }
}

static bool producer_may_send(perf_client *c)
{
    if (c->stop || !c->go) return false;
    if (perf_o.pmessages && c->published >= perf_o.pmessages) return false;
    if (perf_o.confirm > 0 && c->published - c->settled >= (uint64_t)perf_o.confirm) return false;
    if (perf_o.rate > 0) {
        double allowed = perf_o.rate * (double)(perf_now_ns() - c->rate_start_ns) / 1e9;
        if ((double)c->published >= allowed) return false;
    }
    return true;
}

static void producer_fill(perf_client *c)
{
    wr_buf *b = OUT(c);
    uint64_t now = 0;
    int n = 0;

    while (b->len < OUT_HIGH && producer_may_send(c)) {
        if (wr_buf_append(b, c->tmpl.data, c->tmpl.len)) return;
        if ((n++ & 15) == 0) now = perf_now_ns();
        if (c->ts_off) memcpy(b->data + b->len - c->tmpl.len + c->ts_off, &now, 8);
        c->published++;
        if (perf_o.confirm > 0) {
            uint64_t seq = c->published;
            c->ring[seq & c->ring_mask] = 0;
            c->ring_ns[seq & c->ring_mask] = now;
        }
        perf_s.sent++;
        perf_s.bytes_sent += perf_o.size;
    }
}

static void settle_one(perf_client *c, uint64_t seq, bool ok)
{
    if (seq <= c->settled_upto || seq > c->published) return;
    if (c->ring[seq & c->ring_mask]) return;
    c->ring[seq & c->ring_mask] = 1;
    c->settled++;
    if (ok)
        perf_s.confirmed++;
    else
        perf_s.nacked++;
    if (perf_o.consumers == 0) {
        uint64_t d = perf_now_ns() - c->ring_ns[seq & c->ring_mask];
        perf_hist_add(&perf_s.lat, d);
        perf_hist_add(&perf_s.lat_tick, d);
    }
}

static void on_confirm(perf_client *c, uint64_t tag, bool multiple, bool ok)
{
    if (multiple) {
        for (uint64_t s = c->settled_upto + 1; s <= tag; s++) settle_one(c, s, ok);
    } else {
        settle_one(c, tag, ok);
    }
    while (c->settled_upto < c->published && c->ring[(c->settled_upto + 1) & c->ring_mask])
        c->settled_upto++;
}

static void on_rate_timer(uv_timer_t *t)
{
    perf_client *c = t->data;
    if (c->state != CS_RUNNING) return;
    producer_fill(c);
    client_flush(c);
}

/* ---------- consumer ---------- */

static void content_done(perf_client *c)
{
    c->content = 0;
    if (c->content_is_return) {
        perf_s.returned++;
        return;
    }
    c->received++;
    perf_s.received++;
    perf_s.bytes_received += c->body_seen;
    if (c->body_seen >= 8) {
        uint64_t sent, now = perf_now_ns();
        memcpy(&sent, c->ts, 8);
        if (sent && now > sent) {
            perf_hist_add(&perf_s.lat, now - sent);
            perf_hist_add(&perf_s.lat_tick, now - sent);
        }
    }
    if (perf_o.cmessages && c->received >= perf_o.cmessages) c->stop = true;
}

static void send_acks(perf_client *c)
{
    size_t at;
    if (perf_o.autoack || c->last_tag <= c->acked_tag) return;
    at = pw_method(OUT(c), CH, 60, 80);
    pw_u64(OUT(c), c->last_tag);
    pw_u8(OUT(c), 1);
    pw_end(OUT(c), at);
    c->acked_tag = c->last_tag;
}

/* ---------- input ---------- */

static void become_ready(perf_client *c)
{
    c->state = CS_RUNNING;
    n_ready++;
    if (c->role == PERF_PRODUCER) {
        uint32_t ring = 1024;
        while (perf_o.confirm > 0 && ring < (uint32_t)perf_o.confirm * 2) ring <<= 1;
        c->ring = calloc(ring, 1);
        c->ring_ns = calloc(ring, sizeof(uint64_t));
        c->ring_mask = ring - 1;
        build_template(c);
    }
    if (c->on_ready) c->on_ready(c);
}

void perf_client_go(perf_client *c)
{
    if (c->role != PERF_PRODUCER || c->state != CS_RUNNING) return;
    c->rate_start_ns = perf_now_ns();
    c->go = true;
    if (perf_o.rate > 0) uv_timer_start(&c->timer, on_rate_timer, 1, 1);
    producer_fill(c);
    client_flush(c);
}

static void conn_error(perf_client *c, pw_rd *r, const char *what)
{
    uint16_t code = pr_u16(r);
    char text[256];
    pr_sstr(r, text, sizeof(text));
    perf_error("%s: %u %s", what, code, text);
}

static int handle_method(perf_client *c, uint16_t ch, pw_rd *r)
{
    uint16_t cls = pr_u16(r), meth = pr_u16(r);
    uint32_t id = (uint32_t)cls << 16 | meth;
    size_t at;

    switch (id) {
    case 0x000A000A: /* connection.start */
        send_start_ok(c);
        break;
    case 0x000A001E: { /* connection.tune */
        uint16_t chmax = pr_u16(r);
        uint32_t fmax = pr_u32(r);
        c->frame_max = fmax && fmax < 131072 ? fmax : 131072;
        at = pw_method(OUT(c), 0, 10, 31);
        pw_u16(OUT(c), chmax);
        pw_u32(OUT(c), c->frame_max);
        pw_u16(OUT(c), 0);
        pw_end(OUT(c), at);
        at = pw_method(OUT(c), 0, 10, 40);
        pw_sstr(OUT(c), perf_o.vhost);
        pw_sstr(OUT(c), "");
        pw_u8(OUT(c), 0);
        pw_end(OUT(c), at);
        break;
    }
    case 0x000A0029: /* connection.open-ok */
        if (c->role == PERF_IDLE) {
            become_ready(c);
            break;
        }
        at = pw_method(OUT(c), CH, 20, 10);
        pw_sstr(OUT(c), "");
        pw_end(OUT(c), at);
        break;
    case 0x000A0032: /* connection.close */
        conn_error(c, r, "connection closed by broker");
        send_simple(c, 0, 10, 51);
        c->state = CS_CLOSING;
        client_flush(c);
        return -1;
    case 0x000A0033: /* close-ok */
        return -1;
    case 0x000A003C: /* blocked */
        break;
    case 0x000A003D: /* unblocked */
        break;
    case 0x00140028: /* channel.close */
        conn_error(c, r, "channel closed by broker");
        send_simple(c, ch, 20, 41);
        c->stop = true;
        break;
    case 0x0014000B: /* channel.open-ok */
    case 0x0028000B: /* exchange.declare-ok */
    case 0x0032000B: /* queue.declare-ok */
    case 0x00320015: /* queue.bind-ok */
    case 0x00320029: /* queue.delete-ok */
    case 0x003C000B: /* basic.qos-ok */
    case 0x003C0015: /* basic.consume-ok */
    case 0x0055000B: /* confirm.select-ok */
        if (id == 0x0032000B && c->step > 0 && c->steps[c->step - 1].kind == ST_QUEUE_ANON)
            pr_sstr(r, c->queue, sizeof(c->queue));
        if (c->state == CS_CLOSING) {
            if (c->step < c->nsteps) {
                send_step(c);
                c->step++;
            } else {
                at = pw_method(OUT(c), 0, 10, 50);
                pw_u16(OUT(c), 200);
                pw_sstr(OUT(c), "bye");
                pw_u32(OUT(c), 0);
                pw_end(OUT(c), at);
            }
            break;
        }
        if (c->step < c->nsteps) {
            send_step(c);
            c->step++;
        } else if (c->state == CS_SETUP || c->state == CS_HANDSHAKE) {
            become_ready(c);
        }
        break;
    case 0x003C003C: /* basic.deliver */
        pr_sstr(r, NULL, 0);
        c->last_tag = pr_u64(r);
        c->content = 1;
        c->content_is_return = false;
        break;
    case 0x003C0032: /* basic.return */
        c->content = 1;
        c->content_is_return = true;
        break;
    case 0x003C0050: { /* basic.ack (confirm) */
        uint64_t tag = pr_u64(r);
        uint8_t bits = pr_u8(r);
        on_confirm(c, tag, bits & 1, true);
        break;
    }
    case 0x003C0078: { /* basic.nack */
        uint64_t tag = pr_u64(r);
        uint8_t bits = pr_u8(r);
        on_confirm(c, tag, bits & 1, false);
        break;
    }
    case 0x003C001E: /* basic.cancel from the broker */
        c->stop = true;
        break;
    default:
        break;
    }
    return r->bad ? -1 : 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    perf_client *c = h->data;
    (void)suggested;
    if (wr_buf_reserve(&c->in, READ_MIN)) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    perf_client *c = s->data;
    size_t off = 0;
    (void)buf;

    if (nread < 0) {
        if (c->state != CS_CLOSING && !c->stop) perf_error("read: %s", uv_strerror((int)nread));
        client_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    while (c->in.len - off >= 8) {
        const uint8_t *f = c->in.data + off;
        uint32_t size = (uint32_t)f[3] << 24 | (uint32_t)f[4] << 16 | (uint32_t)f[5] << 8 | f[6];
        uint16_t ch = (uint16_t)(f[1] << 8 | f[2]);
        pw_rd r;
        if (c->in.len - off < (size_t)size + 8) break;
        if (f[7 + size] != PW_FRAME_END) {
            perf_error("bad frame end from broker");
            client_close(c);
            return;
        }
        r = (pw_rd){f + 7, size, 0, 0};
        switch (f[0]) {
        case PW_FRAME_METHOD:
            if (handle_method(c, ch, &r) < 0) {
                client_close(c);
                return;
            }
            break;
        case PW_FRAME_HEADER:
            if (c->content == 1) {
                pr_u16(&r);
                pr_u16(&r);
                c->body_left = pr_u64(&r);
                c->body_seen = 0;
                c->content = 2;
                if (!c->body_left) content_done(c);
            }
            break;
        case PW_FRAME_BODY:
            if (c->content == 2) {
                if (c->body_seen < 8) {
                    size_t want = 8 - c->body_seen;
                    memcpy(c->ts + c->body_seen, f + 7, size < want ? size : want);
                }
                c->body_seen += size;
                c->body_left = size > c->body_left ? 0 : c->body_left - size;
                if (!c->body_left) content_done(c);
            }
            break;
        default:
            break;
        }
        off += (size_t)size + 8;
    }
    wr_buf_consume(&c->in, off);
    if (c->role == PERF_CONSUMER) send_acks(c);
    if (c->role == PERF_PRODUCER && c->state == CS_RUNNING) producer_fill(c);
    if (c->stop && c->state == CS_RUNNING) {
        /* Consumers that reached -D close politely. */
        c->state = CS_CLOSING;
        c->nsteps = c->step = 0;
        send_acks(c);
        size_t at = pw_method(OUT(c), 0, 10, 50);
        pw_u16(OUT(c), 200);
        pw_sstr(OUT(c), "bye");
        pw_u32(OUT(c), 0);
        pw_end(OUT(c), at);
    }
    client_flush(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    perf_client *c = req->data;
    if (status < 0) {
        perf_error("connect %s:%u: %s", perf_o.host, perf_o.port, uv_strerror(status));
        client_close(c);
        return;
    }
    c->state = CS_HANDSHAKE;
    uv_tcp_nodelay(&c->tcp, 1);
    wr_buf_append(OUT(c), "AMQP\0\0\x09\x01", 8);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    client_flush(c);
}

/* ---------- lifecycle ---------- */

static void on_closed(uv_handle_t *h)
{
    perf_client *c = h->data;
    if (--c->handles > 0) return;
    n_live--;
    /* Clients stay on the list (freed at exit) so callers' pointers stay valid. */
}

static void client_close(perf_client *c)
{
    if (c->state == CS_CLOSED) return;
    if (c->state == CS_RUNNING && n_ready > 0) n_ready--;
    c->state = CS_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
}

perf_client *perf_client_start(uv_loop_t *loop, enum perf_role role, const char *queue,
                               void (*on_ready)(perf_client *c))
{
    perf_client *c = calloc(1, sizeof(*c));
    struct sockaddr_storage sa;
    int rc;

    if (!c) return NULL;
    c->role = role;
    c->on_ready = on_ready;
    c->frame_max = 131072;
    snprintf(c->queue, sizeof(c->queue), "%s", queue ? queue : "");
    wr_buf_init(&c->in);
    wr_buf_init(&c->out[0]);
    wr_buf_init(&c->out[1]);
    wr_buf_init(&c->tmpl);
    plan_steps(c);
    c->state = CS_CONNECTING;
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c->creq.data = c;
    c->handles = 2;
    c->next = clients;
    clients = c;
    n_live++;
    if (uv_ip4_addr(perf_o.host, perf_o.port, (struct sockaddr_in *)&sa) &&
        uv_ip6_addr(perf_o.host, perf_o.port, (struct sockaddr_in6 *)&sa)) {
        perf_error("bad host '%s' (use an IP address)", perf_o.host);
        client_close(c);
        return c;
    }
    rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&sa, on_connect);
    if (rc) {
        perf_error("connect: %s", uv_strerror(rc));
        client_close(c);
    }
    return c;
}

void perf_clients_stop(void)
{
    for (perf_client *c = clients; c; c = c->next) {
        if (c->state == CS_CLOSED || c->state == CS_CLOSING) continue;
        c->stop = true;
        uv_timer_stop(&c->timer);
        if (c->state != CS_RUNNING) {
            client_close(c);
            continue;
        }
        c->state = CS_CLOSING;
        send_acks(c);
        /* The setup client deletes the queues it declared, unless asked not to. */
        c->nsteps = c->step = 0;
        if (c->role == PERF_SETUP && !perf_o.no_cleanup) {
            char name[300];
            if (perf_o.queue_pattern[0]) {
                for (int i = perf_o.pattern_from; i <= perf_o.pattern_to; i++) {
                    snprintf(name, sizeof(name), perf_o.queue_pattern, i);
                    add_step(c, ST_DELETE, name);
                }
            } else if (perf_o.queue[0]) {
                add_step(c, ST_DELETE, perf_o.queue);
            }
        }
        if (c->nsteps) {
            send_step(c);
            c->step++;
        } else {
            size_t at = pw_method(OUT(c), 0, 10, 50);
            pw_u16(OUT(c), 200);
            pw_sstr(OUT(c), "bye");
            pw_u32(OUT(c), 0);
            pw_end(OUT(c), at);
        }
        client_flush(c);
    }
}

void perf_clients_abort(void)
{
    for (perf_client *c = clients; c; c = c->next) client_close(c);
}

int perf_clients_live(void)
{
    return n_live;
}

int perf_clients_ready(void)
{
    return n_ready;
}

void perf_clients_free(void)
{
    while (clients) {
        perf_client *c = clients;
        clients = c->next;
        wr_buf_free(&c->in);
        wr_buf_free(&c->out[0]);
        wr_buf_free(&c->out[1]);
        wr_buf_free(&c->tmpl);
        free(c->steps);
        free(c->ring);
        free(c->ring_ns);
        free(c);
    }
}

void perf_clients_each(void (*fn)(perf_client *c))
{
    for (perf_client *c = clients; c; c = c->next) fn(c);
}
