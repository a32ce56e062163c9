/* A node's local state (model, optimizer, error feedback after each window), its metrics log, and
 * the retention of its own objects in its bucket. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/json.h"
#include "model/checkpoint.h"
#include "neuron/node.h"

/* Saved states kept besides the newest: a crash while writing the newest still leaves one. */
#define STATES_KEPT 2
/* Windows per retention pass: a pass that failed part-way is covered by the next ones. */
#define RETENTION_SPAN 3

static void state_dir_of(const tp_node *n, int64_t window, char *out, size_t cap) {
    snprintf(out, cap, "%s/node-%lld", n->state_dir, (long long)window);
}

tp_status tp_node_save_state(tp_node *n, int64_t window, const tp_adamw *opt, const float *ef, tp_err *err) {
    char dir[1200], index[1200], prev[1200];
    state_dir_of(n, window, dir, sizeof dir);
    snprintf(index, sizeof index, "%s/node.json", n->state_dir);
    tp_status st = tp_checkpoint_save(dir, n->model, opt, ef, NULL, NULL, 0, err);
    if (!st) st = tp_node_save_outer_momentum(n, dir, err);
    if (st) return st;
    char text[64];
    snprintf(text, sizeof text, "{\"window\": %lld}\n", (long long)window);
    if ((st = tp_write_file_atomic(index, text, strlen(text), err))) return st;
    /* Only once the index names the new state may the older ones go. */
    for (int64_t w = window - STATES_KEPT - 2; w <= window - STATES_KEPT; w++) {
        state_dir_of(n, w, prev, sizeof prev);
        tp_err e;
        if (w >= 0 && tp_path_exists(prev) && tp_remove_tree(prev, &e))
            tp_node_log(n, "removing an old state: %s", e.msg);
    }
    return TP_OK;
}

/* The window named by STATE/node.json; -1 when there is none. */
static tp_status latest_saved(tp_node *n, int64_t *window, tp_err *err) {
    char index[1200];
    snprintf(index, sizeof index, "%s/node.json", n->state_dir);
    *window = -1;
    if (!tp_path_exists(index)) return TP_OK;
    uint8_t *text;
    size_t len;
    tp_status st = tp_read_file(index, 4096, &text, &len, err);
    if (st) return st;
    st = tp_json_index((const char *)text, len, "window", index, window, err);
    free(text);
    return st;
}

tp_status tp_node_load_state(tp_node *n, int64_t *window, tp_adamw *opt, float *ef, tp_err *err) {
    int64_t win = *window;
    *window = -1;
    tp_status st = win < 0 ? latest_saved(n, &win, err) : TP_OK;
    if (st || win < 0) return st;
    char dir[1200];
    state_dir_of(n, win, dir, sizeof dir);
    st = tp_checkpoint_load_weights(dir, n->model, err);
    if (!st && opt) st = tp_checkpoint_load_optimizer(dir, &n->model->layout, opt, NULL, err);
    if (!st && ef) st = tp_checkpoint_load_error_feedback(dir, &n->model->layout, ef, err);
    if (!st) st = tp_node_load_outer_momentum(n, dir, err);
    if (st) return tp_wrap(err, "local state %s", dir);
    *window = win;
    return TP_OK;
}

#define OUTER_MOMENTUM_PREFIX "outer_m."

tp_status tp_node_save_outer_momentum(const tp_node *n, const char *dir, tp_err *err) {
    if (!n->outer_m) return TP_OK;
    char path[1300];
    snprintf(path, sizeof path, "%s/" TP_OUTER_MOMENTUM_FILE, dir);
    return tp_checkpoint_write_tensors(path, &n->model->layout, n->outer_m, OUTER_MOMENTUM_PREFIX, NULL, 0.0f, err);
}

tp_status tp_node_load_outer_momentum(tp_node *n, const char *dir, tp_err *err) {
    if (!n->outer_m) return TP_OK;
    char path[1300];
    snprintf(path, sizeof path, "%s/" TP_OUTER_MOMENTUM_FILE, dir);
    if (!tp_path_exists(path))
        return tp_fail(err, TP_ERR_FORMAT, "%s is missing: the run config has protocol.outer_momentum, this state has none",
                       path);
    return tp_checkpoint_read_tensors(path, &n->model->layout, OUTER_MOMENTUM_PREFIX, n->outer_m, err);
}

void tp_node_retention(tp_node *n, int64_t window) {
    static const tp_key_kind kinds[] = {TP_KEY_GRADIENT, TP_KEY_DEBUG, TP_KEY_AGGREGATOR, TP_KEY_PEERS};
    int64_t old = window - n->rc.proto.retention_windows;
    for (int64_t w = old - RETENTION_SPAN + 1; w <= old; w++) {
        for (size_t k = 0; w >= 0 && k < sizeof kinds / sizeof *kinds; k++) {
            char key[TP_KEY_MAX];
            tp_node_key(n, kinds[k], w, n->uid, NULL, key, sizeof key);
            tp_err e;
            if (tp_store_delete(n->store, key, &e)) {
                tp_node_log(n, "retention: %s; trying again next window", e.msg);
                return;
            }
        }
    }
}

tp_status tp_node_metrics(tp_node *n, json_t *record, tp_err *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", n->state_dir);
    char *line = NULL;
    tp_chain_io io;
    tp_chain_io_take(n->chain, &io); /* the chain traffic of the window this record closes */
    if (record && io.calls)
        json_object_set_new(record, "chain_io", json_pack("{sI sI sI sf}", "calls", (json_int_t)io.calls, "bytes_up",
                                                          (json_int_t)io.bytes_up, "bytes_down",
                                                          (json_int_t)io.bytes_down, "seconds", io.seconds));
    tp_status st = record ? tp_json_dump(record, JSON_COMPACT, &line, NULL, err)
                          : tp_fail(err, TP_ERR_NOMEM, "metrics: out of memory");
    json_decref(record);
    if (st) return st;
    FILE *f = fopen(path, "a");
    if (!f || fprintf(f, "%s\n", line) < 0 || fflush(f) || fsync(fileno(f)))
        st = tp_fail(err, TP_ERR_IO, "writing %s: %s", path, strerror(errno));
    if (f) fclose(f);
    free(line);
    return st;
}
