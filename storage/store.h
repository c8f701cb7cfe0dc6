/* store: warren's durable state in one LMDB environment per node.
 *
 * The store keeps opaque byte records; it knows nothing about AMQP. The
 * broker encodes definitions and messages and hands them over as bytes:
 *
 *   definitions  (kind, key) -> value     vhosts, users, permissions, durable
 *                                         exchanges/queues, bindings, ...
 *   messages     msg id (u64) -> record   stored once, shared by every queue
 *   queue index  (queue id, seq) -> msg id + flags, in seq order per queue
 *
 * Threads. Every function here except the reads is called on the loop
 * thread that passed its uv_loop_t to store_open() (store_open itself may
 * run before the loop starts). The mutating functions (store_put_def .. store_purge_queue) make no
 * syscall and no LMDB call: they append to an in-memory pending batch. At the
 * end of the current loop iteration (a uv_prepare handle) the batch goes to
 * the storage thread, which runs ONE write transaction for it and fsyncs
 * once, then posts back (uv_async); the callbacks registered with
 * store_commit() for that batch then run on the loop thread, in the order
 * store_commit was called. While a batch is being written, new operations
 * and commit requests accumulate in the next batch, which leaves as soon as
 * the first one is back. Every operation is written in the next batch, with
 * or without a store_commit; store_commit only adds a "tell me when this is
 * on disk" point.
 *
 * Read functions (store_get_msg, store_read_msg[s], store_iter_*) may run on
 * any thread; each opens a read-only transaction on the calling thread and
 * sees committed data only: an operation still pending in a batch is not
 * visible to them. Keep them short on the loop thread.
 *
 * Errors are 0 or a negative WR_E* code (broker/util/wr_err.h).
 */
#ifndef WR_STORE_H
#define WR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "broker/util/wr_buf.h"

/* The on-disk format this build writes and reads (docs/STORAGE.md). */
#define STORE_FORMAT_VERSION 1

/* Index entry flags. */
#define STORE_F_DELIVERED 0x01u /* handed to a consumer at least once */

/* Largest key / record the store accepts (LMDB keys are limited to 511 bytes
 * with the default build; records are capped to keep a batch bounded). */
#define STORE_MAX_DEF_KEY 500u
#define STORE_MAX_RECORD  ((size_t)128 << 20) /* RabbitMQ 3.8 max_message_size */

typedef struct store store;

typedef struct store_opts {
    const char *dir; /* directory of the env (created if missing; parent must exist) */
    size_t map_size; /* initial map size in bytes; 0 = 64 MiB */
    size_t map_max;  /* cap for map growth; 0 = 256 GiB */
} store_opts;

/* Called on the loop thread once the batch holding this commit request has
 * been written and fsynced (status 0) or has failed: WR_EFULL (map at its cap
 * or ENOSPC), WR_ESTORE (any other storage error), WR_ECLOSED never (close
 * flushes). On failure nothing of that batch is on disk (unless it was too
 * large for one LMDB transaction and went in chunks). The callback may
 * queue further operations and call store_commit; it must not call
 * store_close. */
typedef void (*store_done_cb)(void *ctx, int status);

/* Opens (or creates) the env in o->dir, checks the format record, opens all
 * tables in one transaction, clears stale readers and unreferenced message
 * bodies, and starts the storage thread. Blocking: call at boot. On success
 * *out owns the store (free with store_close). Returns WR_ESTORE with a logged
 * reason for a corrupt env, an unknown/newer format or a directory already
 * in use by another store (flock on warren.lock), WR_EIO when the
 * directory cannot be created, WR_ENOMEM, WR_EINVAL. */
int store_open(uv_loop_t *loop, const store_opts *o, store **out);

/* Flushes: writes every pending operation (one last batch), runs all pending
 * callbacks on this thread, stops the storage thread and closes the env. The
 * uv handles are closed with uv_close; the memory is released when the loop
 * next runs its close callbacks (run the loop once after this). Returns 0 or
 * WR_EINVAL when called from inside a store callback (then nothing happens). */
