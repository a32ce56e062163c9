/* The paying gate (gate.h) on its own: the threshold is ln(horizon/alpha); a miner whose updates show
 * no own-data advantage (z drawn as Student-t around 0, or worse) is paid in far fewer than alpha of
 * simulated lifetimes; one that shows it only every other evaluation gets no credit; an honest one
 * passes; an update that does not help restarts the evidence. */
#include <criterion/criterion.h>
#include <math.h>

#include "core/rng.h"
#include "neuron/gate.h"

/* A Student-t draw with df degrees of freedom (normal / sqrt(chi²/df)). */
static double student_t(tp_rng *r, int df) {
    double chi = 0;
    for (int i = 0; i < df; i++) {
        double g = tp_rng_normal(r);
        chi += g * g;
    }
    return tp_rng_normal(r) / sqrt(chi / df);
}

/* Evaluations until paid (0: never within n) for z = mean + t(df) each time (every other time
 * `alt_mean` instead, when alternate). */
static int time_to_pay(const tp_gate_params *p, tp_rng *r, int n, int df, double mean, int alternate, double alt_mean) {
    double e = 0, prev = NAN;
    for (int t = 1; t <= n; t++) {
        double z = (alternate && t % 2 ? alt_mean : mean) + student_t(r, df);
        int strike;
        double y = tp_gate_scaled_z(z, df);
        e = tp_gate_update(p, e, y, prev, 1, &strike);
        prev = y;
        if (tp_gate_open(p, e)) return t;
    }
    return 0;
}

Test(gate, threshold_is_the_log_of_horizon_over_alpha) {
    tp_gate_params p = tp_gate_defaults(1e-3, 1000);
    cr_assert_float_eq(tp_gate_threshold(&p), log(1e6), 1e-12);
    cr_assert(!tp_gate_open(&p, log(1e6) - 1e-9) && tp_gate_open(&p, log(1e6)));
}

Test(gate, a_miner_without_an_advantage_is_not_paid, .timeout = 120) {
    /* A looser gate than the default, so that failures would show in a CI-sized simulation: the bound
     * says at most alpha = 0.1 of lifetimes of 100 evaluations are ever paid. */
    tp_gate_params p = tp_gate_defaults(0.1, 100);
    tp_rng r;
    tp_rng_seed(&r, 42);
    int lives = 20000, paid = 0;
    for (int i = 0; i < lives; i++) paid += time_to_pay(&p, &r, 100, 20, 0.0, 0, 0) > 0;
    cr_log_info("null miners paid in %d of %d lifetimes (bound %.0f)", paid, lives, 0.1 * lives);
    cr_assert(paid <= 0.1 * lives, "%d of %d null lifetimes paid, above alpha", paid, lives);
}

Test(gate, half_an_advantage_gets_next_to_no_credit) {
    /* An advantage one evaluation in two (z 3 and 0 alternately): the minimum of two consecutive ones
     * is the null one, so the evidence builds only on the null draw's luck. An honest miner with the
     * same z every time is paid within 30 evaluations in every run (an_honest_miner_passes). */
    tp_gate_params p = tp_gate_defaults(1e-3, 1000);
    tp_rng r;
    tp_rng_seed(&r, 7);
    int paid = 0;
    for (int i = 0; i < 2000; i++) paid += time_to_pay(&p, &r, 30, 60, 3.0, 1, 0.0) > 0;
    cr_log_info("every other window: paid in %d of 2000 runs of 30 evaluations", paid);
    cr_assert(paid < 20, "an every-other-window miner was paid in %d of 2000 runs of 30 evaluations", paid);
}

Test(gate, an_honest_miner_passes) {
    tp_gate_params p = tp_gate_defaults(1e-3, 1000);
    tp_rng r;
    tp_rng_seed(&r, 9);
    int never = 0, total = 0;
    for (int i = 0; i < 2000; i++) {
        int t = time_to_pay(&p, &r, 60, 60, 3.0, 0, 0);
        never += !t;
        total += t;
    }
    cr_log_info("honest (z 3): paid after %.1f evaluations on average", (double)total / (2000 - never));
    cr_assert_eq(never, 0, "an honest miner with z 3 was not paid within 60 evaluations in %d of 2000 runs", never);
}

Test(gate, no_help_restarts_and_scores_near_zero_tie) {
    tp_gate_params p = tp_gate_defaults(1e-3, 1000);
    int strike;
    double e = tp_gate_update(&p, 10.0, 3.0, 3.0, 1, &strike);
    cr_assert(!strike && e > 10.0);
    cr_assert_eq(tp_gate_update(&p, e, 3.0, 3.0, 0, &strike), 0.0);
    cr_assert(strike);
    cr_assert_eq(tp_gate_update(&p, 0.0, -2.0, NAN, 1, &strike), 0.0, "evidence never goes below 0");
    cr_assert_eq(tp_gate_score(1e-5, 1e-5), 0.0, "a score within 2 standard errors is zero");
    cr_assert_eq(tp_gate_score(3e-5, 1e-5), 3e-5);
    cr_assert(!tp_gate_helps(&p, 0.05, 0.001, 1.0), "5%% of the median does not help");
    cr_assert(tp_gate_helps(&p, 0.3, 0.001, 1.0));
    cr_assert(!tp_gate_helps(&p, 0.3, 0.001, 0.0), "nobody helped: nobody helps");
    cr_assert(isinf(tp_gate_scaled_z(3.0, 4)) && tp_gate_scaled_z(3.0, 4) < 0, "too few samples count as nothing");
}
