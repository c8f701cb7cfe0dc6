/* Dead-lettering (RabbitMQ 3.8 rabbit_dead_letter): x-death bookkeeping,
 * republish through the queue's dead-letter exchange, cycle detection. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/core/queue_int.h"
#include "broker/core/route.h"
#include "broker/core/vhost.h"
#include "broker/proto/ftable.h"
#include "broker/util/wr_buf.h"
#include "broker/util/wr_log.h"

typedef struct dlx_field {
    wr_bytes key;
    ftable_value val;
    wr_buf *own; /* non-NULL: val points into this buffer */
} dlx_field;

static bool dlx__key_is(wr_bytes k, const char *s)
{
    size_t n = strlen(s);
    return k.len == n && memcmp(k.ptr, s, n) == 0;
}

static bool dlx__str_eq(const ftable_value *v, wr_bytes s)
{
    return v->type == 'S' && v->v.str.len == s.len && memcmp(v->v.str.ptr, s.ptr, s.len) == 0;
}

/* Erlang binary order (rabbit_misc:sort_field_table). */
static int dlx__key_cmp(const void *a, const void *b)
{
    const dlx_field *x = a, *y = b;
    uint32_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = n ? memcmp(x->key.ptr, y->key.ptr, n) : 0;
    if (c) return c;
    return (int)x->key.len - (int)y->key.len;
}

