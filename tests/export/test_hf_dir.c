/* `templar export hf`: the directory a Hugging Face user loads (weights, config, tokenizer files,
 * model card with a localnet report's facts), written atomically, and its refusals. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "export/hf_dir.h"
#include "export_test_util.h"
#include "model/checkpoint.h"

static char *slurp(const char *dir, const char *name) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s is missing", path);
    char *buf = calloc(1, 1 << 22);
    size_t n = fread(buf, 1, (1 << 22) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void expect_in(const char *text, const char *want) {
    cr_assert(strstr(text, want), "the model card lacks \"%s\":\n%s", want, text);
}

static const char report_json[] =
    "{\"config\": \"small\", \"miners\": 4, \"validators\": 1, \"window_count\": 13, \"tokens_trained\": 786432.0,"
    " \"windows\": [{\"window\": 1, \"heldout_loss\": 9.07}, {\"window\": 13, \"heldout_loss\": 6.4233},"
    " {\"window\": 14, \"heldout_loss\": null}]}";

Test(hf_dir, command_assembles_a_loadable_directory, .timeout = 60) {
    char dir[256], model[300], out[300], tokdir[300], report[300], args[2048];
    cli_tmpdir(dir, sizeof dir);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(out, sizeof out, "%s/hf", dir);
    snprintf(tokdir, sizeof tokdir, "%s/tok", dir);
    snprintf(report, sizeof report, "%s/report.json", dir);
    make_checkpoint(model, "templar_tokenizer.json", 512);
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(report, report_json, strlen(report_json), &err), TP_OK);
    snprintf(args, sizeof args, "export hf --model %s --report %s --name demo --out %s", model, report, out);
    expect_cli(0, "wrote", args);
    /* The weights read back exactly. */
    tp_llama *a, *b;
    cr_assert_eq(tp_checkpoint_load_model(model, 1, 2, 0, &a, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_checkpoint_load_model(out, 1, 2, 0, &b, &err), TP_OK, "%s", err.msg);
    cr_assert(!memcmp(a->params, b->params, a->layout.total * sizeof(float)), "the exported weights differ");
    tp_llama_free(a);
    tp_llama_free(b);
    /* The tokenizer files are what `tokenizer export --hf` writes for the model's context. */
    snprintf(args, sizeof args, "tokenizer export --hf --tokenizer %s.tokenizer.json --seq-len 64 --out %s", model,
             tokdir);
    expect_cli(0, "wrote", args);
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                                        "templar_tokenizer.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *x = slurp(out, files[i]), *y = slurp(tokdir, files[i]);
        cr_assert_str_eq(x, y, "%s differs from tokenizer export --hf", files[i]);
        free(x);
        free(y);
    }
    char *card = slurp(out, "README.md");
    expect_in(card, "# demo\n");
    expect_in(card, "| tokens trained on (honest miners) | 786432 |");
    expect_in(card, "| windows | 13 |");
    expect_in(card, "| miners | 4 |");
    expect_in(card, "| held-out loss (nats per token) | 6.4233 |");
    expect_in(card, "| vocabulary | 512 (byte-level BPE; end of document: `<|endoftext|>`, id 511) |");
    free(card);
    /* templar itself runs the exported directory. */
    snprintf(args, sizeof args, "generate --model %s --prompt ab --tokens 3 --temperature 0", out);
    expect_cli(0, "ab", args);
    tp_remove_tree(dir, &err);
}

Test(hf_dir, card_without_a_report_says_so) {
    tp_llama *m = random_model(0);
    tp_train_facts facts = TP_TRAIN_FACTS_UNKNOWN;
    char *card;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_model_card(m, &facts, &card, &len, &err), TP_OK);
    cr_assert_eq(strlen(card), len);
    expect_in(card, "# templar model\n");
    expect_in(card, "| training facts | not recorded");
    expect_in(card, "| tied embeddings | no |");
    cr_assert_null(strstr(card, "| miners |"));
    free(card);
    tp_llama_free(m);
}

/* Refusals leave an earlier export as it was. */
Test(hf_dir, refusals_name_the_problem_and_keep_the_old_export, .timeout = 60) {
    char dir[256], model[300], out[300], bad[300], small[300], args[2048];
    cli_tmpdir(dir, sizeof dir);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(out, sizeof out, "%s/hf", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    snprintf(small, sizeof small, "%s/small.json", dir);
    make_checkpoint(model, "templar_tokenizer.json", 512);
    snprintf(args, sizeof args, "export hf --model %s --out %s", model, out);
    expect_cli(0, "wrote", args);
    char *before = slurp(out, "README.md");
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(bad, "{\"windows\": []}", 15, &err), TP_OK);
    snprintf(args, sizeof args, "export hf --model %s --report %s --out %s", model, bad, out);
    expect_cli(1, "is not a localnet report (no tokens_trained or windows)", args);
    cr_assert_eq(tp_write_file_atomic(bad, "{\"windows\": [", 13, &err), TP_OK);
    expect_cli(1, "--report", args);
    tp_tokenizer *tok = pair_tokenizer(300);
    cr_assert_eq(tp_tokenizer_save(tok, small, &err), TP_OK);
    tp_tokenizer_free(tok);
    snprintf(args, sizeof args, "export hf --model %s --tokenizer %s --out %s", model, small, out);
    expect_cli(1, "has 300 tokens but", args);
    snprintf(args, sizeof args, "export hf --model %s/nothing --out %s", dir, out);
    expect_cli(1, "config.json", args);
    expect_cli(2, "--model and --out are required", "export hf --out x");
    char *after = slurp(out, "README.md");
    cr_assert_str_eq(before, after, "a refused export changed the earlier one");
    free(before);
    free(after);
    tp_remove_tree(dir, &err);
}
