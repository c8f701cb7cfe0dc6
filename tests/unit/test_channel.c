/* Channel handlers against the real core (vhost, queues, exchanges) with a
 * fake connection: the link seam is conn_* (and the user checks), which this
 * file provides and which record every frame the channel sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/amqp/channel.h"
#include "broker/auth/user.h"
#include "broker/core/vhost.h"
#include "broker/net/conn.h"
#include "broker/proto/ftable.h"
#include "storage/store.h"

#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ---- fake connection ---------------------------------------------------- */

typedef struct sent {
    uint32_t id;
    uint64_t tag;
    bool flag;      /* multiple / redelivered / active */
    uint32_t count; /* message_count / consumer_count */
    uint16_t code;
    char str[256]; /* consumer tag / queue name / reply text */
    char body[64];
    char reply_to[128];
} sent;

struct fake_conn {
    sent out[512];
    int n;
    bool cancel_notify;
    bool writable;
    wr_vhost *vhost;
    bool deny_all;
};

static struct fake_conn FC;
static wr_conn *CONN = (wr_conn *)&FC;

static void copy_str(char *dst, wr_bytes b)
{
    size_t n = b.len < 255 ? b.len : 255;
    memcpy(dst, b.ptr, n);
    dst[n] = 0;
}

static sent *record(uint32_t id)
{
    assert_true(FC.n < 512);
    sent *s = &FC.out[FC.n++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    return s;
}

int conn_send_method(wr_conn *c, uint16_t ch, const amqp091_method *m)
{
    (void)c;
    (void)ch;
    sent *s = record(m->id);
    switch (m->id) {
    case AMQP091_BASIC_ACK:
        s->tag = m->u.basic_ack.delivery_tag;
        s->flag = m->u.basic_ack.multiple;
        break;
    case AMQP091_BASIC_NACK:
        s->tag = m->u.basic_nack.delivery_tag;
        s->flag = m->u.basic_nack.multiple;
        break;
    case AMQP091_BASIC_CONSUME_OK:
        copy_str(s->str, m->u.basic_consume_ok.consumer_tag);
        break;
    case AMQP091_BASIC_CANCEL_OK:
        copy_str(s->str, m->u.basic_cancel_ok.consumer_tag);
        break;
    case AMQP091_BASIC_CANCEL:
        copy_str(s->str, m->u.basic_cancel.consumer_tag);
        break;
    case AMQP091_QUEUE_DECLARE_OK:
        copy_str(s->str, m->u.queue_declare_ok.queue);
        s->tag = m->u.queue_declare_ok.message_count;
        s->count = m->u.queue_declare_ok.consumer_count;
        break;
    case AMQP091_QUEUE_PURGE_OK:
        s->count = m->u.queue_purge_ok.message_count;
        break;
    case AMQP091_QUEUE_DELETE_OK:
        s->count = m->u.queue_delete_ok.message_count;
        break;
    case AMQP091_CHANNEL_FLOW_OK:
        s->flag = m->u.channel_flow_ok.active;
        break;
    default:
        break;
    }
    return 0;
}

int conn_send_content(wr_conn *c, uint16_t ch, const amqp091_method *m, const wr_msg *msg)
{
    (void)c;
    (void)ch;
    sent *s = record(m->id);
    size_t bl = msg->body_len < 63 ? msg->body_len : 63;
    memcpy(s->body, msg->body, bl);
    s->body[bl] = 0;
    if (msg->props.flags & AMQP091_BASIC_REPLY_TO_FLAG) copy_str(s->reply_to, msg->props.reply_to);
    switch (m->id) {
    case AMQP091_BASIC_DELIVER:
        s->tag = m->u.basic_deliver.delivery_tag;
        s->flag = m->u.basic_deliver.redelivered;
        copy_str(s->str, m->u.basic_deliver.consumer_tag);
        break;
    case AMQP091_BASIC_GET_OK:
        s->tag = m->u.basic_get_ok.delivery_tag;
        s->flag = m->u.basic_get_ok.redelivered;
        s->count = m->u.basic_get_ok.message_count;
        break;
    case AMQP091_BASIC_RETURN:
        s->code = m->u.basic_return.reply_code;
        copy_str(s->str, m->u.basic_return.reply_text);
        break;
    default:
        break;
    }
    return 0;
}

static struct wr_user_fake {
    int dummy;
} FAKE_USER;

const wr_user *conn_user(const wr_conn *c)
{
    (void)c;
    return (const wr_user *)&FAKE_USER;
}

wr_vhost *conn_vhost(const wr_conn *c)
{
    (void)c;
    return FC.vhost;
}

bool conn_has_cap(const wr_conn *c, const char *cap)
{
    (void)c;
    return strcmp(cap, "consumer_cancel_notify") == 0 && FC.cancel_notify;
}

bool conn_writable(const wr_conn *c)
{
    (void)c;
    return FC.writable;
}

/* defer.c (durable -oks after a store commit): no store here, never held */
void conn_hold(wr_conn *c, bool on)
{
    (void)c;
    (void)on;
}

const char *conn_name(const wr_conn *c)
{
    (void)c;
    return "fake";
}

void conn_close_with(wr_conn *c, const wr_amqp_error *e)
{
    (void)c;
    (void)e;
}

bool user_can(const wr_user *u, const char *vhost, unsigned perm, const char *name, size_t len)
{
    (void)u;
    (void)vhost;
    (void)perm;
    (void)name;
    (void)len;
    return !FC.deny_all;
}

const char *user_name(const wr_user *u)
{
    (void)u;
    return "guest";
}

bool user_has_tag(const wr_user *u, const char *tag)
{
    (void)u;
    (void)tag;
    return false;
}

/* ---- helpers ------------------------------------------------------------ */

static wr_bytes S(const char *s)
{
    wr_bytes b = {(const uint8_t *)s, (uint32_t)strlen(s)};
    return b;
}

static int setup(void **state)
{
    (void)state;
    memset(&FC, 0, sizeof(FC));
    FC.writable = true;
    FC.cancel_notify = true;
    FC.vhost = vhost_new("/");
    assert_non_null(FC.vhost);
    wr_chan *ch = chan_new(CONN, 1);
    assert_non_null(ch);
    *state = ch;
    return 0;
}

static int teardown(void **state)
{
    chan_free(*state);
    vhost_free(FC.vhost);
    return 0;
}

static sent *last(void)
{
    assert_true(FC.n > 0);
    return &FC.out[FC.n - 1];
}

static int count_id(uint32_t id)
{
    int n = 0;
    for (int i = 0; i < FC.n; i++) n += FC.out[i].id == id;
    return n;
}

static sent *nth_id(uint32_t id, int k)
{
    for (int i = 0; i < FC.n; i++)
        if (FC.out[i].id == id && k-- == 0) return &FC.out[i];
    fail_msg("no %s #%d", amqp091_method_name(id), k);
    return NULL;
}

static int run(wr_chan *ch, amqp091_method *m, wr_amqp_error *e)
{
    memset(e, 0, sizeof(*e));
    return chan_handle(ch, m, e);
}

static void ok(wr_chan *ch, amqp091_method *m)
{
    wr_amqp_error e;
    int rc = run(ch, m, &e);
    if (rc != 0) fail_msg("%s failed: %d %s", amqp091_method_name(m->id), rc, e.text);
}

static void expect_err(wr_chan *ch, amqp091_method *m, uint16_t code, const char *text)
{
    wr_amqp_error e;
    assert_int_equal(run(ch, m, &e), WR_EAMQP);
    assert_int_equal(e.code, code);
    assert_int_equal(e.method_id, m->id);
    if (text) assert_string_equal(e.text, text);
}

static void declare_q(wr_chan *ch, const char *name)
{
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S(name);
    ok(ch, &m);
}

static wr_msg *mkmsg(const char *ex, const char *rk, const char *body)
{
    wr_msg *msg = msg_new(S(ex), S(rk), (const uint8_t *)"\0\0", 2, strlen(body));
    assert_non_null(msg);
    memcpy(msg->body, body, strlen(body));
    msg->body_filled = strlen(body);
    return msg;
}

static wr_msg *mkmsg_props(const char *ex, const char *rk, const char *body,
                           const amqp091_basic_properties *p)
{
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(amqp091_encode_basic_properties(&b, p), 0);
    wr_msg *msg = msg_new(S(ex), S(rk), b.data, (uint32_t)b.len, strlen(body));
    wr_buf_free(&b);
    assert_non_null(msg);
    memcpy(msg->body, body, strlen(body));
    msg->body_filled = strlen(body);
    return msg;
}

static int pub_full(wr_chan *ch, const char *ex, const char *rk, const char *body, bool mandatory,
                    bool immediate, wr_amqp_error *e)
{
    amqp091_basic_publish p = {
        .exchange = S(ex), .routing_key = S(rk), .mandatory = mandatory, .immediate = immediate};
    memset(e, 0, sizeof(*e));
    int rc = chan_publish(ch, &p, mkmsg(ex, rk, body), e);
    chan_flush(ch);
    return rc;
}

static void pub(wr_chan *ch, const char *rk, const char *body)
{
    wr_amqp_error e;
    assert_int_equal(pub_full(ch, "", rk, body, false, false, &e), 0);
}

static void consume(wr_chan *ch, const char *q, const char *tag, bool no_ack)
{
    amqp091_method m = {.id = AMQP091_BASIC_CONSUME};
    m.u.basic_consume.queue = S(q);
    m.u.basic_consume.consumer_tag = S(tag);
    m.u.basic_consume.no_ack = no_ack;
    ok(ch, &m);
}

static void qos(wr_chan *ch, uint16_t n, bool global)
{
    amqp091_method m = {.id = AMQP091_BASIC_QOS};
    m.u.basic_qos.prefetch_count = n;
    m.u.basic_qos.global = global;
    ok(ch, &m);
}

static int settle(wr_chan *ch, uint32_t id, uint64_t tag, bool multiple, bool requeue,
                  wr_amqp_error *e)
{
    amqp091_method m = {.id = id};
    if (id == AMQP091_BASIC_ACK) {
        m.u.basic_ack.delivery_tag = tag;
        m.u.basic_ack.multiple = multiple;
    } else if (id == AMQP091_BASIC_NACK) {
        m.u.basic_nack.delivery_tag = tag;
        m.u.basic_nack.multiple = multiple;
        m.u.basic_nack.requeue = requeue;
    } else {
        m.u.basic_reject.delivery_tag = tag;
        m.u.basic_reject.requeue = requeue;
    }
    return run(ch, &m, e);
}

static void ack(wr_chan *ch, uint64_t tag, bool multiple)
{
    wr_amqp_error e;
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, tag, multiple, false, &e), 0);
}

