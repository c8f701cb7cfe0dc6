/* The broker object and the embeddable API (include/warren.h). */
#include "warren.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/config/config.h"
#include "broker/core/vhost.h"
#include "broker/defs.h"
#include "broker/net/conn_int.h"
#include "broker/persist.h"
#include "broker/util/wr_log.h"

/* ---- broker ---- */

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp)) return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1;
    return 0;
}

/* Reads <data_dir>/node_id, or creates it with 16 random bytes in hex. */
static int broker_node_id(wr_broker *b, char *err, size_t errlen)
{
    char path[4200];
    uint8_t raw[16];
    int fd;
    ssize_t n;
    const char *dir = b->cfg->data_dir;
    if (!dir || !*dir) {
        snprintf(b->node_id, sizeof(b->node_id), "%016llx%016llx", (unsigned long long)uv_hrtime(),
                 (unsigned long long)(uintptr_t)b);
        return 0;
    }
    if (mkdir_p(dir) < 0) {
        snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
        return WR_EIO;
    }
    snprintf(path, sizeof(path), "%s/node_id", dir);
    fd = open(path, O_RDONLY);
    if (fd >= 0) {
        n = read(fd, b->node_id, 32);
        close(fd);
        if (n == 32) {
            b->node_id[32] = '\0';
            return 0;
        }
    }
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
        if (fd >= 0) close(fd);
        snprintf(err, errlen, "cannot read /dev/urandom");
        return WR_EIO;
    }
    close(fd);
    for (int i = 0; i < 16; i++) snprintf(b->node_id + 2 * i, 3, "%02x", raw[i]);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, b->node_id, 32) != 32) {
        if (fd >= 0) close(fd);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return WR_EIO;
    }
    close(fd);
    return 0;
}

wr_vhost *broker_vhost(wr_broker *b, const char *name, size_t len)
{
    return wr_map_get(&b->vhosts, name, len);
}

int broker_add_vhost(wr_broker *b, const char *name, wr_vhost **out)
{
    wr_vhost *v = wr_map_get(&b->vhosts, name, strlen(name));
    if (!v) {
        if (!(v = vhost_new(name))) return WR_ENOMEM;
        if (wr_map_put(&b->vhosts, name, strlen(name), v) < 0) {
            vhost_free(v);
            return WR_ENOMEM;
        }
        persist_vhost_added(b, v);
    }
    if (out) *out = v;
    return 0;
}

static int broker_add_user(wr_broker *b, const char *name, const char *pass, const char *tags,
                           char *err, size_t errlen)
{
    const cfg_config *cfg = b->cfg;
    wr_user *u;
    int rc = user_add(b->users, name, pass, tags, &u);
    if (rc < 0) {
        snprintf(err, errlen, "cannot add user '%s': %s", name, wr_strerror(rc));
        return rc;
    }
    rc = user_set_permissions(u, cfg->default_vhost ? cfg->default_vhost : "/",
                              cfg->default_perm_configure ? cfg->default_perm_configure : ".*",
                              cfg->default_perm_write ? cfg->default_perm_write : ".*",
                              cfg->default_perm_read ? cfg->default_perm_read : ".*");
    if (rc < 0) {
        snprintf(err, errlen, "bad default_permissions regex");
        return WR_ECONFIG;
    }
    user_set_loopback_only(u, cfg_is_loopback_user(cfg, name));
    return 0;
}

int broker_init(wr_broker *b, uv_loop_t *loop, const cfg_config *cfg, char *err, size_t errlen)
{
    int rc;
    const char *vh = cfg->default_vhost ? cfg->default_vhost : "/";
    memset(b, 0, sizeof(*b));
    b->loop = loop;
    b->cfg = cfg;
    wr_map_init(&b->vhosts);
    wr_buf_init(&b->start_frame);
    snprintf(b->node_name, sizeof(b->node_name), "%s",
             cfg->node_name && *cfg->node_name ? cfg->node_name : "rabbit@localhost");
    snprintf(b->cluster_name, sizeof(b->cluster_name), "%s",
             cfg->cluster_name && *cfg->cluster_name ? cfg->cluster_name : b->node_name);
    if ((rc = broker_node_id(b, err, errlen)) < 0) goto fail;
    rc = WR_ENOMEM;
    if (!(b->users = user_db_new())) goto fail;
    if ((rc = broker_add_vhost(b, vh, NULL)) < 0) goto fail;
    if (cfg->default_user && *cfg->default_user && cfg->default_pass) {
        rc = broker_add_user(b, cfg->default_user, cfg->default_pass, cfg->default_user_tags, err,
                             errlen);
        if (rc < 0) goto fail;
    }
    for (int i = 0; i < cfg->n_users; i++) {
        rc = broker_add_user(b, cfg->users[i].name, cfg->users[i].password, cfg->users[i].tags, err,
                             errlen);
        if (rc < 0) goto fail;
    }
    if (cfg->load_definitions && *cfg->load_definitions &&
        (rc = defs_load_file(b, cfg->load_definitions, err, errlen)) < 0)
        goto fail;
    if ((rc = connection__build_start(b)) < 0) goto fail;
    return 0;
fail:
    if (rc == WR_ENOMEM && err && !*err) snprintf(err, errlen, "out of memory");
    broker_free(b);
    return rc;
}

