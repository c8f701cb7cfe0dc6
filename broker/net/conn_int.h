/* Private to broker/net/conn.c and broker/amqp/connection.c: the connection's
 * state and the calls between the socket side and the protocol side. */
#ifndef WR_NET_CONN_INT_H
#define WR_NET_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "broker/broker.h"
#include "broker/net/conn.h"
#include "broker/proto/frame.h"
#include "broker/util/wr_buf.h"

enum conn_state {
    CONN_HEADER = 0, /* waiting for the 8-byte protocol header */
    CONN_STARTING,   /* connection.start sent, waiting for start-ok */
    CONN_TUNING,     /* connection.tune sent, waiting for tune-ok */
    CONN_OPENING,    /* waiting for connection.open */
    CONN_RUNNING,
    CONN_CLOSING, /* we sent connection.close, waiting for close-ok */
    CONN_CLOSED,  /* the socket closes once the output is flushed */
    CONN_DEAD,    /* handles closing; freed in the last close callback */
};

/* Per-channel content assembly (basic.publish method -> header -> bodies). */
enum conn_asm_state { ASM_NONE = 0, ASM_HEADER, ASM_BODY };

typedef struct conn_asm {
    uint8_t state;             /* enum conn_asm_state */
    amqp091_basic_publish pub; /* exchange/routing_key point at ex/rk below */
    wr_msg *msg;               /* our reference while bodies arrive */
    uint64_t remaining;
    char ex[256];
    char rk[256];
} conn_asm;

enum conn_chan_state { CH_NONE = 0, CH_OPEN, CH_CLOSING /* channel.close sent, chan freed */ };

typedef struct conn_chan {
    struct wr_chan *chan;
    conn_asm *as; /* allocated on the first publish */
    uint8_t state;
    bool touched; /* handled input in this read batch: chan_flush after it */
} conn_chan;

struct wr_conn {
    wr_broker *b;
    wr_conn *prev, *next; /* broker list */
    wr_conn *dirty_next;  /* broker dirty list */
    bool dirty;
    uint64_t id;

    uv_tcp_t tcp;
    uv_timer_t hs_timer; /* handshake / close-ok timeout */
    uv_timer_t hb_timer; /* heartbeats, ticks every heartbeat/2 */
    int open_handles;

    enum conn_state state;
    bool reading;
    bool read_paused_bp;    /* output above high water */
    bool read_paused_block; /* broker blocked and we publish */
    bool in_unblocked;      /* alarm cleared: process held input at the next check */
    bool read_paused_turn;  /* read budget of this loop turn used up */
    wr_conn *resume_next;
    uint64_t turn; /* loop turn turn_bytes counts for */
    size_t turn_bytes;
    bool blocked_sent;
    bool chans_torn_down;
    bool peer_loopback;
    bool in_batch;      /* processing a read batch */
    bool discard_input; /* after a fatal frame error: the stream is out of sync */
    uint32_t hold;      /* conn_hold: input processing stopped (durable -ok pending) */

    /* input */
    wr_buf in;

    /* output: out collects frames; wbuf is the buffer being written */
    wr_buf out;
    wr_buf wbuf;
    uv_write_t wreq;
    bool writing;
    uv_buf_t wuv;

    /* negotiated */
    uint16_t channel_max;
    uint32_t frame_max;
    uint16_t heartbeat;
    uint32_t recv_frame_max; /* limit for incoming frames (initial_frame_max before tune) */

    /* heartbeat bookkeeping (no syscall per frame) */
    bool sent_since_tick;
    bool recv_since_tick;
    uint32_t idle_ticks;

    /* identity */
    const wr_user *user;
    wr_vhost *vhost;
    char vhost_name[256];
    char name[160];
    char mechanism[32];
    wr_bytes client_props; /* points into client_props_mem */
    uint8_t *client_props_mem;
    uint64_t caps; /* CONN_CAP_* bits from the client's capabilities */

