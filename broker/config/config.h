/* wr_config: the node's configuration, read the way RabbitMQ 3.8 reads it.
 *
 * Sources, in the order a node applies them (see docs/CONFIG.md):
 *   1. cfg_defaults(): RabbitMQ 3.8's defaults (guest/guest, loopback-only guest, port 5672).
 *   2. rabbitmq.conf (cuttlefish "sysctl" format, `key = value`) or the same keys as a YAML
 *      mapping (a file ending .yaml/.yml): cfg_load_file / cfg_load_string.
 *   3. The environment: cfg_apply_env (RABBITMQ_*, K8S_*, POD_*). RABBITMQ_DEFAULT_USER/_PASS/
 *      _VHOST and RABBITMQ_NODE_PORT/_IP_ADDRESS only fill what the file did not set; K8S_*
 *      override the file (rabbit_peer_discovery_config); the rest has no file key.
 *   4. enabled_plugins (an Erlang list): cfg_load_plugins.
 *   5. Command-line options: the caller writes them into the struct last.
 * cfg_load_all() runs 1-4 in that order.
 *
 * Memory: every string and list in a cfg_config belongs to the config (an arena freed by
 * cfg_free) or is a static default; treat them as read-only. To override a field from the
 * command line, point it at memory the caller keeps alive, or use cfg_set() which validates
 * like a config-file line and copies. Nothing here is thread-safe; load once at start. */
#ifndef WR_CONFIG_H
#define WR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_LISTENERS 8
#define CFG_MAX_FILE_SIZE (1u << 20) /* bytes; larger config or plugin files are refused */

typedef struct cfg_user {
    char *name;
    char *password;
    char *tags;
} cfg_user;

/* One listening address. ip "" = all interfaces (IPv4 and IPv6); IPv6 without brackets
 * ("::1"). name = the cuttlefish key's last part ("default" for listeners.tcp.default). */
typedef struct cfg_listener {
    char ip[64];
    uint16_t port;
    char name[32];
} cfg_listener;

/* A key as written in the file, after de-duplication (a later line wins, as in cuttlefish). */
typedef struct cfg_setting {
    char *key;
    char *value;
    char *file;
    int line;
} cfg_setting;

enum cfg_partition_handling {
    CFG_PARTITION_IGNORE = 0,
    CFG_PARTITION_PAUSE_MINORITY,
    CFG_PARTITION_AUTOHEAL,
    CFG_PARTITION_PAUSE_IF_ALL_DOWN,
};
enum cfg_pause_recover { CFG_RECOVER_IGNORE = 0, CFG_RECOVER_AUTOHEAL };
enum cfg_master_locator {
    CFG_LOCATOR_CLIENT_LOCAL = 0,
    CFG_LOCATOR_MIN_MASTERS,
    CFG_LOCATOR_RANDOM
};
enum cfg_k8s_address_type { CFG_K8S_ADDRESS_IP = 0, CFG_K8S_ADDRESS_HOSTNAME };
enum cfg_node_type { CFG_NODE_DISC = 0, CFG_NODE_RAM };
enum cfg_collect_statistics { CFG_STATS_NONE = 0, CFG_STATS_COARSE, CFG_STATS_FINE };
enum cfg_rates_mode { CFG_RATES_BASIC = 0, CFG_RATES_DETAILED, CFG_RATES_NONE };

/* Bits of cfg_config.set_by_file: which settings a config file gave (env precedence). */
enum {
    CFG_SET_TCP_LISTENERS = 1u << 0,
    CFG_SET_SSL_LISTENERS = 1u << 1,
    CFG_SET_DEFAULT_USER = 1u << 2,
    CFG_SET_DEFAULT_PASS = 1u << 3,
    CFG_SET_DEFAULT_VHOST = 1u << 4,
    CFG_SET_LOOPBACK_USERS = 1u << 5,
    CFG_SET_USER_TAGS = 1u << 6,
    CFG_SET_AUTH_MECHANISMS = 1u << 7,
    CFG_SET_DELAY_MIN = 1u << 8,
    CFG_SET_DELAY_MAX = 1u << 9,
    CFG_SET_MEM_RELATIVE = 1u << 10,
    CFG_SET_MEM_ABSOLUTE = 1u << 11,
    CFG_SET_DISK_RELATIVE = 1u << 12,
    CFG_SET_DISK_ABSOLUTE = 1u << 13,
    CFG_SET_CLASSIC_NODES = 1u << 14,
    CFG_SET_SSL_VERSIONS = 1u << 15,
    CFG_SET_SSL_CIPHERS = 1u << 16,
    CFG_SET_AUTH_BACKENDS = 1u << 17,
    CFG_SET_PAUSE_NODES = 1u << 18,
    CFG_SET_TCP_NONE = 1u << 19,      /* listeners.tcp = none */
    CFG_SET_SSL_NONE = 1u << 20,      /* listeners.ssl = none */
    CFG_SET_LOOPBACK_NONE = 1u << 21, /* loopback_users = none */
    CFG_SET_MGMT_SSL = 1u << 22,      /* management.listener.ssl = true */
    CFG_SET_MGMT_LISTENER = 1u << 23,
    CFG_SET_CORS_ORIGINS = 1u << 24,
    CFG_SET_DIST_PORT = 1u << 25,
};

