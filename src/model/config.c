#include "model/config.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

typedef struct {
    const char *name;
    int dim, layers, heads, kv, ffn, vocab, seq;
    int batch;
    double lr;
} named_config;

/* DESIGN §4. Training defaults are sized for the CPU: tiny for tests, small for the demo. */
static const named_config named[] = {
    {"tiny", 64, 2, 4, 2, 192, 512, 64, 8, 3e-3},
    {"small", 256, 4, 8, 4, 768, 8192, 256, 8, 2e-3},
    {"base", 512, 8, 8, 4, 1536, 8192, 512, 4, 1e-3},
    {"150M", 1024, 12, 16, 16, 2816, 32000, 2048, 1, 6e-4},
    {"1B", 2048, 16, 8, 8, 8192, 32000, 2048, 1, 3e-4},
    {"70B", 8192, 80, 64, 8, 28672, 262144, 2048, 1, 1e-4},
};

tp_status tp_config_named(const char *name, tp_config *cfg, tp_err *err) {
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        const named_config *n = &named[i];
        if (strcmp(n->name, name)) continue;
        memset(cfg, 0, sizeof *cfg);
        cfg->model = (tp_model_config){.dim = n->dim, .n_layers = n->layers, .n_heads = n->heads,
                                       .n_kv_heads = n->kv, .ffn_dim = n->ffn, .vocab_size = n->vocab,
                                       .seq_len = n->seq, .rope_theta = 10000.0f, .norm_eps = 1e-5f,
                                       .tie_embeddings = 1};
        cfg->train = (tp_train_config){.batch_size = n->batch, .lr = n->lr, .beta1 = 0.9, .beta2 = 0.95,
                                       .eps = 1e-8, .weight_decay = 0.1, .grad_clip = 1.0,
                                       .warmup_steps = 20, .eta_min_factor = 0.1, .eval_every = 50,
                                       .eval_batches = 8, .checkpoint_every = 0, .seed = 1,
                                       .init_std = 0.02f};
        return TP_OK;
    }
    return tp_fail(err, TP_ERR_CONFIG, "unknown config name '%s' (known: tiny, small, base, 150M, 1B, 70B)", name);
}

/* Reads one JSON number into a typed field, naming the key on error. */
static tp_status get_int(json_t *v, const char *section, const char *key, int *out, tp_err *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
        return tp_fail(err, TP_ERR_CONFIG, "%s.%s must be a non-negative integer", section, key);
    *out = (int)json_integer_value(v);
    return TP_OK;
}

static tp_status get_num(json_t *v, const char *section, const char *key, double *out, tp_err *err) {
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return tp_fail(err, TP_ERR_CONFIG, "%s.%s must be a finite number", section, key);
    *out = json_number_value(v);
    return TP_OK;
}

static tp_status get_bool(json_t *v, const char *section, const char *key, int *out, tp_err *err) {
    if (!json_is_boolean(v)) return tp_fail(err, TP_ERR_CONFIG, "%s.%s must be true or false", section, key);
    *out = json_is_true(v);
    return TP_OK;
}

static tp_status model_from_json(json_t *obj, tp_model_config *m, tp_err *err) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        double d = 0;
        tp_status st = TP_OK;
        if (!strcmp(key, "dim")) st = get_int(v, "model", key, &m->dim, err);
        else if (!strcmp(key, "n_layers")) st = get_int(v, "model", key, &m->n_layers, err);
        else if (!strcmp(key, "n_heads")) st = get_int(v, "model", key, &m->n_heads, err);
        else if (!strcmp(key, "n_kv_heads")) st = get_int(v, "model", key, &m->n_kv_heads, err);
        else if (!strcmp(key, "ffn_dim")) st = get_int(v, "model", key, &m->ffn_dim, err);
        else if (!strcmp(key, "vocab_size")) st = get_int(v, "model", key, &m->vocab_size, err);
        else if (!strcmp(key, "seq_len")) st = get_int(v, "model", key, &m->seq_len, err);
        else if (!strcmp(key, "tie_embeddings")) st = get_bool(v, "model", key, &m->tie_embeddings, err);
        else if (!strcmp(key, "rope_theta")) {
            if (!(st = get_num(v, "model", key, &d, err))) m->rope_theta = (float)d;
        } else if (!strcmp(key, "norm_eps")) {
            if (!(st = get_num(v, "model", key, &d, err))) m->norm_eps = (float)d;
        } else
            return tp_fail(err, TP_ERR_CONFIG, "unknown key model.%s", key);
        if (st) return st;
    }
    return TP_OK;
}

