/* The config object: defaults, the arena, the key table (every rabbitmq.conf key warren
 * understands, with its value type) and the apply phase shared by the sysctl and YAML readers.
 *
 * Loading is two-phase, like cuttlefish: a reader collects `key = value` settings (a later
 * line wins), then cfg__batch_apply validates each against the table and stores it, then
 * cross-key rules run (listeners.tcp = none, relative watermark wins, ...). */
#include "broker/config/cfg_int.h"

#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"
#include "broker/util/wr_map.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------------------------ */

typedef struct cfg_blk {
    struct cfg_blk *next;
    max_align_t data[];
} cfg_blk;

void *cfg__alloc(cfg_config *c, size_t n)
{
    cfg_blk *b;

    if (n > ((size_t)1 << 30)) return NULL;
    b = malloc(sizeof(*b) + n);
    if (!b) return NULL;
    b->next = c->arena_;
    c->arena_ = b;
    return b->data;
}

char *cfg__strndup(cfg_config *c, const char *s, size_t n)
{
    char *p = cfg__alloc(c, n + 1);

    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cfg__strdup(cfg_config *c, const char *s)
{
    return cfg__strndup(c, s, strlen(s));
}

int cfg__list_add(cfg_config *c, char ***v, int *n, const char *s)
{
    char **nv;
    char *copy;

    if (*n >= CFG_MAX_LIST) return WR_ETOOBIG;
    nv = cfg__alloc(c, sizeof(char *) * (size_t)(*n + 1));
    copy = cfg__strdup(c, s);
    if (!nv || !copy) return WR_ENOMEM;
    if (*n) memcpy(nv, *v, sizeof(char *) * (size_t)*n);
    nv[*n] = copy;
    *v = nv;
    (*n)++;
    return 0;
}

/* Removes every entry equal to s (the array is rebuilt in the arena). */
static int list_del(cfg_config *c, char ***v, int *n, const char *s)
{
    char **nv;
    int i, k = 0;

    if (*n == 0) return 0;
    nv = cfg__alloc(c, sizeof(char *) * (size_t)*n);
    if (!nv) return WR_ENOMEM;
    for (i = 0; i < *n; i++)
        if (strcmp((*v)[i], s)) nv[k++] = (*v)[i];
    *v = nv;
    *n = k;
    return 0;
}

static bool list_has(char *const *v, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return true;
    return false;
}

/* ---- messages ---------------------------------------------------------------------------- */

static cfg_warn_fn warn_hook;
static void *warn_ud;

void cfg_set_warn_hook(cfg_warn_fn fn, void *ud)
{
    warn_hook = fn;
    warn_ud = ud;
}

void cfg__fmt(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void cfg__warn(cfg_config *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->n_warnings++;
    if (warn_hook)
        warn_hook(warn_ud, msg);
    else
        wr_warn("%s", msg);
}

/* "file:line", or just "file" for line 0 (cfg_set from the command line). The result lives in
 * a small rotating static buffer: fine for the single-threaded loader's messages. */
static const char *loc_str(const char *file, int line)
{
    static char bufs[4][300];
    static int next;
    char *b = bufs[next++ & 3];

    if (line > 0)
        snprintf(b, sizeof(bufs[0]), "%s:%d", file, line);
    else
        snprintf(b, sizeof(bufs[0]), "%s", file);
    return b;
}
#define LOC(f, l) loc_str((f), (l))

/* ---- defaults ---------------------------------------------------------------------------- */

static char *default_loopback[] = {"guest"};
static char *default_mechs[] = {"PLAIN", "AMQPLAIN"};
static char *default_backends[] = {"rabbit_auth_backend_internal"};

void cfg_defaults(cfg_config *c)
{
    memset(c, 0, sizeof(*c));
    c->node_name = "rabbit@localhost";
    c->data_dir = "./var";
    c->dist_port = 25672;
    c->n_tcp_listeners = 1;
    c->tcp_listeners[0].port = 5672;
    strcpy(c->tcp_listeners[0].name, "default");
    c->num_acceptors_tcp = 10;
    c->num_acceptors_ssl = 10;
    c->channel_max = 2047;
    c->frame_max = 131072;
    c->frame_min = 4096;
    c->initial_frame_max = 4096;
    c->heartbeat = 60;
    c->max_message_size = 134217728;
    c->handshake_timeout_ms = 10000;
    c->ssl_handshake_timeout_ms = 5000;
    c->connection_max = -1;
    c->default_vhost = "/";
    c->default_user = "guest";
    c->default_pass = "guest";
    c->default_user_tags = "administrator";
    c->default_perm_configure = ".*";
    c->default_perm_read = ".*";
    c->default_perm_write = ".*";
    c->loopback_users = default_loopback;
    c->n_loopback_users = 1;
    c->auth_mechanisms = default_mechs;
    c->n_auth_mechanisms = 2;
    c->auth_backends = default_backends;
    c->n_auth_backends = 1;
    c->password_hashing_module = "rabbit_password_hashing_sha256";
    c->ssl_depth = -1;
    c->ssl_secure_renegotiate = true;
    c->ssl_reuse_sessions = true;
    c->ssl_client_renegotiation = true;
    c->tcp_backlog = 128;
    c->tcp_nodelay = true;
    c->tcp_linger_on = true;
    c->tcp_linger_timeout = 0;
    c->vm_memory_high_watermark = 0.4;
    c->vm_memory_high_watermark_paging_ratio = 0.5;
    c->memory_monitor_interval_ms = 2500;
    c->vm_memory_calculation_strategy = "rss";
    c->disk_free_limit = 50000000;
    c->queue_index_embed_msgs_below = 4096;
    c->cluster_partition_handling = CFG_PARTITION_IGNORE;
    c->queue_master_locator = CFG_LOCATOR_CLIENT_LOCAL;
    c->cluster_keepalive_interval_ms = 10000;
    c->mirroring_sync_batch_size = 4096;
    c->net_ticktime = 60;
    c->collect_statistics = CFG_STATS_NONE;
    c->collect_statistics_interval_ms = 5000;
    c->delegate_count = 16;
    c->mnesia_table_loading_retry_timeout_ms = 30000;
    c->mnesia_table_loading_retry_limit = 10;
    c->peer_discovery_backend = "rabbit_peer_discovery_classic_config";
    c->startup_delay_min_s = 5;
    c->startup_delay_max_s = 60;
    c->discovery_retry_limit = 10;
    c->discovery_retry_interval_ms = 500;
    c->node_cleanup_interval_s = 60;
    c->node_cleanup_only_log_warning = true;
    c->k8s_host = "kubernetes.default.svc.cluster.local";
    c->k8s_port = 443;
    c->k8s_scheme = "https";
    c->k8s_token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    c->k8s_cert_path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
    c->k8s_namespace_path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
    c->k8s_service_name = "rabbitmq";
    c->k8s_address_type = CFG_K8S_ADDRESS_IP;
    c->k8s_hostname_suffix = "";
    c->mgmt_tcp.port = 15672;
    strcpy(c->mgmt_tcp.name, "management");
    strcpy(c->mgmt_ssl.name, "management_ssl");
    c->mgmt_path_prefix = "";
    c->mgmt_rates_mode = CFG_RATES_BASIC;
    c->mgmt_cors_max_age = 1800;
    c->prometheus_tcp.port = 15692;
    strcpy(c->prometheus_tcp.name, "prometheus");
    c->prometheus_path = "/metrics";
    c->log_console = true;
    c->log_console_level = WR_LOG_INFO;
    c->log_file_level = WR_LOG_INFO;
}

void cfg_free(cfg_config *c)
{
    cfg_blk *b = c->arena_, *next;

    for (; b; b = next) {
        next = b->next;
        free(b);
    }
    if (c->index_) {
        wr_map_free(c->index_);
        free(c->index_);
    }
    memset(c, 0, sizeof(*c));
}

/* ---- value parsers ----------------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Unsigned decimal of n digits into *out; false on overflow or non-digits. */
static bool parse_u64n(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (!all_digits(s, n)) return false;
    for (size_t i = 0; i < n; i++) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_i64(const char *s, int64_t *out)
{
    bool neg = (*s == '-');
    uint64_t u;

    if (neg) s++;
    if (!parse_u64n(s, strlen(s), &u)) return false;
    if (u > (uint64_t)INT64_MAX) return false;
    *out = neg ? -(int64_t)u : (int64_t)u;
    return true;
}

static bool mul_ok(uint64_t a, uint64_t m, uint64_t *out)
{
    if (m && a > UINT64_MAX / m) return false;
    *out = a * m;
    return true;
}

int cfg_parse_info_unit(const char *s, uint64_t *out)
{
    /* RabbitMQ 3.8 rabbit_resource_monitor_misc:parse_information_unit/1 */
    static const struct {
        const char *u;
        uint64_t m;
    } units[] = {
        {"k", 1024ull},         {"K", 1024ull},         {"kiB", 1024ull},
        {"KiB", 1024ull},       {"KIB", 1024ull},       {"kib", 1024ull},
        {"m", 1048576ull},      {"M", 1048576ull},      {"MiB", 1048576ull},
        {"MIB", 1048576ull},    {"mib", 1048576ull},    {"g", 1073741824ull},
        {"G", 1073741824ull},   {"GiB", 1073741824ull}, {"GIB", 1073741824ull},
        {"gib", 1073741824ull}, {"KB", 1000ull},        {"kB", 1000ull},
        {"kb", 1000ull},        {"Kb", 1000ull},        {"MB", 1000000ull},
        {"mb", 1000000ull},     {"Mb", 1000000ull},     {"GB", 1000000000ull},
        {"gb", 1000000000ull},  {"Gb", 1000000000ull},
    };
    size_t n = 0, len = strlen(s);
    uint64_t v;

    while (n < len && s[n] >= '0' && s[n] <= '9') n++;
    if (!parse_u64n(s, n, &v)) return WR_ECONFIG;
    if (n == len) {
        *out = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(s + n, units[i].u)) return mul_ok(v, units[i].m, out) ? 0 : WR_ECONFIG;
    return WR_ECONFIG;
}

/* cuttlefish bytesize: digits with an optional KB/MB/GB (either case), 1024-based. */
static int parse_bytesize(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    uint64_t v, m = 1;

    if (len >= 2) {
        const char *u = s + len - 2;
        if (!strcmp(u, "KB") || !strcmp(u, "kb")) m = 1024;
        if (!strcmp(u, "MB") || !strcmp(u, "mb")) m = 1024 * 1024;
        if (!strcmp(u, "GB") || !strcmp(u, "gb")) m = 1024 * 1024 * 1024;
        if (m != 1) len -= 2;
    }
    if (!parse_u64n(s, len, &v) || !mul_ok(v, m, out)) return WR_ECONFIG;
    return 0;
}

static bool parse_float(const char *s, double *out)
{
    char *end;
    double d;

    if (!*s || *s == ' ') return false;
    errno = 0;
    d = strtod(s, &end);
    if (*end || errno || d != d) return false;
    *out = d;
    return true;
}

static bool valid_ip(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int cfg_parse_listener(const char *s, cfg_listener *out)
{
    const char *colon = strrchr(s, ':');
    char ip[64];
    size_t iplen;
    uint64_t port;

    memset(out->ip, 0, sizeof(out->ip));
    if (!colon) {
        if (!parse_u64n(s, strlen(s), &port) || port == 0 || port > 65535) return WR_ECONFIG;
        out->port = (uint16_t)port;
        return 0;
    }
    if (!parse_u64n(colon + 1, strlen(colon + 1), &port) || port == 0 || port > 65535)
        return WR_ECONFIG;
    iplen = (size_t)(colon - s);
    if (iplen >= 2 && s[0] == '[' && s[iplen - 1] == ']') {
        s++;
        iplen -= 2;
    }
    if (iplen == 0 || iplen >= sizeof(ip)) return WR_ECONFIG;
    memcpy(ip, s, iplen);
    ip[iplen] = '\0';
    if (!strcmp(ip, "::")) {
        /* ":::5672" = every IPv6 (and, dual-stack, IPv4) address */
    } else if (!valid_ip(ip)) {
        return WR_ECONFIG;
    }
    memcpy(out->ip, ip, iplen + 1);
    out->port = (uint16_t)port;
    return 0;
}

/* ---- the key table ----------------------------------------------------------------------- */

enum ktype {
    K_STR,     /* any non-empty string */
    K_BOOL,    /* true | false */
    K_INT,     /* integer in [min, max] */
    K_BYTES,   /* cuttlefish bytesize in [min, max] */
    K_MEM,     /* information unit (integer or "1GB") */
    K_FLOAT,   /* float in [fmin, fmax] */
    K_ENUM,    /* one of names; stores vals[i] (or i) as an integer of `size` bytes */
    K_ENUMSTR, /* one of names; stores the string */
    K_IP,      /* an IP address into a char[64] */
    K_LIST,    /* wildcard key: appends the value to (char **, int) at off, off2 */
    K_FN,      /* custom handler */
};

struct kspec;
typedef int (*kfn)(cfg_config *c, const struct kspec *s, const char *wild, const char *val,
                   char *msg, size_t ml);

typedef struct kspec {
    const char *pat; /* dotted; a "$" part matches any one part */
    uint8_t type;
    uint16_t off, size, off2;
    int64_t min, max;
    double fmin, fmax;
    const char *const *names;
    const int *vals;
    kfn fn;
    unsigned flag; /* CFG_SET_* to set when applied */
} kspec;

#define F(f)    .off = offsetof(cfg_config, f), .size = sizeof(((cfg_config *)0)->f)
#define L(f)    .off = offsetof(cfg_config, f), .off2 = offsetof(cfg_config, n_##f)
#define NOSTORE .size = 0

static const char *const bools[] = {"false", "true", NULL};
static const char *const partition_names[] = {"ignore", "pause_minority", "autoheal",
                                              "pause_if_all_down", NULL};
static const char *const recover_names[] = {"ignore", "autoheal", NULL};
static const char *const locator_names[] = {"client-local", "min-masters", "random", NULL};
static const char *const addr_names[] = {"ip", "hostname", NULL};
static const char *const node_type_names[] = {"disc", "disk", "ram", NULL};
static const int node_type_vals[] = {CFG_NODE_DISC, CFG_NODE_DISC, CFG_NODE_RAM};
static const char *const stats_names[] = {"none", "coarse", "fine", NULL};
static const char *const rates_names[] = {"basic", "detailed", "none", NULL};
static const char *const level_names[] = {"debug",    "info",  "notice",    "warning", "error",
                                          "critical", "alert", "emergency", "none",    NULL};
static const int level_vals[] = {WR_LOG_DEBUG,   WR_LOG_INFO,  WR_LOG_INFO,
                                 WR_LOG_WARNING, WR_LOG_ERROR, WR_LOG_ERROR,
                                 WR_LOG_ERROR,   WR_LOG_ERROR, WR_LOG_NONE};
static const char *const file_level_names[] = {
    "=debug",  "debug", "info",     "!=info", "notice",    "<=notice", "<warning",
    "warning", "error", "critical", "alert",  "emergency", "none",     NULL};
static const int file_level_vals[] = {WR_LOG_DEBUG, WR_LOG_DEBUG, WR_LOG_INFO,  WR_LOG_INFO,
                                      WR_LOG_INFO,  WR_LOG_INFO,  WR_LOG_INFO,  WR_LOG_WARNING,
                                      WR_LOG_ERROR, WR_LOG_ERROR, WR_LOG_ERROR, WR_LOG_ERROR,
                                      WR_LOG_NONE};
static const char *const verify_names[] = {"verify_none", "verify_peer", NULL};
static const char *const strategy_names[] = {"rss", "erlang", "allocated", "legacy", NULL};
static const char *const crl_names[] = {"true", "false", "peer", "best_effort", NULL};
static const char *const restart_names[] = {"stop_node", "continue", "transient", "persistent",
                                            NULL};
static const char *const login_from_names[] = {"distinguished_name", "common_name", NULL};
static const char *const syslog_transport_names[] = {"udp", "tcp", "tls", "ssl", NULL};
static const char *const syslog_proto_names[] = {"rfc3164", "rfc5424", NULL};
static const char *const facility_names[] = {
    "kern",   "kernel", "user",     "mail",   "daemon", "auth",   "syslog", "lpr",   "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock", "local0",
    "local1", "local2", "local3",   "local4", "local5", "local6", "local7", NULL};
static const char *const queue_mode_names[] = {"default", "lazy", NULL};

/* Handlers ---------------------------------------------------------------------------------- */

static int h_listener(cfg_config *c, cfg_listener *arr, int *n, unsigned flag, const char *wild,
                      const char *val, char *msg, size_t ml)
{
    cfg_listener l;
    int i;

    if (cfg_parse_listener(val, &l)) {
        cfg__fmt(msg, ml, "invalid listener '%s' (expected a port, ip:port or [ipv6]:port)", val);
        return WR_ECONFIG;
    }
    snprintf(l.name, sizeof(l.name), "%s", wild);
    if (!(c->set_by_file & flag)) *n = 0;
    for (i = 0; i < *n; i++)
        if (!strcmp(arr[i].name, l.name)) break;
    if (i == *n) {
        if (*n >= CFG_MAX_LISTENERS) {
            cfg__fmt(msg, ml, "too many listeners (at most %d)", CFG_MAX_LISTENERS);
            return WR_ECONFIG;
        }
        (*n)++;
    }
    arr[i] = l;
    return 0;
}

static int h_tcp_listener(cfg_config *c, const kspec *s, const char *wild, const char *val,
                          char *msg, size_t ml)
{
    return h_listener(c, c->tcp_listeners, &c->n_tcp_listeners, CFG_SET_TCP_LISTENERS, wild, val,
                      msg, ml);
}

static int h_ssl_listener(cfg_config *c, const kspec *s, const char *wild, const char *val,
                          char *msg, size_t ml)
{
    return h_listener(c, c->ssl_listeners, &c->n_ssl_listeners, CFG_SET_SSL_LISTENERS, wild, val,
                      msg, ml);
}

/* `key = none` (listeners.tcp, listeners.ssl, loopback_users, ssl_options ...) */
static int h_none(cfg_config *c, const kspec *s, const char *wild, const char *val, char *msg,
                  size_t ml)
{
    if (strcmp(val, "none")) {
        cfg__fmt(msg, ml, "invalid value '%s' (only 'none' is allowed here)", val);
        return WR_ECONFIG;
    }
    return 0;
}

static int h_loopback_user(cfg_config *c, const kspec *s, const char *wild, const char *val,
                           char *msg, size_t ml)
{
    bool on;

    if (!strcmp(val, "true"))
        on = true;
    else if (!strcmp(val, "false"))
        on = false;
    else {
        cfg__fmt(msg, ml, "invalid value '%s' (expected true or false)", val);
        return WR_ECONFIG;
    }
    if (!(c->set_by_file & CFG_SET_LOOPBACK_USERS)) {
        c->loopback_users = NULL;
        c->n_loopback_users = 0;
    }
    if (on) {
        if (list_has(c->loopback_users, c->n_loopback_users, wild)) return 0;
        return cfg__list_add(c, &c->loopback_users, &c->n_loopback_users, wild);
    }
    return list_del(c, &c->loopback_users, &c->n_loopback_users, wild);
}

static int h_user_tag(cfg_config *c, const kspec *s, const char *wild, const char *val, char *msg,
                      size_t ml)
{
    char *tags[64];
    int n = 0, i;
    bool on;
    size_t total = 0;
    char *cur, *out, *p;

    if (!strcmp(val, "true"))
        on = true;
    else if (!strcmp(val, "false"))
        on = false;
    else {
        cfg__fmt(msg, ml, "invalid value '%s' (expected true or false)", val);
        return WR_ECONFIG;
    }
    cur = cfg__strdup(c, (c->set_by_file & CFG_SET_USER_TAGS) ? c->default_user_tags : "");
    if (!cur) return WR_ENOMEM;
    for (p = strtok(cur, ","); p && n < 63; p = strtok(NULL, ","))
        if (strcmp(p, wild)) tags[n++] = p;
    if (p || (on && n >= 63)) {
        cfg__fmt(msg, ml, "too many default_user_tags (at most 63)");
        return WR_ECONFIG;
    }
    if (on) tags[n++] = (char *)wild;
    for (i = 0; i < n; i++) total += strlen(tags[i]) + 1;
    out = cfg__alloc(c, total + 1);
    if (!out) return WR_ENOMEM;
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i) strcat(out, ",");
        strcat(out, tags[i]);
    }
    c->default_user_tags = out;
    return 0;
}

static int h_backend(cfg_config *c, const kspec *s, const char *wild, const char *val, char *msg,
                     size_t ml)
{
    static const char *const alias[][2] = {
        {"classic_config", "rabbit_peer_discovery_classic_config"},
        {"classic", "rabbit_peer_discovery_classic_config"},
        {"config", "rabbit_peer_discovery_classic_config"},
        {"dns", "rabbit_peer_discovery_dns"},
        {"aws", "rabbit_peer_discovery_aws"},
        {"consul", "rabbit_peer_discovery_consul"},
        {"etcd", "rabbit_peer_discovery_etcd"},
        {"kubernetes", "rabbit_peer_discovery_k8s"},
        {"k8s", "rabbit_peer_discovery_k8s"},
    };
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (!strcmp(val, alias[i][0])) {
            c->peer_discovery_backend = (char *)alias[i][1];
            return 0;
        }
    for (const char *p = val; *p; p++)
        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9'))) {
            cfg__fmt(msg, ml, "invalid peer discovery backend '%s'", val);
            return WR_ECONFIG;
        }
    c->peer_discovery_backend = cfg__strdup(c, val);
    return c->peer_discovery_backend ? 0 : WR_ENOMEM;
}

static int h_auth_backend(cfg_config *c, const kspec *s, const char *wild, const char *val,
                          char *msg, size_t ml)
{
    static const char *const alias[][2] = {
        {"internal", "rabbit_auth_backend_internal"}, {"ldap", "rabbit_auth_backend_ldap"},
        {"http", "rabbit_auth_backend_http"},         {"cache", "rabbit_auth_backend_cache"},
        {"amqp", "rabbit_auth_backend_amqp"},         {"dummy", "rabbit_auth_backend_dummy"},
    };
    const char *mod = val;

    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (!strcmp(val, alias[i][0])) mod = alias[i][1];
    if (!(c->set_by_file & CFG_SET_AUTH_BACKENDS)) {
        c->auth_backends = NULL;
        c->n_auth_backends = 0;
    }
    return cfg__list_add(c, &c->auth_backends, &c->n_auth_backends, mod);
}

static int h_log_file(cfg_config *c, const kspec *s, const char *wild, const char *val, char *msg,
                      size_t ml)
{
    if (!strcmp(val, "false")) {
        c->log_file = NULL;
        return 0;
    }
    c->log_file = cfg__strdup(c, val);
    return c->log_file ? 0 : WR_ENOMEM;
}

static int h_connection_max(cfg_config *c, const kspec *s, const char *wild, const char *val,
                            char *msg, size_t ml)
{
    int64_t v;

    if (!strcmp(val, "infinity")) {
        c->connection_max = -1;
        return 0;
    }
    if (!parse_i64(val, &v) || v < 0) {
        cfg__fmt(msg, ml, "invalid value '%s' (expected a non-negative integer or infinity)", val);
        return WR_ECONFIG;
    }
    c->connection_max = v;
    return 0;
}

static int h_consumer_timeout(cfg_config *c, const kspec *s, const char *wild, const char *val,
                              char *msg, size_t ml)
{
    int64_t v;

    if (!strcmp(val, "false") || !strcmp(val, "infinity")) {
        c->consumer_timeout_ms = 0;
        return 0;
    }
    if (!parse_i64(val, &v) || v < 1) {
        cfg__fmt(msg, ml, "invalid value '%s' (expected milliseconds > 0 or false)", val);
        return WR_ECONFIG;
    }
    c->consumer_timeout_ms = (uint64_t)v;
    return 0;
}

static int h_mgmt_listener_port(cfg_config *c, const kspec *s, const char *wild, const char *val,
                                char *msg, size_t ml)
{
    uint64_t v;

    if (!parse_u64n(val, strlen(val), &v) || v == 0 || v > 65535) {
        cfg__fmt(msg, ml, "invalid port '%s'", val);
        return WR_ECONFIG;
    }
    c->mgmt_tcp.port = (uint16_t)v;
    return 0;
}

static int h_ssl_opts_bare(cfg_config *c, const kspec *s, const char *wild, const char *val,
                           char *msg, size_t ml)
{
    return h_none(c, s, wild, val, msg, ml);
}

#define T(p, ...)                                                                                  \
    {                                                                                              \
        .pat = p, __VA_ARGS__                                                                      \
    }
#define INT(lo, hi) .type = K_INT, .min = (lo), .max = (hi)
#define PORT        .type = K_INT, .min = 1, .max = 65535
#define BOOL        .type = K_BOOL
#define STR         .type = K_STR
#define ENUM(n)     .type = K_ENUM, .names = n
#define ENUMV(n, v) .type = K_ENUM, .names = n, .vals = v
#define FN(f)       .type = K_FN, .fn = f

static const kspec keys[] = {
    /* networking */
    T("listeners.tcp", FN(h_none), .flag = CFG_SET_TCP_NONE),
    T("listeners.tcp.$", FN(h_tcp_listener), .flag = CFG_SET_TCP_LISTENERS),
    T("listeners.ssl", FN(h_none), .flag = CFG_SET_SSL_NONE),
    T("listeners.ssl.$", FN(h_ssl_listener), .flag = CFG_SET_SSL_LISTENERS),
    T("num_acceptors.tcp", INT(1, 1024), F(num_acceptors_tcp)),
    T("num_acceptors.ssl", INT(1, 1024), F(num_acceptors_ssl)),
    T("handshake_timeout", INT(0, UINT32_MAX), F(handshake_timeout_ms)),
    T("ssl_handshake_timeout", INT(0, UINT32_MAX), F(ssl_handshake_timeout_ms)),
    T("reverse_dns_lookups", BOOL, F(reverse_dns_lookups)),
    T("proxy_protocol", BOOL, F(proxy_protocol)),
    T("heartbeat", INT(0, 65535), F(heartbeat)),
    T("frame_max", .type = K_BYTES, .min = 0, .max = UINT32_MAX, F(frame_max)),
    T("initial_frame_max", .type = K_BYTES, .min = 0, .max = UINT32_MAX, F(initial_frame_max)),
    T("channel_max", INT(0, 65535), F(channel_max)),
    T("connection_max", FN(h_connection_max)),
    T("max_message_size", INT(1, 536870912), F(max_message_size)),
    T("consumer_timeout", FN(h_consumer_timeout)),
    T("channel_operation_timeout", INT(0, UINT32_MAX), NOSTORE),
    T("tcp_listen_options", FN(h_none)),
    T("tcp_listen_options.backlog", INT(0, 65535), F(tcp_backlog)),
    T("tcp_listen_options.nodelay", BOOL, F(tcp_nodelay)),
    T("tcp_listen_options.buffer", INT(0, INT32_MAX), F(tcp_buffer)),
    T("tcp_listen_options.delay_send", BOOL, NOSTORE),
    T("tcp_listen_options.dontroute", BOOL, NOSTORE),
    T("tcp_listen_options.exit_on_close", BOOL, F(tcp_exit_on_close)),
    T("tcp_listen_options.fd", INT(0, INT32_MAX), NOSTORE),
    T("tcp_listen_options.high_msgq_watermark", INT(0, INT32_MAX), NOSTORE),
    T("tcp_listen_options.high_watermark", INT(0, INT32_MAX), NOSTORE),
    T("tcp_listen_options.low_msgq_watermark", INT(0, INT32_MAX), NOSTORE),
    T("tcp_listen_options.low_watermark", INT(0, INT32_MAX), NOSTORE),
    T("tcp_listen_options.keepalive", BOOL, F(tcp_keepalive)),
    T("tcp_listen_options.port", PORT, NOSTORE),
    T("tcp_listen_options.priority", INT(0, INT32_MAX), NOSTORE),
    T("tcp_listen_options.recbuf", INT(0, INT32_MAX), F(tcp_recbuf)),
    T("tcp_listen_options.sndbuf", INT(0, INT32_MAX), F(tcp_sndbuf)),
    T("tcp_listen_options.send_timeout", INT(0, INT32_MAX), F(tcp_send_timeout)),
    T("tcp_listen_options.send_timeout_close", BOOL, NOSTORE),
    T("tcp_listen_options.tos", INT(0, 255), NOSTORE),
    T("tcp_listen_options.linger.on", BOOL, F(tcp_linger_on)),
    T("tcp_listen_options.linger.timeout", INT(0, INT32_MAX), F(tcp_linger_timeout)),

    /* security */
    T("loopback_users", FN(h_none), .flag = CFG_SET_LOOPBACK_NONE),
    T("loopback_users.$", FN(h_loopback_user), .flag = CFG_SET_LOOPBACK_USERS),
    T("ssl_allow_poodle_attack", BOOL, NOSTORE),
    T("ssl_options", FN(h_ssl_opts_bare)),
    T("ssl_options.verify", ENUM(verify_names), F(ssl_verify_peer)),
    T("ssl_options.fail_if_no_peer_cert", BOOL, F(ssl_fail_if_no_peer_cert)),
    T("ssl_options.cacertfile", STR, F(ssl_cacertfile)),
    T("ssl_options.certfile", STR, F(ssl_certfile)),
    T("ssl_options.keyfile", STR, F(ssl_keyfile)),
    T("ssl_options.password", STR, F(ssl_password)),
    T("ssl_options.cacerts.$", STR, NOSTORE),
    T("ssl_options.cert", STR, NOSTORE),
    T("ssl_options.client_renegotiation", BOOL, F(ssl_client_renegotiation)),
    T("ssl_options.crl_check", ENUM(crl_names), NOSTORE),
    T("ssl_options.depth", INT(0, 255), F(ssl_depth)),
    T("ssl_options.dh", STR, NOSTORE),
    T("ssl_options.dhfile", STR, NOSTORE),
    T("ssl_options.honor_cipher_order", BOOL, F(ssl_honor_cipher_order)),
    T("ssl_options.honor_ecc_order", BOOL, F(ssl_honor_ecc_order)),
    T("ssl_options.key.$", STR, NOSTORE),
    T("ssl_options.log_alert", BOOL, NOSTORE),
    T("ssl_options.psk_identity", STR, NOSTORE),
    T("ssl_options.reuse_sessions", BOOL, F(ssl_reuse_sessions)),
    T("ssl_options.secure_renegotiate", BOOL, F(ssl_secure_renegotiate)),
    T("ssl_options.versions.$", .type = K_LIST, L(ssl_versions), .flag = CFG_SET_SSL_VERSIONS),
    T("ssl_options.ciphers.$", .type = K_LIST, L(ssl_ciphers), .flag = CFG_SET_SSL_CIPHERS),
    T("auth_mechanisms.$", .type = K_LIST, L(auth_mechanisms), .flag = CFG_SET_AUTH_MECHANISMS),
    T("auth_backends.$", FN(h_auth_backend), .flag = CFG_SET_AUTH_BACKENDS),
    T("auth_backends.$.authn", STR, NOSTORE),
    T("auth_backends.$.authz", STR, NOSTORE),
    T("ssl_cert_login_from", ENUM(login_from_names), NOSTORE),
    T("password_hashing_module", STR, F(password_hashing_module)),
    T("credential_validator.validation_backend", STR, NOSTORE),
    T("credential_validator.min_length", INT(0, INT32_MAX), NOSTORE),
    T("credential_validator.regexp", STR, NOSTORE),

    /* default user and vhost */
    T("default_vhost", STR, F(default_vhost), .flag = CFG_SET_DEFAULT_VHOST),
    T("default_user", STR, F(default_user), .flag = CFG_SET_DEFAULT_USER),
    T("default_pass", STR, F(default_pass), .flag = CFG_SET_DEFAULT_PASS),
    T("default_permissions.configure", STR, F(default_perm_configure)),
    T("default_permissions.read", STR, F(default_perm_read)),
    T("default_permissions.write", STR, F(default_perm_write)),
    T("default_user_tags.$", FN(h_user_tag), .flag = CFG_SET_USER_TAGS),
    T("load_definitions", STR, F(load_definitions)),

    /* resources */
    T("vm_memory_high_watermark.relative", .type = K_FLOAT, .fmin = 0, .fmax = 1e6,
      F(vm_memory_high_watermark), .flag = CFG_SET_MEM_RELATIVE),
    T("vm_memory_high_watermark.absolute", .type = K_MEM, F(vm_memory_high_watermark_abs),
      .flag = CFG_SET_MEM_ABSOLUTE),
    T("vm_memory_high_watermark_paging_ratio", .type = K_FLOAT, .fmin = 0, .fmax = 1,
      F(vm_memory_high_watermark_paging_ratio)),
    T("memory_monitor_interval", INT(0, UINT32_MAX), F(memory_monitor_interval_ms)),
    T("vm_memory_calculation_strategy", .type = K_ENUMSTR, .names = strategy_names,
      F(vm_memory_calculation_strategy)),
    T("total_memory_available_override_value", .type = K_MEM, F(total_memory_available_override)),
    T("disk_free_limit.relative", .type = K_FLOAT, .fmin = 0, .fmax = 1e6,
      F(disk_free_limit_relative), .flag = CFG_SET_DISK_RELATIVE),
    T("disk_free_limit.absolute", .type = K_MEM, F(disk_free_limit), .flag = CFG_SET_DISK_ABSOLUTE),
    T("queue_index_embed_msgs_below", .type = K_BYTES, .min = 0, .max = UINT32_MAX,
      F(queue_index_embed_msgs_below)),
    T("queue_index_max_journal_entries", INT(0, INT32_MAX), NOSTORE),
    T("msg_store_file_size_limit", .type = K_BYTES, .min = 0, .max = INT64_MAX, NOSTORE),
    T("lazy_queue_explicit_gc_run_operation_threshold", INT(0, INT32_MAX), NOSTORE),
    T("queue_explicit_gc_run_operation_threshold", INT(0, INT32_MAX), NOSTORE),
    T("background_gc_enabled", BOOL, NOSTORE),
    T("background_gc_target_interval", INT(0, INT32_MAX), NOSTORE),
    T("hipe_compile", BOOL, NOSTORE),
    T("vhost_restart_strategy", ENUM(restart_names), NOSTORE),
    T("default_queue_mode", ENUM(queue_mode_names), NOSTORE),

    /* clustering */
    T("cluster_name", STR, F(cluster_name)),
    T("cluster_partition_handling", ENUM(partition_names), F(cluster_partition_handling)),
    T("cluster_partition_handling.pause_if_all_down.recover", ENUM(recover_names),
      F(pause_if_all_down_recover)),
    T("cluster_partition_handling.pause_if_all_down.nodes.$", .type = K_LIST,
      L(pause_if_all_down_nodes), .flag = CFG_SET_PAUSE_NODES),
    T("queue_master_locator", ENUM(locator_names), F(queue_master_locator)),
    T("cluster_keepalive_interval", INT(0, UINT32_MAX), F(cluster_keepalive_interval_ms)),
    T("mirroring_sync_batch_size", .type = K_BYTES, .min = 1, .max = 2147483647,
      F(mirroring_sync_batch_size)),
    T("net_ticktime", INT(1, UINT32_MAX), F(net_ticktime)),
    T("delegate_count", INT(0, UINT32_MAX), F(delegate_count)),
    T("collect_statistics", ENUM(stats_names), F(collect_statistics)),
    T("collect_statistics_interval", INT(0, UINT32_MAX), F(collect_statistics_interval_ms)),
    T("mnesia_table_loading_retry_timeout", INT(0, UINT32_MAX),
      F(mnesia_table_loading_retry_timeout_ms)),
    T("mnesia_table_loading_retry_limit", INT(0, UINT32_MAX), F(mnesia_table_loading_retry_limit)),
    T("inet_dist_listen_min", PORT, F(dist_port), .flag = CFG_SET_DIST_PORT),
    T("inet_dist_listen_max", PORT, NOSTORE),
    T("distribution.listener.port_range.min", PORT, F(dist_port), .flag = CFG_SET_DIST_PORT),
    T("distribution.listener.port_range.max", PORT, NOSTORE),
    T("distribution.listener.interface", .type = K_IP, NOSTORE),

    /* cluster formation */
    T("cluster_formation.peer_discovery_backend", FN(h_backend)),
    T("cluster_formation.node_type", ENUMV(node_type_names, node_type_vals), F(node_type)),
    T("cluster_formation.randomized_startup_delay_range.min", INT(0, 86400), F(startup_delay_min_s),
      .flag = CFG_SET_DELAY_MIN),
    T("cluster_formation.randomized_startup_delay_range.max", INT(0, 86400), F(startup_delay_max_s),
      .flag = CFG_SET_DELAY_MAX),
    T("cluster_formation.discovery_retry_limit", INT(0, UINT32_MAX), F(discovery_retry_limit)),
    T("cluster_formation.discovery_retry_interval", INT(0, UINT32_MAX),
      F(discovery_retry_interval_ms)),
    T("cluster_formation.classic_config.nodes.$", .type = K_LIST, L(classic_nodes),
      .flag = CFG_SET_CLASSIC_NODES),
    T("cluster_formation.dns.hostname", STR, F(dns_hostname)),
    T("cluster_formation.node_cleanup.interval", INT(1, UINT32_MAX), F(node_cleanup_interval_s)),
    T("cluster_formation.node_cleanup.only_log_warning", BOOL, F(node_cleanup_only_log_warning)),
    T("cluster_formation.k8s.host", STR, F(k8s_host)),
    T("cluster_formation.k8s.port", PORT, F(k8s_port)),
    T("cluster_formation.k8s.scheme", .type = K_ENUMSTR,
      .names = (const char *const[]){"http", "https", NULL}, F(k8s_scheme)),
    T("cluster_formation.k8s.token_path", STR, F(k8s_token_path)),
    T("cluster_formation.k8s.cert_path", STR, F(k8s_cert_path)),
    T("cluster_formation.k8s.namespace_path", STR, F(k8s_namespace_path)),
    T("cluster_formation.k8s.service_name", STR, F(k8s_service_name)),
    T("cluster_formation.k8s.address_type", ENUM(addr_names), F(k8s_address_type)),
    T("cluster_formation.k8s.hostname_suffix", STR, F(k8s_hostname_suffix)),

    /* management plugin */
    T("management.tcp.port", PORT, F(mgmt_tcp.port)),
    T("management.tcp.ip", .type = K_IP, F(mgmt_tcp.ip)),
    T("management.tcp.compress", BOOL, NOSTORE),
    T("management.tcp.idle_timeout", INT(0, INT32_MAX), NOSTORE),
    T("management.tcp.inactivity_timeout", INT(0, INT32_MAX), NOSTORE),
    T("management.tcp.request_timeout", INT(0, INT32_MAX), NOSTORE),
    T("management.listener.port", FN(h_mgmt_listener_port), .flag = CFG_SET_MGMT_LISTENER),
    T("management.listener.ip", .type = K_IP, F(mgmt_tcp.ip)),
    T("management.listener.ssl", BOOL, NOSTORE),
    T("management.listener.ssl_opts.cacertfile", STR, F(mgmt_ssl_cacertfile)),
    T("management.listener.ssl_opts.certfile", STR, F(mgmt_ssl_certfile)),
    T("management.listener.ssl_opts.keyfile", STR, F(mgmt_ssl_keyfile)),
    T("management.listener.ssl_opts.password", STR, F(mgmt_ssl_password)),
    T("management.ssl.port", PORT, F(mgmt_ssl.port)),
    T("management.ssl.ip", .type = K_IP, F(mgmt_ssl.ip)),
    T("management.ssl.cacertfile", STR, F(mgmt_ssl_cacertfile)),
    T("management.ssl.certfile", STR, F(mgmt_ssl_certfile)),
    T("management.ssl.keyfile", STR, F(mgmt_ssl_keyfile)),
    T("management.ssl.password", STR, F(mgmt_ssl_password)),
    T("management.ssl.verify", ENUM(verify_names), NOSTORE),
    T("management.ssl.fail_if_no_peer_cert", BOOL, NOSTORE),
    T("management.ssl.honor_cipher_order", BOOL, NOSTORE),
    T("management.ssl.honor_ecc_order", BOOL, NOSTORE),
    T("management.ssl.client_renegotiation", BOOL, NOSTORE),
    T("management.ssl.secure_renegotiate", BOOL, NOSTORE),
    T("management.ssl.versions.$", STR, NOSTORE),
    T("management.ssl.ciphers.$", STR, NOSTORE),
    T("management.load_definitions", STR, F(load_definitions)),
    T("management.path_prefix", STR, F(mgmt_path_prefix)),
    T("management.rates_mode", ENUM(rates_names), F(mgmt_rates_mode)),
    T("management.http_log_dir", STR, F(mgmt_http_log_dir)),
    T("management.cors.allow_origins.$", .type = K_LIST, L(mgmt_cors_allow_origins),
      .flag = CFG_SET_CORS_ORIGINS),
    T("management.cors.max_age", INT(0, UINT32_MAX), F(mgmt_cors_max_age)),
    T("management.sample_retention_policies.$.$", INT(0, INT32_MAX), NOSTORE),
    T("management.disable_stats", BOOL, NOSTORE),
    T("management.enable_queue_totals", BOOL, NOSTORE),
    T("management_agent.disable_metrics_collector", BOOL, NOSTORE),

    /* prometheus plugin */
    T("prometheus.tcp.port", PORT, F(prometheus_tcp.port)),
    T("prometheus.tcp.ip", .type = K_IP, F(prometheus_tcp.ip)),
    T("prometheus.path", STR, F(prometheus_path)),
    T("prometheus.return_per_object_metrics", BOOL, F(prometheus_per_object)),

    /* logging */
    T("log.dir", STR, F(log_dir)),
    T("log.console", BOOL, F(log_console)),
    T("log.console.level", ENUMV(level_names, level_vals), F(log_console_level)),
    T("log.file", FN(h_log_file)),
    T("log.file.level", ENUMV(file_level_names, file_level_vals), F(log_file_level)),
    T("log.file.rotation.date", STR, NOSTORE),
    T("log.file.rotation.size", INT(0, INT64_MAX), NOSTORE),
    T("log.file.rotation.count", INT(0, INT32_MAX), NOSTORE),
    T("log.exchange", BOOL, NOSTORE),
    T("log.exchange.level", ENUM(level_names), NOSTORE),
    T("log.syslog", BOOL, NOSTORE),
    T("log.syslog.level", ENUM(level_names), NOSTORE),
    T("log.syslog.identity", STR, NOSTORE),
    T("log.syslog.facility", ENUM(facility_names), NOSTORE),
    T("log.syslog.multiline_mode", BOOL, NOSTORE),
    T("log.syslog.ip", .type = K_IP, NOSTORE),
    T("log.syslog.host", STR, NOSTORE),
    T("log.syslog.port", PORT, NOSTORE),
    T("log.syslog.transport", ENUM(syslog_transport_names), NOSTORE),
    T("log.syslog.protocol", ENUM(syslog_proto_names), NOSTORE),
    T("log.$.level", ENUM(level_names), NOSTORE), /* log categories: connection, channel ... */
    T("log.$.file", STR, NOSTORE),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Matches key against pattern; on success *wild points at the key's first "$" part
 * (NUL-terminated copy in wbuf). */
static bool key_match(const char *pat, const char *key, char *wbuf, size_t wlen)
{
    bool got = false;

    wbuf[0] = '\0';
    for (;;) {
        const char *pe = strchr(pat, '.'), *ke = strchr(key, '.');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t kl = ke ? (size_t)(ke - key) : strlen(key);

        if (pl == 1 && pat[0] == '$') {
            if (!got) {
                if (kl >= wlen) return false;
                memcpy(wbuf, key, kl);
                wbuf[kl] = '\0';
                got = true;
            }
        } else if (pl != kl || memcmp(pat, key, kl)) {
            return false;
        }
        if (!pe || !ke) return !pe && !ke;
        pat = pe + 1;
        key = ke + 1;
    }
}

static void store_int(cfg_config *c, const kspec *s, int64_t v)
{
    char *p = (char *)c + s->off;

    switch (s->size) {
    case 1: {
        bool b = v != 0;
        memcpy(p, &b, 1);
        break;
    }
    case 2: {
        uint16_t t = (uint16_t)v;
        memcpy(p, &t, 2);
        break;
    }
    case 4: {
        uint32_t t = (uint32_t)v;
        memcpy(p, &t, 4);
        break;
    }
    case 8:
        memcpy(p, &v, 8);
        break;
    default:
        break;
    }
}

static int enum_index(const char *const *names, const char *val)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], val)) return i;
    return -1;
}

