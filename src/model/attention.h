/* Causal grouped-query attention over a fused qkv buffer (rows: H query heads, KV key heads, KV value
 * heads, hd floats each; RoPE already applied). Work is split over (batch, kv head) so each task
 * owns the key/value gradients it accumulates; the OpenMP build of OpenBLAS runs
 * sgemm single-threaded inside them. */
#ifndef TP_MODEL_ATTENTION_H
#define TP_MODEL_ATTENTION_H

typedef struct {
    int b, t, n_heads, n_kv, hd;
} tp_attn_shape;

/* probs: [B, H, T, T] softmax weights (zero above the diagonal); out: [B·T, H·hd]. */
void tp_attention_fwd(float *out, float *probs, const float *qkv, tp_attn_shape s);
/* dqkv gets the gradients w.r.t. q, k, v (overwritten). scratch: nthreads·T·T floats. */
void tp_attention_bwd(float *dqkv, const float *dout, const float *probs, const float *qkv, tp_attn_shape s,
                      float *scratch);

#endif
