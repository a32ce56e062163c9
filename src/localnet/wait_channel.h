/* The lockstep clock's channel from a neuron to the localnet driver. Each time a neuron has nothing
 * to do before chain block B it writes "B\n" to a pipe the driver handed it (as file descriptor
 * LN_WAIT_FD, named by the environment variable LN_WAIT_FD_ENV); the driver advances the clock once
 * every live neuron waits for a later block than the current one. A neuron that is busy has not
 * announced anything beyond the current block; a restarted neuron gets a new pipe, so nothing old is
 * ever read as new. The chain knows nothing of this. */
#ifndef TP_LOCALNET_WAIT_CHANNEL_H
#define TP_LOCALNET_WAIT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#define LN_WAIT_FD_ENV "TEMPLAR_WAIT_FD"
#define LN_WAIT_FD 3

/* ---- the neuron's side */
/* The channel's descriptor from the environment, or -1 when the process runs outside a lockstep
 * localnet. */
int ln_wait_fd_from_env(void);
/* Announces block b on fd. A failure is ignored: a driver that is gone waits for nobody. */
void ln_wait_announce(int fd, int64_t block);

/* ---- the driver's side */
typedef struct {
    int fd;        /* read end, non-blocking; -1 when closed */
    int64_t block; /* the latest block announced; -1 none */
    char buf[64];  /* a partial line */
    size_t fill;
} ln_wait_reader;

void ln_wait_reader_init(ln_wait_reader *r, int fd);
/* Reads every complete line available. Returns 0, or -1 once the writer is gone (the fd is then
 * closed). Malformed lines are ignored. */
int ln_wait_reader_drain(ln_wait_reader *r);
void ln_wait_reader_close(ln_wait_reader *r);

#endif
