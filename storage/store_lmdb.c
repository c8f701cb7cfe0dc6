/* store_lmdb.c: the LMDB implementation of storage/store.h.
 *
 * Loop side: operations are encoded into the current batch (a wr_buf of
 * fixed headers plus payload). store_commit marks the batch as wanted and
 * starts a uv_prepare handle; at the end of the loop iteration the prepare
 * callback hands the batch to the storage thread if none is being written.
 * Storage side: one write transaction per batch, one fsync at commit; map
 * growth and retry on MDB_MAP_FULL; the finished batch goes back through a
 * uv_async and its callbacks run on the loop thread in order.
 *
 * Two batch objects suffice: one filling on the loop thread, one out on the
 * storage thread (at most one batch is out at a time, which also keeps the
 * order of batches on disk equal to the order of store_commit calls).
 * Layout on disk: docs/STORAGE.md. */
#include "storage/store.h"

#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"

#define STORE_DEFAULT_MAP  ((size_t)64 << 20)
#define STORE_DEFAULT_MAX  ((size_t)256 << 30)
#define STORE_MIN_MAP      ((size_t)1 << 20)
#define STORE_CLOSE_ROUNDS 64
#define STORE_KEEP_BYTES   ((size_t)4 << 20)
#define STORE_KEEP_CBS     65536
#define STORE_CHUNK_BYTES  ((size_t)32 << 20)
#define STORE_META_FORMAT  "format"

enum store_op_type {
    STORE_OP_DEF_PUT = 1,
    STORE_OP_DEF_DEL,
    STORE_OP_MSG_PUT,
    STORE_OP_ENQ,
    STORE_OP_DELIVERED,
    STORE_OP_ACK,
    STORE_OP_PURGE,
};

/* One encoded operation; payload (len1 + len2 bytes) follows, the whole
 * padded to 8 bytes. Copied in and out with memcpy (no alignment needed). */
typedef struct store_op {
    uint8_t type;
    uint8_t kind;
    uint8_t flags;
    uint8_t pad;
    uint32_t len1; /* def key / record length */
    uint64_t a;    /* queue id or msg id */
    uint64_t b;    /* seq */
    uint64_t c;    /* msg id (enqueue) */
    uint64_t len2; /* def value length */
} store_op;

typedef struct store_cbent {
    store_done_cb cb;
    void *ctx;
} store_cbent;

typedef struct store_batch {
    wr_buf ops;
    uint64_t nops;
    store_cbent *cbs;
    size_t ncbs, cbcap;
    int status;
} store_batch;

struct store {
    uv_loop_t *loop;
    uv_async_t async;
    uv_prepare_t prepare;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;        /* storage thread waits for work */
    uv_cond_t done_cv;   /* store_close waits for a finished batch */
    uv_rwlock_t maplock; /* readers: read txns; writer: map resize / reopen */
    MDB_env *env;
    MDB_dbi dbi_meta, dbi_defs, dbi_msgs, dbi_refs, dbi_qidx;
    char *dir;
    int lockfd;               /* flock'ed warren.lock: one process per data directory */
    size_t map_size, map_max; /* map_size: storage thread after open */
    /* store__trim_map (trim_mu; any thread) */
    uv_mutex_t trim_mu;
    uint64_t last_trim_ns;
    MDB_env *map_env; /* env and map size the cached address is for */
    size_t map_for, map_len;
    void *map_addr;
    _Atomic uint64_t read_bytes; /* read through the map since the last trim */

    /* loop thread */
    store_batch batches[2];
    store_batch *cur;
    bool busy, want, closing, in_dispatch, blocked;
    int last_err;
    int handles_open;
    uint64_t last_msg_id;
    store_stats st;

    /* under mu */
    store_batch *todo, *done;
    bool stop, paused, thread_started;
    int fail_rc;
    unsigned fail_count;
    uint64_t t_retries;
    uint64_t t_txns;
    uint64_t t_map_size;
};

/* ---- helpers ---- */

static inline void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int store__mdb_err(int rc)
{
    if (rc == MDB_MAP_FULL || rc == ENOSPC) return WR_EFULL;
    return WR_ESTORE;
}

/* Empties a batch; memory is kept for the next one unless a burst made it
 * large (a 50 MiB batch should not pin 50 MiB forever). */
static void store__batch_reset(store_batch *b)
{
    if (b->ops.cap > STORE_KEEP_BYTES)
        wr_buf_free(&b->ops);
    else
        wr_buf_reset(&b->ops);
    if (b->cbcap > STORE_KEEP_CBS) {
        free(b->cbs);
        b->cbs = NULL;
        b->cbcap = 0;
    }
    b->nops = 0;
    b->ncbs = 0;
    b->status = 0;
}

static void store__batch_free(store_batch *b)
{
    wr_buf_free(&b->ops);
    free(b->cbs);
    b->cbs = NULL;
    b->ncbs = b->cbcap = 0;
}

/* ---- env open (shared by store_open and the panic reopen) ---- */

