/* Hugging Face tokenizer files (export/hf_tokenizer.h), checked by a real client: transformers.js
 * (tests/export/hf_tokenizer_ref.mjs) loads what `templar tokenizer export --hf` writes and must give
 * templar's ids, and decode them back to the same bytes, on varied text (Unicode, code, whitespace
 * runs, runs longer than a chunk) and on the real corpus: every document of its validation split and
 * the first part of its training split, with the 8192-token tokenizer the demo trains and a 32768-token
 * one. The corpus comes from scripts/get-corpus through localnet's preparation (and its lock); without
 * it these tests fail, saying why.
 *
 * Expected difference, asserted as such: the literal text "<|endoftext|>" is the special token to
 * Hugging Face and 13 bytes of text to templar (no test text holds it; neither does the corpus).
 *
 * Also: checkpoints of train and apply carry templar_tokenizer.json and the Hugging Face files, older
 * checkpoints (templar's tokenizer.json) still load, and the refusals: a Hugging Face file given to
 * templar's loader, a tokenizer with two tokens of the same bytes, a tokenizer of another vocab. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "data/tokenizer.h"
#include "export/hf_tokenizer.h"
#include "localnet/localnet.h"

#define TRAIN_SAMPLE_BYTES ((size_t)2 << 20) /* of the training split, besides all of the validation split */

static char dir[256];

static void setup(void) { cli_tmpdir(dir, sizeof dir); }

static void teardown(void) {
    tp_err err;
    tp_remove_tree(dir, &err);
}

TestSuite(hf_tokenizer, .init = setup, .fini = teardown, .timeout = 300);

/* ---------------------------------------------------------------- texts */

typedef struct {
    uint8_t **text;
    size_t *len;
    size_t n, cap;
    size_t n_corpus; /* how many came from the corpus */
} texts;

static void add(texts *t, const void *s, size_t len) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->text = realloc(t->text, t->cap * sizeof *t->text);
        t->len = realloc(t->len, t->cap * sizeof *t->len);
        cr_assert(t->text && t->len);
    }
    t->text[t->n] = malloc(len + 1);
    memcpy(t->text[t->n], s, len);
    t->len[t->n++] = len;
}

static void texts_free(texts *t) {
    for (size_t i = 0; i < t->n; i++) free(t->text[i]);
    free(t->text);
    free(t->len);
}

/* prefix, then unit repeated n times, then suffix. */
static void add_run(texts *t, const char *prefix, const char *unit, int n, const char *suffix) {
    size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix), len = lp + lu * (size_t)n + ls;
    char *s = malloc(len);
    memcpy(s, prefix, lp);
    for (int i = 0; i < n; i++) memcpy(s + lp + lu * (size_t)i, unit, lu);
    memcpy(s + len - ls, suffix, ls);
    add(t, s, len);
    free(s);
}

static const char *const VARIED[] = {
    "Hello, world! It's 2024 - don't panic; you'll see: we're fine, they've gone, I'm here, he'd go.",
    "DON'T SHOUT'S 'S 'T 'RE ''s ''' s 'sup x's ''ll ' 'm 'd 're've a'b 'll'll",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x80\x81"
    "\xe4\xb8\xad\xe6\x96\x87\xef\xbc\x8c\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xed\x85\x8d\xec\x8a\xa4\xed\x8a\xb8",
    "emoji \xf0\x9f\x99\x82\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd family \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80"
    "\x8d\xf0\x9f\x91\xa7 flag \xf0\x9f\x87\xa9\xf0\x9f\x87\xaa!",
    "caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xc3\x85ngstr\xc3\xb6m \xc3\x9f \xc3\xa6\xc3\xb8 \xce\xb1\xce\xb2\xce\xb3",
    "RTL: \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 "
    "\xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85.",
    "combining: e\xcc\x81 a\xcc\x88 Z\xcc\xb5\xcc\xa1 n\xcc\x83o",
    "nbsp:\xc2\xa0x\xc2\xa0\xc2\xa0y \xc2\xa0 z; ideographic\xe3\x80\x80space\xe3\x80\x80\xe3\x80\x80w \xe3\x80\x80",
    "zero\xe2\x80\x8bwidth\xe2\x80\x8d, \xe2\x80\xa8line\xe2\x80\xa9para \xef\xbb\xbf\xef\xbb\xbf" "bom \xef\xbf\xbd",
    "int main(void) {\n\tfor (int i = 0; i < 10; i++) {\n\t\tprintf(\"%d\\n\", i);\n\t}\n\treturn 0;\n}\n",
    "def f(x):\n    if x:\n        return {'a': [1, 2.5e-3]}  # comment\n    return None\n\n\n",
    "all:\n\t$(CC) -o $@ $^ && echo '\\x1e' | tr -d \"\\n\" >> out.txt\n",
    "{\"key\": [null, true, -0.5e+10], \"\\u00e9\": \"x\"}",
    "   x", "\t\t y", " \n  \n", "trailing   ", "  \n\n\n  x  \r\n\ty \v\f z \t", "\n", " ", "  ", "x ", "",
    "a  b   c    d\t e\t\tf \tg", "word\n word\n\n word \n\tword",
    "3.14159 1,000,000 0x1F 2024-01-01 12345678901234567890 v1.2.3 -42 +7 1e10",
    "\x01\x02\x1b[31mred\x1b[0m\x7f tab\there ~!@#$%^&*()_+`-=[]\\{}|;:'\",./<>?",
};

