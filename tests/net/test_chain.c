/* The local chain ledger: registration, stake, commitments, weights and their refusals, the two
 * clocks and epochs, the metagraph (Yuma end to end against yuma.json), damaged files, 8 processes
 * writing at once, and writers killed with SIGKILL mid-transaction. */
#include <criterion/criterion.h>

#include "../support/conformance.h"
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fileio.h"
#include "net/chain.h"

typedef struct {
    char dir[64];
    char uri[160];
    char path[128];
} ledger_fixture;

static void fixture(ledger_fixture *f) {
    snprintf(f->dir, sizeof f->dir, "/tmp/templar-chain-XXXXXX");
    cr_assert(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/chain.db", f->dir);
    snprintf(f->uri, sizeof f->uri, "local:%s", f->path);
}

static void cleanup(ledger_fixture *f) {
    tp_err err;
    tp_remove_tree(f->dir, &err);
}

static tp_chain *make_chain(ledger_fixture *f, tp_chain_config *cfg) {
    tp_err err;
    cr_assert_eq(tp_chain_create(f->uri, cfg, &err), TP_OK, "%s", err.msg);
    tp_chain *c;
    cr_assert_eq(tp_chain_open(f->uri, &c, &err), TP_OK, "%s", err.msg);
    return c;
}

static tp_chain_config lockstep(int64_t max_uids, int64_t tempo, int64_t bpw) {
    tp_chain_config cfg;
    tp_chain_config_default(&cfg);
    cfg.clock = TP_CLOCK_LOCKSTEP;
    cfg.max_uids = max_uids;
    cfg.tempo = tempo;
    cfg.blocks_per_window = bpw;
    return cfg;
}

#define OK(call)                                                                                                       \
    do {                                                                                                               \
        tp_err e_;                                                                                                     \
        tp_status s_ = (call);                                                                                         \
        cr_assert_eq(s_, TP_OK, "%s: %s", #call, e_.msg);                                                              \
    } while (0)

/* Expects failure with a message that contains `needle`. */
static void expect_fail(tp_status st, const tp_err *err, const char *needle) {
    cr_assert_neq(st, TP_OK, "expected a failure mentioning '%s'", needle);
    cr_assert(strstr(err->msg, needle), "message '%s' does not mention '%s'", err->msg, needle);
}

Test(chain, uris_and_create) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(8, 10, 5);
    tp_chain *c;
    tp_err err;
    expect_fail(tp_chain_open("file:///tmp/x", &c, &err), &err, "malformed chain URI");
    expect_fail(tp_chain_open("local:", &c, &err), &err, "malformed chain URI");
    expect_fail(tp_chain_open("ws://127.0.0.1:9944", &c, &err), &err, "subtensor+http(s)://HOST:PORT?netuid=N");
    expect_fail(tp_chain_open("subtensor+wss://x:443?netuid=1", &c, &err), &err, "not WebSocket");
    expect_fail(tp_chain_open("subtensor+http://127.0.0.1:9", &c, &err), &err, "names no subnet");
    expect_fail(tp_chain_open("subtensor+http://127.0.0.1:9?netuid=70000", &c, &err), &err, "bad parameter netuid");
    expect_fail(tp_chain_open("subtensor+http://127.0.0.1:9?netuid=1&tempo=3", &c, &err), &err, "bad parameter tempo");
    expect_fail(tp_chain_create("subtensor+http://127.0.0.1:9?netuid=1", &cfg, &err), &err, "templar subnet create");
    expect_fail(tp_chain_open(f.uri, &c, &err), &err, "no ledger at");
    tp_chain_config bad = cfg;
    bad.tempo = 0;
    expect_fail(tp_chain_create(f.uri, &bad, &err), &err, "tempo");
    bad = cfg;
    bad.permit_stake = NAN;
    expect_fail(tp_chain_create(f.uri, &bad, &err), &err, "permit stake");
    c = make_chain(&f, &cfg);
    expect_fail(tp_chain_create(f.uri, &cfg, &err), &err, "already exists");
    tp_chain_info info;
    OK(tp_chain_info_get(c, &info, &e_));
    cr_assert_eq(info.block, 0);
    cr_assert_eq(info.cfg.tempo, 10);
    cr_assert_eq(info.cfg.max_uids, 8);
    cr_assert_eq(info.cfg.clock, TP_CLOCK_LOCKSTEP);
    cr_assert_eq(info.n_uids, 0);
    cr_assert_eq(info.epochs, 0);
    tp_chain_close(c);
    cleanup(&f);
}

Test(chain, register_up_to_max_uids) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(4, 100, 10);
    tp_chain *c = make_chain(&f, &cfg);
    char hk[32];
    int64_t uid;
    int is_new;
    for (int i = 0; i < 4; i++) {
        snprintf(hk, sizeof hk, "hotkey%d", i);
        OK(tp_chain_register(c, hk, &uid, &is_new, &e_));
        cr_assert_eq(uid, i);
        cr_assert(is_new);
    }
    OK(tp_chain_register(c, "hotkey2", &uid, &is_new, &e_));
    cr_assert_eq(uid, 2, "a registered hotkey keeps its uid");
    cr_assert_not(is_new);
    tp_err err;
    expect_fail(tp_chain_register(c, "hotkey9", &uid, &is_new, &err), &err, "full");
    expect_fail(tp_chain_register(c, "bad key", &uid, &is_new, &err), &err, "letters and digits");
    expect_fail(tp_chain_register(c, "", &uid, &is_new, &err), &err, "hotkey");
    OK(tp_chain_uid(c, "hotkey3", &uid, &e_));
    cr_assert_eq(uid, 3);
    OK(tp_chain_uid(c, "nobody", &uid, &e_));
    cr_assert_eq(uid, -1);
    tp_chain_close(c);
    cleanup(&f);
}

