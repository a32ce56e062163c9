/* templar store put|get|head|ls|rm|gather: a small `aws s3` over the store interface (file:// or
 * S3). Credentials come from the environment or a credentials file, never from arguments. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "net/store.h"

#define DEFAULT_MAX_BYTES (5ull << 30) /* S3's largest single PUT */

static const char usage_text[] =
    "usage: templar store put URI KEY [FILE]     upload FILE (or stdin) as KEY\n"
    "       templar store get URI KEY [FILE]     download KEY to FILE (written atomically) or stdout\n"
    "       templar store head URI KEY           size and LastModified of KEY\n"
    "       templar store ls URI [PREFIX]        keys (size, LastModified, key), in byte order\n"
    "       templar store rm URI KEY...          delete keys (a missing key is not an error)\n"
    "       templar store gather URI KEY...      fetch many keys concurrently into --out DIR\n"
    "\n"
    "URI:   file:///abs/dir or file://rel/dir    a directory is the bucket\n"
    "       s3+https://HOST[:PORT]/BUCKET        any S3-compatible service (path-style)\n"
    "       s3+http://HOST[:PORT]/BUCKET         plain HTTP (local test servers)\n"
    "       s3://BUCKET                          endpoint from AWS_ENDPOINT_URL (default AWS)\n"
    "\n"
    "options:\n"
    "  --max-bytes N        refuse objects larger than N bytes before downloading (default 5 GiB)\n"
    "  --attempts N         tries per request on 5xx, timeouts and connection errors (default 4)\n"
    "  --connect-timeout S  seconds to connect (default 10)\n"
    "  --timeout S          get/put/head/ls/rm: per request attempt (default none); gather: the\n"
    "                       whole gather's deadline (default 60)\n"
    "  --out DIR            gather: write KEY to DIR/KEY (default .)\n"
    "  --parallel N         gather: transfers at once (default 16)\n"
    "  --not-before T       gather: TOO_EARLY if stored before epoch second T\n"
    "  --not-after T        gather: TOO_LATE if stored after epoch second T\n"
    "\n"
    "S3 credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, AWS_REGION,\n"
    "default us-east-1), else profile $AWS_PROFILE (default 'default') of $AWS_SHARED_CREDENTIALS_FILE,\n"
    "$TEMPLAR_HOME/credentials or ~/.aws/credentials, which must be mode 0600. Never on the command line.\n"
    "\n"
    "gather prints one line per key (STATUS SIZE KEY [reason]) and a throughput summary on stderr;\n"
    "it exits 1 unless every key is OK.\n";

typedef struct {
    const char *pos[4096];
    int npos;
    uint64_t max_bytes;
    int attempts, parallel;
    double connect_timeout, timeout, not_before, not_after;
    const char *out;
} store_args;

static int parse_args(int argc, char **argv, store_args *a) {
    memset(a, 0, sizeof *a);
    a->max_bytes = DEFAULT_MAX_BYTES;
    a->out = ".";
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!only_pos && !strcmp(s, "--")) {
            only_pos = 1;
            continue;
        }
        if (only_pos || strncmp(s, "--", 2) || !strcmp(s, "-")) {
            if (a->npos == (int)(sizeof a->pos / sizeof *a->pos)) return cli_usage("store", "too many arguments");
            a->pos[a->npos++] = s;
            continue;
        }
        if (i + 1 >= argc) return cli_usage("store", "%s needs a value", s);
        const char *v = argv[++i];
        int64_t x;
        int rc = 0;
        if (!strcmp(s, "--max-bytes")) {
            rc = cli_parse_i64("store", s, v, 0, INT64_MAX, &x);
            a->max_bytes = (uint64_t)x;
        } else if (!strcmp(s, "--attempts")) {
            rc = cli_parse_i64("store", s, v, 1, 100, &x);
            a->attempts = (int)x;
        } else if (!strcmp(s, "--parallel")) {
            rc = cli_parse_i64("store", s, v, 1, 1024, &x);
            a->parallel = (int)x;
        } else if (!strcmp(s, "--connect-timeout")) {
            rc = cli_parse_f64("store", s, v, &a->connect_timeout);
            if (!rc && a->connect_timeout <= 0) rc = cli_usage("store", "--connect-timeout must be positive");
        } else if (!strcmp(s, "--timeout")) {
            rc = cli_parse_f64("store", s, v, &a->timeout);
            if (!rc && a->timeout <= 0) rc = cli_usage("store", "--timeout must be positive");
        } else if (!strcmp(s, "--not-before")) {
            rc = cli_parse_f64("store", s, v, &a->not_before);
        } else if (!strcmp(s, "--not-after")) {
            rc = cli_parse_f64("store", s, v, &a->not_after);
        } else if (!strcmp(s, "--out")) {
            a->out = v;
        } else {
            return cli_usage("store", "unknown option %s", s);
        }
        if (rc) return rc;
    }
    return 0;
}

