/* Queues: per-priority ready rings, unacked count, consumers, dispatch,
 * TTL, length limits (RabbitMQ 3.8 classic queue behaviour:
 * rabbit_amqqueue_process, rabbit_queue_consumers). */
#include <stdlib.h>
#include <string.h>

#include "broker/core/queue_int.h"
#include "broker/core/vhost.h"
#include "broker/util/wr_log.h"

#define Q__TAG_MAX 256

#define QE_REDELIVERED 0x01u
#define QE_PAGED       0x02u /* body not in memory: id is valid, msg is not */

typedef struct q_ent {
    union {
        wr_msg *msg; /* the queue's reference (not paged) */
        uint64_t id; /* store message id (QE_PAGED) */
    };
    uint64_t qpos;
    int64_t exp;   /* absolute expiry (vhost clock), -1 none */
    uint32_t size; /* body bytes (for ready_bytes / mem_bytes) */
    uint8_t flags; /* QE_* */
} q_ent;

/* Ring of entries in ascending qpos order. The first `scanned` entries have
 * been looked at by the pager (in the head window, paged, or never
 * pageable); it continues from there. */
typedef struct q_ring {
    q_ent *a;
    uint32_t cap, head, len;
    uint32_t scanned;
} q_ring;

struct wr_consumer {
    const queue_consumer_ops *ops;
    void *ctx;
    wr_conn *conn;
    int32_t priority;
    bool no_ack, exclusive;
    uint16_t tag_len;
    char tag[Q__TAG_MAX];
};

struct wr_queue {
    wr_vhost *vhost;
    char *name;
    uint32_t name_len;
    uint8_t *args;
    uint32_t args_len;
    bool durable, auto_delete, deleted;
    wr_conn *owner;
    queue_cfg cfg;
    q_ring *levels; /* 1 + max_priority rings */
    uint32_t n_levels;
    uint32_t ready;
    uint64_t ready_bytes;
    uint32_t mem_ready;   /* ready entries with their body in memory */
    uint64_t mem_bytes;   /* their body bytes */
    bool page_err_logged; /* one warning per queue for store read errors */
    uint32_t unacked;
    uint64_t next_qpos;
    wr_consumer **cons; /* sorted by priority (desc); SAC: registration order */
    uint32_t n_cons, cons_cap;
    bool excl_consumer;
    bool dispatching, kick_again;
    int64_t last_used_ms;
    wr_queue *next_dead;
    const queue_store_ops *sops; /* NULL: nothing persisted */
    void *sctx;
    uint64_t store_id;
};

/* True when m's fate on q is recorded in the store. */
static inline bool q__stored(const wr_queue *q, const wr_msg *m)
{
    return q->sops && q->durable && m->persistent;
}

static inline bool q__ent_stored(const wr_queue *q, const q_ent *e)
{
    return (e->flags & QE_PAGED) ? true : q__stored(q, e->msg);
}

static inline uint32_t q__size32(uint64_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static inline void q__settle(wr_queue *q, const wr_msg *m, uint64_t qpos)
{
    if (q__stored(q, m)) q->sops->settle(q->sctx, q, qpos);
}

/* Handed to a consumer or basic.get: settled now (no-ack) or marked. */
static inline void q__handed(wr_queue *q, const wr_msg *m, uint64_t qpos, bool no_ack,
                             bool redelivered)
{
    if (!q__stored(q, m)) return;
    if (no_ack)
        q->sops->settle(q->sctx, q, qpos);
    else if (!redelivered && q->sops->delivered)
        q->sops->delivered(q->sctx, q, qpos);
}

/* ---- rings ---------------------------------------------------------------- */

static q_ent *ring_at(q_ring *r, uint32_t i)
{
    return &r->a[(r->head + i) & (r->cap - 1)];
}

static int ring_grow(q_ring *r)
{
    if (r->len < r->cap) return 0;
    uint32_t ncap = r->cap ? r->cap * 2 : 16;
    if (ncap < r->cap) return WR_ENOMEM;
    q_ent *na = malloc((size_t)ncap * sizeof(*na));
    if (!na) return WR_ENOMEM;
    for (uint32_t i = 0; i < r->len; i++) na[i] = *ring_at(r, i);
    free(r->a);
    r->a = na;
    r->cap = ncap;
    r->head = 0;
    return 0;
}

static int ring_push_back(q_ring *r, const q_ent *e)
{
    if (ring_grow(r) < 0) return WR_ENOMEM;
    *ring_at(r, r->len) = *e;
    r->len++;
    return 0;
}

/* Releases the array of an emptied ring that grew large (a drained
 * backlog must not keep its index memory). */
static void ring_shrink_if_empty(q_ring *r)
{
    if (r->len == 0 && r->cap > 1024) {
        free(r->a);
        r->a = NULL;
        r->cap = r->head = r->scanned = 0;
    }
}

/* Inserts keeping ascending qpos (requeue: usually at the front). */
static int ring_insert_sorted(q_ring *r, const q_ent *e)
{
    if (ring_grow(r) < 0) return WR_ENOMEM;
    if (r->len == 0 || e->qpos < ring_at(r, 0)->qpos) {
        r->head = (r->head + r->cap - 1) & (r->cap - 1);
        r->a[r->head] = *e;
        r->len++;
        if (r->scanned) r->scanned++;
        return 0;
    }
    uint32_t lo = 0, hi = r->len; /* first index with qpos > e->qpos */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ring_at(r, mid)->qpos < e->qpos)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = r->len; i > lo; i--) *ring_at(r, i) = *ring_at(r, i - 1);
    *ring_at(r, lo) = *e;
    r->len++;
    if (lo < r->scanned) r->scanned++;
    return 0;
}

