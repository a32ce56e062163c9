/* Key listings: a growable array of entries, shared by both backends and the S3 listing parser
 * (kept apart so the parser and its fuzz target need nothing else of the store). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "net/store_internal.h"

tp_status tp_store_list_add(tp_store_list *l, const char *key, size_t key_len, uint64_t size, double mtime,
                            tp_err *err) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        tp_store_entry *v = tp_realloc(l->v, cap * sizeof *v, err);
        if (!v) return tp_fail(err, TP_ERR_NOMEM, "out of memory listing %zu keys", cap);
        l->v = v;
        l->cap = cap;
    }
    char *k = tp_malloc(key_len + 1, err);
    if (!k) return tp_fail(err, TP_ERR_NOMEM, "out of memory listing keys");
    memcpy(k, key, key_len);
    k[key_len] = 0;
    l->v[l->n++] = (tp_store_entry){k, size, mtime};
    return TP_OK;
}

void tp_store_list_free(tp_store_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].key);
    free(l->v);
    memset(l, 0, sizeof *l);
}
