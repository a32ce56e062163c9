/* NumPy .npy files (format 1.0/2.0/3.0, C order, little-endian). Parsing never reads outside the
 * given buffer and rejects anything it does not fully understand. */
#ifndef TP_CORE_NPY_H
#define TP_CORE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { TP_DT_U8, TP_DT_I32, TP_DT_U32, TP_DT_I64, TP_DT_F32, TP_DT_F64, TP_DT_COUNT } tp_dtype;

size_t tp_dtype_size(tp_dtype dt);
const char *tp_dtype_npy(tp_dtype dt); /* "<u4" etc. */

#define TP_NPY_MAX_DIMS 8

typedef struct {
    tp_dtype dtype;
    int ndim;
    int64_t shape[TP_NPY_MAX_DIMS];
    int64_t count;        /* product of shape */
    const uint8_t *data;  /* points into the parsed buffer */
    size_t header_len;    /* bytes before data */
} tp_npy;

/* Parses an in-memory .npy image. The data must be exactly count * itemsize bytes. */
tp_status tp_npy_parse(const uint8_t *buf, size_t len, tp_npy *out, tp_err *err);

/* A read-only memory map of a .npy file: constant memory for any size. */
typedef struct {
    tp_npy npy;
    void *map;
    size_t map_len;
} tp_npy_map;

tp_status tp_npy_map_open(const char *path, tp_npy_map *m, tp_err *err);
void tp_npy_map_close(tp_npy_map *m);

/* Writes a whole array atomically. */
tp_status tp_npy_write(const char *path, tp_dtype dt, int ndim, const int64_t *shape, const void *data,
                       tp_err *err);

/* Streaming writer for 1-D arrays of unknown final length (token shards): writes a fixed-size header
 * placeholder, appends, then patches the length and renames into place on close. */
typedef struct tp_npy_stream tp_npy_stream;
tp_status tp_npy_stream_open(const char *path, tp_dtype dt, tp_npy_stream **out, tp_err *err);
tp_status tp_npy_stream_append(tp_npy_stream *s, const void *data, size_t count, tp_err *err);
int64_t tp_npy_stream_count(const tp_npy_stream *s);
tp_status tp_npy_stream_close(tp_npy_stream *s, tp_err *err); /* commits; frees s */
void tp_npy_stream_abort(tp_npy_stream *s);                   /* removes temp; frees s */

#endif
