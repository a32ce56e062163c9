/* The elementwise and row kernels of the LLaMA forward and backward passes (OpenMP), and thin
 * wrappers over OpenBLAS sgemm for the linear layers. Shapes follow HF: W is [out, in], y = x·Wᵀ.
 * Reductions split rows into fixed per-thread ranges and combine them in thread order, so results
 * are bit-identical from run to run at a given thread count. */
#ifndef TP_MODEL_KERNELS_H
#define TP_MODEL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* y[n,out] = x[n,in]·Wᵀ (+ y if accumulate). */
void tp_linear_fwd(float *y, const float *x, const float *w, int n, int in, int out, int accumulate);
/* dx[n,in] = dy·W (+ dx if accumulate); dw[out,in] += dyᵀ·x. Either output may be NULL. */
void tp_linear_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, int n, int in, int out,
                   int accumulate_dx);

void tp_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int n, int d, float eps);
/* dx += ∂/∂x; dw += ∂/∂w. scratch holds nthreads·d floats. */
void tp_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *rstd, const float *w, int n,
                    int d, float *scratch);

/* HF rotate_half RoPE on the q and k heads of a fused qkv buffer (rows of `stride` floats: n_heads
 * query heads then n_kv key heads of hd each). Row r is position r % t. inverse applies the transpose. */
void tp_rope(float *qkv, int n, int t, int stride, int n_heads, int n_kv, int hd, const float *cos_tab,
             const float *sin_tab, int inverse);
void tp_rope_tables(float *cos_tab, float *sin_tab, int seq, int hd, float theta);

/* act = silu(g)·u where gu rows are [g(f) | u(f)]. */
void tp_swiglu_fwd(float *act, const float *gu, int n, int f);
void tp_swiglu_bwd(float *dgu, const float *dact, const float *gu, int n, int f);

/* Softmax cross-entropy over rows of logits (turned into probabilities in place). Rows whose target
 * is negative are ignored. Returns the summed loss (nats) of the valid rows. */
double tp_softmax_xent_fwd(float *logits, const int32_t *targets, int n, int v);
/* probs → dlogits in place: (p − onehot)·scale on valid rows, 0 on ignored rows. */
void tp_softmax_xent_bwd(float *probs, const int32_t *targets, int n, int v, float scale);

/* exp for x ≤ 0 with ~1 ulp error that the compiler can vectorise (glibc's expf cannot be). A NaN
 * input gives NaN, so a broken model still reports a non-finite loss. */
static inline float tp_expf(float x) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723e-6f;
    const float shifter = 12582912.0f; /* 1.5·2^23: adding it rounds to an integer, ties to even */
    float xc = x < -87.3f ? -87.3f : x; /* keeps 2^k a normal number */
    union {
        float f;
        uint32_t u;
    } kf = {.f = xc * log2e + shifter}, scale;
    float k = kf.f - shifter;
    float r = xc - k * ln2_hi;
    r = r - k * ln2_lo;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* The integer k sits in the low mantissa bits of kf; build 2^k from it without a conversion. */
    scale.u = (kf.u - 0x4b400000u + 127u) << 23;
    return x < -87.3f ? 0.0f : p * scale.f;
}

/* Measured sgemm throughput of this machine with the current thread settings: the denominator of
 * MFU. Other processes on our cores make every figure low, so the peak is the best of several
 * trials, and the spread of the trials and the CPU time our threads got say whether the machine
 * was busy while it was measured. */
typedef struct {
    double gflops;        /* best trial (GFLOP/s): the peak */
    double median_gflops; /* median trial: well below the best when other work came and went */
    double cpu_share;     /* CPU time our threads got / (wall time × min(threads, processors)):
                             below 1 when other processes ran on our cores */
    int trials;
} tp_sgemm_peak;

/* Fills *out from TP_SGEMM_PEAK_TRIALS trials of ~40 ms each (~0.2 s in all). */
enum { TP_SGEMM_PEAK_TRIALS = 5 };
void tp_sgemm_peak_measure(tp_sgemm_peak *out);

#endif