static void enum_list(const char *const *names, char *out, size_t n)
{
    size_t off = 0;

    out[0] = '\0';
    for (int i = 0; names[i] && off + 2 < n; i++) {
        int r = snprintf(out + off, n - off, "%s%s", i ? ", " : "", names[i]);
        if (r < 0) break;
        off += (size_t)r;
    }
}

/* Applies one validated key. Returns 0, 1 (unknown key), WR_ECONFIG (msg), WR_ENOMEM. */
static int apply_one(cfg_config *c, const char *key, const char *val, char *msg, size_t ml)
{
    const kspec *s = NULL;
    char wild[CFG_MAX_KEY + 1];
    char *p;
    int64_t iv;
    uint64_t uv;
    double dv;
    int r = 0;

    for (size_t i = 0; i < NKEYS; i++)
        if (key_match(keys[i].pat, key, wild, sizeof(wild))) {
            s = &keys[i];
            break;
        }
    if (!s) return 1;
    p = (char *)c + s->off;
    switch (s->type) {
    case K_STR:
        if (s->size) {
            char *copy = cfg__strdup(c, val);
            if (!copy) return WR_ENOMEM;
            memcpy(p, &copy, sizeof(copy));
        }
        break;
    case K_BOOL:
        r = enum_index(bools, val);
        if (r < 0) {
            cfg__fmt(msg, ml, "invalid value '%s' for %s (expected true or false)", val, key);
            return WR_ECONFIG;
        }
        store_int(c, s, r);
        r = 0;
        break;
    case K_INT:
        if (!parse_i64(val, &iv)) {
            cfg__fmt(msg, ml, "invalid value '%s' for %s (expected an integer)", val, key);
            return WR_ECONFIG;
        }
        if (iv < s->min || iv > s->max) {
            cfg__fmt(msg, ml, "value %s for %s is out of range [%lld, %lld]", val, key,
                     (long long)s->min, (long long)s->max);
            return WR_ECONFIG;
        }
        store_int(c, s, iv);
        break;
    case K_BYTES:
        if (parse_bytesize(val, &uv)) {
            cfg__fmt(msg, ml,
                     "invalid size '%s' for %s (expected an integer with optional KB, MB, GB)", val,
                     key);
            return WR_ECONFIG;
        }
        if (uv > (uint64_t)s->max || (int64_t)uv < s->min) {
            cfg__fmt(msg, ml, "size %s for %s is out of range [%lld, %lld]", val, key,
                     (long long)s->min, (long long)s->max);
            return WR_ECONFIG;
        }
        store_int(c, s, (int64_t)uv);
        break;
    case K_MEM:
        if (cfg_parse_info_unit(val, &uv) || uv > (uint64_t)INT64_MAX) {
            cfg__fmt(msg, ml,
                     "invalid amount '%s' for %s (expected bytes or a number with a unit: kB, MB, "
                     "GB (powers of 1000), KiB, MiB, GiB, K, M, G (powers of 1024))",
                     val, key);
            return WR_ECONFIG;
        }
        store_int(c, s, (int64_t)uv);
        break;
    case K_FLOAT:
        if (!parse_float(val, &dv) || dv < s->fmin || dv > s->fmax) {
            cfg__fmt(msg, ml, "invalid value '%s' for %s (expected a number in [%g, %g])", val, key,
                     s->fmin, s->fmax);
            return WR_ECONFIG;
        }
        if (s->size) memcpy(p, &dv, sizeof(dv));
        break;
    case K_ENUM:
    case K_ENUMSTR:
        r = enum_index(s->names, val);
        if (r < 0) {
            char allowed[256];
            enum_list(s->names, allowed, sizeof(allowed));
            cfg__fmt(msg, ml, "invalid value '%s' for %s (expected one of: %s)", val, key, allowed);
            return WR_ECONFIG;
        }
        if (s->type == K_ENUMSTR) {
            if (s->size) {
                char *sv = (char *)s->names[r];
                memcpy(p, &sv, sizeof(sv));
            }
        } else {
            store_int(c, s, s->vals ? s->vals[r] : r);
        }
        r = 0;
        break;
    case K_IP:
        if (!valid_ip(val) || strlen(val) >= 64) {
            cfg__fmt(msg, ml, "invalid IP address '%s' for %s", val, key);
            return WR_ECONFIG;
        }
        if (s->size) snprintf(p, 64, "%s", val);
        break;
    case K_LIST: {
        char ***v = (char ***)((char *)c + s->off);
        int *n = (int *)((char *)c + s->off2);
        if (!(c->set_by_file & s->flag)) {
            *v = NULL;
            *n = 0;
        }
        r = cfg__list_add(c, v, n, val);
        if (r == WR_ETOOBIG) {
            cfg__fmt(msg, ml, "too many entries for %s", key);
            return WR_ECONFIG;
        }
        break;
    }
    case K_FN:
        r = s->fn(c, s, wild, val, msg, ml);
        break;
    }
    if (r == 0) c->set_by_file |= s->flag;
    return r;
}

