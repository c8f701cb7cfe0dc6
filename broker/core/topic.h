/* topic: the topic exchange's binding-key trie (RabbitMQ rabbit_exchange_type_topic).
 *
 * Keys are split on '.' into words ("" is zero words, "a..b" is a, "", b). In a
 * binding key "*" matches exactly one word and "#" zero or more. Each node
 * holds the items (bindings) whose key ends there. Matching runs the trie as
 * an automaton over the routing key's words, one state set per word with
 * states deduplicated, so it is O(words x nodes) at worst ("#.#.#.#" cannot
 * blow up) and allocates nothing once the scratch space is warm.
 */
#ifndef WR_CORE_TOPIC_H
#define WR_CORE_TOPIC_H

#include "broker/proto/wire.h"
#include "broker/util/wr_err.h"

typedef struct topic_trie topic_trie;

/* Returns a new empty trie or NULL on ENOMEM. */
topic_trie *topic_new(void);

/* Frees the trie (not the items). */
void topic_free(topic_trie *t);

/* Adds item under binding key `key` (the same item may be added under
 * several keys; adding the same (key, item) twice stores it twice). Returns 0 or
 * WR_ENOMEM. */
int topic_add(topic_trie *t, wr_bytes key, void *item);

/* Removes one (key, item). Returns 0 or WR_ENOTFOUND. Empty nodes are pruned. */
int topic_remove(topic_trie *t, wr_bytes key, void *item);

/* Calls cb(ctx, item) for every item whose binding key matches routing key rk;
 * each item of each matching node is reported once per call. A non-zero
 * return from cb stops matching and is returned. Returns 0, the cb value, or
 * WR_ENOMEM (scratch space could not grow). */
int topic_match(topic_trie *t, wr_bytes rk, int (*cb)(void *ctx, void *item), void *ctx);

#endif
