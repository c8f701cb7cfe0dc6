/* wr_config: rabbitmq.conf (sysctl), YAML, enabled_plugins, environment, node names.
 * Every key of the seed ConfigMap is checked for its value; broken files must fail with
 * "file:line: ..." and unknown keys must only warn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/config/config.h"
#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"

#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------------------- */

static int n_warn;
static char last_warn[512];

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    n_warn++;
    snprintf(last_warn, sizeof(last_warn), "%s", msg);
}

static const char *const env_vars[] = {
    "RABBITMQ_NODENAME",
    "RABBITMQ_DIST_PORT",
    "RABBITMQ_DEFAULT_PASS_FILE",
    "RABBITMQ_ERLANG_COOKIE_FILE",
    "RABBITMQ_VM_MEMORY_HIGH_WATERMARK",
    "RABBITMQ_USE_LONGNAME",
    "RABBITMQ_NODE_PORT",
    "RABBITMQ_NODE_IP_ADDRESS",
    "RABBITMQ_MNESIA_DIR",
    "RABBITMQ_MNESIA_BASE",
    "RABBITMQ_DEFAULT_USER",
    "RABBITMQ_DEFAULT_PASS",
    "RABBITMQ_DEFAULT_VHOST",
    "RABBITMQ_ENABLED_PLUGINS_FILE",
    "RABBITMQ_CONFIG_FILE",
    "RABBITMQ_CONFIG_BASE",
    "RABBITMQ_ERLANG_COOKIE",
    "RABBITMQ_LOGS",
    "K8S_HOST",
    "K8S_PORT",
    "K8S_SCHEME",
    "K8S_TOKEN_PATH",
    "K8S_CERT_PATH",
    "K8S_NAMESPACE_PATH",
    "K8S_SERVICE_NAME",
    "K8S_ADDRESS_TYPE",
    "K8S_HOSTNAME_SUFFIX",
    "POD_NAME",
    "POD_NAMESPACE",
    "POD_IP",
};

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++) unsetenv(env_vars[i]);
    /* keep the defaults away from a real /etc/rabbitmq */
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/wr_test_config_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    setenv("RABBITMQ_CONFIG_BASE", tmpdir, 1);
    n_warn = 0;
    last_warn[0] = '\0';
    cfg_set_warn_hook(on_warn, NULL);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int load(cfg_config *c, const char *text, char *err, size_t errlen)
{
    cfg_defaults(c);
    err[0] = '\0';
    return cfg_load_string(c, text, strlen(text), "test.conf", err, errlen);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads text, expects WR_ECONFIG and an error starting with "test.conf:<line>: ". */
static void expect_error(const char *text, int line, const char *needle)
{
    cfg_config c;
    char err[512], prefix[64];
    int r = load(&c, text, err, sizeof(err));

    if (r != WR_ECONFIG) fail_msg("expected an error for [%s], got %d", text, r);
    snprintf(prefix, sizeof(prefix), "test.conf:%d: ", line);
    if (strncmp(err, prefix, strlen(prefix))) fail_msg("error '%s' lacks '%s'", err, prefix);
    if (needle && !strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
    cfg_free(&c);
}

static const char seed_conf[] =
    "default_user = admin\n"
    "default_pass = admin\n"
    "## Cluster formation. See https://www.rabbitmq.com/cluster-formation.html to learn more.\n"
    "cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s\n"
    "cluster_formation.k8s.host = kubernetes.default.svc.cluster.local\n"
    "## Should RabbitMQ node name be computed from the pod's hostname or IP address?\n"
    "## IP addresses are not stable, so using [stable] hostnames is recommended when possible.\n"
    "## Set to \"hostname\" to use pod hostnames.\n"
    "## When this value is changed, so should the variable used to set the RABBITMQ_NODENAME\n"
    "## environment variable.\n"
    "cluster_formation.k8s.address_type = hostname\n"
    "## How often should node cleanup checks run?\n"
    "cluster_formation.node_cleanup.interval = 30\n"
    "## Set to false if automatic removal of unknown/absent nodes\n"
    "## is desired. This can be dangerous, see\n"
    "##  * https://www.rabbitmq.com/cluster-formation.html#node-health-checks-and-cleanup\n"
    "##  * https://groups.google.com/forum/#!msg/rabbitmq-users/wuOfzEywHXo/k8z_HWIkBgAJ\n"
    "cluster_formation.node_cleanup.only_log_warning = true\n"
    "cluster_partition_handling = autoheal\n"
    "## See https://www.rabbitmq.com/ha.html#master-migration-data-locality\n"
    "queue_master_locator=min-masters\n"
    "## See https://www.rabbitmq.com/access-control.html#loopback-users\n"
    "loopback_users.guest = false\n"
    "cluster_formation.randomized_startup_delay_range.min = 0\n"
    "cluster_formation.randomized_startup_delay_range.max = 2\n"
    "# default is rabbitmq-cluster's namespace\n"
    "# hostname_suffix\n"
    "cluster_formation.k8s.hostname_suffix = .rabbitmq-cluster.default.svc.cluster.local\n"
    "# memory\n"
    "vm_memory_high_watermark.absolute = 1GB\n"
    "# disk\n"
    "disk_free_limit.absolute = 2GB\n";

/* ---- defaults and the seed --------------------------------------------------------------- */

static void test_defaults(void **state)
{
    cfg_config c;
    (void)state;
    cfg_defaults(&c);
    assert_string_equal(c.default_user, "guest");
    assert_string_equal(c.default_pass, "guest");
    assert_string_equal(c.default_vhost, "/");
    assert_string_equal(c.default_user_tags, "administrator");
    assert_int_equal(c.n_tcp_listeners, 1);
    assert_int_equal(c.tcp_listeners[0].port, 5672);
    assert_string_equal(c.tcp_listeners[0].ip, "");
    assert_int_equal(c.n_ssl_listeners, 0);
    assert_true(cfg_is_loopback_user(&c, "guest"));
    assert_false(cfg_is_loopback_user(&c, "admin"));
    assert_int_equal(c.heartbeat, 60);
    assert_int_equal(c.frame_max, 131072);
    assert_int_equal(c.channel_max, 2047);
    assert_int_equal(c.max_message_size, 134217728);
    assert_int_equal(c.handshake_timeout_ms, 10000);
    assert_int_equal(c.mgmt_tcp.port, 15672);
    assert_int_equal(c.prometheus_tcp.port, 15692);
    assert_true(c.vm_memory_high_watermark > 0.39 && c.vm_memory_high_watermark < 0.41);
    assert_int_equal(c.disk_free_limit, 50000000);
    assert_int_equal(c.cluster_partition_handling, CFG_PARTITION_IGNORE);
    assert_int_equal(c.n_auth_mechanisms, 2);
    assert_string_equal(c.auth_mechanisms[0], "PLAIN");
    assert_string_equal(c.k8s_service_name, "rabbitmq");
    assert_int_equal(c.k8s_port, 443);
    cfg_free(&c);
}

static void test_seed_config(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c, seed_conf, err, sizeof(err)), 0);
    assert_int_equal(n_warn, 0);
    assert_int_equal(c.n_warnings, 0);
    assert_string_equal(c.default_user, "admin");
    assert_string_equal(c.default_pass, "admin");
    assert_string_equal(c.peer_discovery_backend, "rabbit_peer_discovery_k8s");
    assert_string_equal(c.k8s_host, "kubernetes.default.svc.cluster.local");
    assert_int_equal(c.k8s_address_type, CFG_K8S_ADDRESS_HOSTNAME);
    assert_int_equal(c.node_cleanup_interval_s, 30);
    assert_true(c.node_cleanup_only_log_warning);
    assert_int_equal(c.cluster_partition_handling, CFG_PARTITION_AUTOHEAL);
    assert_int_equal(c.queue_master_locator, CFG_LOCATOR_MIN_MASTERS);
    assert_int_equal(c.n_loopback_users, 0);
    assert_false(cfg_is_loopback_user(&c, "guest"));
    assert_int_equal(c.startup_delay_min_s, 0);
    assert_int_equal(c.startup_delay_max_s, 2);
    assert_string_equal(c.k8s_hostname_suffix, ".rabbitmq-cluster.default.svc.cluster.local");
    assert_int_equal(c.vm_memory_high_watermark_abs, 1000000000ull);
    assert_int_equal(c.disk_free_limit, 2000000000ull);
    /* untouched: listeners stay the default */
    assert_int_equal(c.n_tcp_listeners, 1);
    assert_int_equal(c.tcp_listeners[0].port, 5672);
    /* every key is kept with its line */
    assert_int_equal(c.n_settings, 15);
    assert_string_equal(c.settings[0].key, "default_user");
    assert_int_equal(c.settings[0].line, 1);
    assert_string_equal(c.settings[8].key, "queue_master_locator");
    assert_string_equal(c.settings[8].value, "min-masters");
    cfg_free(&c);
}

