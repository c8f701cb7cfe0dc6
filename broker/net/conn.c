/* Connections, socket side: accept, read buffer and frame splitting, output
 * batching, back-pressure, timers, teardown. The protocol side is
 * broker/amqp/connection.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/auth/user.h"
#include "broker/core/msg.h"
#include "broker/core/vhost.h"
#include "broker/net/conn_int.h"
#include "broker/util/wr_log.h"

#define CONN_READ_CHUNK 65536

/* ---- small accessors (conn.h) ---- */

const wr_user *conn_user(const wr_conn *c)
{
    return c->user;
}

wr_vhost *conn_vhost(const wr_conn *c)
{
    return c->vhost;
}

wr_broker *conn_broker(const wr_conn *c)
{
    return c->b;
}

const char *conn_name(const wr_conn *c)
{
    return c->name;
}

uint32_t conn_frame_max(const wr_conn *c)
{
    return c->frame_max;
}

wr_bytes conn_client_properties(const wr_conn *c)
{
    return c->client_props;
}

bool conn_writable(const wr_conn *c)
{
    return c->state == CONN_RUNNING && !c->read_paused_bp;
}

bool conn_has_cap(const wr_conn *c, const char *cap)
{
    static const struct {
        const char *name;
        uint64_t bit;
    } known[] = {
        {"authentication_failure_close", CONN_CAP_AUTH_FAILURE_CLOSE},
        {"connection.blocked", CONN_CAP_CONNECTION_BLOCKED},
        {"consumer_cancel_notify", CONN_CAP_CONSUMER_CANCEL_NOTIFY},
        {"publisher_confirms", CONN_CAP_PUBLISHER_CONFIRMS},
        {"basic.nack", CONN_CAP_BASIC_NACK},
        {"exchange_exchange_bindings", CONN_CAP_EXCHANGE_EXCHANGE_BINDINGS},
        {"per_consumer_qos", CONN_CAP_PER_CONSUMER_QOS},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i].name, cap) == 0) return (c->caps & known[i].bit) != 0;
    return false;
}

/* ---- output ---- */

void conn__mark_dirty(wr_conn *c)
{
    if (c->dirty || c->state == CONN_DEAD) return;
    c->dirty = true;
    c->dirty_next = c->b->dirty;
    c->b->dirty = c;
}

static void conn_check_backpressure(wr_conn *c)
{
    size_t pending = c->out.len + (c->writing ? c->wbuf.len : 0);
    if (!c->read_paused_bp && pending > CONN_OUT_HIGH_WATER) {
        c->read_paused_bp = true;
        conn__update_reading(c);
    } else if (c->read_paused_bp && pending < CONN_OUT_LOW_WATER) {
        c->read_paused_bp = false;
        conn__update_reading(c);
        connection__blocked_changed(c); /* lets paused channels deliver again */
    }
}

int conn__send_method_always(wr_conn *c, uint16_t ch, const amqp091_method *m)
{
    int rc;
    if (c->state >= CONN_CLOSED) return 0;
    if ((rc = frame_put_method(&c->out, ch, m)) < 0) return rc;
    c->sent_since_tick = true;
    conn__mark_dirty(c);
    return 0;
}

int conn_send_method(wr_conn *c, uint16_t ch, const amqp091_method *m)
{
    int rc;
    /* after our connection.close only close-ok may follow (conn__send_method_always) */
    if (c->state >= CONN_CLOSING) return 0;
    if ((rc = frame_put_method(&c->out, ch, m)) < 0) return rc;
    c->sent_since_tick = true;
    conn__mark_dirty(c);
    if (c->out.len > CONN_OUT_HIGH_WATER) conn_check_backpressure(c);
    return 0;
}

int conn_send_content(wr_conn *c, uint16_t ch, const amqp091_method *m, const wr_msg *msg)
{
    int rc;
    if (c->state >= CONN_CLOSING) return 0;
    rc = frame_put_method_content(&c->out, ch, m, msg->props_raw, msg->props_len, msg->body,
                                  msg->body_len, c->frame_max);
    if (rc < 0) return rc;
    c->sent_since_tick = true;
    conn__mark_dirty(c);
    if (c->out.len > CONN_OUT_HIGH_WATER) conn_check_backpressure(c);
    return 0;
}

static void conn_flush(wr_conn *c);

