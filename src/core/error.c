#include "core/error.h"

#include <stdio.h>
#include <string.h>

static tp_status vfail(tp_err *err, tp_status code, bool retryable, const char *fmt, va_list ap) {
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->code = code;
    err->retryable = retryable;
    return code;
}

tp_status tp_fail(tp_err *err, tp_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, code, false, fmt, ap);
    va_end(ap);
    return code;
}

tp_status tp_fail_transient(tp_err *err, tp_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, code, true, fmt, ap);
    va_end(ap);
    return code;
}

tp_status tp_wrap(tp_err *err, const char *fmt, ...) {
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

const char *tp_err_kind(const tp_err *err) { return err->retryable ? "(transient)" : "(permanent)"; }