static int store__open_dbis(store *s, MDB_txn *txn)
{
    static const char *names[] = {"meta", "defs", "msgs", "refs", "qidx"};
    MDB_dbi *dbis[] = {&s->dbi_meta, &s->dbi_defs, &s->dbi_msgs, &s->dbi_refs, &s->dbi_qidx};
    for (size_t i = 0; i < 5; i++) {
        int rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
        if (rc) {
            wr_error("store: cannot open table %s in %s: %s", names[i], s->dir, mdb_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static int store__env_open(store *s)
{
    int rc = mdb_env_create(&s->env);
    if (rc) goto fail;
    if ((rc = mdb_env_set_maxdbs(s->env, 8))) goto fail;
    if ((rc = mdb_env_set_mapsize(s->env, s->map_size))) goto fail;
    if ((rc = mdb_env_open(s->env, s->dir, 0, 0640))) goto fail;
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize; /* the data already needs more than configured */
    if (s->map_max < s->map_size) s->map_max = s->map_size;
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    if (dead) wr_info("store: cleared %d stale reader slot(s)", dead);
    return 0;
fail:
    wr_error("store: cannot open LMDB environment in %s: %s", s->dir, mdb_strerror(rc));
    if (s->env) mdb_env_close(s->env);
    s->env = NULL;
    return rc;
}

/* Checks the format record, or writes it into an empty env. Runs in the
 * open transaction. Returns 0 or WR_ESTORE (logged). */
static int store__check_format(store *s, MDB_txn *txn)
{
    MDB_val k = {strlen(STORE_META_FORMAT), (void *)STORE_META_FORMAT}, v;
    int rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        MDB_stat a, b, c;
        if (mdb_stat(txn, s->dbi_defs, &a) || mdb_stat(txn, s->dbi_msgs, &b) ||
            mdb_stat(txn, s->dbi_qidx, &c))
            return WR_ESTORE;
        if (a.ms_entries || b.ms_entries || c.ms_entries) {
            wr_error("store: %s holds data but no format record; refusing to use it", s->dir);
            return WR_ESTORE;
        }
        uint8_t fv[4];
        be32_put(fv, STORE_FORMAT_VERSION);
        v.mv_size = 4;
        v.mv_data = fv;
        rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
        if (rc) {
            wr_error("store: cannot write format record in %s: %s", s->dir, mdb_strerror(rc));
            return WR_ESTORE;
        }
        wr_info("store: initialised new data directory %s (format %d)", s->dir,
                STORE_FORMAT_VERSION);
        return 0;
    }
    if (rc) {
        wr_error("store: cannot read format record in %s: %s", s->dir, mdb_strerror(rc));
        return WR_ESTORE;
    }
    if (v.mv_size != 4) {
        wr_error("store: format record in %s is corrupt (%zu bytes)", s->dir, v.mv_size);
        return WR_ESTORE;
    }
    uint32_t fmt = be32_get(v.mv_data);
    if (fmt != STORE_FORMAT_VERSION) {
        wr_error("store: data directory %s was written in storage format %" PRIu32
                 "; this build reads format %d only",
                 s->dir, fmt, STORE_FORMAT_VERSION);
        return WR_ESTORE;
    }
    return 0;
}

/* Deletes bodies without a refs record. A crash cannot leave one (a body and
 * its references commit together); a put without any enqueue can. Sets
 * last_msg_id. Returns 0 or an LMDB code. */
static void *store__map_find(store *s, size_t *len);

static int store__sweep(store *s, MDB_txn *txn, uint64_t *swept)
{
    void *map = NULL;
    size_t maplen = 0;
    uint64_t seen = 0;
    MDB_cursor *c;
    MDB_val k, v, rv;
    int rc = mdb_cursor_open(txn, s->dbi_msgs, &c);
    if (rc) return rc;
    *swept = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8) s->last_msg_id = be64_get(k.mv_data);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        /* a large store: keep the walked pages out of the resident set
         * (store__trim_map; the storage thread is not running yet) */
        if ((++seen & 16383u) == 0) {
            if (!map) map = store__map_find(s, &maplen);
            if (map) (void)madvise(map, maplen, MADV_DONTNEED);
        }
        int g = mdb_get(txn, s->dbi_refs, &k, &rv);
        if (g == MDB_NOTFOUND) {
            if ((rc = mdb_cursor_del(c, 0))) break;
            (*swept)++;
        } else if (g) {
            rc = g;
            break;
        }
    }
    mdb_cursor_close(c);
    if (map) (void)madvise(map, maplen, MADV_DONTNEED);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- storage thread: applying a batch ---- */

static int store__deref(store *s, MDB_txn *txn, uint64_t msg_id)
{
    uint8_t kb[8];
    be64_put(kb, msg_id);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->dbi_refs, &k, &v);
    if (rc == 0 && v.mv_size == 4 && be32_get(v.mv_data) > 1) {
        uint8_t nb[4];
        be32_put(nb, be32_get(v.mv_data) - 1);
        MDB_val nv = {4, nb};
        return mdb_put(txn, s->dbi_refs, &k, &nv, 0);
    }
    if (rc && rc != MDB_NOTFOUND) return rc;
    if (rc == 0 && (rc = mdb_del(txn, s->dbi_refs, &k, NULL))) return rc;
    rc = mdb_del(txn, s->dbi_msgs, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int store__addref(store *s, MDB_txn *txn, uint64_t msg_id)
{
    uint8_t kb[8], nb[4];
    be64_put(kb, msg_id);
    MDB_val k = {8, kb}, v;
    uint32_t n = 0;
    int rc = mdb_get(txn, s->dbi_refs, &k, &v);
    if (rc == 0 && v.mv_size == 4)
        n = be32_get(v.mv_data);
    else if (rc && rc != MDB_NOTFOUND)
        return rc;
    be32_put(nb, n + 1);
    MDB_val nv = {4, nb};
    return mdb_put(txn, s->dbi_refs, &k, &nv, 0);
}

static int store__purge(store *s, MDB_txn *txn, uint64_t qid)
{
    MDB_cursor *c;
    uint8_t kb[16];
    int rc = mdb_cursor_open(txn, s->dbi_qidx, &c);
    if (rc) return rc;
    for (;;) {
        be64_put(kb, qid);
        be64_put(kb + 8, 0);
        MDB_val k = {16, kb}, v;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc) break;
        if (k.mv_size != 16 || be64_get(k.mv_data) != qid) break;
        uint64_t mid = v.mv_size >= 8 ? be64_get(v.mv_data) : 0;
        bool has = v.mv_size >= 8;
        if ((rc = mdb_cursor_del(c, 0))) break;
        if (has && (rc = store__deref(s, txn, mid))) break;
    }
    mdb_cursor_close(c);
    return rc;
}

/* Applies the ops of b from byte offset `from`, stopping after the op that
 * crosses `limit` bytes of encoded ops; *next = where the next chunk starts
 * (b->ops.len when all are applied). */
/* Bytes read by store_read_msgs after which the map is trimmed (a lazy
 * queue draining a backlog reads through the map fast). */
#define STORE_TRIM_READ ((uint64_t)16 << 20)

static void store__trim_map(store *s, bool locked);

static int store__apply(store *s, MDB_txn *txn, const store_batch *b, size_t from, size_t limit,
                        size_t *next)
{
    uint32_t nops = 0;
    if (b->ops.len == 0) { /* only commit callbacks: an empty transaction */
        *next = 0;
        return 0;
    }
    const uint8_t *p = b->ops.data + from, *end = b->ops.data + b->ops.len;
    const uint8_t *stop = limit >= (size_t)(end - p) ? end : p + limit;
    while (p < end) {
        if (p >= stop) break;
        if ((++nops & 1023u) == 0) store__trim_map(s, false); /* a long batch reads many pages */
        store_op op;
        memcpy(&op, p, sizeof op);
        const uint8_t *pl = p + sizeof op;
        size_t total = sizeof op + op.len1 + (size_t)op.len2;
        p += (total + 7) & ~(size_t)7;
        uint8_t kb[1 + STORE_MAX_DEF_KEY];
        MDB_val k, v;
        int rc = 0;
        switch (op.type) {
        case STORE_OP_DEF_PUT:
        case STORE_OP_DEF_DEL:
            kb[0] = op.kind;
            memcpy(kb + 1, pl, op.len1);
            k.mv_size = 1 + op.len1;
            k.mv_data = kb;
            if (op.type == STORE_OP_DEF_PUT) {
                v.mv_size = op.len2;
                v.mv_data = (void *)(pl + op.len1);
                rc = mdb_put(txn, s->dbi_defs, &k, &v, 0);
            } else {
                rc = mdb_del(txn, s->dbi_defs, &k, NULL);
                if (rc == MDB_NOTFOUND) rc = 0;
            }
            break;
        case STORE_OP_MSG_PUT:
            be64_put(kb, op.a);
            k.mv_size = 8;
            k.mv_data = kb;
            v.mv_size = op.len1;
            v.mv_data = (void *)pl;
            rc = mdb_put(txn, s->dbi_msgs, &k, &v, 0);
            break;
        case STORE_OP_ENQ: {
            uint8_t vb[9];
            be64_put(kb, op.a);
            be64_put(kb + 8, op.b);
            be64_put(vb, op.c);
            vb[8] = op.flags;
            k.mv_size = 16;
            k.mv_data = kb;
            v.mv_size = 9;
            v.mv_data = vb;
            rc = mdb_put(txn, s->dbi_qidx, &k, &v, MDB_NOOVERWRITE);
            if (rc == MDB_KEYEXIST) {
                wr_warn("store: queue %" PRIu64 " seq %" PRIu64 " enqueued twice; kept the first",
                        op.a, op.b);
                rc = 0;
            } else if (rc == 0) {
                rc = store__addref(s, txn, op.c);
            }
            break;
        }
        case STORE_OP_DELIVERED:
        case STORE_OP_ACK:
            be64_put(kb, op.a);
            be64_put(kb + 8, op.b);
            k.mv_size = 16;
            k.mv_data = kb;
            rc = mdb_get(txn, s->dbi_qidx, &k, &v);
            if (rc == MDB_NOTFOUND) {
                rc = 0;
                break;
            }
            if (rc) break;
            if (v.mv_size != 9) {
                wr_warn("store: bad index entry for queue %" PRIu64 " seq %" PRIu64, op.a, op.b);
                rc = mdb_del(txn, s->dbi_qidx, &k, NULL);
                break;
            }
            if (op.type == STORE_OP_DELIVERED) {
                uint8_t vb[9];
                memcpy(vb, v.mv_data, 9);
                if (vb[8] & STORE_F_DELIVERED) break;
                vb[8] |= STORE_F_DELIVERED;
                v.mv_data = vb;
                rc = mdb_put(txn, s->dbi_qidx, &k, &v, 0);
            } else {
                uint64_t mid = be64_get(v.mv_data);
                rc = mdb_del(txn, s->dbi_qidx, &k, NULL);
                if (rc == 0) rc = store__deref(s, txn, mid);
            }
            break;
        case STORE_OP_PURGE:
            rc = store__purge(s, txn, op.a);
            break;
        default:
            wr_error("store: unknown batch op %u", op.type);
            return MDB_CORRUPTED;
        }
        if (rc) return rc;
    }
    *next = (size_t)(p - b->ops.data);
    return 0;
}

/* Closes and reopens the env after MDB_PANIC (a failed meta write leaves
 * LMDB unusable until reopened). Caller holds no transaction. */
static int store__reopen(store *s)
{
    uv_rwlock_wrlock(&s->maplock);
    mdb_env_close(s->env);
    s->env = NULL;
    int rc = store__env_open(s);
    if (rc == 0) {
        MDB_txn *txn;
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc == 0) {
            rc = store__open_dbis(s, txn);
            if (rc == 0)
                rc = mdb_txn_commit(txn);
            else
                mdb_txn_abort(txn);
        }
    }
    uv_rwlock_wrunlock(&s->maplock);
    if (rc)
        wr_error("store: reopening %s failed: %s", s->dir, mdb_strerror(rc));
    else
        wr_warn("store: reopened %s after a fatal LMDB error", s->dir);
    return rc;
}

static int store__take_injected(store *s)
{
    int rc = 0;
    uv_mutex_lock(&s->mu);
    if (s->fail_count) {
        s->fail_count--;
        rc = s->fail_rc;
    }
    uv_mutex_unlock(&s->mu);
    return rc;
}

/* Finds the address and length of the env's map in /proc/self/maps (LMDB
 * reports the map address only with MDB_FIXEDMAP). Returns NULL when not
 * found. Storage thread, maplock held. */
static void *store__map_find(store *s, size_t *len)
{
    mdb_filehandle_t fd;
    struct stat sb;
    if (mdb_env_get_fd(s->env, &fd) || fstat(fd, &sb)) return NULL;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return NULL;
    char line[512];
    void *addr = NULL;
    *len = 0;
    while (fgets(line, sizeof(line), f)) { /* the largest mapping of the data file */
        unsigned long lo, hi, off, ino;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %lx %*s %lu", &lo, &hi, perms, &off, &ino) != 5) continue;
        if (off == 0 && ino == (unsigned long)sb.st_ino && hi - lo > *len) {
            addr = (void *)lo;
            *len = hi - lo;
        }
    }
    fclose(f);
    return addr;
}

/* Drops the map's pages from this process's page tables (at most every
 * 50 ms; also during a long batch: the txn's own changes are in its
 * malloc'ed dirty pages, not in the map). Write transactions copy the pages they change out of the
 * read-only map and reads fault records in through it, and the kernel maps
 * 64 KiB around each fault: without this a large store shows up as resident
 * memory (file-backed RSS) as big as the data written. The pages stay in
 * the page cache; the next access maps them again. Safe with concurrent
 * readers: the file content of pages a live reader can see does not change,
 * and the maplock keeps the map in place. */
/* locked: the caller holds the maplock (read side, e.g. inside a read txn). */
static void store__trim_map(store *s, bool locked)
{
    uint64_t now = uv_hrtime();
    if (uv_mutex_trylock(&s->trim_mu)) return; /* another thread is at it */
    if (now - s->last_trim_ns < 50000000u &&
        atomic_load_explicit(&s->read_bytes, memory_order_relaxed) < STORE_TRIM_READ) {
        uv_mutex_unlock(&s->trim_mu);
        return;
    }
    s->last_trim_ns = now;
    atomic_store_explicit(&s->read_bytes, 0, memory_order_relaxed);
    if (!locked) uv_rwlock_rdlock(&s->maplock);
    if (s->env && (s->map_env != s->env || s->map_for != s->map_size)) {
        s->map_env = s->env;
        s->map_for = s->map_size;
        s->map_addr = store__map_find(s, &s->map_len);
    }
    if (s->env && s->map_addr) (void)madvise(s->map_addr, s->map_len, MADV_DONTNEED);
    if (!locked) uv_rwlock_rdunlock(&s->maplock);
    uv_mutex_unlock(&s->trim_mu);
}

/* Writes batch b in one transaction (one fsync), growing the map on
 * MDB_MAP_FULL. A batch too large for one LMDB transaction (MDB_TXN_FULL)
 * is written in chunks of STORE_CHUNK_BYTES, one transaction each. Returns
 * 0, WR_EFULL or WR_ESTORE (logged). */
static int store__write(store *s, store_batch *b, uint64_t *retries, uint64_t *txns)
{
    bool reopened = false;
    size_t from = 0, limit = SIZE_MAX;
    for (;;) {
        if (!s->env && store__reopen(s)) return WR_ESTORE;
        MDB_txn *txn = NULL;
        size_t next = from;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc == MDB_PANIC && !reopened) {
            reopened = true;
            if (store__reopen(s)) return WR_ESTORE;
            continue;
        }
        if (rc == 0) {
            rc = store__apply(s, txn, b, from, limit, &next);
            int inj = rc ? 0 : store__take_injected(s);
            if (rc || inj) {
                mdb_txn_abort(txn);
                if (inj) rc = inj;
            } else {
                rc = mdb_txn_commit(txn);
                if (rc == 0) (*txns)++;
            }
        }
        if (rc == 0) {
            if (next >= b->ops.len) {
                store__trim_map(s, false);
                return 0;
            }
            from = next; /* chunked: continue with the next chunk */
            continue;
        }
        if (rc == MDB_TXN_FULL && limit > STORE_CHUNK_BYTES) {
            wr_warn("store: batch of %" PRIu64 " operations (%zu bytes) too large for one "
                    "transaction; writing it in chunks",
                    b->nops, b->ops.len);
            limit = STORE_CHUNK_BYTES;
            continue;
        }
        if (rc == MDB_MAP_FULL) {
            if (s->map_size >= s->map_max) {
                wr_error("store: map of %s is full at its cap of %zu MiB; batch of %" PRIu64
                         " operations not written",
                         s->dir, s->map_size >> 20, b->nops);
                return WR_EFULL;
            }
            size_t want = s->map_size > s->map_max / 2 ? s->map_max : s->map_size * 2;
            uv_rwlock_wrlock(&s->maplock);
            int r = mdb_env_set_mapsize(s->env, want);
            uv_rwlock_wrunlock(&s->maplock);
            if (r) {
                wr_error("store: growing the map of %s to %zu MiB failed: %s", s->dir, want >> 20,
                         mdb_strerror(r));
                return WR_EFULL;
            }
            wr_info("store: map of %s grown from %zu to %zu MiB", s->dir, s->map_size >> 20,
                    want >> 20);
            s->map_size = want;
            (*retries)++;
            continue;
        }
        wr_error("store: writing a batch of %" PRIu64 " operations to %s failed: %s", b->nops,
                 s->dir, mdb_strerror(rc));
        return store__mdb_err(rc);
    }
}

