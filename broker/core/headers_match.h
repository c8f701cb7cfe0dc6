/* headers_match: the headers exchange's matching (RabbitMQ rabbit_exchange_type_headers).
 *
 * A binding's arguments are the pattern; x-match selects all (default) or any;
 * 3.10's all-with-x / any-with-x are accepted too. Pattern keys starting with
 * "x-" are ignored except in the -with-x modes. A pattern value of type void
 * matches on presence of the key. Other values match when the header has the
 * same key with an equal value under Erlang's == on RabbitMQ's decoded terms
 * (3.8.x and later compare values, not type letters): all integer widths,
 * timestamps, float and double compare as numbers (int 1 matches double 1.0),
 * longstr and byte array as binaries, but a number never equals a string (int
 * 1 and longstr "1" differ); tables and arrays must be identical. "all" with
 * no pattern keys matches everything; "any" with none matches nothing.
 */
#ifndef WR_CORE_HEADERS_MATCH_H
#define WR_CORE_HEADERS_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/proto/wire.h"

enum hmatch_mode { HMATCH_ALL, HMATCH_ANY, HMATCH_ALL_WITH_X, HMATCH_ANY_WITH_X };

/* Reads x-match from binding arguments. Returns 0 with *mode set (HMATCH_ALL
 * when absent), or WR_EINVAL with RabbitMQ's text (without the
 * "PRECONDITION_FAILED - " prefix) in err when the value is not a valid
 * longstr. */
int hmatch_parse_mode(wr_bytes args, enum hmatch_mode *mode, char *err, size_t errlen);

/* True when headers (table content, may be empty) match the binding
 * arguments args in the given mode. Malformed input never matches. */
bool hmatch_match(wr_bytes args, enum hmatch_mode mode, wr_bytes headers);

#endif
