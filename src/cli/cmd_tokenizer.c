/* templar tokenizer: trains a byte-level BPE tokenizer on text files (documents separated by a line
 * holding the byte 0x1E, as for prep), encodes or decodes text with one, for debugging, and exports
 * one as Hugging Face files. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "data/docstream.h"
#include "data/tokenizer.h"
#include "export/hf_tokenizer.h"
#include "export/model_dir.h"

#define CMD "tokenizer"
#define PIECE_BYTES ((size_t)1 << 20)
#define STDIN_MAX ((size_t)1 << 30)

static const char usage_text[] =
    "usage: templar tokenizer train --vocab N --out TOKENIZER.json FILE...\n"
    "       templar tokenizer encode --tokenizer TOKENIZER.json [TEXT...]\n"
    "       templar tokenizer decode --tokenizer TOKENIZER.json [ID...]\n"
    "       templar tokenizer export --hf --tokenizer TOKENIZER.json --out DIR [--seq-len N]\n"
    "\n"
    "train   learns N-257 byte-level BPE merges from FILEs (ids 0-255 are bytes, N-1 is the\n"
    "        end-of-document token) and writes the tokenizer JSON atomically. Documents inside a file\n"
    "        are separated by a line holding the single byte 0x1E; merges never cross documents.\n"
    "encode  prints the token ids of TEXT (the arguments joined by spaces), or of standard input.\n"
    "decode  writes the bytes of the ids (arguments, or whitespace-separated on standard input) to\n"
    "        standard output; the end-of-document token is written as the separator \"\\n\\x1e\\n\".\n"
    "export  writes the tokenizer for Hugging Face into DIR: tokenizer.json (the tokenizers format; the\n"
    "        end-of-document token is \"<|endoftext|>\"), tokenizer_config.json, generation_config.json,\n"
    "        and templar's own file beside them as templar_tokenizer.json, as in a checkpoint.\n"
    "        --seq-len N is the model's context, written as model_max_length.\n";

static int help(int argc, char **argv) {
    if (!cli_wants_help(argc, argv)) return 0;
    fputs(usage_text, stdout);
    return 1;
}

typedef struct {
    int tty;
    double t0;
} merge_progress;

static void on_merges(void *ctx, int done, int total) {
    merge_progress *mp = ctx;
    if (!mp->tty) return;
    double dt = tp_now() - mp->t0;
    fprintf(stderr, "\rlearning merges [%d/%d] %.0f merges/s\033[K", done, total, dt > 0 ? done / dt : 0.0);
    if (done == total) fputc('\n', stderr);
}

static int cmd_train_tok(int argc, char **argv) {
    static const struct option opts[] = {{"vocab", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    int64_t vocab = 0;
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            if (cli_parse_i64(CMD, "--vocab", optarg, TP_TOKENIZER_MIN_VOCAB, TP_TOKENIZER_MAX_VOCAB, &vocab))
                return 2;
            break;
        case 'o': out = optarg; break;
        default: return cli_usage(CMD, "unknown option");
        }
    }
    if (!vocab || !out) return cli_usage(CMD, "train needs --vocab and --out");
    if (optind >= argc) return cli_usage(CMD, "train needs at least one text FILE");
    if (vocab % 64)
        fprintf(stderr, "templar %s: note: vocab %" PRId64 " is not a multiple of 64; model dimensions chunk best"
                " when it is\n", CMD, vocab);

    tp_err err;
    tp_bpe_trainer *tr = NULL;
    tp_status st = tp_bpe_trainer_new(&tr, &err);
    uint64_t total = 0, done = 0, docs = 0;
    for (int i = optind; !st && i < argc; i++) {
        tp_docstream *d;
        if (!(st = tp_docstream_open(argv[i], PIECE_BYTES, &d, &err))) {
            total += tp_docstream_size(d);
            tp_docstream_close(d);
        }
    }
    double t0 = tp_now();
    tp_progress prog;
    if (!st) tp_progress_start(&prog, "counting chunks", total, stderr);
    for (int i = optind; !st && i < argc; i++) {
        tp_docstream *d;
        if ((st = tp_docstream_open(argv[i], PIECE_BYTES, &d, &err))) break;
        tp_doc_piece p;
        int got;
        while (!(st = tp_docstream_next(d, &p, &got, &err)) && got) {
            if ((st = tp_bpe_trainer_add(tr, p.data, p.len, &err))) break;
            docs += (uint64_t)p.doc_end;
            tp_progress_update(&prog, done + tp_docstream_consumed(d));
        }
        done += tp_docstream_consumed(d);
        tp_docstream_close(d);
    }
    if (!st) tp_progress_finish(&prog);
    double t1 = tp_now();
    tp_tokenizer *tok = NULL;
    merge_progress mp = {isatty(STDERR_FILENO), t1};
    if (!st) {
        fprintf(stderr, "counted %" PRIu64 " distinct chunks in %" PRIu64 " documents (%.1f MB) in %.2f s\n",
                tp_bpe_trainer_unique_chunks(tr), docs, (double)done / 1e6, t1 - t0);
        st = tp_bpe_trainer_finish(tr, (int)vocab, on_merges, &mp, &tok, &err);
    }
    double t2 = tp_now();
    tp_bpe_trainer_free(tr);
    if (!st) st = tp_tokenizer_save(tok, out, &err);
    if (st) {
        tp_tokenizer_free(tok);
        return cli_fail(CMD, &err);
    }
    int merges = tp_tokenizer_num_merges(tok);
    printf("learned %d merges in %.2f s (%.0f merges/s); total %.2f s\n", merges, t2 - t1,
           t2 > t1 ? merges / (t2 - t1) : 0.0, t2 - t0);
    printf("vocab %d (bytes 0-255, merges 256-%d, end-of-document %u) -> %s\n", tp_tokenizer_vocab_size(tok),
           255 + merges, tp_tokenizer_eot(tok), out);
    tp_tokenizer_free(tok);
    return 0;
}

/* Parses "--tokenizer PATH" and loads it; returns 0 with *tok set, or an exit status. */
static int load_tokenizer_opt(int argc, char **argv, tp_tokenizer **tok) {
    static const struct option opts[] = {{"tokenizer", required_argument, 0, 't'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 't') return cli_usage(CMD, "unknown option");
        path = optarg;
    }
    if (!path) return cli_usage(CMD, "--tokenizer is required");
    tp_err err;
    if (tp_tokenizer_load(path, tok, &err)) return cli_fail(CMD, &err);
    return 0;
}

