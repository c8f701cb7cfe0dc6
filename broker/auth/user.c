/* Users and permissions: see user.h. */
#include "broker/auth/user.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "broker/util/wr_err.h"
#include "broker/util/wr_map.h"

typedef struct user_perm {
    char *vhost;
    regex_t re[3]; /* indexed by enum wr_perm */
    char *src[3];
} user_perm;

struct wr_user {
    char *name;
    char *tags;
    char hash[USER_HASH_LEN];
    bool loopback_only;
    user_perm *perms;
    size_t n_perms;
};

struct wr_user_db {
    wr_map users; /* name -> wr_user* */
};

static void perm_clear(user_perm *p)
{
    for (int i = 0; i < 3; i++) {
        if (p->src[i]) regfree(&p->re[i]);
        free(p->src[i]);
        p->src[i] = NULL;
    }
    free(p->vhost);
    p->vhost = NULL;
}

static void user_free(wr_user *u)
{
    if (!u) return;
    for (size_t i = 0; i < u->n_perms; i++) perm_clear(&u->perms[i]);
    free(u->perms);
    free(u->name);
    free(u->tags);
    free(u);
}

wr_user_db *user_db_new(void)
{
    wr_user_db *db = calloc(1, sizeof(*db));
    if (!db) return NULL;
    wr_map_init(&db->users);
    return db;
}

void user_db_free(wr_user_db *db)
{
    const char *k;
    size_t kl;
    void *v;
    if (!db) return;
    for (size_t i = 0; wr_map_next(&db->users, &i, &k, &kl, &v);) user_free(v);
    wr_map_free(&db->users);
    free(db);
}

int user_hash_password(const void *pw, size_t len, const uint8_t salt[4], char out[USER_HASH_LEN])
{
    uint8_t raw[4 + 32];
    unsigned int dl = 0;
    int ok;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return WR_ENOMEM;
    memcpy(raw, salt, 4);
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, salt, 4) == 1 &&
         EVP_DigestUpdate(ctx, pw, len) == 1 && EVP_DigestFinal_ex(ctx, raw + 4, &dl) == 1 &&
         dl == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) return WR_EIO;
    if (EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw)) != USER_HASH_LEN - 1) return WR_EIO;
    out[USER_HASH_LEN - 1] = '\0';
    return 0;
}

static wr_user *user_get_or_new(wr_user_db *db, const char *name, const char *tags, bool *fresh)
{
    size_t nl = strlen(name);
    wr_user *u = wr_map_get(&db->users, name, nl);
    char *t = strdup(tags ? tags : "");
    if (!t) return NULL;
    *fresh = false;
    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u || !(u->name = strdup(name)) || wr_map_put(&db->users, name, nl, u) < 0) {
            if (u) free(u->name);
            free(u);
            free(t);
            return NULL;
        }
        *fresh = true;
    }
    free(u->tags);
    u->tags = t;
    return u;
}

int user_add(wr_user_db *db, const char *name, const char *password, const char *tags,
             wr_user **out)
{
    uint8_t salt[4];
    char hash[USER_HASH_LEN];
    bool fresh;
    wr_user *u;
    if (!db || !name || !*name || !password) return WR_EINVAL;
    if (RAND_bytes(salt, sizeof(salt)) != 1) return WR_EIO;
    if (user_hash_password(password, strlen(password), salt, hash) < 0) return WR_EIO;
    if (!(u = user_get_or_new(db, name, tags, &fresh))) return WR_ENOMEM;
    memcpy(u->hash, hash, sizeof(hash));
    if (out) *out = u;
    return 0;
}

int user_add_hashed(wr_user_db *db, const char *name, const char *hash, const char *tags,
                    wr_user **out)
{
    uint8_t raw[40];
    bool fresh;
    wr_user *u;
    if (!db || !name || !*name || !hash || strlen(hash) != USER_HASH_LEN - 1) return WR_EINVAL;
    if (EVP_DecodeBlock(raw, (const unsigned char *)hash, USER_HASH_LEN - 1) != 36)
        return WR_EINVAL;
    if (!(u = user_get_or_new(db, name, tags, &fresh))) return WR_ENOMEM;
    memcpy(u->hash, hash, USER_HASH_LEN);
    if (out) *out = u;
    return 0;
}

int user_delete(wr_user_db *db, const char *name)
{
    wr_user *u = wr_map_del(&db->users, name, strlen(name));
    if (!u) return WR_ENOTFOUND;
    user_free(u);
    return 0;
}

wr_user *user_find(const wr_user_db *db, const char *name, size_t len)
{
    return db ? wr_map_get(&db->users, name, len) : NULL;
}

