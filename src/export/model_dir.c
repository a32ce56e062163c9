#include "export/model_dir.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "model/checkpoint.h"

#define CONFIG_MAX_BYTES ((size_t)1 << 20)

/* Reads a JSON file: its bytes (*bytes, free them) and their parse (*root, decref it). */
static tp_status read_json(const char *path, size_t max, json_t **root, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_status st = tp_read_file(path, max, bytes, len, err);
    if (st) return st;
    json_error_t je;
    *root = json_loadb((const char *)*bytes, *len, JSON_REJECT_DUPLICATES, &je);
    if (!*root) {
        free(*bytes);
        *bytes = NULL;
        return tp_fail(err, TP_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
    }
    return TP_OK;
}

/* DIR/tokenizer.json is templar's only in older checkpoints; a Hugging Face file there is not ours. */
static tp_status load_legacy(const char *dir, const char *path, tp_tokenizer **out, tp_err *err) {
    uint8_t *bytes;
    size_t len;
    json_t *root;
    tp_status st = read_json(path, TP_TOKENIZER_MAX_FILE, &root, &bytes, &len, err);
    if (st) return st;
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, "templar-bpe"))
        st = tp_fail(err, TP_ERR_CONFIG,
                     "%s has no templar tokenizer: %s is missing and %s is not in templar's format "
                     "(\"format\": \"templar-bpe\")",
                     dir, TP_EXPORT_TOKENIZER_FILE, TP_EXPORT_LEGACY_TOKENIZER_FILE);
    else if ((st = tp_tokenizer_load_mem(bytes, len, out, err)))
        tp_wrap(err, "tokenizer %s", path);
    json_decref(root);
    free(bytes);
    return st;
}

tp_status tp_export_load_tokenizer(const char *dir, const char *override, tp_tokenizer **out, char *used, size_t n,
                                   tp_err *err) {
    *out = NULL;
    tp_status st;
    if (override) {
        if (snprintf(used, n, "%s", override) >= (int)n) return tp_fail(err, TP_ERR_ARG, "path too long: %s", override);
        st = tp_tokenizer_load(override, out, err);
        return st ? tp_wrap(err, "tokenizer %s", override) : TP_OK;
    }
    if ((st = tp_path_join(used, n, dir, TP_EXPORT_TOKENIZER_FILE, err))) return st;
    if (tp_path_exists(used)) {
        st = tp_tokenizer_load(used, out, err);
        return st ? tp_wrap(err, "tokenizer %s", used) : TP_OK;
    }
    if ((st = tp_path_join(used, n, dir, TP_EXPORT_LEGACY_TOKENIZER_FILE, err))) return st;
    if (!tp_path_exists(used))
        return tp_fail(err, TP_ERR_CONFIG, "%s has no tokenizer: neither %s nor %s exists", dir, TP_EXPORT_TOKENIZER_FILE,
                       TP_EXPORT_LEGACY_TOKENIZER_FILE);
    return load_legacy(dir, used, out, err);
}

/* config.json may name what it holds; only LLaMA is exported. */
static tp_status check_architecture(const char *dir, tp_err *err) {
    char path[4200];
    uint8_t *bytes;
    size_t len;
    json_t *root;
    tp_status st = tp_path_join(path, sizeof path, dir, "config.json", err);
    if (st || (st = read_json(path, CONFIG_MAX_BYTES, &root, &bytes, &len, err))) return st;
    free(bytes);
    json_t *arch = json_object_get(root, "architectures"), *type = json_object_get(root, "model_type");
    const char *a = json_string_value(json_array_get(arch, 0)), *t = json_string_value(type);
    if (arch && (json_array_size(arch) != 1 || !a || strcmp(a, "LlamaForCausalLM")))
        st = tp_fail(err, TP_ERR_CONFIG, "%s: architectures must be [\"LlamaForCausalLM\"] (the only one exported)",
                     path);
    else if (type && (!t || strcmp(t, "llama")))
        st = tp_fail(err, TP_ERR_CONFIG, "%s: model_type must be \"llama\" (the only one exported)", path);
    json_decref(root);
    return st;
}

tp_status tp_export_open_model(const char *dir, const char *tokenizer_override, tp_llama **model, tp_tokenizer **tok,
                               tp_err *err) {
    *model = NULL;
    *tok = NULL;
    char used[4200];
    tp_model_config cfg;
    /* The vocabularies are compared before the weights load, whose shapes follow config.json. */
    tp_status st = check_architecture(dir, err);
    if (!st) st = tp_checkpoint_read_config(dir, &cfg, err);
    if (!st) st = tp_export_load_tokenizer(dir, tokenizer_override, tok, used, sizeof used, err);
    if (!st && tp_tokenizer_vocab_size(*tok) != cfg.vocab_size)
        st = tp_fail(err, TP_ERR_CONFIG,
                     "the tokenizer %s has %d tokens but %s/config.json has vocab_size %d: they do not belong together",
                     used, tp_tokenizer_vocab_size(*tok), dir, cfg.vocab_size);
    /* Activations for two tokens (the fewest allowed): an exporter reads the weights, never runs them. */
    if (!st) st = tp_checkpoint_load_model(dir, 1, 2, 0, model, err);
    if (st) {
        tp_llama_free(*model);
        tp_tokenizer_free(*tok);
        *model = NULL;
        *tok = NULL;
    }
    return st;
}
