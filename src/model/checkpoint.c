#include "model/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/json.h"
#include "core/safetensors.h"

#define CONFIG_MAX_BYTES (1u << 20)

tp_status tp_checkpoint_read_config(const char *dir, tp_model_config *cfg, tp_err *err) {
    char path[4096];
    tp_status st = tp_path_join(path, sizeof path, dir, "config.json", err);
    if (st) return st;
    uint8_t *buf;
    size_t len;
    if ((st = tp_read_file(path, CONFIG_MAX_BYTES, &buf, &len, err))) return st;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!root) return tp_fail(err, TP_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
    st = tp_model_config_from_hf(root, cfg, err);
    json_decref(root);
    return st ? tp_wrap(err, "%s", dir) : TP_OK;
}

static size_t file_limit(const tp_layout *L, int copies) {
    return (size_t)copies * L->total * sizeof(float) + (16u << 20);
}

/* Copies every layout tensor named prefix+name from st into base. */
static tp_status copy_tensors(const tp_st *st, const tp_layout *L, const char *prefix, float *base, const char *what,
                              tp_err *err) {
    for (int i = 0; i < L->n_tensors; i++) {
        const tp_tensor_info *info = &L->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, info->name);
        const tp_st_tensor *t = tp_st_find(st, name);
        if (!t) return tp_fail(err, TP_ERR_FORMAT, "%s lacks tensor %s", what, name);
        if (t->dtype != TP_DT_F32) return tp_fail(err, TP_ERR_FORMAT, "%s: tensor %s must be F32", what, name);
        int shape_ok = t->ndim == info->ndim && t->shape[0] == info->shape[0] &&
                       (info->ndim == 1 || t->shape[1] == info->shape[1]);
        if (!shape_ok)
            return tp_fail(err, TP_ERR_FORMAT, "%s: tensor %s has shape [%lld%s%lld], expected [%lld%s%lld]", what, name,
                           (long long)t->shape[0], t->ndim > 1 ? ", " : "", t->ndim > 1 ? (long long)t->shape[1] : 0LL,
                           (long long)info->shape[0], info->ndim > 1 ? ", " : "",
                           info->ndim > 1 ? (long long)info->shape[1] : 0LL);
        memcpy(base + info->offset, t->data, t->nbytes);
    }
    return TP_OK;
}

/* Every tensor in the file must be one we know (with the given prefixes). */
static tp_status reject_extra(const tp_st *st, const tp_layout *L, const char *const *prefixes, int n_prefixes,
                              const char *what, tp_err *err) {
    for (int i = 0; i < st->n; i++) {
        int known = 0;
        for (int p = 0; p < n_prefixes && !known; p++) {
            size_t pl = strlen(prefixes[p]);
            known = !strncmp(st->tensors[i].name, prefixes[p], pl) && tp_layout_find(L, st->tensors[i].name + pl);
        }
        if (!known) return tp_fail(err, TP_ERR_FORMAT, "%s has unexpected tensor %s", what, st->tensors[i].name);
    }
    return TP_OK;
}

tp_status tp_checkpoint_load_weights(const char *dir, tp_llama *m, tp_err *err) {
    char path[4096];
    tp_status st = tp_path_join(path, sizeof path, dir, "model.safetensors", err);
    if (st) return st;
    tp_st_file f;
    if ((st = tp_st_load(path, file_limit(&m->layout, 1), m->layout.n_tensors + 1, &f, err))) return st;
    static const char *const none[] = {""};
    st = reject_extra(&f.st, &m->layout, none, 1, path, err);
    if (!st) st = copy_tensors(&f.st, &m->layout, "", m->params, path, err);
    tp_st_file_free(&f);
    return st;
}

tp_status tp_checkpoint_load_optimizer(const char *dir, const tp_layout *L, tp_adamw *opt, json_t **train_json,
                                       tp_err *err) {
    char path[4096];
    tp_status st = tp_path_join(path, sizeof path, dir, "optimizer.safetensors", err);
    if (st) return st;
    tp_st_file f;
    if ((st = tp_st_load(path, file_limit(L, 2), 2 * L->n_tensors + 1, &f, err))) return st;
    static const char *const prefixes[] = {"m.", "v."};
    st = reject_extra(&f.st, L, prefixes, 2, path, err);
    if (!st) st = copy_tensors(&f.st, L, "m.", opt->m, path, err);
    if (!st) st = copy_tensors(&f.st, L, "v.", opt->v, path, err);
    const char *step = tp_st_meta(&f.st, "step"), *train = tp_st_meta(&f.st, "train");
    if (!st && !step) st = tp_fail(err, TP_ERR_FORMAT, "%s lacks metadata 'step'", path);
    if (!st) {
        char *end;
        long long s = strtoll(step, &end, 10);
        if (*end || s < 0) st = tp_fail(err, TP_ERR_FORMAT, "%s: metadata 'step' is not a step count", path);
        opt->step = s;
    }
    if (!st && train_json) {
        *train_json = train ? json_loads(train, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (train && !*train_json) st = tp_fail(err, TP_ERR_FORMAT, "%s: metadata 'train' is not JSON", path);
    }
    tp_st_file_free(&f);
    return st;
}

tp_status tp_checkpoint_load_model(const char *dir, int max_b, int max_t, int with_grads, tp_llama **out,
                                   tp_err *err) {
    tp_model_config cfg;
    *out = NULL;
    tp_status st = tp_checkpoint_read_config(dir, &cfg, err);
    if (!st) st = tp_llama_create(&cfg, max_b, max_t ? max_t : cfg.seq_len, with_grads, out, err);
    if (!st) st = tp_checkpoint_load_weights(dir, *out, err);
    if (st) {
        tp_llama_free(*out);
        *out = NULL;
    }
    return st;
}

tp_status tp_checkpoint_read_tensors(const char *path, const tp_layout *L, const char *prefix, float *base,
                                     tp_err *err) {
    tp_st_file f;
    tp_status st = tp_st_load(path, file_limit(L, 1), L->n_tensors + 1, &f, err);
    if (st) return st;
    const char *const prefixes[] = {prefix};
    st = reject_extra(&f.st, L, prefixes, 1, path, err);
    if (!st) st = copy_tensors(&f.st, L, prefix, base, path, err);
    tp_st_file_free(&f);
    return st;
}

static tp_status add_layout(tp_st_writer *w, const tp_layout *L, const float *base, const char *prefix, tp_err *err) {
    for (int i = 0; i < L->n_tensors; i++) {
        const tp_tensor_info *info = &L->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, info->name);
        tp_status st = tp_st_add(w, name, TP_DT_F32, info->ndim, info->shape, base + info->offset, err);
        if (st) return st;
    }
    return TP_OK;
}

