/* The paying gate (DESIGN §12.5, refined): a miner earns weight only while the validator holds strong
 * evidence that its updates carry an advantage on the samples it was assigned — evidence that stays
 * sound however often it is looked at.
 *
 * Each evaluation gives z, the own-data advantage (gain on the miner's own samples minus gain on the
 * window's random samples) in standard errors of that evaluation: Student-t with df degrees of
 * freedom under the null "no own-data advantage" (a miner that trains on other data, uploads noise, a
 * copy or a stale update). Scaled, y = z·sqrt((df − 4)/df). Evidence E (nats) is a CUSUM:
 *
 *   the update did not help the loss (a strike):  E ← 0
 *   otherwise:                                    E ← max(0, E + λ·min(y, y_prev, cap) − λ²/2)
 *
 * where y_prev is the miner's previous evaluation (none: y). The miner is paid while E ≥ h =
 * ln(horizon / alpha).
 *
 * Bound: the scaling keeps exp(λ·min(y, cap) − λ²/2) at mean ≤ 1 under the null (checked numerically
 * for Student-t z, df 14 to 126); taking the minimum with a value already known, and restarting, only
 * lower it. So between restarts exp(E) is a nonnegative supermartingale from 1, which by Ville's
 * inequality crosses e^h with probability at most e^−h; with at most `horizon` restarts in `horizon`
 * evaluations, a miner without an own-data advantage is ever paid with probability at most
 * horizon·e^−h = alpha (defaults: 1e-3 over 1,000 evaluations, h = 13.8 nats).
 *
 * Why the minimum of two consecutive evaluations: an update that carries its miner's advantage only
 * some of the time (trained on its samples one window in two) gets credit only for what it shows
 * twice in a row, which such a miner never does; a miner that shows it every time (honest, or slow but
 * honest) loses little. One evaluation adds at most λ·cap − λ²/2 = 4.9 nats, so an honest miner needs
 * at least 3 clear evaluations, and weak ones cost it evidence: later evidence revokes. */
#ifndef TP_NEURON_GATE_H
#define TP_NEURON_GATE_H

typedef struct {
    double alpha;      /* the chance that a miner without an own-data advantage is ever paid */
    double horizon;    /* over this many evaluations */
    double lambda;     /* the bet per evaluation */
    double cap;        /* largest scaled z counted from one evaluation */
    double help_share; /* an update helps when its score is at least this share of the window's median
                          positive score, and is told from zero */
} tp_gate_params;

/* alpha and horizon from the run config; λ 1.5, cap 4, help share 0.1. */
tp_gate_params tp_gate_defaults(double alpha, double horizon);
/* h = ln(horizon / alpha), in nats. */
double tp_gate_threshold(const tp_gate_params *p);
/* The score as ratings see it: 0 when it cannot be told from zero (within 2 standard errors). */
double tp_gate_score(double score, double score_se);
/* Whether a score helps, against the window's median positive score (≤ 0: nobody helped). */
int tp_gate_helps(const tp_gate_params *p, double score, double score_se, double median_positive);
/* z in the gate's scale: z·sqrt((df − 4)/df); −inf when df is too small to count (< 5). */
double tp_gate_scaled_z(double z, int df);
/* The evidence after one evaluation of scaled z y (y_prev: the miner's previous one, NaN if none);
 * *strike = 1 when the update did not help and the evidence restarted. */
double tp_gate_update(const tp_gate_params *p, double evidence, double y, double y_prev, int helped, int *strike);
/* Whether evidence opens the gate. */
int tp_gate_open(const tp_gate_params *p, double evidence);

#endif
