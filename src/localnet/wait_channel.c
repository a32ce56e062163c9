#include "localnet/wait_channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ln_wait_fd_from_env(void) {
    const char *s = getenv(LN_WAIT_FD_ENV);
    if (!s || !*s) return -1;
    char *end;
    long fd = strtol(s, &end, 10);
    return *end || fd < 0 || fd > 1024 ? -1 : (int)fd;
}

void ln_wait_announce(int fd, int64_t block) {
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)block);
    /* One short write: atomic on a pipe (below PIPE_BUF), so lines never interleave. */
    ssize_t ignored = write(fd, line, (size_t)n);
    (void)ignored;
}

void ln_wait_reader_init(ln_wait_reader *r, int fd) {
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->block = -1;
}

void ln_wait_reader_close(ln_wait_reader *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

/* Takes the complete lines out of the buffer. */
static void parse_lines(ln_wait_reader *r) {
    char *nl;
    while ((nl = memchr(r->buf, '\n', r->fill))) {
        *nl = 0;
        char *end;
        long long b = strtoll(r->buf, &end, 10);
        if (end != r->buf && !*end && b >= 0) r->block = b;
        size_t used = (size_t)(nl + 1 - r->buf);
        memmove(r->buf, nl + 1, r->fill - used);
        r->fill -= used;
    }
    if (r->fill == sizeof r->buf) r->fill = 0; /* an overlong line: not ours, drop it */
}

int ln_wait_reader_drain(ln_wait_reader *r) {
    while (r->fd >= 0) {
        ssize_t got = read(r->fd, r->buf + r->fill, sizeof r->buf - r->fill);
        if (got > 0) {
            r->fill += (size_t)got;
            parse_lines(r);
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        ln_wait_reader_close(r); /* EOF or an error: the writer is gone */
        return -1;
    }
    return -1;
}
