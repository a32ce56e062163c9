/* libFuzzer target for the value codec on a real registry (Subtensor spec 143): the first two bytes
 * pick a type, the rest is decoded as a value of it. Decoding is bounded and refuses with
 * TP_ERR_FORMAT; a value it accepts encodes back to exactly the bytes it read (so the JSON form
 * loses nothing and the codec has one encoding per value). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "substrate/metadata.h"
#include "substrate/value.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXTURE "tests/substrate/data/metadata-143-v14.bin"

static tp_metadata *g_md; /* loaded once; read-only after */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *root = getenv("TEMPLAR_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s%s" FIXTURE, root ? root : "", root ? "/" : "");
    uint8_t *b;
    size_t n;
    tp_err err;
    if (tp_read_file(path, 1u << 26, &b, &n, &err) || tp_metadata_parse(b, n, &g_md, &err)) {
        fprintf(stderr, "fuzz_scale_value: %s (run from the repository root or set TEMPLAR_ROOT)\n", err.msg);
        abort();
    }
    free(b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint32_t ty = (uint32_t)(data[0] | data[1] << 8) % g_md->n_types;
    size_t n = size - 2;
    uint8_t *buf = malloc(n ? n : 1); /* exactly n bytes, so an over-read is caught */
    if (!buf) return 0;
    if (n) memcpy(buf, data + 2, n);
    tp_scale_reader r;
    tp_scale_reader_init(&r, buf, n);
    json_t *v = NULL;
    tp_err err;
    if (tp_value_decode(g_md, ty, &r, &v, &err) == TP_OK) {
        tp_scale_buf out;
        tp_scale_buf_init(&out);
        tp_status st = tp_value_encode(g_md, ty, v, &out, &err);
        if (st == TP_OK && (out.len != r.pos || (r.pos && memcmp(out.data, buf, r.pos)))) abort();
        if (st != TP_OK && st != TP_ERR_NOMEM) {
            fprintf(stderr, "type %u: decoded but does not encode: %s\n", ty, err.msg);
            abort();
        }
        tp_scale_buf_free(&out);
        json_decref(v);
    } else if (v || (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM)) {
        abort();
    }
    free(buf);
    return 0;
}
