/* SparseLoCo compression (DESIGN §7.1-7.5): per-block top-k by magnitude, per-tensor quantisation,
 * the miner's error-feedback step, and dense decompression. Tensors are row-major float buffers of
 * the shape in the tp_sparse's geometry; whole-model calls walk a tp_layout over one flat buffer.
 * Blocks run in parallel on the workspace's threads; results do not depend on the thread count. */
#ifndef TP_CODEC_COMPRESS_H
#define TP_CODEC_COMPRESS_H

#include "codec/sparse.h"
#include "codec/workspace.h"
#include "core/error.h"
#include "model/layout.h"

/* s = compress(x). x must be finite (TP_ERR_NUMERIC otherwise). */
tp_status tp_compress_tensor(const float *x, const tp_codec_params *p, tp_codec_ws *ws, tp_sparse *s, tp_err *err);

/* Error feedback (DESIGN §7.5): e <- beta*e + lambda*delta (delta NULL: zero), s = compress(e),
 * e <- e - decompress(s). Only the k transmitted entries per block change in the last step (all
 * entries in DeMo mode). */
tp_status tp_ef_compress_tensor(float *e, const float *delta, float beta, float lambda, const tp_codec_params *p,
                                tp_codec_ws *ws, tp_sparse *s, tp_err *err);

/* out = decompress(s): the dequantised values at their positions, 0 elsewhere (inverse DCT applied
 * in DeMo mode). s must be well formed (as produced here or accepted by the validator). */
tp_status tp_decompress_tensor(const tp_sparse *s, const tp_codec_params *p, tp_codec_ws *ws, float *out,
                               tp_err *err);

/* The same over every tensor of a layout; e, delta and out are flat buffers of L->total floats and
 * u was sized by tp_update_init_layout for L. Large tensors run one at a time on all threads, the
 * others one per thread (see tp_codec_schedule). On TP_ERR_NUMERIC (a non-finite value) u is
 * incomplete and, for the error-feedback call, e has been partly updated. */
tp_status tp_ef_compress_model(float *e, const float *delta, float beta, float lambda, const tp_layout *L,
                               tp_codec_ws *ws, tp_update *u, tp_err *err);
tp_status tp_compress_model(const float *x, const tp_layout *L, tp_codec_ws *ws, tp_update *u, tp_err *err);
tp_status tp_decompress_model(const tp_update *u, const tp_layout *L, tp_codec_ws *ws, float *out, tp_err *err);

/* Row of an in-block position without a division: exact for pos, bc <= 65536. */
static inline int64_t tp_pos_row(uint32_t pos, uint64_t inv_bc) { return (int64_t)(((uint64_t)pos * inv_bc) >> 32); }
static inline uint64_t tp_pos_inv(int64_t bc) { return ((uint64_t)1 << 32) / (uint64_t)bc + 1; }

#endif
