/* Definitions import: a small JSON reader and the users/vhosts/permissions
 * part of RabbitMQ's definitions format. See defs.h. */
#include "broker/defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/auth/user.h"
#include "broker/core/exchange.h"
#include "broker/core/queue.h"
#include "broker/core/vhost.h"
#include "broker/proto/wire.h"
#include "broker/util/wr_err.h"
#include "broker/util/wr_log.h"

#define DEFS_MAX_FILE  (64u << 20)
#define DEFS_MAX_DEPTH 64

/* ---- JSON: parsed into a flat tree of nodes ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jnode {
    enum jtype t;
    bool b;
    double num;
    char *str;           /* J_STR: decoded, NUL-terminated */
    struct jnode **kids; /* J_ARR elements, J_OBJ values */
    char **keys;         /* J_OBJ keys */
    size_t n, cap;
} jnode;

typedef struct jparser {
    const char *p, *end, *start;
    int depth;
} jparser;

static void jfree(jnode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        jfree(n->kids[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->kids);
    free(n->keys);
    free(n->str);
    free(n);
}

static void jws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jput_utf8(char *out, size_t *o, unsigned cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

static int jhex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        *v <<= 4;
        if (c >= '0' && c <= '9')
            *v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    return 0;
}

static char *jstring(jparser *j)
{
    const char *q;
    char *out;
    size_t o = 0;
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    for (q = j->p; q < j->end && *q != '"'; q++)
        if (*q == '\\') q++;
    if (q >= j->end) return NULL;
    out = malloc((size_t)(q - j->p) * 2 + 1); /* escapes never grow more than 2x */
    if (!out) return NULL;
    while (j->p < q) {
        char c = *j->p++;
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        c = *j->p++;
        switch (c) {
        case '"':
            out[o++] = '"';
            break;
        case '\\':
            out[o++] = '\\';
            break;
        case '/':
            out[o++] = '/';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (q - j->p < 4 || jhex4(j->p, &cp) < 0) goto bad;
            j->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
                jhex4(j->p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j->p += 6;
            }
            jput_utf8(out, &o, cp);
            break;
        }
        default:
            goto bad;
        }
    }
    j->p = q + 1;
    out[o] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static int jadd(jnode *n, char *key, jnode *kid)
{
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        jnode **k = realloc(n->kids, cap * sizeof(*k));
        if (!k) return WR_ENOMEM;
        n->kids = k;
        if (n->t == J_OBJ) {
            char **ks = realloc(n->keys, cap * sizeof(*ks));
            if (!ks) return WR_ENOMEM;
            n->keys = ks;
        }
        n->cap = cap;
    }
    n->kids[n->n] = kid;
    if (n->t == J_OBJ) n->keys[n->n] = key;
    n->n++;
    return 0;
}

static jnode *jvalue(jparser *j)
{
    jnode *n;
    jws(j);
    if (j->p >= j->end || ++j->depth > DEFS_MAX_DEPTH) return NULL;
    n = calloc(1, sizeof(*n));
    if (!n) return NULL;
    if (*j->p == '{' || *j->p == '[') {
        bool obj = *j->p == '{';
        char close = obj ? '}' : ']';
        n->t = obj ? J_OBJ : J_ARR;
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            goto done;
        }
        for (;;) {
            char *key = NULL;
            jnode *kid;
            jws(j);
            if (obj) {
                if (!(key = jstring(j))) goto bad;
                jws(j);
                if (j->p >= j->end || *j->p != ':') {
                    free(key);
                    goto bad;
                }
                j->p++;
            }
            if (!(kid = jvalue(j)) || jadd(n, key, kid) < 0) {
                free(key);
                jfree(kid);
                goto bad;
            }
            jws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                break;
            }
            goto bad;
        }
    } else if (*j->p == '"') {
        n->t = J_STR;
        if (!(n->str = jstring(j))) goto bad;
    } else if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
        n->t = J_BOOL;
        n->b = true;
        j->p += 4;
    } else if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        n->t = J_BOOL;
        j->p += 5;
    } else if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        n->t = J_NULL;
        j->p += 4;
    } else {
        char buf[64];
        size_t k = 0;
        char *e;
        while (j->p < j->end && k < sizeof(buf) - 1 && strchr("+-0123456789.eE", *j->p))
            buf[k++] = *j->p++;
        buf[k] = '\0';
        if (!k) goto bad;
        n->t = J_NUM;
        n->num = strtod(buf, &e);
        if (*e) goto bad;
    }
