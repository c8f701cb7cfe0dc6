/* wr_map: a hash map from byte-string keys to pointers (open addressing,
 * linear probing, FNV-1a). Keys are copied into the map; values are borrowed
 * (the map never frees them). Iteration order is unspecified. Not thread-safe. */
#ifndef WR_MAP_H
#define WR_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wr_map_slot {
    char *key; /* NULL = empty; (char *)1 = deleted */
    size_t klen;
    uint64_t hash;
    void *val;
} wr_map_slot;

typedef struct wr_map {
    wr_map_slot *slots;
    size_t cap;   /* power of two, or 0 */
    size_t count; /* live entries */
    size_t used;  /* live + deleted */
} wr_map;

/* Initialises an empty map (no allocation). */
void wr_map_init(wr_map *m);

/* Frees the map's memory and keys (not the values). */
void wr_map_free(wr_map *m);

/* Returns the value for key, or NULL. */
void *wr_map_get(const wr_map *m, const void *key, size_t klen);

/* Sets key -> val (replacing any value). Returns 0 or WR_ENOMEM. */
int wr_map_put(wr_map *m, const void *key, size_t klen, void *val);

/* Removes key; returns the old value or NULL. */
void *wr_map_del(wr_map *m, const void *key, size_t klen);

/* Iteration: `for (size_t i = 0; wr_map_next(m, &i, &k, &kl, &v);)`. Returns 1
 * with the next entry, 0 at the end. Deleting the current entry while
 * iterating is allowed; inserting is not. */
int wr_map_next(const wr_map *m, size_t *iter, const char **key, size_t *klen, void **val);

#endif
