/* Shared helpers for the command files: error printing and number parsing with named options. */
#ifndef TP_CLI_UTIL_H
#define TP_CLI_UTIL_H

#include <stdint.h>

#include "core/error.h"

/* Prints "templar CMD: message" to stderr and returns 1. */
int cli_fail(const char *cmd, const tp_err *err);
/* Prints "templar CMD: <formatted>" (plus a --help hint) to stderr and returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strict parsers: the whole string must be a number in range; on failure print which option. */
int cli_parse_i64(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_f64(const char *cmd, const char *opt, const char *s, double *out);
/* 1 if argv contains -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