int store_close(store *s);

/* ---- pending-batch operations (loop thread; no syscall; 0 or WR_ENOMEM /
 * WR_EINVAL / WR_ETOOBIG / WR_ECLOSED). Bytes are copied: the caller keeps
 * ownership of its buffers. Written with the next batch (see above). ---- */

/* Sets definition (kind, key) to value (replacing any). kind is the broker's
 * namespace byte (vhost, user, queue, ...). klen 1..STORE_MAX_DEF_KEY. */
int store_put_def(store *s, uint8_t kind, const void *key, size_t klen, const void *val,
                  size_t vlen);

/* Deletes definition (kind, key); deleting a missing one is not an error. */
int store_del_def(store *s, uint8_t kind, const void *key, size_t klen);

/* Stores message record bytes under msg_id. Put it before the store_enqueue
 * calls that reference it (same or earlier batch). The body is deleted by the
 * store when the last queue reference goes (store_ack / store_purge_queue); a
 * body no queue references at the next open is removed then. */
int store_put_msg(store *s, uint64_t msg_id, const void *rec, size_t len);

/* A piece of a record for store_put_msgv. */
typedef struct store_iov {
    const void *p;
    size_t len;
} store_iov;

/* As store_put_msg with the record given as n pieces (concatenated), so a
 * caller can store header + properties + body with one copy into the batch. */
int store_put_msgv(store *s, uint64_t msg_id, const store_iov *iov, size_t n);

/* Appends (queue_id, seq) -> msg_id to the queue's index and takes one
 * reference on the body. seq must grow within a queue (cursor order = seq
 * order); flags are STORE_F_* (normally 0). */
int store_enqueue(store *s, uint64_t queue_id, uint64_t seq, uint64_t msg_id, uint8_t flags);

/* Sets STORE_F_DELIVERED on (queue_id, seq) so that after a restart the
 * message comes back with redelivered set. Missing entry: no-op. */
int store_mark_delivered(store *s, uint64_t queue_id, uint64_t seq);

/* Removes (queue_id, seq) from the index (ack, reject without requeue,
 * expiry, max-length drop, dead-lettering away) and drops its body reference;
 * the body is deleted with the last one. Missing entry: no-op. */
int store_ack(store *s, uint64_t queue_id, uint64_t seq);

/* Removes every index entry of queue_id (purge, queue delete) and the bodies
 * no other queue references. Entries enqueued later in the same batch stay. */
int store_purge_queue(store *s, uint64_t queue_id);

/* Registers cb (may be NULL) to run on the loop thread once every operation
 * queued before this call is committed and fsynced (status 0) or its batch
 * failed; never synchronously from here. Callbacks run in call order.
 * Returns 0, WR_ENOMEM or WR_ECLOSED (then cb will not run). */
int store_commit(store *s, store_done_cb cb, void *ctx);

/* Hands the pending batch to the storage thread now if none is being
 * written (otherwise it leaves when that one is back). Not needed normally:
 * a uv_prepare handle does this at the end of every loop iteration. Use it
 * when operations are queued from another uv_prepare callback (which may run
 * after the store's in the same phase, before the loop blocks). */
void store_flush(store *s);

/* ---- state ---- */

/* True after a batch failed (disk or map full, write error) until a later
 * batch commits: the broker should block publishers meanwhile. */
bool store_is_blocked(const store *s);

/* Status of the last failed batch (WR_EFULL / WR_ESTORE), 0 when not blocked. */
int store_last_error(const store *s);

/* Largest message id present when the store was opened (0 if none): the
 * broker continues its id sequence above it. */
uint64_t store_last_msg_id(const store *s);

