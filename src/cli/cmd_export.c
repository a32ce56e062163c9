/* templar export: a model directory in the formats other tools run. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "export/gguf.h"
#include "export/model_dir.h"

#define CMD "export gguf"

static const char usage_text[] =
    "usage: templar export gguf --model DIR --out FILE.gguf [--type f16|f32] [--tokenizer FILE] [--name NAME]\n"
    "\n"
    "Writes the model in DIR (config.json + model.safetensors, e.g. a checkpoint of 'templar train') and\n"
    "its tokenizer as one GGUF file that llama.cpp runs: architecture \"llama\", byte-level BPE vocabulary\n"
    "(\"gpt2\") with the end-of-document token as <|endoftext|>, BOS and EOS. The file is written under a\n"
    "temporary name and renamed into place.\n"
    "  --type T          f16 (default, half the size: weight matrices rounded to f16, norm gains f32, as\n"
    "                    llama.cpp's own converter does) or f32 (the exact weights)\n"
    "  --tokenizer FILE  templar's tokenizer (default DIR/templar_tokenizer.json, or DIR/tokenizer.json\n"
    "                    when that is in templar's format); its vocabulary must be the model's\n"
    "  --name NAME       general.name in the file (default: the base name of DIR)\n";

typedef struct {
    const char *model, *out, *tokenizer, *name;
    tp_gguf_type type;
} gguf_args;

static int parse_gguf(int argc, char **argv, gguf_args *a) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"out", required_argument, 0, 'o'},
                                         {"type", required_argument, 0, 't'},  {"tokenizer", required_argument, 0, 'z'},
                                         {"name", required_argument, 0, 'n'},  {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (gguf_args){.type = TP_GGUF_F16};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'o': a->out = optarg; break;
        case 'z': a->tokenizer = optarg; break;
        case 'n': a->name = optarg; break;
        case 't':
            if (!strcmp(optarg, "f16")) a->type = TP_GGUF_F16;
            else if (!strcmp(optarg, "f32")) a->type = TP_GGUF_F32;
            else return cli_usage(CMD, "--type must be f16 or f32, not '%s'", optarg);
            break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return cli_usage(CMD, "unknown option");
        }
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->model || !a->out) return cli_usage(CMD, "--model and --out are required");
    return 0;
}

/* The last component of a directory path, trailing slashes ignored. */
static void base_name(const char *path, char *out, size_t n) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    snprintf(out, n, "%.*s", (int)(len - start), path + start);
}

static int export_gguf(int argc, char **argv) {
    gguf_args a;
    int rc = parse_gguf(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    char name[256];
    if (!a.name) {
        base_name(a.model, name, sizeof name);
        a.name = name;
    }
    tp_err err = {0};
    tp_llama *m = NULL;
    tp_tokenizer *tok = NULL;
    tp_gguf_options opt = {.type = a.type, .name = a.name};
    if (tp_export_open_model(a.model, a.tokenizer, &m, &tok, &err) || tp_gguf_write(a.out, m, tok, &opt, &err)) {
        rc = cli_fail(CMD, &err);
    } else {
        struct stat sb;
        double mb = stat(a.out, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
        printf("wrote %s: %d tensors, %s, vocabulary %d, %.1f MB\n", a.out, m->layout.n_tensors,
               a.type == TP_GGUF_F16 ? "f16" : "f32", m->cfg.vocab_size, mb);
    }
    tp_llama_free(m);
    tp_tokenizer_free(tok);
    return rc;
}

int cmd_export(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "gguf")) return export_gguf(argc - 1, argv + 1);
    return cli_usage("export", "unknown format '%s' (known: gguf)", argv[1]);
}