static const cfg_setting *find_setting(const cfg_config *c, const char *key)
{
    intptr_t idx;

    if (!c->index_) return NULL;
    idx = (intptr_t)wr_map_get(c->index_, key, strlen(key));
    return idx ? &c->settings[idx - 1] : NULL;
}

/* Cross-key rules (cuttlefish translations). */
static int finalize(cfg_config *c, char *err, size_t errlen)
{
    if (c->set_by_file & CFG_SET_TCP_NONE) c->n_tcp_listeners = 0;
    if (c->set_by_file & CFG_SET_SSL_NONE) c->n_ssl_listeners = 0;
    if (c->set_by_file & CFG_SET_LOOPBACK_NONE) {
        c->loopback_users = NULL;
        c->n_loopback_users = 0;
    }
    /* vm_memory_high_watermark: .relative wins when both are set */
    if (c->set_by_file & CFG_SET_MEM_RELATIVE) c->vm_memory_high_watermark_abs = 0;
    if (!(c->set_by_file & CFG_SET_DISK_RELATIVE)) c->disk_free_limit_relative = 0;
    /* the k8s backend's own default delay range is {0, 2} */
    if (!(c->set_by_file & (CFG_SET_DELAY_MIN | CFG_SET_DELAY_MAX))) {
        bool k8s = !strcmp(c->peer_discovery_backend, "rabbit_peer_discovery_k8s");
        c->startup_delay_min_s = k8s ? 0 : 5;
        c->startup_delay_max_s = k8s ? 2 : 60;
    }
    if (c->cluster_partition_handling == CFG_PARTITION_PAUSE_IF_ALL_DOWN &&
        !(c->set_by_file & CFG_SET_PAUSE_NODES)) {
        const cfg_setting *st = find_setting(c, "cluster_partition_handling");
        cfg__fmt(err, errlen,
                 "%s: cluster_partition_handling = pause_if_all_down needs "
                 "cluster_partition_handling.pause_if_all_down.nodes.*",
                 LOC(st ? st->file : "config", st ? st->line : 0));
        return WR_ECONFIG;
    }
    {
        const cfg_setting *st = find_setting(c, "management.listener.ssl");
        if (st && !strcmp(st->value, "true") && (c->set_by_file & CFG_SET_MGMT_LISTENER)) {
            c->mgmt_ssl.port = c->mgmt_tcp.port;
            memcpy(c->mgmt_ssl.ip, c->mgmt_tcp.ip, sizeof(c->mgmt_ssl.ip));
            c->mgmt_tcp.port = 0;
            c->set_by_file |= CFG_SET_MGMT_SSL;
        }
    }
    return 0;
}

