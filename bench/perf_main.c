/* warren-perf: command line, orchestration and the final JSON record.
 * Flags follow RabbitMQ PerfTest; run with --help for the list. */
#include "bench/perf.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

perf_opts perf_o;
perf_stats perf_s;

static uv_loop_t *loop;
static uv_timer_t tick_timer, end_timer, check_timer, abort_timer;
static uint64_t t0_ns, t_end_ns, ticks;
static perf_stats base; /* counters when measurement started */
static perf_stats last; /* counters at the previous progress line */
static int expected_clients;
static bool measuring, stopping, connect_failed;
static double cpu0 = -1, cpu1 = -1;
static long rss_before_kb = -1, rss_after_kb = -1;
static uint64_t since_ns; /* --since-ns: CLOCK_REALTIME origin for --handshake */

void perf_error(const char *fmt, ...)
{
    va_list ap;
    perf_s.errors++;
    if (perf_s.last_error[0]) return;
    va_start(ap, fmt);
    vsnprintf(perf_s.last_error, sizeof(perf_s.last_error), fmt, ap);
    va_end(ap);
    if (strstr(perf_s.last_error, "connect")) connect_failed = true;
    if (!perf_o.quiet) fprintf(stderr, "warren-perf: %s\n", perf_s.last_error);
}

/* CPU seconds (user+system) of a process, from /proc; -1 if unreadable. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r"))) return -1;
    if (!fgets(buf, sizeof(buf), f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Resident set size of a process in KiB, from /proc; -1 if unreadable. */
static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if (!(f = fopen(path, "r"))) return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: warren-perf [options]   (flags follow RabbitMQ PerfTest)\n"
        "  -h, --uri URI            amqp://user:pass@host:port/vhost (default "
        "amqp://guest:guest@127.0.0.1:5672/%%2F)\n"
        "  -x, --producers N        producers (per queue with --queue-pattern), default 1\n"
        "  -y, --consumers N        consumers (per queue with --queue-pattern), default 1\n"
        "  -s, --size BYTES         message body size, default 12\n"
        "  -z, --time SECONDS       run time, default 10\n"
        "  -c, --confirm N          publisher confirms with N messages in flight per producer\n"
        "  -q, --qos N              consumer prefetch\n"
        "  -a, --autoack            consumers use no-ack\n"
        "  -f, --flag persistent|mandatory\n"
        "  -r, --rate N             msg/s per producer\n"
        "  -u, --queue NAME         queue (declared durable, deleted at the end)\n"
        "  -e, --exchange NAME      exchange (default: '' with -u, else 'direct')\n"
        "  -t, --type TYPE          exchange type, default direct\n"
        "  -k, --routing-key KEY    routing key (default: the queue name)\n"
        "  -C, --pmessages N        messages per producer\n"
        "  -D, --cmessages N        messages per consumer\n"
        "  --queue-pattern P --queue-pattern-from A --queue-pattern-to B   many queues (P has "
        "%%d)\n"
        "  --no-cleanup             keep the queues (preload a backlog)\n"
        "  --durable / --lazy       declare durable / lazy queues\n"
        "  --idle-connections N     open N connections, report broker RSS per connection\n"
        "  --pid PID                broker PID: report its CPU seconds and RSS\n"
        "  --handshake              time until the first successful handshake (retries), then "
        "exit\n"
        "  --since-ns NS            with --handshake: CLOCK_REALTIME origin to measure from\n"
        "  --sink                   run a discarding AMQP server on the URI's port (tool ceiling)\n"
        "  --quiet                  no progress lines\n");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void urldecode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