static void broker_handle_closed(uv_handle_t *h)
{
    wr_broker *b = h->data;
    b->open_handles--;
    if (b->stopping && b->open_handles == 0 && !b->stopped) {
        b->stopped = true;
        if (b->on_stopped) b->on_stopped(b->on_stopped_ud);
    }
}

static void broker_prepare_cb(uv_prepare_t *h)
{
    wr_broker *b = h->data;
    b->turn++;
    conn__flush_all(b);
}

static void broker_check_cb(uv_check_t *h)
{
    wr_broker *b = h->data;
    conn__flush_all(b);
    conn__resume_all(b); /* polled again in the next turn */
}

static void broker_async_cb(uv_async_t *h)
{
    broker_stop(h->data);
}

static void broker_finish_stop(wr_broker *b);

static void broker_tick_cb(uv_timer_t *t)
{
    wr_broker *b = t->data;
    const char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; wr_map_next(&b->vhosts, &i, &k, &kl, &v);) vhost_tick(v, vhost_now_ms(v));
    persist_tick(b);
    alarm_tick(b);
}

static void broker_stop_timer_cb(uv_timer_t *t)
{
    broker_finish_stop(t->data);
}

int broker_start(wr_broker *b, char *err, size_t errlen)
{
    int rc = persist_open(b, err, errlen); /* recovery before anyone connects */
    if (rc < 0) return rc;
    alarm_start(b); /* an alarm may block publishers before anyone connects */
    uv_prepare_init(b->loop, &b->prepare);
    uv_check_init(b->loop, &b->check);
    uv_async_init(b->loop, &b->stop_async, broker_async_cb);
    uv_timer_init(b->loop, &b->stop_timer);
    uv_timer_init(b->loop, &b->tick_timer);
    b->prepare.data = b->check.data = b->stop_async.data = b->stop_timer.data = b;
    b->tick_timer.data = b;
    b->open_handles += 5;
    uv_timer_start(&b->tick_timer, broker_tick_cb, 100, 100);
    uv_prepare_start(&b->prepare, broker_prepare_cb);
    uv_check_start(&b->check, broker_check_cb);
    b->started = true;
    rc = listener_start_all(b, err, errlen);
    if (rc < 0) {
        b->stopping = true;
        uv_close((uv_handle_t *)&b->prepare, broker_handle_closed);
        uv_close((uv_handle_t *)&b->check, broker_handle_closed);
        uv_close((uv_handle_t *)&b->stop_async, broker_handle_closed);
        uv_close((uv_handle_t *)&b->stop_timer, broker_handle_closed);
        uv_close((uv_handle_t *)&b->tick_timer, broker_handle_closed);
        persist_close(b);
        return rc;
    }
    return 0;
}

/* Closes every remaining connection and our own handles. */
static void broker_finish_stop(wr_broker *b)
{
    if (b->finishing) return;
    b->finishing = true;
    /* flush what is queued (the close frames) before closing the sockets */
    conn__flush_all(b);
    while (b->conns) conn__destroy(b->conns);
    persist_close(b); /* flushes every pending write before exit */
    uv_close((uv_handle_t *)&b->prepare, broker_handle_closed);
    uv_close((uv_handle_t *)&b->check, broker_handle_closed);
    uv_close((uv_handle_t *)&b->stop_async, broker_handle_closed);
    uv_close((uv_handle_t *)&b->stop_timer, broker_handle_closed);
    uv_close((uv_handle_t *)&b->tick_timer, broker_handle_closed);
}

void broker_stop(wr_broker *b)
{
    if (!b->started) return;
    if (!b->stopping) {
        wr_conn *c, *next;
        b->stopping = true;
        wr_info("stopping warren on node %s", b->node_name);
        listener_close_all(b);
        for (c = b->conns; c; c = next) {
            next = c->next;
            connection__shutdown(c);
        }
        if (!b->finishing) uv_timer_start(&b->stop_timer, broker_stop_timer_cb, 900, 0);
    }
    if (b->n_conns == 0) broker_finish_stop(b);
}

void broker_free(wr_broker *b)
{
    const char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; wr_map_next(&b->vhosts, &i, &k, &kl, &v);) vhost_free(v);
    wr_map_free(&b->vhosts);
    user_db_free(b->users);
    b->users = NULL;
    wr_buf_free(&b->start_frame);
}

void broker_set_blocked(wr_broker *b, bool blocked, const char *reason)
{
    wr_conn *c;
    if (b->blocked == blocked) return;
    b->blocked = blocked;
    snprintf(b->blocked_reason, sizeof(b->blocked_reason), "%s", reason ? reason : "");
    for (c = b->conns; c; c = c->next) connection__blocked_changed(c);
}