static void conn_write_cb(uv_write_t *req, int status)
{
    wr_conn *c = req->data;
    c->writing = false;
    wr_buf_reset(&c->wbuf);
    if (c->state == CONN_DEAD) return;
    if (status < 0) {
        wr_debug("closing AMQP connection (%s): write failed: %s", c->name, uv_strerror(status));
        conn__destroy(c);
        return;
    }
    conn_check_backpressure(c);
    conn_flush(c);
}

/* Writes what is queued: uv_try_write first, the rest with one uv_write. */
static void conn_flush(wr_conn *c)
{
    int n, rc;
    wr_buf tmp;
    if (c->state == CONN_DEAD) return;
    if ((c->state == CONN_CLOSING || c->state == CONN_CLOSED) && !c->chans_torn_down)
        connection__after_batch(c);
    if (c->writing) return;
    if (c->out.len) {
        uv_buf_t ub = uv_buf_init((char *)c->out.data, (unsigned int)c->out.len);
        n = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
        if (n > 0) {
            wr_buf_consume(&c->out, (size_t)n);
        } else if (n < 0 && n != UV_EAGAIN) {
            wr_debug("closing AMQP connection (%s): write failed: %s", c->name, uv_strerror(n));
            conn__destroy(c);
            return;
        }
        if (c->out.len) {
            /* swap: out becomes the in-flight buffer, the old one collects anew */
            tmp = c->wbuf;
            c->wbuf = c->out;
            c->out = tmp;
            wr_buf_reset(&c->out);
            c->wuv = uv_buf_init((char *)c->wbuf.data, (unsigned int)c->wbuf.len);
            c->wreq.data = c;
            rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &c->wuv, 1, conn_write_cb);
            if (rc < 0) {
                wr_buf_reset(&c->wbuf);
                conn__destroy(c);
                return;
            }
            c->writing = true;
        }
        conn_check_backpressure(c);
    }
    if (c->state == CONN_CLOSED && !c->writing && c->out.len == 0) conn__destroy(c);
}

void conn__flush_all(wr_broker *b)
{
    while (b->dirty) {
        wr_conn *c = b->dirty;
        b->dirty = c->dirty_next;
        c->dirty = false;
        c->dirty_next = NULL;
        conn_flush(c);
    }
}

void conn__close_after_flush(wr_conn *c)
{
    if (c->state >= CONN_CLOSED) return;
    c->state = CONN_CLOSED;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    uv_timer_stop(&c->hb_timer);
    /* bound the wait for a client that does not read */
    conn__arm_timeout(c, 5000);
    conn__mark_dirty(c);
}

/* ---- teardown ---- */

static void conn_handle_closed(uv_handle_t *h)
{
    wr_conn *c = h->data;
    if (--c->open_handles > 0) return;
    wr_buf_free(&c->in);
    wr_buf_free(&c->out);
    wr_buf_free(&c->wbuf);
    free(c->client_props_mem);
    free(c->chans);
    free(c->touched);
    free(c);
}

void conn__destroy(wr_conn *c)
{
    wr_broker *b = c->b;
    if (c->state == CONN_DEAD) return;
    c->state = CONN_DEAD;
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    connection__free_channels(c);
    if (c->vhost) vhost_conn_closed(c->vhost, c);
    /* unlink from the broker's lists */
    if (c->prev)
        c->prev->next = c->next;
    else
        b->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    b->n_conns--;
    if (c->read_paused_turn) {
        wr_conn **rp = &b->resume;
        while (*rp && *rp != c) rp = &(*rp)->resume_next;
        if (*rp) *rp = c->resume_next;
        c->read_paused_turn = false;
    }
    if (c->dirty) {
        wr_conn **pp = &b->dirty;
        while (*pp && *pp != c) pp = &(*pp)->dirty_next;
        if (*pp) *pp = c->dirty_next;
        c->dirty = false;
    }
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->hs_timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->hb_timer, conn_handle_closed);
    if (b->stopping && b->n_conns == 0) broker_stop(b); /* finishes the stop early */
}

/* ---- timers ---- */

static void conn_timeout_cb(uv_timer_t *t)
{
    wr_conn *c = t->data;
    switch (c->state) {
    case CONN_HEADER:
    case CONN_STARTING:
    case CONN_TUNING:
    case CONN_OPENING:
        wr_warn("closing AMQP connection (%s): handshake_timeout", c->name);
        conn__destroy(c);
        break;
    case CONN_CLOSING:
    case CONN_CLOSED:
        conn__destroy(c);
        break;
    default:
        break;
    }
}

