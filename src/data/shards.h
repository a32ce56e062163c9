/* Token shards written by `templar prep`: DIR/train_NNNNNN.npy and DIR/val_NNNNNN.npy (flat `<u4`
 * token streams), DIR/meta.json (written last, so its absence marks an unfinished prep) and
 * DIR/tokenizer.json. Shards are memory-mapped: constant memory for any data size.
 *
 * Sample i of length seq is tokens [i·seq, (i+1)·seq) of the concatenation of a split's shards, except
 * that samples never span two shards (each shard's tail shorter than seq is skipped). */
#ifndef TP_DATA_SHARDS_H
#define TP_DATA_SHARDS_H

#include <stdint.h>

#include "core/error.h"

#define TP_SHARDS_FORMAT "templar-shards"
#define TP_SHARDS_VERSION 1
#define TP_SHARDS_META_MAX ((size_t)1 << 20)

typedef enum { TP_SPLIT_TRAIN = 0, TP_SPLIT_VAL = 1 } tp_split;

typedef struct tp_shards tp_shards;

/* Opens DIR, checking meta.json, every shard's header (1-D `<u4`), that shard counts and token totals
 * match meta.json, and that DIR/tokenizer.json (if present) has the digest recorded there. */
tp_status tp_shards_open(const char *dir, tp_shards **out, tp_err *err);
void tp_shards_close(tp_shards *s);

const char *tp_split_name(tp_split split); /* "train" / "val" */
int tp_shards_vocab_size(const tp_shards *s);
int tp_shards_eot(const tp_shards *s);
/* Entropy (nats) of the train-token unigram distribution without EOT: the loss of a context-free model. */
double tp_shards_unigram_entropy(const tp_shards *s);
const char *tp_shards_tokenizer_digest(const tp_shards *s); /* BLAKE2b-256 hex of tokenizer.json */
int tp_shards_num_files(const tp_shards *s, tp_split split);
uint64_t tp_shards_num_tokens(const tp_shards *s, tp_split split);
/* 0 if seq < 1. */
uint64_t tp_shards_num_samples(const tp_shards *s, tp_split split, int seq);

/* Copies sample i into out[0..seq). A token >= vocab_size (a corrupt shard) is an error naming the
 * shard and position; nothing is read outside the mapped shard. */
tp_status tp_shards_read_sample(const tp_shards *s, tp_split split, int seq, uint64_t i, int32_t *out, tp_err *err);
tp_status tp_shards_read_sample_u32(const tp_shards *s, tp_split split, int seq, uint64_t i, uint32_t *out,
                                    tp_err *err);

#endif
