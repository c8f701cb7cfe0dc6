/* Resource alarms: memory (RSS against vm_memory_high_watermark) and disk
 * (free space of the data dir against disk_free_limit), plus the store's
 * failure state, combined into the broker-wide publisher block. */
#include "broker/alarm.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <uv.h>

#include "broker/broker.h"
#include "broker/util/wr_log.h"

#define ALARM_DISK_MIN_MS 100       /* rabbit_disk_monitor DEFAULT_MIN_DISK_CHECK_INTERVAL */
#define ALARM_DISK_MAX_MS 10000     /* DEFAULT_MAX_DISK_CHECK_INTERVAL */
#define ALARM_FAST_RATE   250000ull /* bytes per ms a disk may fill at (FAST_RATE) */

static atomic_int_fast64_t alarm_test_mem = -1;
static atomic_int_fast64_t alarm_test_disk = -1;
static atomic_uint alarm_test_generation;

void alarm_test_limits(int64_t mem_limit, int64_t disk_limit)
{
    atomic_store(&alarm_test_mem, mem_limit);
    atomic_store(&alarm_test_disk, disk_limit);
    atomic_fetch_add(&alarm_test_generation, 1);
}

/* Reads a small file whole into buf (NUL-terminated). Returns its length or -1. */
static ssize_t alarm_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* A cgroup limit file: a byte count, or "max" / a huge value for none. */
static uint64_t alarm_cgroup_value(const char *path)
{
    char buf[64];
    if (alarm_read_file(path, buf, sizeof(buf)) <= 0) return 0;
    if (!isdigit((unsigned char)buf[0])) return 0; /* "max" */
    unsigned long long v = strtoull(buf, NULL, 10);
    if (v >= (1ull << 60)) return 0; /* v1's "unlimited" (PAGE_COUNTER_MAX pages) */
    return (uint64_t)v;
}

/* The cgroup memory limit of this process (0 = none): v2 memory.max or v1
 * memory.limit_in_bytes, in our own cgroup or at the mount's root (as seen
 * from inside a container with a cgroup namespace). */
static uint64_t alarm_cgroup_limit(void)
{
    char cg[4096], path[4352];
    uint64_t v = 0;
    if (alarm_read_file("/proc/self/cgroup", cg, sizeof(cg)) > 0) {
        for (char *line = strtok(cg, "\n"); line && !v; line = strtok(NULL, "\n")) {
            char *c1 = strchr(line, ':');
            char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2) continue;
            *c2 = '\0';
            const char *ctrls = c1 + 1, *rel = c2 + 1;
            if (strcmp(rel, "/") == 0) continue; /* the root files come next */
            if (*ctrls == '\0') {
                snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", rel);
                v = alarm_cgroup_value(path);
            } else if (strstr(ctrls, "memory")) {
                snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", rel);
                v = alarm_cgroup_value(path);
            }
        }
    }
    if (!v) v = alarm_cgroup_value("/sys/fs/cgroup/memory.max");
    if (!v) v = alarm_cgroup_value("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    return v;
}

static uint64_t alarm_meminfo_total(void)
{
    char buf[4096];
    if (alarm_read_file("/proc/meminfo", buf, sizeof(buf)) > 0) {
        const char *p = strstr(buf, "MemTotal:");
        if (p) return (uint64_t)strtoull(p + 9, NULL, 10) * 1024;
    }
    return uv_get_total_memory();
}

uint64_t alarm_total_memory(uint64_t override)
{
    if (override > 0) return override;
    uint64_t total = alarm_meminfo_total();
    uint64_t cg = alarm_cgroup_limit();
    if (cg > 0 && (total == 0 || cg < total)) total = cg;
    return total;
}

/* Resident set size from /proc/self/statm (RabbitMQ's "rss" strategy). */
static uint64_t alarm_rss(void)
{
    char buf[256];
    if (alarm_read_file("/proc/self/statm", buf, sizeof(buf)) <= 0) return 0;
    const char *p = strchr(buf, ' ');
    if (!p) return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)strtoull(p + 1, NULL, 10) * (uint64_t)(page > 0 ? page : 4096);
}

