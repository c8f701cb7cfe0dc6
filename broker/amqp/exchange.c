/* exchange class: declare, delete, bind, unbind (RabbitMQ 3.8 order of
 * checks and texts, rabbit_channel handle_method/6 and binding_action). */
#include <stdio.h>
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "broker/auth/user.h"
#include "broker/core/vhost_store.h"
#include "broker/proto/ftable.h"

#define NAMEF    "%.*s"
#define NAMEA(b) (int)(b).len, (const char *)(b).ptr

static bool is_default(wr_bytes n)
{
    return n.len == 0;
}

static bool has_amq_prefix(wr_bytes n)
{
    return n.len >= 4 && memcmp(n.ptr, "amq.", 4) == 0;
}

static int not_default(wr_chan *ch, wr_bytes n, uint32_t mid, wr_amqp_error *err)
{
    (void)ch;
    if (is_default(n))
        return wr_amqp_fail(err, 403, mid, "operation not permitted on the default exchange");
    return 0;
}

/* Formats an argument value as rabbit_misc:val/1: "none" or "the value 'v'
 * of type 't'". */
void chan__fmt_arg(wr_bytes table, const char *key, char *out, size_t cap)
{
    ftable_value v;
    if (!table.len || ftable_get(table, key, &v) != 0) {
        snprintf(out, cap, "none");
        return;
    }
    const char *tn = ftable_type_name(v.type);
    int64_t i;
    switch (v.type) {
    case 'S':
    case 'x':
        snprintf(out, cap, "the value '%.*s' of type '%s'", (int)v.v.str.len,
                 (const char *)v.v.str.ptr, tn);
        return;
    case 't':
        snprintf(out, cap, "the value '%s' of type '%s'", v.v.b ? "true" : "false", tn);
        return;
    case 'f':
        snprintf(out, cap, "the value '%g' of type '%s'", (double)v.v.f, tn);
        return;
    case 'd':
        snprintf(out, cap, "the value '%g' of type '%s'", v.v.d, tn);
        return;
    default:
        if (ftable_as_int(&v, &i)) {
            snprintf(out, cap, "the value '%lld' of type '%s'", (long long)i, tn);
            return;
        }
        snprintf(out, cap, "the value of type '%s'", tn);
    }
}

/* Compares one argument of two tables (same type and value, or both
 * absent). */
bool chan__arg_equal(wr_bytes a, wr_bytes b, const char *key)
{
    ftable_value va, vb;
    bool ha = a.len && ftable_get(a, key, &va) == 0;
    bool hb = b.len && ftable_get(b, key, &vb) == 0;
    if (ha != hb) return false;
    if (!ha) return true;
    if (va.type != vb.type) return false;
    switch (va.type) {
    case 'S':
    case 'x':
        return va.v.str.len == vb.v.str.len &&
               memcmp(va.v.str.ptr, vb.v.str.ptr, va.v.str.len) == 0;
    case 'F':
    case 'A':
        return va.v.table.len == vb.v.table.len &&
               memcmp(va.v.table.ptr, vb.v.table.ptr, va.v.table.len) == 0;
    case 't':
        return va.v.b == vb.v.b;
    case 'f':
        return va.v.f == vb.v.f;
    case 'd':
        return va.v.d == vb.v.d;
    case 'D':
        return va.v.dec.scale == vb.v.dec.scale && va.v.dec.value == vb.v.dec.value;
    default: {
        int64_t x, y;
        if (ftable_as_int(&va, &x) && ftable_as_int(&vb, &y)) return x == y;
        return true;
    }
    }
}

static int equiv_field(wr_chan *ch, wr_bytes name, const char *field, const char *got,
                       const char *cur, uint32_t mid, wr_amqp_error *err)
{
    if (strcmp(got, cur) == 0) return 0;
    return wr_amqp_fail(err, 406, mid,
                        "inequivalent arg '%s' for exchange '" NAMEF
                        "' in vhost '%s': received '%s' but current is '%s'",
                        field, NAMEA(name), chan__vhost_name(ch), got, cur);
}

#define B(x) ((x) ? "true" : "false")