Test(chain, stake_and_commitments) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(8, 100, 10);
    cfg.permit_stake = 10;
    tp_chain *c = make_chain(&f, &cfg);
    int64_t uid;
    OK(tp_chain_register(c, "aa", &uid, NULL, &e_));
    OK(tp_chain_register(c, "bb", &uid, NULL, &e_));
    OK(tp_chain_set_stake(c, "aa", 12.5, &e_));
    OK(tp_chain_set_stake(c, "bb", 9.99, &e_));
    tp_err err;
    expect_fail(tp_chain_set_stake(c, "cc", 1, &err), &err, "unknown hotkey");
    expect_fail(tp_chain_set_stake(c, "aa", -1, &err), &err, "stake");
    expect_fail(tp_chain_set_stake(c, "aa", NAN, &err), &err, "stake");

    tp_commitment cm = {0}, got;
    snprintf(cm.uri, sizeof cm.uri, "s3+http://127.0.0.1:4568/bucket-a");
    snprintf(cm.access_key_id, sizeof cm.access_key_id, "READKEY");
    snprintf(cm.secret_access_key, sizeof cm.secret_access_key, "READSECRET");
    OK(tp_chain_commit(c, "aa", &cm, &e_));
    int found;
    OK(tp_chain_commitment(c, 0, &got, &found, &e_));
    cr_assert(found);
    cr_assert_str_eq(got.uri, cm.uri);
    cr_assert_str_eq(got.access_key_id, "READKEY");
    cr_assert_str_eq(got.secret_access_key, "READSECRET");
    OK(tp_chain_commitment(c, 1, &got, &found, &e_));
    cr_assert_not(found);
    tp_commitment plain = {0};
    snprintf(plain.uri, sizeof plain.uri, "file:///tmp/buckets/b");
    OK(tp_chain_commit(c, "bb", &plain, &e_));
    snprintf(plain.uri, sizeof plain.uri, "file:///tmp/buckets/b2");
    OK(tp_chain_commit(c, "bb", &plain, &e_));
    OK(tp_chain_commitment(c, 1, &got, &found, &e_));
    cr_assert_str_eq(got.uri, "file:///tmp/buckets/b2", "a new commitment replaces the old");
    cr_assert_str_eq(got.access_key_id, "");

    static const char *bad_uris[] = {"",           "http://x/y", "s3://", "file://", "s3+http://host", "s3+http:///b",
                                     "file:///a b"};
    for (size_t i = 0; i < sizeof bad_uris / sizeof *bad_uris; i++) {
        tp_commitment b = {0};
        snprintf(b.uri, sizeof b.uri, "%s", bad_uris[i]);
        cr_assert_neq(tp_chain_commit(c, "aa", &b, &err), TP_OK, "accepted store URI '%s'", bad_uris[i]);
        cr_assert(strstr(err.msg, "URI"), "%s", err.msg);
    }
    tp_commitment half = {0};
    snprintf(half.uri, sizeof half.uri, "s3://bucket");
    snprintf(half.access_key_id, sizeof half.access_key_id, "ONLYKEY");
    expect_fail(tp_chain_commit(c, "aa", &half, &err), &err, "both");
    expect_fail(tp_chain_commit(c, "zz", &plain, &err), &err, "unknown hotkey");

    /* Someone with write access to the file plants a bad commitment: readers refuse it. */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(f.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    cr_assert_eq(sqlite3_exec(db, "UPDATE commitments SET uri = 'ftp://evil host' WHERE uid = 1", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    expect_fail(tp_chain_commitment(c, 1, &got, &found, &err), &err, "uid 1 committed a malformed store");
    cr_assert_not(found);
    OK(tp_chain_commit(c, "bb", &plain, &e_));

    tp_metagraph m;
    OK(tp_chain_metagraph(c, &m, &e_));
    cr_assert_eq(m.n, 2);
    cr_assert_str_eq(m.neurons[0].hotkey, "aa");
    cr_assert_eq(m.neurons[0].stake, 12.5);
    cr_assert_eq(m.neurons[0].validator_permit, 1);
    cr_assert_eq(m.neurons[1].stake, 9.99);
    cr_assert_eq(m.neurons[1].validator_permit, 0, "stake below the permit stake");
    cr_assert_str_eq(m.neurons[0].store, cm.uri);
    tp_metagraph_free(&m);
    tp_chain_close(c);
    cleanup(&f);
}

Test(chain, set_weights_rules) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(8, 1000, 5);
    tp_chain *c = make_chain(&f, &cfg);
    int64_t uid;
    OK(tp_chain_register(c, "val", &uid, NULL, &e_));
    OK(tp_chain_register(c, "m1", &uid, NULL, &e_));
    OK(tp_chain_register(c, "m2", &uid, NULL, &e_));
    tp_err err;
    int64_t u[] = {1, 2};
    double w[] = {3, 1};
    expect_fail(tp_chain_set_weights(c, "val", u, 2, w, 2, &err), &err, "no validator permit");
    OK(tp_chain_set_stake(c, "val", 5, &e_));
    expect_fail(tp_chain_set_weights(c, "nobody", u, 2, w, 2, &err), &err, "unknown hotkey");

    double neg[] = {0.5, -0.1}, nan_[] = {NAN, 1}, inf_[] = {INFINITY, 1}, zero[] = {0, 0};
    int64_t unknown[] = {1, 7}, dup[] = {1, 1}, negu[] = {-1, 1};
    expect_fail(tp_chain_set_weights(c, "val", u, 2, neg, 2, &err), &err, "negative");
    expect_fail(tp_chain_set_weights(c, "val", u, 2, nan_, 2, &err), &err, "NaN");
    expect_fail(tp_chain_set_weights(c, "val", u, 2, inf_, 2, &err), &err, "infinite");
    expect_fail(tp_chain_set_weights(c, "val", u, 2, w, 1, &err), &err, "lengths must match");
    expect_fail(tp_chain_set_weights(c, "val", u, 0, w, 0, &err), &err, "no uids");
    expect_fail(tp_chain_set_weights(c, "val", unknown, 2, w, 2, &err), &err, "unknown uid 7");
    expect_fail(tp_chain_set_weights(c, "val", negu, 2, w, 2, &err), &err, "unknown uid -1");
    expect_fail(tp_chain_set_weights(c, "val", dup, 2, w, 2, &err), &err, "given twice");
    expect_fail(tp_chain_set_weights(c, "val", u, 2, zero, 2, &err), &err, "sum to");

    tp_weights got;
    OK(tp_chain_weights(c, 0, &got, &e_));
    cr_assert_eq(got.n, 0, "refused weights leave nothing behind");
    cr_assert_eq(got.block, -1);
    int64_t ur[] = {2, 1};
    double wr[] = {1, 3};
    OK(tp_chain_set_weights(c, "val", ur, 2, wr, 2, &e_));
    OK(tp_chain_weights(c, 0, &got, &e_));
    cr_assert_eq(got.n, 2);
    cr_assert_eq(got.uids[0], 1);
    cr_assert_eq(got.uids[1], 2);
    cr_assert_float_eq(got.weights[0], 0.75, 1e-15, "normalised on chain");
    cr_assert_float_eq(got.weights[1], 0.25, 1e-15);
    cr_assert_eq(got.block, 0);
    tp_weights_free(&got);

    expect_fail(tp_chain_set_weights(c, "val", u, 2, w, 2, &err), &err, "once per window");
    cr_assert(strstr(err.msg, "next at block 5"), "%s", err.msg);
    int64_t b;
    OK(tp_chain_advance(c, 4, &b, &e_));
    cr_assert_eq(b, 4);
    expect_fail(tp_chain_set_weights(c, "val", u, 2, w, 2, &err), &err, "once per window");
    OK(tp_chain_advance(c, 1, &b, &e_));
    int64_t one[] = {2};
    double wone[] = {0.2};
    OK(tp_chain_set_weights(c, "val", one, 1, wone, 1, &e_));
    OK(tp_chain_weights(c, 0, &got, &e_));
    cr_assert_eq(got.n, 1, "a new row replaces the old one");
    cr_assert_eq(got.weights[0], 1.0);
    cr_assert_eq(got.block, 5);
    tp_weights_free(&got);
    tp_metagraph m;
    OK(tp_chain_metagraph(c, &m, &e_));
    cr_assert_eq(m.neurons[0].last_update, 5);
    cr_assert_eq(m.neurons[1].last_update, 0);
    tp_metagraph_free(&m);
    OK(tp_chain_set_stake(c, "val", 0.5, &e_));
    OK(tp_chain_advance(c, 5, &b, &e_));
    expect_fail(tp_chain_set_weights(c, "val", one, 1, wone, 1, &err), &err, "no validator permit");
    tp_chain_close(c);
    cleanup(&f);
}

Test(chain, lockstep_clock_and_epochs) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(8, 4, 2);
    tp_chain *c = make_chain(&f, &cfg);
    tp_chain_info info;
    int64_t b, uid;
    OK(tp_chain_register(c, "v", &uid, NULL, &e_));
    OK(tp_chain_register(c, "m", &uid, NULL, &e_));
    OK(tp_chain_set_stake(c, "v", 2, &e_));
    int64_t u[] = {1};
    double w[] = {1};
    OK(tp_chain_set_weights(c, "v", u, 1, w, 1, &e_));
    for (int i = 1; i <= 12; i++) {
        OK(tp_chain_advance(c, 1, &b, &e_));
        cr_assert_eq(b, i);
        OK(tp_chain_info_get(c, &info, &e_));
        cr_assert_eq(info.block, i);
        cr_assert_eq(info.window, i / 2);
        cr_assert_eq(info.epochs, i / 4, "block %d: %lld epochs", i, (long long)info.epochs);
        cr_assert_eq(info.last_epoch_block, (i / 4) * 4);
    }
    OK(tp_chain_advance(c, 9, &b, &e_)); /* 12 → 21 crosses 16 and 20 */
    OK(tp_chain_info_get(c, &info, &e_));
    cr_assert_eq(info.epochs, 5);
    cr_assert_eq(info.last_epoch_block, 20);
    OK(tp_chain_epoch(c, &e_));
    OK(tp_chain_info_get(c, &info, &e_));
    cr_assert_eq(info.epochs, 6, "an explicit epoch counts");
    cr_assert_eq(info.last_epoch_block, 20, "but does not move the schedule");

    tp_metagraph m;
    OK(tp_chain_metagraph(c, &m, &e_));
    cr_assert_float_eq(m.neurons[1].incentive, 1.0, 1e-12);
    cr_assert_float_eq(m.neurons[0].dividends, 1.0, 1e-12);
    cr_assert_float_eq(m.neurons[1].emission, 2.0, 1e-12, "half of tempo × 1 to the miner");
    cr_assert_float_eq(m.neurons[0].emission, 2.0, 1e-12, "half to the validator");
    tp_metagraph_free(&m);

    double t0, t21;
    OK(tp_chain_block_timestamp(c, 0, &t0, &e_));
    OK(tp_chain_block_timestamp(c, 21, &t21, &e_));
    cr_assert_geq(t21, t0);
    OK(tp_chain_block_timestamp(c, 17, &t0, &e_));
    cr_assert_eq(t0, t21, "blocks skipped by one advance share its timestamp");
    tp_err err;
    expect_fail(tp_chain_block_timestamp(c, 22, &t0, &err), &err, "not been reached");
    expect_fail(tp_chain_advance(c, 0, &b, &err), &err, "advance");
    tp_chain_close(c);
    cleanup(&f);
}