typedef struct cfg_config {
    /* node */
    char *node_name; /* RABBITMQ_NODENAME, default "rabbit@<short hostname>" (FQDN with longname) */
    bool use_longname; /* RABBITMQ_USE_LONGNAME=true */
    char *data_dir; /* RABBITMQ_MNESIA_DIR, else RABBITMQ_MNESIA_BASE/<node_name>, else "./var" */
    char *config_file;          /* path read, or NULL */
    char *enabled_plugins_file; /* path read, or NULL */
    char *erlang_cookie;        /* RABBITMQ_ERLANG_COOKIE, or NULL (the cluster secret) */
    char *pod_name, *pod_namespace, *pod_ip; /* POD_NAME / POD_NAMESPACE / POD_IP, or NULL */
    uint16_t dist_port;                      /* inter-node port, 25672: inet_dist_listen_min or
                                                distribution.listener.port_range.min, else RABBITMQ_DIST_PORT, else
                                                RABBITMQ_NODE_PORT + 20000 */

    /* amqp */
    cfg_listener tcp_listeners[CFG_MAX_LISTENERS];
    int n_tcp_listeners; /* listeners.tcp.* ; default one: 5672 on all interfaces */
    cfg_listener ssl_listeners[CFG_MAX_LISTENERS];
    int n_ssl_listeners;               /* listeners.ssl.* ; default none */
    int num_acceptors_tcp;             /* 10 */
    int num_acceptors_ssl;             /* 10 */
    uint16_t channel_max;              /* 2047; 0 = no limit */
    uint32_t frame_max;                /* 131072; 0 = no limit */
    uint32_t frame_min;                /* 4096 (minimum frame_max a client may negotiate) */
    uint32_t initial_frame_max;        /* 4096: largest frame accepted before tuning */
    uint16_t heartbeat;                /* 60 seconds; 0 = off */
    uint64_t max_message_size;         /* 134217728 */
    uint32_t handshake_timeout_ms;     /* 10000 */
    uint32_t ssl_handshake_timeout_ms; /* 5000 */
    int64_t connection_max;            /* -1 = infinity */
    uint64_t consumer_timeout_ms;      /* 0 = no timeout (3.8.3 default) */
    bool reverse_dns_lookups;
    bool proxy_protocol;

    /* access */
    char *default_vhost;     /* "/" */
    char *default_user;      /* "guest" */
    char *default_pass;      /* "guest" */
    char *default_user_tags; /* comma-separated, "administrator" */
    char *default_perm_configure, *default_perm_read, *default_perm_write; /* ".*" */
    char **loopback_users;
    int n_loopback_users; /* default {"guest"} */
    char **auth_mechanisms;
    int n_auth_mechanisms; /* default {"PLAIN", "AMQPLAIN"} */
    char **auth_backends;
    int n_auth_backends;           /* default {"rabbit_auth_backend_internal"} */
    char *password_hashing_module; /* "rabbit_password_hashing_sha256" */
    char *load_definitions;        /* load_definitions / management.load_definitions, or NULL */
    cfg_user *users;               /* not set by any rabbitmq.conf key; for embedders */
    int n_users;

    /* tls (ssl_options.*) */
    char *ssl_cacertfile, *ssl_certfile, *ssl_keyfile, *ssl_password;
    bool ssl_verify_peer;          /* ssl_options.verify = verify_peer */
    bool ssl_fail_if_no_peer_cert; /* false */
    int ssl_depth;                 /* -1 = library default */
    bool ssl_honor_cipher_order, ssl_honor_ecc_order;
    bool ssl_secure_renegotiate, ssl_reuse_sessions, ssl_client_renegotiation;
    char **ssl_versions;
    int n_ssl_versions;
    char **ssl_ciphers;
    int n_ssl_ciphers;

    /* tcp_listen_options.* */
    int tcp_backlog;                        /* 128 */
    bool tcp_nodelay;                       /* true */
    bool tcp_linger_on;                     /* true */
    int tcp_linger_timeout;                 /* 0 */
    bool tcp_keepalive;                     /* false */
    bool tcp_exit_on_close;                 /* false */
    int tcp_sndbuf, tcp_recbuf, tcp_buffer; /* 0 = OS default */
    int tcp_send_timeout; /* ms, 0 = none (15000 in RabbitMQ's defaults? no: infinity) */

    /* resources */
    double vm_memory_high_watermark;              /* relative, 0.4 */
    uint64_t vm_memory_high_watermark_abs;        /* bytes; 0 = use the relative value */
    double vm_memory_high_watermark_paging_ratio; /* 0.5 */
    uint64_t total_memory_available_override;     /* bytes; 0 = from the OS */
    uint32_t memory_monitor_interval_ms;          /* 2500 */
    char *vm_memory_calculation_strategy;         /* "rss" */
    uint64_t disk_free_limit;                     /* bytes, 50000000 */
    double disk_free_limit_relative;              /* of total RAM; 0 = use the absolute value */
    uint32_t queue_index_embed_msgs_below;        /* 4096 */

    /* cluster */
    char *cluster_name;             /* NULL = the node name (RabbitMQ's default) */
    int cluster_partition_handling; /* enum cfg_partition_handling, ignore */
    int pause_if_all_down_recover;  /* enum cfg_pause_recover */
    char **pause_if_all_down_nodes;
    int n_pause_if_all_down_nodes;
    int queue_master_locator;                       /* enum cfg_master_locator, client-local */
    uint32_t cluster_keepalive_interval_ms;         /* 10000 */
    uint32_t mirroring_sync_batch_size;             /* 4096 */
    uint32_t net_ticktime;                          /* 60 s */
    int collect_statistics;                         /* enum cfg_collect_statistics */
    uint32_t collect_statistics_interval_ms;        /* 5000 */
    uint32_t delegate_count;                        /* 16 */
    uint32_t mnesia_table_loading_retry_timeout_ms; /* 30000 */
    uint32_t mnesia_table_loading_retry_limit;      /* 10 */

    /* cluster_formation.* */
    char *peer_discovery_backend;         /* module name, "rabbit_peer_discovery_classic_config" */
    int node_type;                        /* enum cfg_node_type */
    uint32_t startup_delay_min_s;         /* randomized_startup_delay_range.min, 5 */
    uint32_t startup_delay_max_s;         /* .max, 60 */
    uint32_t discovery_retry_limit;       /* 10 */
    uint32_t discovery_retry_interval_ms; /* 500 */
    char **classic_nodes;                 /* cluster_formation.classic_config.nodes.* */
    int n_classic_nodes;
    char *dns_hostname;                 /* cluster_formation.dns.hostname, or NULL */
    uint32_t node_cleanup_interval_s;   /* 60 */
    bool node_cleanup_only_log_warning; /* true */
    char *k8s_host;                     /* "kubernetes.default.svc.cluster.local" */
    uint16_t k8s_port;                  /* 443 */
    char *k8s_scheme;                   /* "https" */
    char *k8s_token_path;               /* "/var/run/secrets/kubernetes.io/serviceaccount/token" */
    char *k8s_cert_path;                /* ".../ca.crt" */
    char *k8s_namespace_path;           /* ".../namespace" */
    char *k8s_service_name;             /* "rabbitmq" */
    int k8s_address_type;               /* enum cfg_k8s_address_type, ip */
    char *k8s_hostname_suffix;          /* "" (appended verbatim) */

    /* management plugin */
    cfg_listener mgmt_tcp; /* management.tcp.port/.ip (or management.listener.*), 15672 */
    cfg_listener mgmt_ssl; /* management.ssl.port; port 0 = off */
    char *mgmt_ssl_cacertfile, *mgmt_ssl_certfile, *mgmt_ssl_keyfile, *mgmt_ssl_password;
    char *mgmt_path_prefix;  /* "" */
    int mgmt_rates_mode;     /* enum cfg_rates_mode, basic */
    char *mgmt_http_log_dir; /* NULL */
    char **mgmt_cors_allow_origins;
    int n_mgmt_cors_allow_origins;
    uint32_t mgmt_cors_max_age; /* 1800 */

    /* prometheus plugin */
    cfg_listener prometheus_tcp; /* prometheus.tcp.port/.ip, 15692 */
    char *prometheus_path;       /* "/metrics" */
    bool prometheus_per_object;  /* prometheus.return_per_object_metrics, false */

    /* logging */
    bool log_console;      /* true (warren logs to stdout/stderr by default, like the image) */
    int log_console_level; /* enum wr_log_level, info */
    char *log_file;        /* NULL = no file (log.file = false) */
    int log_file_level;    /* info */
    char *log_dir;         /* NULL */

    char **enabled_plugins;
    int n_enabled_plugins;

    /* bookkeeping */
    unsigned set_by_file;  /* CFG_SET_* */
    cfg_setting *settings; /* every key read, in first-seen order */
    int n_settings;
    int n_warnings; /* warnings emitted while loading (unknown keys ...) */
    void *arena_;   /* private */
    void *index_;   /* private */
} cfg_config;

