/* -ok replies that wait for a store commit: declare/delete/bind/unbind/purge
 * of durable entities and tx.commit with persistent messages go out only
 * once what they changed is on disk. While one waits, the connection's
 * input is held (conn_hold) so the replies that follow keep their order;
 * the loop never blocks. */
#include <stdlib.h>
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "broker/net/conn.h"
#include "broker/util/wr_log.h"
#include "storage/store.h"

typedef struct chan_defer {
    wr_chan *ch; /* NULL once the channel is gone */
    uint32_t req_id;
    amqp091_method m;
    struct chan_defer *next;
    char name[256]; /* queue.declare-ok's queue name */
} chan_defer;

void chan__store_mark(wr_chan *ch)
{
    if (!ch->store) return;
    store_stats st;
    store_get_stats(ch->store, &st);
    ch->store_mark = st.pending_ops;
}

static void defer_done(void *ctx, int status)
{
    chan_defer *d = ctx;
    wr_chan *ch = d->ch;
    if (!ch) {
        free(d);
        return;
    }
    chan_defer **pp = &ch->defers;
    while (*pp && *pp != d) pp = &(*pp)->next;
    if (*pp) *pp = d->next;
    wr_conn *conn = ch->conn;
    if (status == 0) {
        (void)chan__send(ch, &d->m);
    } else {
        wr_amqp_error e;
        wr_error("store: a durable change on connection %s could not be written (%s)",
                 conn_name(conn), wr_strerror(status));
        wr_amqp_fail(&e, 541, d->req_id, "store failure: %s", wr_strerror(status));
        conn_close_with(conn, &e);
    }
    free(d);
    conn_hold(conn, false); /* may handle the frames held behind it */
}

int chan__send_stored(wr_chan *ch, const amqp091_method *m, uint32_t req_id)
{
    if (!ch->store) return chan__send(ch, m);
    store_stats st;
    store_get_stats(ch->store, &st);
    if (st.pending_ops == ch->store_mark && !ch->defers) return chan__send(ch, m);
    chan_defer *d = malloc(sizeof(*d));
    if (!d) return WR_ENOMEM;
    d->ch = ch;
    d->req_id = req_id;
    d->m = *m;
    d->next = NULL;
    if (m->id == AMQP091_QUEUE_DECLARE_OK) {
        wr_bytes q = m->u.queue_declare_ok.queue;
        size_t n = q.len < sizeof(d->name) ? q.len : sizeof(d->name) - 1;
        memcpy(d->name, q.ptr, n);
        d->m.u.queue_declare_ok.queue = wr_bytes_of(d->name, n);
    }
    if (store_commit(ch->store, defer_done, d) < 0) {
        free(d);
        return chan__send(ch, m);
    }
    chan_defer **pp = &ch->defers;
    while (*pp) pp = &(*pp)->next;
    *pp = d;
    conn_hold(ch->conn, true);
    return 0;
}

int chan__reply_stored(wr_chan *ch, uint32_t id)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    return chan__send_stored(ch, &m, id - 1);
}

void chan__defer_detach(wr_chan *ch)
{
    chan_defer *d = ch->defers;
    ch->defers = NULL;
    for (; d; d = d->next) {
        d->ch = NULL;
        conn_hold(ch->conn, false);
    }
}
