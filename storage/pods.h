/* Pod records: one file per pod, no global database (as containers).
 *
 *   ROOT/pods/ID.json        the record (below), written atomically under
 *                            the pod's lock (store_lock "pod-ID")
 *   ROOT/pod-names/NAME      symlink whose target is the id: a name is
 *                            claimed with symlink(2) (EEXIST: taken), so
 *                            two `pod create --name x` give one pod
 *
 * Record fields (JSON):
 *   id        64 hex digits, random
 *   name      given, or a random adjective_surname like containers'
 *   created   RFC 3339 (lib/json.h time_rfc3339_now)
 *   infra_id  the infra container's id ("" until the CLI sets it)
 *   hostname  string ("" = the pod's name)
 *   share     array of namespace names ("net", "ipc", "uts")
 *   ports     array (netns/ports.h ports_to_json format)
 *   network   string (the --network value, "" = default)
 *   labels    object
 * plus anything else the CLI puts in `fields`.
 */
#ifndef BERTH_STORAGE_PODS_H
#define BERTH_STORAGE_PODS_H

#include <jansson.h>

#include "lib/error.h"
#include "storage/store.h"

/* Create a record from fields (object: name, hostname, share, ports,
 * network, labels, ...); id and created are filled in, a missing or empty
 * name gets a random one.  A taken name fails with podman's message
 *   "pod NAME already exists" ... more precisely:
 *   `error adding pod to state: name "NAME" is in use: pod already exists`
 * (errnum EEXIST).  Invalid names (podman's [a-zA-Z0-9][a-zA-Z0-9_.-]*)
 * fail with `invalid pod name "X": names must match
 * [a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
int pods_create(struct store *s, json_t *fields, json_t **ret,
                berth_error_t *err);
/* By full id, name, or unique id prefix (at least 1 character; an
 * ambiguous prefix is an error naming it).  Missing: podman's
 *   `no pod with name or ID X found: no such pod` (errnum ENOENT). */
int pods_lookup(struct store *s, const char *name_or_id, json_t **ret,
                berth_error_t *err);
/* All complete records, newest first (a torn or half-written file is
 * skipped, never an error). */
int pods_list(struct store *s, json_t **ret, berth_error_t *err);
/* Read-modify-write under the pod's lock, as containers_update. */
typedef int (*pods_update_fn)(json_t *record, void *arg, berth_error_t *err);
int pods_update(struct store *s, const char *id, pods_update_fn fn, void *arg,
                json_t **ret, berth_error_t *err);
/* Remove the record and free its name; a missing pod is ENOENT. */
int pods_delete(struct store *s, const char *id, berth_error_t *err);

#endif