static uint32_t depth(const char *q)
{
    wr_queue *qq = vhost_queue(FC.vhost, S(q));
    assert_non_null(qq);
    return queue_message_count(qq);
}

static void simple(wr_chan *ch, uint32_t id)
{
    amqp091_method m = {.id = id};
    ok(ch, &m);
}

/* ---- queue class -------------------------------------------------------- */

static void t_queue_declare_ok(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q1");
    assert_int_equal(last()->id, AMQP091_QUEUE_DECLARE_OK);
    assert_string_equal(last()->str, "q1");
    pub(ch, "q1", "a");
    pub(ch, "q1", "b");
    declare_q(ch, "q1");
    assert_int_equal(last()->tag, 2);
    assert_int_equal(last()->count, 0);
}

static void t_queue_server_named(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "");
    assert_int_equal(last()->id, AMQP091_QUEUE_DECLARE_OK);
    assert_int_equal(strncmp(last()->str, "amq.gen-", 8), 0);
    assert_int_equal(strlen(last()->str), 8 + 22);
    /* empty name in purge means the last declared queue */
    amqp091_method m = {.id = AMQP091_QUEUE_PURGE};
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_QUEUE_PURGE_OK);
}

static void t_queue_no_previous(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_QUEUE_PURGE};
    expect_err(ch, &m, 404, "NOT_FOUND - no previously declared queue");
}