done:
    j->depth--;
    return n;
bad:
    jfree(n);
    return NULL;
}

static const jnode *jget(const jnode *o, const char *key)
{
    if (!o || o->t != J_OBJ) return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return o->kids[i];
    return NULL;
}

static const char *jstr(const jnode *o, const char *key, const char *dflt)
{
    const jnode *v = jget(o, key);
    return v && v->t == J_STR ? v->str : dflt;
}

/* ---- JSON -> AMQP field table (declare arguments) ---- */

static int jenc_value(wr_buf *b, const jnode *n, int depth);

static int jenc_table(wr_buf *b, const jnode *o, int depth)
{
    for (size_t i = 0; i < o->n; i++) {
        size_t kl = strlen(o->keys[i]);
        if (kl > 255) return WR_EINVAL;
        if (wire_put_shortstr(b, o->keys[i], kl) < 0 || jenc_value(b, o->kids[i], depth) < 0)
            return WR_ENOMEM;
    }
    return 0;
}

/* Appends type letter + value, as RabbitMQ's JSON -> table conversion:
 * strings S, integers l, other numbers d, booleans t, null V, objects F,
 * arrays A. */
static int jenc_value(wr_buf *b, const jnode *n, int depth)
{
    size_t at;
    int rc = 0;
    if (depth > DEFS_MAX_DEPTH) return WR_EINVAL;
    switch (n->t) {
    case J_STR:
        return (wire_put_u8(b, 'S') < 0 || wire_put_longstr(b, n->str, strlen(n->str)) < 0)
                   ? WR_ENOMEM
                   : 0;
    case J_BOOL:
        return (wire_put_u8(b, 't') < 0 || wire_put_u8(b, n->b) < 0) ? WR_ENOMEM : 0;
    case J_NULL:
        return wire_put_u8(b, 'V');
    case J_NUM:
        if (n->num == (double)(int64_t)n->num)
            return (wire_put_u8(b, 'l') < 0 || wire_put_u64(b, (uint64_t)(int64_t)n->num) < 0)
                       ? WR_ENOMEM
                       : 0;
        {
            uint64_t bits;
            memcpy(&bits, &n->num, 8);
            return (wire_put_u8(b, 'd') < 0 || wire_put_u64(b, bits) < 0) ? WR_ENOMEM : 0;
        }
    case J_OBJ:
    case J_ARR:
        if (wire_put_u8(b, n->t == J_OBJ ? 'F' : 'A') < 0 || wire_put_u32(b, 0) < 0)
            return WR_ENOMEM;
        at = b->len;
        if (n->t == J_OBJ)
            rc = jenc_table(b, n, depth + 1);
        else
            for (size_t i = 0; i < n->n && rc == 0; i++) rc = jenc_value(b, n->kids[i], depth + 1);
        if (rc < 0) return rc;
        wire_store_u32(b->data + at - 4, (uint32_t)(b->len - at));
        return 0;
    }
    return WR_EINVAL;
}

/* args (a JSON object or absent) as table content in b. */
static int jargs(wr_buf *b, const jnode *args)
{
    wr_buf_reset(b);
    if (!args || args->t != J_OBJ) return 0;
    return jenc_table(b, args, 0);
}

static bool jbool(const jnode *o, const char *key, bool dflt)
{
    const jnode *v = jget(o, key);
    return v && v->t == J_BOOL ? v->b : dflt;
}

