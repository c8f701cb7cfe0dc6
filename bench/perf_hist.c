#include "bench/perf_hist.h"

#include <string.h>

void perf_hist_reset(perf_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static unsigned hist_slot(uint64_t v)
{
    unsigned e;
    if (v < PERF_HIST_SUB) return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v); /* v >= 64, so e >= 6 */
    unsigned exp = e - 5;                   /* 1.. */
    unsigned sub = (unsigned)(v >> (e - 6)) & (PERF_HIST_SUB - 1);
    unsigned slot = exp * PERF_HIST_SUB + sub;
    return slot < PERF_HIST_SLOTS ? slot : PERF_HIST_SLOTS - 1;
}

static uint64_t hist_upper(unsigned slot)
{
    unsigned exp = slot / PERF_HIST_SUB, sub = slot % PERF_HIST_SUB;
    if (exp == 0) return sub;
    /* values with top bit e = exp + 5: (64 + sub) << (e - 6) .. next - 1 */
    return (((uint64_t)(PERF_HIST_SUB + sub + 1)) << (exp - 1)) - 1;
}

void perf_hist_add(perf_hist *h, uint64_t v)
{
    h->slots[hist_slot(v)]++;
    h->count++;
    if (v > h->max) h->max = v;
}

void perf_hist_merge(perf_hist *dst, const perf_hist *src)
{
    for (unsigned i = 0; i < PERF_HIST_SLOTS; i++) dst->slots[i] += src->slots[i];
    dst->count += src->count;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t perf_hist_quantile(const perf_hist *h, double q)
{
    uint64_t want, seen = 0;
    if (!h->count) return 0;
    want = (uint64_t)(q * (double)h->count);
    if (want >= h->count) want = h->count - 1;
    for (unsigned i = 0; i < PERF_HIST_SLOTS; i++) {
        seen += h->slots[i];
        if (seen > want) {
            uint64_t u = hist_upper(i);
            return u > h->max ? h->max : u;
        }
    }
    return h->max;
}