/* The node name as Erlang's ~p prints an atom: quoted unless it is a plain one. */
static const char *alarm_node(const wr_broker *b, char *out, size_t cap)
{
    const char *n = b->node_name;
    bool plain = islower((unsigned char)n[0]);
    for (const char *p = n; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || *p == '_' || *p == '@';
    snprintf(out, cap, plain ? "%s" : "'%s'", n);
    return out;
}

static void alarm_limits(wr_broker *b)
{
    wr_alarm *a = &b->alarm;
    const cfg_config *cfg = b->cfg;
    int64_t tm = atomic_load(&alarm_test_mem), td = atomic_load(&alarm_test_disk);
    bool abs =
        cfg->vm_memory_high_watermark_abs > 0 ||
        ((cfg->set_by_file & CFG_SET_MEM_ABSOLUTE) && !(cfg->set_by_file & CFG_SET_MEM_RELATIVE));
    if (tm >= 0)
        a->mem_limit = (uint64_t)tm;
    else if (abs)
        a->mem_limit = cfg->vm_memory_high_watermark_abs < a->total_memory
                           ? cfg->vm_memory_high_watermark_abs
                           : a->total_memory;
    else
        a->mem_limit = (uint64_t)(cfg->vm_memory_high_watermark * (double)a->total_memory);
    if (td >= 0)
        a->disk_limit = (uint64_t)td;
    else if (cfg->disk_free_limit_relative > 0)
        a->disk_limit = (uint64_t)(cfg->disk_free_limit_relative * (double)a->total_memory);
    else
        a->disk_limit = cfg->disk_free_limit;
}

static void alarm_check_memory(wr_broker *b)
{
    wr_alarm *a = &b->alarm;
    a->mem_used = alarm_rss();
    bool high = a->mem_used > a->mem_limit;
    if (high != !!(a->active & ALARM_MEMORY)) {
        wr_info("vm_memory_high_watermark %s. Memory used:%" PRIu64 " allowed:%" PRIu64,
                high ? "set" : "clear", a->mem_used, a->mem_limit);
        alarm_set(b, ALARM_MEMORY, high);
    }
}

/* rabbit_disk_monitor's interval: the time the disk would need to fill the
 * gap to the limit at 250 MB/s, twice over, within [100 ms, 10 s]. */
static uint64_t alarm_disk_interval(const wr_alarm *a)
{
    if ((a->active & ALARM_DISK) || a->disk_free <= a->disk_limit) return ALARM_DISK_MAX_MS;
    uint64_t ms = 2 * (a->disk_free - a->disk_limit) / ALARM_FAST_RATE;
    if (ms < ALARM_DISK_MIN_MS) ms = ALARM_DISK_MIN_MS;
    if (ms > ALARM_DISK_MAX_MS) ms = ALARM_DISK_MAX_MS;
    return ms;
}

static void alarm_check_disk(wr_broker *b)
{
    wr_alarm *a = &b->alarm;
    struct statvfs sv;
    if (statvfs(b->cfg->data_dir, &sv) < 0) return; /* keep the last state */
    a->disk_free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    bool low = a->disk_free < a->disk_limit;
    if (low != !!(a->active & ALARM_DISK)) {
        wr_info("Free disk space is %s. Free bytes: %" PRIu64 ". Limit: %" PRIu64,
                low ? "insufficient" : "sufficient", a->disk_free, a->disk_limit);
        alarm_set(b, ALARM_DISK, low);
    }
}

void alarm_start(wr_broker *b)
{
    wr_alarm *a = &b->alarm;
    a->total_memory = alarm_total_memory(b->cfg->total_memory_available_override);
    a->test_gen = atomic_load(&alarm_test_generation);
    alarm_limits(b);
    a->started = true;
    wr_info("Memory high watermark set to %" PRIu64 " MiB (%" PRIu64 " bytes) of %" PRIu64
            " MiB (%" PRIu64 " bytes) total",
            a->mem_limit >> 20, a->mem_limit, a->total_memory >> 20, a->total_memory);
    a->disk_enabled = b->cfg->data_dir && *b->cfg->data_dir;
    if (a->disk_enabled) {
        wr_info("Enabling free disk space monitoring");
        wr_info("Disk free limit set to %" PRIu64 "MB", (a->disk_limit + 500000) / 1000000);
    }
    a->next_mem_ms = a->next_disk_ms = 0;
    alarm_tick(b);
}

void alarm_tick(wr_broker *b)
{
    wr_alarm *a = &b->alarm;
    if (!a->started) return;
    uint64_t now = uv_now(b->loop);
    unsigned gen = atomic_load(&alarm_test_generation);
    if (gen != a->test_gen) {
        a->test_gen = gen;
        alarm_limits(b);
        a->next_mem_ms = a->next_disk_ms = now;
    }
    if (now >= a->next_mem_ms) {
        alarm_check_memory(b);
        uint32_t iv = b->cfg->memory_monitor_interval_ms;
        a->next_mem_ms = now + (iv ? iv : 2500);
    }
    if (a->disk_enabled && now >= a->next_disk_ms) {
        alarm_check_disk(b);
        a->next_disk_ms = now + alarm_disk_interval(a);
    }
}

unsigned alarm_active(const wr_broker *b)
{
    return b->alarm.active;
}

/* connection.blocked's reason: rabbit_reader joins the alarms' reasons with " & ". */
static void alarm_reason(unsigned active, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s", (active & ALARM_MEMORY) ? "low on memory" : "",
             (active & ALARM_MEMORY) && (active & (ALARM_DISK | ALARM_STORE)) ? " & " : "",
             (active & (ALARM_DISK | ALARM_STORE)) ? "low on disk" : "");
}

void alarm_set(wr_broker *b, unsigned source, bool on)
{
    wr_alarm *a = &b->alarm;
    unsigned before = a->active;
    a->active = on ? (before | source) : (before & ~source);
    if (a->active == before) return;
    char node[300];
    const char *what = source == ALARM_MEMORY ? "memory" : source == ALARM_DISK ? "disk" : NULL;
    if (what && on)
        wr_warn("%s resource limit alarm set on node %s.\n\n"
                "**********************************************************\n"
                "*** Publishers will be blocked until this alarm clears ***\n"
                "**********************************************************",
                what, alarm_node(b, node, sizeof(node)));
    else if (what)
        wr_warn("%s resource limit alarm cleared on node %s", what,
                alarm_node(b, node, sizeof(node)));
    if (a->active) {
        char reason[64];
        alarm_reason(a->active, reason, sizeof(reason));
        if (b->blocked) /* already blocked: new connections get the current reason */
            snprintf(b->blocked_reason, sizeof(b->blocked_reason), "%s", reason);
        else
            broker_set_blocked(b, true, reason);
    } else {
        broker_set_blocked(b, false, NULL);
    }
}
