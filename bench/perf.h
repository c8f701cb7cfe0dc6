/* warren-perf: a PerfTest-style AMQP 0-9-1 load tool.
 *
 * One libuv loop drives every producer and consumer connection. Producers
 * encode publishes into a per-connection output buffer and write it in large
 * batches; consumers parse deliveries in place and acknowledge with one
 * multiple=true ack per read batch. The tool speaks plain AMQP 0-9-1 so that
 * it runs against warren and RabbitMQ alike. */
#ifndef PERF_H
#define PERF_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "bench/perf_hist.h"

#define PERF_MAX_CLIENTS 4096

typedef struct perf_opts {
    char host[256];
    uint16_t port;
    char user[128], pass[128], vhost[128];
    int producers, consumers; /* -x / -y (per queue with a queue pattern) */
    uint32_t size;            /* -s body bytes (>= 16 carries a timestamp) */
    double seconds;           /* -z */
    int confirm;              /* -c max unconfirmed per producer, 0 = no confirms */
    int prefetch;             /* -q, 0 = unlimited */
    bool autoack;             /* -a */
    bool persistent;          /* -f persistent */
    bool mandatory;           /* -f mandatory */
    double rate;              /* -r msg/s per producer, 0 = unlimited */
    char queue[256];          /* -u */
    char exchange[256];       /* -e */
    char exchange_type[32];   /* -t */
    char routing_key[256];    /* -k */
    char queue_pattern[256];  /* --queue-pattern, printf with %d */
    int pattern_from, pattern_to;
    uint64_t pmessages;   /* -C per producer, 0 = unlimited */
    uint64_t cmessages;   /* -D per consumer, 0 = unlimited */
    bool no_cleanup;      /* --no-cleanup: keep queues (preload a backlog) */
    bool durable;         /* --durable: declare durable queues (implied by -f persistent) */
    bool lazy;            /* --lazy: x-queue-mode=lazy */
    int idle_connections; /* --idle-connections N: open N connections and hold them */
    int pid;              /* --pid: broker PID for CPU and RSS accounting */
    bool sink;            /* --sink: act as a discarding AMQP server on --port */
    bool quiet;           /* no progress lines */
    bool handshake_only;  /* --handshake: time one handshake and exit */
} perf_opts;

/* Totals, updated by clients on the loop thread. */
typedef struct perf_stats {
    uint64_t sent, confirmed, nacked, returned, received;
    uint64_t bytes_sent, bytes_received;
    perf_hist lat;      /* whole-run latency */
    perf_hist lat_tick; /* latency of the current progress interval */
    uint64_t errors;
    char last_error[256];
} perf_stats;

extern perf_opts perf_o;
extern perf_stats perf_s;

/* Monotonic nanoseconds. */
uint64_t perf_now_ns(void);

/* Records an error (counted; the first text kept). */
void perf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum perf_role { PERF_SETUP, PERF_PRODUCER, PERF_CONSUMER, PERF_IDLE };

typedef struct perf_client perf_client;

/* Starts a client connection of the given role on queue/exchange names
 * (queue may be "" for a server-named queue bound to the exchange).
 * on_ready (may be NULL) is called once the client has finished its setup
 * and is about to run. Returns NULL on allocation failure. */
perf_client *perf_client_start(uv_loop_t *loop, enum perf_role role, const char *queue,
                               void (*on_ready)(perf_client *c));

/* Tells every producer to stop publishing and every client to close. */
void perf_clients_stop(void);

/* Closes every client's socket at once (a broker that does not answer
 * connection.close must not keep the tool running). */
void perf_clients_abort(void);

/* Number of clients not yet closed. */
int perf_clients_live(void);

/* Number of clients that completed their setup. */
int perf_clients_ready(void);

/* Starts publishing on a ready producer (no-op for other roles). */
void perf_client_go(perf_client *c);

/* Calls fn on every client. */
void perf_clients_each(void (*fn)(perf_client *c));

/* Frees every client; only after the loop has closed their handles. */
void perf_clients_free(void);

/* Runs the discard server on perf_o.port until stopped. */
int perf_sink_run(uv_loop_t *loop);

#endif
