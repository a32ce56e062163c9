/* The GGUF writer (export/gguf.h) and `templar export gguf`: f16 rounding against the compiler's
 * _Float16, the file read back by a small GGUF reader of the test's own (layout, metadata keys and
 * types, the vocabulary, every tensor's bytes), and the refusals of bad model directories. That
 * llama.cpp runs the file and agrees with templar is test_gguf_llama.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "../support/alloc_fail.h"
#include "export_test_util.h"
#include "core/fileio.h"
#include "data/tokenizer.h"
#include "export/bytelevel.h"
#include "export/gguf.h"
#include "model/checkpoint.h"
#include "model/llama.h"

/* ------------------------------------------------------------------ f32 -> f16 */

static uint16_t reference_f16(float f) {
    _Float16 h = (_Float16)f; /* F16C's vcvtps2ph on x86-64-v3, or GCC's soft-float: both round to even */
    uint16_t bits;
    memcpy(&bits, &h, sizeof bits);
    return bits;
}

static void check_f16(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    uint16_t got = tp_f32_to_f16(f), want = reference_f16(f);
    if (f != f) /* NaN: any NaN will do, with the sign kept */
        cr_assert((got & 0x7C00) == 0x7C00 && (got & 0x3FF) && (got & 0x8000) == (want & 0x8000),
                  "f32 %08x: %04x is not a NaN", bits, got);
    else
        cr_assert_eq(got, want, "f32 %08x (%g): f16 %04x, want %04x", bits, (double)f, got, want);
}

/* Every f16 bucket with the rounding cases below and at each tie, every f32 in the subnormal range
 * (where the rounding bit moves) at a fine stride, and a sweep of all bit patterns. */
Test(gguf, f16_rounds_to_nearest_even) {
    static const uint32_t low[] = {0, 1, 0xFFF, 0x1000, 0x1001, 0x1FFF, 0x0ABC, 0x1555};
    for (uint32_t top = 0; top < (1u << 19); top++)
        for (size_t i = 0; i < sizeof low / sizeof *low; i++) check_f16(top << 13 | low[i]);
    for (uint32_t bits = 0x33000000 - 64; bits < 0x38800000 + 64; bits += 7) {
        check_f16(bits);
        check_f16(bits | 0x80000000);
    }
    for (uint64_t bits = 0; bits < (1ull << 32); bits += 9973) check_f16((uint32_t)bits);
    cr_assert_eq(tp_f32_to_f16(65504.0f), 0x7BFF);
    cr_assert_eq(tp_f32_to_f16(65520.0f), 0x7C00);
    cr_assert_eq(tp_f32_to_f16(-0.0f), 0x8000);
    cr_assert_eq(tp_f32_to_f16(5.9604645e-8f), 0x0001); /* 2^-24, the smallest subnormal */
}

/* ------------------------------------------------------------------ a GGUF reader (tests only) */

enum { T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 };

typedef struct {
    char key[96];
    uint32_t type, elem; /* elem and count for arrays */
    uint64_t count;
    size_t value; /* file offset of the value (of the first element for arrays) */
} kv_entry;

typedef struct {
    char name[64];
    uint32_t ndim, type;
    uint64_t ne[4], offset;
} tensor_entry;

typedef struct {
    uint8_t *p;
    size_t n, pos, data; /* data: start of the data section */
    uint64_t n_kv, n_tensors;
    kv_entry kv[64];
    tensor_entry t[64];
} gguf_file;

static uint64_t rd(gguf_file *g, int bytes) {
    cr_assert_leq(g->pos + (size_t)bytes, g->n, "GGUF ends inside a value at %zu", g->pos);
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)g->p[g->pos + (size_t)i] << (8 * i);
    g->pos += (size_t)bytes;
    return v;
}

/* A string's bytes (not NUL-terminated) and length. */
static const char *rd_str(gguf_file *g, size_t *len) {
    *len = (size_t)rd(g, 8);
    cr_assert_leq(g->pos + *len, g->n);
    const char *s = (const char *)g->p + g->pos;
    g->pos += *len;
    return s;
}