/* ---- batches ----------------------------------------------------------------------------- */

int cfg__batch_begin(cfg_config *c, cfg_batch *b, const char *name)
{
    b->c = c;
    b->first = c->n_settings;
    b->file = cfg__strdup(c, name ? name : "config");
    if (!b->file) return WR_ENOMEM;
    if (!c->index_) {
        c->index_ = malloc(sizeof(wr_map));
        if (!c->index_) return WR_ENOMEM;
        wr_map_init(c->index_);
    }
    return 0;
}

static bool key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

int cfg__batch_add(cfg_batch *b, const char *key, size_t klen, const char *val, size_t vlen,
                   int line, char *err, size_t errlen)
{
    cfg_config *c = b->c;
    cfg_setting *st;
    intptr_t idx;
    char *k, *v;

    if (klen == 0) {
        cfg__fmt(err, errlen, "%s: empty key", LOC(b->file, line));
        return WR_ECONFIG;
    }
    if (klen > CFG_MAX_KEY) {
        cfg__fmt(err, errlen, "%s: key too long", LOC(b->file, line));
        return WR_ECONFIG;
    }
    for (size_t i = 0; i < klen; i++) {
        bool dot = key[i] == '.';
        if (dot ? (i == 0 || i + 1 == klen || key[i + 1] == '.') : !key_char(key[i])) {
            cfg__fmt(err, errlen, "%s: invalid key '%.*s'", LOC(b->file, line), (int)klen, key);
            return WR_ECONFIG;
        }
    }
    if (vlen == 0) {
        cfg__fmt(err, errlen, "%s: no value for '%.*s'", LOC(b->file, line), (int)klen, key);
        return WR_ECONFIG;
    }
    if (vlen > CFG_MAX_VALUE) {
        cfg__fmt(err, errlen, "%s: value too long for '%.*s'", LOC(b->file, line), (int)klen, key);
        return WR_ECONFIG;
    }
    if (memchr(val, '\0', vlen)) {
        cfg__fmt(err, errlen, "%s: NUL byte in the value of '%.*s'", LOC(b->file, line), (int)klen,
                 key);
        return WR_ECONFIG;
    }
    k = cfg__strndup(c, key, klen);
    v = cfg__strndup(c, val, vlen);
    if (!k || !v) return WR_ENOMEM;
    idx = (intptr_t)wr_map_get(c->index_, k, klen);
    if (idx && idx - 1 >= b->first) {
        st = &c->settings[idx - 1]; /* same key earlier in this file: the later line wins */
        st->value = v;
        st->line = line;
        return 0;
    }
    if (c->n_settings >= CFG_MAX_KEYS) {
        cfg__fmt(err, errlen, "%s: too many settings (at most %d)", LOC(b->file, line),
                 CFG_MAX_KEYS);
        return WR_ETOOBIG;
    }
    if ((c->n_settings & (c->n_settings - 1)) == 0) { /* 0, 1, 2, 4, ...: grow by doubling */
        size_t cap = c->n_settings ? (size_t)c->n_settings * 2 : 16;
        cfg_setting *ns = cfg__alloc(c, cap * sizeof(*ns));
        if (!ns) return WR_ENOMEM;
        if (c->n_settings) memcpy(ns, c->settings, sizeof(*ns) * (size_t)c->n_settings);
        c->settings = ns;
    }
    st = &c->settings[c->n_settings];
    st->key = k;
    st->value = v;
    st->file = (char *)b->file;
    st->line = line;
    c->n_settings++;
    if (wr_map_put(c->index_, k, klen, (void *)(intptr_t)c->n_settings)) return WR_ENOMEM;
    return 0;
}