Test(chain, wall_clock) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg;
    tp_chain_config_default(&cfg);
    cfg.block_time_ms = 20;
    cfg.tempo = 2;
    tp_chain *c = make_chain(&f, &cfg);
    int64_t uid, b;
    OK(tp_chain_register(c, "v", &uid, NULL, &e_));
    OK(tp_chain_set_stake(c, "v", 1, &e_));
    tp_err err;
    expect_fail(tp_chain_advance(c, 1, &b, &err), &err, "wall clock");
    tp_chain_info a, z;
    OK(tp_chain_info_get(c, &a, &e_));
    usleep(150 * 1000);
    OK(tp_chain_info_get(c, &z, &e_));
    cr_assert_geq(z.block - a.block, 6, "150 ms at 20 ms per block: %lld blocks", (long long)(z.block - a.block));
    cr_assert_geq(z.epochs, 3, "epochs ran on read: %lld", (long long)z.epochs);
    cr_assert(z.last_epoch_block <= z.block && z.last_epoch_block >= z.block / 2 * 2 - 2,
              "last epoch at %lld, block %lld", (long long)z.last_epoch_block, (long long)z.block);
    double ts;
    OK(tp_chain_block_timestamp(c, 50, &ts, &e_));
    cr_assert_float_eq(ts, z.genesis + 1.0, 1e-9);
    cr_assert_leq(z.block_ts, tp_wall_now());
    tp_chain_close(c);
    cleanup(&f);
}