/* ---- warren ---- */

struct warren {
    wr_broker b;
    cfg_config *own_cfg; /* warren_new_from_file */
    bool initialised;
    uv_loop_t own_loop;
    bool thread_mode;
    bool thread_running;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;
    bool start_done;
    int start_rc;
    char start_err[256];
    uv_async_t *stop_handle; /* valid while started and not stopped */
    bool start_called;
};

int warren_new(warren **out, const cfg_config *cfg, char *err, size_t errlen)
{
    int rc;
    warren *w = calloc(1, sizeof(*w));
    if (err && errlen) err[0] = '\0';
    if (!w) return WR_ENOMEM;
    uv_mutex_init(&w->mu);
    uv_cond_init(&w->cv);
    rc = broker_init(&w->b, NULL, cfg, err, errlen);
    if (rc < 0) {
        uv_mutex_destroy(&w->mu);
        uv_cond_destroy(&w->cv);
        free(w);
        return rc;
    }
    w->initialised = true;
    *out = w;
    return 0;
}

int warren_new_from_file(warren **out, const char *path, char *err, size_t errlen)
{
    cfg_config *cfg = malloc(sizeof(*cfg));
    int rc;
    if (!cfg) return WR_ENOMEM;
    memset(cfg, 0, sizeof(*cfg));
    rc = cfg_load_all(cfg, path, err, errlen);
    if (rc == 0) rc = warren_new(out, cfg, err, errlen);
    if (rc < 0) {
        cfg_free(cfg);
        free(cfg);
        return rc;
    }
    (*out)->own_cfg = cfg;
    return 0;
}

static void warren_stopped(void *ud)
{
    warren *w = ud;
    uv_mutex_lock(&w->mu);
    w->stop_handle = NULL;
    uv_mutex_unlock(&w->mu);
}

int warren_start(warren *w, uv_loop_t *loop, char *err, size_t errlen)
{
    int rc;
    if (w->start_called) return WR_EINVAL;
    w->start_called = true;
    w->b.loop = loop;
    w->b.on_stopped = warren_stopped;
    w->b.on_stopped_ud = w;
    rc = broker_start(&w->b, err, errlen);
    if (rc == 0) {
        uv_mutex_lock(&w->mu);
        w->stop_handle = &w->b.stop_async;
        uv_mutex_unlock(&w->mu);
    }
    return rc;
}

static void warren_thread(void *arg)
{
    warren *w = arg;
    char err[256] = "";
    int rc;
    rc = warren_start(w, &w->own_loop, err, sizeof(err));
    uv_mutex_lock(&w->mu);
    w->start_rc = rc;
    snprintf(w->start_err, sizeof(w->start_err), "%s", err);
    w->start_done = true;
    uv_cond_signal(&w->cv);
    uv_mutex_unlock(&w->mu);
    uv_run(&w->own_loop, UV_RUN_DEFAULT);
}

int warren_start_thread(warren *w, char *err, size_t errlen)
{
    int rc;
    if (w->start_called || w->thread_mode) return WR_EINVAL;
    if (uv_loop_init(&w->own_loop) < 0) return WR_EIO;
    w->thread_mode = true;
    if (uv_thread_create(&w->thread, warren_thread, w) < 0) {
        uv_loop_close(&w->own_loop);
        w->thread_mode = false;
        return WR_EIO;
    }
    w->thread_running = true;
    uv_mutex_lock(&w->mu);
    while (!w->start_done) uv_cond_wait(&w->cv, &w->mu);
    rc = w->start_rc;
    if (err && errlen) snprintf(err, errlen, "%s", w->start_err);
    uv_mutex_unlock(&w->mu);
    if (rc < 0) warren_wait(w);
    return rc;
}

void warren_stop(warren *w)
{
    if (!w) return;
    uv_mutex_lock(&w->mu);
    if (w->stop_handle) uv_async_send(w->stop_handle);
    uv_mutex_unlock(&w->mu);
}

void warren_wait(warren *w)
{
    if (!w || !w->thread_running) return;
    uv_thread_join(&w->thread);
    w->thread_running = false;
    uv_run(&w->own_loop, UV_RUN_DEFAULT); /* close callbacks left by a failed start */
    uv_loop_close(&w->own_loop);
}

void warren_free(warren *w)
{
    if (!w) return;
    if (w->thread_running) {
        warren_stop(w);
        warren_wait(w);
    }
    if (w->initialised) broker_free(&w->b);
    if (w->own_cfg) {
        cfg_free(w->own_cfg);
        free(w->own_cfg);
    }
    uv_mutex_destroy(&w->mu);
    uv_cond_destroy(&w->cv);
    free(w);
}

uint16_t warren_amqp_port(const warren *w)
{
    return w->b.amqp_port;
}

const char *warren_node_name(const warren *w)
{
    return w->b.node_name;
}

const char *warren_node_id(const warren *w)
{
    return w->b.node_id;
}

uint32_t warren_connection_count(const warren *w)
{
    return w->b.n_conns;
}
