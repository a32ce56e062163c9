/* templar prep: tokenizes text files into train/val token shards (`<u4` .npy streams with the
 * end-of-document token after each document) plus tokenizer.json and meta.json, in constant memory.
 * Files are read in pieces that end where the pre-tokeniser would cut anyway, the pieces of a batch
 * are encoded in parallel (one encoder per thread), and written in input order, so the output does not
 * depend on the thread count. The workers are plain pthreads that sleep between batches: OpenMP's
 * spin-waiting made prep several times slower on a busy 2-core machine. meta.json is written last: a
 * directory without it is unfinished. */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "core/progress.h"
#include "data/docstream.h"
#include "data/shards.h"
#include "data/tokenizer.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shards are written as host uint32 and must be little-endian (<u4)"
#endif

#define CMD "prep"
#define PIECE_BYTES ((size_t)1 << 20)
#define MAX_SLOTS 64

static const char usage_text[] =
    "usage: templar prep --tokenizer TOKENIZER.json --out DIR [--val FILE]... [--val-every K]\n"
    "                    [--shard-tokens N] FILE...\n"
    "\n"
    "Tokenizes FILEs into DIR/train_NNNNNN.npy and DIR/val_NNNNNN.npy (flat <u4 token streams, the\n"
    "end-of-document token after every document), copies the tokenizer to DIR/tokenizer.json and\n"
    "writes DIR/meta.json last (token and document counts, unigram entropy, tokenizer BLAKE2b).\n"
    "Inside a file, documents are separated by a line holding the single byte 0x1E; a file without\n"
    "one is one document. Earlier shards and meta.json in DIR are removed first.\n"
    "\n"
    "  --val FILE        held-out text (repeatable); FILEs then all go to train\n"
    "  --val-every K     without --val: every K-th document goes to val (default 100; 0: none)\n"
    "  --shard-tokens N  tokens per shard file (default 100000000)\n";

typedef struct {
    const char *path;
    tp_split split;
} input;

/* ---------------------------------------------------------------- shard writer */

typedef struct {
    const char *dir;
    tp_split split;
    int64_t shard_tokens;
    tp_npy_stream *cur;
    int n_shards;
    uint64_t tokens, docs;
} split_writer;

static tp_status writer_append(split_writer *w, const uint32_t *ids, size_t n, tp_err *err) {
    tp_status st;
    while (n) {
        if (!w->cur) {
            char file[32], path[4200];
            snprintf(file, sizeof file, "%s_%06d.npy", tp_split_name(w->split), w->n_shards);
            if ((st = tp_path_join(path, sizeof path, w->dir, file, err)) ||
                (st = tp_npy_stream_open(path, TP_DT_U32, &w->cur, err)))
                return st;
        }
        uint64_t room = (uint64_t)(w->shard_tokens - tp_npy_stream_count(w->cur));
        size_t take = n < room ? n : (size_t)room;
        if ((st = tp_npy_stream_append(w->cur, ids, take, err))) return st;
        ids += take;
        n -= take;
        w->tokens += take;
        if (tp_npy_stream_count(w->cur) == w->shard_tokens) {
            st = tp_npy_stream_close(w->cur, err);
            w->cur = NULL;
            if (st) return st;
            w->n_shards++;
        }
    }
    return TP_OK;
}

static tp_status writer_finish(split_writer *w, tp_err *err) {
    if (!w->cur) return TP_OK;
    tp_status st = tp_npy_stream_close(w->cur, err);
    w->cur = NULL;
    if (!st) w->n_shards++;
    return st;
}

/* ---------------------------------------------------------------- input */

typedef struct {
    uint8_t *buf;
    size_t len;
    int doc_end;
    tp_split split;
    tp_tokens out;
    tp_status st;
    tp_err err;
} slot;

typedef struct {
    const input *inputs;
    int n_inputs, next;
    tp_docstream *d;
    int64_t val_every; /* > 0: assign documents by position; 0: by input */
    uint64_t doc_counter;
    int in_doc;
    tp_split split;
    uint64_t bytes_done; /* of closed files */
} reader;

static uint64_t reader_bytes(const reader *r) { return r->bytes_done + (r->d ? tp_docstream_consumed(r->d) : 0); }

