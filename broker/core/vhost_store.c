/* Durable definitions and persistent messages of a vhost over the store
 * (format in vhost_store.h). */
#include "broker/core/vhost_store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "broker/core/queue_int.h"
#include "broker/proto/ftable.h"
#include "broker/util/wr_buf.h"
#include "broker/util/wr_log.h"
#include "broker/util/wr_map.h"
#include "storage/store.h"

#define VS_EXCHANGE 'X'
#define VS_QUEUE    'Q'
#define VS_BINDING  'B'

/* node-wide incarnation ids (1..7: predeclared); atomic for embedded
 * brokers on several threads */
static _Atomic uint64_t vs__next_id = 1024;

static uint64_t vs__new_id(void)
{
    return atomic_fetch_add_explicit(&vs__next_id, 1, memory_order_relaxed);
}

static void vs__seen_id(uint64_t id)
{
    uint64_t cur = atomic_load_explicit(&vs__next_id, memory_order_relaxed);
    while (id >= cur && !atomic_compare_exchange_weak(&vs__next_id, &cur, id + 1)) {
    }
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | p[i];
    return v;
}

/* key = vhost NUL tail */
static int vs__key(wr_buf *k, const wr_vhost *v, const void *tail, size_t n)
{
    const char *vn = vhost_name(v);
    if (wr_buf_append(k, vn, strlen(vn) + 1) < 0 || wr_buf_append(k, tail, n) < 0) return WR_ENOMEM;
    return k->len <= STORE_MAX_DEF_KEY ? 0 : WR_ETOOBIG;
}

static uint64_t vs__xid(const wr_exchange *ex)
{
    return (uint64_t)(uintptr_t)exch_user_data(ex);
}

/* ---- definitions ---------------------------------------------------------- */

static void vs__write_exchange(wr_vhost *v, wr_exchange *ex);

void vstore__exchange_added(wr_vhost *v, wr_exchange *ex)
{
    exch_set_user_data(ex, (void *)(uintptr_t)vs__new_id());
    vs__write_exchange(v, ex);
}

static void vs__write_exchange(wr_vhost *v, wr_exchange *ex)
{
    struct store *s = vhost__store(v);
    if (!s || !exch_durable(ex) || vs__xid(ex) < 1024) return; /* predeclared: not stored */
    wr_buf k, val;
    wr_buf_init(&k);
    wr_buf_init(&val);
    wr_bytes n = exch_name(ex), a = exch_arguments(ex);
    uint8_t h[14];
    put_u64(h, vs__xid(ex));
    h[8] = (uint8_t)exch_get_type(ex);
    h[9] = (uint8_t)((exch_auto_delete(ex) ? 1 : 0) | (exch_internal(ex) ? 2 : 0));
    put_u32(h + 10, a.len);
    if (vs__key(&k, v, n.ptr, n.len) == 0 && wr_buf_append(&val, h, sizeof(h)) == 0 &&
        wr_buf_append(&val, a.ptr, a.len) == 0)
        store_put_def(s, VS_EXCHANGE, k.data, k.len, val.data, val.len);
    wr_buf_free(&k);
    wr_buf_free(&val);
}

void vstore__exchange_deleted(wr_vhost *v, wr_exchange *ex)
{
    struct store *s = vhost__store(v);
    if (!s || !exch_durable(ex)) return;
    wr_buf k;
    wr_buf_init(&k);
    wr_bytes n = exch_name(ex);
    if (vs__key(&k, v, n.ptr, n.len) == 0) store_del_def(s, VS_EXCHANGE, k.data, k.len);
    wr_buf_free(&k);
}

static void vs__write_queue(wr_vhost *v, wr_queue *q);

void vstore__queue_added(wr_vhost *v, wr_queue *q)
{
    queue_set_store_id(q, vs__new_id());
    vs__write_queue(v, q);
}

