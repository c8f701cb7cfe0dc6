/* Resource alarms over the wire (embedded broker on its own thread, raw AMQP
 * clients): a memory or disk alarm set from boot blocks a publisher that
 * advertises connection.blocked (connection.blocked with RabbitMQ's reason),
 * its message is not routed while the alarm holds (a consumer on another
 * connection gets nothing), and lowering the limit (alarm_test_limits)
 * unblocks it: connection.unblocked, then the message arrives. Both alarms
 * are independent; consume-only connections never see connection.blocked. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/alarm.h"
#include "broker/config/config.h"
#include "broker/proto/frame.h"
#include "broker/util/wr_log.h"
#include "warren.h"

#define BIG_LIMIT (INT64_C(1) << 60)

typedef struct client {
    int fd;
    uint8_t buf[1 << 16];
    size_t len;
    uint8_t keep[1 << 16]; /* payload of the last frame */
} client;

static int cl_connect(uint16_t port)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void cl_send_buf(client *c, wr_buf *b)
{
    assert_int_equal(write(c->fd, b->data, b->len), (ssize_t)b->len);
    wr_buf_free(b);
}

static void cl_send(client *c, uint16_t ch, const amqp091_method *m)
{
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(frame_put_method(&b, ch, m), 0);
    cl_send_buf(c, &b);
}

/* The next non-heartbeat frame (5 s receive timeout per read); its payload
 * is copied to c->keep. */
static void cl_frame(client *c, wr_frame *out)
{
    for (;;) {
        long n = frame_parse(c->buf, c->len, 0, out);
        if (n > 0) {
            memcpy(c->keep, out->payload, out->size);
            out->payload = c->keep;
            memmove(c->buf, c->buf + n, c->len - (size_t)n);
            c->len -= (size_t)n;
            if (out->type == AMQP091_FRAME_HEARTBEAT) continue;
            return;
        }
        assert_true(n == 0);
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        assert_true(r > 0); /* a timeout or a close fails the test */
        c->len += (size_t)r;
    }
}

static void cl_expect(client *c, uint16_t want_ch, uint32_t want_id, amqp091_method *m)
{
    wr_frame f;
    cl_frame(c, &f);
    assert_int_equal(f.type, AMQP091_FRAME_METHOD);
    assert_int_equal(f.channel, want_ch);
    assert_int_equal(amqp091_decode_method(c->keep, f.size, m), 0);
    assert_int_equal(m->id, want_id);
}

/* True when nothing arrives on c within ms (a bounded wait for an absence). */
static bool cl_quiet(client *c, int ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return c->len == 0 && poll(&p, 1, ms) == 0;
}

