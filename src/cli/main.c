/* templar: decentralized, incentive-driven pre-training of LLaMA-style models. One binary; the first
 * argument names the command. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a model on token shards (checkpoints, resume, held-out loss)"},
    {"grad", cmd_grad, "loss and every gradient of a model on given tokens (parity checks)"},
    {"generate", cmd_generate, "sample text from a model"},
    {"eval", cmd_eval, "held-out loss of a model on evenly spread val samples (one evaluator for all)"},
    {"export", cmd_export, "export a model for other tools: a Hugging Face directory, GGUF (llama.cpp)"},
    {"tokenizer", cmd_tokenizer, "train a byte-level BPE tokenizer; encode and decode text"},
    {"prep", cmd_prep, "tokenize text files into train/val .npy shards"},
    {"compress", cmd_compress, "the signed SparseLoCo update message for before - after"},
    {"inspect", cmd_inspect, "validate an update message and print its contents"},
    {"apply", cmd_apply, "aggregate update messages and apply the outer step to a model"},
    {"bench", cmd_bench, "benchmarks (bench codec)"},
    {"wallet", cmd_wallet, "create or show a wallet (btcli layout; sr25519 or ed25519 keys)"},
    {"store", cmd_store, "object storage (file:// or S3): put, get, ls, rm, head"},
    {"miner", cmd_miner, "train the shared model in a network: upload, gather, outer step (DESIGN 11)"},
    {"validator", cmd_validator, "evaluate and rate miners, set weights; the leader publishes (DESIGN 12)"},
    {"chain", cmd_chain, "the chain (local ledger or Subtensor): register, stake, commit, set-weights, metagraph"},
    {"subnet", cmd_subnet, "Subtensor test networks: create a subnet, set hyperparameters, fund keys"},
    {"localnet", cmd_localnet, "a whole network on this machine: K windows, faults, a report"},
    {"testbed", cmd_testbed, "a network across hosts (network namespaces) over shaped links (root)"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: templar COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'templar COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        /* libcurl's global state is set up once per process, before any thread or handle. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "templar: libcurl failed to initialise\n");
            return 1;
        }
        int rc = commands[i].run(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "templar: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