static void ring_pop_front(q_ring *r, q_ent *out)
{
    *out = r->a[r->head];
    r->head = (r->head + 1) & (r->cap - 1);
    r->len--;
    if (r->scanned) r->scanned--;
}

/* ---- helpers -------------------------------------------------------------- */

static q_ring *q__level(wr_queue *q, const wr_msg *m)
{
    uint32_t p = m->priority;
    if (p >= q->n_levels) p = q->n_levels - 1;
    return &q->levels[p];
}

/* Highest non-empty level, or NULL. */
static q_ring *q__head_ring(wr_queue *q)
{
    for (uint32_t i = q->n_levels; i-- > 0;)
        if (q->levels[i].len) return &q->levels[i];
    return NULL;
}

static int64_t q__expiry(wr_queue *q, wr_msg *m)
{
    int64_t ttl = q->cfg.message_ttl;
    if (m->ttl_ms >= 0 && (ttl < 0 || m->ttl_ms < ttl)) ttl = m->ttl_ms;
    if (ttl < 0) return -1;
    if (m->enqueued_ms == INT64_MIN) m->enqueued_ms = vhost_now_ms(q->vhost);
    return m->enqueued_ms + ttl;
}

static void q__unready(wr_queue *q, const q_ent *e)
{
    q->ready--;
    q->ready_bytes -= e->size;
    if (!(e->flags & QE_PAGED)) {
        q->mem_ready--;
        q->mem_bytes -= e->size;
    }
}

/* Counts a new ready entry. */
static void q__readied(wr_queue *q, const q_ent *e)
{
    q->ready++;
    q->ready_bytes += e->size;
    if (!(e->flags & QE_PAGED)) {
        q->mem_ready++;
        q->mem_bytes += e->size;
    }
}

static void q__page_err(wr_queue *q, int rc)
{
    if (q->page_err_logged) return;
    q->page_err_logged = true;
    wr_error("queue '%s': reading paged-out messages back failed: %s", q->name, wr_strerror(rc));
}

/* Reads back the paged-out entries among the first QUEUE_PAGE_WINDOW of r
 * (one store read). Entries whose record is missing stay paged. */
static int q__page_in(wr_queue *q, q_ring *r)
{
    uint64_t ids[QUEUE_PAGE_WINDOW];
    uint32_t at[QUEUE_PAGE_WINDOW];
    wr_msg *ms[QUEUE_PAGE_WINDOW];
    size_t n = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < r->len && i < QUEUE_PAGE_WINDOW; i++) {
        q_ent *e = ring_at(r, i);
        if (n && bytes >= QUEUE_PAGE_WINDOW_BYTES) break;
        bytes += e->size;
        if (!(e->flags & QE_PAGED)) continue;
        ids[n] = e->id;
        at[n++] = i;
    }
    if (n == 0 || !q->sops || !q->sops->load) return 0;
    int rc = q->sops->load(q->sctx, ids, n, ms);
    if (rc < 0) {
        q__page_err(q, rc);
        return rc;
    }
    for (size_t j = 0; j < n; j++) {
        if (!ms[j]) continue;
        q_ent *e = ring_at(r, at[j]);
        e->msg = ms[j]; /* the load's reference becomes the queue's */
        e->flags &= (uint8_t)~QE_PAGED;
        q->mem_ready++;
        q->mem_bytes += e->size;
    }
    return 0;
}

