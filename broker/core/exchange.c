/* exchange: exchanges, bindings and per-type routing indexes. */
#include "broker/core/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/core/exch_int.h"
#include "broker/core/headers_match.h"
#include "broker/core/topic.h"
#include "broker/proto/ftable.h"
#include "broker/util/wr_map.h"

typedef struct exch_binding {
    wr_dest_kind kind;
    void *dest;
    uint8_t *rk; /* rk and args share one allocation */
    uint32_t rk_len;
    uint8_t *args;
    uint32_t args_len;
    enum hmatch_mode hmode;
    struct exch_binding *prev, *next;   /* all bindings of the exchange, in order */
    struct exch_binding *kprev, *knext; /* same (kind, dest, rk): identity chain */
    struct exch_binding *dprev, *dnext; /* same rk: direct routing chain */
} exch_binding;

struct wr_exchange {
    char *name;
    uint32_t name_len;
    enum exch_type type;
    bool durable, auto_delete, internal;
    bool has_alternate;
    uint8_t *args;
    uint32_t args_len;
    char *alternate;
    uint32_t alternate_len;
    void *owner;
    void *user;
    exch_lookup_fn lookup;
    exch_binding *head, *tail;
    uint32_t n_bindings;
    wr_map ident;  /* (kind, dest, rk) -> first binding of the identity chain */
    wr_map direct; /* rk -> first binding of the direct chain (direct exchanges) */
    topic_trie *trie;
};

/* Map keys are never NULL, even when empty. */
#define KPTR(b) ((b).len ? (const void *)(b).ptr : (const void *)"")

static const char *const type_names[] = {"direct", "fanout", "topic", "headers"};

int exch_type_parse(wr_bytes name, enum exch_type *out)
{
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(type_names[i]);
        if (name.len == n && memcmp(name.ptr, type_names[i], n) == 0) {
            *out = (enum exch_type)i;
            return 0;
        }
    }
    return WR_ENOTFOUND;
}

const char *exch_type_name(enum exch_type t)
{
    return (unsigned)t < 4 ? type_names[t] : "direct";
}

