#include "broker/proto/ftable.h"

#include <stdlib.h>
#include <string.h>

/* Reads one value (type letter already consumed) into *val, bounds-checked but
 * not descending into nested tables/arrays. */
static int read_body(wire_rd *r, uint8_t type, ftable_value *val)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    val->type = type;
    switch (type) {
    case 't':
        if (wire_get_u8(r, &u8)) return WR_EMALFORMED;
        val->v.b = u8 != 0;
        return 0;
    case 'b':
        if (wire_get_u8(r, &u8)) return WR_EMALFORMED;
        val->v.i = (int8_t)u8;
        return 0;
    case 'B':
        if (wire_get_u8(r, &u8)) return WR_EMALFORMED;
        val->v.i = u8;
        return 0;
    case 's':
        if (wire_get_u16(r, &u16)) return WR_EMALFORMED;
        val->v.i = (int16_t)u16;
        return 0;
    case 'u':
        if (wire_get_u16(r, &u16)) return WR_EMALFORMED;
        val->v.i = u16;
        return 0;
    case 'I':
        if (wire_get_u32(r, &u32)) return WR_EMALFORMED;
        val->v.i = (int32_t)u32;
        return 0;
    case 'i':
        if (wire_get_u32(r, &u32)) return WR_EMALFORMED;
        val->v.i = u32;
        return 0;
    case 'l':
    case 'L': /* RabbitMQ reads 'L' as signed 64 too (errata), as 'l' */
        if (wire_get_u64(r, &u64)) return WR_EMALFORMED;
        val->type = 'l';
        val->v.i = (int64_t)u64;
        return 0;
    case 'T':
        if (wire_get_u64(r, &u64)) return WR_EMALFORMED;
        val->v.u = u64;
        return 0;
    case 'f':
        if (wire_get_u32(r, &u32)) return WR_EMALFORMED;
        memcpy(&val->v.f, &u32, sizeof(u32));
        return 0;
    case 'd':
        if (wire_get_u64(r, &u64)) return WR_EMALFORMED;
        memcpy(&val->v.d, &u64, sizeof(u64));
        return 0;
    case 'D':
        if (wire_get_u8(r, &u8) || wire_get_u32(r, &u32)) return WR_EMALFORMED;
        val->v.dec.scale = u8;
        val->v.dec.value = u32;
        return 0;
    case 'S':
    case 'x':
        return wire_get_longstr(r, &val->v.str) ? WR_EMALFORMED : 0;
    case 'F':
        return wire_get_longstr(r, &val->v.table) ? WR_EMALFORMED : 0;
    case 'A':
        return wire_get_longstr(r, &val->v.array) ? WR_EMALFORMED : 0;
    case 'V':
        val->v.u = 0;
        return 0;
    default:
        return WR_EMALFORMED;
    }
}

static int read_value(wire_rd *r, ftable_value *val)
{
    wire_rd save = *r;
    uint8_t type;

    if (wire_get_u8(r, &type) || read_body(r, type, val)) {
        *r = save;
        return WR_EMALFORMED;
    }
    return 0;
}

static int validate(const uint8_t *p, size_t len, bool keyed, int depth);

static int validate_nested(const ftable_value *v, int depth)
{
    if (v->type == 'F') return validate(v->v.table.ptr, v->v.table.len, true, depth + 1);
    if (v->type == 'A') return validate(v->v.array.ptr, v->v.array.len, false, depth + 1);
    return 0;
}

static int validate(const uint8_t *p, size_t len, bool keyed, int depth)
{
    wire_rd r;
    wr_bytes key;
    ftable_value v;

    if (depth > WIRE_TABLE_MAX_DEPTH) return WR_EMALFORMED;
    wire_rd_init(&r, p, len);
    while (wire_remaining(&r)) {
        if (keyed && wire_get_shortstr(&r, &key)) return WR_EMALFORMED;
        if (read_value(&r, &v)) return WR_EMALFORMED;
        if (validate_nested(&v, depth)) return WR_EMALFORMED;
    }
    return 0;
}

int ftable_validate(const uint8_t *p, size_t len)
{
    return validate(p, len, true, 1);
}

int ftable_validate_array(const uint8_t *p, size_t len)
{
    return validate(p, len, false, 1);
}

void ftable_iter_init(ftable_iter *it, wr_bytes table)
{
    wire_rd_init(&it->rd, table.ptr, table.len);
}

