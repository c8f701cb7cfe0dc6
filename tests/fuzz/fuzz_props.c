/* libFuzzer target: the basic properties decoder. Input = property list from
 * the flags on. Anything that decodes must re-encode to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/proto/generated/amqp091_framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    amqp091_basic_properties p;
    wr_buf out;

    if (amqp091_decode_basic_properties(data, size, &p) != 0) return 0;
    wr_buf_init(&out);
    if (amqp091_encode_basic_properties(&out, &p) != 0) abort();
    if (out.len != size || amqp091_basic_properties_size(&p) != size) abort();
    if (memcmp(out.data, data, size) != 0) abort();
    wr_buf_free(&out);
    return 0;
}