typedef struct store_stats {
    uint64_t commits;       /* batches committed */
    uint64_t txns;          /* write transactions committed (more than commits only when
                               a batch too large for one transaction was chunked) */
    uint64_t failed;        /* batches that failed */
    uint64_t ops;           /* operations in committed batches */
    uint64_t callbacks;     /* commit callbacks run */
    uint64_t retries;       /* batch retries after map growth */
    uint64_t map_size;      /* current map size in bytes */
    uint64_t pending_ops;   /* operations waiting in the next batch */
    uint64_t pending_bytes; /* their encoded size: a broker can apply backpressure
                               (block publishers) when the disk falls behind */
    bool writing;           /* a batch is on the storage thread */
} store_stats;

/* Fills *st (loop thread). */
void store_get_stats(const store *s, store_stats *st);

/* ---- reads (short read transactions; any thread). One read at a time per
 * thread: do not start another store read, or store_close, from inside a
 * read or iterator callback (LMDB allows one read transaction per thread).
 * Queueing operations (store_ack, ...) from an iterator callback is fine. ---- */

/* Calls cb(ctx, rec, len) with the committed record of msg_id; rec is valid
 * only during the call. Returns 0, WR_ENOTFOUND or WR_ESTORE. */
typedef void (*store_rec_cb)(void *ctx, const uint8_t *rec, size_t len);
int store_read_msg(store *s, uint64_t msg_id, store_rec_cb cb, void *ctx);

/* Appends the committed record of msg_id to out. Returns 0, WR_ENOTFOUND,
 * WR_ENOMEM or WR_ESTORE. */
int store_get_msg(store *s, uint64_t msg_id, wr_buf *out);

/* Reads several committed records in one read transaction (a lazy queue
 * fetching the next deliveries): cb(ctx, i, rec, len) for each ids[i] in
 * order, rec NULL/len 0 when missing; rec is valid only during the call.
 * Returns 0 or WR_ESTORE. */
typedef void (*store_recs_cb)(void *ctx, size_t i, const uint8_t *rec, size_t len);
int store_read_msgs(store *s, const uint64_t *ids, size_t n, store_recs_cb cb, void *ctx);

/* Definition visitor: return 0 to continue, nonzero to stop (that value is
 * then returned by the iterator). Pointers are valid only during the call. */
typedef int (*store_def_cb)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen);

/* Visits every committed definition of `kind` in key order. Returns 0, the
 * callback's nonzero value, or WR_ESTORE. */
int store_iter_defs(store *s, uint8_t kind, store_def_cb cb, void *ctx);

/* Queue visitor: one index entry in seq order; rec/len is the message record
 * (NULL/0 with STORE_ITER_NO_BODY, or when the body is missing). */
typedef int (*store_queue_cb)(void *ctx, uint64_t seq, uint64_t msg_id, uint8_t flags,
                              const uint8_t *rec, size_t len);
#define STORE_ITER_NO_BODY 0x01u

/* Visits queue_id's committed index entries in seq order, starting at
 * from_seq (0 = all). Returns 0, the callback's nonzero value, or WR_ESTORE.
 * Logs count and time. */
int store_iter_queue(store *s, uint64_t queue_id, uint64_t from_seq, unsigned iter_flags,
                     store_queue_cb cb, void *ctx);

/* Visits every queue id that has index entries, with its entry count
 * (recovery: find index entries of queues whose definition is gone). */
typedef int (*store_qid_cb)(void *ctx, uint64_t queue_id, uint64_t count);
int store_iter_queue_ids(store *s, store_qid_cb cb, void *ctx);

/* ---- test seams (unit tests only) ---- */

/* The next `count` write attempts fail with LMDB/errno code `rc` instead of
 * committing: MDB_MAP_FULL exercises map growth and retry, ENOSPC reports
 * WR_EFULL, anything else WR_ESTORE. Thread-safe. */
void store_test_fail_next(store *s, int rc, unsigned count);

/* While paused, the storage thread holds a batch it has taken without
 * writing it, so tests can queue operations during a commit. Thread-safe. */
void store_test_pause(store *s, bool paused);

#endif