static void add_varied(texts *t) {
    for (size_t i = 0; i < sizeof VARIED / sizeof *VARIED; i++) add(t, VARIED[i], strlen(VARIED[i]));
    /* Runs longer than a chunk (256 bytes): templar cuts them, so must the regex, by bytes. */
    static const char *const units[] = {"a", "Z", "7", "-", "'", " ", "\n", "\t", " \t"};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        add_run(t, "", units[i], 300, "");
        add_run(t, " ", units[i], 300, " end");
    }
    for (int n = 253; n <= 258; n++) { /* whitespace runs around the cap before a word */
        add_run(t, "x", " ", n, "y");
        add_run(t, "", " ", n, "y");
        add_run(t, "\n", " ", n, "y");
    }
    add_run(t, "", "b", 255, "\xc3\xa9tude");                 /* the cap falls inside a UTF-8 sequence */
    add_run(t, " ", "b", 254, "\xe2\x82\xac\xe2\x82\xac");    /* ... inside the euro sign, after a space */
    add_run(t, "", "\xc3\xa9", 200, " \xc3\xa9");            /* 400 bytes of one non-ASCII letter */
    add_run(t, " ", "\xe6\x97\xa5", 100, "");                 /* 300 bytes of CJK after a space */
    add_run(t, "", "\xf0\x9f\x99\x82", 80, "!");              /* 320 bytes of emoji */
    add_run(t, "", "\xc2\xa0", 200, "x");                     /* no-break spaces are letters to templar */
    add_run(t, " \xe2\x94\x9c", "\xe2\x94\x80", 100, "\n");      /* a box-drawing line, merged by these tokenizers */
    add_run(t, "", "9", 600, ".5");
}

/* Documents of a corpus file (separated by "\n\x1e\n", as prep reads them), up to max bytes in all. */
static void add_documents(texts *t, const char *path, size_t max) {
    uint8_t *buf;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_read_file(path, (size_t)1 << 30, &buf, &len, &err), TP_OK, "%s", err.msg);
    size_t at = 0, taken = 0;
    while (at < len && taken < max) {
        uint8_t *sep = memmem(buf + at, len - at, "\n\x1e\n", 3);
        size_t end = sep ? (size_t)(sep - buf) : len;
        add(t, buf + at, end - at);
        t->n_corpus++;
        taken += end - at;
        at = sep ? end + 3 : len;
    }
    free(buf);
}

/* ---------------------------------------------------------------- the corpus */

/* REPO/data/corpus and REPO/data/tokenizer-8192.json (the demo's), made if missing. */
static void corpus(char *val, char *train, char *tok8192, size_t n) {
    const char *root = getenv("TEMPLAR_ROOT"), *bin = getenv("TEMPLAR_BIN");
    cr_assert(root && *root && bin && *bin, "TEMPLAR_ROOT and TEMPLAR_BIN must be set (run the tests through make)");
    char log[600];
    snprintf(log, sizeof log, "%s/prep.log", dir);
    tp_err err;
    tp_status st = ln_prepare_corpus(root, bin, 8192, log, &err);
    if (st) {
        size_t len = 0;
        uint8_t *text = NULL;
        tp_err ignored;
        if (tp_read_file(log, (size_t)1 << 24, &text, &len, &ignored)) len = 0;
        cr_assert_fail("these tests need the real corpus (scripts/get-corpus, from Debian's linux-doc package) and "
                       "could not make it: %s\n%s", err.msg, len > 2000 ? (char *)text + len - 2000 : text ? (char *)text : "");
    }
    snprintf(val, n, "%s/data/corpus/val.txt", root);
    snprintf(train, n, "%s/data/corpus/train.txt", root);
    snprintf(tok8192, n, "%s/data/tokenizer-8192.json", root);
}

