/* route: where a published message goes (RabbitMQ 3.8 rabbit_exchange:route).
 *
 * Starting at the exchange the message was published to, each exchange's own
 * type routing gives destinations; destination exchanges are followed (each
 * exchange visited at most once per message, so cycles are safe), queues are
 * collected without duplicates (a queue bound twice gets one copy). When an
 * exchange's own routing gives no destination at all (neither queue nor
 * exchange), its alternate exchange, resolved by name through the exchange's
 * lookup callback, is routed to as well; a missing alternate exchange is
 * ignored. As in RabbitMQ, an exchange that routed only to exchanges with no
 * queues behind them does not use its alternate exchange (those exchanges'
 * own alternate exchanges apply instead).
 */
#ifndef WR_CORE_ROUTE_H
#define WR_CORE_ROUTE_H

#include <stdint.h>

#include "broker/core/exchange.h"
#include "broker/proto/wire.h"

#define ROUTE_INLINE 8

/* Result of routing one message. Caller-owned and reusable: keep one per
 * channel, route_message resets it, memory grows once and is kept, so a warm
 * result routes without allocating. Do not copy the struct (it points into
 * itself). */
typedef struct wr_route_result {
    void **queues; /* n_queues distinct destination queues */
    uint32_t n_queues;
    uint32_t n_exchanges; /* exchanges visited (the first included) */
    /* internal */
    uint32_t q_cap;
    void *q_inline[ROUTE_INLINE];
    void **set; /* open-addressing pointer set once n_queues > ROUTE_INLINE */
    uint32_t set_cap;
    wr_exchange **xs; /* exchanges seen / work list */
    uint32_t x_cap;
    wr_exchange *x_inline[ROUTE_INLINE];
} wr_route_result;

/* Initialises an empty result (no allocation). */
void route_result_init(wr_route_result *r);

/* Frees the result's memory; init again to reuse. */
void route_result_free(wr_route_result *r);

/* Routes a message published to ex with routing key rk and headers (table
 * content, len 0 when none) into *out (reset first). Returns 0 or WR_ENOMEM
 * (out then holds what was found so far). Never calls back into the caller
 * except through the exchanges' lookup callbacks. */
int route_message(wr_exchange *ex, wr_bytes rk, wr_bytes headers, wr_route_result *out);

#endif
