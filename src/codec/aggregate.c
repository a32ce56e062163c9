#include "codec/aggregate.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/sort.h"

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

tp_status tp_aggregate_norms(const tp_sparse *const *peers, int P, int bins, double *norm, int *nonfinite,
                             tp_err *err) {
    tp_status st = check_peers(peers, P, err);
    if (st) return st;
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
            /* Separate statements throughout: no compiler may fuse them into an FMA, so every
             * build rounds the same way. */
            double sq = (double)deq[b] * deq[b];
            double term = (double)cnt * sq;
            ss += term;
        }
        norm[i] = sqrt(ss);
    }
    *nonfinite = bad;
    return TP_OK;
}

tp_status tp_aggregate_clip(const tp_sparse *const *peers, int P, int bins, float *clip, int *nonfinite,
                            tp_err *err) {
    double norm[TP_AGG_MAX_PEERS], sorted[TP_AGG_MAX_PEERS];
    tp_status st = tp_aggregate_norms(peers, P, bins, norm, nonfinite, err);
    if (st) return st;
    memcpy(sorted, norm, sizeof(double) * (size_t)P);
    double m = tp_lower_median(sorted, (size_t)P);
    for (int i = 0; i < P; i++) {
        double f = m / (norm[i] + 1e-8);
        clip[i] = (float)(f < 1 ? f : 1);
    }
    return TP_OK;
}

/* What to do with each aggregated coordinate. */
typedef struct {
    float *agg;   /* dense aggregate output, or NULL */
    float *theta; /* outer step target, or NULL */
    float lr;
} sink;

/* Clipped value tables, one per peer: v * clip rounded once, as the reference does. *bad is set
 * when a value some peer sent is not finite. */
typedef struct {
    float tab[TP_AGG_MAX_PEERS][TP_CODEC_MAX_BINS];
    int over_all; /* divide a coordinate's sum by P, not by its senders */
    int P;
} tables;

static const tp_outer_opts design_rule = {.lr = 1.0f, .mean_over_all = 0, .clip = 1};

static tp_status make_tables(const tp_sparse *const *peers, int P, int bins, const tp_outer_opts *o, tables *t,
                             int *bad, tp_err *err) {
    float clip[TP_AGG_MAX_PEERS];
    tp_status st = tp_aggregate_clip(peers, P, bins, clip, bad, err);
    if (st) return st;
    if (!o->clip)
        for (int i = 0; i < P; i++) clip[i] = 1.0f;
    t->over_all = o->mean_over_all;
    t->P = P;
    for (int i = 0; i < P; i++) {
        float deq[TP_CODEC_MAX_BINS];
        tp_sparse_dequant_table(peers[i], bins, deq);
        for (int b = 0; b < TP_CODEC_MAX_BINS; b++) t->tab[i][b] = b < bins ? deq[b] * clip[i] : 0.0f;
    }
    return TP_OK;
}

/* Zeroes the per-thread sums, counts and dense segment, which each segment then leaves zero. */
static void clear_scratch(tp_thread_ws *th, int64_t totalk) {
    memset(th->dtmp, 0, sizeof(double) * (size_t)totalk);
    memset(th->cnt, 0, sizeof(uint16_t) * (size_t)totalk);
    int64_t n = totalk > TP_SEG_KEYS ? totalk : TP_SEG_KEYS;
    memset(th->bseg, 0, sizeof(float) * (size_t)n);
}

/* Aggregated values of block b into dense (block layout); returns non-zero if one is not finite. */
static int aggregate_block(const tp_sparse *const *peers, int P, const tables *tb, const tp_dct_plan *plan,
                           tp_thread_ws *th, int64_t b, float *dense) {
    const int64_t k = peers[0]->k;
    double *sum = th->dtmp;
    uint16_t *cnt = th->cnt;
    int nf = 0;
    for (int i = 0; i < P; i++) {
        const uint16_t *idx = peers[i]->idx + b * k;
        const uint8_t *code = peers[i]->codes + b * k;
        const float *t = tb->tab[i];
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
            /* Most coordinates come from one peer: its value needs no division. */
            float a = tb->over_all ? (float)(sum[pos] / tb->P)
                      : cnt[pos] == 1 ? (float)sum[pos] : (float)(sum[pos] / cnt[pos]);
            nf |= !isfinite(a);
            dense[pos] = a;
            sum[pos] = 0;
            cnt[pos] = 0;
        }
    }
    if (plan) {
        /* The sums are all zero again, so their buffer can lend itself as the transform's
         * temporary as long as it is cleared after. */
        int64_t totalk = peers[0]->geom.totalk;
        tp_dct_inverse(plan, dense, dense, sum);
        memset(sum, 0, sizeof(double) * (size_t)totalk);
        for (int64_t i = 0; i < totalk; i++) nf |= !isfinite(dense[i]);
    }
    return nf;
}

