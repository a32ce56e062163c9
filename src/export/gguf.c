/* The GGUF writer. The header (key/value pairs and tensor infos) is built in memory, since it starts
 * with counts and offsets; the tensors are then converted and streamed one at a time. */
#include "export/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "export/vocab.h"

#define GGUF_VERSION 3
#define GGUF_ALIGN 32

enum { GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9 }; /* value types */
enum { GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1 };
enum { TOKEN_NORMAL = 1, TOKEN_CONTROL = 3 }; /* llama.cpp's token types */

/* ---------------------------------------------------------------- f32 -> f16 */

uint16_t tp_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t a = x & 0x7FFFFFFF;
    if (a > 0x7F800000) return sign | 0x7E00 | (uint16_t)((a >> 13) & 0x3FF); /* NaN, kept quiet */
    if (a >= 0x477FF000) return sign | 0x7C00; /* 65520 and up round past the largest f16, 65504 */
    if (a < 0x38800000) {                      /* below 2^-14: an f16 subnormal, in units of 2^-24 */
        if (a <= 0x33000000) return sign;      /* at most 2^-25, half the smallest: ties to even 0 */
        uint32_t m = (a & 0x7FFFFF) | 0x800000, shift = 126 - (a >> 23); /* shift in [14, 24] */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++; /* q may reach 0x400: the smallest normal */
        return sign | (uint16_t)q;
    }
    uint32_t h = (a - 0x38000000) >> 13, rem = a & 0x1FFF; /* exponent rebiased from 127 to 15 */
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;  /* a carry into the exponent is right too */
    return sign | (uint16_t)h;
}

/* ---------------------------------------------------------------- a growing byte buffer */

