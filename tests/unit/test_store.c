/* Unit tests for storage/store.h: group commit, ordering, refcounts, purge,
 * delivered flags, recovery, map growth, injected failures, format checks,
 * flush on close, and a throughput measurement (printed, not asserted).
 * Each test gets its own temporary directory (WR_STORE_TEST_DIR or /tmp),
 * removed afterwards. Waiting is always "run the loop until a condition
 * holds, with a deadline". */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <uv.h>

#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"
#include "storage/store.h"
#include "storage/store_rec.h"

typedef struct fx {
    uv_loop_t loop;
    char tmp[256];
    char dir[300];
    store *s;
} fx;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *base = getenv("WR_STORE_TEST_DIR");
    snprintf(f->tmp, sizeof f->tmp, "%s/wr-store-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->tmp)) return -1;
    snprintf(f->dir, sizeof f->dir, "%s/db", f->tmp);
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static void close_store(fx *f)
{
    if (!f->s) return;
    assert_int_equal(store_close(f->s), 0);
    f->s = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int teardown(void **state)
{
    fx *f = *state;
    close_store(f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    nftw(f->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void open_store(fx *f, size_t map, size_t max)
{
    store_opts o = {.dir = f->dir, .map_size = map, .map_max = max};
    assert_int_equal(store_open(&f->loop, &o, &f->s), 0);
}

/* Runs the loop until *flag >= want, failing after 20 s. */
static void run_until(fx *f, const int *flag, int want)
{
    uint64_t deadline = uv_hrtime() + 20ull * 1000000000ull;
    while (*flag < want) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

/* A commit callback recording its order and status. */
typedef struct rec_log {
    int n;
    int order[4096];
    int status[4096];
} rec_log;

typedef struct rec_ctx {
    rec_log *log;
    int id;
} rec_ctx;

static void rec_cb(void *ctx, int status)
{
    rec_ctx *c = ctx;
    c->log->order[c->log->n] = c->id;
    c->log->status[c->log->n] = status;
    c->log->n++;
}

static void done_cb(void *ctx, int status)
{
    int *st = ctx;
    st[1] = status;
    st[0]++;
}

/* Commits with done_cb and waits; returns the status. */
static int commit_wait(fx *f)
{
    int st[2] = {0, 0};
    assert_int_equal(store_commit(f->s, done_cb, st), 0);
    run_until(f, &st[0], 1);
    return st[1];
}

static void put_msg_enq(store *s, uint64_t mid, uint64_t q, uint64_t seq)
{
    char body[64];
    int n = snprintf(body, sizeof body, "msg-%" PRIu64, mid);
    assert_int_equal(store_put_msg(s, mid, body, (size_t)n), 0);
    assert_int_equal(store_enqueue(s, q, seq, mid, 0), 0);
}

static bool has_msg(store *s, uint64_t mid)
{
    wr_buf b;
    wr_buf_init(&b);
    int rc = store_get_msg(s, mid, &b);
    wr_buf_free(&b);
    assert_true(rc == 0 || rc == WR_ENOTFOUND);
    return rc == 0;
}

/* ---- collecting a queue ---- */

typedef struct qent {
    uint64_t seq, mid;
    uint8_t flags;
    char body[64];
} qent;

typedef struct qlist {
    size_t n;
    qent e[4096];
} qlist;

static int q_cb(void *ctx, uint64_t seq, uint64_t mid, uint8_t flags, const uint8_t *rec,
                size_t len)
{
    qlist *l = ctx;
    if (l->n >= 4096) return 1;
    qent *e = &l->e[l->n++];
    e->seq = seq;
    e->mid = mid;
    e->flags = flags;
    size_t c = len < sizeof e->body - 1 ? len : sizeof e->body - 1;
    if (rec) memcpy(e->body, rec, c);
    e->body[rec ? c : 0] = 0;
    return 0;
}

static void read_queue(fx *f, uint64_t q, qlist *l)
{
    l->n = 0;
    assert_int_equal(store_iter_queue(f->s, q, 0, 0, q_cb, l), 0);
}

/* ---- tests ---- */

static void test_batching_one_commit(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    static rec_log log;
    static rec_ctx ctx[200];
    log.n = 0;
    for (int i = 0; i < 200; i++) {
        put_msg_enq(f->s, (uint64_t)i + 1, 7, (uint64_t)i);
        ctx[i] = (rec_ctx){&log, i};
        assert_int_equal(store_commit(f->s, rec_cb, &ctx[i]), 0);
    }
    assert_int_equal(log.n, 0); /* never synchronous */
    run_until(f, &log.n, 200);
    store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.commits, 1);
    assert_int_equal(st.ops, 400);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(log.order[i], i);
        assert_int_equal(log.status[i], 0);
    }
    assert_true(has_msg(f->s, 200));
}

static void test_ops_during_commit_go_to_next_batch(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    static rec_log log;
    rec_ctx a = {&log, 1}, b = {&log, 2}, c = {&log, 3};
    log.n = 0;
    store_test_pause(f->s, true);
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(store_commit(f->s, rec_cb, &a), 0);
    store_stats st;
    uint64_t deadline = uv_hrtime() + 5000000000ull;
    do {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        store_get_stats(f->s, &st);
        assert_true(uv_hrtime() < deadline);
    } while (!st.writing);
    /* batch 1 is out: these go to batch 2 */
    put_msg_enq(f->s, 2, 1, 2);
    put_msg_enq(f->s, 3, 1, 3);
    assert_int_equal(store_commit(f->s, rec_cb, &b), 0);
    assert_int_equal(store_commit(f->s, rec_cb, &c), 0);
    store_get_stats(f->s, &st);
    assert_int_equal(st.pending_ops, 4);
    assert_true(st.pending_bytes >= 4 * 40);
    assert_false(has_msg(f->s, 1)); /* not committed yet */
    store_test_pause(f->s, false);
    run_until(f, &log.n, 3);
    store_get_stats(f->s, &st);
    assert_int_equal(st.commits, 2);
    assert_int_equal(st.ops, 6);
    assert_int_equal(log.order[0], 1);
    assert_int_equal(log.order[1], 2);
    assert_int_equal(log.order[2], 3);
    assert_true(has_msg(f->s, 1));
    assert_true(has_msg(f->s, 3));
}

static void test_order_many_queues_big_seq(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    const uint64_t base = (1ull << 32) - 5;
    const int nq = 12, per = 40;
    uint64_t mid = 1;
    /* interleave queues; queue ids include one above 2^32 too */
    for (int i = 0; i < per; i++)
        for (int q = 0; q < nq; q++) {
            uint64_t qid = q == nq - 1 ? (1ull << 40) + 3 : (uint64_t)q * 1000 + 1;
            put_msg_enq(f->s, mid, qid, base + (uint64_t)i);
            mid++;
        }
    assert_int_equal(commit_wait(f), 0);
    close_store(f);
    open_store(f, 0, 0);
    assert_int_equal(store_last_msg_id(f->s), mid - 1);
    static qlist l;
    for (int q = 0; q < nq; q++) {
        uint64_t qid = q == nq - 1 ? (1ull << 40) + 3 : (uint64_t)q * 1000 + 1;
        read_queue(f, qid, &l);
        assert_int_equal(l.n, per);
        for (int i = 0; i < per; i++) {
            assert_int_equal(l.e[i].seq, base + (uint64_t)i);
            assert_int_equal(l.e[i].mid, (uint64_t)(i * nq + q + 1));
            char want[64];
            snprintf(want, sizeof want, "msg-%" PRIu64, l.e[i].mid);
            assert_string_equal(l.e[i].body, want);
            assert_int_equal(l.e[i].flags, 0);
        }
    }
    /* from_seq starts mid-queue */
    l.n = 0;
    assert_int_equal(store_iter_queue(f->s, 1, base + 10, STORE_ITER_NO_BODY, q_cb, &l), 0);
    assert_int_equal(l.n, per - 10);
    assert_int_equal(l.e[0].seq, base + 10);
    assert_string_equal(l.e[0].body, "");
}

static void test_refcount_across_queues(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    assert_int_equal(store_put_msg(f->s, 42, "shared", 6), 0);
    for (uint64_t q = 1; q <= 3; q++) assert_int_equal(store_enqueue(f->s, q, 0, 42, 0), 0);
    assert_int_equal(commit_wait(f), 0);
    assert_int_equal(store_ack(f->s, 1, 0), 0);
    assert_int_equal(commit_wait(f), 0);
    assert_true(has_msg(f->s, 42));
    assert_int_equal(store_ack(f->s, 2, 0), 0);
    assert_int_equal(store_ack(f->s, 2, 0), 0); /* double ack: no-op */
    assert_int_equal(commit_wait(f), 0);
    assert_true(has_msg(f->s, 42));
    /* survives reopen with one reference left */
    close_store(f);
    open_store(f, 0, 0);
    assert_true(has_msg(f->s, 42));
    assert_int_equal(store_ack(f->s, 3, 0), 0);
    assert_int_equal(commit_wait(f), 0);
    assert_false(has_msg(f->s, 42));
    /* put, enqueue and ack in one batch leaves nothing behind */
    put_msg_enq(f->s, 43, 5, 9);
    assert_int_equal(store_ack(f->s, 5, 9), 0);
    assert_int_equal(commit_wait(f), 0);
    assert_false(has_msg(f->s, 43));
}

static int qid_cb(void *ctx, uint64_t qid, uint64_t count)
{
    uint64_t *a = ctx;
    a[a[0] * 2 + 1] = qid;
    a[a[0] * 2 + 2] = count;
    a[0]++;
    return 0;
}

static void test_purge_and_delete(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    /* q10: msgs 1..5; q20: msgs 4..8 (4,5 shared) */
    for (uint64_t m = 1; m <= 8; m++) {
        char b[8] = {'m', (char)('0' + m)};
        assert_int_equal(store_put_msg(f->s, m, b, 2), 0);
        if (m <= 5) assert_int_equal(store_enqueue(f->s, 10, m, m, 0), 0);
        if (m >= 4) assert_int_equal(store_enqueue(f->s, 20, m, m, 0), 0);
    }
    assert_int_equal(store_enqueue(f->s, 30, 1, 8, 0), 0);
    assert_int_equal(commit_wait(f), 0);
    assert_int_equal(store_purge_queue(f->s, 10), 0);
    /* enqueued after the purge in the same batch: stays */
    assert_int_equal(store_put_msg(f->s, 9, "m9", 2), 0);
    assert_int_equal(store_enqueue(f->s, 10, 100, 9, 0), 0);
    assert_int_equal(commit_wait(f), 0);
    static qlist l;
    read_queue(f, 10, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].mid, 9);
    for (uint64_t m = 1; m <= 3; m++) assert_false(has_msg(f->s, m));
    for (uint64_t m = 4; m <= 9; m++) assert_true(has_msg(f->s, m));
    /* "delete" q20: its own bodies go, msg 8 stays for q30 */
    assert_int_equal(store_purge_queue(f->s, 20), 0);
    assert_int_equal(commit_wait(f), 0);
    for (uint64_t m = 4; m <= 7; m++) assert_false(has_msg(f->s, m));
    assert_true(has_msg(f->s, 8));
    uint64_t ids[1 + 2 * 8] = {0};
    assert_int_equal(store_iter_queue_ids(f->s, qid_cb, ids), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 10);
    assert_int_equal(ids[2], 1);
    assert_int_equal(ids[3], 30);
    assert_int_equal(ids[4], 1);
}

static void test_delivered_flag_survives_reopen(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    for (uint64_t i = 0; i < 6; i++) put_msg_enq(f->s, 100 + i, 3, i);
    assert_int_equal(commit_wait(f), 0);
    assert_int_equal(store_mark_delivered(f->s, 3, 1), 0);
    assert_int_equal(store_mark_delivered(f->s, 3, 4), 0);
    assert_int_equal(store_mark_delivered(f->s, 3, 4), 0);
    assert_int_equal(store_mark_delivered(f->s, 3, 99), 0); /* missing: no-op */
    assert_int_equal(store_ack(f->s, 3, 2), 0);             /* out-of-order ack */
    assert_int_equal(commit_wait(f), 0);
    close_store(f);
    open_store(f, 0, 0);
    static qlist l;
    read_queue(f, 3, &l);
    assert_int_equal(l.n, 5);
    uint64_t seqs[] = {0, 1, 3, 4, 5};
    uint8_t fl[] = {0, STORE_F_DELIVERED, 0, STORE_F_DELIVERED, 0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(l.e[i].seq, seqs[i]);
        assert_int_equal(l.e[i].flags, fl[i]);
    }
}

typedef struct dlist {
    int n;
    char k[16][32];
    char v[16][32];
} dlist;

static int def_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    dlist *d = ctx;
    snprintf(d->k[d->n], 32, "%.*s", (int)klen, (const char *)key);
    snprintf(d->v[d->n], 32, "%.*s", (int)vlen, (const char *)val);
    d->n++;
    return 0;
}

static void test_defs_recovery(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    assert_int_equal(store_put_def(f->s, 1, "/", 1, "vhost-root", 10), 0);
    assert_int_equal(store_put_def(f->s, 1, "prod", 4, "vhost-prod", 10), 0);
    assert_int_equal(store_put_def(f->s, 2, "guest", 5, "hash1", 5), 0);
    assert_int_equal(store_put_def(f->s, 3, "/\0q1", 4, "queue", 5), 0);
    assert_int_equal(store_put_def(f->s, 1, "tmp", 3, "x", 1), 0);
    assert_int_equal(store_commit(f->s, NULL, NULL), 0);
    assert_int_equal(store_del_def(f->s, 1, "tmp", 3), 0);
    assert_int_equal(store_del_def(f->s, 1, "never", 5), 0);
    assert_int_equal(store_put_def(f->s, 2, "guest", 5, "hash2", 5), 0);
    assert_int_equal(commit_wait(f), 0);
    close_store(f);
    open_store(f, 0, 0);
    dlist d = {0};
    assert_int_equal(store_iter_defs(f->s, 1, def_cb, &d), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.k[0], "/");
    assert_string_equal(d.v[0], "vhost-root");
    assert_string_equal(d.k[1], "prod");
    memset(&d, 0, sizeof d);
    assert_int_equal(store_iter_defs(f->s, 2, def_cb, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0], "hash2");
    memset(&d, 0, sizeof d);
    assert_int_equal(store_iter_defs(f->s, 9, def_cb, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(store_put_def(f->s, 1, "", 0, "x", 1), WR_EINVAL);
    static char big[STORE_MAX_DEF_KEY + 1];
    assert_int_equal(store_put_def(f->s, 1, big, sizeof big, "x", 1), WR_ETOOBIG);
}

static void test_map_growth_50mb(void **state)
{
    fx *f = *state;
    open_store(f, 1 << 20, 0);
    static uint8_t rec[64 * 1024];
    const int total = 800; /* 800 x 64 KiB = 50 MiB */
    int st[2] = {0, 0};
    for (int i = 0; i < total; i++) {
        memset(rec, i & 0xff, sizeof rec);
        assert_int_equal(store_put_msg(f->s, (uint64_t)i + 1, rec, sizeof rec), 0);
        assert_int_equal(store_enqueue(f->s, 1, (uint64_t)i, (uint64_t)i + 1, 0), 0);
        if (i % 80 == 79) {
            assert_int_equal(store_commit(f->s, done_cb, st), 0);
            run_until(f, &st[0], (i + 1) / 80);
            assert_int_equal(st[1], 0);
        }
    }
    assert_int_equal(st[1], 0);
    store_stats ss;
    store_get_stats(f->s, &ss);
    assert_true(ss.retries > 0);
    assert_true(ss.map_size >= 50ull << 20);
    assert_false(store_is_blocked(f->s));
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(store_get_msg(f->s, 700, &b), 0);
    assert_int_equal(b.len, sizeof rec);
    assert_int_equal(b.data[0], 699 & 0xff);
    wr_buf_free(&b);
    printf("map growth: %" PRIu64 " commits, %" PRIu64 " retries, map %" PRIu64 " MiB\n",
           ss.commits, ss.retries, ss.map_size >> 20);
    /* reopening with a configured map smaller than the data works */
    close_store(f);
    open_store(f, 1 << 20, 2 << 20);
    store_get_stats(f->s, &ss);
    assert_true(ss.map_size >= 50ull << 20);
    assert_true(has_msg(f->s, 800));
    put_msg_enq(f->s, 801, 1, 800);
    assert_int_equal(commit_wait(f), 0);
}

static void test_map_cap_reports_full(void **state)
{
    fx *f = *state;
    open_store(f, 1 << 20, 2 << 20);
    static uint8_t rec[256 * 1024];
    for (uint64_t i = 0; i < 16; i++) {
        assert_int_equal(store_put_msg(f->s, i + 1, rec, sizeof rec), 0);
        assert_int_equal(store_enqueue(f->s, 1, i, i + 1, 0), 0);
    }
    assert_int_equal(commit_wait(f), WR_EFULL);
    assert_true(store_is_blocked(f->s));
    assert_int_equal(store_last_error(f->s), WR_EFULL);
    assert_false(has_msg(f->s, 1));
    /* a small batch still fits: the store unblocks */
    put_msg_enq(f->s, 100, 2, 0);
    assert_int_equal(commit_wait(f), 0);
    assert_false(store_is_blocked(f->s));
}

static void test_injected_map_full_grows_and_retries(void **state)
{
    fx *f = *state;
    open_store(f, 1 << 20, 0);
    store_stats a, b;
    store_get_stats(f->s, &a);
    store_test_fail_next(f->s, MDB_MAP_FULL, 2);
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(commit_wait(f), 0);
    store_get_stats(f->s, &b);
    assert_int_equal(b.retries, 2);
    assert_int_equal(b.map_size, a.map_size * 4);
    assert_true(has_msg(f->s, 1));
}

static void test_injected_failure_reaches_callbacks(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    static rec_log log;
    rec_ctx c[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
    log.n = 0;
    store_test_fail_next(f->s, EIO, 1);
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(store_commit(f->s, rec_cb, &c[0]), 0);
    assert_int_equal(store_commit(f->s, rec_cb, &c[1]), 0);
    run_until(f, &log.n, 2);
    assert_int_equal(log.status[0], WR_ESTORE);
    assert_int_equal(log.status[1], WR_ESTORE);
    assert_true(store_is_blocked(f->s));
    assert_int_equal(store_last_error(f->s), WR_ESTORE);
    assert_false(has_msg(f->s, 1));
    /* ENOSPC is reported as full */
    store_test_fail_next(f->s, ENOSPC, 1);
    assert_int_equal(commit_wait(f), WR_EFULL);
    assert_int_equal(store_last_error(f->s), WR_EFULL);
    /* the store recovers: the next batch commits and unblocks */
    put_msg_enq(f->s, 2, 1, 2);
    assert_int_equal(store_commit(f->s, rec_cb, &c[2]), 0);
    run_until(f, &log.n, 3);
    assert_int_equal(log.status[2], 0);
    assert_false(store_is_blocked(f->s));
    assert_true(has_msg(f->s, 2));
    store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.failed, 2);
}

/* Rewrites (or with val NULL deletes) the format record behind the store's
 * back, with LMDB directly (the store is closed meanwhile). */
static void set_format(const char *dir, const void *val, size_t len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = {6, "format"}, v = {len, (void *)val};
    if (val)
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    else {
        int rc = mdb_del(txn, dbi, &k, NULL);
        assert_true(rc == 0 || rc == MDB_NOTFOUND);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_version_mismatch_and_corrupt(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(commit_wait(f), 0);
    close_store(f);
    /* a newer format, a malformed format record, then none next to data */
    uint8_t v2[4] = {0, 0, 0, 2};
    store_opts o = {.dir = f->dir};
    store *s = NULL;
    set_format(f->dir, v2, 4);
    assert_int_equal(store_open(&f->loop, &o, &s), WR_ESTORE);
    assert_null(s);
    set_format(f->dir, v2, 3);
    assert_int_equal(store_open(&f->loop, &o, &s), WR_ESTORE);
    set_format(f->dir, NULL, 0);
    assert_int_equal(store_open(&f->loop, &o, &s), WR_ESTORE);
    assert_null(s);
    uint8_t v1[4] = {0, 0, 0, 1};
    set_format(f->dir, v1, 4); /* the right format again: opens */
    assert_int_equal(store_open(&f->loop, &o, &s), 0);
    assert_true(has_msg(s, 1));
    assert_int_equal(store_close(s), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    /* one process per data directory */
    assert_int_equal(store_open(&f->loop, &o, &s), 0);
    store *s2 = NULL;
    assert_int_equal(store_open(&f->loop, &o, &s2), WR_ESTORE);
    assert_null(s2);
    assert_int_equal(store_close(s), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    /* garbage instead of an LMDB file */
    char p[400];
    snprintf(p, sizeof p, "%s/data.mdb", f->dir);
    int fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    char junk[8192];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(store_open(&f->loop, &o, &s), WR_ESTORE);
    assert_null(s);
    /* a data directory that cannot be created */
    store_opts bad = {.dir = "/nonexistent-wr/x/y"};
    assert_int_equal(store_open(&f->loop, &bad, &s), WR_EIO);
}

static void test_close_flushes(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    int st[2] = {0, -99};
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(store_commit(f->s, done_cb, st), 0);
    put_msg_enq(f->s, 2, 1, 2); /* no commit requested: still flushed */
    assert_int_equal(store_put_def(f->s, 4, "k", 1, "v", 1), 0);
    assert_int_equal(st[0], 0);
    close_store(f);
    assert_int_equal(st[0], 1);
    assert_int_equal(st[1], 0);
    open_store(f, 0, 0);
    assert_true(has_msg(f->s, 1));
    assert_true(has_msg(f->s, 2));
    dlist d = {0};
    assert_int_equal(store_iter_defs(f->s, 4, def_cb, &d), 0);
    assert_int_equal(d.n, 1);
}

static void test_close_while_writing(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    int a[2] = {0, -99}, b[2] = {0, -99};
    store_test_pause(f->s, true);
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(store_commit(f->s, done_cb, a), 0);
    store_stats st;
    do {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        store_get_stats(f->s, &st);
    } while (!st.writing);
    put_msg_enq(f->s, 2, 1, 2);
    assert_int_equal(store_commit(f->s, done_cb, b), 0);
    store_test_pause(f->s, false);
    close_store(f);
    assert_int_equal(a[0], 1);
    assert_int_equal(b[0], 1);
    assert_int_equal(a[1], 0);
    assert_int_equal(b[1], 0);
}

static void test_txn_full_is_chunked(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    static uint8_t rec[1 << 20];
    for (uint64_t i = 0; i < 40; i++) { /* 40 MiB: more than one 32 MiB chunk */
        memset(rec, (int)i, sizeof rec);
        assert_int_equal(store_put_msg(f->s, i + 1, rec, sizeof rec), 0);
        assert_int_equal(store_enqueue(f->s, 1, i, i + 1, 0), 0);
    }
    store_test_fail_next(f->s, MDB_TXN_FULL, 1);
    assert_int_equal(commit_wait(f), 0);
    store_stats st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.commits, 1);
    assert_int_equal(st.txns, 2);
    static qlist l;
    read_queue(f, 1, &l);
    assert_int_equal(l.n, 40);
}

typedef struct multi {
    size_t n, missing;
    size_t len[8];
} multi;

static void multi_cb(void *ctx, size_t i, const uint8_t *rec, size_t len)
{
    multi *m = ctx;
    if (!rec) m->missing++;
    m->len[i] = len;
    m->n++;
}

static void test_msg_record_iov_roundtrip(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    store_msg_hdr h;
    store_iov iov[STORE_MSG_IOV];
    const char props[] = {(char)0x90, 0, 'x'};
    int n = store_msg_iov(&h, iov, "amq.topic", 9, "a.b.c", 5, props, sizeof props, "hello", 5);
    assert_int_equal(n, STORE_MSG_IOV);
    assert_int_equal(store_put_msgv(f->s, 77, iov, (size_t)n), 0);
    assert_int_equal(store_enqueue(f->s, 1, 0, 77, 0), 0);
    n = store_msg_iov(&h, iov, "", 0, "", 0, NULL, 0, NULL, 0);
    assert_int_equal(store_put_msgv(f->s, 78, iov, (size_t)n), 0);
    assert_int_equal(store_enqueue(f->s, 1, 1, 78, 0), 0);
    assert_int_equal(commit_wait(f), 0);
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(store_get_msg(f->s, 77, &b), 0);
    store_msg_view v;
    assert_int_equal(store_msg_decode(b.data, b.len, &v), 0);
    assert_int_equal(v.exchange_len, 9);
    assert_memory_equal(v.exchange, "amq.topic", 9);
    assert_memory_equal(v.routing_key, "a.b.c", 5);
    assert_int_equal(v.props_len, 3);
    assert_memory_equal(v.props, props, 3);
    assert_int_equal(v.body_len, 5);
    assert_memory_equal(v.body, "hello", 5);
    /* every truncation of a valid record is rejected, never over-read */
    for (size_t cut = 0; cut < 2 + 9 + 1 + 5 + 4 + 3; cut++)
        assert_int_equal(store_msg_decode(b.data, cut, &v), WR_EMALFORMED);
    b.data[0] = 9; /* unknown record version */
    assert_int_equal(store_msg_decode(b.data, b.len, &v), WR_EMALFORMED);
    wr_buf_reset(&b);
    assert_int_equal(store_get_msg(f->s, 78, &b), 0);
    assert_int_equal(store_msg_decode(b.data, b.len, &v), 0);
    assert_int_equal(v.body_len, 0);
    wr_buf_free(&b);
    uint8_t big[300] = {0};
    assert_int_equal(store_msg_iov(&h, iov, big, 256, "", 0, NULL, 0, NULL, 0), WR_ETOOBIG);
    /* batch read in one transaction */
    uint64_t ids[3] = {77, 5, 78};
    multi m = {0};
    assert_int_equal(store_read_msgs(f->s, ids, 3, multi_cb, &m), 0);
    assert_int_equal(m.n, 3);
    assert_int_equal(m.missing, 1);
    assert_int_equal(m.len[0], 2 + 9 + 1 + 5 + 4 + 3 + 5);
}

static void test_field_helpers(void **state)
{
    (void)state;
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(store_wr_u8(&b, 7), 0);
    assert_int_equal(store_wr_u32(&b, 0xdeadbeef), 0);
    assert_int_equal(store_wr_u64(&b, 1ull << 40), 0);
    assert_int_equal(store_wr_bytes(&b, "name", 4), 0);
    store_rd r;
    store_rd_init(&r, b.data, b.len);
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    const uint8_t *p;
    size_t n;
    assert_int_equal(store_rd_u8(&r, &u8), 0);
    assert_int_equal(store_rd_u32(&r, &u32), 0);
    assert_int_equal(store_rd_u64(&r, &u64), 0);
    assert_int_equal(store_rd_bytes(&r, &p, &n), 0);
    assert_int_equal(u8, 7);
    assert_int_equal(u32, 0xdeadbeef);
    assert_int_equal(u64, 1ull << 40);
    assert_int_equal(n, 4);
    assert_memory_equal(p, "name", 4);
    assert_int_equal(store_rd_u8(&r, &u8), WR_EMALFORMED);
    /* a length prefix larger than the rest */
    store_rd_init(&r, b.data + 13, b.len - 14);
    assert_int_equal(store_rd_bytes(&r, &p, &n), WR_EMALFORMED);
    assert_int_equal(r.off, 0);
    wr_buf_free(&b);
}

static void test_flush_hands_off_now(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    int st[2] = {0, 0};
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(store_commit(f->s, done_cb, st), 0);
    store_flush(f->s);
    store_stats ss;
    store_get_stats(f->s, &ss);
    assert_true(ss.writing); /* out without running the loop */
    assert_int_equal(ss.pending_ops, 0);
    run_until(f, &st[0], 1);
    assert_int_equal(st[1], 0);
}

static void test_ops_without_commit_are_written(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    put_msg_enq(f->s, 1, 1, 1);
    assert_int_equal(commit_wait(f), 0);
    assert_int_equal(store_mark_delivered(f->s, 1, 1), 0); /* no store_commit */
    store_stats st;
    uint64_t deadline = uv_hrtime() + 5000000000ull;
    do {
        assert_true(uv_hrtime() < deadline);
        uv_run(&f->loop, UV_RUN_ONCE);
        store_get_stats(f->s, &st);
    } while (st.commits < 2);
    static qlist l;
    read_queue(f, 1, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].flags, STORE_F_DELIVERED);
}

/* kill -9 while publishing: every confirmed message is there after reopen. */
typedef struct child_ctx {
    int fd;
    uint64_t id;
} child_ctx;

static void child_confirm(void *ctx, int status)
{
    child_ctx *c = ctx;
    if (status == 0 && write(c->fd, &c->id, 8) != 8) _exit(3);
}

static void child_publish(const char *dir, int fd)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    store *s;
    store_opts o = {.dir = dir, .map_size = 1 << 20};
    if (store_open(&loop, &o, &s)) _exit(2);
    static child_ctx ctx[1000000];
    static uint8_t rec[2048];
    uint64_t id = 0;
    for (;;) {
        for (int k = 0; k < 64 && id < 1000000; k++, id++) {
            memset(rec, (int)(id & 0xff), sizeof rec);
            ctx[id] = (child_ctx){fd, id + 1};
            if (store_put_msg(s, id + 1, rec, 100 + (size_t)(id % 1900)) ||
                store_enqueue(s, 9, id, id + 1, 0) || store_commit(s, child_confirm, &ctx[id]))
                _exit(4);
        }
        uv_run(&loop, UV_RUN_ONCE);
    }
}

static void test_kill9_keeps_confirmed(void **state)
{
    fx *f = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_publish(f->dir, p[1]);
        _exit(0);
    }
    close(p[1]);
    uint64_t maxid = 0, got = 0, v;
    uint64_t kill_at = 1000 + uv_hrtime() % 4000; /* vary the moment of the kill */
    while (got < kill_at && read(p[0], &v, 8) == 8) {
        got++;
        if (v > maxid) maxid = v;
    }
    kill(pid, SIGKILL);
    int wst;
    waitpid(pid, &wst, 0);
    while (read(p[0], &v, 8) == 8) {
        got++;
        if (v > maxid) maxid = v;
    }
    close(p[0]);
    assert_true(got >= kill_at);
    open_store(f, 0, 0);
    /* confirms go out in order, so 1..maxid must all be there */
    assert_int_equal(store_iter_queue(f->s, 9, 0, 0, NULL, NULL), WR_EINVAL);
    static qlist l;
    uint64_t seen = 0;
    for (uint64_t from = 0; from < maxid; from += 4096) {
        l.n = 0;
        int rc = store_iter_queue(f->s, 9, from, STORE_ITER_NO_BODY, q_cb, &l);
        assert_true(rc == 0 || rc == 1); /* 1: the list is full, next round continues */
        for (size_t i = 0; i < l.n && l.e[i].seq < maxid; i++) {
            assert_int_equal(l.e[i].seq, from + i);
            assert_int_equal(l.e[i].mid, from + i + 1);
            seen++;
        }
    }
    assert_int_equal(seen, maxid);
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(store_get_msg(f->s, maxid, &b), 0);
    assert_int_equal(b.len, 100 + (maxid - 1) % 1900);
    assert_int_equal(b.data[0], (maxid - 1) & 0xff);
    wr_buf_free(&b);
    printf("kill -9: %" PRIu64 " confirmed before the kill, all recovered\n", maxid);
}

/* ---- throughput: 100k enqueue + ack of 1 KiB records ---- */

typedef struct perf {
    store *s;
    uint64_t confirmed;
    int confirmed_i;
    uint64_t *pending_ack;
    size_t nack;
} perf;

typedef struct perf_msg {
    perf *p;
    uint64_t seq;
} perf_msg;

static void perf_cb(void *ctx, int status)
{
    perf_msg *m = ctx;
    assert_int_equal(status, 0);
    /* a consumer acks as soon as the message is confirmed */
    assert_int_equal(store_ack(m->p->s, 1, m->seq), 0);
    m->p->confirmed++;
    m->p->confirmed_i = m->p->confirmed > 0x7fffffff ? 0x7fffffff : (int)m->p->confirmed;
}

static void test_perf_enqueue_ack(void **state)
{
    fx *f = *state;
    open_store(f, 0, 0);
    /* publishers keep publishing (up to `window` unconfirmed) while the
     * storage thread writes, as many channels would: the batch size then
     * follows the fsync latency */
    const uint64_t n = 100000, window = 10000, step = 100;
    perf p = {.s = f->s};
    perf_msg *msgs = calloc(n, sizeof *msgs);
    assert_non_null(msgs);
    static uint8_t rec[1024];
    memset(rec, 'x', sizeof rec);
    uint64_t sent = 0, t0 = uv_hrtime(), deadline = t0 + 120ull * 1000000000ull;
    while (p.confirmed < n) {
        assert_true(uv_hrtime() < deadline);
        for (uint64_t k = 0; k < step && sent < n && sent - p.confirmed < window; k++, sent++) {
            msgs[sent] = (perf_msg){&p, sent};
            assert_int_equal(store_put_msg(f->s, sent + 1, rec, sizeof rec), 0);
            assert_int_equal(store_enqueue(f->s, 1, sent, sent + 1, 0), 0);
            assert_int_equal(store_commit(f->s, perf_cb, &msgs[sent]), 0);
        }
        bool room = sent < n && sent - p.confirmed < window;
        uv_run(&f->loop, room ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    }
    assert_int_equal(commit_wait(f), 0); /* the last acks */
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    store_stats st;
    store_get_stats(f->s, &st);
    printf("perf: %" PRIu64 " msgs (1 KiB) enqueue+ack in %.2f s: %.0f msg/s, %" PRIu64
           " commits (%.0f commits/s), %.1f ops/commit\n",
           n, secs, (double)n / secs, st.commits, (double)st.commits / secs,
           (double)st.ops / (double)st.commits);
    assert_false(has_msg(f->s, 1));
    assert_false(has_msg(f->s, n));
    /* one publisher waiting for each confirm: one fsync per message */
    const int seqn = 200;
    t0 = uv_hrtime();
    for (int i = 0; i < seqn; i++) {
        put_msg_enq(f->s, n + 1 + (uint64_t)i, 2, (uint64_t)i);
        assert_int_equal(commit_wait(f), 0);
    }
    secs = (double)(uv_hrtime() - t0) / 1e9;
    printf("perf: %d sequential commits (1 msg each) in %.2f s: %.0f commits/s\n", seqn, secs,
           (double)seqn / secs);
    free(msgs);
}

int main(void)
{
    wr_log_set_level(WR_LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batching_one_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_during_commit_go_to_next_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_many_queues_big_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refcount_across_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivered_flag_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defs_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth_50mb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_cap_reports_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_map_full_grows_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_failure_reaches_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_mismatch_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_full_is_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msg_record_iov_roundtrip, setup, teardown),
        cmocka_unit_test(test_field_helpers),
        cmocka_unit_test_setup_teardown(test_ops_without_commit_are_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_hands_off_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_keeps_confirmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_enqueue_ack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