/* Copies the next piece of input into s; *got = 0 at the end of the last file. */
static tp_status reader_next(reader *r, slot *s, int *got, tp_err *err) {
    *got = 0;
    for (;;) {
        tp_status st;
        if (!r->d) {
            if (r->next == r->n_inputs) return TP_OK;
            if ((st = tp_docstream_open(r->inputs[r->next].path, PIECE_BYTES, &r->d, err))) return st;
        }
        tp_doc_piece p;
        int g;
        if ((st = tp_docstream_next(r->d, &p, &g, err))) return st;
        if (!g) {
            r->bytes_done += tp_docstream_consumed(r->d);
            tp_docstream_close(r->d);
            r->d = NULL;
            r->next++;
            continue;
        }
        if (!r->in_doc) {
            if (r->val_every > 0)
                r->split = r->doc_counter % (uint64_t)r->val_every == (uint64_t)r->val_every - 1 ? TP_SPLIT_VAL
                                                                                                  : TP_SPLIT_TRAIN;
            else
                r->split = r->inputs[r->next].split;
            r->doc_counter++;
            r->in_doc = 1;
        }
        memcpy(s->buf, p.data, p.len);
        s->len = p.len;
        s->doc_end = p.doc_end;
        s->split = r->split;
        if (p.doc_end) r->in_doc = 0;
        *got = 1;
        return TP_OK;
    }
}

/* ---------------------------------------------------------------- encoding workers */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned generation; /* bumped per batch */
    int busy;            /* workers still on the current batch */
    int quit;
    atomic_int next;     /* next unclaimed slot */
    int n;
    slot *slots;
    tp_encoder **enc;
} pool;

typedef struct {
    pool *p;
    int id;
} worker_arg;

static void encode_claimed(pool *p, int id) {
    for (int i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) {
        slot *s = &p->slots[i];
        s->out.n = 0;
        s->st = tp_encoder_encode(p->enc[id], s->buf, s->len, &s->out, &s->err);
    }
}