/* Fills c with RabbitMQ 3.8's defaults (what `make run` uses without a file). Allocates
 * nothing; c must not hold a loaded config (cfg_free it first). */
void cfg_defaults(cfg_config *c);

/* Reads a config file: sysctl (cuttlefish) format, or YAML when the name ends in .yaml/.yml.
 * Returns 0, WR_EIO (cannot read; err names the file), WR_ECONFIG (err is
 * "file:line: message"), WR_ETOOBIG, WR_ENOMEM. Unknown keys are warnings (cfg_set_warn_hook),
 * not errors. On error c stays valid (keys before the bad one may be applied) and must still
 * be cfg_free'd; the caller must not start the node. Sets c->config_file. */
int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen);

/* Parses text (not NUL-terminated; len bytes) in sysctl format; name is used in messages.
 * Same returns as cfg_load_file. */
int cfg_load_string(cfg_config *c, const char *text, size_t len, const char *name, char *err,
                    size_t errlen);

/* The same for YAML text (a mapping whose nested keys flatten to dotted keys; sequences give
 * the numbered keys 1, 2, ...). */
int cfg_load_yaml_string(cfg_config *c, const char *text, size_t len, const char *name, char *err,
                         size_t errlen);

/* Sets one key as if read from a config file line (validated, copied). where names the source
 * in messages ("command line"). Returns 0, WR_ECONFIG, WR_ENOMEM; unknown key: a warning and 0. */
