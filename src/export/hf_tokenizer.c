/* Hugging Face tokenizer files (tokenizers' tokenizer.json, transformers' configs) for a templar
 * tokenizer. */
#include "export/hf_tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/json.h"
#include "export/bytelevel.h"
#include "export/vocab.h"
#include "export/model_dir.h"

/* ---------------------------------------------------------------- pre-tokenizer */

/* The byte-level character of byte b, UTF-8, escaped where a regex class gives it a meaning (in
 * Oniguruma, which the Rust library uses, and in transformers.js's translation to JS). */
static size_t put_class_char(char *out, uint8_t b) {
    size_t n = 0;
    if (b == '\\' || b == ']' || b == '[' || b == '^' || b == '-') out[n++] = '\\';
    return n + tp_bytelevel_spell(&b, 1, out + n);
}

/* "[...]" (or "[^...]" when negate) matching the byte-level characters of the bytes of class k,
 * as ranges of consecutive code points. out holds at least 1600 bytes. */
static size_t class_regex(tp_pretok_class k, int negate, char *out) {
    int byte_of[0x200]; /* code point -> byte, -1: not of class k (every code point is below 0x200) */
    for (int cp = 0; cp < 0x200; cp++) byte_of[cp] = -1;
    for (int b = 0; b < 256; b++)
        if (tp_pretok_byte_class((uint8_t)b) == k) byte_of[tp_bytelevel_codepoint((uint8_t)b)] = b;
    size_t n = 0;
    out[n++] = '[';
    if (negate) out[n++] = '^';
    for (int cp = 0; cp < 0x200; cp++) {
        if (byte_of[cp] < 0) continue;
        int end = cp;
        while (end + 1 < 0x200 && byte_of[end + 1] >= 0) end++;
        n += put_class_char(out + n, (uint8_t)byte_of[cp]);
        if (end > cp) {
            out[n++] = '-';
            n += put_class_char(out + n, (uint8_t)byte_of[end]);
        }
        cp = end;
    }
    out[n++] = ']';
    out[n] = 0;
    return n;
}

/* tp_pretok_chunk's rules as one regex, alternatives in the order it tries them. It runs on the
 * ByteLevel pre-tokenizer's output, one character per byte, so its counts are bytes as templar's
 * are (G is the spelling of ' '):
 *   '[stmd]|'re|'ve|'ll                a contraction at a chunk start
 *   GL{1,255}|GD{1,255}|GO{1,255}      one space joins the run that follows it (256 bytes at most)
 *   L{1,256}|D{1,256}|O{1,256}         a run of one class
 *   S{1,254}(?=G[^S])                  a whitespace run shorter than 256 bytes that ends in a space
 *                                      before a word leaves that space to the word
 *   S{1,256}                           any other whitespace run */
static tp_status pretokenizer_regex(char *out, size_t n, tp_err *err) {
    char L[1600], D[1600], O[1600], S[1600], notS[1600], G[4];
    class_regex(TP_PRETOK_LETTER, 0, L);
    class_regex(TP_PRETOK_DIGIT, 0, D);
    class_regex(TP_PRETOK_OTHER, 0, O);
    class_regex(TP_PRETOK_SPACE, 0, S);
    class_regex(TP_PRETOK_SPACE, 1, notS);
    tp_bytelevel_spell((const uint8_t *)" ", 1, G);
    const int max = TP_PRETOK_MAX_CHUNK;
    int len = snprintf(out, n,
                       "'[stmd]|'re|'ve|'ll|%s%s{1,%d}|%s%s{1,%d}|%s%s{1,%d}|%s{1,%d}|%s{1,%d}|%s{1,%d}|"
                       "%s{1,%d}(?=%s%s)|%s{1,%d}",
                       G, L, max - 1, G, D, max - 1, G, O, max - 1, L, max, D, max, O, max, S, max - 2, G, notS, S,
                       max);
    if (len < 0 || (size_t)len >= n) return tp_fail(err, TP_ERR_INTERNAL, "pre-tokenizer regex longer than %zu bytes", n);
    return TP_OK;
}

/* ByteLevel as pre-tokenizer and decoder: bytes to characters and back, nothing else. */
static json_t *bytelevel_json(void) {
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 0,
                     "use_regex", 0);
}

/* ByteLevel first, so that the Split regex counts bytes (templar cuts chunks at 256 bytes, even
 * inside a UTF-8 sequence); Isolated keeps every match as a piece. */