static void t_queue_passive_missing(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("nope");
    m.u.queue_declare.passive = true;
    expect_err(ch, &m, 404, "NOT_FOUND - no queue 'nope' in vhost '/'");
}

static void t_queue_redeclare_mismatch(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("q");
    m.u.queue_declare.durable = true;
    expect_err(ch, &m, 406,
               "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': "
               "received 'true' but "
               "current is 'false'");
}

static void t_queue_reserved(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("amq.q");
    expect_err(ch, &m, 403, "ACCESS_REFUSED - queue name 'amq.q' contains reserved prefix 'amq.*'");
}

static void t_queue_delete_if_empty(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "x");
    amqp091_method m = {.id = AMQP091_QUEUE_DELETE};
    m.u.queue_delete.queue = S("q");
    m.u.queue_delete.if_empty = true;
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty");
    m.u.queue_delete.if_empty = false;
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_QUEUE_DELETE_OK);
    assert_int_equal(last()->count, 1);
    assert_null(vhost_queue(FC.vhost, S("q")));
    /* deleting a missing queue is fine */
    ok(ch, &m);
    assert_int_equal(last()->count, 0);
}

static void t_queue_nowait(void **state)
{
    wr_chan *ch = *state;
    int before = FC.n;
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("q");
    m.u.queue_declare.nowait = true;
    ok(ch, &m);
    assert_int_equal(FC.n, before);
    assert_non_null(vhost_queue(FC.vhost, S("q")));
}

static void t_access_refused(void **state)
{
    wr_chan *ch = *state;
    FC.deny_all = true;
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("q");
    expect_err(ch, &m, 403,
               "ACCESS_REFUSED - access to queue 'q' in vhost '/' refused for user 'guest'");
}

/* ---- exchange class ----------------------------------------------------- */

static void x_declare(wr_chan *ch, const char *name, const char *type, uint16_t code,
                      const char *text)
{
    amqp091_method m = {.id = AMQP091_EXCHANGE_DECLARE};
    m.u.exchange_declare.exchange = S(name);
    m.u.exchange_declare.type = S(type);
    if (code)
        expect_err(ch, &m, code, text);
    else
        ok(ch, &m);
}

static void t_exchange_declare(void **state)
{
    wr_chan *ch = *state;
    x_declare(ch, "x", "direct", 0, NULL);
    assert_int_equal(last()->id, AMQP091_EXCHANGE_DECLARE_OK);
    x_declare(ch, "x", "direct", 0, NULL);
    x_declare(ch, "x", "fanout", 406,
              "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': "
              "received 'fanout' but "
              "current is 'direct'");
}

static void t_exchange_bad(void **state)
{
    wr_chan *ch = *state;
    x_declare(ch, "y", "nosuchtype", 503, "COMMAND_INVALID - unknown exchange type 'nosuchtype'");
    x_declare(ch, "amq.mine", "direct", 403,
              "ACCESS_REFUSED - exchange name 'amq.mine' contains reserved prefix 'amq.*'");
    x_declare(ch, "", "direct", 403,
              "ACCESS_REFUSED - operation not permitted on the default exchange");
    amqp091_method m = {.id = AMQP091_EXCHANGE_DECLARE};
    m.u.exchange_declare.exchange = S("missing");
    m.u.exchange_declare.passive = true;
    expect_err(ch, &m, 404, "NOT_FOUND - no exchange 'missing' in vhost '/'");
}

static void t_exchange_delete(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_EXCHANGE_DELETE};
    m.u.exchange_delete.exchange = S("");
    expect_err(ch, &m, 403, "ACCESS_REFUSED - operation not permitted on the default exchange");
    m.u.exchange_delete.exchange = S("amq.direct");
    expect_err(
        ch, &m, 403,
        "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed");
    m.u.exchange_delete.exchange = S("none");
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_EXCHANGE_DELETE_OK);
    x_declare(ch, "x", "fanout", 0, NULL);
    declare_q(ch, "q");
    amqp091_method b = {.id = AMQP091_QUEUE_BIND};
    b.u.queue_bind.queue = S("q");
    b.u.queue_bind.exchange = S("x");
    ok(ch, &b);
    m.u.exchange_delete.exchange = S("x");
    m.u.exchange_delete.if_unused = true;
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use");
    m.u.exchange_delete.if_unused = false;
    ok(ch, &m);
    assert_null(vhost_exchange(FC.vhost, S("x")));
}

static void t_bind_errors(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    amqp091_method b = {.id = AMQP091_QUEUE_BIND};
    b.u.queue_bind.queue = S("q");
    b.u.queue_bind.exchange = S("");
    expect_err(ch, &b, 403, "ACCESS_REFUSED - operation not permitted on the default exchange");
    b.u.queue_bind.exchange = S("nox");
    expect_err(ch, &b, 404, "NOT_FOUND - no exchange 'nox' in vhost '/'");
    b.u.queue_bind.exchange = S("amq.direct");
    b.u.queue_bind.queue = S("noq");
    expect_err(ch, &b, 404, "NOT_FOUND - no queue 'noq' in vhost '/'");
    /* unbinding something missing is fine in 3.8 */
    amqp091_method u = {.id = AMQP091_QUEUE_UNBIND};
    u.u.queue_unbind.queue = S("noq");
    u.u.queue_unbind.exchange = S("amq.direct");
    ok(ch, &u);
    assert_int_equal(last()->id, AMQP091_QUEUE_UNBIND_OK);
}

static void t_e2e_routing(void **state)
{
    wr_chan *ch = *state;
    x_declare(ch, "src", "fanout", 0, NULL);
    x_declare(ch, "dst", "direct", 0, NULL);
    declare_q(ch, "q");
    amqp091_method b = {.id = AMQP091_QUEUE_BIND};
    b.u.queue_bind.queue = S("q");
    b.u.queue_bind.exchange = S("dst");
    b.u.queue_bind.routing_key = S("k");
    ok(ch, &b);
    amqp091_method e = {.id = AMQP091_EXCHANGE_BIND};
    e.u.exchange_bind.source = S("src");
    e.u.exchange_bind.destination = S("dst");
    ok(ch, &e);
    assert_int_equal(last()->id, AMQP091_EXCHANGE_BIND_OK);
    wr_amqp_error err;
    assert_int_equal(pub_full(ch, "src", "k", "m", false, false, &err), 0);
    assert_int_equal(pub_full(ch, "src", "other", "m", false, false, &err), 0);
    assert_int_equal(depth("q"), 1);
}

