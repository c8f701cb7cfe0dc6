/* persist: the node's store (storage/store.h) wired into the broker.
 *
 * One LMDB environment per node in <data_dir>/warren. At boot (before the
 * listeners accept) persist_open opens it, recreates the stored vhosts,
 * attaches the store to every vhost (broker/core/vhost_store.h writes durable
 * exchanges, queues, bindings and persistent messages from then on) and
 * recovers their contents. persist_close flushes everything pending on a
 * clean stop. persist_tick turns store failures (disk or map full, write
 * errors) into a broker-wide publisher block and lifts it when a batch
 * commits again.
 *
 * Definition kinds used here (vhost_store.c owns 'X' 'Q' 'B'):
 *   'V' vhost   key: vhost name   value: u8 version (1)
 *   'U' user    key: user name    value: u8 version (1), six u16 BE length-
 *               prefixed strings: password hash, tags, vhost, configure,
 *               write, read. The default user as created on the blank node
 *               (RabbitMQ creates default_user only then); restored later.
 *   'C' "stop"  written by a clean stop, deleted at boot: without it every
 *               recovered message comes back redelivered (as RabbitMQ after
 *               a crash: delivered marks of the last batch may be missing).
 *   'P' "probe" rewritten while the store is failing, to learn when it
 *               takes writes again.
 * At boot, index entries of queues without a definition are dropped, and
 * the boot waits for the recovery's writes to commit before listening.
 * Everything runs on the broker's loop thread. Private to broker/. */
#ifndef WR_PERSIST_H
#define WR_PERSIST_H

#include <stddef.h>

#include "broker/broker.h"

struct store;

/* Opens the store under b->cfg->data_dir (nothing when data_dir is unset),
 * restores vhosts, definitions and queue contents, and logs "recovered N
 * queues, M messages in T ms". Blocking: call at boot on the loop thread,
 * before the listeners start. Returns 0, or WR_ESTORE / WR_EIO / WR_ENOMEM
 * with err filled (corrupt, newer or locked data directory): the broker must
 * not serve then. */
int persist_open(wr_broker *b, char *err, size_t errlen);

/* Attaches the store to a vhost created after boot and records it. No-op
 * without a store. */
void persist_vhost_added(wr_broker *b, wr_vhost *v);

/* The node's store, or NULL (no data dir, not started, or closed). */
struct store *persist_store(const wr_broker *b);

/* Every ~100 ms: while the store is failing, sets the store alarm
 * (broker/alarm.h: connection.blocked "low on disk") and retries with a probe
 * write; clears it once a batch commits. disk_free_limit is alarm.c's. */
void persist_tick(wr_broker *b);

/* Clean stop: detaches the store from every vhost, writes everything pending
 * (one last group commit, its callbacks run), stops the storage thread and
 * closes the environment. Call after the connections are gone, outside any
 * store callback; run the loop once afterwards (uv handles close). */
void persist_close(wr_broker *b);

#endif
