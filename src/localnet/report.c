/* localnet report: report.json, report.md and the plots, built only from what a run directory holds
 * (localnet.json, state/<wallet>/metrics.jsonl, chain.db), so `templar localnet report DIR` can
 * rebuild it at any time. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "localnet/localnet.h"
#include "core/fileio.h"
#include "core/json.h"
#include "net/wallet.h"

typedef struct {
    char wallet[LN_NAME_MAX];
    int64_t uid;
    char role[LN_MODE_MAX]; /* owner, validator, honest, or an adversary mode */
    ln_kind kind;
    double stake;
    json_t *recs; /* parsed metrics records, in file order */
} rnode;

typedef struct {
    double util, up, down, train, comm, wait;
    int64_t n; /* records counted (no catch-up, no null round) */
} miner_stats;

typedef struct {
    const char *dir;
    json_t *man;
    rnode *nodes;
    int n;
    int leader;           /* index into nodes */
    int64_t K, S;         /* S: -1 when the leader recorded nothing */
    int64_t first, count; /* windows in the report: first .. first+count-1 */
    double *final_w, *incentive, *stake;
    int64_t n_uids;
    int have_chain;
    json_t *windows;
    double tokens;     /* trained on by the honest miners, over the report's windows */
    json_t *baseline;  /* DIR/baseline.json (localnet --baseline), or NULL */
    char plots_error[512];
    int plotted[3]; /* loss, weights, gather */
} report;

json_t *ln_parse_record(const char *line, size_t len) {
    json_error_t je;
    json_t *r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!r || !json_is_object(r) || !json_is_integer(json_object_get(r, "window"))) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* JSON has no NaN; a missing or non-finite value is null. */
static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str_or(json_t *v, const char *dflt) { return json_is_string(v) ? json_string_value(v) : dflt; }

static int64_t rec_window(json_t *rec) { return json_integer_value(json_object_get(rec, "window")); }

static const char *uid_key(int64_t uid, char *buf, size_t n) {
    snprintf(buf, n, "%" PRId64, uid);
    return buf;
}

/* ---------------------------------------------------------------- inputs */

static tp_status load_manifest(report *r, tp_err *err) {
    char path[LN_PATH_MAX];
    tp_status st = tp_path_join(path, sizeof path, r->dir, "localnet.json", err);
    if (st) return st;
    json_error_t je;
    r->man = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!r->man) return tp_fail(err, TP_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
    json_t *nodes = json_object_get(r->man, "nodes");
    json_int_t K = json_integer_value(json_object_get(r->man, "windows"));
    if (!json_is_array(nodes) || json_array_size(nodes) == 0 || json_array_size(nodes) > LN_MAX_NODES || K < 1)
        return tp_fail(err, TP_ERR_FORMAT, "%s: no nodes or windows", path);
    r->K = K;
    r->n = (int)json_array_size(nodes);
    if (!(r->nodes = calloc((size_t)r->n, sizeof *r->nodes))) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    int64_t leader_uid = json_integer_value(json_object_get(r->man, "leader"));
    r->leader = -1;
    for (int i = 0; i < r->n; i++) {
        json_t *o = json_array_get(nodes, (size_t)i);
        const char *w = json_string_value(json_object_get(o, "wallet")), *role = json_string_value(json_object_get(o, "role"));
        json_t *uid = json_object_get(o, "uid");
        tp_err ignored;
        /* Names and roles end up in paths and in the gnuplot script: only plain characters. */
        int plain = role && *role;
        for (const char *c = role; plain && *c; c++) plain = isalnum((unsigned char)*c) || *c == '-' || *c == '_';
        if (!w || tp_wallet_check_name(w, &ignored) || strlen(w) >= LN_NAME_MAX || !plain ||
            strlen(role) >= LN_MODE_MAX || !json_is_integer(uid) || json_integer_value(uid) < 0 ||
            json_integer_value(uid) >= LN_MAX_NODES)
            return tp_fail(err, TP_ERR_FORMAT, "%s: node %d is malformed", path, i);
        rnode *n = &r->nodes[i];
        snprintf(n->wallet, sizeof n->wallet, "%s", w);
        snprintf(n->role, sizeof n->role, "%s", role);
        n->uid = json_integer_value(uid);
        n->stake = num(o, "stake");
        n->kind = !strcmp(role, "owner") ? LN_OWNER : !strcmp(role, "validator") ? LN_VALIDATOR : LN_MINER;
        if (n->uid == leader_uid && n->kind == LN_VALIDATOR) r->leader = i;
    }
    if (r->leader < 0) return tp_fail(err, TP_ERR_FORMAT, "%s: the leader is not a validator", path);
    return TP_OK;
}

/* Every parseable line; torn or foreign lines (a crash mid-write) are skipped. */
static tp_status load_records(report *r, rnode *n, tp_err *err) {
    if (!(n->recs = json_array())) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    char path[LN_PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/state/%s/metrics.jsonl", r->dir, n->wallet);
    if (!tp_path_exists(path)) return TP_OK;
    uint8_t *buf;
    size_t len;
    tp_status st = tp_read_file(path, LN_METRICS_MAX, &buf, &len, err);
    if (st) return st;
    char *line = (char *)buf, *end = line + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
        json_t *rec = ln_parse_record(line, l);
        if (rec) json_array_append_new(n->recs, rec);
        line += l + 1;
    }
    free(buf);
    return TP_OK;
}

