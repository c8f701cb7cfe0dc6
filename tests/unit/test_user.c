/* Users: RabbitMQ's password hash format, permission regexes, loopback rule. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker/auth/user.h"
#include "broker/util/wr_err.h"

/* A hash produced by RabbitMQ (rabbitmqctl hash_password / definitions
 * export) for the password "guest" with salt 0x908dc60a. */
static void t_hash_matches_rabbitmq_format(void **state)
{
    static const uint8_t salt[4] = {0x90, 0x8d, 0xc6, 0x0a};
    char out[USER_HASH_LEN];
    (void)state;
    assert_int_equal(user_hash_password("guest", 5, salt, out), 0);
    assert_int_equal(strlen(out), 48);
    /* base64 of the salt comes first: 908dc60a -> "kI3GC" */
    assert_memory_equal(out, "kI3GC", 5);
    /* the same salt and password give the same hash, another password does not */
    {
        char again[USER_HASH_LEN], other[USER_HASH_LEN];
        user_hash_password("guest", 5, salt, again);
        user_hash_password("guesT", 5, salt, other);
        assert_string_equal(out, again);
        assert_string_not_equal(out, other);
    }
}

static void t_password_check_and_import(void **state)
{
    wr_user_db *db = user_db_new();
    wr_user *u, *v;
    char hash[USER_HASH_LEN];
    (void)state;
    assert_int_equal(user_add(db, "alice", "s3cret", "administrator", &u), 0);
    assert_true(user_check_password(u, "s3cret", 6));
    assert_false(user_check_password(u, "s3cre", 5));
    assert_false(user_check_password(u, "", 0));
    /* salted: two users with the same password get different hashes */
    assert_int_equal(user_add(db, "bob", "s3cret", "", &v), 0);
    assert_string_not_equal(user_password_hash(u), user_password_hash(v));
    /* a stored hash imports and verifies */
    memcpy(hash, user_password_hash(u), USER_HASH_LEN);
    assert_int_equal(user_add_hashed(db, "carol", hash, "monitoring", &v), 0);
    assert_true(user_check_password(v, "s3cret", 6));
    assert_int_equal(user_add_hashed(db, "dave", "not-base64", "", NULL), WR_EINVAL);
    assert_ptr_equal(user_find(db, "alice", 5), u);
    assert_null(user_find(db, "alic", 4));
    assert_int_equal(user_count(db), 3);
    assert_int_equal(user_delete(db, "bob"), 0);
    assert_int_equal(user_delete(db, "bob"), WR_ENOTFOUND);
    user_db_free(db);
}

static void t_tags(void **state)
{
    wr_user_db *db = user_db_new();
    wr_user *u;
    (void)state;
    user_add(db, "a", "p", "administrator,impersonator monitoring", &u);
    assert_true(user_has_tag(u, "administrator"));
    assert_true(user_has_tag(u, "impersonator"));
    assert_true(user_has_tag(u, "monitoring"));
    assert_false(user_has_tag(u, "admin"));
    assert_false(user_has_tag(u, "management"));
    user_db_free(db);
}

#define CAN(u, vh, p, s) user_can(u, vh, p, s, strlen(s))

static void t_permissions(void **state)
{
    wr_user_db *db = user_db_new();
    wr_user *u;
    (void)state;
    user_add(db, "u", "p", "", &u);
    /* no entry for the vhost: nothing allowed, no vhost access */
    assert_false(user_has_vhost_access(u, "/"));
    assert_false(CAN(u, "/", WR_PERM_READ, "q"));
    assert_int_equal(user_set_permissions(u, "/", "^app\\.", ".*", ""), 0);
    assert_true(user_has_vhost_access(u, "/"));
    assert_false(user_has_vhost_access(u, "other"));
    assert_true(CAN(u, "/", WR_PERM_CONFIGURE, "app.q1"));
    assert_false(CAN(u, "/", WR_PERM_CONFIGURE, "xapp.q1"));
    assert_true(CAN(u, "/", WR_PERM_WRITE, "anything"));
    /* empty regex = "^$": matches nothing a client can name */
    assert_false(CAN(u, "/", WR_PERM_READ, "q"));
    /* the default exchange is checked as amq.default */
    assert_true(CAN(u, "/", WR_PERM_WRITE, ""));
    assert_int_equal(user_set_permissions(u, "/", "", "^amq\\.default$", ""), 0);
    assert_true(CAN(u, "/", WR_PERM_WRITE, ""));
    assert_false(CAN(u, "/", WR_PERM_WRITE, "x"));
    /* unanchored search, as RabbitMQ's re:run */
    assert_int_equal(user_set_permissions(u, "v", "ab", "ab", "ab"), 0);
    assert_true(CAN(u, "v", WR_PERM_READ, "xxabyy"));
    /* a bad regex is refused and the old one stays */
    assert_int_equal(user_set_permissions(u, "v", "(", "ab", "ab"), WR_EINVAL);
    assert_true(CAN(u, "v", WR_PERM_READ, "xxabyy"));
    /* names are byte strings with a length, not C strings */
    assert_true(user_can(u, "v", WR_PERM_READ, "abXX", 2));
    assert_false(user_can(u, "v", WR_PERM_READ, "a\0b", 3));
    assert_int_equal(user_clear_permissions(u, "v"), 0);
    assert_false(CAN(u, "v", WR_PERM_READ, "ab"));
    assert_int_equal(user_clear_permissions(u, "v"), WR_ENOTFOUND);
    user_db_free(db);
}

static void t_loopback(void **state)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    wr_user_db *db = user_db_new();
    wr_user *u;
    (void)state;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(user_addr_is_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "127.10.0.7", &a4.sin_addr);
    assert_true(user_addr_is_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
    assert_false(user_addr_is_loopback((struct sockaddr *)&a4));
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_true(user_addr_is_loopback((struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
    assert_true(user_addr_is_loopback((struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::ffff:192.168.1.1", &a6.sin6_addr);
    assert_false(user_addr_is_loopback((struct sockaddr *)&a6));
    inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
    assert_false(user_addr_is_loopback((struct sockaddr *)&a6));
    user_add(db, "guest", "guest", "administrator", &u);
    assert_false(user_loopback_only(u));
    user_set_loopback_only(u, true);
    assert_true(user_loopback_only(u));
    user_db_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_hash_matches_rabbitmq_format),
        cmocka_unit_test(t_password_check_and_import),
        cmocka_unit_test(t_tags),
        cmocka_unit_test(t_permissions),
        cmocka_unit_test(t_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
