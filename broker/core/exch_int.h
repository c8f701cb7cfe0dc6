/* exch_int: exchange internals shared with route.c (not for other modules). */
#ifndef WR_CORE_EXCH_INT_H
#define WR_CORE_EXCH_INT_H

#include "broker/core/exchange.h"

/* Receives one destination of a binding that matched. Non-zero stops. */
typedef int (*exch_emit_fn)(void *ctx, wr_dest_kind k, void *dest);

/* The exchange type's own routing: calls emit for each matching binding
 * (a destination bound several ways may be reported several times). Returns
 * 0, emit's non-zero value, or WR_ENOMEM. */
int exch__route_one(wr_exchange *ex, wr_bytes rk, wr_bytes headers, exch_emit_fn emit, void *ctx);

/* Resolves ex's alternate exchange through its lookup callback, or NULL. */
wr_exchange *exch__alternate(wr_exchange *ex);

#endif