static void vs__write_queue(wr_vhost *v, wr_queue *q)
{
    struct store *s = vhost__store(v);
    if (!s || !queue_durable(q)) return;
    wr_buf k, val;
    wr_buf_init(&k);
    wr_buf_init(&val);
    wr_bytes n = queue_name(q), a = queue_arguments(q);
    uint8_t h[13];
    put_u64(h, queue_store_id(q));
    h[8] = queue_auto_delete(q) ? 1 : 0;
    put_u32(h + 9, a.len);
    if (vs__key(&k, v, n.ptr, n.len) == 0 && wr_buf_append(&val, h, sizeof(h)) == 0 &&
        wr_buf_append(&val, a.ptr, a.len) == 0)
        store_put_def(s, VS_QUEUE, k.data, k.len, val.data, val.len);
    wr_buf_free(&k);
    wr_buf_free(&val);
}

void vstore__queue_deleted(wr_vhost *v, wr_queue *q)
{
    struct store *s = vhost__store(v);
    if (!s || !queue_durable(q)) return;
    wr_buf k;
    wr_buf_init(&k);
    wr_bytes n = queue_name(q);
    if (vs__key(&k, v, n.ptr, n.len) == 0) store_del_def(s, VS_QUEUE, k.data, k.len);
    wr_buf_free(&k);
}

static bool vs__dest_durable(wr_dest_kind k, void *dest, uint64_t *id)
{
    if (k == DEST_QUEUE) {
        *id = queue_store_id(dest);
        return queue_durable(dest);
    }
    *id = vs__xid(dest);
    return exch_durable(dest);
}

/* FNV-1a 64 over the binding value: the key tail. */
static uint64_t vs__hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void vs__binding(wr_vhost *v, bool add, wr_exchange *src, wr_dest_kind kind, void *dest,
                        wr_bytes rk, wr_bytes args)
{
    struct store *s = vhost__store(v);
    uint64_t did;
    if (!s || !exch_durable(src) || !vs__dest_durable(kind, dest, &did)) return;
    if (rk.len > 255) return;
    wr_buf k, val;
    wr_buf_init(&k);
    wr_buf_init(&val);
    uint8_t h[18];
    put_u64(h, vs__xid(src));
    h[8] = (uint8_t)kind;
    put_u64(h + 9, did);
    h[17] = (uint8_t)rk.len;
    uint8_t al[4];
    put_u32(al, args.len);
    if (wr_buf_append(&val, h, sizeof(h)) == 0 && wr_buf_append(&val, rk.ptr, rk.len) == 0 &&
        wr_buf_append(&val, al, 4) == 0 && wr_buf_append(&val, args.ptr, args.len) == 0) {
        uint8_t hk[8];
        put_u64(hk, vs__hash(val.data, val.len));
        if (vs__key(&k, v, hk, 8) == 0) {
            if (add)
                store_put_def(s, VS_BINDING, k.data, k.len, val.data, val.len);
            else
                store_del_def(s, VS_BINDING, k.data, k.len);
        }
    }
    wr_buf_free(&k);
    wr_buf_free(&val);
}

int vhost_bind(wr_vhost *v, wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk,
               wr_bytes args)
{
    int rc = exch_bind(src, k, dest, rk, args);
    if (rc == 0) vs__binding(v, true, src, k, dest, rk, args);
    return rc;
}

int vhost_unbind(wr_vhost *v, wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk,
                 wr_bytes args)
{
    int rc = exch_unbind(src, k, dest, rk, args);
    if (rc == 0) vs__binding(v, false, src, k, dest, rk, args);
    return rc;
}

/* ---- commit tracking (paging) ------------------------------------------- */

/* Per store: which message records are committed, so queues may page them
 * out (queue.h, QUEUE_PAGE_WINDOW). Records get a write sequence number
 * (wr_msg.store_seq, node-wide and increasing); at most one store_commit
 * request is outstanding per store, and its callback moves the committed
 * mark to the sequence issued before the request, then asks again if more
 * were written meanwhile: one callback per batch, not per message.
 * Slots are static (no heap: a store's callbacks may run after every vhost
 * detached, inside store_close); a slot is reused once no vhost and no
 * outstanding commit refer to it. All fields but s/refs are touched on the
 * store's loop thread only. */