size_t user_count(const wr_user_db *db)
{
    return db->users.count;
}

wr_user *user_next(const wr_user_db *db, size_t *iter)
{
    const char *k;
    size_t kl;
    void *v;
    return wr_map_next(&db->users, iter, &k, &kl, &v) ? v : NULL;
}

static user_perm *perm_find(const wr_user *u, const char *vhost)
{
    for (size_t i = 0; i < u->n_perms; i++)
        if (strcmp(u->perms[i].vhost, vhost) == 0) return &u->perms[i];
    return NULL;
}

int user_set_permissions(wr_user *u, const char *vhost, const char *configure, const char *write,
                         const char *read)
{
    user_perm np;
    const char *src[3] = {configure, write, read};
    user_perm *slot;
    int rc = WR_ENOMEM;
    memset(&np, 0, sizeof(np));
    if (!u || !vhost) return WR_EINVAL;
    if (!(np.vhost = strdup(vhost))) goto fail;
    for (int i = 0; i < 3; i++) {
        const char *s = (src[i] && *src[i]) ? src[i] : "^$";
        if (!(np.src[i] = strdup(s))) goto fail;
        if (regcomp(&np.re[i], s, REG_EXTENDED | REG_NOSUB) != 0) {
            free(np.src[i]);
            np.src[i] = NULL;
            rc = WR_EINVAL;
            goto fail;
        }
    }
    slot = perm_find(u, vhost);
    if (slot) {
        perm_clear(slot);
    } else {
        user_perm *grown = realloc(u->perms, (u->n_perms + 1) * sizeof(*grown));
        if (!grown) goto fail;
        u->perms = grown;
        slot = &u->perms[u->n_perms++];
    }
    *slot = np;
    return 0;
fail:
    perm_clear(&np);
    return rc;
}

int user_clear_permissions(wr_user *u, const char *vhost)
{
    user_perm *p = perm_find(u, vhost);
    if (!p) return WR_ENOTFOUND;
    perm_clear(p);
    *p = u->perms[--u->n_perms];
    return 0;
}

bool user_has_vhost_access(const wr_user *u, const char *vhost)
{
    return u && perm_find(u, vhost) != NULL;
}

bool user_can(const wr_user *u, const char *vhost, unsigned p, const char *name, size_t len)
{
    char stack[512];
    char *buf = stack;
    const user_perm *pm;
    bool ok;
    if (!u || !vhost || p > WR_PERM_READ) return false;
    if (!(pm = perm_find(u, vhost))) return false;
    if (len == 0) {
        name = "amq.default";
        len = strlen(name);
    }
    if (memchr(name, '\0', len)) return false;
    if (len >= sizeof(stack) && !(buf = malloc(len + 1))) return false;
    memcpy(buf, name, len);
    buf[len] = '\0';
    ok = regexec(&pm->re[p], buf, 0, NULL, 0) == 0;
    if (buf != stack) free(buf);
    return ok;
}

bool user_check_password(const wr_user *u, const void *pw, size_t len)
{
    uint8_t raw[40];
    char hash[USER_HASH_LEN];
    if (!u || EVP_DecodeBlock(raw, (const unsigned char *)u->hash, USER_HASH_LEN - 1) != 36)
        return false;
    if (user_hash_password(pw, len, raw, hash) < 0) return false;
    return CRYPTO_memcmp(hash, u->hash, USER_HASH_LEN - 1) == 0;
}

const char *user_name(const wr_user *u)
{
    return u ? u->name : "";
}

const char *user_password_hash(const wr_user *u)
{
    return u->hash;
}

const char *user_tags(const wr_user *u)
{
    return u->tags;
}

bool user_has_tag(const wr_user *u, const char *tag)
{
    size_t tl = strlen(tag);
    const char *p;
    if (!u || !u->tags || !tl) return false;
    for (p = u->tags; *p;) {
        size_t n;
        while (*p == ',' || *p == ' ' || *p == '[' || *p == ']') p++;
        n = strcspn(p, ", []");
        if (n == tl && memcmp(p, tag, tl) == 0) return true;
        p += n;
    }
    return false;
}

void user_set_loopback_only(wr_user *u, bool on)
{
    u->loopback_only = on;
}

bool user_loopback_only(const wr_user *u)
{
    return u->loopback_only;
}

bool user_addr_is_loopback(const struct sockaddr *sa)
{
    if (!sa) return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
        return memcmp(a, v4mapped, 12) == 0 && a[12] == 127;
    }
    return false;
}