static tp_status pretokenizer_json(json_t **out, tp_err *err) {
    char re[8192];
    tp_status st = pretokenizer_regex(re, sizeof re, err);
    if (st) return st;
    *out = json_pack("{s:s, s:[o, {s:s, s:{s:s}, s:s, s:b}]}", "type", "Sequence", "pretokenizers", bytelevel_json(),
                     "type", "Split", "pattern", "Regex", re, "behavior", "Isolated", "invert", 0);
    return *out ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory building the pre-tokenizer");
}

/* ---------------------------------------------------------------- vocabulary */

/* {"type":"BPE",...,"vocab":{spelling:id},"merges":["a b",...]} in id and rank order. Merges are
 * "a b" strings, the form every tokenizers version reads (byte-level spellings hold no space). */
static tp_status model_json(const tp_tokenizer *tok, const tp_spelled_vocab *s, json_t **out, tp_err *err) {
    json_t *vocab = json_object(), *merges = json_array();
    int ok = vocab && merges;
    for (int i = 0; ok && i < s->n; i++) ok = !json_object_set_new(vocab, tp_spelled(s, i), json_integer(i));
    char *pair = tp_malloc(2 * (2 * TP_PRETOK_MAX_CHUNK + 1), err);
    if (!pair) ok = 0;
    for (int i = 0; ok && i < tp_tokenizer_num_merges(tok); i++) {
        uint32_t a, b;
        tp_tokenizer_merge(tok, i, &a, &b);
        snprintf(pair, 2 * (2 * TP_PRETOK_MAX_CHUNK + 1), "%s %s", tp_spelled(s, a), tp_spelled(s, b));
        ok = !json_array_append_new(merges, json_string(pair));
    }
    free(pair);
    *out = ok ? json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
                          "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
                          "ignore_merges", 0, "vocab", vocab, "merges", merges)
              : NULL;
    if (!ok) {
        json_decref(vocab);
        json_decref(merges);
    }
    return *out ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory building the vocabulary");
}

/* ---------------------------------------------------------------- the files */

/* The end-of-document token as an added token: matched whole, never normalized or stripped. With
 * id >= 0 (tokenizer.json's form) the id comes first, as Hugging Face writes it. */
static json_t *eot_json(int id) {
    json_t *t = id >= 0 ? json_pack("{s:i}", "id", id) : json_object(),
           *rest = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "content", TP_HF_EOT_TOKEN, "single_word", 0, "lstrip",
                             0, "rstrip", 0, "normalized", 0, "special", 1);
    if (!t || !rest || json_object_update(t, rest)) {
        json_decref(t);
        t = NULL;
    }
    json_decref(rest);
    return t;
}

static tp_status dump(json_t *j, tp_hf_file *f, const char *name, tp_err *err) {
    f->name = name;
    if (!j) return tp_fail(err, TP_ERR_NOMEM, "out of memory building %s", name);
    tp_status st = tp_json_dump(j, JSON_INDENT(2), &f->text, &f->len, err);
    json_decref(j);
    return st;
}

static tp_status tokenizer_json(const tp_tokenizer *tok, tp_hf_file *f, tp_err *err) {
    tp_spelled_vocab s;
    json_t *pre = NULL, *model = NULL;
    tp_status st = tp_spell_vocab(tok, &s, err);
    if (!st) st = pretokenizer_json(&pre, err);
    if (!st) st = model_json(tok, &s, &model, err);
    tp_spelled_vocab_free(&s);
    if (st) {
        json_decref(pre);
        return st;
    }
    json_t *j = json_pack("{s:s, s:n, s:n, s:[o], s:n, s:o, s:n, s:o, s:o}", "version", "1.0", "truncation", "padding",
                          "added_tokens", eot_json((int)tp_tokenizer_eot(tok)), "normalizer", "pre_tokenizer", pre,
                          "post_processor", "decoder", bytelevel_json(), "model", model);
    return dump(j, f, "tokenizer.json", err);
}