/* Makes sure the head entry of r is in memory. A paged entry whose record
 * is gone is dropped (settled) with a warning. Returns false when the head
 * cannot be read now (store error) or r became empty. */
static bool q__head_loaded(wr_queue *q, q_ring *r)
{
    while (r->len && (r->a[r->head].flags & QE_PAGED)) {
        if (q__page_in(q, r) < 0) return false;
        q_ent *h = &r->a[r->head];
        if (!(h->flags & QE_PAGED)) return true;
        q_ent e;
        ring_pop_front(r, &e);
        q__unready(q, &e);
        wr_warn("queue '%s': stored message %llu is missing; dropped", q->name,
                (unsigned long long)e.id);
        if (q->sops) q->sops->settle(q->sctx, q, e.qpos);
    }
    return r->len != 0;
}

/* Drops a popped entry (already unready); reason != NULL dead-letters it
 * when the queue has a DLX (a paged entry is read back for that). */
static void q__drop(wr_queue *q, q_ent *e, const char *reason)
{
    if (e->flags & QE_PAGED) {
        wr_msg *m = NULL;
        if (reason && q->cfg.has_dlx && q->sops && q->sops->load &&
            q->sops->load(q->sctx, &e->id, 1, &m) == 0 && m)
            queue__dead_letter(q, &q->cfg, m, reason);
        msg_unref(m);
        if (q->sops) q->sops->settle(q->sctx, q, e->qpos);
        return;
    }
    q__settle(q, e->msg, e->qpos);
    if (reason && q->cfg.has_dlx) queue__dead_letter(q, &q->cfg, e->msg, reason);
    msg_unref(e->msg);
}

/* Pages out committed persistent entries past the head window (see
 * QUEUE_PAGE_WINDOW in queue.h). Cheap when nothing changed: it resumes at
 * each ring's scan point and stops at the first uncommitted message. */
static void q__page_out(wr_queue *q)
{
    if (!q->sops || !q->sops->committed || !q->sops->load || !q->durable || q->deleted) return;
    if (!q->cfg.lazy && q->mem_bytes <= QUEUE_PAGE_MEM_BYTES) return;
    for (uint32_t l = 0; l < q->n_levels; l++) {
        q_ring *r = &q->levels[l];
        uint32_t i = r->scanned;
        if (i < QUEUE_PAGE_WINDOW) { /* the head window stays: 256 entries or 1 MiB */
            uint64_t bytes = 0;
            uint32_t w = 0;
            while (w < r->len && w < QUEUE_PAGE_WINDOW && bytes < QUEUE_PAGE_WINDOW_BYTES)
                bytes += ring_at(r, w++)->size;
            if (i < w) i = w;
        }
        for (; i < r->len; i++) {
            q_ent *e = ring_at(r, i);
            if (e->flags & QE_PAGED) continue;
            wr_msg *m = e->msg;
            if (!m->persistent || !m->stored) continue; /* stays in memory */
            if (!q->sops->committed(q->sctx, m)) break;
            e->id = m->id;
            e->flags |= QE_PAGED;
            q->mem_ready--;
            q->mem_bytes -= e->size;
            msg_unref(m);
        }
        r->scanned = i;
    }
}

/* Drops expired messages at the head of every level (dead-letter
 * "expired"). *now is read lazily (-1 = not yet). */
static void q__drop_expired(wr_queue *q, int64_t *now)
{
    for (uint32_t i = 0; i < q->n_levels; i++) {
        q_ring *r = &q->levels[i];
        while (r->len && r->a[r->head].exp >= 0) {
            if (*now < 0) *now = vhost_now_ms(q->vhost);
            if (r->a[r->head].exp > *now) break;
            q_ent e;
            ring_pop_front(r, &e);
            q__unready(q, &e);
            q__drop(q, &e, "expired");
        }
    }
}

