/* Unit tests for broker/core/topic.h and topic exchanges: RabbitMQ's own
 * topic matching table (bindings t1..t27, then with some removed), empty words,
 * leading/trailing dots, '#' anywhere, "#" against the empty key, pruning, and
 * a pathological "#.#.#..." pattern that must not explode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "broker/core/exchange.h"
#include "broker/core/route.h"
#include "broker/core/topic.h"
#include "broker/proto/ftable.h"

static wr_bytes S(const char *s)
{
    return wr_bytes_of(s, strlen(s));
}

/* --- plain trie ---------------------------------------------------------- */

typedef struct hits {
    const char *items[64];
    int n;
} hits;

static int collect(void *ctx, void *item)
{
    hits *h = ctx;
    if (h->n < 64) h->items[h->n++] = item;
    return 0;
}

static bool hit(const hits *h, const char *item)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->items[i], item) == 0) return true;
    return false;
}

/* Returns whether binding key `pat` matches routing key `rk`. */
static bool matches(const char *pat, const char *rk)
{
    topic_trie *t = topic_new();
    assert_non_null(t);
    assert_int_equal(topic_add(t, S(pat), (void *)"x"), 0);
    hits h = {.n = 0};
    assert_int_equal(topic_match(t, S(rk), collect, &h), 0);
    topic_free(t);
    assert_true(h.n <= 1);
    return h.n == 1;
}

static void test_single_patterns(void **state)
{
    (void)state;
    static const struct {
        const char *pat, *rk;
        bool want;
    } cases[] = {
        {"a.b.c", "a.b.c", true},
        {"a.b.c", "a.b", false},
        {"a.b.c", "a.b.c.d", false},
        {"a.*.c", "a.x.c", true},
        {"a.*.c", "a.c", false},
        {"a.*.c", "a..c", true}, /* '*' matches an empty word */
        {"*", "", false},
        {"*", "a", true},
        {"*", "a.b", false},
        {"*", ".", false},
        {"*.*", ".", true},
        {"#", "", true},
        {"#", "a.b.c", true},
        {"#", ".", true},
        {"", "", true},
        {"", "a", false},
        {"a.#", "a", true},
        {"a.#", "a.b.c", true},
        {"a.#", "b.a", false},
        {"#.a", "a", true},
        {"#.a", "x.y.a", true},
        {"#.a", "a.x", false},
        {"a.#.b", "a.b", true},
        {"a.#.b", "a.x.y.b", true},
        {"a.#.b", "a.x.y", false},
        {"#.#", "", true},
        {"#.#", "a", true},
        {"a.#.#.b", "a.b", true},
        {"#.*", "", false},
        {"#.*", "a", true},
        {"#.*.#", "a.b.c", true},
        {"*.#", "", false},
        {"a..b", "a..b", true},
        {"a..b", "a.b", false},
        {"a.*.b", "a..b", true},
        {".a", ".a", true},
        {".a", "a", false},
        {"a.", "a.", true},
        {"a.", "a", false},
        {"*.a", ".a", true},
        {"a.*", "a.", true},
        {"#.", "", false},
        {"#.", ".", true},
        {"#.", "a.b.", true},
        {"a*", "ab", false}, /* wildcards are whole words only */
        {"a*", "a*", true},
        {"a#", "a.b", false},
        {"*", "*", true},
        {"#", "#", true},
        {"a.b", "a.*", false}, /* '*' in a routing key is a literal word */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = matches(cases[i].pat, cases[i].rk);
        if (got != cases[i].want)
            fail_msg("pattern '%s' key '%s': got %d want %d", cases[i].pat, cases[i].rk, got,
                     cases[i].want);
    }
}