/* Yuma end to end: the validators of yuma.json as uids 0-2 (stake 6:3:1), two miners 3-4. */
static void check_epoch(tp_chain *c, json_t *ep) {
    tp_metagraph m;
    OK(tp_chain_metagraph(c, &m, &e_));
    json_t *inc = json_object_get(ep, "incentive"), *div = json_object_get(ep, "dividends");
    for (int64_t u = 0; u < 5; u++)
        cr_assert(fabs(m.neurons[u].incentive - json_number_value(json_array_get(inc, (size_t)u))) <= 1e-9,
                  "incentive[%lld] = %.17g", (long long)u, m.neurons[u].incentive);
    double total = 0;
    for (int64_t u = 0; u < 5; u++) {
        double want = u < 3 ? json_number_value(json_array_get(div, (size_t)u)) : 0;
        cr_assert(fabs(m.neurons[u].dividends - want) <= 1e-9, "dividends[%lld] = %.17g", (long long)u,
                  m.neurons[u].dividends);
        total += m.neurons[u].emission;
    }
    cr_assert_float_eq(total, 1000.0, 1e-9, "one epoch emits tempo × emission_per_block");
    tp_metagraph_free(&m);
}

static void set_row(tp_chain *c, const char *hk, json_t *row) {
    int64_t u[5] = {0, 1, 2, 3, 4};
    double w[5];
    for (size_t j = 0; j < 5; j++) w[j] = json_number_value(json_array_get(row, j));
    OK(tp_chain_set_weights(c, hk, u, 5, w, 5, &e_));
}

