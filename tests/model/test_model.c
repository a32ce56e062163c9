/* Model layer: configs, layout, forward/backward properties, AdamW, schedule, checkpoints. Exact
 * maths against PyTorch lives in tests/parity. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "model/adamw.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/llama.h"
#include "model/train_step.h"

static tp_config tiny(void) {
    tp_config c;
    tp_err err;
    cr_assert_eq(tp_config_named("tiny", &c, &err), TP_OK);
    return c;
}

Test(config, named_sizes_match_design) {
    static const struct {
        const char *name;
        double params, tolerance;
    } want[] = {{"tiny", 0.1e6, 0.5}, {"small", 5.2e6, 0.05}, {"base", 29e6, 0.05},
                {"150M", 187e6, 0.05}, {"1B", 1.1e9, 0.1}, {"70B", 70.6e9, 0.05}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        tp_config c;
        tp_err err;
        cr_assert_eq(tp_config_named(want[i].name, &c, &err), TP_OK);
        cr_assert_eq(tp_model_config_validate(&c.model, &err), TP_OK, "%s: %s", want[i].name, err.msg);
        double n = (double)tp_model_param_count(&c.model);
        /* DESIGN §4 gives rounded figures ("~0.1M" for tiny). */
        cr_assert(fabs(n - want[i].params) / want[i].params < want[i].tolerance, "%s has %.0f params, DESIGN says ~%.0f",
                  want[i].name, n, want[i].params);
    }
    tp_config c;
    tp_err err;
    cr_assert_neq(tp_config_named("huge", &c, &err), TP_OK);
    cr_assert(strstr(err.msg, "huge"));
}

static void expect_json_error(const char *json, const char *needle) {
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    cr_assert(root, "test JSON invalid: %s", je.text);
    tp_config c;
    tp_err err = {0};
    cr_assert_neq(tp_config_from_json(root, &c, &err), TP_OK, "accepted %s", json);
    cr_assert(strstr(err.msg, needle), "error for %s was '%s', expected it to name '%s'", json, err.msg, needle);
    json_decref(root);
}

Test(config, impossible_values_name_the_field) {
    expect_json_error("{\"model\": {\"dim\": 100, \"n_heads\": 3}}", "n_heads");
    expect_json_error("{\"model\": {\"n_heads\": 8, \"n_kv_heads\": 3}}", "n_kv_heads");
    expect_json_error("{\"model\": {\"dim\": 24, \"n_heads\": 8, \"n_kv_heads\": 8}}", "even");
    expect_json_error("{\"model\": {\"dimm\": 64}}", "model.dimm");
    expect_json_error("{\"train\": {\"lr\": -1}}", "train.lr");
    expect_json_error("{\"train\": {\"batch_size\": \"8\"}}", "train.batch_size");
    expect_json_error("{\"optimizer\": {}}", "optimizer");
    expect_json_error("{\"base\": \"nope\"}", "nope");
    expect_json_error("{\"model\": {\"vocab_size\": 0}}", "vocab_size");
}