static void test_add_remove_prune(void **state)
{
    (void)state;
    topic_trie *t = topic_new();
    assert_int_equal(topic_add(t, S("a.b.c"), (void *)"1"), 0);
    assert_int_equal(topic_add(t, S("a.b"), (void *)"2"), 0);
    assert_int_equal(topic_add(t, S("a.#"), (void *)"3"), 0);
    hits h = {.n = 0};
    topic_match(t, S("a.b.c"), collect, &h);
    assert_int_equal(h.n, 2);
    assert_true(hit(&h, "1") && hit(&h, "3"));
    assert_int_equal(topic_remove(t, S("a.b.c"), (void *)"1"), 0);
    assert_int_equal(topic_remove(t, S("a.b.c"), (void *)"1"), WR_ENOTFOUND);
    assert_int_equal(topic_remove(t, S("a.x"), (void *)"1"), WR_ENOTFOUND);
    assert_int_equal(topic_remove(t, S("a.b"), (void *)"9"), WR_ENOTFOUND);
    h.n = 0;
    topic_match(t, S("a.b.c"), collect, &h);
    assert_int_equal(h.n, 1);
    assert_true(hit(&h, "3"));
    h.n = 0;
    topic_match(t, S("a.b"), collect, &h);
    assert_int_equal(h.n, 2);
    assert_int_equal(topic_remove(t, S("a.b"), (void *)"2"), 0);
    assert_int_equal(topic_remove(t, S("a.#"), (void *)"3"), 0);
    h.n = 0;
    topic_match(t, S("a.b"), collect, &h);
    assert_int_equal(h.n, 0);
    /* re-adding after pruning works */
    assert_int_equal(topic_add(t, S("a.b.c"), (void *)"1"), 0);
    h.n = 0;
    topic_match(t, S("a.b.c"), collect, &h);
    assert_int_equal(h.n, 1);
    topic_free(t);
}

static int stop_at_first(void *ctx, void *item)
{
    (void)item;
    (*(int *)ctx)++;
    return 7;
}

static void test_callback_stops(void **state)
{
    (void)state;
    topic_trie *t = topic_new();
    topic_add(t, S("#"), (void *)"1");
    topic_add(t, S("a"), (void *)"2");
    int calls = 0;
    assert_int_equal(topic_match(t, S("a"), stop_at_first, &calls), 7);
    assert_int_equal(calls, 1);
    topic_free(t);
}

static void test_pathological_hashes(void **state)
{
    (void)state;
    topic_trie *t = topic_new();
    char pat[256] = "", rk[1024] = "";
    for (int i = 0; i < 40; i++) strcat(pat, i ? ".#" : "#");
    strcat(pat, ".z");
    for (int i = 0; i < 200; i++) strcat(rk, i ? ".a" : "a");
    assert_int_equal(topic_add(t, S(pat), (void *)"p"), 0);
    assert_int_equal(topic_add(t, S("#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#"), (void *)"q"), 0);
    clock_t c0 = clock();
    hits h = {.n = 0};
    for (int i = 0; i < 20; i++) {
        h.n = 0;
        assert_int_equal(topic_match(t, S(rk), collect, &h), 0);
    }
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    assert_int_equal(h.n, 1);
    assert_true(hit(&h, "q"));
    assert_true(secs < 2.0);
    strcat(rk, ".z");
    h.n = 0;
    topic_match(t, S(rk), collect, &h);
    assert_int_equal(h.n, 2);
    topic_free(t);
}

static void test_same_item_two_keys(void **state)
{
    (void)state;
    topic_trie *t = topic_new();
    topic_add(t, S("a.*"), (void *)"x");
    topic_add(t, S("*.b"), (void *)"x");
    hits h = {.n = 0};
    topic_match(t, S("a.b"), collect, &h);
    assert_int_equal(h.n, 2); /* the trie reports per binding; routing dedupes */
    topic_free(t);
}

/* --- RabbitMQ's topic matching table through a topic exchange ----------- */

static int Q[28];

static const char *const bind_keys[] = {
    NULL,    "a.b.c", "a.*.c", "a.#.b",         "a.b.b.c", "#",     "#.#",   "#.b",
    "*.*",   "a.*",   "*.b.c", "a.#",           "a.#.#",   "b.b.c", "a.b.b", "a.b",
    "b.c",   "",      "*.*.*", "vodka.martini", "a.b.c",   "*.#",   "#.*.#", "*.#.#",
    "#.#.#", "*",     "#.b.#", "args-test"};