static void *worker(void *arg) {
    worker_arg *wa = arg;
    pool *p = wa->p;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->generation == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        encode_claimed(p, wa->id);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Encodes slots[0..n) with the workers and the calling thread (encoder 0). */
static void pool_run(pool *p, int n_workers, int n) {
    pthread_mutex_lock(&p->mu);
    p->n = n;
    atomic_store(&p->next, 0);
    p->busy = n_workers;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    encode_claimed(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* ---------------------------------------------------------------- output directory */

static int is_shard_name(const char *n) {
    const char *rest = !strncmp(n, "train_", 6) ? n + 6 : !strncmp(n, "val_", 4) ? n + 4 : NULL;
    if (!rest) return 0;
    for (int i = 0; i < 6; i++)
        if (rest[i] < '0' || rest[i] > '9') return 0;
    return !strcmp(rest + 6, ".npy");
}

/* Removes meta.json first (so the directory reads as unfinished from here on), then old shards. */
static tp_status clear_outputs(const char *dir, tp_err *err) {
    char path[4200];
    tp_status st = tp_path_join(path, sizeof path, dir, "meta.json", err);
    if (st) return st;
    if (tp_path_exists(path) && unlink(path) != 0) return tp_fail(err, TP_ERR_IO, "cannot remove %s", path);
    DIR *d = opendir(dir);
    if (!d) return tp_fail(err, TP_ERR_IO, "cannot open directory %s", dir);
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (!is_shard_name(e->d_name)) continue;
        if (!(st = tp_path_join(path, sizeof path, dir, e->d_name, err)) && unlink(path) != 0)
            st = tp_fail(err, TP_ERR_IO, "cannot remove old shard %s", path);
    }
    closedir(d);
    return st;
}

static double unigram_entropy(const uint64_t *counts, int vocab, uint32_t eot) {
    uint64_t total = 0;
    for (int i = 0; i < vocab; i++)
        if ((uint32_t)i != eot) total += counts[i];
    double h = 0.0;
    for (int i = 0; i < vocab; i++) {
        if ((uint32_t)i == eot || !counts[i]) continue;
        double p = (double)counts[i] / (double)total;
        h -= p * log(p);
    }
    return h;
}

typedef struct {
    const char *tokenizer, *out;
    int64_t val_every, shard_tokens;
    input *inputs;
    int n_inputs, n_val;
} prep_args;

static tp_status write_meta(const prep_args *a, const split_writer w[2], int vocab, uint32_t eot, double entropy,
                            const char *digest, uint64_t bytes, tp_err *err) {
    json_t *train = json_array(), *val = json_array();
    for (int i = 0; i < a->n_inputs; i++)
        json_array_append_new(a->inputs[i].split == TP_SPLIT_VAL ? val : train, json_string(a->inputs[i].path));
    json_t *m = json_pack("{ss si si si sI sI si si sI sI sI sI sf ss ss sI sI s{so so}}", "format", TP_SHARDS_FORMAT,
                          "version", TP_SHARDS_VERSION, "vocab_size", vocab, "eot_token", (int)eot, "train_tokens",
                          (json_int_t)w[0].tokens, "val_tokens", (json_int_t)w[1].tokens, "train_shards", w[0].n_shards,
                          "val_shards", w[1].n_shards, "documents", (json_int_t)(w[0].docs + w[1].docs),
                          "train_documents", (json_int_t)w[0].docs, "val_documents", (json_int_t)w[1].docs,
                          "shard_tokens", (json_int_t)a->shard_tokens, "unigram_entropy", entropy,
                          "tokenizer_blake2b", digest, "tokenizer_file", "tokenizer.json", "source_bytes",
                          (json_int_t)bytes, "val_every", (json_int_t)(a->n_val ? 0 : a->val_every), "inputs",
                          "train", train, "val", val);
    if (!m) return tp_fail(err, TP_ERR_INTERNAL, "building meta.json failed");
    char *text = json_dumps(m, JSON_INDENT(2));
    json_decref(m);
    if (!text) return tp_fail(err, TP_ERR_NOMEM, "serialising meta.json failed");
    char path[4200];
    tp_status st = tp_path_join(path, sizeof path, a->out, "meta.json", err);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the final newline */
    if (!st) st = tp_write_file_atomic(path, text, len + 1, err);
    free(text);
    return st;
}

/* ---------------------------------------------------------------- the run */

/* The tokenizer and the bytes of its file: they are copied to DIR/tokenizer.json and hashed for meta.json. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    tp_tokenizer *tok;
    int vocab;
    uint32_t eot;
    char digest[65]; /* BLAKE2b-256 of bytes, hex */
} tok_file;

/* Everything one run owns; free_run releases it on every path. */
typedef struct {
    const prep_args *a;
    tok_file tf;
    int nth, nslots, n_workers;
    tp_encoder **enc; /* one per thread */
    slot *slots;
    uint64_t *counts; /* train token histogram, for the unigram entropy */
    pool pl;
    pthread_t threads[MAX_SLOTS];
    worker_arg args[MAX_SLOTS];
    split_writer w[2]; /* indexed by tp_split */
    reader r;
} prep_run;

static tp_status load_tokenizer(const char *path, tok_file *t, tp_err *err) {
    tp_status st = tp_read_file(path, TP_TOKENIZER_MAX_FILE, &t->bytes, &t->len, err);
    if (!st && (st = tp_tokenizer_load_mem(t->bytes, t->len, &t->tok, err))) tp_wrap(err, "%s", path);
    if (st) return st;
    t->vocab = tp_tokenizer_vocab_size(t->tok);
    t->eot = tp_tokenizer_eot(t->tok);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    unsigned char hash[32];
    crypto_generichash(hash, sizeof hash, t->bytes, t->len, NULL, 0);
    sodium_bin2hex(t->digest, sizeof t->digest, hash, sizeof hash);
    return TP_OK;
}

/* Opens every input once up front: a missing file fails before anything is written, and the sizes
 * give the progress bar its total. */
static tp_status total_input_bytes(const prep_args *a, uint64_t *total, tp_err *err) {
    *total = 0;
    for (int i = 0; i < a->n_inputs; i++) {
        tp_docstream *d;
        tp_status st = tp_docstream_open(a->inputs[i].path, PIECE_BYTES, &d, err);
        if (st) return st;
        *total += tp_docstream_size(d);
        tp_docstream_close(d);
    }
    return TP_OK;
}

static tp_status alloc_encoders(prep_run *p, tp_err *err) {
    p->nth = omp_get_max_threads(); /* honours OMP_NUM_THREADS like the rest of templar */
    if (p->nth > MAX_SLOTS / 4) p->nth = MAX_SLOTS / 4;
    p->nslots = p->nth * 4 < MAX_SLOTS ? p->nth * 4 : MAX_SLOTS;
    p->enc = tp_calloc((size_t)p->nth, sizeof *p->enc, err);
    p->slots = tp_calloc(MAX_SLOTS, sizeof *p->slots, err);
    p->counts = tp_calloc((size_t)p->tf.vocab, sizeof *p->counts, err);
    if (!p->enc || !p->slots || !p->counts) return TP_ERR_NOMEM;
    tp_status st = TP_OK;
    for (int i = 0; !st && i < p->nth; i++) st = tp_encoder_new(p->tf.tok, &p->enc[i], err);
    for (int i = 0; !st && i < p->nslots; i++)
        if (!(p->slots[i].buf = tp_malloc(PIECE_BYTES, err))) st = TP_ERR_NOMEM;
    p->pl.slots = p->slots;
    p->pl.enc = p->enc;
    return st;
}

/* Threads that fail to start are simply not used: the calling thread encodes too. */
static void start_workers(prep_run *p) {
    for (; p->n_workers < p->nth - 1; p->n_workers++) {
        p->args[p->n_workers] = (worker_arg){&p->pl, p->n_workers + 1};
        if (pthread_create(&p->threads[p->n_workers], NULL, worker, &p->args[p->n_workers]) != 0) break;
    }
}

static void stop_workers(prep_run *p) {
    pthread_mutex_lock(&p->pl.mu);
    p->pl.quit = 1;
    pthread_cond_broadcast(&p->pl.go);
    pthread_mutex_unlock(&p->pl.mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->threads[i], NULL);
}

/* Fills up to nslots slots with the next pieces of input; *more = 0 once the inputs are exhausted. */
static tp_status read_batch(prep_run *p, int *n, int *more, tp_err *err) {
    *n = 0;
    while (*n < p->nslots) {
        int got;
        tp_status st = reader_next(&p->r, &p->slots[*n], &got, err);
        if (st) return st;
        if (!got) {
            *more = 0;
            break;
        }
        (*n)++;
    }
    return TP_OK;
}

/* Appends the encoded slots[0..n) to their splits, in input order: the output does not depend on threads. */
static tp_status write_batch(prep_run *p, int n, tp_err *err) {
    tp_status st = TP_OK;
    for (int i = 0; !st && i < n; i++) {
        slot *s = &p->slots[i];
        split_writer *sw = &p->w[s->split];
        if (s->st) {
            *err = s->err;
            return s->st;
        }
        if (s->doc_end && !(st = tp_tokens_push(&s->out, p->tf.eot, err))) sw->docs++;
        if (!st) st = writer_append(sw, s->out.ids, s->out.n, err);
        if (s->split == TP_SPLIT_TRAIN)
            for (size_t k = 0; k < s->out.n; k++) p->counts[s->out.ids[k]]++;
    }
    return st;
}

/* Reads, encodes and writes every input, then closes the last shards; *dt is the time it took. */
static tp_status tokenize(prep_run *p, uint64_t total, double *dt, tp_err *err) {
    start_workers(p);
    tp_progress prog;
    double t0 = tp_now();
    tp_progress_start(&prog, "tokenizing", total, stderr);
    tp_status st = TP_OK;
    for (int more = 1; more && !st;) {
        int n;
        if ((st = read_batch(p, &n, &more, err))) break;
        pool_run(&p->pl, p->n_workers, n);
        st = write_batch(p, n, err);
        tp_progress_update(&prog, reader_bytes(&p->r));
    }
    stop_workers(p);
    if (!st) st = writer_finish(&p->w[0], err);
    if (!st) st = writer_finish(&p->w[1], err);
    if (!st) tp_progress_finish(&prog);
    *dt = tp_now() - t0;
    return st;
}

/* tokenizer.json, then meta.json last: a directory without meta.json is unfinished. */
static tp_status write_outputs(const prep_run *p, double entropy, uint64_t bytes, tp_err *err) {
    char path[4200];
    tp_status st = tp_path_join(path, sizeof path, p->a->out, "tokenizer.json", err);
    if (!st) st = tp_write_file_atomic(path, p->tf.bytes, p->tf.len, err);
    if (!st) st = write_meta(p->a, p->w, p->tf.vocab, p->tf.eot, entropy, p->tf.digest, bytes, err);
    return st;
}

static void print_summary(const prep_run *p, double entropy, uint64_t bytes, double dt) {
    const split_writer *w = p->w;
    printf("documents: %" PRIu64 " (train %" PRIu64 ", val %" PRIu64 ")\n", w[0].docs + w[1].docs, w[0].docs,
           w[1].docs);
    printf("tokens: train %" PRIu64 " in %d shard%s, val %" PRIu64 " in %d shard%s; %.3f bytes/token\n", w[0].tokens,
           w[0].n_shards, w[0].n_shards == 1 ? "" : "s", w[1].tokens, w[1].n_shards, w[1].n_shards == 1 ? "" : "s",
           w[0].tokens + w[1].tokens ? (double)bytes / (double)(w[0].tokens + w[1].tokens) : 0.0);
    printf("speed: %.1f MB in %.2f s (%.1f MB/s, %d threads)\n", (double)bytes / 1e6, dt,
           dt > 0 ? (double)bytes / 1e6 / dt : 0.0, p->n_workers + 1);
    printf("unigram entropy: %.4f nats (loss floor of a context-free model)\n", entropy);
    printf("wrote %s/meta.json\n", p->a->out);
}

/* Safe on a partly set up run: an unfinished shard is aborted, everything allocated is freed. */
static void free_run(prep_run *p) {
    if (p->r.d) tp_docstream_close(p->r.d);
    for (int k = 0; k < 2; k++)
        if (p->w[k].cur) tp_npy_stream_abort(p->w[k].cur);
    for (int i = 0; p->enc && i < p->nth; i++) tp_encoder_free(p->enc[i]);
    for (int i = 0; p->slots && i < MAX_SLOTS; i++) {
        free(p->slots[i].buf);
        tp_tokens_free(&p->slots[i].out);
    }
    free(p->enc);
    free(p->slots);
    free(p->counts);
    free(p->tf.bytes);
    tp_tokenizer_free(p->tf.tok);
}

static tp_status run(const prep_args *a, tp_err *err) {
    prep_run p = {
        .a = a,
        .pl = {.mu = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER},
        .w = {{a->out, TP_SPLIT_TRAIN, a->shard_tokens, NULL, 0, 0, 0},
              {a->out, TP_SPLIT_VAL, a->shard_tokens, NULL, 0, 0, 0}},
        .r = {a->inputs, a->n_inputs, 0, NULL, a->n_val ? 0 : a->val_every, 0, 0, TP_SPLIT_TRAIN, 0},
    };
    uint64_t total = 0;
    double dt = 0;
    tp_status st = load_tokenizer(a->tokenizer, &p.tf, err);
    if (!st) st = total_input_bytes(a, &total, err);
    if (!st) st = tp_mkdirs(a->out, err);
    if (!st) st = clear_outputs(a->out, err);
    if (!st) st = alloc_encoders(&p, err);
    if (!st) st = tokenize(&p, total, &dt, err);
    if (!st) {
        uint64_t bytes = reader_bytes(&p.r);
        double entropy = unigram_entropy(p.counts, p.tf.vocab, p.tf.eot);
        if (!(st = write_outputs(&p, entropy, bytes, err))) print_summary(&p, entropy, bytes, dt);
    }
    free_run(&p);
    return st;
}

int cmd_prep(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    static const struct option opts[] = {{"tokenizer", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"val", required_argument, 0, 'v'},
                                         {"val-every", required_argument, 0, 'k'},
                                         {"shard-tokens", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    prep_args a = {NULL, NULL, 100, 100000000, NULL, 0, 0};
    a.inputs = calloc((size_t)argc, sizeof *a.inputs);
    if (!a.inputs) return 1;
    int c, rc = 0;
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': a.tokenizer = optarg; break;
        case 'o': a.out = optarg; break;
        case 'v':
            a.inputs[a.n_inputs++] = (input){optarg, TP_SPLIT_VAL};
            a.n_val++;
            break;
        case 'k': rc = cli_parse_i64(CMD, "--val-every", optarg, 0, INT64_MAX, &a.val_every); break;
        case 's': rc = cli_parse_i64(CMD, "--shard-tokens", optarg, 1, INT64_C(1) << 40, &a.shard_tokens); break;
        default: rc = cli_usage(CMD, "unknown option");
        }
    }
    if (!rc && a.val_every == 1) rc = cli_usage(CMD, "--val-every 1 would leave nothing to train on");
    if (!rc && (!a.tokenizer || !a.out)) rc = cli_usage(CMD, "--tokenizer and --out are required");
    if (!rc && optind >= argc) rc = cli_usage(CMD, "no input FILEs");
    if (rc) {
        free(a.inputs);
        return rc;
    }
    for (int i = optind; i < argc; i++) a.inputs[a.n_inputs++] = (input){argv[i], TP_SPLIT_TRAIN};
    tp_err err;
    tp_status st = run(&a, &err);
    free(a.inputs);
    return st ? cli_fail(CMD, &err) : 0;
}
