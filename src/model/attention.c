#include "model/attention.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>

#include "model/kernels.h"

void tp_attention_fwd(float *out, float *probs, const float *qkv, tp_attn_shape s) {
    int T = s.t, hd = s.hd, D = s.n_heads * hd, stride = D + 2 * s.n_kv * hd, group = s.n_heads / s.n_kv;
    float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for schedule(static) collapse(2)
    for (int b = 0; b < s.b; b++)
        for (int h = 0; h < s.n_heads; h++) {
            int kvh = h / group;
            const float *q = qkv + (size_t)b * T * stride + (size_t)h * hd;
            const float *k = qkv + (size_t)b * T * stride + D + (size_t)kvh * hd;
            const float *v = k + (size_t)s.n_kv * hd;
            float *p = probs + ((size_t)b * s.n_heads + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, q, stride, k, stride, 0.0f, p, T);
            for (int i = 0; i < T; i++) {
                float *row = p + (size_t)i * T, mx = row[0], sum = 0.0f;
                for (int j = 1; j <= i; j++) mx = row[j] > mx ? row[j] : mx;
                for (int j = 0; j <= i; j++) {
                    row[j] = tp_expf(row[j] - mx);
                    sum += row[j];
                }
                float inv = 1.0f / sum;
                for (int j = 0; j <= i; j++) row[j] *= inv;
                for (int j = i + 1; j < T; j++) row[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, v, stride, 0.0f,
                        out + (size_t)b * T * D + (size_t)h * hd, D);
        }
}

void tp_attention_bwd(float *dqkv, const float *dout, const float *probs, const float *qkv, tp_attn_shape s,
                      float *scratch) {
    int T = s.t, hd = s.hd, D = s.n_heads * hd, stride = D + 2 * s.n_kv * hd, group = s.n_heads / s.n_kv;
    float scale = 1.0f / sqrtf((float)hd);
#pragma omp parallel for schedule(static) collapse(2)
    for (int b = 0; b < s.b; b++)
        for (int kvh = 0; kvh < s.n_kv; kvh++) {
            float *dp = scratch + (size_t)omp_get_thread_num() * T * T;
            size_t base = (size_t)b * T * stride;
            const float *k = qkv + base + D + (size_t)kvh * hd, *v = k + (size_t)s.n_kv * hd;
            float *dk = dqkv + base + D + (size_t)kvh * hd, *dv = dk + (size_t)s.n_kv * hd;
            for (int g = 0; g < group; g++) {
                int h = kvh * group + g;
                float beta = g ? 1.0f : 0.0f;
                const float *p = probs + ((size_t)b * s.n_heads + h) * T * T;
                const float *q = qkv + base + (size_t)h * hd;
                const float *dO = dout + (size_t)b * T * D + (size_t)h * hd;
                float *dq = dqkv + base + (size_t)h * hd;
                /* dV += Pᵀ·dO; dP = dO·Vᵀ */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, dO, D, beta, dv, stride);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dO, D, v, stride, 0.0f, dp, T);
                /* dS = P ⊙ (dP − rowsum(P ⊙ dP)), times the score scale. */
                for (int i = 0; i < T; i++) {
                    const float *pr = p + (size_t)i * T;
                    float *dr = dp + (size_t)i * T, dot = 0.0f;
                    for (int j = 0; j <= i; j++) dot += pr[j] * dr[j];
                    for (int j = 0; j <= i; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
                    for (int j = i + 1; j < T; j++) dr[j] = 0.0f;
                }
                /* dQ = dS·K; dK += dSᵀ·Q */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, dp, T, k, stride, 0.0f, dq,
                            stride);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, dp, T, q, stride, beta, dk,
                            stride);
            }
        }
}
