/* Messages: one allocation holding the header fields, the raw properties and
 * the body. */
#include "broker/core/msg.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node-wide; atomic because several embedded brokers may run on their own
 * threads in one process */
static _Atomic uint64_t msg__next_id = 1;

/* Parses a decimal expiration like Erlang's string:to_integer followed by
 * rabbit_misc:check_expiry. Returns 0 or fills reason with the Erlang term. */
static int msg__parse_expiration(wr_bytes exp, int64_t *out, char *reason, size_t rlen)
{
    size_t i = 0;
    bool neg = false;
    if (i < exp.len && (exp.ptr[i] == '+' || exp.ptr[i] == '-')) {
        neg = exp.ptr[i] == '-';
        i++;
    }
    size_t d0 = i;
    uint64_t v = 0;
    bool big = false;
    while (i < exp.len && exp.ptr[i] >= '0' && exp.ptr[i] <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            big = true;
        else
            v = v * 10 + (uint64_t)(exp.ptr[i] - '0');
        i++;
    }
    if (i == d0) {
        snprintf(reason, rlen, "no_integer");
        return -1;
    }
    if (i < exp.len) {
        snprintf(reason, rlen, "{leftover_string,\"%.*s\"}", (int)(exp.len - i),
                 (const char *)exp.ptr + i);
        return -1;
    }
    if (neg && v != 0) {
        snprintf(reason, rlen, "{value_negative,-%.*s}", (int)(i - d0), (const char *)exp.ptr + d0);
        return -1;
    }
    if (big || v > 4294967295u) {
        snprintf(reason, rlen, "{value_too_big,%.*s}", (int)(i - d0), (const char *)exp.ptr + d0);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int msg_check_expiration(wr_bytes exp, int64_t *ttl_ms, uint32_t mid, wr_amqp_error *e)
{
    char reason[160];
    int64_t v;
    if (msg__parse_expiration(exp, &v, reason, sizeof(reason)) < 0)
        return wr_amqp_fail(e, 406, mid, "invalid expiration '%.*s': %s", (int)exp.len,
                            (const char *)exp.ptr, reason);
    if (ttl_ms) *ttl_ms = v;
    return 0;
}

wr_msg *msg_new(wr_bytes exchange, wr_bytes routing_key, const uint8_t *props_raw,
                uint32_t props_len, uint64_t body_len)
{
    if (body_len > SIZE_MAX / 2) return NULL;
    size_t sz = sizeof(wr_msg) + exchange.len + routing_key.len + props_len + (size_t)body_len;
    wr_msg *m = malloc(sz);
    if (!m) return NULL;
    memset(m, 0, sizeof(*m));
    uint8_t *p = (uint8_t *)(m + 1);
    m->refs = 1;
    m->id = atomic_fetch_add_explicit(&msg__next_id, 1, memory_order_relaxed);
    if (exchange.len) memcpy(p, exchange.ptr, exchange.len);
    m->exchange.ptr = p;
    m->exchange.len = exchange.len;
    p += exchange.len;
    if (routing_key.len) memcpy(p, routing_key.ptr, routing_key.len);
    m->routing_key.ptr = p;
    m->routing_key.len = routing_key.len;
    p += routing_key.len;
    if (props_len) memcpy(p, props_raw, props_len);
    m->props_raw = p;
    m->props_len = props_len;
    p += props_len;
    m->body = p;
    m->body_len = body_len;
    m->expires_at_ms = -1;
    m->ttl_ms = -1;
    m->enqueued_ms = INT64_MIN;
    if (amqp091_decode_basic_properties(m->props_raw, props_len, &m->props) < 0) {
        free(m);
        return NULL;
    }
    uint16_t f = m->props.flags;
    m->persistent = (f & AMQP091_BASIC_DELIVERY_MODE_FLAG) && m->props.delivery_mode == 2;
    m->priority = (f & AMQP091_BASIC_PRIORITY_FLAG) ? m->props.priority : 0;
    if (f & AMQP091_BASIC_EXPIRATION_FLAG) {
        char reason[160];
        int64_t v;
        if (msg__parse_expiration(m->props.expiration, &v, reason, sizeof(reason)) == 0)
            m->ttl_ms = v;
    }
    return m;
}

void msg_set_next_id(uint64_t next)
{
    uint64_t cur = atomic_load_explicit(&msg__next_id, memory_order_relaxed);
    while (next > cur && !atomic_compare_exchange_weak(&msg__next_id, &cur, next)) {
    }
}

wr_msg *msg_ref(wr_msg *m)
{
    m->refs++;
    return m;
}

void msg_unref(wr_msg *m)
{
    if (m && --m->refs == 0) free(m);
}

wr_msg *msg_clone_with(const wr_msg *m, wr_bytes exchange, wr_bytes routing_key,
                       const uint8_t *props_raw, uint32_t props_len)
{
    wr_msg *n = msg_new(exchange, routing_key, props_raw, props_len, m->body_len);
    if (!n) return NULL;
    if (m->body_len) memcpy(n->body, m->body, (size_t)m->body_len);
    n->body_filled = m->body_filled;
    return n;
}