Test(chain, metagraph_reproduces_yuma_vectors) {
    json_t *j = conformance_json("yuma.json");
    json_t *epochs = json_object_get(j, "epochs");

    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(16, 1000, 10);
    tp_chain *c = make_chain(&f, &cfg);
    static const char *hk[] = {"v0", "v1", "v2", "m3", "m4"};
    static const double stake[] = {6, 3, 1};
    int64_t uid, b;
    for (int i = 0; i < 5; i++) OK(tp_chain_register(c, hk[i], &uid, NULL, &e_));
    for (int i = 0; i < 3; i++) OK(tp_chain_set_stake(c, hk[i], stake[i], &e_));
    for (size_t e = 0; e < 2; e++) {
        json_t *W = json_object_get(json_array_get(epochs, e), "weights");
        /* Epoch 2 changes only validator 0's row; re-setting all rows must not matter. */
        for (size_t i = 0; i < 3; i++) set_row(c, hk[i], json_array_get(W, i));
        OK(tp_chain_epoch(c, &e_));
        check_epoch(c, json_array_get(epochs, e));
        OK(tp_chain_advance(c, 10, &b, &e_));
    }
    tp_chain_close(c);
    json_decref(j);
    cleanup(&f);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    cr_assert(fp);
    cr_assert_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

Test(chain, damaged_files_are_refused) {
    ledger_fixture f;
    fixture(&f);
    tp_chain *c;
    tp_err err;
    char uri[300], path[256];

    snprintf(path, sizeof path, "%s/garbage.db", f.dir);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7919 % 251);
    write_bytes(path, junk, sizeof junk);
    snprintf(uri, sizeof uri, "local:%s", path);
    expect_fail(tp_chain_open(uri, &c, &err), &err, "not a templar ledger");
    cr_assert(strstr(err.msg, path), "the message names the file: %s", err.msg);

    snprintf(path, sizeof path, "%s/empty.db", f.dir);
    write_bytes(path, "", 0);
    snprintf(uri, sizeof uri, "local:%s", path);
    expect_fail(tp_chain_open(uri, &c, &err), &err, "not a templar ledger");

    /* A real SQLite database that is not ours. */
    snprintf(path, sizeof path, "%s/other.db", f.dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    snprintf(uri, sizeof uri, "local:%s", path);
    expect_fail(tp_chain_open(uri, &c, &err), &err, "without the ledger's schema");

    snprintf(uri, sizeof uri, "local:%s", f.dir);
    expect_fail(tp_chain_open(uri, &c, &err), &err, "not a regular file");

    /* A real ledger with data, truncated to a fraction of its pages. */
    tp_chain_config cfg = lockstep(64, 2, 1);
    c = make_chain(&f, &cfg);
    char hk[32];
    int64_t uid, b;
    for (int i = 0; i < 40; i++) {
        snprintf(hk, sizeof hk, "k%d", i);
        OK(tp_chain_register(c, hk, &uid, NULL, &e_));
        OK(tp_chain_set_stake(c, hk, i + 1, &e_));
        tp_commitment cm = {0};
        snprintf(cm.uri, sizeof cm.uri, "file:///tmp/some/long/bucket/path/for/uid/%d/padding-padding-padding", i);
        OK(tp_chain_commit(c, hk, &cm, &e_));
    }
    int64_t all[40];
    double w[40];
    for (int i = 0; i < 40; i++) all[i] = i, w[i] = i + 1;
    for (int i = 0; i < 10; i++) {
        snprintf(hk, sizeof hk, "k%d", i);
        OK(tp_chain_set_weights(c, hk, all, 40, w, 40, &e_));
    }
    OK(tp_chain_advance(c, 4, &b, &e_));
    tp_chain_close(c); /* the last close checkpoints the WAL into the file */
    struct stat sb;
    cr_assert_eq(stat(f.path, &sb), 0);
    cr_assert_gt(sb.st_size, 8 * 4096, "ledger is %lld bytes", (long long)sb.st_size);
    char copy[256];
    snprintf(copy, sizeof copy, "%s/truncated.db", f.dir);
    uint8_t *bytes;
    size_t len;
    OK(tp_read_file(f.path, 1 << 24, &bytes, &len, &e_));
    size_t cuts[] = {len / 2, len - 4096, 4096, 100};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        unlink(copy);
        write_bytes(copy, bytes, cuts[k]);
        snprintf(uri, sizeof uri, "local:%s", copy);
        tp_status st = tp_chain_open(uri, &c, &err);
        cr_assert_neq(st, TP_OK, "a ledger truncated to %zu of %zu bytes was accepted", cuts[k], len);
        cr_assert(strstr(err.msg, "corrupted"), "%s", err.msg);
        cr_assert(strstr(err.msg, copy), "%s", err.msg);
    }
    /* The header of a b-tree page past the middle of the file overwritten. */
    size_t page = 0;
    for (size_t p = (len / 4096) / 2; p < len / 4096 && !page; p++) {
        uint8_t t = bytes[p * 4096];
        if (t == 2 || t == 5 || t == 10 || t == 13) page = p;
    }
    cr_assert_gt(page, 0, "no b-tree page found to damage");
    memset(bytes + page * 4096, 0xee, 12);
    unlink(copy);
    write_bytes(copy, bytes, len);
    tp_status st = tp_chain_open(uri, &c, &err);
    if (st == TP_OK) {
        tp_metagraph m;
        st = tp_chain_metagraph(c, &m, &err);
        if (!st) tp_metagraph_free(&m);
        tp_chain_close(c);
    }
    cr_assert_neq(st, TP_OK, "a ledger with a damaged page was accepted");
    cr_assert(strstr(err.msg, "corrupted"), "%s", err.msg);
    free(bytes);
    cleanup(&f);
}