static void skip_value(gguf_file *g, uint32_t type) {
    static const int size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    size_t len;
    cr_assert(type <= T_F64 && type != T_ARR, "bad value type %u", type);
    if (type == T_STR) rd_str(g, &len);
    else g->pos += (size_t)size[type];
}

static void read_kv(gguf_file *g, kv_entry *e) {
    size_t len;
    const char *key = rd_str(g, &len);
    cr_assert_lt(len, sizeof e->key);
    memcpy(e->key, key, len);
    e->key[len] = 0;
    e->type = (uint32_t)rd(g, 4);
    e->count = 1;
    if (e->type == T_ARR) {
        e->elem = (uint32_t)rd(g, 4);
        e->count = rd(g, 8);
    }
    e->value = g->pos;
    for (uint64_t i = 0; i < e->count; i++) skip_value(g, e->type == T_ARR ? e->elem : e->type);
}

static void read_tensor_info(gguf_file *g, tensor_entry *t) {
    size_t len;
    const char *name = rd_str(g, &len);
    cr_assert_lt(len, sizeof t->name);
    memcpy(t->name, name, len);
    t->name[len] = 0;
    t->ndim = (uint32_t)rd(g, 4);
    cr_assert(t->ndim >= 1 && t->ndim <= 4);
    for (uint32_t d = 0; d < 4; d++) t->ne[d] = d < t->ndim ? rd(g, 8) : 1;
    t->type = (uint32_t)rd(g, 4);
    t->offset = rd(g, 8);
}

static void gguf_read(const char *path, gguf_file *g) {
    memset(g, 0, sizeof *g);
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1u << 30, &g->p, &g->n, &err), TP_OK, "%s", err.msg);
    cr_assert(g->n >= 24 && !memcmp(g->p, "GGUF", 4), "no GGUF magic");
    g->pos = 4;
    cr_assert_eq(rd(g, 4), 3, "GGUF version");
    g->n_tensors = rd(g, 8);
    g->n_kv = rd(g, 8);
    cr_assert(g->n_kv <= 64 && g->n_tensors <= 64);
    for (uint64_t i = 0; i < g->n_kv; i++) read_kv(g, &g->kv[i]);
    for (uint64_t i = 0; i < g->n_tensors; i++) read_tensor_info(g, &g->t[i]);
    g->data = (g->pos + 31) / 32 * 32;
    for (size_t i = g->pos; i < g->data; i++) cr_assert_eq(g->p[i], 0, "padding must be zeros");
}

static const kv_entry *kv_find(const gguf_file *g, const char *key, uint32_t type) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key)) {
            cr_assert_eq(g->kv[i].type, type, "%s has type %u, want %u", key, g->kv[i].type, type);
            return &g->kv[i];
        }
    cr_assert_fail("no key %s", key);
    return NULL;
}

static uint32_t kv_u32(gguf_file *g, const char *key) {
    g->pos = kv_find(g, key, T_U32)->value;
    return (uint32_t)rd(g, 4);
}

static float kv_f32(gguf_file *g, const char *key) {
    g->pos = kv_find(g, key, T_F32)->value;
    uint32_t bits = (uint32_t)rd(g, 4);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Compares a string value (or element i of a string array) with want. */
static void expect_str(gguf_file *g, const char *key, uint64_t i, const char *want) {
    const kv_entry *e = kv_find(g, key, i == UINT64_MAX ? T_STR : T_ARR);
    cr_assert(i == UINT64_MAX || (e->elem == T_STR && i < e->count), "%s[%llu]", key, (unsigned long long)i);
    g->pos = e->value;
    size_t len;
    for (uint64_t k = 0; i != UINT64_MAX && k < i; k++) rd_str(g, &len);
    const char *s = rd_str(g, &len);
    cr_assert(len == strlen(want) && !memcmp(s, want, len), "%s[%llu] is \"%.*s\", want \"%s\"", key,
              (unsigned long long)i, (int)len, s, want);
}

static const tensor_entry *tensor_find(const gguf_file *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->t[i].name, name)) return &g->t[i];
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

/* ------------------------------------------------------------------ a model and a tokenizer */

/* ------------------------------------------------------------------ the file */

