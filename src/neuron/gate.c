#include "neuron/gate.h"

#include <math.h>

#define GATE_LAMBDA 1.5
#define GATE_CAP 4.0
#define GATE_HELP_SHARE 0.1
#define SCORE_ZERO_SE 2.0 /* a score within this many standard errors of zero cannot be told from it */
#define MIN_DF 5          /* the t scaling needs df > 4; fewer samples give no evidence */

tp_gate_params tp_gate_defaults(double alpha, double horizon) {
    return (tp_gate_params){
        .alpha = alpha, .horizon = horizon, .lambda = GATE_LAMBDA, .cap = GATE_CAP, .help_share = GATE_HELP_SHARE};
}

double tp_gate_threshold(const tp_gate_params *p) { return log(p->horizon / p->alpha); }

double tp_gate_score(double score, double score_se) { return fabs(score) > SCORE_ZERO_SE * score_se ? score : 0; }

int tp_gate_helps(const tp_gate_params *p, double score, double score_se, double median_positive) {
    return median_positive > 0 && score >= p->help_share * median_positive && tp_gate_score(score, score_se) > 0;
}

double tp_gate_scaled_z(double z, int df) { return df >= MIN_DF ? z * sqrt((df - 4.0) / df) : -INFINITY; }

double tp_gate_update(const tp_gate_params *p, double evidence, double y, double y_prev, int helped, int *strike) {
    *strike = !helped;
    if (*strike) return 0;
    double m = isnan(y_prev) || y < y_prev ? y : y_prev;
    double e = evidence + p->lambda * (m < p->cap ? m : p->cap) - p->lambda * p->lambda / 2;
    return e > 0 ? e : 0;
}

int tp_gate_open(const tp_gate_params *p, double evidence) { return evidence >= tp_gate_threshold(p); }
