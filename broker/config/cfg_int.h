/* Private to broker/config: the arena, the two-phase loader (collect settings, then apply)
 * and message helpers shared by the sysctl, YAML, plugins and env readers. */
#ifndef WR_CFG_INT_H
#define WR_CFG_INT_H

#include "broker/config/config.h"

#include <stdarg.h>

#define CFG_MAX_KEY     256  /* bytes in a key */
#define CFG_MAX_VALUE   4096 /* bytes in a value */
#define CFG_MAX_KEYS    4096 /* settings per config */
#define CFG_MAX_LIST    256  /* entries in one list setting */
#define CFG_MAX_PLUGINS 256

/* Allocates n bytes owned by c (freed by cfg_free). NULL on ENOMEM. */
void *cfg__alloc(cfg_config *c, size_t n);

/* Copies n bytes of s plus a NUL into c's arena. NULL on ENOMEM. */
char *cfg__strndup(cfg_config *c, const char *s, size_t n);
char *cfg__strdup(cfg_config *c, const char *s);

/* Appends s (copied) to the list (*v, *n), copying a static default array on first write.
 * Returns 0, WR_ENOMEM, WR_ETOOBIG. */
int cfg__list_add(cfg_config *c, char ***v, int *n, const char *s);

/* Writes a formatted message to err (may be NULL). */
void cfg__fmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Emits a warning (hook or wr_warn) and counts it in c->n_warnings. */
void cfg__warn(cfg_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A batch of settings read from one source, before they are applied. */
typedef struct cfg_batch {
    cfg_config *c;
    const char *file; /* arena copy of the source name */
    int first;        /* index in c->settings of the first setting of this batch */
} cfg_batch;

/* Starts a batch for source name. Returns 0 or WR_ENOMEM. */
int cfg__batch_begin(cfg_config *c, cfg_batch *b, const char *name);

/* Records key = value (lengths given; copied) from line. A key seen before is overwritten
 * (cuttlefish: the last one wins). Checks key syntax. Returns 0, WR_ECONFIG (err filled
 * "file:line: ..."), WR_ETOOBIG, WR_ENOMEM. */
int cfg__batch_add(cfg_batch *b, const char *key, size_t klen, const char *val, size_t vlen,
                   int line, char *err, size_t errlen);

/* Validates and applies every setting of the batch, then the cross-key rules. Returns 0 or
 * WR_ECONFIG/WR_ENOMEM with err "file:line: message". */
int cfg__batch_apply(cfg_batch *b, char *err, size_t errlen);

/* Reads a whole file (capped at CFG_MAX_FILE_SIZE) into a malloc'd NUL-terminated buffer.
 * Returns 0, WR_EIO (errno kept), WR_ETOOBIG, WR_ENOMEM. */
int cfg__read_file(const char *path, char **out, size_t *len);

#endif
