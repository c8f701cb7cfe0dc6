/* Private to broker/amqp/{channel,exchange,queue,basic,confirm,tx}.c: the
 * channel's state and the helpers the per-class handler files share. */
#ifndef WR_CHAN_INT_H
#define WR_CHAN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/amqp/channel.h"
#include "broker/core/exchange.h"
#include "broker/core/queue.h"
#include "broker/core/route.h"
#include "broker/core/vhost.h"
#include "broker/util/wr_map.h"

#define CHAN__TAG_MAX 256

/* One consumer of this channel. */
typedef struct chan_consumer {
    wr_chan *ch;
    wr_queue *q;
    wr_consumer *qc;   /* the queue's handle; NULL once cancelled */
    uint16_t prefetch; /* 0 = unlimited */
    uint32_t unacked;  /* deliveries awaiting ack */
    bool no_ack;
    bool cancelled;
    uint8_t tag_len;
    char tag[CHAN__TAG_MAX];
} chan_consumer;

/* One delivery awaiting ack (delivery tags ascend in the ring). */
typedef struct chan_unacked {
    uint64_t tag;
    wr_queue *q;
    wr_msg *msg;         /* our reference */
    uint64_t qpos;       /* the queue's position for the delivery */
    chan_consumer *cons; /* NULL for basic.get */
    bool live;
    bool held;        /* acked/rejected inside a transaction, settled at commit */
    uint8_t held_how; /* enum chan_settle */
} chan_unacked;

/* A publish buffered by tx.select until commit. */
typedef struct chan_txpub {
    wr_msg *msg; /* our reference */
    bool mandatory;
    uint8_t ex_len;
    char ex[CHAN__TAG_MAX];
} chan_txpub;

enum chan_mode { CHAN_MODE_NONE = 0, CHAN_MODE_CONFIRM, CHAN_MODE_TX };

struct wr_chan {
    wr_conn *conn;
    uint16_t id;
    wr_vhost *vhost;
    bool flow_paused; /* chan_set_paused */
    bool freeing;
    enum chan_mode mode;

    /* queue-name shortcut (last queue declared on this channel) */
    uint8_t last_q_len;
    bool has_last_q;
    char last_q[CHAN__TAG_MAX];

    /* consumers: tag -> chan_consumer* */
    wr_map consumers;
    uint16_t consumer_prefetch; /* basic.qos global=false */
    uint16_t global_prefetch;   /* basic.qos global=true, 0 = none */
    uint32_t consumer_unacked;  /* unacked deliveries to consumers (not get) */
    uint64_t ctag_seq;

    /* unacked deliveries: ring ordered by tag */
    chan_unacked *ua;
    uint32_t ua_cap, ua_head, ua_len, ua_live;
    uint64_t next_tag;

    /* publisher confirms */
    uint64_t next_seq; /* next publish sequence number (from 1) */
    uint64_t *wait;    /* seqs waiting for storage, ascending ring */
    uint32_t wait_cap, wait_head, wait_len;
    uint64_t *acks; /* confirmed, not yet sent (ascending) */
    uint32_t acks_cap, acks_len;
    uint64_t *nacks; /* rejected, not yet sent */
    uint32_t nacks_cap, nacks_len;
    struct store *store;         /* chan_set_store; NULL: nothing waits */
    uint64_t commit_upto;        /* highest waiting seq a store commit covers */
    struct chan_ticket *tickets; /* outstanding store commits, oldest first */
    struct chan_defer *defers;   /* -ok replies waiting for a store commit (defer.c) */
    uint64_t store_mark;         /* store pending_ops when the current method began */

    /* direct reply-to (amq.rabbitmq.reply-to): the channel's reply consumer */
    bool has_reply;
    uint8_t reply_tag_len, reply_name_len;
    char reply_tag[CHAN__TAG_MAX];
    char reply_name[64]; /* "amq.rabbitmq.reply-to.<token>" */

    /* last exchange publish was permitted on (RabbitMQ caches permission
     * checks per channel too): saves a regex search per message */
    bool pub_ok_valid;
    uint8_t pub_ok_len;
    char pub_ok[CHAN__TAG_MAX];

    wr_route_result route; /* reused for every publish (no allocation per message) */

    /* transactions */
    chan_txpub *txp;
    uint32_t txp_len, txp_cap;
};

/* handler entry points per class (return 0 / WR_EAMQP / WR_ENOMEM) */
int chan__exchange(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err);
int chan__queue(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err);
int chan__basic(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err);
int chan__confirm(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err);
int chan__tx(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err);

/* Sends a method with no arguments beyond its id (…-ok replies). */
int chan__reply(wr_chan *ch, uint32_t id);
/* Sends a method on this channel. */
int chan__send(wr_chan *ch, const amqp091_method *m);

/* Permission check: 403 "access to <kind> '<name>' in vhost '<v>' refused
 * for user '<u>'" when denied. kind is "queue" or "exchange". */
int chan__check_perm(wr_chan *ch, unsigned perm, const char *kind, wr_bytes name, uint32_t mid,
                     wr_amqp_error *err);

/* Resolves the empty-name shortcut: returns the name to use or fills 404
 * "no previously declared queue". */
int chan__queue_name(wr_chan *ch, wr_bytes in, wr_bytes *out, uint32_t mid, wr_amqp_error *err);
/* Records the last declared queue. */
void chan__set_last_queue(wr_chan *ch, wr_bytes name);

