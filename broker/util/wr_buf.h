/* wr_buf: a growable byte buffer. The owner embeds it, calls wr_buf_init,
 * appends, and frees with wr_buf_free. Writers reserve first and then append
 * without further checks on the hot path. */
#ifndef WR_BUF_H
#define WR_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct wr_buf {
    uint8_t *data;
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
} wr_buf;

/* Initialises an empty buffer (no allocation). */
void wr_buf_init(wr_buf *b);

/* Releases the memory; the buffer is empty and reusable afterwards. */
void wr_buf_free(wr_buf *b);

/* Ensures room for `extra` more bytes. Returns 0 or WR_ENOMEM (buffer unchanged). */
int wr_buf_reserve(wr_buf *b, size_t extra);

/* Appends n bytes. Returns 0 or WR_ENOMEM. */
int wr_buf_append(wr_buf *b, const void *p, size_t n);

/* Drops the first n bytes (n <= len), moving the rest to the front. */
void wr_buf_consume(wr_buf *b, size_t n);

/* Empties the buffer, keeping its memory. */
static inline void wr_buf_reset(wr_buf *b)
{
    b->len = 0;
}

#endif
