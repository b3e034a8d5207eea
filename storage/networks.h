/* Network records and their address allocation (IPAM), one file per
 * network, no global database.
 *
 *   ROOT/networks/NAME.json        the record (below), written atomically;
 *                                  created with O_EXCL semantics (a taken
 *                                  name fails)
 *   ROOT/networks/NAME.ips/IP      one file per allocated address; its
 *                                  content is the container id.  Created
 *                                  with O_EXCL: two containers never get
 *                                  one address
 *
 * Record fields (JSON), as podman's `network inspect` names them where
 * it can:
 *   name, id (64 hex, random), driver "bridge", created (RFC 3339),
 *   subnet "10.89.1.0/24", gateway "10.89.1.1", internal (bool),
 *   labels {}, bridge: the bridge device name, "bn-" + the first 8 hex
 *   of the id (at most 15 characters, as the kernel requires).
 */
#ifndef BERTH_STORAGE_NETWORKS_H
#define BERTH_STORAGE_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"
#include "storage/store.h"

struct network_opts {
    const char *name;    /* NULL: podman's default naming "berthN" with the
                            lowest free N >= 1 */
    const char *subnet;  /* IPv4 CIDR, prefix 8..30, or NULL: the first
                            10.89.N.0/24 (N = 1..255) no other network
                            uses */
    const char *gateway; /* NULL: the subnet's first address */
    bool internal;
    json_t *labels;      /* borrowed, may be NULL */
    const char *bridge;  /* the bridge's name, NULL: "bn-" + 8 hex of the
                            id (root's default network: "berth0") */
};

/* Errors, podman's wording:
 *   name taken:  `network name NAME already used: network already exists`
 *                (errnum EEXIST)
 *   bad name:    `invalid network name "X": names must match
 *                [a-zA-Z0-9][a-zA-Z0-9_.-]*` (EINVAL)
 *   bad subnet:  `invalid subnet "X": ...` naming the problem
 *   subnet overlapping another network's: `subnet X is already used on
 *                the host or by another config` (as podman says it)
 *   gateway outside the subnet, or the network or broadcast address:
 *                `gateway G is not in subnet S` */
int networks_create(struct store *s, const struct network_opts *o,
                    json_t **ret, berth_error_t *err);
/* By name or full id or unique id prefix.  Missing: `unable to find
 * network with name or ID X: network not found` (errnum ENOENT). */
int networks_lookup(struct store *s, const char *name_or_id, json_t **ret,
                    berth_error_t *err);
/* All records, sorted by name. */
int networks_list(struct store *s, json_t **ret, berth_error_t *err);
/* Remove the record and its address directory (the caller checks that no
 * container uses it). */
int networks_delete(struct store *s, const char *name, berth_error_t *err);

/* The container's address on the network: the one it holds already, else
 * the lowest free host address (not the network, gateway or broadcast
 * address).  A full subnet fails: `IPAM error: failed to find free IP in
 * range: SUBNET` ... (errnum ENOSPC). */
int networks_ip_allocate(struct store *s, const char *network,
                         const char *container_id, char **ret_ip,
                         berth_error_t *err);
/* The address the container holds on the network, NULL when none. */
char *networks_ip_of(struct store *s, const char *network,
                     const char *container_id);
/* Give it back (nothing held: not an error). */
int networks_ip_release(struct store *s, const char *network,
                        const char *container_id, berth_error_t *err);

#endif
