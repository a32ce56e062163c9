/* Aggregation of the peers' messages and the outer step (DESIGN §7.6-7.7). For one tensor: each
 * peer's values are dequantised, its L2 norm taken, and scaled by min(1, m / (norm + 1e-8)) with m
 * the lower median of the norms; each coordinate gets the mean of the clipped values of the peers
 * that sent it (0 where none). Peers are given in ascending uid order and sums run in that order in
 * double precision, so every node computes bit-identical results. */
#ifndef TP_CODEC_AGGREGATE_H
#define TP_CODEC_AGGREGATE_H

#include <stdint.h>

#include "codec/sparse.h"
#include "codec/workspace.h"
#include "core/error.h"
#include "model/layout.h"

#define TP_AGG_MAX_PEERS 256

/* L2 norms of the dequantised values of P peers of one tensor (same geometry); *nonfinite as below. */
tp_status tp_aggregate_norms(const tp_sparse *const *peers, int P, int bins, double *norm, int *nonfinite,
                             tp_err *err);
/* Clip factors of P peers of one tensor; *nonfinite is set when a dequantised value any peer sent
 * is not finite. */
tp_status tp_aggregate_clip(const tp_sparse *const *peers, int P, int bins, float *clip, int *nonfinite,
                            tp_err *err);

/* Dense aggregate of one tensor (shape of peers[0]->geom) into agg. *nonfinite as above, or when an
 * aggregated value is not finite. */
tp_status tp_aggregate_tensor(const tp_sparse *const *peers, int P, const tp_codec_params *p, tp_codec_ws *ws,
                              float *agg, int *nonfinite, tp_err *err);

/* theta <- theta - lr * aggregate for one tensor (lr in [0, 1e6]); coordinates no peer sent keep
 * their exact value. A non-finite aggregate leaves theta unchanged and sets *skipped. */
tp_status tp_outer_step_tensor(float *theta, const tp_sparse *const *peers, int P, const tp_codec_params *p, float lr,
                               tp_codec_ws *ws, int *skipped, tp_err *err);

/* How an outer step combines its peers. {lr, 0, 1} is DESIGN §7.6-7.7; the others are the
 * alternatives a run config may choose (measured in bench/parity_ablations.sh). */
typedef struct {
    float lr;          /* theta <- theta - lr * aggregate, in [0, 1e6] */
    int mean_over_all; /* a coordinate's sum over all P peers (SparseLoCo's 1/R), not over those that sent it */
    int clip;          /* median-norm clipping */
} tp_outer_opts;

/* tp_outer_step with other options than {lr, 0, 1}. */
tp_status tp_outer_step_opts(float *theta, const tp_layout *L, const tp_update *const *peers, const uint32_t *uids,
                             int P, const tp_outer_opts *o, tp_codec_ws *ws, uint8_t *skipped, int *n_skipped,
                             tp_err *err);

/* The outer step over a whole model (flat theta of L->total floats) from P validated messages with
 * their uids (any order; combined in ascending uid order; duplicate uids are an error). skipped, if
 * not NULL, gets one flag per layout tensor; *n_skipped the count. */
tp_status tp_outer_step(float *theta, const tp_layout *L, const tp_update *const *peers, const uint32_t *uids, int P,
                        float lr, tp_codec_ws *ws, uint8_t *skipped, int *n_skipped, tp_err *err);

#endif
