/* headers_match: RabbitMQ's headers exchange matching and x-match validation. */
#include "broker/core/headers_match.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker/proto/ftable.h"
#include "broker/util/wr_err.h"

/* Erlang atom RabbitMQ uses for a field type (rabbit_binary_parser). */
static const char *type_atom(uint8_t t)
{
    switch (t) {
    case 'S':
        return "longstr";
    case 'I':
        return "signedint";
    case 'i':
        return "unsignedint";
    case 'l':
        return "long";
    case 't':
        return "bool";
    case 'b':
        return "byte";
    case 'B':
        return "unsignedbyte";
    case 's':
        return "short";
    case 'u':
        return "unsignedshort";
    case 'f':
        return "float";
    case 'd':
        return "double";
    case 'D':
        return "decimal";
    case 'T':
        return "timestamp";
    case 'F':
        return "table";
    case 'A':
        return "array";
    case 'x':
        return "binary";
    case 'V':
        return "void";
    }
    return "unknown";
}

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
                 type_atom(v.type), val);
    return WR_EINVAL;
}

/* rabbit_misc:type_class: all integer widths are one class, float/double one. */
static uint8_t type_class(uint8_t t)
{
    switch (t) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
        return 'l';
    case 'f':
    case 'd':
        return 'd';
    }
    return t;
}

static bool value_eq(const ftable_value *p, const ftable_value *d)
{
    uint8_t c = type_class(p->type);
    if (c != type_class(d->type)) return false;
    switch (c) {
    case 'l':
        return p->v.i == d->v.i;
    case 'd': {
        double a = p->type == 'f' ? (double)p->v.f : p->v.d;
        double b = d->type == 'f' ? (double)d->v.f : d->v.d;
        return a == b;
    }
    case 't':
        return p->v.b == d->v.b;
    case 'T':
        return p->v.u == d->v.u;
    case 'D':
        return p->v.dec.scale == d->v.dec.scale && p->v.dec.value == d->v.dec.value;
    case 'S':
    case 'x':
        return p->v.str.len == d->v.str.len &&
               memcmp(p->v.str.ptr, d->v.str.ptr, p->v.str.len) == 0;
    case 'F':
    case 'A':
        /* Erlang term equality of the decoded lists: same entries in the same
         * order with the same types, i.e. the same bytes. */
        return p->v.table.len == d->v.table.len &&
               memcmp(p->v.table.ptr, d->v.table.ptr, p->v.table.len) == 0;
    case 'V':
        return true;
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