static void test_seed_plugins(void **state)
{
    cfg_config c;
    char err[256];
    const char *t = "[rabbitmq_management,rabbitmq_peer_discovery_k8s].\n";
    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_load_plugins_string(&c, t, strlen(t), "enabled_plugins", err, sizeof(err)),
                     0);
    assert_int_equal(c.n_enabled_plugins, 2);
    assert_string_equal(c.enabled_plugins[0], "rabbitmq_management");
    assert_string_equal(c.enabled_plugins[1], "rabbitmq_peer_discovery_k8s");
    assert_true(cfg_plugin_enabled(&c, "rabbitmq_management"));
    assert_false(cfg_plugin_enabled(&c, "rabbitmq_prometheus"));
    cfg_free(&c);
}

/* ---- syntax ------------------------------------------------------------------------------ */

static void test_syntax_comments_spaces(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "   # indented comment\n\n\t\n"
                          "cluster_name = my cluster name   # trailing comment\n"
                          "default_pass = ab#cd\n"
                          "default_vhost=/prod\r\n"
                          "default_user =\tbob\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(c.cluster_name, "my cluster name");
    assert_string_equal(c.default_pass, "ab"); /* '#' starts a comment, as in cuttlefish */
    assert_string_equal(c.default_vhost, "/prod");
    assert_string_equal(c.default_user, "bob");
    cfg_free(&c);
}

static void test_last_wins(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c, "heartbeat = 10\nheartbeat = 20\n", err, sizeof(err)), 0);
    assert_int_equal(c.heartbeat, 20);
    assert_int_equal(c.n_settings, 1);
    assert_int_equal(c.settings[0].line, 2);
    cfg_free(&c);
}

static void test_no_equals(void **state)
{
    (void)state;
    expect_error("heartbeat = 10\n# c\nthis line has no equals\n", 3, "expected 'key = value'");
}

static void test_empty_key_and_value(void **state)
{
    (void)state;
    expect_error(" = 5\n", 1, "empty key");
    expect_error("heartbeat =   \n", 1, "no value");
    expect_error("bad key = 5\n", 1, "invalid key");
    expect_error("a..b = 5\n", 1, "invalid key");
    expect_error(".a = 5\n", 1, "invalid key");
}

static void test_include_refused(void **state)
{
    (void)state;
    expect_error("include /etc/rabbitmq/conf.d/*.conf\n", 1, "include");
}

static void test_unknown_key_warns(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c, "heartbeat = 5\nno_such.key = 1\n", err, sizeof(err)), 0);
    assert_int_equal(n_warn, 1);
    assert_int_equal(c.n_warnings, 1);
    assert_non_null(strstr(last_warn, "test.conf:2"));
    assert_non_null(strstr(last_warn, "no_such.key"));
    assert_int_equal(c.heartbeat, 5);
    cfg_free(&c);
}

/* ---- value types ------------------------------------------------------------------------- */