/* ---------------------------------------------------------------- processes */

static int integrity_ok(const char *path) {
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) return 0;
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st;
    int ok = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static int64_t query_i64(const char *path, const char *sql) {
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#define CHILDREN 8
#define KEYS 4
#define ROUNDS 12

static int child_fail(const char *what, const tp_err *err) {
    fprintf(stderr, "child %d: %s: %s\n", (int)getpid(), what, err->msg);
    return 1;
}

static int concurrent_child(const char *uri, int id) {
    tp_chain *c;
    tp_err err;
    if (tp_chain_open(uri, &c, &err)) return child_fail("open", &err);
    char hk[KEYS][32];
    for (int k = 0; k < KEYS; k++) {
        snprintf(hk[k], sizeof hk[k], "c%dk%d", id, k);
        int64_t uid;
        if (tp_chain_register(c, hk[k], &uid, NULL, &err)) return child_fail("register", &err);
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < KEYS; k++) {
            if (tp_chain_set_stake(c, hk[k], id * 100 + k + r + 1, &err)) return child_fail("stake", &err);
            tp_commitment cm = {0};
            snprintf(cm.uri, sizeof cm.uri, "file:///buckets/%d/%d/%d", id, k, r);
            if (tp_chain_commit(c, hk[k], &cm, &err)) return child_fail("commit", &err);
        }
        int64_t u[] = {0, 1, 2};
        double w[] = {1, 2, 3};
        tp_status st = tp_chain_set_weights(c, hk[0], u, 3, w, 3, &err);
        if (st && !strstr(err.msg, "once per window")) return child_fail("set_weights", &err);
        if (id == 0) {
            int64_t b;
            if (tp_chain_advance(c, 1, &b, &err)) return child_fail("advance", &err);
        }
        tp_metagraph m;
        if (tp_chain_metagraph(c, &m, &err)) return child_fail("metagraph", &err);
        for (int64_t i = 0; i < m.n; i++) {
            if (m.neurons[i].uid != i) return child_fail("metagraph uids are not dense", &err);
            for (int64_t j = 0; j < i; j++)
                if (!strcmp(m.neurons[i].hotkey, m.neurons[j].hotkey)) return child_fail("duplicate hotkey", &err);
        }
        tp_metagraph_free(&m);
    }
    tp_chain_close(c);
    return 0;
}