static void store__thread(void *arg)
{
    store *s = arg;
    for (;;) {
        uv_mutex_lock(&s->mu);
        while (!s->todo && !s->stop) uv_cond_wait(&s->cv, &s->mu);
        if (!s->todo) {
            uv_mutex_unlock(&s->mu);
            break;
        }
        store_batch *b = s->todo;
        s->todo = NULL;
        while (s->paused) uv_cond_wait(&s->cv, &s->mu);
        uv_mutex_unlock(&s->mu);

        uint64_t retries = 0, txns = 0;
        b->status = store__write(s, b, &retries, &txns);

        uv_mutex_lock(&s->mu);
        s->t_retries += retries;
        s->t_txns += txns;
        s->t_map_size = s->map_size;
        s->done = b;
        uv_cond_broadcast(&s->done_cv);
        uv_mutex_unlock(&s->mu);
        uv_async_send(&s->async);
    }
}

/* ---- loop side ---- */

static void store__handoff(store *s)
{
    store_batch *b = s->cur;
    s->cur = b == &s->batches[0] ? &s->batches[1] : &s->batches[0];
    s->want = false;
    s->busy = true;
    uv_ref((uv_handle_t *)&s->async);
    uv_mutex_lock(&s->mu);
    s->todo = b;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
}

static void store__kick(store *s);

