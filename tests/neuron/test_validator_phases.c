/* The validator's window phases on hand-made gathers (no chain, no buckets): penalties fall only on
 * uploaders, an outage penalises nobody, the later of two overlapping uploads is the copier, the
 * Gauntlet rates the evaluated miners, and judging is all or nothing: when the validator's own work
 * fails (its data unreadable, memory running out at any allocation) no miner's standing changes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../support/alloc_fail.h"
#include "node_fixture.h"

#define W 12 /* a window past the start window's null round */

static tp_vwindow window_of(node_fixture *f, const fx_kind *kinds) {
    tp_vwindow w = {.heldout_loss = NAN};
    fx_gather(f, W, kinds, &w.g);
    fx_peers_all(f, W, &w.pl);
    tp_err err;
    cr_assert_eq(tp_vwindow_alloc(&w, f->n->mg.n, &err), TP_OK);
    w.n_applied = tp_node_select_applied(f->n, &w.pl, &w.g, w.applied);
    w.gather_of = tp_node_gather_of(f->n, &w.pl);
    return w;
}

static void set_finals(node_fixture *f, double final) {
    for (int i = 0; i < f->miners; i++) f->v.m[FX_FIRST_MINER + i].final = final;
}

Test(validator_phases, penalties_fall_only_on_uploaders) {
    node_fixture f;
    fx_open(&f, 4, 1);
    fx_kind kinds[4] = {FX_VALID, FX_MISSING, FX_GARBAGE, FX_VALID};
    tp_vwindow w = window_of(&f, kinds);
    /* The last entry failed on the reader's side (its own memory): no verdict on the uploader. */
    w.g.payload[3].valid = 0;
    w.g.reject[3] = TP_REJ_INTERNAL;
    set_finals(&f, 1.0);
    tp_vjudge_penalties(&f.v, f.v.m, &w);
    tp_vminer *m = f.v.m;
    cr_assert_float_eq(m[2].final, 1.0, 1e-12, "a valid upload is not penalised");
    cr_assert_float_eq(m[3].final, 0.75 * 0.75, 1e-12, "missing: listed gather peer and inactive");
    cr_assert_float_eq(m[4].final, 0.75 * 0.75, 1e-12, "invalid: listed gather peer and inactive");
    cr_assert_eq(m[3].inactive, 1);
    cr_assert_float_eq(m[5].final, 1.0, 1e-12, "the reader's own failure is charged to uid 5");
    cr_assert_eq(m[5].inactive, 0);
    tp_vwindow_free(&w);
    fx_close(&f);
}

Test(validator_phases, an_outage_penalises_nobody) {
    node_fixture f;
    fx_open(&f, 3, 1);
    fx_kind kinds[3] = {FX_MISSING, FX_MISSING, FX_VALID};
    tp_vwindow w = window_of(&f, kinds);
    w.outage = 1;
    set_finals(&f, 1.0);
    tp_vjudge_penalties(&f.v, f.v.m, &w);
    for (int u = 2; u < 5; u++) cr_assert_float_eq(f.v.m[u].final, 1.0, 1e-12, "uid %d", u);
    tp_vwindow_free(&w);
    fx_close(&f);
}

Test(validator_phases, the_later_of_two_overlapping_uploads_copied) {
    node_fixture f;
    fx_open(&f, 3, 1);
    fx_kind kinds[3] = {FX_VALID, FX_VALID, FX_COPY_OF_FIRST};
    tp_vwindow w = window_of(&f, kinds);
    for (int i = 0; i < 3; i++) cr_assert(w.g.payload[i].valid, "entry %d: %s", i, tp_reject_name(w.g.reject[i]));
    set_finals(&f, 1.0);
    f.v.m[4].n_evals = 5;
    tp_err err;
    cr_assert_eq(tp_vjudge_copies(&f.v, f.v.m, W, &w, &err), TP_OK, "%s", err.msg);
    cr_assert_float_eq(f.v.m[2].final, 1.0, 1e-12, "the original is not the copier");
    cr_assert_float_eq(f.v.m[3].final, 1.0, 1e-12, "an honest bystander");
    cr_assert(f.v.m[4].n_evals == 0 && f.v.m[4].quarantine_until > W, "the copier is reset and excluded");
    tp_vwindow_free(&w);
    fx_close(&f);
}