static int exchange_declare(wr_chan *ch, const amqp091_exchange_declare *a, uint32_t mid,
                            wr_amqp_error *err)
{
    int rc;
    if (a->passive) {
        if ((rc = not_default(ch, a->exchange, mid, err)) < 0) return rc;
        if (!vhost_exchange(ch->vhost, a->exchange))
            return wr_amqp_fail(err, 404, mid, "no exchange '" NAMEF "' in vhost '%s'",
                                NAMEA(a->exchange), chan__vhost_name(ch));
        goto ok;
    }
    enum exch_type type;
    if (exch_type_parse(a->type, &type) < 0)
        return wr_amqp_fail(err, 503, mid, "unknown exchange type '" NAMEF "'", NAMEA(a->type));
    if ((rc = not_default(ch, a->exchange, mid, err)) < 0) return rc;
    if ((rc = chan__check_perm(ch, WR_PERM_CONFIGURE, "exchange", a->exchange, mid, err)) < 0)
        return rc;
    wr_exchange *ex = vhost_exchange(ch->vhost, a->exchange);
    if (!ex) {
        if (has_amq_prefix(a->exchange))
            return wr_amqp_fail(err, 403, mid,
                                "exchange name '" NAMEF "' contains reserved prefix 'amq.*'",
                                NAMEA(a->exchange));
        ftable_value ae;
        if (a->arguments.len && ftable_get(a->arguments, "alternate-exchange", &ae) == 0) {
            if (ae.type != 'S')
                return wr_amqp_fail(
                    err, 406, mid,
                    "invalid type '%s' for arg 'alternate-exchange' in exchange '" NAMEF
                    "' in vhost '%s'",
                    ftable_type_name(ae.type), NAMEA(a->exchange), chan__vhost_name(ch));
            if ((rc = chan__check_perm(ch, WR_PERM_READ, "exchange", a->exchange, mid, err)) < 0)
                return rc;
            if ((rc = chan__check_perm(ch, WR_PERM_WRITE, "exchange", ae.v.str, mid, err)) < 0)
                return rc;
        }
        rc = vhost_exchange_declare(ch->vhost, a->exchange, type, a->durable, a->auto_delete,
                                    a->internal, a->arguments, &ex);
        if (rc < 0) return rc;
        goto ok;
    }
    if ((rc = equiv_field(ch, a->exchange, "type", exch_type_name(type),
                          exch_type_name(exch_get_type(ex)), mid, err)) < 0)
        return rc;
    if ((rc = equiv_field(ch, a->exchange, "durable", B(a->durable), B(exch_durable(ex)), mid,
                          err)) < 0)
        return rc;
    if ((rc = equiv_field(ch, a->exchange, "auto_delete", B(a->auto_delete),
                          B(exch_auto_delete(ex)), mid, err)) < 0)
        return rc;
    if ((rc = equiv_field(ch, a->exchange, "internal", B(a->internal), B(exch_internal(ex)), mid,
                          err)) < 0)
        return rc;
    if (!chan__arg_equal(exch_arguments(ex), a->arguments, "alternate-exchange")) {
        char got[300], cur[300];
        chan__fmt_arg(a->arguments, "alternate-exchange", got, sizeof(got));
        chan__fmt_arg(exch_arguments(ex), "alternate-exchange", cur, sizeof(cur));
        return wr_amqp_fail(err, 406, mid,
                            "inequivalent arg 'alternate-exchange' for exchange '" NAMEF
                            "' in vhost '%s': received %s but current is %s",
                            NAMEA(a->exchange), chan__vhost_name(ch), got, cur);
    }
ok:
    if (a->nowait) return 0;
    return chan__reply_stored(ch, AMQP091_EXCHANGE_DECLARE_OK);
}

static int exchange_delete(wr_chan *ch, const amqp091_exchange_delete *a, uint32_t mid,
                           wr_amqp_error *err)
{
    int rc;
    if ((rc = not_default(ch, a->exchange, mid, err)) < 0) return rc;
    if (has_amq_prefix(a->exchange))
        return wr_amqp_fail(err, 403, mid,
                            "deletion of system exchange '" NAMEF "' in vhost '%s' not allowed",
                            NAMEA(a->exchange), chan__vhost_name(ch));
    if ((rc = chan__check_perm(ch, WR_PERM_CONFIGURE, "exchange", a->exchange, mid, err)) < 0)
        return rc;
    wr_exchange *ex = vhost_exchange(ch->vhost, a->exchange);
    if (ex) {
        if (a->if_unused && exch_in_use(ex))
            return wr_amqp_fail(err, 406, mid, "exchange '" NAMEF "' in vhost '%s' in use",
                                NAMEA(a->exchange), chan__vhost_name(ch));
        vhost_exchange_delete(ch->vhost, ex);
    }
    if (a->nowait) return 0;
    return chan__reply_stored(ch, AMQP091_EXCHANGE_DELETE_OK);
}

