/* Helpers for the store tests: local servers (s3rver, the SigV4 checker) started on a free
 * loopback port in a temporary directory and stopped after, plus small file utilities. */
#ifndef TP_TESTS_STORE_UTIL_H
#define TP_TESTS_STORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[256]; /* its data directory (s3rver) */
    char uri[256]; /* s3+http://127.0.0.1:PORT/BUCKET */
} test_server;

/* s3rver from tools/node_modules (scripts/install-deps) with bucket created, credentials
 * S3RVER/S3RVER exported to the environment. Fails the test if it does not come up. */
void s3rver_start(test_server *s, const char *bucket);
/* tests/net/sigv4_server.py: checks every request's signature against these credentials. */
void sigv4_start(test_server *s, const char *bucket, const char *access, const char *secret, const char *token);
/* SIGTERM (or SIGKILL if hard), wait, and remove its directory. Safe to call twice. */
void server_stop(test_server *s, int hard);

/* A fresh temporary directory. */
void store_tmpdir(char *out, size_t n);
/* Deterministic pseudo-random bytes. */
void fill_bytes(uint8_t *p, size_t n, uint32_t seed);
/* Number of directory entries (excluding . and ..) whose name contains needle, recursively. */
int count_files_containing(const char *dir, const char *needle);
/* Writes a whole file or fails the test. */
void write_test_file(const char *path, const void *data, size_t n);

#endif
