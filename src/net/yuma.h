/* Yuma consensus (DESIGN §10): a pure function from validators' weights and stake (and the previous
 * bonds) to consensus, incentive, bonds and dividends. Rows are validators, columns are uids. It
 * knows nothing about storage; the chain backends feed it matrices.
 *
 *   W      = weights with each row normalised to sum 1 (an all-zero row stays zero)
 *   s      = stake normalised to sum 1
 *   C_j    = the largest c with Σ_i s_i·[W_ij ≥ c] ≥ κ     (stake-weighted median for κ = 0.5)
 *   Wc     = min(W_ij, C_j)
 *   R_j    = Σ_i s_i·Wc_ij;   I = R / ΣR
 *   ΔB     = column-normalised s_i·Wc_ij
 *   B      = ΔB on the first epoch, else column-normalised α·ΔB + (1 − α)·B_prev
 *   D_i    = Σ_j B_ij·I_j, normalised to sum 1
 *
 * The emission of an epoch is split EVENLY: TP_YUMA_MINER_SHARE of it to uids by incentive, the rest
 * to validators by dividends (Bittensor gives 41% / 41% and 18% to the subnet owner; a local net has
 * no owner, so the two halves are equal). */
#ifndef TP_NET_YUMA_H
#define TP_NET_YUMA_H

#include <stdint.h>

#include "core/error.h"

#define TP_YUMA_MINER_SHARE 0.5

typedef struct {
    double kappa;      /* consensus stake quorum, 0.5 */
    double bond_alpha; /* EMA rate of the bonds, 0.1 */
} tp_yuma_params;

/* Every array is owned by the struct: n_val*n_uid for the matrices (row-major), n_uid for the
 * per-uid vectors, n_val for dividends. */
typedef struct {
    int64_t n_val, n_uid;
    double *weights; /* row-normalised input */
    double *consensus;
    double *clipped;
    double *rank;
    double *incentive;
    double *bonds;
    double *dividends;
} tp_yuma_result;

static inline tp_yuma_params tp_yuma_default_params(void) { return (tp_yuma_params){0.5, 0.1}; }

tp_status tp_yuma_result_alloc(tp_yuma_result *r, int64_t n_val, int64_t n_uid, tp_err *err);
void tp_yuma_result_free(tp_yuma_result *r);

/* One epoch. weights: n_val×n_uid, finite and non-negative; stake: n_val, finite and non-negative;
 * prev_bonds: n_val×n_uid, or NULL on the first epoch. With no stake (or no validators) everything
 * is zero. r must have been allocated with the same shape. */
tp_status tp_yuma_epoch(const tp_yuma_params *p, int64_t n_val, int64_t n_uid, const double *weights,
                        const double *stake, const double *prev_bonds, tp_yuma_result *r, tp_err *err);

/* Splits `total` emission: uid u gets total·(share·incentive_u + (1 − share)·dividends of the row
 * whose validator is u). val_uid[i] is the uid of row i. out has n_uid entries. */
void tp_yuma_emission(const tp_yuma_result *r, const int64_t *val_uid, double total, double *out);

#endif