static void expect_model_keys(gguf_file *g, const tp_model_config *c, uint32_t file_type) {
    expect_str(g, "general.architecture", UINT64_MAX, "llama");
    expect_str(g, "general.name", UINT64_MAX, "unit");
    cr_assert_eq(kv_u32(g, "general.file_type"), file_type);
    cr_assert_eq(kv_u32(g, "general.alignment"), 32);
    cr_assert_eq(kv_u32(g, "llama.context_length"), (uint32_t)c->seq_len);
    cr_assert_eq(kv_u32(g, "llama.embedding_length"), (uint32_t)c->dim);
    cr_assert_eq(kv_u32(g, "llama.block_count"), (uint32_t)c->n_layers);
    cr_assert_eq(kv_u32(g, "llama.feed_forward_length"), (uint32_t)c->ffn_dim);
    cr_assert_eq(kv_u32(g, "llama.attention.head_count"), (uint32_t)c->n_heads);
    cr_assert_eq(kv_u32(g, "llama.attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    cr_assert_eq(kv_u32(g, "llama.rope.dimension_count"), (uint32_t)(c->dim / c->n_heads));
    cr_assert_eq(kv_u32(g, "llama.vocab_size"), (uint32_t)c->vocab_size);
    cr_assert_eq(kv_f32(g, "llama.rope.freq_base"), c->rope_theta);
    cr_assert_eq(kv_f32(g, "llama.attention.layer_norm_rms_epsilon"), c->norm_eps);
}

static void expect_tokenizer_keys(gguf_file *g, const tp_tokenizer *tok) {
    int vocab = tp_tokenizer_vocab_size(tok);
    expect_str(g, "tokenizer.ggml.model", UINT64_MAX, "gpt2");
    expect_str(g, "tokenizer.ggml.pre", UINT64_MAX, "gpt-2");
    cr_assert_eq(kv_find(g, "tokenizer.ggml.tokens", T_ARR)->count, (uint64_t)vocab);
    expect_str(g, "tokenizer.ggml.tokens", ' ', "\xC4\xA0"); /* "Ġ" */
    expect_str(g, "tokenizer.ggml.tokens", 'a', "a");
    expect_str(g, "tokenizer.ggml.tokens", 256, "aa");
    expect_str(g, "tokenizer.ggml.tokens", 456, "\xC4\xA0" "aa"); /* merge 200: " " + "aa" */
    expect_str(g, "tokenizer.ggml.tokens", (uint64_t)vocab - 1, "<|endoftext|>");
    const kv_entry *types = kv_find(g, "tokenizer.ggml.token_type", T_ARR);
    cr_assert(types->elem == T_I32 && types->count == (uint64_t)vocab);
    g->pos = types->value;
    for (int i = 0; i < vocab; i++) cr_assert_eq(rd(g, 4), i == vocab - 1 ? 3u : 1u, "token_type[%d]", i);
    cr_assert_eq(kv_find(g, "tokenizer.ggml.merges", T_ARR)->count, (uint64_t)vocab - 257);
    expect_str(g, "tokenizer.ggml.merges", 0, "a a");
    expect_str(g, "tokenizer.ggml.merges", 200, "\xC4\xA0 aa");
    cr_assert_eq(kv_u32(g, "tokenizer.ggml.bos_token_id"), (uint32_t)vocab - 1);
    cr_assert_eq(kv_u32(g, "tokenizer.ggml.eos_token_id"), (uint32_t)vocab - 1);
    g->pos = kv_find(g, "tokenizer.ggml.add_bos_token", T_BOOL)->value;
    cr_assert_eq(rd(g, 1), 0);
}

/* Element i of a tensor's data (row-major) as a float. */
static float tensor_at(const gguf_file *g, const tensor_entry *t, uint64_t i) {
    const uint8_t *p = g->p + g->data + t->offset;
    if (t->type == 0) {
        float f;
        memcpy(&f, p + 4 * i, sizeof f);
        return f;
    }
    _Float16 h;
    memcpy(&h, p + 2 * i, sizeof h);
    return (float)h;
}

/* Every tensor: name, shape, type, aligned offset, and its data, rows of q and k interleaved per head. */
static void expect_tensor(const gguf_file *g, const tp_llama *m, const tp_tensor_info *info, const char *name,
                          int rope, int f16) {
    const tensor_entry *t = tensor_find(g, name);
    int64_t rows = info->shape[0], cols = info->ndim == 2 ? info->shape[1] : 1;
    cr_assert_eq(t->ndim, (uint32_t)info->ndim, "%s", name);
    cr_assert(t->ne[0] == (uint64_t)(info->ndim == 2 ? cols : rows) && (info->ndim == 1 || t->ne[1] == (uint64_t)rows),
              "%s has the wrong dimensions", name);
    cr_assert_eq(t->type, f16 && info->ndim == 2 ? 1u : 0u, "%s type", name);
    cr_assert_eq(t->offset % 32, 0, "%s is not aligned", name);
    int64_t hd = m->cfg.dim / m->cfg.n_heads;
    for (int64_t r = 0; r < rows; r++) {
        int64_t src = rope ? r / hd * hd + (r % hd % 2) * (hd / 2) + (r % hd / 2) : r;
        for (int64_t c = 0; c < cols; c++) {
            float want = m->params[info->offset + (size_t)(src * cols + c)];
            if (f16 && info->ndim == 2) want = (float)(_Float16)want;
            cr_assert_eq(tensor_at(g, t, (uint64_t)(r * cols + c)), want, "%s[%lld][%lld]", name, (long long)r,
                         (long long)c);
        }
    }
}

static void expect_tensors(const gguf_file *g, const tp_llama *m, int f16) {
    cr_assert_eq(g->n_tensors, (uint64_t)m->layout.n_tensors);
    static const char *const hf[] = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                     "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
                                     "mlp.down_proj"};
    static const char *const gg[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                                     "ffn_gate", "ffn_up", "ffn_down"};
    char a[96], b[96];
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int i = 0; i < 9; i++) {
            snprintf(a, sizeof a, "model.layers.%d.%s.weight", l, hf[i]);
            snprintf(b, sizeof b, "blk.%d.%s.weight", l, gg[i]);
            expect_tensor(g, m, tp_layout_find(&m->layout, a), b, i == 1 || i == 2, f16);
        }
    expect_tensor(g, m, tp_layout_find(&m->layout, "model.embed_tokens.weight"), "token_embd.weight", 0, f16);
    expect_tensor(g, m, tp_layout_find(&m->layout, "model.norm.weight"), "output_norm.weight", 0, f16);
    if (!m->cfg.tie_embeddings)
        expect_tensor(g, m, tp_layout_find(&m->layout, "lm_head.weight"), "output.weight", 0, f16);
    const tensor_entry *last = &g->t[g->n_tensors - 1];
    uint64_t bytes = last->ne[0] * last->ne[1] * (last->type ? 2 : 4);
    cr_assert_eq(g->n, g->data + last->offset + (bytes + 31) / 32 * 32, "the file does not end after the data");
}

