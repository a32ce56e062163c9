/* Object key names in a node's bucket (DESIGN §9). Keys come back from listings of buckets other
 * nodes control, so parsing is strict: exactly one spelling per key, anything else is rejected. */
#ifndef TP_NEURON_KEYS_H
#define TP_NEURON_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_VERSION_MAX 63 /* run version: 1..63 of [A-Za-z0-9._-] */
#define TP_KEY_FILE_MAX 63 /* a file name inside a checkpoint directory, same alphabet */
#define TP_KEY_MAX 256     /* enough for every key this module formats, with the NUL */

typedef enum {
    TP_KEY_GRADIENT = 0,      /* gradient-{W}-{uid}-v{V}.st */
    TP_KEY_DEBUG,             /* debug-{W}-{uid}-v{V}.json */
    TP_KEY_AGGREGATOR,        /* aggregator-{W}-v{V}.st */
    TP_KEY_PEERS,             /* peers-{W}-v{V}.json */
    TP_KEY_START_WINDOW,      /* start_window-v{V}.json */
    TP_KEY_CHECKPOINT,        /* checkpoints/v{V}/{W}/ or checkpoints/v{V}/{W}/{file} */
    TP_KEY_CHECKPOINT_LATEST, /* checkpoints/v{V}/LATEST.json */
} tp_key_kind;

typedef struct {
    tp_key_kind kind;
    uint64_t window;                 /* all but START_WINDOW and CHECKPOINT_LATEST */
    uint32_t uid;                    /* GRADIENT and DEBUG */
    char version[TP_VERSION_MAX + 1];
    char file[TP_KEY_FILE_MAX + 1];  /* CHECKPOINT only; "" for the directory prefix itself */
} tp_key;

/* True when v is a valid run version string. */
bool tp_version_valid(const char *v);

/* Writes the key's name into out (cap bytes). Fails on an invalid version or file name, or when out
 * is too small. */
tp_status tp_key_format(const tp_key *k, char *out, size_t cap, tp_err *err);

/* Parses an untrusted key name. TP_ERR_FORMAT, with the reason, for anything that is not exactly one
 * of the forms above (leading zeros, signs, overflow, bad characters, trailing bytes, ...). */
tp_status tp_key_parse(const char *s, tp_key *out, tp_err *err);

#endif
