#include "codec/aggregate.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress.h"

static tp_status check_peers(const tp_sparse *const *peers, int P, tp_err *err) {
    if (P < 1 || P > TP_AGG_MAX_PEERS)
        return tp_fail(err, TP_ERR_ARG, "aggregate: %d peers, expected 1 to %d", P, TP_AGG_MAX_PEERS);
    const tp_sparse *a = peers[0];
    for (int i = 1; i < P; i++) {
        const tp_sparse *b = peers[i];
        if (b->k != a->k || b->geom.rows != a->geom.rows || b->geom.cols != a->geom.cols || b->geom.br != a->geom.br ||
            b->geom.bc != a->geom.bc)
            return tp_fail(err, TP_ERR_ARG, "aggregate: peer %d's '%s' differs in shape or k from peer 0's", i,
                           b->name);
    }
    return TP_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

tp_status tp_aggregate_clip(const tp_sparse *const *peers, int P, int bins, float *clip, int *nonfinite,
                            tp_err *err) {
    tp_status st = check_peers(peers, P, err);
    if (st) return st;
    double norm[TP_AGG_MAX_PEERS], sorted[TP_AGG_MAX_PEERS];
    int bad = 0;
    int64_t n = peers[0]->geom.nblocks * peers[0]->k;
    /* The norm depends only on how often each code occurs, so a histogram of the codes replaces a
     * pass over dequantised values. */
#pragma omp parallel for schedule(dynamic, 1) if (n * P > 65536) reduction(| : bad)
    for (int i = 0; i < P; i++) {
        const uint8_t *c = peers[i]->codes;
        int64_t h[4][TP_CODEC_MAX_BINS];
        memset(h, 0, sizeof h);
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            h[0][c[j] & 15]++;
            h[1][c[j + 1] & 15]++;
            h[2][c[j + 2] & 15]++;
            h[3][c[j + 3] & 15]++;
        }
        for (; j < n; j++) h[0][c[j] & 15]++;
        float deq[TP_CODEC_MAX_BINS];
        tp_sparse_dequant_table(peers[i], bins, deq);
        double ss = 0;
        for (int b = 0; b < TP_CODEC_MAX_BINS; b++) {
            int64_t cnt = h[0][b] + h[1][b] + h[2][b] + h[3][b];
            if (!cnt) continue;
            if (b >= bins || !isfinite(deq[b])) {
                bad = 1;
                continue;
            }
            ss += (double)cnt * ((double)deq[b] * deq[b]);
        }
        norm[i] = sqrt(ss);
    }
    memcpy(sorted, norm, sizeof(double) * (size_t)P);
    qsort(sorted, (size_t)P, sizeof *sorted, cmp_double);
    double m = sorted[(P - 1) / 2]; /* lower median */
    for (int i = 0; i < P; i++) {
        double f = m / (norm[i] + 1e-8);
        clip[i] = (float)(f < 1 ? f : 1);
    }
    *nonfinite = bad;
    return TP_OK;
}

/* What to do with each aggregated coordinate. */
typedef struct {
    float *agg;   /* dense aggregate output, or NULL */
    float *theta; /* outer step target, or NULL */
    float lr;
} sink;

static tp_status aggregate(const tp_sparse *const *peers, int P, const tp_codec_params *p, tp_codec_ws *ws,
                           const sink *out, int *nonfinite, tp_err *err) {
    tp_status st = check_peers(peers, P, err);
    if (st) return st;
    const tp_block_geom *g = &peers[0]->geom;
    const int64_t k = peers[0]->k, nb = g->nblocks, totalk = g->totalk;
    if ((st = tp_codec_ws_reserve(ws, totalk, 1, p->bins, err))) return st;
    const tp_dct_plan *plan = NULL;
    if (p->use_dct && (st = tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, err))) return st;

    float clip[TP_AGG_MAX_PEERS];
    int bad = 0;
    if ((st = tp_aggregate_clip(peers, P, p->bins, clip, &bad, err))) return st;
    if (bad) {
        *nonfinite = 1;
        if (out->theta) return TP_OK; /* left unchanged */
    }
    /* Clipped value tables, one per peer: v * clip rounded once, as the reference does. */
    float tab[TP_AGG_MAX_PEERS][TP_CODEC_MAX_BINS];
    for (int i = 0; i < P; i++) {
        float deq[TP_CODEC_MAX_BINS];
        tp_sparse_dequant_table(peers[i], p->bins, deq);
        for (int b = 0; b < TP_CODEC_MAX_BINS; b++) tab[i][b] = b < p->bins ? deq[b] * clip[i] : 0.0f;
    }
    const float lr = out->lr;
    int nf = 0;
