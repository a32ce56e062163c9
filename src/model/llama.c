#include "model/llama.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "model/attention.h"
#include "model/kernels.h"

/* Pointers into one activation allocation. Per layer l: x[l] is the residual stream entering the
 * layer (x[L] leaves the last one); the rest is what backward needs. */
typedef struct {
    float *x, *rstd1, *h1, *qkv, *probs, *att, *xmid, *rstd2, *h2, *gu, *act;
} layer_acts;

struct tp_llama_acts {
    float *mem;
    layer_acts *layer;
    float *x_final, *rstd_f, *h_f, *logits;
    int32_t *tokens, *targets;
    float *rope_cos, *rope_sin;
    /* backward scratch */
    float *dx, *dh, *dtmp, *dtmp2, *attn_scratch, *norm_scratch;
    int b, t;
    int64_t n_targets;
};

static int qkv_width(const tp_model_config *c) { return c->dim + 2 * c->n_kv_heads * (c->dim / c->n_heads); }

tp_status tp_llama_create(const tp_model_config *cfg, int max_b, int max_t, int with_grads, tp_llama **out,
                          tp_err *err) {
    *out = NULL;
    tp_status st = tp_model_config_validate(cfg, err);
    if (st) return st;
    if (max_b <= 0 || max_t <= 1 || max_t > cfg->seq_len)
        return tp_fail(err, TP_ERR_CONFIG, "batch %d x sequence %d does not fit the model (seq_len %d)", max_b, max_t,
                       cfg->seq_len);
    tp_llama *m = tp_calloc(1, sizeof *m, err);
    if (!m) return TP_ERR_NOMEM;
    m->cfg = *cfg;
    m->max_b = max_b;
    m->max_t = max_t;
    m->nthreads = omp_get_max_threads();
    if ((st = tp_layout_init(cfg, &m->layout, err))) goto fail;
    st = TP_ERR_NOMEM;
    if (!(m->params = tp_alloc_aligned(m->layout.total * sizeof(float), err))) goto fail;
    if (with_grads && !(m->grads = tp_alloc_aligned(m->layout.total * sizeof(float), err))) goto fail;

    tp_llama_acts *a = m->acts = tp_calloc(1, sizeof *a, err);
    if (!a || !(a->layer = tp_calloc((size_t)cfg->n_layers + 1, sizeof *a->layer, err))) goto fail;
    size_t N = (size_t)max_b * max_t, D = cfg->dim, F = cfg->ffn_dim, V = cfg->vocab_size, Q = qkv_width(cfg);
    size_t H = cfg->n_heads, T = max_t, half = D / H / 2, L = cfg->n_layers, nth = (size_t)m->nthreads;
    size_t per_layer = N * D /*x*/ + N /*rstd1*/ + N * D /*h1*/ + N * Q + max_b * H * T * T + N * D /*att*/ +
                       N * D /*xmid*/ + N + N * D /*h2*/ + N * 2 * F + N * F;
    size_t widest = Q > 2 * F ? Q : 2 * F;
    size_t total = L * per_layer + N * D /*x_final*/ + N + N * D + N * V + 2 * T * half + N * D /*dx*/ + N * widest +
                   N * (D > F ? D : F) + N * D + nth * T * T + nth * (D > F ? D : F) + 2 * N /*tokens, targets*/;
    if (!(a->mem = tp_alloc_aligned(total * sizeof(float), err))) goto fail;
    float *p = a->mem;
#define TAKE(ptr, n) (ptr = p, p += (n))
    for (size_t l = 0; l < L; l++) {
        layer_acts *la = &a->layer[l];
        TAKE(la->x, N * D);
        TAKE(la->rstd1, N);
        TAKE(la->h1, N * D);
        TAKE(la->qkv, N * Q);
        TAKE(la->probs, (size_t)max_b * H * T * T);
        TAKE(la->att, N * D);
        TAKE(la->xmid, N * D);
        TAKE(la->rstd2, N);
        TAKE(la->h2, N * D);
        TAKE(la->gu, N * 2 * F);
        TAKE(la->act, N * F);
    }
    TAKE(a->x_final, N * D);
    a->layer[L].x = a->x_final;
    TAKE(a->rstd_f, N);
    TAKE(a->h_f, N * D);
    TAKE(a->logits, N * V);
    TAKE(a->rope_cos, T * half);
    TAKE(a->rope_sin, T * half);
    TAKE(a->dx, N * D);
    TAKE(a->dh, N * widest);
    TAKE(a->dtmp, N * (D > F ? D : F));
    TAKE(a->dtmp2, N * D);
    TAKE(a->attn_scratch, nth * T * T);
    TAKE(a->norm_scratch, nth * (D > F ? D : F));
    a->tokens = (int32_t *)p;
    a->targets = (int32_t *)p + N;
#undef TAKE
    tp_rope_tables(a->rope_cos, a->rope_sin, max_t, (int)(D / H), cfg->rope_theta);
    *out = m;
    return TP_OK;
fail:
    tp_llama_free(m);
    return st ? st : TP_ERR_NOMEM;
}

