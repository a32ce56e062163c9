#include "model/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

static size_t add(tp_layout *L, size_t *cursor, const char *name, int64_t rows, int64_t cols) {
    tp_tensor_info *t = &L->tensors[L->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->count = (size_t)rows * (size_t)(cols ? cols : 1);
    t->offset = *cursor;
    *cursor += t->count;
    return t->offset;
}

tp_status tp_layout_init(const tp_model_config *c, tp_layout *L, tp_err *err) {
    memset(L, 0, sizeof *L);
    int max = 3 + 9 * c->n_layers;
    L->tensors = tp_calloc((size_t)max, sizeof *L->tensors, err);
    L->layers = tp_calloc((size_t)c->n_layers, sizeof *L->layers, err);
    if (!L->tensors || !L->layers) {
        tp_layout_free(L);
        return TP_ERR_NOMEM;
    }
    int64_t d = c->dim, kvd = (int64_t)c->n_kv_heads * (c->dim / c->n_heads), f = c->ffn_dim;
    size_t at = 0;
    char name[64];
    L->emb = add(L, &at, "model.embed_tokens.weight", c->vocab_size, d);
    for (int l = 0; l < c->n_layers; l++) {
        tp_layer_offsets *o = &L->layers[l];
#define LAYER(field, suffix, rows, cols)                               \
    snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix); \
    o->field = add(L, &at, name, rows, cols)
        LAYER(attn_norm, "input_layernorm.weight", d, 0);
        LAYER(wq, "self_attn.q_proj.weight", d, d);
        LAYER(wk, "self_attn.k_proj.weight", kvd, d);
        LAYER(wv, "self_attn.v_proj.weight", kvd, d);
        LAYER(wo, "self_attn.o_proj.weight", d, d);
        LAYER(ffn_norm, "post_attention_layernorm.weight", d, 0);
        LAYER(w1, "mlp.gate_proj.weight", f, d);
        LAYER(w3, "mlp.up_proj.weight", f, d);
        LAYER(w2, "mlp.down_proj.weight", d, f);
#undef LAYER
    }
    L->norm = add(L, &at, "model.norm.weight", d, 0);
    L->lm_head = c->tie_embeddings ? L->emb : add(L, &at, "lm_head.weight", c->vocab_size, d);
    L->total = at;
    return TP_OK;
}

void tp_layout_free(tp_layout *L) {
    free(L->tensors);
    free(L->layers);
    memset(L, 0, sizeof *L);
}

const tp_tensor_info *tp_layout_find(const tp_layout *L, const char *name) {
    for (int i = 0; i < L->n_tensors; i++)
        if (!strcmp(L->tensors[i].name, name)) return &L->tensors[i];
    return NULL;
}
