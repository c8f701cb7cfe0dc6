/* wire: AMQP 0-9-1 primitive types on the wire (network byte order).
 *
 * Readers take a wire_rd cursor over borrowed bytes; every reader checks the
 * remaining length before it touches a byte and leaves the cursor unchanged on
 * failure. Writers append to a wr_buf. The wire_store_* / wire_load_* inlines
 * are unchecked and meant for code that has already reserved or checked room.
 */
#ifndef WR_PROTO_WIRE_H
#define WR_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/util/wr_buf.h"
#include "broker/util/wr_err.h"

/* A borrowed slice of bytes (not NUL-terminated). */
typedef struct wr_bytes {
    const uint8_t *ptr;
    uint32_t len;
} wr_bytes;

/* A read cursor: p[off..len) is what remains. */
typedef struct wire_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
} wire_rd;

/* Largest nesting of tables/arrays inside a field table that readers accept. */
#define WIRE_TABLE_MAX_DEPTH 100

static inline wr_bytes wr_bytes_of(const void *p, size_t n)
{
    wr_bytes b = {(const uint8_t *)p, (uint32_t)n};
    return b;
}

static inline wr_bytes wr_bytes_str(const char *s)
{
    return wr_bytes_of(s, strlen(s));
}

static inline bool wr_bytes_eq(wr_bytes a, wr_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool wr_bytes_eq_str(wr_bytes a, const char *s)
{
    return wr_bytes_eq(a, wr_bytes_str(s));
}

static inline void wire_rd_init(wire_rd *r, const void *p, size_t len)
{
    r->p = (const uint8_t *)p;
    r->len = len;
    r->off = 0;
}

static inline size_t wire_remaining(const wire_rd *r)
{
    return r->len - r->off;
}

/* Unchecked big-endian loads and stores. */
static inline uint16_t wire_load_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t wire_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t wire_load_u64(const uint8_t *p)
{
    return (uint64_t)wire_load_u32(p) << 32 | wire_load_u32(p + 4);
}

static inline void wire_store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wire_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void wire_store_u64(uint8_t *p, uint64_t v)
{
    wire_store_u32(p, (uint32_t)(v >> 32));
    wire_store_u32(p + 4, (uint32_t)v);
}

/* Readers. Each returns 0, or WR_EMALFORMED when not enough bytes remain
 * (the cursor is then unchanged and *v zero or empty). Slices borrow from the
 * reader's buffer. They are inline: the method decoders call them on every
 * frame. */
static inline int wire_get_u8(wire_rd *r, uint8_t *v)
{
    if (r->len - r->off < 1) return *v = 0, WR_EMALFORMED;
    *v = r->p[r->off++];
    return 0;
}

static inline int wire_get_u16(wire_rd *r, uint16_t *v)
{
    if (r->len - r->off < 2) return *v = 0, WR_EMALFORMED;
    *v = wire_load_u16(r->p + r->off);
    r->off += 2;
    return 0;
}

static inline int wire_get_u32(wire_rd *r, uint32_t *v)
{
    if (r->len - r->off < 4) return *v = 0, WR_EMALFORMED;
    *v = wire_load_u32(r->p + r->off);
    r->off += 4;
    return 0;
}

static inline int wire_get_u64(wire_rd *r, uint64_t *v)
{
    if (r->len - r->off < 8) return *v = 0, WR_EMALFORMED;
    *v = wire_load_u64(r->p + r->off);
    r->off += 8;
    return 0;
}

/* n raw bytes as a slice (n < 2^32). */
static inline int wire_get_bytes(wire_rd *r, size_t n, wr_bytes *v)
{
    v->ptr = NULL;
    v->len = 0;
    if (r->len - r->off < n || n > UINT32_MAX) return WR_EMALFORMED;
    v->ptr = r->p + r->off;
    v->len = (uint32_t)n;
    r->off += n;
    return 0;
}

/* 1-byte length + bytes. */
static inline int wire_get_shortstr(wire_rd *r, wr_bytes *v)
{
    size_t n;
    v->ptr = NULL;
    v->len = 0;
    if (r->len - r->off < 1) return WR_EMALFORMED;
    n = r->p[r->off];
    if (r->len - r->off - 1 < n) return WR_EMALFORMED;
    v->ptr = r->p + r->off + 1;
    v->len = (uint32_t)n;
    r->off += 1 + n;
    return 0;
}

/* 4-byte length + bytes. */
static inline int wire_get_longstr(wire_rd *r, wr_bytes *v)
{
    size_t n;
    v->ptr = NULL;
    v->len = 0;
    if (r->len - r->off < 4) return WR_EMALFORMED;
    n = wire_load_u32(r->p + r->off);
    if (r->len - r->off - 4 < n) return WR_EMALFORMED;
    v->ptr = r->p + r->off + 4;
    v->len = (uint32_t)n;
    r->off += 4 + n;
    return 0;
}

/* 4-byte length + field table; validates the whole table (type letters,
 * lengths, nesting depth); v = content without the 4-byte size. */
int wire_get_table(wire_rd *r, wr_bytes *v);

/* True when p[0..n) is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
bool wire_utf8_valid(const uint8_t *p, size_t n);

/* Writers: append to b. Return 0 or WR_ENOMEM; the shortstr writer returns
 * WR_EINVAL when n > 255, the longstr/table writers when n > UINT32_MAX. */
int wire_put_u8(wr_buf *b, uint8_t v);
int wire_put_u16(wr_buf *b, uint16_t v);
int wire_put_u32(wr_buf *b, uint32_t v);
int wire_put_u64(wr_buf *b, uint64_t v);
int wire_put_shortstr(wr_buf *b, const void *s, size_t n);
int wire_put_longstr(wr_buf *b, const void *s, size_t n);
/* Writes the 4-byte size and the table content verbatim (not validated). */
int wire_put_table(wr_buf *b, wr_bytes content);

#endif