void tp_llama_free(tp_llama *m) {
    if (!m) return;
    if (m->acts) {
        free(m->acts->mem);
        free(m->acts->layer);
        free(m->acts);
    }
    free(m->params);
    free(m->grads);
    tp_layout_free(&m->layout);
    free(m);
}

void tp_llama_init_random(tp_llama *m, uint64_t seed, float std) {
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    float out_std = std / sqrtf(2.0f * (float)m->cfg.n_layers);
    for (int i = 0; i < m->layout.n_tensors; i++) {
        const tp_tensor_info *t = &m->layout.tensors[i];
        float *w = m->params + t->offset;
        if (t->ndim == 1) {
            for (size_t j = 0; j < t->count; j++) w[j] = 1.0f;
            continue;
        }
        int is_out = strstr(t->name, "o_proj") || strstr(t->name, "down_proj");
        float s = is_out ? out_std : std;
        for (size_t j = 0; j < t->count; j++) w[j] = s * tp_rng_normal(&rng);
    }
}

/* Runs the network up to the final norm's output h_f for tokens already in acts->tokens. */
static void forward_trunk(tp_llama *m, int b, int t) {
    const tp_model_config *c = &m->cfg;
    tp_llama_acts *a = m->acts;
    int N = b * t, D = c->dim, F = c->ffn_dim, Q = qkv_width(c), hd = D / c->n_heads;
    const float *P = m->params;
    const tp_layout *L = &m->layout;
    const float *emb = P + L->emb;
    float *x0 = a->layer[0].x;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) memcpy(x0 + (size_t)n * D, emb + (size_t)a->tokens[n] * D, sizeof(float) * D);
    tp_attn_shape shape = {b, t, c->n_heads, c->n_kv_heads, hd};
    for (int l = 0; l < c->n_layers; l++) {
        layer_acts *la = &a->layer[l];
        const tp_layer_offsets *o = &L->layers[l];
        tp_rmsnorm_fwd(la->h1, la->rstd1, la->x, P + o->attn_norm, N, D, c->norm_eps);
        tp_linear_fwd(la->qkv, la->h1, P + o->wq, N, D, Q, 0); /* wq, wk, wv are adjacent */
        tp_rope(la->qkv, N, t, Q, c->n_heads, c->n_kv_heads, hd, a->rope_cos, a->rope_sin, 0);
        tp_attention_fwd(la->att, la->probs, la->qkv, shape);
        memcpy(la->xmid, la->x, sizeof(float) * (size_t)N * D);
        tp_linear_fwd(la->xmid, la->att, P + o->wo, N, D, D, 1);
        tp_rmsnorm_fwd(la->h2, la->rstd2, la->xmid, P + o->ffn_norm, N, D, c->norm_eps);
        tp_linear_fwd(la->gu, la->h2, P + o->w1, N, D, 2 * F, 0); /* gate and up are adjacent */
        tp_swiglu_fwd(la->act, la->gu, N, F);
        float *next = a->layer[l + 1].x;
        memcpy(next, la->xmid, sizeof(float) * (size_t)N * D);
        tp_linear_fwd(next, la->act, P + o->w2, N, F, D, 1);
    }
    tp_rmsnorm_fwd(a->h_f, a->rstd_f, a->x_final, P + L->norm, N, D, c->norm_eps);
}

static tp_status load_tokens(tp_llama *m, const int32_t *tokens, int b, int t, tp_err *err) {
    if (b <= 0 || t <= 0 || b > m->max_b || t > m->max_t)
        return tp_fail(err, TP_ERR_ARG, "batch %d x %d exceeds the model's capacity %d x %d", b, t, m->max_b, m->max_t);
    int V = m->cfg.vocab_size;
    for (int i = 0; i < b * t; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return tp_fail(err, TP_ERR_ARG, "token %d at position %d is outside the vocabulary (size %d)", tokens[i],
                           i, V);
        m->acts->tokens[i] = tokens[i];
    }
    m->acts->b = b;
    m->acts->t = t;
    return TP_OK;
}

tp_status tp_llama_forward(tp_llama *m, const int32_t *tokens, int b, int t, int ignore_token, float *loss,
                           tp_err *err) {
    tp_status st = load_tokens(m, tokens, b, t, err);
    if (st) return st;
    tp_llama_acts *a = m->acts;
    int N = b * t, V = m->cfg.vocab_size;
    int64_t count = 0;
    for (int i = 0; i < N; i++) {
        int pos = i % t;
        int32_t tgt = pos + 1 < t ? tokens[i + 1] : -1;
        if (tgt == ignore_token) tgt = -1;
        a->targets[i] = tgt;
        count += tgt >= 0;
    }
    a->n_targets = count;
    forward_trunk(m, b, t);
    tp_linear_fwd(a->logits, a->h_f, m->params + m->layout.lm_head, N, m->cfg.dim, V, 0);
    double total = tp_softmax_xent_fwd(a->logits, a->targets, N, V);
    *loss = count ? (float)(total / (double)count) : 0.0f;
    return TP_OK;
}