int ftable_next(ftable_iter *it, wr_bytes *key, ftable_value *val)
{
    wire_rd save = it->rd;

    if (!wire_remaining(&it->rd)) return 0;
    if (wire_get_shortstr(&it->rd, key) || read_value(&it->rd, val)) {
        it->rd = save;
        return WR_EMALFORMED;
    }
    return 1;
}

int ftable_array_next(ftable_iter *it, ftable_value *val)
{
    if (!wire_remaining(&it->rd)) return 0;
    return read_value(&it->rd, val) ? WR_EMALFORMED : 1;
}

int ftable_getn(wr_bytes table, const void *key, size_t klen, ftable_value *val)
{
    ftable_iter it;
    wr_bytes k;
    ftable_value v;
    int rc;

    ftable_iter_init(&it, table);
    while ((rc = ftable_next(&it, &k, &v)) == 1) {
        if (k.len == klen && (klen == 0 || memcmp(k.ptr, key, klen) == 0)) {
            if (val) *val = v;
            return 0;
        }
    }
    return rc < 0 ? rc : WR_ENOTFOUND;
}

int ftable_get(wr_bytes table, const char *key, ftable_value *val)
{
    return ftable_getn(table, key, strlen(key), val);
}

bool ftable_as_int(const ftable_value *v, int64_t *out)
{
    switch (v->type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
        *out = v->v.i;
        return true;
    default:
        return false;
    }
}

int ftable_count(wr_bytes table)
{
    ftable_iter it;
    wr_bytes k;
    ftable_value v;
    int n = 0, rc;

    ftable_iter_init(&it, table);
    while ((rc = ftable_next(&it, &k, &v)) == 1) n++;
    return rc < 0 ? rc : n;
}

static bool array_equal(wr_bytes a, wr_bytes b)
{
    ftable_iter ia, ib;
    ftable_value va, vb;
    int ra, rb;

    ftable_iter_init(&ia, a);
    ftable_iter_init(&ib, b);
    for (;;) {
        ra = ftable_array_next(&ia, &va);
        rb = ftable_array_next(&ib, &vb);
        if (ra < 0 || rb < 0 || ra != rb) return false;
        if (ra == 0) return true;
        if (!ftable_value_equal(&va, &vb)) return false;
    }
}

bool ftable_value_equal(const ftable_value *a, const ftable_value *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case 't':
        return a->v.b == b->v.b;
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
        return a->v.i == b->v.i;
    case 'T':
        return a->v.u == b->v.u;
    case 'f':
        return memcmp(&a->v.f, &b->v.f, sizeof(float)) == 0;
    case 'd':
        return memcmp(&a->v.d, &b->v.d, sizeof(double)) == 0;
    case 'D':
        return a->v.dec.scale == b->v.dec.scale && a->v.dec.value == b->v.dec.value;
    case 'S':
    case 'x':
        return wr_bytes_eq(a->v.str, b->v.str);
    case 'F':
        return ftable_equal(a->v.table, b->v.table);
    case 'A':
        return array_equal(a->v.array, b->v.array);
    case 'V':
        return true;
    default:
        return false;
    }
}

typedef struct entry {
    wr_bytes key;
    ftable_value val;
    int pos;
} entry;

static int entry_cmp(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    uint32_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = n ? memcmp(a->key.ptr, b->key.ptr, n) : 0;

    if (c) return c;
    if (a->key.len != b->key.len) return a->key.len < b->key.len ? -1 : 1;
    return a->pos - b->pos;
}

/* Reads the n entries of t into e[] sorted by key (wire order among equal keys). */
static int collect(wr_bytes t, entry *e, int n)
{
    ftable_iter it;
    int i = 0;

    ftable_iter_init(&it, t);
    while (i < n && ftable_next(&it, &e[i].key, &e[i].val) == 1) {
        e[i].pos = i;
        i++;
    }
    if (i != n) return WR_EMALFORMED;
    qsort(e, (size_t)n, sizeof(*e), entry_cmp);
    return 0;
}

/* Small tables (declare arguments are a handful of keys) sort on the stack;
 * big ones on the heap. Sorting keeps a hostile table from making this
 * quadratic. */
#define FTABLE_EQUAL_SMALL 16