static tp_status read_stdin(uint8_t **out, size_t *len, tp_err *err) {
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = tp_malloc(cap + 1, err);
    if (!buf) return TP_ERR_NOMEM;
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= STDIN_MAX) {
                free(buf);
                return tp_fail(err, TP_ERR_ARG, "standard input is larger than %zu bytes", STDIN_MAX);
            }
            uint8_t *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                return tp_fail(err, TP_ERR_NOMEM, "out of memory reading standard input");
            }
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return TP_OK;
}

static int cmd_encode(int argc, char **argv) {
    tp_tokenizer *tok;
    int rc = load_tokenizer_opt(argc, argv, &tok);
    if (rc) return rc;
    tp_err err;
    uint8_t *text = NULL;
    size_t len = 0;
    tp_status st = TP_OK;
    if (optind < argc) { /* arguments joined by single spaces */
        for (int i = optind; i < argc; i++) len += strlen(argv[i]) + 1;
        text = tp_malloc(len, &err);
        if (!text) st = TP_ERR_NOMEM;
        for (int i = optind, at = 0; text && i < argc; i++) {
            size_t l = strlen(argv[i]);
            memcpy(text + at, argv[i], l);
            at += (int)l;
            text[at++] = ' ';
        }
        len--;
    } else {
        st = read_stdin(&text, &len, &err);
    }
    uint32_t *ids = NULL;
    size_t n = 0;
    if (!st) st = tp_tokenizer_encode(tok, text, len, &ids, &n, &err);
    if (!st) {
        for (size_t i = 0; i < n; i++) printf(i ? " %" PRIu32 : "%" PRIu32, ids[i]);
        printf("\n");
    }
    free(ids);
    free(text);
    tp_tokenizer_free(tok);
    return st ? cli_fail(CMD, &err) : 0;
}

static int parse_id(const char *s, uint32_t *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || v > UINT32_MAX || *s == '-') return -1;
    *out = (uint32_t)v;
    return 0;
}

