/* templar export: a model directory in the formats other tools run. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "export/gguf.h"
#include "export/hf_dir.h"
#include "export/model_dir.h"

#define CMD "export gguf"
#define CMD_HF "export hf"

static const char usage_text[] =
    "usage: templar export hf --model DIR --out DIR [--tokenizer FILE] [--report FILE] [--name NAME]\n"
    "       templar export gguf --model DIR --out FILE.gguf [--type f16|f32] [--tokenizer FILE] [--name NAME]\n"
    "\n"
    "gguf writes the model in DIR (config.json + model.safetensors, e.g. a checkpoint of 'templar train') and\n"
    "its tokenizer as one GGUF file that llama.cpp runs: architecture \"llama\", byte-level BPE vocabulary\n"
    "(\"gpt2\") with the end-of-document token as <|endoftext|>, BOS and EOS. The file is written under a\n"
    "temporary name and renamed into place.\n"
    "  --type T          f16 (default, half the size: weight matrices rounded to f16, norm gains f32, as\n"
    "                    llama.cpp's own converter does) or f32 (the exact weights)\n"
    "  --tokenizer FILE  templar's tokenizer (default DIR/templar_tokenizer.json, or DIR/tokenizer.json\n"
    "                    when that is in templar's format); its vocabulary must be the model's\n"
    "  --name NAME       general.name in the file (default: the base name of DIR)\n"
    "\n"
    "hf writes a directory a Hugging Face user loads as it is (AutoModelForCausalLM, AutoTokenizer):\n"
    "model.safetensors, config.json, tokenizer.json, tokenizer_config.json, generation_config.json,\n"
    "templar_tokenizer.json and a model card (README.md). --out is replaced atomically.\n"
    "  --report FILE     a localnet's report.json: the card states its tokens, windows, miners,\n"
    "                    validators and final held-out loss\n"
    "  --name NAME       the card's title (default: the base name of --out)\n";

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

typedef struct {
    const char *model, *out, *tokenizer, *report, *name;
} hf_args;

static int parse_hf(int argc, char **argv, hf_args *a) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},  {"out", required_argument, 0, 'o'},
                                         {"report", required_argument, 0, 'r'}, {"tokenizer", required_argument, 0, 'z'},
                                         {"name", required_argument, 0, 'n'},   {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (hf_args){0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'o': a->out = optarg; break;
        case 'r': a->report = optarg; break;
        case 'z': a->tokenizer = optarg; break;
        case 'n': a->name = optarg; break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return cli_usage(CMD_HF, "unknown option");
        }
    }
    if (optind < argc) return cli_usage(CMD_HF, "unexpected argument '%s'", argv[optind]);
    if (!a->model || !a->out) return cli_usage(CMD_HF, "--model and --out are required");
    return 0;
}

static int json_int_or(json_t *root, const char *key, int unknown) {
    json_t *v = json_object_get(root, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : unknown;
}

/* The training facts of a localnet report (report is kept alive by the caller: facts->config points
 * into it). The held-out loss is the last window's that has one. */
static tp_status read_report(const char *path, json_t **report, tp_train_facts *facts, tp_err *err) {
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    if (!r) return tp_fail(err, TP_ERR_FORMAT, "--report %s: %s (line %d)", path, je.text, je.line);
    json_t *tokens = json_object_get(r, "tokens_trained"), *windows = json_object_get(r, "windows");
    if (!json_is_object(r) || !json_is_number(tokens) || !json_is_array(windows)) {
        json_decref(r);
        return tp_fail(err, TP_ERR_FORMAT, "--report %s is not a localnet report (no tokens_trained or windows)", path);
    }
    facts->tokens = json_number_value(tokens);
    facts->config = json_string_value(json_object_get(r, "config"));
    facts->windows = json_int_or(r, "window_count", -1);
    facts->miners = json_int_or(r, "miners", -1);
    facts->validators = json_int_or(r, "validators", -1);
    for (size_t i = json_array_size(windows); i-- > 0;) {
        json_t *loss = json_object_get(json_array_get(windows, i), "heldout_loss");
        if (json_is_number(loss)) {
            facts->heldout_loss = json_number_value(loss);
            break;
        }
    }
    *report = r;
    return TP_OK;
}

static int export_hf(int argc, char **argv) {
    hf_args a;
    int rc = parse_hf(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    char name[256], tok_path[4200];
    base_name(a.out, name, sizeof name);
    tp_train_facts facts = TP_TRAIN_FACTS_UNKNOWN;
    facts.name = a.name ? a.name : name;
    tp_err err = {0};
    tp_llama *m = NULL;
    tp_tokenizer *tok = NULL;
    json_t *report = NULL;
    tp_status st = a.report ? read_report(a.report, &report, &facts, &err) : TP_OK;
    if (!st) st = tp_export_open_model(a.model, a.tokenizer, &m, &tok, &err);
    tp_tokenizer_free(tok);
    tok = NULL;
    /* The same lookup again for the path: the checkpoint files copy templar's file as it is. */
    if (!st) st = tp_export_load_tokenizer(a.model, a.tokenizer, &tok, tok_path, sizeof tok_path, &err);
    if (!st) st = tp_export_hf_dir(a.out, m, tok_path, &facts, &err);
    if (st) rc = cli_fail(CMD_HF, &err);
    else printf("wrote %s: model.safetensors, config.json, the tokenizer files and README.md (%zu parameters)\n", a.out,
                m->layout.total);
    tp_tokenizer_free(tok);
    tp_llama_free(m);
    json_decref(report);
    return rc;
}

int cmd_export(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "gguf")) return export_gguf(argc - 1, argv + 1);
    if (!strcmp(argv[1], "hf")) return export_hf(argc - 1, argv + 1);
    return cli_usage("export", "unknown format '%s' (known: hf, gguf)", argv[1]);
}
