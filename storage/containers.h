/* Container records: one directory per container, no global database.
 *
 *   ROOT/containers/ID/config.json   berth's record (below), written
 *                                    atomically under the record's lock
 *   ROOT/containers/ID/userdata/     the OCI bundle (config.json written
 *                                    by runtime/) plus the generated hosts,
 *                                    resolv.conf and hostname; kept in ROOT
 *                                    so `start` works again after a reboot
 *   ROOT/containers/ID/diff/         writable layer (overlay upper dir, or
 *                                    the whole copied tree with vfs)
 *   ROOT/containers/ID/work/         overlay work dir
 *   ROOT/containers/ID/merged/       mount point of the rootfs
 *   ROOT/names/NAME                  symlink whose target is the id: a name
 *                                    is claimed with symlink(2), which fails
 *                                    with EEXIST, so two creates with one
 *                                    name give one container
 *   RUNROOT/containers/ID/           runtime state (pid file, exit file,
 *                                    attach socket): gone after a reboot
 *
 * Record fields (JSON):
 *   id          64 hex digits, random
 *   name        given, or adjective_surname as podman
 *   image       image id ("" for none); image_name: as the user typed it
 *   layers      the image's layer chain ids, bottom first, copied at
 *               create so the rootfs does not depend on the image record
 *   created     RFC 3339
 *   command     array of strings
 *   options     object: the run options as the CLI gives them
 *   driver      rootfs driver, set by rootfs_prepare
 *   state       {status, pid, exitCode, startedAt, finishedAt}; status is
 *               created|running|paused|exited|stopped|removing
 */
#ifndef BERTH_STORAGE_CONTAINERS_H
#define BERTH_STORAGE_CONTAINERS_H

#include <jansson.h>

#include "lib/error.h"
#include "storage/store.h"

/* Create a record from `fields` (an object; may hold name, image,
 * image_name, command, options and anything else the CLI keeps).  id,
 * created, layers and state are filled in; a missing or empty name gets a
 * random one.  A name in use fails with podman's message (errnum EEXIST).
 * *ret receives the new record. */
int containers_create(struct store *s, json_t *fields, json_t **ret,
                      berth_error_t *err);
/* Read the record of the full id. Fails with errnum ENOENT when missing. */
int containers_get(struct store *s, const char *id, json_t **ret,
                   berth_error_t *err);
/* Find by full id, name, or unique id prefix.  Fails with podman's
 * "no container with name or ID "x" found: no such container" (errnum
 * ENOENT). */
int containers_lookup(struct store *s, const char *name_or_id, json_t **ret,
                      berth_error_t *err);
/* All complete records, newest first. */
int containers_list(struct store *s, json_t **ret, berth_error_t *err);

/* Read-modify-write under the record's lock: fn changes `record` in place
 * (returns 0, or -1 with *err to abandon the update).  *ret (may be NULL)
 * receives the written record. */
typedef int (*containers_update_fn)(json_t *record, void *arg,
                                    berth_error_t *err);
int containers_update(struct store *s, const char *id, containers_update_fn fn,
                      void *arg, json_t **ret, berth_error_t *err);

struct container_state {
    const char *status; /* NULL: keep */
    long long pid;      /* < 0: keep */
    int exit_code;      /* < 0: keep */
    const char *started_at;  /* NULL: keep */
    const char *finished_at; /* NULL: keep */
};
/* Common case of containers_update: change state fields. */
int containers_set_state(struct store *s, const char *id,
                         const struct container_state *st, berth_error_t *err);

/* Remove the record, its directories (in a user namespace when the tree
 * holds subordinate owners), its runtime dir, and free its name. */
int containers_delete(struct store *s, const char *id, berth_error_t *err);

/* Ids (NULL-terminated, possibly an empty vector) of the containers whose
 * image is image_id: rmi refuses to remove those images without -f. */
int containers_using_image(struct store *s, const char *image_id,
                           char ***ret_ids, berth_error_t *err);

/* Rename the container of full id `id` to new_name, claiming the new name
 * as create does.  A name in use fails with podman's message (errnum
 * EEXIST), an invalid one with errnum EINVAL.  Renaming to the current
 * name is a no-op. */
int containers_rename(struct store *s, const char *id, const char *new_name,
                      berth_error_t *err);
/* ROOT/containers/ID/<sub> and RUNROOT/containers/ID. */
char *containers_path(struct store *s, const char *id, const char *sub);
char *containers_run_path(struct store *s, const char *id);
/* A random name like podman's ("quirky_lovelace"); caller frees. */
char *containers_random_name(void);

#endif
