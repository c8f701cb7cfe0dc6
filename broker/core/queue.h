/* Queues: ready FIFO (per priority level), unacked tracking, consumers with
 * credit, round-robin / consumer priorities / single active consumer,
 * exclusive and auto-delete queues, TTL, max-length, dead-lettering
 * (RabbitMQ 3.8 classic queue semantics).
 *
 * Ownership and lifetime
 * - A queue is owned by its vhost (vhost_queue_declare / vhost_queue_delete).
 * - A delivered-but-unsettled message is identified by (queue, qpos). The
 *   caller keeps the wr_queue* for it: a deleted queue stays allocated (not
 *   findable) until every outstanding delivery is settled with queue_ack /
 *   queue_requeue / queue_reject; those are then no-ops except for the
 *   bookkeeping. Dead queues are reaped in vhost_tick / vhost_free, never
 *   inside a call that got the queue as an argument.
 * - Consumers: queue_consume returns a queue-owned wr_consumer handle,
 *   valid until queue_cancel(q, c) or until the queue calls ops->cancelled
 *   (queue deleted); after either the handle is gone.
 * - Callbacks (ops->deliver/has_credit) run synchronously inside
 *   queue_publish, queue_kick, queue_requeue and queue_tick. deliver may call
 *   queue_cancel / queue_ack on this queue; the queue copes.
 *
 * Time: wr_core has no event loop. The server calls vhost_tick(v, now_ms)
 * every ~100 ms (TTL expiry at the head, x-expires). Enqueue times come
 * from vhost_now_ms(). */
#ifndef WR_QUEUE_H
#define WR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/core/msg.h"
#include "broker/proto/wire.h"
#include "broker/util/wr_err.h"

typedef struct wr_queue wr_queue;
typedef struct wr_vhost wr_vhost;
typedef struct wr_conn wr_conn;
typedef struct wr_consumer wr_consumer;

/* What a consumer's owner (the channel) provides. */
typedef struct queue_consumer_ops {
    /* Hands over one message. The callee takes its own reference if it keeps
     * msg. Return 0 when taken, <0 to make the queue keep the message (it
     * stays at the head; dispatch stops for this consumer this round). */
    int (*deliver)(void *ctx, wr_queue *q, wr_msg *msg, uint64_t qpos, bool redelivered);
    /* True when the consumer may take one more message now (prefetch not
     * exhausted, channel flow on, connection writable). */
    bool (*has_credit)(void *ctx);
    /* The queue was deleted under the consumer; the handle is gone after
     * this returns. The callee must not call queue_cancel for it. */
    void (*cancelled)(void *ctx);
} queue_consumer_ops;

/* basic.get result. msg is a reference for the caller. */
typedef struct queue_got {
    wr_msg *msg;
    uint64_t qpos;
    bool redelivered;
    uint32_t remaining; /* ready messages left after this one */
} queue_got;

/* queue_publish results (>= 0) */
#define QUEUE_PUB_OK       0
#define QUEUE_PUB_REJECTED 1 /* x-overflow reject-publish(-dlx): nack it under confirms */
/* persistent message on a durable queue, recorded through queue_store_ops:
 * confirm it after the store commit */
#define QUEUE_PUB_STORING 2

/* Persistence hooks (set once per vhost with vhost_set_store_ops, before
 * recovery). Called only for persistent messages on durable queues, on the
 * loop thread, synchronously from the queue operation. */
typedef struct queue_store_ops {
    /* A message was enqueued at qpos: record it. Return true when the publish
     * must wait for the store commit (queue_publish then returns
     * QUEUE_PUB_STORING), false when it was not stored. */
    bool (*enqueue)(void *ctx, wr_queue *q, wr_msg *msg, uint64_t qpos);
    /* First delivery to an acking consumer / basic.get (may be NULL):
     * remember it so recovery sets redelivered. */
    void (*delivered)(void *ctx, wr_queue *q, uint64_t qpos);
    /* The message at qpos left the queue for good (ack, no-ack delivery,
     * reject, expiry, max-length drop, purge). */
    void (*settle)(void *ctx, wr_queue *q, uint64_t qpos);
    /* A durable queue was deleted: drop everything stored for it. */
    void (*deleted)(void *ctx, wr_queue *q);
    /* Paging (both may be NULL: the queue then keeps every message in
     * memory). committed: true when m's record is committed, so the queue
     * may drop its in-memory copy and read it back later by m->id. */
    bool (*committed)(void *ctx, const wr_msg *m);
    /* Reads n paged-out messages back in one store read: out[i] is a new
     * reference for the caller, NULL when the record is missing. Returns 0
     * or a negative WR_E* (then out[] is all NULL). */
    int (*load)(void *ctx, const uint64_t *ids, size_t n, wr_msg **out);
} queue_store_ops;

/* Bounded memory (RabbitMQ lazy queues). A durable queue with store ops
 * keeps only a head window of QUEUE_PAGE_WINDOW messages (at most
 * QUEUE_PAGE_WINDOW_BYTES of bodies, at least one message) per priority
 * level in memory and "pages out" the rest of its committed persistent messages
 * (an entry then holds id, qpos, expiry and size: 32 bytes); they are read
 * back a window at a time (one store read) when they reach the head. Lazy queues
 * (x-queue-mode=lazy) do it always; default-mode queues once their
 * in-memory ready bodies exceed QUEUE_PAGE_MEM_BYTES. Transient messages
 * always stay in memory. */
