#include "neuron/validator_state.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

struct tp_vstate {
    sqlite3 *db;
};

void tp_vminer_reset(tp_vminer *m, const tp_openskill_params *p) {
    memset(m, 0, sizeof *m);
    m->rating = tp_rating_new(p);
    m->sync = 1;
    m->last_eval = -1;
    m->last_z = NAN;
}

static tp_status db_fail(sqlite3 *db, const char *what, tp_err *err) {
    return tp_fail(err, TP_ERR_IO, "validator state: %s: %s", what, sqlite3_errmsg(db));
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS miners(uid INTEGER PRIMARY KEY, mu REAL, sigma REAL, binary_ma REAL, final REAL,"
    " sync REAL, n_evals INTEGER, n_pos INTEGER, last_eval INTEGER, inactive INTEGER, quarantine_until INTEGER,"
    " evidence REAL DEFAULT 0, strikes INTEGER DEFAULT 0, last_z REAL);"
    "CREATE TABLE IF NOT EXISTS sync(id INTEGER PRIMARY KEY, prev BLOB, ema BLOB);";

/* A state written before the paying gate kept evidence: its miners start with none. */
static tp_status add_gate_columns(tp_vstate *s, tp_err *err) {
    sqlite3_stmt *st;
    int have = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM pragma_table_info('miners') WHERE name = 'evidence'", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(s->db, "reading the schema", err);
    have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!have && sqlite3_exec(s->db,
                              "ALTER TABLE miners ADD COLUMN evidence REAL DEFAULT 0;"
                              "ALTER TABLE miners ADD COLUMN strikes INTEGER DEFAULT 0;"
                              "ALTER TABLE miners ADD COLUMN last_z REAL;",
                              NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s->db, "adding the gate's columns", err);
    return TP_OK;
}

tp_status tp_vstate_open(const char *path, tp_vstate **out, tp_err *err) {
    *out = NULL;
    tp_vstate *s = tp_calloc(1, sizeof *s, err);
    if (!s) return err->code;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        tp_status st = db_fail(s->db, path, err);
        tp_vstate_close(s);
        return st;
    }
    sqlite3_busy_timeout(s->db, 10000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        tp_status st = db_fail(s->db, path, err);
        tp_vstate_close(s);
        return st;
    }
    if (add_gate_columns(s, err)) {
        tp_vstate_close(s);
        return err->code;
    }
    *out = s;
    return TP_OK;
}

void tp_vstate_close(tp_vstate *s) {
    if (!s) return;
    sqlite3_close(s->db);
    free(s);
}

tp_status tp_vstate_load(tp_vstate *s, int64_t *last_window, tp_vminer *miners, int64_t max_uids, float *prev,
                         float *ema, int64_t nsamp, int *have_sync, tp_err *err) {
    *last_window = -1;
    *have_sync = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'last_window'", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s->db, "reading", err);
    if (sqlite3_step(st) == SQLITE_ROW) *last_window = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT uid, mu, sigma, binary_ma, final, sync, n_evals, n_pos, last_eval, inactive,"
                           " quarantine_until, evidence, strikes, last_z FROM miners",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s->db, "reading", err);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t u = sqlite3_column_int64(st, 0);
        if (u < 0 || u >= max_uids) continue;
        tp_vminer *m = &miners[u];
        m->rating.mu = sqlite3_column_double(st, 1);
        m->rating.sigma = sqlite3_column_double(st, 2);
        m->binary_ma = sqlite3_column_double(st, 3);
        m->final = sqlite3_column_double(st, 4);
        m->sync = sqlite3_column_double(st, 5);
        m->n_evals = sqlite3_column_int64(st, 6);
        m->n_pos = sqlite3_column_int64(st, 7);
        m->last_eval = sqlite3_column_int64(st, 8);
        m->inactive = sqlite3_column_int64(st, 9);
        m->quarantine_until = sqlite3_column_int64(st, 10);
        m->evidence = sqlite3_column_double(st, 11);
        m->strikes = sqlite3_column_int64(st, 12);
        /* NaN is stored as NULL: no evaluation yet. */
        m->last_z = sqlite3_column_type(st, 13) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 13);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s->db, "SELECT prev, ema FROM sync WHERE id = 0", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s->db, "reading", err);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == (int)(nsamp * 4) &&
        sqlite3_column_bytes(st, 1) == (int)(nsamp * 4)) {
        memcpy(prev, sqlite3_column_blob(st, 0), (size_t)nsamp * 4);
        memcpy(ema, sqlite3_column_blob(st, 1), (size_t)nsamp * 4);
        *have_sync = 1;
    }
    sqlite3_finalize(st);
    return TP_OK;
}

tp_status tp_vstate_save(tp_vstate *s, int64_t last_window, const tp_vminer *miners, int64_t n_uids, const float *prev,
                         const float *ema, int64_t nsamp, int have_sync, tp_err *err) {
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return db_fail(s->db, "writing", err);
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO miners VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
                                NULL) == SQLITE_OK;
    for (int64_t u = 0; ok && u < n_uids; u++) {
        const tp_vminer *m = &miners[u];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, u);
        sqlite3_bind_double(st, 2, m->rating.mu);
        sqlite3_bind_double(st, 3, m->rating.sigma);
        sqlite3_bind_double(st, 4, m->binary_ma);
        sqlite3_bind_double(st, 5, m->final);
        sqlite3_bind_double(st, 6, m->sync);
        sqlite3_bind_int64(st, 7, m->n_evals);
        sqlite3_bind_int64(st, 8, m->n_pos);
        sqlite3_bind_int64(st, 9, m->last_eval);
        sqlite3_bind_int64(st, 10, m->inactive);
        sqlite3_bind_int64(st, 11, m->quarantine_until);
        sqlite3_bind_double(st, 12, m->evidence);
        sqlite3_bind_int64(st, 13, m->strikes);
        if (isnan(m->last_z)) sqlite3_bind_null(st, 14);
        else sqlite3_bind_double(st, 14, m->last_z);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (ok && have_sync) {
        ok = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO sync VALUES(0, ?, ?)", -1, &st, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_blob(st, 1, prev, (int)(nsamp * 4), SQLITE_TRANSIENT);
            sqlite3_bind_blob(st, 2, ema, (int)(nsamp * 4), SQLITE_TRANSIENT);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    if (ok) {
        ok = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta VALUES('last_window', ?)", -1, &st, NULL) ==
             SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(st, 1, last_window);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    if (!ok) {
        tp_status r = db_fail(s->db, "writing", err);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return db_fail(s->db, "committing", err);
    return TP_OK;
}
