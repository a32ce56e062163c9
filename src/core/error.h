/* Error reporting: functions that can fail return a tp_status and fill a tp_err with a message.
 * Nothing below the CLI prints or exits; the caller decides what to do with the message.
 *
 * Every function that takes a `tp_err *err` requires it: err is never NULL. An error also says
 * whether trying again can help (err->retryable): set where the cause is known to pass (a server's
 * 5xx, a timeout, a refused connection, a busy ledger), clear for everything else, so a wait or
 * retry loop gives up at once on a permanent error (wrong credentials, no such bucket, bad input). */
#ifndef TP_CORE_ERROR_H
#define TP_CORE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

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
    bool retryable; /* the same call may succeed later (transient cause) */
    char msg[1024];
} tp_err;

/* Sets err (a permanent error) and returns code, so callers can write `return tp_fail(err, ...)`. */
tp_status tp_fail(tp_err *err, tp_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As tp_fail, for a cause that may pass: trying again later can succeed. */
tp_status tp_fail_transient(tp_err *err, tp_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with context: "reading x.npy: <old message>". Keeps the code and
 * retryability; returns err->code. */
tp_status tp_wrap(tp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "(transient)" or "(permanent)": for messages that say whether a retry will come. */
const char *tp_err_kind(const tp_err *err);

#endif
