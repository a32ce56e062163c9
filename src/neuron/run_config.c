#include "neuron/run_config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fileio.h"

void tp_protocol_default(tp_protocol *p) {
    memset(p, 0, sizeof *p);
    snprintf(p->run_version, sizeof p->run_version, "1");
    p->inner_steps = 8;
    p->outer_lr = 0.8; /* 0.8 and ef_beta 0.9: measured best on small at 4 and 8 miners (docs/BENCHMARKS.md) */
    p->clip = 1;
    p->outer_nesterov = 1;
    p->ef_beta = 0.9;
    p->eval_lr_factor = 0.25; /* the Gauntlet steps 0.2, as when outer_lr was 1 */
    p->eval_samples = 64;
    p->uids_per_window = 15;
    p->put_window_blocks = 2;
    p->gather_timeout_s = 20;
    p->null_rounds = 1;
    p->checkpoint_frequency = 5;
    p->retention_windows = 12;
    p->heldout_batches = 2;
    p->weights_every = 2;
    p->gate_alpha = 1e-3;
    p->gate_horizon = 1000;
    p->gather_peers = 20;
    p->reserve_peers = 10;
    p->burn_uid = 0;
    p->burn_rate = 0.5;
}

tp_status tp_protocol_check(const tp_protocol *p, tp_err *err) {
    if (!tp_version_valid(p->run_version))
        return tp_fail(err, TP_ERR_CONFIG, "protocol.run_version must be 1-63 of [A-Za-z0-9._-]");
#define RANGE(f, lo, hi)                                                                                               \
    if (!(p->f >= (lo) && p->f <= (hi)))                                                                               \
        return tp_fail(err, TP_ERR_CONFIG, "protocol." #f " must be in [%g, %g]", (double)(lo), (double)(hi));
    RANGE(inner_steps, 1, 1000000)
    RANGE(outer_lr, 1e-6, 1e3)
    RANGE(ef_beta, 0, 1)
    RANGE(outer_momentum, 0, 0.999)
    RANGE(eval_lr_factor, 1e-6, 1e3)
    RANGE(eval_samples, 1, 100000)
    RANGE(uids_per_window, 1, 1024)
    RANGE(put_window_blocks, 1, 1000000)
    RANGE(gather_timeout_s, 0.1, 86400)
    RANGE(null_rounds, 0, 1000000)
    RANGE(checkpoint_frequency, 1, 1000000)
    RANGE(retention_windows, 2, 1000000)
    RANGE(heldout_batches, 0, 100000)
    RANGE(weights_every, 1, 1000000)
    RANGE(gate_alpha, 1e-12, 0.5)
    RANGE(gate_horizon, 1, 1e12)
    RANGE(gather_peers, 1, 256)
    RANGE(reserve_peers, 0, 256)
    RANGE(burn_uid, 0, 1023)
    RANGE(burn_rate, 0, 1)
#undef RANGE
    return TP_OK;
}

static tp_status num(json_t *v, const char *key, double *out, tp_err *err) {
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return tp_fail(err, TP_ERR_CONFIG, "protocol.%s must be a number", key);
    *out = json_number_value(v);
    return TP_OK;
}

static tp_status integer(json_t *v, const char *key, int *out, tp_err *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
        return tp_fail(err, TP_ERR_CONFIG, "protocol.%s must be a non-negative integer", key);
    *out = (int)json_integer_value(v);
    return TP_OK;
}

static tp_status boolean(json_t *v, const char *key, int *out, tp_err *err) {
    if (!json_is_boolean(v)) return tp_fail(err, TP_ERR_CONFIG, "protocol.%s must be true or false", key);
    *out = json_is_true(v);
    return TP_OK;
}

static tp_status protocol_from_json(json_t *obj, tp_protocol *p, tp_err *err) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        tp_status st;
        if (!strcmp(key, "run_version")) {
            if (!json_is_string(v) || !tp_version_valid(json_string_value(v)))
                return tp_fail(err, TP_ERR_CONFIG, "protocol.run_version must be 1-63 of [A-Za-z0-9._-]");
            snprintf(p->run_version, sizeof p->run_version, "%s", json_string_value(v));
            continue;
        }
#define INT(f) else if (!strcmp(key, #f)) st = integer(v, key, &p->f, err);
#define NUM(f) else if (!strcmp(key, #f)) st = num(v, key, &p->f, err);
#define BOOL(f) else if (!strcmp(key, #f)) st = boolean(v, key, &p->f, err);
        if (0) st = TP_OK;
        INT(inner_steps) NUM(outer_lr) NUM(ef_beta) NUM(eval_lr_factor) INT(eval_samples) INT(uids_per_window)
        INT(put_window_blocks) NUM(gather_timeout_s) INT(null_rounds) INT(checkpoint_frequency)
        INT(retention_windows) INT(heldout_batches) INT(weights_every) NUM(gate_alpha) NUM(gate_horizon) INT(gather_peers)
        INT(reserve_peers) INT(burn_uid) NUM(burn_rate) BOOL(mean_over_all) BOOL(clip) BOOL(reset_inner_optimizer)
        NUM(outer_momentum) BOOL(outer_nesterov)
        else return tp_fail(err, TP_ERR_CONFIG, "unknown key protocol.%s", key);
#undef INT
#undef NUM
#undef BOOL
        if (st) return st;
    }
    return tp_protocol_check(p, err);
}

