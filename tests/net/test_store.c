/* The object store: one contract run against both backends (file:// in a temporary directory and
 * S3 against s3rver on loopback), then what only S3 has (retries, deadlines, signatures,
 * credentials) and the parsers of untrusted XML. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fileio.h"
#include "net/s3_xml.h"
#include "net/store.h"
#include "store_test_util.h"

#define MB (1024 * 1024)

static tp_store *open_ok(const char *uri) {
    tp_store *s;
    tp_err err;
    cr_assert_eq(tp_store_open(uri, NULL, NULL, &s, &err), TP_OK, "%s", err.msg);
    return s;
}

static void put_ok(tp_store *s, const char *key, const void *data, size_t n) {
    tp_err err;
    cr_assert_eq(tp_store_put(s, key, data, n, &err), TP_OK, "put %s: %s", key, err.msg);
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A backend for one test: a file:// bucket or an s3rver bucket, and a scratch directory. */
typedef struct {
    test_server srv;
    char tmp[256];
    char uri[512];
} backend;

static void backend_up(backend *b, int s3) {
    memset(b, 0, sizeof *b);
    store_tmpdir(b->tmp, sizeof b->tmp);
    if (s3) {
        s3rver_start(&b->srv, "bucket-a");
        snprintf(b->uri, sizeof b->uri, "%s", b->srv.uri);
    } else {
        snprintf(b->uri, sizeof b->uri, "file://%s/bucket-a", b->tmp);
    }
}

static void backend_down(backend *b) {
    server_stop(&b->srv, 0);
    tp_err err;
    tp_remove_tree(b->tmp, &err);
}

/* ---- the contract ---- */

