/* The YAML alternative to rabbitmq.conf (files ending .yaml/.yml), read with libyaml's event
 * API. Nested mapping keys flatten to the dotted keys of the sysctl format, sequence items get
 * the numbered keys 1, 2, ...:
 *
 *   listeners:                       listeners.tcp.default = 5672
 *     tcp: {default: 5672}     ==    auth_mechanisms.1 = PLAIN
 *   auth_mechanisms: [PLAIN]
 *
 * Values are the scalars' text, validated exactly as sysctl values. Aliases and multiple
 * documents are refused; nesting is capped. */
#include "broker/config/cfg_int.h"

#include "broker/util/wr_err.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 32

typedef struct yctx {
    yaml_parser_t p;
    cfg_batch b;
    char path[CFG_MAX_KEY + 2];
    char *err;
    size_t errlen;
} yctx;

static int next_event(yctx *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->p, ev)) {
        cfg__fmt(y->err, y->errlen, "%s:%zu: YAML error: %s", y->b.file,
                 (size_t)y->p.problem_mark.line + 1, y->p.problem ? y->p.problem : "unknown");
        return WR_ECONFIG;
    }
    return 0;
}

static int line_of(const yaml_event_t *ev)
{
    return (int)ev->start_mark.line + 1;
}

/* Appends ".seg" (or "seg" at the top) to y->path; returns the old length or -1 if too long. */
static int push(yctx *y, const char *seg, size_t n, int line)
{
    size_t cur = strlen(y->path), need = cur + (cur ? 1 : 0) + n;

    if (need > CFG_MAX_KEY) {
        cfg__fmt(y->err, y->errlen, "%s:%d: key too long", y->b.file, line);
        return -1;
    }
    if (cur) y->path[cur] = '.';
    memcpy(y->path + cur + (cur ? 1 : 0), seg, n);
    y->path[need] = '\0';
    return (int)cur;
}

static int parse_node(yctx *y, yaml_event_t *ev, int depth);

static int parse_children(yctx *y, yaml_event_t *start, int depth)
{
    bool seq = start->type == YAML_SEQUENCE_START_EVENT;
    unsigned idx = 0;
    int r = 0;

    if (depth >= YAML_MAX_DEPTH) {
        cfg__fmt(y->err, y->errlen, "%s:%d: nested too deeply", y->b.file, line_of(start));
        return WR_ECONFIG;
    }
    for (;;) {
        yaml_event_t ev;
        int old;
        char num[16];

        r = next_event(y, &ev);
        if (r) return r;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (seq) {
            int n = snprintf(num, sizeof(num), "%u", ++idx);
            old = push(y, num, (size_t)n, line_of(&ev));
            if (old < 0) {
                yaml_event_delete(&ev);
                return WR_ECONFIG;
            }
            r = parse_node(y, &ev, depth + 1);
        } else {
            yaml_event_t val;
            if (ev.type != YAML_SCALAR_EVENT) {
                cfg__fmt(y->err, y->errlen, "%s:%d: mapping keys must be plain scalars", y->b.file,
                         line_of(&ev));
                yaml_event_delete(&ev);
                return WR_ECONFIG;
            }
            old = push(y, (const char *)ev.data.scalar.value, ev.data.scalar.length, line_of(&ev));
            yaml_event_delete(&ev);
            if (old < 0) return WR_ECONFIG;
            r = next_event(y, &val);
            if (r) return r;
            r = parse_node(y, &val, depth + 1);
        }
        y->path[old] = '\0';
        if (r) return r;
    }
}

/* Consumes the node starting with *ev (and deletes *ev). */
static int parse_node(yctx *y, yaml_event_t *ev, int depth)
{
    int r = 0;

    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (!y->path[0]) {
            cfg__fmt(y->err, y->errlen, "%s:%d: the document must be a mapping", y->b.file,
                     line_of(ev));
            r = WR_ECONFIG;
            break;
        }
        r = cfg__batch_add(&y->b, y->path, strlen(y->path), (const char *)ev->data.scalar.value,
                           ev->data.scalar.length, line_of(ev), y->err, y->errlen);
        break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        if (!y->path[0] && ev->type == YAML_SEQUENCE_START_EVENT) {
            cfg__fmt(y->err, y->errlen, "%s:%d: the document must be a mapping", y->b.file,
                     line_of(ev));
            r = WR_ECONFIG;
            break;
        }
        r = parse_children(y, ev, depth);
        break;
    case YAML_ALIAS_EVENT:
        cfg__fmt(y->err, y->errlen, "%s:%d: YAML aliases are not supported", y->b.file,
                 line_of(ev));
        r = WR_ECONFIG;
        break;
    default:
        cfg__fmt(y->err, y->errlen, "%s:%d: unexpected YAML event", y->b.file, line_of(ev));
        r = WR_ECONFIG;
        break;
    }
    yaml_event_delete(ev);
    return r;
}

int cfg_load_yaml_string(cfg_config *c, const char *text, size_t len, const char *name, char *err,
                         size_t errlen)
{
    yctx y;
    yaml_event_t ev;
    int docs = 0, r;

    if (len > CFG_MAX_FILE_SIZE) {
        cfg__fmt(err, errlen, "%s: file too large (more than %u bytes)", name ? name : "config",
                 CFG_MAX_FILE_SIZE);
        return WR_ETOOBIG;
    }
    memset(&y, 0, sizeof(y));
    y.err = err;
    y.errlen = errlen;
    r = cfg__batch_begin(c, &y.b, name);
    if (r) return r;
    if (!yaml_parser_initialize(&y.p)) return WR_ENOMEM;
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    for (;;) {
        r = next_event(&y, &ev);
        if (r) goto out;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            cfg__fmt(err, errlen, "%s:%d: only one YAML document is allowed", y.b.file,
                     line_of(&ev));
            yaml_event_delete(&ev);
            r = WR_ECONFIG;
            goto out;
        }
        if (ev.type == YAML_SCALAR_EVENT && !y.path[0] &&
            ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            (ev.data.scalar.length == 0 || !strcmp((char *)ev.data.scalar.value, "~") ||
             !strcmp((char *)ev.data.scalar.value, "null"))) {
            yaml_event_delete(&ev); /* an empty document */
            continue;
        }
        if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_MAPPING_START_EVENT ||
            ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_ALIAS_EVENT) {
            r = parse_node(&y, &ev, 0);
            if (r) goto out;
            continue;
        }
        yaml_event_delete(&ev);
    }
    r = cfg__batch_apply(&y.b, err, errlen);
out:
    yaml_parser_delete(&y.p);
    return r;
}
