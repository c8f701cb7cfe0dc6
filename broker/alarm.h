/* Resource alarms (RabbitMQ 3.8's vm_memory_monitor, rabbit_disk_monitor and
 * rabbit_alarm): while the process's RSS is above vm_memory_high_watermark or
 * the data dir's free space is below disk_free_limit, or the store's writes
 * fail, publishers are blocked broker-wide (broker_set_blocked: connection.blocked
 * "low on memory" / "low on disk"). Each source is independent; publishers are
 * unblocked once every source has cleared.
 *
 * Everything runs on the broker's loop thread, driven by the broker's 100 ms
 * tick: memory every memory_monitor_interval (2500 ms), disk between 100 ms and
 * 10 s depending on how close free space is to the limit (10 s while alarmed),
 * as RabbitMQ does. */
#ifndef WR_ALARM_H
#define WR_ALARM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wr_broker wr_broker;

enum {
    ALARM_MEMORY = 1u << 0, /* RSS above the memory high watermark */
    ALARM_DISK = 1u << 1,   /* free disk space below disk_free_limit */
    ALARM_STORE = 1u << 2,  /* the store's writes fail (persist.c) */
};

typedef struct wr_alarm {
    unsigned active;       /* ALARM_* bits currently set */
    bool started;          /* alarm_start ran */
    bool disk_enabled;     /* a data dir to watch */
    uint64_t total_memory; /* detected: override, else min(cgroup limit, MemTotal) */
    uint64_t mem_limit;    /* bytes; 0 blocks all publishing */
    uint64_t mem_used;     /* RSS at the last check */
    uint64_t disk_limit;   /* bytes */
    uint64_t disk_free;    /* available bytes at the last check */
    uint64_t next_mem_ms;  /* uv_now() of the next check */
    uint64_t next_disk_ms;
    uint32_t test_gen; /* alarm_test_limits generation seen */
} wr_alarm;

/* Detects total memory, computes both limits, logs them as RabbitMQ does
 * ("Memory high watermark set to ...", "Disk free limit set to ...") and runs
 * the first checks at once (an alarm may block publishers before anyone
 * connects). Call from broker_start once the loop is known. */
void alarm_start(wr_broker *b);

/* Runs the memory and disk checks that are due (call from the broker tick). */
void alarm_tick(wr_broker *b);

/* Sets or clears one source (ALARM_*), logs like rabbit_alarm for memory and
 * disk, and blocks publishers while any source is set, unblocks when none is. */
void alarm_set(wr_broker *b, unsigned source, bool on);

/* The ALARM_* bits currently set. */
unsigned alarm_active(const wr_broker *b);

/* Total memory as RabbitMQ would see it in this container: the override when
 * > 0, else the smaller of the cgroup limit (v2 memory.max, v1
 * memory.limit_in_bytes) and /proc/meminfo's MemTotal. */
uint64_t alarm_total_memory(uint64_t override);

/* Test hook, process-wide and thread-safe: replaces the configured memory
 * limit (mem_limit >= 0, bytes) and disk limit (disk_limit >= 0) of every
 * broker; -1 restores the configured one. Every broker re-checks both within
 * one tick (~100 ms). */
void alarm_test_limits(int64_t mem_limit, int64_t disk_limit);

#endif
