/* AMQP 0-9-1 channel: per-channel state and the handlers for the exchange,
 * queue, basic, confirm and tx classes plus channel.flow.
 *
 * The connection (broker/net/conn.c, broker/amqp/connection.c) owns channels:
 * it creates one on channel.open, feeds it every method of those classes,
 * assembles basic.publish content and hands it over with chan_publish, calls
 * chan_flush once after each batch of frames read from the socket, and frees
 * the channel on channel.close / connection teardown.
 *
 * Errors: a handler returns 0, or WR_EAMQP with *err filled (err->hard selects
 * connection.close, which the connection performs; otherwise channel.close),
 * or another negative WR_E* on internal failure (ENOMEM), which the caller
 * treats as 541 INTERNAL_ERROR.
 *
 * Everything runs on the loop thread; nothing here blocks or takes a lock.
 */
#ifndef WR_CHANNEL_H
#define WR_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/proto/generated/amqp091_framing.h"
#include "broker/util/wr_err.h"

typedef struct wr_conn wr_conn;
typedef struct wr_msg wr_msg; /* broker/core/msg.h */
typedef struct wr_chan wr_chan;

/* Creates the state for channel `id` of connection `c` (after channel.open,
 * before open-ok is sent). Reads the user and vhost from the connection.
 * Returns NULL on ENOMEM. The connection owns the result (chan_free). */
wr_chan *chan_new(wr_conn *c, uint16_t id);

/* Handles one method of the exchange, queue, basic (except the content of
 * basic.publish), confirm or tx class, or channel.flow. Replies are queued on
 * the connection with conn_send_method/conn_send_content before it returns
 * (nowait variants send none). May call back into the queues synchronously
 * (deliveries to consumers of this or other channels). Returns 0, WR_EAMQP
 * with *err filled, or WR_ENOMEM. m's slices are only borrowed. */
int chan_handle(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err);

/* Publishes a fully assembled message (p->exchange / p->routing_key borrowed).
 * Takes over the caller's reference to msg in every case (success or error).
 * Checks permissions, exchange existence, internal, immediate (540, hard),
 * user_id and expiration; routes; returns unroutable mandatory messages;
 * records the publisher confirm. In tx mode the publish is buffered until
 * tx.commit. Returns 0, WR_EAMQP with *err filled, or WR_ENOMEM. */
int chan_publish(wr_chan *ch, const amqp091_basic_publish *p, wr_msg *msg, wr_amqp_error *err);

/* Sends what the channel batched during one read batch: publisher confirms
 * (one basic.ack multiple=true covering every consecutive confirmed sequence
 * number, nacks for rejected ones). The connection calls it once per loop
 * turn after processing its read batch (and it is harmless to call more
 * often). Never fails; frames go to conn_send_method. */
void chan_flush(wr_chan *ch);

/* Called by the storage layer (through whoever registered the commit) when
 * publish sequence number `seq` of this channel is durable: the confirm goes
 * out at the next chan_flush. ok=false sends a basic.nack instead. Unknown or
 * already-confirmed seqs are ignored. */
void chan_confirm_stored(wr_chan *ch, uint64_t seq, bool ok);

/* Gives the channel the node's store. Publishes that a queue accepted as
 * QUEUE_PUB_STORING (persistent message, durable queue) are then confirmed
 * only after the store commit that chan_flush requests (one store_commit
 * per channel per flush, many channels share the batch's fsync); the commit
 * callback sends the acks itself (conn_send_method outside a read batch).
 * Without a store such publishes are confirmed at once. */
struct store;
void chan_set_store(wr_chan *ch, struct store *s);

/* Channel-level flow from the connection (e.g. the connection is blocked
 * on a write backlog): while paused, consumers on this channel get no
 * deliveries. Resuming lets queues deliver again. */
void chan_set_paused(wr_chan *ch, bool paused);

/* Returns the channel number. */
uint16_t chan_id(const wr_chan *ch);

/* Number of consumers / unacknowledged deliveries / unconfirmed publishes on
 * the channel (management and tests). */
uint32_t chan_consumer_count(const wr_chan *ch);
uint32_t chan_unacked_count(const wr_chan *ch);
uint32_t chan_unconfirmed_count(const wr_chan *ch);

/* Tears the channel down: cancels its consumers (no basic.cancel is sent),
 * requeues every unacknowledged delivery with redelivered set, in delivery
 * order, drops an open transaction, and frees the state. Must not be called
 * from inside a chan_* call on the same channel. */
void chan_free(wr_chan *ch);

#endif