static void test_bad_ints(void **state)
{
    (void)state;
    expect_error("heartbeat = abc\n", 1, "heartbeat");
    expect_error("heartbeat = 70000\n", 1, "out of range");
    expect_error("\nchannel_max = -1\n", 2, "out of range");
    expect_error("heartbeat = 1.5\n", 1, "integer");
    expect_error("max_message_size = 536870913\n", 1, "out of range");
    expect_error("cluster_formation.node_cleanup.interval = 99999999999999999999999\n", 1, NULL);
}

static void test_ints(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "heartbeat = 0\nchannel_max = 0\nframe_max = 128KB\n"
                          "max_message_size = 1048576\nhandshake_timeout = 5000\n"
                          "collect_statistics_interval = 10000\ncluster_keepalive_interval = 2000\n"
                          "mirroring_sync_batch_size = 1024\nqueue_index_embed_msgs_below = 4kb\n"
                          "consumer_timeout = 900000\nconnection_max = infinity\n"
                          "net_ticktime = 120\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.heartbeat, 0);
    assert_int_equal(c.channel_max, 0);
    assert_int_equal(c.frame_max, 131072);
    assert_int_equal(c.max_message_size, 1048576);
    assert_int_equal(c.handshake_timeout_ms, 5000);
    assert_int_equal(c.collect_statistics_interval_ms, 10000);
    assert_int_equal(c.cluster_keepalive_interval_ms, 2000);
    assert_int_equal(c.mirroring_sync_batch_size, 1024);
    assert_int_equal(c.queue_index_embed_msgs_below, 4096);
    assert_int_equal(c.consumer_timeout_ms, 900000);
    assert_int_equal(c.connection_max, -1);
    assert_int_equal(c.net_ticktime, 120);
    cfg_free(&c);
}

static void test_info_units(void **state)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"1024", 1024},
        {"1GB", 1000000000ull},
        {"2GB", 2000000000ull},
        {"1gb", 1000000000ull},
        {"1GiB", 1073741824ull},
        {"1G", 1073741824ull},
        {"1g", 1073741824ull},
        {"512MB", 512000000ull},
        {"512MiB", 536870912ull},
        {"512M", 536870912ull},
        {"1000kB", 1000000ull},
        {"1000KB", 1000000ull},
        {"4KiB", 4096},
        {"4k", 4096},
        {"0", 0},
    };
    static const char *const bad[] = {"",
                                      "GB",
                                      "1XB",
                                      "1 GB",
                                      "-1GB",
                                      "1.5GB",
                                      "1TB",
                                      "1GBB",
                                      "99999999999999999999",
                                      "18446744073709551615G"};
    uint64_t v;
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (cfg_parse_info_unit(ok[i].s, &v) != 0 || v != ok[i].v)
            fail_msg("'%s' should be %llu", ok[i].s, (unsigned long long)ok[i].v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cfg_parse_info_unit(bad[i], &v) != WR_ECONFIG) fail_msg("'%s' should fail", bad[i]);
}

static void test_bad_units(void **state)
{
    (void)state;
    expect_error("vm_memory_high_watermark.absolute = 1XB\n", 1, "vm_memory_high_watermark");
    expect_error("disk_free_limit.absolute = lots\n", 1, "disk_free_limit.absolute");
    expect_error("frame_max = 1TB\n", 1, "frame_max");
}

static void test_bad_bool(void **state)
{
    (void)state;
    expect_error("cluster_formation.node_cleanup.only_log_warning = yes\n", 1, "true or false");
    expect_error("loopback_users.guest = False\n", 1, "true or false");
    expect_error("tcp_listen_options.nodelay = 1\n", 1, NULL);
}

static void test_bad_enum(void **state)
{
    (void)state;
    expect_error("cluster_partition_handling = sometimes\n", 1, "autoheal");
    expect_error("queue_master_locator = max-masters\n", 1, "min-masters");
    expect_error("cluster_formation.k8s.address_type = fqdn\n", 1, "hostname");
    expect_error("log.console.level = loud\n", 1, "log.console.level");
    expect_error("ssl_options.verify = sometimes\n", 1, "verify_peer");
}

static void test_enums(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "cluster_partition_handling = pause_minority\n"
                          "queue_master_locator = random\ncollect_statistics = fine\n"
                          "cluster_formation.node_type = disk\nlog.console.level = debug\n"
                          "log.file.level = warning\nlog.file = false\nlog.console = false\n"
                          "management.rates_mode = detailed\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.cluster_partition_handling, CFG_PARTITION_PAUSE_MINORITY);
    assert_int_equal(c.queue_master_locator, CFG_LOCATOR_RANDOM);
    assert_int_equal(c.collect_statistics, CFG_STATS_FINE);
    assert_int_equal(c.node_type, CFG_NODE_DISC);
    assert_int_equal(c.log_console_level, WR_LOG_DEBUG);
    assert_int_equal(c.log_file_level, WR_LOG_WARNING);
    assert_null(c.log_file);
    assert_false(c.log_console);
    assert_int_equal(c.mgmt_rates_mode, CFG_RATES_DETAILED);
    cfg_free(&c);
}