/* ---------------------------------------------------------------- the reference client */

static char *slurp(const char *path, size_t *len) {
    uint8_t *b;
    tp_err err;
    cr_assert_eq(tp_read_file(path, (size_t)1 << 30, &b, len, &err), TP_OK, "%s", err.msg);
    return (char *)b;
}

/* Runs hf_tokenizer_ref.mjs on the Hugging Face files in hf_dir: an array, the info object first,
 * then one answer per text. */
static json_t *reference(const char *hf_dir, const texts *t) {
    const char *root = getenv("TEMPLAR_ROOT");
    char in[600], out[600], errf[600], cmd[4096];
    snprintf(in, sizeof in, "%s/texts.jsonl", dir);
    snprintf(out, sizeof out, "%s/answers.jsonl", dir);
    snprintf(errf, sizeof errf, "%s/node.err", dir);
    FILE *f = fopen(in, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < t->n; i++) {
        fputc('"', f);
        for (size_t k = 0; k < t->len[i]; k++) fprintf(f, "%02x", t->text[i][k]);
        fputs("\"\n", f);
    }
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "node '%s/tests/export/hf_tokenizer_ref.mjs' '%s' < '%s' > '%s' 2> '%s'", root, hf_dir,
             in, out, errf);
    int rc = system(cmd);
    size_t len;
    char *text = slurp(out, &len), *msg = slurp(errf, &len);
    cr_assert(rc == 0, "hf_tokenizer_ref.mjs failed (it needs Node 20 and @huggingface/transformers in tools/ from "
              "scripts/install-deps): %.2000s", msg);
    free(msg);
    json_t *answers = json_array();
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        cr_assert_not_null(j, "transformers.js: %.500s", line);
        json_array_append_new(answers, j);
    }
    free(text);
    cr_assert_eq(json_array_size(answers), t->n + 1, "%zu answers for %zu texts", json_array_size(answers), t->n);
    return answers;
}

/* ---------------------------------------------------------------- comparison */

static void print_escaped(char *out, size_t n, const uint8_t *s, size_t len) {
    size_t at = 0;
    for (size_t i = 0; i < len && at + 8 < n; i++)
        at += (size_t)(s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' ? snprintf(out + at, n - at, "%c", s[i])
                                                                  : snprintf(out + at, n - at, "\\x%02x", s[i]));
    out[at] = 0;
}

/* Text i: the same ids as templar, and both decode them back to its bytes. */
static void check_text(const tp_tokenizer *tok, const texts *t, size_t i, json_t *answer) {
    const char *what = i < t->n - t->n_corpus ? "test text" : "corpus document";
    char shown[400];
    print_escaped(shown, sizeof shown, t->text[i], t->len[i] < 120 ? t->len[i] : 120);
    json_t *hf = json_object_get(answer, "ids");
    cr_assert(json_is_array(hf), "%s %zu (\"%s\"): transformers.js: %s", what, i, shown,
              json_string_value(answer) ? json_string_value(answer) : "no ids");
    uint32_t *ids;
    size_t n;
    tp_err err;
    cr_assert_eq(tp_tokenizer_encode(tok, t->text[i], t->len[i], &ids, &n, &err), TP_OK, "%s", err.msg);
    size_t k = 0;
    while (k < n && k < json_array_size(hf) && json_integer_value(json_array_get(hf, k)) == ids[k]) k++;
    if (k < n || k < json_array_size(hf)) {
        size_t at = 0, len;
        for (size_t j = 0; j < k; j++) at += (tp_tokenizer_token_bytes(tok, ids[j], &len), len);
        print_escaped(shown, sizeof shown, t->text[i] + at, t->len[i] - at < 60 ? t->len[i] - at : 60);
        long long ours = k < n ? (long long)ids[k] : -1, theirs = -1; /* -1: none left */
        if (k < json_array_size(hf)) theirs = (long long)json_integer_value(json_array_get(hf, k));
        cr_assert_fail("%s %zu: %zu templar ids, %zu Hugging Face ids, first difference at token %zu (byte %zu, "
                       "\"%s\"): templar %lld, Hugging Face %lld", what, i, n, json_array_size(hf), k, at, shown,
                       ours, theirs);
    }
    uint8_t *back;
    size_t blen;
    cr_assert_eq(tp_tokenizer_decode(tok, ids, n, &back, &blen, &err), TP_OK, "%s", err.msg);
    cr_assert(blen == t->len[i] && !memcmp(back, t->text[i], blen), "%s %zu: templar does not decode back", what, i);
    const char *dec = json_string_value(json_object_get(answer, "decoded"));
    cr_assert(dec && strlen(dec) == 2 * t->len[i], "%s %zu: Hugging Face decodes %zu bytes, not %zu", what, i,
              dec ? strlen(dec) / 2 : 0, t->len[i]);
    for (size_t b = 0; b < t->len[i]; b++) {
        unsigned v;
        cr_assert(sscanf(dec + 2 * b, "%2x", &v) == 1 && v == t->text[i][b],
                  "%s %zu: Hugging Face decodes byte %zu differently", what, i, b);
    }
    free(back);
    free(ids);
}

