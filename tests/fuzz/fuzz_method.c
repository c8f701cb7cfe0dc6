/* libFuzzer target: the method decoder. Input = method frame payload (from
 * class-id on). Anything that decodes must re-encode to the same length, and
 * the re-encoding must decode and encode again to the very same bytes (unused
 * bits of a bit octet are the only thing allowed to change). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/proto/amqp091_sidetable.h"
#include "broker/proto/generated/amqp091_framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    amqp091_method m, m2;
    wr_buf a, b;
    int rc;

    rc = amqp091_decode_method(data, size, &m);
    if (rc != 0) {
        if (rc != WR_EMALFORMED && rc != WR_EUNKNOWN) abort();
        return 0;
    }
    (void)amqp091_method_name(m.id);
    (void)amqp091_method_nowait(&m);
    (void)amqp091_reply_of(m.id);
    wr_buf_init(&a);
    wr_buf_init(&b);
    if (amqp091_encode_method(&a, &m) != 0) abort();
    if (a.len != size) abort();
    if (amqp091_decode_method(a.data, a.len, &m2) != 0) abort();
    if (m2.id != m.id) abort();
    if (amqp091_encode_method(&b, &m2) != 0) abort();
    if (b.len != a.len || memcmp(a.data, b.data, a.len) != 0) abort();
    wr_buf_free(&a);
    wr_buf_free(&b);
    return 0;
}
