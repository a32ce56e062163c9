/* The codec benchmark behind `templar bench codec` (issue 3): on the tensor set of a model config,
 * with synthetic Gaussian pseudo-gradients, it times
 *   compress:   error feedback + top-k + quantisation + wire encoding (hash and signature included),
 *   decompress: validating and decoding one payload, then dense reconstruction of every tensor,
 *   aggregate:  validating and decoding 8 peers' payloads, aggregation and the outer step,
 * each as the best of reps runs, in millions of parameters per second, with the thread count the
 * workspace uses (OpenMP's default: set OMP_NUM_THREADS). It needs about 4 float copies of the
 * model in memory. */
#ifndef TP_CODEC_BENCH_H
#define TP_CODEC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "codec/sparse.h"
#include "core/error.h"
#include "model/config.h"

#define TP_BENCH_PEERS 8

typedef struct {
    double compress_mparam_s, decompress_mparam_s, aggregate8_mparam_s, bytes_per_param;
    double compress_s, decompress_s, aggregate8_s; /* best seconds per run */
    int64_t params;
    size_t payload_bytes;
    int threads, reps;
} tp_codec_bench_result;

/* reps >= 1. progress, if not NULL, is called with a short label before each phase. */
tp_status tp_codec_bench(const tp_model_config *m, const tp_codec_params *p, int reps, tp_codec_bench_result *out,
                         void (*progress)(const char *phase, void *ctx), void *ctx, tp_err *err);

#endif
