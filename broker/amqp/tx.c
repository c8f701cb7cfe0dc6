/* tx class: publishes and acks are buffered until tx.commit (RabbitMQ 3.8
 * semantics: an ack inside a transaction removes the delivery tag from the
 * channel's unacked set at once, so acking it twice is "unknown delivery
 * tag"; tx.rollback puts it back). */
#include <stdlib.h>
#include <string.h>

#include "broker/amqp/chan_int.h"

void chan__tx_clear(wr_chan *ch)
{
    for (uint32_t i = 0; i < ch->txp_len; i++) msg_unref(ch->txp[i].msg);
    ch->txp_len = 0;
}

int chan__tx_add_pub(wr_chan *ch, wr_bytes ex, bool mandatory, wr_msg *msg)
{
    if (ch->txp_len == ch->txp_cap) {
        uint32_t ncap = ch->txp_cap ? ch->txp_cap * 2 : 16;
        chan_txpub *n = realloc(ch->txp, sizeof(*n) * ncap);
        if (!n) {
            msg_unref(msg);
            return WR_ENOMEM;
        }
        ch->txp = n;
        ch->txp_cap = ncap;
    }
    chan_txpub *t = &ch->txp[ch->txp_len++];
    t->msg = msg;
    t->mandatory = mandatory;
    size_t n = ex.len < CHAN__TAG_MAX ? ex.len : CHAN__TAG_MAX - 1;
    memcpy(t->ex, ex.ptr, n);
    t->ex_len = (uint8_t)n;
    return 0;
}

static int tx_commit(wr_chan *ch)
{
    int rc = 0;
    /* publishes first, in order; an exchange deleted since the publish
     * leaves the message unroutable */
    for (uint32_t i = 0; i < ch->txp_len; i++) {
        chan_txpub *t = &ch->txp[i];
        wr_bytes name = {(const uint8_t *)t->ex, t->ex_len};
        wr_exchange *ex = vhost_exchange(ch->vhost, name);
        wr_msg *msg = t->msg;
        t->msg = NULL;
        int r = chan__route(ch, ex, t->mandatory, msg);
        if (r < 0 && rc == 0) rc = r;
    }
    ch->txp_len = 0;
    chan__tx_release(ch, true);
    return rc;
}

int chan__tx(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err)
{
    switch (m->id) {
    case AMQP091_TX_SELECT:
        if (ch->mode == CHAN_MODE_CONFIRM)
            return wr_amqp_fail(err, 406, m->id, "cannot switch from confirm to tx mode");
        ch->mode = CHAN_MODE_TX;
        return chan__reply(ch, AMQP091_TX_SELECT_OK);
    case AMQP091_TX_COMMIT: {
        if (ch->mode != CHAN_MODE_TX)
            return wr_amqp_fail(err, 406, m->id, "channel is not transactional");
        int rc = tx_commit(ch);
        if (rc < 0) return rc;
        return chan__reply_stored(ch, AMQP091_TX_COMMIT_OK);
    }
    case AMQP091_TX_ROLLBACK:
        if (ch->mode != CHAN_MODE_TX)
            return wr_amqp_fail(err, 406, m->id, "channel is not transactional");
        chan__tx_clear(ch);
        chan__tx_release(ch, false);
        return chan__reply(ch, AMQP091_TX_ROLLBACK_OK);
    default:
        return wr_amqp_fail(err, 503, m->id, "unimplemented method");
    }
}