/* amqp://user:pass@host:port/vhost */
static int parse_uri(const char *uri)
{
    char buf[1024], *p, *at, *slash, *colon;
    if (strncmp(uri, "amqp://", 7)) return -1;
    snprintf(buf, sizeof(buf), "%s", uri + 7);
    p = buf;
    slash = strchr(p, '/');
    if (slash) {
        *slash = 0;
        snprintf(perf_o.vhost, sizeof(perf_o.vhost), "%.127s", slash[1] ? slash + 1 : "/");
        urldecode(perf_o.vhost);
    }
    at = strrchr(p, '@');
    if (at) {
        *at = 0;
        colon = strchr(p, ':');
        if (colon) {
            *colon = 0;
            snprintf(perf_o.pass, sizeof(perf_o.pass), "%.127s", colon + 1);
        }
        snprintf(perf_o.user, sizeof(perf_o.user), "%.127s", p);
        urldecode(perf_o.user);
        urldecode(perf_o.pass);
        p = at + 1;
    }
    if (*p == '[') { /* [v6]:port */
        char *end = strchr(p, ']');
        if (!end) return -1;
        *end = 0;
        snprintf(perf_o.host, sizeof(perf_o.host), "%.255s", p + 1);
        if (end[1] == ':') perf_o.port = (uint16_t)atoi(end + 2);
    } else {
        colon = strrchr(p, ':');
        if (colon) {
            *colon = 0;
            perf_o.port = (uint16_t)atoi(colon + 1);
        }
        if (*p) snprintf(perf_o.host, sizeof(perf_o.host), "%.255s", p);
    }
    if (!strcmp(perf_o.host, "localhost")) snprintf(perf_o.host, sizeof(perf_o.host), "127.0.0.1");
    return 0;
}