/* Aggregates segments [s0, s1) into the sink: each segment's blocks into the dense segment
 * buffer, then the segment applied row by row; returns non-zero if an aggregated value is not
 * finite. */
static int aggregate_segments(const tp_sparse *const *peers, int P, const tables *tb, const tp_dct_plan *plan,
                              tp_thread_ws *th, const sink *out, int64_t s0, int64_t s1) {
    const tp_block_geom *g = &peers[0]->geom;
    const int64_t totalk = g->totalk, bc = g->bc;
    const float lr = out->lr;
    int nf = 0;
    for (int64_t sg = s0; sg < s1; sg++) {
        int64_t y, x0, nx;
        tp_seg_range(g, sg, &y, &x0, &nx);
        for (int64_t i = 0; i < nx; i++)
            nf |= aggregate_block(peers, P, tb, plan, th, y * g->nbx + x0 + i, th->bseg + i * totalk);
        /* Whole rows of the segment, in order: streaming beats scattered updates even though most
         * entries are zero, and theta - lr * 0 is theta exactly (lr >= 0). */
        for (int64_t r = 0; r < g->br; r++) {
            const int64_t at = (y * g->br + r) * g->cols + x0 * bc;
            for (int64_t i = 0; i < nx; i++) {
                float *d = th->bseg + i * totalk + r * bc;
                if (out->agg) memcpy(out->agg + at + i * bc, d, sizeof(float) * (size_t)bc);
                if (out->theta) {
                    float *row = out->theta + at + i * bc;
                    for (int64_t c = 0; c < bc; c++) {
                        float step = lr * d[c];
                        row[c] = row[c] - step;
                    }
                }
                memset(d, 0, sizeof(float) * (size_t)bc);
            }
        }
    }
    return nf;
}

/* One tensor with every thread of the workspace on its blocks. */
static tp_status aggregate_shared(const tp_sparse *const *peers, int P, const tp_codec_params *p,
                                  const tp_outer_opts *o, tp_codec_ws *ws, const sink *out, int *nonfinite,
                                  tp_err *err) {
    tp_status st = check_peers(peers, P, err);
    if (st) return st;
    const tp_block_geom *g = &peers[0]->geom;
    const int64_t nb = g->nblocks, totalk = g->totalk;
    (void)nb; /* only the OpenMP clause below reads it */
    if ((st = tp_codec_ws_reserve(ws, totalk, 1, p->bins, err))) return st;
    const tp_dct_plan *plan = NULL;
    if (p->use_dct && (st = tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, err))) return st;
    tables tb;
    int bad = 0;
    if ((st = make_tables(peers, P, p->bins, o, &tb, &bad, err))) return st;
    if (bad) {
        *nonfinite = 1;
        if (out->theta) return TP_OK; /* left unchanged */
    }
    /* With finite tables every aggregated value is finite: a mean, taken in double, of floats no
     * larger than FLT_MAX cannot round past it. The inverse DCT can overflow, though, so in DeMo
     * mode an outer step first aggregates without applying anything, to leave the tensor unchanged
     * if it must. */
    const sink dry = {0};
    for (int pass = plan && out->theta ? 0 : 1; pass < 2; pass++) {
        const sink *to = pass ? out : &dry;
        int nf = 0;
#pragma omp parallel num_threads(ws->nthreads) if (nb > 1) reduction(| : nf)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            const int64_t ns = tp_seg_count(g);
            clear_scratch(&ws->th[t], totalk);
            nf |= aggregate_segments(peers, P, &tb, plan, &ws->th[t], to, ns * t / nt, ns * (t + 1) / nt);
        }
        if (nf) {
            *nonfinite = 1;
            if (!pass) return TP_OK; /* left unchanged */
        }
    }
    return TP_OK;
}

tp_status tp_aggregate_tensor(const tp_sparse *const *peers, int P, const tp_codec_params *p, tp_codec_ws *ws,
                              float *agg, int *nonfinite, tp_err *err) {
    *nonfinite = 0;
    sink out = {.agg = agg};
    return aggregate_shared(peers, P, p, &design_rule, ws, &out, nonfinite, err);
}

static tp_status check_lr(float lr, tp_err *err) {
    if (!(lr >= 0 && lr <= 1e6))
        return tp_fail(err, TP_ERR_ARG, "outer step: learning rate %g is not in [0, 1e6]", (double)lr);
    return TP_OK;
}

tp_status tp_outer_step_tensor(float *theta, const tp_sparse *const *peers, int P, const tp_codec_params *p, float lr,
                               tp_codec_ws *ws, int *skipped, tp_err *err) {
    *skipped = 0;
    tp_status st = check_lr(lr, err);
    if (st) return st;
    sink out = {.theta = theta, .lr = lr};
    return aggregate_shared(peers, P, p, &design_rule, ws, &out, skipped, err);
}

/* Orders peer indices by uid (ctx: the uids). */
static int by_uid(const void *a, const void *b, void *ctx) {
    const uint32_t *uids = ctx;
    uint32_t x = uids[*(const int *)a], y = uids[*(const int *)b];
    return (x > y) - (x < y);
}

