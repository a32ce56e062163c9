/* The codec's parameters and its in-memory message: for each tensor, k in-block positions per block
 * (ascending inside the block), one quantisation code per position, and the tensor's quantisation
 * parameters. A whole-model message (tp_update) keeps all positions and codes in one allocation. */
#ifndef TP_CODEC_SPARSE_H
#define TP_CODEC_SPARSE_H

#include <stdint.h>

#include "codec/chunking.h"
#include "core/error.h"
#include "model/layout.h"

#define TP_CODEC_MAX_BINS 16

typedef enum {
    TP_IDX_RICE = 0, /* compact default: Rice-coded gaps of the sorted in-block positions */
    TP_IDX_12BIT,    /* the reference's layout: two 12-bit positions in three bytes */
} tp_index_coding;

typedef struct {
    int target_chunk;             /* 64 */
    int topk;                     /* per block, 64 */
    int bins;                     /* quantisation bins, 2..16, default 4 */
    float range;                  /* quantisation range in standard deviations, default 6 */
    int use_dct;                  /* DeMo mode: orthonormal DCT-II per block; default 0 */
    tp_index_coding index_coding; /* default TP_IDX_RICE */
} tp_codec_params;

void tp_codec_params_default(tp_codec_params *p);
tp_status tp_codec_params_check(const tp_codec_params *p, tp_err *err);
const char *tp_index_coding_name(tp_index_coding c); /* "rice", "12bit" */
int tp_index_coding_parse(const char *s, tp_index_coding *out); /* 0 on success */

/* Entries kept per block (DESIGN §7.3): min(topk, totalk), at least 2, rounded down to even; a block
 * of one entry keeps that one. */
int64_t tp_codec_k(const tp_codec_params *p, int64_t totalk);
/* Bits per packed code on the wire: 2 for up to 4 bins, 4 for up to 16. */
int tp_codec_code_bits(int bins);

typedef struct {
    char name[64];
    tp_block_geom geom;
    int64_t k;          /* entries per block */
    uint16_t *idx;      /* nblocks * k in-block positions, block after block */
    uint8_t *codes;     /* nblocks * k codes, same order */
    float shift, scale; /* dequantised value = lookup[code] + shift */
    float lookup[TP_CODEC_MAX_BINS];
} tp_sparse;

typedef struct {
    tp_codec_params params;
    int n;
    tp_sparse *t;
    int64_t nnz; /* entries over all tensors */
    void *mem;
} tp_update;

/* Sizes a message for the given tensors (1-D or 2-D; names are copied) in one allocation. */
tp_status tp_update_init(tp_update *u, const tp_tensor_info *tensors, int n, const tp_codec_params *p, tp_err *err);
tp_status tp_update_init_layout(tp_update *u, const tp_layout *L, const tp_codec_params *p, tp_err *err);
void tp_update_free(tp_update *u);

/* Dequantised value table of a tensor: deq[b] = lookup[b] + shift, for b < bins. */
void tp_sparse_dequant_table(const tp_sparse *s, int bins, float *deq);

#endif