static int parse_args(int argc, char **argv)
{
    enum {
        O_QP = 256,
        O_QPF,
        O_QPT,
        O_NOCLEAN,
        O_IDLE,
        O_PID,
        O_SINK,
        O_QUIET,
        O_HS,
        O_SINCE,
        O_DURABLE,
        O_LAZY
    };
    static const struct option longs[] = {{"uri", 1, 0, 'h'},
                                          {"producers", 1, 0, 'x'},
                                          {"consumers", 1, 0, 'y'},
                                          {"size", 1, 0, 's'},
                                          {"time", 1, 0, 'z'},
                                          {"confirm", 1, 0, 'c'},
                                          {"qos", 1, 0, 'q'},
                                          {"autoack", 0, 0, 'a'},
                                          {"flag", 1, 0, 'f'},
                                          {"rate", 1, 0, 'r'},
                                          {"queue", 1, 0, 'u'},
                                          {"exchange", 1, 0, 'e'},
                                          {"type", 1, 0, 't'},
                                          {"routing-key", 1, 0, 'k'},
                                          {"pmessages", 1, 0, 'C'},
                                          {"cmessages", 1, 0, 'D'},
                                          {"queue-pattern", 1, 0, O_QP},
                                          {"queue-pattern-from", 1, 0, O_QPF},
                                          {"queue-pattern-to", 1, 0, O_QPT},
                                          {"no-cleanup", 0, 0, O_NOCLEAN},
                                          {"idle-connections", 1, 0, O_IDLE},
                                          {"pid", 1, 0, O_PID},
                                          {"sink", 0, 0, O_SINK},
                                          {"quiet", 0, 0, O_QUIET},
                                          {"handshake", 0, 0, O_HS},
                                          {"since-ns", 1, 0, O_SINCE},
                                          {"durable", 0, 0, O_DURABLE},
                                          {"lazy", 0, 0, O_LAZY},
                                          {"help", 0, 0, 'H'},
                                          {0, 0, 0, 0}};
    int opt;
    bool exchange_set = false;

    snprintf(perf_o.host, sizeof(perf_o.host), "127.0.0.1");
    perf_o.port = 5672;
    snprintf(perf_o.user, sizeof(perf_o.user), "guest");
    snprintf(perf_o.pass, sizeof(perf_o.pass), "guest");
    snprintf(perf_o.vhost, sizeof(perf_o.vhost), "/");
    snprintf(perf_o.exchange_type, sizeof(perf_o.exchange_type), "direct");
    perf_o.producers = perf_o.consumers = 1;
    perf_o.size = 12;
    perf_o.seconds = 10;
    perf_o.pattern_from = 1;

    while ((opt = getopt_long(argc, argv, "h:x:y:s:z:c:q:af:r:u:e:t:k:C:D:", longs, NULL)) != -1) {
        switch (opt) {
        case 'h':
            if (parse_uri(optarg)) {
                fprintf(stderr, "warren-perf: bad uri '%s'\n", optarg);
                return -1;
            }
            break;
        case 'x':
            perf_o.producers = atoi(optarg);
            break;
        case 'y':
            perf_o.consumers = atoi(optarg);
            break;
        case 's':
            perf_o.size = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'z':
            perf_o.seconds = atof(optarg);
            break;
        case 'c':
            perf_o.confirm = atoi(optarg);
            break;
        case 'q':
            perf_o.prefetch = atoi(optarg);
            break;
        case 'a':
            perf_o.autoack = true;
            break;
        case 'f':
            if (!strcmp(optarg, "persistent"))
                perf_o.persistent = true;
            else if (!strcmp(optarg, "mandatory"))
                perf_o.mandatory = true;
            else {
                fprintf(stderr, "warren-perf: unknown flag '%s'\n", optarg);
                return -1;
            }
            break;
        case 'r':
            perf_o.rate = atof(optarg);
            break;
        case 'u':
            snprintf(perf_o.queue, sizeof(perf_o.queue), "%s", optarg);
            break;
        case 'e':
            snprintf(perf_o.exchange, sizeof(perf_o.exchange), "%s", optarg);
            exchange_set = true;
            break;
        case 't':
            snprintf(perf_o.exchange_type, sizeof(perf_o.exchange_type), "%s", optarg);
            break;
        case 'k':
            snprintf(perf_o.routing_key, sizeof(perf_o.routing_key), "%s", optarg);
            break;
        case 'C':
            perf_o.pmessages = strtoull(optarg, NULL, 10);
            break;
        case 'D':
            perf_o.cmessages = strtoull(optarg, NULL, 10);
            break;
        case O_QP:
            snprintf(perf_o.queue_pattern, sizeof(perf_o.queue_pattern), "%s", optarg);
            break;
        case O_QPF:
            perf_o.pattern_from = atoi(optarg);
            break;
        case O_QPT:
            perf_o.pattern_to = atoi(optarg);
            break;
        case O_NOCLEAN:
            perf_o.no_cleanup = true;
            break;
        case O_IDLE:
            perf_o.idle_connections = atoi(optarg);
            break;
        case O_PID:
            perf_o.pid = atoi(optarg);
            break;
        case O_SINK:
            perf_o.sink = true;
            break;
        case O_QUIET:
            perf_o.quiet = true;
            break;
        case O_HS:
            perf_o.handshake_only = true;
            break;
        case O_SINCE:
            since_ns = strtoull(optarg, NULL, 10);
            break;
        case O_DURABLE:
            perf_o.durable = true;
            break;
        case O_LAZY:
            perf_o.lazy = true;
            break;
        default:
            usage();
            return -1;
        }
    }
    if (perf_o.queue_pattern[0] && !strstr(perf_o.queue_pattern, "%d")) {
        fprintf(stderr, "warren-perf: --queue-pattern needs %%d\n");
        return -1;
    }
    if (perf_o.queue_pattern[0] && perf_o.pattern_to < perf_o.pattern_from) {
        fprintf(stderr, "warren-perf: --queue-pattern-to must be >= --queue-pattern-from\n");
        return -1;
    }
    if (!exchange_set && !perf_o.queue[0] && !perf_o.queue_pattern[0])
        snprintf(perf_o.exchange, sizeof(perf_o.exchange), "direct");
    if (!perf_o.queue[0] && !perf_o.queue_pattern[0] && !perf_o.routing_key[0])
        snprintf(perf_o.routing_key, sizeof(perf_o.routing_key), "perf-rk");
    if (perf_o.confirm > 1 << 20) perf_o.confirm = 1 << 20;
    return 0;
}

