#include "broker/util/wr_map.h"
#include "broker/util/wr_err.h"

#include <stdlib.h>
#include <string.h>

#define TOMB ((char *)1)

static uint64_t map_hash(const void *key, size_t n)
{
    const uint8_t *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void wr_map_init(wr_map *m)
{
    memset(m, 0, sizeof(*m));
}

void wr_map_free(wr_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMB) free(m->slots[i].key);
    free(m->slots);
    wr_map_init(m);
}

static wr_map_slot *map_find(const wr_map *m, const void *key, size_t klen, uint64_t h)
{
    size_t mask, i;
    if (!m->cap) return NULL;
    mask = m->cap - 1;
    for (i = h & mask;; i = (i + 1) & mask) {
        wr_map_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->key != TOMB && s->hash == h && s->klen == klen && !memcmp(s->key, key, klen))
            return s;
    }
}

void *wr_map_get(const wr_map *m, const void *key, size_t klen)
{
    wr_map_slot *s = map_find(m, key, klen, map_hash(key, klen));
    return s ? s->val : NULL;
}

static int map_grow(wr_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    wr_map_slot *ns, *old = m->slots;
    size_t ocap = m->cap;

    if (m->count * 4 < m->cap) ncap = m->cap; /* mostly tombstones: rehash in place size */
    ns = calloc(ncap, sizeof(*ns));
    if (!ns) return WR_ENOMEM;
    for (size_t i = 0; i < ocap; i++) {
        wr_map_slot *s = &old[i];
        if (!s->key || s->key == TOMB) continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key) j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(old);
    m->slots = ns;
    m->cap = ncap;
    m->used = m->count;
    return WR_OK;
}

int wr_map_put(wr_map *m, const void *key, size_t klen, void *val)
{
    uint64_t h = map_hash(key, klen);
    wr_map_slot *s = map_find(m, key, klen, h);
    size_t i, mask;
    char *k;

    if (s) {
        s->val = val;
        return WR_OK;
    }
    if ((m->used + 1) * 4 >= m->cap * 3) {
        int rc = map_grow(m);
        if (rc) return rc;
    }
    k = malloc(klen + 1);
    if (!k) return WR_ENOMEM;
    memcpy(k, key, klen);
    k[klen] = 0;
    mask = m->cap - 1;
    for (i = h & mask; m->slots[i].key && m->slots[i].key != TOMB; i = (i + 1) & mask) {
    }
    if (!m->slots[i].key) m->used++;
    m->slots[i] = (wr_map_slot){k, klen, h, val};
    m->count++;
    return WR_OK;
}

void *wr_map_del(wr_map *m, const void *key, size_t klen)
{
    wr_map_slot *s = map_find(m, key, klen, map_hash(key, klen));
    void *v;
    if (!s) return NULL;
    v = s->val;
    free(s->key);
    s->key = TOMB;
    s->val = NULL;
    m->count--;
    return v;
}

int wr_map_next(const wr_map *m, size_t *iter, const char **key, size_t *klen, void **val)
{
    while (*iter < m->cap) {
        wr_map_slot *s = &m->slots[(*iter)++];
        if (s->key && s->key != TOMB) {
            if (key) *key = s->key;
            if (klen) *klen = s->klen;
            if (val) *val = s->val;
            return 1;
        }
    }
    return 0;
}
