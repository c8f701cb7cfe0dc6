/* The node's store wired into the broker (see persist.h). */
#include "broker/persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/alarm.h"
#include "broker/core/vhost.h"
#include "broker/core/vhost_store.h"
#include "broker/auth/user.h"
#include "broker/util/wr_buf.h"
#include "broker/util/wr_log.h"
#include "broker/util/wr_map.h"
#include "storage/store.h"

#define PERSIST_VHOST 'V'
#define PERSIST_QUEUE 'Q' /* vhost_store.c: value starts with the u64 BE store id */
#define PERSIST_PROBE 'P'
#define PERSIST_CLEAN 'C' /* "stop": written by a clean stop, deleted at boot */
#define PERSIST_USER  'U' /* the default user as created on the blank node */

struct store *persist_store(const wr_broker *b)
{
    return b->store;
}

static void persist_put_vhost(wr_broker *b, const char *name)
{
    static const uint8_t ver = 1;
    size_t n = strlen(name);
    if (!b->store || n == 0 || n > STORE_MAX_DEF_KEY) return;
    if (store_put_def(b->store, PERSIST_VHOST, name, n, &ver, 1) < 0)
        wr_warn("store: cannot record vhost '%s'", name);
}

static int persist_rec_vhost(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                             size_t vlen)
{
    wr_broker *b = ctx;
    char name[STORE_MAX_DEF_KEY + 1];
    (void)val;
    if (klen == 0 || klen > STORE_MAX_DEF_KEY || vlen < 1 || memchr(key, 0, klen)) {
        wr_warn("store: bad vhost record ignored");
        return 0;
    }
    memcpy(name, key, klen);
    name[klen] = '\0';
    return broker_add_vhost(b, name, NULL) < 0 ? WR_ENOMEM : 0;
}

/* ---- the default user (RabbitMQ: created only on a blank node) ----------
 * value: u8 version (1), then six u16 BE length-prefixed strings: password
 * hash, tags, vhost, configure, write, read. */

#define PERSIST_USER_FIELDS 6