/* The first failure sticks, so a sequence of puts is checked once at its end. count counts the
 * key/value pairs written into it. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    uint64_t count;
    tp_status st;
    tp_err *err;
} gbuf;

static void put(gbuf *b, const void *data, size_t n) {
    if (b->st || n == 0) return; /* n == 0: data may be NULL (a failed buffer) */
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) cap *= 2;
        uint8_t *p = tp_realloc(b->p, cap, b->err);
        if (!p) {
            b->st = TP_ERR_NOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_le(gbuf *b, uint64_t v, int bytes) {
    uint8_t le[8];
    for (int i = 0; i < bytes; i++) le[i] = (uint8_t)(v >> (8 * i));
    put(b, le, (size_t)bytes);
}

static void put_u32(gbuf *b, uint32_t v) { put_le(b, v, 4); }
static void put_u64(gbuf *b, uint64_t v) { put_le(b, v, 8); }

static void put_str(gbuf *b, const char *s, size_t n) {
    put_u64(b, n);
    put(b, s, n);
}

static void pad(gbuf *b) {
    static const uint8_t zeros[GGUF_ALIGN];
    put(b, zeros, (GGUF_ALIGN - b->n % GGUF_ALIGN) % GGUF_ALIGN);
}

/* ---------------------------------------------------------------- key/value pairs */

static void kv_key(gbuf *b, const char *key, uint32_t type) {
    put_str(b, key, strlen(key));
    put_u32(b, type);
    b->count++;
}

static void kv_u32(gbuf *b, const char *key, uint32_t v) {
    kv_key(b, key, GGUF_U32);
    put_u32(b, v);
}

static void kv_f32(gbuf *b, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    kv_key(b, key, GGUF_F32);
    put_u32(b, u);
}

static void kv_bool(gbuf *b, const char *key, int v) {
    uint8_t c = v != 0;
    kv_key(b, key, GGUF_BOOL);
    put(b, &c, 1);
}

static void kv_str(gbuf *b, const char *key, const char *s) {
    kv_key(b, key, GGUF_STRING);
    put_str(b, s, strlen(s));
}

/* The header of an array value; its n elements follow. */
static void kv_array(gbuf *b, const char *key, uint32_t elem_type, uint64_t n) {
    kv_key(b, key, GGUF_ARRAY);
    put_u32(b, elem_type);
    put_u64(b, n);
}

/* The hyperparameters llama.cpp's "llama" architecture reads (llama.<key>). */
static void put_model_kvs(gbuf *b, const tp_model_config *c, const tp_gguf_options *o) {
    kv_str(b, "general.architecture", "llama");
    kv_str(b, "general.name", o->name ? o->name : "templar");
    kv_u32(b, "general.file_type", o->type == TP_GGUF_F16 ? 1 : 0);
    kv_u32(b, "general.alignment", GGUF_ALIGN);
    kv_u32(b, "llama.context_length", (uint32_t)c->seq_len);
    kv_u32(b, "llama.embedding_length", (uint32_t)c->dim);
    kv_u32(b, "llama.block_count", (uint32_t)c->n_layers);
    kv_u32(b, "llama.feed_forward_length", (uint32_t)c->ffn_dim);
    kv_u32(b, "llama.attention.head_count", (uint32_t)c->n_heads);
    kv_u32(b, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    kv_f32(b, "llama.rope.freq_base", c->rope_theta);
    kv_u32(b, "llama.rope.dimension_count", (uint32_t)(c->dim / c->n_heads));
    kv_f32(b, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    kv_u32(b, "llama.vocab_size", (uint32_t)c->vocab_size);
}

/* ---------------------------------------------------------------- the vocabulary */

/* The "gpt2" (byte-level BPE) vocabulary: tokens, their types, merges "a b" in rank order, and the
 * end-of-document token as both BOS and EOS. templar never prepends it to a prompt, so neither may
 * llama.cpp (add_bos_token false).
 *
 * Pre-tokenizer: "gpt-2", GPT-2's regex, is the nearest one llama.cpp knows by name (it takes no
 * regex from the file). templar's chunking differs in three ways: every byte >= 0x80 counts as a
 * letter, chunks end at 256 bytes, and a whitespace run keeps a last newline or tab ("\n\nWord" is
 * "\n\n" "Word" in templar, "\n" "\n" "Word" in GPT-2). So llama.cpp tokenizes some text into other
 * (valid) tokens than templar does (0.4% more tokens on README.md with the demo's 8192-token
 * tokenizer). The model is the same either way,
 * and tests/export/test_gguf_llama.c feeds llama.cpp token ids, not text. ("trillion" names the same
 * regex without llama.cpp's clean-up of a space before ?!., in llama_detokenize, but older llama.cpp
 * builds refuse that name.) */
static void put_tokenizer_kvs(gbuf *b, const tp_tokenizer *tok, const tp_spelled_vocab *s) {
    uint32_t eot = tp_tokenizer_eot(tok);
    kv_str(b, "tokenizer.ggml.model", "gpt2");
    kv_str(b, "tokenizer.ggml.pre", "gpt-2");
    kv_array(b, "tokenizer.ggml.tokens", GGUF_STRING, (uint64_t)s->n);
    for (int i = 0; i < s->n; i++) put_str(b, tp_spelled(s, i), strlen(tp_spelled(s, i)));
    kv_array(b, "tokenizer.ggml.token_type", GGUF_I32, (uint64_t)s->n);
    for (int i = 0; i < s->n; i++) put_u32(b, (uint32_t)i == eot ? TOKEN_CONTROL : TOKEN_NORMAL);
    int n_merges = tp_tokenizer_num_merges(tok);
    kv_array(b, "tokenizer.ggml.merges", GGUF_STRING, (uint64_t)n_merges);
    for (int i = 0; i < n_merges; i++) {
        uint32_t x, y;
        tp_tokenizer_merge(tok, i, &x, &y);
        const char *sx = tp_spelled(s, x), *sy = tp_spelled(s, y);
        size_t nx = strlen(sx), ny = strlen(sy);
        put_u64(b, nx + 1 + ny);
        put(b, sx, nx);
        put(b, " ", 1);
        put(b, sy, ny);
    }
    kv_u32(b, "tokenizer.ggml.bos_token_id", eot);
    kv_u32(b, "tokenizer.ggml.eos_token_id", eot);
    kv_bool(b, "tokenizer.ggml.add_bos_token", 0);
}

/* ---------------------------------------------------------------- tensors */

typedef struct {
    char name[64];
    const float *data;
    int ndim;
    int64_t rows, cols; /* cols 1 for a vector */
    int rope;           /* rows are q or k heads, in rotate_half order */
    uint32_t type;
    uint64_t offset, bytes;
} gguf_tensor;

/* Hugging Face names (DESIGN §4) to llama.cpp's: the model's own, then each layer's. */
static const struct {
    const char *hf, *gguf;
} model_names[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

static const struct {
    const char *hf, *gguf;
    int rope;
} layer_names[] = {
    {"input_layernorm.weight", "attn_norm.weight", 0},
    {"self_attn.q_proj.weight", "attn_q.weight", 1},
    {"self_attn.k_proj.weight", "attn_k.weight", 1},
    {"self_attn.v_proj.weight", "attn_v.weight", 0},
    {"self_attn.o_proj.weight", "attn_output.weight", 0},
    {"post_attention_layernorm.weight", "ffn_norm.weight", 0},
    {"mlp.gate_proj.weight", "ffn_gate.weight", 0},
    {"mlp.up_proj.weight", "ffn_up.weight", 0},
    {"mlp.down_proj.weight", "ffn_down.weight", 0},
};

static tp_status map_name(const char *hf, gguf_tensor *t, tp_err *err) {
    t->rope = 0;
    for (size_t i = 0; i < sizeof model_names / sizeof *model_names; i++)
        if (!strcmp(hf, model_names[i].hf)) {
            snprintf(t->name, sizeof t->name, "%s", model_names[i].gguf);
            return TP_OK;
        }
    int layer, used = 0;
    if (sscanf(hf, "model.layers.%d.%n", &layer, &used) == 1 && used > 0)
        for (size_t i = 0; i < sizeof layer_names / sizeof *layer_names; i++)
            if (!strcmp(hf + used, layer_names[i].hf)) {
                snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, layer_names[i].gguf);
                t->rope = layer_names[i].rope;
                return TP_OK;
            }
    return tp_fail(err, TP_ERR_INTERNAL, "no GGUF name for tensor %s", hf);
}

/* One entry per checkpoint tensor; a tied output projection is left out, and llama.cpp then uses
 * token_embd for it. Offsets are from the start of the data section. */
static tp_status plan_tensors(const tp_llama *m, tp_gguf_type type, gguf_tensor *out, tp_err *err) {
    uint64_t offset = 0;
    for (int i = 0; i < m->layout.n_tensors; i++) {
        const tp_tensor_info *info = &m->layout.tensors[i];
        gguf_tensor *t = &out[i];
        tp_status st = map_name(info->name, t, err);
        if (st) return st;
        t->data = m->params + info->offset;
        t->ndim = info->ndim;
        t->rows = info->shape[0];
        t->cols = info->ndim == 2 ? info->shape[1] : 1;
        /* Vectors stay f32 as in llama.cpp's converter: they are tiny and ggml adds them in f32. */
        t->type = type == TP_GGUF_F16 && info->ndim == 2 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        t->bytes = (uint64_t)t->rows * (uint64_t)t->cols * (t->type == GGML_TYPE_F16 ? 2 : 4);
        t->offset = offset;
        offset += (t->bytes + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
    }
    return TP_OK;
}

/* Dimensions innermost first: a row-major [rows, cols] matrix is ggml's ne = {cols, rows}. */
static void put_tensor_info(gbuf *b, const gguf_tensor *t) {
    put_str(b, t->name, strlen(t->name));
    put_u32(b, (uint32_t)t->ndim);
    if (t->ndim == 2) put_u64(b, (uint64_t)t->cols);
    put_u64(b, (uint64_t)t->rows);
    put_u32(b, t->type);
    put_u64(b, t->offset);
}

/* RoPE pairs: Hugging Face's rotate_half rotates dimension i of a head with i + head_dim/2,
 * llama.cpp's "llama" architecture dimension 2i with 2i+1. Moving row j·head_dim/2 + i of each
 * head to row 2i + j makes the second compute the first (convert_hf_to_gguf.py's permute). */
static void interleave_rope_rows(const float *src, float *dst, int heads, int64_t head_dim, int64_t cols) {
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < heads; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++)
                memcpy(dst + (h * head_dim + 2 * i + j) * cols, src + (h * head_dim + j * half + i) * cols,
                       sizeof(float) * (size_t)cols);
}

/* Writes t's data in its file form; scratch holds the largest tensor. */
static tp_status write_tensor(tp_atomic_file *af, const tp_model_config *c, const gguf_tensor *t, void *scratch,
                              tp_err *err) {
    const float *src = t->data;
    size_t count = (size_t)(t->rows * t->cols);
    if (t->rope) {
        int64_t head_dim = c->dim / c->n_heads;
        interleave_rope_rows(src, scratch, (int)(t->rows / head_dim), head_dim, t->cols);
        src = scratch;
    }
    const void *bytes = src;
    if (t->type == GGML_TYPE_F16) {
        uint16_t *half = scratch; /* in place is safe: element i is read before it is overwritten */
        for (size_t i = 0; i < count; i++) half[i] = tp_f32_to_f16(src[i]);
        bytes = half;
    }
    static const uint8_t zeros[GGUF_ALIGN];
    tp_status st = tp_atomic_write(af, bytes, (size_t)t->bytes, err);
    if (!st) st = tp_atomic_write(af, zeros, (GGUF_ALIGN - t->bytes % GGUF_ALIGN) % GGUF_ALIGN, err);
    return st;
}

/* ---------------------------------------------------------------- the file */

/* Everything before the data section. */
static tp_status build_header(const tp_llama *m, const tp_tokenizer *tok, const tp_gguf_options *opt,
                              const gguf_tensor *tensors, int n_tensors, gbuf *head, tp_err *err) {
    tp_spelled_vocab vocab = {0};
    gbuf kvs = {.err = err};
    tp_status st = tp_spell_vocab(tok, &vocab, err);
    if (!st) {
        put_model_kvs(&kvs, &m->cfg, opt);
        put_tokenizer_kvs(&kvs, tok, &vocab);
        put(head, "GGUF", 4);
        put_u32(head, GGUF_VERSION);
        put_u64(head, (uint64_t)n_tensors);
        put_u64(head, kvs.count);
        put(head, kvs.p, kvs.n);
        for (int i = 0; i < n_tensors; i++) put_tensor_info(head, &tensors[i]);
        pad(head);
        st = kvs.st ? kvs.st : head->st;
    }
    tp_spelled_vocab_free(&vocab);
    free(kvs.p);
    return st;
}

tp_status tp_gguf_write(const char *path, const tp_llama *m, const tp_tokenizer *tok, const tp_gguf_options *opt,
                        tp_err *err) {
    if (tp_tokenizer_vocab_size(tok) != m->cfg.vocab_size)
        return tp_fail(err, TP_ERR_CONFIG, "the tokenizer has %d tokens, the model a vocabulary of %d",
                       tp_tokenizer_vocab_size(tok), m->cfg.vocab_size);
    int n = m->layout.n_tensors;
    gguf_tensor *tensors = tp_calloc((size_t)n, sizeof *tensors, err);
    if (!tensors) return err->code;
    gbuf head = {.err = err};
    void *scratch = NULL;
    tp_atomic_file af = {0};
    tp_status st = plan_tensors(m, opt->type, tensors, err);
    if (!st) st = build_header(m, tok, opt, tensors, n, &head, err);
    size_t largest = 1;
    for (int i = 0; i < n; i++)
        if ((size_t)(tensors[i].rows * tensors[i].cols) > largest) largest = (size_t)(tensors[i].rows * tensors[i].cols);
    if (!st && !(scratch = tp_malloc(largest * sizeof(float), err))) st = err->code;
    if (!st) st = tp_atomic_open(&af, path, err);
    if (!st) st = tp_atomic_write(&af, head.p, head.n, err);
    for (int i = 0; !st && i < n; i++) st = write_tensor(&af, &m->cfg, &tensors[i], scratch, err);
    if (!st) st = tp_atomic_commit(&af, err);
    else if (af.f) tp_atomic_abort(&af);
    free(tensors);
    free(head.p);
    free(scratch);
    return st;
}
