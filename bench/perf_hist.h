/* perf_hist: a log-linear latency histogram (HDR-style): 64 sub-buckets per
 * power of two, values in nanoseconds up to ~2^40 (18 minutes). Recording is
 * a few instructions and never allocates. */
#ifndef PERF_HIST_H
#define PERF_HIST_H

#include <stdint.h>

#define PERF_HIST_SUB   64
#define PERF_HIST_EXPS  40
#define PERF_HIST_SLOTS (PERF_HIST_SUB * PERF_HIST_EXPS)

typedef struct perf_hist {
    uint64_t count;
    uint64_t max;
    uint64_t slots[PERF_HIST_SLOTS];
} perf_hist;

/* Empties the histogram. */
void perf_hist_reset(perf_hist *h);

/* Records one value (ns). */
void perf_hist_add(perf_hist *h, uint64_t v);

/* Adds every sample of src into dst. */
void perf_hist_merge(perf_hist *dst, const perf_hist *src);

/* Returns the value at quantile q (0..1), as the upper bound of its bucket
 * (at most 1/64 = 1.6% above the true value); 0 when empty. */
uint64_t perf_hist_quantile(const perf_hist *h, double q);

#endif
