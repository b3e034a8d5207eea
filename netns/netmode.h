/* --network: which network namespace a container gets. */
#ifndef BERTH_NETNS_NETMODE_H
#define BERTH_NETNS_NETMODE_H

#include <stdbool.h>

#include "lib/error.h"

enum net_kind {
    NET_NONE,  /* a namespace of its own with only loopback */
    NET_HOST,  /* the host's namespace */
    NET_SLIRP, /* its own namespace, slirp4netns for the way out */
    NET_CONTAINER, /* another container's namespace (target: its name) */
    NET_NS,        /* a namespace file (target: its path) */
    NET_BRIDGE,    /* container networks (target: NAME[,NAME...]) */
};

struct net_mode {
    enum net_kind kind;
    /* slirp4netns, podman's options (slirp4netns:OPT=V,...) */
    bool allow_host_loopback, enable_ipv6;
    int mtu;
    char cidr[32];                     /* "10.0.2.0/24" */
    char ip[16], gateway[16], dns[16]; /* from cidr: .100, .2, .3 */
    char target[4096];                 /* container:NAME, ns:PATH */
};

/* The default when --network is not given. */
#define NET_DEFAULT "slirp4netns"

/* "none", "host", "private" (= the default), "container:NAME|ID",
 * "ns:PATH" (absolute), NAME[,NAME...] of networks (`network create`),
 * "slirp4netns[:OPTS]" where
 * OPTS are allow_host_loopback=BOOL, enable_ipv6=BOOL, mtu=N, cidr=CIDR
 * (IPv4, prefix 8..25), port_handler=slirp4netns.  Errors name the value. */
int net_mode_parse(const char *value, struct net_mode *m, berth_error_t *err);

/* slirp4netns's options for this mode (NULL-terminated, strv): --configure,
 * --mtu, --cidr, --disable-host-loopback, --enable-ipv6, --enable-sandbox,
 * --enable-seccomp. */
char **net_mode_slirp_args(const struct net_mode *m);

#endif
