/* The environment (RabbitMQ's rabbitmq-env / rabbit_env), node names and start-up in one call.
 *
 * Precedence (docs/CONFIG.md): command line > config file > environment > defaults, except
 * the K8S_* variables, which override the file as rabbit_peer_discovery_config does, and the
 * variables that have no config-file key at all (node name, data dir, cookie, POD_*). */
#include "broker/config/cfg_int.h"

#include "broker/util/wr_err.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

/* The host part of a default node name: the short host name, or the FQDN for long names. */
static int host_name(bool longname, char *out, size_t outlen)
{
    char host[256];

    if (gethostname(host, sizeof(host) - 1)) return WR_EIO;
    host[sizeof(host) - 1] = '\0';
    if (!host[0]) return WR_EIO;
    if (longname) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_flags = AI_CANONNAME;
        hints.ai_family = AF_UNSPEC;
        if (!strchr(host, '.') && getaddrinfo(host, NULL, &hints, &res) == 0) {
            if (res && res->ai_canonname && strchr(res->ai_canonname, '.'))
                snprintf(host, sizeof(host), "%s", res->ai_canonname);
            freeaddrinfo(res);
        }
    } else {
        char *dot = strchr(host, '.');
        if (dot) *dot = '\0';
    }
    if (strlen(host) >= outlen) return WR_EIO;
    memcpy(out, host, strlen(host) + 1);
    return 0;
}

int cfg_make_node_name(const char *name, bool longname, char *out, size_t outlen)
{
    const char *at;
    char host[256];
    int n;

    if (!name || !*name) name = "rabbit";
    at = strchr(name, '@');
    if (at) {
        if (at == name || !at[1] || strchr(at + 1, '@')) return WR_ECONFIG;
        n = snprintf(out, outlen, "%s", name);
    } else {
        if (host_name(longname, host, sizeof(host))) return WR_EIO;
        n = snprintf(out, outlen, "%s@%s", name, host);
    }
    if (n < 0 || (size_t)n >= outlen || n > 255) return WR_ECONFIG;
    for (const char *p = out; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '/' || *p == '\\') return WR_ECONFIG;
    return 0;
}

static int set_str(cfg_config *c, char **field, const char *v)
{
    char *copy = cfg__strdup(c, v);

    if (!copy) return WR_ENOMEM;
    *field = copy;
    return 0;
}

static int bad(char *err, size_t errlen, const char *var, const char *val, const char *what)
{
    cfg__fmt(err, errlen, "environment variable %s: invalid value '%s' (%s)", var, val, what);
    return WR_ECONFIG;
}

static bool parse_port(const char *s, uint16_t *out)
{
    unsigned long v;
    char *end;

    if (*s < '0' || *s > '9') return false;
    v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > 65535) return false;
    *out = (uint16_t)v;
    return true;
}

/* The docker image's NAME_FILE convention: the value of NAME, else the content of the file
 * named by NAME_FILE (trailing newlines dropped). Returns 0 with *out (NULL if neither is
 * set), or WR_ECONFIG when the file cannot be read. */
static int env_or_file(cfg_config *c, const char *name, const char **out, char *err, size_t errlen)
{
    char var[128];
    const char *path;
    char *text = NULL;
    size_t len = 0;

    *out = env(name);
    if (*out) return 0;
    snprintf(var, sizeof(var), "%s_FILE", name);
    path = env(var);
    if (!path) return 0;
    if (cfg__read_file(path, &text, &len) || len > CFG_MAX_VALUE) {
        free(text);
        cfg__fmt(err, errlen, "environment variable %s: cannot read '%s'", var, path);
        return WR_ECONFIG;
    }
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    *out = cfg__strndup(c, text, len);
    free(text);
    return *out ? 0 : WR_ENOMEM;
}

/* RABBITMQ_VM_MEMORY_HIGH_WATERMARK as the docker image reads it: "0.49" or "49%" relative,
 * "1073741824" or "2GB" absolute. */
