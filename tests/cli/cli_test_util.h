/* Helpers for tests that run the built `templar` binary ($TEMPLAR_BIN) in a temporary directory. */
#ifndef TP_TESTS_CLI_UTIL_H
#define TP_TESTS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Makes a fresh temporary directory; returns its path (static storage per call site: copy it). */
void cli_tmpdir(char *out, size_t n);
/* Runs `$TEMPLAR_BIN args` with stdout+stderr captured into *output (malloc'ed); returns the exit status. */
int cli_run(char **output, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a data directory (as prep would) holding a learnable token stream over vocab tokens. */
void cli_make_data(const char *dir, int vocab, int64_t train_tokens, int64_t val_tokens);
/* 1 if the two files have identical bytes. */
int cli_same_file(const char *a, const char *b);

#endif
