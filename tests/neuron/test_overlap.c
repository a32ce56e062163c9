/* Copy detection (DESIGN §12.2): index overlap on hand-built messages and the penalty thresholds. */
#include <criterion/criterion.h>
#include <math.h>

#include "neuron/overlap.h"

/* Two tensors, one 1-D and one 2-D, topk 8; k and the block count come from the message. */
static void make(tp_update *u) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    p.topk = 8;
    tp_tensor_info ti[2] = {{.name = "a", .ndim = 1, .shape = {128, 0}}, {.name = "b", .ndim = 2, .shape = {8, 64}}};
    tp_err err = {0};
    cr_assert_eq(tp_update_init(u, ti, 2, &p, &err), TP_OK, "%s", err.msg);
}

/* Positions off, off+step, ... in every block. */
static void fill(tp_update *u, int off, int step) {
    for (int t = 0; t < u->n; t++) {
        tp_sparse *s = &u->t[t];
        for (int64_t b = 0; b < s->geom.nblocks; b++)
            for (int64_t i = 0; i < s->k; i++) s->idx[b * s->k + i] = (uint16_t)(off + step * i);
    }
}

Test(overlap, identical_disjoint_half) {
    tp_update a, b;
    make(&a);
    make(&b);
    double o;
    fill(&a, 0, 2);
    fill(&b, 0, 2);
    cr_assert_eq(tp_index_overlap(&a, &b, &o, &(tp_err){0}), TP_OK);
    cr_assert_eq(o, 1.0);
    fill(&b, 1, 2); /* odd vs even positions */
    cr_assert_eq(tp_index_overlap(&a, &b, &o, &(tp_err){0}), TP_OK);
    cr_assert_eq(o, 0.0);
    /* a: 0,2,4,...,14; b: 0,4,8,...,28 → common 0,4,8,12 = half of k = 8. */
    fill(&b, 0, 4);
    cr_assert_eq(tp_index_overlap(&a, &b, &o, &(tp_err){0}), TP_OK);
    cr_assert_eq(o, 0.5);
    tp_update_free(&a);
    tp_update_free(&b);
}

Test(overlap, size_weighted) {
    tp_update a, b;
    make(&a);
    make(&b);
    fill(&a, 0, 2);
    fill(&b, 0, 2);
    /* Make the second tensor disjoint: the result is the first tensor's share of all entries. */
    tp_sparse *s = &b.t[1];
    for (int64_t i = 0; i < s->geom.nblocks * s->k; i++) s->idx[i] = (uint16_t)(s->idx[i] + 1);
    int64_t n0 = a.t[0].k * a.t[0].geom.nblocks, n1 = a.t[1].k * a.t[1].geom.nblocks;
    double o;
    cr_assert_eq(tp_index_overlap(&a, &b, &o, &(tp_err){0}), TP_OK);
    cr_assert(fabs(o - (double)n0 / (double)(n0 + n1)) < 1e-15);
    tp_update_free(&a);
    tp_update_free(&b);
}

Test(overlap, mismatch_rejected) {
    tp_update a, b;
    make(&a);
    tp_codec_params p;
    tp_codec_params_default(&p);
    p.topk = 4;
    tp_tensor_info ti[2] = {{.name = "a", .ndim = 1, .shape = {128, 0}}, {.name = "b", .ndim = 2, .shape = {8, 64}}};
    cr_assert_eq(tp_update_init(&b, ti, 2, &p, &(tp_err){0}), TP_OK);
    double o;
    tp_err err = {0};
    cr_assert_eq(tp_index_overlap(&a, &b, &o, &err), TP_ERR_ARG);
    tp_update_free(&b);
    cr_assert_eq(tp_update_init(&b, ti, 1, &p, &(tp_err){0}), TP_OK);
    cr_assert_eq(tp_index_overlap(&a, &b, &o, &err), TP_ERR_ARG);
    tp_update_free(&a);
    tp_update_free(&b);
}

Test(overlap, thresholds) {
    tp_copy_verdict v;
    v = tp_copy_penalty_for(0.0);
    cr_assert(v.kind == TP_COPY_NONE && v.multiplier == 1.0 && v.exclude_windows == 0);
    v = tp_copy_penalty_for(0.3999999);
    cr_assert_eq(v.kind, TP_COPY_NONE);
    v = tp_copy_penalty_for(0.4);
    cr_assert(v.kind == TP_COPY_HALVE && v.multiplier == 0.5 && v.exclude_windows == 0);
    v = tp_copy_penalty_for(0.4999999);
    cr_assert_eq(v.kind, TP_COPY_HALVE);
    v = tp_copy_penalty_for(0.5);
    cr_assert(v.kind == TP_COPY_RESET && v.multiplier == 0.0 && v.exclude_windows == 0);
    v = tp_copy_penalty_for(0.5999999);
    cr_assert_eq(v.kind, TP_COPY_RESET);
    v = tp_copy_penalty_for(0.6);
    cr_assert(v.kind == TP_COPY_EXCLUDE && v.multiplier == 0.0 && v.exclude_windows == 200);
    v = tp_copy_penalty_for(1.0);
    cr_assert_eq(v.kind, TP_COPY_EXCLUDE);
    v = tp_copy_penalty_for(NAN);
    cr_assert_eq(v.kind, TP_COPY_NONE);
}
