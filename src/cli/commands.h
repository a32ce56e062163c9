/* The templar subcommands: one file per command, each `int cmd_NAME(int argc, char **argv)` that
 * parses its own options (argv[0] is the command name), handles --help, and returns the exit status:
 * 0 success, 1 failure (message already printed), 2 usage error. */
#ifndef TP_CLI_COMMANDS_H
#define TP_CLI_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_grad(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_prep(int argc, char **argv);
int cmd_wallet(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_chain(int argc, char **argv);
int cmd_subnet(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_localnet(int argc, char **argv);
int cmd_testbed(int argc, char **argv);
int cmd_bench_links(int argc, char **argv);
int cmd_miner(int argc, char **argv);
int cmd_validator(int argc, char **argv);

#endif
