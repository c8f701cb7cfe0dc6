/* perf_wire: the few AMQP 0-9-1 encodings warren-perf needs, written straight
 * into a wr_buf. Kept apart from warren's codec on purpose: the load tool must
 * judge any broker, including a warren whose codec is broken. */
#ifndef PERF_WIRE_H
#define PERF_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "broker/util/wr_buf.h"

#define PW_FRAME_METHOD 1
#define PW_FRAME_HEADER 2
#define PW_FRAME_BODY   3
#define PW_FRAME_HB     8
#define PW_FRAME_END    0xCE

/* Appending: callers reserve enough room first (pw_begin reserves 4 KiB). */
static inline void pw_u8(wr_buf *b, uint8_t v)
{
    b->data[b->len++] = v;
}
static inline void pw_u16(wr_buf *b, uint16_t v)
{
    b->data[b->len++] = (uint8_t)(v >> 8);
    b->data[b->len++] = (uint8_t)v;
}
static inline void pw_u32(wr_buf *b, uint32_t v)
{
    for (int i = 3; i >= 0; i--) b->data[b->len++] = (uint8_t)(v >> (8 * i));
}
static inline void pw_u64(wr_buf *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--) b->data[b->len++] = (uint8_t)(v >> (8 * i));
}
static inline void pw_sstr(wr_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 255) n = 255;
    pw_u8(b, (uint8_t)n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}
static inline void pw_lstr(wr_buf *b, const void *s, uint32_t n)
{
    pw_u32(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

/* Starts a frame of `type` on `channel`; returns the offset to pass to pw_end. */
static inline size_t pw_begin(wr_buf *b, uint8_t type, uint16_t channel)
{
    size_t at;
    if (wr_buf_reserve(b, 4096)) return (size_t)-1;
    at = b->len;
    pw_u8(b, type);
    pw_u16(b, channel);
    pw_u32(b, 0);
    return at;
}

/* Starts a method frame with its class and method ids. */
static inline size_t pw_method(wr_buf *b, uint16_t channel, uint16_t cls, uint16_t meth)
{
    size_t at = pw_begin(b, PW_FRAME_METHOD, channel);
    pw_u16(b, cls);
    pw_u16(b, meth);
    return at;
}

/* Closes the frame begun at `at`: patches its size and appends frame-end. */
static inline void pw_end(wr_buf *b, size_t at)
{
    uint32_t size = (uint32_t)(b->len - at - 7);
    b->data[at + 3] = (uint8_t)(size >> 24);
    b->data[at + 4] = (uint8_t)(size >> 16);
    b->data[at + 5] = (uint8_t)(size >> 8);
    b->data[at + 6] = (uint8_t)size;
    b->data[b->len++] = PW_FRAME_END;
}

/* Bounds-checked reading of a received frame payload. */
typedef struct pw_rd {
    const uint8_t *p;
    size_t len, off;
    int bad;
} pw_rd;

static inline uint8_t pr_u8(pw_rd *r)
{
    if (r->off + 1 > r->len) {
        r->bad = 1;
        return 0;
    }
    return r->p[r->off++];
}
static inline uint16_t pr_u16(pw_rd *r)
{
    uint16_t v;
    if (r->off + 2 > r->len) {
        r->bad = 1;
        return 0;
    }
    v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return v;
}
static inline uint32_t pr_u32(pw_rd *r)
{
    uint32_t v = (uint32_t)pr_u16(r) << 16;
    return v | pr_u16(r);
}
static inline uint64_t pr_u64(pw_rd *r)
{
    uint64_t v = (uint64_t)pr_u32(r) << 32;
    return v | pr_u32(r);
}
/* Copies a shortstr into out (NUL-terminated, truncated to cap-1). */
static inline void pr_sstr(pw_rd *r, char *out, size_t cap)
{
    uint8_t n = pr_u8(r);
    size_t k;
    if (r->off + n > r->len) {
        r->bad = 1;
        if (cap) out[0] = 0;
        return;
    }
    k = n < cap ? n : cap - 1;
    if (out && cap) {
        memcpy(out, r->p + r->off, k);
        out[k] = 0;
    }
    r->off += n;
}

#endif