void conn__arm_timeout(wr_conn *c, uint64_t ms)
{
    uv_timer_start(&c->hs_timer, conn_timeout_cb, ms, 0);
}

/* Heartbeat tick (half the negotiated interval): send one if nothing else
 * went out, and close after two silent intervals. A connection whose input
 * we stopped reading ourselves (alarm, back-pressure, a durable -ok waiting
 * for the disk) is not counted as silent. */
static void conn_hb_cb(uv_timer_t *t)
{
    wr_conn *c = t->data;
    if (c->state != CONN_RUNNING && c->state != CONN_OPENING) return;
    if (!c->sent_since_tick) {
        if (frame_put_heartbeat(&c->out) == 0) conn__mark_dirty(c);
    }
    c->sent_since_tick = false;
    if (c->recv_since_tick || c->read_paused_block || c->read_paused_bp || c->hold) {
        c->idle_ticks = 0;
    } else if (++c->idle_ticks >= 4) { /* two heartbeat intervals, ticks are half of one */
        wr_error("closing AMQP connection (%s):\nmissed heartbeats from client, timeout: %us",
                 c->name, (unsigned)c->heartbeat);
        conn__destroy(c);
        return;
    }
    c->recv_since_tick = false;
}

void conn__start_heartbeat(wr_conn *c)
{
    uint64_t half;
    if (!c->heartbeat) return;
    half = (uint64_t)c->heartbeat * 1000 / 2;
    c->sent_since_tick = false;
    c->recv_since_tick = true;
    c->idle_ticks = 0;
    uv_timer_start(&c->hb_timer, conn_hb_cb, half, half);
}

/* ---- input ---- */

void conn__update_reading(wr_conn *c);

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    wr_conn *c = h->data;
    size_t want = CONN_READ_CHUNK;
    (void)suggested;
    if (wr_buf_reserve(&c->in, want) < 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)c->in.data + c->in.len;
    buf->len = c->in.cap - c->in.len;
}

static void conn_process_input(wr_conn *c)
{
    size_t off = 0;
    bool publish_seen = false;
    if (c->discard_input) {
        wr_buf_reset(&c->in);
        return;
    }
    c->in_batch = true;
    if (c->state == CONN_HEADER) {
        if (c->in.len < 8) goto out;
        off = 8;
        if (connection__header(c, c->in.data) < 0) goto out;
    }
    while (off < c->in.len && c->state < CONN_CLOSED && !c->hold) {
        wr_frame f;
        long n = frame_parse(c->in.data + off, c->in.len - off, c->recv_frame_max, &f);
        if (n == 0) break;
        if (n < 0) {
            connection__bad_frame(c, (int)n, c->in.data + off, c->in.len - off);
            break;
        }
        if (c->b->blocked && c->state == CONN_RUNNING && connection__is_publish(&f)) {
            /* as rabbit_reader: a publish while an alarm is set blocks the
             * connection; the publish waits in c->in until the alarm clears */
            publish_seen = true;
            break;
        }
        off += (size_t)n;
        if (connection__frame(c, &f) < 0) break;
    }
out:
    c->in_batch = false;
    if (c->state == CONN_DEAD) return;
    if (off >= c->in.len)
        wr_buf_reset(&c->in);
    else if (off)
        wr_buf_consume(&c->in, off);
    connection__after_batch(c);
    if (publish_seen && c->state == CONN_RUNNING) {
        c->read_paused_block = true;
        conn__update_reading(c);
        connection__blocked_changed(c); /* connection.blocked to this publisher */
    }
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wr_conn *c = s->data;
    (void)buf;
    if (c->state == CONN_DEAD) return;
    if (nread < 0) {
        if (nread != UV_EOF)
            wr_debug("AMQP connection %s: read error %s", c->name, uv_strerror((int)nread));
        if (c->state == CONN_RUNNING)
            wr_warn("closing AMQP connection (%s):\nclient unexpectedly closed TCP connection",
                    c->name);
        conn__destroy(c);
        return;
    }
    if (nread == 0) return;
    c->in.len += (size_t)nread;
    c->recv_since_tick = true;
    conn_process_input(c);
    if (c->state == CONN_DEAD) return;
    if (c->turn != c->b->turn) {
        c->turn = c->b->turn;
        c->turn_bytes = 0;
    }
    c->turn_bytes += (size_t)nread;
    if (c->turn_bytes >= CONN_READ_BUDGET && !c->read_paused_turn) {
        c->read_paused_turn = true;
        c->resume_next = c->b->resume;
        c->b->resume = c;
        conn__update_reading(c);
    }
}

