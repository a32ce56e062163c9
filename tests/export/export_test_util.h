/* For the export tests: model directories and a check of a `templar` run. */
#ifndef TP_TESTS_EXPORT_UTIL_H
#define TP_TESTS_EXPORT_UTIL_H

#include "data/tokenizer.h"
#include "model/llama.h"

/* The tiny config (vocab 512, 4 heads, 2 kv heads) with random weights, tied or not (free it). */
tp_llama *random_model(int tied);
/* vocab - 257 merges of distinct byte pairs (free it). */
tp_tokenizer *pair_tokenizer(int vocab);
/* A checkpoint directory of random_model(1); tokenizer_name (NULL: none) holds pair_tokenizer(vocab),
 * which is also left at DIR.tokenizer.json. */
void make_checkpoint(const char *dir, const char *tokenizer_name, int vocab);
/* Runs `templar ARGS` and expects exit status rc and want in its output. */
void expect_cli(int rc, const char *want, const char *args);

#endif
