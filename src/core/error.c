#include "core/error.h"

#include <stdio.h>
#include <string.h>

tp_status tp_fail(tp_err *err, tp_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

tp_status tp_wrap(tp_err *err, const char *fmt, ...) {
    if (!err) return TP_ERR_INTERNAL;
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    size_t at = n < 0 ? 0 : (size_t)n < sizeof err->msg ? (size_t)n : sizeof err->msg - 1;
    /* Truncation of the combined message is acceptable; it stays NUL-terminated. */
    if (at + 2 < sizeof err->msg) {
        memcpy(err->msg + at, ": ", 2);
        size_t room = sizeof err->msg - at - 2;
        size_t len = strnlen(old, room - 1);
        memcpy(err->msg + at + 2, old, len);
        err->msg[at + 2 + len] = 0;
    }
    return err->code;
}
