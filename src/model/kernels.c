#include "model/kernels.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/sort.h"

void tp_linear_fwd(float *y, const float *x, const float *w, int n, int in, int out, int accumulate) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, accumulate ? 1.0f : 0.0f, y,
                out);
}

void tp_linear_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, int n, int in, int out,
                   int accumulate_dx) {
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in,
                    accumulate_dx ? 1.0f : 0.0f, dx, in);
    if (dw) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
}

void tp_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int n, int d, float eps) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = out + (size_t)r * d;
        float ss = 0.0f;
        for (int i = 0; i < d; i++) ss += xr[i] * xr[i];
        float s = 1.0f / sqrtf(ss / (float)d + eps);
        rstd[r] = s;
        for (int i = 0; i < d; i++) yr[i] = xr[i] * s * w[i];
    }
}

void tp_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *rstd, const float *w, int n,
                    int d, float *scratch) {
    int nth = omp_get_max_threads();
#pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        float *part = scratch + (size_t)tid * d;
        memset(part, 0, sizeof(float) * (size_t)d);
        int lo = (int)((int64_t)n * tid / nt), hi = (int)((int64_t)n * (tid + 1) / nt);
        for (int r = lo; r < hi; r++) {
            const float *xr = x + (size_t)r * d, *gr = dout + (size_t)r * d;
            float *dxr = dx + (size_t)r * d, s = rstd[r];
            float dot = 0.0f;
            for (int i = 0; i < d; i++) dot += gr[i] * w[i] * xr[i];
            float c = dot * s * s * s / (float)d;
            for (int i = 0; i < d; i++) {
                dxr[i] += gr[i] * w[i] * s - xr[i] * c;
                part[i] += gr[i] * xr[i] * s;
            }
        }
#pragma omp barrier
#pragma omp single
        for (int t = 0; t < nt; t++)
            for (int i = 0; i < d; i++) dw[i] += scratch[(size_t)t * d + i];
    }
}

void tp_rope_tables(float *cos_tab, float *sin_tab, int seq, int hd, float theta) {
    int half = hd / 2;
    for (int i = 0; i < half; i++) {
        /* float32 arithmetic as in HF: inv_freq = 1 / theta^(2i/hd), angle = pos · inv_freq. */
        float inv = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
        for (int p = 0; p < seq; p++) {
            float a = (float)p * inv;
            cos_tab[(size_t)p * half + i] = cosf(a);
            sin_tab[(size_t)p * half + i] = sinf(a);
        }
    }
}

void tp_rope(float *qkv, int n, int t, int stride, int n_heads, int n_kv, int hd, const float *cos_tab,
             const float *sin_tab, int inverse) {
    int half = hd / 2, heads = n_heads + n_kv;
    float sgn = inverse ? -1.0f : 1.0f;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        const float *c = cos_tab + (size_t)(r % t) * half, *s = sin_tab + (size_t)(r % t) * half;
        float *row = qkv + (size_t)r * stride;
        for (int h = 0; h < heads; h++) {
            float *x = row + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float x1 = x[i], x2 = x[i + half], si = sgn * s[i];
                x[i] = x1 * c[i] - x2 * si;
                x[i + half] = x2 * c[i] + x1 * si;
            }
        }
    }
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

void tp_swiglu_fwd(float *act, const float *gu, int n, int f) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        const float *g = gu + (size_t)r * 2 * f, *u = g + f;
        float *a = act + (size_t)r * f;
        for (int i = 0; i < f; i++) a[i] = g[i] * sigmoidf(g[i]) * u[i];
    }
}

void tp_swiglu_bwd(float *dgu, const float *dact, const float *gu, int n, int f) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        const float *g = gu + (size_t)r * 2 * f, *u = g + f, *da = dact + (size_t)r * f;
        float *dg = dgu + (size_t)r * 2 * f, *du = dg + f;
        for (int i = 0; i < f; i++) {
            float sg = sigmoidf(g[i]), silu = g[i] * sg;
            du[i] = da[i] * silu;
            dg[i] = da[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        }
    }
}

double tp_softmax_xent_fwd(float *logits, const int32_t *targets, int n, int v) {
    double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (int r = 0; r < n; r++) {
        float *row = logits + (size_t)r * v;
        float mx = row[0];
        for (int i = 1; i < v; i++) mx = row[i] > mx ? row[i] : mx;
        float target_logit = targets[r] >= 0 ? row[targets[r]] : 0.0f;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < v; i++) {
            float e = tp_expf(row[i] - mx);
            row[i] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
#pragma omp simd
        for (int i = 0; i < v; i++) row[i] *= inv;
        if (targets[r] >= 0) total += (double)(logf(sum) + mx - target_logit);
    }
    return total;
}

void tp_softmax_xent_bwd(float *probs, const int32_t *targets, int n, int v, float scale) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        float *row = probs + (size_t)r * v;
        if (targets[r] < 0) {
            memset(row, 0, sizeof(float) * (size_t)v);
            continue;
        }
#pragma omp simd
        for (int i = 0; i < v; i++) row[i] *= scale;
        row[targets[r]] -= scale;
    }
}

/* The unit of the peak measurement: one n³ sgemm (C = A·B, all three in a). n = 768 is of the size
 * of the training matmuls (the small config's ffn width), and large enough that OpenBLAS runs it on
 * every thread. */
enum { PEAK_N = 768 };

static void peak_sgemm(float *a) {
    const size_t nn = (size_t)PEAK_N * PEAK_N;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N, PEAK_N, 1.0f, a, PEAK_N, a + nn, PEAK_N,
                0.0f, a + 2 * nn, PEAK_N);
}

/* CPU seconds of every thread of this process. */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GFLOP/s of back-to-back sgemms for at least `seconds`: long enough that one trial is not a lucky
 * few milliseconds, short enough that several trials can still catch a quiet moment. */
static double peak_trial(float *a, double seconds) {
    double t0 = tp_now(), dt;
    int reps = 0;
    do {
        peak_sgemm(a);
        reps++;
    } while ((dt = tp_now() - t0) < seconds);
    return 2.0 * PEAK_N * PEAK_N * (double)PEAK_N * reps / dt / 1e9;
}

void tp_sgemm_peak_measure(tp_sgemm_peak *out) {
    memset(out, 0, sizeof *out);
    tp_err e;
    float *a = tp_calloc((size_t)3 * PEAK_N * PEAK_N, sizeof(float), &e);
    if (!a) return;
    for (size_t i = 0; i < (size_t)2 * PEAK_N * PEAK_N; i++) a[i] = (float)(i % 7) * 0.1f;
    peak_sgemm(a); /* warm-up: starts the thread pool and faults the pages in */
    double g[TP_SGEMM_PEAK_TRIALS], wall = tp_now(), cpu = cpu_seconds();
    for (int i = 0; i < TP_SGEMM_PEAK_TRIALS; i++) g[i] = peak_trial(a, 0.04);
    wall = tp_now() - wall;
    cpu = cpu_seconds() - cpu;
    free(a);
    out->median_gflops = tp_lower_median(g, TP_SGEMM_PEAK_TRIALS); /* sorts g */
    out->gflops = g[TP_SGEMM_PEAK_TRIALS - 1];
    out->trials = TP_SGEMM_PEAK_TRIALS;
    /* More threads than processors could never all run at once, busy machine or not. */
    int threads = omp_get_max_threads(), procs = omp_get_num_procs();
    out->cpu_share = cpu / wall / (threads < procs ? threads : procs);
}