static tp_status codec_from_json(json_t *obj, tp_codec_params *c, tp_err *err) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (!strcmp(key, "topk") || !strcmp(key, "bins") || !strcmp(key, "chunk")) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1 << 20)
                return tp_fail(err, TP_ERR_CONFIG, "codec.%s must be a positive integer", key);
            int x = (int)json_integer_value(v);
            if (!strcmp(key, "topk")) c->topk = x;
            else if (!strcmp(key, "bins")) c->bins = x;
            else c->target_chunk = x;
        } else if (!strcmp(key, "range")) {
            if (!json_is_number(v)) return tp_fail(err, TP_ERR_CONFIG, "codec.range must be a number");
            c->range = (float)json_number_value(v);
        } else if (!strcmp(key, "dct")) {
            if (!json_is_boolean(v)) return tp_fail(err, TP_ERR_CONFIG, "codec.dct must be true or false");
            c->use_dct = json_is_true(v);
        } else if (!strcmp(key, "index_coding")) {
            if (!json_is_string(v) || tp_index_coding_parse(json_string_value(v), &c->index_coding))
                return tp_fail(err, TP_ERR_CONFIG, "codec.index_coding must be \"rice\" or \"12bit\"");
        } else
            return tp_fail(err, TP_ERR_CONFIG, "unknown key codec.%s", key);
    }
    tp_status st = tp_codec_params_check(c, err);
    return st ? tp_wrap(err, "codec") : TP_OK;
}

static void default_data(tp_run_config *rc, const char *name) {
    snprintf(rc->data, sizeof rc->data, "data/%s-%d", name, rc->cfg.model.vocab_size);
}

static tp_status from_json(json_t *root, tp_run_config *rc, tp_err *err) {
    if (!json_is_object(root)) return tp_fail(err, TP_ERR_CONFIG, "run config must be a JSON object");
    json_t *base = json_object_get(root, "base");
    json_t *engine = json_object();
    if (!engine) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    const char *key;
    json_t *v;
    tp_status st = TP_OK;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "base") || !strcmp(key, "model") || !strcmp(key, "train")) json_object_set(engine, key, v);
        else if (strcmp(key, "data") && strcmp(key, "codec") && strcmp(key, "protocol")) {
            st = tp_fail(err, TP_ERR_CONFIG, "unknown key %s (expected base, model, train, data, codec, protocol)", key);
            break;
        }
    }
    if (!st) st = tp_config_from_json(engine, &rc->cfg, err);
    json_decref(engine);
    if (st) return st;
    default_data(rc, base && json_is_string(base) ? json_string_value(base) : "small");
    json_t *data = json_object_get(root, "data");
    if (data) {
        if (!json_is_string(data) || !json_string_length(data) || json_string_length(data) >= sizeof rc->data)
            return tp_fail(err, TP_ERR_CONFIG, "data must be a directory path");
        snprintf(rc->data, sizeof rc->data, "%s", json_string_value(data));
    }
    json_t *codec = json_object_get(root, "codec"), *proto = json_object_get(root, "protocol");
    if (codec && (!json_is_object(codec) || (st = codec_from_json(codec, &rc->codec, err))))
        return st ? st : tp_fail(err, TP_ERR_CONFIG, "codec must be an object");
    if (proto && (!json_is_object(proto) || (st = protocol_from_json(proto, &rc->proto, err))))
        return st ? st : tp_fail(err, TP_ERR_CONFIG, "protocol must be an object");
    return TP_OK;
}

