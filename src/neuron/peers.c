#include "neuron/peers.h"

#include <jansson.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"

tp_status tp_peers_to_json(const tp_peer_list *p, char **out, tp_err *err) {
    json_t *g = tp_json_int_array(p->gather, (size_t)p->n_gather), *r = tp_json_int_array(p->reserve, (size_t)p->n_reserve);
    json_t *root = json_pack("{sI so so}", "window", (json_int_t)p->window, "gather", g, "reserve", r);
    *out = NULL;
    tp_status st = root ? tp_json_dump(root, JSON_COMPACT | JSON_SORT_KEYS, out, NULL, err)
                        : tp_fail(err, TP_ERR_NOMEM, "peer list: out of memory");
    json_decref(root);
    return st;
}

static tp_status parse_uids(json_t *a, const char *what, int64_t max_uid, uint8_t *seen, int64_t *out, int *n,
                            tp_err *err) {
    if (!json_is_array(a) || json_array_size(a) > TP_PEERS_MAX)
        return tp_fail(err, TP_ERR_FORMAT, "peer list: %s is not an array of at most %d uids", what, TP_PEERS_MAX);
    *n = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= max_uid)
            return tp_fail(err, TP_ERR_FORMAT, "peer list: %s[%zu] is not a uid below %lld", what, i,
                           (long long)max_uid);
        int64_t u = json_integer_value(v);
        if (seen[u]) return tp_fail(err, TP_ERR_FORMAT, "peer list: uid %lld is listed twice", (long long)u);
        seen[u] = 1;
        out[(*n)++] = u;
    }
    return TP_OK;
}

tp_status tp_peers_parse(const char *buf, size_t len, int64_t max_uid, tp_peer_list *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    if (len > TP_PEERS_JSON_MAX) return tp_fail(err, TP_ERR_FORMAT, "peer list: %zu bytes is too large", len);
    if (max_uid < 0 || max_uid > 65536) return tp_fail(err, TP_ERR_ARG, "peer list: bad uid bound");
    json_t *root;
    tp_status st = tp_json_parse(buf, len, JSON_REJECT_DUPLICATES, "peer list", &root, err);
    if (st) return st;
    uint8_t *seen = tp_calloc((size_t)max_uid + 1, 1, err);
    json_t *w = json_object_get(root, "window");
    if (!seen) st = err->code;
    else if (!json_is_object(root) || json_object_size(root) != 3)
        st = tp_fail(err, TP_ERR_FORMAT, "peer list: expected exactly window, gather and reserve");
    else if (!json_is_integer(w) || json_integer_value(w) < 0)
        st = tp_fail(err, TP_ERR_FORMAT, "peer list: window is not a non-negative integer");
    else if (!(st = parse_uids(json_object_get(root, "gather"), "gather", max_uid, seen, out->gather, &out->n_gather,
                               err)))
        st = parse_uids(json_object_get(root, "reserve"), "reserve", max_uid, seen, out->reserve, &out->n_reserve,
                        err);
    if (!st) out->window = json_integer_value(w);
    else memset(out, 0, sizeof *out);
    free(seen);
    json_decref(root);
    return st;
}

void tp_peers_build(int64_t window, const int64_t *ranked, int n_ranked, const int64_t *fill, int n_fill,
                    int gather_peers, int reserve_peers, tp_peer_list *out) {
    memset(out, 0, sizeof *out);
    out->window = window;
    if (gather_peers > TP_PEERS_MAX) gather_peers = TP_PEERS_MAX;
    if (reserve_peers > TP_PEERS_MAX) reserve_peers = TP_PEERS_MAX;
    for (int i = 0; i < n_ranked + n_fill; i++) {
        int64_t u = i < n_ranked ? ranked[i] : fill[i - n_ranked];
        if (out->n_gather < gather_peers) out->gather[out->n_gather++] = u;
        else if (out->n_reserve < reserve_peers) out->reserve[out->n_reserve++] = u;
    }
}