static tp_status train_from_json(json_t *obj, tp_train_config *t, tp_err *err) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        double d = 0;
        int i = 0;
        tp_status st = TP_OK;
        if (!strcmp(key, "batch_size")) st = get_int(v, "train", key, &t->batch_size, err);
        else if (!strcmp(key, "lr")) st = get_num(v, "train", key, &t->lr, err);
        else if (!strcmp(key, "beta1")) st = get_num(v, "train", key, &t->beta1, err);
        else if (!strcmp(key, "beta2")) st = get_num(v, "train", key, &t->beta2, err);
        else if (!strcmp(key, "eps")) st = get_num(v, "train", key, &t->eps, err);
        else if (!strcmp(key, "weight_decay")) st = get_num(v, "train", key, &t->weight_decay, err);
        else if (!strcmp(key, "grad_clip")) st = get_num(v, "train", key, &t->grad_clip, err);
        else if (!strcmp(key, "warmup_steps")) st = get_int(v, "train", key, &t->warmup_steps, err);
        else if (!strcmp(key, "eta_min_factor")) st = get_num(v, "train", key, &t->eta_min_factor, err);
        else if (!strcmp(key, "eval_every")) st = get_int(v, "train", key, &t->eval_every, err);
        else if (!strcmp(key, "eval_batches")) st = get_int(v, "train", key, &t->eval_batches, err);
        else if (!strcmp(key, "checkpoint_every")) st = get_int(v, "train", key, &t->checkpoint_every, err);
        else if (!strcmp(key, "seed")) {
            if (!(st = get_int(v, "train", key, &i, err))) t->seed = (uint64_t)i;
        } else if (!strcmp(key, "init_std")) {
            if (!(st = get_num(v, "train", key, &d, err))) t->init_std = (float)d;
        } else
            return tp_fail(err, TP_ERR_CONFIG, "unknown key train.%s", key);
        if (st) return st;
    }
    return TP_OK;
}

tp_status tp_config_from_json(json_t *root, tp_config *cfg, tp_err *err) {
    if (!json_is_object(root)) return tp_fail(err, TP_ERR_CONFIG, "config must be a JSON object");
    json_t *base = json_object_get(root, "base");
    if (base && !json_is_string(base)) return tp_fail(err, TP_ERR_CONFIG, "base must be a config name");
    tp_status st = tp_config_named(base ? json_string_value(base) : "small", cfg, err);
    if (st) return st;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "base")) continue;
        if (!strcmp(key, "model") || !strcmp(key, "train")) {
            if (!json_is_object(v)) return tp_fail(err, TP_ERR_CONFIG, "%s must be an object", key);
            st = !strcmp(key, "model") ? model_from_json(v, &cfg->model, err) : train_from_json(v, &cfg->train, err);
            if (st) return st;
        } else
            return tp_fail(err, TP_ERR_CONFIG, "unknown key %s (expected base, model, train)", key);
    }
    if ((st = tp_model_config_validate(&cfg->model, err))) return st;
    return tp_train_config_validate(&cfg->train, err);
}

tp_status tp_config_load_file(const char *path, tp_config *cfg, tp_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return tp_fail(err, TP_ERR_CONFIG, "%s:%d: %s", path, je.line, je.text);
    tp_status st = tp_config_from_json(root, cfg, err);
    json_decref(root);
    return st ? tp_wrap(err, "%s", path) : TP_OK;
}

bool tp_config_is_path(const char *name_or_path) {
    size_t n = strlen(name_or_path);
    return strchr(name_or_path, '/') || (n > 5 && !strcmp(name_or_path + n - 5, ".json"));
}

tp_status tp_config_resolve(const char *name_or_path, tp_config *cfg, tp_err *err) {
    if (tp_config_is_path(name_or_path)) return tp_config_load_file(name_or_path, cfg, err);
    return tp_config_named(name_or_path, cfg, err);
}

