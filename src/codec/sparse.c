#include "codec/sparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

void tp_codec_params_default(tp_codec_params *p) {
    *p = (tp_codec_params){.target_chunk = 64, .topk = 64, .bins = 4, .range = 6.0f, .use_dct = 0,
                           .index_coding = TP_IDX_RICE};
}

tp_status tp_codec_params_check(const tp_codec_params *p, tp_err *err) {
    if (p->target_chunk < 1 || p->target_chunk > TP_CHUNK_MAX)
        return tp_fail(err, TP_ERR_CONFIG, "codec: chunk %d is outside [1, %d]", p->target_chunk, TP_CHUNK_MAX);
    if (p->topk < 1 || p->topk > TP_CHUNK_MAX * TP_CHUNK_MAX)
        return tp_fail(err, TP_ERR_CONFIG, "codec: topk %d is outside [1, %d]", p->topk, TP_CHUNK_MAX * TP_CHUNK_MAX);
    if (p->bins < 2 || p->bins > TP_CODEC_MAX_BINS)
        return tp_fail(err, TP_ERR_CONFIG, "codec: bins %d is outside [2, %d]", p->bins, TP_CODEC_MAX_BINS);
    if (!(p->range > 0 && p->range <= 1000))
        return tp_fail(err, TP_ERR_CONFIG, "codec: range %g is outside (0, 1000]", (double)p->range);
    if (p->use_dct != 0 && p->use_dct != 1) return tp_fail(err, TP_ERR_CONFIG, "codec: use_dct must be 0 or 1");
    if (p->index_coding != TP_IDX_RICE && p->index_coding != TP_IDX_12BIT)
        return tp_fail(err, TP_ERR_CONFIG, "codec: unknown index coding %d", (int)p->index_coding);
    /* 12-bit positions address at most 4096 entries per block. */
    if (p->index_coding == TP_IDX_12BIT && p->target_chunk > 64)
        return tp_fail(err, TP_ERR_CONFIG, "codec: index coding 12bit needs chunk <= 64, not %d", p->target_chunk);
    return TP_OK;
}

const char *tp_index_coding_name(tp_index_coding c) {
    switch (c) {
    case TP_IDX_RICE: return "rice";
    case TP_IDX_12BIT: return "12bit";
    }
    return "?";
}

int tp_index_coding_parse(const char *s, tp_index_coding *out) {
    if (!strcmp(s, "rice")) *out = TP_IDX_RICE;
    else if (!strcmp(s, "12bit")) *out = TP_IDX_12BIT;
    else return -1;
    return 0;
}

int64_t tp_codec_k(const tp_codec_params *p, int64_t totalk) {
    int64_t k = p->topk < totalk ? p->topk : totalk;
    if (k < 2) k = 2;
    k -= k % 2;
    return k < totalk ? k : totalk;
}

int tp_codec_code_bits(int bins) { return bins <= 4 ? 2 : 4; }

tp_status tp_update_init(tp_update *u, const tp_tensor_info *tensors, int n, const tp_codec_params *p, tp_err *err) {
    memset(u, 0, sizeof *u);
    tp_status st = tp_codec_params_check(p, err);
    if (st) return st;
    if (n < 0) return tp_fail(err, TP_ERR_ARG, "codec: negative tensor count");
    u->params = *p;
    u->t = tp_calloc(n ? (size_t)n : 1, sizeof *u->t, err);
    if (!u->t) return TP_ERR_NOMEM;
    u->n = n;
    int64_t nnz = 0;
    for (int i = 0; i < n; i++) {
        tp_sparse *s = &u->t[i];
        snprintf(s->name, sizeof s->name, "%s", tensors[i].name);
        if ((st = tp_block_geom_init(tensors[i].ndim, tensors[i].shape, p->target_chunk, &s->geom, err))) {
            tp_update_free(u);
            return tp_wrap(err, "tensor '%s'", tensors[i].name);
        }
        s->k = tp_codec_k(p, s->geom.totalk);
        s->scale = 1.0f;
        nnz += s->geom.nblocks * s->k;
    }
    u->nnz = nnz;
    /* Positions first (2-byte aligned), then codes. */
    u->mem = tp_malloc((size_t)nnz * 3 + 1, err);
    if (!u->mem) {
        tp_update_free(u);
        return TP_ERR_NOMEM;
    }
    uint16_t *idx = u->mem;
    uint8_t *codes = (uint8_t *)(idx + nnz);
    for (int i = 0; i < n; i++) {
        tp_sparse *s = &u->t[i];
        s->idx = idx;
        s->codes = codes;
        idx += s->geom.nblocks * s->k;
        codes += s->geom.nblocks * s->k;
    }
    return TP_OK;
}

tp_status tp_update_init_layout(tp_update *u, const tp_layout *L, const tp_codec_params *p, tp_err *err) {
    return tp_update_init(u, L->tensors, L->n_tensors, p, err);
}

void tp_update_free(tp_update *u) {
    if (!u) return;
    free(u->t);
    free(u->mem);
    memset(u, 0, sizeof *u);
}

void tp_sparse_dequant_table(const tp_sparse *s, int bins, float *deq) {
    for (int b = 0; b < bins; b++) deq[b] = s->lookup[b] + s->shift;
}
