/* topic: binding-key trie with '*' and '#', matched as an automaton. */
#include "broker/core/topic.h"

#include <stdlib.h>
#include <string.h>

#include "broker/util/wr_map.h"

typedef struct topic_node {
    struct topic_node *parent;
    char *word; /* edge label from the parent ("*" / "#" for wildcard edges) */
    uint32_t wlen;
    bool is_hash;    /* reached through a '#' edge */
    wr_map children; /* literal words -> topic_node */
    struct topic_node *star, *hash;
    void **items;
    uint32_t n_items, cap_items;
    uint64_t mark; /* state-set stamp during topic_match */
} topic_node;

struct topic_trie {
    topic_node root;
    size_t n_nodes;
    uint64_t stamp;
    topic_node **cur, **next; /* scratch state sets, capacity >= n_nodes */
    size_t scratch_cap;
};

topic_trie *topic_new(void)
{
    topic_trie *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    wr_map_init(&t->root.children);
    t->n_nodes = 1;
    return t;
}

static void node_free_tree(topic_node *n, bool self)
{
    const char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; wr_map_next(&n->children, &i, &k, &kl, &v);) node_free_tree(v, true);
    wr_map_free(&n->children);
    if (n->star) node_free_tree(n->star, true);
    if (n->hash) node_free_tree(n->hash, true);
    free(n->items);
    free(n->word);
    if (self) free(n);
}

void topic_free(topic_trie *t)
{
    if (!t) return;
    node_free_tree(&t->root, false);
    free(t->cur);
    free(t->next);
    free(t);
}

/* Word iteration over a dotted key: "" has no words, "a." is "a", "". */
typedef struct word_it {
    const uint8_t *p;
    uint32_t len, off;
    bool done;
} word_it;

static void word_it_init(word_it *w, wr_bytes key)
{
    w->p = key.ptr;
    w->len = key.len;
    w->off = 0;
    w->done = key.len == 0;
}

static bool word_next(word_it *w, const uint8_t **word, uint32_t *wlen)
{
    if (w->done) return false;
    const uint8_t *start = w->p + w->off;
    const uint8_t *dot = memchr(start, '.', w->len - w->off);
    if (dot) {
        *word = start;
        *wlen = (uint32_t)(dot - start);
        w->off += *wlen + 1;
    } else {
        *word = start;
        *wlen = w->len - w->off;
        w->done = true;
    }
    return true;
}

static topic_node *child_of(topic_node *n, const uint8_t *w, uint32_t wl)
{
    if (wl == 1 && w[0] == '*') return n->star;
    if (wl == 1 && w[0] == '#') return n->hash;
    return wr_map_get(&n->children, w, wl);
}

static int ensure_scratch(topic_trie *t)
{
    if (t->scratch_cap >= t->n_nodes) return 0;
    size_t cap = t->scratch_cap ? t->scratch_cap : 16;
    while (cap < t->n_nodes) cap *= 2;
    topic_node **a = realloc(t->cur, cap * sizeof(*a));
    if (!a) return WR_ENOMEM;
    t->cur = a;
    topic_node **b = realloc(t->next, cap * sizeof(*b));
    if (!b) return WR_ENOMEM;
    t->next = b;
    t->scratch_cap = cap;
    return 0;
}

static void prune(topic_trie *t, topic_node *n)
{
    while (n != &t->root && n->n_items == 0 && n->children.count == 0 && !n->star && !n->hash) {
        topic_node *p = n->parent;
        if (p->star == n)
            p->star = NULL;
        else if (p->hash == n)
            p->hash = NULL;
        else
            wr_map_del(&p->children, n->word, n->wlen);
        wr_map_free(&n->children);
        free(n->items);
        free(n->word);
        free(n);
        t->n_nodes--;
        n = p;
    }
}