/* binding_action: write on the destination, neither end the default
 * exchange, read on the source; missing ends are 404 for bind and ignored
 * for unbind (RabbitMQ 3.8 rabbit_binding:remove absent_errs_only). */
int chan__binding(wr_chan *ch, bool bind, bool dest_is_queue, wr_bytes src, wr_bytes dst,
                  wr_bytes rk, wr_bytes args, uint32_t mid, wr_amqp_error *err)
{
    int rc;
    const char *dkind = dest_is_queue ? "queue" : "exchange";
    if ((rc = chan__check_perm(ch, WR_PERM_WRITE, dkind, dst, mid, err)) < 0) return rc;
    if (!dest_is_queue && (rc = not_default(ch, dst, mid, err)) < 0) return rc;
    if ((rc = not_default(ch, src, mid, err)) < 0) return rc;
    if ((rc = chan__check_perm(ch, WR_PERM_READ, "exchange", src, mid, err)) < 0) return rc;
    wr_exchange *sx = vhost_exchange(ch->vhost, src);
    void *dest = dest_is_queue ? (void *)vhost_queue(ch->vhost, dst)
                               : (void *)vhost_exchange(ch->vhost, dst);
    if (!sx || !dest) {
        if (!bind) return 0;
        if (!sx)
            return wr_amqp_fail(err, 404, mid, "no exchange '" NAMEF "' in vhost '%s'", NAMEA(src),
                                chan__vhost_name(ch));
        return wr_amqp_fail(err, 404, mid, "no %s '" NAMEF "' in vhost '%s'", dkind, NAMEA(dst),
                            chan__vhost_name(ch));
    }
    if (dest_is_queue && !queue_access_ok(dest, ch->conn))
        return wr_amqp_fail(
            err, 405, mid,
            "cannot obtain exclusive access to locked queue '" NAMEF
            "' in vhost '%s'. It could be originally declared on another connection or the "
            "exclusive property value does not match that of the original declaration.",
            NAMEA(dst), chan__vhost_name(ch));
    wr_dest_kind k = dest_is_queue ? DEST_QUEUE : DEST_EXCHANGE;
    if (bind) {
        if ((rc = exch_check_binding(sx, args, mid, err)) < 0) return rc;
        return vhost_bind(ch->vhost, sx, k, dest, rk, args);
    }
    rc = vhost_unbind(ch->vhost, sx, k, dest, rk, args);
    if (rc == WR_ENOTFOUND) return 0;
    /* RabbitMQ deletes an auto-delete exchange when its last binding as
     * source goes (rabbit_binding maybe_auto_delete) */
    if (rc == 0 && exch_auto_delete(sx) && exch_binding_count(sx) == 0)
        vhost_exchange_delete(ch->vhost, sx);
    return rc;
}

int chan__exchange(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err)
{
    int rc;
    switch (m->id) {
    case AMQP091_EXCHANGE_DECLARE:
        return exchange_declare(ch, &m->u.exchange_declare, m->id, err);
    case AMQP091_EXCHANGE_DELETE:
        return exchange_delete(ch, &m->u.exchange_delete, m->id, err);
    case AMQP091_EXCHANGE_BIND: {
        const amqp091_exchange_bind *a = &m->u.exchange_bind;
        rc = chan__binding(ch, true, false, a->source, a->destination, a->routing_key, a->arguments,
                           m->id, err);
        if (rc < 0 || a->nowait) return rc;
        return chan__reply_stored(ch, AMQP091_EXCHANGE_BIND_OK);
    }
    case AMQP091_EXCHANGE_UNBIND: {
        const amqp091_exchange_unbind *a = &m->u.exchange_unbind;
        rc = chan__binding(ch, false, false, a->source, a->destination, a->routing_key,
                           a->arguments, m->id, err);
        if (rc < 0 || a->nowait) return rc;
        return chan__send_stored(ch, &(amqp091_method){.id = AMQP091_EXCHANGE_UNBIND_OK},
                                 AMQP091_EXCHANGE_UNBIND);
    }
    default:
        return wr_amqp_fail(err, 503, m->id, "unimplemented method");
    }
}
