/* rmqc_interop: a librabbitmq-c client run by tests/interop/test_rmqc.py against a broker.
 * Usage: rmqc_interop HOST PORT USER PASS SCENARIO
 * Scenarios: basic (declare, publish, get, consume, ack), confirm (publisher confirms),
 * large (multi-frame bodies), error (404 on passive declare, channel reopen), tx.
 * Exits 0 and prints "OK" when every check passed; prints the failed check and exits 1. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAILED: %s (line %d)\n", what, __LINE__);                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void check_rpc(amqp_rpc_reply_t r, const char *what)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return;
    fprintf(stderr, "FAILED: %s: reply type %d", what, (int)r.reply_type);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        fprintf(stderr, " channel.close %u %.*s", m->reply_code, (int)m->reply_text.len,
                (char *)m->reply_text.bytes);
    }
    fprintf(stderr, "\n");
    exit(1);
}

static amqp_bytes_t declare_temp(amqp_connection_state_t c)
{
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(c, 1, amqp_empty_bytes, 0, 0, 1, 0, amqp_empty_table);
    check_rpc(amqp_get_rpc_reply(c), "queue.declare");
    CHECK(ok->queue.len > 8 && memcmp(ok->queue.bytes, "amq.gen-", 8) == 0, "server-named queue");
    return amqp_bytes_malloc_dup(ok->queue);
}

static void publish(amqp_connection_state_t c, amqp_bytes_t q, amqp_bytes_t body,
                    amqp_basic_properties_t *props)
{
    int rc = amqp_basic_publish(c, 1, amqp_empty_bytes, q, 0, 0, props, body);
    CHECK(rc == AMQP_STATUS_OK, "basic.publish");
}

/* basic.get one message; returns its body (caller frees) and delivery tag. */
static amqp_bytes_t get_one(amqp_connection_state_t c, amqp_bytes_t q, int no_ack, uint64_t *tag,
                            amqp_basic_properties_t *props_out)
{
    amqp_rpc_reply_t r = amqp_basic_get(c, 1, q, no_ack);
    check_rpc(r, "basic.get");
    CHECK(r.reply.id == AMQP_BASIC_GET_OK_METHOD, "basic.get-ok expected");
    amqp_basic_get_ok_t *ok = r.reply.decoded;
    *tag = ok->delivery_tag;
    amqp_message_t msg;
    check_rpc(amqp_read_message(c, 1, &msg, 0), "read message");
    amqp_bytes_t body = amqp_bytes_malloc_dup(msg.body);
    if (props_out) {
        *props_out = msg.properties;
        if (msg.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
            props_out->content_type = amqp_bytes_malloc_dup(msg.properties.content_type);
    }
    amqp_destroy_message(&msg);
    return body;
}

static int scenario_basic(amqp_connection_state_t c)
{
    amqp_bytes_t q = declare_temp(c);
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags =
        AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_PRIORITY_FLAG;
    props.content_type = amqp_cstring_bytes("text/plain");
    props.delivery_mode = 2;
    props.priority = 4;
    char buf[32];
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof buf, "msg-%d", i);
        publish(c, q, amqp_cstring_bytes(buf), &props);
    }
    uint64_t tag;
    amqp_basic_properties_t got;
    amqp_bytes_t b = get_one(c, q, 0, &tag, &got);
    CHECK(b.len == 5 && memcmp(b.bytes, "msg-0", 5) == 0, "first message body");
    CHECK(tag == 1, "first delivery tag is 1");
    CHECK(got.delivery_mode == 2 && got.priority == 4, "properties round trip");
    CHECK(got.content_type.len == 10 && memcmp(got.content_type.bytes, "text/plain", 10) == 0,
          "content type round trip");
    amqp_bytes_free(got.content_type);
    amqp_bytes_free(b);
    CHECK(amqp_basic_ack(c, 1, tag, 0) == 0, "basic.ack");

    amqp_basic_qos(c, 1, 0, 3, 0);
    check_rpc(amqp_get_rpc_reply(c), "basic.qos");
    amqp_basic_consume_ok_t *cok =
        amqp_basic_consume(c, 1, q, amqp_cstring_bytes("rmqc"), 0, 0, 0, amqp_empty_table);
    check_rpc(amqp_get_rpc_reply(c), "basic.consume");
    CHECK(cok->consumer_tag.len == 4, "consumer tag echoed");
    for (int i = 1; i < 10; i++) {
        amqp_envelope_t env;
        struct timeval tv = {5, 0};
        amqp_maybe_release_buffers(c);
        check_rpc(amqp_consume_message(c, &env, &tv, 0), "consume message");
        snprintf(buf, sizeof buf, "msg-%d", i);
        CHECK(env.message.body.len == strlen(buf) &&
                  memcmp(env.message.body.bytes, buf, strlen(buf)) == 0,
              "FIFO order to consumer");
        CHECK(env.redelivered == 0, "not redelivered");
        CHECK(amqp_basic_ack(c, 1, env.delivery_tag, 0) == 0, "ack delivery");
        amqp_destroy_envelope(&env);
    }
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(c, 1, q, 1, 0, 0, 0, amqp_empty_table);
    check_rpc(amqp_get_rpc_reply(c), "passive declare");
    CHECK(ok->message_count == 0, "queue drained");
    amqp_bytes_free(q);
    return 0;
}