/* Looks a queue up for use by this connection: 404 when missing, 405 when
 * exclusive to another connection. */
int chan__find_queue(wr_chan *ch, wr_bytes name, uint32_t mid, wr_queue **out, wr_amqp_error *err);

/* Vhost name for messages. */
const char *chan__vhost_name(wr_chan *ch);

/* Unacked ring: settle (ack / requeue / discard) deliveries. */
enum chan_settle { CHAN_ACK = 0, CHAN_REQUEUE = 1, CHAN_DISCARD = 2 };
/* Validates tag/multiple like RabbitMQ (406 "unknown delivery tag N")
 * without changing anything. */
int chan__check_tag(wr_chan *ch, uint64_t tag, bool multiple, uint32_t mid, wr_amqp_error *err);
/* Settles the deliveries selected by tag/multiple (tag must be valid). */
void chan__settle(wr_chan *ch, uint64_t tag, bool multiple, enum chan_settle how);
/* Requeues every unacked delivery in order (basic.recover, chan_free). */
void chan__requeue_all(wr_chan *ch);

/* Routes and delivers one message (publish outside tx, tx.commit). Takes
 * over the reference to msg. Records confirm/return. */
int chan__route(wr_chan *ch, wr_exchange *ex, bool mandatory, wr_msg *msg);

/* basic.get-ok: sends the message and records the delivery (takes over the
 * reference in g->msg). */
int chan__record_get(wr_chan *ch, wr_queue *q, const queue_got *g, bool no_ack);
/* basic.return 312 NO_ROUTE with the content. */
int chan__return(wr_chan *ch, wr_msg *msg);
/* Server-generated names: "<prefix>-" + 22 url-safe base64 chars. */
void chan__gen_name(wr_chan *ch, const char *prefix, char *out, size_t cap, uint8_t *outlen);
extern const queue_consumer_ops chan__consumer_ops;

/* A store commit requested for the waiting seqs <= upto. */
typedef struct chan_ticket {
    wr_chan *ch; /* NULL once the channel is gone */
    uint64_t upto;
    struct chan_ticket *next;
} chan_ticket;
/* Requests a store commit for newly waiting seqs (chan_flush). */
void chan__confirm_commit(wr_chan *ch);
/* Detaches outstanding tickets (chan_free). */
void chan__confirm_detach(wr_chan *ch);

/* Confirm bookkeeping */
uint64_t chan__confirm_next(wr_chan *ch);          /* allocates a seq */
int chan__confirm_wait(wr_chan *ch, uint64_t seq); /* waits for storage */
void chan__confirm_done(wr_chan *ch, uint64_t seq, bool ok);

/* -ok replies after a store commit (defer.c). chan__store_mark records the
 * store's pending operation count when a method begins; chan__send_stored
 * sends m now when the method wrote nothing to the store (and no earlier
 * reply waits), else once the commit is done, holding the connection's
 * input meanwhile. req_id: the request method (for a 541 on store failure).
 * chan__reply_stored: the same for an -ok without arguments (request id =
 * id - 1). chan__defer_detach: the channel is freed (chan_free). */
void chan__store_mark(wr_chan *ch);
int chan__send_stored(wr_chan *ch, const amqp091_method *m, uint32_t req_id);
int chan__reply_stored(wr_chan *ch, uint32_t id);
void chan__defer_detach(wr_chan *ch);

/* Tx helpers */
void chan__tx_clear(wr_chan *ch);
int chan__tx_add_pub(wr_chan *ch, wr_bytes ex, bool mandatory, wr_msg *msg);
/* Marks the deliveries selected by tag/multiple as settled-at-commit. */
void chan__tx_hold(wr_chan *ch, uint64_t tag, bool multiple, enum chan_settle how);
/* Settles held deliveries (commit=true) or makes them unacked again. */
void chan__tx_release(wr_chan *ch, bool commit);

/* Direct reply-to. */
#define CHAN__REPLY_TO "amq.rabbitmq.reply-to"
bool chan__is_reply_to(wr_bytes name);      /* exactly amq.rabbitmq.reply-to */
bool chan__is_reply_name(wr_bytes name);    /* amq.rabbitmq.reply-to.<anything> */
wr_chan *chan__reply_lookup(wr_bytes name); /* the channel owning a reply name */
int chan__reply_consume(wr_chan *ch, const amqp091_basic_consume *a, uint32_t mid,
                        wr_amqp_error *err);
void chan__reply_cancel(wr_chan *ch);
/* Delivers a message published to a reply name (no-ack). */
int chan__reply_deliver(wr_chan *ch, wr_msg *msg);

/* Field-table helpers (exchange.c): value formatting for error texts
 * (type names: ftable_type_name), and per-key argument equality. */
void chan__fmt_arg(wr_bytes table, const char *key, char *out, size_t cap);
bool chan__arg_equal(wr_bytes a, wr_bytes b, const char *key);
/* binding_action (exchange.c), shared by exchange.bind/unbind and queue.bind/unbind. */
int chan__binding(wr_chan *ch, bool bind, bool dest_is_queue, wr_bytes src, wr_bytes dst,
                  wr_bytes rk, wr_bytes args, uint32_t mid, wr_amqp_error *err);

/* Consumers */
void chan__consumer_drop(wr_chan *ch, chan_consumer *c, bool notify);
/* Lets queues with consumers on this channel deliver again (credit freed). */
void chan__kick(wr_chan *ch);

#endif