/* Takes a finished batch (if any) and runs its callbacks. */
static void store__finish(store *s)
{
    uv_mutex_lock(&s->mu);
    store_batch *b = s->done;
    s->done = NULL;
    uint64_t retries = s->t_retries;
    uint64_t txns = s->t_txns;
    uint64_t map = s->t_map_size;
    uv_mutex_unlock(&s->mu);
    if (!b) return;
    s->busy = false;
    uv_unref((uv_handle_t *)&s->async);
    s->st.retries = retries;
    s->st.txns = txns;
    s->st.map_size = map;
    if (b->status == 0) {
        s->st.commits++;
        s->st.ops += b->nops;
        s->blocked = false;
        s->last_err = 0;
    } else {
        s->st.failed++;
        s->blocked = true;
        s->last_err = b->status;
    }
    s->in_dispatch = true;
    for (size_t i = 0; i < b->ncbs; i++) {
        s->st.callbacks++;
        if (b->cbs[i].cb) b->cbs[i].cb(b->cbs[i].ctx, b->status);
    }
    s->in_dispatch = false;
    store__batch_reset(b);
    if (s->want && !s->closing) store__kick(s);
}

static void store__async_cb(uv_async_t *h)
{
    store *s = h->data;
    store__finish(s);
}

static void store__prepare_cb(uv_prepare_t *h)
{
    store *s = h->data;
    uv_prepare_stop(h);
    if (s->want && !s->busy) store__handoff(s);
}