/* The last record of a node for window w (a restarted neuron may write a window twice). */
static json_t *rec_at(const rnode *n, int64_t w) {
    json_t *found = NULL;
    size_t i;
    json_t *rec;
    json_array_foreach(n->recs, i, rec) if (rec_window(rec) == w) found = rec;
    return found;
}

/* The most recent weights a validator set at or before window w. */
static json_t *weights_at(const rnode *n, int64_t w) {
    json_t *best = NULL;
    int64_t best_w = INT64_MIN;
    size_t i;
    json_t *rec;
    json_array_foreach(n->recs, i, rec) {
        int64_t rw = rec_window(rec);
        json_t *wt = json_object_get(rec, "weights");
        if (json_is_object(wt) && rw <= w && rw >= best_w) best = wt, best_w = rw;
    }
    return best;
}

static void find_start(report *r) {
    r->S = -1;
    size_t i;
    json_t *rec;
    json_array_foreach(r->nodes[r->leader].recs, i, rec) {
        json_t *s = json_object_get(rec, "start_window");
        if (json_is_integer(s)) {
            r->S = json_integer_value(s);
            break;
        }
    }
    r->first = r->S;
    r->count = 0;
    if (r->S < 0) return;
    /* Windows up to the last one anybody recorded: an interrupted run lists what exists. */
    int64_t last = -1;
    for (int k = 0; k < r->n; k++) json_array_foreach(r->nodes[k].recs, i, rec) if (rec_window(rec) > last) last = rec_window(rec);
    int64_t end = r->S + r->K - 1 < last ? r->S + r->K - 1 : last;
    r->count = end >= r->S ? end - r->S + 1 : 0;
}

static tp_status alloc_chain(report *r, int64_t n, tp_err *err) {
    r->n_uids = n;
    r->final_w = calloc((size_t)n + 1, sizeof *r->final_w);
    r->incentive = calloc((size_t)n + 1, sizeof *r->incentive);
    r->stake = calloc((size_t)n + 1, sizeof *r->stake);
    return r->final_w && r->incentive && r->stake ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
}

/* Adds validator u's row, weighted by its stake, to the final weights; returns the weight added. */
static double add_row(report *r, int64_t u, const int64_t *uids, const double *w, int64_t n) {
    double added = 0;
    for (int64_t j = 0; j < n; j++)
        if (uids[j] >= 0 && uids[j] < r->n_uids) {
            r->final_w[uids[j]] += r->stake[u] * w[j];
            added += r->stake[u] * w[j];
        }
    return added;
}

static void normalise_final(report *r, double total) {
    if (total > 0)
        for (int64_t u = 0; u < r->n_uids; u++) r->final_w[u] /= total;
    r->have_chain = 1;
}

/* DIR/chain-final.json, which every run writes at its end (localnet.h: ln_chain_snapshot). */
static tp_status read_snapshot(report *r, const char *path, tp_err *err) {
    json_t *root = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    tp_status st = tp_read_file(path, (size_t)16 << 20, &text, &len, err);
    if (!st) st = tp_json_parse((const char *)text, len, 0, path, &root, err);
    free(text);
    const json_t *ns = json_object_get(root, "neurons");
    if (!st && !json_is_array(ns)) st = tp_fail(err, TP_ERR_FORMAT, "%s: no neurons list", path);
    if (!st) st = alloc_chain(r, (int64_t)json_array_size(ns), err);
    double total = 0;
    size_t i, j;
    const json_t *nj, *pair;
    if (!st) json_array_foreach(ns, i, nj) {
            r->incentive[i] = json_number_value(json_object_get(nj, "incentive"));
            r->stake[i] = json_number_value(json_object_get(nj, "stake"));
        }
    if (!st) json_array_foreach(ns, i, nj) {
            if (r->stake[i] <= 0) continue;
            json_array_foreach(json_object_get(nj, "weights"), j, pair) {
                int64_t uid = json_integer_value(json_array_get(pair, 0));
                double w = json_number_value(json_array_get(pair, 1));
                total += add_row(r, (int64_t)i, &uid, &w, 1);
            }
        }
    if (!st) normalise_final(r, total);
    json_decref(root);
    return st;
}

/* Final weights (the validators' rows on chain, stake-weighted) and incentive (the run ends with one
 * more epoch, so the last weights count): from the run's snapshot, or (runs from before snapshots)
 * from the local ledger, read only. */