/* ---- publish ------------------------------------------------------------ */

static void t_publish_errors(void **state)
{
    wr_chan *ch = *state;
    wr_amqp_error e;
    assert_int_equal(pub_full(ch, "nox", "k", "m", false, false, &e), WR_EAMQP);
    assert_int_equal(e.code, 404);
    assert_string_equal(e.text, "NOT_FOUND - no exchange 'nox' in vhost '/'");
    assert_int_equal(pub_full(ch, "", "k", "m", false, true, &e), WR_EAMQP);
    assert_int_equal(e.code, 540);
    assert_true(e.hard);
    assert_string_equal(e.text, "NOT_IMPLEMENTED - immediate=true");
}

static void t_publish_internal(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_EXCHANGE_DECLARE};
    m.u.exchange_declare.exchange = S("ix");
    m.u.exchange_declare.type = S("fanout");
    m.u.exchange_declare.internal = true;
    ok(ch, &m);
    wr_amqp_error e;
    assert_int_equal(pub_full(ch, "ix", "", "m", false, false, &e), WR_EAMQP);
    assert_int_equal(e.code, 403);
    assert_string_equal(e.text,
                        "ACCESS_REFUSED - cannot publish to internal exchange 'ix' in vhost '/'");
}

static void t_publish_user_id(void **state)
{
    wr_chan *ch = *state;
    amqp091_basic_properties p = {0};
    p.flags = AMQP091_BASIC_USER_ID_FLAG;
    p.user_id = S("bob");
    amqp091_basic_publish bp = {.exchange = S(""), .routing_key = S("q")};
    wr_amqp_error e;
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "q", "x", &p), &e), WR_EAMQP);
    assert_int_equal(e.code, 406);
    assert_string_equal(
        e.text,
        "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'");
    p.user_id = S("guest");
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "q", "x", &p), &e), 0);
}

static void t_publish_expiration(void **state)
{
    wr_chan *ch = *state;
    amqp091_basic_properties p = {0};
    p.flags = AMQP091_BASIC_EXPIRATION_FLAG;
    p.expiration = S("abc");
    amqp091_basic_publish bp = {.exchange = S(""), .routing_key = S("q")};
    wr_amqp_error e;
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "q", "x", &p), &e), WR_EAMQP);
    assert_int_equal(e.code, 406);
    assert_string_equal(e.text, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer");
    p.expiration = S("-5");
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "q", "x", &p), &e), WR_EAMQP);
    assert_string_equal(e.text,
                        "PRECONDITION_FAILED - invalid expiration '-5': {value_negative,-5}");
    p.expiration = S("1000");
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "q", "x", &p), &e), 0);
}

static void t_mandatory_return(void **state)
{
    wr_chan *ch = *state;
    wr_amqp_error e;
    assert_int_equal(pub_full(ch, "", "nowhere", "body1", true, false, &e), 0);
    assert_int_equal(last()->id, AMQP091_BASIC_RETURN);
    assert_int_equal(last()->code, 312);
    assert_string_equal(last()->str, "NO_ROUTE");
    assert_string_equal(last()->body, "body1");
    int n = FC.n;
    assert_int_equal(pub_full(ch, "", "nowhere", "body1", false, false, &e), 0);
    assert_int_equal(FC.n, n);
}

/* ---- confirms ----------------------------------------------------------- */

static void confirm_select(wr_chan *ch)
{
    amqp091_method m = {.id = AMQP091_CONFIRM_SELECT};
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_CONFIRM_SELECT_OK);
}

static void t_confirm_batch(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    confirm_select(ch);
    amqp091_basic_publish p = {.exchange = S(""), .routing_key = S("q")};
    wr_amqp_error e;
    for (int i = 0; i < 3; i++) assert_int_equal(chan_publish(ch, &p, mkmsg("", "q", "x"), &e), 0);
    assert_int_equal(count_id(AMQP091_BASIC_ACK), 0);
    chan_flush(ch);
    assert_int_equal(count_id(AMQP091_BASIC_ACK), 1);
    assert_int_equal(last()->tag, 3);
    assert_true(last()->flag);
    chan_flush(ch);
    assert_int_equal(count_id(AMQP091_BASIC_ACK), 1);
    assert_int_equal(chan_publish(ch, &p, mkmsg("", "q", "x"), &e), 0);
    chan_flush(ch);
    assert_int_equal(last()->id, AMQP091_BASIC_ACK);
    assert_int_equal(last()->tag, 4);
    assert_false(last()->flag);
}

static void t_confirm_return_then_ack(void **state)
{
    wr_chan *ch = *state;
    confirm_select(ch);
    wr_amqp_error e;
    assert_int_equal(pub_full(ch, "", "nowhere", "m", true, false, &e), 0);
    assert_int_equal(FC.out[FC.n - 2].id, AMQP091_BASIC_RETURN);
    assert_int_equal(last()->id, AMQP091_BASIC_ACK);
    assert_int_equal(last()->tag, 1);
}

static void t_confirm_stored_waits(void **state)
{
    wr_chan *ch = *state;
    confirm_select(ch);
    /* the channel-level API for storage: seq 1 waits, seq 2 is immediate */
    chan_confirm_stored(ch, 99, true); /* unknown: ignored */
    chan_flush(ch);
    assert_int_equal(count_id(AMQP091_BASIC_ACK), 0);
}

/* A persistent message to a durable queue is confirmed only after the store
 * commit (when the queue asks to wait for it). */
