/* broker/persist.c over a real store: what a boot records (vhosts, the
 * blank-node default user, the clean-stop record), what a later boot restores
 * (default_user only on a blank node, as RabbitMQ), and a corrupt data
 * directory refusing to start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "broker/auth/user.h"
#include "broker/broker.h"
#include "broker/config/config.h"
#include "broker/persist.h"
#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"
#include "storage/store.h"

typedef struct fixture {
    cfg_config cfg;
    char *orig_user, *orig_pass;
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    wr_log_set_level(WR_LOG_WARNING);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/warren-persist-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    cfg_defaults(&fx->cfg);
    fx->cfg.n_tcp_listeners = 1;
    memset(&fx->cfg.tcp_listeners[0], 0, sizeof(fx->cfg.tcp_listeners[0]));
    snprintf(fx->cfg.tcp_listeners[0].ip, sizeof(fx->cfg.tcp_listeners[0].ip), "127.0.0.1");
    fx->cfg.tcp_listeners[0].port = 0;
    fx->cfg.data_dir = fx->dir;
    fx->orig_user = fx->cfg.default_user;
    fx->orig_pass = fx->cfg.default_pass;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];
    fx->cfg.data_dir = NULL;
    fx->cfg.default_user = fx->orig_user;
    fx->cfg.default_pass = fx->orig_pass;
    cfg_free(&fx->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    if (system(cmd) != 0) return -1;
    free(fx);
    return 0;
}

typedef struct node {
    uv_loop_t loop;
    wr_broker b;
} node;

static node *boot(fixture *fx)
{
    node *n = calloc(1, sizeof(*n));
    char err[512] = "";
    assert_int_equal(uv_loop_init(&n->loop), 0);
    assert_int_equal(broker_init(&n->b, &n->loop, &fx->cfg, err, sizeof(err)), 0);
    int rc = broker_start(&n->b, err, sizeof(err));
    if (rc < 0) fail_msg("start: %s", err);
    assert_non_null(persist_store(&n->b));
    return n;
}

/* Clean stop (as SIGTERM does). */
static void stop(node *n)
{
    broker_stop(&n->b);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    assert_null(persist_store(&n->b));
    broker_free(&n->b);
    assert_int_equal(uv_loop_close(&n->loop), 0);
    free(n);
}

static int count_cb(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    (*(int *)ctx)++;
    return 0;
}

static int defs(struct store *s, uint8_t kind)
{
    int n = 0;
    assert_int_equal(store_iter_defs(s, kind, count_cb, &n), 0);
    return n;
}

static void t_records_and_blank_node_default_user(void **state)
{
    fixture *fx = *state;
    node *n = boot(fx);
    struct store *s = persist_store(&n->b);
    assert_int_equal(defs(s, 'C'), 0); /* blank: no clean-stop record yet */
    stop(n);

    /* what the first boot and its clean stop left */
    char path[128];
    uv_loop_t loop;
    struct store *st;
    snprintf(path, sizeof(path), "%s/warren", fx->dir);
    store_opts o = {.dir = path};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(store_open(&loop, &o, &st), 0);
    assert_int_equal(defs(st, 'V'), 1); /* "/" */
    assert_int_equal(defs(st, 'U'), 1); /* guest, as created on the blank node */
    assert_int_equal(defs(st, 'C'), 1); /* clean stop */
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* not blank any more: a changed default_user is not created, the stored
     * one keeps working; the clean-stop record is consumed at boot */
    fx->cfg.default_user = "bob";
    fx->cfg.default_pass = "bobpw";
    n = boot(fx);
    assert_int_equal(defs(persist_store(&n->b), 'C'), 0);
    assert_null(user_find(n->b.users, "bob", 3));
    wr_user *g = user_find(n->b.users, "guest", 5);
    assert_non_null(g);
    assert_true(user_check_password(g, "guest", 5));
    assert_true(user_can(g, "/", WR_PERM_CONFIGURE, "q", 1));
    stop(n);
}

static void t_corrupt_data_dir_refuses_to_start(void **state)
{
    fixture *fx = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/warren", fx->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/warren/data.mdb", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    node *n = calloc(1, sizeof(*n));
    char err[512] = "";
    assert_int_equal(uv_loop_init(&n->loop), 0);
    assert_int_equal(broker_init(&n->b, &n->loop, &fx->cfg, err, sizeof(err)), 0);
    assert_int_equal(broker_start(&n->b, err, sizeof(err)), WR_ESTORE);
    assert_non_null(strstr(err, "cannot open the data directory"));
    assert_null(persist_store(&n->b));
    uv_run(&n->loop, UV_RUN_DEFAULT);
    broker_free(&n->b);
    assert_int_equal(uv_loop_close(&n->loop), 0);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_records_and_blank_node_default_user, setup, teardown),
        cmocka_unit_test_setup_teardown(t_corrupt_data_dir_refuses_to_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