static double rate_of(uint64_t n, double secs)
{
    return secs > 0 ? (double)n / secs : 0;
}

static void on_tick(uv_timer_t *t)
{
    double secs;
    (void)t;
    if (!measuring) return;
    ticks++;
    if (!perf_o.quiet) {
        secs = (double)(perf_now_ns() - t0_ns) / 1e9;
        fprintf(stderr,
                "time %.1fs | sent %.0f msg/s | confirmed %.0f msg/s | received %.0f msg/s | "
                "latency p50 %.0f us p99 %.0f us\n",
                secs, (double)(perf_s.sent - last.sent),
                (double)(perf_s.confirmed - last.confirmed),
                (double)(perf_s.received - last.received),
                perf_hist_quantile(&perf_s.lat_tick, 0.5) / 1e3,
                perf_hist_quantile(&perf_s.lat_tick, 0.99) / 1e3);
    }
    last.sent = perf_s.sent;
    last.confirmed = perf_s.confirmed;
    last.received = perf_s.received;
    perf_hist_reset(&perf_s.lat_tick);
}

static void on_abort(uv_timer_t *t)
{
    (void)t;
    perf_error("broker did not close the connections within 10 s");
    perf_clients_abort();
}

static void stop_all(void)
{
    if (stopping) return;
    stopping = true;
    uv_timer_start(&abort_timer, on_abort, 10000, 0);
    uv_unref((uv_handle_t *)&abort_timer);
    t_end_ns = perf_now_ns();
    if (perf_o.pid) {
        cpu1 = proc_cpu_s(perf_o.pid);
        rss_after_kb = proc_rss_kb(perf_o.pid);
    }
    uv_timer_stop(&tick_timer);
    uv_timer_stop(&end_timer);
    uv_timer_stop(&check_timer);
    perf_clients_stop();
}

static void on_end(uv_timer_t *t)
{
    (void)t;
    stop_all();
}

/* Ends early when every producer sent -C and every consumer got -D. */
static void on_check(uv_timer_t *t)
{
    (void)t;
    if (!measuring) return;
    uint64_t want_p =
        perf_o.pmessages * (uint64_t)perf_o.producers *
        (uint64_t)(perf_o.queue_pattern[0] ? perf_o.pattern_to - perf_o.pattern_from + 1 : 1);
    uint64_t want_c =
        perf_o.cmessages * (uint64_t)perf_o.consumers *
        (uint64_t)(perf_o.queue_pattern[0] ? perf_o.pattern_to - perf_o.pattern_from + 1 : 1);
    bool p_done = perf_o.producers == 0 ||
                  (perf_o.pmessages && perf_s.sent >= want_p &&
                   (perf_o.confirm == 0 || perf_s.confirmed + perf_s.nacked >= want_p));
    bool c_done =
        perf_o.consumers == 0 || (perf_o.cmessages && perf_s.received - base.received >= want_c);
    if (perf_o.idle_connections) return;
    if ((perf_o.pmessages || perf_o.producers == 0) &&
        (perf_o.cmessages || perf_o.consumers == 0) && p_done && c_done)
        stop_all();
    if (perf_clients_live() == 0) stop_all();
}

static void start_measuring(void)
{
    measuring = true;
    t0_ns = perf_now_ns();
    base = perf_s;
    last = perf_s;
    perf_hist_reset(&perf_s.lat);
    perf_hist_reset(&perf_s.lat_tick);
    if (perf_o.pid) {
        cpu0 = proc_cpu_s(perf_o.pid);
        if (perf_o.idle_connections) rss_after_kb = proc_rss_kb(perf_o.pid);
    }
    uv_timer_start(&tick_timer, on_tick, 1000, 1000);
    uv_timer_start(&end_timer, on_end, (uint64_t)(perf_o.seconds * 1000), 0);
    uv_timer_start(&check_timer, on_check, 20, 20);
    perf_clients_each(perf_client_go);
}

