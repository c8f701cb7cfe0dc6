/* Users, password hashes and permissions (RabbitMQ's internal auth backend).
 *
 * A user has a name, a password hash in RabbitMQ's rabbit_password_hashing_sha256
 * format (base64 of a 4-byte salt followed by sha256(salt + password)), tags and,
 * per vhost, three permission regexes (configure, write, read) compiled once.
 * The database owns every user; pointers stay valid until user_db_free or
 * user_delete. Loop thread only. */
#ifndef WR_AUTH_USER_H
#define WR_AUTH_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

enum wr_perm { WR_PERM_CONFIGURE = 0, WR_PERM_WRITE = 1, WR_PERM_READ = 2 };

typedef struct wr_user wr_user;
typedef struct wr_user_db wr_user_db;

/* Length of a password hash as stored: base64 of 36 bytes, plus NUL. */
#define USER_HASH_LEN 49

/* Creates an empty user database. Returns NULL on ENOMEM. */
wr_user_db *user_db_new(void);

/* Frees the database and every user in it. NULL is a no-op. */
void user_db_free(wr_user_db *db);

/* Adds (or replaces the password and tags of) a user. tags is a comma- or
 * space-separated list ("administrator", "" or NULL for none). *out (may be NULL)
 * gets the user, owned by the database. Returns 0, WR_EINVAL, WR_ENOMEM. */
int user_add(wr_user_db *db, const char *name, const char *password, const char *tags,
             wr_user **out);

/* Adds a user from an existing hash (definitions import). hash is the base64
 * form; returns 0, WR_EINVAL (bad hash), WR_ENOMEM. */
int user_add_hashed(wr_user_db *db, const char *name, const char *hash, const char *tags,
                    wr_user **out);

/* Removes and frees a user. Returns 0 or WR_ENOTFOUND. */
int user_delete(wr_user_db *db, const char *name);

/* Looks a user up by name (len bytes). Returns NULL when absent. */
wr_user *user_find(const wr_user_db *db, const char *name, size_t len);

/* Number of users; iteration with `for (size_t i = 0; (u = user_next(db, &i));)`. */
size_t user_count(const wr_user_db *db);
wr_user *user_next(const wr_user_db *db, size_t *iter);

/* Sets the permissions of u on vhost (replacing any). Empty regex = matches
 * nothing (RabbitMQ reads "" as "^$"). Returns 0, WR_EINVAL (a regex that does
 * not compile), WR_ENOMEM. */
int user_set_permissions(wr_user *u, const char *vhost, const char *configure, const char *write,
                         const char *read);

/* Removes u's permissions on vhost. Returns 0 or WR_ENOTFOUND. */
int user_clear_permissions(wr_user *u, const char *vhost);

/* True when u has any permission entry on vhost (connection.open's check). */
bool user_has_vhost_access(const wr_user *u, const char *vhost);

/* Permission check as RabbitMQ's internal backend: the regex for p on vhost is
 * searched (unanchored) in name; an empty name is checked as "amq.default" (the
 * default exchange). False when u has no permissions on vhost. */
bool user_can(const wr_user *u, const char *vhost, unsigned p, const char *name, size_t len);

/* Password check in constant time over the hash. */
bool user_check_password(const wr_user *u, const void *pw, size_t len);

/* The user's name (NUL-terminated, owned by u). */
const char *user_name(const wr_user *u);

/* The stored hash (base64) and the tag list as given ("administrator,monitoring"). */
const char *user_password_hash(const wr_user *u);
const char *user_tags(const wr_user *u);

/* True when tag is one of u's tags. */
bool user_has_tag(const wr_user *u, const char *tag);

/* Marks a user as allowed to connect from loopback addresses only. */
void user_set_loopback_only(wr_user *u, bool on);
bool user_loopback_only(const wr_user *u);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (RabbitMQ's is_loopback). */
bool user_addr_is_loopback(const struct sockaddr *sa);

/* Computes the stored form of password with the given 4-byte salt into out
 * (USER_HASH_LEN bytes, NUL-terminated). Returns 0 or WR_EIO. */
int user_hash_password(const void *pw, size_t len, const uint8_t salt[4], char out[USER_HASH_LEN]);

#endif