static void t_confirm_waits_for_store(void **state)
{
    wr_chan *ch = *state;
    char dir[] = "/tmp/test_channel.XXXXXX";
    assert_non_null(mkdtemp(dir));
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    store_opts o = {.dir = dir};
    store *st = NULL;
    assert_int_equal(store_open(&loop, &o, &st), 0);
    chan_set_store(ch, st);
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("dq");
    m.u.queue_declare.durable = true;
    ok(ch, &m);
    confirm_select(ch);
    amqp091_basic_properties p = {0};
    p.flags = AMQP091_BASIC_DELIVERY_MODE_FLAG;
    p.delivery_mode = 2;
    amqp091_basic_publish bp = {.exchange = S(""), .routing_key = S("dq")};
    wr_amqp_error e;
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "dq", "x", &p), &e), 0);
    assert_int_equal(chan_publish(ch, &bp, mkmsg("", "dq", "y"), &e), 0); /* transient */
    bool waits = chan_unconfirmed_count(ch) == 1;
    chan_flush(ch);
    if (waits) {
        /* seq 2 may go out alone, seq 1 not before the commit */
        for (int i = 0; i < FC.n; i++)
            assert_false(FC.out[i].id == AMQP091_BASIC_ACK &&
                         (FC.out[i].tag == 1 || FC.out[i].flag));
        time_t deadline = time(NULL) + 10;
        while (chan_unconfirmed_count(ch) && time(NULL) < deadline) uv_run(&loop, UV_RUN_ONCE);
        assert_int_equal(chan_unconfirmed_count(ch), 0);
    }
    int acked1 = 0;
    for (int i = 0; i < FC.n; i++)
        if (FC.out[i].id == AMQP091_BASIC_ACK &&
            (FC.out[i].tag == 1 || (FC.out[i].flag && FC.out[i].tag >= 1)))
            acked1 = 1;
    assert_true(acked1);
    chan_free(ch);
    *state = chan_new(CONN, 1);
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void t_confirm_tx_exclusive(void **state)
{
    wr_chan *ch = *state;
    simple(ch, AMQP091_TX_SELECT);
    amqp091_method m = {.id = AMQP091_CONFIRM_SELECT};
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode");
}

static void t_tx_confirm_exclusive(void **state)
{
    wr_chan *ch = *state;
    confirm_select(ch);
    amqp091_method m = {.id = AMQP091_TX_SELECT};
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode");
}

/* ---- tx ----------------------------------------------------------------- */

static void t_tx_not_transactional(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_TX_COMMIT};
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - channel is not transactional");
    m.id = AMQP091_TX_ROLLBACK;
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - channel is not transactional");
}

static void t_tx_publish(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    simple(ch, AMQP091_TX_SELECT);
    assert_int_equal(last()->id, AMQP091_TX_SELECT_OK);
    pub(ch, "q", "a");
    pub(ch, "q", "b");
    assert_int_equal(depth("q"), 0);
    simple(ch, AMQP091_TX_COMMIT);
    assert_int_equal(last()->id, AMQP091_TX_COMMIT_OK);
    assert_int_equal(depth("q"), 2);
    pub(ch, "q", "c");
    simple(ch, AMQP091_TX_ROLLBACK);
    assert_int_equal(last()->id, AMQP091_TX_ROLLBACK_OK);
    simple(ch, AMQP091_TX_COMMIT);
    assert_int_equal(depth("q"), 2);
}

static void t_tx_ack(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    pub(ch, "q", "b");
    simple(ch, AMQP091_TX_SELECT);
    consume(ch, "q", "c", false);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 2);
    ack(ch, 1, false);
    assert_int_equal(chan_unacked_count(ch), 2);
    wr_amqp_error e;
    /* already acked inside the transaction */
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, 1, false, false, &e), WR_EAMQP);
    assert_int_equal(e.code, 406);
    chan_free(ch);
    ch = chan_new(CONN, 1);
    *state = ch;
    /* the held ack was rolled back by the close: both messages are back */
    assert_int_equal(depth("q"), 2);
    simple(ch, AMQP091_TX_SELECT);
    consume(ch, "q", "c2", false);
    ack(ch, 0, true);
    simple(ch, AMQP091_TX_ROLLBACK);
    assert_int_equal(chan_unacked_count(ch), 2);
    ack(ch, 0, true);
    simple(ch, AMQP091_TX_COMMIT);
    assert_int_equal(chan_unacked_count(ch), 0);
    assert_int_equal(depth("q"), 0);
}

/* ---- consumers, qos, acks ----------------------------------------------- */

static void t_consume_ok_first(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    pub(ch, "q", "b");
    int before = FC.n;
    consume(ch, "q", "ct", false);
    assert_int_equal(FC.out[before].id, AMQP091_BASIC_CONSUME_OK);
    assert_string_equal(FC.out[before].str, "ct");
    assert_int_equal(FC.out[before + 1].id, AMQP091_BASIC_DELIVER);
    assert_int_equal(FC.out[before + 1].tag, 1);
    assert_string_equal(FC.out[before + 1].body, "a");
    assert_int_equal(FC.out[before + 2].tag, 2);
    assert_string_equal(FC.out[before + 2].str, "ct");
}

static void t_consume_generated_tag(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    consume(ch, "q", "", false);
    assert_int_equal(last()->id, AMQP091_BASIC_CONSUME_OK);
    assert_int_equal(strncmp(last()->str, "amq.ctag-", 9), 0);
    assert_int_equal(strlen(last()->str), 9 + 22);
}

static void t_consume_dup_tag(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    consume(ch, "q", "t", false);
    amqp091_method m = {.id = AMQP091_BASIC_CONSUME};
    m.u.basic_consume.queue = S("q");
    m.u.basic_consume.consumer_tag = S("t");
    expect_err(ch, &m, 530, "NOT_ALLOWED - attempt to reuse consumer tag 't'");
}

static void t_consume_missing_queue(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_BASIC_CONSUME};
    m.u.basic_consume.queue = S("nq");
    expect_err(ch, &m, 404, "NOT_FOUND - no queue 'nq' in vhost '/'");
}

static void t_prefetch_exact(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    for (int i = 0; i < 10; i++) pub(ch, "q", "m");
    qos(ch, 3, false);
    assert_int_equal(last()->id, AMQP091_BASIC_QOS_OK);
    consume(ch, "q", "c", false);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 3);
    ack(ch, 2, false);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 4);
    ack(ch, 4, true);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 7);
    assert_int_equal(chan_unacked_count(ch), 3);
}

