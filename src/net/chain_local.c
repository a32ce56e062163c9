/* The local chain: one SQLite file shared by every process of a machine (`local:PATH`).
 *
 * Crash safety and concurrency come from SQLite: WAL journal (readers never block the writer),
 * synchronous=NORMAL (a killed process loses nothing that committed; only a power cut can drop the
 * last commits), every mutation in one BEGIN IMMEDIATE transaction (writers queue on the lock
 * through busy_timeout instead of failing on upgrade), and reads inside one transaction so they see
 * one snapshot.
 *
 * Epochs are not driven by a daemon: any writer that finds the clock past the next tempo boundary
 * runs the due epochs inside its own transaction, before its change (so the epoch sees the state of
 * the boundary as closely as the ledger knows it). Readers of the metagraph do the same first, so a
 * metagraph is never stale. Boundaries are the multiples of tempo. If many were crossed while nobody
 * wrote (a wall-clock ledger left alone), their inputs were identical; at most MAX_CATCHUP of them
 * are replayed (the bonds' EMA has converged long before) and the rest are skipped.
 *
 * The file is marked with application_id "TPLR" and user_version SCHEMA_VERSION; opening checks
 * both and runs quick_check, so a foreign, truncated or damaged file is refused with its name. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "net/chain_backend.h"
#include "net/yuma.h"

#define APP_ID 0x54504C52 /* "TPLR" */
#define SCHEMA_VERSION 3 /* 3: commitments hold the hotkey's key type */
#define BUSY_MS 30000
#define MAX_CATCHUP 1000

typedef struct {
    sqlite3 *db;
    char path[4096];
    tp_chain_config cfg;
    double genesis;
} ledger;

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE neurons("
    "  uid INTEGER PRIMARY KEY, hotkey TEXT NOT NULL UNIQUE, stake REAL NOT NULL DEFAULT 0,"
    "  rank REAL NOT NULL DEFAULT 0, consensus REAL NOT NULL DEFAULT 0, incentive REAL NOT NULL DEFAULT 0,"
    "  dividends REAL NOT NULL DEFAULT 0, emission REAL NOT NULL DEFAULT 0,"
    "  registered_block INTEGER NOT NULL, last_update INTEGER NOT NULL);"
    "CREATE TABLE commitments(uid INTEGER PRIMARY KEY, uri TEXT NOT NULL, access_key_id TEXT NOT NULL,"
    "  secret_access_key TEXT NOT NULL, block INTEGER NOT NULL, key_type INTEGER NOT NULL);"
    "CREATE TABLE weight_rows(uid INTEGER PRIMARY KEY, block INTEGER NOT NULL);"
    "CREATE TABLE weights(uid INTEGER NOT NULL, dest INTEGER NOT NULL, weight REAL NOT NULL,"
    "  PRIMARY KEY(uid, dest)) WITHOUT ROWID;"
    "CREATE TABLE bonds(uid INTEGER NOT NULL, dest INTEGER NOT NULL, bond REAL NOT NULL,"
    "  PRIMARY KEY(uid, dest)) WITHOUT ROWID;"
    "CREATE TABLE clock(block INTEGER PRIMARY KEY, ts REAL NOT NULL);"
    "CREATE TABLE epochs(n INTEGER PRIMARY KEY, block INTEGER NOT NULL, ts REAL NOT NULL,"
    "  validators INTEGER NOT NULL, scheduled INTEGER NOT NULL);"
    "CREATE TABLE waits(hotkey TEXT PRIMARY KEY, block INTEGER NOT NULL, ts REAL NOT NULL) WITHOUT ROWID;";

/* ---------------------------------------------------------------- SQLite plumbing */

static tp_status db_fail(ledger *l, int rc, const char *what, tp_err *err) {
    const char *msg = l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return tp_fail(err, TP_ERR_FORMAT, "ledger %s is corrupted (%s, while %s)", l->path, msg, what);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return tp_fail_transient(err, TP_ERR_IO, "ledger %s is busy: another process held its lock for %d s (while %s)",
                                 l->path, BUSY_MS / 1000, what);
    case SQLITE_READONLY: return tp_fail(err, TP_ERR_IO, "ledger %s is read-only (while %s)", l->path, what);
    case SQLITE_FULL: return tp_fail(err, TP_ERR_IO, "ledger %s: the disk is full (while %s)", l->path, what);
    default: return tp_fail(err, TP_ERR_IO, "ledger %s: %s (while %s)", l->path, msg, what);
    }
}

static tp_status exec(ledger *l, const char *sql, tp_err *err) {
    int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TP_OK : db_fail(l, rc, sql, err);
}

static tp_status prepare(ledger *l, const char *sql, sqlite3_stmt **st, tp_err *err) {
    int rc = sqlite3_prepare_v2(l->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return db_fail(l, rc, "preparing a query", err);
    }
    return TP_OK;
}

/* Steps a statement that returns no rows, then finalizes it. */
static tp_status run_done(ledger *l, sqlite3_stmt *st, const char *what, tp_err *err) {
    int rc = sqlite3_step(st);
    tp_status s = rc == SQLITE_DONE ? TP_OK : db_fail(l, rc, what, err);
    sqlite3_finalize(st);
    return s;
}

/* Steps once; *row = 1 if a row came back. Leaves the statement open. */
static tp_status step_row(ledger *l, sqlite3_stmt *st, int *row, const char *what, tp_err *err) {
    int rc = sqlite3_step(st);
    *row = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TP_OK : db_fail(l, rc, what, err);
}

static tp_status begin(ledger *l, int write, tp_err *err) { return exec(l, write ? "BEGIN IMMEDIATE" : "BEGIN", err); }

