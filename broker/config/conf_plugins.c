/* enabled_plugins: one Erlang term, a list of atoms ended by a full stop:
 *
 *   [rabbitmq_management,rabbitmq_peer_discovery_k8s].
 *
 * Whitespace, newlines and %-comments may appear between tokens; atoms may be quoted
 * ('rabbitmq_management'). A file holding no term at all means no plugins, as in
 * rabbit_plugins:read_enabled/1. */
#include "broker/config/cfg_int.h"

#include "broker/util/wr_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pctx {
    const char *s;
    size_t len, pos;
    int line;
} pctx;

static void skip_ws(pctx *p)
{
    while (p->pos < p->len) {
        char ch = p->s[p->pos];
        if (ch == '\n') {
            p->line++;
            p->pos++;
        } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
            p->pos++;
        } else if (ch == '%') {
            while (p->pos < p->len && p->s[p->pos] != '\n') p->pos++;
        } else {
            break;
        }
    }
}

static bool atom_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '@';
}

/* Reads an atom into buf (NUL-terminated). Returns 0 or WR_ECONFIG. */
static int read_atom(pctx *p, char *buf, size_t buflen)
{
    size_t n = 0;

    if (p->pos < p->len && p->s[p->pos] == '\'') {
        p->pos++;
        for (;;) {
            char ch;
            if (p->pos >= p->len) return WR_ECONFIG;
            ch = p->s[p->pos++];
            if (ch == '\'') break;
            if (ch == '\n' || ch == '\0') return WR_ECONFIG;
            if (ch == '\\') {
                if (p->pos >= p->len) return WR_ECONFIG;
                ch = p->s[p->pos++];
                if (ch != '\\' && ch != '\'') return WR_ECONFIG;
            }
            if (n + 1 >= buflen) return WR_ECONFIG;
            buf[n++] = ch;
        }
        if (n == 0) return WR_ECONFIG;
    } else {
        if (p->pos >= p->len || p->s[p->pos] < 'a' || p->s[p->pos] > 'z') return WR_ECONFIG;
        while (p->pos < p->len && atom_char(p->s[p->pos])) {
            if (n + 1 >= buflen) return WR_ECONFIG;
            buf[n++] = p->s[p->pos++];
        }
    }
    buf[n] = '\0';
    return 0;
}

static bool has(char **v, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return true;
    return false;
}

int cfg_load_plugins_string(cfg_config *c, const char *text, size_t len, const char *name,
                            char *err, size_t errlen)
{
    pctx p = {.s = text, .len = len, .pos = 0, .line = 1};
    char atom[256];
    char **list = NULL;
    int n = 0, r;

    if (!name) name = "enabled_plugins";
    if (len > CFG_MAX_FILE_SIZE) {
        cfg__fmt(err, errlen, "%s: file too large", name);
        return WR_ETOOBIG;
    }
    skip_ws(&p);
    if (p.pos == p.len) goto done; /* no term: no plugins */
    if (p.s[p.pos] != '[') {
        cfg__fmt(err, errlen, "%s:%d: expected a list of plugin names like [rabbitmq_management].",
                 name, p.line);
        return WR_ECONFIG;
    }
    p.pos++;
    skip_ws(&p);
    if (p.pos < p.len && p.s[p.pos] == ']') {
        p.pos++;
    } else {
        for (;;) {
            skip_ws(&p);
            if (read_atom(&p, atom, sizeof(atom))) {
                cfg__fmt(err, errlen, "%s:%d: expected a plugin name (an atom)", name, p.line);
                return WR_ECONFIG;
            }
            if (!has(list, n, atom)) {
                if (n >= CFG_MAX_PLUGINS) {
                    cfg__fmt(err, errlen, "%s:%d: too many plugins", name, p.line);
                    return WR_ECONFIG;
                }
                r = cfg__list_add(c, &list, &n, atom);
                if (r) {
                    cfg__fmt(err, errlen, "%s: out of memory", name);
                    return r;
                }
            }
            skip_ws(&p);
            if (p.pos < p.len && p.s[p.pos] == ',') {
                p.pos++;
                continue;
            }
            if (p.pos < p.len && p.s[p.pos] == ']') {
                p.pos++;
                break;
            }
            cfg__fmt(err, errlen, "%s:%d: expected ',' or ']' in the plugin list", name, p.line);
            return WR_ECONFIG;
        }
    }
    skip_ws(&p);
    if (p.pos >= p.len || p.s[p.pos] != '.') {
        cfg__fmt(err, errlen, "%s:%d: the plugin list must end with '].'", name, p.line);
        return WR_ECONFIG;
    }
    p.pos++;
    if (p.pos < p.len && p.s[p.pos] != ' ' && p.s[p.pos] != '\n' && p.s[p.pos] != '\t' &&
        p.s[p.pos] != '\r' && p.s[p.pos] != '%') {
        cfg__fmt(err, errlen, "%s:%d: unexpected text after '].'", name, p.line);
        return WR_ECONFIG;
    }
    skip_ws(&p);
    if (p.pos != p.len) {
        cfg__fmt(err, errlen, "%s:%d: unexpected text after the plugin list", name, p.line);
        return WR_ECONFIG;
    }
done:
    c->enabled_plugins = list;
    c->n_enabled_plugins = n;
    return 0;
}

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

int cfg_load_plugins(cfg_config *c, const char *path, char *err, size_t errlen)
{
    char buf[4096];
    const char *env = getenv("RABBITMQ_ENABLED_PLUGINS_FILE");
    bool explicit_path = path || (env && *env);
    char *text = NULL;
    size_t len = 0;
    int r;

    if (!path && env && *env) path = env;
    if (!path && c->config_file) {
        const char *slash = strrchr(c->config_file, '/');
        size_t dir = slash ? (size_t)(slash - c->config_file) + 1 : 0;
        if (dir + sizeof("enabled_plugins") <= sizeof(buf)) {
            memcpy(buf, c->config_file, dir);
            memcpy(buf + dir, "enabled_plugins", sizeof("enabled_plugins"));
            if (file_exists(buf)) path = buf;
        }
    }
    if (!path) {
        const char *base = getenv("RABBITMQ_CONFIG_BASE");
        snprintf(buf, sizeof(buf), "%s/enabled_plugins", base && *base ? base : "/etc/rabbitmq");
        if (!file_exists(buf)) {
            c->enabled_plugins = NULL;
            c->n_enabled_plugins = 0;
            return 0;
        }
        path = buf;
    }
    r = cfg__read_file(path, &text, &len);
    if (r == WR_EIO && !explicit_path) return 0;
    if (r == WR_EIO) {
        cfg__fmt(err, errlen, "%s: cannot read enabled plugins file: %s", path, strerror(errno));
        return r;
    }
    if (r) {
        cfg__fmt(err, errlen, "%s: %s", path, r == WR_ETOOBIG ? "file too large" : "out of memory");
        return r;
    }
    c->enabled_plugins_file = cfg__strdup(c, path);
    r = c->enabled_plugins_file ? cfg_load_plugins_string(c, text, len, path, err, errlen)
                                : WR_ENOMEM;
    free(text);
    return r;
}