Test(chain, eight_processes_stay_consistent, .timeout = 120) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(64, 3, 1);
    tp_chain *c = make_chain(&f, &cfg);
    tp_chain_close(c);
    pid_t pids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) _exit(concurrent_child(f.uri, i));
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed (status %d)", i, status);
    }
    cr_assert(integrity_ok(f.path));
    tp_err err;
    cr_assert_eq(tp_chain_open(f.uri, &c, &err), TP_OK, "%s", err.msg);
    tp_metagraph m;
    OK(tp_chain_metagraph(c, &m, &e_));
    cr_assert_eq(m.n, CHILDREN * KEYS);
    int seen[CHILDREN][KEYS] = {{0}};
    for (int64_t u = 0; u < m.n; u++) {
        int id, k;
        cr_assert_eq(sscanf(m.neurons[u].hotkey, "c%dk%d", &id, &k), 2);
        cr_assert(id >= 0 && id < CHILDREN && k >= 0 && k < KEYS);
        cr_assert_not(seen[id][k]++, "hotkey %s twice", m.neurons[u].hotkey);
        cr_assert_eq(m.neurons[u].stake, id * 100 + k + ROUNDS, "uid %lld stake %g", (long long)u, m.neurons[u].stake);
        char want[64];
        snprintf(want, sizeof want, "file:///buckets/%d/%d/%d", id, k, ROUNDS - 1);
        cr_assert_str_eq(m.neurons[u].store, want);
    }
    cr_assert_eq(m.block, ROUNDS);
    cr_assert_eq(m.epochs, ROUNDS / 3);
    tp_metagraph_free(&m);
    cr_assert_eq(query_i64(f.path, "SELECT COUNT(*) FROM epochs"), ROUNDS / 3);
    tp_chain_close(c);
    cleanup(&f);
}

#define KILL_VALIDATORS 16

/* Writes until killed: every iteration advances the clock (an epoch per block), resets weights,
 * stakes and commitments. */