static void cl_handshake(client *c, uint16_t port, bool blocked_cap)
{
    amqp091_method m;
    static const char resp[] = "\0guest\0guest";
    /* {capabilities: {connection.blocked: true}}, content without the size */
    static const uint8_t props[] = "\x0c"
                                   "capabilities"
                                   "F\x00\x00\x00\x15"
                                   "\x12"
                                   "connection.blocked"
                                   "t\x01";
    c->fd = cl_connect(port);
    c->len = 0;
    assert_int_equal(write(c->fd, "AMQP\0\0\x09\x01", 8), 8);
    cl_expect(c, 0, AMQP091_CONNECTION_START, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_START_OK;
    if (blocked_cap)
        m.u.connection_start_ok.client_properties = wr_bytes_of(props, sizeof(props) - 1);
    m.u.connection_start_ok.mechanism = wr_bytes_str("PLAIN");
    m.u.connection_start_ok.response = wr_bytes_of(resp, sizeof(resp) - 1);
    m.u.connection_start_ok.locale = wr_bytes_str("en_US");
    cl_send(c, 0, &m);
    cl_expect(c, 0, AMQP091_CONNECTION_TUNE, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_TUNE_OK;
    m.u.connection_tune_ok.channel_max = 2047;
    m.u.connection_tune_ok.frame_max = 131072;
    cl_send(c, 0, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_OPEN;
    m.u.connection_open.virtual_host = wr_bytes_str("/");
    cl_send(c, 0, &m);
    cl_expect(c, 0, AMQP091_CONNECTION_OPEN_OK, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CHANNEL_OPEN;
    cl_send(c, 1, &m);
    cl_expect(c, 1, AMQP091_CHANNEL_OPEN_OK, &m);
}

/* queue.declare q, basic.consume no-ack on it. */
static void cl_consume(client *c, const char *q)
{
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_QUEUE_DECLARE;
    m.u.queue_declare.queue = wr_bytes_str(q);
    m.u.queue_declare.auto_delete = true;
    cl_send(c, 1, &m);
    cl_expect(c, 1, AMQP091_QUEUE_DECLARE_OK, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_CONSUME;
    m.u.basic_consume.queue = wr_bytes_str(q);
    m.u.basic_consume.no_ack = true;
    cl_send(c, 1, &m);
    cl_expect(c, 1, AMQP091_BASIC_CONSUME_OK, &m);
}

static void cl_publish(client *c, const char *q, const char *body)
{
    amqp091_method m;
    static const uint8_t no_props[2] = {0, 0};
    wr_buf b;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_PUBLISH;
    m.u.basic_publish.routing_key = wr_bytes_str(q);
    wr_buf_init(&b);
    assert_int_equal(frame_put_method_content(&b, 1, &m, no_props, sizeof(no_props),
                                              (const uint8_t *)body, strlen(body), 131072),
                     0);
    cl_send_buf(c, &b);
}

static void cl_expect_delivery(client *c, const char *body)
{
    amqp091_method m;
    wr_frame f;
    cl_expect(c, 1, AMQP091_BASIC_DELIVER, &m);
    cl_frame(c, &f);
    assert_int_equal(f.type, AMQP091_FRAME_HEADER);
    cl_frame(c, &f);
    assert_int_equal(f.type, AMQP091_FRAME_BODY);
    assert_int_equal(f.size, strlen(body));
    assert_memory_equal(f.payload, body, f.size);
}

static void cl_expect_blocked(client *c, const char *reason)
{
    amqp091_method m;
    cl_expect(c, 0, AMQP091_CONNECTION_BLOCKED, &m);
    assert_true(wr_bytes_eq_str(m.u.connection_blocked.reason, reason));
}

typedef struct fixture {
    cfg_config cfg;
    warren *w;
    char dir[64];
    client pub, cons;
} fixture;

static fixture *fx_start(uint64_t mem_abs, uint64_t disk_limit)
{
    fixture *fx = calloc(1, sizeof(*fx));
    char err[256];
    assert_non_null(fx);
    wr_log_set_level(WR_LOG_ERROR);
    alarm_test_limits(-1, -1);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/warren-alarm-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    cfg_defaults(&fx->cfg);
    fx->cfg.n_tcp_listeners = 1;
    memset(&fx->cfg.tcp_listeners[0], 0, sizeof(fx->cfg.tcp_listeners[0]));
    snprintf(fx->cfg.tcp_listeners[0].ip, sizeof(fx->cfg.tcp_listeners[0].ip), "127.0.0.1");
    fx->cfg.data_dir = fx->dir;
    fx->cfg.vm_memory_high_watermark_abs = mem_abs;
    fx->cfg.disk_free_limit = disk_limit;
    assert_int_equal(warren_new(&fx->w, &fx->cfg, err, sizeof(err)), 0);
    assert_int_equal(warren_start_thread(fx->w, err, sizeof(err)), 0);
    cl_handshake(&fx->cons, warren_amqp_port(fx->w), true);
    cl_consume(&fx->cons, "alarm-q");
    cl_handshake(&fx->pub, warren_amqp_port(fx->w), true);
    return fx;
}

static void fx_stop(fixture *fx)
{
    char cmd[128];
    close(fx->pub.fd);
    close(fx->cons.fd);
    warren_free(fx->w);
    alarm_test_limits(-1, -1);
    fx->cfg.data_dir = NULL;
    cfg_free(&fx->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
}

static void t_memory_alarm(void **state)
{
    (void)state;
    fixture *fx = fx_start(1, 0);         /* vm_memory_high_watermark.absolute = 1 */
    assert_true(cl_quiet(&fx->pub, 100)); /* nothing until it publishes */
    cl_publish(&fx->pub, "alarm-q", "m1");
    cl_expect_blocked(&fx->pub, "low on memory");
    assert_true(cl_quiet(&fx->cons, 300));
    alarm_test_limits(BIG_LIMIT, -1);
    amqp091_method m;
    cl_expect(&fx->pub, 0, AMQP091_CONNECTION_UNBLOCKED, &m);
    cl_expect_delivery(&fx->cons, "m1");
    cl_publish(&fx->pub, "alarm-q", "m2"); /* reading again */
    cl_expect_delivery(&fx->cons, "m2");
    fx_stop(fx);
}

static void t_disk_alarm(void **state)
{
    (void)state;
    fixture *fx = fx_start(0, UINT64_C(1000000) * 1000000000); /* 1000000GB */
    cl_publish(&fx->pub, "alarm-q", "d1");
    cl_expect_blocked(&fx->pub, "low on disk");
    assert_true(cl_quiet(&fx->cons, 300));
    alarm_test_limits(-1, 0);
    amqp091_method m;
    cl_expect(&fx->pub, 0, AMQP091_CONNECTION_UNBLOCKED, &m);
    cl_expect_delivery(&fx->cons, "d1");
    fx_stop(fx);
}

static void t_both_alarms_independent(void **state)
{
    (void)state;
    fixture *fx = fx_start(1, UINT64_C(1000000) * 1000000000);
    cl_publish(&fx->pub, "alarm-q", "b1");
    cl_expect_blocked(&fx->pub, "low on memory & low on disk");
    alarm_test_limits(BIG_LIMIT, -1); /* memory clears, disk still set */
    assert_true(cl_quiet(&fx->pub, 400));
    assert_true(cl_quiet(&fx->cons, 1));
    alarm_test_limits(BIG_LIMIT, 0);
    amqp091_method m;
    cl_expect(&fx->pub, 0, AMQP091_CONNECTION_UNBLOCKED, &m);
    cl_expect_delivery(&fx->cons, "b1");
    fx_stop(fx);
}

static void t_consumer_not_blocked(void **state)
{
    (void)state;
    fixture *fx = fx_start(1, 0);
    /* the consumer advertised connection.blocked but never publishes: it
     * keeps working and never hears of the alarm */
    amqp091_method m;
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_QUEUE_DECLARE;
    m.u.queue_declare.queue = wr_bytes_str("alarm-q2");
    m.u.queue_declare.auto_delete = true;
    cl_send(&fx->cons, 1, &m);
    cl_expect(&fx->cons, 1, AMQP091_QUEUE_DECLARE_OK, &m);
    fx_stop(fx);
}

/* total memory: the override wins; else no more than MemTotal nor the
 * cgroup limit (v2 memory.max / v1 memory.limit_in_bytes) when one is set. */
static void t_total_memory(void **state)
{
    (void)state;
    assert_int_equal(alarm_total_memory(123456789), 123456789);
    uint64_t t = alarm_total_memory(0);
    assert_true(t > 0);
    char line[256];
    unsigned long long kb = 0, cg = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) break;
    fclose(f);
    assert_true(kb > 0 && t <= (uint64_t)kb * 1024);
    f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (!f) f = fopen("/sys/fs/cgroup/memory/memory.limit_in_bytes", "r");
    if (f) {
        if (fscanf(f, "%llu", &cg) == 1 && cg > 0) assert_true(t <= cg);
        fclose(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_memory_alarm),
        cmocka_unit_test(t_disk_alarm),
        cmocka_unit_test(t_both_alarms_independent),
        cmocka_unit_test(t_consumer_not_blocked),
        cmocka_unit_test(t_total_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