tp_status tp_llama_logits(tp_llama *m, const int32_t *tokens, int b, int t, const float **logits, tp_err *err) {
    tp_status st = load_tokens(m, tokens, b, t, err);
    if (st) return st;
    forward_trunk(m, b, t);
    tp_linear_fwd(m->acts->logits, m->acts->h_f, m->params + m->layout.lm_head, b * t, m->cfg.dim,
                  m->cfg.vocab_size, 0);
    *logits = m->acts->logits;
    return TP_OK;
}

int64_t tp_llama_last_target_count(const tp_llama *m) { return m->acts->n_targets; }

void tp_llama_last_row_losses(const tp_llama *m, double *sum, int64_t *count) {
    const tp_llama_acts *a = m->acts;
    int V = m->cfg.vocab_size;
    for (int r = 0; r < a->b; r++) {
        sum[r] = 0;
        count[r] = 0;
        for (int p = 0; p < a->t; p++) {
            int i = r * a->t + p;
            if (a->targets[i] < 0) continue;
            /* The probability may round to 0 in float: a huge but finite loss, as in the forward. */
            float prob = a->logits[(size_t)i * V + a->targets[i]];
            sum[r] -= log(prob > 1e-30f ? (double)prob : 1e-30);
            count[r]++;
        }
    }
}

void tp_llama_backward(tp_llama *m) {
    const tp_model_config *c = &m->cfg;
    tp_llama_acts *a = m->acts;
    const tp_layout *L = &m->layout;
    int b = a->b, t = a->t, N = b * t, D = c->dim, F = c->ffn_dim, V = c->vocab_size, Q = qkv_width(c);
    int hd = D / c->n_heads;
    const float *P = m->params;
    float *G = m->grads;
    memset(G, 0, sizeof(float) * L->total);
    float scale = a->n_targets ? 1.0f / (float)a->n_targets : 0.0f;

    tp_softmax_xent_bwd(a->logits, a->targets, N, V, scale);
    tp_linear_bwd(a->dh, G + L->lm_head, a->logits, a->h_f, P + L->lm_head, N, D, V, 0);
    memset(a->dx, 0, sizeof(float) * (size_t)N * D);
    tp_rmsnorm_bwd(a->dx, G + L->norm, a->dh, a->x_final, a->rstd_f, P + L->norm, N, D, a->norm_scratch);

    tp_attn_shape shape = {b, t, c->n_heads, c->n_kv_heads, hd};
    for (int l = c->n_layers - 1; l >= 0; l--) {
        layer_acts *la = &a->layer[l];
        const tp_layer_offsets *o = &L->layers[l];
        /* x[l+1] = xmid + act·W2ᵀ */
        tp_linear_bwd(a->dtmp, G + o->w2, a->dx, la->act, P + o->w2, N, F, D, 0);
        tp_swiglu_bwd(a->dh, a->dtmp, la->gu, N, F);
        tp_linear_bwd(a->dtmp2, G + o->w1, a->dh, la->h2, P + o->w1, N, D, 2 * F, 0);
        tp_rmsnorm_bwd(a->dx, G + o->ffn_norm, a->dtmp2, la->xmid, la->rstd2, P + o->ffn_norm, N, D, a->norm_scratch);
        /* xmid = x[l] + att·Woᵀ */
        tp_linear_bwd(a->dtmp, G + o->wo, a->dx, la->att, P + o->wo, N, D, D, 0);
        tp_attention_bwd(a->dh, a->dtmp, la->probs, la->qkv, shape, a->attn_scratch);
        tp_rope(a->dh, N, t, Q, c->n_heads, c->n_kv_heads, hd, a->rope_cos, a->rope_sin, 1);
        tp_linear_bwd(a->dtmp2, G + o->wq, a->dh, la->h1, P + o->wq, N, D, Q, 0);
        tp_rmsnorm_bwd(a->dx, G + o->attn_norm, a->dtmp2, la->x, la->rstd1, P + o->attn_norm, N, D, a->norm_scratch);
    }
    float *gemb = G + L->emb;
    for (int n = 0; n < N; n++) {
        float *row = gemb + (size_t)a->tokens[n] * D;
        const float *d = a->dx + (size_t)n * D;
        for (int i = 0; i < D; i++) row[i] += d[i];
    }
}

double tp_llama_step_flops(const tp_model_config *c, int b, int t) {
    double n = (double)tp_model_param_count(c);
    if (c->tie_embeddings) n += (double)c->vocab_size * c->dim; /* the output projection is a matmul too */
    n -= (double)c->vocab_size * c->dim;                        /* the embedding lookup is not */
    double tokens = (double)b * t;
    /* 6 FLOPs per weight per token, plus QKᵀ and PV (2·2·t·d per token and layer, ×3 for fwd+bwd). */
    return 6.0 * n * tokens + 12.0 * c->n_layers * tokens * t * c->dim;
}