static tp_status read_chain(report *r, tp_err *err) {
    char uri[LN_PATH_MAX + 32];
    snprintf(uri, sizeof uri, "%s/chain-final.json", r->dir);
    if (tp_path_exists(uri)) return read_snapshot(r, uri, err);
    snprintf(uri, sizeof uri, "local:%s/chain.db", r->dir);
    tp_chain *c;
    tp_status st = tp_chain_open_read_only(uri, &c, err);
    if (st) return st;
    tp_metagraph mg = {0};
    if ((st = tp_chain_metagraph(c, &mg, err)) || (st = alloc_chain(r, mg.n, err))) goto done;
    double total = 0;
    for (int64_t u = 0; u < mg.n; u++) {
        r->incentive[u] = mg.neurons[u].incentive;
        r->stake[u] = mg.neurons[u].stake;
    }
    for (int64_t u = 0; u < mg.n; u++) {
        if (mg.neurons[u].stake <= 0) continue;
        tp_weights w;
        if ((st = tp_chain_weights(c, u, &w, err))) goto done;
        total += add_row(r, u, w.uids, w.weights, w.n);
        tp_weights_free(&w);
    }
    normalise_final(r, total);
done:
    tp_metagraph_free(&mg);
    tp_chain_close(c);
    return st ? tp_wrap(err, "chain %s", uri) : TP_OK;
}

static double stake_of(const report *r, const rnode *n) {
    return r->have_chain && n->uid < r->n_uids ? r->stake[n->uid] : n->stake;
}

/* ---------------------------------------------------------------- windows */

/* Stake-weighted mean of the validators' current rows (each normalised to sum 1), into out (uid → w). */
static json_t *combine_weights(const report *r, json_t *by_validator) {
    json_t *out = json_object();
    double total = 0;
    for (int k = 0; k < r->n; k++) {
        const rnode *v = &r->nodes[k];
        char key[24];
        json_t *row = json_object_get(by_validator, uid_key(v->uid, key, sizeof key));
        double s = stake_of(r, v), sum = 0;
        if (!row || !(s > 0)) continue;
        const char *u;
        json_t *x;
        json_object_foreach(row, u, x) if (json_is_number(x) && json_number_value(x) > 0) sum += json_number_value(x);
        if (!(sum > 0)) continue;
        total += s;
        json_object_foreach(row, u, x) {
            if (!json_is_number(x) || !(json_number_value(x) > 0)) continue;
            double prev = num(out, u);
            json_object_set_new(out, u, json_real((isfinite(prev) ? prev : 0) + s * json_number_value(x) / sum));
        }
    }
    const char *u;
    json_t *x;
    if (total > 0) json_object_foreach(out, u, x) json_real_set(x, json_real_value(x) / total);
    return out;
}

static int is_honest(const rnode *n) { return n->kind == LN_VALIDATOR || !strcmp(n->role, "honest"); }

/* Tokens the honest miners trained on in window w (catch-up replays train on nothing new). */
static double window_tokens(const report *r, int64_t w) {
    double sum = 0;
    for (int k = 0; k < r->n; k++) {
        const rnode *n = &r->nodes[k];
        json_t *rec = n->kind == LN_MINER && is_honest(n) ? rec_at(n, w) : NULL;
        double t = rec && !json_is_true(json_object_get(rec, "catch_up")) ? num(rec, "tokens") : NAN;
        sum += isfinite(t) ? t : 0;
    }
    return sum;
}

static tp_status build_windows(report *r, tp_err *err) {
    if (!(r->windows = json_array())) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    const rnode *leader = &r->nodes[r->leader];
    r->tokens = 0;
    for (int64_t w = r->first; w < r->first + r->count; w++) {
        r->tokens += window_tokens(r, w);
        json_t *lrec = rec_at(leader, w);
        json_t *fps = json_object(), *weights = json_object(), *e = json_object();
        if (!fps || !weights || !e) {
            json_decref(fps), json_decref(weights), json_decref(e);
            return tp_fail(err, TP_ERR_NOMEM, "out of memory");
        }
        /* Distinct fingerprints among honest nodes: 1 means they all hold the same model. */
        json_t *honest = json_object();
        for (int k = 0; k < r->n; k++) {
            const rnode *n = &r->nodes[k];
            char key[24];
            json_t *rec = rec_at(n, w), *fp = rec ? json_object_get(rec, "fingerprint") : NULL;
            if (json_is_string(fp)) {
                json_object_set(fps, uid_key(n->uid, key, sizeof key), fp);
                if (is_honest(n)) json_object_set_new(honest, json_string_value(fp), json_true());
            }
            if (n->kind == LN_VALIDATOR) {
                json_t *wt = weights_at(n, w);
                if (wt) json_object_set(weights, uid_key(n->uid, key, sizeof key), wt);
            }
        }
        json_object_set_new(e, "window", json_integer(w));
        json_object_set_new(e, "tokens", json_real(r->tokens)); /* by the end of w */
        json_object_set_new(e, "heldout_loss", jnum(lrec ? num(lrec, "heldout_loss") : NAN));
        json_object_set_new(e, "gather_success", jnum(lrec ? num(lrec, "gather_success") : NAN));
        json_object_set_new(e, "fingerprints", fps);
        json_object_set_new(e, "honest_fingerprints_distinct", json_integer((json_int_t)json_object_size(honest)));
        json_object_set_new(e, "weights", weights);
        json_object_set_new(e, "weights_combined", combine_weights(r, weights));
        json_decref(honest);
        json_array_append_new(r->windows, e);
    }
    return TP_OK;
}

