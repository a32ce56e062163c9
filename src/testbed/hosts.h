/* Hosts of a testbed: each one a Linux network namespace with its own address on a private bridge,
 * so the processes in it share nothing with the others but that network. Made and removed with
 * iproute2 (`ip`), which needs root (CAP_NET_ADMIN).
 *
 * Layout: bridge tb<PID>-br in the root namespace with 10.<O>.0.1/16 (the operator's side: the
 * process that made the testbed reaches every host through it); host k (0-based) is the namespace
 * templar-<PID>-<name> whose eth0 has 10.<O>.<(k+2)/256>.<(k+2)%256>/16 and is one end of a veth
 * pair; the other end, tb<PID>b<k>, is on the bridge. The second octet O is one that no address of
 * this machine uses. No default route: a host reaches the bridge's subnet and its own loopback only.
 * PID (hex) is the process that made the testbed, so what a killed run left behind is recognised
 * and swept by the next one. */
#ifndef TP_TESTBED_HOSTS_H
#define TP_TESTBED_HOSTS_H

#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define TB_NAME_MAX 32
#define TB_ADDR_MAX 48 /* room for any int in a dotted quad; real ones have at most 15 characters */
#define TB_IF_MAX 32 /* names are kept within IFNAMSIZ (16) by construction: tb + 6 hex digits + b999 */
#define TB_NS_MAX 64
#define TB_HOSTS_MAX 1000

typedef struct {
    char name[TB_NAME_MAX];   /* miner-1, validator-1, chain, s3 */
    char ns[TB_NS_MAX];       /* the namespace's name (under /run/netns) */
    char addr[TB_ADDR_MAX];   /* its IPv4 address, dotted */
    uint32_t addr_be;         /* the same, network byte order */
    char dev_br[TB_IF_MAX];   /* its link's end on the bridge (root namespace) */
    int ns_fd;                /* /run/netns/<ns>, open; -1 before it exists */
    int link_up;              /* 0 while partitioned */
} tb_host;

typedef struct {
    unsigned tag;                /* the PID in the names */
    char bridge[TB_IF_MAX];
    char bridge_addr[TB_ADDR_MAX];
    int octet;                   /* the subnet is 10.<octet>.0.0/16 */
    char log[4096];              /* ip's and tc's output is appended here; "" discards it */
    tb_host *hosts;              /* owned */
    int n;
    int bridge_made;
} tb_hosts;

/* Whether this process may make hosts: root, `ip` and `tc` (iproute2) present. The error says what
 * is missing and is permanent. */
tp_status tb_check_privilege(tp_err *err);

/* Makes n hosts named names[0..n-1] (distinct; [A-Za-z0-9-], at most 20 characters) and the bridge.
 * Sweeps first what killed testbeds left behind. On failure removes what it made. log: where the
 * commands' output goes ("" or NULL: nowhere). h is filled; free it with tb_hosts_destroy. */
tp_status tb_hosts_create(tb_hosts *h, const char *const *names, int n, const char *log, tp_err *err);

/* Removes every namespace and the bridge (processes still in a namespace keep it alive until they
 * exit, but lose their link) and frees h. Safe on a zeroed or half-made h. */
void tb_hosts_destroy(tb_hosts *h);

/* The host named name, or NULL. */
tb_host *tb_host_find(const tb_hosts *h, const char *name);

/* Removes namespaces templar-<PID>-* and bridges tb<PID>-br whose PID no longer runs. */
void tb_hosts_sweep(const char *log);

/* Runs argv (argv[0] looked up on PATH) with its output appended to log ("" or NULL: discarded) and
 * waits; a nonzero exit is an error quoting the command. Used for ip and tc. */
tp_status tb_command(const char *log, char *const argv[], tp_err *err);

#endif