static tp_status finish(ledger *l, tp_status st, tp_err *err) {
    if (!st) st = exec(l, "COMMIT", err);
    if (st && !sqlite3_get_autocommit(l->db)) sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static tp_status corrupt(ledger *l, const char *what, tp_err *err) {
    return tp_fail(err, TP_ERR_FORMAT, "ledger %s is corrupted: %s", l->path, what);
}

static int copy_text(sqlite3_stmt *st, int col, char *out, size_t n) {
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    if (!t) t = (const unsigned char *)"", len = 0;
    if (len >= n) return -1;
    memcpy(out, t, len);
    out[len] = 0;
    return 0;
}

/* ---------------------------------------------------------------- meta */

static tp_status meta_get(ledger *l, const char *key, double *v, tp_err *err) {
    sqlite3_stmt *st;
    tp_status s = prepare(l, "SELECT value FROM meta WHERE key = ?", &st, err);
    if (s) return s;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int row;
    if (!(s = step_row(l, st, &row, "reading the ledger settings", err))) {
        int type = row ? sqlite3_column_type(st, 0) : SQLITE_NULL;
        if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) {
            char what[128];
            snprintf(what, sizeof what, "setting '%s' is missing", key);
            s = corrupt(l, what, err);
        } else {
            *v = sqlite3_column_double(st, 0);
        }
    }
    sqlite3_finalize(st);
    return s;
}

static tp_status meta_get_i64(ledger *l, const char *key, int64_t *v, tp_err *err) {
    double d = 0;
    tp_status s = meta_get(l, key, &d, err);
    if (!s) *v = (int64_t)d;
    return s;
}

static tp_status meta_set(ledger *l, const char *key, int64_t iv, double dv, int is_int, tp_err *err) {
    sqlite3_stmt *st;
    tp_status s = prepare(l, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &st, err);
    if (s) return s;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (is_int) sqlite3_bind_int64(st, 2, iv);
    else sqlite3_bind_double(st, 2, dv);
    return run_done(l, st, "writing the ledger settings", err);
}

static tp_status load_config(ledger *l, tp_err *err) {
    tp_chain_config *c = &l->cfg;
    double clock;
    tp_status s;
    if ((s = meta_get(l, "genesis", &l->genesis, err)) ||
        (s = meta_get_i64(l, "block_time_ms", &c->block_time_ms, err)) ||
        (s = meta_get_i64(l, "blocks_per_window", &c->blocks_per_window, err)) ||
        (s = meta_get_i64(l, "tempo", &c->tempo, err)) || (s = meta_get(l, "clock", &clock, err)) ||
        (s = meta_get_i64(l, "max_uids", &c->max_uids, err)) ||
        (s = meta_get(l, "permit_stake", &c->permit_stake, err)) || (s = meta_get(l, "kappa", &c->kappa, err)) ||
        (s = meta_get(l, "bond_alpha", &c->bond_alpha, err)) ||
        (s = meta_get(l, "emission_per_block", &c->emission_per_block, err)))
        return s;
    c->clock = clock == 1 ? TP_CLOCK_LOCKSTEP : TP_CLOCK_WALL;
    tp_err inner;
    if (clock != 0 && clock != 1) return corrupt(l, "unknown clock", err);
    if (tp_chain_config_check(c, &inner) || !isfinite(l->genesis)) return corrupt(l, inner.msg, err);
    return TP_OK;
}

/* ---------------------------------------------------------------- clock */

static tp_status current_block(ledger *l, int64_t *block, tp_err *err) {
    if (l->cfg.clock == TP_CLOCK_LOCKSTEP) return meta_get_i64(l, "lockstep_block", block, err);
    double d = (tp_wall_now() - l->genesis) * 1000.0 / (double)l->cfg.block_time_ms;
    *block = d > 0 ? (int64_t)floor(d) : 0;
    return TP_OK;
}

static tp_status block_ts(ledger *l, int64_t block, double *ts, tp_err *err) {
    if (l->cfg.clock == TP_CLOCK_WALL) {
        *ts = l->genesis + (double)block * (double)l->cfg.block_time_ms / 1000.0;
        return TP_OK;
    }
    int64_t cur;
    tp_status s = current_block(l, &cur, err);
    if (s) return s;
    if (block > cur)
        return tp_fail(err, TP_ERR_ARG, "block %lld has not been reached yet (the lockstep clock is at %lld)",
                       (long long)block, (long long)cur);
    /* A jump of several blocks stamps all of them with the moment of the jump. */
    sqlite3_stmt *st;
    if ((s = prepare(l, "SELECT ts FROM clock WHERE block >= ? ORDER BY block LIMIT 1", &st, err))) return s;
    sqlite3_bind_int64(st, 1, block);
    int row;
    if (!(s = step_row(l, st, &row, "reading block timestamps", err))) {
        if (row) *ts = sqlite3_column_double(st, 0);
        else s = corrupt(l, "the lockstep clock has no timestamp for its current block", err);
    }
    sqlite3_finalize(st);
    return s;
}

/* ---------------------------------------------------------------- epochs */

typedef struct {
    int64_t n_uid, n_val;
    int64_t *val_uid; /* n_val */
    double *stake;    /* n_val */
    double *W, *B;    /* n_val × n_uid */
    int have_bonds;
} epoch_input;

static void epoch_input_free(epoch_input *in) {
    free(in->val_uid);
    free(in->stake);
    free(in->W);
    free(in->B);
}

