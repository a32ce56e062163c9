/* Index overlap between two messages: a sorted-list merge per block, so the cost is linear in the
 * message size and needs no scratch memory. */
#include "neuron/overlap.h"

#include <string.h>

/* |a ∩ b| for two ascending lists of n unique positions. */
static int64_t common(const uint16_t *a, const uint16_t *b, int64_t n) {
    int64_t i = 0, j = 0, c = 0;
    while (i < n && j < n) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else {
            c++;
            i++;
            j++;
        }
    }
    return c;
}

tp_status tp_index_overlap(const tp_update *a, const tp_update *b, double *out, tp_err *err) {
    *out = 0.0;
    if (a->n != b->n) return tp_fail(err, TP_ERR_ARG, "overlap: %d vs %d tensors", a->n, b->n);
    int64_t num = 0, den = 0;
    for (int t = 0; t < a->n; t++) {
        const tp_sparse *sa = &a->t[t], *sb = &b->t[t];
        if (strcmp(sa->name, sb->name) != 0 || sa->k != sb->k || sa->geom.nblocks != sb->geom.nblocks)
            return tp_fail(err, TP_ERR_ARG, "overlap: tensor %d ('%s') differs between the messages", t, sa->name);
        for (int64_t blk = 0; blk < sa->geom.nblocks; blk++)
            num += common(sa->idx + blk * sa->k, sb->idx + blk * sb->k, sa->k);
        den += sa->k * sa->geom.nblocks;
    }
    *out = den > 0 ? (double)num / (double)den : 0.0;
    return TP_OK;
}

tp_copy_verdict tp_copy_penalty_for(double overlap) {
    /* Comparisons written so NaN falls through to no penalty. */
    if (overlap >= TP_OVERLAP_EXCLUDE) return (tp_copy_verdict){TP_COPY_EXCLUDE, 0.0, TP_OVERLAP_EXCLUDE_WINDOWS};
    if (overlap >= TP_OVERLAP_RESET) return (tp_copy_verdict){TP_COPY_RESET, 0.0, 0};
    if (overlap >= TP_OVERLAP_FLAG) return (tp_copy_verdict){TP_COPY_HALVE, 0.5, 0};
    return (tp_copy_verdict){TP_COPY_NONE, 1.0, 0};
}
