/* ftable: AMQP field tables kept as validated raw bytes.
 *
 * A table is handled as its content (the bytes after the 4-byte size): a run of
 * entries "shortstr key, type letter, value". Nothing is allocated: iterators
 * and lookups hand out slices into the table. Type letters are RabbitMQ's
 * (rabbit_binary_parser), not the 0-9-1 spec's:
 *   t bool          b int8        B uint8       s int16      u uint16
 *   I int32         i uint32      l int64       f float      d double
 *   D decimal       S longstr     x byte array  A array      T timestamp (u64)
 *   F table         V void
 * 'L' is read as 'l' (RabbitMQ does the same; iterators report it as 'l').
 * Readers trust only content that ftable_validate (or wire_get_table) has
 * accepted; on other input they stop with WR_EMALFORMED rather than overrun.
 */
#ifndef WR_PROTO_FTABLE_H
#define WR_PROTO_FTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/proto/wire.h"

/* One decoded value. Integers b B s u I i l are widened into v.i; T goes into
 * v.u; S and x into v.str; F into v.table and A into v.array (content, without
 * the 4-byte size); V carries nothing. */
typedef struct ftable_value {
    uint8_t type;
    union {
        bool b;
        int64_t i;
        uint64_t u;
        float f;
        double d;
        struct {
            uint8_t scale;
            uint32_t value;
        } dec;
        wr_bytes str;
        wr_bytes table;
        wr_bytes array;
    } v;
} ftable_value;

/* Checks table content p[0..len): every key, type letter and length, nesting
 * at most WIRE_TABLE_MAX_DEPTH deep. Returns 0 or WR_EMALFORMED. */
int ftable_validate(const uint8_t *p, size_t len);

/* Same for array content (values without keys). */
int ftable_validate_array(const uint8_t *p, size_t len);

typedef struct ftable_iter {
    wire_rd rd;
} ftable_iter;

/* Starts iterating table (or array) content. */
void ftable_iter_init(ftable_iter *it, wr_bytes table);

/* Next table entry: returns 1 with *key and *val set, 0 at the end, WR_EMALFORMED
 * on bad content. Slices borrow from the table. */
int ftable_next(ftable_iter *it, wr_bytes *key, ftable_value *val);

/* Next array element (iterator started on array content): 1, 0 or WR_EMALFORMED. */
int ftable_array_next(ftable_iter *it, ftable_value *val);

/* Looks up key (first match). Returns 0 with *val set, WR_ENOTFOUND, or
 * WR_EMALFORMED on bad content. val may be NULL to test presence. */
int ftable_get(wr_bytes table, const char *key, ftable_value *val);
int ftable_getn(wr_bytes table, const void *key, size_t klen, ftable_value *val);

/* Any integer type (b B s u I i l): true with *out set; false otherwise. */
bool ftable_as_int(const ftable_value *v, int64_t *out);

/* RabbitMQ's name for a field type letter, as its error texts spell it
 * (rabbit_binary_parser / rabbit_misc: "longstr", "signedint", ...);
 * "unknown" for a letter it has no name for. Static, never NULL. */
const char *ftable_type_name(uint8_t type);

/* Number of entries, or WR_EMALFORMED. */
int ftable_count(wr_bytes table);

/* Values equal: same type letter and same value (tables compared with
 * ftable_equal, arrays element by element). */
bool ftable_value_equal(const ftable_value *a, const ftable_value *b);

/* Same set of entries in any order (RabbitMQ compares binding arguments
 * sorted). Entries with a repeated key are matched in wire order. False on
 * malformed content (and when a large table cannot be sorted for lack of
 * memory). O(n log n) in the number of entries. */
bool ftable_equal(wr_bytes a, wr_bytes b);

/* Builders: append "key, type letter, value" to b, which holds table content
 * (wrap with wire_put_table to send it). Keys longer than 255 bytes give
 * WR_EINVAL. Return 0, WR_EINVAL or WR_ENOMEM (b may then hold a partial entry:
 * reset it). */
int ftable_put_bool(wr_buf *b, const char *key, bool v);
int ftable_put_i8(wr_buf *b, const char *key, int8_t v);                       /* 'b' */
int ftable_put_u8(wr_buf *b, const char *key, uint8_t v);                      /* 'B' */
int ftable_put_i16(wr_buf *b, const char *key, int16_t v);                     /* 's' */
int ftable_put_u16(wr_buf *b, const char *key, uint16_t v);                    /* 'u' */
int ftable_put_i32(wr_buf *b, const char *key, int32_t v);                     /* 'I' */
int ftable_put_u32(wr_buf *b, const char *key, uint32_t v);                    /* 'i' */
int ftable_put_i64(wr_buf *b, const char *key, int64_t v);                     /* 'l' */
int ftable_put_float(wr_buf *b, const char *key, float v);                     /* 'f' */
int ftable_put_double(wr_buf *b, const char *key, double v);                   /* 'd' */
int ftable_put_decimal(wr_buf *b, const char *key, uint8_t scale, uint32_t v); /* 'D' */
int ftable_put_timestamp(wr_buf *b, const char *key, uint64_t v);              /* 'T' */
int ftable_put_void(wr_buf *b, const char *key);                               /* 'V' */
int ftable_put_longstr(wr_buf *b, const char *key, const void *s, size_t n);   /* 'S' */
int ftable_put_cstr(wr_buf *b, const char *key, const char *s);            /* 'S' from a C string */
int ftable_put_bytes(wr_buf *b, const char *key, const void *s, size_t n); /* 'x' */
int ftable_put_table(wr_buf *b, const char *key, wr_bytes content);        /* 'F' */
int ftable_put_array(wr_buf *b, const char *key, wr_bytes content);        /* 'A' */
/* Key with explicit length, then any value (copies val's payload). */
int ftable_put_value(wr_buf *b, const void *key, size_t klen, const ftable_value *val);

/* Array builders: append one element "type letter, value" to array content. */
int ftable_array_put_value(wr_buf *b, const ftable_value *val);

#endif