tp_status tp_model_config_validate(const tp_model_config *m, tp_err *err) {
    if (m->dim <= 0) return tp_fail(err, TP_ERR_CONFIG, "dim (hidden_size) must be positive");
    if (m->n_layers <= 0) return tp_fail(err, TP_ERR_CONFIG, "n_layers (num_hidden_layers) must be positive");
    if (m->n_heads <= 0) return tp_fail(err, TP_ERR_CONFIG, "n_heads (num_attention_heads) must be positive");
    if (m->n_kv_heads <= 0) return tp_fail(err, TP_ERR_CONFIG, "n_kv_heads (num_key_value_heads) must be positive");
    if (m->ffn_dim <= 0) return tp_fail(err, TP_ERR_CONFIG, "ffn_dim (intermediate_size) must be positive");
    if (m->vocab_size <= 0) return tp_fail(err, TP_ERR_CONFIG, "vocab_size must be positive");
    if (m->seq_len <= 1) return tp_fail(err, TP_ERR_CONFIG, "seq_len (max_position_embeddings) must be at least 2");
    if (m->dim % m->n_heads)
        return tp_fail(err, TP_ERR_CONFIG, "n_heads (%d) must divide dim (%d)", m->n_heads, m->dim);
    if (m->n_heads % m->n_kv_heads)
        return tp_fail(err, TP_ERR_CONFIG, "n_kv_heads (%d) must divide n_heads (%d)", m->n_kv_heads, m->n_heads);
    if ((m->dim / m->n_heads) % 2)
        return tp_fail(err, TP_ERR_CONFIG, "head dimension dim/n_heads (%d) must be even for RoPE", m->dim / m->n_heads);
    if (!(m->rope_theta > 0) || !isfinite(m->rope_theta)) return tp_fail(err, TP_ERR_CONFIG, "rope_theta must be positive");
    if (!(m->norm_eps > 0) || !isfinite(m->norm_eps)) return tp_fail(err, TP_ERR_CONFIG, "norm_eps (rms_norm_eps) must be positive");
    return TP_OK;
}

tp_status tp_train_config_validate(const tp_train_config *t, tp_err *err) {
    if (t->batch_size <= 0) return tp_fail(err, TP_ERR_CONFIG, "train.batch_size must be positive");
    if (!(t->lr > 0)) return tp_fail(err, TP_ERR_CONFIG, "train.lr must be positive");
    if (!(t->beta1 >= 0 && t->beta1 < 1)) return tp_fail(err, TP_ERR_CONFIG, "train.beta1 must be in [0, 1)");
    if (!(t->beta2 >= 0 && t->beta2 < 1)) return tp_fail(err, TP_ERR_CONFIG, "train.beta2 must be in [0, 1)");
    if (!(t->eps > 0)) return tp_fail(err, TP_ERR_CONFIG, "train.eps must be positive");
    if (!(t->weight_decay >= 0)) return tp_fail(err, TP_ERR_CONFIG, "train.weight_decay must be non-negative");
    if (!(t->grad_clip >= 0)) return tp_fail(err, TP_ERR_CONFIG, "train.grad_clip must be non-negative (0 disables)");
    if (!(t->eta_min_factor >= 0 && t->eta_min_factor <= 1))
        return tp_fail(err, TP_ERR_CONFIG, "train.eta_min_factor must be in [0, 1]");
    if (t->eval_batches <= 0) return tp_fail(err, TP_ERR_CONFIG, "train.eval_batches must be positive");
    if (!(t->init_std > 0)) return tp_fail(err, TP_ERR_CONFIG, "train.init_std must be positive");
    return TP_OK;
}

/* HF config.json: required keys are checked and named; keys we do not use are allowed because HF
 * writes many (torch_dtype, transformers_version, ...). Keys that change the maths are refused. */
