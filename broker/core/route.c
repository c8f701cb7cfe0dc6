/* route: follows exchange-to-exchange bindings and alternate exchanges,
 * collecting distinct queues (rabbit_exchange:route/route1 in RabbitMQ 3.8). */
#include "broker/core/route.h"

#include <stdlib.h>
#include <string.h>

#include "broker/core/exch_int.h"

/* Up to this many queues duplicates are found by a linear scan; beyond it a
 * pointer hash set is used. */
#define ROUTE_SCAN_MAX 16

void route_result_init(wr_route_result *r)
{
    memset(r, 0, sizeof(*r));
    r->queues = r->q_inline;
    r->q_cap = ROUTE_INLINE;
    r->xs = r->x_inline;
    r->x_cap = ROUTE_INLINE;
}

void route_result_free(wr_route_result *r)
{
    if (r->queues != r->q_inline) free(r->queues);
    if (r->xs != r->x_inline) free(r->xs);
    free(r->set);
    route_result_init(r);
}

static inline uint32_t ptr_hash(const void *p, uint32_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & mask;
}

/* Inserts p into the set; true when it was new. The set has room. */
static bool set_insert(void **set, uint32_t cap, void *p)
{
    uint32_t mask = cap - 1;
    for (uint32_t i = ptr_hash(p, mask);; i = (i + 1) & mask) {
        if (set[i] == p) return false;
        if (!set[i]) {
            set[i] = p;
            return true;
        }
    }
}

/* Makes the set hold exactly queues[0..n) with load <= 1/2. */
static int set_rebuild(wr_route_result *r, uint32_t want)
{
    uint32_t cap = r->set_cap ? r->set_cap : 64;
    while (cap < want * 2) cap *= 2;
    if (cap != r->set_cap) {
        void **s = realloc(r->set, cap * sizeof(void *));
        if (!s) return WR_ENOMEM;
        r->set = s;
        r->set_cap = cap;
    }
    memset(r->set, 0, cap * sizeof(void *));
    for (uint32_t i = 0; i < r->n_queues; i++) set_insert(r->set, cap, r->queues[i]);
    return 0;
}

static int add_queue(wr_route_result *r, void *q)
{
    if (r->n_queues < ROUTE_SCAN_MAX) {
        for (uint32_t i = 0; i < r->n_queues; i++)
            if (r->queues[i] == q) return 0;
    } else {
        if (r->n_queues == ROUTE_SCAN_MAX || (r->n_queues + 1) * 2 > r->set_cap) {
            int rc = set_rebuild(r, r->n_queues + 1);
            if (rc < 0) return rc;
        }
        if (!set_insert(r->set, r->set_cap, q)) return 0;
    }
    if (r->n_queues == r->q_cap) {
        uint32_t cap = r->q_cap * 2;
        void **a;
        if (r->queues == r->q_inline) {
            a = malloc(cap * sizeof(void *));
            if (a) memcpy(a, r->queues, r->n_queues * sizeof(void *));
        } else {
            a = realloc(r->queues, cap * sizeof(void *));
        }
        if (!a) return WR_ENOMEM;
        r->queues = a;
        r->q_cap = cap;
    }
    r->queues[r->n_queues++] = q;
    return 0;
}

/* Appends x to the work list unless it was seen already in this message. */
static int add_exchange(wr_route_result *r, wr_exchange *x)
{
    for (uint32_t i = 0; i < r->n_exchanges; i++)
        if (r->xs[i] == x) return 0;
    if (r->n_exchanges == r->x_cap) {
        uint32_t cap = r->x_cap * 2;
        wr_exchange **a;
        if (r->xs == r->x_inline) {
            a = malloc(cap * sizeof(*a));
            if (a) memcpy(a, r->xs, r->n_exchanges * sizeof(*a));
        } else {
            a = realloc(r->xs, cap * sizeof(*a));
        }
        if (!a) return WR_ENOMEM;
        r->xs = a;
        r->x_cap = cap;
    }
    r->xs[r->n_exchanges++] = x;
    return 0;
}

typedef struct emit_ctx {
    wr_route_result *r;
    uint32_t n_dests; /* destinations the current exchange's own routing gave */
} emit_ctx;

static int emit(void *ctx, wr_dest_kind k, void *dest)
{
    emit_ctx *c = ctx;
    c->n_dests++;
    if (k == DEST_QUEUE) return add_queue(c->r, dest);
    return add_exchange(c->r, dest);
}

int route_message(wr_exchange *ex, wr_bytes rk, wr_bytes headers, wr_route_result *out)
{
    out->n_queues = 0;
    out->n_exchanges = 0;
    int rc = add_exchange(out, ex);
    if (rc < 0) return rc;
    for (uint32_t i = 0; i < out->n_exchanges; i++) {
        wr_exchange *x = out->xs[i];
        emit_ctx c = {out, 0};
        rc = exch__route_one(x, rk, headers, emit, &c);
        if (rc < 0) return rc;
        if (c.n_dests == 0) {
            wr_exchange *ae = exch__alternate(x);
            if (ae && (rc = add_exchange(out, ae)) < 0) return rc;
        }
    }
    return 0;
}
