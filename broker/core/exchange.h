/* exchange: an AMQP exchange and its bindings (RabbitMQ 3.8 semantics).
 *
 * An exchange owns copies of its name and arguments and a set of bindings to
 * destinations (queues or other exchanges, both opaque `void *` here). Bindings
 * are keyed by (destination, routing key, arguments); arguments compare as
 * RabbitMQ does, order-insensitively (ftable_equal). Each type keeps its own
 * index for routing: direct a hash map on the routing key, topic a word trie,
 * fanout and headers the plain binding list. Routing itself is in route.h.
 *
 * RabbitMQ 3.8 behaviour the callers mirror (rabbit_binding.erl, rabbit_exchange.erl):
 * - unbind of a missing binding is not an error (unbind-ok): exch_unbind
 *   returns WR_ENOTFOUND and the handler maps it to success;
 * - exchange.delete if-unused: "in use" = has bindings where it is the source
 *   (rabbit_binding:has_for_source), see exch_in_use;
 * - an auto-delete exchange is deleted when a binding where it is the source is
 *   removed and none remain (not when it is created without bindings);
 * - deleting an exchange removes the bindings where it is the source and those
 *   where it is the destination (exch_unbind_all_from / exch_unbind_all_to).
 * Not thread-safe: one loop thread owns exchanges.
 */
#ifndef WR_CORE_EXCHANGE_H
#define WR_CORE_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/proto/wire.h"
#include "broker/util/wr_err.h"

enum exch_type { EXCH_DIRECT, EXCH_FANOUT, EXCH_TOPIC, EXCH_HEADERS };

typedef enum { DEST_QUEUE, DEST_EXCHANGE } wr_dest_kind;

typedef struct wr_exchange wr_exchange;

/* Resolves an exchange name in the owner's namespace (the vhost); used for
 * the alternate exchange at routing time. Returns NULL when there is none. */
typedef wr_exchange *(*exch_lookup_fn)(void *owner, wr_bytes name);

/* Parses "direct", "fanout", "topic", "headers" (exact, case-sensitive).
 * Returns 0 with *out set, or WR_ENOTFOUND (the handler answers 503
 * COMMAND_INVALID "invalid exchange type 'x'"). */
int exch_type_parse(wr_bytes name, enum exch_type *out);

/* RabbitMQ's name of a type ("direct", ...). Static string. */
const char *exch_type_name(enum exch_type t);

/* Creates an exchange. name and args (table content, already validated by the
 * decoder) are copied. The `alternate-exchange` argument, when it is a longstr,
 * becomes the alternate exchange name (other types are ignored here: the
 * handler rejects them first). owner is the vhost, lookup resolves the
 * alternate exchange through it (may be NULL: no alternate exchange routing).
 * Returns the exchange or NULL on ENOMEM. */
wr_exchange *exch_new(wr_bytes name, enum exch_type type, bool durable, bool auto_delete,
                      bool internal, wr_bytes args, void *owner, exch_lookup_fn lookup);

/* Frees the exchange and all its bindings (no callbacks). Bindings where it is
 * the destination live in the source exchanges: remove them first with
 * exch_unbind_all_to on every other exchange of the vhost. */
void exch_free(wr_exchange *ex);

/* Accessors. Returned slices live as long as the exchange. */
wr_bytes exch_name(const wr_exchange *ex);
enum exch_type exch_get_type(const wr_exchange *ex);
bool exch_durable(const wr_exchange *ex);
bool exch_auto_delete(const wr_exchange *ex);
bool exch_internal(const wr_exchange *ex);
wr_bytes exch_arguments(const wr_exchange *ex); /* table content, len 0 when none */
void *exch_owner(const wr_exchange *ex);
void *exch_user_data(const wr_exchange *ex);
void exch_set_user_data(wr_exchange *ex, void *data);

/* The alternate-exchange name: true with *name set when the exchange has one
 * (the name may be empty: the default exchange). */
bool exch_alternate(const wr_exchange *ex, wr_bytes *name);

/* Checks binding arguments against the exchange type before exch_bind. Headers
 * exchanges validate x-match as RabbitMQ 3.8 (rabbit_exchange_type_headers
 * validate_binding), accepting also 3.10's all-with-x/any-with-x. Returns 0, or
 * WR_EAMQP with *err filled (406 PRECONDITION_FAILED "Invalid x-match field
 * value <<\"foo\">>; expected all, any, all-with-x, or any-with-x"). */
int exch_check_binding(const wr_exchange *ex, wr_bytes args, uint32_t method_id,
                       wr_amqp_error *err);

/* Adds the binding (copies rk and args). Idempotent: an equal binding already
 * present is left as is and 0 returned. Returns 0, WR_EINVAL (headers exchange
 * with an invalid x-match: call exch_check_binding first for the AMQP error) or
 * WR_ENOMEM. */
int exch_bind(wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk, wr_bytes args);

/* True when an equal binding exists (to tell a new binding from a repeat). */
bool exch_has_binding(const wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk,
                      wr_bytes args);

/* Removes the binding. Returns 0 or WR_ENOTFOUND (RabbitMQ 3.8 answers
 * unbind-ok for a missing binding: the handler maps this to success). The
 * caller deletes an auto-delete exchange whose exch_binding_count fell to 0. */
int exch_unbind(wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk, wr_bytes args);

/* Removes every binding from src to dest (dest is being deleted). Returns the
 * number removed (caller: auto-delete check on src when > 0). */
int exch_unbind_all_to(wr_exchange *src, void *dest);

/* Called for each binding removed by exch_unbind_all_from, after it is
 * unlinked; rk/args are valid only during the call. The callback must not call
 * into ex. */
typedef void (*exch_unbound_fn)(void *ctx, wr_dest_kind k, void *dest, wr_bytes rk, wr_bytes args);

/* Removes every binding where ex is the source (ex is being deleted), telling
 * cb (may be NULL) about each one, e.g. to find destination exchanges that lost
 * a binding. Returns the number removed. */
int exch_unbind_all_from(wr_exchange *ex, exch_unbound_fn cb, void *ctx);

/* Number of bindings where ex is the source. */
uint32_t exch_binding_count(const wr_exchange *ex);

/* exchange.delete if-unused: true when ex is the source of any binding. */
bool exch_in_use(const wr_exchange *ex);

/* One binding as seen by exch_foreach_binding; slices valid during the call. */
typedef struct exch_binding_info {
    wr_dest_kind kind;
    void *dest;
    wr_bytes routing_key;
    wr_bytes args;
} exch_binding_info;

/* Calls cb for each binding of ex (source side), in binding order. cb returns
 * 0 to go on, non-zero to stop (that value is returned). cb must not bind or
 * unbind on ex. Returns 0 after the last binding. */
int exch_foreach_binding(const wr_exchange *ex, int (*cb)(void *ctx, const exch_binding_info *b),
                         void *ctx);

#endif