tp_status tp_checkpoint_write_tensors(const char *path, const tp_layout *L, const float *base, const char *prefix,
                                      const char *scalar_name, float scalar, tp_err *err) {
    tp_st_writer *w = tp_st_writer_new(err);
    if (!w) return TP_ERR_NOMEM;
    tp_status st = scalar_name ? tp_st_add(w, scalar_name, TP_DT_F32, 0, NULL, &scalar, err) : TP_OK;
    if (!st) st = add_layout(w, L, base, prefix, err);
    if (!st) st = tp_st_write_file(w, path, err);
    tp_st_writer_free(w);
    return st;
}

static tp_status copy_file(const char *src, const char *dst, tp_err *err) {
    uint8_t *buf;
    size_t len;
    tp_status st = tp_read_file(src, 1u << 30, &buf, &len, err);
    if (st) return st;
    st = tp_write_file_atomic(dst, buf, len, err);
    free(buf);
    return st;
}

tp_status tp_checkpoint_load_error_feedback(const char *dir, const tp_layout *L, float *ef, tp_err *err) {
    char path[4096];
    tp_status st = tp_path_join(path, sizeof path, dir, TP_ERROR_FEEDBACK_FILE, err);
    return st ? st : tp_checkpoint_read_tensors(path, L, TP_ERROR_FEEDBACK_PREFIX, ef, err);
}

tp_status tp_checkpoint_save(const char *dir, const tp_llama *m, const tp_adamw *opt, const float *error_feedback,
                             json_t *train_json, const tp_extra_file *extra, int n_extra, tp_err *err) {
    char tmp[4096], path[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dir, (long)getpid());
    tp_status st = tp_remove_tree(tmp, err);
    if (!st) st = tp_mkdirs(tmp, err);
    if (st) return st;

    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    tp_st_writer *w = tp_st_writer_new(err);
    if (!w) return TP_ERR_NOMEM;
    st = tp_st_set_meta(w, "format", "pt", err);
    if (!st) st = add_layout(w, &m->layout, m->params, "", err);
    if (!st) st = tp_st_write_file(w, path, err);
    tp_st_writer_free(w);

    if (!st) {
        json_t *hf = tp_model_config_to_hf(&m->cfg);
        char *text = NULL;
        size_t tl = 0;
        snprintf(path, sizeof path, "%s/config.json", tmp);
        st = hf ? tp_json_dump(hf, JSON_INDENT(2) | JSON_SORT_KEYS, &text, &tl, err)
                : tp_fail(err, TP_ERR_NOMEM, "cannot serialise config.json");
        if (!st) st = tp_write_file_atomic(path, text, tl, err);
        free(text);
        json_decref(hf);
    }
    if (!st && opt) {
        w = tp_st_writer_new(err);
        if (!w) return TP_ERR_NOMEM;
        char step[32];
        snprintf(step, sizeof step, "%lld", (long long)opt->step);
        char *train = NULL;
        st = train_json ? tp_json_dump(train_json, JSON_COMPACT | JSON_SORT_KEYS, &train, NULL, err) : TP_OK;
        if (!st) st = tp_st_set_meta(w, "step", step, err);
        if (!st && train) st = tp_st_set_meta(w, "train", train, err);
        if (!st) st = add_layout(w, &m->layout, opt->m, "m.", err);
        if (!st) st = add_layout(w, &m->layout, opt->v, "v.", err);
        snprintf(path, sizeof path, "%s/optimizer.safetensors", tmp);
        if (!st) st = tp_st_write_file(w, path, err);
        free(train);
        tp_st_writer_free(w);
    }
    if (!st && error_feedback) {
        snprintf(path, sizeof path, "%s/" TP_ERROR_FEEDBACK_FILE, tmp);
        st = tp_checkpoint_write_tensors(path, &m->layout, error_feedback, TP_ERROR_FEEDBACK_PREFIX, NULL, 0.0f, err);
    }
    for (int i = 0; !st && i < n_extra; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, extra[i].name);
        st = extra[i].source ? copy_file(extra[i].source, path, err)
                             : tp_write_file_atomic(path, extra[i].data, extra[i].len, err);
    }
    if (!st) st = tp_replace_dir(tmp, dir, err);
    if (st) {
        tp_err ignored;
        tp_remove_tree(tmp, &ignored);
        return tp_wrap(err, "saving checkpoint %s", dir);
    }
    return TP_OK;
}