tp_status tp_run_config_load(const char *name_or_path, tp_run_config *rc, tp_err *err) {
    memset(rc, 0, sizeof *rc);
    tp_codec_params_default(&rc->codec);
    tp_protocol_default(&rc->proto);
    if (!tp_config_is_path(name_or_path)) {
        tp_status st = tp_config_named(name_or_path, &rc->cfg, err);
        if (!st) default_data(rc, name_or_path);
        return st;
    }
    json_error_t je;
    json_t *root = json_load_file(name_or_path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return tp_fail(err, TP_ERR_CONFIG, "%s:%d: %s", name_or_path, je.line, je.text);
    tp_status st = from_json(root, rc, err);
    json_decref(root);
    return st ? tp_wrap(err, "%s", name_or_path) : TP_OK;
}

tp_status tp_run_config_save(const tp_run_config *rc, const char *path, tp_err *err) {
    const tp_protocol *p = &rc->proto;
    const tp_codec_params *c = &rc->codec;
    json_t *proto = json_pack(
        "{ss si sf sf sf si si si sf si si si si si sf sf si si si sf}", "run_version", p->run_version, "inner_steps",
        p->inner_steps, "outer_lr", p->outer_lr, "ef_beta", p->ef_beta, "eval_lr_factor", p->eval_lr_factor,
        "eval_samples", p->eval_samples, "uids_per_window", p->uids_per_window, "put_window_blocks",
        p->put_window_blocks, "gather_timeout_s", p->gather_timeout_s, "null_rounds", p->null_rounds,
        "checkpoint_frequency", p->checkpoint_frequency, "retention_windows", p->retention_windows, "heldout_batches",
        p->heldout_batches, "weights_every", p->weights_every, "gate_alpha", p->gate_alpha, "gate_horizon",
        p->gate_horizon, "gather_peers", p->gather_peers, "reserve_peers", p->reserve_peers, "burn_uid", p->burn_uid, "burn_rate", p->burn_rate);
    if (proto) {
        json_object_set_new(proto, "mean_over_all", json_boolean(p->mean_over_all));
        json_object_set_new(proto, "clip", json_boolean(p->clip));
        json_object_set_new(proto, "reset_inner_optimizer", json_boolean(p->reset_inner_optimizer));
        json_object_set_new(proto, "outer_momentum", json_real(p->outer_momentum));
        json_object_set_new(proto, "outer_nesterov", json_boolean(p->outer_nesterov));
    }
    json_t *codec = json_pack("{si si si sf sb ss}", "chunk", c->target_chunk, "topk", c->topk, "bins", c->bins,
                              "range", (double)c->range, "dct", c->use_dct, "index_coding",
                              tp_index_coding_name(c->index_coding));
    json_t *root = json_pack("{so so ss so so}", "model", tp_model_config_to_json(&rc->cfg.model), "train",
                             tp_train_config_to_json(&rc->cfg.train), "data", rc->data, "codec", codec, "protocol",
                             proto);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!text) return tp_fail(err, TP_ERR_NOMEM, "out of memory writing %s", path);
    tp_status st = tp_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return st;
}