static tp_status count_uids(ledger *l, int64_t *n, tp_err *err) {
    sqlite3_stmt *st;
    tp_status s = prepare(l, "SELECT COUNT(*), COALESCE(MAX(uid), -1) FROM neurons", &st, err);
    int row;
    if (s || (s = step_row(l, st, &row, "counting uids", err))) {
        sqlite3_finalize(st);
        return s;
    }
    *n = sqlite3_column_int64(st, 0);
    int64_t max = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (max != *n - 1 || *n > TP_CHAIN_MAX_UIDS) return corrupt(l, "uids are not numbered 0..n-1", err);
    return TP_OK;
}

/* Validators of an epoch: registered, holding a permit, with a weight row. */
static tp_status load_epoch_input(ledger *l, epoch_input *in, tp_err *err) {
    memset(in, 0, sizeof *in);
    tp_status s = count_uids(l, &in->n_uid, err);
    if (s) return s;
    int64_t n = in->n_uid;
    int64_t *row_of = tp_malloc(sizeof(int64_t) * (size_t)(n + 1), err);
    in->val_uid = tp_malloc(sizeof(int64_t) * (size_t)(n + 1), err);
    in->stake = tp_malloc(sizeof(double) * (size_t)(n + 1), err);
    if (!row_of || !in->val_uid || !in->stake) {
        free(row_of);
        return TP_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) row_of[i] = -1;
    sqlite3_stmt *st = NULL;
    int row;
    s = prepare(l,
                "SELECT uid, stake FROM neurons WHERE stake >= ? AND uid IN (SELECT uid FROM weight_rows) ORDER BY uid",
                &st, err);
    if (!s) sqlite3_bind_double(st, 1, l->cfg.permit_stake);
    while (!s && !(s = step_row(l, st, &row, "reading validators", err)) && row) {
        int64_t uid = sqlite3_column_int64(st, 0);
        if (uid < 0 || uid >= n) s = corrupt(l, "a validator uid is out of range", err);
        else {
            row_of[uid] = in->n_val;
            in->val_uid[in->n_val] = uid;
            in->stake[in->n_val++] = sqlite3_column_double(st, 1);
        }
    }
    sqlite3_finalize(st);
    size_t m = (size_t)(in->n_val * n) + 1;
    if (!s && (!(in->W = tp_calloc(m, sizeof(double), err)) || !(in->B = tp_calloc(m, sizeof(double), err))))
        s = TP_ERR_NOMEM;
    /* Weights then bonds: same shape, both sparse (uid, dest, value). */
    static const char *const q[2] = {"SELECT uid, dest, weight FROM weights", "SELECT uid, dest, bond FROM bonds"};
    for (int k = 0; k < 2 && !s; k++) {
        double *M = k ? in->B : in->W;
        if ((s = prepare(l, q[k], &st, err))) break;
        while (!(s = step_row(l, st, &row, k ? "reading bonds" : "reading weights", err)) && row) {
            int64_t uid = sqlite3_column_int64(st, 0), dest = sqlite3_column_int64(st, 1);
            double v = sqlite3_column_double(st, 2);
            if (dest < 0 || dest >= n || uid < 0 || uid >= n || !isfinite(v) || v < 0) {
                s = corrupt(l, k ? "a bond is out of range" : "a weight is out of range", err);
                break;
            }
            if (k) in->have_bonds = 1;
            if (row_of[uid] >= 0) M[row_of[uid] * n + dest] = v;
        }
        sqlite3_finalize(st);
    }
    free(row_of);
    if (s) epoch_input_free(in);
    return s;
}

/* Runs `count` Yuma epochs on the current state and stores the last one's results. Epoch t is
 * recorded at block first_block + t·tempo (scheduled) or at first_block (an explicit epoch). */