static void expect(wr_exchange *ex, const char *rk, const int *want, int nwant)
{
    wr_route_result r;
    route_result_init(&r);
    assert_int_equal(route_message(ex, S(rk), wr_bytes_of(NULL, 0), &r), 0);
    bool got[28] = {false};
    for (uint32_t i = 0; i < r.n_queues; i++) {
        int idx = (int)((int *)r.queues[i] - Q);
        assert_true(idx >= 1 && idx <= 27);
        assert_false(got[idx]); /* no duplicates */
        got[idx] = true;
    }
    for (int i = 0; i < nwant; i++)
        if (!got[want[i]]) fail_msg("key '%s': t%d missing", rk, want[i]);
    if ((int)r.n_queues != nwant) fail_msg("key '%s': %u queues, want %d", rk, r.n_queues, nwant);
    route_result_free(&r);
}

#define EXPECT(ex, rk, ...)                                                                        \
    do {                                                                                           \
        static const int w_[] = {__VA_ARGS__};                                                     \
        expect(ex, rk, w_, (int)(sizeof(w_) / sizeof(w_[0])));                                     \
    } while (0)

static void args_foo(wr_buf *b, const char *v)
{
    wr_buf_init(b);
    assert_int_equal(ftable_put_cstr(b, "foo", v), 0);
}

static void test_rabbitmq_table(void **state)
{
    (void)state;
    wr_exchange *ex =
        exch_new(S("t"), EXCH_TOPIC, false, false, false, wr_bytes_of(NULL, 0), NULL, NULL);
    assert_non_null(ex);
    wr_bytes none = wr_bytes_of(NULL, 0);
    for (int i = 1; i <= 26; i++)
        assert_int_equal(exch_bind(ex, DEST_QUEUE, &Q[i], S(bind_keys[i]), none), 0);
    wr_buf bar, baz;
    args_foo(&bar, "bar");
    args_foo(&baz, "baz");
    assert_int_equal(
        exch_bind(ex, DEST_QUEUE, &Q[27], S("args-test"), wr_bytes_of(bar.data, bar.len)), 0);
    assert_int_equal(
        exch_bind(ex, DEST_QUEUE, &Q[27], S("args-test"), wr_bytes_of(baz.data, baz.len)), 0);
    assert_int_equal(exch_binding_count(ex), 28);

    EXPECT(ex, "a.b.c", 1, 2, 5, 6, 10, 11, 12, 18, 20, 21, 22, 23, 24, 26);
    EXPECT(ex, "a.b", 3, 5, 6, 7, 8, 9, 11, 12, 15, 21, 22, 23, 24, 26);
    EXPECT(ex, "a.b.b", 3, 5, 6, 7, 11, 12, 14, 18, 21, 22, 23, 24, 26);
    EXPECT(ex, "", 5, 6, 17, 24);
    EXPECT(ex, "b.c.c", 5, 6, 18, 21, 22, 23, 24, 26);
    EXPECT(ex, "a.a.a.a.a", 5, 6, 11, 12, 21, 22, 23, 24);
    EXPECT(ex, "vodka.gin", 5, 6, 8, 21, 22, 23, 24);
    EXPECT(ex, "vodka.martini", 5, 6, 8, 19, 21, 22, 23, 24);
    EXPECT(ex, "b.b.c", 5, 6, 10, 13, 18, 21, 22, 23, 24, 26);
    EXPECT(ex, "nothing.here.at.all", 5, 6, 21, 22, 23, 24);
    EXPECT(ex, "oneword", 5, 6, 21, 22, 23, 24, 25);
    EXPECT(ex, "args-test", 5, 6, 21, 22, 23, 24, 25, 27);

    /* remove t1, t5, t11, t19, t21 and one of the two t27 bindings */
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[1], S("a.b.c"), none), 0);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[5], S("#"), none), 0);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[11], S("a.#"), none), 0);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[19], S("vodka.martini"), none), 0);
    assert_int_equal(exch_unbind(ex, DEST_QUEUE, &Q[21], S("*.#"), none), 0);
    assert_int_equal(
        exch_unbind(ex, DEST_QUEUE, &Q[27], S("args-test"), wr_bytes_of(baz.data, baz.len)), 0);
    assert_int_equal(exch_binding_count(ex), 22);

    EXPECT(ex, "a.b.c", 2, 6, 10, 12, 18, 20, 22, 23, 24, 26);
    EXPECT(ex, "a.b", 3, 6, 7, 8, 9, 12, 15, 22, 23, 24, 26);
    EXPECT(ex, "a.b.b", 3, 6, 7, 12, 14, 18, 22, 23, 24, 26);
    EXPECT(ex, "", 6, 17, 24);
    EXPECT(ex, "b.c.c", 6, 18, 22, 23, 24, 26);
    EXPECT(ex, "a.a.a.a.a", 6, 12, 22, 23, 24);
    EXPECT(ex, "vodka.gin", 6, 8, 22, 23, 24);
    EXPECT(ex, "vodka.martini", 6, 8, 22, 23, 24);
    EXPECT(ex, "b.b.c", 6, 10, 13, 18, 22, 23, 24, 26);
    EXPECT(ex, "nothing.here.at.all", 6, 22, 23, 24);
    EXPECT(ex, "oneword", 6, 22, 23, 24, 25);
    EXPECT(ex, "args-test", 6, 22, 23, 24, 25, 27);

    wr_buf_free(&bar);
    wr_buf_free(&baz);
    exch_free(ex);
}

