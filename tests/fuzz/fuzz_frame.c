/* libFuzzer target: the frame reader, as a connection uses it. Input = a byte
 * stream; frames are cut off it one by one (frame_max 131072) and each method
 * and content header payload goes through its decoder, as the server would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/proto/frame.h"
#include "broker/proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    wr_frame f;
    amqp091_method m;
    amqp091_basic_properties p;
    uint16_t cls;
    uint64_t body_size;
    wr_bytes props;
    long n;

    while (off < size) {
        n = frame_parse(data + off, size - off, 131072, &f);
        if (n == 0 || n == WR_EMALFORMED || n == WR_ETOOBIG) return 0;
        if (n < 0 || (size_t)n > size - off || (size_t)n != (size_t)f.size + FRAME_OVERHEAD)
            abort();
        if (f.type == AMQP091_FRAME_METHOD) {
            (void)amqp091_decode_method(f.payload, f.size, &m);
        } else if (f.type == AMQP091_FRAME_HEADER &&
                   frame_get_content_header(f.payload, f.size, &cls, &body_size, &props) == 0) {
            (void)amqp091_decode_basic_properties(props.ptr, props.len, &p);
        }
        off += (size_t)n;
    }
    return 0;
}
