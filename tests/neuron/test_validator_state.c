#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fileio.h"
#include "neuron/validator_state.h"

Test(validator_state, survives_reopen) {
    char dir[] = "/tmp/templar-vstate-XXXXXX", path[64];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/v.db", dir);
    tp_openskill_params os = tp_openskill_defaults();
    tp_vminer m[4], back[4];
    for (int i = 0; i < 4; i++) tp_vminer_reset(&m[i], &os), tp_vminer_reset(&back[i], &os);
    m[2].rating.mu = 31.5;
    m[2].binary_ma = 0.25;
    m[2].n_evals = 9;
    m[2].n_pos = 8;
    m[3].quarantine_until = 250;
    float prev[4] = {1, 2, 3, 4}, ema[4] = {.5f, .25f, .125f, 1}, p2[4], e2[4];
    tp_vstate *s;
    tp_err err;
    int64_t last;
    int have;
    cr_assert_eq(tp_vstate_open(path, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_vstate_load(s, &last, back, 4, p2, e2, 4, &have, &err), TP_OK);
    cr_assert(last == -1 && !have, "a new state names no window");
    cr_assert_eq(tp_vstate_save(s, 17, m, 4, prev, ema, 4, 1, &err), TP_OK, "%s", err.msg);
    tp_vstate_close(s);
    cr_assert_eq(tp_vstate_open(path, &s, &err), TP_OK);
    cr_assert_eq(tp_vstate_load(s, &last, back, 4, p2, e2, 4, &have, &err), TP_OK);
    cr_assert_eq(last, 17);
    cr_assert(have && p2[3] == 4 && e2[2] == .125f);
    cr_assert(back[2].rating.mu == 31.5 && back[2].binary_ma == 0.25 && back[2].n_evals == 9 && back[2].n_pos == 8);
    cr_assert_eq(back[3].quarantine_until, 250);
    cr_assert_eq(back[0].last_eval, -1);
    tp_vstate_close(s);
    tp_remove_tree(dir, &err);
}