/* Takes the next live message (highest priority first), expiring dead heads. */
static bool q__take(wr_queue *q, q_ent *out, int64_t *now)
{
    for (;;) {
        q_ring *r = q__head_ring(q);
        if (!r) return false;
        if ((r->a[r->head].flags & QE_PAGED) && !q__head_loaded(q, r)) {
            if (r->len) return false; /* store read error */
            continue;
        }
        ring_pop_front(r, out);
        q__unready(q, out);
        ring_shrink_if_empty(r);
        if (out->exp >= 0) {
            if (*now < 0) *now = vhost_now_ms(q->vhost);
            /* strictly past: a TTL-0 message still goes to a consumer
             * ready at publish time (RabbitMQ attempt_delivery) */
            if (out->exp < *now) {
                q__drop(q, out, "expired");
                continue;
            }
        }
        return true;
    }
}

static void q__put_back(wr_queue *q, const q_ent *e)
{
    if (ring_insert_sorted(q__level(q, e->msg), e) < 0) {
        msg_unref(e->msg); /* ENOMEM growing a ring that just shrank: cannot happen */
        return;
    }
    q__readied(q, e);
}

static bool q__over_limit(const wr_queue *q, uint32_t extra_n, uint64_t extra_bytes)
{
    if (q->cfg.max_length >= 0 && (int64_t)q->ready + extra_n > q->cfg.max_length) return true;
    if (q->cfg.max_length_bytes >= 0 &&
        (int64_t)(q->ready_bytes + extra_bytes) > q->cfg.max_length_bytes)
        return true;
    return false;
}

/* drop-head: drops from the head until within the limits ("maxlen"). */
static void q__enforce_limits(wr_queue *q)
{
    if (q->cfg.overflow != QUEUE_OVF_DROP_HEAD) return;
    while (q->ready && q__over_limit(q, 0, 0)) {
        q_ring *r = q__head_ring(q);
        q_ent e;
        ring_pop_front(r, &e);
        q__unready(q, &e);
        q__drop(q, &e, "maxlen");
    }
}

/* First consumer with credit (SAC: only the active one). */
static int q__pick(wr_queue *q)
{
    uint32_t n = q->cfg.single_active ? (q->n_cons ? 1 : 0) : q->n_cons;
    for (uint32_t i = 0; i < n; i++) {
        wr_consumer *c = q->cons[i];
        if (c->ops->has_credit(c->ctx)) return (int)i;
    }
    return -1;
}

/* Moves cons[i] behind the other consumers of its priority (round robin). */
static void q__rotate(wr_queue *q, uint32_t i)
{
    if (q->cfg.single_active) return;
    wr_consumer *c = q->cons[i];
    uint32_t j = i;
    while (j + 1 < q->n_cons && q->cons[j + 1]->priority == c->priority) j++;
    if (j == i) return;
    memmove(&q->cons[i], &q->cons[i + 1], (size_t)(j - i) * sizeof(q->cons[0]));
    q->cons[j] = c;
}

static void q__dispatch(wr_queue *q)
{
    if (q->dispatching) {
        q->kick_again = true;
        return;
    }
    q->dispatching = true;
    int64_t now = -1;
    do {
        q->kick_again = false;
        while (q->ready && q->n_cons && !q->deleted) {
            int ci = q__pick(q);
            if (ci < 0) break;
            wr_consumer *c = q->cons[ci];
            const queue_consumer_ops *ops = c->ops;
            void *ctx = c->ctx;
            bool no_ack = c->no_ack;
            q_ent e;
            if (!q__take(q, &e, &now)) break;
            q__rotate(q, (uint32_t)ci);
            if (!no_ack) q->unacked++;
            /* c may be cancelled inside deliver: only the copies are used */
            bool redel = (e.flags & QE_REDELIVERED) != 0;
            int rc = ops->deliver(ctx, q, e.msg, e.qpos, redel);
            if (rc < 0) {
                if (!no_ack) q->unacked--;
                q__put_back(q, &e);
                q->kick_again = false;
                goto out;
            }
            q__handed(q, e.msg, e.qpos, no_ack, redel);
            msg_unref(e.msg);
        }
    } while (q->kick_again && !q->deleted);
out:
    q->dispatching = false;
}

/* ---- lifecycle (vhost.c) -------------------------------------------------- */