static int env_watermark(cfg_config *c, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    bool pct = n > 1 && v[n - 1] == '%';
    bool dot = strchr(v, '.') != NULL;

    if (pct || (dot && strspn(v, "0123456789.") == n)) {
        char *end;
        double d = strtod(v, &end);
        if (end != v + n - (pct ? 1 : 0) || d != d) goto bad;
        if (pct) d /= 100.0;
        if (d < 0.0 || d > 1.0) goto bad;
        c->vm_memory_high_watermark = d;
        c->vm_memory_high_watermark_abs = 0;
        return 0;
    }
    if (cfg_parse_info_unit(v, &c->vm_memory_high_watermark_abs) == 0) return 0;
bad:
    return bad(err, errlen, "RABBITMQ_VM_MEMORY_HIGH_WATERMARK", v,
               "expected a fraction like 0.4, a percentage like 40%, or an amount like 2GB");
}

int cfg_apply_env(cfg_config *c, char *err, size_t errlen)
{
    char name[300];
    const char *v;
    int r = 0;

    if ((v = env("RABBITMQ_USE_LONGNAME"))) c->use_longname = !strcmp(v, "true");
    v = env("RABBITMQ_NODENAME");
    r = cfg_make_node_name(v, c->use_longname, name, sizeof(name));
    if (r == WR_ECONFIG)
        return bad(err, errlen, "RABBITMQ_NODENAME", v ? v : "", "expected name@host");
    if (r) {
        cfg__fmt(err, errlen, "cannot determine this host's name for the node name");
        return r;
    }
    if ((r = set_str(c, &c->node_name, name))) return r;

    if ((v = env("RABBITMQ_MNESIA_DIR"))) {
        if ((r = set_str(c, &c->data_dir, v))) return r;
    } else if ((v = env("RABBITMQ_MNESIA_BASE"))) {
        size_t n = strlen(v) + 1 + strlen(c->node_name) + 1;
        char *d = cfg__alloc(c, n);
        if (!d) return WR_ENOMEM;
        snprintf(d, n, "%s/%s", v, c->node_name);
        c->data_dir = d;
    }

    if (!(c->set_by_file & (CFG_SET_TCP_LISTENERS | CFG_SET_TCP_NONE))) {
        const char *port = env("RABBITMQ_NODE_PORT"), *ip = env("RABBITMQ_NODE_IP_ADDRESS");
        if (port || ip) {
            cfg_listener l;
            memset(&l, 0, sizeof(l));
            l.port = 5672;
            snprintf(l.name, sizeof(l.name), "default");
            if (port && !parse_port(port, &l.port))
                return bad(err, errlen, "RABBITMQ_NODE_PORT", port, "expected a port 1-65535");
            if (ip && strcmp(ip, "auto")) {
                unsigned char buf[16];
                if (strlen(ip) >= sizeof(l.ip) ||
                    (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1))
                    return bad(err, errlen, "RABBITMQ_NODE_IP_ADDRESS", ip,
                               "expected an IP address");
                snprintf(l.ip, sizeof(l.ip), "%s", ip);
            }
            c->tcp_listeners[0] = l;
            c->n_tcp_listeners = 1;
        }
    }
    if (!(c->set_by_file & CFG_SET_DIST_PORT)) {
        const char *port = env("RABBITMQ_NODE_PORT");
        uint16_t p;
        if ((v = env("RABBITMQ_DIST_PORT"))) {
            if (!parse_port(v, &c->dist_port))
                return bad(err, errlen, "RABBITMQ_DIST_PORT", v, "expected a port 1-65535");
        } else if (port && parse_port(port, &p) && p <= 65535 - 20000) {
            c->dist_port = (uint16_t)(p + 20000);
        }
    }
    if ((r = env_or_file(c, "RABBITMQ_DEFAULT_USER", &v, err, errlen))) return r;
    if (v && !(c->set_by_file & CFG_SET_DEFAULT_USER) && (r = set_str(c, &c->default_user, v)))
        return r;
    if ((r = env_or_file(c, "RABBITMQ_DEFAULT_PASS", &v, err, errlen))) return r;
    if (v && !(c->set_by_file & CFG_SET_DEFAULT_PASS) && (r = set_str(c, &c->default_pass, v)))
        return r;
    if ((r = env_or_file(c, "RABBITMQ_DEFAULT_VHOST", &v, err, errlen))) return r;
    if (v && !(c->set_by_file & CFG_SET_DEFAULT_VHOST) && (r = set_str(c, &c->default_vhost, v)))
        return r;
    if ((r = env_or_file(c, "RABBITMQ_ERLANG_COOKIE", &v, err, errlen))) return r;
    if (v && (r = set_str(c, &c->erlang_cookie, v))) return r;
    if ((v = env("RABBITMQ_VM_MEMORY_HIGH_WATERMARK")) &&
        !(c->set_by_file & (CFG_SET_MEM_RELATIVE | CFG_SET_MEM_ABSOLUTE)) &&
        (r = env_watermark(c, v, err, errlen)))
        return r;
    if ((v = env("RABBITMQ_LOGS"))) {
        if (!strcmp(v, "-")) {
            c->log_console = true;
            c->log_file = NULL;
        } else if ((r = set_str(c, &c->log_file, v))) {
            return r;
        }
    }

    /* K8S_* override the config file (rabbit_peer_discovery_config:get_from_env_variable_or_map) */
    if ((v = env("K8S_HOST")) && (r = set_str(c, &c->k8s_host, v))) return r;
    if ((v = env("K8S_PORT")) && !parse_port(v, &c->k8s_port))
        return bad(err, errlen, "K8S_PORT", v, "expected a port 1-65535");
    if ((v = env("K8S_SCHEME"))) {
        if (strcmp(v, "http") && strcmp(v, "https"))
            return bad(err, errlen, "K8S_SCHEME", v, "expected http or https");
        if ((r = set_str(c, &c->k8s_scheme, v))) return r;
    }
    if ((v = env("K8S_TOKEN_PATH")) && (r = set_str(c, &c->k8s_token_path, v))) return r;
    if ((v = env("K8S_CERT_PATH")) && (r = set_str(c, &c->k8s_cert_path, v))) return r;
    if ((v = env("K8S_NAMESPACE_PATH")) && (r = set_str(c, &c->k8s_namespace_path, v))) return r;
    if ((v = env("K8S_SERVICE_NAME")) && (r = set_str(c, &c->k8s_service_name, v))) return r;
    if ((v = env("K8S_ADDRESS_TYPE"))) {
        if (!strcmp(v, "ip"))
            c->k8s_address_type = CFG_K8S_ADDRESS_IP;
        else if (!strcmp(v, "hostname"))
            c->k8s_address_type = CFG_K8S_ADDRESS_HOSTNAME;
        else
            return bad(err, errlen, "K8S_ADDRESS_TYPE", v, "expected ip or hostname");
    }
    /* an empty suffix is meaningful; take the variable whenever it is set */
    if ((v = getenv("K8S_HOSTNAME_SUFFIX")) && (r = set_str(c, &c->k8s_hostname_suffix, v)))
        return r;
    if ((v = env("POD_NAME")) && (r = set_str(c, &c->pod_name, v))) return r;
    if ((v = env("POD_NAMESPACE")) && (r = set_str(c, &c->pod_namespace, v))) return r;
    if ((v = env("POD_IP")) && (r = set_str(c, &c->pod_ip, v))) return r;
    return 0;
}