static void on_client_ready(perf_client *c)
{
    (void)c;
    if (perf_clients_ready() >= expected_clients && !measuring) start_measuring();
}

static void start_workers(void)
{
    int nq = perf_o.queue_pattern[0] ? perf_o.pattern_to - perf_o.pattern_from + 1 : 1;
    char name[300];

    if (perf_o.idle_connections) {
        if (perf_o.pid) rss_before_kb = proc_rss_kb(perf_o.pid);
        expected_clients += perf_o.idle_connections;
        for (int i = 0; i < perf_o.idle_connections; i++)
            perf_client_start(loop, PERF_IDLE, NULL, on_client_ready);
        return;
    }
    expected_clients += nq * (perf_o.consumers + perf_o.producers);
    for (int q = 0; q < nq; q++) {
        if (perf_o.queue_pattern[0])
            snprintf(name, sizeof(name), perf_o.queue_pattern, perf_o.pattern_from + q);
        else
            snprintf(name, sizeof(name), "%s", perf_o.queue);
        for (int i = 0; i < perf_o.consumers; i++)
            perf_client_start(loop, PERF_CONSUMER, name, on_client_ready);
        for (int i = 0; i < perf_o.producers; i++)
            perf_client_start(loop, PERF_PRODUCER, name, on_client_ready);
    }
    if (expected_clients == 1) start_measuring(); /* only the setup client */
}

static void on_setup_ready(perf_client *c)
{
    (void)c;
    expected_clients = 1;
    start_workers();
}

static void print_json(void)
{
    double secs = (double)(t_end_ns - t0_ns) / 1e9;
    uint64_t sent = perf_s.sent - base.sent, conf = perf_s.confirmed - base.confirmed;
    uint64_t recv = perf_s.received - base.received;
    const perf_hist *h = &perf_s.lat;
    char err[600];
    size_t k = 0;

    for (const char *p = perf_s.last_error; *p && k < sizeof(err) - 3; p++) {
        if (*p == '"' || *p == '\\') err[k++] = '\\';
        err[k++] = (*p >= 32) ? *p : ' ';
    }
    err[k] = 0;
    printf("{\"tool\":\"warren-perf\",\"producers\":%d,\"consumers\":%d,\"size\":%u,\"confirm\":%d,"
           "\"prefetch\":%d,\"autoack\":%s,\"persistent\":%s,\"rate\":%.0f,\"queues\":%d,",
           perf_o.producers, perf_o.consumers, perf_o.size, perf_o.confirm, perf_o.prefetch,
           perf_o.autoack ? "true" : "false", perf_o.persistent ? "true" : "false", perf_o.rate,
           perf_o.queue_pattern[0] ? perf_o.pattern_to - perf_o.pattern_from + 1 : 1);
    printf("\"duration_s\":%.3f,\"sent\":%llu,\"confirmed\":%llu,\"nacked\":%llu,\"returned\":%llu,"
           "\"received\":%llu,",
           secs, (unsigned long long)sent, (unsigned long long)conf,
           (unsigned long long)(perf_s.nacked - base.nacked),
           (unsigned long long)(perf_s.returned - base.returned), (unsigned long long)recv);
    printf("\"sent_rate\":%.0f,\"confirmed_rate\":%.0f,\"received_rate\":%.0f,"
           "\"sent_bytes_rate\":%.0f,\"received_bytes_rate\":%.0f,",
           rate_of(sent, secs), rate_of(conf, secs), rate_of(recv, secs),
           rate_of(perf_s.bytes_sent - base.bytes_sent, secs),
           rate_of(perf_s.bytes_received - base.bytes_received, secs));
    printf("\"latency_us\":{\"samples\":%llu,\"p50\":%.1f,\"p75\":%.1f,\"p95\":%.1f,\"p99\":%.1f,"
           "\"p99.9\":%.1f,\"max\":%.1f},",
           (unsigned long long)h->count, perf_hist_quantile(h, 0.5) / 1e3,
           perf_hist_quantile(h, 0.75) / 1e3, perf_hist_quantile(h, 0.95) / 1e3,
           perf_hist_quantile(h, 0.99) / 1e3, perf_hist_quantile(h, 0.999) / 1e3, h->max / 1e3);
    if (perf_o.pid && cpu0 >= 0 && cpu1 >= 0) printf("\"broker_cpu_s\":%.2f,", cpu1 - cpu0);
    if (perf_o.pid && rss_after_kb >= 0) printf("\"broker_rss_kb\":%ld,", rss_after_kb);
    if (perf_o.idle_connections && rss_before_kb >= 0 && rss_after_kb >= 0)
        printf("\"idle_connections\":%d,\"rss_per_connection_kb\":%.1f,", perf_o.idle_connections,
               (double)(rss_after_kb - rss_before_kb) / perf_o.idle_connections);
    printf("\"errors\":%llu,\"error\":\"%s\"}\n", (unsigned long long)perf_s.errors, err);
    fflush(stdout);
}

