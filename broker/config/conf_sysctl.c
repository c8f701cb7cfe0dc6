/* rabbitmq.conf in cuttlefish's sysctl format:
 *
 *   # comment            (a '#' also ends a value: cuttlefish's grammar has no escape for it)
 *   key.with.dots = value with spaces
 *
 * Keys are words of [A-Za-z0-9_-] joined by dots; the value is everything after the first '='
 * up to a comment or the end of the line, trimmed; a later line for the same key wins. */
#include "broker/config/cfg_int.h"

#include "broker/util/wr_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

int cfg_load_string(cfg_config *c, const char *text, size_t len, const char *name, char *err,
                    size_t errlen)
{
    cfg_batch b;
    size_t pos = 0;
    int line = 0, r;

    if (len > CFG_MAX_FILE_SIZE) {
        cfg__fmt(err, errlen, "%s: file too large (more than %u bytes)", name ? name : "config",
                 CFG_MAX_FILE_SIZE);
        return WR_ETOOBIG;
    }
    r = cfg__batch_begin(c, &b, name);
    if (r) return r;
    while (pos < len) {
        const char *ln = text + pos, *nl = memchr(ln, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - ln) : len - pos;
        size_t i = 0, ks, ke, vs, ve;
        const char *eq;

        pos += n + (nl ? 1 : 0);
        line++;
        while (i < n && is_ws(ln[i])) i++;
        if (i == n || ln[i] == '#') continue;
        eq = memchr(ln + i, '=', n - i);
        if (!eq) {
            if (n - i >= 8 && !memcmp(ln + i, "include", 7) && is_ws(ln[i + 7]))
                cfg__fmt(err, errlen, "%s:%d: 'include' is not supported", b.file, line);
            else
                cfg__fmt(err, errlen, "%s:%d: syntax error: expected 'key = value'", b.file, line);
            return WR_ECONFIG;
        }
        ks = i;
        ke = (size_t)(eq - ln);
        while (ke > ks && is_ws(ln[ke - 1])) ke--;
        vs = ke;
        while (ln[vs] != '=') vs++;
        vs++;
        while (vs < n && is_ws(ln[vs])) vs++;
        ve = vs;
        while (ve < n && ln[ve] != '#') ve++;
        while (ve > vs && is_ws(ln[ve - 1])) ve--;
        r = cfg__batch_add(&b, ln + ks, ke - ks, ln + vs, ve - vs, line, err, errlen);
        if (r) return r;
    }
    return cfg__batch_apply(&b, err, errlen);
}

int cfg__read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int r = 0;

    if (!f) return WR_EIO;
    for (;;) {
        size_t got;
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb;
            if (ncap > (size_t)CFG_MAX_FILE_SIZE + 8192) ncap = (size_t)CFG_MAX_FILE_SIZE + 8192;
            nb = realloc(buf, ncap);
            if (!nb) {
                r = WR_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > CFG_MAX_FILE_SIZE) {
            r = WR_ETOOBIG;
            goto out;
        }
        if (got == 0) {
            if (ferror(f)) r = WR_EIO;
            break;
        }
    }
out:
    fclose(f);
    if (r) {
        free(buf);
        return r;
    }
    if (!buf) {
        buf = malloc(1);
        if (!buf) return WR_ENOMEM;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && !strcmp(s + a - b, suffix);
}

int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int r;

    if (ends_with(path, ".config")) {
        cfg__fmt(err, errlen,
                 "%s: the classic Erlang-term config format is not supported; use rabbitmq.conf "
                 "(sysctl format) or YAML",
                 path);
        return WR_ECONFIG;
    }
    r = cfg__read_file(path, &text, &len);
    if (r == WR_EIO) {
        cfg__fmt(err, errlen, "%s: cannot read config file: %s", path, strerror(errno));
        return r;
    }
    if (r == WR_ETOOBIG) {
        cfg__fmt(err, errlen, "%s: file too large (more than %u bytes)", path, CFG_MAX_FILE_SIZE);
        return r;
    }
    if (r) {
        cfg__fmt(err, errlen, "%s: out of memory", path);
        return r;
    }
    c->config_file = cfg__strdup(c, path);
    if (!c->config_file)
        r = WR_ENOMEM;
    else if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
        r = cfg_load_yaml_string(c, text, len, path, err, errlen);
    else
        r = cfg_load_string(c, text, len, path, err, errlen);
    free(text);
    return r;
}
