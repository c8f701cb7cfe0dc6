/* store_rec: small helpers for the byte records the broker keeps in the
 * store. Optional: the store itself treats records as opaque bytes.
 *
 *   writer  store_wr_*  append big-endian fields to a wr_buf
 *   reader  store_rd_*  bounds-checked reads over borrowed bytes (records
 *                       come from disk: a corrupt one must not crash)
 *   message a fixed layout for a persistent AMQP message (docs/STORAGE.md):
 *           u8 version(1) | u8 exchange_len | exchange | u8 rk_len | rk |
 *           u32 props_len | props | body (the rest)
 *           encoded as an iovec for store_put_msgv, so the body is copied
 *           exactly once (into the pending batch).
 */
#ifndef WR_STORE_REC_H
#define WR_STORE_REC_H

#include <stddef.h>
#include <stdint.h>

#include "broker/util/wr_buf.h"
#include "storage/store.h"

/* ---- writer: each returns 0 or WR_ENOMEM ---- */
int store_wr_u8(wr_buf *b, uint8_t v);
int store_wr_u32(wr_buf *b, uint32_t v);
int store_wr_u64(wr_buf *b, uint64_t v);
/* u32 length prefix then the bytes; WR_ETOOBIG over 4 GiB - 1. */
int store_wr_bytes(wr_buf *b, const void *p, size_t len);

/* ---- reader ---- */
typedef struct store_rd {
    const uint8_t *p;
    size_t len, off;
} store_rd;

static inline void store_rd_init(store_rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

/* Each returns 0 or WR_EMALFORMED (not enough bytes; the cursor is then
 * unchanged). store_rd_bytes returns a borrowed slice into the record. */
int store_rd_u8(store_rd *r, uint8_t *v);
int store_rd_u32(store_rd *r, uint32_t *v);
int store_rd_u64(store_rd *r, uint64_t *v);
int store_rd_bytes(store_rd *r, const uint8_t **p, size_t *len);

/* ---- persistent message record ---- */
#define STORE_MSG_REC_VERSION 1

typedef struct store_msg_view {
    const uint8_t *exchange, *routing_key, *props, *body; /* borrowed from the record */
    size_t exchange_len, routing_key_len, props_len, body_len;
} store_msg_view;

/* Scratch for the small headers an encoded message needs; lives as long as
 * the iovec (until store_put_msgv returns). */
typedef struct store_msg_hdr {
    uint8_t h1[2]; /* version, exchange length */
    uint8_t h2[1]; /* routing key length */
    uint8_t h3[4]; /* properties length */
} store_msg_hdr;

#define STORE_MSG_IOV 7

/* Fills iov[STORE_MSG_IOV] (pointing at the caller's bytes and at *h) for
 * store_put_msgv. Returns the iov count, or WR_ETOOBIG when exchange or
 * routing key exceed 255 bytes or props 4 GiB. */
int store_msg_iov(store_msg_hdr *h, store_iov *iov, const void *exchange, size_t exchange_len,
                  const void *rk, size_t rk_len, const void *props, size_t props_len,
                  const void *body, size_t body_len);

/* Parses a message record; every length is checked against len. Returns 0
 * or WR_EMALFORMED (also for an unknown record version). */
int store_msg_decode(const uint8_t *rec, size_t len, store_msg_view *v);

#endif