static int persist_put_str(wr_buf *v, const char *str)
{
    size_t n = str ? strlen(str) : 0;
    uint8_t l[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    if (n > 0xffff) return WR_ETOOBIG;
    if (wr_buf_append(v, l, 2) < 0 || wr_buf_append(v, str ? str : "", n) < 0) return WR_ENOMEM;
    return 0;
}

/* Blank node: remember the default user the config created. */
static void persist_record_default_user(wr_broker *b)
{
    const cfg_config *cfg = b->cfg;
    const char *name = cfg->default_user;
    if (!name || !*name || strlen(name) > STORE_MAX_DEF_KEY) return;
    wr_user *u = user_find(b->users, name, strlen(name));
    if (!u) return;
    const char *f[PERSIST_USER_FIELDS] = {user_password_hash(u),
                                          user_tags(u),
                                          cfg->default_vhost ? cfg->default_vhost : "/",
                                          cfg->default_perm_configure ? cfg->default_perm_configure
                                                                      : ".*",
                                          cfg->default_perm_write ? cfg->default_perm_write : ".*",
                                          cfg->default_perm_read ? cfg->default_perm_read : ".*"};
    wr_buf v;
    wr_buf_init(&v);
    static const uint8_t ver = 1;
    int rc = wr_buf_append(&v, &ver, 1);
    for (int i = 0; rc == 0 && i < PERSIST_USER_FIELDS; i++) rc = persist_put_str(&v, f[i]);
    if (rc == 0) rc = store_put_def(b->store, PERSIST_USER, name, strlen(name), v.data, v.len);
    if (rc < 0) wr_warn("store: cannot record the default user '%s'", name);
    wr_buf_free(&v);
}

typedef struct persist_users {
    wr_broker *b;
    bool any;
    bool default_stored; /* the config's default user is the stored one */
} persist_users;

/* Non-blank node: the stored default user comes back (with its hash). */
static int persist_rec_user(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen)
{
    persist_users *pu = ctx;
    wr_broker *b = pu->b;
    char name[STORE_MAX_DEF_KEY + 1];
    char *f[PERSIST_USER_FIELDS] = {0};
    int rc = 0;
    pu->any = true;
    if (klen == 0 || klen > STORE_MAX_DEF_KEY || memchr(key, 0, klen) || vlen < 1 || val[0] != 1)
        goto bad;
    memcpy(name, key, klen);
    name[klen] = '\0';
    size_t o = 1;
    for (int i = 0; i < PERSIST_USER_FIELDS; i++) {
        if (vlen - o < 2) goto bad;
        size_t n = (size_t)val[o] << 8 | val[o + 1];
        o += 2;
        if (vlen - o < n || memchr(val + o, 0, n)) goto bad;
        if (!(f[i] = malloc(n + 1))) {
            rc = WR_ENOMEM;
            goto out;
        }
        memcpy(f[i], val + o, n);
        f[i][n] = '\0';
        o += n;
    }
    const char *du = b->cfg->default_user;
    if (du && strcmp(du, name) == 0) pu->default_stored = true;
    wr_user *u = user_find(b->users, name, klen);
    if (u) goto out; /* the config (or definitions) defines it: theirs wins */
    if (user_add_hashed(b->users, name, f[0], f[1], &u) < 0 ||
        user_set_permissions(u, f[2], f[3], f[4], f[5]) < 0)
        goto bad;
    user_set_loopback_only(u, cfg_is_loopback_user(b->cfg, name));
    goto out;
bad:
    wr_warn("store: bad user record ignored");
out:
    for (int i = 0; i < PERSIST_USER_FIELDS; i++) free(f[i]);
    return rc;
}

/* RabbitMQ creates default_user only when the node is blank; on a node that
 * already has data the user stored then is kept and a changed default_user
 * in the config is not created. Users from the config's user list and from
 * load_definitions are applied at every boot. */
static int persist_users_boot(wr_broker *b)
{
    persist_users pu = {.b = b};
    int rc = store_iter_defs(b->store, PERSIST_USER, persist_rec_user, &pu);
    if (rc < 0) return rc;
    if (!pu.any) {
        persist_record_default_user(b);
        return 0;
    }
    const cfg_config *cfg = b->cfg;
    const char *du = cfg->default_user;
    if (!du || !*du || pu.default_stored) return 0;
    for (int i = 0; i < cfg->n_users; i++)
        if (cfg->users[i].name && strcmp(cfg->users[i].name, du) == 0) return 0;
    /* still the config's user (load_definitions did not redefine the name) */
    wr_user *u = user_find(b->users, du, strlen(du));
    const char *dp = cfg->default_pass ? cfg->default_pass : "";
    if (u && user_check_password(u, dp, strlen(dp))) {
        wr_info("default user '%s' not created: the node is not blank", du);
        user_delete(b->users, du);
    }
    return 0;
}

/* Queue ids that have a definition, and how many stored queues there are. */
typedef struct persist_ids {
    wr_map ids; /* 8-byte BE id -> (void *)1 */
    uint64_t queues, messages, orphans;
    struct store *s;
} persist_ids;

static int persist_rec_qdef(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen)
{
    persist_ids *p = ctx;
    (void)key;
    (void)klen;
    if (vlen < 8) return 0;
    p->queues++;
    return wr_map_put(&p->ids, val, 8, (void *)1) < 0 ? WR_ENOMEM : 0;
}

static int persist_rec_qid(void *ctx, uint64_t queue_id, uint64_t count)
{
    persist_ids *p = ctx;
    uint8_t k[8];
    uint64_t id = queue_id;
    for (int i = 7; i >= 0; i--, id >>= 8) k[i] = (uint8_t)id;
    if (wr_map_get(&p->ids, k, 8)) {
        p->messages += count;
        return 0;
    }
    /* index entries of a queue whose definition is gone (deleted while the
     * purge was in a failed batch): drop them */
    p->orphans += count;
    return store_purge_queue(p->s, queue_id) < 0 ? WR_ENOMEM : 0;
}

static int persist_rec_clean(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                             size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    *(bool *)ctx = true;
    return 0;
}

static void persist_synced(void *ctx, int status)
{
    *(int *)ctx = status;
}

/* Boot: waits for the recovery's writes (the clean-stop record's removal,
 * dropped orphans, rewritten definitions) to be on disk before anyone
 * connects, so a crash right after boot is still seen as one. Runs the loop,
 * which holds only the store's handles yet. */
static int persist_sync(wr_broker *b)
{
    int status = 1;
    int rc = store_commit(b->store, persist_synced, &status);
    if (rc < 0) return rc;
    store_flush(b->store);
    while (status == 1) uv_run(b->loop, UV_RUN_ONCE);
    return status;
}

int persist_open(wr_broker *b, char *err, size_t errlen)
{
    const char *dir = b->cfg->data_dir;
    char path[4200];
    const char *k;
    size_t kl;
    void *v;
    int rc;
    if (!dir || !*dir) return 0;
    uint64_t t0 = uv_hrtime();
    snprintf(path, sizeof(path), "%s/warren", dir);
    store_opts o = {.dir = path};
    struct store *s = NULL;
    rc = store_open(b->loop, &o, &s);
    if (rc < 0) {
        snprintf(err, errlen,
                 "cannot open the data directory %s (%s): it is corrupt, in use by another "
                 "node, or was written by a newer warren; see the log above",
                 path, wr_strerror(rc));
        return rc;
    }
    b->store = s;
    persist_ids p = {.s = s};
    wr_map_init(&p.ids);
    /* after a crash a delivery's mark may not have been committed: every
     * recovered message then comes back redelivered (RabbitMQ does so) */
    bool clean = false;
    rc = store_iter_defs(s, PERSIST_CLEAN, persist_rec_clean, &clean);
    if (rc == 0 && clean) rc = store_del_def(s, PERSIST_CLEAN, "stop", 4);
    if (rc == 0) rc = store_iter_defs(s, PERSIST_VHOST, persist_rec_vhost, b);
    if (rc == 0) rc = persist_users_boot(b);
    if (rc == 0) rc = store_iter_defs(s, PERSIST_QUEUE, persist_rec_qdef, &p);
    if (rc == 0) rc = store_iter_queue_ids(s, persist_rec_qid, &p);
    for (size_t i = 0; rc == 0 && wr_map_next(&b->vhosts, &i, &k, &kl, &v);) {
        vhost_store_attach(v, s);
        persist_put_vhost(b, vhost_name(v));
        rc = vhost_store_recover_ex(v, !clean);
    }
    wr_map_free(&p.ids);
    if (rc == 0) rc = persist_sync(b);
    if (rc < 0) {
        snprintf(err, errlen, "recovery from %s failed: %s", path, wr_strerror(rc));
        b->store_closing = true; /* not a clean stop: keep the crash state */
        persist_close(b);
        return rc;
    }
    if (p.orphans)
        wr_warn("store: dropped %llu stored messages of deleted queues",
                (unsigned long long)p.orphans);
    if (!clean && (p.queues || p.messages))
        wr_info("the node was not stopped cleanly: recovered messages are marked redelivered");
    wr_info("recovered %llu queues, %llu messages in %llu ms", (unsigned long long)p.queues,
            (unsigned long long)p.messages, (unsigned long long)((uv_hrtime() - t0) / 1000000u));
    return 0;
}

void persist_vhost_added(wr_broker *b, wr_vhost *v)
{
    if (!b->store) return;
    vhost_store_attach(v, b->store);
    persist_put_vhost(b, vhost_name(v));
}

static void persist_probe_done(void *ctx, int status)
{
    wr_broker *b = ctx;
    b->store_probe = false;
    (void)status; /* persist_tick reads the store's state */
}

void persist_tick(wr_broker *b)
{
    struct store *s = b->store;
    if (!s) return;
    bool failing = store_is_blocked(s);
    if (failing && !b->store_blocked) {
        b->store_blocked = true;
        wr_error("store: writes are failing (%s); blocking publishers",
                 wr_strerror(store_last_error(s)));
        alarm_set(b, ALARM_STORE, true); /* broker/alarm.c: blocked while any alarm is set */
    } else if (!failing && b->store_blocked) {
        b->store_blocked = false;
        wr_info("store writes succeed again");
        alarm_set(b, ALARM_STORE, false);
    }
    if (failing && !b->store_probe) {
        /* with publishers blocked nothing else may write: a small probe
         * batch tells when the disk takes writes again */
        static const uint8_t one = 1;
        if (store_put_def(s, PERSIST_PROBE, "probe", 5, &one, 1) == 0 &&
            store_commit(s, persist_probe_done, b) == 0)
            b->store_probe = true;
    }
}

static void persist_retry_closed(uv_handle_t *h)
{
    free(h);
}

static void persist_retry_cb(uv_timer_t *t)
{
    persist_close(t->data);
    uv_close((uv_handle_t *)t, persist_retry_closed);
}

void persist_close(wr_broker *b)
{
    const char *k;
    size_t kl;
    void *v;
    struct store *s = b->store;
    if (!s) return;
    for (size_t i = 0; wr_map_next(&b->vhosts, &i, &k, &kl, &v);) vhost_store_attach(v, NULL);
    static const uint8_t one = 1;
    if (!b->store_closing) {
        b->store_closing = true;
        (void)store_put_def(s, PERSIST_CLEAN, "stop", 4, &one, 1); /* written by the flush */
    }
    store_stats st;
    store_get_stats(s, &st);
    if (store_close(s) < 0) {
        /* called from inside a store callback (a connection torn down
         * there ended the stop): close right after it */
        uv_timer_t *t = malloc(sizeof(*t));
        if (t && uv_timer_init(b->loop, t) == 0) {
            t->data = b;
            uv_timer_start(t, persist_retry_cb, 0, 0);
        } else {
            free(t);
            wr_error("store: cannot close the store from a store callback");
        }
        return;
    }
    b->store = NULL;
    wr_info("store closed: %llu batches committed (%llu transactions, one fsync each), %llu "
            "operations (%.1f per batch), %llu commit callbacks, %llu failed",
            (unsigned long long)st.commits, (unsigned long long)st.txns, (unsigned long long)st.ops,
            st.commits ? (double)st.ops / (double)st.commits : 0.0,
            (unsigned long long)st.callbacks, (unsigned long long)st.failed);
}
