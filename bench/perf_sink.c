/* perf_sink: a discarding AMQP 0-9-1 server. It answers the handshake and
 * every synchronous method with its -ok, drops published content and, in
 * confirm mode, acknowledges each read batch with one multiple=true ack. It
 * shows the load tool's own ceiling: a run against the sink measures the tool. */
#include "bench/perf.h"
#include "bench/perf_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink_conn {
    uv_tcp_t tcp;
    uv_write_t wreq;
    wr_buf in, out[2];
    int cur;
    bool writing, closing, header_seen;
    bool confirm;
    uint64_t seq, acked;
} sink_conn;

static void sink_free(uv_handle_t *h)
{
    sink_conn *s = h->data;
    wr_buf_free(&s->in);
    wr_buf_free(&s->out[0]);
    wr_buf_free(&s->out[1]);
    free(s);
}

static void sink_flush(sink_conn *s);

static void sink_on_write(uv_write_t *req, int status)
{
    sink_conn *s = req->data;
    s->writing = false;
    s->out[!s->cur].len = 0;
    if (status < 0) {
        if (!s->closing) {
            s->closing = true;
            uv_close((uv_handle_t *)&s->tcp, sink_free);
        }
        return;
    }
    sink_flush(s);
}

static void sink_flush(sink_conn *s)
{
    uv_buf_t b;
    if (s->writing || !s->out[s->cur].len || s->closing) return;
    b = uv_buf_init((char *)s->out[s->cur].data, (unsigned)s->out[s->cur].len);
    s->wreq.data = s;
    if (uv_write(&s->wreq, (uv_stream_t *)&s->tcp, &b, 1, sink_on_write)) return;
    s->writing = true;
    s->cur = !s->cur;
}

static void sink_reply(sink_conn *s, uint16_t ch, uint32_t id, pw_rd *r)
{
    wr_buf *b = &s->out[s->cur];
    size_t at;
    char q[256];

    switch (id) {
    case 0x000A000B: /* start-ok -> tune */
        at = pw_method(b, 0, 10, 30);
        pw_u16(b, 2047);
        pw_u32(b, 131072);
        pw_u16(b, 0);
        pw_end(b, at);
        break;
    case 0x000A001F:
        break;       /* tune-ok */
    case 0x000A0028: /* open */
        at = pw_method(b, 0, 10, 41);
        pw_sstr(b, "");
        pw_end(b, at);
        break;
    case 0x000A0032: /* close */
        at = pw_method(b, 0, 10, 51);
        pw_end(b, at);
        break;
    case 0x0014000A: /* channel.open */
        at = pw_method(b, ch, 20, 11);
        pw_u32(b, 0);
        pw_end(b, at);
        break;
    case 0x00140028:
        at = pw_method(b, ch, 20, 41), pw_end(b, at);
        break;
    case 0x0028000A:
        at = pw_method(b, ch, 40, 11), pw_end(b, at);
        break;
    case 0x0032000A: /* queue.declare */
        pr_u16(r);
        pr_sstr(r, q, sizeof(q));
        at = pw_method(b, ch, 50, 11);
        pw_sstr(b, q[0] ? q : "amq.gen-sink");
        pw_u32(b, 0);
        pw_u32(b, 0);
        pw_end(b, at);
        break;
    case 0x00320014:
        at = pw_method(b, ch, 50, 21), pw_end(b, at);
        break;
    case 0x00320028:
        at = pw_method(b, ch, 50, 41);
        pw_u32(b, 0);
        pw_end(b, at);
        break;
    case 0x003C000A:
        at = pw_method(b, ch, 60, 11), pw_end(b, at);
        break;
    case 0x003C0014:
        at = pw_method(b, ch, 60, 21);
        pw_sstr(b, "amq.ctag-sink");
        pw_end(b, at);
        break;
    case 0x0055000A:
        s->confirm = true;
        at = pw_method(b, ch, 85, 11);
        pw_end(b, at);
        break;
    case 0x003C0028:
        s->seq++;
        break; /* publish: content follows, dropped */
    default:
        break;
    }
}

static void sink_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    sink_conn *s = h->data;
    (void)sz;
    if (wr_buf_reserve(&s->in, 64 * 1024)) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)s->in.data + s->in.len, (unsigned)(s->in.cap - s->in.len));
}

static void sink_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    sink_conn *s = st->data;
    size_t off = 0;
    (void)buf;
    if (n < 0) {
        if (!s->closing) {
            s->closing = true;
            uv_close((uv_handle_t *)&s->tcp, sink_free);
        }
        return;
    }
    s->in.len += (size_t)n;
    if (!s->header_seen) {
        if (s->in.len < 8) return;
        s->header_seen = true;
        off = 8;
        size_t at = pw_method(&s->out[s->cur], 0, 10, 10);
        wr_buf *b = &s->out[s->cur];
        pw_u8(b, 0);
        pw_u8(b, 9);
        pw_u32(b, 0);
        pw_lstr(b, "PLAIN", 5);
        pw_lstr(b, "en_US", 5);
        pw_end(b, at);
    }
    while (s->in.len - off >= 8) {
        const uint8_t *f = s->in.data + off;
        uint32_t size = (uint32_t)f[3] << 24 | (uint32_t)f[4] << 16 | (uint32_t)f[5] << 8 | f[6];
        if (s->in.len - off < (size_t)size + 8) break;
        if (f[0] == PW_FRAME_METHOD) {
            pw_rd r = {f + 7, size, 0, 0};
            uint32_t id = (uint32_t)pr_u16(&r) << 16;
            id |= pr_u16(&r);
            sink_reply(s, (uint16_t)(f[1] << 8 | f[2]), id, &r);
        }
        off += (size_t)size + 8;
    }
    wr_buf_consume(&s->in, off);
    if (s->confirm && s->seq > s->acked) {
        size_t at = pw_method(&s->out[s->cur], 1, 60, 80);
        pw_u64(&s->out[s->cur], s->seq);
        pw_u8(&s->out[s->cur], 1);
        pw_end(&s->out[s->cur], at);
        s->acked = s->seq;
    }
    sink_flush(s);
}

static void sink_accept(uv_stream_t *server, int status)
{
    sink_conn *s;
    if (status < 0) return;
    s = calloc(1, sizeof(*s));
    if (!s) return;
    uv_tcp_init(server->loop, &s->tcp);
    s->tcp.data = s;
    if (uv_accept(server, (uv_stream_t *)&s->tcp)) {
        uv_close((uv_handle_t *)&s->tcp, sink_free);
        return;
    }
    uv_tcp_nodelay(&s->tcp, 1);
    uv_read_start((uv_stream_t *)&s->tcp, sink_alloc, sink_read);
}

int perf_sink_run(uv_loop_t *loop)
{
    static uv_tcp_t server;
    struct sockaddr_in sa;
    int rc;

    uv_tcp_init(loop, &server);
    uv_ip4_addr(perf_o.host, perf_o.port, &sa);
    if ((rc = uv_tcp_bind(&server, (struct sockaddr *)&sa, 0)) ||
        (rc = uv_listen((uv_stream_t *)&server, 128, sink_accept))) {
        fprintf(stderr, "warren-perf: sink on %s:%u: %s\n", perf_o.host, perf_o.port,
                uv_strerror(rc));
        return -1;
    }
    fprintf(stderr, "warren-perf: sink listening on %s:%u\n", perf_o.host, perf_o.port);
    return uv_run(loop, UV_RUN_DEFAULT);
}
