/* The outer step with protocol.outer_momentum (DiLoCo's outer SGD with Nesterov momentum), on a
 * hand-made gather: two outer steps from zero momentum follow torch.optim.SGD's formulas, with the
 * aggregate the plain outer step would apply, and the momentum survives a save and a load. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "neuron/gather.h"
#include "node_fixture.h"

#define W 12

static void run_momentum(int nesterov) {
    node_fixture f;
    fx_open(&f, 3, 1);
    tp_node *n = f.n;
    const tp_layout *L = &n->model->layout;
    const size_t total = L->total;
    tp_err err;
    n->rc.proto.outer_momentum = 0.9;
    n->rc.proto.outer_lr = 0.7;
    n->rc.proto.outer_nesterov = nesterov;
    cr_assert(n->outer_m = tp_alloc_aligned(2 * total * sizeof(float), &err));
    fx_kind kinds[3] = {FX_VALID, FX_VALID, FX_VALID};
    tp_window_gather g;
    fx_gather(&f, W, kinds, &g);
    tp_peer_list pl;
    fx_peers_all(&f, W, &pl);
    int idx[TP_AGG_MAX_PEERS], count = tp_node_select_applied(n, &pl, &g, idx);
    cr_assert_eq(count, 3);

    /* The aggregate, as the plain outer step applies it (θ = 0 at lr 1 leaves −a). */
    float *a = calloc(total, sizeof(float)), *theta = malloc(total * sizeof(float)), *m = calloc(total, sizeof(float));
    const tp_update *peers[3];
    uint32_t uids[3];
    for (int i = 0; i < 3; i++) peers[i] = &g.payload[idx[i]].update, uids[i] = (uint32_t)g.uid[idx[i]];
    cr_assert_eq(tp_outer_step(a, L, peers, uids, 3, 1.0f, n->ws, NULL, NULL, &err), TP_OK, "%s", err.msg);
    memcpy(theta, n->model->params, total * sizeof(float));
    for (int step = 0; step < 2; step++) {
        cr_assert_eq(tp_node_outer_step(n, &g, idx, count, &err), TP_OK, "%s", err.msg);
        for (size_t i = 0; i < total; i++) {
            float ai = -a[i];
            m[i] = 0.9f * m[i] + ai;
            theta[i] -= 0.7f * (nesterov ? ai + 0.9f * m[i] : m[i]);
        }
        for (size_t i = 0; i < total; i++) {
            cr_assert_float_eq(n->outer_m[i], m[i], 1e-6f * (1 + fabsf(m[i])), "step %d: m[%zu]", step, i);
            cr_assert_float_eq(n->model->params[i], theta[i], 1e-6f * (1 + fabsf(theta[i])), "step %d: θ[%zu]", step, i);
        }
    }
    /* Saved with the state, loaded into a cleared buffer. */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/momentum-state", f.dir);
    cr_assert_eq(tp_mkdirs(dir, &err), TP_OK);
    cr_assert_eq(tp_node_save_outer_momentum(n, dir, &err), TP_OK, "%s", err.msg);
    memset(n->outer_m, 0, total * sizeof(float));
    cr_assert_eq(tp_node_load_outer_momentum(n, dir, &err), TP_OK, "%s", err.msg);
    for (size_t i = 0; i < total; i++) cr_assert_float_eq(n->outer_m[i], m[i], 1e-6f * (1 + fabsf(m[i])));
    snprintf(dir, sizeof dir, "%s/no-such-state", f.dir);
    cr_assert_eq(tp_node_load_outer_momentum(n, dir, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "outer_momentum"), "%s", err.msg);
    free(a);
    free(theta);
    free(m);
    tp_window_gather_free(&g);
    fx_close(&f);
}

Test(outer_momentum, nesterov_follows_torch_sgd) { run_momentum(1); }
Test(outer_momentum, plain_momentum_follows_torch_sgd) { run_momentum(0); }