Test(config, hf_round_trip) {
    tp_config c = tiny();
    c.model.tie_embeddings = 0;
    json_t *hf = tp_model_config_to_hf(&c.model);
    tp_model_config back;
    tp_err err;
    cr_assert_eq(tp_model_config_from_hf(hf, &back, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(&back, &c.model, sizeof back), 0);
    json_object_del(hf, "num_attention_heads");
    cr_assert_neq(tp_model_config_from_hf(hf, &back, &err), TP_OK);
    cr_assert(strstr(err.msg, "num_attention_heads"), "%s", err.msg);
    json_decref(hf);
}

Test(layout, counts_every_parameter_once) {
    for (int tied = 0; tied < 2; tied++) {
        tp_config c = tiny();
        c.model.tie_embeddings = tied;
        tp_layout L;
        tp_err err;
        cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
        cr_assert_eq((int64_t)L.total, tp_model_param_count(&c.model));
        size_t sum = 0;
        for (int i = 0; i < L.n_tensors; i++) sum += L.tensors[i].count;
        cr_assert_eq(sum, L.total);
        cr_assert_eq(tp_layout_find(&L, "lm_head.weight") != NULL, !tied);
        cr_assert_eq(L.tensors[0].offset, 0);
        tp_layout_free(&L);
    }
}

static tp_llama *tiny_model(int b, int t) {
    tp_config c = tiny();
    tp_llama *m;
    tp_err err;
    cr_assert_eq(tp_llama_create(&c.model, b, t, 1, &m, &err), TP_OK, "%s", err.msg);
    tp_llama_init_random(m, 7, 0.02f);
    return m;
}

static void random_tokens(int32_t *tok, int n, int vocab, unsigned seed) {
    for (int i = 0; i < n; i++) tok[i] = (int32_t)((seed = seed * 1103515245u + 12345u) >> 8) % vocab;
}

Test(llama, initial_loss_is_near_uniform) {
    tp_llama *m = tiny_model(2, 16);
    int32_t tok[32];
    random_tokens(tok, 32, 512, 1);
    float loss;
    tp_err err;
    cr_assert_eq(tp_llama_forward(m, tok, 2, 16, -1, &loss, &err), TP_OK);
    cr_assert(fabsf(loss - logf(512.0f)) < 0.05f, "loss %f vs ln(512) %f", loss, logf(512.0f));
    cr_assert_eq(tp_llama_last_target_count(m), 2 * 15);
    tp_llama_free(m);
}

Test(llama, ignored_targets_do_not_count) {
    tp_llama *m = tiny_model(1, 8);
    int32_t tok[8] = {5, 0, 7, 0, 9, 11, 0, 3};
    float loss;
    tp_err err;
    cr_assert_eq(tp_llama_forward(m, tok, 1, 8, 0, &loss, &err), TP_OK);
    cr_assert_eq(tp_llama_last_target_count(m), 4); /* targets 0,7,0,9,11,0,3 minus three zeros */
    tp_llama_free(m);
}

Test(llama, rejects_tokens_outside_vocab_and_oversized_batches) {
    tp_llama *m = tiny_model(1, 8);
    int32_t tok[8] = {1, 2, 3, 512, 4, 5, 6, 7};
    float loss;
    tp_err err;
    cr_assert_eq(tp_llama_forward(m, tok, 1, 8, -1, &loss, &err), TP_ERR_ARG);
    cr_assert(strstr(err.msg, "512"), "%s", err.msg);
    tok[3] = 1;
    cr_assert_eq(tp_llama_forward(m, tok, 2, 8, -1, &loss, &err), TP_ERR_ARG);
    tp_llama_free(m);
}

Test(llama, gradients_are_deterministic_and_match_finite_differences) {
    tp_llama *m = tiny_model(2, 12);
    int32_t tok[24];
    random_tokens(tok, 24, 512, 3);
    float loss;
    tp_err err;
    cr_assert_eq(tp_llama_forward(m, tok, 2, 12, -1, &loss, &err), TP_OK);
    tp_llama_backward(m);
    size_t n = m->layout.total;
    float *g1 = malloc(n * sizeof(float));
    memcpy(g1, m->grads, n * sizeof(float));
    cr_assert_eq(tp_llama_forward(m, tok, 2, 12, -1, &loss, &err), TP_OK);
    tp_llama_backward(m);
    cr_assert_eq(memcmp(g1, m->grads, n * sizeof(float)), 0, "backward is not deterministic");
    /* Central differences along the gradient direction: d/dε L(θ + ε·g/|g|) = |g|. */
    double norm = tp_grad_norm(g1, n), eps = 1e-2;
    float lp, lm;
    for (size_t i = 0; i < n; i++) m->params[i] += (float)(eps * g1[i] / norm);
    tp_llama_forward(m, tok, 2, 12, -1, &lp, &err);
    for (size_t i = 0; i < n; i++) m->params[i] -= (float)(2 * eps * g1[i] / norm);
    tp_llama_forward(m, tok, 2, 12, -1, &lm, &err);
    double fd = ((double)lp - lm) / (2 * eps);
    cr_assert(fabs(fd - norm) / norm < 0.02, "finite difference %g vs gradient norm %g", fd, norm);
    free(g1);
    tp_llama_free(m);
}

Test(adamw, one_step_matches_the_formula) {
    tp_config c = tiny();
    tp_layout L;
    tp_err err;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_adamw opt;
    cr_assert_eq(tp_adamw_init(&opt, &L, &err), TP_OK);
    float *p = calloc(L.total, sizeof(float)), *g = calloc(L.total, sizeof(float));
    for (size_t i = 0; i < L.total; i++) {
        p[i] = 0.5f;
        g[i] = 0.1f;
    }
    c.train.lr = 0.01;
    c.train.weight_decay = 0.1;
    tp_adamw_step(&opt, &L, p, g, &c.train, c.train.lr);
    /* Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) = lr (almost exactly). */
    float want2d = 0.5f * (1 - 0.01f * 0.1f) - 0.01f * 0.1f / (0.1f + 1e-8f);
    float want1d = 0.5f - 0.01f * 0.1f / (0.1f + 1e-8f);
    const tp_tensor_info *wq = tp_layout_find(&L, "model.layers.0.self_attn.q_proj.weight");
    const tp_tensor_info *norm = tp_layout_find(&L, "model.norm.weight");
    cr_assert_float_eq(p[wq->offset], want2d, 1e-7);
    cr_assert_float_eq(p[norm->offset], want1d, 1e-7, "1-D tensors get no weight decay");
    cr_assert_eq(opt.step, 1);
    free(p);
    free(g);
    tp_adamw_free(&opt);
    tp_layout_free(&L);
}

/* A reset optimizer's next step is a fresh optimizer's first (bias correction counted from the
 * reset), while its step count, the schedule's clock, goes on. */
Test(adamw, reset_moments_acts_as_a_fresh_start) {
    tp_config c = tiny();
    tp_layout L;
    tp_err err;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_adamw used, fresh;
    cr_assert_eq(tp_adamw_init(&used, &L, &err), TP_OK);
    cr_assert_eq(tp_adamw_init(&fresh, &L, &err), TP_OK);
    float *p = calloc(L.total, sizeof(float)), *q = calloc(L.total, sizeof(float)), *g = calloc(L.total, sizeof(float));
    for (size_t i = 0; i < L.total; i++) g[i] = (float)((i % 7) - 3) * 0.01f;
    for (int s = 0; s < 3; s++) tp_adamw_step(&used, &L, p, g, &c.train, 0.01);
    for (size_t i = 0; i < L.total; i++) g[i] = (float)((i % 5) - 2) * 0.02f;
    memcpy(q, p, sizeof(float) * L.total);
    tp_adamw_reset_moments(&used, L.total);
    tp_adamw_step(&used, &L, p, g, &c.train, 0.01);
    tp_adamw_step(&fresh, &L, q, g, &c.train, 0.01);
    cr_assert_eq(memcmp(p, q, sizeof(float) * L.total), 0);
    cr_assert_eq(used.step, 4);
    free(p);
    free(q);
    free(g);
    tp_adamw_free(&used);
    tp_adamw_free(&fresh);
    tp_layout_free(&L);
}

Test(adamw, clipping_scales_to_the_max_norm) {
    float g[4] = {3, 4, 0, 0};
    double before = tp_clip_grads(g, 4, 1.0);
    cr_assert_float_eq(before, 5.0, 1e-9);
    cr_assert_float_eq(tp_grad_norm(g, 4), 1.0, 1e-5);
    float h[2] = {0.3f, 0.4f};
    tp_clip_grads(h, 2, 1.0);
    cr_assert_eq(h[0], 0.3f, "no clipping below the max norm");
}

Test(schedule, warmup_then_cosine) {
    tp_config c = tiny();
    c.train.lr = 1.0;
    c.train.warmup_steps = 10;
    c.train.eta_min_factor = 0.1;
    cr_assert_float_eq(tp_lr_at(&c.train, 0, 100), 1e-6, 1e-12);
    cr_assert_float_eq(tp_lr_at(&c.train, 5, 100), 1e-6 + (1 - 1e-6) * 0.5, 1e-9);
    cr_assert_float_eq(tp_lr_at(&c.train, 10, 100), 1.0, 1e-12);
    cr_assert_float_eq(tp_lr_at(&c.train, 55, 100), 0.55, 1e-9);
    cr_assert_float_eq(tp_lr_at(&c.train, 100, 100), 0.1, 1e-12);
    for (int s = 11; s <= 100; s++) cr_assert(tp_lr_at(&c.train, s, 100) <= tp_lr_at(&c.train, s - 1, 100));
}

Test(train_step, overfits_one_batch) {
    tp_llama *m = tiny_model(2, 16);
    tp_config c = tiny();
    tp_adamw opt;
    tp_err err;
    cr_assert_eq(tp_adamw_init(&opt, &m->layout, &err), TP_OK);
    int32_t tok[32];
    random_tokens(tok, 32, 512, 9);
    tp_step_result r, first = {0};
    for (int s = 0; s < 40; s++) {
        cr_assert_eq(tp_train_step(m, &opt, &c.train, tok, 2, 16, -1, 3e-3, &r, &err), TP_OK, "%s", err.msg);
        if (!s) first = r;
    }
    cr_assert(r.loss < 0.5f * first.loss, "loss %f -> %f", first.loss, r.loss);
    tp_adamw_free(&opt);
    tp_llama_free(m);
}

Test(train_step, non_finite_loss_leaves_parameters_untouched) {
    tp_llama *m = tiny_model(1, 8);
    tp_config c = tiny();
    tp_adamw opt;
    tp_err err;
    cr_assert_eq(tp_adamw_init(&opt, &m->layout, &err), TP_OK);
    m->params[m->layout.norm] = NAN;
    size_t n = m->layout.total * sizeof(float);
    float *before = malloc(n);
    memcpy(before, m->params, n);
    int32_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tp_step_result r;
    cr_assert_eq(tp_train_step(m, &opt, &c.train, tok, 1, 8, -1, 1e-3, &r, &err), TP_ERR_NUMERIC);
    cr_assert(strstr(err.msg, "loss"), "%s", err.msg);
    cr_assert_eq(memcmp(before, m->params, n), 0);
    free(before);
    tp_adamw_free(&opt);
    tp_llama_free(m);
}

Test(checkpoint, round_trip_and_atomic_replace) {
    char dir[] = "/tmp/templar-ckpt-XXXXXX";
    cr_assert(mkdtemp(dir));
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/ck", dir);
    tp_llama *m = tiny_model(1, 8);
    tp_adamw opt;
    tp_err err;
    cr_assert_eq(tp_adamw_init(&opt, &m->layout, &err), TP_OK);
    for (size_t i = 0; i < m->layout.total; i++) opt.m[i] = (float)i, opt.v[i] = 1.0f / (float)(i + 1);
    opt.step = 42;
    json_t *tj = json_pack("{si}", "batch_size", 3);
    float *ef = calloc(m->layout.total, sizeof(float));
    for (size_t i = 0; i < m->layout.total; i++) ef[i] = 0.001f * (float)(i % 97) - 0.03f;
    cr_assert_eq(tp_checkpoint_save(ck, m, &opt, ef, tj, NULL, 0, &err), TP_OK, "%s", err.msg);

    tp_model_config cfg;
    cr_assert_eq(tp_checkpoint_read_config(ck, &cfg, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(&cfg, &m->cfg, sizeof cfg), 0);
    tp_llama *back;
    cr_assert_eq(tp_llama_create(&cfg, 1, 8, 0, &back, &err), TP_OK);
    cr_assert_eq(tp_checkpoint_load_weights(ck, back, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(back->params, m->params, m->layout.total * sizeof(float)), 0);
    tp_adamw opt2;
    json_t *tj2 = NULL;
    cr_assert_eq(tp_adamw_init(&opt2, &m->layout, &err), TP_OK);
    cr_assert_eq(tp_checkpoint_load_optimizer(ck, &m->layout, &opt2, &tj2, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(opt2.step, 42);
    cr_assert_eq(memcmp(opt2.m, opt.m, 2 * m->layout.total * sizeof(float)), 0);
    cr_assert(json_equal(tj, tj2));
    float *ef2 = calloc(m->layout.total, sizeof(float));
    cr_assert_eq(tp_checkpoint_load_error_feedback(ck, &m->layout, ef2, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(ef, ef2, m->layout.total * sizeof(float)), 0, "error feedback must survive a checkpoint");
    free(ef);
    free(ef2);

    /* A truncated weights file fails with a message naming it; the model is not half-loaded. */
    char wpath[4300];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", ck);
    uint8_t *bytes;
    size_t len;
    cr_assert_eq(tp_read_file(wpath, 1u << 30, &bytes, &len, &err), TP_OK);
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/bad", dir);
    tp_mkdirs(bad, &err);
    char bpath[4300];
    snprintf(bpath, sizeof bpath, "%s/model.safetensors", bad);
    cr_assert_eq(tp_write_file_atomic(bpath, bytes, len / 2, &err), TP_OK);
    cr_assert_neq(tp_checkpoint_load_weights(bad, back, &err), TP_OK);
    cr_assert(strstr(err.msg, "model.safetensors"), "%s", err.msg);

    /* Saving again replaces the directory as a whole. */
    m->params[0] = 123.0f;
    cr_assert_eq(tp_checkpoint_save(ck, m, NULL, NULL, NULL, NULL, 0, &err), TP_OK);
    cr_assert_eq(tp_checkpoint_load_weights(ck, back, &err), TP_OK);
    cr_assert_eq(back->params[0], 123.0f);
    char opath[4300];
    snprintf(opath, sizeof opath, "%s/optimizer.safetensors", ck);
    cr_assert(!tp_path_exists(opath), "the old directory's files must not survive a replace");

    free(bytes);
    json_decref(tj);
    json_decref(tj2);
    tp_adamw_free(&opt);
    tp_adamw_free(&opt2);
    tp_llama_free(m);
    tp_llama_free(back);
    tp_remove_tree(dir, &err);
}