static void write_and_check(int tied, tp_gguf_type type) {
    char dir[256], path[300];
    cli_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    tp_llama *m = random_model(tied);
    tp_tokenizer *tok = pair_tokenizer(m->cfg.vocab_size);
    tp_err err;
    tp_gguf_options opt = {.type = type, .name = "unit"};
    cr_assert_eq(tp_gguf_write(path, m, tok, &opt, &err), TP_OK, "%s", err.msg);
    gguf_file g;
    gguf_read(path, &g);
    expect_model_keys(&g, &m->cfg, type == TP_GGUF_F16 ? 1 : 0);
    expect_tokenizer_keys(&g, tok);
    expect_tensors(&g, m, type == TP_GGUF_F16);
    free(g.p);
    tp_llama_free(m);
    tp_tokenizer_free(tok);
    tp_remove_tree(dir, &err);
}

Test(gguf, f32_tied_file_reads_back) { write_and_check(1, TP_GGUF_F32); }
Test(gguf, f16_untied_file_reads_back) { write_and_check(0, TP_GGUF_F16); }

/* Two merges building the same bytes ("b"+"c" then "a"+"bc", and "a"+"b" then "ab"+"c") would be
 * two tokens of one text, which llama.cpp refuses: named, and no file is left. */
Test(gguf, refuses_tokens_of_the_same_text) {
    const uint32_t merges[] = {'b', 'c', 'a', 'b', 257, 'c', 'a', 256};
    tp_tokenizer *tok;
    tp_err err;
    cr_assert_eq(tp_tokenizer_from_merges(merges, 4, &tok, &err), TP_OK, "%s", err.msg);
    tp_model_config c = {.dim = 16, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1, .ffn_dim = 32, .vocab_size = 261,
                         .seq_len = 8, .rope_theta = 10000, .norm_eps = 1e-5f, .tie_embeddings = 1};
    tp_llama *m;
    cr_assert_eq(tp_llama_create(&c, 1, 2, 0, &m, &err), TP_OK, "%s", err.msg);
    char dir[256], path[300];
    cli_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    tp_gguf_options opt = {.type = TP_GGUF_F32};
    cr_assert_eq(tp_gguf_write(path, m, tok, &opt, &err), TP_ERR_CONFIG);
    cr_assert(strstr(err.msg, "tokens 258 and 259") && strstr(err.msg, "\"abc\""), "%s", err.msg);
    cr_assert(!tp_path_exists(path));
    tp_llama_free(m);
    tp_tokenizer_free(tok);
    tp_remove_tree(dir, &err);
}