static void store__kick(store *s)
{
    if (!uv_is_active((uv_handle_t *)&s->prepare)) uv_prepare_start(&s->prepare, store__prepare_cb);
}

static void store__handle_closed(uv_handle_t *h)
{
    store *s = h->data;
    if (--s->handles_open == 0) {
        store__batch_free(&s->batches[0]);
        store__batch_free(&s->batches[1]);
        uv_mutex_destroy(&s->mu);
        uv_mutex_destroy(&s->trim_mu);
        uv_cond_destroy(&s->cv);
        uv_cond_destroy(&s->done_cv);
        uv_rwlock_destroy(&s->maplock);
        free(s->dir);
        free(s);
    }
}

static void store__free_early(store *s)
{
    if (s->env) mdb_env_close(s->env);
    if (s->lockfd >= 0) close(s->lockfd);
    store__batch_free(&s->batches[0]);
    store__batch_free(&s->batches[1]);
    free(s->dir);
    free(s);
}

/* Takes an exclusive flock on <dir>/warren.lock so that a second process
 * (an old pod still running, a stray rabbitmqctl) cannot open the same
 * store. Released by the kernel when the process dies. */
static int store__lock_dir(store *s)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/warren.lock", s->dir) >= (int)sizeof path) {
        wr_error("store: data directory path too long: %s", s->dir);
        return -1;
    }
    s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lockfd < 0) {
        wr_error("store: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            wr_error("store: data directory %s is in use (warren.lock is held by another store)",
                     s->dir);
        else
            wr_error("store: cannot lock %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int store_open(uv_loop_t *loop, const store_opts *o, store **out)
{
    if (!loop || !o || !o->dir || !*o->dir || !out) return WR_EINVAL;
    *out = NULL;
    uint64_t t0 = uv_hrtime();
    store *s = calloc(1, sizeof *s);
    if (!s) return WR_ENOMEM;
    s->loop = loop;
    s->dir = strdup(o->dir);
    if (!s->dir) {
        free(s);
        return WR_ENOMEM;
    }
    s->map_size = o->map_size ? o->map_size : STORE_DEFAULT_MAP;
    if (s->map_size < STORE_MIN_MAP) s->map_size = STORE_MIN_MAP;
    s->map_max = o->map_max ? o->map_max : STORE_DEFAULT_MAX;
    if (s->map_max < s->map_size) s->map_max = s->map_size;
    wr_buf_init(&s->batches[0].ops);
    wr_buf_init(&s->batches[1].ops);
    s->cur = &s->batches[0];
    s->lockfd = -1;

    if (mkdir(s->dir, 0750) != 0 && errno != EEXIST) {
        wr_error("store: cannot create data directory %s: %s", s->dir, strerror(errno));
        store__free_early(s);
        return WR_EIO;
    }
    if (store__lock_dir(s)) {
        store__free_early(s);
        return WR_ESTORE;
    }
    if (store__env_open(s)) {
        store__free_early(s);
        return WR_ESTORE;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) {
        wr_error("store: cannot begin a transaction in %s: %s", s->dir, mdb_strerror(rc));
        store__free_early(s);
        return WR_ESTORE;
    }
    uint64_t swept = 0;
    int err = 0;
    if (store__open_dbis(s, txn)) err = WR_ESTORE;
    if (!err) err = store__check_format(s, txn);
    if (!err && (rc = store__sweep(s, txn, &swept))) {
        wr_error("store: scanning message bodies in %s failed: %s", s->dir, mdb_strerror(rc));
        err = WR_ESTORE;
    }
    MDB_stat sm = {0}, sq = {0}, sd = {0};
    if (!err) {
        mdb_stat(txn, s->dbi_msgs, &sm);
        mdb_stat(txn, s->dbi_qidx, &sq);
        mdb_stat(txn, s->dbi_defs, &sd);
        if ((rc = mdb_txn_commit(txn))) {
            wr_error("store: committing the open transaction in %s failed: %s", s->dir,
                     mdb_strerror(rc));
            err = WR_ESTORE;
        }
    } else {
        mdb_txn_abort(txn);
    }
    if (err) {
        store__free_early(s);
        return err;
    }

    uv_mutex_init(&s->mu);
    uv_mutex_init(&s->trim_mu);
    uv_cond_init(&s->cv);
    uv_cond_init(&s->done_cv);
    uv_rwlock_init(&s->maplock);
    uv_async_init(loop, &s->async, store__async_cb);
    uv_prepare_init(loop, &s->prepare);
    s->async.data = s;
    s->prepare.data = s;
    s->handles_open = 2;
    uv_unref((uv_handle_t *)&s->async);
    s->t_map_size = s->map_size;
    s->st.map_size = s->map_size;
    if (uv_thread_create(&s->thread, store__thread, s) != 0) {
        wr_error("store: cannot start the storage thread");
        mdb_env_close(s->env);
        s->env = NULL;
        close(s->lockfd);
        s->lockfd = -1;
        uv_close((uv_handle_t *)&s->async, store__handle_closed);
        uv_close((uv_handle_t *)&s->prepare, store__handle_closed);
        return WR_ENOMEM;
    }
    s->thread_started = true;
    wr_info("store: opened %s (format %d, map %zu MiB): %zu definitions, %zu messages, %zu queue "
            "index entries, %" PRIu64 " unreferenced bodies removed, in %.1f ms",
            s->dir, STORE_FORMAT_VERSION, s->map_size >> 20, sd.ms_entries, sm.ms_entries,
            sq.ms_entries, swept, (double)(uv_hrtime() - t0) / 1e6);
    *out = s;
    return 0;
}

/* Blocks until the batch out on the storage thread is back, then runs its
 * callbacks. */
static void store__wait_finish(store *s)
{
    if (!s->busy) return;
    uv_mutex_lock(&s->mu);
    while (!s->done) uv_cond_wait(&s->done_cv, &s->mu);
    uv_mutex_unlock(&s->mu);
    store__finish(s);
}

int store_close(store *s)
{
    if (!s) return 0;
    if (s->in_dispatch) return WR_EINVAL;
    store_test_pause(s, false);
    for (int round = 0; round < STORE_CLOSE_ROUNDS; round++) {
        store__wait_finish(s);
        if (s->cur->nops == 0 && s->cur->ncbs == 0) break;
        if (round == STORE_CLOSE_ROUNDS - 1) s->closing = true;
        store__handoff(s);
    }
    store__wait_finish(s);
    s->closing = true;
    uv_mutex_lock(&s->mu);
    s->stop = true;
    s->paused = false;
    uv_cond_signal(&s->cv);
    uv_mutex_unlock(&s->mu);
    if (s->thread_started) uv_thread_join(&s->thread);
    if (s->env) mdb_env_close(s->env);
    s->env = NULL;
    if (s->lockfd >= 0) close(s->lockfd);
    s->lockfd = -1;
    wr_info("store: closed %s after %" PRIu64 " commits (%" PRIu64 " operations, %" PRIu64
            " failed batches)",
            s->dir, s->st.commits, s->st.ops, s->st.failed);
    uv_close((uv_handle_t *)&s->async, store__handle_closed);
    uv_close((uv_handle_t *)&s->prepare, store__handle_closed);
    return 0;
}

/* Every operation is written in the next batch even without a commit
 * request: mark the batch wanted and make sure it leaves at the end of this
 * loop iteration (or when the batch being written comes back). */
static inline void store__want(store *s)
{
    s->want = true;
    if (!s->busy && !uv_is_active((uv_handle_t *)&s->prepare))
        uv_prepare_start(&s->prepare, store__prepare_cb);
}

/* Appends one op with payload p1/p2 to the current batch. */
static int store__push(store *s, const store_op *op, const void *p1, size_t n1, const void *p2,
                       size_t n2)
{
    if (s->closing) return WR_ECLOSED;
    size_t total = sizeof *op + n1 + n2;
    size_t padded = (total + 7) & ~(size_t)7;
    wr_buf *b = &s->cur->ops;
    if (wr_buf_reserve(b, padded)) return WR_ENOMEM;
    uint8_t *w = b->data + b->len;
    memcpy(w, op, sizeof *op);
    if (n1) memcpy(w + sizeof *op, p1, n1);
    if (n2) memcpy(w + sizeof *op + n1, p2, n2);
    if (padded > total) memset(w + total, 0, padded - total);
    b->len += padded;
    s->cur->nops++;
    store__want(s);
    return 0;
}

int store_put_def(store *s, uint8_t kind, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    if (!s || !key || klen == 0 || (vlen && !val)) return WR_EINVAL;
    if (klen > STORE_MAX_DEF_KEY || vlen > STORE_MAX_RECORD) return WR_ETOOBIG;
    store_op op = {.type = STORE_OP_DEF_PUT, .kind = kind, .len1 = (uint32_t)klen, .len2 = vlen};
    return store__push(s, &op, key, klen, val, vlen);
}

int store_del_def(store *s, uint8_t kind, const void *key, size_t klen)
{
    if (!s || !key || klen == 0) return WR_EINVAL;
    if (klen > STORE_MAX_DEF_KEY) return WR_ETOOBIG;
    store_op op = {.type = STORE_OP_DEF_DEL, .kind = kind, .len1 = (uint32_t)klen};
    return store__push(s, &op, key, klen, NULL, 0);
}

int store_put_msg(store *s, uint64_t msg_id, const void *rec, size_t len)
{
    if (!s || (len && !rec)) return WR_EINVAL;
    if (len > STORE_MAX_RECORD) return WR_ETOOBIG;
    store_op op = {.type = STORE_OP_MSG_PUT, .a = msg_id, .len1 = (uint32_t)len};
    return store__push(s, &op, rec, len, NULL, 0);
}

int store_put_msgv(store *s, uint64_t msg_id, const store_iov *iov, size_t n)
{
    if (!s || (n && !iov)) return WR_EINVAL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].len && !iov[i].p) return WR_EINVAL;
        len += iov[i].len;
        if (len > STORE_MAX_RECORD) return WR_ETOOBIG;
    }
    if (s->closing) return WR_ECLOSED;
    store_op op = {.type = STORE_OP_MSG_PUT, .a = msg_id, .len1 = (uint32_t)len};
    size_t padded = (sizeof op + len + 7) & ~(size_t)7;
    wr_buf *b = &s->cur->ops;
    if (wr_buf_reserve(b, padded)) return WR_ENOMEM;
    uint8_t *w = b->data + b->len;
    memcpy(w, &op, sizeof op);
    size_t off = sizeof op;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].len) memcpy(w + off, iov[i].p, iov[i].len);
        off += iov[i].len;
    }
    if (padded > off) memset(w + off, 0, padded - off);
    b->len += padded;
    s->cur->nops++;
    store__want(s);
    return 0;
}

