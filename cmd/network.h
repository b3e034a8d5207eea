/* Container networks (`network create`, `run --network NAME`).
 *
 * Every network is a bridge inside one shared network namespace, held by
 * a hidden container (NETNS_HOLDER, berth-init --pause) whose slirp4netns
 * is the way out (nftables masquerade from the networks' subnets to its
 * tap0).  No daemon: the first container that needs the namespace starts
 * the holder, the removal of the last one removes it.  A container on
 * networks has a network namespace of its own and enters the holder's
 * user namespace (rootless: the holder owns the namespaces both sides of
 * the veth live in); its monitor runs `berth net-setup` after each create
 * to plug a veth per network into the bridges.  Containers find each
 * other by name through /etc/hosts, kept up to date by berth. */
#ifndef BERTH_CMD_NETWORK_H
#define BERTH_CMD_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"

struct store;

#define NETNS_HOLDER "berth-netns"
/* root's default network: bridge berth0, 10.88.0.0/16, as podman's */
#define NETWORK_DEFAULT "berth"

/* Root (not in a user namespace): networks in the host's namespace. */
bool network_rootful(void);
/* The network a container gets without --network: root's default
 * network (created on first use), or NULL (slirp4netns) for a user. */
int network_default(struct store *s, const char **ret, berth_error_t *err);
/* The monitor's hook after each exit: a container's published ports leave
 * the DNAT rules (root). */

/* The holder's pid, starting (and first creating) it when needed. */
int network_holder_pid(struct store *s, pid_t *ret, berth_error_t *err);
/* Remove the holder when no container is on a network any more. */
void network_holder_release(struct store *s);

/* At create: the networks named in `names` (NAME[,NAME...]) must exist;
 * the container gets an address on each (options.networks, options.ips)
 * and the /etc/hosts of everyone on them is brought up to date. */
int network_attach_new(struct store *s, json_t **rec, const char *names,
                       berth_error_t *err);
/* Rewrite every networked container's /etc/hosts block of the others on
 * its networks. */
void network_hosts_refresh(struct store *s);
/* system reset: every network goes, with its bridge (root). */
void network_remove_all(struct store *s);
/* At rm: its addresses go back, the others' /etc/hosts forget it. */
void network_detach_all(struct store *s, json_t *rec);

#endif