static tp_status run_epochs(ledger *l, int64_t count, int64_t first_block, int scheduled, tp_err *err) {
    epoch_input in;
    tp_status s = load_epoch_input(l, &in, err);
    if (s) return s;
    tp_yuma_params p = {l->cfg.kappa, l->cfg.bond_alpha};
    tp_yuma_result r;
    double *em = NULL;
    if ((s = tp_yuma_result_alloc(&r, in.n_val, in.n_uid, err))) {
        epoch_input_free(&in);
        return s;
    }
    size_t m = (size_t)(in.n_val * in.n_uid);
    for (int64_t t = 0; t < count && !s; t++) {
        s = tp_yuma_epoch(&p, in.n_val, in.n_uid, in.W, in.stake, in.have_bonds || t ? in.B : NULL, &r, err);
        if (!s && m) memcpy(in.B, r.bonds, sizeof(double) * m);
    }
    if (!s && !(em = tp_calloc((size_t)in.n_uid + 1, sizeof(double), err))) s = TP_ERR_NOMEM;
    if (!s) tp_yuma_emission(&r, in.val_uid, (double)l->cfg.tempo * l->cfg.emission_per_block, em);

    sqlite3_stmt *st = NULL;
    if (!s) s = exec(l, "UPDATE neurons SET dividends = 0; DELETE FROM bonds", err);
    if (!s && !(s = prepare(l, "UPDATE neurons SET rank = ?, consensus = ?, incentive = ?, emission = ? WHERE uid = ?",
                            &st, err))) {
        for (int64_t j = 0; j < in.n_uid && !s; j++) {
            sqlite3_reset(st);
            sqlite3_bind_double(st, 1, r.rank[j]);
            sqlite3_bind_double(st, 2, r.consensus[j]);
            sqlite3_bind_double(st, 3, r.incentive[j]);
            sqlite3_bind_double(st, 4, em[j]);
            sqlite3_bind_int64(st, 5, j);
            int rc = sqlite3_step(st);
            if (rc != SQLITE_DONE) s = db_fail(l, rc, "storing incentives", err);
        }
        sqlite3_finalize(st);
    }
    if (!s && !(s = prepare(l, "UPDATE neurons SET dividends = ? WHERE uid = ?", &st, err))) {
        for (int64_t i = 0; i < in.n_val && !s; i++) {
            sqlite3_reset(st);
            sqlite3_bind_double(st, 1, r.dividends[i]);
            sqlite3_bind_int64(st, 2, in.val_uid[i]);
            int rc = sqlite3_step(st);
            if (rc != SQLITE_DONE) s = db_fail(l, rc, "storing dividends", err);
        }
        sqlite3_finalize(st);
    }
    if (!s && !(s = prepare(l, "INSERT INTO bonds(uid, dest, bond) VALUES(?, ?, ?)", &st, err))) {
        for (int64_t i = 0; i < in.n_val && !s; i++)
            for (int64_t j = 0; j < in.n_uid && !s; j++) {
                double b = r.bonds[i * in.n_uid + j];
                if (b <= 0) continue;
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, in.val_uid[i]);
                sqlite3_bind_int64(st, 2, j);
                sqlite3_bind_double(st, 3, b);
                int rc = sqlite3_step(st);
                if (rc != SQLITE_DONE) s = db_fail(l, rc, "storing bonds", err);
            }
        sqlite3_finalize(st);
    }
    int64_t n_epochs = 0;
    if (!s) s = meta_get_i64(l, "epoch_count", &n_epochs, err);
    if (!s &&
        !(s = prepare(l, "INSERT INTO epochs(n, block, ts, validators, scheduled) VALUES(?, ?, ?, ?, ?)", &st, err))) {
        for (int64_t t = 0; t < count && !s; t++) {
            int64_t b = scheduled ? first_block + t * l->cfg.tempo : first_block;
            double ts = 0;
            if ((s = block_ts(l, b, &ts, err))) break;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, n_epochs + t);
            sqlite3_bind_int64(st, 2, b);
            sqlite3_bind_double(st, 3, ts);
            sqlite3_bind_int64(st, 4, in.n_val);
            sqlite3_bind_int(st, 5, scheduled);
            int rc = sqlite3_step(st);
            if (rc != SQLITE_DONE) s = db_fail(l, rc, "recording the epoch", err);
        }
        sqlite3_finalize(st);
    }
    if (!s) s = meta_set(l, "epoch_count", n_epochs + count, 0, 1, err);
    free(em);
    tp_yuma_result_free(&r);
    epoch_input_free(&in);
    return s;
}

/* Inside a write transaction: runs the epochs whose boundaries (multiples of tempo) lie in
 * (last_epoch_block, block]. */
static tp_status catch_up(ledger *l, int64_t block, tp_err *err) {
    int64_t last;
    tp_status s = meta_get_i64(l, "last_epoch_block", &last, err);
    if (s) return s;
    int64_t tempo = l->cfg.tempo;
    if (block < last + tempo) return TP_OK;
    int64_t due = (block - last) / tempo, run = due > MAX_CATCHUP ? MAX_CATCHUP : due;
    int64_t newest = last + due * tempo;
    if ((s = run_epochs(l, run, newest - (run - 1) * tempo, 1, err))) return s;
    return meta_set(l, "last_epoch_block", newest, 0, 1, err);
}

typedef tp_status (*write_fn)(ledger *l, int64_t block, void *ctx, tp_err *err);

/* One write transaction: the epochs that are due, then fn. */
static tp_status with_write(ledger *l, write_fn fn, void *ctx, tp_err *err) {
    tp_status s = begin(l, 1, err);
    if (s) return s;
    int64_t block;
    if (!(s = current_block(l, &block, err)) && !(s = catch_up(l, block, err)) && fn) s = fn(l, block, ctx, err);
    return finish(l, s, err);
}

/* Before a read: runs due epochs, unless the file is read-only (then the reader sees the last ones). */
static tp_status bring_current(ledger *l, tp_err *err) {
    if (sqlite3_db_readonly(l->db, "main") == 1) return TP_OK;
    int64_t block = 0, last = 0;
    tp_status s = begin(l, 0, err);
    if (!s && !(s = current_block(l, &block, err))) s = meta_get_i64(l, "last_epoch_block", &last, err);
    s = finish(l, s, err);
    if (s || block < last + l->cfg.tempo) return s;
    return with_write(l, NULL, NULL, err);
}

/* ---------------------------------------------------------------- uids */

static tp_status lookup_uid(ledger *l, const char *hotkey, int64_t *uid, tp_err *err) {
    sqlite3_stmt *st;
    tp_status s = prepare(l, "SELECT uid FROM neurons WHERE hotkey = ?", &st, err);
    if (s) return s;
    sqlite3_bind_text(st, 1, hotkey, -1, SQLITE_STATIC);
    int row;
    if (!(s = step_row(l, st, &row, "looking up a hotkey", err))) *uid = row ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return s;
}

static tp_status need_uid(ledger *l, const char *hotkey, int64_t *uid, tp_err *err) {
    tp_status s = lookup_uid(l, hotkey, uid, err);
    if (!s && *uid < 0)
        s = tp_fail(err, TP_ERR_ARG, "unknown hotkey %s: it is not registered on ledger %s", hotkey, l->path);
    return s;
}

/* ---------------------------------------------------------------- operations */

static void op_close(void *self) {
    ledger *l = self;
    if (!l) return;
    sqlite3_close(l->db);
    free(l);
}

