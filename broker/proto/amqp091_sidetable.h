/* amqp091_sidetable: protocol facts the spec JSON does not carry (hand-kept).
 *
 * Method ids are (class-id << 16) | method-id as in the generated header.
 */
#ifndef WR_PROTO_AMQP091_SIDETABLE_H
#define WR_PROTO_AMQP091_SIDETABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/proto/generated/amqp091_framing.h"

/* The reply method of a synchronous request (exchange.unbind 40.40 ->
 * unbind-ok 40.51); 0 when the method has no reply. */
uint32_t amqp091_reply_of(uint32_t request_id);

/* True for methods a client may send to the server; anything else arriving
 * from a client is a protocol error (RabbitMQ: 503 COMMAND_INVALID / 540). */
bool amqp091_client_may_send(uint32_t id);

/* True for methods the server sends to clients. */
bool amqp091_server_may_send(uint32_t id);

/* True for methods that may only travel on channel 0 (connection class). */
bool amqp091_channel0_only(uint32_t id);

static inline uint16_t amqp091_class_of(uint32_t id)
{
    return (uint16_t)(id >> 16);
}

static inline uint16_t amqp091_index_of(uint32_t id)
{
    return (uint16_t)(id & 0xffffu);
}

#endif