wr_queue *queue__new(wr_vhost *v, wr_bytes name, bool durable, bool auto_delete, wr_conn *owner,
                     wr_bytes args)
{
    wr_queue *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->name = malloc(name.len + 1u);
    q->args = malloc(args.len ? args.len : 1u);
    if (!q->name || !q->args) goto fail;
    memcpy(q->name, name.ptr, name.len);
    q->name[name.len] = 0;
    q->name_len = name.len;
    if (args.len) memcpy(q->args, args.ptr, args.len);
    q->args_len = args.len;
    q->vhost = v;
    q->durable = durable;
    q->auto_delete = auto_delete;
    q->owner = owner;
    queue__parse_args((wr_bytes){q->args, q->args_len}, &q->cfg);
    q->n_levels = 1u + q->cfg.max_priority;
    q->levels = calloc(q->n_levels, sizeof(q->levels[0]));
    if (!q->levels) goto fail;
    q->next_qpos = 1;
    q->last_used_ms = vhost_now_ms(v);
    return q;
fail:
    free(q->name);
    free(q->args);
    free(q);
    return NULL;
}

static void q__drop_all_ready(wr_queue *q)
{
    for (uint32_t i = 0; i < q->n_levels; i++) {
        q_ring *r = &q->levels[i];
        while (r->len) {
            q_ent e;
            ring_pop_front(r, &e);
            if (!(e.flags & QE_PAGED)) msg_unref(e.msg);
        }
        r->scanned = 0;
        ring_shrink_if_empty(r);
    }
    q->ready = 0;
    q->ready_bytes = 0;
    q->mem_ready = 0;
    q->mem_bytes = 0;
}

void queue__kill(wr_queue *q)
{
    if (q->deleted) return;
    q->deleted = true;
    if (q->sops && q->durable) q->sops->deleted(q->sctx, q);
    q__drop_all_ready(q);
    /* detach the consumer list first: the callbacks may call back in */
    wr_consumer **cons = q->cons;
    uint32_t n = q->n_cons;
    q->cons = NULL;
    q->n_cons = q->cons_cap = 0;
    q->excl_consumer = false;
    for (uint32_t i = 0; i < n; i++) {
        wr_consumer *c = cons[i];
        c->ops->cancelled(c->ctx);
        free(c);
    }
    free(cons);
}

bool queue__reapable(const wr_queue *q)
{
    return q->deleted && q->unacked == 0 && !q->dispatching;
}

void queue__free(wr_queue *q)
{
    if (!q) return;
    q__drop_all_ready(q);
    for (uint32_t i = 0; i < q->n_cons; i++) free(q->cons[i]);
    free(q->cons);
    for (uint32_t i = 0; i < q->n_levels; i++) free(q->levels[i].a);
    free(q->levels);
    free(q->name);
    free(q->args);
    free(q);
}

wr_queue **queue__next_dead(wr_queue *q)
{
    return &q->next_dead;
}

void queue__touch(wr_queue *q)
{
    if (q->cfg.expires >= 0) q->last_used_ms = vhost_now_ms(q->vhost);
}

/* ---- public --------------------------------------------------------------- */

int queue_publish(wr_queue *q, wr_msg *msg)
{
    if (q->deleted) return QUEUE_PUB_OK;
    if (q->cfg.overflow != QUEUE_OVF_DROP_HEAD && q__over_limit(q, 1, msg->body_len)) {
        if (q->cfg.overflow == QUEUE_OVF_REJECT_DLX && q->cfg.has_dlx)
            queue__dead_letter(q, &q->cfg, msg, "maxlen");
        return QUEUE_PUB_REJECTED;
    }
    q_ent e = {.msg = msg,
               .qpos = q->next_qpos,
               .exp = q__expiry(q, msg),
               .size = q__size32(msg->body_len)};
    if (ring_push_back(q__level(q, msg), &e) < 0) return WR_ENOMEM;
    msg_ref(msg);
    q->next_qpos++;
    q__readied(q, &e);
    /* recorded before any delivery so a settle always follows its enqueue */
    int res = QUEUE_PUB_OK;
    if (q__stored(q, msg) && q->sops->enqueue(q->sctx, q, msg, e.qpos)) res = QUEUE_PUB_STORING;
    if (q->n_cons) q__dispatch(q);
    if (q->ready) {
        q__enforce_limits(q);
        if (e.exp >= 0) {
            int64_t now = -1;
            q__drop_expired(q, &now);
        }
        q__page_out(q);
    }
    return res;
}