int cfg_set(cfg_config *c, const char *key, const char *value, const char *where, char *err,
            size_t errlen);

/* Applies the environment (see the file comment for precedence). Computes node_name and
 * data_dir. Returns 0 or WR_ECONFIG (a bad RABBITMQ_NODENAME, port ...), WR_ENOMEM. */
int cfg_apply_env(cfg_config *c, char *err, size_t errlen);

/* Reads an enabled_plugins file (`[rabbitmq_management,rabbitmq_peer_discovery_k8s].`).
 * path NULL = RABBITMQ_ENABLED_PLUGINS_FILE, else next to the config file, else
 * $RABBITMQ_CONFIG_BASE (default /etc/rabbitmq)/enabled_plugins; a missing default file means
 * no plugins. Returns 0, WR_EIO (an explicit file cannot be read), WR_ECONFIG ("file:line:
 * message"), WR_ENOMEM. */
int cfg_load_plugins(cfg_config *c, const char *path, char *err, size_t errlen);

/* Parses enabled_plugins text into c->enabled_plugins (replacing the list). */
int cfg_load_plugins_string(cfg_config *c, const char *text, size_t len, const char *name,
                            char *err, size_t errlen);

/* Start-up in one call: cfg_defaults, the config file (cli_path if not NULL, else
 * RABBITMQ_CONFIG_FILE, else $RABBITMQ_CONFIG_BASE/rabbitmq.conf if present; a path without
 * extension gets ".conf" as RabbitMQ does), cfg_apply_env, cfg_load_plugins(NULL). A missing
 * cli_path is an error; a missing file named by the environment is a warning. */
int cfg_load_all(cfg_config *c, const char *cli_path, char *err, size_t errlen);

/* True when the plugin is in enabled_plugins. */
bool cfg_plugin_enabled(const cfg_config *c, const char *name);

/* True when user may only connect from loopback addresses. */
bool cfg_is_loopback_user(const cfg_config *c, const char *user);

/* Builds a node name as RabbitMQ does: a name without '@' gets "@<host>" appended (short host
 * name, or the FQDN when longname); NULL/"" means "rabbit". Returns 0, WR_ECONFIG (empty part,
 * two '@', too long), WR_EIO (no host name). out gets the name. */
int cfg_make_node_name(const char *name, bool longname, char *out, size_t outlen);

/* Parses a RabbitMQ information unit ("1GB" = 10^9, "1GiB"/"1G" = 2^30, "512MB", "1024").
 * Returns 0 or WR_ECONFIG. */
int cfg_parse_info_unit(const char *s, uint64_t *out);

/* Parses a listener value: "5672", "127.0.0.1:5672", "[::1]:5672", "::1:5672", ":::5672".
 * Returns 0 or WR_ECONFIG. */
int cfg_parse_listener(const char *s, cfg_listener *out);

/* Warning hook: every warning (unknown key, ignored value) goes to fn instead of wr_warn when
 * set; NULL restores wr_warn. Process-wide; set it before loading. */
typedef void (*cfg_warn_fn)(void *ud, const char *msg);
void cfg_set_warn_hook(cfg_warn_fn fn, void *ud);

/* Frees everything the config owns; c is zeroed and can be reused after cfg_defaults. */
void cfg_free(cfg_config *c);

#endif
