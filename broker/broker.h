/* wr_broker: the server's state on its loop thread (private to broker/).
 *
 * One broker per warren instance: the configuration it runs with, users,
 * vhosts, listeners, the list of connections and the per-loop-turn output
 * flush. Everything here runs on the broker's loop thread; only
 * warren_stop() (through uv_async) may be called from elsewhere. */
#ifndef WR_BROKER_H
#define WR_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "broker/alarm.h"
#include "broker/auth/user.h"
#include "broker/config/config.h"
#include "broker/util/wr_buf.h"
#include "broker/util/wr_map.h"

typedef struct wr_conn wr_conn;
typedef struct wr_vhost wr_vhost;

#define BROKER_MAX_LISTENERS (2 * CFG_MAX_LISTENERS)
#define BROKER_VERSION       "3.8.3" /* what connection.start advertises (clients check it) */
#define BROKER_PLATFORM      "Erlang/OTP 22.3.2"

typedef struct wr_broker wr_broker;

struct wr_broker {
    uv_loop_t *loop;
    const cfg_config *cfg;
    wr_user_db *users;
    wr_map vhosts; /* name -> wr_vhost* */

    char node_name[256];
    char cluster_name[256];
    char node_id[33]; /* persistent random id (hex), kept in the data dir */

    uv_tcp_t listeners[BROKER_MAX_LISTENERS];
    int n_listeners;
    uint16_t amqp_port; /* port of the first listener (after binding port 0) */

    wr_buf start_frame; /* connection.start, encoded once */

    /* connections: a doubly linked list, and those with output to flush */
    wr_conn *conns;
    uint32_t n_conns;
    wr_conn *dirty;
    wr_conn *resume; /* read budget used up this loop turn: read again next turn */
    uint64_t turn;   /* loop turns (prepare phase) */
    uint64_t conn_seq;

    uv_prepare_t prepare; /* flushes output queued by timers */
    uv_check_t check;     /* flushes output queued by I/O callbacks */
    uv_async_t stop_async;
    uv_timer_t stop_timer;
    uv_timer_t tick_timer; /* vhost_tick every 100 ms (TTL, x-expires, reaping) */
    int open_handles;      /* broker-level handles not yet closed */

    bool started;
    bool stopping;
    bool finishing; /* closing the last connections and our handles */
    bool stopped;   /* every handle closed */
    bool blocked;   /* publishers are blocked (resource alarm) */
    char blocked_reason[128];
    struct store *store; /* broker/persist.h: the node's store, NULL without data dir */
    bool store_blocked;  /* publishers blocked because store writes fail */
    bool store_probe;    /* a probe commit is out while blocked */
    bool store_closing;  /* persist_close wrote the clean-stop record */
    wr_alarm alarm;      /* broker/alarm.h: memory / disk / store alarms */
    void (*on_stopped)(void *ud);
    void *on_stopped_ud;
};

/* Prepares a broker on loop with cfg (borrowed: it must outlive the broker):
 * users, default vhost, node identity, the connection.start frame. Nothing
 * listens yet. Returns 0, WR_ENOMEM, WR_EIO, WR_ECONFIG (err filled). */
int broker_init(wr_broker *b, uv_loop_t *loop, const cfg_config *cfg, char *err, size_t errlen);

/* Starts the listeners and the per-turn flush handles. Returns 0 or WR_EIO
 * (err names the address). On error nothing is listening. */
int broker_start(wr_broker *b, char *err, size_t errlen);

/* Begins a clean stop on the loop thread: closes the listeners, sends every
 * connection connection.close 320 "shutdown", and after at most ~1 s closes
 * what is left. on_stopped (if set) runs once every broker handle is closed;
 * the loop then has nothing of ours left. Idempotent. */
void broker_stop(wr_broker *b);

/* Frees what broker_init allocated; the loop must no longer run our handles
 * (after on_stopped, or if broker_start was never called). */
void broker_free(wr_broker *b);

/* Looks up a vhost by name. NULL when absent. */
wr_vhost *broker_vhost(wr_broker *b, const char *name, size_t len);

/* Adds a vhost (no-op when it exists). Returns 0 or WR_ENOMEM. */
int broker_add_vhost(wr_broker *b, const char *name, wr_vhost **out);

/* Blocks (or unblocks) publishing connections broker-wide: connections that
 * publish stop being read, and those that support it get connection.blocked /
 * connection.unblocked. reason is sent with connection.blocked. */
void broker_set_blocked(wr_broker *b, bool blocked, const char *reason);

/* Listeners (broker/net/listener.c): bind every configured TCP listener.
 * Returns 0 or WR_EIO with err filled; on error the ones opened are closed. */
int listener_start_all(wr_broker *b, char *err, size_t errlen);

/* Closes the listeners (idempotent). */
void listener_close_all(wr_broker *b);

#endif
