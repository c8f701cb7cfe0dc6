/* warren's one error convention.
 *
 * Every function that can fail returns int: 0 (WR_OK) or a negative WR_E*
 * code. Functions that return a size or count return it as a non-negative
 * value and errors as negative codes. AMQP exceptions (a reply code plus the
 * class/method that caused it) travel separately in a wr_amqp_error filled by
 * the callee, which then returns WR_EAMQP.
 */
#ifndef WR_ERR_H
#define WR_ERR_H

#include <stdbool.h>
#include <stdint.h>

enum wr_err {
    WR_OK = 0,
    WR_ENOMEM = -1,     /* allocation failed */
    WR_EINVAL = -2,     /* bad argument from the caller */
    WR_EMALFORMED = -3, /* bytes from the network or a file do not parse */
    WR_ETOOBIG = -4,    /* over a protocol or configured limit */
    WR_ENOTFOUND = -5,  /* no such entity */
    WR_EEXIST = -6,     /* entity already exists */
    WR_EIO = -7,        /* I/O or system call failure (errno is logged) */
    WR_EUNKNOWN = -8,   /* unknown class/method/type id */
    WR_ECONFIG = -9,    /* configuration is invalid */
    WR_ESTORE = -10,    /* storage failure */
    WR_ECLOSED = -11,   /* the object is closing or closed */
    WR_EAMQP = -12,     /* an AMQP exception was raised: see wr_amqp_error */
    WR_EAGAIN = -13,    /* not now: retry later (e.g. need more bytes) */
    WR_EFULL = -14,     /* out of space (disk, map, queue limit) */
};

/* Returns a static description of a WR_E* code; never NULL. */
const char *wr_strerror(int err);

/* An AMQP exception. `hard` selects connection.close (true) or channel.close
 * (false); method_id is (class-id << 16) | method-id of the method that caused
 * it, 0 when none. text is RabbitMQ's format: "NOT_FOUND - no queue 'q' in
 * vhost '/'". */
typedef struct wr_amqp_error {
    uint16_t code;
    bool hard;
    uint32_t method_id;
    char text[256];
} wr_amqp_error;

/* Fills *e with code/method and a printf-formatted text prefixed by the
 * reply code's name ("NOT_FOUND - "). `hard` is derived from the code
 * (the spec's hard-error class; 530 NOT_ALLOWED etc.). Returns WR_EAMQP so
 * callers can write `return wr_amqp_fail(e, 404, id, "no queue '%s'", n);`. */
int wr_amqp_fail(wr_amqp_error *e, uint16_t code, uint32_t method_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Returns RabbitMQ's name for a reply code ("NOT_FOUND"), or "UNKNOWN". */
const char *wr_reply_name(uint16_t code);

/* True when the reply code is a hard (connection-level) error. */
bool wr_reply_is_hard(uint16_t code);

#endif