static void t_prefetch_global(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q1");
    declare_q(ch, "q2");
    for (int i = 0; i < 5; i++) {
        pub(ch, "q1", "m");
        pub(ch, "q2", "m");
    }
    qos(ch, 4, true);
    consume(ch, "q1", "c1", false);
    consume(ch, "q2", "c2", false);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 4);
    ack(ch, 0, true);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 8);
}

static void t_qos_prefetch_size(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_BASIC_QOS};
    m.u.basic_qos.prefetch_size = 10;
    expect_err(ch, &m, 540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)");
}

static void t_unknown_tag(void **state)
{
    wr_chan *ch = *state;
    wr_amqp_error e;
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, 42, false, false, &e), WR_EAMQP);
    assert_int_equal(e.code, 406);
    assert_false(e.hard);
    assert_string_equal(e.text, "PRECONDITION_FAILED - unknown delivery tag 42");
    assert_int_equal(settle(ch, AMQP091_BASIC_REJECT, 1, false, true, &e), WR_EAMQP);
    assert_string_equal(e.text, "PRECONDITION_FAILED - unknown delivery tag 1");
    /* tag 0 + multiple with nothing outstanding is fine */
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, 0, true, false, &e), 0);
}

static void t_double_ack(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    consume(ch, "q", "c", false);
    ack(ch, 1, false);
    wr_amqp_error e;
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, 1, false, false, &e), WR_EAMQP);
    assert_string_equal(e.text, "PRECONDITION_FAILED - unknown delivery tag 1");
}

static void t_noack_tag_unknown(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    consume(ch, "q", "c", true);
    assert_int_equal(last()->id, AMQP091_BASIC_DELIVER);
    assert_int_equal(depth("q"), 0);
    wr_amqp_error e;
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, 1, false, false, &e), WR_EAMQP);
    assert_int_equal(e.code, 406);
}

static void t_ack_multiple(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    for (int i = 0; i < 5; i++) pub(ch, "q", "m");
    consume(ch, "q", "c", false);
    ack(ch, 3, true);
    assert_int_equal(chan_unacked_count(ch), 2);
    wr_amqp_error e;
    /* multiple with a tag that was already acked: unknown */
    assert_int_equal(settle(ch, AMQP091_BASIC_ACK, 2, true, false, &e), WR_EAMQP);
    ack(ch, 0, true);
    assert_int_equal(chan_unacked_count(ch), 0);
}

static void t_nack_requeue(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    pub(ch, "q", "b");
    qos(ch, 2, false);
    consume(ch, "q", "c", false);
    wr_amqp_error e;
    assert_int_equal(settle(ch, AMQP091_BASIC_NACK, 2, true, true, &e), 0);
    /* both come back, in order, redelivered, with new tags */
    sent *d3 = nth_id(AMQP091_BASIC_DELIVER, 2);
    sent *d4 = nth_id(AMQP091_BASIC_DELIVER, 3);
    assert_int_equal(d3->tag, 3);
    assert_true(d3->flag);
    assert_string_equal(d3->body, "a");
    assert_int_equal(d4->tag, 4);
    assert_string_equal(d4->body, "b");
}

static void t_reject_discard(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    consume(ch, "q", "c", false);
    wr_amqp_error e;
    assert_int_equal(settle(ch, AMQP091_BASIC_REJECT, 1, false, false, &e), 0);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 1);
    assert_int_equal(depth("q"), 0);
    assert_int_equal(chan_unacked_count(ch), 0);
}

static void t_get(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    amqp091_method g = {.id = AMQP091_BASIC_GET};
    g.u.basic_get.queue = S("q");
    ok(ch, &g);
    assert_int_equal(last()->id, AMQP091_BASIC_GET_EMPTY);
    pub(ch, "q", "a");
    pub(ch, "q", "b");
    ok(ch, &g);
    assert_int_equal(last()->id, AMQP091_BASIC_GET_OK);
    assert_int_equal(last()->count, 1);
    assert_int_equal(last()->tag, 1);
    assert_string_equal(last()->body, "a");
    ack(ch, 1, false);
    g.u.basic_get.no_ack = true;
    ok(ch, &g);
    assert_int_equal(last()->count, 0);
    assert_int_equal(chan_unacked_count(ch), 0);
}

static void t_cancel(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    consume(ch, "q", "c", false);
    amqp091_method m = {.id = AMQP091_BASIC_CANCEL};
    m.u.basic_cancel.consumer_tag = S("c");
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_BASIC_CANCEL_OK);
    assert_string_equal(last()->str, "c");
    assert_int_equal(chan_consumer_count(ch), 0);
    pub(ch, "q", "a");
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 0);
    m.u.basic_cancel.consumer_tag = S("unknown");
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_BASIC_CANCEL_OK);
}

static void t_cancel_notify(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    consume(ch, "q", "c", false);
    amqp091_method d = {.id = AMQP091_QUEUE_DELETE};
    d.u.queue_delete.queue = S("q");
    ok(ch, &d);
    assert_int_equal(count_id(AMQP091_BASIC_CANCEL), 1);
    assert_string_equal(nth_id(AMQP091_BASIC_CANCEL, 0)->str, "c");
    assert_int_equal(chan_consumer_count(ch), 0);
}

static void t_cancel_no_notify(void **state)
{
    wr_chan *ch = *state;
    FC.cancel_notify = false;
    declare_q(ch, "q");
    consume(ch, "q", "c", false);
    amqp091_method d = {.id = AMQP091_QUEUE_DELETE};
    d.u.queue_delete.queue = S("q");
    ok(ch, &d);
    assert_int_equal(count_id(AMQP091_BASIC_CANCEL), 0);
    assert_int_equal(chan_consumer_count(ch), 0);
}

static void t_close_requeues(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    pub(ch, "q", "b");
    pub(ch, "q", "c");
    consume(ch, "q", "c", false);
    ack(ch, 2, false);
    chan_free(ch);
    ch = chan_new(CONN, 2);
    *state = ch;
    assert_int_equal(depth("q"), 2);
    amqp091_method g = {.id = AMQP091_BASIC_GET};
    g.u.basic_get.queue = S("q");
    g.u.basic_get.no_ack = true;
    ok(ch, &g);
    assert_string_equal(last()->body, "a");
    assert_true(last()->flag);
    ok(ch, &g);
    assert_string_equal(last()->body, "c");
}