static int apply_entities(wr_broker *b, const jnode *root, char *err, size_t errlen)
{
    const jnode *arr;
    wr_buf args;
    int rc = 0;
    wr_buf_init(&args);
    if ((arr = jget(root, "exchanges")) && arr->t == J_ARR) {
        for (size_t i = 0; i < arr->n && rc == 0; i++) {
            const jnode *e = arr->kids[i];
            const char *name = jstr(e, "name", NULL), *vh = jstr(e, "vhost", "/");
            const char *type = jstr(e, "type", "direct");
            wr_vhost *v = broker_vhost(b, vh, strlen(vh));
            enum exch_type et;
            wr_exchange *ex = NULL;
            if (!name || !v || vhost_exchange(v, wr_bytes_str(name))) continue;
            if (exch_type_parse(wr_bytes_str(type), &et) < 0) {
                snprintf(err, errlen, "definitions: exchange '%s': unknown type %s", name, type);
                rc = WR_ECONFIG;
                break;
            }
            if ((rc = jargs(&args, jget(e, "arguments"))) < 0) break;
            rc = vhost_exchange_declare(v, wr_bytes_str(name), et, jbool(e, "durable", true),
                                        jbool(e, "auto_delete", false), jbool(e, "internal", false),
                                        wr_bytes_of(args.data, args.len), &ex);
        }
    }
    if (rc == 0 && (arr = jget(root, "queues")) && arr->t == J_ARR) {
        for (size_t i = 0; i < arr->n && rc == 0; i++) {
            const jnode *q = arr->kids[i];
            const char *name = jstr(q, "name", NULL), *vh = jstr(q, "vhost", "/");
            wr_vhost *v = broker_vhost(b, vh, strlen(vh));
            wr_amqp_error e;
            wr_queue *nq = NULL;
            if (!name || !v || vhost_queue(v, wr_bytes_str(name))) continue;
            if ((rc = jargs(&args, jget(q, "arguments"))) < 0) break;
            rc = vhost_queue_declare(
                v, wr_bytes_str(name), jbool(q, "durable", true), jbool(q, "auto_delete", false),
                NULL, wr_bytes_of(args.data, args.len), &nq, AMQP091_QUEUE_DECLARE, &e);
            if (rc == WR_EAMQP) {
                snprintf(err, errlen, "definitions: queue '%s': %s", name, e.text);
                rc = WR_ECONFIG;
            }
        }
    }
    if (rc == 0 && (arr = jget(root, "bindings")) && arr->t == J_ARR) {
        for (size_t i = 0; i < arr->n && rc == 0; i++) {
            const jnode *bd = arr->kids[i];
            const char *src = jstr(bd, "source", NULL), *dst = jstr(bd, "destination", NULL);
            const char *dt = jstr(bd, "destination_type", "queue"), *vh = jstr(bd, "vhost", "/");
            const char *rk = jstr(bd, "routing_key", "");
            wr_vhost *v = broker_vhost(b, vh, strlen(vh));
            wr_exchange *sx;
            void *dest;
            bool to_q = strcmp(dt, "queue") == 0;
            if (!src || !dst || !v || !*src) continue; /* default-exchange bindings are implicit */
            sx = vhost_exchange(v, wr_bytes_str(src));
            dest = to_q ? (void *)vhost_queue(v, wr_bytes_str(dst))
                        : (void *)vhost_exchange(v, wr_bytes_str(dst));
            if (!sx || !dest) {
                wr_warn("definitions: binding %s -> %s in vhost '%s' refers to a missing entity",
                        src, dst, vh);
                continue;
            }
            if ((rc = jargs(&args, jget(bd, "arguments"))) < 0) break;
            rc = exch_bind(sx, to_q ? DEST_QUEUE : DEST_EXCHANGE, dest, wr_bytes_str(rk),
                           wr_bytes_of(args.data, args.len));
        }
    }
    wr_buf_free(&args);
    if (rc < 0 && !*err) snprintf(err, errlen, "definitions: %s", wr_strerror(rc));
    return rc;
}

/* ---- applying ---- */

