#include "substrate_test_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/hex.h"

const char *sub_root(void) {
    const char *r = getenv("TEMPLAR_ROOT");
    cr_assert(r && *r, "TEMPLAR_ROOT is not set (run the tests through make)");
    return r;
}

uint8_t *sub_read_fixture(const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/substrate/data/%s", sub_root(), name);
    uint8_t *b;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1 << 26, &b, len, &err), TP_OK, "%s", err.msg);
    return b;
}

tp_metadata *sub_load_metadata(const char *name) {
    size_t len;
    uint8_t *b = sub_read_fixture(name, &len);
    tp_metadata *md;
    tp_err err;
    cr_assert_eq(tp_metadata_parse(b, len, &md, &err), TP_OK, "%s: %s", name, err.msg);
    free(b); /* names must point into the parsed copy, not the input */
    return md;
}

json_t *sub_json(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    cr_assert_not_null(j, "bad JSON in the test: %s (%s)", text, e.text);
    return j;
}

char *sub_hex0x(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 3);
    s[0] = '0';
    s[1] = 'x';
    tp_hex(p, n, s + 2);
    return s;
}

/* value_ref.mjs takes the requests as a file, its second argument. */
static void write_requests(const json_t *requests, char *path) {
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(json_dump_file(requests, path, JSON_COMPACT), 0);
}

/* Every line of the output, without its newline. */
static json_t *read_lines(FILE *p) {
    json_t *lines = json_array();
    char line[65536];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        json_array_append_new(lines, json_string(line));
    }
    return lines;
}

json_t *sub_polkadot(const char *md_name, const json_t *requests) {
    char req_path[] = "/tmp/tp-value-ref-XXXXXX";
    write_requests(requests, req_path);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node '%s/tests/substrate/value_ref.mjs' '%s/tests/substrate/data/%s' '%s' 2>&1",
             sub_root(), sub_root(), md_name, req_path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run node");
    json_t *lines = read_lines(p);
    int rc = pclose(p);
    unlink(req_path);
    const char *first = json_array_size(lines) ? json_string_value(json_array_get(lines, 0)) : "(no output)";
    cr_assert(rc == 0 && json_array_size(lines) == json_array_size(requests),
              "value_ref.mjs failed (exit status %d): %s\nIt needs Node 20 on PATH and @polkadot/api in tools/ "
              "(run scripts/install-deps).", rc, first);
    return lines;
}
