#include "net/yuma.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

/* Stake shares that sum to exactly κ in real numbers can land a hair below it in floating point
 * (0.1 + 0.2 + 0.2); they still form a quorum. */
#define QUORUM_SLACK 1e-12

tp_status tp_yuma_result_alloc(tp_yuma_result *r, int64_t n_val, int64_t n_uid, tp_err *err) {
    memset(r, 0, sizeof *r);
    if (n_val < 0 || n_uid < 0 || n_val > (1 << 20) || n_uid > (1 << 20))
        return tp_fail(err, TP_ERR_ARG, "yuma: impossible shape %lld x %lld", (long long)n_val, (long long)n_uid);
    size_t m = (size_t)(n_val * n_uid) + 1, u = (size_t)n_uid + 1, v = (size_t)n_val + 1;
    r->n_val = n_val;
    r->n_uid = n_uid;
    r->weights = tp_calloc(m, sizeof(double), err);
    r->clipped = tp_calloc(m, sizeof(double), err);
    r->bonds = tp_calloc(m, sizeof(double), err);
    r->consensus = tp_calloc(u, sizeof(double), err);
    r->rank = tp_calloc(u, sizeof(double), err);
    r->incentive = tp_calloc(u, sizeof(double), err);
    r->dividends = tp_calloc(v, sizeof(double), err);
    if (!r->weights || !r->clipped || !r->bonds || !r->consensus || !r->rank || !r->incentive || !r->dividends) {
        tp_yuma_result_free(r);
        return tp_fail(err, TP_ERR_NOMEM, "yuma: out of memory for %lld x %lld", (long long)n_val, (long long)n_uid);
    }
    return TP_OK;
}

void tp_yuma_result_free(tp_yuma_result *r) {
    free(r->weights);
    free(r->clipped);
    free(r->bonds);
    free(r->consensus);
    free(r->rank);
    free(r->incentive);
    free(r->dividends);
    memset(r, 0, sizeof *r);
}

typedef struct {
    double w, s;
} vote;

static int by_weight_desc(const void *a, const void *b) {
    double x = ((const vote *)a)->w, y = ((const vote *)b)->w;
    return (x < y) - (x > y);
}

/* Scales v (n entries) to sum 1; leaves an all-zero vector alone. */
static void normalise(double *v, int64_t n, int64_t stride) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += v[i * stride];
    if (sum <= 0) return;
    for (int64_t i = 0; i < n; i++) v[i * stride] /= sum;
}

static void normalise_columns(double *m, int64_t rows, int64_t cols) {
    for (int64_t j = 0; j < cols; j++) normalise(m + j, rows, cols);
}