static void t_recover(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    consume(ch, "q", "c", false);
    amqp091_method m = {.id = AMQP091_BASIC_RECOVER};
    m.u.basic_recover.requeue = false;
    expect_err(ch, &m, 540, "NOT_IMPLEMENTED - requeue=false");
    m.u.basic_recover.requeue = true;
    ok(ch, &m);
    sent *d = nth_id(AMQP091_BASIC_DELIVER, 1);
    assert_int_equal(d->tag, 2);
    assert_true(d->flag);
    assert_int_equal(last()->id, AMQP091_BASIC_RECOVER_OK);
}

static void t_flow(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_CHANNEL_FLOW};
    m.u.channel_flow.active = true;
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_CHANNEL_FLOW_OK);
    assert_true(last()->flag);
    m.u.channel_flow.active = false;
    expect_err(ch, &m, 540, "NOT_IMPLEMENTED - active=false");
}

static void t_paused(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    consume(ch, "q", "c", false);
    chan_set_paused(ch, true);
    pub(ch, "q", "a");
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 0);
    chan_set_paused(ch, false);
    assert_int_equal(count_id(AMQP091_BASIC_DELIVER), 1);
}

/* ---- direct reply-to ---------------------------------------------------- */

static void t_reply_to(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "rpc");
    amqp091_method m = {.id = AMQP091_BASIC_CONSUME};
    m.u.basic_consume.queue = S("amq.rabbitmq.reply-to");
    expect_err(ch, &m, 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge");
    m.u.basic_consume.no_ack = true;
    ok(ch, &m);
    assert_int_equal(last()->id, AMQP091_BASIC_CONSUME_OK);
    char ctag[256];
    strcpy(ctag, last()->str);
    amqp091_basic_properties p = {0};
    p.flags = AMQP091_BASIC_REPLY_TO_FLAG;
    p.reply_to = S("amq.rabbitmq.reply-to");
    amqp091_basic_publish bp = {.exchange = S(""), .routing_key = S("rpc")};
    wr_amqp_error e;
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "rpc", "req", &p), &e), 0);
    /* the server (another channel) reads the request and answers */
    wr_chan *srv = chan_new(CONN, 7);
    amqp091_method g = {.id = AMQP091_BASIC_GET};
    g.u.basic_get.queue = S("rpc");
    g.u.basic_get.no_ack = true;
    ok(srv, &g);
    char name[128];
    strcpy(name, last()->reply_to);
    assert_int_equal(strncmp(name, "amq.rabbitmq.reply-to.", 22), 0);
    amqp091_method d = {.id = AMQP091_QUEUE_DECLARE};
    d.u.queue_declare.queue = S(name);
    d.u.queue_declare.passive = true;
    ok(srv, &d);
    assert_int_equal(last()->count, 1);
    assert_int_equal(pub_full(srv, "", name, "answer", false, false, &e), 0);
    assert_int_equal(last()->id, AMQP091_BASIC_DELIVER);
    assert_string_equal(last()->str, ctag);
    assert_string_equal(last()->body, "answer");
    chan_free(srv);
    /* after cancel the name is gone */
    amqp091_method c = {.id = AMQP091_BASIC_CANCEL};
    c.u.basic_cancel.consumer_tag = S(ctag);
    ok(ch, &c);
    assert_int_equal(last()->id, AMQP091_BASIC_CANCEL_OK);
    expect_err(ch, &d, 404, NULL);
    assert_int_equal(chan_publish(ch, &bp, mkmsg_props("", "rpc", "req", &p), &e), WR_EAMQP);
    assert_string_equal(e.text, "PRECONDITION_FAILED - fast reply consumer does not exist");
}

static void t_nowait_consume_cancel(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    pub(ch, "q", "a");
    int before = FC.n;
    amqp091_method m = {.id = AMQP091_BASIC_CONSUME};
    m.u.basic_consume.queue = S("q");
    m.u.basic_consume.consumer_tag = S("c");
    m.u.basic_consume.nowait = true;
    ok(ch, &m);
    assert_int_equal(FC.out[before].id, AMQP091_BASIC_DELIVER);
    amqp091_method c = {.id = AMQP091_BASIC_CANCEL};
    c.u.basic_cancel.consumer_tag = S("c");
    c.u.basic_cancel.nowait = true;
    int n = FC.n;
    ok(ch, &c);
    assert_int_equal(FC.n, n);
    /* the unacked delivery survives the cancel and can still be acked */
    ack(ch, 1, false);
}

static void t_round_robin_two_channels(void **state)
{
    wr_chan *ch = *state;
    wr_chan *ch2 = chan_new(CONN, 2);
    declare_q(ch, "q");
    qos(ch, 1, false);
    consume(ch, "q", "a", false);
    consume(ch2, "q", "b", false);
    for (int i = 0; i < 4; i++) pub(ch, "q", "m");
    /* ch has prefetch 1: one message, ch2 takes the rest */
    assert_int_equal(chan_unacked_count(ch), 1);
    assert_int_equal(chan_unacked_count(ch2), 3);
    chan_free(ch2);
    assert_int_equal(depth("q"), 3);
}

/* ---- arguments, exclusivity, overflow ----------------------------------- */

static void declare_q_args(wr_chan *ch, const char *name, wr_buf *args, uint16_t code,
                           const char *text)
{
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S(name);
    m.u.queue_declare.arguments.ptr = args->data;
    m.u.queue_declare.arguments.len = (uint32_t)args->len;
    if (code)
        expect_err(ch, &m, code, text);
    else
        ok(ch, &m);
}