typedef struct vs_pager {
    struct store *s; /* NULL: free slot */
    uint32_t refs;   /* attached vhosts + outstanding commit */
    bool waiting;    /* a commit request is outstanding */
    uint64_t issued; /* last sequence handed out for this store */
    uint64_t asked;  /* sequence covered by the outstanding request */
    uint64_t durable;
} vs_pager;

#define VS_PAGERS 256
static vs_pager vs__pagers[VS_PAGERS];
static pthread_mutex_t vs__pager_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t vs__next_seq = 1;

/* Finds or takes the slot of s and references it; NULL when all are busy
 * (then nothing is paged out for s). */
static vs_pager *vs__pager_get(struct store *s)
{
    vs_pager *p = NULL, *fr = NULL;
    pthread_mutex_lock(&vs__pager_mu);
    for (size_t i = 0; i < VS_PAGERS && !p; i++) {
        if (vs__pagers[i].s == s) p = &vs__pagers[i];
        if (!vs__pagers[i].s && !fr) fr = &vs__pagers[i];
    }
    if (!p && fr) {
        memset(fr, 0, sizeof(*fr));
        fr->s = s;
        p = fr;
    }
    if (p) p->refs++;
    pthread_mutex_unlock(&vs__pager_mu);
    return p;
}

static void vs__pager_put(vs_pager *p)
{
    pthread_mutex_lock(&vs__pager_mu);
    if (p->refs && --p->refs == 0) p->s = NULL;
    pthread_mutex_unlock(&vs__pager_mu);
}

static void vs__pager_ask(vs_pager *p);

static void vs__pager_done(void *ctx, int status)
{
    vs_pager *p = ctx;
    p->waiting = false;
    /* a failed batch left its records off the disk: they stay in memory */
    if (status == 0 && p->asked > p->durable) p->durable = p->asked;
    if (p->refs > 1 && p->issued > p->asked) vs__pager_ask(p);
    vs__pager_put(p);
}

/* Requests a commit point covering every record issued so far. */
static void vs__pager_ask(vs_pager *p)
{
    if (p->waiting) return;
    p->asked = p->issued;
    pthread_mutex_lock(&vs__pager_mu);
    p->refs++;
    pthread_mutex_unlock(&vs__pager_mu);
    if (store_commit(p->s, vs__pager_done, p) < 0) {
        vs__pager_put(p);
        return;
    }
    p->waiting = true;
}

/* ---- messages (queue_store_ops) ------------------------------------------- */

static bool vs_enqueue(void *ctx, wr_queue *q, wr_msg *m, uint64_t qpos)
{
    vs_pager *pg = ctx;
    struct store *s = pg->s;
    if (!m->stored) {
        uint8_t h[1 + 255 + 1 + 255 + 4];
        size_t n = 0;
        if (m->exchange.len > 255 || m->routing_key.len > 255) return false;
        h[n++] = (uint8_t)m->exchange.len;
        memcpy(h + n, m->exchange.ptr, m->exchange.len);
        n += m->exchange.len;
        h[n++] = (uint8_t)m->routing_key.len;
        memcpy(h + n, m->routing_key.ptr, m->routing_key.len);
        n += m->routing_key.len;
        put_u32(h + n, m->props_len);
        n += 4;
        store_iov iov[3] = {{h, n}, {m->props_raw, m->props_len}, {m->body, (size_t)m->body_len}};
        if (store_put_msgv(s, m->id, iov, 3) < 0) return false;
        m->stored = true;
        m->store_seq = atomic_fetch_add_explicit(&vs__next_seq, 1, memory_order_relaxed);
        pg->issued = m->store_seq;
        vs__pager_ask(pg);
    }
    return store_enqueue(s, queue_store_id(q), qpos, m->id, 0) == 0;
}