static int apply(wr_broker *b, const jnode *root, char *err, size_t errlen)
{
    const jnode *arr;
    int rc;
    if (root->t != J_OBJ) {
        snprintf(err, errlen, "definitions: the top level is not an object");
        return WR_ECONFIG;
    }
    if ((arr = jget(root, "vhosts")) && arr->t == J_ARR) {
        for (size_t i = 0; i < arr->n; i++) {
            const char *name = jstr(arr->kids[i], "name", NULL);
            if (!name) continue;
            if ((rc = broker_add_vhost(b, name, NULL)) < 0) return rc;
        }
    }
    if ((arr = jget(root, "users")) && arr->t == J_ARR) {
        for (size_t i = 0; i < arr->n; i++) {
            const jnode *u = arr->kids[i];
            const char *name = jstr(u, "name", NULL);
            const char *hash = jstr(u, "password_hash", NULL);
            const char *algo = jstr(u, "hashing_algorithm", "rabbit_password_hashing_sha256");
            const char *tags = jstr(u, "tags", "");
            const jnode *tv = jget(u, "tags");
            char tagbuf[512] = "";
            wr_user *wu;
            if (!name) continue;
            if (tv && tv->t == J_ARR) { /* newer exports list tags as an array */
                size_t o = 0;
                for (size_t k = 0; k < tv->n && o < sizeof(tagbuf) - 2; k++)
                    if (tv->kids[k]->t == J_STR)
                        o += (size_t)snprintf(tagbuf + o, sizeof(tagbuf) - o, "%s%s", o ? "," : "",
                                              tv->kids[k]->str);
                tags = tagbuf;
            }
            if (strcmp(algo, "rabbit_password_hashing_sha256") != 0) {
                snprintf(err, errlen, "definitions: user '%s': unsupported hashing_algorithm %s",
                         name, algo);
                return WR_ECONFIG;
            }
            if (hash && *hash) {
                rc = user_add_hashed(b->users, name, hash, tags, &wu);
            } else {
                /* no password hash: a hash no password produces (all zero
                 * bytes), so password logins are refused */
                rc = user_add_hashed(b->users, name,
                                     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tags, &wu);
            }
            if (rc < 0) {
                snprintf(err, errlen, "definitions: user '%s': bad password_hash", name);
                return WR_ECONFIG;
            }
            user_set_loopback_only(wu, cfg_is_loopback_user(b->cfg, name));
        }
    }
    if ((arr = jget(root, "permissions")) && arr->t == J_ARR) {
        for (size_t i = 0; i < arr->n; i++) {
            const jnode *p = arr->kids[i];
            const char *un = jstr(p, "user", NULL), *vh = jstr(p, "vhost", NULL);
            wr_user *u;
            if (!un || !vh) continue;
            if (!(u = user_find(b->users, un, strlen(un)))) {
                wr_warn("definitions: permissions for unknown user '%s' ignored", un);
                continue;
            }
            if (!broker_vhost(b, vh, strlen(vh))) {
                wr_warn("definitions: permissions on unknown vhost '%s' ignored", vh);
                continue;
            }
            rc = user_set_permissions(u, vh, jstr(p, "configure", ""), jstr(p, "write", ""),
                                      jstr(p, "read", ""));
            if (rc < 0) {
                snprintf(err, errlen, "definitions: bad permission regex for user '%s'", un);
                return WR_ECONFIG;
            }
        }
    }
    return apply_entities(b, root, err, errlen);
}

int defs_load_string(wr_broker *b, const char *text, size_t len, char *err, size_t errlen)
{
    jparser j = {text, text + len, text, 0};
    jnode *root;
    int rc;
    if (err && errlen) err[0] = '\0';
    root = jvalue(&j);
    if (root) jws(&j);
    if (!root || j.p != j.end) {
        snprintf(err, errlen, "definitions: JSON syntax error near byte %ld",
                 (long)(j.p - j.start));
        jfree(root);
        return WR_EMALFORMED;
    }
    rc = apply(b, root, err, errlen);
    jfree(root);
    return rc;
}

int defs_load_file(wr_broker *b, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    int rc;
    if (!f) {
        snprintf(err, errlen, "cannot read definitions file %s", path);
        return WR_EIO;
    }
    if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || (unsigned long)n > DEFS_MAX_FILE ||
        fseek(f, 0, SEEK_SET) < 0) {
        fclose(f);
        snprintf(err, errlen, "cannot read definitions file %s (too large?)", path);
        return WR_EIO;
    }
    if (!(buf = malloc((size_t)n + 1))) {
        fclose(f);
        return WR_ENOMEM;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "cannot read definitions file %s", path);
        return WR_EIO;
    }
    fclose(f);
    rc = defs_load_string(b, buf, (size_t)n, err, errlen);
    free(buf);
    if (rc == 0) wr_info("imported definitions from %s", path);
    return rc;
}