void conn__resume_all(wr_broker *b)
{
    while (b->resume) {
        wr_conn *c = b->resume;
        b->resume = c->resume_next;
        c->resume_next = NULL;
        c->read_paused_turn = false;
        c->turn_bytes = 0;
        conn__update_reading(c);
        if (c->in_unblocked) { /* frames held by a resource alarm */
            c->in_unblocked = false;
            if (c->state == CONN_RUNNING && c->in.len && !c->hold && !c->read_paused_block)
                conn_process_input(c);
        }
    }
}

void conn__resume_later(wr_conn *c)
{
    c->in_unblocked = true;
    if (c->read_paused_turn) return; /* already on the resume list */
    c->read_paused_turn = true;
    c->resume_next = c->b->resume;
    c->b->resume = c;
    conn__update_reading(c);
}

void conn_hold(wr_conn *c, bool on)
{
    if (on) {
        c->hold++;
    } else if (c->hold) {
        c->hold--;
    }
    if (c->state == CONN_DEAD) return;
    conn__update_reading(c);
    if (!on && !c->hold && !c->in_batch && c->state == CONN_RUNNING && c->in.len)
        conn_process_input(c);
}

void conn__update_reading(wr_conn *c)
{
    bool want = c->state < CONN_CLOSED && !c->read_paused_bp && !c->read_paused_block &&
                !c->read_paused_turn && !c->hold;
    if (c->state == CONN_DEAD) return;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* ---- accept ---- */

static void conn_addr_str(const struct sockaddr_storage *ss, char *out, size_t n, bool *loop)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    *loop = user_addr_is_loopback((const struct sockaddr *)ss);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof(ip));
        else
            uv_ip6_name(a, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    }
    snprintf(out, n, "%s:%u", ip, port);
}

int conn__accept(wr_broker *b, uv_stream_t *server)
{
    struct sockaddr_storage peer, self;
    int len, rc;
    char ps[64], ss[64];
    bool ploop, sloop;
    wr_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        uv_tcp_t tmp;
        /* accept and drop, so the listener does not spin */
        if (uv_tcp_init(b->loop, &tmp) == 0) {
            (void)uv_accept(server, (uv_stream_t *)&tmp);
            uv_close((uv_handle_t *)&tmp, NULL);
        }
        return WR_ENOMEM;
    }
    c->b = b;
    c->id = ++b->conn_seq;
    wr_buf_init(&c->in);
    wr_buf_init(&c->out);
    wr_buf_init(&c->wbuf);
    uv_tcp_init(b->loop, &c->tcp);
    uv_timer_init(b->loop, &c->hs_timer);
    uv_timer_init(b->loop, &c->hb_timer);
    c->tcp.data = c->hs_timer.data = c->hb_timer.data = c;
    c->open_handles = 3;
    c->recv_frame_max = b->cfg->initial_frame_max ? b->cfg->initial_frame_max : 4096;
    c->frame_max = c->recv_frame_max;
    c->state = CONN_HEADER;
    /* link first so conn__destroy can unlink on any failure below */
    c->next = b->conns;
    if (b->conns) b->conns->prev = c;
    b->conns = c;
    b->n_conns++;
    rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc < 0) {
        conn__destroy(c);
        return WR_EIO;
    }
    if (b->cfg->tcp_nodelay) uv_tcp_nodelay(&c->tcp, 1);
    if (b->cfg->tcp_keepalive) uv_tcp_keepalive(&c->tcp, 1, 60);
    len = sizeof(peer);
    memset(&peer, 0, sizeof(peer));
    memset(&self, 0, sizeof(self));
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &len);
    len = sizeof(self);
    uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&self, &len);
    conn_addr_str(&peer, ps, sizeof(ps), &ploop);
    conn_addr_str(&self, ss, sizeof(ss), &sloop);
    c->peer_loopback = ploop;
    snprintf(c->name, sizeof(c->name), "%s -> %s", ps, ss);
    wr_info("accepting AMQP connection <0.%llu.0> (%s)", (unsigned long long)c->id, c->name);
    if (b->stopping) {
        conn__destroy(c);
        return 0;
    }
    conn__arm_timeout(c, b->cfg->handshake_timeout_ms ? b->cfg->handshake_timeout_ms : 10000);
    conn__update_reading(c);
    return 0;
}