/* Finds the config file RabbitMQ would read for path: path itself, else path + ".conf".
 * Returns true with the name in buf. */
static bool is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool resolve(const char *path, char *buf, size_t buflen)
{
    if (is_file(path) && strlen(path) < buflen) {
        snprintf(buf, buflen, "%s", path);
        return true;
    }
    if ((size_t)snprintf(buf, buflen, "%s.conf", path) < buflen && is_file(buf)) return true;
    return false;
}

int cfg_load_all(cfg_config *c, const char *cli_path, char *err, size_t errlen)
{
    char path[4096];
    const char *ev = env("RABBITMQ_CONFIG_FILE");
    const char *file = NULL;
    int r;

    cfg_defaults(c);
    if (cli_path) {
        if (!resolve(cli_path, path, sizeof(path))) {
            cfg__fmt(err, errlen, "%s: config file not found", cli_path);
            return WR_EIO;
        }
        file = path;
    } else if (ev) {
        if (resolve(ev, path, sizeof(path)))
            file = path;
        else
            cfg__warn(c, "%s: config file (RABBITMQ_CONFIG_FILE) not found; using defaults", ev);
    } else {
        const char *base = env("RABBITMQ_CONFIG_BASE");
        char def[4096];
        snprintf(def, sizeof(def), "%s/rabbitmq", base ? base : "/etc/rabbitmq");
        if (resolve(def, path, sizeof(path))) file = path;
    }
    if (file && (r = cfg_load_file(c, file, err, errlen))) return r;
    if ((r = cfg_apply_env(c, err, errlen))) return r;
    return cfg_load_plugins(c, NULL, err, errlen);
}
