#include "broker/util/wr_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *wr_strerror(int err)
{
    switch (err) {
    case WR_OK:
        return "ok";
    case WR_ENOMEM:
        return "out of memory";
    case WR_EINVAL:
        return "invalid argument";
    case WR_EMALFORMED:
        return "malformed input";
    case WR_ETOOBIG:
        return "over limit";
    case WR_ENOTFOUND:
        return "not found";
    case WR_EEXIST:
        return "already exists";
    case WR_EIO:
        return "i/o error";
    case WR_EUNKNOWN:
        return "unknown id";
    case WR_ECONFIG:
        return "invalid configuration";
    case WR_ESTORE:
        return "storage failure";
    case WR_ECLOSED:
        return "closed";
    case WR_EAMQP:
        return "amqp exception";
    case WR_EAGAIN:
        return "try again";
    case WR_EFULL:
        return "no space";
    default:
        return "unknown error";
    }
}

const char *wr_reply_name(uint16_t code)
{
    switch (code) {
    case 200:
        return "REPLY_SUCCESS";
    case 311:
        return "CONTENT_TOO_LARGE";
    case 312:
        return "NO_ROUTE";
    case 313:
        return "NO_CONSUMERS";
    case 320:
        return "CONNECTION_FORCED";
    case 402:
        return "INVALID_PATH";
    case 403:
        return "ACCESS_REFUSED";
    case 404:
        return "NOT_FOUND";
    case 405:
        return "RESOURCE_LOCKED";
    case 406:
        return "PRECONDITION_FAILED";
    case 501:
        return "FRAME_ERROR";
    case 502:
        return "SYNTAX_ERROR";
    case 503:
        return "COMMAND_INVALID";
    case 504:
        return "CHANNEL_ERROR";
    case 505:
        return "UNEXPECTED_FRAME";
    case 506:
        return "RESOURCE_ERROR";
    case 530:
        return "NOT_ALLOWED";
    case 540:
        return "NOT_IMPLEMENTED";
    case 541:
        return "INTERNAL_ERROR";
    default:
        return "UNKNOWN";
    }
}

bool wr_reply_is_hard(uint16_t code)
{
    switch (code) {
    case 320:
    case 402:
    case 501:
    case 502:
    case 503:
    case 504:
    case 505:
    case 506:
    case 530:
    case 540:
    case 541:
        return true;
    default:
        return false;
    }
}

int wr_amqp_fail(wr_amqp_error *e, uint16_t code, uint32_t method_id, const char *fmt, ...)
{
    va_list ap;
    int n;

    e->code = code;
    e->hard = wr_reply_is_hard(code);
    e->method_id = method_id;
    n = snprintf(e->text, sizeof(e->text), "%s - ", wr_reply_name(code));
    if (n < 0 || (size_t)n >= sizeof(e->text)) return WR_EAMQP;
    va_start(ap, fmt);
    vsnprintf(e->text + n, sizeof(e->text) - (size_t)n, fmt, ap);
    va_end(ap);
    return WR_EAMQP;
}
