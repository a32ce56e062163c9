/* templar store put|get|head|ls|rm|gather, run as a user would, against file:// and s3rver. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "store_test_util.h"

static void cli_contract(const char *uri, const char *tmp) {
    char src[512], out[512], *o;
    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *data = malloc(n);
    fill_bytes(data, n, 9);
    snprintf(src, sizeof src, "%s/src.bin", tmp);
    write_test_file(src, data, n);
    free(data);

    cr_assert_eq(cli_run(&o, "store put %s k/a %s", uri, src), 0, "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store put %s 'k/b c' < %s", uri, src), 0, "put from stdin: %s", o);
    free(o);
    snprintf(out, sizeof out, "%s/out.bin", tmp);
    cr_assert_eq(cli_run(&o, "store get %s k/a %s", uri, out), 0, "%s", o);
    free(o);
    cr_assert(cli_same_file(src, out), "get FILE differs from what was put");
    char out2[600];
    snprintf(out2, sizeof out2, "%s/out2.bin", tmp);
    cr_assert_eq(cli_run(&o, "store get %s 'k/b c' > %s", uri, out2), 0, "%s", o);
    free(o);
    cr_assert(cli_same_file(src, out2), "get to stdout differs from what was put through stdin");

    cr_assert_eq(cli_run(&o, "store head %s k/a", uri), 0, "%s", o);
    cr_assert(strstr(o, "size 3145745"), "%s", o);
    cr_assert(strstr(o, "last_modified 20"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store ls %s k/", uri), 0, "%s", o);
    cr_assert(strstr(o, "3145745") && strstr(o, "k/a\n") && strstr(o, "k/b c\n"), "%s", o);
    free(o);

    /* too big: refused, nothing written */
    char big[600];
    snprintf(big, sizeof big, "%s/big.out", tmp);
    cr_assert_eq(cli_run(&o, "store get %s k/a %s --max-bytes 1000", uri, big), 1, "%s", o);
    cr_assert(strstr(o, "limit"), "%s", o);
    free(o);
    struct stat sb;
    cr_assert_neq(stat(big, &sb), 0, "a refused get left a file");

    /* gather: one present, one missing */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/gathered", tmp);
    cr_assert_eq(cli_run(&o, "store gather %s k/a missing-key --out %s --timeout 20", uri, dir), 1, "%s", o);
    cr_assert(strstr(o, "OK") && strstr(o, "NOT_FOUND") && strstr(o, "missing-key"), "%s", o);
    cr_assert(strstr(o, "gathered 1/2 objects"), "%s", o);
    free(o);
    char got[700];
    snprintf(got, sizeof got, "%s/k/a", dir);
    cr_assert(cli_same_file(src, got));

    cr_assert_eq(cli_run(&o, "store rm %s k/a", uri), 0, "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store get %s k/a %s/again", uri, tmp), 1, "%s", o);
    cr_assert(strstr(o, "k/a") && (strstr(o, "not found") || strstr(o, "NoSuchKey")), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store head %s k/a", uri), 1, "%s", o);
    free(o);
}

Test(store_cli, file_backend) {
    char tmp[256], uri[512];
    store_tmpdir(tmp, sizeof tmp);
    snprintf(uri, sizeof uri, "file://%s/bucket", tmp);
    cli_contract(uri, tmp);
    tp_err err;
    tp_remove_tree(tmp, &err);
}

Test(store_cli, s3rver, .timeout = 120) {
    test_server srv;
    s3rver_start(&srv, "cli-bucket");
    char tmp[256];
    store_tmpdir(tmp, sizeof tmp);
    cli_contract(srv.uri, tmp);
    server_stop(&srv, 0);
    tp_err err;
    tp_remove_tree(tmp, &err);
}

Test(store_cli, usage_and_bad_input) {
    char *o;
    cr_assert_eq(cli_run(&o, "store --help"), 0);
    cr_assert(strstr(o, "usage: templar store put URI KEY [FILE]"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store get --help"), 0);
    cr_assert(strstr(o, "--max-bytes"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store"), 2);
    free(o);
    cr_assert_eq(cli_run(&o, "store frob file:///tmp/x"), 2, "%s", o);
    cr_assert(strstr(o, "unknown subcommand 'frob'"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store get file:///tmp/x"), 2, "%s", o);
    cr_assert(strstr(o, "get expects URI KEY [FILE]"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store ls ftp://example.com/bucket"), 1, "%s", o);
    cr_assert(strstr(o, "'ftp://example.com/bucket'"), "the message must name the URI: %s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store ls s3+https://example.com/UPPER"), 1, "%s", o);
    cr_assert(strstr(o, "UPPER"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store get file:///tmp/x ../etc/passwd"), 1, "%s", o);
    cr_assert(strstr(o, "'..'"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store get file:///tmp/x k --max-bytes lots"), 2, "%s", o);
    cr_assert(strstr(o, "--max-bytes"), "%s", o);
    free(o);
    cr_assert_eq(cli_run(&o, "store ls file:///tmp/x --secret-key abc"), 2, "%s", o);
    cr_assert(strstr(o, "unknown option --secret-key"), "%s", o);
    free(o);
}