static void *dup_bytes(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

wr_exchange *exch_new(wr_bytes name, enum exch_type type, bool durable, bool auto_delete,
                      bool internal, wr_bytes args, void *owner, exch_lookup_fn lookup)
{
    wr_exchange *ex = calloc(1, sizeof(*ex));
    if (!ex) return NULL;
    ex->name = malloc(name.len + 1);
    if (!ex->name) goto fail;
    if (name.len) memcpy(ex->name, name.ptr, name.len);
    ex->name[name.len] = 0;
    ex->name_len = name.len;
    ex->type = type;
    ex->durable = durable;
    ex->auto_delete = auto_delete;
    ex->internal = internal;
    ex->owner = owner;
    ex->lookup = lookup;
    ex->args = dup_bytes(args.ptr, args.len);
    if (!ex->args) goto fail;
    ex->args_len = args.len;
    ftable_value ae;
    if (args.len && ftable_get(args, "alternate-exchange", &ae) == 0 && ae.type == 'S') {
        ex->alternate = dup_bytes(ae.v.str.ptr, ae.v.str.len);
        if (!ex->alternate) goto fail;
        ex->alternate_len = ae.v.str.len;
        ex->has_alternate = true;
    }
    wr_map_init(&ex->ident);
    wr_map_init(&ex->direct);
    if (type == EXCH_TOPIC && !(ex->trie = topic_new())) goto fail;
    return ex;
fail:
    free(ex->name);
    free(ex->args);
    free(ex->alternate);
    free(ex);
    return NULL;
}

void exch_free(wr_exchange *ex)
{
    if (!ex) return;
    exch_binding *b = ex->head;
    while (b) {
        exch_binding *n = b->next;
        free(b->rk);
        free(b);
        b = n;
    }
    wr_map_free(&ex->ident);
    wr_map_free(&ex->direct);
    topic_free(ex->trie);
    free(ex->name);
    free(ex->args);
    free(ex->alternate);
    free(ex);
}

wr_bytes exch_name(const wr_exchange *ex)
{
    return wr_bytes_of(ex->name, ex->name_len);
}

enum exch_type exch_get_type(const wr_exchange *ex)
{
    return ex->type;
}

bool exch_durable(const wr_exchange *ex)
{
    return ex->durable;
}

bool exch_auto_delete(const wr_exchange *ex)
{
    return ex->auto_delete;
}

bool exch_internal(const wr_exchange *ex)
{
    return ex->internal;
}

wr_bytes exch_arguments(const wr_exchange *ex)
{
    return wr_bytes_of(ex->args, ex->args_len);
}

void *exch_owner(const wr_exchange *ex)
{
    return ex->owner;
}

void *exch_user_data(const wr_exchange *ex)
{
    return ex->user;
}

void exch_set_user_data(wr_exchange *ex, void *data)
{
    ex->user = data;
}

bool exch_alternate(const wr_exchange *ex, wr_bytes *name)
{
    if (!ex->has_alternate) return false;
    if (name) *name = wr_bytes_of(ex->alternate, ex->alternate_len);
    return true;
}

wr_exchange *exch__alternate(wr_exchange *ex)
{
    if (!ex->has_alternate || !ex->lookup) return NULL;
    return ex->lookup(ex->owner, wr_bytes_of(ex->alternate, ex->alternate_len));
}

int exch_check_binding(const wr_exchange *ex, wr_bytes args, uint32_t method_id, wr_amqp_error *err)
{
    if (ex->type != EXCH_HEADERS) return 0;
    enum hmatch_mode m;
    char text[200];
    if (hmatch_parse_mode(args, &m, text, sizeof(text)) < 0)
        return wr_amqp_fail(err, 406, method_id, "%s", text);
    return 0;
}

/* Identity key: kind byte, dest pointer bytes, routing key. Uses buf when it
 * fits, else allocates (*heap set; free it). */
#define IKEY_FIXED (1 + sizeof(void *))

static uint8_t *ident_key(uint8_t *buf, size_t bufsz, wr_dest_kind k, void *dest, wr_bytes rk,
                          size_t *klen, uint8_t **heap)
{
    size_t n = IKEY_FIXED + rk.len;
    uint8_t *p = buf;
    *heap = NULL;
    if (n > bufsz) {
        p = *heap = malloc(n);
        if (!p) return NULL;
    }
    p[0] = (uint8_t)k;
    memcpy(p + 1, &dest, sizeof(void *));
    if (rk.len) memcpy(p + IKEY_FIXED, rk.ptr, rk.len);
    *klen = n;
    return p;
}

static bool args_equal(const exch_binding *b, wr_bytes args)
{
    if (b->args_len == args.len && (args.len == 0 || memcmp(b->args, args.ptr, args.len) == 0))
        return true;
    if (b->args_len == 0 || args.len == 0) return false;
    return ftable_equal(wr_bytes_of(b->args, b->args_len), args);
}

static exch_binding *find(const wr_exchange *ex, wr_dest_kind k, void *dest, wr_bytes rk,
                          wr_bytes args, int *err)
{
    uint8_t buf[IKEY_FIXED + 256], *heap;
    size_t kl;
    *err = 0;
    uint8_t *key = ident_key(buf, sizeof(buf), k, dest, rk, &kl, &heap);
    if (!key) {
        *err = WR_ENOMEM;
        return NULL;
    }
    exch_binding *b = wr_map_get(&ex->ident, key, kl);
    free(heap);
    for (; b; b = b->knext)
        if (args_equal(b, args)) return b;
    return NULL;
}

bool exch_has_binding(const wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk,
                      wr_bytes args)
{
    int err;
    return find(src, k, dest, rk, args, &err) != NULL;
}

/* Sets the head of a chain in a map (or removes the key when head is NULL). */
static int chain_set_head(wr_map *m, const void *key, size_t kl, exch_binding *head)
{
    if (head) return wr_map_put(m, key, kl, head);
    wr_map_del(m, key, kl);
    return 0;
}

int exch_bind(wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk, wr_bytes args)
{
    int rc;
    enum hmatch_mode mode = HMATCH_ALL;
    if (src->type == EXCH_HEADERS && hmatch_parse_mode(args, &mode, NULL, 0) < 0) return WR_EINVAL;
    if (find(src, k, dest, rk, args, &rc)) return 0;
    if (rc < 0) return rc;

    exch_binding *b = calloc(1, sizeof(*b));
    if (!b) return WR_ENOMEM;
    b->rk = malloc((size_t)rk.len + args.len + 1);
    if (!b->rk) {
        free(b);
        return WR_ENOMEM;
    }
    if (rk.len) memcpy(b->rk, rk.ptr, rk.len);
    b->rk_len = rk.len;
    b->args = b->rk + rk.len;
    if (args.len) memcpy(b->args, args.ptr, args.len);
    b->args_len = args.len;
    b->kind = k;
    b->dest = dest;
    b->hmode = mode;

    uint8_t buf[IKEY_FIXED + 256], *heap;
    size_t kl;
    uint8_t *key = ident_key(buf, sizeof(buf), k, dest, rk, &kl, &heap);
    rc = WR_ENOMEM;
    if (!key) goto fail;
    exch_binding *ihead = wr_map_get(&src->ident, key, kl);
    if (wr_map_put(&src->ident, key, kl, b) < 0) goto fail;
    if (src->type == EXCH_DIRECT) {
        exch_binding *dhead = wr_map_get(&src->direct, KPTR(rk), rk.len);
        if (wr_map_put(&src->direct, KPTR(rk), rk.len, b) < 0) goto fail_ident;
        b->dnext = dhead;
        if (dhead) dhead->dprev = b;
    } else if (src->type == EXCH_TOPIC) {
        if (topic_add(src->trie, rk, b) < 0) goto fail_ident;
    }
    b->knext = ihead;
    if (ihead) ihead->kprev = b;
    b->prev = src->tail;
    if (src->tail)
        src->tail->next = b;
    else
        src->head = b;
    src->tail = b;
    src->n_bindings++;
    free(heap);
    return 0;
fail_ident:
    chain_set_head(&src->ident, key, kl, ihead);
fail:
    free(heap);
    free(b->rk);
    free(b);
    return rc;
}

/* Unlinks b from every index and frees it. */
static int remove_binding(wr_exchange *ex, exch_binding *b)
{
    wr_bytes rk = wr_bytes_of(b->rk, b->rk_len);
    if (!b->kprev) {
        uint8_t buf[IKEY_FIXED + 256], *heap;
        size_t kl;
        uint8_t *key = ident_key(buf, sizeof(buf), b->kind, b->dest, rk, &kl, &heap);
        if (!key) return WR_ENOMEM;
        /* replacing or deleting an existing key does not allocate */
        chain_set_head(&ex->ident, key, kl, b->knext);
        free(heap);
    } else {
        b->kprev->knext = b->knext;
    }
    if (b->knext) b->knext->kprev = b->kprev;
    if (ex->type == EXCH_DIRECT) {
        if (!b->dprev)
            chain_set_head(&ex->direct, KPTR(rk), rk.len, b->dnext);
        else
            b->dprev->dnext = b->dnext;
        if (b->dnext) b->dnext->dprev = b->dprev;
    } else if (ex->type == EXCH_TOPIC) {
        topic_remove(ex->trie, rk, b);
    }
    if (b->prev)
        b->prev->next = b->next;
    else
        ex->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        ex->tail = b->prev;
    ex->n_bindings--;
    free(b->rk);
    free(b);
    return 0;
}

int exch_unbind(wr_exchange *src, wr_dest_kind k, void *dest, wr_bytes rk, wr_bytes args)
{
    int rc;
    exch_binding *b = find(src, k, dest, rk, args, &rc);
    if (!b) return rc < 0 ? rc : WR_ENOTFOUND;
    return remove_binding(src, b);
}

int exch_unbind_all_to(wr_exchange *src, void *dest)
{
    int n = 0;
    exch_binding *b = src->head;
    while (b) {
        exch_binding *next = b->next;
        if (b->dest == dest && remove_binding(src, b) == 0) n++;
        b = next;
    }
    return n;
}

int exch_unbind_all_from(wr_exchange *ex, exch_unbound_fn cb, void *ctx)
{
    int n = 0;
    exch_binding *b;
    while ((b = ex->head)) {
        /* unlink first (nothing here allocates), report, then free */
        ex->head = b->next;
        if (ex->head)
            ex->head->prev = NULL;
        else
            ex->tail = NULL;
        ex->n_bindings--;
        if (ex->trie) topic_remove(ex->trie, wr_bytes_of(b->rk, b->rk_len), b);
        if (cb)
            cb(ctx, b->kind, b->dest, wr_bytes_of(b->rk, b->rk_len),
               wr_bytes_of(b->args, b->args_len));
        free(b->rk);
        free(b);
        n++;
    }
    /* the maps only point at freed bindings now: empty them */
    wr_map_free(&ex->ident);
    wr_map_init(&ex->ident);
    wr_map_free(&ex->direct);
    wr_map_init(&ex->direct);
    return n;
}

uint32_t exch_binding_count(const wr_exchange *ex)
{
    return ex->n_bindings;
}

bool exch_in_use(const wr_exchange *ex)
{
    return ex->n_bindings > 0;
}

int exch_foreach_binding(const wr_exchange *ex, int (*cb)(void *ctx, const exch_binding_info *b),
                         void *ctx)
{
    for (const exch_binding *b = ex->head; b; b = b->next) {
        exch_binding_info info = {b->kind, b->dest, wr_bytes_of(b->rk, b->rk_len),
                                  wr_bytes_of(b->args, b->args_len)};
        int rc = cb(ctx, &info);
        if (rc) return rc;
    }
    return 0;
}

/* --- per-type routing --------------------------------------------------- */

typedef struct topic_emit_ctx {
    exch_emit_fn emit;
    void *ctx;
} topic_emit_ctx;

static int topic_emit(void *ctx, void *item)
{
    topic_emit_ctx *c = ctx;
    exch_binding *b = item;
    return c->emit(c->ctx, b->kind, b->dest);
}

int exch__route_one(wr_exchange *ex, wr_bytes rk, wr_bytes headers, exch_emit_fn emit, void *ctx)
{
    int rc;
    switch (ex->type) {
    case EXCH_DIRECT:
        for (exch_binding *b = wr_map_get(&ex->direct, KPTR(rk), rk.len); b; b = b->dnext)
            if ((rc = emit(ctx, b->kind, b->dest))) return rc;
        return 0;
    case EXCH_FANOUT:
        for (exch_binding *b = ex->head; b; b = b->next)
            if ((rc = emit(ctx, b->kind, b->dest))) return rc;
        return 0;
    case EXCH_TOPIC: {
        topic_emit_ctx c = {emit, ctx};
        return topic_match(ex->trie, rk, topic_emit, &c);
    }
    case EXCH_HEADERS:
        for (exch_binding *b = ex->head; b; b = b->next)
            if (hmatch_match(wr_bytes_of(b->args, b->args_len), b->hmode, headers) &&
                (rc = emit(ctx, b->kind, b->dest)))
                return rc;
        return 0;
    }
    return 0;
}
