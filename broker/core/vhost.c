/* Virtual hosts: exchange and queue namespaces, predeclared exchanges,
 * deletion cascades (bindings, auto-delete exchanges), exclusive queues,
 * periodic tick. */
#include "broker/core/vhost.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/core/queue_int.h"
#include "broker/proto/ftable.h"
#include "broker/util/wr_map.h"

struct wr_vhost {
    char *name;
    wr_map exchanges; /* name -> wr_exchange* */
    wr_map queues;    /* name -> wr_queue* (live ones) */
    wr_queue *dead;   /* deleted queues waiting for their deliveries to settle */
    int64_t (*clock)(void *arg);
    void *clock_arg;
    const queue_store_ops *sops;
    void *sctx;
    struct store *st; /* vhost_store_attach */
};

struct store *vhost__store(const wr_vhost *v)
{
    return v->st;
}

void vhost__set_store(wr_vhost *v, struct store *s)
{
    v->st = s;
}

static wr_exchange *vh__lookup(void *owner, wr_bytes name)
{
    return vhost_exchange(owner, name);
}

int64_t vhost_now_ms(const wr_vhost *v)
{
    if (v->clock) return v->clock(v->clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vhost_set_clock(wr_vhost *v, int64_t (*now)(void *arg), void *arg)
{
    v->clock = now;
    v->clock_arg = arg;
}

/* Predeclared exchanges get fixed ids 1..7 (the same on every boot, so
 * stored bindings from them find them again; vhost_store.c starts dynamic
 * ids above those). */
static int vh__add_exchange(wr_vhost *v, const char *name, enum exch_type t, bool internal)
{
    static const char *const order[] = {
        "",           "amq.direct",        "amq.topic", "amq.match", "amq.headers",
        "amq.fanout", "amq.rabbitmq.trace"};
    wr_bytes n = {(const uint8_t *)name, (uint32_t)strlen(name)};
    wr_exchange *ex;
    int rc = vhost_exchange_declare(v, n, t, true, false, internal, (wr_bytes){NULL, 0}, &ex);
    if (rc < 0) return rc;
    for (uintptr_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (strcmp(order[i], name) == 0) exch_set_user_data(ex, (void *)(i + 1));
    return 0;
}

wr_vhost *vhost_new(const char *name)
{
    wr_vhost *v = calloc(1, sizeof(*v));
    if (!v) return NULL;
    wr_map_init(&v->exchanges);
    wr_map_init(&v->queues);
    v->name = strdup(name);
    if (!v->name) goto fail;
    /* rabbit_vhost:add/2 in 3.8 */
    if (vh__add_exchange(v, "", EXCH_DIRECT, false) < 0 ||
        vh__add_exchange(v, "amq.direct", EXCH_DIRECT, false) < 0 ||
        vh__add_exchange(v, "amq.topic", EXCH_TOPIC, false) < 0 ||
        vh__add_exchange(v, "amq.match", EXCH_HEADERS, false) < 0 ||
        vh__add_exchange(v, "amq.headers", EXCH_HEADERS, false) < 0 ||
        vh__add_exchange(v, "amq.fanout", EXCH_FANOUT, false) < 0 ||
        vh__add_exchange(v, "amq.rabbitmq.trace", EXCH_TOPIC, true) < 0)
        goto fail;
    return v;
fail:
    vhost_free(v);
    return NULL;
}

void vhost_free(wr_vhost *v)
{
    if (!v) return;
    const char *k;
    size_t kl;
    void *val;
    for (size_t i = 0; wr_map_next(&v->exchanges, &i, &k, &kl, &val);) exch_free(val);
    for (size_t i = 0; wr_map_next(&v->queues, &i, &k, &kl, &val);) queue__free(val);
    while (v->dead) {
        wr_queue *q = v->dead;
        v->dead = *queue__next_dead(q);
        queue__free(q);
    }
    wr_map_free(&v->exchanges);
    wr_map_free(&v->queues);
    free(v->name);
    free(v);
}

const char *vhost_name(const wr_vhost *v)
{
    return v->name;
}

wr_exchange *vhost_exchange(wr_vhost *v, wr_bytes name)
{
    return wr_map_get(&v->exchanges, name.ptr, name.len);
}

wr_queue *vhost_queue(wr_vhost *v, wr_bytes name)
{
    return wr_map_get(&v->queues, name.ptr, name.len);
}

int vhost_exchange_declare(wr_vhost *v, wr_bytes name, enum exch_type type, bool durable,
                           bool auto_delete, bool internal, wr_bytes args, wr_exchange **out)
{
    if (wr_map_get(&v->exchanges, name.ptr, name.len)) return WR_EEXIST;
    wr_exchange *ex = exch_new(name, type, durable, auto_delete, internal, args, v, vh__lookup);
    if (!ex) return WR_ENOMEM;
    wr_bytes n = exch_name(ex); /* the key must outlive the map entry */
    if (wr_map_put(&v->exchanges, n.ptr, n.len, ex) < 0) {
        exch_free(ex);
        return WR_ENOMEM;
    }
    vstore__exchange_added(v, ex);
    if (out) *out = ex;
    return 0;
}

/* Names of auto-delete source exchanges that lost bindings (deleted after
 * the walk, looked up again by name since a cascade may free them). */
typedef struct vh_names {
    char **v;
    uint32_t n, cap;
} vh_names;

static void vh__names_add(vh_names *ns, wr_bytes name)
{
    if (ns->n == ns->cap) {
        uint32_t nc = ns->cap ? ns->cap * 2 : 4;
        char **nv = realloc(ns->v, nc * sizeof(*nv));
        if (!nv) return;
        ns->v = nv;
        ns->cap = nc;
    }
    char *s = malloc(name.len + 1u);
    if (!s) return;
    memcpy(s, name.ptr, name.len);
    s[name.len] = 0;
    ns->v[ns->n++] = s;
}

/* Unbinds dest from every exchange; auto-delete sources left without
 * bindings are deleted. */
static void vh__unbind_dest(wr_vhost *v, void *dest)
{
    vh_names ns = {0};
    const char *k;
    size_t kl;
    void *val;
    for (size_t i = 0; wr_map_next(&v->exchanges, &i, &k, &kl, &val);) {
        wr_exchange *ex = val;
        if (ex == dest) continue;
        if (exch_unbind_all_to(ex, dest) > 0 && exch_auto_delete(ex) && exch_binding_count(ex) == 0)
            vh__names_add(&ns, exch_name(ex));
    }
    for (uint32_t i = 0; i < ns.n; i++) {
        wr_exchange *ex = wr_map_get(&v->exchanges, ns.v[i], strlen(ns.v[i]));
        if (ex && exch_binding_count(ex) == 0) vhost_exchange_delete(v, ex);
        free(ns.v[i]);
    }
    free(ns.v);
}

void vhost_exchange_delete(wr_vhost *v, wr_exchange *ex)
{
    wr_bytes n = exch_name(ex);
    if (wr_map_get(&v->exchanges, n.ptr, n.len) != ex) return;
    wr_map_del(&v->exchanges, n.ptr, n.len);
    vstore__exchange_deleted(v, ex);
    exch_unbind_all_from(ex, NULL, NULL);
    vh__unbind_dest(v, ex);
    exch_free(ex);
}

int vhost_queue_declare(wr_vhost *v, wr_bytes name, bool durable, bool auto_delete, wr_conn *owner,
                        wr_bytes args, wr_queue **out, uint32_t mid, wr_amqp_error *err)
{
    int rc = queue_check_args(args, name, v->name, mid, err);
    if (rc < 0) return rc;
    queue_cfg cfg;
    queue__parse_args(args, &cfg);
    ftable_value t;
    if (args.len && ftable_get(args, "x-queue-type", &t) == 0 && t.type == 'S' &&
        t.v.str.len == 6 && memcmp(t.v.str.ptr, "quorum", 6) == 0) {
        /* rabbit_quorum_queue:declare checks; the queue then runs as classic */
        const char *bad = auto_delete ? "auto-delete"
                          : owner     ? "exclusive-owner"
                          : !durable  ? "non-durable"
                                      : NULL;
        if (bad)
            return wr_amqp_fail(err, 406, mid,
                                "invalid property '%s' for queue '%.*s' in vhost '%s'", bad,
                                (int)name.len, (const char *)name.ptr, v->name);
    }
    if (wr_map_get(&v->queues, name.ptr, name.len)) return WR_EEXIST;
    wr_queue *q = queue__new(v, name, durable, auto_delete, owner, args);
    if (!q) return WR_ENOMEM;
    queue__set_store(q, v->sops, v->sctx);
    wr_bytes qn = queue_name(q);
    if (wr_map_put(&v->queues, qn.ptr, qn.len, q) < 0) {
        queue__free(q);
        return WR_ENOMEM;
    }
    /* the default exchange routes by queue name: an implicit binding */
    wr_exchange *dflt = wr_map_get(&v->exchanges, "", 0);
    if (dflt && exch_bind(dflt, DEST_QUEUE, q, qn, (wr_bytes){NULL, 0}) < 0) {
        wr_map_del(&v->queues, qn.ptr, qn.len);
        queue__free(q);
        return WR_ENOMEM;
    }
    vstore__queue_added(v, q);
    if (out) *out = q;
    return 0;
}

void vhost_queue_delete(wr_vhost *v, wr_queue *q)
{
    if (queue_is_deleted(q)) return;
    wr_bytes n = queue_name(q);
    if (wr_map_get(&v->queues, n.ptr, n.len) == q) wr_map_del(&v->queues, n.ptr, n.len);
    vstore__queue_deleted(v, q);
    queue__kill(q);
    vh__unbind_dest(v, q);
    *queue__next_dead(q) = v->dead;
    v->dead = q;
}

void vhost__each(wr_vhost *v, void (*qcb)(wr_vhost *, wr_queue *),
                 void (*xcb)(wr_vhost *, wr_exchange *))
{
    const char *k;
    size_t kl;
    void *val;
    for (size_t i = 0; wr_map_next(&v->queues, &i, &k, &kl, &val);) qcb(v, val);
    for (size_t i = 0; wr_map_next(&v->exchanges, &i, &k, &kl, &val);) xcb(v, val);
}

void vhost_set_store_ops(wr_vhost *v, const queue_store_ops *ops, void *ctx)
{
    v->sops = ops;
    v->sctx = ctx;
    const char *k;
    size_t kl;
    void *val;
    for (size_t i = 0; wr_map_next(&v->queues, &i, &k, &kl, &val);) queue__set_store(val, ops, ctx);
}

/* Collects the live queues matching pred into a malloc'd array. */
static wr_queue **vh__collect(wr_vhost *v, bool (*pred)(wr_queue *q, void *arg), void *arg,
                              uint32_t *n)
{
    *n = 0;
    wr_queue **out = NULL;
    uint32_t cap = 0;
    const char *k;
    size_t kl;
    void *val;
    for (size_t i = 0; wr_map_next(&v->queues, &i, &k, &kl, &val);) {
        if (!pred(val, arg)) continue;
        if (*n == cap) {
            uint32_t nc = cap ? cap * 2 : 8;
            wr_queue **no = realloc(out, nc * sizeof(*no));
            if (!no) break;
            out = no;
            cap = nc;
        }
        out[(*n)++] = val;
    }
    return out;
}

static bool vh__owned_by(wr_queue *q, void *conn)
{
    return queue_owner(q) == conn;
}

void vhost_conn_closed(wr_vhost *v, wr_conn *conn)
{
    uint32_t n;
    wr_queue **qs = vh__collect(v, vh__owned_by, conn, &n);
    for (uint32_t i = 0; i < n; i++) vhost_queue_delete(v, qs[i]);
    free(qs);
}

static bool vh__tick_one(wr_queue *q, void *now)
{
    return queue_tick(q, *(int64_t *)now);
}

void vhost_tick(wr_vhost *v, int64_t now_ms)
{
    uint32_t n;
    wr_queue **qs = vh__collect(v, vh__tick_one, &now_ms, &n);
    for (uint32_t i = 0; i < n; i++) vhost_queue_delete(v, qs[i]);
    free(qs);
    for (wr_queue **pp = &v->dead; *pp;) {
        wr_queue *q = *pp;
        if (queue__reapable(q)) {
            *pp = *queue__next_dead(q);
            queue__free(q);
        } else {
            pp = queue__next_dead(q);
        }
    }
}