static miner_stats stats_of(const rnode *n) {
    miner_stats s = {0};
    double wall = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(n->recs, i, rec) {
        /* Catch-up replays and null rounds (no training by protocol) are not steady-state windows. */
        if (json_is_true(json_object_get(rec, "catch_up")) || json_is_true(json_object_get(rec, "null_round")))
            continue;
        double wl = num(rec, "wall_s");
        wall += isfinite(wl) ? wl : 0;
#define ADD(f, key)                                                                                                    \
    do {                                                                                                               \
        double x = num(rec, key);                                                                                      \
        s.f += isfinite(x) ? x : 0;                                                                                    \
    } while (0)
        ADD(up, "bytes_up");
        ADD(down, "bytes_down");
        ADD(train, "train_s");
        ADD(comm, "comm_s");
        ADD(wait, "wait_s");
#undef ADD
        s.n++;
    }
    s.util = wall > 0 ? s.train / wall : NAN; /* s.train is still the sum here */
    if (s.n) {
        s.up /= (double)s.n, s.down /= (double)s.n, s.train /= (double)s.n;
        s.comm /= (double)s.n, s.wait /= (double)s.n;
    } else {
        s.up = s.down = s.train = s.comm = s.wait = NAN;
    }
    return s;
}

/* ---------------------------------------------------------------- plots */

static int on_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[LN_PATH_MAX];
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, name);
        if (len && access(buf, X_OK) == 0) return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

static FILE *open_in(const char *dir, const char *name) {
    char p[LN_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/plots/%s", dir, name);
    return fopen(p, "w");
}

static const char *const plot_pngs[] = {"loss.png", "weights.png", "gather.png"}; /* in r->plotted order */

typedef struct {
    FILE *loss, *gather, *weights, *gp;
} plot_files;

/* Removes the old PNGs (a rebuilt report never shows a stale plot), creates DIR/plots and opens the
 * .dat files and plots.gp in it. Returns 0 with all four open, or -1 with why in r->plots_error. */
static int open_plot_files(report *r, plot_files *f) {
    char p[LN_PATH_MAX + 64];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", r->dir, plot_pngs[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/plots", r->dir);
    tp_err err;
    if (tp_mkdirs(p, &err)) {
        snprintf(r->plots_error, sizeof r->plots_error, "cannot create %.200s: %.200s", p, err.msg);
        return -1;
    }
    f->loss = open_in(r->dir, "loss.dat");
    f->gather = open_in(r->dir, "gather.dat");
    f->weights = open_in(r->dir, "weights.dat");
    f->gp = open_in(r->dir, "plots.gp");
    if (f->loss && f->gather && f->weights && f->gp) return 0;
    snprintf(r->plots_error, sizeof r->plots_error, "cannot write in %s/plots: %s", r->dir, strerror(errno));
    if (f->loss) fclose(f->loss);
    if (f->gather) fclose(f->gather);
    if (f->weights) fclose(f->weights);
    if (f->gp) fclose(f->gp);
    return -1;
}

/* Columns of weights.dat: every uid that ever got weight, ascending. Fills cols with node indices. */
static int weight_columns(const report *r, int64_t *cols) {
    int ncols = 0;
    for (int k = 0; k < r->n; k++) {
        char key[24];
        uid_key(r->nodes[k].uid, key, sizeof key);
        size_t i;
        json_t *e;
        int any = 0;
        json_array_foreach(r->windows, i, e) any |= num(json_object_get(e, "weights_combined"), key) > 0;
        if (any) cols[ncols++] = k;
    }
    return ncols;
}

/* One row per window in each .dat file; sets r->plotted for the plots that got data. */
static void write_plot_data(report *r, const plot_files *f, const int64_t *cols, int ncols) {
    fprintf(f->loss, "# window heldout_loss (leader)\n");
    fprintf(f->gather, "# window gather_success (leader)\n");
    fprintf(f->weights, "# window, then the stake-weighted weight of each uid:");
    for (int c = 0; c < ncols; c++) fprintf(f->weights, " %" PRId64, r->nodes[cols[c]].uid);
    fputc('\n', f->weights);
    size_t i;
    json_t *e;
    json_array_foreach(r->windows, i, e) {
        int64_t w = json_integer_value(json_object_get(e, "window"));
        double l = num(e, "heldout_loss"), g = num(e, "gather_success");
        if (isfinite(l)) fprintf(f->loss, "%" PRId64 " %.9g\n", w, l), r->plotted[0] = 1;
        if (isfinite(g)) fprintf(f->gather, "%" PRId64 " %.9g\n", w, g), r->plotted[2] = 1;
        fprintf(f->weights, "%" PRId64, w);
        json_t *comb = json_object_get(e, "weights_combined");
        for (int c = 0; c < ncols; c++) {
            char key[24];
            double x = num(comb, uid_key(r->nodes[cols[c]].uid, key, sizeof key));
            /* No weights set yet: a gap, not a zero. */
            if (!json_object_size(comb)) fprintf(f->weights, " ?");
            else fprintf(f->weights, " %.9g", isfinite(x) ? x : 0.0);
        }
        fputc('\n', f->weights);
    }
    r->plotted[1] = ncols > 0 && json_array_size(r->windows) > 0;
}

