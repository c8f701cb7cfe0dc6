/* frame: AMQP 0-9-1 frames (type, channel, size, payload, frame-end 0xCE).
 *
 * frame_parse reads one frame out of a receive buffer without copying;
 * the frame_put_* writers append whole frames to an output buffer, reserving
 * once per call and writing in place.
 */
#ifndef WR_PROTO_FRAME_H
#define WR_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "broker/proto/generated/amqp091_framing.h"
#include "broker/proto/wire.h"

/* type(1) + channel(2) + size(4) */
#define FRAME_HEADER_SIZE 7
/* header + frame-end octet: what a frame costs beyond its payload */
#define FRAME_OVERHEAD 8
/* content header payload before the property flags: class-id, weight, body-size */
#define FRAME_CONTENT_HEADER_FIXED 12

/* A parsed frame; payload borrows from the buffer given to frame_parse. */
typedef struct wr_frame {
    uint8_t type;
    uint16_t channel;
    uint32_t size;
    const uint8_t *payload;
} wr_frame;

/* Parses one frame at buf[0..len). Returns the bytes consumed (>0), 0 if more
 * bytes are needed, WR_EMALFORMED (frame-end octet is not 0xCE, or the type is
 * not method/header/body/heartbeat) or WR_ETOOBIG (payload size > frame_max;
 * checked as soon as the 7-byte header is in, frame_max 0 = no limit). Like
 * RabbitMQ, the payload may exceed frame_max - 8 by up to 8 bytes (its
 * FRAME_SIZE_FUDGE for clients that get the limit slightly wrong). */
long frame_parse(const uint8_t *buf, size_t len, uint32_t frame_max, wr_frame *out);

/* Splits a content header payload (frame type 2): class-id, body-size and the
 * property list (flags onward, borrowed). The weight field is ignored, as
 * RabbitMQ does. Returns 0 or WR_EMALFORMED (payload shorter than 14 bytes). */
int frame_get_content_header(const uint8_t *payload, uint32_t size, uint16_t *class_id,
                             uint64_t *body_size, wr_bytes *props);

/* Appends one method frame. Returns 0, WR_ENOMEM or the encoder's WR_EINVAL. */
int frame_put_method(wr_buf *out, uint16_t channel, const amqp091_method *m);

/* Appends the content header frame and the body frames, split so that no
 * frame exceeds frame_max (0 = unlimited); an empty body gives the header frame
 * only. props_raw is the encoded property list (flags onward), sent verbatim.
 * The header frame is never split (RabbitMQ does not either), so a huge
 * property list can exceed frame_max. Returns 0, WR_ENOMEM, or WR_EINVAL
 * (0 < frame_max <= FRAME_OVERHEAD: no room for a body byte). */
int frame_put_content(wr_buf *out, uint16_t channel, uint16_t class_id, const uint8_t *props_raw,
                      size_t props_len, const uint8_t *body, uint64_t body_len, uint32_t frame_max);

/* Method frame, then content as frame_put_content: a delivery in one call. */
int frame_put_method_content(wr_buf *out, uint16_t channel, const amqp091_method *m,
                             const uint8_t *props_raw, size_t props_len, const uint8_t *body,
                             uint64_t body_len, uint32_t frame_max);

/* Appends a heartbeat frame (type 8, channel 0, empty). Returns 0 or WR_ENOMEM. */
int frame_put_heartbeat(wr_buf *out);

#endif
