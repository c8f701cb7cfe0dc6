/* confirm class and publisher-confirm bookkeeping.
 *
 * Every publish on a confirm channel gets a sequence number (from 1). A
 * sequence number is then in exactly one of: `wait` (routed to a durable
 * queue as a persistent message, waiting for the store's commit), `acks`
 * (confirmed, not yet told), `nacks` (rejected, not yet told), or already
 * sent. chan_flush sends one basic.ack multiple=true covering every
 * confirmed seq below the oldest still waiting or nacked, then the rest. */
#include <stdlib.h>
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "storage/store.h"

int chan__confirm(wr_chan *ch, const amqp091_method *m, wr_amqp_error *err)
{
    if (m->id != AMQP091_CONFIRM_SELECT)
        return wr_amqp_fail(err, 503, m->id, "unimplemented method");
    if (ch->mode == CHAN_MODE_TX)
        return wr_amqp_fail(err, 406, m->id, "cannot switch from tx to confirm mode");
    ch->mode = CHAN_MODE_CONFIRM;
    if (m->u.confirm_select.nowait) return 0;
    return chan__reply(ch, AMQP091_CONFIRM_SELECT_OK);
}

uint64_t chan__confirm_next(wr_chan *ch)
{
    return ch->next_seq++;
}

static int u64_push(uint64_t **v, uint32_t *len, uint32_t *cap, uint64_t x)
{
    if (*len == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 64;
        uint64_t *n = realloc(*v, sizeof(*n) * ncap);
        if (!n) return WR_ENOMEM;
        *v = n;
        *cap = ncap;
    }
    (*v)[(*len)++] = x;
    return 0;
}

void chan_set_store(wr_chan *ch, struct store *s)
{
    ch->store = s;
}

/* Store commit finished: every waiting seq up to t->upto is durable (or
 * failed: nack). Runs on the loop thread from the store's callback. */
static void ticket_done(void *ctx, int status)
{
    chan_ticket *t = ctx;
    wr_chan *ch = t->ch;
    if (ch) {
        ch->tickets = t->next; /* commits complete in request order */
        uint32_t mask = ch->wait_cap - 1;
        while (ch->wait_len && ch->wait[ch->wait_head] <= t->upto) {
            uint64_t seq = ch->wait[ch->wait_head];
            ch->wait_head = (ch->wait_head + 1) & mask;
            ch->wait_len--;
            chan__confirm_done(ch, seq, status == 0);
        }
        chan_flush(ch);
    }
    free(t);
}

void chan__confirm_commit(wr_chan *ch)
{
    if (!ch->store || !ch->wait_len) return;
    uint64_t last = ch->wait[(ch->wait_head + ch->wait_len - 1) & (ch->wait_cap - 1)];
    if (last <= ch->commit_upto) return;
    chan_ticket *t = malloc(sizeof(*t));
    if (!t) return; /* retried at the next flush */
    t->ch = ch;
    t->upto = last;
    t->next = NULL;
    if (store_commit(ch->store, ticket_done, t) < 0) {
        free(t);
        return;
    }
    chan_ticket **pp = &ch->tickets;
    while (*pp) pp = &(*pp)->next;
    *pp = t;
    ch->commit_upto = last;
}

void chan__confirm_detach(wr_chan *ch)
{
    for (chan_ticket *t = ch->tickets; t; t = t->next) t->ch = NULL;
    ch->tickets = NULL;
}

int chan__confirm_wait(wr_chan *ch, uint64_t seq)
{
    if (!ch->store) {
        /* nothing to wait for: storage is not attached */
        chan__confirm_done(ch, seq, true);
        return 0;
    }
    /* `wait` is a ring; seqs enter ascending */
    if (ch->wait_len == ch->wait_cap) {
        uint32_t ncap = ch->wait_cap ? ch->wait_cap * 2 : 64;
        uint64_t *n = malloc(sizeof(*n) * ncap);
        if (!n) return WR_ENOMEM;
        for (uint32_t i = 0; i < ch->wait_len; i++)
            n[i] = ch->wait[(ch->wait_head + i) & (ch->wait_cap - 1)];
        free(ch->wait);
        ch->wait = n;
        ch->wait_cap = ncap;
        ch->wait_head = 0;
    }
    ch->wait[(ch->wait_head + ch->wait_len++) & (ch->wait_cap - 1)] = seq;
    return 0;
}

void chan__confirm_done(wr_chan *ch, uint64_t seq, bool ok)
{
    int rc = ok ? u64_push(&ch->acks, &ch->acks_len, &ch->acks_cap, seq)
                : u64_push(&ch->nacks, &ch->nacks_len, &ch->nacks_cap, seq);
    if (rc < 0) {
        /* out of memory: tell the client right away rather than never */
        amqp091_method m;
        memset(&m, 0, sizeof(m));
        m.id = ok ? AMQP091_BASIC_ACK : AMQP091_BASIC_NACK;
        if (ok)
            m.u.basic_ack.delivery_tag = seq;
        else
            m.u.basic_nack.delivery_tag = seq;
        chan__send(ch, &m);
    }
}

void chan_confirm_stored(wr_chan *ch, uint64_t seq, bool ok)
{
    uint32_t mask = ch->wait_cap - 1;
    for (uint32_t i = 0; i < ch->wait_len; i++) {
        uint64_t *p = &ch->wait[(ch->wait_head + i) & mask];
        if (*p != seq) continue;
        /* close the gap (usually i == 0: commits come back in order) */
        for (uint32_t j = i; j > 0; j--)
            ch->wait[(ch->wait_head + j) & mask] = ch->wait[(ch->wait_head + j - 1) & mask];
        ch->wait_head = (ch->wait_head + 1) & mask;
        ch->wait_len--;
        chan__confirm_done(ch, seq, ok);
        return;
    }
}

static void sort_u64(uint64_t *v, uint32_t n)
{
    /* nearly sorted input: insertion sort */
    for (uint32_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        uint32_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void send_conf(wr_chan *ch, bool ack, uint64_t tag, bool multiple)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    if (ack) {
        m.id = AMQP091_BASIC_ACK;
        m.u.basic_ack.delivery_tag = tag;
        m.u.basic_ack.multiple = multiple;
    } else {
        m.id = AMQP091_BASIC_NACK;
        m.u.basic_nack.delivery_tag = tag;
        m.u.basic_nack.multiple = multiple;
        m.u.basic_nack.requeue = false;
    }
    chan__send(ch, &m);
}

void chan_flush(wr_chan *ch)
{
    chan__confirm_commit(ch);
    if (!ch->acks_len && !ch->nacks_len) return;
    sort_u64(ch->acks, ch->acks_len);
    sort_u64(ch->nacks, ch->nacks_len);
    uint64_t cut = UINT64_MAX;
    if (ch->wait_len) cut = ch->wait[ch->wait_head];
    if (ch->nacks_len && ch->nacks[0] < cut) cut = ch->nacks[0];
    uint32_t below = 0;
    while (below < ch->acks_len && ch->acks[below] < cut) below++;
    /* RabbitMQ: a lone confirm goes out with multiple=false */
    if (below == 1)
        send_conf(ch, true, ch->acks[0], false);
    else if (below > 1)
        send_conf(ch, true, ch->acks[below - 1], true);
    for (uint32_t i = 0; i < ch->nacks_len; i++) send_conf(ch, false, ch->nacks[i], false);
    for (uint32_t i = below; i < ch->acks_len; i++) send_conf(ch, true, ch->acks[i], false);
    ch->acks_len = 0;
    ch->nacks_len = 0;
}
