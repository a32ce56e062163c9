/* Whole-file I/O. Writes go to a temporary name in the same directory and
 * are renamed into place, so a crash never leaves a half-written file under the real name. */
#ifndef TP_CORE_FILEIO_H
#define TP_CORE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* Reads a whole file, refusing files larger than max_bytes. *out is NUL-terminated (not counted). */
tp_status tp_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len, tp_err *err);

/* fsyncs the directory holding path, so a rename or link into it survives a crash (best effort). */
void tp_fsync_dir_of(const char *path);
/* Atomic write: path.tmp.PID then fsync and rename. */
tp_status tp_write_file_atomic(const char *path, const void *data, size_t len, tp_err *err);

/* Streaming atomic writer: open a temporary file, write, then commit (fsync + rename) or abort. */
typedef struct {
    FILE *f;
    char path[4096];
    char tmp[4200];
} tp_atomic_file;

tp_status tp_atomic_open(tp_atomic_file *af, const char *path, tp_err *err);
tp_status tp_atomic_write(tp_atomic_file *af, const void *data, size_t len, tp_err *err);
tp_status tp_atomic_commit(tp_atomic_file *af, tp_err *err);
void tp_atomic_abort(tp_atomic_file *af);

/* mkdir -p. */
tp_status tp_mkdirs(const char *path, tp_err *err);
/* Atomically replaces directory dst with src (a sibling directory already written and fsynced):
 * dst is moved aside, src renamed to dst, the old one removed. */
tp_status tp_replace_dir(const char *src, const char *dst, tp_err *err);
tp_status tp_remove_tree(const char *path, tp_err *err);
int tp_path_exists(const char *path);
int tp_path_is_dir(const char *path);
/* Joins a and b with '/', into out (size n). Fails if it does not fit. */
tp_status tp_path_join(char *out, size_t n, const char *a, const char *b, tp_err *err);

#endif