#pragma omp parallel num_threads(ws->nthreads) if (nb > 1) reduction(| : nf)
    {
        tp_thread_ws *th = &ws->th[omp_get_thread_num()];
        /* Per block: sums and counts at the positions sent, the mean of each into a dense block,
         * then the block applied row by row. Sums, counts and the dense block are zero between
         * blocks: each block clears what it set. */
        double *sum = th->dtmp;
        uint16_t *cnt = th->cnt;
        float *dense = th->bv;
        memset(sum, 0, sizeof(double) * (size_t)totalk);
        memset(cnt, 0, sizeof(uint16_t) * (size_t)totalk);
        memset(dense, 0, sizeof(float) * (size_t)totalk);
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            if (out->theta && b + 1 < nb) {
                /* A block's rows are short runs far apart, which hardware prefetchers follow
                 * poorly: fetch the next block's rows while this one is summed. */
                const float *nx = out->theta + tp_block_origin(g, b + 1);
                for (int64_t r = 0; r < g->br; r++)
                    for (int64_t c = 0; c < g->bc; c += 16) __builtin_prefetch(nx + r * g->cols + c, 1, 1);
            }
            for (int i = 0; i < P; i++) {
                const uint16_t *idx = peers[i]->idx + b * k;
                const uint8_t *code = peers[i]->codes + b * k;
                const float *t = tab[i];
                for (int64_t j = 0; j < k; j++) {
                    sum[idx[j]] += t[code[j]];
                    cnt[idx[j]]++;
                }
            }
            for (int i = 0; i < P; i++) {
                const uint16_t *idx = peers[i]->idx + b * k;
                for (int64_t j = 0; j < k; j++) {
                    uint16_t pos = idx[j];
                    if (!cnt[pos]) continue; /* done via an earlier peer */
                    float a = (float)(sum[pos] / cnt[pos]);
                    nf |= !isfinite(a);
                    dense[pos] = a;
                    sum[pos] = 0;
                    cnt[pos] = 0;
                }
            }
            if (plan) {
                /* The sums are all zero again, so their buffer can lend itself as the transform's
                 * temporary as long as it is cleared after. */
                tp_dct_inverse(plan, dense, dense, sum);
                memset(sum, 0, sizeof(double) * (size_t)totalk);
                for (int64_t i = 0; i < totalk; i++) nf |= !isfinite(dense[i]);
            }
            /* Whole rows, in order: streaming beats scattered updates even though most entries
             * are zero, and theta - lr * 0 is theta exactly (lr >= 0). */
            int64_t origin = tp_block_origin(g, b);
            for (int64_t r = 0; r < g->br; r++) {
                float *d = dense + r * g->bc;
                if (out->agg) memcpy(out->agg + origin + r * g->cols, d, sizeof(float) * (size_t)g->bc);
                if (out->theta) {
                    float *th_row = out->theta + origin + r * g->cols;
                    for (int64_t c = 0; c < g->bc; c++) {
                        float step = lr * d[c];
                        th_row[c] = th_row[c] - step;
                    }
                }
                memset(d, 0, sizeof(float) * (size_t)g->bc);
            }
        }
    }
    if (nf) *nonfinite = 1;
    return TP_OK;
}

tp_status tp_aggregate_tensor(const tp_sparse *const *peers, int P, const tp_codec_params *p, tp_codec_ws *ws,
                              float *agg, int *nonfinite, tp_err *err) {
    *nonfinite = 0;
    sink out = {.agg = agg};
    return aggregate(peers, P, p, ws, &out, nonfinite, err);
}

tp_status tp_outer_step_tensor(float *theta, const tp_sparse *const *peers, int P, const tp_codec_params *p, float lr,
                               tp_codec_ws *ws, int *skipped, tp_err *err) {
    *skipped = 0;
    if (!(lr >= 0 && lr <= 1e6)) return tp_fail(err, TP_ERR_ARG, "outer step: learning rate %g is not in [0, 1e6]", (double)lr);
    sink out = {.theta = theta, .lr = lr};
    return aggregate(peers, P, p, ws, &out, skipped, err);
}

tp_status tp_outer_step(float *theta, const tp_layout *L, const tp_update *const *peers, const uint32_t *uids, int P,
                        float lr, tp_codec_ws *ws, uint8_t *skipped, int *n_skipped, tp_err *err) {
    if (n_skipped) *n_skipped = 0;
    if (P < 1 || P > TP_AGG_MAX_PEERS)
        return tp_fail(err, TP_ERR_ARG, "outer step: %d peers, expected 1 to %d", P, TP_AGG_MAX_PEERS);
    int order[TP_AGG_MAX_PEERS];
    for (int i = 0; i < P; i++) {
        /* Insertion sort by uid: P is small and the order must not depend on qsort's stability. */
        int j = i;
        while (j > 0 && uids[order[j - 1]] > uids[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (int i = 1; i < P; i++)
        if (uids[order[i]] == uids[order[i - 1]])
            return tp_fail(err, TP_ERR_ARG, "outer step: uid %u appears twice", (unsigned)uids[order[i]]);
    for (int i = 0; i < P; i++) {
        const tp_update *u = peers[i];
        if (u->n != L->n_tensors)
            return tp_fail(err, TP_ERR_ARG, "outer step: message of uid %u has %d tensors, the model %d",
                           (unsigned)uids[i], u->n, L->n_tensors);
        if (memcmp(&u->params, &peers[0]->params, sizeof u->params))
            return tp_fail(err, TP_ERR_ARG, "outer step: message of uid %u uses other codec parameters",
                           (unsigned)uids[i]);
    }
    for (int t = 0; t < L->n_tensors; t++) {
        const tp_sparse *ps[TP_AGG_MAX_PEERS];
        for (int i = 0; i < P; i++) ps[i] = &peers[order[i]]->t[t];
        if ((size_t)ps[0]->geom.numel != L->tensors[t].count)
            return tp_fail(err, TP_ERR_ARG, "outer step: tensor %d does not match '%s'", t, L->tensors[t].name);
        int skip = 0;
        tp_status st = tp_outer_step_tensor(theta + L->tensors[t].offset, ps, P, &peers[0]->params, lr, ws, &skip, err);
        if (st) return tp_wrap(err, "tensor '%s'", L->tensors[t].name);
        if (skipped) skipped[t] = (uint8_t)skip;
        if (skip && n_skipped) (*n_skipped)++;
    }
    return TP_OK;
}