static void vs_delivered(void *ctx, wr_queue *q, uint64_t qpos)
{
    vs_pager *pg = ctx;
    store_mark_delivered(pg->s, queue_store_id(q), qpos);
}

static void vs_settle(void *ctx, wr_queue *q, uint64_t qpos)
{
    vs_pager *pg = ctx;
    store_ack(pg->s, queue_store_id(q), qpos);
}

static void vs_deleted(void *ctx, wr_queue *q)
{
    vs_pager *pg = ctx;
    store_purge_queue(pg->s, queue_store_id(q));
}

static bool vs_committed(void *ctx, const wr_msg *m)
{
    const vs_pager *pg = ctx;
    return m->stored && m->store_seq <= pg->durable;
}

/* Builds a message from a stored record (format in vhost_store.h); NULL
 * when malformed or on ENOMEM. */
static wr_msg *vs__msg_from_rec(uint64_t msg_id, const uint8_t *rec, size_t len)
{
    if (!rec || len < 6) return NULL;
    size_t o = 1u + rec[0];
    if (o + 1 > len) return NULL;
    wr_bytes ex = {rec + 1, rec[0]};
    wr_bytes rk = {rec + o + 1, rec[o]};
    o += 1u + rec[o];
    if (o + 4 > len) return NULL;
    uint32_t pl = get_u32(rec + o);
    o += 4;
    if (pl > len - o) return NULL;
    const uint8_t *props = rec + o;
    o += pl;
    wr_msg *m = msg_new(ex, rk, props, pl, len - o);
    if (!m) return NULL;
    memcpy(m->body, rec + o, len - o);
    m->body_filled = len - o;
    m->id = msg_id; /* the stored record is shared by every queue holding it */
    m->stored = true;
    m->store_seq = 0; /* read back: committed */
    return m;
}

typedef struct vs_loadctx {
    wr_msg **out;
} vs_loadctx;

static void vs__load_one(void *ctx, size_t i, const uint8_t *rec, size_t len)
{
    vs_loadctx *l = ctx;
    l->out[i] = vs__msg_from_rec(0, rec, len);
}

static int vs_load(void *ctx, const uint64_t *ids, size_t n, wr_msg **out)
{
    vs_pager *pg = ctx;
    for (size_t i = 0; i < n; i++) out[i] = NULL;
    vs_loadctx l = {out};
    int rc = store_read_msgs(pg->s, ids, n, vs__load_one, &l);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) {
            msg_unref(out[i]);
            out[i] = NULL;
        }
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i]) out[i]->id = ids[i];
    return 0;
}

static const queue_store_ops vs_ops = {vs_enqueue, vs_delivered, vs_settle,
                                       vs_deleted, vs_committed, vs_load};

void vhost_store_attach(wr_vhost *v, struct store *s)
{
    struct store *old = vhost__store(v);
    vs_pager *pg = NULL;
    if (s) {
        pg = vs__pager_get(s);
        if (!pg)
            wr_error("store: too many stores in one process; vhost '%s' cannot attach one",
                     vhost_name(v));
    }
    if (old) {
        vs_pager *op = vs__pager_get(old); /* the slot exists: drop our lookup and the attach ref */
        if (op) {
            vs__pager_put(op);
            vs__pager_put(op);
        }
    }
    if (!pg) s = NULL;
    vhost__set_store(v, s);
    vhost_set_store_ops(v, pg ? &vs_ops : NULL, pg);
    if (s) msg_set_next_id(store_last_msg_id(s) + 1);
}

/* ---- recovery ------------------------------------------------------------- */

typedef struct vs_rec {
    wr_vhost *v;
    struct store *s;
    wr_map xids; /* 8-byte id -> wr_exchange* */
    wr_map qids; /* 8-byte id -> wr_queue* */
    int err;
} vs_rec;

