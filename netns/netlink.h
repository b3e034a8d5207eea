/* Just enough rtnetlink for container networks: bridges, veth pairs
 * across network namespaces, addresses, routes.  Every call works in the
 * calling thread's current network namespace (the caller setns()es) and
 * needs CAP_NET_ADMIN there.  Errors name the device and the kernel's
 * errno text, e.g. `create bridge bn-12345678: Operation not permitted`. */
#ifndef BERTH_NETNS_NETLINK_H
#define BERTH_NETNS_NETLINK_H

#include <stdbool.h>

#include "lib/error.h"

/* A bridge NAME, up.  An existing bridge of that name is fine. */
int nl_bridge_ensure(const char *name, berth_error_t *err);

/* A veth pair: NAME here, PEER created directly in the network namespace
 * of peer_netns_fd (an open /proc/PID/ns/net or nsfs file), named
 * PEER_NAME there.  Neither end is up yet. */
int nl_veth_create(const char *name, const char *peer_name, int peer_netns_fd,
                   berth_error_t *err);

/* Attach device NAME to bridge BRIDGE (IFLA_MASTER). */
int nl_link_set_master(const char *name, const char *bridge,
                       berth_error_t *err);
/* Set device NAME up (IFF_UP). */
int nl_link_up(const char *name, berth_error_t *err);
/* Delete device NAME; a missing device is not an error. */
int nl_link_delete(const char *name, berth_error_t *err);
/* Whether device NAME exists here. */
bool nl_link_exists(const char *name);

/* Add IPv4 address ADDR/PREFIX to device NAME (an existing identical
 * address is fine). */
int nl_addr_add(const char *name, const char *addr, int prefix,
                berth_error_t *err);
/* Default route via GATEWAY (IPv4) on device NAME. */
int nl_route_add_default(const char *name, const char *gateway,
                         berth_error_t *err);

#endif
