#include "broker/util/wr_buf.h"
#include "broker/util/wr_err.h"

#include <stdlib.h>
#include <string.h>

void wr_buf_init(wr_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void wr_buf_free(wr_buf *b)
{
    free(b->data);
    wr_buf_init(b);
}

int wr_buf_reserve(wr_buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *p;

    if (extra > SIZE_MAX - b->len) return WR_ENOMEM;
    need = b->len + extra;
    if (need <= b->cap) return WR_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (!p) return WR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return WR_OK;
}

int wr_buf_append(wr_buf *b, const void *p, size_t n)
{
    int rc = wr_buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return WR_OK;
}

void wr_buf_consume(wr_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