/* plots.gp: one plot per r->plotted entry; paths are relative to DIR/plots. */
static void write_plot_script(const report *r, FILE *gp, const int64_t *cols, int ncols) {
    fprintf(gp, "# templar localnet plots: run `gnuplot plots.gp` in this directory.\n"
                "set terminal pngcairo size 960,540 noenhanced\n"
                "set grid\nset xlabel 'window'\nset format x '%%.0f'\nset key outside right\n"
                "set datafile missing '?'\n");
    if (r->plotted[0])
        fprintf(gp, "set output '../loss.png'\nset title 'Held-out loss of the shared model (leader validator)'\n"
                    "set ylabel 'loss (nats/token)'\n"
                    "plot 'loss.dat' using 1:2 with linespoints lw 2 pt 7 title 'held-out loss'\n");
    if (r->plotted[1]) {
        fprintf(gp, "set output '../weights.png'\nset title 'Weight per uid (stake-weighted over validators)'\n"
                    "set ylabel 'weight'\nset yrange [0:*]\nplot ");
        for (int c = 0; c < ncols; c++) {
            const rnode *n = &r->nodes[cols[c]];
            fprintf(gp, "%s'weights.dat' using 1:%d with linespoints pt 7 title 'uid %" PRId64 " %s (%s)'",
                    c ? ", \\\n     " : "", c + 2, n->uid, n->wallet, n->role);
        }
        fprintf(gp, "\nset autoscale y\n");
    }
    if (r->plotted[2])
        fprintf(gp, "set output '../gather.png'\nset title 'Gather success (leader validator)'\n"
                    "set ylabel 'share of the gather peers delivered'\nset yrange [0:1.05]\n"
                    "plot 'gather.dat' using 1:2 with linespoints lw 2 pt 7 title 'gather success'\n");
}

/* Runs plots.gp. Without gnuplot nothing is plotted; if it fails, r->plotted keeps the PNGs it did write. */
static void run_gnuplot(report *r) {
    if (!on_path("gnuplot")) {
        snprintf(r->plots_error, sizeof r->plots_error,
                 "gnuplot is not on PATH (scripts/install-deps installs gnuplot-nox): no plots; the data is in "
                 "%s/plots",
                 r->dir);
        fprintf(stderr, "templar localnet: %s\n", r->plots_error);
        memset(r->plotted, 0, sizeof r->plotted);
        return;
    }
    char cwd[LN_PATH_MAX + 16], log[LN_PATH_MAX + 32];
    snprintf(cwd, sizeof cwd, "%s/plots", r->dir);
    snprintf(log, sizeof log, "%s/plots/gnuplot.log", r->dir);
    unlink(log);
    char *argv[] = {"gnuplot", "plots.gp", NULL};
    int code = 0;
    tp_err err;
    if (ln_run_command(argv, cwd, log, &code, &err) || code) {
        snprintf(r->plots_error, sizeof r->plots_error, "gnuplot failed (exit status %d); see %.400s", code, log);
        fprintf(stderr, "templar localnet: %s\n", r->plots_error);
        char p[LN_PATH_MAX + 64];
        for (int k = 0; k < 3; k++) {
            snprintf(p, sizeof p, "%s/%s", r->dir, plot_pngs[k]);
            r->plotted[k] = tp_path_exists(p);
        }
    }
}

/* .dat files and plots.gp in DIR/plots (paths in the script are relative to it, so no quoting of
 * DIR is needed), then gnuplot. A missing gnuplot is reported, not fatal. */
static void make_plots(report *r) {
    plot_files f;
    if (open_plot_files(r, &f)) return;
    int64_t *cols = calloc((size_t)r->n + 1, sizeof *cols);
    int ncols = cols ? weight_columns(r, cols) : 0;
    write_plot_data(r, &f, cols, ncols);
    fclose(f.loss);
    fclose(f.gather);
    fclose(f.weights);
    write_plot_script(r, f.gp, cols, ncols);
    fclose(f.gp);
    free(cols);
    if (!r->plotted[0] && !r->plotted[1] && !r->plotted[2]) {
        snprintf(r->plots_error, sizeof r->plots_error, "nothing to plot yet");
        return;
    }
    run_gnuplot(r);
}

/* ---------------------------------------------------------------- report.json */

static json_t *uid_map(const report *r, const double *v) {
    json_t *o = json_object();
    char key[24];
    for (int64_t u = 0; o && v && u < r->n_uids; u++) json_object_set_new(o, uid_key(u, key, sizeof key), jnum(v[u]));
    return o;
}

/* The per-uid objects of report.json (uid → value); util, bytes and timings hold the miners only. */
typedef struct {
    json_t *roles, *wallets, *stakes, *util, *bytes, *timings;
} node_maps;