void queue_kick(wr_queue *q)
{
    if (!q->deleted && q->ready && q->n_cons) q__dispatch(q);
}

bool queue_get(wr_queue *q, bool no_ack, queue_got *out)
{
    memset(out, 0, sizeof(*out));
    if (q->deleted) return false;
    queue__touch(q);
    int64_t now = -1;
    q_ent e;
    if (!q__take(q, &e, &now)) return false;
    if (!no_ack) q->unacked++;
    bool redel = (e.flags & QE_REDELIVERED) != 0;
    q__handed(q, e.msg, e.qpos, no_ack, redel);
    out->msg = e.msg; /* the queue's reference passes to the caller */
    out->qpos = e.qpos;
    out->redelivered = redel;
    out->remaining = q->ready;
    return true;
}

void queue_ack(wr_queue *q, uint64_t qpos, wr_msg *msg)
{
    if (q->unacked) q->unacked--;
    if (!q->deleted) q__settle(q, msg, qpos);
}

void queue_requeue(wr_queue *q, uint64_t qpos, wr_msg *msg)
{
    if (q->unacked) q->unacked--;
    if (q->deleted) return;
    q_ent e = {.msg = msg,
               .qpos = qpos,
               .exp = q__expiry(q, msg),
               .size = q__size32(msg->body_len),
               .flags = QE_REDELIVERED};
    if (ring_insert_sorted(q__level(q, msg), &e) < 0) return; /* lost on ENOMEM */
    msg_ref(msg);
    q__readied(q, &e);
    q__enforce_limits(q);
    if (q->n_cons) q__dispatch(q);
}

void queue_reject(wr_queue *q, uint64_t qpos, wr_msg *msg)
{
    if (q->unacked) q->unacked--;
    if (q->deleted) return;
    q__settle(q, msg, qpos);
    if (q->cfg.has_dlx) queue__dead_letter(q, &q->cfg, msg, "rejected");
}

bool queue_can_consume(const wr_queue *q, bool exclusive)
{
    if (q->excl_consumer) return false;
    if (exclusive && q->n_cons) return false;
    return true;
}

wr_consumer *queue_consume(wr_queue *q, const queue_consumer_ops *ops, void *ctx, wr_bytes tag,
                           bool no_ack, bool exclusive, int32_t priority, wr_conn *conn)
{
    if (q->deleted) return NULL;
    if (q->n_cons == q->cons_cap) {
        uint32_t ncap = q->cons_cap ? q->cons_cap * 2 : 4;
        wr_consumer **nc = realloc(q->cons, (size_t)ncap * sizeof(*nc));
        if (!nc) return NULL;
        q->cons = nc;
        q->cons_cap = ncap;
    }
    wr_consumer *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->ops = ops;
    c->ctx = ctx;
    c->conn = conn;
    c->no_ack = no_ack;
    c->exclusive = exclusive;
    c->priority = priority;
    c->tag_len = (uint16_t)(tag.len < Q__TAG_MAX ? tag.len : Q__TAG_MAX);
    memcpy(c->tag, tag.ptr, c->tag_len);
    uint32_t at = q->n_cons;
    if (!q->cfg.single_active)
        while (at > 0 && q->cons[at - 1]->priority < priority) at--;
    memmove(&q->cons[at + 1], &q->cons[at], (size_t)(q->n_cons - at) * sizeof(q->cons[0]));
    q->cons[at] = c;
    q->n_cons++;
    if (exclusive) q->excl_consumer = true;
    queue__touch(q);
    return c;
}

void queue_cancel(wr_queue *q, wr_consumer *c)
{
    uint32_t i = 0;
    while (i < q->n_cons && q->cons[i] != c) i++;
    if (i == q->n_cons) return;
    memmove(&q->cons[i], &q->cons[i + 1], (size_t)(q->n_cons - i - 1) * sizeof(q->cons[0]));
    q->n_cons--;
    if (c->exclusive) q->excl_consumer = false;
    free(c);
    if (q->deleted) return;
    if (q->n_cons == 0) {
        queue__touch(q);
        if (q->auto_delete) {
            vhost_queue_delete(q->vhost, q);
            return;
        }
    }
    /* single active consumer: the next one takes over */
    if (q->cfg.single_active && i == 0 && q->n_cons) q__dispatch(q);
}