int topic_add(topic_trie *t, wr_bytes key, void *item)
{
    word_it it;
    const uint8_t *w;
    uint32_t wl;
    topic_node *n = &t->root;
    word_it_init(&it, key);
    while (word_next(&it, &w, &wl)) {
        topic_node *c = child_of(n, w, wl);
        if (!c) {
            c = calloc(1, sizeof(*c));
            if (!c) goto nomem;
            c->word = malloc(wl ? wl : 1);
            if (!c->word) {
                free(c);
                goto nomem;
            }
            memcpy(c->word, w, wl);
            c->wlen = wl;
            c->parent = n;
            wr_map_init(&c->children);
            if (wl == 1 && w[0] == '*') {
                n->star = c;
            } else if (wl == 1 && w[0] == '#') {
                c->is_hash = true;
                n->hash = c;
            } else if (wr_map_put(&n->children, w, wl, c) < 0) {
                free(c->word);
                free(c);
                goto nomem;
            }
            t->n_nodes++;
        }
        n = c;
    }
    if (ensure_scratch(t) < 0) goto nomem;
    if (n->n_items == n->cap_items) {
        uint32_t cap = n->cap_items ? n->cap_items * 2 : 2;
        void **a = realloc(n->items, cap * sizeof(*a));
        if (!a) goto nomem;
        n->items = a;
        n->cap_items = cap;
    }
    n->items[n->n_items++] = item;
    return 0;
nomem:
    prune(t, n);
    return WR_ENOMEM;
}

int topic_remove(topic_trie *t, wr_bytes key, void *item)
{
    word_it it;
    const uint8_t *w;
    uint32_t wl;
    topic_node *n = &t->root;
    word_it_init(&it, key);
    while (word_next(&it, &w, &wl)) {
        n = child_of(n, w, wl);
        if (!n) return WR_ENOTFOUND;
    }
    for (uint32_t i = 0; i < n->n_items; i++) {
        if (n->items[i] != item) continue;
        memmove(&n->items[i], &n->items[i + 1], (n->n_items - i - 1) * sizeof(void *));
        n->n_items--;
        prune(t, n);
        return 0;
    }
    return WR_ENOTFOUND;
}

static inline void add_state(topic_node **set, size_t *n, topic_node *node, uint64_t stamp)
{
    if (!node || node->mark == stamp) return;
    node->mark = stamp;
    set[(*n)++] = node;
}

/* Adds the '#' children reachable without consuming a word ("#" matches
 * zero words). The set grows while it is scanned. */
static void closure(topic_node **set, size_t *n, uint64_t stamp)
{
    for (size_t i = 0; i < *n; i++) add_state(set, n, set[i]->hash, stamp);
}

int topic_match(topic_trie *t, wr_bytes rk, int (*cb)(void *ctx, void *item), void *ctx)
{
    if (ensure_scratch(t) < 0) return WR_ENOMEM;
    size_t ncur = 0, nnext;
    uint64_t stamp = ++t->stamp;
    add_state(t->cur, &ncur, &t->root, stamp);
    closure(t->cur, &ncur, stamp);
    word_it it;
    const uint8_t *w;
    uint32_t wl;
    word_it_init(&it, rk);
    while (ncur && word_next(&it, &w, &wl)) {
        stamp = ++t->stamp;
        nnext = 0;
        for (size_t i = 0; i < ncur; i++) {
            topic_node *s = t->cur[i];
            if (s->is_hash) add_state(t->next, &nnext, s, stamp); /* '#' eats this word */
            add_state(t->next, &nnext, wr_map_get(&s->children, w, wl), stamp);
            add_state(t->next, &nnext, s->star, stamp);
        }
        closure(t->next, &nnext, stamp);
        topic_node **tmp = t->cur;
        t->cur = t->next;
        t->next = tmp;
        ncur = nnext;
    }
    for (size_t i = 0; i < ncur; i++) {
        topic_node *s = t->cur[i];
        for (uint32_t j = 0; j < s->n_items; j++) {
            int rc = cb(ctx, s->items[j]);
            if (rc) return rc;
        }
    }
    return 0;
}
