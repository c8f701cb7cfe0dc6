/* Shared helpers for the wr_core unit tests: a fake clock, fake consumers
 * that record deliveries, message and argument builders. */
#ifndef WR_TEST_CORE_FIXTURE_H
#define WR_TEST_CORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/core/msg.h"
#include "broker/core/queue.h"
#include "broker/core/route.h"
#include "broker/core/vhost.h"
#include "broker/proto/ftable.h"
#include "broker/util/wr_buf.h"
#include "broker/util/wr_log.h"

#define S(s)   ((wr_bytes){(const uint8_t *)(s), (uint32_t)strlen(s)})
#define NOARGS ((wr_bytes){NULL, 0})
#define MAXGOT 256

static int64_t fx_now = 1000000;
static int64_t fx_clock(void *arg)
{
    (void)arg;
    return fx_now;
}

typedef struct fake_cons {
    wr_consumer *qc;
    wr_queue *q;
    int credit; /* -1 unlimited */
    int fail;   /* deliveries to refuse */
    bool cancelled;
    int n;
    wr_msg *got[MAXGOT];
    uint64_t qpos[MAXGOT];
    bool redelivered[MAXGOT];
} fake_cons;

static inline int fx_deliver(void *ctx, wr_queue *q, wr_msg *msg, uint64_t qpos, bool redelivered)
{
    fake_cons *c = ctx;
    (void)q;
    if (c->fail) {
        c->fail--;
        return WR_ENOMEM;
    }
    assert_true(c->n < MAXGOT);
    c->got[c->n] = msg_ref(msg);
    c->qpos[c->n] = qpos;
    c->redelivered[c->n] = redelivered;
    c->n++;
    if (c->credit > 0) c->credit--;
    return 0;
}

static inline bool fx_has_credit(void *ctx)
{
    fake_cons *c = ctx;
    return c->credit != 0;
}

static inline void fx_cancelled(void *ctx)
{
    fake_cons *c = ctx;
    c->cancelled = true;
    c->qc = NULL;
}

static const queue_consumer_ops fx_ops = {fx_deliver, fx_has_credit, fx_cancelled};

static inline void fx_consume(fake_cons *c, wr_queue *q, int credit, bool no_ack, bool excl,
                              int prio)
{
    memset(c, 0, sizeof(*c));
    c->q = q;
    c->credit = credit;
    c->qc = queue_consume(q, &fx_ops, c, S("ctag"), no_ack, excl, prio, NULL);
    assert_non_null(c->qc);
}

static inline void fx_cons_free(fake_cons *c)
{
    for (int i = 0; i < c->n; i++) msg_unref(c->got[i]);
    c->n = 0;
}

static inline const char *fx_body(const wr_msg *m)
{
    static char buf[8][128];
    static int k;
    char *b = buf[k++ & 7];
    size_t n = m->body_len < 127 ? (size_t)m->body_len : 127;
    memcpy(b, m->body, n);
    b[n] = 0;
    return b;
}

static inline wr_msg *fx_msg_props(const char *ex, const char *rk, const char *body,
                                   const amqp091_basic_properties *p)
{
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_basic_properties(&b, p), 0);
    wr_msg *m = msg_new(S(ex), S(rk), b.data, (uint32_t)b.len, strlen(body));
    wr_buf_free(&b);
    assert_non_null(m);
    memcpy(m->body, body, strlen(body));
    m->body_filled = strlen(body);
    return m;
}

static inline wr_msg *fx_msg(const char *body)
{
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    return fx_msg_props("", "rk", body, &p);
}

static inline wr_msg *fx_msg_exp(const char *body, const char *exp)
{
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_EXPIRATION_FLAG;
    p.expiration = S(exp);
    return fx_msg_props("", "rk", body, &p);
}

static inline wr_msg *fx_msg_prio(const char *body, uint8_t prio)
{
    amqp091_basic_properties p;
    memset(&p, 0, sizeof(p));
    p.flags = AMQP091_BASIC_PRIORITY_FLAG;
    p.priority = prio;
    return fx_msg_props("", "rk", body, &p);
}

/* Publishes and drops the test's reference. */
static inline int fx_pub(wr_queue *q, wr_msg *m)
{
    int rc = queue_publish(q, m);
    msg_unref(m);
    return rc;
}

static inline wr_vhost *fx_vhost(void)
{
    wr_log_set_level(WR_LOG_NONE);
    wr_vhost *v = vhost_new("/");
    assert_non_null(v);
    vhost_set_clock(v, fx_clock, NULL);
    return v;
}

/* Declares a queue with arguments (args may be NULL). Returns the queue. */
static inline wr_queue *fx_declare(wr_vhost *v, const char *name, wr_buf *args)
{
    wr_queue *q = NULL;
    wr_amqp_error e;
    memset(&e, 0, sizeof(e));
    wr_bytes a = args ? (wr_bytes){args->data, (uint32_t)args->len} : NOARGS;
    int rc = vhost_queue_declare(v, S(name), false, false, NULL, a, &q, 0, &e);
    if (rc != 0) fail_msg("declare %s: %d %s", name, rc, e.text);
    return q;
}

/* Expects the get to return body; settles it with ack. */
static inline void fx_get_expect(wr_queue *q, const char *body)
{
    queue_got g;
    assert_true(queue_get(q, true, &g));
    assert_string_equal(fx_body(g.msg), body);
    msg_unref(g.msg);
}

#endif