static int dlx__put_fields(wr_buf *b, dlx_field *f, size_t n, bool sort)
{
    if (sort) qsort(f, n, sizeof(*f), dlx__key_cmp);
    for (size_t i = 0; i < n; i++) {
        int rc = ftable_put_value(b, f[i].key.ptr, f[i].key.len, &f[i].val);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Appends the routing keys (publish key + CC + BCC) as array content. */
static int dlx__routing_keys(wr_buf *b, const wr_msg *m, wr_bytes headers)
{
    ftable_value v = {.type = 'S'};
    v.v.str = m->routing_key;
    int rc = ftable_array_put_value(b, &v);
    static const char *const hdrs[] = {"CC", "BCC"};
    for (int h = 0; h < 2 && rc == 0; h++) {
        ftable_value arr;
        if (ftable_get(headers, hdrs[h], &arr) != 0 || arr.type != 'A') continue;
        ftable_iter it;
        ftable_iter_init(&it, arr.v.array);
        ftable_value e;
        while (rc == 0 && ftable_array_next(&it, &e) == 1)
            if (e.type == 'S') rc = ftable_array_put_value(b, &e);
    }
    return rc;
}

/* Builds the new headers table content into out. */
static int dlx__headers(wr_queue *q, const queue_cfg *cfg, const wr_msg *m, const char *reason,
                        wr_buf *out)
{
    wr_bytes headers = {NULL, 0};
    if (m->props.flags & AMQP091_BASIC_HEADERS_FLAG) headers = m->props.headers;
    wr_bytes qname = queue_name(q);
    wr_bytes rsn = {(const uint8_t *)reason, (uint32_t)strlen(reason)};
    bool has_exp = (m->props.flags & AMQP091_BASIC_EXPIRATION_FLAG) != 0;
    int rc;
    wr_buf rks, entry, deaths, tmp;
    wr_buf_init(&rks);
    wr_buf_init(&entry);
    wr_buf_init(&deaths);
    wr_buf_init(&tmp);
    /* room for every header plus the ones added; grown below for a large
     * x-death entry (headers come from clients: no truncation) */
    int hn = ftable_count(headers);
    size_t fcap = (size_t)(hn > 0 ? hn : 0) + 8;
    dlx_field *f = calloc(fcap, sizeof(*f));
    if (!f) return WR_ENOMEM;
    if ((rc = dlx__routing_keys(&rks, m, headers)) < 0) goto out;

    ftable_value xd;
    bool have_xd = ftable_get(headers, "x-death", &xd) == 0 && xd.type == 'A';
    bool matched = false;
    if (have_xd) {
        /* look for the entry of this queue and reason: count + 1, moved first */
        ftable_iter it;
        ftable_iter_init(&it, xd.v.array);
        ftable_value e;
        while (ftable_array_next(&it, &e) == 1) {
            ftable_value qv, rv;
            if (!matched && e.type == 'F' && ftable_get(e.v.table, "queue", &qv) == 0 &&
                dlx__str_eq(&qv, qname) && ftable_get(e.v.table, "reason", &rv) == 0 &&
                dlx__str_eq(&rv, rsn)) {
                matched = true;
                int en = ftable_count(e.v.table);
                if (en > 0 && (size_t)en + 1 > fcap) {
                    dlx_field *nf = realloc(f, ((size_t)en + 1) * sizeof(*nf));
                    if (!nf) {
                        rc = WR_ENOMEM;
                        goto out;
                    }
                    f = nf;
                    fcap = (size_t)en + 1;
                }
                size_t n = 0;
                ftable_iter ti;
                ftable_iter_init(&ti, e.v.table);
                wr_bytes k;
                ftable_value val;
                while (n < fcap && ftable_next(&ti, &k, &val) == 1) {
                    if (dlx__key_is(k, "count")) {
                        int64_t c = 0;
                        ftable_as_int(&val, &c);
                        val.type = 'l';
                        val.v.i = c + 1;
                    }
                    f[n].key = k;
                    f[n].val = val;
                    n++;
                }
                if ((rc = dlx__put_fields(&entry, f, n, true)) < 0) goto out;
            } else {
                if ((rc = ftable_array_put_value(&tmp, &e)) < 0) goto out;
            }
        }
    }
    if (!matched) {
        /* [count | Info] in RabbitMQ's order; sorted when merged into an
         * existing x-death (update_x_death_header) */
        size_t n = 0;
        f[n].key = (wr_bytes){(const uint8_t *)"count", 5};
        f[n++].val = (ftable_value){.type = 'l', .v.i = 1};
        f[n].key = (wr_bytes){(const uint8_t *)"reason", 6};
        f[n].val.type = 'S';
        f[n++].val.v.str = rsn;
        f[n].key = (wr_bytes){(const uint8_t *)"queue", 5};
        f[n].val.type = 'S';
        f[n++].val.v.str = qname;
        f[n].key = (wr_bytes){(const uint8_t *)"time", 4};
        f[n++].val = (ftable_value){.type = 'T', .v.u = (uint64_t)time(NULL)};
        f[n].key = (wr_bytes){(const uint8_t *)"exchange", 8};
        f[n].val.type = 'S';
        f[n++].val.v.str = m->exchange;
        f[n].key = (wr_bytes){(const uint8_t *)"routing-keys", 12};
        f[n].val.type = 'A';
        f[n++].val.v.array = (wr_bytes){rks.data, (uint32_t)rks.len};
        if (has_exp) {
            f[n].key = (wr_bytes){(const uint8_t *)"original-expiration", 19};
            f[n].val.type = 'S';
            f[n++].val.v.str = m->props.expiration;
        }
        if ((rc = dlx__put_fields(&entry, f, n, have_xd)) < 0) goto out;
    }
    /* x-death = [entry | others] */
    ftable_value ev = {.type = 'F'};
    ev.v.table = (wr_bytes){entry.data, (uint32_t)entry.len};
    if ((rc = ftable_array_put_value(&deaths, &ev)) < 0) goto out;
    if (tmp.len && (rc = wr_buf_append(&deaths, tmp.data, tmp.len)) < 0) goto out;

    /* the whole header table, sorted by key (rabbit_misc:set_table_value) */
    size_t n = 0;
    ftable_iter it;
    ftable_iter_init(&it, headers);
    wr_bytes k;
    ftable_value val;
    while (n + 4 < fcap && ftable_next(&it, &k, &val) == 1) {
        if (dlx__key_is(k, "x-death")) continue;
        if (cfg->has_dlrk && dlx__key_is(k, "CC")) continue;
        if (!have_xd &&
            (dlx__key_is(k, "x-first-death-reason") || dlx__key_is(k, "x-first-death-queue") ||
             dlx__key_is(k, "x-first-death-exchange")))
            continue;
        f[n].key = k;
        f[n++].val = val;
    }
    f[n].key = (wr_bytes){(const uint8_t *)"x-death", 7};
    f[n].val.type = 'A';
    f[n++].val.v.array = (wr_bytes){deaths.data, (uint32_t)deaths.len};
    if (!have_xd) {
        f[n].key = (wr_bytes){(const uint8_t *)"x-first-death-reason", 20};
        f[n].val.type = 'S';
        f[n++].val.v.str = rsn;
        f[n].key = (wr_bytes){(const uint8_t *)"x-first-death-queue", 19};
        f[n].val.type = 'S';
        f[n++].val.v.str = qname;
        f[n].key = (wr_bytes){(const uint8_t *)"x-first-death-exchange", 22};
        f[n].val.type = 'S';
        f[n++].val.v.str = m->exchange;
    }
    rc = dlx__put_fields(out, f, n, true);
out:
    free(f);
    wr_buf_free(&rks);
    wr_buf_free(&entry);
    wr_buf_free(&deaths);
    wr_buf_free(&tmp);
    return rc;
}

/* rabbit_dead_letter:is_cycle: the target queue already dead-lettered this
 * message and no death on the way was a reject. */
static bool dlx__is_cycle(wr_bytes deaths, wr_bytes qname)
{
    ftable_iter it;
    ftable_iter_init(&it, deaths);
    ftable_value e;
    bool rejected = false;
    while (ftable_array_next(&it, &e) == 1) {
        if (e.type != 'F') {
            rejected = true; /* non-table entries count as "not all automatic" */
            continue;
        }
        ftable_value rv, qv;
        if (ftable_get(e.v.table, "reason", &rv) == 0 && rv.type == 'S' && rv.v.str.len == 8 &&
            memcmp(rv.v.str.ptr, "rejected", 8) == 0)
            rejected = true;
        if (ftable_get(e.v.table, "queue", &qv) == 0 && dlx__str_eq(&qv, qname)) return !rejected;
    }
    return false;
}

static int dlx__add_route(wr_exchange *ex, wr_bytes rk, wr_bytes headers, wr_route_result *tmp,
                          wr_queue ***qs, uint32_t *n, uint32_t *cap)
{
    int rc = route_message(ex, rk, headers, tmp);
    for (uint32_t i = 0; i < tmp->n_queues; i++) {
        wr_queue *t = tmp->queues[i];
        uint32_t j = 0;
        while (j < *n && (*qs)[j] != t) j++;
        if (j < *n) continue;
        if (*n == *cap) {
            uint32_t nc = *cap ? *cap * 2 : 8;
            wr_queue **nq = realloc(*qs, nc * sizeof(*nq));
            if (!nq) return WR_ENOMEM;
            *qs = nq;
            *cap = nc;
        }
        (*qs)[(*n)++] = t;
    }
    return rc;
}

void queue__dead_letter(wr_queue *q, const queue_cfg *cfg, wr_msg *m, const char *reason)
{
    wr_vhost *v = queue_vhost(q);
    wr_exchange *ex = vhost_exchange(v, cfg->dlx);
    if (!ex) return; /* RabbitMQ drops the message when the DLX is missing */
    wr_buf hb, pb;
    wr_buf_init(&hb);
    wr_buf_init(&pb);
    wr_queue **qs = NULL;
    uint32_t nq = 0, qcap = 0;
    wr_route_result rr;
    route_result_init(&rr);
    wr_msg *n = NULL;
    if (dlx__headers(q, cfg, m, reason, &hb) < 0) goto out;
    amqp091_basic_properties np = m->props;
    np.flags |= AMQP091_BASIC_HEADERS_FLAG;
    np.flags &= (uint16_t)~AMQP091_BASIC_EXPIRATION_FLAG;
    np.headers = (wr_bytes){hb.data, (uint32_t)hb.len};
    np.expiration = (wr_bytes){NULL, 0};
    if (amqp091_encode_basic_properties(&pb, &np) < 0) goto out;
    wr_bytes rk = cfg->has_dlrk ? cfg->dlrk : m->routing_key;
    n = msg_clone_with(m, cfg->dlx, rk, pb.data, (uint32_t)pb.len);
    if (!n) goto out;
    wr_bytes nh = n->props.headers;
    if (cfg->has_dlrk) {
        dlx__add_route(ex, rk, nh, &rr, &qs, &nq, &qcap);
    } else {
        /* the original routing keys: publish key, CC, BCC */
        wr_buf keys;
        wr_buf_init(&keys);
        if (dlx__routing_keys(&keys, m,
                              (m->props.flags & AMQP091_BASIC_HEADERS_FLAG)
                                  ? m->props.headers
                                  : (wr_bytes){NULL, 0}) == 0) {
            ftable_iter it;
            ftable_iter_init(&it, (wr_bytes){keys.data, (uint32_t)keys.len});
            ftable_value kv;
            while (ftable_array_next(&it, &kv) == 1)
                if (dlx__add_route(ex, kv.v.str, nh, &rr, &qs, &nq, &qcap) == WR_ENOMEM) break;
        }
        wr_buf_free(&keys);
    }
    ftable_value deaths;
    bool check = strcmp(reason, "rejected") != 0 && ftable_get(nh, "x-death", &deaths) == 0 &&
                 deaths.type == 'A';
    for (uint32_t i = 0; i < nq; i++) {
        if (check && dlx__is_cycle(deaths.v.array, queue_name(qs[i]))) {
            wr_warn("dead-letter cycle: message from queue '%s' not delivered to '%.*s'",
                    queue_name(q).ptr ? (const char *)queue_name(q).ptr : "",
                    (int)queue_name(qs[i]).len, (const char *)queue_name(qs[i]).ptr);
            continue;
        }
        queue_publish(qs[i], n);
    }
out:
    msg_unref(n);
    free(qs);
    route_result_free(&rr);
    wr_buf_free(&hb);
    wr_buf_free(&pb);
}