static tp_status op_info(void *self, tp_chain_info *out, tp_err *err) {
    ledger *l = self;
    memset(out, 0, sizeof *out);
    tp_status s = bring_current(l, err);
    if (s || (s = begin(l, 0, err))) return s;
    out->cfg = l->cfg;
    out->genesis = l->genesis;
    if (!(s = current_block(l, &out->block, err)) && !(s = block_ts(l, out->block, &out->block_ts, err)) &&
        !(s = meta_get_i64(l, "epoch_count", &out->epochs, err)) &&
        !(s = meta_get_i64(l, "last_epoch_block", &out->last_epoch_block, err)))
        s = count_uids(l, &out->n_uids, err);
    out->window = tp_window_of_block(out->block, l->cfg.blocks_per_window);
    out->poll_s = 0.003; /* a local file: cheap to look at */
    return finish(l, s, err);
}

static tp_status op_block_timestamp(void *self, int64_t block, double *ts, tp_err *err) {
    ledger *l = self;
    tp_status s = begin(l, 0, err);
    if (!s) s = block_ts(l, block, ts, err);
    return finish(l, s, err);
}

typedef struct {
    const char *hotkey;
    int64_t uid;
    int is_new;
    double amount;
    const tp_commitment *cm;
    const int64_t *uids;
    const double *weights;
    int64_t n;
} op_args;

static tp_status do_register(ledger *l, int64_t block, void *ctx, tp_err *err) {
    op_args *a = ctx;
    int64_t n;
    tp_status s = lookup_uid(l, a->hotkey, &a->uid, err);
    if (s || a->uid >= 0) return s;
    if ((s = count_uids(l, &n, err))) return s;
    if (n >= l->cfg.max_uids)
        return tp_fail(err, TP_ERR_ARG, "ledger %s is full: all %lld uids are taken (max uids)", l->path,
                       (long long)l->cfg.max_uids);
    sqlite3_stmt *st;
    if ((s = prepare(l, "INSERT INTO neurons(uid, hotkey, registered_block, last_update) VALUES(?, ?, ?, ?)", &st,
                     err)))
        return s;
    sqlite3_bind_int64(st, 1, n);
    sqlite3_bind_text(st, 2, a->hotkey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, block);
    sqlite3_bind_int64(st, 4, block);
    if (!(s = run_done(l, st, "registering a hotkey", err))) {
        a->uid = n;
        a->is_new = 1;
    }
    return s;
}

static tp_status op_register(void *self, const char *hotkey, int64_t *uid, int *is_new, tp_err *err) {
    op_args a = {.hotkey = hotkey, .uid = -1};
    tp_status s = with_write(self, do_register, &a, err);
    *uid = a.uid;
    *is_new = a.is_new;
    return s;
}

static tp_status op_uid(void *self, const char *hotkey, int64_t *uid, tp_err *err) {
    ledger *l = self;
    tp_status s = begin(l, 0, err);
    if (!s) s = lookup_uid(l, hotkey, uid, err);
    return finish(l, s, err);
}

static tp_status do_stake(ledger *l, int64_t block, void *ctx, tp_err *err) {
    (void)block;
    op_args *a = ctx;
    int64_t uid;
    tp_status s = need_uid(l, a->hotkey, &uid, err);
    sqlite3_stmt *st;
    if (s || (s = prepare(l, "UPDATE neurons SET stake = ? WHERE uid = ?", &st, err))) return s;
    sqlite3_bind_double(st, 1, a->amount);
    sqlite3_bind_int64(st, 2, uid);
    return run_done(l, st, "setting stake", err);
}

static tp_status op_set_stake(void *self, const char *hotkey, double amount, tp_err *err) {
    op_args a = {.hotkey = hotkey, .amount = amount};
    return with_write(self, do_stake, &a, err);
}

static tp_status do_commit(ledger *l, int64_t block, void *ctx, tp_err *err) {
    op_args *a = ctx;
    int64_t uid;
    tp_status s = need_uid(l, a->hotkey, &uid, err);
    sqlite3_stmt *st;
    if (s || (s = prepare(l,
                          "INSERT OR REPLACE INTO commitments(uid, uri, access_key_id, secret_access_key, block, "
                          "key_type) VALUES(?, ?, ?, ?, ?, ?)",
                          &st, err)))
        return s;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_text(st, 2, a->cm->uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->cm->access_key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->cm->secret_access_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, block);
    sqlite3_bind_int(st, 6, (int)a->cm->key_type);
    return run_done(l, st, "storing a commitment", err);
}

static tp_status op_commit(void *self, const char *hotkey, const tp_commitment *cm, tp_err *err) {
    op_args a = {.hotkey = hotkey, .cm = cm};
    return with_write(self, do_commit, &a, err);
}

static tp_status op_commitment(void *self, int64_t uid, tp_commitment *out, int *found, tp_err *err) {
    ledger *l = self;
    sqlite3_stmt *st = NULL;
    tp_status s = begin(l, 0, err);
    int row = 0;
    if (!s && !(s = prepare(l, "SELECT uri, access_key_id, secret_access_key, block, key_type FROM commitments WHERE uid = ?",
                            &st, err))) {
        sqlite3_bind_int64(st, 1, uid);
        if (!(s = step_row(l, st, &row, "reading a commitment", err)) && row) {
            if (copy_text(st, 0, out->uri, sizeof out->uri) ||
                copy_text(st, 1, out->access_key_id, sizeof out->access_key_id) ||
                copy_text(st, 2, out->secret_access_key, sizeof out->secret_access_key))
                s = corrupt(l, "a commitment is too long", err);
            out->block = sqlite3_column_int64(st, 3);
            out->key_type = (tp_key_type)sqlite3_column_int(st, 4);
            if (!s && !tp_key_type_name(out->key_type)) s = corrupt(l, "a commitment's key type is unknown", err);
            *found = !s;
        }
        sqlite3_finalize(st);
    }
    return finish(l, s, err);
}

