/* Virtual hosts: the exchange and queue namespaces of one vhost, the
 * predeclared exchanges, exclusive-queue cleanup and the periodic tick.
 * Single-threaded: everything runs on the loop thread. */
#ifndef WR_VHOST_H
#define WR_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/core/exchange.h"
#include "broker/core/queue.h"
#include "broker/proto/wire.h"
#include "broker/util/wr_err.h"

typedef struct wr_vhost wr_vhost;

/* Creates a vhost with RabbitMQ 3.8's predeclared exchanges, all durable:
 * "" (direct), amq.direct, amq.fanout, amq.topic, amq.headers, amq.match
 * (headers), and amq.rabbitmq.trace (topic, internal). Returns NULL on
 * ENOMEM. */
wr_vhost *vhost_new(const char *name);

/* Frees the vhost, its exchanges and queues (consumers are not notified:
 * the connections are gone first). */
void vhost_free(wr_vhost *v);

/* NUL-terminated vhost name, owned by v. */
const char *vhost_name(const wr_vhost *v);

/* Lookups; NULL when missing. Deleted queues are not found. A lookup does
 * not count as use of the queue for x-expires (see queue_touch). */
wr_exchange *vhost_exchange(wr_vhost *v, wr_bytes name);
wr_queue *vhost_queue(wr_vhost *v, wr_bytes name);

/* Creates an exchange (the caller checked that it does not exist and the
 * name/permissions). Returns 0 / WR_ENOMEM / WR_EEXIST. */
int vhost_exchange_declare(wr_vhost *v, wr_bytes name, enum exch_type type, bool durable,
                           bool auto_delete, bool internal, wr_bytes args, wr_exchange **out);

/* Deletes an exchange: removes the bindings to and from it, frees it. */
void vhost_exchange_delete(wr_vhost *v, wr_exchange *ex);

/* Creates a queue (the caller checked existence, equivalence, name and
 * permissions). Validates args (406 texts as RabbitMQ). owner: the
 * exclusive owner connection or NULL. Returns 0, WR_EAMQP (err filled,
 * method_id = mid), WR_ENOMEM. */
int vhost_queue_declare(wr_vhost *v, wr_bytes name, bool durable, bool auto_delete, wr_conn *owner,
                        wr_bytes args, wr_queue **out, uint32_t mid, wr_amqp_error *err);

/* Deletes a queue: cancels its consumers through ops->cancelled, removes its
 * bindings, drops its ready messages, makes it unfindable. The struct is
 * freed later (vhost_tick) once its outstanding deliveries are settled. */
void vhost_queue_delete(wr_vhost *v, wr_queue *q);

/* A connection closed: deletes the exclusive queues it owned. */
void vhost_conn_closed(wr_vhost *v, wr_conn *conn);

/* Attaches persistence hooks to every queue of v, present and future
 * (ops must outlive v; NULL detaches). */
void vhost_set_store_ops(wr_vhost *v, const queue_store_ops *ops, void *ctx);

/* Periodic work, call every ~100 ms from a loop timer: TTL expiry, x-expires,
 * reaping deleted queues. now_ms: monotonic milliseconds. */
void vhost_tick(wr_vhost *v, int64_t now_ms);

/* Monotonic clock used for enqueue times (CLOCK_MONOTONIC ms unless a test
 * clock is set). */
int64_t vhost_now_ms(const wr_vhost *v);
/* Test hook: replace the clock (NULL restores the default). */
void vhost_set_clock(wr_vhost *v, int64_t (*now)(void *arg), void *arg);

#endif