/* --handshake: retry a connection until one handshake succeeds. */
static uint64_t hs_deadline;
static uv_timer_t hs_timer;
static bool hs_done;

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_hs_ready(perf_client *c)
{
    (void)c;
    if (hs_done) return;
    hs_done = true;
    printf("{\"tool\":\"warren-perf\",\"handshake_ms\":%.3f}\n",
           (double)(realtime_ns() - since_ns) / 1e6);
    fflush(stdout);
    uv_timer_stop(&hs_timer);
    perf_clients_stop();
}

static void on_hs_timer(uv_timer_t *t)
{
    (void)t;
    if (hs_done) return;
    if (perf_now_ns() > hs_deadline) {
        uv_timer_stop(&hs_timer);
        perf_clients_stop();
        return;
    }
    if (perf_clients_live() == 0) perf_client_start(loop, PERF_IDLE, NULL, on_hs_ready);
}

int main(int argc, char **argv)
{
    int rc;

    if (parse_args(argc, argv)) return 64;
    loop = uv_default_loop();
    if (perf_o.sink) return perf_sink_run(loop) ? 1 : 0;

    uv_timer_init(loop, &tick_timer);
    uv_timer_init(loop, &end_timer);
    uv_timer_init(loop, &check_timer);
    uv_timer_init(loop, &abort_timer);

    if (perf_o.handshake_only) {
        perf_o.quiet = true;
        if (!since_ns) since_ns = realtime_ns();
        hs_deadline = perf_now_ns() + (uint64_t)(perf_o.seconds * 1e9);
        uv_timer_init(loop, &hs_timer);
        uv_timer_start(&hs_timer, on_hs_timer, 0, 1);
        uv_run(loop, UV_RUN_DEFAULT);
        perf_clients_free();
        return hs_done ? 0 : 1;
    }

    /* Safety net: give up if the run never gets going. */
    uv_timer_start(&end_timer, on_end, (uint64_t)(perf_o.seconds * 1000) + 30000, 0);
    perf_client_start(loop, PERF_SETUP, perf_o.queue, on_setup_ready);
    uv_run(loop, UV_RUN_DEFAULT);
    if (!t_end_ns) t_end_ns = perf_now_ns();
    if (!t0_ns) t0_ns = t_end_ns;
    print_json();
    uv_close((uv_handle_t *)&tick_timer, NULL);
    uv_close((uv_handle_t *)&end_timer, NULL);
    uv_close((uv_handle_t *)&check_timer, NULL);
    uv_close((uv_handle_t *)&abort_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    perf_clients_free();
    rc = (connect_failed || !measuring) ? 1 : 0;
    return rc;
}