static void t_queue_args_mismatch(void **state)
{
    wr_chan *ch = *state;
    wr_buf a, b;
    wr_buf_init(&a);
    wr_buf_init(&b);
    assert_int_equal(ftable_put_i32(&a, "x-message-ttl", 1000), 0);
    assert_int_equal(ftable_put_i32(&b, "x-message-ttl", 2000), 0);
    declare_q_args(ch, "q", &a, 0, NULL);
    declare_q_args(ch, "q", &a, 0, NULL);
    declare_q_args(
        ch, "q", &b, 406,
        "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': "
        "received "
        "the value '2000' of type 'signedint' but current is the value '1000' of type 'signedint'");
    wr_buf_reset(&b);
    declare_q_args(ch, "q", &b, 406,
                   "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost "
                   "'/': received "
                   "none but current is the value '1000' of type 'signedint'");
    wr_buf_free(&a);
    wr_buf_free(&b);
}

static void t_reject_publish_nack(void **state)
{
    wr_chan *ch = *state;
    wr_buf a;
    wr_buf_init(&a);
    assert_int_equal(ftable_put_i32(&a, "x-max-length", 1), 0);
    assert_int_equal(ftable_put_cstr(&a, "x-overflow", "reject-publish"), 0);
    declare_q_args(ch, "q", &a, 0, NULL);
    wr_buf_free(&a);
    confirm_select(ch);
    amqp091_basic_publish p = {.exchange = S(""), .routing_key = S("q")};
    wr_amqp_error e;
    assert_int_equal(chan_publish(ch, &p, mkmsg("", "q", "1"), &e), 0);
    assert_int_equal(chan_publish(ch, &p, mkmsg("", "q", "2"), &e), 0);
    chan_flush(ch);
    assert_int_equal(count_id(AMQP091_BASIC_ACK), 1);
    assert_int_equal(nth_id(AMQP091_BASIC_ACK, 0)->tag, 1);
    assert_int_equal(count_id(AMQP091_BASIC_NACK), 1);
    assert_int_equal(nth_id(AMQP091_BASIC_NACK, 0)->tag, 2);
    assert_int_equal(depth("q"), 1);
}

static void t_exclusive_queue_other_conn(void **state)
{
    wr_chan *ch = *state;
    amqp091_method m = {.id = AMQP091_QUEUE_DECLARE};
    m.u.queue_declare.queue = S("ex");
    m.u.queue_declare.exclusive = true;
    ok(ch, &m);
    static struct fake_conn other; /* only its address matters */
    wr_chan *o = chan_new((wr_conn *)&other, 1);
    amqp091_method g = {.id = AMQP091_BASIC_GET};
    g.u.basic_get.queue = S("ex");
    wr_amqp_error e;
    assert_int_equal(run(o, &g, &e), WR_EAMQP);
    assert_int_equal(e.code, 405);
    assert_int_equal(
        strncmp(
            e.text,
            "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost '/'",
            strlen("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost "
                   "'/'")),
        0);
    chan_free(o);
    /* same connection, other channel: fine */
    wr_chan *same = chan_new(CONN, 3);
    ok(same, &g);
    chan_free(same);
}

static void t_exclusive_consumer(void **state)
{
    wr_chan *ch = *state;
    declare_q(ch, "q");
    amqp091_method m = {.id = AMQP091_BASIC_CONSUME};
    m.u.basic_consume.queue = S("q");
    m.u.basic_consume.consumer_tag = S("a");
    m.u.basic_consume.exclusive = true;
    ok(ch, &m);
    m.u.basic_consume.consumer_tag = S("b");
    m.u.basic_consume.exclusive = false;
    expect_err(ch, &m, 403, "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use");
}

static void t_alternate_exchange_equivalence(void **state)
{
    wr_chan *ch = *state;
    wr_buf a;
    wr_buf_init(&a);
    assert_int_equal(ftable_put_cstr(&a, "alternate-exchange", "ae"), 0);
    amqp091_method m = {.id = AMQP091_EXCHANGE_DECLARE};
    m.u.exchange_declare.exchange = S("x");
    m.u.exchange_declare.type = S("direct");
    m.u.exchange_declare.arguments.ptr = a.data;
    m.u.exchange_declare.arguments.len = (uint32_t)a.len;
    ok(ch, &m);
    m.u.exchange_declare.arguments.len = 0;
    expect_err(ch, &m, 406,
               "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in "
               "vhost '/': received "
               "none but current is the value 'ae' of type 'longstr'");
    wr_buf_free(&a);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(t_queue_declare_ok),
        T(t_queue_server_named),
        T(t_queue_no_previous),
        T(t_queue_passive_missing),
        T(t_queue_redeclare_mismatch),
        T(t_queue_reserved),
        T(t_queue_delete_if_empty),
        T(t_queue_nowait),
        T(t_access_refused),
        T(t_exchange_declare),
        T(t_exchange_bad),
        T(t_exchange_delete),
        T(t_bind_errors),
        T(t_e2e_routing),
        T(t_publish_errors),
        T(t_publish_internal),
        T(t_publish_user_id),
        T(t_publish_expiration),
        T(t_mandatory_return),
        T(t_confirm_batch),
        T(t_confirm_return_then_ack),
        T(t_confirm_stored_waits),
        T(t_confirm_waits_for_store),
        T(t_confirm_tx_exclusive),
        T(t_tx_confirm_exclusive),
        T(t_tx_not_transactional),
        T(t_tx_publish),
        T(t_tx_ack),
        T(t_consume_ok_first),
        T(t_consume_generated_tag),
        T(t_consume_dup_tag),
        T(t_consume_missing_queue),
        T(t_prefetch_exact),
        T(t_prefetch_global),
        T(t_qos_prefetch_size),
        T(t_unknown_tag),
        T(t_double_ack),
        T(t_noack_tag_unknown),
        T(t_ack_multiple),
        T(t_nack_requeue),
        T(t_reject_discard),
        T(t_get),
        T(t_cancel),
        T(t_cancel_notify),
        T(t_cancel_no_notify),
        T(t_close_requeues),
        T(t_recover),
        T(t_flow),
        T(t_paused),
        T(t_reply_to),
        T(t_nowait_consume_cancel),
        T(t_round_robin_two_channels),
        T(t_queue_args_mismatch),
        T(t_reject_publish_nack),
        T(t_exclusive_queue_other_conn),
        T(t_exclusive_consumer),
        T(t_alternate_exchange_equivalence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