tp_status tp_model_config_from_hf(json_t *root, tp_model_config *m, tp_err *err) {
    if (!json_is_object(root)) return tp_fail(err, TP_ERR_CONFIG, "config.json must be a JSON object");
    static const struct {
        const char *key;
        size_t off;
    } ints[] = {
        {"hidden_size", offsetof(tp_model_config, dim)},
        {"intermediate_size", offsetof(tp_model_config, ffn_dim)},
        {"num_hidden_layers", offsetof(tp_model_config, n_layers)},
        {"num_attention_heads", offsetof(tp_model_config, n_heads)},
        {"vocab_size", offsetof(tp_model_config, vocab_size)},
        {"max_position_embeddings", offsetof(tp_model_config, seq_len)},
    };
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        json_t *v = json_object_get(root, ints[i].key);
        if (!v) return tp_fail(err, TP_ERR_CONFIG, "config.json lacks %s", ints[i].key);
        tp_status st = get_int(v, "config.json", ints[i].key, (int *)((char *)m + ints[i].off), err);
        if (st) return st;
    }
    json_t *v = json_object_get(root, "num_key_value_heads");
    m->n_kv_heads = m->n_heads;
    if (v && get_int(v, "config.json", "num_key_value_heads", &m->n_kv_heads, err)) return err->code;
    double d = 1e-6;
    if ((v = json_object_get(root, "rms_norm_eps")) && get_num(v, "config.json", "rms_norm_eps", &d, err)) return err->code;
    m->norm_eps = (float)d;
    d = 10000.0;
    if ((v = json_object_get(root, "rope_theta")) && get_num(v, "config.json", "rope_theta", &d, err)) return err->code;
    m->rope_theta = (float)d;
    m->tie_embeddings = 0;
    if ((v = json_object_get(root, "tie_word_embeddings")) && get_bool(v, "config.json", "tie_word_embeddings", &m->tie_embeddings, err))
        return err->code;
    if ((v = json_object_get(root, "hidden_act")) && (!json_is_string(v) || strcmp(json_string_value(v), "silu")))
        return tp_fail(err, TP_ERR_CONFIG, "config.json hidden_act must be \"silu\"");
    if ((v = json_object_get(root, "rope_scaling")) && !json_is_null(v))
        return tp_fail(err, TP_ERR_CONFIG, "config.json rope_scaling is not supported");
    static const char *no_bias[] = {"attention_bias", "mlp_bias"};
    for (int i = 0; i < 2; i++)
        if ((v = json_object_get(root, no_bias[i])) && json_is_true(v))
            return tp_fail(err, TP_ERR_CONFIG, "config.json %s must be false", no_bias[i]);
    tp_status st = tp_model_config_validate(m, err);
    return st ? tp_wrap(err, "config.json") : TP_OK;
}

json_t *tp_model_config_to_hf(const tp_model_config *m) {
    return json_pack("{s:[s], s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:b, s:s, s:b, s:b, s:f, s:s}",
                     "architectures", "LlamaForCausalLM", "model_type", "llama", "hidden_size", m->dim,
                     "intermediate_size", m->ffn_dim, "num_hidden_layers", m->n_layers, "num_attention_heads",
                     m->n_heads, "num_key_value_heads", m->n_kv_heads, "vocab_size", m->vocab_size,
                     "max_position_embeddings", m->seq_len, "rms_norm_eps", (double)m->norm_eps, "rope_theta",
                     (double)m->rope_theta, "tie_word_embeddings", m->tie_embeddings, "hidden_act", "silu",
                     "attention_bias", 0, "mlp_bias", 0, "initializer_range", 0.02, "torch_dtype", "float32");
}

int64_t tp_model_param_count(const tp_model_config *m) {
    int64_t d = m->dim, hd = m->dim / m->n_heads, kvd = (int64_t)m->n_kv_heads * hd, f = m->ffn_dim, v = m->vocab_size;
    int64_t layer = 2 * d + d * d + 2 * kvd * d + d * d + 3 * f * d;
    return v * d * (m->tie_embeddings ? 1 : 2) + d + m->n_layers * layer;
}

json_t *tp_train_config_to_json(const tp_train_config *t) {
    return json_pack("{si sf sf sf sf sf sf si sf si si si sI sf}", "batch_size", t->batch_size, "lr", t->lr, "beta1",
                     t->beta1, "beta2", t->beta2, "eps", t->eps, "weight_decay", t->weight_decay, "grad_clip",
                     t->grad_clip, "warmup_steps", t->warmup_steps, "eta_min_factor", t->eta_min_factor, "eval_every",
                     t->eval_every, "eval_batches", t->eval_batches, "checkpoint_every", t->checkpoint_every, "seed",
                     (json_int_t)t->seed, "init_std", (double)t->init_std);
}

json_t *tp_model_config_to_json(const tp_model_config *m) {
    return json_pack("{si si si si si si si sf sf sb}", "dim", m->dim, "n_layers", m->n_layers, "n_heads", m->n_heads,
                     "n_kv_heads", m->n_kv_heads, "ffn_dim", m->ffn_dim, "vocab_size", m->vocab_size, "seq_len",
                     m->seq_len, "rope_theta", (double)m->rope_theta, "norm_eps", (double)m->norm_eps,
                     "tie_embeddings", m->tie_embeddings);
}
