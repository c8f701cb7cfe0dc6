#include "broker/proto/frame.h"

#include <limits.h>
#include <string.h>

long frame_parse(const uint8_t *buf, size_t len, uint32_t frame_max, wr_frame *out)
{
    uint8_t type;
    uint32_t size;

    if (len < FRAME_HEADER_SIZE) return 0;
    type = buf[0];
    if (type != AMQP091_FRAME_METHOD && type != AMQP091_FRAME_HEADER &&
        type != AMQP091_FRAME_BODY && type != AMQP091_FRAME_HEARTBEAT)
        return WR_EMALFORMED;
    size = wire_load_u32(buf + 3);
    if (frame_max && size > frame_max) return WR_ETOOBIG;
#if LONG_MAX <= UINT32_MAX
    if (size > (uint32_t)LONG_MAX - FRAME_OVERHEAD) return WR_ETOOBIG;
#endif
    if (len - FRAME_HEADER_SIZE <= size) return 0; /* need size + the frame-end octet */
    if (buf[FRAME_HEADER_SIZE + size] != AMQP091_FRAME_END) return WR_EMALFORMED;
    out->type = type;
    out->channel = wire_load_u16(buf + 1);
    out->size = size;
    out->payload = buf + FRAME_HEADER_SIZE;
    return (long)size + FRAME_OVERHEAD;
}

int frame_get_content_header(const uint8_t *payload, uint32_t size, uint16_t *class_id,
                             uint64_t *body_size, wr_bytes *props)
{
    if (size < FRAME_CONTENT_HEADER_FIXED + 2) return WR_EMALFORMED;
    *class_id = wire_load_u16(payload);
    *body_size = wire_load_u64(payload + 4);
    props->ptr = payload + FRAME_CONTENT_HEADER_FIXED;
    props->len = size - FRAME_CONTENT_HEADER_FIXED;
    return 0;
}

static inline uint8_t *put_frame_head(uint8_t *p, uint8_t type, uint16_t channel, uint32_t size)
{
    p[0] = type;
    wire_store_u16(p + 1, channel);
    wire_store_u32(p + 3, size);
    return p + FRAME_HEADER_SIZE;
}

int frame_put_method(wr_buf *out, uint16_t channel, const amqp091_method *m)
{
    size_t start = out->len;
    int rc;

    if (wr_buf_reserve(out, FRAME_HEADER_SIZE + 64)) return WR_ENOMEM;
    out->len += FRAME_HEADER_SIZE;
    rc = amqp091_encode_method(out, m);
    if (rc == 0 && out->len - start - FRAME_HEADER_SIZE > UINT32_MAX) rc = WR_ETOOBIG;
    if (rc == 0) rc = wr_buf_reserve(out, 1);
    if (rc) {
        out->len = start;
        return rc;
    }
    put_frame_head(out->data + start, AMQP091_FRAME_METHOD, channel,
                   (uint32_t)(out->len - start - FRAME_HEADER_SIZE));
    out->data[out->len++] = AMQP091_FRAME_END;
    return 0;
}

/* Bytes frame_put_content appends, or 0 when the inputs are invalid. */
static size_t content_size(size_t props_len, uint64_t body_len, uint32_t frame_max, uint64_t *chunk)
{
    uint64_t max = frame_max ? (uint64_t)frame_max - FRAME_OVERHEAD : UINT32_MAX;
    uint64_t frames, total;

    if (frame_max && frame_max <= FRAME_OVERHEAD) return 0;
    if (props_len > UINT32_MAX - FRAME_CONTENT_HEADER_FIXED) return 0;
    if (max > UINT32_MAX) max = UINT32_MAX;
    frames = body_len / max + (body_len % max != 0);
    total = FRAME_OVERHEAD + FRAME_CONTENT_HEADER_FIXED + (uint64_t)props_len;
    if (body_len > UINT64_MAX / 2 || frames > (UINT64_MAX / 2 - body_len) / FRAME_OVERHEAD)
        return 0;
    total += body_len + frames * FRAME_OVERHEAD;
    if (total > SIZE_MAX) return 0;
    *chunk = max;
    return (size_t)total;
}

static int put_content(wr_buf *out, uint16_t channel, uint16_t class_id, const uint8_t *props_raw,
                       size_t props_len, const uint8_t *body, uint64_t body_len, uint64_t chunk)
{
    uint8_t *p = out->data + out->len;

    p = put_frame_head(p, AMQP091_FRAME_HEADER, channel,
                       (uint32_t)(FRAME_CONTENT_HEADER_FIXED + props_len));
    wire_store_u16(p, class_id);
    wire_store_u16(p + 2, 0);
    wire_store_u64(p + 4, body_len);
    p += FRAME_CONTENT_HEADER_FIXED;
    if (props_len) memcpy(p, props_raw, props_len);
    p += props_len;
    *p++ = AMQP091_FRAME_END;
    while (body_len) {
        uint32_t n = (uint32_t)(body_len < chunk ? body_len : chunk);
        p = put_frame_head(p, AMQP091_FRAME_BODY, channel, n);
        memcpy(p, body, n);
        p += n;
        *p++ = AMQP091_FRAME_END;
        body += n;
        body_len -= n;
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

int frame_put_content(wr_buf *out, uint16_t channel, uint16_t class_id, const uint8_t *props_raw,
                      size_t props_len, const uint8_t *body, uint64_t body_len, uint32_t frame_max)
{
    uint64_t chunk;
    size_t total = content_size(props_len, body_len, frame_max, &chunk);

    if (!total) return WR_EINVAL;
    if (wr_buf_reserve(out, total)) return WR_ENOMEM;
    return put_content(out, channel, class_id, props_raw, props_len, body, body_len, chunk);
}

int frame_put_method_content(wr_buf *out, uint16_t channel, const amqp091_method *m,
                             const uint8_t *props_raw, size_t props_len, const uint8_t *body,
                             uint64_t body_len, uint32_t frame_max)
{
    uint64_t chunk;
    size_t start = out->len;
    size_t total = content_size(props_len, body_len, frame_max, &chunk);
    int rc;

    if (!total || total > SIZE_MAX - 1024) return WR_EINVAL;
    /* One reserve for the lot: a deliver/get-ok/return method fits in 1024 bytes
     * (three shortstrs and a few integers), so the method writer does not grow it. */
    if (wr_buf_reserve(out, total + 1024)) return WR_ENOMEM;
    if ((rc = frame_put_method(out, channel, m))) return rc;
    if (wr_buf_reserve(out, total)) {
        out->len = start;
        return WR_ENOMEM;
    }
    return put_content(out, channel, (uint16_t)(m->id >> 16), props_raw, props_len, body, body_len,
                       chunk);
}

int frame_put_heartbeat(wr_buf *out)
{
    static const uint8_t hb[FRAME_OVERHEAD] = {AMQP091_FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0,
                                               AMQP091_FRAME_END};
    return wr_buf_append(out, hb, sizeof(hb));
}