/* The special token and the configs: EOT is id vocab_size-1, BOS and EOS; no BOS is added. */
static void check_info(const tp_tokenizer *tok, json_t *info, int seq_len) {
    json_int_t eot = tp_tokenizer_eot(tok);
    cr_assert_eq(eot, tp_tokenizer_vocab_size(tok) - 1);
    cr_assert_eq(json_integer_value(json_object_get(info, "vocab_size")), tp_tokenizer_vocab_size(tok));
    cr_assert_eq(json_integer_value(json_object_get(info, "eos_token_id")), eot);
    cr_assert_eq(json_integer_value(json_object_get(info, "bos_token_id")), eot);
    cr_assert_eq(json_integer_value(json_object_get(info, "model_max_length")), seq_len);
    json_t *ids = json_object_get(info, "eot_ids");
    cr_assert(json_array_size(ids) == 1 && json_integer_value(json_array_get(ids, 0)) == eot,
              "the text \"<|endoftext|>\" is the special token, id %lld, to Hugging Face", (long long)eot);
    cr_assert_str_eq(json_string_value(json_object_get(info, "eot_text")), TP_HF_EOT_TOKEN);
}

/* Exports tok_path with the CLI, runs the reference on the varied texts and the corpus, compares. */
static void compare_with_transformers(const char *tok_path, const char *val, const char *train) {
    char hf[600], *out;
    snprintf(hf, sizeof hf, "%s/hf", dir);
    int rc = cli_run(&out, "tokenizer export --hf --tokenizer %s --out %s --seq-len 512", tok_path, hf);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_load(tok_path, &tok, &err), TP_OK, "%s", err.msg);
    texts t = {0};
    add_varied(&t);
    add_documents(&t, val, SIZE_MAX);
    add_documents(&t, train, TRAIN_SAMPLE_BYTES);
    json_t *answers = reference(hf, &t);
    check_info(tok, json_array_get(answers, 0), 512);
    for (size_t i = 0; i < t.n; i++) check_text(tok, &t, i, json_array_get(answers, i + 1));
    cr_log_info("%s: %zu test texts and %zu corpus documents encode and decode alike", tok_path, t.n - t.n_corpus,
                t.n_corpus);
    json_decref(answers);
    texts_free(&t);
    tp_tokenizer_free(tok);
}

Test(hf_tokenizer, transformers_js_encodes_as_templar) {
    char val[600], train[600], tok[600];
    corpus(val, train, tok, sizeof val);
    compare_with_transformers(tok, val, train);
}

/* More and longer merges (up to 128 bytes on this corpus). */
Test(hf_tokenizer, transformers_js_encodes_as_templar_with_32768_tokens) {
    char val[600], train[600], tok8192[600], tok[600], *out;
    corpus(val, train, tok8192, sizeof val);
    snprintf(tok, sizeof tok, "%s/tok32k.json", dir);
    int rc = cli_run(&out, "tokenizer train --vocab 32768 --out %s %s", tok, train);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    compare_with_transformers(tok, val, train);
}

/* ---------------------------------------------------------------- refusals */

static void save_merges(const uint32_t *merges, int n, const char *path) {
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_from_merges(merges, n, &tok, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_tokenizer_save(tok, path, &err), TP_OK, "%s", err.msg);
    tp_tokenizer_free(tok);
}

