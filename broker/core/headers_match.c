/* headers_match: RabbitMQ's headers exchange matching and x-match validation. */
#include "broker/core/headers_match.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker/proto/ftable.h"
#include "broker/util/wr_err.h"

/* Erlang ~p of a binary: <<"text">> when printable, else <<1,2,3>>. */
static void fmt_binary(char *out, size_t n, wr_bytes b)
{
    size_t o = 0;
    bool printable = true;
    for (uint32_t i = 0; i < b.len; i++)
        if (b.ptr[i] < 0x20 || b.ptr[i] > 0x7e) printable = false;
    o += (size_t)snprintf(out + o, n - o, printable ? "<<\"" : "<<");
    for (uint32_t i = 0; i < b.len && o + 8 < n; i++) {
        if (printable) {
            if (b.ptr[i] == '"' || b.ptr[i] == '\\') out[o++] = '\\';
            out[o++] = (char)b.ptr[i];
        } else {
            o += (size_t)snprintf(out + o, n - o, i ? ",%u" : "%u", b.ptr[i]);
        }
    }
    if (o < n) snprintf(out + o, n - o, printable ? "\">>" : ">>");
}

static bool bytes_is(wr_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && memcmp(b.ptr, s, n) == 0;
}

int hmatch_parse_mode(wr_bytes args, enum hmatch_mode *mode, char *err, size_t errlen)
{
    ftable_value v;
    *mode = HMATCH_ALL;
    if (args.len == 0 || ftable_get(args, "x-match", &v) != 0) return 0;
    if (v.type == 'S') {
        if (bytes_is(v.v.str, "all")) return 0;
        if (bytes_is(v.v.str, "any")) return (*mode = HMATCH_ANY), 0;
        if (bytes_is(v.v.str, "all-with-x")) return (*mode = HMATCH_ALL_WITH_X), 0;
        if (bytes_is(v.v.str, "any-with-x")) return (*mode = HMATCH_ANY_WITH_X), 0;
        char val[200];
        fmt_binary(val, sizeof(val), v.v.str);
        if (err) snprintf(err, errlen, "Invalid x-match field value %s; expected all or any", val);
        return WR_EINVAL;
    }
    char val[200];
    int64_t i;
    if (ftable_as_int(&v, &i))
        snprintf(val, sizeof(val), "%" PRId64, i);
    else if (v.type == 't')
        snprintf(val, sizeof(val), "%s", v.v.b ? "true" : "false");
    else if (v.type == 'x')
        fmt_binary(val, sizeof(val), v.v.str);
    else if (v.type == 'd' || v.type == 'f')
        snprintf(val, sizeof(val), "%g", v.type == 'd' ? v.v.d : (double)v.v.f);
    else if (v.type == 'V')
        snprintf(val, sizeof(val), "undefined");
    else
        snprintf(val, sizeof(val), "[]");
    if (err)
        snprintf(err, errlen, "Invalid x-match field type %s (value %s); expected longstr",
                 ftable_type_name(v.type), val);
    return WR_EINVAL;
}

/* Value classes under Erlang's == on the terms RabbitMQ decodes values into
 * (rabbit_binary_parser): every integer width and timestamps are integers,
 * float and double are floats (and compare equal to integers of the same
 * value), longstr and byte array are both binaries, bool an atom, void the
 * atom undefined, decimal a tuple, table and array lists of typed tuples. */
enum vclass { VC_NUM, VC_BIN, VC_BOOL, VC_VOID, VC_DEC, VC_LIST, VC_OTHER };

static enum vclass value_class(uint8_t t)
{
    switch (t) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
    case 'T':
    case 'f':
    case 'd':
        return VC_NUM;
    case 'S':
    case 'x':
        return VC_BIN;
    case 't':
        return VC_BOOL;
    case 'V':
        return VC_VOID;
    case 'D':
        return VC_DEC;
    case 'F':
    case 'A':
        return VC_LIST;
    }
    return VC_OTHER;
}

static bool is_float(uint8_t t)
{
    return t == 'f' || t == 'd';
}

static double as_double(const ftable_value *v)
{
    if (v->type == 'f') return (double)v->v.f;
    if (v->type == 'd') return v->v.d;
    if (v->type == 'T') return (double)v->v.u;
    return (double)v->v.i;
}

static bool num_eq(const ftable_value *a, const ftable_value *b)
{
    if (is_float(a->type) || is_float(b->type)) return as_double(a) == as_double(b);
    if (a->type == 'T' && b->type == 'T') return a->v.u == b->v.u;
    if (a->type == 'T') return b->v.i >= 0 && (uint64_t)b->v.i == a->v.u;
    if (b->type == 'T') return a->v.i >= 0 && (uint64_t)a->v.i == b->v.u;
    return a->v.i == b->v.i;
}

/* Erlang PV == DV (RabbitMQ 3.8 compares values only, not type letters). */
static bool value_eq(const ftable_value *p, const ftable_value *d)
{
    enum vclass c = value_class(p->type);
    if (c != value_class(d->type)) return false;
    switch (c) {
    case VC_NUM:
        return num_eq(p, d);
    case VC_BIN:
        return p->v.str.len == d->v.str.len &&
               (p->v.str.len == 0 || memcmp(p->v.str.ptr, d->v.str.ptr, p->v.str.len) == 0);
    case VC_BOOL:
        return p->v.b == d->v.b;
    case VC_VOID:
        return true;
    case VC_DEC:
        return p->v.dec.scale == d->v.dec.scale && p->v.dec.value == d->v.dec.value;
    case VC_LIST:
        /* lists of {Key, Type, Value} / {Type, Value}: same type letters and
         * values in the same order, i.e. the same bytes */
        return p->type == d->type && p->v.table.len == d->v.table.len &&
               (p->v.table.len == 0 || memcmp(p->v.table.ptr, d->v.table.ptr, p->v.table.len) == 0);
    case VC_OTHER:
        return false;
    }
    return false;
}

bool hmatch_match(wr_bytes args, enum hmatch_mode mode, wr_bytes headers)
{
    bool any_mode = mode == HMATCH_ANY || mode == HMATCH_ANY_WITH_X;
    bool skip_x = mode == HMATCH_ALL || mode == HMATCH_ANY;
    ftable_iter it;
    wr_bytes key;
    ftable_value pv, dv;
    int rc;
    ftable_iter_init(&it, args);
    while ((rc = ftable_next(&it, &key, &pv)) == 1) {
        if (bytes_is(key, "x-match")) continue;
        if (skip_x && key.len >= 2 && key.ptr[0] == 'x' && key.ptr[1] == '-') continue;
        bool ok = headers.len && ftable_getn(headers, key.ptr, key.len, &dv) == 0 &&
                  (pv.type == 'V' || value_eq(&pv, &dv));
        if (any_mode && ok) return true;
        if (!any_mode && !ok) return false;
    }
    if (rc < 0) return false;
    return !any_mode;
}
