/* A container's /etc/hosts and /etc/resolv.conf, as podman writes them. */
#ifndef BERTH_NETNS_ETC_FILES_H
#define BERTH_NETNS_ETC_FILES_H

#include <stdbool.h>

#include "lib/error.h"

struct etc_hosts_opts {
    const char *hostname;       /* the container's hostname */
    const char *name;           /* the container's name */
    const char *ip;             /* the container's own address, or NULL */
    char **add_hosts;           /* --add-host HOST:IP (NULL-terminated) */
    const char *host_gateway;   /* address of host.containers.internal,
                                   NULL: no such entry */
    const char *base;           /* the host's /etc/hosts text for
                                   --network host, else NULL */
};

/* podman's order: localhost lines (unless base is given: then base),
 * --add-host entries, "IP HOSTNAME NAME" (ip or 127.0.1.1),
 * "HOST_GATEWAY host.containers.internal host.docker.internal".
 * --add-host values are checked: "HOST:IP" with IP an IPv4 or IPv6
 * address (or "host-gateway", replaced by host_gateway); anything else is
 * an error: invalid IP address in add-host: "X". */
int etc_hosts_render(const struct etc_hosts_opts *o, char **ret,
                     berth_error_t *err);

struct etc_resolv_opts {
    const char *host_resolv;  /* the host's resolv.conf text ("" if none) */
    char **dns;               /* --dns servers, replace the host's */
    char **dns_search;        /* --dns-search, replace the host's search;
                                 "." means none */
    char **dns_option;        /* --dns-option, replace the host's options */
    const char *slirp_dns;    /* slirp4netns's resolver (10.0.2.3): first
                                 nameserver when not --dns; NULL: none */
    bool keep_loopback;       /* --network host: loopback servers work */
};

/* The host's nameservers (minus 127.0.0.0/8 and ::1 ones, which do not
 * work from another network namespace; slirp_dns first when set; when
 * nothing remains, podman's fallback 8.8.8.8 and 8.8.4.4), search and
 * options lines, each replaced by the flags when given.  --dns values
 * must be IP addresses: error "X is not an ip address". */
int etc_resolv_render(const struct etc_resolv_opts *o, char **ret,
                      berth_error_t *err);

#endif