static void contract_roundtrip(backend *b) {
    tp_store *s = open_ok(b->uri);
    static const size_t sizes[] = {0, 1, 10 * MB};
    tp_err err;
    for (size_t i = 0; i < 3; i++) {
        size_t n = sizes[i];
        uint8_t *data = malloc(n + 1);
        fill_bytes(data, n, (uint32_t)i + 1);
        char key[64], path[512];
        snprintf(key, sizeof key, "rt/obj-%zu", n);
        put_ok(s, key, data, n);
        uint8_t *got;
        size_t len;
        tp_store_stat st;
        tp_fetch why;
        cr_assert_eq(tp_store_get(s, key, n, &got, &len, &st, &why, &err), TP_OK, "get %s: %s", key, err.msg);
        cr_assert_eq(why, TP_FETCH_OK);
        cr_assert_eq(len, n, "%zu-byte object came back as %zu bytes", n, len);
        cr_assert_eq(st.size, n);
        cr_assert(n == 0 || !memcmp(got, data, n), "%zu-byte object changed in transit", n);
        cr_assert_eq(got[len], 0, "memory gets are NUL-terminated");
        free(got);
        snprintf(path, sizeof path, "%s/out-%zu", b->tmp, n);
        cr_assert_eq(tp_store_get_file(s, key, n, path, NULL, NULL, &err), TP_OK, "%s", err.msg);
        uint8_t *back;
        size_t blen;
        cr_assert_eq(tp_read_file(path, n + 1, &back, &blen, &err), TP_OK);
        cr_assert(blen == n && (n == 0 || !memcmp(back, data, n)));
        free(back);
        cr_assert_eq(tp_store_head(s, key, &st, &why, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(st.size, n);
        free(data);
    }
    /* put_file, and an overwrite replaces the object */
    char src[512];
    snprintf(src, sizeof src, "%s/src.bin", b->tmp);
    uint8_t *data = malloc(MB);
    fill_bytes(data, MB, 77);
    write_test_file(src, data, MB);
    cr_assert_eq(tp_store_put_file(s, "rt/from-file", src, &err), TP_OK, "%s", err.msg);
    put_ok(s, "rt/obj-1", "Z", 1);
    uint8_t *got;
    size_t len;
    cr_assert_eq(tp_store_get(s, "rt/from-file", MB, &got, &len, NULL, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert(len == MB && !memcmp(got, data, MB));
    free(got);
    cr_assert_eq(tp_store_get(s, "rt/obj-1", 10, &got, &len, NULL, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert(len == 1 && got[0] == 'Z');
    free(got);
    free(data);
    /* delete, then it is gone */
    cr_assert_eq(tp_store_delete(s, "rt/obj-1", &err), TP_OK, "%s", err.msg);
    tp_fetch why;
    tp_store_stat st;
    cr_assert_neq(tp_store_head(s, "rt/obj-1", &st, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_NOT_FOUND);
    tp_store_close(s);
}

static void contract_list(backend *b) {
    tp_store *s = open_ok(b->uri);
    enum { N = 1050 };
    char key[64];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/k%05d", i);
        put_ok(s, key, "abcdefg", (size_t)(i % 7));
    }
    put_ok(s, "other/x", "x", 1);
    put_ok(s, "man", "y", 1); /* a prefix of the others' prefix, not under it */
    tp_store_list l;
    tp_err err;
    cr_assert_eq(tp_store_list_keys(s, "many/", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, (size_t)N, "listed %zu of %d keys (pagination past 1000)", l.n, N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/k%05d", i);
        cr_assert_str_eq(l.v[i].key, key);
        cr_assert_eq(l.v[i].size, (uint64_t)(i % 7));
    }
    tp_store_list_free(&l);
    cr_assert_eq(tp_store_list_keys(s, "", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, (size_t)N + 2);
    cr_assert_str_eq(l.v[0].key, "man");
    cr_assert_str_eq(l.v[N + 1].key, "other/x");
    tp_store_list_free(&l);
    cr_assert_eq(tp_store_list_keys(s, "nothing/", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, 0);
    tp_store_list_free(&l);
    tp_store_close(s);
}

static void contract_last_modified(backend *b) {
    tp_store *s = open_ok(b->uri);
    double t0 = tp_wall_now();
    put_ok(s, "lm/a", "a", 1);
    put_ok(s, "lm/b", "b", 1);
    sleep_s(1.1);
    put_ok(s, "lm/c", "c", 1);
    double t1 = tp_wall_now();
    tp_store_stat a, bb, c;
    tp_err err;
    cr_assert_eq(tp_store_head(s, "lm/a", &a, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_store_head(s, "lm/b", &bb, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_store_head(s, "lm/c", &c, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert(a.mtime + a.mtime_res >= t0 - 2 && c.mtime <= t1 + 2, "LastModified %.3f..%.3f not within [%.3f, %.3f]",
              a.mtime, c.mtime, t0, t1);
    cr_assert(a.mtime <= bb.mtime && bb.mtime <= c.mtime, "sequential puts went back in time");
    cr_assert(c.mtime > a.mtime, "a put 1.1 s later has the same LastModified");
    tp_store_list l;
    cr_assert_eq(tp_store_list_keys(s, "lm/", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, 3);
    cr_assert(fabs(l.v[0].mtime - a.mtime) <= 1.001 && fabs(l.v[2].mtime - c.mtime) <= 1.001,
              "listing and HEAD disagree on LastModified");
    tp_store_list_free(&l);
    tp_store_close(s);
}

static void contract_missing(backend *b) {
    tp_store *s = open_ok(b->uri);
    put_ok(s, "present", "p", 1);
    tp_err err;
    tp_fetch why;
    uint8_t *data;
    size_t len;
    cr_assert_neq(tp_store_get(s, "absent/key", 100, &data, &len, NULL, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_NOT_FOUND, "%s", err.msg);
    cr_assert(strstr(err.msg, "absent/key"), "message does not name the key: %s", err.msg);
    cr_assert_null(data);
    char path[512];
    snprintf(path, sizeof path, "%s/absent.out", b->tmp);
    cr_assert_neq(tp_store_get_file(s, "absent/key", 100, path, NULL, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_NOT_FOUND);
    cr_assert(!exists(path), "a failed get left a file");
    cr_assert_eq(count_files_containing(b->tmp, "absent.out"), 0, "a failed get left a temporary file");
    tp_store_stat st;
    cr_assert_neq(tp_store_head(s, "absent/key", &st, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_NOT_FOUND);
    cr_assert_eq(tp_store_delete(s, "absent/key", &err), TP_OK, "deleting a missing key: %s", err.msg);
    tp_gather_item it[2] = {{.store = s, .key = "absent/key"}, {.store = s, .key = "present"}};
    tp_gather_opts o = {.timeout_s = 10, .max_bytes = 100};
    cr_assert_eq(tp_store_gather(it, 2, &o, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(it[0].status, TP_FETCH_NOT_FOUND, "%s", it[0].msg);
    cr_assert_eq(it[0].attempts, 1, "a 404 must not be retried");
    cr_assert_eq(it[1].status, TP_FETCH_OK, "%s", it[1].msg);
    tp_gather_free(it, 2);
    tp_store_close(s);
}

static void contract_too_big(backend *b) {
    tp_store *s = open_ok(b->uri);
    size_t n = 10 * MB;
    uint8_t *data = malloc(n);
    fill_bytes(data, n, 5);
    put_ok(s, "big", data, n);
    free(data);
    char path[512];
    snprintf(path, sizeof path, "%s/big.out", b->tmp);
    tp_err err;
    tp_fetch why;
    cr_assert_neq(tp_store_get_file(s, "big", MB, path, NULL, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_TOO_BIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "limit"), "%s", err.msg);
    /* Refused from the announced size: at most the limit's worth of the body crossed the network. */
    tp_gather_item one = {.store = s, .key = "big"};
    tp_gather_opts go = {.timeout_s = 30, .max_bytes = MB};
    cr_assert_eq(tp_store_gather(&one, 1, &go, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(one.status, TP_FETCH_TOO_BIG);
    cr_assert(one.received <= MB, "%llu bytes of a refused object were read", (unsigned long long)one.received);
    tp_gather_free(&one, 1);
    cr_assert(!exists(path));
    cr_assert_eq(count_files_containing(b->tmp, "big.out"), 0, "a refused get left a temporary file");
    uint8_t *got;
    size_t len;
    cr_assert_neq(tp_store_get(s, "big", n - 1, &got, &len, NULL, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_TOO_BIG);
    /* The gather counts body bytes received: none may arrive for an object over the limit. */
    tp_gather_item it = {.store = s, .key = "big", .path = path};
    tp_gather_opts o = {.timeout_s = 10, .max_bytes = MB};
    cr_assert_eq(tp_store_gather(&it, 1, &o, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(it.status, TP_FETCH_TOO_BIG, "%s", it.msg);
    cr_assert_eq(it.received, 0, "%llu body bytes were read before refusing", (unsigned long long)it.received);
    cr_assert_eq(it.attempts, 1);
    cr_assert(!exists(path));
    /* at the limit exactly is fine */
    it = (tp_gather_item){.store = s, .key = "big"};
    o.max_bytes = n;
    cr_assert_eq(tp_store_gather(&it, 1, &o, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(it.status, TP_FETCH_OK, "%s", it.msg);
    cr_assert_eq(it.len, n);
    tp_gather_free(&it, 1);
    tp_store_close(s);
}

static void contract_window(backend *b) {
    tp_store *s = open_ok(b->uri);
    put_ok(s, "w", "window", 6);
    double now = tp_wall_now();
    tp_err err;
    struct {
        double nb, na;
        tp_fetch want;
    } cases[] = {{now + 100, now + 200, TP_FETCH_TOO_EARLY}, {now - 200, now - 100, TP_FETCH_TOO_LATE},
                 {now - 100, now + 100, TP_FETCH_OK}, {0, 0, TP_FETCH_OK}};
    for (size_t i = 0; i < 4; i++) {
        tp_gather_item it = {.store = s, .key = "w"};
        tp_gather_opts o = {.timeout_s = 10, .max_bytes = 100, .not_before = cases[i].nb, .not_after = cases[i].na};
        cr_assert_eq(tp_store_gather(&it, 1, &o, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(it.status, cases[i].want, "case %zu: %s (%s)", i, tp_fetch_name(it.status), it.msg);
        if (it.status != TP_FETCH_OK) {
            cr_assert(strstr(it.msg, "put window"), "%s", it.msg);
            cr_assert_eq(it.received, 0);
        } else {
            cr_assert(it.len == 6 && !memcmp(it.data, "window", 6));
        }
        tp_gather_free(&it, 1);
    }
    tp_store_close(s);
}

static void contract_gather32(backend *b) {
    tp_store *s = open_ok(b->uri);
    enum { N = 32, SZ = 256 * 1024 };
    static uint8_t data[N][SZ];
    tp_gather_item it[N];
    char keys[N][32], paths[N][512];
    memset(it, 0, sizeof it);
    for (int i = 0; i < N; i++) {
        fill_bytes(data[i], SZ, (uint32_t)(1000 + i));
        snprintf(keys[i], sizeof keys[i], "gradient-7-%d-v1.st", i);
        put_ok(s, keys[i], data[i], SZ);
        snprintf(paths[i], sizeof paths[i], "%s/g%d", b->tmp, i);
        it[i] = (tp_gather_item){.store = s, .key = keys[i], .path = i % 2 ? paths[i] : NULL};
    }
    tp_gather_opts o = {.timeout_s = 30, .max_bytes = SZ};
    tp_err err;
    cr_assert_eq(tp_store_gather(it, N, &o, &err), TP_OK, "%s", err.msg);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(it[i].status, TP_FETCH_OK, "%s: %s", keys[i], it[i].msg);
        cr_assert_eq(it[i].attempts, 1);
        cr_assert_eq(it[i].stat.size, (uint64_t)SZ);
        if (i % 2) {
            uint8_t *back;
            size_t len;
            cr_assert_eq(tp_read_file(paths[i], SZ, &back, &len, &err), TP_OK, "%s", err.msg);
            cr_assert(len == SZ && !memcmp(back, data[i], SZ), "%s differs", keys[i]);
            free(back);
        } else {
            cr_assert(it[i].len == SZ && !memcmp(it[i].data, data[i], SZ), "%s differs", keys[i]);
        }
    }
    tp_gather_free(it, N);
    tp_store_close(s);
}

#define CONTRACT(name)                                                                                                 \
    Test(store_file, name) {                                                                                           \
        backend b;                                                                                                     \
        backend_up(&b, 0);                                                                                             \
        contract_##name(&b);                                                                                           \
        backend_down(&b);                                                                                              \
    }                                                                                                                  \
    Test(store_s3, name, .timeout = 120) {                                                                             \
        backend b;                                                                                                     \
        backend_up(&b, 1);                                                                                             \
        contract_##name(&b);                                                                                           \
        backend_down(&b);                                                                                              \
    }

CONTRACT(roundtrip)
CONTRACT(list)
CONTRACT(last_modified)
CONTRACT(missing)
CONTRACT(too_big)
CONTRACT(window)
CONTRACT(gather32)

/* ---- S3 only: failures of the server ---- */

typedef struct {
    const char *watch; /* kill once this file exists */
    pid_t pid;
    int killed;
} killer_arg;

static void *killer(void *p) {
    killer_arg *k = p;
    double t0 = tp_now();
    while (!exists(k->watch) && tp_now() - t0 < 10) sleep_s(0.0005);
    kill(k->pid, SIGKILL);
    k->killed = 1;
    return NULL;
}

Test(store_s3, server_killed_during_gather, .timeout = 60) {
    backend b;
    backend_up(&b, 1);
    tp_store_opts so;
    tp_store_opts_default(&so);
    so.max_attempts = 3;
    so.backoff_s = 0.1;
    tp_store *s;
    tp_err err;
    cr_assert_eq(tp_store_open(b.uri, NULL, &so, &s, &err), TP_OK, "%s", err.msg);
    enum { N = 16, SZ = 2 * MB };
    uint8_t *data = malloc(SZ);
    tp_gather_item it[N];
    char keys[N][32], paths[N][1024], outdir[512];
    snprintf(outdir, sizeof outdir, "%s/out", b.tmp);
    cr_assert_eq(tp_mkdirs(outdir, &err), TP_OK);
    for (int i = 0; i < N; i++) {
        fill_bytes(data, SZ, (uint32_t)i);
        snprintf(keys[i], sizeof keys[i], "obj%02d", i);
        put_ok(s, keys[i], data, SZ);
        snprintf(paths[i], sizeof paths[i], "%s/%s", outdir, keys[i]);
        it[i] = (tp_gather_item){.store = s, .key = keys[i], .path = paths[i]};
    }
    killer_arg k = {paths[0], b.srv.pid, 0};
    pthread_t th;
    pthread_create(&th, NULL, killer, &k);
    tp_gather_opts o = {.timeout_s = 8, .max_bytes = SZ, .parallel = 2};
    double t0 = tp_now();
    cr_assert_eq(tp_store_gather(it, N, &o, &err), TP_OK, "%s", err.msg);
    double dt = tp_now() - t0;
    pthread_join(th, NULL);
    cr_assert(k.killed);
    /* The deadline ended the retries (slack for a loaded machine: no timing luck either way). */
    cr_assert(dt < o.timeout_s + 5, "gather overran its deadline: %.2f s", dt);
    int failed = 0, exhausted = 0;
    for (int i = 0; i < N; i++) {
        if (it[i].status == TP_FETCH_OK) {
            uint8_t *back;
            size_t len;
            fill_bytes(data, SZ, (uint32_t)i);
            cr_assert_eq(tp_read_file(paths[i], SZ, &back, &len, &err), TP_OK, "%s", err.msg);
            cr_assert(len == SZ && !memcmp(back, data, SZ));
            free(back);
            continue;
        }
        failed++;
        cr_assert_eq(it[i].status, TP_FETCH_ERROR, "%s: %s", keys[i], tp_fetch_name(it[i].status));
        cr_assert(strstr(it[i].msg, keys[i]), "message does not name the object: %s", it[i].msg);
        cr_assert(it[i].attempts >= 1 && it[i].attempts <= 3, "%d attempts", it[i].attempts);
        exhausted += it[i].attempts == 3 && strstr(it[i].msg, "after 3 attempts") != NULL;
        cr_assert(!exists(paths[i]), "%s left a file", keys[i]);
    }
    cr_assert(failed >= N / 2, "only %d objects failed: the server was not stopped during the gather", failed);
    cr_assert(exhausted > 0, "no object used up its retries (message: %s)", it[N - 1].msg);
    cr_assert_eq(count_files_containing(outdir, ".tmp."), 0, "temporary files left behind");
    free(data);
    tp_store_close(s);
    b.srv.pid = 0; /* already dead */
    waitpid(k.pid, NULL, 0);
    backend_down(&b);
}

Test(store_s3, hung_server_deadline, .timeout = 60) {
    backend b;
    backend_up(&b, 1);
    tp_store *s = open_ok(b.uri);
    put_ok(s, "a", "a", 1);
    put_ok(s, "b", "b", 1);
    kill(b.srv.pid, SIGSTOP); /* accepts connections (the kernel does) but never answers */
    tp_gather_item it[2] = {{.store = s, .key = "a"}, {.store = s, .key = "b"}};
    tp_gather_opts o = {.timeout_s = 1.5, .max_bytes = 10};
    tp_err err;
    double t0 = tp_now();
    cr_assert_eq(tp_store_gather(it, 2, &o, &err), TP_OK, "%s", err.msg);
    double dt = tp_now() - t0;
    kill(b.srv.pid, SIGCONT);
    /* Without the deadline each request would hang for the store's 30 s low-speed limit; what this
     * checks is that the deadline cut that short, with any slack a loaded machine needs (no timing
     * luck: a busy core only adds scheduling delay, never 28 s). */
    cr_assert(dt < 15.0, "the gather took %.2f s with a 1.5 s deadline (a request alone would hang 30 s)", dt);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(it[i].status, TP_FETCH_ERROR);
        cr_assert(strstr(it[i].msg, "deadline") || strstr(it[i].msg, "timed out") || strstr(it[i].msg, "Timeout"),
                  "%s", it[i].msg);
    }
    tp_store_close(s);
    backend_down(&b);
}

Test(store_s3, retries_are_bounded_for_sync_calls) {
    char uri[128];
    /* Nothing listens on port 1. */
    snprintf(uri, sizeof uri, "s3+http://127.0.0.1:1/bucket-a");
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    tp_store_opts so;
    tp_store_opts_default(&so);
    so.max_attempts = 3;
    so.backoff_s = 0.05;
    tp_store *s;
    tp_err err;
    cr_assert_eq(tp_store_open(uri, NULL, &so, &s, &err), TP_OK, "%s", err.msg);
    double t0 = tp_now();
    tp_fetch why;
    uint8_t *d;
    size_t n;
    cr_assert_neq(tp_store_get(s, "k", 10, &d, &n, NULL, &why, &err), TP_OK);
    cr_assert_eq(why, TP_FETCH_ERROR);
    cr_assert(strstr(err.msg, "after 3 attempts"), "%s", err.msg);
    cr_assert(tp_now() - t0 < 10, "3 attempts 0.05 s apart took %.1f s", tp_now() - t0);
    cr_assert_neq(tp_store_put(s, "k", "x", 1, &err), TP_OK);
    cr_assert(strstr(err.msg, "127.0.0.1:1/bucket-a/k"), "%s", err.msg);
    tp_store_close(s);
}

Test(store_s3, mixed_backends_in_one_gather, .timeout = 60) {
    backend b;
    backend_up(&b, 1);
    char furi[512];
    snprintf(furi, sizeof furi, "file://%s/peer-bucket", b.tmp);
    tp_store *s3 = open_ok(b.uri), *fs = open_ok(furi);
    put_ok(s3, "gradient-1-1-v1.st", "from-s3", 7);
    put_ok(fs, "gradient-1-2-v1.st", "from-file", 9);
    tp_gather_item it[4] = {{.store = s3, .key = "gradient-1-1-v1.st"},
                            {.store = fs, .key = "gradient-1-2-v1.st"},
                            {.store = s3, .key = "gradient-1-3-v1.st"},
                            {.store = fs, .key = "../escape"}};
    tp_gather_opts o = {.timeout_s = 10, .max_bytes = 100};
    tp_err err;
    cr_assert_eq(tp_store_gather(it, 4, &o, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(it[0].status, TP_FETCH_OK, "%s", it[0].msg);
    cr_assert(it[0].len == 7 && !memcmp(it[0].data, "from-s3", 7));
    cr_assert_eq(it[1].status, TP_FETCH_OK, "%s", it[1].msg);
    cr_assert(it[1].len == 9 && !memcmp(it[1].data, "from-file", 9));
    cr_assert_eq(it[2].status, TP_FETCH_NOT_FOUND, "%s", it[2].msg);
    cr_assert_eq(it[3].status, TP_FETCH_ERROR);
    cr_assert(strstr(it[3].msg, "'..'"), "%s", it[3].msg);
    tp_gather_free(it, 4);
    tp_store_close(s3);
    tp_store_close(fs);
    backend_down(&b);
}

/* ---- S3 only: signatures and credentials ---- */

/* s3rver does not check SigV4 signatures; this server does. Every call must be accepted. */
Test(store_s3, sigv4_signatures_verify, .timeout = 60) {
    test_server srv;
    sigv4_start(&srv, "sig-bucket", "AKIDTEMPLARTEST", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL);
    tp_store_creds c;
    memset(&c, 0, sizeof c);
    strcpy(c.access_key, "AKIDTEMPLARTEST");
    strcpy(c.secret_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    strcpy(c.region, "eu-west-3");
    tp_store *s;
    tp_err err;
    cr_assert_eq(tp_store_open(srv.uri, &c, NULL, &s, &err), TP_OK, "%s", err.msg);
    const char *keys[] = {"plain", "dir with space/ä+&=?#%.bin", "checkpoints/v1/42/model.safetensors", "~tilde_-."};
    for (size_t i = 0; i < 4; i++) {
        put_ok(s, keys[i], "payload", 7);
        uint8_t *d;
        size_t n;
        tp_store_stat st;
        cr_assert_eq(tp_store_get(s, keys[i], 100, &d, &n, NULL, NULL, &err), TP_OK, "%s", err.msg);
        cr_assert(n == 7 && !memcmp(d, "payload", 7));
        free(d);
        cr_assert_eq(tp_store_head(s, keys[i], &st, NULL, &err), TP_OK, "%s", err.msg);
    }
    char src[512], tmp[256];
    store_tmpdir(tmp, sizeof tmp);
    snprintf(src, sizeof src, "%s/f", tmp);
    write_test_file(src, "file body", 9);
    cr_assert_eq(tp_store_put_file(s, "from file", src, &err), TP_OK, "%s", err.msg);
    /* with the body's SHA-256 signed too (the checker compares it with the body) */
    tp_store_opts so;
    tp_store_opts_default(&so);
    so.sign_payload = 1;
    tp_store *signed_store;
    cr_assert_eq(tp_store_open(srv.uri, &c, &so, &signed_store, &err), TP_OK, "%s", err.msg);
    put_ok(signed_store, "signed body", "payload", 7);
    put_ok(signed_store, "signed empty", "", 0);
    cr_assert_eq(tp_store_put_file(signed_store, "signed file", src, &err), TP_OK, "%s", err.msg);
    tp_store_close(signed_store);
    tp_store_list l;
    cr_assert_eq(tp_store_list_keys(s, "dir with space/ä+", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.v[0].key, keys[1]);
    tp_store_list_free(&l);
    cr_assert_eq(tp_store_delete(s, keys[1], &err), TP_OK, "%s", err.msg);
    tp_gather_item it = {.store = s, .key = keys[2]};
    tp_gather_opts o = {.timeout_s = 10, .max_bytes = 100};
    cr_assert_eq(tp_store_gather(&it, 1, &o, &err), TP_OK);
    cr_assert_eq(it.status, TP_FETCH_OK, "%s", it.msg);
    tp_gather_free(&it, 1);
    tp_store_close(s);
    /* The checker does reject a wrong signature. */
    strcpy(c.secret_key, "not-the-secret");
    cr_assert_eq(tp_store_open(srv.uri, &c, NULL, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_neq(tp_store_put(s, "plain", "x", 1, &err), TP_OK);
    cr_assert(strstr(err.msg, "SignatureDoesNotMatch"), "%s", err.msg);
    cr_assert(!strstr(err.msg, "not-the-secret"), "%s", err.msg);
    tp_store_close(s);
    server_stop(&srv, 0);

    /* Temporary credentials: the session token is sent and signed. */
    sigv4_start(&srv, "sig-bucket", "ASIATEMP", "tempsecret", "FwoGZXIvYXdzEJr//token+/=");
    memset(&c, 0, sizeof c);
    strcpy(c.access_key, "ASIATEMP");
    strcpy(c.secret_key, "tempsecret");
    strcpy(c.session_token, "FwoGZXIvYXdzEJr//token+/=");
    cr_assert_eq(tp_store_open(srv.uri, &c, NULL, &s, &err), TP_OK, "%s", err.msg);
    put_ok(s, "t", "t", 1);
    tp_store_close(s);
    server_stop(&srv, 0);
    tp_remove_tree(tmp, &err);
}

static void no_secret(const char *msg, const char *secret) {
    cr_assert(!strstr(msg, secret), "a message leaked the secret: %s", msg);
}

Test(store_s3, credentials_never_in_messages, .timeout = 60) {
    const char *secret = "SECRETtemplar4242zz";
    backend b;
    backend_up(&b, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    setenv("AWS_SESSION_TOKEN", "TOKENtemplar4242zz", 1);
    tp_store *s = open_ok(b.uri);
    tp_err err;
    tp_fetch why;
    uint8_t *d;
    size_t n;
    put_ok(s, "big", "0123456789", 10);
    tp_store_get(s, "missing", 10, &d, &n, NULL, &why, &err);
    cr_assert_eq(why, TP_FETCH_NOT_FOUND);
    no_secret(err.msg, secret);
    tp_store_get(s, "big", 5, &d, &n, NULL, &why, &err);
    cr_assert_eq(why, TP_FETCH_TOO_BIG);
    no_secret(err.msg, secret);
    tp_store_close(s);
    /* a wrong access key: 403 */
    setenv("AWS_ACCESS_KEY_ID", "NOBODY", 1);
    s = open_ok(b.uri);
    cr_assert_neq(tp_store_put(s, "x", "x", 1, &err), TP_OK);
    cr_assert(strstr(err.msg, "403"), "%s", err.msg);
    no_secret(err.msg, secret);
    no_secret(err.msg, "TOKENtemplar4242zz");
    tp_store_list l;
    cr_assert_neq(tp_store_list_keys(s, "", &l, &err), TP_OK);
    tp_store_list_free(&l);
    no_secret(err.msg, secret);
    tp_store_close(s);
    /* the server gone: connection errors */
    server_stop(&b.srv, 0);
    tp_store_opts so;
    tp_store_opts_default(&so);
    so.max_attempts = 2;
    so.backoff_s = 0.01;
    cr_assert_eq(tp_store_open(b.uri, NULL, &so, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_neq(tp_store_put(s, "x", "x", 1, &err), TP_OK);
    no_secret(err.msg, secret);
    tp_gather_item it = {.store = s, .key = "x"};
    tp_gather_opts o = {.timeout_s = 2, .max_bytes = 10};
    tp_store_gather(&it, 1, &o, &err);
    cr_assert_eq(it.status, TP_FETCH_ERROR);
    no_secret(it.msg, secret);
    tp_store_close(s);
    /* credentials in a URI are refused, and not repeated back */
    char uri[256];
    snprintf(uri, sizeof uri, "s3+http://AKID:%s@127.0.0.1:9/bucket-a", secret);
    cr_assert_neq(tp_store_open(uri, NULL, NULL, &s, &err), TP_OK);
    cr_assert(strstr(err.msg, "must not hold credentials"), "%s", err.msg);
    no_secret(err.msg, secret);
    setenv("AWS_ENDPOINT_URL", "http://AKID:SECRETtemplar4242zz@127.0.0.1:9", 1);
    cr_assert_neq(tp_store_open("s3://bucket-a", NULL, NULL, &s, &err), TP_OK);
    no_secret(err.msg, secret);
    unsetenv("AWS_ENDPOINT_URL");
    /* a credentials file that others can read, or that is malformed */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    char path[512], text[512];
    snprintf(path, sizeof path, "%s/creds", b.tmp);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    snprintf(text, sizeof text, "[default]\naws_access_key_id = AKID\naws_secret_access_key = %s\n", secret);
    write_test_file(path, text, strlen(text));
    chmod(path, 0644);
    cr_assert_neq(tp_store_open(b.uri, NULL, NULL, &s, &err), TP_OK);
    cr_assert(strstr(err.msg, "chmod 600"), "%s", err.msg);
    no_secret(err.msg, secret);
    snprintf(text, sizeof text, "[default]\n\naws_access_key_id AKID %s\n", secret);
    write_test_file(path, text, strlen(text));
    chmod(path, 0600);
    cr_assert_neq(tp_store_open(b.uri, NULL, NULL, &s, &err), TP_OK);
    cr_assert(strstr(err.msg, "line 3"), "%s", err.msg);
    no_secret(err.msg, secret);
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    backend_down(&b);
}

Test(store, credentials_file_and_environment) {
    char home[256], path[512];
    store_tmpdir(home, sizeof home);
    setenv("TEMPLAR_HOME", home, 1);
    setenv("HOME", home, 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    tp_store_creds c;
    int found;
    tp_err err;
    cr_assert_eq(tp_store_creds_load(&c, &found, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(found, 0, "no credentials anywhere: anonymous");
    snprintf(path, sizeof path, "%s/credentials", home);
    const char *ini = "# templar\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key=sdefault\n"
                      "\n[profile other]\n  aws_access_key_id=AKOTHER  \naws_secret_access_key = sother\nregion = eu-central-1\n";
    write_test_file(path, ini, strlen(ini));
    chmod(path, 0600);
    cr_assert_eq(tp_store_creds_load(&c, &found, &err), TP_OK, "%s", err.msg);
    cr_assert(found);
    cr_assert_str_eq(c.access_key, "AKDEFAULT");
    cr_assert_str_eq(c.secret_key, "sdefault");
    cr_assert_str_eq(c.region, "");
    setenv("AWS_PROFILE", "other", 1);
    cr_assert_eq(tp_store_creds_load(&c, &found, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(c.access_key, "AKOTHER");
    cr_assert_str_eq(c.region, "eu-central-1");
    setenv("AWS_REGION", "us-west-2", 1);
    cr_assert_eq(tp_store_creds_load(&c, &found, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(c.region, "us-west-2", "the environment's region wins");
    unsetenv("AWS_PROFILE");
    chmod(path, 0640);
    cr_assert_neq(tp_store_creds_load(&c, &found, &err), TP_OK);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "group or others"), "%s", err.msg);
    chmod(path, 0600);
    /* the environment wins over the file */
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    cr_assert_neq(tp_store_creds_load(&c, &found, &err), TP_OK, "half a key pair must be an error");
    cr_assert(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"), "%s", err.msg);
    setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
    cr_assert_eq(tp_store_creds_load(&c, &found, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(c.access_key, "AKENV");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    cr_assert_neq(tp_store_creds_load(&c, &found, &err), TP_OK);
    cr_assert(strstr(err.msg, "/nonexistent/credentials"), "%s", err.msg);
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    tp_store_creds_clear(&c);
    tp_remove_tree(home, &err);
}

/* ---- URIs and keys ---- */

Test(store, malformed_uris_are_named) {
    setenv("AWS_ACCESS_KEY_ID", "x", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "y", 1);
    unsetenv("AWS_ENDPOINT_URL");
    const char *bad[] = {"s3:/bucket-a",          "s3://",
                         "s3://ab",               "s3://Bucket-A",
                         "s3://bucket-a/key",     "s3+http://",
                         "s3+http://host",        "s3+http://host/",
                         "s3+http://host:99999/bucket-a", "s3+http://host:0/bucket-a",
                         "s3+http://ho st/bucket-a", "s3+ftp://host/bucket-a",
                         "http://host/bucket-a",  "file://",
                         "s3+https://[::1/bucket-a", "s3://bucket-a?x=1",
                         "s3+http://host:/bucket-a", "bucket-a",
                         "s3://-bucket",          "s3+https://host/bucket_a"};
    tp_err err;
    tp_store *s;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_neq(tp_store_open(bad[i], NULL, NULL, &s, &err), TP_OK, "accepted '%s'", bad[i]);
        cr_assert_eq(err.code, TP_ERR_ARG, "'%s': %s", bad[i], err.msg);
        cr_assert(strstr(err.msg, bad[i]), "the message does not name '%s': %s", bad[i], err.msg);
    }
    cr_assert_neq(tp_store_open("", NULL, NULL, &s, &err), TP_OK);
    setenv("AWS_ENDPOINT_URL", "ftp://example.com", 1);
    cr_assert_neq(tp_store_open("s3://bucket-a", NULL, NULL, &s, &err), TP_OK);
    cr_assert(strstr(err.msg, "AWS_ENDPOINT_URL") && strstr(err.msg, "ftp://example.com"), "%s", err.msg);
    unsetenv("AWS_ENDPOINT_URL");
    const char *good[] = {"s3://bucket-a", "s3+https://r2.example.com/bucket-a/", "s3+http://127.0.0.1:4568/b.c-d",
                          "s3+https://[::1]:9000/bucket-a", "file:///tmp/x", "file://rel/dir"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        cr_assert_eq(tp_store_open(good[i], NULL, NULL, &s, &err), TP_OK, "'%s': %s", good[i], err.msg);
        tp_store_close(s);
    }
}

Test(store, key_rules) {
    const char *bad[] = {"", "/abs", "a//b", "a/", "./a", "a/../b", "..", "a/./b", "x\ny", "tab\there",
                         ".tp-part-123", "d/.tp-part-x"};
    tp_err err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_neq(tp_store_check_key(bad[i], &err), TP_OK, "accepted key '%s'", bad[i]);
    char longkey[1100];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    cr_assert_neq(tp_store_check_key(longkey, &err), TP_OK);
    const char *good[] = {"gradient-7-3-v1.st", "checkpoints/v1/12/LATEST.json", "a b", "ünïcode", ".hidden", "a..b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_assert_eq(tp_store_check_key(good[i], &err), TP_OK, "'%s': %s", good[i], err.msg);
}

Test(store_file, atomic_writes_leave_no_parts) {
    char tmp[256], uri[512];
    store_tmpdir(tmp, sizeof tmp);
    snprintf(uri, sizeof uri, "file://%s/b", tmp);
    tp_store *s = open_ok(uri);
    tp_err err;
    put_ok(s, "a/b/c", "x", 1);
    cr_assert_neq(tp_store_put_file(s, "a/b/d", "/nonexistent/file", &err), TP_OK);
    cr_assert(strstr(err.msg, "/nonexistent/file"), "%s", err.msg);
    cr_assert_eq(count_files_containing(tmp, ".tp-part-"), 0);
    /* a stray temporary file is never listed */
    char stray[600];
    snprintf(stray, sizeof stray, "%s/b/a/.tp-part-999-0", tmp);
    write_test_file(stray, "junk", 4);
    tp_store_list l;
    cr_assert_eq(tp_store_list_keys(s, "", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.v[0].key, "a/b/c");
    tp_store_list_free(&l);
    /* deleting the last key under a directory removes the empty directories */
    cr_assert_eq(tp_store_delete(s, "a/b/c", &err), TP_OK);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/b/a/b", tmp);
    cr_assert(!exists(dir));
    tp_store_close(s);
    /* listing a bucket directory that does not exist is an error, as NoSuchBucket is */
    snprintf(uri, sizeof uri, "file://%s/never", tmp);
    s = open_ok(uri);
    cr_assert_neq(tp_store_list_keys(s, "", &l, &err), TP_OK);
    tp_store_list_free(&l);
    cr_assert(strstr(err.msg, "never"), "%s", err.msg);
    tp_store_close(s);
    tp_remove_tree(tmp, &err);
}

/* ---- the XML parser (untrusted input) ---- */

Test(s3_xml, list_page) {
    const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                      "<Name>b</Name><IsTruncated>true</IsTruncated>"
                      "<Contents><Key>a&amp;b&lt;&#x41;&#66;<![CDATA[<raw>]]></Key>"
                      "<LastModified>2024-02-29T12:34:56.789Z</LastModified><ETag>&quot;x&quot;</ETag>"
                      "<Size>123</Size></Contents>"
                      "<!-- comment --><Contents><Key>z</Key><Size>0</Size>"
                      "<LastModified>1970-01-01T00:00:00Z</LastModified><Owner><ID>1</ID></Owner></Contents>"
                      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
                      "</ListBucketResult>";
    tp_store_list l = {0};
    int truncated;
    char token[TP_S3_TOKEN_MAX];
    tp_err err;
    cr_assert_eq(tp_s3_parse_list(doc, strlen(doc), &l, &truncated, token, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0].key, "a&b<AB<raw>");
    cr_assert_eq(l.v[0].size, 123);
    cr_assert_float_eq(l.v[0].mtime, 1709210096.789, 1e-6);
    cr_assert_str_eq(l.v[1].key, "z");
    cr_assert_float_eq(l.v[1].mtime, 0.0, 1e-9);
    cr_assert(truncated);
    cr_assert_str_eq(token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    tp_store_list_free(&l);
}

Test(s3_xml, rejects_malformed) {
    const char *bad[] = {
        "",
        "<ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResul>",
        "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>-1</Size>"
        "<LastModified>2024-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size>"
        "<LastModified>2023-02-29T00:00:00Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&#0;</Key><Size>1</Size>"
        "<LastModified>2024-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&bogus;</Key></Contents></ListBucketResult>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
        "<Error><Code>AccessDenied</Code></Error>",
        "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult><Extra/>",
        "<ListBucketResult a=\"1><IsTruncated>false</IsTruncated></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false\x01</IsTruncated></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>99999999999999999999</Size>"
        "<LastModified>2024-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>\x1b[2J</Key><Size>1</Size>"
        "<LastModified>2024-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tp_store_list l = {0};
        int truncated;
        char token[TP_S3_TOKEN_MAX];
        tp_err err;
        cr_assert_neq(tp_s3_parse_list(bad[i], strlen(bad[i]), &l, &truncated, token, &err), TP_OK, "accepted #%zu: %s",
                      i, bad[i]);
        cr_assert_eq(err.code, TP_ERR_FORMAT, "#%zu: %s", i, err.msg);
        tp_store_list_free(&l);
    }
    /* nesting bombs stop at the depth limit */
    char deep[4096] = "<ListBucketResult>";
    for (int i = 0; i < 100; i++) strcat(deep, "<a>");
    tp_store_list l = {0};
    int truncated;
    char token[TP_S3_TOKEN_MAX];
    tp_err err;
    cr_assert_neq(tp_s3_parse_list(deep, strlen(deep), &l, &truncated, token, &err), TP_OK);
    cr_assert(strstr(err.msg, "deep"), "%s", err.msg);
    tp_store_list_free(&l);
}

Test(s3_xml, error_document) {
    const char *doc = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce\x7f\xc2\x9b" "31m your "
                      "rate</Message><RequestId>1</RequestId></Error>";
    char code[64], msg[256];
    cr_assert_eq(tp_s3_parse_error(doc, strlen(doc), code, sizeof code, msg, sizeof msg), TP_OK);
    cr_assert_str_eq(code, "SlowDown");
    cr_assert_str_eq(msg, "Please reduce???31m your rate", "only printable ASCII may pass through");
    const char *esc = "<Error><Code>X</Code><Message>\x1b[2J</Message></Error>";
    cr_assert_neq(tp_s3_parse_error(esc, strlen(esc), code, sizeof code, msg, sizeof msg), TP_OK, "raw control characters are not XML");
    cr_assert_neq(tp_s3_parse_error("<html>oops</html>", 17, code, sizeof code, msg, sizeof msg), TP_OK);
    cr_assert_str_eq(code, "");
}

Test(s3_xml, iso_times) {
    double t;
    cr_assert_eq(tp_s3_parse_iso_time("2026-11-24T16:02:48.000Z", 24, &t), 0);
    cr_assert_float_eq(t, 1795536168.0, 1e-6);
    cr_assert_eq(tp_s3_parse_iso_time("2000-03-01T00:00:00Z", 20, &t), 0);
    cr_assert_float_eq(t, 951868800.0, 1e-6);
    const char *bad[] = {"2026-13-01T00:00:00Z", "2026-11-24 16:02:48Z", "2026-11-24T16:02:48", "2026-11-24T24:00:00Z",
                         "2026-11-24T16:02:48.Z", "1969-12-31T23:59:59Z", "2026-11-24T16:02:48.000+01:00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_neq(tp_s3_parse_iso_time(bad[i], strlen(bad[i]), &t), 0, "accepted %s", bad[i]);
}