#define QUEUE_PAGE_WINDOW       256u
#define QUEUE_PAGE_WINDOW_BYTES ((uint64_t)1 << 20)
#define QUEUE_PAGE_MEM_BYTES    ((uint64_t)64 << 20)

/* Recovery: appends a stored message at qpos (ascending order, before any
 * consumer; takes its own reference; no store callback). Returns 0 or
 * WR_ENOMEM. Later publishes get qpos values above every recovered one. */
int queue_recover(wr_queue *q, wr_msg *msg, uint64_t qpos, bool redelivered);

/* Recovery without the body: appends the stored message msg_id at qpos as
 * paged out (read back when it reaches the head). priority and ttl_ms
 * (-1 none) come from its properties, body_len from the record. Returns 0
 * or WR_ENOMEM. */
int queue_recover_paged(wr_queue *q, uint64_t msg_id, uint64_t qpos, bool redelivered,
                        uint8_t priority, int64_t ttl_ms, uint64_t body_len);

/* Ready messages whose body is in memory (the rest are paged out). */
uint32_t queue_in_memory_count(const wr_queue *q);

/* Opaque id for the store (e.g. its queue key), 0 until set. */
void queue_set_store_id(wr_queue *q, uint64_t id);
uint64_t queue_store_id(const wr_queue *q);

/* Enqueues msg (takes its own reference) and dispatches to consumers with
 * credit right away. Returns QUEUE_PUB_* (>= 0) or WR_ENOMEM. Publishing to
 * a deleted queue drops the message and returns QUEUE_PUB_OK. */
int queue_publish(wr_queue *q, wr_msg *msg);

/* Dispatches ready messages while consumers have credit (call after
 * consume-ok was sent, and when a consumer regains credit). */
void queue_kick(wr_queue *q);

/* basic.get: takes the head message. no_ack: settled at once, else it is
 * unacked until queue_ack/requeue/reject(qpos). Returns false when empty. */
bool queue_get(wr_queue *q, bool no_ack, queue_got *out);

/* Settles an unacked delivery (msg is the caller's reference, not consumed;
 * used only for sanity). Unknown qpos is ignored. */
void queue_ack(wr_queue *q, uint64_t qpos, wr_msg *msg);
/* Puts an unacked delivery back at its original position, redelivered. */
void queue_requeue(wr_queue *q, uint64_t qpos, wr_msg *msg);
/* reject/nack requeue=false: dead-letters (reason "rejected") if the queue
 * has x-dead-letter-exchange, else drops. */
void queue_reject(wr_queue *q, uint64_t qpos, wr_msg *msg);

/* False when an exclusive consumer holds the queue, or when exclusive is
 * asked and the queue already has consumers (-> 403 "in exclusive use"). */
bool queue_can_consume(const wr_queue *q, bool exclusive);

/* Registers a consumer without delivering (the caller sends consume-ok, then
 * calls queue_kick). tag is copied. priority: x-priority. conn: the
 * consumer's connection. Returns the handle or NULL on ENOMEM. */
wr_consumer *queue_consume(wr_queue *q, const queue_consumer_ops *ops, void *ctx, wr_bytes tag,
                           bool no_ack, bool exclusive, int32_t priority, wr_conn *conn);

/* Removes a consumer (no callback). Its unacked deliveries stay unacked.
 * An auto-delete queue whose last consumer goes is deleted (not freed: see
 * the lifetime notes above). With single-active-consumer the next consumer
 * becomes active. */
void queue_cancel(wr_queue *q, wr_consumer *c);

/* Drops every ready message (not unacked ones); returns how many. */
uint32_t queue_purge(wr_queue *q);

/* Ready messages (what declare-ok / get-ok report). */
uint32_t queue_message_count(const wr_queue *q);
/* Unacked deliveries outstanding. */
uint32_t queue_unacked_count(const wr_queue *q);
uint32_t queue_consumer_count(const wr_queue *q);

wr_bytes queue_name(const wr_queue *q);
wr_vhost *queue_vhost(const wr_queue *q);
bool queue_durable(const wr_queue *q);
bool queue_auto_delete(const wr_queue *q);
/* Owning connection of an exclusive queue, NULL otherwise. */
wr_conn *queue_owner(const wr_queue *q);
/* True unless the queue is exclusive to a connection other than conn. */
bool queue_access_ok(const wr_queue *q, const wr_conn *conn);
/* Declare arguments as given (table content, owned by the queue). */
wr_bytes queue_arguments(const wr_queue *q);
/* True once deleted (the struct lives on until its deliveries settle). */
bool queue_is_deleted(const wr_queue *q);

/* Marks the queue as used now for x-expires. consume, get and the last
 * cancel do it themselves; the channel calls it for queue.declare of an
 * existing queue (also passive), as RabbitMQ resets the expiry then. */
void queue_touch(wr_queue *q);

/* Expires messages at the head (TTL) and reports x-expires. Returns true when
 * the queue is unused past its x-expires and should be deleted (vhost_tick
 * does that). */
bool queue_tick(wr_queue *q, int64_t now_ms);

/* Validates queue declare arguments as RabbitMQ 3.8's
 * rabbit_amqqueue:check_arguments. Returns 0 or WR_EAMQP with 406 (and
 * RabbitMQ's text) in *e. name/vhost_name only feed the message. */
int queue_check_args(wr_bytes args, wr_bytes name, const char *vhost_name, uint32_t mid,
                     wr_amqp_error *e);

#endif
