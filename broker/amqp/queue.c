/* queue class: declare, bind, unbind, purge, delete (RabbitMQ 3.8 order of
 * checks and texts, rabbit_channel handle_method/6, rabbit_amqqueue
 * assert_equivalence). */
#include <stdio.h>
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "broker/auth/user.h"
#include "broker/proto/ftable.h"

#define NAMEF    "%.*s"
#define NAMEA(b) (int)(b).len, (const char *)(b).ptr
#define B(x)     ((x) ? "true" : "false")

/* The declare arguments RabbitMQ 3.8 compares on redeclare. */
static const char *const declare_args[] = {
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-single-active-consumer",
    "x-queue-type",
    "x-quorum-initial-group-size",
};

static int locked(wr_chan *ch, wr_bytes name, uint32_t mid, wr_amqp_error *err)
{
    return wr_amqp_fail(
        err, 405, mid,
        "cannot obtain exclusive access to locked queue '" NAMEF
        "' in vhost '%s'. It could be originally declared on another connection or the "
        "exclusive property value does not match that of the original declaration.",
        NAMEA(name), chan__vhost_name(ch));
}

static int equiv(wr_chan *ch, wr_queue *q, wr_bytes name, const amqp091_queue_declare *a,
                 bool durable, uint32_t mid, wr_amqp_error *err)
{
    /* strict exclusive check: same owner, or both non-exclusive */
    wr_conn *owner = queue_owner(q);
    if (owner != (a->exclusive ? ch->conn : NULL)) return locked(ch, name, mid, err);
    if (queue_durable(q) != durable)
        return wr_amqp_fail(err, 406, mid,
                            "inequivalent arg 'durable' for queue '" NAMEF
                            "' in vhost '%s': received '%s' but current is '%s'",
                            NAMEA(name), chan__vhost_name(ch), B(durable), B(queue_durable(q)));
    if (queue_auto_delete(q) != a->auto_delete)
        return wr_amqp_fail(err, 406, mid,
                            "inequivalent arg 'auto_delete' for queue '" NAMEF
                            "' in vhost '%s': received '%s' but current is '%s'",
                            NAMEA(name), chan__vhost_name(ch), B(a->auto_delete),
                            B(queue_auto_delete(q)));
    wr_bytes cur = queue_arguments(q);
    for (size_t i = 0; i < sizeof(declare_args) / sizeof(declare_args[0]); i++) {
        if (chan__arg_equal(cur, a->arguments, declare_args[i])) continue;
        char got[300], have[300];
        chan__fmt_arg(a->arguments, declare_args[i], got, sizeof(got));
        chan__fmt_arg(cur, declare_args[i], have, sizeof(have));
        return wr_amqp_fail(err, 406, mid,
                            "inequivalent arg '%s' for queue '" NAMEF
                            "' in vhost '%s': received %s but current is %s",
                            declare_args[i], NAMEA(name), chan__vhost_name(ch), got, have);
    }
    return 0;
}

static int declare_ok(wr_chan *ch, const amqp091_queue_declare *a, wr_bytes name, uint32_t msgs,
                      uint32_t cons)
{
    chan__set_last_queue(ch, name);
    if (a->nowait) return 0;
    amqp091_method r;
    memset(&r, 0, sizeof(r));
    r.id = AMQP091_QUEUE_DECLARE_OK;
    r.u.queue_declare_ok.queue.ptr = (const uint8_t *)ch->last_q;
    r.u.queue_declare_ok.queue.len = ch->last_q_len;
    r.u.queue_declare_ok.message_count = msgs;
    r.u.queue_declare_ok.consumer_count = cons;
    return chan__send_stored(ch, &r, AMQP091_QUEUE_DECLARE);
}

static int queue_declare_h(wr_chan *ch, const amqp091_queue_declare *a, uint32_t mid,
                           wr_amqp_error *err)
{
    int rc;
    wr_queue *q;
    wr_bytes name = a->queue;
    /* RabbitMQ: every declare of the reply-to pseudo-queue is passive; it
     * exists with one consumer */
    if (chan__is_reply_to(name) || chan__is_reply_name(name)) {
        if (chan__is_reply_name(name) && !chan__reply_lookup(name))
            return wr_amqp_fail(err, 404, mid, "no queue '" NAMEF "' in vhost '%s'", NAMEA(name),
                                chan__vhost_name(ch));
        return declare_ok(ch, a, name, 0, 1);
    }
    if (a->passive) {
        q = vhost_queue(ch->vhost, name);
        if (!q)
            return wr_amqp_fail(err, 404, mid, "no queue '" NAMEF "' in vhost '%s'", NAMEA(name),
                                chan__vhost_name(ch));
        if (!queue_access_ok(q, ch->conn)) return locked(ch, name, mid, err);
        queue_touch(q);
        return declare_ok(ch, a, name, queue_message_count(q), queue_consumer_count(q));
    }
    char gen[64];
    if (name.len == 0) {
        uint8_t gl;
        chan__gen_name(ch, "amq.gen", gen, sizeof(gen), &gl);
        name.ptr = (const uint8_t *)gen;
        name.len = gl;
    } else if (name.len >= 4 && memcmp(name.ptr, "amq.", 4) == 0) {
        return wr_amqp_fail(err, 403, mid,
                            "queue name '" NAMEF "' contains reserved prefix 'amq.*'", NAMEA(name));
    }
    if ((rc = chan__check_perm(ch, WR_PERM_CONFIGURE, "queue", name, mid, err)) < 0) return rc;
    bool durable = a->durable && !a->exclusive;
    q = vhost_queue(ch->vhost, name);
    if (q) {
        if ((rc = equiv(ch, q, name, a, durable, mid, err)) < 0) return rc;
        queue_touch(q);
        return declare_ok(ch, a, name, queue_message_count(q), queue_consumer_count(q));
    }
    ftable_value dlx;
    if (a->arguments.len && ftable_get(a->arguments, "x-dead-letter-exchange", &dlx) == 0) {
        if (dlx.type != 'S')
            return wr_amqp_fail(
                err, 406, mid,
                "invalid type '%s' for arg 'x-dead-letter-exchange' in queue '" NAMEF
                "' in vhost '%s'",
                ftable_type_name(dlx.type), NAMEA(name), chan__vhost_name(ch));
        if ((rc = chan__check_perm(ch, WR_PERM_READ, "queue", name, mid, err)) < 0) return rc;
        if ((rc = chan__check_perm(ch, WR_PERM_WRITE, "exchange", dlx.v.str, mid, err)) < 0)
            return rc;
    }
    rc = vhost_queue_declare(ch->vhost, name, durable, a->auto_delete,
                             a->exclusive ? ch->conn : NULL, a->arguments, &q, mid, err);
    if (rc < 0) return rc;
    return declare_ok(ch, a, name, 0, 0);
}

