/* Private to broker/core: queue internals shared by queue.c, queue_args.c,
 * queue_dlx.c and vhost.c. */
#ifndef WR_QUEUE_INT_H
#define WR_QUEUE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/core/exchange.h"
#include "broker/core/queue.h"

enum queue_overflow { QUEUE_OVF_DROP_HEAD = 0, QUEUE_OVF_REJECT, QUEUE_OVF_REJECT_DLX };

/* Declare arguments the queue acts on (parsed after queue_check_args). */
typedef struct queue_cfg {
    int64_t message_ttl;      /* -1 none */
    int64_t expires;          /* -1 none */
    int64_t max_length;       /* -1 none */
    int64_t max_length_bytes; /* -1 none */
    enum queue_overflow overflow;
    bool has_dlx;
    bool has_dlrk;
    wr_bytes dlx, dlrk;   /* slices into the queue's argument copy */
    uint8_t max_priority; /* 0 = not a priority queue */
    bool single_active;
    bool lazy; /* x-queue-mode=lazy */
} queue_cfg;

/* Fills *cfg from validated argument table content (slices point into args). */
void queue__parse_args(wr_bytes args, queue_cfg *cfg);

/* Creates a queue (name/args copied). NULL on ENOMEM. */
wr_queue *queue__new(wr_vhost *v, wr_bytes name, bool durable, bool auto_delete, wr_conn *owner,
                     wr_bytes args);
/* Marks deleted: cancels consumers (ops->cancelled), drops ready messages.
 * Does not touch bindings or the vhost map (vhost_queue_delete does). */
void queue__kill(wr_queue *q);
/* True when a killed queue has no outstanding deliveries (may be freed). */
bool queue__reapable(const wr_queue *q);
/* Frees the struct (and ready messages, consumers, without callbacks). */
void queue__free(wr_queue *q);
/* Sets the persistence hooks of one queue (vhost_set_store_ops). */
void queue__set_store(wr_queue *q, const queue_store_ops *ops, void *ctx);
/* Intrusive link for the vhost's dead list. */
wr_queue **queue__next_dead(wr_queue *q);
/* Milliseconds of the last use (consume, get, declare) for x-expires. */
void queue__touch(wr_queue *q);

/* Dead-letters msg taken from q with reason "rejected" / "expired" /
 * "maxlen": builds the rewritten copy with x-death and republishes it
 * through the queue's DLX. Does not consume the caller's reference. */
void queue__dead_letter(wr_queue *q, const queue_cfg *cfg, wr_msg *msg, const char *reason);

/* vhost <-> vhost_store.c (durability) */
struct store;
struct store *vhost__store(const wr_vhost *v);
void vhost__set_store(wr_vhost *v, struct store *s);
/* Definition hooks: assign the incarnation id, write/delete the durable
 * definition when a store is attached. */
void vstore__exchange_added(wr_vhost *v, wr_exchange *ex);
void vstore__exchange_deleted(wr_vhost *v, wr_exchange *ex);
void vstore__queue_added(wr_vhost *v, wr_queue *q);
void vstore__queue_deleted(wr_vhost *v, wr_queue *q);
/* Calls qcb for every live queue and xcb for every exchange of v. */
void vhost__each(wr_vhost *v, void (*qcb)(wr_vhost *, wr_queue *),
                 void (*xcb)(wr_vhost *, wr_exchange *));

#endif
