/* TCP listeners: every configured listeners.tcp.* address, TCP_NODELAY on
 * accepted sockets, the configured backlog (128). An empty ip listens on all
 * interfaces: "::" dual-stack, or 0.0.0.0 when IPv6 is unavailable. */
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/net/conn_int.h"
#include "broker/util/wr_log.h"

static void listener_conn_cb(uv_stream_t *server, int status)
{
    wr_broker *b = server->data;
    if (status < 0) {
        wr_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    (void)conn__accept(b, server);
}

static void listener_closed(uv_handle_t *h)
{
    wr_broker *b = h->data;
    b->open_handles--;
    if (b->stopping && b->open_handles == 0 && b->on_stopped && !b->stopped) {
        b->stopped = true;
        b->on_stopped(b->on_stopped_ud);
    }
}

static int listener_bind(wr_broker *b, const char *ip, uint16_t port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    uv_tcp_t *t = &b->listeners[b->n_listeners];
    int rc, len;
    bool v6 = strchr(ip, ':') != NULL;
    if (v6)
        rc = uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss);
    if (rc < 0) {
        snprintf(err, errlen, "bad listener address %s:%u", ip, port);
        return WR_ECONFIG;
    }
    uv_tcp_init(b->loop, t);
    t->data = b;
    b->open_handles++;
    b->n_listeners++;
    rc = uv_tcp_bind(t, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)t, b->cfg->tcp_backlog > 0 ? b->cfg->tcp_backlog : 128,
                       listener_conn_cb);
    if (rc < 0) {
        snprintf(err, errlen, "failed to start TCP listener on %s%s%s:%u: %s", v6 ? "[" : "", ip,
                 v6 ? "]" : "", port, uv_strerror(rc));
        return WR_EIO;
    }
    len = sizeof(ss);
    if (uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len) == 0) {
        uint16_t bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                        : ((struct sockaddr_in *)&ss)->sin_port);
        if (!b->amqp_port) b->amqp_port = bound;
        wr_info("started TCP listener on %s%s%s:%u", v6 ? "[" : "", ip, v6 ? "]" : "", bound);
    }
    return 0;
}

int listener_start_all(wr_broker *b, char *err, size_t errlen)
{
    const cfg_config *cfg = b->cfg;
    int rc = 0;
    for (int i = 0; i < cfg->n_tcp_listeners && b->n_listeners < BROKER_MAX_LISTENERS; i++) {
        const cfg_listener *l = &cfg->tcp_listeners[i];
        if (l->ip[0]) {
            rc = listener_bind(b, l->ip, l->port, err, errlen);
        } else {
            rc = listener_bind(b, "::", l->port, err, errlen);
            if (rc < 0) {
                /* no IPv6: fall back to IPv4 only (the failed handle keeps its slot) */
                uv_close((uv_handle_t *)&b->listeners[b->n_listeners - 1], listener_closed);
                if (b->n_listeners < BROKER_MAX_LISTENERS)
                    rc = listener_bind(b, "0.0.0.0", l->port, err, errlen);
            }
        }
        if (rc < 0) break;
    }
    if (rc < 0) listener_close_all(b);
    return rc;
}

void listener_close_all(wr_broker *b)
{
    for (int i = 0; i < b->n_listeners; i++)
        if (!uv_is_closing((uv_handle_t *)&b->listeners[i]))
            uv_close((uv_handle_t *)&b->listeners[i], listener_closed);
}
