/* libFuzzer target for the S3 XML parsers (ListObjectsV2 pages, error documents, ISO times): the
 * bytes come from any S3 endpoint a peer commits to. Accepted listings must hold sane entries;
 * rejections must be format errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy of exactly `size` bytes, so a read one past the end is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    tp_store_list l = {0};
    int truncated = 0;
    char token[TP_S3_TOKEN_MAX];
    tp_err err;
    if (tp_s3_parse_list(buf, size, &l, &truncated, token, &err) == TP_OK) {
        for (size_t i = 0; i < l.n; i++) {
            size_t k = strlen(l.v[i].key);
            if (k == 0 || k > TP_STORE_KEY_MAX || l.v[i].mtime < 0) abort();
        }
        if (truncated && (!token[0] || strlen(token) >= TP_S3_TOKEN_MAX)) abort();
    } else if (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM) {
        abort();
    }
    tp_store_list_free(&l);
    char code[64], msg[256];
    if (tp_s3_parse_error(buf, size, code, sizeof code, msg, sizeof msg) == TP_OK) {
        for (const char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) abort(); /* only printable ASCII escapes */
        if (!code[0]) abort();
    }
    double t;
    if (tp_s3_parse_iso_time(buf, size, &t) == 0 && !(t >= 0)) abort();
    free(buf);
    return 0;
}
