/* Where every parameter lives inside one flat float buffer, under its Hugging Face name. The same
 * layout serves parameters, gradients and optimizer moments. Within a layer q,k,v are adjacent (one
 * fused [D + 2·KVd, D] matrix) and so are gate,up ([2F, D]), so the forward pass can use one sgemm
 * for each group while the checkpoint still names them separately. */
#ifndef TP_MODEL_LAYOUT_H
#define TP_MODEL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/config.h"

typedef struct {
    char name[64];
    int ndim;
    int64_t shape[2];
    size_t offset; /* in floats */
    size_t count;
} tp_tensor_info;

typedef struct {
    size_t attn_norm, wq, wk, wv, wo, ffn_norm, w1, w3, w2; /* float offsets; w1 = gate, w3 = up */
} tp_layer_offsets;

typedef struct {
    int n_tensors;
    tp_tensor_info *tensors;   /* HF order, one per checkpoint tensor */
    tp_layer_offsets *layers;
    size_t emb, norm, lm_head; /* lm_head == emb when tied */
    size_t total;              /* floats */
} tp_layout;

tp_status tp_layout_init(const tp_model_config *cfg, tp_layout *L, tp_err *err);
void tp_layout_free(tp_layout *L);
const tp_tensor_info *tp_layout_find(const tp_layout *L, const char *name);

#endif
