/* The object store under allocation failure, on both backends: put, get (to memory and to a file),
 * head, list, delete and a gather, with every allocation failing in turn. Every run either fails
 * with TP_ERR_NOMEM or does exactly what the clean run did; an object being replaced holds its old or
 * its new bytes, never a mix; no temporary file is left behind (file://); nothing leaks (asan). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/alloc_fail.h"
#include "core/fileio.h"
#include "net/store.h"
#include "store_test_util.h"

#define OLD_LEN 3000
#define NEW_LEN 5000

typedef struct {
    tp_store *s;
    int s3;
    char tmp[256], bucket_dir[512];
    uint8_t old_bytes[OLD_LEN], new_bytes[NEW_LEN];
} store_case;

static void put_raw(store_case *c, const char *key, const void *data, size_t n) {
    tp_err err = {0};
    cr_assert_eq(tp_store_put(c->s, key, data, n, &err), TP_OK, "%s", err.msg);
}

/* The state every run starts from: obj-a holds the old bytes, obj-b exists, obj-c does not. */
static void reset(store_case *c) {
    tp_err err;
    put_raw(c, "obj-a", c->old_bytes, OLD_LEN);
    put_raw(c, "obj-b", "b", 1);
    cr_assert_eq(tp_store_delete(c->s, "obj-c", &err), TP_OK, "%s", err.msg);
    char path[600];
    snprintf(path, sizeof path, "%s/fetched", c->tmp);
    remove(path);
}

static tp_status gather(store_case *c, tp_err *err) {
    char path[600];
    snprintf(path, sizeof path, "%s/fetched", c->tmp);
    tp_gather_item items[3] = {{.store = c->s, .key = "obj-a"}, {.store = c->s, .key = "obj-b", .path = path},
                               {.store = c->s, .key = "no-such-key"}};
    tp_gather_opts go = {.timeout_s = 20, .max_bytes = 1 << 20};
    tp_status st = tp_store_gather(items, 3, &go, err);
    if (!st && (items[0].status != TP_FETCH_OK || items[0].len != OLD_LEN + NEW_LEN - OLD_LEN ||
                items[1].status != TP_FETCH_OK || items[2].status != TP_FETCH_NOT_FOUND)) {
        /* An item's own failure is its status; memory running out inside one is the same thing. */
        int nomem = strstr(items[0].msg, "memory") || strstr(items[1].msg, "memory") || strstr(items[2].msg, "memory");
        st = tp_fail(err, nomem ? TP_ERR_NOMEM : TP_ERR_IO, "gather: %d %d %d: %s %s %s", items[0].status,
                     items[1].status, items[2].status, items[0].msg, items[1].msg, items[2].msg);
    }
    tp_gather_free(items, 3);
    return st;
}

static tp_status unit(void *ctx, tp_err *err) {
    store_case *c = ctx;
    uint8_t *data = NULL;
    size_t len = 0;
    tp_store_stat stat;
    tp_fetch why;
    tp_store_list l = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/fetched", c->tmp);
    tp_status st = tp_store_put(c->s, "obj-a", c->new_bytes, NEW_LEN, err);
    if (!st && !(st = tp_store_get(c->s, "obj-a", 1 << 20, &data, &len, &stat, &why, err)))
        cr_assert(len == NEW_LEN && !memcmp(data, c->new_bytes, NEW_LEN), "get returned other bytes");
    free(data);
    if (!st) st = tp_store_get_file(c->s, "obj-b", 1 << 20, path, NULL, &why, err);
    if (!st) st = tp_store_head(c->s, "obj-a", &stat, &why, err);
    if (!st && !(st = tp_store_list_keys(c->s, "obj-", &l, err)))
        cr_assert(l.n == 2 && !strcmp(l.v[0].key, "obj-a") && !strcmp(l.v[1].key, "obj-b"), "listing: %zu keys", l.n);
    tp_store_list_free(&l);
    if (!st) st = tp_store_delete(c->s, "obj-b", err);
    if (!st) st = tp_store_put(c->s, "obj-b", "b", 1, err); /* the gather reads it again */
    if (!st) st = gather(c, err);
    return st;
}

static void check(void *ctx, tp_status st, const tp_err *err, int fired) {
    store_case *c = ctx;
    (void)fired;
    uint8_t *data = NULL;
    size_t len = 0;
    tp_fetch why;
    tp_err e;
    cr_assert_eq(tp_store_get(c->s, "obj-a", 1 << 20, &data, &len, NULL, &why, &e), TP_OK, "%s", e.msg);
    int is_old = len == OLD_LEN && !memcmp(data, c->old_bytes, OLD_LEN);
    int is_new = len == NEW_LEN && !memcmp(data, c->new_bytes, NEW_LEN);
    cr_assert(is_new || (st && is_old), "obj-a holds %zu bytes that are neither version (run status %d: %s)", len, st,
              err->msg);
    free(data);
    if (!c->s3) cr_assert_eq(count_files_containing(c->bucket_dir, ".tp-part-"), 0, "a temporary file was left behind");
    reset(c);
}

static void run_case(int s3) {
    store_case c = {.s3 = s3};
    test_server srv = {0};
    store_tmpdir(c.tmp, sizeof c.tmp);
    fill_bytes(c.old_bytes, OLD_LEN, 1);
    fill_bytes(c.new_bytes, NEW_LEN, 2);
    char uri[600];
    if (s3) {
        s3rver_start(&srv, "bucket-a");
        snprintf(uri, sizeof uri, "%s", srv.uri);
    } else {
        snprintf(c.bucket_dir, sizeof c.bucket_dir, "%s/bucket-a", c.tmp);
        snprintf(uri, sizeof uri, "file://%s", c.bucket_dir);
    }
    tp_err err;
    cr_assert_eq(tp_store_open(uri, NULL, NULL, &c.s, &err), TP_OK, "%s", err.msg);
    reset(&c);
    af_run_all(unit, check, &c, 1, AF_OURS);
    tp_store_close(c.s);
    if (s3) server_stop(&srv, 0);
}

Test(alloc_fail, store_file) { run_case(0); }
Test(alloc_fail, store_s3, .timeout = 300) { run_case(1); }
