/* Error reporting: functions that can fail return a tp_status and fill a tp_err with a message.
 * Nothing below the CLI prints or exits; the caller decides what to do with the message. */
#ifndef TP_CORE_ERROR_H
#define TP_CORE_ERROR_H

#include <stdarg.h>

typedef enum {
    TP_OK = 0,
    TP_ERR_IO,       /* file system or network I/O failed */
    TP_ERR_NOMEM,    /* allocation failed */
    TP_ERR_FORMAT,   /* input bytes are malformed (npy, safetensors, JSON, payload) */
    TP_ERR_CONFIG,   /* a configuration value is impossible or unknown */
    TP_ERR_ARG,      /* bad command-line or API argument */
    TP_ERR_NUMERIC,  /* a non-finite value where a finite one is required */
    TP_ERR_INTERNAL,
    TP_ERR_STOPPED,  /* the caller asked to stop (a signal); not a failure */
} tp_status;

typedef struct {
    tp_status code;
    char msg[1024];
} tp_err;

/* Sets err (if not NULL) and returns code, so callers can write `return tp_fail(err, ...)`. */
tp_status tp_fail(tp_err *err, tp_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with context: "reading x.npy: <old message>". Returns err->code. */
tp_status tp_wrap(tp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


#endif