/* Returns 0 when all six were allocated; either way node_maps_free releases what was. */
static int node_maps_new(node_maps *m) {
    m->roles = json_object();
    m->wallets = json_object();
    m->stakes = json_object();
    m->util = json_object();
    m->bytes = json_object();
    m->timings = json_object();
    return m->roles && m->wallets && m->stakes && m->util && m->bytes && m->timings ? 0 : -1;
}

static void node_maps_free(node_maps *m) {
    json_decref(m->roles), json_decref(m->wallets), json_decref(m->stakes);
    json_decref(m->util), json_decref(m->bytes), json_decref(m->timings);
}

static void fill_node_maps(const report *r, const node_maps *m) {
    for (int k = 0; k < r->n; k++) {
        const rnode *n = &r->nodes[k];
        char key[24];
        uid_key(n->uid, key, sizeof key);
        json_object_set_new(m->roles, key, json_string(n->role));
        json_object_set_new(m->wallets, key, json_string(n->wallet));
        json_object_set_new(m->stakes, key, jnum(stake_of(r, n)));
        if (n->kind != LN_MINER) continue;
        miner_stats s = stats_of(n);
        json_object_set_new(m->util, key, jnum(s.util));
        json_object_set_new(m->bytes, key, json_pack("{s:o, s:o}", "up", jnum(s.up), "down", jnum(s.down)));
        json_object_set_new(m->timings, key, json_pack("{s:o, s:o, s:o}", "train_s", jnum(s.train), "comm_s",
                                                       jnum(s.comm), "wait_s", jnum(s.wait)));
    }
}

/* How the run was set up, from the manifest (null where it lacks a field). */
static void set_setup(const report *r, json_t *root) {
    json_t *man = r->man;
#define COPY(k) json_object_set(root, k, json_object_get(man, k) ? json_object_get(man, k) : json_null())
    COPY("config");
    COPY("miners");
    COPY("validators");
    json_object_set(root, "window_count", json_object_get(man, "windows")); /* K: "windows" holds the entries */
    json_object_set_new(root, "start_window", r->S >= 0 ? json_integer(r->S) : json_null());
    COPY("clock");
    COPY("store");
    COPY("blocks_per_window");
    COPY("block_time_ms");
    COPY("faults");
#undef COPY
}

/* What the run did; root takes over m's objects. */
static void set_results(const report *r, json_t *root, const node_maps *m) {
    json_object_set_new(root, "roles", m->roles);
    json_object_set_new(root, "wallets", m->wallets);
    json_object_set_new(root, "stakes", m->stakes);
    json_object_set(root, "windows", r->windows);
    json_object_set_new(root, "tokens_trained", json_real(r->tokens));
    json_object_set(root, "baseline", r->baseline ? r->baseline : json_null());
    json_object_set_new(root, "final_weights", uid_map(r, r->final_w));
    json_object_set_new(root, "incentive", uid_map(r, r->incentive));
    json_object_set_new(root, "utilization", m->util);
    json_object_set_new(root, "bytes_per_window", m->bytes);
    json_object_set_new(root, "timings", m->timings);
}

static json_t *plots_json(const report *r) {
    json_t *plots = json_object();
    static const char *const names[] = {"loss", "weights", "gather"};
    for (int i = 0; i < 3; i++) {
        char f[32];
        snprintf(f, sizeof f, "%s.png", names[i]);
        json_object_set_new(plots, names[i], r->plotted[i] ? json_string(f) : json_null());
    }
    return plots;
}

