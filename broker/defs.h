/* Definitions import (load_definitions): RabbitMQ's JSON export format
 * (rabbitmqctl export_definitions / the management API). Users (with their
 * rabbit_password_hashing_sha256 hashes), vhosts and permissions are applied
 * to the broker at boot; exchanges, queues and bindings are applied through
 * the vhost layer. Private to broker/. */
#ifndef WR_DEFS_H
#define WR_DEFS_H

#include <stddef.h>

#include "broker/broker.h"

/* Reads and applies the definitions file at path. Returns 0, WR_EIO (cannot
 * read; err names the file), WR_EMALFORMED (not JSON; err has the offset),
 * WR_ECONFIG (a bad entry: err says which), WR_ENOMEM. */
int defs_load_file(wr_broker *b, const char *path, char *err, size_t errlen);

/* The same for JSON text in memory (len bytes). */
int defs_load_string(wr_broker *b, const char *text, size_t len, char *err, size_t errlen);

#endif