tp_status tp_yuma_epoch(const tp_yuma_params *p, int64_t n_val, int64_t n_uid, const double *weights,
                        const double *stake, const double *prev_bonds, tp_yuma_result *r, tp_err *err) {
    if (r->n_val != n_val || r->n_uid != n_uid)
        return tp_fail(err, TP_ERR_INTERNAL, "yuma: result shape does not match the input");
    if (!(p->kappa > 0 && p->kappa <= 1) || !(p->bond_alpha > 0 && p->bond_alpha <= 1))
        return tp_fail(err, TP_ERR_CONFIG, "yuma: kappa and bond_alpha must lie in (0, 1]");
    int64_t m = n_val * n_uid;
    for (int64_t k = 0; k < m; k++)
        if (!isfinite(weights[k]) || weights[k] < 0)
            return tp_fail(err, TP_ERR_NUMERIC, "yuma: weight [%lld][%lld] = %g is not a finite non-negative number",
                           (long long)(k / n_uid), (long long)(k % n_uid), weights[k]);
    double total = 0;
    for (int64_t i = 0; i < n_val; i++) {
        if (!isfinite(stake[i]) || stake[i] < 0)
            return tp_fail(err, TP_ERR_NUMERIC, "yuma: stake[%lld] = %g is not a finite non-negative number",
                           (long long)i, stake[i]);
        total += stake[i];
    }
    if (prev_bonds)
        for (int64_t k = 0; k < m; k++)
            if (!isfinite(prev_bonds[k]) || prev_bonds[k] < 0)
                return tp_fail(err, TP_ERR_NUMERIC,
                               "yuma: previous bond [%lld][%lld] is not a finite non-negative number",
                               (long long)(k / n_uid), (long long)(k % n_uid));

    if (m) memcpy(r->weights, weights, sizeof(double) * (size_t)m);
    for (int64_t i = 0; i < n_val; i++) normalise(r->weights + i * n_uid, n_uid, 1);
    memset(r->consensus, 0, sizeof(double) * (size_t)n_uid);
    memset(r->clipped, 0, sizeof(double) * (size_t)m);
    memset(r->rank, 0, sizeof(double) * (size_t)n_uid);
    memset(r->incentive, 0, sizeof(double) * (size_t)n_uid);
    memset(r->bonds, 0, sizeof(double) * (size_t)m);
    memset(r->dividends, 0, sizeof(double) * (size_t)n_val);
    if (n_val == 0 || n_uid == 0 || total <= 0) return TP_OK;

    double *s = tp_malloc(sizeof(double) * (size_t)n_val, err);
    vote *col = tp_malloc(sizeof(vote) * (size_t)n_val, err);
    if (!s || !col) {
        free(s);
        free(col);
        return tp_fail(err, TP_ERR_NOMEM, "yuma: out of memory");
    }
    for (int64_t i = 0; i < n_val; i++) s[i] = stake[i] / total;

    const double *W = r->weights;
    for (int64_t j = 0; j < n_uid; j++) {
        for (int64_t i = 0; i < n_val; i++) col[i] = (vote){W[i * n_uid + j], s[i]};
        qsort(col, (size_t)n_val, sizeof *col, by_weight_desc);
        double cum = 0, c = 0;
        for (int64_t i = 0; i < n_val; i++) {
            cum += col[i].s;
            if (cum >= p->kappa - QUORUM_SLACK) {
                c = col[i].w;
                break;
            }
        }
        r->consensus[j] = c;
    }
    for (int64_t i = 0; i < n_val; i++)
        for (int64_t j = 0; j < n_uid; j++) {
            double w = W[i * n_uid + j], c = r->consensus[j];
            double wc = w < c ? w : c;
            r->clipped[i * n_uid + j] = wc;
            r->rank[j] += s[i] * wc;
            r->bonds[i * n_uid + j] = s[i] * wc;
        }
    memcpy(r->incentive, r->rank, sizeof(double) * (size_t)n_uid);
    normalise(r->incentive, n_uid, 1);

    normalise_columns(r->bonds, n_val, n_uid);
    if (prev_bonds) {
        double a = p->bond_alpha;
        for (int64_t k = 0; k < m; k++) r->bonds[k] = a * r->bonds[k] + (1 - a) * prev_bonds[k];
        normalise_columns(r->bonds, n_val, n_uid);
    }
    for (int64_t i = 0; i < n_val; i++) {
        double d = 0;
        for (int64_t j = 0; j < n_uid; j++) d += r->bonds[i * n_uid + j] * r->incentive[j];
        r->dividends[i] = d;
    }
    normalise(r->dividends, n_val, 1);
    free(s);
    free(col);
    return TP_OK;
}

void tp_yuma_emission(const tp_yuma_result *r, const int64_t *val_uid, double total, double *out) {
    for (int64_t j = 0; j < r->n_uid; j++) out[j] = total * TP_YUMA_MINER_SHARE * r->incentive[j];
    for (int64_t i = 0; i < r->n_val; i++)
        if (val_uid[i] >= 0 && val_uid[i] < r->n_uid)
            out[val_uid[i]] += total * (1 - TP_YUMA_MINER_SHARE) * r->dividends[i];
}