/* Writes root to DIR/report.json and releases it. */
static tp_status save_json(const report *r, json_t *root, tp_err *err) {
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    json_decref(root);
    if (!text) return tp_fail(err, TP_ERR_NOMEM, "out of memory writing report.json");
    char path[LN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/report.json", r->dir);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the final newline; the length excludes it */
    tp_status st = tp_write_file_atomic(path, text, len + 1, err);
    free(text);
    return st;
}

/* Keys are set in the order report.json lists them: setup, outcome and leader, results, plots, notes. */
static tp_status write_json(report *r, const char *outcome, json_t *notes, tp_err *err) {
    json_t *root = json_object();
    node_maps m;
    if (node_maps_new(&m) || !root) {
        json_decref(root);
        node_maps_free(&m);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    }
    fill_node_maps(r, &m);
    set_setup(r, root);
    json_object_set_new(root, "outcome", json_string(outcome));
    json_object_set_new(root, "leader", json_integer(r->nodes[r->leader].uid));
    set_results(r, root, &m);
    json_object_set_new(root, "plots", plots_json(r));
    json_object_set_new(root, "plots_error", r->plots_error[0] ? json_string(r->plots_error) : json_null());
    json_object_set_new(root, "notes", notes ? json_incref(notes) : json_array());
    return save_json(r, root, err);
}

/* ---------------------------------------------------------------- report.md */

static void fmt_num(char *out, size_t n, double x, const char *fmt) {
    if (isfinite(x)) snprintf(out, n, fmt, x);
    else snprintf(out, n, "–");
}

/* What decentralization cost: the network's last held-out loss against centralized training on as
 * many tokens at the same global batch (localnet --baseline). */
static void write_md_baseline(const report *r, FILE *f) {
    if (!r->baseline) return;
    double base = num(r->baseline, "heldout_loss"), net = NAN;
    for (size_t i = json_array_size(r->windows); i-- > 0 && !isfinite(net);)
        net = num(json_array_get(r->windows, i), "heldout_loss");
    fprintf(f, "| centralized baseline | held-out loss %.4f after `templar train` on %.0f tokens (batch %lld x %lld "
               "steps); the network's last: %.4f (%+.1f %%) |\n",
            base, num(r->baseline, "tokens"), (long long)num(r->baseline, "batch"), (long long)num(r->baseline, "steps"),
            net, 100 * (net - base) / base);
}

/* Faults injected into the run, if any, as one row. */
static void write_md_faults(const report *r, FILE *f) {
    json_t *faults = json_object_get(r->man, "faults");
    if (!json_array_size(faults)) return;
    fprintf(f, "| faults |");
    size_t i;
    json_t *x;
    json_array_foreach(faults, i, x) fprintf(f, "%s `%s`", i ? "," : "", str_or(x, "?"));
    fprintf(f, " |\n");
}

/* The title and the table of how the run was set up and what it trained. */
static void write_md_summary(const report *r, FILE *f, const char *outcome) {
    json_t *man = r->man;
    const rnode *leader = &r->nodes[r->leader];
    int64_t adversaries = 0;
    for (int k = 0; k < r->n; k++) adversaries += r->nodes[k].kind == LN_MINER && strcmp(r->nodes[k].role, "honest");
    fprintf(f, "# templar localnet report\n\n");
    fprintf(f, "| | |\n|---|---|\n");
    fprintf(f, "| outcome | %s |\n", outcome);
    fprintf(f, "| config | `%s` |\n", str_or(json_object_get(man, "config"), "?"));
    fprintf(f, "| neurons | %" PRId64 " validators, %" PRId64 " miners (%" PRId64 " adversaries) |\n",
            (int64_t)json_integer_value(json_object_get(man, "validators")),
            (int64_t)json_integer_value(json_object_get(man, "miners")), adversaries);
    if (r->S >= 0)
        fprintf(f, "| windows | %" PRId64 " from start window %" PRId64 " (chain windows %" PRId64 "–%" PRId64
                   "), %" PRId64 " recorded |\n",
                r->K, r->S, r->S, r->S + r->K - 1, r->count);
    else fprintf(f, "| windows | %" PRId64 " asked; the leader recorded none |\n", r->K);
    const char *clock = str_or(json_object_get(man, "clock"), "?");
    fprintf(f, "| clock | %s, %" PRId64 " blocks per window", clock,
            (int64_t)json_integer_value(json_object_get(man, "blocks_per_window")));
    if (!strcmp(clock, "wall"))
        fprintf(f, ", %" PRId64 " ms per block", (int64_t)json_integer_value(json_object_get(man, "block_time_ms")));
    fprintf(f, " |\n| store | %s |\n", str_or(json_object_get(man, "store"), "?"));
    fprintf(f, "| leader | %s (uid %" PRId64 ", stake %g) |\n", leader->wallet, leader->uid, stake_of(r, leader));
    fprintf(f, "| tokens | %.0f trained on by the honest miners |\n", r->tokens);
    write_md_baseline(r, f);
    write_md_faults(r, f);
}

static void write_md_windows(const report *r, FILE *f) {
    fprintf(f, "\n## Windows\n\nHeld-out loss and gather success as the leader recorded them; *models* is the\n"
               "number of distinct fingerprints among honest miners and validators (1: they all hold the same\n"
               "model); *tokens*: trained on by the honest miners by the end of the window.\n\n"
               "| window | tokens | held-out loss | gather success | models | fingerprints |\n|---|---|---|---|---|---|\n");
    size_t i;
    json_t *e;
    json_array_foreach(r->windows, i, e) {
        char l[32], g[32];
        fmt_num(l, sizeof l, num(e, "heldout_loss"), "%.4f");
        fmt_num(g, sizeof g, 100 * num(e, "gather_success"), "%.0f%%");
        fprintf(f, "| %" PRId64 " | %.0f | %s | %s | %" PRId64 " | %zu |\n",
                (int64_t)json_integer_value(json_object_get(e, "window")), num(e, "tokens"), l, g,
                (int64_t)json_integer_value(json_object_get(e, "honest_fingerprints_distinct")),
                json_object_size(json_object_get(e, "fingerprints")));
    }
    if (!json_array_size(r->windows)) fprintf(f, "| – | – | – | – | – | – |\n");
}

static void write_md_final_weights(const report *r, FILE *f) {
    fprintf(f, "\n## Final weights and incentive\n\nFinal weight: the validators' weights on chain, stake-weighted; "
               "incentive: Yuma consensus\nafter one more epoch at the end.\n\n"
               "| uid | wallet | role | stake | final weight | incentive |\n|---|---|---|---|---|---|\n");
    for (int k = 0; k < r->n; k++) {
        const rnode *n = &r->nodes[k];
        char w[32], inc[32];
        int on = r->have_chain && n->uid < r->n_uids;
        fmt_num(w, sizeof w, on ? r->final_w[n->uid] : NAN, "%.4f");
        fmt_num(inc, sizeof inc, on ? r->incentive[n->uid] : NAN, "%.4f");
        fprintf(f, "| %" PRId64 " | %s | %s | %g | %s | %s |\n", n->uid, n->wallet, n->role, stake_of(r, n), w, inc);
    }
}

static void write_md_miners(const report *r, FILE *f) {
    fprintf(f, "\n## Miners\n\nMeans per window over the windows a miner trained live (catch-up and "
               "null-round windows excluded);\nutilization = training time / wall time.\n\n"
               "| uid | wallet | role | windows | utilization | MB up | MB down | train s | comm s | wait s |\n"
               "|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < r->n; k++) {
        const rnode *n = &r->nodes[k];
        if (n->kind != LN_MINER) continue;
        miner_stats s = stats_of(n);
        char u[32], up[32], dn[32], t[32], c[32], wt[32];
        fmt_num(u, sizeof u, 100 * s.util, "%.1f%%");
        fmt_num(up, sizeof up, s.up / 1e6, "%.3f");
        fmt_num(dn, sizeof dn, s.down / 1e6, "%.3f");
        fmt_num(t, sizeof t, s.train, "%.2f");
        fmt_num(c, sizeof c, s.comm, "%.2f");
        fmt_num(wt, sizeof wt, s.wait, "%.2f");
        fprintf(f, "| %" PRId64 " | %s | %s | %" PRId64 " | %s | %s | %s | %s | %s | %s |\n", n->uid, n->wallet, n->role,
                s.n, u, up, dn, t, c, wt);
    }
}

static void write_md_plots(const report *r, FILE *f) {
    fprintf(f, "\n## Plots\n\n");
    static const char *const titles[] = {"Held-out loss", "Weights", "Gather success"};
    static const char *const files[] = {"loss.png", "weights.png", "gather.png"};
    for (int k = 0; k < 3; k++)
        if (r->plotted[k]) fprintf(f, "[%s](%s)\n\n![%s](%s)\n\n", titles[k], files[k], titles[k], files[k]);
    if (r->plots_error[0]) fprintf(f, "No plots: %s.\n\n", r->plots_error);
}

static void write_md_notes(FILE *f, json_t *notes) {
    fprintf(f, "## Notes\n\n");
    if (!json_array_size(notes)) fprintf(f, "None.\n");
    size_t i;
    json_t *x;
    json_array_foreach(notes, i, x) fprintf(f, "- %s\n", str_or(x, "?"));
    fprintf(f, "\nEvery neuron's log is in `logs/`, its metrics in `state/<wallet>/metrics.jsonl`; "
               "`templar localnet report DIR`\nrebuilds this report.\n");
}

static void write_md_body(const report *r, FILE *f, const char *outcome, json_t *notes) {
    write_md_summary(r, f, outcome);
    write_md_windows(r, f);
    write_md_final_weights(r, f);
    write_md_miners(r, f);
    write_md_plots(r, f);
    write_md_notes(f, notes);
}

static tp_status write_md(report *r, const char *outcome, json_t *notes, tp_err *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return tp_fail(err, TP_ERR_NOMEM, "out of memory writing report.md");
    write_md_body(r, f, outcome, notes);
    if (fclose(f) != 0) {
        free(buf);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory writing report.md");
    }
    char path[LN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/report.md", r->dir);
    tp_status st = tp_write_file_atomic(path, buf, len, err);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- entry */

static tp_status load_baseline(report *r, tp_err *err) {
    char path[LN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/" LN_BASELINE_FILE, r->dir);
    if (!tp_path_exists(path)) return TP_OK;
    json_error_t je;
    r->baseline = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(r->baseline) || !isfinite(num(r->baseline, "heldout_loss")))
        return tp_fail(err, TP_ERR_FORMAT, "%s: not a baseline record (%s)", path, r->baseline ? "no heldout_loss" : je.text);
    return TP_OK;
}

tp_status ln_report_write(const char *dir, const char *outcome, json_t *notes, tp_err *err) {
    report r = {.dir = dir, .S = -1};
    json_t *no_notes = notes ? NULL : json_array();
    tp_status st = load_manifest(&r, err);
    for (int k = 0; !st && k < r.n; k++) st = load_records(&r, &r.nodes[k], err);
    if (!st) {
        find_start(&r);
        st = read_chain(&r, err);
    }
    if (!st) st = build_windows(&r, err);
    if (!st) st = load_baseline(&r, err);
    if (!st) {
        make_plots(&r);
        st = write_json(&r, outcome, notes, err);
    }
    if (!st) st = write_md(&r, outcome, notes ? notes : no_notes, err);
    for (int k = 0; k < r.n && r.nodes; k++) json_decref(r.nodes[k].recs);
    free(r.nodes);
    free(r.final_w);
    free(r.incentive);
    free(r.stake);
    json_decref(r.windows);
    json_decref(r.baseline);
    json_decref(r.man);
    json_decref(no_notes);
    return st ? tp_wrap(err, "report of %s", dir) : TP_OK;
}
