/* Messages: one allocation per published message, refcounted and shared by
 * every queue it was routed to (docs/INTERFACES.md §3). */
#ifndef WR_MSG_H
#define WR_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/proto/generated/amqp091_framing.h"
#include "broker/proto/wire.h"
#include "broker/util/wr_err.h"

typedef struct wr_msg {
    uint32_t refs;
    uint64_t id;                    /* node-unique, monotonically increasing (storage key) */
    wr_bytes exchange, routing_key; /* point inside the allocation */
    uint8_t *props_raw;             /* encoded properties (flags onward), resent verbatim */
    uint32_t props_len;
    amqp091_basic_properties props; /* decoded view into props_raw */
    uint8_t *body;                  /* body_len bytes inside the allocation */
    uint64_t body_len;
    uint64_t body_filled;  /* bytes copied in so far (content assembly) */
    bool persistent;       /* delivery_mode == 2 */
    int64_t expires_at_ms; /* always -1 here: each queue computes the expiry at
                              enqueue from ttl_ms and its own x-message-ttl */
    int64_t ttl_ms;        /* parsed `expiration` property, -1 none */
    uint8_t priority;      /* props.priority, 0 when absent */
    int64_t enqueued_ms;   /* set by the first queue_publish (vhost clock), INT64_MIN before: every
                              queue computes expiry from it, also after a requeue */
    bool stored;           /* record written to the store (once, whatever the number of queues) */
    uint64_t store_seq;    /* vhost_store's write sequence of the record (0: known committed, e.g.
                              read back from the store); queues page out committed ones only */
} wr_msg;

/* Allocates a message with room for body_len body bytes (body_filled = 0),
 * copying exchange, routing key and the raw properties, decoding them.
 * An `expiration` that is not a valid non-negative integer leaves ttl_ms = -1
 * (callers that must refuse it use msg_check_expiration first). Returns NULL
 * on ENOMEM or undecodable properties; refs = 1 owned by the caller. */
wr_msg *msg_new(wr_bytes exchange, wr_bytes routing_key, const uint8_t *props_raw,
                uint32_t props_len, uint64_t body_len);

/* Makes the next msg_new use ids from `next` on (after recovery: above the
 * store's last message id). Ids never go down. */
void msg_set_next_id(uint64_t next);

/* Takes one more reference; returns m. */
wr_msg *msg_ref(wr_msg *m);

/* Drops one reference; frees at 0. NULL is ignored. */
void msg_unref(wr_msg *m);

/* Validates an `expiration` property as RabbitMQ 3.8 does
 * (rabbit_basic:parse_expiration): decimal digits only, no sign, fits in
 * 64 bits. Returns 0 and sets *ttl_ms (may be NULL), or WR_EAMQP with
 * 406 PRECONDITION_FAILED "invalid expiration '<x>': <reason>" (RabbitMQ's
 * Erlang term text) in *e, method_id = mid. Call it only when the
 * expiration flag is set (an empty value is refused, as RabbitMQ does). */
int msg_check_expiration(wr_bytes exp, int64_t *ttl_ms, uint32_t mid, wr_amqp_error *e);

/* Builds a copy of m for dead-lettering / republish with new properties:
 * exchange/routing key replaced, props_raw replaced, body copied. Returns
 * NULL on ENOMEM; refs = 1. */
wr_msg *msg_clone_with(const wr_msg *m, wr_bytes exchange, wr_bytes routing_key,
                       const uint8_t *props_raw, uint32_t props_len);

#endif
