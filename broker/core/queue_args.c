/* Queue declare argument validation and parsing (RabbitMQ 3.8
 * rabbit_amqqueue:check_arguments/declare_args). */
#include <stdio.h>
#include <string.h>

#include "broker/core/queue_int.h"
#include "broker/proto/ftable.h"

#define QA__MAX_EXPIRY 4294967295LL

static bool qa__is_int(uint8_t t)
{
    return t == 'b' || t == 'B' || t == 's' || t == 'u' || t == 'I' || t == 'i' || t == 'l';
}

static bool qa__str_is(const ftable_value *v, const char *s)
{
    size_t n = strlen(s);
    return v->v.str.len == n && memcmp(v->v.str.ptr, s, n) == 0;
}

enum qa__check {
    QA_EXPIRES,
    QA_TTL,
    QA_DLX,
    QA_DLRK,
    QA_NONNEG,
    QA_PRIO,
    QA_OVERFLOW,
    QA_MODE,
    QA_SAC,
    QA_TYPE,
    QA_GROUP
};

static const struct {
    const char *key;
    enum qa__check check;
} qa__args[] = {
    {"x-expires", QA_EXPIRES},
    {"x-message-ttl", QA_TTL},
    {"x-dead-letter-exchange", QA_DLX},
    {"x-dead-letter-routing-key", QA_DLRK},
    {"x-max-length", QA_NONNEG},
    {"x-max-length-bytes", QA_NONNEG},
    {"x-max-in-memory-length", QA_NONNEG},
    {"x-max-in-memory-bytes", QA_NONNEG},
    {"x-max-priority", QA_PRIO},
    {"x-overflow", QA_OVERFLOW},
    {"x-queue-mode", QA_MODE},
    {"x-single-active-consumer", QA_SAC},
    {"x-queue-type", QA_TYPE},
    {"x-quorum-initial-group-size", QA_GROUP},
};

/* Writes the Erlang error term for one argument into buf; returns true when
 * the argument is acceptable. */
static bool qa__check_one(enum qa__check ck, const ftable_value *v, wr_bytes args, char *buf,
                          size_t blen)
{
    int64_t n = 0;
    bool isint = qa__is_int(v->type) && ftable_as_int(v, &n);
    switch (ck) {
    case QA_EXPIRES:
    case QA_TTL:
    case QA_NONNEG:
    case QA_PRIO:
    case QA_GROUP:
        if (!isint) {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        if (ck == QA_EXPIRES && n == 0) {
            snprintf(buf, blen, "{value_zero,0}");
            return false;
        }
        if (ck == QA_EXPIRES || ck == QA_TTL) {
            if (n > QA__MAX_EXPIRY) {
                snprintf(buf, blen, "{value_too_big,%lld}", (long long)n);
                return false;
            }
        }
        if (n < 0) {
            snprintf(buf, blen, "{value_negative,%lld}", (long long)n);
            return false;
        }
        if (ck == QA_PRIO && n > 255) {
            snprintf(buf, blen, "{max_value_exceeded,%lld}", (long long)n);
            return false;
        }
        if (ck == QA_GROUP && n == 0) {
            snprintf(buf, blen, "{value_zero,0}");
            return false;
        }
        return true;
    case QA_DLX:
        if (v->type != 'S') {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        return true;
    case QA_DLRK: {
        if (v->type != 'S') {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        ftable_value d;
        if (ftable_get(args, "x-dead-letter-exchange", &d) != 0) {
            snprintf(buf, blen, "routing_key_but_no_dlx_defined");
            return false;
        }
        return true;
    }
    case QA_OVERFLOW:
        if (v->type != 'S') {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        if (qa__str_is(v, "drop-head") || qa__str_is(v, "reject-publish") ||
            qa__str_is(v, "reject-publish-dlx"))
            return true;
        snprintf(buf, blen, "invalid_overflow");
        return false;
    case QA_MODE:
        if (v->type != 'S') {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        if (qa__str_is(v, "default") || qa__str_is(v, "lazy")) return true;
        snprintf(buf, blen, "invalid_queue_mode");
        return false;
    case QA_SAC:
        if (v->type != 't') {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        return true;
    case QA_TYPE:
        if (v->type != 'S') {
            snprintf(buf, blen, "{unacceptable_type,%s}", ftable_type_name(v->type));
            return false;
        }
        if (qa__str_is(v, "classic") || qa__str_is(v, "quorum")) return true;
        snprintf(buf, blen, "invalid_queue_type");
        return false;
    }
    return true;
}

int queue_check_args(wr_bytes args, wr_bytes name, const char *vhost_name, uint32_t mid,
                     wr_amqp_error *e)
{
    if (args.len == 0) return 0;
    for (size_t i = 0; i < sizeof(qa__args) / sizeof(qa__args[0]); i++) {
        ftable_value v;
        if (ftable_get(args, qa__args[i].key, &v) != 0) continue;
        char term[128];
        if (!qa__check_one(qa__args[i].check, &v, args, term, sizeof(term)))
            return wr_amqp_fail(e, 406, mid, "invalid arg '%s' for queue '%.*s' in vhost '%s': %s",
                                qa__args[i].key, (int)name.len, (const char *)name.ptr, vhost_name,
                                term);
    }
    return 0;
}

static int64_t qa__int(wr_bytes args, const char *key)
{
    ftable_value v;
    int64_t n;
    if (ftable_get(args, key, &v) != 0 || !qa__is_int(v.type) || !ftable_as_int(&v, &n) || n < 0)
        return -1;
    return n;
}

void queue__parse_args(wr_bytes args, queue_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->message_ttl = qa__int(args, "x-message-ttl");
    cfg->expires = qa__int(args, "x-expires");
    cfg->max_length = qa__int(args, "x-max-length");
    cfg->max_length_bytes = qa__int(args, "x-max-length-bytes");
    int64_t p = qa__int(args, "x-max-priority");
    cfg->max_priority = p > 0 ? (uint8_t)(p > 255 ? 255 : p) : 0;
    ftable_value v;
    if (ftable_get(args, "x-overflow", &v) == 0 && v.type == 'S') {
        if (qa__str_is(&v, "reject-publish")) cfg->overflow = QUEUE_OVF_REJECT;
        if (qa__str_is(&v, "reject-publish-dlx")) cfg->overflow = QUEUE_OVF_REJECT_DLX;
    }
    if (ftable_get(args, "x-dead-letter-exchange", &v) == 0 && v.type == 'S') {
        cfg->has_dlx = true;
        cfg->dlx = v.v.str;
    }
    if (ftable_get(args, "x-dead-letter-routing-key", &v) == 0 && v.type == 'S') {
        cfg->has_dlrk = true;
        cfg->dlrk = v.v.str;
    }
    if (ftable_get(args, "x-single-active-consumer", &v) == 0 && v.type == 't')
        cfg->single_active = v.v.b;
    if (ftable_get(args, "x-queue-mode", &v) == 0 && v.type == 'S' && qa__str_is(&v, "lazy"))
        cfg->lazy = true;
}