int store_enqueue(store *s, uint64_t queue_id, uint64_t seq, uint64_t msg_id, uint8_t flags)
{
    if (!s) return WR_EINVAL;
    store_op op = {.type = STORE_OP_ENQ, .a = queue_id, .b = seq, .c = msg_id, .flags = flags};
    return store__push(s, &op, NULL, 0, NULL, 0);
}

int store_mark_delivered(store *s, uint64_t queue_id, uint64_t seq)
{
    if (!s) return WR_EINVAL;
    store_op op = {.type = STORE_OP_DELIVERED, .a = queue_id, .b = seq};
    return store__push(s, &op, NULL, 0, NULL, 0);
}

int store_ack(store *s, uint64_t queue_id, uint64_t seq)
{
    if (!s) return WR_EINVAL;
    store_op op = {.type = STORE_OP_ACK, .a = queue_id, .b = seq};
    return store__push(s, &op, NULL, 0, NULL, 0);
}

int store_purge_queue(store *s, uint64_t queue_id)
{
    if (!s) return WR_EINVAL;
    store_op op = {.type = STORE_OP_PURGE, .a = queue_id};
    return store__push(s, &op, NULL, 0, NULL, 0);
}

int store_commit(store *s, store_done_cb cb, void *ctx)
{
    if (!s) return WR_EINVAL;
    if (s->closing) return WR_ECLOSED;
    store_batch *b = s->cur;
    if (b->ncbs == b->cbcap) {
        size_t nc = b->cbcap ? b->cbcap * 2 : 64;
        store_cbent *n = realloc(b->cbs, nc * sizeof *n);
        if (!n) return WR_ENOMEM;
        b->cbs = n;
        b->cbcap = nc;
    }
    b->cbs[b->ncbs++] = (store_cbent){cb, ctx};
    store__want(s);
    return 0;
}