uint32_t queue_purge(wr_queue *q)
{
    uint32_t n = q->ready;
    if (q->sops && q->durable)
        for (uint32_t i = 0; i < q->n_levels; i++)
            for (uint32_t j = 0; j < q->levels[i].len; j++) {
                q_ent *e = ring_at(&q->levels[i], j);
                if (q__ent_stored(q, e)) q->sops->settle(q->sctx, q, e->qpos);
            }
    q__drop_all_ready(q);
    return n;
}

uint32_t queue_message_count(const wr_queue *q)
{
    return q->ready;
}

uint32_t queue_unacked_count(const wr_queue *q)
{
    return q->unacked;
}

uint32_t queue_consumer_count(const wr_queue *q)
{
    return q->n_cons;
}

wr_bytes queue_name(const wr_queue *q)
{
    return (wr_bytes){(const uint8_t *)q->name, q->name_len};
}

wr_vhost *queue_vhost(const wr_queue *q)
{
    return q->vhost;
}

bool queue_durable(const wr_queue *q)
{
    return q->durable;
}

bool queue_auto_delete(const wr_queue *q)
{
    return q->auto_delete;
}

wr_conn *queue_owner(const wr_queue *q)
{
    return q->owner;
}

bool queue_access_ok(const wr_queue *q, const wr_conn *conn)
{
    return q->owner == NULL || q->owner == conn;
}

wr_bytes queue_arguments(const wr_queue *q)
{
    return (wr_bytes){q->args, q->args_len};
}

bool queue_is_deleted(const wr_queue *q)
{
    return q->deleted;
}

void queue__set_store(wr_queue *q, const queue_store_ops *ops, void *ctx)
{
    q->sops = ops;
    q->sctx = ctx;
}

int queue_recover(wr_queue *q, wr_msg *msg, uint64_t qpos, bool redelivered)
{
    q_ent e = {.msg = msg,
               .qpos = qpos,
               .exp = q__expiry(q, msg),
               .size = q__size32(msg->body_len),
               .flags = redelivered ? QE_REDELIVERED : 0};
    if (ring_insert_sorted(q__level(q, msg), &e) < 0) return WR_ENOMEM;
    msg_ref(msg);
    q__readied(q, &e);
    if (qpos >= q->next_qpos) q->next_qpos = qpos + 1;
    return 0;
}

int queue_recover_paged(wr_queue *q, uint64_t msg_id, uint64_t qpos, bool redelivered,
                        uint8_t priority, int64_t ttl_ms, uint64_t body_len)
{
    int64_t ttl = q->cfg.message_ttl;
    if (ttl_ms >= 0 && (ttl < 0 || ttl_ms < ttl)) ttl = ttl_ms;
    q_ent e = {.id = msg_id,
               .qpos = qpos,
               .exp = ttl < 0 ? -1 : vhost_now_ms(q->vhost) + ttl,
               .size = q__size32(body_len),
               .flags = (uint8_t)(QE_PAGED | (redelivered ? QE_REDELIVERED : 0))};
    uint32_t p = priority < q->n_levels ? priority : q->n_levels - 1;
    q_ring *r = &q->levels[p];
    /* recovery comes in ascending qpos: append, and count it as scanned */
    bool tail = r->len == 0 || ring_at(r, r->len - 1)->qpos < qpos;
    bool all_scanned = r->scanned == r->len;
    int rc = tail ? ring_push_back(r, &e) : ring_insert_sorted(r, &e);
    if (rc < 0) return WR_ENOMEM;
    if (tail && all_scanned) r->scanned = r->len;
    q__readied(q, &e);
    if (qpos >= q->next_qpos) q->next_qpos = qpos + 1;
    return 0;
}

uint32_t queue_in_memory_count(const wr_queue *q)
{
    return q->mem_ready;
}

void queue_set_store_id(wr_queue *q, uint64_t id)
{
    q->store_id = id;
}

uint64_t queue_store_id(const wr_queue *q)
{
    return q->store_id;
}

void queue_touch(wr_queue *q)
{
    queue__touch(q);
}

bool queue_tick(wr_queue *q, int64_t now_ms)
{
    if (q->deleted) return false;
    if (q->ready) {
        int64_t now = now_ms;
        q__drop_expired(q, &now);
        q__page_out(q);
    }
    return q->cfg.expires >= 0 && q->n_cons == 0 && now_ms - q->last_used_ms >= q->cfg.expires;
}