static int cmd_decode(int argc, char **argv) {
    tp_tokenizer *tok;
    int rc = load_tokenizer_opt(argc, argv, &tok);
    if (rc) return rc;
    tp_err err;
    tp_tokens ids = {0};
    tp_status st = TP_OK;
    uint8_t *in = NULL;
    if (optind < argc) {
        for (int i = optind; !st && i < argc; i++) {
            uint32_t v;
            if (parse_id(argv[i], &v)) st = tp_fail(&err, TP_ERR_ARG, "'%s' is not a token id", argv[i]);
            else st = tp_tokens_push(&ids, v, &err);
        }
    } else {
        size_t len;
        st = read_stdin(&in, &len, &err);
        for (char *save = NULL, *w = st ? NULL : strtok_r((char *)in, " \t\r\n,", &save); !st && w;
             w = strtok_r(NULL, " \t\r\n,", &save)) {
            uint32_t v;
            if (parse_id(w, &v)) st = tp_fail(&err, TP_ERR_ARG, "'%.40s' is not a token id", w);
            else st = tp_tokens_push(&ids, v, &err);
        }
    }
    uint32_t eot = tp_tokenizer_eot(tok);
    size_t from = 0;
    for (size_t i = 0; !st && i <= ids.n; i++) { /* decode runs between EOTs, writing separators for EOTs */
        if (i < ids.n && ids.ids[i] != eot) continue;
        uint8_t *bytes;
        size_t blen;
        if ((st = tp_tokenizer_decode(tok, ids.ids + from, i - from, &bytes, &blen, &err))) break;
        fwrite(bytes, 1, blen, stdout);
        free(bytes);
        if (i < ids.n) fputs("\n\x1e\n", stdout);
        from = i + 1;
    }
    free(in);
    tp_tokens_free(&ids);
    tp_tokenizer_free(tok);
    if (fflush(stdout) != 0 && !st) st = tp_fail(&err, TP_ERR_IO, "writing standard output failed");
    return st ? cli_fail(CMD, &err) : 0;
}

static int cmd_export_tok(int argc, char **argv) {
    static const struct option opts[] = {{"hf", no_argument, 0, 'H'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"seq-len", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *out = NULL;
    int64_t seq_len = 0;
    int hf = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'H': hf = 1; break;
        case 't': path = optarg; break;
        case 'o': out = optarg; break;
        case 's':
            if (cli_parse_i64(CMD, "--seq-len", optarg, 1, INT32_MAX, &seq_len)) return 2;
            break;
        default: return cli_usage(CMD, "unknown option");
        }
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!hf) return cli_usage(CMD, "export needs --hf (Hugging Face is the format it writes)");
    if (!path || !out) return cli_usage(CMD, "export needs --tokenizer and --out");
    tp_err err;
    tp_tokenizer *tok;
    if (tp_tokenizer_load(path, &tok, &err)) return cli_fail(CMD, &err);
    char own[4200];
    /* The Hugging Face files first: a tokenizer they cannot hold leaves DIR untouched. */
    tp_status st = tp_hf_tokenizer_write(tok, (int)seq_len, out, &err);
    if (!st) st = tp_path_join(own, sizeof own, out, TP_EXPORT_TOKENIZER_FILE, &err);
    if (!st) st = tp_tokenizer_save(tok, own, &err);
    if (!st)
        printf("wrote %s/tokenizer.json, tokenizer_config.json and generation_config.json (Hugging Face; vocab %d, "
               "end-of-document \"%s\" = %u) and %s\n",
               out, tp_tokenizer_vocab_size(tok), TP_HF_EOT_TOKEN, tp_tokenizer_eot(tok), own);
    tp_tokenizer_free(tok);
    return st ? cli_fail(CMD, &err) : 0;
}

int cmd_tokenizer(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (help(argc - 1, argv + 1)) return 0;
    if (!strcmp(argv[1], "train")) return cmd_train_tok(argc - 1, argv + 1);
    if (!strcmp(argv[1], "encode")) return cmd_encode(argc - 1, argv + 1);
    if (!strcmp(argv[1], "decode")) return cmd_decode(argc - 1, argv + 1);
    if (!strcmp(argv[1], "export")) return cmd_export_tok(argc - 1, argv + 1);
    return cli_usage(CMD, "unknown subcommand '%s' (train, encode, decode or export)", argv[1]);
}