static void doomed_writer(const char *uri, unsigned seed) {
    tp_chain *c;
    tp_err err;
    if (tp_chain_open(uri, &c, &err)) _exit(1);
    int64_t u[KILL_VALIDATORS];
    double w[KILL_VALIDATORS];
    for (int i = 0; i < KILL_VALIDATORS; i++) u[i] = i;
    for (unsigned it = 0;; it++) {
        int64_t b;
        tp_chain_advance(c, 1, &b, &err);
        for (int v = 0; v < KILL_VALIDATORS; v++) {
            char hk[16];
            snprintf(hk, sizeof hk, "v%d", v);
            for (int i = 0; i < KILL_VALIDATORS; i++) w[i] = (double)((seed + it * 31 + (unsigned)(v * i)) % 97) + 1;
            tp_chain_set_weights(c, hk, u, KILL_VALIDATORS, w, KILL_VALIDATORS, &err);
            tp_chain_set_stake(c, hk, 1 + (double)((seed + it + (unsigned)v) % 50), &err);
            tp_commitment cm = {0};
            snprintf(cm.uri, sizeof cm.uri, "file:///b/%u/%d", it, v);
            tp_chain_commit(c, hk, &cm, &err);
        }
        if (it % 3 == 0) tp_chain_epoch(c, &err);
    }
}

static void check_consistent(ledger_fixture *f) {
    cr_assert(integrity_ok(f->path), "integrity_check failed after SIGKILL");
    tp_chain *c;
    tp_err err;
    cr_assert_eq(tp_chain_open(f->uri, &c, &err), TP_OK, "%s", err.msg);
    tp_metagraph m;
    OK(tp_chain_metagraph(c, &m, &e_));
    cr_assert_eq(m.n, KILL_VALIDATORS);
    double inc = 0, div = 0;
    for (int64_t u = 0; u < m.n; u++) {
        inc += m.neurons[u].incentive;
        div += m.neurons[u].dividends;
        tp_weights w;
        OK(tp_chain_weights(c, u, &w, &e_));
        cr_assert_eq(w.n, KILL_VALIDATORS, "a weight row was half written");
        double sum = 0;
        for (int64_t i = 0; i < w.n; i++) sum += w.weights[i];
        cr_assert_float_eq(sum, 1.0, 1e-9);
        tp_weights_free(&w);
    }
    cr_assert(fabs(inc - 1) < 1e-9 || inc == 0, "incentives sum to %.17g", inc);
    cr_assert(fabs(div - 1) < 1e-9 || div == 0, "dividends sum to %.17g", div);
    cr_assert_eq(query_i64(f->path, "SELECT COUNT(*) FROM epochs"), m.epochs);
    cr_assert_eq(query_i64(f->path, "SELECT MAX(block) FROM clock"), m.block);
    cr_assert_eq(query_i64(f->path, "SELECT COUNT(*) FROM epochs WHERE scheduled = 1"), m.block,
                 "tempo 1: one scheduled epoch per block");
    tp_metagraph_free(&m);
    tp_chain_close(c);
}

Test(chain, sigkill_mid_transaction_never_corrupts, .timeout = 120) {
    ledger_fixture f;
    fixture(&f);
    tp_chain_config cfg = lockstep(64, 1, 1);
    tp_chain *c = make_chain(&f, &cfg);
    int64_t u[KILL_VALIDATORS], uid;
    double w[KILL_VALIDATORS];
    for (int i = 0; i < KILL_VALIDATORS; i++) {
        char hk[16];
        snprintf(hk, sizeof hk, "v%d", i);
        OK(tp_chain_register(c, hk, &uid, NULL, &e_));
        OK(tp_chain_set_stake(c, hk, i + 1, &e_));
        u[i] = i;
        w[i] = 1;
    }
    for (int i = 0; i < KILL_VALIDATORS; i++) {
        char hk[16];
        snprintf(hk, sizeof hk, "v%d", i);
        OK(tp_chain_set_weights(c, hk, u, KILL_VALIDATORS, w, KILL_VALIDATORS, &e_));
    }
    tp_chain_close(c);
    srand((unsigned)time(NULL));
    for (int round = 0; round < 15; round++) {
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) doomed_writer(f.uri, (unsigned)round * 7919u);
        usleep((useconds_t)(20000 + rand() % 60000));
        kill(pid, SIGKILL);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer stopped on its own (%d)", status);
        check_consistent(&f);
    }
    cr_assert_gt(query_i64(f.path, "SELECT MAX(block) FROM clock"), 5, "the writer made progress");
    cleanup(&f);
}