static void test_pause_if_all_down(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    expect_error("heartbeat = 1\ncluster_partition_handling = pause_if_all_down\n", 2,
                 "pause_if_all_down.nodes");
    assert_int_equal(load(&c,
                          "cluster_partition_handling = pause_if_all_down\n"
                          "cluster_partition_handling.pause_if_all_down.recover = autoheal\n"
                          "cluster_partition_handling.pause_if_all_down.nodes.1 = rabbit@a\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.pause_if_all_down_recover, CFG_RECOVER_AUTOHEAL);
    assert_int_equal(c.n_pause_if_all_down_nodes, 1);
    assert_string_equal(c.pause_if_all_down_nodes[0], "rabbit@a");
    cfg_free(&c);
}

/* ---- listeners --------------------------------------------------------------------------- */

static void test_listener_forms(void **state)
{
    static const struct {
        const char *s;
        const char *ip;
        uint16_t port;
    } ok[] = {
        {"5673", "", 5673},          {"127.0.0.1:5674", "127.0.0.1", 5674},
        {"[::1]:5675", "::1", 5675}, {"::1:5676", "::1", 5676},
        {":::5677", "::", 5677},     {"0.0.0.0:5678", "0.0.0.0", 5678},
    };
    static const char *const bad[] = {
        "0",     "65536",          "abc",       "127.0.0.1",         "1.2.3.4:",
        ":5672", "300.1.1.1:5672", "[::1:5672", "host.example:5672", "-1"};
    cfg_listener l;
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(cfg_parse_listener(ok[i].s, &l), 0);
        assert_string_equal(l.ip, ok[i].ip);
        assert_int_equal(l.port, ok[i].port);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cfg_parse_listener(bad[i], &l) != WR_ECONFIG) fail_msg("'%s' should fail", bad[i]);
}

static void test_listeners(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "listeners.tcp.local = 127.0.0.1:5673\n"
                          "listeners.tcp.v6 = [::1]:5673\n"
                          "listeners.tcp.local = 127.0.0.1:5674\n"
                          "listeners.ssl.default = 5671\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.n_tcp_listeners, 2); /* the default 5672 is replaced */
    assert_string_equal(c.tcp_listeners[0].ip, "127.0.0.1");
    assert_int_equal(c.tcp_listeners[0].port, 5674);
    assert_string_equal(c.tcp_listeners[0].name, "local");
    assert_string_equal(c.tcp_listeners[1].ip, "::1");
    assert_int_equal(c.n_ssl_listeners, 1);
    assert_int_equal(c.ssl_listeners[0].port, 5671);
    cfg_free(&c);

    assert_int_equal(
        load(&c, "listeners.tcp = none\nlisteners.ssl.default = 5671\n", err, sizeof(err)), 0);
    assert_int_equal(c.n_tcp_listeners, 0);
    assert_int_equal(c.n_ssl_listeners, 1);
    cfg_free(&c);
    expect_error("listeners.tcp.default = 5672\nlisteners.tcp.x = localhost:99999\n", 2,
                 "invalid listener");
    expect_error("listeners.tcp = all\n", 1, "none");
}

static void test_mgmt_prometheus(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "management.tcp.port = 15673\nmanagement.tcp.ip = 127.0.0.1\n"
                          "prometheus.tcp.port = 15693\nmanagement.load_definitions = /d.json\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.mgmt_tcp.port, 15673);
    assert_string_equal(c.mgmt_tcp.ip, "127.0.0.1");
    assert_int_equal(c.prometheus_tcp.port, 15693);
    assert_string_equal(c.load_definitions, "/d.json");
    cfg_free(&c);
    assert_int_equal(load(&c, "management.listener.port = 15670\n", err, sizeof(err)), 0);
    assert_int_equal(c.mgmt_tcp.port, 15670);
    cfg_free(&c);
    assert_int_equal(load(&c, "management.listener.port = 15671\nmanagement.listener.ssl = true\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.mgmt_tcp.port, 0);
    assert_int_equal(c.mgmt_ssl.port, 15671);
    cfg_free(&c);
    expect_error("management.tcp.ip = not-an-ip\n", 1, "IP address");
    expect_error("management.tcp.port = 0\n", 1, "out of range");
}

/* ---- access ------------------------------------------------------------------------------ */

static void test_loopback_users(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c, "loopback_users.alice = true\n", err, sizeof(err)), 0);
    assert_true(cfg_is_loopback_user(&c, "alice"));
    assert_false(cfg_is_loopback_user(&c, "guest")); /* the list replaces the default */
    cfg_free(&c);
    assert_int_equal(load(&c, "loopback_users = none\n", err, sizeof(err)), 0);
    assert_int_equal(c.n_loopback_users, 0);
    cfg_free(&c);
    assert_int_equal(
        load(&c, "loopback_users.guest = true\nloopback_users.bob = true\n", err, sizeof(err)), 0);
    assert_int_equal(c.n_loopback_users, 2);
    cfg_free(&c);
}

static void test_default_user_keys(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "default_vhost = prod\ndefault_user = ops\ndefault_pass = s3cret pass\n"
                          "default_user_tags.monitoring = true\n"
                          "default_user_tags.management = true\n"
                          "default_user_tags.monitoring = false\n"
                          "default_permissions.configure = ^ops-.*\n"
                          "default_permissions.read = .*\ndefault_permissions.write = ^$\n"
                          "auth_mechanisms.1 = PLAIN\nauth_backends.1 = internal\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(c.default_vhost, "prod");
    assert_string_equal(c.default_user, "ops");
    assert_string_equal(c.default_pass, "s3cret pass");
    assert_string_equal(c.default_user_tags, "management");
    assert_string_equal(c.default_perm_configure, "^ops-.*");
    assert_string_equal(c.default_perm_write, "^$");
    assert_int_equal(c.n_auth_mechanisms, 1);
    assert_string_equal(c.auth_mechanisms[0], "PLAIN");
    assert_string_equal(c.auth_backends[0], "rabbit_auth_backend_internal");
    cfg_free(&c);
    assert_int_equal(load(&c,
                          "default_user_tags.administrator = true\n"
                          "default_user_tags.policymaker = true\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(c.default_user_tags, "administrator,policymaker");
    cfg_free(&c);
}

static void test_ssl_options(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "listeners.ssl.default = 5671\n"
                          "ssl_options.cacertfile = /certs/ca.pem\n"
                          "ssl_options.certfile = /certs/server.pem\n"
                          "ssl_options.keyfile = /certs/key.pem\n"
                          "ssl_options.verify = verify_peer\n"
                          "ssl_options.fail_if_no_peer_cert = true\n"
                          "ssl_options.versions.1 = tlsv1.2\nssl_options.depth = 2\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(c.ssl_cacertfile, "/certs/ca.pem");
    assert_string_equal(c.ssl_keyfile, "/certs/key.pem");
    assert_true(c.ssl_verify_peer);
    assert_true(c.ssl_fail_if_no_peer_cert);
    assert_int_equal(c.n_ssl_versions, 1);
    assert_string_equal(c.ssl_versions[0], "tlsv1.2");
    assert_int_equal(c.ssl_depth, 2);
    cfg_free(&c);
}

/* ---- resources and clustering ------------------------------------------------------------ */

static void test_watermarks(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "vm_memory_high_watermark.absolute = 2GiB\n"
                          "vm_memory_high_watermark.relative = 0.6\n"
                          "disk_free_limit.relative = 1.5\n"
                          "total_memory_available_override_value = 4GB\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.vm_memory_high_watermark_abs, 0); /* relative wins */
    assert_true(c.vm_memory_high_watermark > 0.59 && c.vm_memory_high_watermark < 0.61);
    assert_true(c.disk_free_limit_relative > 1.49 && c.disk_free_limit_relative < 1.51);
    assert_int_equal(c.total_memory_available_override, 4000000000ull);
    cfg_free(&c);
    expect_error("vm_memory_high_watermark.relative = lots\n", 1, NULL);
    expect_error("vm_memory_high_watermark.relative = -0.5\n", 1, NULL);
}

static void test_cluster_formation(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    assert_int_equal(load(&c,
                          "cluster_formation.peer_discovery_backend = k8s\n"
                          "cluster_formation.k8s.port = 6443\n"
                          "cluster_formation.k8s.scheme = http\n"
                          "cluster_formation.k8s.token_path = /t\n"
                          "cluster_formation.k8s.cert_path = /c\n"
                          "cluster_formation.k8s.namespace_path = /n\n"
                          "cluster_formation.k8s.service_name = rmq\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(c.peer_discovery_backend, "rabbit_peer_discovery_k8s");
    assert_int_equal(c.k8s_port, 6443);
    assert_string_equal(c.k8s_scheme, "http");
    assert_string_equal(c.k8s_token_path, "/t");
    assert_string_equal(c.k8s_cert_path, "/c");
    assert_string_equal(c.k8s_namespace_path, "/n");
    assert_string_equal(c.k8s_service_name, "rmq");
    /* the k8s backend's default delay range */
    assert_int_equal(c.startup_delay_min_s, 0);
    assert_int_equal(c.startup_delay_max_s, 2);
    cfg_free(&c);
    assert_int_equal(load(&c,
                          "cluster_formation.peer_discovery_backend = classic_config\n"
                          "cluster_formation.classic_config.nodes.1 = rabbit@a\n"
                          "cluster_formation.classic_config.nodes.2 = rabbit@b\n"
                          "cluster_formation.randomized_startup_delay_range.min = 3\n",
                          err, sizeof(err)),
                     0);
    assert_string_equal(c.peer_discovery_backend, "rabbit_peer_discovery_classic_config");
    assert_int_equal(c.n_classic_nodes, 2);
    assert_string_equal(c.classic_nodes[1], "rabbit@b");
    assert_int_equal(c.startup_delay_min_s, 3);
    assert_int_equal(c.startup_delay_max_s, 60);
    cfg_free(&c);
    expect_error("cluster_formation.peer_discovery_backend = bad-name!\n", 1, "backend");
}

static void test_cfg_set(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    cfg_defaults(&c);
    assert_int_equal(cfg_set(&c, "heartbeat", "30", NULL, err, sizeof(err)), 0);
    assert_int_equal(c.heartbeat, 30);
    assert_int_equal(cfg_set(&c, "heartbeat", "x", "--heartbeat", err, sizeof(err)), WR_ECONFIG);
    assert_true(!strncmp(err, "--heartbeat: ", 13));
    cfg_free(&c);
}

/* ---- YAML -------------------------------------------------------------------------------- */

static void test_yaml_equivalence(void **state)
{
    static const char yaml[] = "default_user: admin\n"
                               "default_pass: admin\n"
                               "cluster_formation:\n"
                               "  peer_discovery_backend: rabbit_peer_discovery_k8s\n"
                               "  k8s:\n"
                               "    host: kubernetes.default.svc.cluster.local\n"
                               "    address_type: hostname\n"
                               "    hostname_suffix: .rabbitmq-cluster.default.svc.cluster.local\n"
                               "  node_cleanup: {interval: 30, only_log_warning: true}\n"
                               "  randomized_startup_delay_range: {min: 0, max: 2}\n"
                               "cluster_partition_handling: autoheal\n"
                               "queue_master_locator: min-masters\n"
                               "loopback_users.guest: false\n"
                               "vm_memory_high_watermark: {absolute: 1GB}\n"
                               "disk_free_limit:\n  absolute: 2GB\n"
                               "listeners: {tcp: {default: 5673}}\n"
                               "auth_mechanisms: [PLAIN, AMQPLAIN]\n";
    cfg_config a, b;
    char err[256];
    (void)state;
    assert_int_equal(load(&a, seed_conf, err, sizeof(err)), 0);
    assert_int_equal(cfg_set(&a, "listeners.tcp.default", "5673", NULL, err, sizeof(err)), 0);
    cfg_defaults(&b);
    if (cfg_load_yaml_string(&b, yaml, strlen(yaml), "test.yaml", err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(n_warn, 0);
    assert_string_equal(a.default_user, b.default_user);
    assert_string_equal(a.peer_discovery_backend, b.peer_discovery_backend);
    assert_string_equal(a.k8s_hostname_suffix, b.k8s_hostname_suffix);
    assert_int_equal(a.k8s_address_type, b.k8s_address_type);
    assert_int_equal(a.node_cleanup_interval_s, b.node_cleanup_interval_s);
    assert_int_equal(a.node_cleanup_only_log_warning, b.node_cleanup_only_log_warning);
    assert_int_equal(a.startup_delay_max_s, b.startup_delay_max_s);
    assert_int_equal(a.cluster_partition_handling, b.cluster_partition_handling);
    assert_int_equal(a.queue_master_locator, b.queue_master_locator);
    assert_int_equal(a.n_loopback_users, b.n_loopback_users);
    assert_int_equal(a.vm_memory_high_watermark_abs, b.vm_memory_high_watermark_abs);
    assert_int_equal(a.disk_free_limit, b.disk_free_limit);
    assert_int_equal(b.n_tcp_listeners, 1);
    assert_int_equal(b.tcp_listeners[0].port, 5673);
    assert_int_equal(b.n_auth_mechanisms, 2);
    assert_string_equal(b.auth_mechanisms[1], "AMQPLAIN");
    cfg_free(&a);
    cfg_free(&b);
}

static void yaml_error(const char *yaml, const char *needle)
{
    cfg_config c;
    char err[256] = "";
    int r;
    cfg_defaults(&c);
    r = cfg_load_yaml_string(&c, yaml, strlen(yaml), "t.yaml", err, sizeof(err));
    if (r != WR_ECONFIG) fail_msg("expected an error for [%s], got %d", yaml, r);
    if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
    cfg_free(&c);
}

static void test_yaml_errors(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    yaml_error("- a\n- b\n", "mapping");
    yaml_error("heartbeat: 10\ncluster_partition_handling: maybe\n", "t.yaml:2:");
    yaml_error("a: &x 1\nb: *x\n", "alias");
    yaml_error("key: [unterminated\n", "YAML error");
    yaml_error("? [a, b]\n: 1\n", "scalars");
    yaml_error("heartbeat: 1\n---\nheartbeat: 2\n", "one YAML document");
    yaml_error("heartbeat:\n", "no value");
    cfg_defaults(&c);
    assert_int_equal(cfg_load_yaml_string(&c, "", 0, "empty.yaml", err, sizeof(err)), 0);
    assert_int_equal(cfg_load_yaml_string(&c, "---\n~\n", 6, "null.yaml", err, sizeof(err)), 0);
    assert_int_equal(cfg_load_yaml_string(&c, "# only a comment\n", 17, "c.yaml", err, sizeof(err)),
                     0);
    assert_int_equal(c.n_settings, 0);
    cfg_free(&c);
}

/* ---- enabled_plugins --------------------------------------------------------------------- */

static void plugins_ok(const char *text, int n, const char *first)
{
    cfg_config c;
    char err[256];
    cfg_defaults(&c);
    if (cfg_load_plugins_string(&c, text, strlen(text), "ep", err, sizeof(err)))
        fail_msg("[%s]: %s", text, err);
    assert_int_equal(c.n_enabled_plugins, n);
    if (first) assert_string_equal(c.enabled_plugins[0], first);
    cfg_free(&c);
}

static void plugins_bad(const char *text, const char *needle)
{
    cfg_config c;
    char err[256] = "";
    cfg_defaults(&c);
    if (cfg_load_plugins_string(&c, text, strlen(text), "ep", err, sizeof(err)) != WR_ECONFIG)
        fail_msg("[%s] should fail", text);
    if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
    cfg_free(&c);
}

static void test_plugins(void **state)
{
    (void)state;
    plugins_ok("[].", 0, NULL);
    plugins_ok("[ ].\n", 0, NULL);
    plugins_ok("", 0, NULL);
    plugins_ok("%% nothing\n", 0, NULL);
    plugins_ok("\n[\n  rabbitmq_management ,\n  rabbitmq_prometheus % metrics\n]\n.\n", 2,
               "rabbitmq_management");
    plugins_ok("['rabbitmq_management',rabbitmq_management].", 1, "rabbitmq_management");
    plugins_bad("[rabbitmq_management,rabbitmq_peer_discovery_k8s", "ep:1:");
    plugins_bad("[rabbitmq_management]", "].");
    plugins_bad("[a,,b].", "plugin name");
    plugins_bad("[a b].", "',' or ']'");
    plugins_bad("rabbitmq_management.", "list");
    plugins_bad("[a].\n[b].\n", "ep:2:");
    plugins_bad("[a].b", "after");
    plugins_bad("[Abc].", "plugin name");
    plugins_bad("['unterminated].", "plugin name");
}

/* ---- environment and files --------------------------------------------------------------- */

static void short_host(char *out, size_t n)
{
    char *dot;
    assert_int_equal(gethostname(out, n), 0);
    dot = strchr(out, '.');
    if (dot) *dot = '\0';
}

static void test_node_names(void **state)
{
    char name[300], host[256], want[300];
    (void)state;
    short_host(host, sizeof(host));
    assert_int_equal(cfg_make_node_name(NULL, false, name, sizeof(name)), 0);
    snprintf(want, sizeof(want), "rabbit@%s", host);
    assert_string_equal(name, want);
    assert_int_equal(cfg_make_node_name("hare", false, name, sizeof(name)), 0);
    snprintf(want, sizeof(want), "hare@%s", host);
    assert_string_equal(name, want);
    assert_int_equal(cfg_make_node_name("rabbit@rabbitmq-cluster-0.rabbitmq-cluster.default.svc",
                                        true, name, sizeof(name)),
                     0);
    assert_string_equal(name, "rabbit@rabbitmq-cluster-0.rabbitmq-cluster.default.svc");
    assert_int_equal(cfg_make_node_name("@host", false, name, sizeof(name)), WR_ECONFIG);
    assert_int_equal(cfg_make_node_name("rabbit@", false, name, sizeof(name)), WR_ECONFIG);
    assert_int_equal(cfg_make_node_name("a@b@c", false, name, sizeof(name)), WR_ECONFIG);
    assert_int_equal(cfg_make_node_name("a b@c", false, name, sizeof(name)), WR_ECONFIG);
    assert_int_equal(cfg_make_node_name("rabbit", true, name, sizeof(name)), 0);
    assert_non_null(strstr(name, "rabbit@"));
}

static void test_env_node_and_dirs(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    cfg_defaults(&c);
    setenv("RABBITMQ_NODENAME",
           "rabbit@rabbitmq-cluster-0.rabbitmq-cluster.default.svc.cluster.local", 1);
    setenv("RABBITMQ_USE_LONGNAME", "true", 1);
    setenv("RABBITMQ_MNESIA_BASE", "/var/lib/rabbitmq/mnesia", 1);
    setenv("RABBITMQ_ERLANG_COOKIE", "SWvCP0Hrqv43NG7GybHC95ntCJKoW8UyNFWnBEWG8TY=", 1);
    setenv("POD_NAME", "rabbitmq-cluster-0", 1);
    setenv("POD_NAMESPACE", "default", 1);
    setenv("POD_IP", "10.1.2.3", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_true(c.use_longname);
    assert_string_equal(c.node_name,
                        "rabbit@rabbitmq-cluster-0.rabbitmq-cluster.default.svc.cluster.local");
    assert_string_equal(c.data_dir,
                        "/var/lib/rabbitmq/mnesia/"
                        "rabbit@rabbitmq-cluster-0.rabbitmq-cluster.default.svc.cluster.local");
    assert_string_equal(c.erlang_cookie, "SWvCP0Hrqv43NG7GybHC95ntCJKoW8UyNFWnBEWG8TY=");
    assert_string_equal(c.pod_name, "rabbitmq-cluster-0");
    assert_string_equal(c.pod_namespace, "default");
    assert_string_equal(c.pod_ip, "10.1.2.3");
    setenv("RABBITMQ_MNESIA_DIR", "/data", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_string_equal(c.data_dir, "/data");
    setenv("RABBITMQ_NODENAME", "bad@", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), WR_ECONFIG);
    assert_non_null(strstr(err, "RABBITMQ_NODENAME"));
    cfg_free(&c);
}

static void test_env_precedence(void **state)
{
    cfg_config c;
    char err[256];
    (void)state;
    setenv("RABBITMQ_DEFAULT_USER", "envuser", 1);
    setenv("RABBITMQ_DEFAULT_PASS", "envpass", 1);
    setenv("RABBITMQ_DEFAULT_VHOST", "envvhost", 1);
    setenv("RABBITMQ_NODE_PORT", "5999", 1);
    setenv("K8S_SERVICE_NAME", "rabbitmq-cluster", 1);
    setenv("K8S_HOSTNAME_SUFFIX", ".env.suffix", 1);
    setenv("K8S_ADDRESS_TYPE", "ip", 1);
    setenv("K8S_PORT", "8443", 1);
    /* the file sets the user and listeners: those win; the env fills the rest */
    assert_int_equal(load(&c,
                          "default_user = fileuser\nlisteners.tcp.default = 5688\n"
                          "cluster_formation.k8s.service_name = filesvc\n"
                          "cluster_formation.k8s.address_type = hostname\n"
                          "cluster_formation.k8s.hostname_suffix = .file\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_string_equal(c.default_user, "fileuser");
    assert_string_equal(c.default_pass, "envpass");
    assert_string_equal(c.default_vhost, "envvhost");
    assert_int_equal(c.n_tcp_listeners, 1);
    assert_int_equal(c.tcp_listeners[0].port, 5688);
    assert_string_equal(c.k8s_service_name, "rabbitmq-cluster"); /* K8S_* override the file */
    assert_string_equal(c.k8s_hostname_suffix, ".env.suffix");
    assert_int_equal(c.k8s_address_type, CFG_K8S_ADDRESS_IP);
    assert_int_equal(c.k8s_port, 8443);
    cfg_free(&c);

    cfg_defaults(&c);
    setenv("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_int_equal(c.n_tcp_listeners, 1);
    assert_int_equal(c.tcp_listeners[0].port, 5999);
    assert_string_equal(c.tcp_listeners[0].ip, "127.0.0.1");
    assert_string_equal(c.default_user, "envuser");
    setenv("RABBITMQ_NODE_PORT", "99999", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), WR_ECONFIG);
    assert_non_null(strstr(err, "RABBITMQ_NODE_PORT"));
    unsetenv("RABBITMQ_NODE_PORT");
    setenv("K8S_ADDRESS_TYPE", "fqdn", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), WR_ECONFIG);
    cfg_free(&c);
}

static void test_env_docker_extras(void **state)
{
    cfg_config c;
    char err[256], path[300];
    (void)state;
    snprintf(path, sizeof(path), "%s/pass", tmpdir);
    write_file(path, "from-file\n");
    setenv("RABBITMQ_DEFAULT_PASS_FILE", path, 1);
    setenv("RABBITMQ_ERLANG_COOKIE_FILE", path, 1);
    setenv("RABBITMQ_NODE_PORT", "5673", 1);
    setenv("RABBITMQ_VM_MEMORY_HIGH_WATERMARK", "49%", 1);
    cfg_defaults(&c);
    assert_int_equal(c.dist_port, 25672);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_string_equal(c.default_pass, "from-file");
    assert_string_equal(c.erlang_cookie, "from-file");
    assert_int_equal(c.dist_port, 25673); /* RABBITMQ_NODE_PORT + 20000 */
    assert_true(c.vm_memory_high_watermark > 0.489 && c.vm_memory_high_watermark < 0.491);
    setenv("RABBITMQ_DIST_PORT", "35672", 1);
    setenv("RABBITMQ_VM_MEMORY_HIGH_WATERMARK", "2GB", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_int_equal(c.dist_port, 35672);
    assert_int_equal(c.vm_memory_high_watermark_abs, 2000000000ull);
    setenv("RABBITMQ_VM_MEMORY_HIGH_WATERMARK", "150%", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), WR_ECONFIG);
    unsetenv("RABBITMQ_VM_MEMORY_HIGH_WATERMARK");
    setenv("RABBITMQ_DEFAULT_PASS_FILE", "/nonexistent/pass", 1);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), WR_ECONFIG);
    assert_non_null(strstr(err, "RABBITMQ_DEFAULT_PASS_FILE"));
    cfg_free(&c);
    /* the file's keys win over these variables */
    unsetenv("RABBITMQ_DEFAULT_PASS_FILE");
    setenv("RABBITMQ_VM_MEMORY_HIGH_WATERMARK", "0.7", 1);
    assert_int_equal(load(&c,
                          "inet_dist_listen_min = 25999\nvm_memory_high_watermark.relative = 0.3\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(cfg_apply_env(&c, err, sizeof(err)), 0);
    assert_int_equal(c.dist_port, 25999);
    assert_true(c.vm_memory_high_watermark > 0.29 && c.vm_memory_high_watermark < 0.31);
    cfg_free(&c);
}

static void test_load_all_files(void **state)
{
    cfg_config c;
    char err[512], conf[300], plugins[300], base[300], yaml[300];
    (void)state;
    snprintf(conf, sizeof(conf), "%s/rabbitmq.conf", tmpdir);
    snprintf(base, sizeof(base), "%s/rabbitmq", tmpdir);
    snprintf(plugins, sizeof(plugins), "%s/enabled_plugins", tmpdir);
    write_file(conf, seed_conf);
    write_file(plugins, "[rabbitmq_management,rabbitmq_peer_discovery_k8s].\n");

    /* RABBITMQ_CONFIG_FILE without the extension, as RabbitMQ allows */
    setenv("RABBITMQ_CONFIG_FILE", base, 1);
    assert_int_equal(cfg_load_all(&c, NULL, err, sizeof(err)), 0);
    assert_string_equal(c.config_file, conf);
    assert_string_equal(c.default_user, "admin");
    assert_int_equal(c.n_enabled_plugins, 2);
    assert_string_equal(c.enabled_plugins_file, plugins);
    cfg_free(&c);

    /* no env: $RABBITMQ_CONFIG_BASE/rabbitmq.conf */
    unsetenv("RABBITMQ_CONFIG_FILE");
    assert_int_equal(cfg_load_all(&c, NULL, err, sizeof(err)), 0);
    assert_string_equal(c.config_file, conf);
    cfg_free(&c);

    /* a missing explicit path is an error; a missing env path only a warning */
    assert_int_equal(cfg_load_all(&c, "/nonexistent/x.conf", err, sizeof(err)), WR_EIO);
    cfg_free(&c);
    setenv("RABBITMQ_CONFIG_FILE", "/nonexistent/rabbitmq", 1);
    n_warn = 0;
    assert_int_equal(cfg_load_all(&c, NULL, err, sizeof(err)), 0);
    assert_int_equal(n_warn, 1);
    assert_null(c.config_file);
    cfg_free(&c);
    unsetenv("RABBITMQ_CONFIG_FILE");

    /* YAML through cfg_load_file */
    snprintf(yaml, sizeof(yaml), "%s/rabbitmq.yaml", tmpdir);
    write_file(yaml, "listeners:\n  tcp:\n    default: 5680\n");
    cfg_defaults(&c);
    assert_int_equal(cfg_load_file(&c, yaml, err, sizeof(err)), 0);
    assert_int_equal(c.tcp_listeners[0].port, 5680);
    cfg_free(&c);

    /* errors name the file and line */
    write_file(conf, "heartbeat = 10\nheartbeat\n");
    cfg_defaults(&c);
    assert_int_equal(cfg_load_file(&c, conf, err, sizeof(err)), WR_ECONFIG);
    assert_non_null(strstr(err, "rabbitmq.conf:2: "));
    cfg_free(&c);

    /* a broken enabled_plugins file is an error naming it */
    write_file(plugins, "[rabbitmq_management\n");
    setenv("RABBITMQ_ENABLED_PLUGINS_FILE", plugins, 1);
    cfg_defaults(&c);
    assert_int_equal(cfg_load_plugins(&c, NULL, err, sizeof(err)), WR_ECONFIG);
    assert_non_null(strstr(err, "enabled_plugins:2:"));
    cfg_free(&c);
    setenv("RABBITMQ_ENABLED_PLUGINS_FILE", "/nonexistent/enabled_plugins", 1);
    cfg_defaults(&c);
    assert_int_equal(cfg_load_plugins(&c, NULL, err, sizeof(err)), WR_EIO);
    cfg_free(&c);

    /* the Erlang-term format is refused clearly */
    cfg_defaults(&c);
    assert_int_equal(cfg_load_file(&c, "/etc/rabbitmq/rabbitmq.config", err, sizeof(err)),
                     WR_ECONFIG);
    assert_non_null(strstr(err, "Erlang-term"));
    cfg_free(&c);
}

static void test_defaults_with_no_files(void **state)
{
    cfg_config c;
    char err[256], host[256], want[300];
    (void)state;
    assert_int_equal(cfg_load_all(&c, NULL, err, sizeof(err)), 0);
    assert_null(c.config_file);
    assert_int_equal(c.n_enabled_plugins, 0);
    assert_string_equal(c.default_user, "guest");
    assert_int_equal(c.tcp_listeners[0].port, 5672);
    short_host(host, sizeof(host));
    snprintf(want, sizeof(want), "rabbit@%s", host);
    assert_string_equal(c.node_name, want);
    assert_string_equal(c.data_dir, "./var");
    cfg_free(&c);
}

static void test_hostile(void **state)
{
    cfg_config c;
    char err[256];
    char *big;
    size_t n = 5000;
    (void)state;
    /* a NUL inside the text, a huge value, a key that is too long */
    cfg_defaults(&c);
    assert_int_equal(cfg_load_string(&c, "cluster_name = a\0b\n", 19, "t", err, sizeof(err)),
                     WR_ECONFIG);
    cfg_free(&c);
    big = malloc(n + 32);
    assert_non_null(big);
    memcpy(big, "cluster_name = ", 15);
    memset(big + 15, 'x', n);
    big[15 + n] = '\0';
    cfg_defaults(&c);
    assert_int_equal(cfg_load_string(&c, big, strlen(big), "t", err, sizeof(err)), WR_ECONFIG);
    cfg_free(&c);
    memset(big, 'k', n);
    memcpy(big + n, " = 1", 5);
    cfg_defaults(&c);
    assert_int_equal(cfg_load_string(&c, big, strlen(big), "t", err, sizeof(err)), WR_ECONFIG);
    cfg_free(&c);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_plugins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_comments_spaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_key_and_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_if_all_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listeners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mgmt_prometheus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_user_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssl_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watermarks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_formation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cfg_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_equivalence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plugins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_node_and_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_docker_extras, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_all_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_with_no_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
