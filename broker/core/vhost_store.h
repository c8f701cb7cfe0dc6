/* Durability for one vhost over storage/store.h: durable exchanges, durable
 * queues and the bindings between durable ends are written as definitions;
 * persistent messages on durable queues as message records plus queue index
 * entries (through queue_store_ops). Recovery rebuilds them at boot.
 *
 * Definition kinds (store namespace bytes owned by this file):
 *   'X' exchange  key vhost NUL name          value: u64 id, u8 type, u8 flags, u32 alen, args
 *   'Q' queue     key vhost NUL name          value: u64 id, u8 flags, u32 alen, args
 *   'B' binding   key vhost NUL u64 hash      value: u64 src id, u8 kind, u64 dest id, u8 rklen,
 * rk, u32 alen, args Ids are node-unique incarnation ids, so a binding never outlives a deleted and
 * re-declared end. Message record: u8 exlen, ex, u8 rklen, rk, u32 plen, props, body. All integers
 * big-endian. */
#ifndef WR_VHOST_STORE_H
#define WR_VHOST_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/core/vhost.h"

struct store;

/* Attaches s to v (s outlives v). From now on durable definitions and
 * persistent messages on durable queues are written; queue_publish answers
 * QUEUE_PUB_STORING for those messages. Call before vhost_store_recover. */
void vhost_store_attach(wr_vhost *v, struct store *s);

/* Recreates v's durable exchanges, queues, bindings and queue contents from
 * committed data (boot, before any client). Definitions that cannot be
 * applied are dropped with a warning. Returns 0 or WR_ESTORE / WR_ENOMEM. */
int vhost_store_recover(wr_vhost *v);

/* As vhost_store_recover; all_redelivered (the node was not stopped
 * cleanly, so delivered marks may be missing) recovers every message with
 * redelivered set, as RabbitMQ does after a crash. */
int vhost_store_recover_ex(wr_vhost *v, bool all_redelivered);

/* Binding changes made by the channel: exch_bind / exch_unbind plus the
 * definition when both ends are durable. Same returns as exch_bind /
 * exch_unbind. */
int vhost_bind(wr_vhost *v, wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk,
               wr_bytes args);
int vhost_unbind(wr_vhost *v, wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk,
                 wr_bytes args);

#endif
