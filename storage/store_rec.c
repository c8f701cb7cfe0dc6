/* store_rec.c: record field helpers and the persistent message layout
 * (see store_rec.h). */
#include "storage/store_rec.h"

#include <string.h>

#include "broker/util/wr_err.h"

int store_wr_u8(wr_buf *b, uint8_t v)
{
    return wr_buf_append(b, &v, 1);
}

int store_wr_u32(wr_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return wr_buf_append(b, x, 4);
}

int store_wr_u64(wr_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 7; i >= 0; i--) {
        x[i] = (uint8_t)v;
        v >>= 8;
    }
    return wr_buf_append(b, x, 8);
}

int store_wr_bytes(wr_buf *b, const void *p, size_t len)
{
    if (len > UINT32_MAX) return WR_ETOOBIG;
    if (wr_buf_reserve(b, 4 + len)) return WR_ENOMEM;
    store_wr_u32(b, (uint32_t)len);
    return len ? wr_buf_append(b, p, len) : 0;
}

static inline uint64_t store__get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

int store_rd_u8(store_rd *r, uint8_t *v)
{
    if (r->len - r->off < 1) return WR_EMALFORMED;
    *v = r->p[r->off++];
    return 0;
}

int store_rd_u32(store_rd *r, uint32_t *v)
{
    if (r->len - r->off < 4) return WR_EMALFORMED;
    *v = (uint32_t)store__get_be(r->p + r->off, 4);
    r->off += 4;
    return 0;
}

int store_rd_u64(store_rd *r, uint64_t *v)
{
    if (r->len - r->off < 8) return WR_EMALFORMED;
    *v = store__get_be(r->p + r->off, 8);
    r->off += 8;
    return 0;
}

int store_rd_bytes(store_rd *r, const uint8_t **p, size_t *len)
{
    if (r->len - r->off < 4) return WR_EMALFORMED;
    uint32_t n = (uint32_t)store__get_be(r->p + r->off, 4);
    if (r->len - r->off - 4 < n) return WR_EMALFORMED;
    *p = r->p + r->off + 4;
    *len = n;
    r->off += 4 + (size_t)n;
    return 0;
}

int store_msg_iov(store_msg_hdr *h, store_iov *iov, const void *exchange, size_t exchange_len,
                  const void *rk, size_t rk_len, const void *props, size_t props_len,
                  const void *body, size_t body_len)
{
    if (exchange_len > 255 || rk_len > 255 || props_len > UINT32_MAX) return WR_ETOOBIG;
    h->h1[0] = STORE_MSG_REC_VERSION;
    h->h1[1] = (uint8_t)exchange_len;
    h->h2[0] = (uint8_t)rk_len;
    h->h3[0] = (uint8_t)(props_len >> 24);
    h->h3[1] = (uint8_t)(props_len >> 16);
    h->h3[2] = (uint8_t)(props_len >> 8);
    h->h3[3] = (uint8_t)props_len;
    iov[0] = (store_iov){h->h1, 2};
    iov[1] = (store_iov){exchange, exchange_len};
    iov[2] = (store_iov){h->h2, 1};
    iov[3] = (store_iov){rk, rk_len};
    iov[4] = (store_iov){h->h3, 4};
    iov[5] = (store_iov){props, props_len};
    iov[6] = (store_iov){body, body_len};
    return STORE_MSG_IOV;
}

int store_msg_decode(const uint8_t *rec, size_t len, store_msg_view *v)
{
    size_t off = 0;
    if (len < 2 || rec[0] != STORE_MSG_REC_VERSION) return WR_EMALFORMED;
    v->exchange_len = rec[1];
    off = 2;
    if (len - off < v->exchange_len + 1) return WR_EMALFORMED;
    v->exchange = rec + off;
    off += v->exchange_len;
    v->routing_key_len = rec[off++];
    if (len - off < v->routing_key_len + 4) return WR_EMALFORMED;
    v->routing_key = rec + off;
    off += v->routing_key_len;
    v->props_len = (size_t)store__get_be(rec + off, 4);
    off += 4;
    if (len - off < v->props_len) return WR_EMALFORMED;
    v->props = rec + off;
    off += v->props_len;
    v->body = rec + off;
    v->body_len = len - off;
    return 0;
}