/* Refused by the library and the CLI, naming both ids, and nothing written. */
static void expect_refused(const char *tok_path, const char *ids) {
    tp_tokenizer *tok;
    tp_err err;
    tp_hf_file files[TP_HF_TOKENIZER_FILES];
    cr_assert_eq(tp_tokenizer_load(tok_path, &tok, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_hf_tokenizer_files(tok, 0, files, &err), TP_ERR_CONFIG);
    cr_assert(strstr(err.msg, ids) && strstr(err.msg, "same bytes"), "%s", err.msg);
    tp_tokenizer_free(tok);
    char *out, hf[600];
    snprintf(hf, sizeof hf, "%s/refused", dir);
    cr_assert_eq(cli_run(&out, "tokenizer export --hf --tokenizer %s --out %s", tok_path, hf), 1, "%s", out);
    cr_assert(strstr(out, ids), "%s", out);
    cr_assert(!tp_path_exists(hf), "a refused export left %s behind", hf);
    free(out);
}

Test(hf_tokenizer, refuses_tokens_with_the_same_bytes) {
    char path[600];
    /* 256 "ab", 257 "bc", then "ab"+"c" and "a"+"bc": two tokens "abc". */
    const uint32_t twice[] = {'a', 'b', 'b', 'c', 256, 'c', 'a', 257};
    snprintf(path, sizeof path, "%s/twice.json", dir);
    save_merges(twice, 4, path);
    expect_refused(path, "tokens 258 and 259");
    /* Merges that spell "<|endoftext|>", the end-of-document token's name (id 268 here). */
    const char *name = TP_HF_EOT_TOKEN;
    uint32_t chain[24];
    for (int i = 0; i < 12; i++) {
        chain[2 * i] = i ? 255 + (uint32_t)i : (uint8_t)name[0];
        chain[2 * i + 1] = (uint8_t)name[i + 1];
    }
    snprintf(path, sizeof path, "%s/eot.json", dir);
    save_merges(chain, 12, path);
    expect_refused(path, "tokens 267 and 268");
}

Test(hf_tokenizer, templar_refuses_a_hugging_face_file) {
    const uint32_t merges[] = {'t', 'h', 256, 'e'};
    char own[600], hf[600], path[700], *out;
    snprintf(own, sizeof own, "%s/tok.json", dir);
    snprintf(hf, sizeof hf, "%s/hf", dir);
    save_merges(merges, 2, own);
    cr_assert_eq(cli_run(&out, "tokenizer export --hf --tokenizer %s --out %s", own, hf), 0, "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/tokenizer.json", hf);
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_load(path, &tok, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "Hugging Face") && strstr(err.msg, "templar_tokenizer.json"), "%s", err.msg);
    cr_assert_eq(cli_run(&out, "tokenizer encode --tokenizer %s the", path), 1, "%s", out);
    cr_assert(strstr(out, "Hugging Face") && strstr(out, "templar_tokenizer.json"), "%s", out);
    free(out);
    /* Beside it, templar's own file, which encodes. */
    cr_assert_eq(cli_run(&out, "tokenizer encode --tokenizer %s/templar_tokenizer.json the", hf), 0, "%s", out);
    cr_assert_str_eq(out, "257\n");
    free(out);
    cr_assert_eq(cli_run(&out, "tokenizer export --tokenizer %s --out %s", own, hf), 2, "%s", out);
    cr_assert(strstr(out, "--hf"), "%s", out);
    free(out);
}

/* ---------------------------------------------------------------- checkpoints */

static json_t *load_json(const char *d, const char *name) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", d, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s: %s", path, je.text);
    return j;
}

/* d holds templar's tokenizer (the same bytes as own) and the Hugging Face files made from it. */
static void expect_tokenizer_files(const char *d, const char *own, int seq_len) {
    char path[700];
    snprintf(path, sizeof path, "%s/templar_tokenizer.json", d);
    cr_assert(cli_same_file(path, own), "%s is not a copy of %s", path, own);
    json_t *tj = load_json(d, "tokenizer.json"), *cj = load_json(d, "tokenizer_config.json"),
           *gj = load_json(d, "generation_config.json");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(tj, "model"), "type")), "BPE");
    cr_assert_eq(json_integer_value(json_object_get(cj, "model_max_length")), seq_len);
    cr_assert_eq(json_integer_value(json_object_get(gj, "eos_token_id")), 511);
    json_decref(tj);
    json_decref(cj);
    json_decref(gj);
}