/* key must start with "<vhost>\0"; returns the tail */
static bool vs__ours(const vs_rec *r, const uint8_t *key, size_t klen, wr_bytes *tail)
{
    const char *vn = vhost_name(r->v);
    size_t n = strlen(vn) + 1;
    if (klen < n || memcmp(key, vn, n) != 0) return false;
    tail->ptr = key + n;
    tail->len = (uint32_t)(klen - n);
    return true;
}

static int vs__rec_exchange(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen)
{
    vs_rec *r = ctx;
    wr_bytes name;
    if (!vs__ours(r, key, klen, &name)) return 0;
    if (vlen < 14 || vlen - 14 < get_u32(val + 10) || val[8] > EXCH_HEADERS) {
        wr_warn("store: bad exchange definition in vhost '%s' dropped", vhost_name(r->v));
        return 0;
    }
    uint64_t id = get_u64(val);
    wr_bytes args = {val + 14, get_u32(val + 10)};
    wr_exchange *ex = vhost_exchange(r->v, name);
    if (!ex) {
        struct store *s = r->s;
        vhost__set_store(r->v, NULL); /* already stored */
        int rc = vhost_exchange_declare(r->v, name, (enum exch_type)val[8], true, val[9] & 1,
                                        (val[9] & 2) != 0, args, &ex);
        vhost__set_store(r->v, s);
        if (rc < 0) return r->err = rc;
    }
    exch_set_user_data(ex, (void *)(uintptr_t)id);
    vs__seen_id(id);
    return wr_map_put(&r->xids, val, 8, ex) < 0 ? (r->err = WR_ENOMEM) : 0;
}

static int vs__rec_queue(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen)
{
    vs_rec *r = ctx;
    wr_bytes name;
    if (!vs__ours(r, key, klen, &name)) return 0;
    if (vlen < 13 || vlen - 13 < get_u32(val + 9)) {
        wr_warn("store: bad queue definition in vhost '%s' dropped", vhost_name(r->v));
        return 0;
    }
    uint64_t id = get_u64(val);
    wr_bytes args = {val + 13, get_u32(val + 9)};
    struct store *s = r->s;
    vhost__set_store(r->v, NULL);
    wr_amqp_error e;
    wr_queue *q = NULL;
    int rc = vhost_queue_declare(r->v, name, true, val[8] & 1, NULL, args, &q, 0, &e);
    vhost__set_store(r->v, s);
    if (rc == WR_EEXIST) {
        /* declared before the store was attached (load_definitions): it
         * takes over the stored id, so its stored messages come back */
        q = vhost_queue(r->v, name);
        rc = q && queue_durable(q) ? 0 : WR_EEXIST;
    }
    if (rc < 0) {
        wr_warn("store: queue '%.*s' in vhost '%s' not recovered: %s", (int)name.len,
                (const char *)name.ptr, vhost_name(r->v), rc == WR_EAMQP ? e.text : "error");
        return rc == WR_ENOMEM ? (r->err = rc) : 0;
    }
    queue_set_store_id(q, id);
    vs__seen_id(id);
    return wr_map_put(&r->qids, val, 8, q) < 0 ? (r->err = WR_ENOMEM) : 0;
}

static int vs__rec_binding(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen)
{
    vs_rec *r = ctx;
    wr_bytes tail;
    if (!vs__ours(r, key, klen, &tail)) return 0;
    if (vlen < 18 || vlen < 18u + val[17] + 4u) return 0;
    uint32_t rkl = val[17];
    uint32_t al = get_u32(val + 18 + rkl);
    if (vlen != 18u + rkl + 4u + al) return 0;
    wr_exchange *src = wr_map_get(&r->xids, val, 8);
    void *dest =
        val[8] == DEST_QUEUE ? wr_map_get(&r->qids, val + 9, 8) : wr_map_get(&r->xids, val + 9, 8);
    if (!src || !dest) {
        store_del_def(r->s, VS_BINDING, key, klen); /* an end is gone */
        return 0;
    }
    wr_bytes rk = {val + 18, rkl}, args = {val + 22 + rkl, al};
    if (exch_bind(src, val[8] == DEST_QUEUE ? DEST_QUEUE : DEST_EXCHANGE, dest, rk, args) ==
        WR_ENOMEM)
        return r->err = WR_ENOMEM;
    return 0;
}

