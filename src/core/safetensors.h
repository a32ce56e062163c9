/* safetensors container: 8-byte little-endian header length, JSON header, then raw tensor data.
 * The parser treats its input as hostile: every offset and shape is checked against the buffer. */
#ifndef TP_CORE_SAFETENSORS_H
#define TP_CORE_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/npy.h"

#define TP_ST_MAX_DIMS 8
#define TP_ST_MAX_HEADER (100u << 20)

typedef struct {
    char *name;
    tp_dtype dtype;
    int ndim;
    int64_t shape[TP_ST_MAX_DIMS];
    int64_t count;
    const uint8_t *data;
    size_t nbytes;
} tp_st_tensor;

typedef struct {
    tp_st_tensor *tensors; /* sorted by data offset */
    int n;
    json_t *metadata;      /* the "__metadata__" object (string → string), or NULL */
    const uint8_t *data;   /* start of the data section */
    size_t data_len;
} tp_st;

/* Parses buf (not copied: tensors point into it). max_tensors bounds the header's tensor count. */
tp_status tp_st_parse(const uint8_t *buf, size_t len, int max_tensors, tp_st *out, tp_err *err);
void tp_st_free(tp_st *st);
const tp_st_tensor *tp_st_find(const tp_st *st, const char *name);
const char *tp_st_meta(const tp_st *st, const char *key); /* NULL if absent */

/* File loader: reads (bounded by max_bytes) and parses; owns the bytes. */
typedef struct {
    tp_st st;
    uint8_t *bytes;
    size_t len;
} tp_st_file;
tp_status tp_st_load(const char *path, size_t max_bytes, int max_tensors, tp_st_file *out, tp_err *err);
void tp_st_file_free(tp_st_file *f);

/* Writer: tensors are laid out in the order added; metadata keys are sorted, so the same inputs give
 * the same bytes. Data pointers must stay valid until tp_st_write_* returns. */
typedef struct tp_st_writer tp_st_writer;
tp_st_writer *tp_st_writer_new(tp_err *err);
tp_status tp_st_add(tp_st_writer *w, const char *name, tp_dtype dt, int ndim, const int64_t *shape,
                    const void *data, tp_err *err);
tp_status tp_st_set_meta(tp_st_writer *w, const char *key, const char *value, tp_err *err);
tp_status tp_st_write_file(tp_st_writer *w, const char *path, tp_err *err); /* atomic */
tp_status tp_st_write_mem(tp_st_writer *w, uint8_t **out, size_t *len, tp_err *err);
void tp_st_writer_free(tp_st_writer *w);

#endif