static void sh(const char *fmt, const char *a, const char *b) {
    char cmd[2000];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* A small model trained on shards of the corpus's validation split, with a 512-token tokenizer. */
static void train_checkpoints(char *data_tok) {
    char val[600], train[600], tok8192[600], *out;
    corpus(val, train, tok8192, sizeof val);
    int rc = cli_run(&out, "tokenizer train --vocab 512 --out %s/tok.json %s", dir, val);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "prep --tokenizer %s/tok.json --out %s/data --val %s %s", dir, dir, val, val);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "train --config tiny --data %s/data --steps 4 --stop-at 2 --out %s/ck", dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "train --resume %s/ck --data %s/data --steps 4 --out %s/ck2", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    snprintf(data_tok, 600, "%s/data/tokenizer.json", dir);
}

static char *generate(const char *model, int expect_rc) {
    char *out;
    int rc = cli_run(&out, "generate --model %s --prompt 'The kernel' --tokens 4 --temperature 0", model);
    cr_assert_eq(rc, expect_rc, "generate --model %s: %s", model, out);
    return out;
}

/* A checkpoint from before the Hugging Face files (templar's tokenizer.json) still generates, and
 * apply gives the model it makes both tokenizers. */
static void old_checkpoint_upgrades(const char *ck, const char *data_tok, const char *text) {
    char old[600], home[600], next[600], *out;
    snprintf(old, sizeof old, "%s/old", dir);
    sh("cp -r %s %s", ck, old);
    sh("mv %s/templar_tokenizer.json %s/tokenizer.json && rm %1$s/tokenizer_config.json %1$s/generation_config.json",
       old, old);
    char *again = generate(old, 0);
    cr_assert_str_eq(again, text);
    free(again);
    snprintf(home, sizeof home, "%s/home", dir);
    setenv("TEMPLAR_HOME", home, 1);
    cr_assert_eq(cli_run(NULL, "wallet create alice --no-password --type ed25519"), 0);
    int rc = cli_run(&out, "compress --before %s --after %s/ck2 --wallet alice --uid 1 --window 2 --out %s/a.st", ck,
                     dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    snprintf(next, sizeof next, "%s/next", dir);
    cr_assert_eq(cli_run(&out, "apply --model %s --out %s %s/a.st", old, next, dir), 0, "%s", out);
    free(out);
    expect_tokenizer_files(next, data_tok, 64);
}

/* A model directory with only the Hugging Face file, or with a tokenizer of another vocabulary. */
static void bad_tokenizers_refused(const char *ck) {
    char hfonly[600], bad[600], path[700], *out;
    snprintf(hfonly, sizeof hfonly, "%s/hfonly", dir);
    sh("cp -r %s %s && rm %2$s/templar_tokenizer.json", ck, hfonly);
    out = generate(hfonly, 1);
    cr_assert(strstr(out, "templar_tokenizer.json"), "%s", out);
    free(out);
    cr_assert_eq(cli_run(&out, "apply --model %s --out %s/next2 %s/a.st", hfonly, dir, dir), 1, "%s", out);
    cr_assert(strstr(out, "templar_tokenizer.json"), "%s", out);
    free(out);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    sh("cp -r %s %s", ck, bad);
    snprintf(path, sizeof path, "%s/templar_tokenizer.json", bad);
    save_merges(NULL, 0, path);
    cr_assert_eq(cli_run(&out, "apply --model %s --out %s/next3 %s/a.st", bad, dir, dir), 1, "%s", out);
    cr_assert(strstr(out, "257 tokens") && strstr(out, "vocab_size is 512"), "%s", out);
    free(out);
    out = generate(bad, 1);
    cr_assert(strstr(out, "257"), "%s", out);
    free(out);
}

Test(hf_tokenizer, checkpoints_carry_both_tokenizers) {
    char data_tok[600], ck[600], a[700], b[700], *out;
    train_checkpoints(data_tok);
    snprintf(ck, sizeof ck, "%s/ck", dir);
    expect_tokenizer_files(ck, data_tok, 64);
    /* The same files as the export command writes. */
    cr_assert_eq(cli_run(&out, "tokenizer export --hf --tokenizer %s --out %s/exported --seq-len 64", data_tok, dir), 0,
                 "%s", out);
    free(out);
    snprintf(a, sizeof a, "%s/tokenizer.json", ck);
    snprintf(b, sizeof b, "%s/exported/tokenizer.json", dir);
    cr_assert(cli_same_file(a, b), "a checkpoint's tokenizer.json differs from the exported one");
    char *text = generate(ck, 0);
    old_checkpoint_upgrades(ck, data_tok, text);
    free(text);
    bad_tokenizers_refused(ck);
}