static int scenario_confirm(amqp_connection_state_t c)
{
    amqp_bytes_t q = declare_temp(c);
    amqp_confirm_select(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "confirm.select");
    for (int i = 0; i < 20; i++) publish(c, q, amqp_cstring_bytes("c"), NULL);
    uint64_t acked = 0;
    while (acked < 20) {
        amqp_frame_t f;
        struct timeval tv = {5, 0};
        int rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
        CHECK(rc == AMQP_STATUS_OK, "frame before deadline");
        if (f.frame_type != AMQP_FRAME_METHOD) continue;
        CHECK(f.payload.method.id == AMQP_BASIC_ACK_METHOD, "basic.ack confirm");
        amqp_basic_ack_t *a = f.payload.method.decoded;
        CHECK(a->delivery_tag > acked || !a->multiple, "confirm tags increase");
        acked = a->delivery_tag > acked ? a->delivery_tag : acked;
    }
    CHECK(acked == 20, "all 20 publishes confirmed");
    amqp_bytes_free(q);
    return 0;
}

static int scenario_large(amqp_connection_state_t c)
{
    amqp_bytes_t q = declare_temp(c);
    size_t n = 3 * 1024 * 1024 + 11;
    amqp_bytes_t body = amqp_bytes_malloc(n);
    for (size_t i = 0; i < n; i++) ((unsigned char *)body.bytes)[i] = (unsigned char)(i * 31);
    publish(c, q, body, NULL);
    publish(c, q, amqp_empty_bytes, NULL);
    uint64_t tag;
    amqp_bytes_t got = get_one(c, q, 1, &tag, NULL);
    CHECK(got.len == n && memcmp(got.bytes, body.bytes, n) == 0, "3 MiB body round trip");
    amqp_bytes_free(got);
    got = get_one(c, q, 1, &tag, NULL);
    CHECK(got.len == 0, "empty body round trip");
    amqp_bytes_free(got);
    amqp_bytes_free(body);
    amqp_bytes_free(q);
    return 0;
}

static int scenario_error(amqp_connection_state_t c)
{
    amqp_queue_declare(c, 1, amqp_cstring_bytes("rmqc-no-such-queue"), 1, 0, 0, 0,
                       amqp_empty_table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    CHECK(r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, "server exception");
    CHECK(r.reply.id == AMQP_CHANNEL_CLOSE_METHOD, "channel.close");
    amqp_channel_close_t *m = r.reply.decoded;
    CHECK(m->reply_code == 404, "404 NOT_FOUND");
    CHECK(m->class_id == 50 && m->method_id == 10, "class/method of queue.declare");
    amqp_channel_close_ok_t cok = {0};
    CHECK(amqp_send_method(c, 1, AMQP_CHANNEL_CLOSE_OK_METHOD, &cok) == 0, "close-ok");
    amqp_channel_open(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "reopen channel");
    amqp_bytes_t q = declare_temp(c);
    amqp_bytes_free(q);
    return 0;
}

static int scenario_tx(amqp_connection_state_t c)
{
    amqp_bytes_t q = declare_temp(c);
    amqp_tx_select(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "tx.select");
    publish(c, q, amqp_cstring_bytes("t1"), NULL);
    amqp_tx_rollback(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "tx.rollback");
    publish(c, q, amqp_cstring_bytes("t2"), NULL);
    amqp_tx_commit(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "tx.commit");
    uint64_t tag;
    amqp_bytes_t got = get_one(c, q, 1, &tag, NULL);
    CHECK(got.len == 2 && memcmp(got.bytes, "t2", 2) == 0, "only committed message arrives");
    amqp_bytes_free(got);
    amqp_tx_commit(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "tx.commit of the get");
    amqp_bytes_free(q);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT USER PASS SCENARIO\n", argv[0]);
        return 2;
    }
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    CHECK(s != NULL, "socket");
    CHECK(amqp_socket_open(s, argv[1], atoi(argv[2])) == AMQP_STATUS_OK, "tcp connect");
    check_rpc(amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, argv[3], argv[4]), "login");
    amqp_channel_open(c, 1);
    check_rpc(amqp_get_rpc_reply(c), "channel.open");
    const char *sc = argv[5];
    int rc;
    if (strcmp(sc, "basic") == 0)
        rc = scenario_basic(c);
    else if (strcmp(sc, "confirm") == 0)
        rc = scenario_confirm(c);
    else if (strcmp(sc, "large") == 0)
        rc = scenario_large(c);
    else if (strcmp(sc, "error") == 0)
        rc = scenario_error(c);
    else if (strcmp(sc, "tx") == 0)
        rc = scenario_tx(c);
    else {
        fprintf(stderr, "unknown scenario %s\n", sc);
        return 2;
    }
    check_rpc(amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS), "channel.close");
    check_rpc(amqp_connection_close(c, AMQP_REPLY_SUCCESS), "connection.close");
    CHECK(amqp_destroy_connection(c) == 0, "destroy");
    if (rc == 0) printf("OK\n");
    return rc;
}