static tp_status do_set_weights(ledger *l, int64_t block, void *ctx, tp_err *err) {
    op_args *a = ctx;
    int64_t uid, n_uids;
    double stake = 0;
    tp_status s = need_uid(l, a->hotkey, &uid, err);
    if (s || (s = count_uids(l, &n_uids, err))) return s;
    for (int64_t i = 0; i < a->n; i++)
        if (a->uids[i] >= n_uids)
            return tp_fail(err, TP_ERR_ARG, "weights: unknown uid %lld (registered uids are 0..%lld)",
                           (long long)a->uids[i], (long long)n_uids - 1);
    sqlite3_stmt *st;
    int row;
    if ((s = prepare(l,
                     "SELECT n.stake, w.block FROM neurons n LEFT JOIN weight_rows w ON w.uid = n.uid WHERE n.uid = ?",
                     &st, err)))
        return s;
    sqlite3_bind_int64(st, 1, uid);
    int64_t last = -1;
    if (!(s = step_row(l, st, &row, "reading a validator", err)) && row) {
        stake = sqlite3_column_double(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL) last = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (s) return s;
    if (!(stake >= l->cfg.permit_stake))
        return tp_fail(err, TP_ERR_ARG, "uid %lld has no validator permit: stake %g is below the permit stake %g",
                       (long long)uid, stake, l->cfg.permit_stake);
    int64_t bpw = l->cfg.blocks_per_window, window = tp_window_of_block(block, bpw);
    if (last >= 0 && tp_window_of_block(last, bpw) == window)
        return tp_fail(err, TP_ERR_ARG,
                       "uid %lld already set weights in window %lld (at block %lld); weights are accepted once per "
                       "window, next at block %lld",
                       (long long)uid, (long long)window, (long long)last,
                       (long long)tp_window_first_block(window + 1, bpw));
    if ((s = prepare(l, "DELETE FROM weights WHERE uid = ?", &st, err))) return s;
    sqlite3_bind_int64(st, 1, uid);
    if ((s = run_done(l, st, "replacing weights", err))) return s;
    if ((s = prepare(l, "INSERT INTO weights(uid, dest, weight) VALUES(?, ?, ?)", &st, err))) return s;
    for (int64_t i = 0; i < a->n && !s; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, uid);
        sqlite3_bind_int64(st, 2, a->uids[i]);
        sqlite3_bind_double(st, 3, a->weights[i]);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = db_fail(l, rc, "storing weights", err);
    }
    sqlite3_finalize(st);
    if (s || (s = prepare(l, "INSERT OR REPLACE INTO weight_rows(uid, block) VALUES(?, ?)", &st, err))) return s;
    sqlite3_bind_int64(st, 1, uid);
    sqlite3_bind_int64(st, 2, block);
    if ((s = run_done(l, st, "storing weights", err))) return s;
    if ((s = prepare(l, "UPDATE neurons SET last_update = ? WHERE uid = ?", &st, err))) return s;
    sqlite3_bind_int64(st, 1, block);
    sqlite3_bind_int64(st, 2, uid);
    return run_done(l, st, "storing weights", err);
}

static tp_status op_set_weights(void *self, const char *hotkey, const int64_t *uids, const double *weights, int64_t n,
                                tp_err *err) {
    op_args a = {.hotkey = hotkey, .uids = uids, .weights = weights, .n = n};
    return with_write(self, do_set_weights, &a, err);
}