/* Under allocation failure every write fails with TP_ERR_NOMEM, leaving no file (not even a
 * temporary one), or writes exactly the clean run's bytes. */
typedef struct {
    char dir[256], path[300];
    tp_llama *m;
    tp_tokenizer *tok;
    uint8_t *clean;
    size_t clean_len;
} write_case;

static tp_status write_unit(void *ctx, tp_err *err) {
    write_case *c = ctx;
    tp_gguf_options opt = {.type = TP_GGUF_F16, .name = "unit"};
    return tp_gguf_write(c->path, c->m, c->tok, &opt, err);
}

static void write_check(void *ctx, tp_status st, const tp_err *err, int fired) {
    write_case *c = ctx;
    (void)fired;
    uint8_t *bytes = NULL;
    size_t len = 0, files = 0;
    tp_err e;
    if (!st) {
        cr_assert_eq(tp_read_file(c->path, 1u << 30, &bytes, &len, &e), TP_OK, "%s", e.msg);
        if (!c->clean) {
            c->clean = bytes;
            c->clean_len = len;
            bytes = NULL;
        } else {
            cr_assert(len == c->clean_len && !memcmp(bytes, c->clean, len), "a run wrote other bytes");
        }
        free(bytes);
        remove(c->path);
    }
    DIR *d = opendir(c->dir);
    for (struct dirent *de; (de = readdir(d));) files += de->d_name[0] != '.';
    closedir(d);
    cr_assert_eq(files, 0, "a failed write (%s) left a file", err->msg);
}

Test(gguf, write_survives_allocation_failures) {
    write_case c = {0};
    cli_tmpdir(c.dir, sizeof c.dir);
    snprintf(c.path, sizeof c.path, "%s/m.gguf", c.dir);
    c.m = random_model(0);
    c.tok = pair_tokenizer(c.m->cfg.vocab_size);
    long n = af_run_all(write_unit, write_check, &c, 1, AF_OURS);
    cr_assert_gt(n, 3, "the write made only %ld allocations", n);
    free(c.clean);
    tp_llama_free(c.m);
    tp_tokenizer_free(c.tok);
    tp_err err;
    tp_remove_tree(c.dir, &err);
}

/* ------------------------------------------------------------------ the command and bad input */

/* Runs `templar export gguf ARGS` and expects exit status rc and want in its output. */
static void expect_export(int rc, const char *want, const char *fmt, const char *a, const char *b) {
    char args[2048];
    int n = snprintf(args, sizeof args, "export gguf ");
    snprintf(args + n, sizeof args - (size_t)n, fmt, a, b);
    expect_cli(rc, want, args);
}

