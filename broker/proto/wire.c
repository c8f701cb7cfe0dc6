#include "broker/proto/wire.h"

#include "broker/proto/ftable.h"

int wire_get_table(wire_rd *r, wr_bytes *v)
{
    wire_rd save = *r;
    wr_bytes t;

    v->ptr = NULL;
    v->len = 0;
    if (wire_get_longstr(r, &t)) return WR_EMALFORMED;
    if (ftable_validate(t.ptr, t.len)) {
        *r = save;
        return WR_EMALFORMED;
    }
    *v = t;
    return 0;
}

bool wire_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (n - i < 2 || (p[i + 1] & 0xC0) != 0x80) return false;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (n - i < 3 || p[i + 1] < lo || p[i + 1] > hi || (p[i + 2] & 0xC0) != 0x80)
                return false;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (n - i < 4 || p[i + 1] < lo || p[i + 1] > hi || (p[i + 2] & 0xC0) != 0x80 ||
                (p[i + 3] & 0xC0) != 0x80)
                return false;
            i += 4;
        } else {
            return false;
        }
    }
    return true;
}

int wire_put_u8(wr_buf *b, uint8_t v)
{
    if (wr_buf_reserve(b, 1)) return WR_ENOMEM;
    b->data[b->len++] = v;
    return 0;
}

int wire_put_u16(wr_buf *b, uint16_t v)
{
    if (wr_buf_reserve(b, 2)) return WR_ENOMEM;
    wire_store_u16(b->data + b->len, v);
    b->len += 2;
    return 0;
}

int wire_put_u32(wr_buf *b, uint32_t v)
{
    if (wr_buf_reserve(b, 4)) return WR_ENOMEM;
    wire_store_u32(b->data + b->len, v);
    b->len += 4;
    return 0;
}

int wire_put_u64(wr_buf *b, uint64_t v)
{
    if (wr_buf_reserve(b, 8)) return WR_ENOMEM;
    wire_store_u64(b->data + b->len, v);
    b->len += 8;
    return 0;
}

int wire_put_shortstr(wr_buf *b, const void *s, size_t n)
{
    if (n > 255) return WR_EINVAL;
    if (wr_buf_reserve(b, 1 + n)) return WR_ENOMEM;
    b->data[b->len] = (uint8_t)n;
    if (n) memcpy(b->data + b->len + 1, s, n);
    b->len += 1 + n;
    return 0;
}

int wire_put_longstr(wr_buf *b, const void *s, size_t n)
{
    if (n > UINT32_MAX) return WR_EINVAL;
    if (wr_buf_reserve(b, 4 + n)) return WR_ENOMEM;
    wire_store_u32(b->data + b->len, (uint32_t)n);
    if (n) memcpy(b->data + b->len + 4, s, n);
    b->len += 4 + n;
    return 0;
}

int wire_put_table(wr_buf *b, wr_bytes content)
{
    return wire_put_longstr(b, content.ptr, content.len);
}
