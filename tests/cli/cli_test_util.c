#include "cli_test_util.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/npy.h"

void cli_tmpdir(char *out, size_t n) {
    snprintf(out, n, "/tmp/templar-test-XXXXXX");
    cr_assert(mkdtemp(out), "mkdtemp failed");
}

int cli_run(char **output, const char *fmt, ...) {
    const char *bin = getenv("TEMPLAR_BIN");
    cr_assert(bin, "TEMPLAR_BIN is not set (run the tests through make)");
    char args[8192], cmd[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen failed");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int status = pclose(p);
    if (output) *output = buf;
    else free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void write_stream(const char *path, int vocab, int64_t n, uint32_t seed) {
    uint32_t *tok = malloc(sizeof(uint32_t) * (size_t)n);
    /* Phrases of a small "language": repeated token runs a model can learn quickly. */
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        int64_t phrase = (i / 16) % 37;
        tok[i] = (uint32_t)((phrase * 31 + (i % 16) * 7 + ((seed >> 28) == 0 ? (seed >> 8) % 5 : 0)) % (vocab - 1));
    }
    tp_err err;
    int64_t shape[1] = {n};
    cr_assert_eq(tp_npy_write(path, TP_DT_U32, 1, shape, tok, &err), TP_OK, "%s", err.msg);
    free(tok);
}

void cli_make_data(const char *dir, int vocab, int64_t train_tokens, int64_t val_tokens) {
    char path[4200];
    tp_err err;
    cr_assert_eq(tp_mkdirs(dir, &err), TP_OK);
    snprintf(path, sizeof path, "%s/train_000000.npy", dir);
    write_stream(path, vocab, train_tokens, 1);
    snprintf(path, sizeof path, "%s/val_000000.npy", dir);
    write_stream(path, vocab, val_tokens, 2);
    char meta[1024];
    snprintf(meta, sizeof meta,
             "{\"format\": \"templar-shards\", \"version\": 1, \"vocab_size\": %d, \"eot_token\": %d, "
             "\"train_tokens\": %lld, \"val_tokens\": %lld, \"train_shards\": 1, \"val_shards\": 1, "
             "\"documents\": 1, \"unigram_entropy\": 4.0, \"tokenizer_blake2b\": \"%064d\"}",
             vocab, vocab - 1, (long long)train_tokens, (long long)val_tokens, 0);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    cr_assert_eq(tp_write_file_atomic(path, meta, strlen(meta), &err), TP_OK);
}

int cli_same_file(const char *a, const char *b) {
    uint8_t *x, *y;
    size_t nx, ny;
    tp_err err;
    if (tp_read_file(a, 1u << 30, &x, &nx, &err) || tp_read_file(b, 1u << 30, &y, &ny, &err)) return 0;
    int same = nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}