Test(gguf, command_writes_from_either_tokenizer_name, .timeout = 60) {
    char dir[256], model[300], old[300], gguf[300];
    cli_tmpdir(dir, sizeof dir);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(old, sizeof old, "%s/old", dir);
    snprintf(gguf, sizeof gguf, "%s/out.gguf", dir);
    make_checkpoint(model, "templar_tokenizer.json", 512);
    make_checkpoint(old, "tokenizer.json", 512); /* checkpoints before the Hugging Face tokenizer */
    expect_export(0, "20 tensors, f16, vocabulary 512", "--model %s --out %s", model, gguf);
    gguf_file g;
    gguf_read(gguf, &g);
    expect_str(&g, "general.name", UINT64_MAX, "model");
    cr_assert_eq(kv_u32(&g, "general.file_type"), 1);
    free(g.p);
    expect_export(0, "f32", "--model %s --type f32 --out %s", old, gguf);
    expect_export(2, "--type must be f16 or f32", "--model %s --type q8 --out %s", model, gguf);
    expect_export(2, "--model and --out are required", "--model %s%s", model, "");
    tp_err err;
    tp_remove_tree(dir, &err);
}

Test(gguf, refuses_bad_model_directories, .timeout = 60) {
    char dir[256], none[300], hf[300], small[300], gguf[300], path[700];
    cli_tmpdir(dir, sizeof dir);
    snprintf(none, sizeof none, "%s/none", dir);
    snprintf(hf, sizeof hf, "%s/hf", dir);
    snprintf(small, sizeof small, "%s/small.json", dir);
    snprintf(gguf, sizeof gguf, "%s/out.gguf", dir);
    make_checkpoint(none, NULL, 512);
    expect_export(1, "has no tokenizer: neither templar_tokenizer.json nor tokenizer.json", "--model %s --out %s",
                  none, gguf);
    /* Only a Hugging Face tokenizer.json: not templar's, so not guessed at. */
    make_checkpoint(hf, NULL, 512);
    snprintf(path, sizeof path, "%s/tokenizer.json", hf);
    const char *hf_json = "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\"}}";
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(path, hf_json, strlen(hf_json), &err), TP_OK);
    expect_export(1, "tokenizer.json is not in templar's format", "--model %s --out %s", hf, gguf);
    /* A tokenizer of another vocabulary. */
    tp_tokenizer *tok = pair_tokenizer(300);
    cr_assert_eq(tp_tokenizer_save(tok, small, &err), TP_OK);
    tp_tokenizer_free(tok);
    snprintf(path, sizeof path, "%s --tokenizer %s", hf, small);
    expect_export(1, "has 300 tokens but", "--model %s --out %s", path, gguf);
    expect_export(1, "vocab_size 512: they do not belong together", "--model %s --out %s", path, gguf);
    cr_assert(!tp_path_exists(gguf), "a refused export left a file");
    tp_remove_tree(dir, &err);
}

/* config.json that is not a LLaMA templar exports: each refusal names the key. */
Test(gguf, refuses_unsupported_configs, .timeout = 60) {
    static const struct {
        const char *from, *to, *want;
    } edits[] = {
        {"\"LlamaForCausalLM\"", "\"MistralForCausalLM\"", "architectures must be [\"LlamaForCausalLM\"]"},
        {"\"model_type\": \"llama\"", "\"model_type\": \"mistral\"", "model_type must be \"llama\""},
        {"\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act must be \"silu\""},
        {"\"vocab_size\": 512", "\"vocab_size\": 576", "vocab_size"},
        {"\"hidden_act\"", "\"rope_scaling\": {\"type\": \"linear\"}, \"hidden_act\"", "rope_scaling is not supported"},
    };
    char dir[256], model[300], gguf[300], path[400];
    cli_tmpdir(dir, sizeof dir);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(gguf, sizeof gguf, "%s/out.gguf", dir);
    snprintf(path, sizeof path, "%s/config.json", model);
    make_checkpoint(model, "templar_tokenizer.json", 512);
    uint8_t *orig;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1 << 20, &orig, &len, &err), TP_OK);
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        const char *at = strstr((const char *)orig, edits[i].from);
        cr_assert(at, "config.json lacks %s: %s", edits[i].from, orig);
        char text[4096];
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - (const char *)orig), orig, edits[i].to,
                 at + strlen(edits[i].from));
        cr_assert_eq(tp_write_file_atomic(path, text, strlen(text), &err), TP_OK);
        expect_export(1, edits[i].want, "--model %s --out %s", model, gguf);
    }
    cr_assert(!tp_path_exists(gguf), "a refused export left a file");
    free(orig);
    tp_remove_tree(dir, &err);
}
