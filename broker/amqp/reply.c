/* Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to pseudo-queue): a channel
 * consumes from the pseudo-queue in no-ack mode; messages it publishes with
 * reply_to = amq.rabbitmq.reply-to carry amq.rabbitmq.reply-to.<token>
 * instead, and whatever is published to that name on the default exchange
 * goes straight to the consumer, never through a queue. */
#include <string.h>

#include "broker/amqp/chan_int.h"
#include "broker/net/conn.h"

/* token -> wr_chan*, process-wide; loop thread only */
static wr_map reply_reg;
static bool reply_reg_init;

#define PREFIX_LEN (sizeof(CHAN__REPLY_TO) - 1)

bool chan__is_reply_to(wr_bytes name)
{
    return name.len == PREFIX_LEN && memcmp(name.ptr, CHAN__REPLY_TO, PREFIX_LEN) == 0;
}

bool chan__is_reply_name(wr_bytes name)
{
    return name.len > PREFIX_LEN + 1 && memcmp(name.ptr, CHAN__REPLY_TO ".", PREFIX_LEN + 1) == 0;
}

wr_chan *chan__reply_lookup(wr_bytes name)
{
    if (!reply_reg_init || !chan__is_reply_name(name)) return NULL;
    return wr_map_get(&reply_reg, name.ptr, name.len);
}

int chan__reply_consume(wr_chan *ch, const amqp091_basic_consume *a, uint32_t mid,
                        wr_amqp_error *err)
{
    if (ch->has_reply) return wr_amqp_fail(err, 406, mid, "reply consumer already set");
    if (!a->no_ack) return wr_amqp_fail(err, 406, mid, "reply consumer cannot acknowledge");
    if (!reply_reg_init) {
        wr_map_init(&reply_reg);
        reply_reg_init = true;
    }
    if (a->consumer_tag.len) {
        memcpy(ch->reply_tag, a->consumer_tag.ptr, a->consumer_tag.len);
        ch->reply_tag_len = (uint8_t)a->consumer_tag.len;
    } else {
        chan__gen_name(ch, "amq.ctag", ch->reply_tag, sizeof(ch->reply_tag), &ch->reply_tag_len);
    }
    chan__gen_name(ch, CHAN__REPLY_TO, ch->reply_name, sizeof(ch->reply_name), &ch->reply_name_len);
    ch->reply_name[PREFIX_LEN] = '.'; /* gen_name wrote '-' */
    if (wr_map_put(&reply_reg, ch->reply_name, ch->reply_name_len, ch) < 0) return WR_ENOMEM;
    ch->has_reply = true;
    if (a->nowait) return 0;
    amqp091_method r;
    memset(&r, 0, sizeof(r));
    r.id = AMQP091_BASIC_CONSUME_OK;
    r.u.basic_consume_ok.consumer_tag.ptr = (const uint8_t *)ch->reply_tag;
    r.u.basic_consume_ok.consumer_tag.len = ch->reply_tag_len;
    return chan__send(ch, &r);
}

void chan__reply_cancel(wr_chan *ch)
{
    if (!ch->has_reply) return;
    wr_map_del(&reply_reg, ch->reply_name, ch->reply_name_len);
    ch->has_reply = false;
}

int chan__reply_deliver(wr_chan *ch, wr_msg *msg)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_DELIVER;
    m.u.basic_deliver.consumer_tag.ptr = (const uint8_t *)ch->reply_tag;
    m.u.basic_deliver.consumer_tag.len = ch->reply_tag_len;
    m.u.basic_deliver.delivery_tag = ch->next_tag++;
    m.u.basic_deliver.exchange = msg->exchange;
    m.u.basic_deliver.routing_key = msg->routing_key;
    return conn_send_content(ch->conn, ch->id, &m, msg);
}