int cfg__batch_apply(cfg_batch *b, char *err, size_t errlen)
{
    cfg_config *c = b->c;
    char msg[400];

    for (int i = b->first; i < c->n_settings; i++) {
        cfg_setting *st = &c->settings[i];
        int r = apply_one(c, st->key, st->value, msg, sizeof(msg));
        if (r == 1) {
            cfg__warn(c, "%s: unknown configuration key '%s' (ignored)", LOC(st->file, st->line),
                      st->key);
        } else if (r == WR_ENOMEM) {
            cfg__fmt(err, errlen, "%s: out of memory", LOC(st->file, st->line));
            return r;
        } else if (r) {
            cfg__fmt(err, errlen, "%s: %s", LOC(st->file, st->line), msg);
            return WR_ECONFIG;
        }
    }
    return finalize(c, err, errlen);
}

int cfg_set(cfg_config *c, const char *key, const char *value, const char *where, char *err,
            size_t errlen)
{
    cfg_batch b;
    int r = cfg__batch_begin(c, &b, where ? where : "command line");

    if (!r) r = cfg__batch_add(&b, key, strlen(key), value, strlen(value), 0, err, errlen);
    if (!r) r = cfg__batch_apply(&b, err, errlen);
    return r;
}

/* ---- queries ----------------------------------------------------------------------------- */

bool cfg_plugin_enabled(const cfg_config *c, const char *name)
{
    return list_has(c->enabled_plugins, c->n_enabled_plugins, name);
}

bool cfg_is_loopback_user(const cfg_config *c, const char *user)
{
    return list_has(c->loopback_users, c->n_loopback_users, user);
}