static tp_status op_weights(void *self, int64_t uid, tp_weights *out, tp_err *err) {
    ledger *l = self;
    sqlite3_stmt *st = NULL;
    int row;
    tp_status s = begin(l, 0, err);
    if (!s &&
        !(s = prepare(l, "SELECT block, (SELECT COUNT(*) FROM weights WHERE uid = ?1) FROM weight_rows WHERE uid = ?1",
                      &st, err))) {
        sqlite3_bind_int64(st, 1, uid);
        if (!(s = step_row(l, st, &row, "reading weights", err)) && row) {
            out->block = sqlite3_column_int64(st, 0);
            out->n = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    if (!s && out->n > TP_CHAIN_MAX_UIDS) s = corrupt(l, "a weight row is longer than the chain", err);
    if (!s && out->n > 0) {
        out->uids = tp_malloc(sizeof(int64_t) * (size_t)out->n, err);
        out->weights = tp_malloc(sizeof(double) * (size_t)out->n, err);
        if (!out->uids || !out->weights) s = TP_ERR_NOMEM;
        if (!s && !(s = prepare(l, "SELECT dest, weight FROM weights WHERE uid = ? ORDER BY dest", &st, err))) {
            sqlite3_bind_int64(st, 1, uid);
            int64_t k = 0;
            while (!(s = step_row(l, st, &row, "reading weights", err)) && row && k < out->n) {
                out->uids[k] = sqlite3_column_int64(st, 0);
                out->weights[k++] = sqlite3_column_double(st, 1);
            }
            sqlite3_finalize(st);
            if (!s && k != out->n) s = corrupt(l, "a weight row changed size while read", err);
        }
    }
    s = finish(l, s, err);
    if (s) tp_weights_free(out);
    return s;
}

static tp_status op_metagraph(void *self, tp_metagraph *out, tp_err *err) {
    ledger *l = self;
    tp_status s = bring_current(l, err);
    if (s || (s = begin(l, 0, err))) return s;
    sqlite3_stmt *st = NULL;
    int row;
    if (!(s = current_block(l, &out->block, err)) && !(s = meta_get_i64(l, "epoch_count", &out->epochs, err)) &&
        !(s = count_uids(l, &out->n, err)) &&
        (out->neurons = tp_calloc((size_t)out->n + 1, sizeof(tp_neuron), err)) == NULL)
        s = TP_ERR_NOMEM;
    if (!s)
        s = prepare(l,
                    "SELECT n.uid, n.hotkey, n.stake, n.rank, n.consensus, n.incentive, n.dividends, n.emission, "
                    "n.registered_block, n.last_update, COALESCE(c.uri, '') FROM neurons n "
                    "LEFT JOIN commitments c ON c.uid = n.uid ORDER BY n.uid",
                    &st, err);
    int64_t k = 0;
    while (!s && !(s = step_row(l, st, &row, "reading the metagraph", err)) && row) {
        tp_neuron *nr = &out->neurons[k];
        nr->uid = sqlite3_column_int64(st, 0);
        if (nr->uid != k || k >= out->n || copy_text(st, 1, nr->hotkey, sizeof nr->hotkey) ||
            copy_text(st, 10, nr->store, sizeof nr->store)) {
            s = corrupt(l, "a neuron row is malformed", err);
            break;
        }
        nr->stake = sqlite3_column_double(st, 2);
        nr->validator_permit = nr->stake >= l->cfg.permit_stake;
        nr->rank = sqlite3_column_double(st, 3);
        nr->consensus = sqlite3_column_double(st, 4);
        nr->incentive = sqlite3_column_double(st, 5);
        nr->dividends = sqlite3_column_double(st, 6);
        nr->emission = sqlite3_column_double(st, 7);
        nr->registered_block = sqlite3_column_int64(st, 8);
        nr->last_update = sqlite3_column_int64(st, 9);
        k++;
    }
    sqlite3_finalize(st);
    if (!s && k != out->n) s = corrupt(l, "the neuron count changed while read", err);
    s = finish(l, s, err);
    if (s) tp_metagraph_free(out);
    return s;
}

static tp_status do_epoch(ledger *l, int64_t block, void *ctx, tp_err *err) {
    (void)ctx;
    return run_epochs(l, 1, block, 0, err);
}

static tp_status op_epoch(void *self, tp_err *err) { return with_write(self, do_epoch, NULL, err); }

static tp_status do_advance(ledger *l, int64_t block, void *ctx, tp_err *err) {
    op_args *a = ctx;
    if (l->cfg.clock != TP_CLOCK_LOCKSTEP)
        return tp_fail(err, TP_ERR_ARG, "ledger %s runs on the wall clock; only a lockstep clock can be advanced",
                       l->path);
    if (block > INT64_MAX / 4 - a->n) return tp_fail(err, TP_ERR_ARG, "advance: the block counter would overflow");
    int64_t to = block + a->n;
    tp_status s = meta_set(l, "lockstep_block", to, 0, 1, err);
    sqlite3_stmt *st;
    if (s || (s = prepare(l, "INSERT OR REPLACE INTO clock(block, ts) VALUES(?, ?)", &st, err))) return s;
    sqlite3_bind_int64(st, 1, to);
    sqlite3_bind_double(st, 2, tp_wall_now());
    if ((s = run_done(l, st, "advancing the clock", err))) return s;
    a->uid = to;
    return catch_up(l, to, err);
}

static tp_status op_advance(void *self, int64_t blocks, int64_t *block, tp_err *err) {
    op_args a = {.n = blocks};
    tp_status s = with_write(self, do_advance, &a, err);
    if (!s) *block = a.uid;
    return s;
}

static const tp_chain_ops local_ops = {
    .name = "local",
    .close = op_close,
    .info = op_info,
    .block_timestamp = op_block_timestamp,
    .register_hotkey = op_register,
    .uid = op_uid,
    .set_stake = op_set_stake,
    .commit = op_commit,
    .commitment = op_commitment,
    .set_weights = op_set_weights,
    .weights = op_weights,
    .metagraph = op_metagraph,
    .epoch = op_epoch,
    .advance = op_advance,
};

/* ---------------------------------------------------------------- create and open */

static tp_status pragma_int(ledger *l, const char *sql, int64_t *v, tp_err *err) {
    sqlite3_stmt *st;
    tp_status s = prepare(l, sql, &st, err);
    int row;
    if (!s && !(s = step_row(l, st, &row, sql, err))) *v = row ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return s;
}

static tp_status write_genesis(ledger *l, const tp_chain_config *c, double genesis, tp_err *err) {
    tp_status s;
    if ((s = exec(l, schema_sql, err)) || (s = meta_set(l, "genesis", 0, genesis, 0, err)) ||
        (s = meta_set(l, "block_time_ms", c->block_time_ms, 0, 1, err)) ||
        (s = meta_set(l, "blocks_per_window", c->blocks_per_window, 0, 1, err)) ||
        (s = meta_set(l, "tempo", c->tempo, 0, 1, err)) ||
        (s = meta_set(l, "clock", c->clock == TP_CLOCK_LOCKSTEP, 0, 1, err)) ||
        (s = meta_set(l, "max_uids", c->max_uids, 0, 1, err)) ||
        (s = meta_set(l, "permit_stake", 0, c->permit_stake, 0, err)) ||
        (s = meta_set(l, "kappa", 0, c->kappa, 0, err)) || (s = meta_set(l, "bond_alpha", 0, c->bond_alpha, 0, err)) ||
        (s = meta_set(l, "emission_per_block", 0, c->emission_per_block, 0, err)) ||
        (s = meta_set(l, "lockstep_block", 0, 0, 1, err)) || (s = meta_set(l, "last_epoch_block", 0, 0, 1, err)) ||
        (s = meta_set(l, "epoch_count", 0, 0, 1, err)))
        return s;
    sqlite3_stmt *st;
    if ((s = prepare(l, "INSERT INTO clock(block, ts) VALUES(0, ?)", &st, err))) return s;
    sqlite3_bind_double(st, 1, genesis);
    if ((s = run_done(l, st, "writing the genesis block", err))) return s;
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d", APP_ID, SCHEMA_VERSION);
    return exec(l, sql, err);
}

/* The ledger is built under a temporary name and linked into place, so PATH is either absent or a
 * complete ledger; link() also refuses to replace one that appeared meanwhile. */
tp_status tp_chain_local_create(const char *path, const tp_chain_config *cfg, tp_err *err) {
    ledger l = {0};
    if (snprintf(l.path, sizeof l.path, "%s", path) >= (int)sizeof l.path)
        return tp_fail(err, TP_ERR_ARG, "ledger path is too long");
    if (tp_path_exists(path))
        return tp_fail(err, TP_ERR_ARG, "ledger %s already exists; refusing to overwrite it", path);
    char dir[4096], tmp[4200], side[4300];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    tp_status s;
    if (slash && slash != dir) {
        *slash = 0;
        if ((s = tp_mkdirs(dir, err))) return s;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    unlink(tmp);
    int rc = sqlite3_open_v2(tmp, &l.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        s = tp_fail(err, TP_ERR_IO, "cannot create ledger %s: %s", tmp,
                    l.db ? sqlite3_errmsg(l.db) : sqlite3_errstr(rc));
        sqlite3_close(l.db);
        return s;
    }
    s = begin(&l, 1, err);
    if (!s) s = finish(&l, write_genesis(&l, cfg, tp_wall_now(), err), err);
    /* WAL is a property of the file: every later connection uses it. */
    if (!s) s = exec(&l, "PRAGMA journal_mode = WAL", err);
    if (sqlite3_close(l.db) != SQLITE_OK && !s) s = tp_fail(err, TP_ERR_IO, "cannot close ledger %s", tmp);
    /* A -wal or -shm left by an earlier ledger at PATH would be replayed into the new one. */
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    if (!s && link(tmp, path) != 0)
        s = errno == EEXIST ? tp_fail(err, TP_ERR_ARG, "ledger %s already exists; refusing to overwrite it", path)
                            : tp_fail(err, TP_ERR_IO, "cannot create ledger %s: %s", path, strerror(errno));
    unlink(tmp);
    snprintf(side, sizeof side, "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", tmp);
    unlink(side);
    if (!s) tp_fsync_dir_of(path);
    return s;
}

static tp_status check_ledger(ledger *l, tp_err *err) {
    int64_t app = 0, version = 0;
    tp_status s = pragma_int(l, "PRAGMA application_id", &app, err);
    if (s) {
        if (!err || err->code != TP_ERR_FORMAT) return s;
        /* SQLite says only "not a database"; the magic string tells a damaged ledger from a stranger. */
        char magic[16] = {0};
        FILE *f = fopen(l->path, "rb");
        size_t got = f ? fread(magic, 1, sizeof magic, f) : 0;
        if (f) fclose(f);
        if (got == sizeof magic && !memcmp(magic, "SQLite format 3", 16))
            return tp_fail(err, TP_ERR_FORMAT, "ledger %s is corrupted (%s)", l->path, sqlite3_errmsg(l->db));
        return tp_fail(err, TP_ERR_FORMAT, "%s is not a templar ledger (not an SQLite database)", l->path);
    }
    if (app != APP_ID)
        return tp_fail(err, TP_ERR_FORMAT,
                       "%s is not a templar ledger (an SQLite database without the ledger's schema)", l->path);
    if ((s = pragma_int(l, "PRAGMA user_version", &version, err))) return s;
    if (version != SCHEMA_VERSION)
        return tp_fail(err, TP_ERR_FORMAT, "ledger %s has schema version %lld; this templar reads version %d", l->path,
                       (long long)version, SCHEMA_VERSION);
    sqlite3_stmt *st;
    if ((s = prepare(l, "PRAGMA quick_check(1)", &st, err))) return s;
    int row;
    if (!(s = step_row(l, st, &row, "checking the ledger", err))) {
        const char *r = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (!r || strcmp(r, "ok"))
            s = tp_fail(err, TP_ERR_FORMAT, "ledger %s is corrupted (%s)", l->path, r ? r : "quick_check failed");
    }
    sqlite3_finalize(st);
    return s;
}

tp_status tp_chain_local_open(const char *path, int read_only, void **self, const tp_chain_ops **ops, tp_err *err) {
    *self = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return tp_fail(err, TP_ERR_IO, "no ledger at %s (%s); create one with 'templar chain init --chain local:%s'",
                       path, strerror(errno), path);
    if (!S_ISREG(sb.st_mode))
        return tp_fail(err, TP_ERR_FORMAT, "%s is not a templar ledger (not a regular file)", path);
    ledger *l = tp_calloc(1, sizeof *l, err);
    if (!l) return TP_ERR_NOMEM;
    if (snprintf(l->path, sizeof l->path, "%s", path) >= (int)sizeof l->path) {
        free(l);
        return tp_fail(err, TP_ERR_ARG, "ledger path is too long");
    }
    int rc = sqlite3_open_v2(path, &l->db, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL);
    tp_status s = TP_OK;
    if (rc != SQLITE_OK) s = db_fail(l, rc, "opening", err);
    if (!s) {
        sqlite3_extended_result_codes(l->db, 1);
        sqlite3_busy_timeout(l->db, BUSY_MS);
        s = check_ledger(l, err);
    }
    if (!s && !read_only) s = exec(l, "PRAGMA synchronous = NORMAL", err);
    if (!s && !(s = begin(l, 0, err))) s = finish(l, load_config(l, err), err);
    if (s) {
        op_close(l);
        return s;
    }
    *self = l;
    *ops = &local_ops;
    return TP_OK;
}
