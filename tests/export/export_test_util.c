/* For the export tests: model directories (the tiny model with random weights, a tokenizer of
 * distinct byte pairs) and a check of a `templar` run. */
#include "export_test_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "model/checkpoint.h"
#include "model/config.h"

/* The tiny config (vocab 512, 4 heads, 2 kv heads) with random weights, tied or not. */
tp_llama *random_model(int tied) {
    tp_config cfg;
    tp_err err;
    cr_assert_eq(tp_config_named("tiny", &cfg, &err), TP_OK);
    cfg.model.tie_embeddings = tied;
    tp_llama *m;
    cr_assert_eq(tp_llama_create(&cfg.model, 1, 2, 0, &m, &err), TP_OK, "%s", err.msg);
    tp_llama_init_random(m, 7, 0.5f);
    for (size_t i = 0; i < m->layout.total; i++) m->params[i] += 1e-4f * (float)(i % 97); /* norms too */
    return m;
}

/* vocab − 257 merges of distinct byte pairs ("a" + "b", "a" + "c", ...; then " " + those). */
tp_tokenizer *pair_tokenizer(int vocab) {
    int n = vocab - 257;
    uint32_t *merges = malloc(sizeof *merges * 2 * (size_t)n);
    for (int i = 0; i < n; i++) {
        merges[2 * i] = i < 200 ? 'a' + (uint32_t)(i / 20) : ' ';
        merges[2 * i + 1] = i < 200 ? 'a' + (uint32_t)(i % 20) : 256 + (uint32_t)(i - 200);
    }
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_from_merges(merges, n, &tok, &err), TP_OK, "%s", err.msg);
    free(merges);
    return tok;
}

/* A checkpoint directory of the tiny model with random weights; tokenizer_name (NULL: none) holds a
 * tokenizer of `vocab` tokens. */
void make_checkpoint(const char *dir, const char *tokenizer_name, int vocab) {
    char tok_path[600];
    snprintf(tok_path, sizeof tok_path, "%s.tokenizer.json", dir);
    tp_tokenizer *tok = pair_tokenizer(vocab);
    tp_err err;
    cr_assert_eq(tp_tokenizer_save(tok, tok_path, &err), TP_OK, "%s", err.msg);
    tp_tokenizer_free(tok);
    tp_llama *m = random_model(1);
    tp_extra_file extra = {.name = tokenizer_name, .source = tok_path};
    cr_assert_eq(tp_checkpoint_save(dir, m, NULL, NULL, NULL, &extra, tokenizer_name ? 1 : 0, &err), TP_OK, "%s",
                 err.msg);
    tp_llama_free(m);
}

void expect_cli(int rc, const char *want, const char *args) {
    char *out;
    int got = cli_run(&out, "%s", args);
    cr_assert_eq(got, rc, "templar %s: exit %d: %s", args, got, out);
    cr_assert(strstr(out, want), "templar %s says \"%s\", wanted \"%s\"", args, out, want);
    free(out);
}
