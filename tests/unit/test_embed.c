/* The embeddable broker: start on an ephemeral port on its own thread, do a
 * raw AMQP handshake over a socket, open and close a channel, stop; and stop
 * with a connection still open (the client gets connection.close 320). */
#include <arpa/inet.h>
#include <netinet/in.h>
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

#include "broker/config/config.h"
#include "broker/proto/frame.h"
#include "broker/util/wr_log.h"
#include "warren.h"

typedef struct client {
    int fd;
    uint8_t buf[1 << 16];
    size_t len;
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

static void cl_send_raw(client *c, const void *p, size_t n)
{
    assert_int_equal(write(c->fd, p, n), (ssize_t)n);
}

static void cl_send(client *c, uint16_t ch, const amqp091_method *m)
{
    wr_buf b;
    wr_buf_init(&b);
    assert_int_equal(frame_put_method(&b, ch, m), 0);
    cl_send_raw(c, b.data, b.len);
    wr_buf_free(&b);
}

/* Reads the next non-heartbeat method frame (5 s receive timeout per read).
 * Returns false when the socket closed. */
static bool cl_method(client *c, uint16_t *ch, amqp091_method *m)
{
    for (;;) {
        wr_frame f;
        long n = frame_parse(c->buf, c->len, 0, &f);
        if (n > 0) {
            bool is_method = f.type == AMQP091_FRAME_METHOD;
            if (is_method) {
                /* decode into a copy so the slices outlive the consume */
                static uint8_t keep[1 << 16];
                memcpy(keep, f.payload, f.size);
                assert_int_equal(amqp091_decode_method(keep, f.size, m), 0);
                *ch = f.channel;
            }
            memmove(c->buf, c->buf + n, c->len - (size_t)n);
            c->len -= (size_t)n;
            if (is_method) return true;
            continue;
        }
        assert_true(n == 0);
        {
            ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
            assert_true(r >= 0); /* a timeout (-1) fails the test */
            if (r == 0) return false;
            c->len += (size_t)r;
        }
    }
}

static void cl_expect(client *c, uint16_t want_ch, uint32_t want_id, amqp091_method *m)
{
    uint16_t ch = 0xffff;
    assert_true(cl_method(c, &ch, m));
    assert_int_equal(m->id, want_id);
    assert_int_equal(ch, want_ch);
}

static void cl_handshake(client *c, uint16_t port)
{
    amqp091_method m;
    static const char resp[] = "\0guest\0guest";
    c->fd = cl_connect(port);
    c->len = 0;
    cl_send_raw(c, "AMQP\0\0\x09\x01", 8);
    cl_expect(c, 0, AMQP091_CONNECTION_START, &m);
    assert_int_equal(m.u.connection_start.version_major, 0);
    assert_int_equal(m.u.connection_start.version_minor, 9);
    assert_true(m.u.connection_start.mechanisms.len >= 5);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_START_OK;
    m.u.connection_start_ok.mechanism = wr_bytes_str("PLAIN");
    m.u.connection_start_ok.response = wr_bytes_of(resp, sizeof(resp) - 1);
    m.u.connection_start_ok.locale = wr_bytes_str("en_US");
    cl_send(c, 0, &m);
    cl_expect(c, 0, AMQP091_CONNECTION_TUNE, &m);
    assert_int_equal(m.u.connection_tune.channel_max, 2047);
    assert_int_equal(m.u.connection_tune.frame_max, 131072);
    assert_int_equal(m.u.connection_tune.heartbeat, 60);
    m.id = AMQP091_CONNECTION_TUNE_OK;
    m.u.connection_tune_ok.heartbeat = 0;
    cl_send(c, 0, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_OPEN;
    m.u.connection_open.virtual_host = wr_bytes_str("/");
    cl_send(c, 0, &m);
    cl_expect(c, 0, AMQP091_CONNECTION_OPEN_OK, &m);
}

typedef struct fixture {
    cfg_config cfg;
    warren *w;
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    char err[256];
    wr_log_set_level(WR_LOG_WARNING);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/warren-embed-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    cfg_defaults(&fx->cfg);
    fx->cfg.n_tcp_listeners = 1;
    memset(&fx->cfg.tcp_listeners[0], 0, sizeof(fx->cfg.tcp_listeners[0]));
    snprintf(fx->cfg.tcp_listeners[0].ip, sizeof(fx->cfg.tcp_listeners[0].ip), "127.0.0.1");
    fx->cfg.tcp_listeners[0].port = 0;
    fx->cfg.data_dir = fx->dir;
    assert_int_equal(warren_new(&fx->w, &fx->cfg, err, sizeof(err)), 0);
    assert_int_equal(warren_start_thread(fx->w, err, sizeof(err)), 0);
    assert_true(warren_amqp_port(fx->w) > 0);
    assert_true(strlen(warren_node_id(fx->w)) == 32);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];
    warren_free(fx->w);
    fx->cfg.data_dir = NULL;
    cfg_free(&fx->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    if (system(cmd) != 0) return -1;
    free(fx);
    return 0;
}

static void t_handshake_channel_close(void **state)
{
    fixture *fx = *state;
    client *c = calloc(1, sizeof(*c));
    amqp091_method m;
    uint16_t ch;
    cl_handshake(c, warren_amqp_port(fx->w));
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CHANNEL_OPEN;
    cl_send(c, 1, &m);
    cl_expect(c, 1, AMQP091_CHANNEL_OPEN_OK, &m);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CHANNEL_CLOSE;
    m.u.channel_close.reply_code = 200;
    m.u.channel_close.reply_text = wr_bytes_str("bye");
    cl_send(c, 1, &m);
    cl_expect(c, 1, AMQP091_CHANNEL_CLOSE_OK, &m);
    /* a method on the now-closed channel is a connection error 504 */
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_BASIC_QOS;
    cl_send(c, 1, &m);
    cl_expect(c, 0, AMQP091_CONNECTION_CLOSE, &m);
    assert_int_equal(m.u.connection_close.reply_code, 504);
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_CLOSE_OK;
    cl_send(c, 0, &m);
    assert_false(cl_method(c, &ch, &m)); /* the broker closes the socket */
    close(c->fd);
    /* a clean client close */
    cl_handshake(c, warren_amqp_port(fx->w));
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_CLOSE;
    m.u.connection_close.reply_code = 200;
    cl_send(c, 0, &m);
    cl_expect(c, 0, AMQP091_CONNECTION_CLOSE_OK, &m);
    assert_false(cl_method(c, &ch, &m));
    close(c->fd);
    free(c);
}

static void t_bad_header_gets_supported_header(void **state)
{
    fixture *fx = *state;
    client c;
    uint8_t got[8];
    size_t n = 0;
    c.fd = cl_connect(warren_amqp_port(fx->w));
    cl_send_raw(&c, "AMQP\x01\x01\x00\x0a", 8);
    while (n < 8) {
        ssize_t r = read(c.fd, got + n, 8 - n);
        assert_true(r > 0);
        n += (size_t)r;
    }
    assert_memory_equal(got, "AMQP\0\0\x09\x01", 8);
    assert_int_equal(read(c.fd, got, 1), 0);
    close(c.fd);
}

static void t_stop_with_connection_open(void **state)
{
    fixture *fx = *state;
    client *c = calloc(1, sizeof(*c));
    amqp091_method m;
    uint16_t ch;
    cl_handshake(c, warren_amqp_port(fx->w));
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CHANNEL_OPEN;
    cl_send(c, 1, &m);
    cl_expect(c, 1, AMQP091_CHANNEL_OPEN_OK, &m);
    warren_stop(fx->w);
    cl_expect(c, 0, AMQP091_CONNECTION_CLOSE, &m);
    assert_int_equal(m.u.connection_close.reply_code, 320);
    assert_true(wr_bytes_eq_str(m.u.connection_close.reply_text,
                                "CONNECTION_FORCED - broker forced connection closure with "
                                "reason 'shutdown'"));
    memset(&m, 0, sizeof(m));
    m.id = AMQP091_CONNECTION_CLOSE_OK;
    cl_send(c, 0, &m);
    assert_false(cl_method(c, &ch, &m));
    close(c->fd);
    warren_wait(fx->w); /* the broker thread ends */
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_handshake_channel_close, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_header_gets_supported_header, setup, teardown),
        cmocka_unit_test_setup_teardown(t_stop_with_connection_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