/* --- randomized: the trie against a plain recursive matcher ------------- */

/* Splits s on '.' into at most 16 words ("" has none). */
static int split(const char *s, const char **w, int *wl)
{
    if (!*s) return 0;
    int n = 0;
    for (;;) {
        const char *d = strchr(s, '.');
        w[n] = s;
        wl[n] = d ? (int)(d - s) : (int)strlen(s);
        n++;
        if (!d) return n;
        s = d + 1;
    }
}

static bool ref_match(const char **p, const int *pl, int np, const char **k, const int *kl, int nk)
{
    if (np == 0) return nk == 0;
    if (pl[0] == 1 && p[0][0] == '#') {
        for (int skip = 0; skip <= nk; skip++)
            if (ref_match(p + 1, pl + 1, np - 1, k + skip, kl + skip, nk - skip)) return true;
        return false;
    }
    if (nk == 0) return false;
    if (!(pl[0] == 1 && p[0][0] == '*') && (pl[0] != kl[0] || memcmp(p[0], k[0], (size_t)kl[0])))
        return false;
    return ref_match(p + 1, pl + 1, np - 1, k + 1, kl + 1, nk - 1);
}

static void random_key(char *out, bool pattern, unsigned *seed)
{
    static const char *const words[] = {"a", "b", "", "ab", "*", "#"};
    int nw = (int)(rand_r(seed) % 6);
    out[0] = 0;
    for (int i = 0; i < nw; i++) {
        if (i) strcat(out, ".");
        strcat(out, words[rand_r(seed) % (pattern ? 6u : 4u)]);
    }
}

static void test_random_against_reference(void **state)
{
    (void)state;
    unsigned seed = 12345;
    enum { NP = 60, NK = 400 };
    static char pats[NP][64];
    bool removed[NP] = {false};
    topic_trie *t = topic_new();
    for (int i = 0; i < NP; i++) {
        random_key(pats[i], true, &seed);
        assert_int_equal(topic_add(t, S(pats[i]), pats[i]), 0);
    }
    for (int round = 0; round < 2; round++) {
        for (int j = 0; j < NK; j++) {
            char key[64];
            random_key(key, false, &seed);
            hits h = {.n = 0};
            assert_int_equal(topic_match(t, S(key), collect, &h), 0);
            const char *kw[16];
            int kwl[16];
            int nk = split(key, kw, kwl);
            for (int i = 0; i < NP; i++) {
                const char *pw[16];
                int pwl[16];
                int np = split(pats[i], pw, pwl);
                bool want = !removed[i] && ref_match(pw, pwl, np, kw, kwl, nk);
                bool got = false;
                for (int x = 0; x < h.n; x++)
                    if (h.items[x] == pats[i]) got = true;
                if (got != want)
                    fail_msg("pattern '%s' key '%s': got %d want %d", pats[i], key, got, want);
            }
        }
        /* second round: every other pattern removed */
        for (int i = 0; i < NP && round == 0; i += 2) {
            assert_int_equal(topic_remove(t, S(pats[i]), pats[i]), 0);
            removed[i] = true;
        }
    }
    topic_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_patterns),          cmocka_unit_test(test_add_remove_prune),
        cmocka_unit_test(test_callback_stops),           cmocka_unit_test(test_pathological_hashes),
        cmocka_unit_test(test_same_item_two_keys),       cmocka_unit_test(test_rabbitmq_table),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