Test(validator_phases, judge_evaluates_and_rates) {
    node_fixture f;
    fx_open(&f, 3, 1);
    fx_kind kinds[3] = {FX_VALID, FX_VALID, FX_MISSING};
    tp_vwindow w = window_of(&f, kinds);
    tp_err err;
    float *theta = malloc(f.n->model->layout.total * sizeof(float));
    memcpy(theta, f.n->model->params, f.n->model->layout.total * sizeof(float));
    cr_assert_eq(tp_vphase_judge(&f.v, W, &w, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(w.n_res, 2, "both valid uploads are evaluated");
    for (int u = 2; u < 4; u++) {
        cr_assert_eq(f.v.m[u].n_evals, 1, "uid %d", u);
        cr_assert_eq(f.v.m[u].last_eval, W);
        cr_assert(f.v.m[u].rating.sigma < tp_openskill_defaults().sigma0, "uid %d was rated", u);
    }
    cr_assert_eq(f.v.m[4].n_evals, 0);
    cr_assert_eq(f.v.m[4].inactive, 1, "the missing upload counts against its miner");
    cr_assert(!memcmp(theta, f.n->model->params, f.n->model->layout.total * sizeof(float)),
              "evaluation left θ changed");
    free(theta);
    tp_vwindow_free(&w);
    fx_close(&f);
}

Test(validator_phases, a_failed_evaluation_penalises_nobody) {
    node_fixture f;
    fx_open(&f, 3, 0); /* the validator's own training data is unreadable */
    fx_kind kinds[3] = {FX_VALID, FX_MISSING, FX_GARBAGE};
    tp_vwindow w = window_of(&f, kinds);
    set_finals(&f, 1.0);
    tp_vminer before[8];
    memcpy(before, f.v.m, sizeof before);
    tp_err err;
    cr_assert_neq(tp_vphase_judge(&f.v, W, &w, &err), TP_OK, "the evaluation should fail on the corrupt data");
    cr_assert(strstr(err.msg, "vocab") || strstr(err.msg, "token"), "%s", err.msg);
    cr_assert(!memcmp(before, f.v.m, sizeof before), "a miner's standing changed although the validator failed");
    tp_vwindow_free(&w);
    fx_close(&f);
}

/* ---- the window's processing under allocation failure: validation, judge, outer step, fingerprint */

typedef struct {
    node_fixture f;
    tp_vwindow w;
    tp_vminer *m0, *m_ref;
    float *theta0, *theta_ref;
    size_t bytes;
} window_case;

static tp_status window_unit(void *ctx, tp_err *err) {
    window_case *c = ctx;
    tp_node *n = c->f.n;
    for (int i = 0; i < c->w.g.n; i++) tp_payload_free(&c->w.g.payload[i]);
    tp_status st = tp_node_validate_gather(n, W, &c->w.g, err);
    if (!st) c->w.n_applied = tp_node_select_applied(n, &c->w.pl, &c->w.g, c->w.applied);
    if (!st) st = tp_vphase_judge(&c->f.v, W, &c->w, err);
    if (!st) st = tp_node_outer_step(n, &c->w.g, c->w.applied, c->w.n_applied, err);
    tp_fingerprint fp = {0};
    if (!st) st = tp_fingerprint_compute(&n->model->layout, n->model->params, W, 1, &fp, err);
    tp_fingerprint_free(&fp);
    return st;
}

static void window_check(void *ctx, tp_status st, const tp_err *err, int fired) {
    window_case *c = ctx;
    (void)fired;
    size_t mb = sizeof(tp_vminer) * TP_CHAIN_MAX_UIDS;
    float *theta = c->f.n->model->params;
    if (!c->theta_ref) { /* the clean run */
        c->theta_ref = malloc(c->bytes);
        memcpy(c->theta_ref, theta, c->bytes);
        c->m_ref = malloc(mb);
        memcpy(c->m_ref, c->f.v.m, mb);
        cr_assert(memcmp(c->theta0, theta, c->bytes), "the outer step did nothing");
    } else if (st) {
        /* A failure in validation or judging leaves everything; one in the outer step or after it
         * leaves θ stepped or not, never half-stepped, and the standing judged. */
        int m_before = !memcmp(c->m0, c->f.v.m, mb), m_after = !memcmp(c->m_ref, c->f.v.m, mb);
        int t_before = !memcmp(c->theta0, theta, c->bytes), t_after = !memcmp(c->theta_ref, theta, c->bytes);
        cr_assert((m_before && t_before) || (m_after && (t_before || t_after)),
                  "a failed window left a partial state (standing %s, θ %s): %s",
                  m_before ? "unchanged" : m_after ? "judged" : "partly changed",
                  t_before ? "unchanged" : t_after ? "stepped" : "partly stepped", err->msg);
    } else {
        cr_assert(!memcmp(c->theta_ref, theta, c->bytes) && !memcmp(c->m_ref, c->f.v.m, mb),
                  "a window that succeeded differs from the clean run");
    }
    memcpy(c->f.v.m, c->m0, mb);
    memcpy(theta, c->theta0, c->bytes);
}

Test(alloc_fail, validator_window_without_network, .timeout = 300) {
    window_case c = {0};
    fx_open(&c.f, 3, 1);
    fx_kind kinds[3] = {FX_VALID, FX_VALID, FX_MISSING};
    c.w = window_of(&c.f, kinds);
    size_t mb = sizeof(tp_vminer) * TP_CHAIN_MAX_UIDS;
    c.m0 = malloc(mb);
    memcpy(c.m0, c.f.v.m, mb);
    c.bytes = c.f.n->model->layout.total * sizeof(float);
    c.theta0 = malloc(c.bytes);
    memcpy(c.theta0, c.f.n->model->params, c.bytes);
    af_run_all(window_unit, window_check, &c, 1, AF_OURS);
    free(c.m0);
    free(c.m_ref);
    free(c.theta0);
    free(c.theta_ref);
    tp_vwindow_free(&c.w);
    fx_close(&c.f);
}