tp_status tp_outer_step(float *theta, const tp_layout *L, const tp_update *const *peers, const uint32_t *uids, int P,
                        float lr, tp_codec_ws *ws, uint8_t *skipped, int *n_skipped, tp_err *err) {
    tp_outer_opts o = design_rule;
    o.lr = lr;
    return tp_outer_step_opts(theta, L, peers, uids, P, &o, ws, skipped, n_skipped, err);
}

tp_status tp_outer_step_opts(float *theta, const tp_layout *L, const tp_update *const *peers, const uint32_t *uids,
                             int P, const tp_outer_opts *o, tp_codec_ws *ws, uint8_t *skipped, int *n_skipped,
                             tp_err *err) {
    const float lr = o->lr;
    if (n_skipped) *n_skipped = 0;
    if (P < 1 || P > TP_AGG_MAX_PEERS)
        return tp_fail(err, TP_ERR_ARG, "outer step: %d peers, expected 1 to %d", P, TP_AGG_MAX_PEERS);
    int order[TP_AGG_MAX_PEERS];
    for (int i = 0; i < P; i++) order[i] = i;
    tp_sort_stable(order, (size_t)P, sizeof *order, by_uid, (void *)uids);
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
    tp_status st = check_lr(lr, err);
    if (st) return st;
    const tp_codec_params *p = &peers[0]->params;
    const int n = L->n_tensors;
    /* All peers' tensors must match the model before anything is touched. */
    int64_t max_totalk = 1;
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < P; i++) {
            const tp_sparse *s = &peers[i]->t[t];
            if ((size_t)s->geom.numel != L->tensors[t].count || s->k != tp_codec_k(p, s->geom.totalk))
                return tp_fail(err, TP_ERR_ARG, "outer step: uid %u's tensor %d does not match '%s'", (unsigned)uids[i],
                               t, L->tensors[t].name);
            const tp_sparse *pair[2] = {&peers[0]->t[t], s};
            if (i && (st = check_peers(pair, 2, err))) return tp_wrap(err, "tensor '%s'", L->tensors[t].name);
        }
        max_totalk = peers[0]->t[t].geom.totalk > max_totalk ? peers[0]->t[t].geom.totalk : max_totalk;
    }
    if ((st = tp_codec_ws_reserve(ws, max_totalk, 1, p->bins, err))) return st;
    int *sched = tp_malloc(sizeof(int) * (size_t)(n ? n : 1), err);
    const tp_block_geom **geoms = tp_malloc(sizeof *geoms * (size_t)(n ? n : 1), err);
    int *skip = tp_calloc((size_t)(n ? n : 1), sizeof *skip, err);
    if (!sched || !geoms || !skip) {
        free(sched);
        free(geoms);
        free(skip);
        return TP_ERR_NOMEM;
    }
    for (int t = 0; t < n; t++) geoms[t] = &peers[0]->t[t].geom;
    int shared = tp_codec_schedule(geoms, n, ws->nthreads, p->use_dct, sched);
    sink out = {.lr = lr};
    for (int q = 0; q < shared && !st; q++) {
        int t = sched[q];
        const tp_sparse *ps[TP_AGG_MAX_PEERS];
        for (int i = 0; i < P; i++) ps[i] = &peers[order[i]]->t[t];
        out.theta = theta + L->tensors[t].offset;
        st = aggregate_shared(ps, P, p, o, ws, &out, &skip[t], err);
    }
    if (!st) {
        int failed = 0;
#pragma omp parallel num_threads(ws->nthreads)
        {
            tp_thread_ws *th = &ws->th[omp_get_thread_num()];
            clear_scratch(th, max_totalk);
#pragma omp for schedule(dynamic, 1)
            for (int q = shared; q < n; q++) {
                int t = sched[q];
                const tp_sparse *ps[TP_AGG_MAX_PEERS];
                for (int i = 0; i < P; i++) ps[i] = &peers[order[i]]->t[t];
                tables tb;
                tp_err e;
                int bad = 0;
                if (make_tables(ps, P, p->bins, o, &tb, &bad, &e)) {
#pragma omp atomic write
                    failed = 1;
                    continue;
                }
                if (bad) {
                    skip[t] = 1; /* left unchanged */
                    continue;
                }
                sink o1 = {.theta = theta + L->tensors[t].offset, .lr = lr};
                if (aggregate_segments(ps, P, &tb, NULL, th, &o1, 0, tp_seg_count(&ps[0]->geom))) skip[t] = 1;
            }
        }
        if (failed) st = tp_fail(err, TP_ERR_INTERNAL, "outer step: peers do not match");
    }
    for (int t = 0; t < n && !st; t++) {
        if (skipped) skipped[t] = (uint8_t)skip[t];
        if (skip[t] && n_skipped) (*n_skipped)++;
    }
    free(sched);
    free(geoms);
    free(skip);
    return st;
}
