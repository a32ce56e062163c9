/* The hidden `templar chain bench-yuma` (bench/yuma.sh): the time of one Yuma epoch. */
#ifndef TP_CLI_CHAIN_BENCH_H
#define TP_CLI_CHAIN_BENCH_H

int chain_bench_yuma(int argc, char **argv);

#endif