static int open_store(const char *uri, const store_args *a, int for_gather, tp_store **s) {
    tp_store_opts o;
    tp_store_opts_default(&o);
    if (a->attempts) o.max_attempts = a->attempts;
    if (a->connect_timeout > 0) o.connect_timeout_s = a->connect_timeout;
    if (a->timeout > 0 && !for_gather) o.request_timeout_s = a->timeout;
    tp_err err = {0};
    if (tp_store_open(uri, NULL, &o, s, &err)) return cli_fail("store", &err);
    return 0;
}

/* Reads all of stdin (put without FILE), up to limit bytes. */
static int read_stdin(uint64_t limit, uint8_t **out, size_t *len) {
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return -1;
    for (;;) {
        if (n == cap) {
            uint8_t *b = cap * 2 > cap ? realloc(buf, cap * 2) : NULL;
            if (!b) {
                free(buf);
                return -1;
            }
            buf = b;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, stdin);
        n += r;
        if (n > limit) {
            free(buf);
            return -2;
        }
        if (r == 0) break;
    }
    if (ferror(stdin)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static void print_key(FILE *f, const char *key) {
    /* Keys from a listing are untrusted bytes; keep terminal control characters out. */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

/* Checks a subcommand's positional count (min..max, max < 0: no limit) and opens its store; a
 * non-zero result is the command's exit code. */
static int begin(const store_args *a, int min, int max, const char *usage, int for_gather, tp_store **s) {
    if (a->npos < min || (max >= 0 && a->npos > max)) return cli_usage("store", "%s", usage);
    return open_store(a->pos[1], a, for_gather, s);
}

static int do_put(const store_args *a) {
    tp_store *s;
    int rc = begin(a, 3, 4, "put expects URI KEY [FILE]", 0, &s);
    if (rc) return rc;
    tp_err err = {0};
    tp_status st;
    if (a->npos == 4 && strcmp(a->pos[3], "-")) {
        st = tp_store_put_file(s, a->pos[2], a->pos[3], &err);
    } else {
        uint8_t *data = NULL;
        size_t len = 0;
        int r = read_stdin(a->max_bytes, &data, &len);
        if (r) {
            tp_store_close(s);
            if (r == -2) return cli_usage("store", "stdin holds more than --max-bytes %" PRIu64 " bytes", a->max_bytes);
            fprintf(stderr, "templar store: reading stdin: %s\n", strerror(errno));
            return 1;
        }
        st = tp_store_put(s, a->pos[2], data, len, &err);
        free(data);
    }
    tp_store_close(s);
    return st ? cli_fail("store", &err) : 0;
}

static int do_get(const store_args *a) {
    tp_store *s;
    int rc = begin(a, 3, 4, "get expects URI KEY [FILE]", 0, &s);
    if (rc) return rc;
    tp_err err = {0};
    tp_status st;
    if (a->npos == 4 && strcmp(a->pos[3], "-")) {
        st = tp_store_get_file(s, a->pos[2], a->max_bytes, a->pos[3], NULL, NULL, &err);
    } else {
        uint8_t *data;
        size_t len;
        st = tp_store_get(s, a->pos[2], a->max_bytes, &data, &len, NULL, NULL, &err);
        if (!st) {
            int bad = fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0;
            free(data);
            if (bad) st = tp_fail(&err, TP_ERR_IO, "writing to stdout: %s", strerror(errno));
        }
    }
    tp_store_close(s);
    return st ? cli_fail("store", &err) : 0;
}

static int do_head(const store_args *a) {
    tp_store *s;
    int rc = begin(a, 3, 3, "head expects URI KEY", 0, &s);
    if (rc) return rc;
    tp_err err = {0};
    tp_store_stat st;
    tp_status r = tp_store_head(s, a->pos[2], &st, NULL, &err);
    tp_store_close(s);
    if (r) return cli_fail("store", &err);
    char t[40];
    tp_store_format_time(st.mtime, t, sizeof t);
    printf("key %s\nsize %" PRIu64 "\nlast_modified %s\nlast_modified_epoch %.3f\n", a->pos[2], st.size, t, st.mtime);
    return 0;
}

static int do_ls(const store_args *a) {
    tp_store *s;
    int rc = begin(a, 2, 3, "ls expects URI [PREFIX]", 0, &s);
    if (rc) return rc;
    tp_err err = {0};
    tp_store_list l;
    tp_status r = tp_store_list_keys(s, a->npos == 3 ? a->pos[2] : "", &l, &err);
    tp_store_close(s);
    if (r) {
        tp_store_list_free(&l);
        return cli_fail("store", &err);
    }
    for (size_t i = 0; i < l.n; i++) {
        char t[40];
        tp_store_format_time(l.v[i].mtime, t, sizeof t);
        printf("%12" PRIu64 "  %s  ", l.v[i].size, t);
        print_key(stdout, l.v[i].key);
        putchar('\n');
    }
    tp_store_list_free(&l);
    return fflush(stdout) ? 1 : 0;
}

static int do_rm(const store_args *a) {
    tp_store *s;
    int rc = begin(a, 3, -1, "rm expects URI KEY...", 0, &s);
    if (rc) return rc;
    int status = 0;
    for (int i = 2; i < a->npos; i++) {
        tp_err err = {0};
        if (tp_store_delete(s, a->pos[i], &err)) status = cli_fail("store", &err);
    }
    tp_store_close(s);
    return status;
}

static int do_gather(const store_args *a) {
    tp_store *s;
    int rc = begin(a, 3, -1, "gather expects URI KEY...", 1, &s);
    if (rc) return rc;
    int n = a->npos - 2;
    tp_gather_item *items = calloc((size_t)n, sizeof *items);
    char(*paths)[4200] = calloc((size_t)n, sizeof *paths);
    tp_err err = {0};
    if (!items || !paths) {
        free(items);
        free(paths);
        tp_store_close(s);
        fprintf(stderr, "templar store: out of memory\n");
        return 1;
    }
    int status = 0;
    for (int i = 0; i < n && !status; i++) {
        const char *key = a->pos[i + 2];
        if (tp_store_check_key(key, &err)) {
            status = cli_fail("store", &err);
            break;
        }
        if (snprintf(paths[i], sizeof paths[i], "%s/%s", a->out, key) >= (int)sizeof paths[i]) {
            status = cli_usage("store", "output path for key '%s' is too long", key);
            break;
        }
        char *slash = strrchr(paths[i], '/');
        *slash = 0;
        if (tp_mkdirs(paths[i], &err)) status = cli_fail("store", &err);
        *slash = '/';
        items[i] = (tp_gather_item){.store = s, .key = key, .path = paths[i]};
    }
    if (!status) {
        tp_gather_opts o = {.timeout_s = a->timeout > 0 ? a->timeout : 60,
                            .max_bytes = a->max_bytes,
                            .not_before = a->not_before,
                            .not_after = a->not_after,
                            .parallel = a->parallel};
        double t0 = tp_now();
        if (tp_store_gather(items, (size_t)n, &o, &err)) {
            status = cli_fail("store", &err);
        } else {
            double dt = tp_now() - t0;
            uint64_t bytes = 0;
            int ok = 0;
            for (int i = 0; i < n; i++) {
                tp_gather_item *it = &items[i];
                if (it->status == TP_FETCH_OK) {
                    ok++;
                    bytes += it->stat.size;
                    printf("%-9s %12" PRIu64 " %s\n", tp_fetch_name(it->status), it->stat.size, it->key);
                } else {
                    printf("%-9s %12s %s: %s\n", tp_fetch_name(it->status), "-", it->key, it->msg);
                }
            }
            fflush(stdout);
            fprintf(stderr, "templar store: gathered %d/%d objects, %.1f MB in %.3f s (%.1f MB/s)\n", ok, n, bytes / 1e6,
                    dt, dt > 0 ? bytes / 1e6 / dt : 0.0);
            status = ok == n ? 0 : 1;
        }
    }
    free(items);
    free(paths);
    tp_store_close(s);
    return status;
}

int cmd_store(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    store_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    /* pos[0] is the subcommand; URI and the rest follow. */
    if (a.npos < 1) return cli_usage("store", "expected a subcommand: put, get, head, ls, rm or gather");
    const char *sub = a.pos[0];
    if (!strcmp(sub, "put")) rc = do_put(&a);
    else if (!strcmp(sub, "get")) rc = do_get(&a);
    else if (!strcmp(sub, "head")) rc = do_head(&a);
    else if (!strcmp(sub, "ls")) rc = do_ls(&a);
    else if (!strcmp(sub, "rm")) rc = do_rm(&a);
    else if (!strcmp(sub, "gather")) rc = do_gather(&a);
    else rc = cli_usage("store", "unknown subcommand '%s' (expected put, get, head, ls, rm or gather)", sub);
    return rc;
}