    /* channels, indexed by channel number */
    conn_chan *chans;
    uint32_t chans_cap;
    uint32_t n_open;
    uint16_t *touched;
    uint32_t n_touched;
    uint32_t touched_cap;
};

#define CONN_CAP_AUTH_FAILURE_CLOSE         (1u << 0)
#define CONN_CAP_CONNECTION_BLOCKED         (1u << 1)
#define CONN_CAP_CONSUMER_CANCEL_NOTIFY     (1u << 2)
#define CONN_CAP_PUBLISHER_CONFIRMS         (1u << 3)
#define CONN_CAP_BASIC_NACK                 (1u << 4)
#define CONN_CAP_EXCHANGE_EXCHANGE_BINDINGS (1u << 5)
#define CONN_CAP_PER_CONSUMER_QOS           (1u << 6)

/* Bytes read from one connection per loop turn before it yields to the
 * others (a flooding publisher must not starve consumers' acks). */
#define CONN_READ_BUDGET (64u << 10)

/* conn.c: re-enables reading for connections that used their budget. */
void conn__resume_all(wr_broker *b);

/* Processes c's held input (a publish that waited for a resource alarm) at
 * this turn's check phase, outside the caller's callback chain. */
void conn__resume_later(wr_conn *c);

/* Output above this stops reading and delivering; below LOW resumes. */
#define CONN_OUT_HIGH_WATER (4u << 20)
#define CONN_OUT_LOW_WATER  (1u << 20)

/* conn.c: accepts a new connection from a listener. Returns 0 or a WR_E* code
 * (the pending connection is then dropped). */
int conn__accept(wr_broker *b, uv_stream_t *server);

/* conn.c: queues a method even on a closing connection (connection.close-ok
 * answering a client's close that crossed ours). */
int conn__send_method_always(wr_conn *c, uint16_t ch, const amqp091_method *m);

/* conn.c: marks the connection for closing once its output is flushed. */
void conn__close_after_flush(wr_conn *c);

/* conn.c: closes the socket now (no more output) and frees later. */
void conn__destroy(wr_conn *c);

/* conn.c: marks output pending (flushed in the broker's prepare/check). */
void conn__mark_dirty(wr_conn *c);

/* conn.c: writes every dirty connection's output (broker prepare/check). */
void conn__flush_all(wr_broker *b);

/* conn.c: pauses or resumes reading for the broker-wide block. */
void conn__update_reading(wr_conn *c);

/* conn.c: starts the heartbeat timer after tune-ok (heartbeat > 0). */
void conn__start_heartbeat(wr_conn *c);

/* conn.c: (re)arms the one-shot timer for the handshake or close-ok wait. */
void conn__arm_timeout(wr_conn *c, uint64_t ms);

/* connection.c: encodes the broker's connection.start frame into b->start_frame.
 * Returns 0 or WR_ENOMEM. */
int connection__build_start(wr_broker *b);

/* connection.c: the protocol header arrived (8 bytes). Returns 0 or <0 to stop. */
int connection__header(wr_conn *c, const uint8_t *hdr);

/* connection.c: handles one frame. Returns 0 to go on, <0 to stop reading the batch. */
int connection__frame(wr_conn *c, const wr_frame *f);

/* connection.c: a frame did not parse (WR_EMALFORMED / WR_ETOOBIG from
 * frame_parse); raises the right error. hdr = the first bytes of the frame. */
void connection__bad_frame(wr_conn *c, int rc, const uint8_t *buf, size_t len);

/* connection.c: after a read batch: chan_flush touched channels, free
 * channels of a closing connection. */
void connection__after_batch(wr_conn *c);

/* connection.c: frees every channel and pending assembly (teardown). */
void connection__free_channels(wr_conn *c);

/* connection.c: broker shutdown: connection.close 320. */
void connection__shutdown(wr_conn *c);

/* connection.c: broker block state changed. */
void connection__blocked_changed(wr_conn *c);

/* connection.c: true when the frame is a basic.publish method (block check). */
bool connection__is_publish(const wr_frame *f);

#endif
