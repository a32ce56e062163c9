#include "conformance.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

void conformance_path(char *out, size_t n, const char *name) {
    const char *dir = getenv("TEMPLAR_CONFORMANCE_DIR");
    const char *root = getenv("TEMPLAR_ROOT");
    if (dir && *dir) snprintf(out, n, "%s/%s", dir, name);
    else if (root && *root) snprintf(out, n, "%s/../shared/conformance/%s", root, name);
    else snprintf(out, n, "../shared/conformance/%s", name);
}

json_t *conformance_json(const char *name) {
    char path[4096];
    conformance_path(path, sizeof path, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s: %s (set TEMPLAR_CONFORMANCE_DIR)", path, je.text);
    return j;
}
