/* Sync score: the lower median makes a few odd samples (e.g. a parameter the miner's optimizer
 * happened to move differently) unable to swing the verdict either way. */
#include "neuron/sync_score.h"

#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/sort.h"

double tp_sync_score(double x) {
    if (isnan(x)) return 0.0;
    if (x < 0) x = 0;
    return pow(1.0 - fmin(x, TP_SYNC_MAX_STEPS) / TP_SYNC_MAX_STEPS, 2.5);
}

tp_status tp_sync_ema_update(float *ema, const float *prev, const float *cur, int64_t n, bool first,
                             tp_err *err) {
    if (n < 0 || (n > 0 && (!ema || !prev || !cur)))
        return tp_fail(err, TP_ERR_ARG, "sync ema: bad arguments");
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)cur[i] - (double)prev[i]);
        if (!isfinite(d))
            return tp_fail(err, TP_ERR_NUMERIC, "sync ema: sample %lld is not finite", (long long)i);
        ema[i] = first ? (float)d
                       : (float)((1.0 - TP_SYNC_EMA_ALPHA) * ema[i] + TP_SYNC_EMA_ALPHA * d);
    }
    return TP_OK;
}

tp_status tp_steps_behind(const float *mine, const float *theirs, const float *step_ema, int64_t n,
                          bool hashes_match, double *out, tp_err *err) {
    if (!out) return tp_fail(err, TP_ERR_ARG, "steps_behind: no output");
    if (hashes_match) {
        *out = 0.0;
        return TP_OK;
    }
    if (n <= 0 || !mine || !theirs || !step_ema)
        return tp_fail(err, TP_ERR_ARG, "steps_behind: no samples to compare");
    double *r = tp_malloc((size_t)n * sizeof *r, err);
    if (!r) return err->code;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(mine[i]) || !isfinite(step_ema[i]) || step_ema[i] < 0) {
            free(r);
            return tp_fail(err, TP_ERR_NUMERIC, "steps_behind: own sample %lld is invalid",
                           (long long)i);
        }
        if (!isfinite(theirs[i])) {
            r[i] = INFINITY;
            continue;
        }
        double d = fabs((double)theirs[i] - (double)mine[i]);
        if (step_ema[i] > 0) r[i] = d / step_ema[i];
        else r[i] = d == 0 ? 0.0 : INFINITY;
    }
    *out = tp_lower_median(r, (size_t)n);
    free(r);
    return TP_OK;
}
