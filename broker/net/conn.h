/* AMQP connections: what the channel layer (broker/amqp/channel.h) and the
 * rest of the broker may call on a connection.
 *
 * A connection owns its socket, its read buffer, its output buffer and its
 * channels. Output is queued (conn_send_*) and written once per loop turn
 * for every connection that has some. Everything runs on the loop thread. */
#ifndef WR_NET_CONN_H
#define WR_NET_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/proto/generated/amqp091_framing.h"
#include "broker/util/wr_err.h"

typedef struct wr_conn wr_conn;
typedef struct wr_msg wr_msg;
typedef struct wr_user wr_user;
typedef struct wr_vhost wr_vhost;
typedef struct wr_broker wr_broker;

/* Queues a method frame on channel ch. Returns 0, WR_ENOMEM, WR_EINVAL (the
 * method does not encode). On a closing connection the frame is dropped and
 * 0 returned. Never calls back. */
int conn_send_method(wr_conn *c, uint16_t ch, const amqp091_method *m);

/* Queues method + content header + body frames (split at the negotiated
 * frame_max) for msg, which is only read (the caller keeps its reference).
 * Same returns as conn_send_method. */
int conn_send_content(wr_conn *c, uint16_t ch, const amqp091_method *m, const wr_msg *msg);

/* Raises a connection-level exception: sends connection.close(code, text,
 * class, method) from e, stops handling input other than close/close-ok, and
 * tears the channels down at the next safe point (never inside this call, so
 * it may be called from inside a chan_* call). The socket closes when the
 * client answers close-ok or after a timeout. */
void conn_close_with(wr_conn *c, const wr_amqp_error *e);

/* The authenticated user (NULL before login). */
const wr_user *conn_user(const wr_conn *c);

/* The vhost opened with connection.open (NULL before). */
wr_vhost *conn_vhost(const wr_conn *c);

/* The broker the connection belongs to. */
wr_broker *conn_broker(const wr_conn *c);

/* "127.0.0.1:50000 -> 127.0.0.1:5672" (RabbitMQ's connection name). */
const char *conn_name(const wr_conn *c);

/* True when the client's capabilities table (client-properties) has cap set
 * to true ("consumer_cancel_notify", "connection.blocked", ...). */
bool conn_has_cap(const wr_conn *c, const char *cap);

/* The negotiated frame_max (0 = unlimited). */
uint32_t conn_frame_max(const wr_conn *c);

/* False while the connection's output is above its high-water mark (the
 * client is not reading) or the connection is closing: do not deliver. */
bool conn_writable(const wr_conn *c);

/* Stops (on) or resumes (off) handling this connection's input: a channel
 * whose -ok waits for a store commit holds the frames that follow it, so
 * replies keep their order. Holds nest. Resuming handles the frames already
 * buffered, unless called while a read batch is being handled (the batch
 * goes on by itself) or the connection is closing. */
void conn_hold(wr_conn *c, bool on);

/* Client properties as received in connection.start-ok (table content;
 * empty before). Borrowed; valid while the connection lives. */
wr_bytes conn_client_properties(const wr_conn *c);

#endif