void store_flush(store *s)
{
    if (s && s->want && !s->busy && !s->closing) store__handoff(s);
}

bool store_is_blocked(const store *s)
{
    return s && s->blocked;
}

int store_last_error(const store *s)
{
    return s && s->blocked ? s->last_err : 0;
}

uint64_t store_last_msg_id(const store *s)
{
    return s ? s->last_msg_id : 0;
}

void store_get_stats(const store *s, store_stats *st)
{
    *st = s->st;
    st->pending_ops = s->cur->nops;
    st->pending_bytes = s->cur->ops.len;
    st->writing = s->busy;
}

/* ---- reads ---- */

static int store__rbegin(store *s, MDB_txn **txn)
{
    uv_rwlock_rdlock(&s->maplock);
    int rc = s->env ? mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn) : MDB_PANIC;
    if (rc) {
        uv_rwlock_rdunlock(&s->maplock);
        wr_error("store: read transaction on %s failed: %s", s->dir, mdb_strerror(rc));
        return WR_ESTORE;
    }
    return 0;
}

static void store__rend(store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    uv_rwlock_rdunlock(&s->maplock);
}

int store_read_msg(store *s, uint64_t msg_id, store_rec_cb cb, void *ctx)
{
    if (!s || !cb) return WR_EINVAL;
    MDB_txn *txn;
    int err = store__rbegin(s, &txn);
    if (err) return err;
    uint8_t kb[8];
    be64_put(kb, msg_id);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->dbi_msgs, &k, &v);
    if (rc == 0)
        cb(ctx, v.mv_data, v.mv_size);
    else if (rc == MDB_NOTFOUND)
        err = WR_ENOTFOUND;
    else {
        wr_error("store: reading message %" PRIu64 " failed: %s", msg_id, mdb_strerror(rc));
        err = WR_ESTORE;
    }
    store__rend(s, txn);
    return err;
}

int store_read_msgs(store *s, const uint64_t *ids, size_t n, store_recs_cb cb, void *ctx)
{
    if (!s || !cb || (n && !ids)) return WR_EINVAL;
    MDB_txn *txn;
    int err = store__rbegin(s, &txn);
    if (err) return err;
    for (size_t i = 0; i < n; i++) {
        uint8_t kb[8];
        be64_put(kb, ids[i]);
        MDB_val k = {8, kb}, v;
        int rc = mdb_get(txn, s->dbi_msgs, &k, &v);
        if (rc == 0) {
            cb(ctx, i, v.mv_data, v.mv_size);
            atomic_fetch_add_explicit(&s->read_bytes, v.mv_size, memory_order_relaxed);
        } else if (rc == MDB_NOTFOUND) {
            cb(ctx, i, NULL, 0);
        } else {
            wr_error("store: reading message %" PRIu64 " failed: %s", ids[i], mdb_strerror(rc));
            err = WR_ESTORE;
            break;
        }
    }
    store__rend(s, txn);
    if (atomic_load_explicit(&s->read_bytes, memory_order_relaxed) >= STORE_TRIM_READ)
        store__trim_map(s, false);
    return err;
}