bool ftable_equal(wr_bytes a, wr_bytes b)
{
    entry sa[FTABLE_EQUAL_SMALL], sb[FTABLE_EQUAL_SMALL];
    entry *ea = sa, *eb = sb;
    int na, nb, i;
    bool eq = false;

    if (wr_bytes_eq(a, b)) return ftable_validate(a.ptr, a.len) == 0;
    na = ftable_count(a);
    nb = ftable_count(b);
    if (na < 0 || nb < 0 || na != nb) return false;
    if (na > FTABLE_EQUAL_SMALL) {
        ea = malloc(sizeof(*ea) * (size_t)na);
        eb = malloc(sizeof(*eb) * (size_t)nb);
        if (!ea || !eb) goto cleanup;
    }
    if (collect(a, ea, na) || collect(b, eb, nb)) goto cleanup;
    for (i = 0; i < na; i++) {
        if (!wr_bytes_eq(ea[i].key, eb[i].key) || !ftable_value_equal(&ea[i].val, &eb[i].val))
            goto cleanup;
    }
    eq = true;
cleanup:
    if (ea != sa) free(ea);
    if (eb != sb) free(eb);
    return eq;
}

/* ---- builders ---- */

/* Reserves room for key + type + extra payload bytes and writes key + type;
 * returns where the payload goes, or NULL (rc set). */
static uint8_t *put_head(wr_buf *b, const void *key, size_t klen, uint8_t type, size_t extra,
                         int *rc)
{
    uint8_t *p;

    if (klen > 255) {
        *rc = WR_EINVAL;
        return NULL;
    }
    if (extra > SIZE_MAX - 2 - klen || wr_buf_reserve(b, 2 + klen + extra)) {
        *rc = WR_ENOMEM;
        return NULL;
    }
    p = b->data + b->len;
    *p++ = (uint8_t)klen;
    if (klen) memcpy(p, key, klen);
    p += klen;
    *p++ = type;
    b->len += 2 + klen + extra;
    *rc = 0;
    return p;
}

static int put_fixed(wr_buf *b, const char *key, uint8_t type, uint64_t v, size_t n)
{
    int rc;
    uint8_t *p = put_head(b, key, strlen(key), type, n, &rc);

    if (!p) return rc;
    switch (n) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2:
        wire_store_u16(p, (uint16_t)v);
        break;
    case 4:
        wire_store_u32(p, (uint32_t)v);
        break;
    case 8:
        wire_store_u64(p, v);
        break;
    default:
        break;
    }
    return 0;
}

static int put_long(wr_buf *b, const void *key, size_t klen, uint8_t type, const void *s, size_t n)
{
    int rc;
    uint8_t *p;

    if (n > UINT32_MAX) return WR_EINVAL;
    p = put_head(b, key, klen, type, 4 + n, &rc);
    if (!p) return rc;
    wire_store_u32(p, (uint32_t)n);
    if (n) memcpy(p + 4, s, n);
    return 0;
}

int ftable_put_bool(wr_buf *b, const char *key, bool v)
{
    return put_fixed(b, key, 't', v ? 1 : 0, 1);
}

int ftable_put_i8(wr_buf *b, const char *key, int8_t v)
{
    return put_fixed(b, key, 'b', (uint8_t)v, 1);
}

int ftable_put_u8(wr_buf *b, const char *key, uint8_t v)
{
    return put_fixed(b, key, 'B', v, 1);
}

int ftable_put_i16(wr_buf *b, const char *key, int16_t v)
{
    return put_fixed(b, key, 's', (uint16_t)v, 2);
}

int ftable_put_u16(wr_buf *b, const char *key, uint16_t v)
{
    return put_fixed(b, key, 'u', v, 2);
}

int ftable_put_i32(wr_buf *b, const char *key, int32_t v)
{
    return put_fixed(b, key, 'I', (uint32_t)v, 4);
}

int ftable_put_u32(wr_buf *b, const char *key, uint32_t v)
{
    return put_fixed(b, key, 'i', v, 4);
}

int ftable_put_i64(wr_buf *b, const char *key, int64_t v)
{
    return put_fixed(b, key, 'l', (uint64_t)v, 8);
}

int ftable_put_float(wr_buf *b, const char *key, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof(u));
    return put_fixed(b, key, 'f', u, 4);
}

int ftable_put_double(wr_buf *b, const char *key, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return put_fixed(b, key, 'd', u, 8);
}

int ftable_put_decimal(wr_buf *b, const char *key, uint8_t scale, uint32_t v)
{
    int rc;
    uint8_t *p = put_head(b, key, strlen(key), 'D', 5, &rc);

    if (!p) return rc;
    p[0] = scale;
    wire_store_u32(p + 1, v);
    return 0;
}