static int queue_delete_h(wr_chan *ch, const amqp091_queue_delete *a, uint32_t mid,
                          wr_amqp_error *err)
{
    wr_bytes name;
    int rc = chan__queue_name(ch, a->queue, &name, mid, err);
    if (rc < 0) return rc;
    if ((rc = chan__check_perm(ch, WR_PERM_CONFIGURE, "queue", name, mid, err)) < 0) return rc;
    uint32_t count = 0;
    wr_queue *q = vhost_queue(ch->vhost, name);
    if (q) {
        if (!queue_access_ok(q, ch->conn)) return locked(ch, name, mid, err);
        if (a->if_unused && queue_consumer_count(q) > 0)
            return wr_amqp_fail(err, 406, mid, "queue '" NAMEF "' in vhost '%s' in use",
                                NAMEA(name), chan__vhost_name(ch));
        if (a->if_empty && queue_message_count(q) > 0)
            return wr_amqp_fail(err, 406, mid, "queue '" NAMEF "' in vhost '%s' not empty",
                                NAMEA(name), chan__vhost_name(ch));
        count = queue_message_count(q);
        vhost_queue_delete(ch->vhost, q);
    }
    if (a->nowait) return 0;
    amqp091_method r;
    memset(&r, 0, sizeof(r));
    r.id = AMQP091_QUEUE_DELETE_OK;
    r.u.queue_delete_ok.message_count = count;
    return chan__send_stored(ch, &r, AMQP091_QUEUE_DELETE);
}

static int queue_purge_h(wr_chan *ch, const amqp091_queue_purge *a, uint32_t mid,
                         wr_amqp_error *err)
{
    wr_bytes name;
    int rc = chan__queue_name(ch, a->queue, &name, mid, err);
    if (rc < 0) return rc;
    if ((rc = chan__check_perm(ch, WR_PERM_READ, "queue", name, mid, err)) < 0) return rc;
    wr_queue *q;
    if ((rc = chan__find_queue(ch, name, mid, &q, err)) < 0) return rc;
    uint32_t n = queue_purge(q);
    if (a->nowait) return 0;
    amqp091_method r;
    memset(&r, 0, sizeof(r));
    r.id = AMQP091_QUEUE_PURGE_OK;
    r.u.queue_purge_ok.message_count = n;
    return chan__send_stored(ch, &r, AMQP091_QUEUE_PURGE);
}

/* queue.bind/unbind shortcuts: an empty queue means the last declared one,
 * and then an empty routing key means its name too. */
static int bind_names(wr_chan *ch, wr_bytes q, wr_bytes rk, wr_bytes *qo, wr_bytes *rko,
                      uint32_t mid, wr_amqp_error *err)
{
    int rc = chan__queue_name(ch, q, qo, mid, err);
    if (rc < 0) return rc;
    *rko = (q.len == 0 && rk.len == 0) ? *qo : rk;
    return 0;
}

int chan__queue(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err)
{
    int rc;
    wr_bytes qn, rk;
    switch (m->id) {
    case AMQP091_QUEUE_DECLARE:
        return queue_declare_h(ch, &m->u.queue_declare, m->id, err);
    case AMQP091_QUEUE_DELETE:
        return queue_delete_h(ch, &m->u.queue_delete, m->id, err);
    case AMQP091_QUEUE_PURGE:
        return queue_purge_h(ch, &m->u.queue_purge, m->id, err);
    case AMQP091_QUEUE_BIND: {
        const amqp091_queue_bind *a = &m->u.queue_bind;
        if ((rc = bind_names(ch, a->queue, a->routing_key, &qn, &rk, m->id, err)) < 0) return rc;
        rc = chan__binding(ch, true, true, a->exchange, qn, rk, a->arguments, m->id, err);
        if (rc < 0 || a->nowait) return rc;
        return chan__reply_stored(ch, AMQP091_QUEUE_BIND_OK);
    }
    case AMQP091_QUEUE_UNBIND: {
        const amqp091_queue_unbind *a = &m->u.queue_unbind;
        if ((rc = bind_names(ch, a->queue, a->routing_key, &qn, &rk, m->id, err)) < 0) return rc;
        rc = chan__binding(ch, false, true, a->exchange, qn, rk, a->arguments, m->id, err);
        if (rc < 0) return rc;
        return chan__send_stored(ch, &(amqp091_method){.id = AMQP091_QUEUE_UNBIND_OK},
                                 AMQP091_QUEUE_UNBIND);
    }
    default:
        return wr_amqp_fail(err, 503, m->id, "unimplemented method");
    }
}