typedef struct store_copy {
    wr_buf *out;
    int rc;
} store_copy;

static void store__copy_cb(void *ctx, const uint8_t *rec, size_t len)
{
    store_copy *c = ctx;
    c->rc = wr_buf_append(c->out, rec, len);
}

int store_get_msg(store *s, uint64_t msg_id, wr_buf *out)
{
    if (!out) return WR_EINVAL;
    store_copy c = {out, 0};
    int rc = store_read_msg(s, msg_id, store__copy_cb, &c);
    return rc ? rc : c.rc;
}

int store_iter_defs(store *s, uint8_t kind, store_def_cb cb, void *ctx)
{
    if (!s || !cb) return WR_EINVAL;
    MDB_txn *txn;
    MDB_cursor *c;
    int ret = store__rbegin(s, &txn);
    if (ret) return ret;
    int rc = mdb_cursor_open(txn, s->dbi_defs, &c);
    if (rc) {
        store__rend(s, txn);
        return WR_ESTORE;
    }
    uint8_t kb[1] = {kind};
    MDB_val k = {1, kb}, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size < 1 || kp[0] != kind) break;
        ret = cb(ctx, kp + 1, k.mv_size - 1, v.mv_data, v.mv_size);
        if (ret) break;
    }
    if (rc && rc != MDB_NOTFOUND) {
        wr_error("store: iterating definitions failed: %s", mdb_strerror(rc));
        ret = WR_ESTORE;
    }
    mdb_cursor_close(c);
    store__rend(s, txn);
    return ret;
}

int store_iter_queue(store *s, uint64_t queue_id, uint64_t from_seq, unsigned iter_flags,
                     store_queue_cb cb, void *ctx)
{
    if (!s || !cb) return WR_EINVAL;
    uint64_t t0 = uv_hrtime(), n = 0, missing = 0;
    MDB_txn *txn;
    MDB_cursor *c;
    int ret = store__rbegin(s, &txn);
    if (ret) return ret;
    int rc = mdb_cursor_open(txn, s->dbi_qidx, &c);
    if (rc) {
        store__rend(s, txn);
        return WR_ESTORE;
    }
    uint8_t kb[16], mk[8];
    be64_put(kb, queue_id);
    be64_put(kb + 8, from_seq);
    MDB_val k = {16, kb}, v, mv;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || be64_get(k.mv_data) != queue_id) break;
        if (v.mv_size != 9) continue;
        const uint8_t *vp = v.mv_data;
        uint64_t seq = be64_get((const uint8_t *)k.mv_data + 8), mid = be64_get(vp);
        const uint8_t *rec = NULL;
        size_t len = 0;
        if (!(iter_flags & STORE_ITER_NO_BODY)) {
            memcpy(mk, vp, 8);
            MDB_val mkv = {8, mk};
            int g = mdb_get(txn, s->dbi_msgs, &mkv, &mv);
            if (g == 0) {
                rec = mv.mv_data;
                len = mv.mv_size;
            } else {
                missing++;
            }
        }
        n++;
        ret = cb(ctx, seq, mid, vp[8], rec, len);
        if (ret) break;
        /* recovery walks every record of a backlog through the map (each
         * fault maps up to 64 KiB around it: index entries count too) */
        if (atomic_fetch_add_explicit(&s->read_bytes, len + 1024, memory_order_relaxed) >=
            STORE_TRIM_READ)
            store__trim_map(s, true);
    }
    if (rc && rc != MDB_NOTFOUND) {
        wr_error("store: iterating queue %" PRIu64 " failed: %s", queue_id, mdb_strerror(rc));
        ret = WR_ESTORE;
    }
    mdb_cursor_close(c);
    store__rend(s, txn);
    if (missing)
        wr_warn("store: queue %" PRIu64 ": %" PRIu64 " entries without a body", queue_id, missing);
    wr_log(n ? WR_LOG_INFO : WR_LOG_DEBUG,
           "store: read %" PRIu64 " index entries of queue %" PRIu64 " in %.1f ms", n, queue_id,
           (double)(uv_hrtime() - t0) / 1e6);
    return ret;
}

int store_iter_queue_ids(store *s, store_qid_cb cb, void *ctx)
{
    if (!s || !cb) return WR_EINVAL;
    MDB_txn *txn;
    MDB_cursor *c;
    int ret = store__rbegin(s, &txn);
    if (ret) return ret;
    int rc = mdb_cursor_open(txn, s->dbi_qidx, &c);
    if (rc) {
        store__rend(s, txn);
        return WR_ESTORE;
    }
    MDB_val k, v;
    bool have = false;
    uint64_t qid = 0, count = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16) continue;
        uint64_t q = be64_get(k.mv_data);
        if (have && q != qid) {
            if ((ret = cb(ctx, qid, count))) break;
            count = 0;
        }
        have = true;
        qid = q;
        count++;
        if (atomic_fetch_add_explicit(&s->read_bytes, 1024, memory_order_relaxed) >=
            STORE_TRIM_READ)
            store__trim_map(s, true); /* see store_iter_queue */
    }
    if (rc && rc != MDB_NOTFOUND) {
        wr_error("store: listing queues failed: %s", mdb_strerror(rc));
        ret = WR_ESTORE;
    } else if (!ret && have) {
        ret = cb(ctx, qid, count);
    }
    mdb_cursor_close(c);
    store__rend(s, txn);
    return ret;
}

/* ---- test seams ---- */

void store_test_fail_next(store *s, int rc, unsigned count)
{
    uv_mutex_lock(&s->mu);
    s->fail_rc = rc;
    s->fail_count = count;
    uv_mutex_unlock(&s->mu);
}

void store_test_pause(store *s, bool paused)
{
    uv_mutex_lock(&s->mu);
    s->paused = paused;
    uv_cond_broadcast(&s->cv);
    uv_mutex_unlock(&s->mu);
}
