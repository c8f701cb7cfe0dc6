/* libFuzzer target: field tables. Input = table content. A table that
 * validates is walked to the bottom (every nested table and array), compared
 * with itself, and copied entry by entry; the copy must validate, have the same
 * entries, and be byte-identical unless the input used the forms the reader
 * normalises ('L' -> 'l', bool octets other than 0/1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/proto/ftable.h"

static int walk(wr_bytes t, int keyed, int depth)
{
    ftable_iter it;
    wr_bytes key;
    ftable_value v;
    int rc, n = 0;

    if (depth > WIRE_TABLE_MAX_DEPTH) abort(); /* validate must have refused it */
    ftable_iter_init(&it, t);
    for (;;) {
        rc = keyed ? ftable_next(&it, &key, &v) : ftable_array_next(&it, &v);
        if (rc == 0) break;
        if (rc < 0) abort(); /* validated content never fails to iterate */
        if (v.type == 'F') walk(v.v.table, 1, depth + 1);
        if (v.type == 'A') walk(v.v.array, 0, depth + 1);
        if (!ftable_value_equal(&v, &v) && v.type != 'V') abort();
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wr_bytes t = wr_bytes_of(data, size);
    ftable_iter it;
    wr_bytes key;
    ftable_value v;
    wr_buf copy;
    int n;

    if (size > UINT32_MAX) return 0;
    (void)ftable_validate_array(data, size);
    if (ftable_validate(data, size) != 0) {
        if (ftable_equal(t, t)) abort();
        return 0;
    }
    n = walk(t, 1, 1);
    if (ftable_count(t) != n) abort();
    if (!ftable_equal(t, t)) abort();
    wr_buf_init(&copy);
    ftable_iter_init(&it, t);
    while (ftable_next(&it, &key, &v) == 1)
        if (ftable_put_value(&copy, key.ptr, key.len, &v) != 0) abort();
    if (ftable_validate(copy.data, copy.len) != 0) abort();
    if (ftable_count(wr_bytes_of(copy.data, copy.len)) != n) abort();
    if (copy.len != size) abort();
    wr_buf_free(&copy);
    return 0;
}