int ftable_put_timestamp(wr_buf *b, const char *key, uint64_t v)
{
    return put_fixed(b, key, 'T', v, 8);
}

int ftable_put_void(wr_buf *b, const char *key)
{
    return put_fixed(b, key, 'V', 0, 0);
}

int ftable_put_longstr(wr_buf *b, const char *key, const void *s, size_t n)
{
    return put_long(b, key, strlen(key), 'S', s, n);
}

int ftable_put_cstr(wr_buf *b, const char *key, const char *s)
{
    return put_long(b, key, strlen(key), 'S', s, strlen(s));
}

int ftable_put_bytes(wr_buf *b, const char *key, const void *s, size_t n)
{
    return put_long(b, key, strlen(key), 'x', s, n);
}

int ftable_put_table(wr_buf *b, const char *key, wr_bytes content)
{
    return put_long(b, key, strlen(key), 'F', content.ptr, content.len);
}

int ftable_put_array(wr_buf *b, const char *key, wr_bytes content)
{
    return put_long(b, key, strlen(key), 'A', content.ptr, content.len);
}

/* Appends type letter + payload of val. */
static int put_value_body(wr_buf *b, const ftable_value *val)
{
    uint8_t tmp[9];
    size_t n = 0;
    uint32_t u32;
    uint64_t u64;
    wr_bytes s;

    tmp[n++] = val->type;
    switch (val->type) {
    case 't':
        tmp[n++] = val->v.b ? 1 : 0;
        break;
    case 'b':
    case 'B':
        tmp[n++] = (uint8_t)val->v.i;
        break;
    case 's':
    case 'u':
        wire_store_u16(tmp + n, (uint16_t)val->v.i);
        n += 2;
        break;
    case 'I':
    case 'i':
        wire_store_u32(tmp + n, (uint32_t)val->v.i);
        n += 4;
        break;
    case 'l':
        wire_store_u64(tmp + n, (uint64_t)val->v.i);
        n += 8;
        break;
    case 'T':
        wire_store_u64(tmp + n, val->v.u);
        n += 8;
        break;
    case 'f':
        memcpy(&u32, &val->v.f, 4);
        wire_store_u32(tmp + n, u32);
        n += 4;
        break;
    case 'd':
        memcpy(&u64, &val->v.d, 8);
        wire_store_u64(tmp + n, u64);
        n += 8;
        break;
    case 'D':
        tmp[n++] = val->v.dec.scale;
        wire_store_u32(tmp + n, val->v.dec.value);
        n += 4;
        break;
    case 'V':
        break;
    case 'S':
    case 'x':
    case 'F':
    case 'A':
        s = val->type == 'F' ? val->v.table : val->type == 'A' ? val->v.array : val->v.str;
        if (wr_buf_reserve(b, 5 + (size_t)s.len)) return WR_ENOMEM;
        b->data[b->len] = val->type;
        wire_store_u32(b->data + b->len + 1, s.len);
        if (s.len) memcpy(b->data + b->len + 5, s.ptr, s.len);
        b->len += 5 + (size_t)s.len;
        return 0;
    default:
        return WR_EINVAL;
    }
    return wr_buf_append(b, tmp, n);
}

int ftable_put_value(wr_buf *b, const void *key, size_t klen, const ftable_value *val)
{
    size_t start = b->len;
    int rc;

    if (klen > 255) return WR_EINVAL;
    if ((rc = wr_buf_reserve(b, 1 + klen))) return rc;
    b->data[b->len++] = (uint8_t)klen;
    if (klen) memcpy(b->data + b->len, key, klen);
    b->len += klen;
    if ((rc = put_value_body(b, val))) b->len = start;
    return rc;
}

int ftable_array_put_value(wr_buf *b, const ftable_value *val)
{
    return put_value_body(b, val);
}

const char *ftable_type_name(uint8_t type)
{
    switch (type) {
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
    case 'I':
        return "signedint";
    case 'i':
        return "unsignedint";
    case 'l':
        return "long";
    case 'f':
        return "float";
    case 'd':
        return "double";
    case 'D':
        return "decimal";
    case 'S':
        return "longstr";
    case 'x':
        return "binary";
    case 'A':
        return "array";
    case 'T':
        return "timestamp";
    case 'F':
        return "table";
    case 'V':
        return "void";
    default:
        return "unknown";
    }
}
