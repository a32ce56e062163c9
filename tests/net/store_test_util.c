#include "store_test_util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fileio.h"

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void spawn(test_server *s, char *const argv[]) {
    pid_t parent = getpid();
    s->pid = fork();
    cr_assert(s->pid >= 0, "fork failed");
    if (s->pid == 0) {
        /* Die with the test process, even if it crashes before stopping us. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        /* s3rver makes continuation tokens with DES, which OpenSSL 3 only has in its legacy
         * provider; without it every listing past one page fails with HTTP 500. */
        setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    double t0 = tp_now();
    while (!port_open(s->port)) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            cr_assert_fail("%s exited before listening (status %d)", argv[0], status);
        }
        if (tp_now() - t0 > 30) {
            server_stop(s, 1);
            cr_assert_fail("%s did not listen on port %d within 30 s", argv[0], s->port);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void s3rver_start(test_server *s, const char *bucket) {
    memset(s, 0, sizeof *s);
    const char *root = getenv("TEMPLAR_ROOT");
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/tools/node_modules/.bin/s3rver", root ? root : ".");
    cr_assert(access(bin, X_OK) == 0, "%s is missing: run scripts/install-deps", bin);
    store_tmpdir(s->dir, sizeof s->dir);
    s->port = free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(s->uri, sizeof s->uri, "s3+http://127.0.0.1:%d/%s", s->port, bucket);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    char *argv[] = {bin, "--directory", s->dir, "--address", "127.0.0.1", "--port", port, "--silent",
                    "--configure-bucket", (char *)bucket, NULL};
    spawn(s, argv);
}

void sigv4_start(test_server *s, const char *bucket, const char *access, const char *secret, const char *token) {
    memset(s, 0, sizeof *s);
    const char *root = getenv("TEMPLAR_ROOT");
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/net/sigv4_server.py", root ? root : ".");
    s->port = free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(s->uri, sizeof s->uri, "s3+http://127.0.0.1:%d/%s", s->port, bucket);
    char *argv[] = {"/usr/bin/python3", script, port, (char *)access, (char *)secret, (char *)token, NULL};
    spawn(s, argv);
}

void server_stop(test_server *s, int hard) {
    if (s->pid > 0) {
        kill(s->pid, hard ? SIGKILL : SIGTERM);
        int status;
        while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
        }
        s->pid = 0;
    }
    if (s->dir[0]) {
        tp_err err;
        tp_remove_tree(s->dir, &err);
        s->dir[0] = 0;
    }
}

void store_tmpdir(char *out, size_t n) {
    snprintf(out, n, "/tmp/templar-store-XXXXXX");
    cr_assert(mkdtemp(out), "mkdtemp failed");
}

void fill_bytes(uint8_t *p, size_t n, uint32_t seed) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

int count_files_containing(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (strstr(e->d_name, needle)) count++;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode)) count += count_files_containing(child, needle);
    }
    closedir(d);
    return count;
}

void write_test_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}