typedef struct vs_qrec {
    wr_queue *q;
    int err;
    bool all_redelivered;
} vs_qrec;

static int vs__rec_msg(void *ctx, uint64_t seq, uint64_t msg_id, uint8_t flags, const uint8_t *rec,
                       size_t len)
{
    vs_qrec *r = ctx;
    if (!rec || len < 6) return 0;
    /* only the header is parsed: the body stays on disk (paged out) */
    size_t o = 1u + rec[0];
    if (o + 1 > len) return 0;
    o += 1u + rec[o];
    if (o + 4 > len) return 0;
    uint32_t pl = get_u32(rec + o);
    o += 4;
    if (pl > len - o) return 0;
    amqp091_basic_properties p;
    if (amqp091_decode_basic_properties(rec + o, pl, &p) < 0) return 0;
    uint8_t prio = (p.flags & AMQP091_BASIC_PRIORITY_FLAG) ? p.priority : 0;
    int64_t ttl = -1;
    wr_amqp_error e;
    if ((p.flags & AMQP091_BASIC_EXPIRATION_FLAG) &&
        msg_check_expiration(p.expiration, &ttl, 0, &e) < 0)
        ttl = -1;
    bool redel = r->all_redelivered || (flags & STORE_F_DELIVERED) != 0;
    int rc = queue_recover_paged(r->q, msg_id, seq, redel, prio, ttl, len - o - pl);
    if (rc < 0) return r->err = rc;
    return 0;
}

/* The predeclared exchanges (fixed ids) as binding ends. */
static int vs__known_exchanges(vs_rec *r)
{
    static const char *const names[] = {
        "",           "amq.direct",        "amq.topic", "amq.match", "amq.headers",
        "amq.fanout", "amq.rabbitmq.trace"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        wr_bytes n = {(const uint8_t *)names[i], (uint32_t)strlen(names[i])};
        wr_exchange *ex = vhost_exchange(r->v, n);
        if (!ex) continue;
        uint8_t id[8];
        put_u64(id, vs__xid(ex));
        if (wr_map_put(&r->xids, id, 8, ex) < 0) return WR_ENOMEM;
    }
    return 0;
}

int vhost_store_recover(wr_vhost *v)
{
    return vhost_store_recover_ex(v, false);
}

int vhost_store_recover_ex(wr_vhost *v, bool all_redelivered)
{
    struct store *s = vhost__store(v);
    if (!s) return 0;
    vs_rec r = {.v = v, .s = s};
    wr_map_init(&r.xids);
    wr_map_init(&r.qids);
    /* exchanges that exist already (the predeclared ones, fixed ids) */
    const char *k;
    size_t kl;
    void *val;
    int rc = 0;
    rc = vs__known_exchanges(&r);
    if (rc == 0) rc = store_iter_defs(s, VS_EXCHANGE, vs__rec_exchange, &r);
    if (rc == 0) rc = store_iter_defs(s, VS_QUEUE, vs__rec_queue, &r);
    if (rc == 0) rc = store_iter_defs(s, VS_BINDING, vs__rec_binding, &r);
    for (size_t i = 0; rc == 0 && wr_map_next(&r.qids, &i, &k, &kl, &val);) {
        vs_qrec qr = {.q = val, .all_redelivered = all_redelivered};
        rc = store_iter_queue(s, queue_store_id(val), 0, 0, vs__rec_msg, &qr);
    }
    wr_map_free(&r.xids);
    wr_map_free(&r.qids);
    if (rc > 0) rc = r.err ? r.err : WR_ESTORE;
    /* (re)write every durable definition with its final id: entities made
     * before the attach are stored from now on */
    if (rc == 0) vhost__each(v, vs__write_queue, vs__write_exchange);
    return rc;
}