/* transformers' tokenizer settings: templar adds no token around text and leaves spaces as they are. */
static tp_status tokenizer_config_json(const tp_tokenizer *tok, int seq_len, tp_hf_file *f, tp_err *err) {
    char id[16];
    snprintf(id, sizeof id, "%u", tp_tokenizer_eot(tok));
    json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:{s:o}}", "tokenizer_class", "PreTrainedTokenizerFast",
                          "bos_token", TP_HF_EOT_TOKEN, "eos_token", TP_HF_EOT_TOKEN, "add_bos_token", 0,
                          "add_eos_token", 0, "clean_up_tokenization_spaces", 0, "added_tokens_decoder", id,
                          eot_json(-1));
    if (j && seq_len > 0 && json_object_set_new(j, "model_max_length", json_integer(seq_len))) {
        json_decref(j);
        j = NULL;
    }
    return dump(j, f, "tokenizer_config.json", err);
}

/* Documents are separated by the EOT, and an empty prompt starts with it: it is BOS as well as EOS. */
static tp_status generation_config_json(const tp_tokenizer *tok, tp_hf_file *f, tp_err *err) {
    json_t *j = json_pack("{s:i, s:i}", "bos_token_id", (int)tp_tokenizer_eot(tok), "eos_token_id",
                          (int)tp_tokenizer_eot(tok));
    return dump(j, f, "generation_config.json", err);
}

void tp_hf_files_free(tp_hf_file *files, int n) {
    for (int i = 0; i < n; i++) {
        free(files[i].text);
        files[i].text = NULL;
        files[i].len = 0;
    }
}

tp_status tp_hf_tokenizer_files(const tp_tokenizer *tok, int seq_len, tp_hf_file files[TP_HF_TOKENIZER_FILES],
                                tp_err *err) {
    memset(files, 0, sizeof *files * TP_HF_TOKENIZER_FILES);
    tp_status st = tokenizer_json(tok, &files[0], err);
    if (!st) st = tokenizer_config_json(tok, seq_len, &files[1], err);
    if (!st) st = generation_config_json(tok, &files[2], err);
    if (st) tp_hf_files_free(files, TP_HF_TOKENIZER_FILES);
    return st;
}

tp_status tp_hf_tokenizer_write(const tp_tokenizer *tok, int seq_len, const char *dir, tp_err *err) {
    tp_hf_file files[TP_HF_TOKENIZER_FILES];
    tp_status st = tp_hf_tokenizer_files(tok, seq_len, files, err); /* first: a refusal leaves no directory */
    if (!st) st = tp_mkdirs(dir, err);
    if (st) {
        tp_hf_files_free(files, TP_HF_TOKENIZER_FILES);
        return st;
    }
    char path[4200];
    for (int i = 0; !st && i < TP_HF_TOKENIZER_FILES; i++) {
        st = tp_path_join(path, sizeof path, dir, files[i].name, err);
        if (!st) st = tp_write_file_atomic(path, files[i].text, files[i].len, err);
    }
    tp_hf_files_free(files, TP_HF_TOKENIZER_FILES);
    return st;
}

/* ---------------------------------------------------------------- checkpoints */

void tp_hf_checkpoint_files_free(tp_hf_checkpoint_files *f) {
    tp_hf_files_free(f->hf, TP_HF_TOKENIZER_FILES);
    memset(f, 0, sizeof *f);
}

tp_status tp_hf_checkpoint_files_make(const char *tokenizer_path, const tp_model_config *cfg,
                                      tp_hf_checkpoint_files *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    tp_tokenizer *tok;
    tp_status st = tp_tokenizer_load(tokenizer_path, &tok, err);
    if (st) return st;
    if (tp_tokenizer_vocab_size(tok) != cfg->vocab_size)
        st = tp_fail(err, TP_ERR_CONFIG, "the tokenizer %s has %d tokens but the model's vocab_size is %d: they do not "
                     "belong together", tokenizer_path, tp_tokenizer_vocab_size(tok), cfg->vocab_size);
    else if ((st = tp_hf_tokenizer_files(tok, cfg->seq_len, out->hf, err)))
        tp_wrap(err, "the Hugging Face files of tokenizer %s", tokenizer_path);
    tp_tokenizer_free(tok);
    if (st) return st;
    out->extra[0] = (tp_extra_file){.name = TP_EXPORT_TOKENIZER_FILE, .source = tokenizer_path};
    for (int i = 0; i < TP_HF_TOKENIZER_FILES; i++)
        out->extra[1 + i] = (tp_extra_file){.name = out->hf[i].name, .data = out->hf[i].text, .len = out->hf[i].len};
    return TP_OK;
}
