/* Commitments on Subtensor: a node's bucket, read credentials and key type as one Raw field of the
 * Commitments pallet, "URI[\nKEY_ID\nSECRET]\nKEY_TYPE" (URIs and credentials hold no control
 * characters, tp_chain_check_commitment, so the separator is unambiguous). Without the key type line
 * (an older templar's) the hotkey is ed25519. */
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "net/chain_subtensor.h"

/* The largest Raw field the runtime's Data type holds (Raw0..Raw128 on the runtimes tested). */
static size_t max_raw(const tp_metadata *md) {
    size_t best = 0;
    for (uint32_t t = 0; t < md->n_types; t++) {
        const tp_md_type *ty = &md->types[t];
        if (ty->kind != TP_TY_VARIANT || !strstr(ty->path, "pallet_commitments")) continue;
        for (uint32_t v = 0; v < ty->n_variants; v++) {
            const char *name = ty->variants[v].name;
            if (!strncmp(name, "Raw", 3) && name[3] >= '0' && name[3] <= '9') {
                size_t n = strtoul(name + 3, NULL, 10);
                best = n > best ? n : best;
            }
        }
    }
    return best;
}

static json_t *raw_field(const char *text, size_t n) {
    char name[16];
    snprintf(name, sizeof name, "Raw%zu", n);
    return json_pack("{s:o}", name, tp_rpc_hex((const uint8_t *)text, n));
}

tp_status tp_subtensor_commit(void *self, const char *hotkey, const tp_commitment *cm, tp_err *err) {
    tp_subtensor *s = self;
    tp_status st = tp_subtensor_need_hotkey(s, hotkey, "committing", err);
    if (st) return st;
    char text[3 * TP_CHAIN_URI_MAX];
    const char *kt = tp_key_type_name(cm->key_type);
    int n = cm->access_key_id[0] ? snprintf(text, sizeof text, "%s\n%s\n%s\n%s", cm->uri, cm->access_key_id,
                                            cm->secret_access_key, kt)
                                 : snprintf(text, sizeof text, "%s\n%s", cm->uri, kt);
    size_t limit = max_raw(tp_sub_metadata(s->sub));
    if (n < 0 || (size_t)n > limit)
        return tp_fail(err, TP_ERR_ARG,
                       "the commitment (bucket URI and read credentials) is %d bytes; this chain's Commitments "
                       "pallet holds at most %zu: use a shorter bucket name or endpoint",
                       n, limit);
    json_t *args = json_pack("{s:i, s:{s:[o]}}", "netuid", s->netuid, "info", "fields", raw_field(text, (size_t)n));
    st = args ? tp_sub_call(s->sub, &s->hotkey, "Commitments", "set_commitment", args, NULL, err)
                        : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    json_decref(args);
    return st;
}

/* Takes a trailing key type line off text (2 or 4 lines), into cm->key_type. */
static tp_status split_key_type(char *text, tp_commitment *cm, tp_err *err) {
    int lines = 1;
    for (const char *p = text; *p; p++) lines += *p == TP_COMMITMENT_SEP;
    cm->key_type = TP_KEY_ED25519;
    if (lines % 2) return TP_OK;
    char *last = strrchr(text, TP_COMMITMENT_SEP);
    *last = 0;
    tp_status st = tp_key_type_parse(last + 1, &cm->key_type, err);
    return st ? tp_wrap(err, "the commitment's key type") : TP_OK;
}

/* Splits "URI[\nKEY\nSECRET][\nKEY_TYPE]" into cm. */
static tp_status split_text(char *text, tp_commitment *cm, tp_err *err) {
    tp_status st = split_key_type(text, cm, err);
    if (st) return st;
    const char *a = strchr(text, TP_COMMITMENT_SEP), *b = a ? strchr(a + 1, TP_COMMITMENT_SEP) : NULL;
    size_t uri_n = a ? (size_t)(a - text) : strlen(text);
    if ((a && !b) || uri_n >= sizeof cm->uri)
        return tp_fail(err, TP_ERR_FORMAT, "the commitment is not URI or URI, key id and secret on three lines");
    memcpy(cm->uri, text, uri_n);
    cm->uri[uri_n] = 0;
    if (a) {
        size_t k = (size_t)(b - a - 1);
        if (k >= sizeof cm->access_key_id || strlen(b + 1) >= sizeof cm->secret_access_key)
            return tp_fail(err, TP_ERR_FORMAT, "the commitment's credentials are too long");
        memcpy(cm->access_key_id, a + 1, k);
        cm->access_key_id[k] = 0;
        snprintf(cm->secret_access_key, sizeof cm->secret_access_key, "%s", b + 1);
    }
    return tp_chain_check_commitment(cm, err);
}

tp_status tp_subtensor_parse_commitment(const json_t *reg, tp_commitment *cm, tp_err *err) {
    memset(cm, 0, sizeof *cm);
    const json_t *fields = json_object_get(json_object_get(reg, "info"), "fields");
    const json_t *f = json_array_get(fields, 0);
    const char *key = json_is_object(f) && json_object_size(f) == 1 ? json_object_iter_key(json_object_iter((json_t *)f)) : NULL;
    const char *hex = key && !strncmp(key, "Raw", 3) ? json_string_value(json_object_get(f, key)) : NULL;
    size_t hn = hex ? strlen(hex) : 0;
    if (!hex || hn < 2 || strncmp(hex, "0x", 2) || (hn - 2) % 2 || (hn - 2) / 2 >= 3 * TP_CHAIN_URI_MAX)
        return tp_fail(err, TP_ERR_FORMAT, "the commitment is not one Raw field");
    char text[3 * TP_CHAIN_URI_MAX];
    size_t n = (hn - 2) / 2;
    if (tp_unhex(hex + 2, (uint8_t *)text, n)) return tp_fail(err, TP_ERR_FORMAT, "the commitment is not hex");
    text[n] = 0;
    if (strlen(text) != n) return tp_fail(err, TP_ERR_FORMAT, "the commitment holds a NUL byte");
    json_t *block = json_object_get(reg, "block");
    cm->block = json_is_integer(block) ? json_integer_value(block) : 0;
    return split_text(text, cm, err);
}

tp_status tp_subtensor_commitment(void *self, int64_t uid, tp_commitment *out, int *found, tp_err *err) {
    tp_subtensor *s = self;
    *found = 0;
    json_t *hk = NULL, *reg = NULL;
    tp_status st = tp_subtensor_read(s, "SubtensorModule", "Keys", json_pack("[i, I]", s->netuid, (json_int_t)uid),
                                     &hk, err);
    if (!st) st = tp_subtensor_read(s, "Commitments", "CommitmentOf", json_pack("[i, O]", s->netuid, hk), &reg, err);
    if (!st && !json_is_null(reg)) {
        st = tp_subtensor_parse_commitment(reg, out, err);
        *found = !st;
        if (st) tp_wrap(err, "uid %lld's commitment", (long long)uid);
    }
    json_decref(hk);
    json_decref(reg);
    return st;
}
