/* Volumes: one directory per volume, no global database.
 *
 *   ROOT/volumes/NAME/volume.json  the record (below), written atomically
 *                                  under the record's lock
 *   ROOT/volumes/NAME/_data/       what containers mount
 *
 * A name is claimed by mkdir(2) of ROOT/volumes/NAME while holding the
 * lock "volume-NAME"; a directory without volume.json found under the
 * lock was left by a creator that died and is reclaimed.
 *
 * Record fields (JSON):
 *   name        given, or 64 random hex digits for an anonymous volume
 *   driver      "local"
 *   mountpoint  ROOT/volumes/NAME/_data
 *   created     RFC 3339
 *   labels      object of strings
 *   options     object of strings (--opt)
 *   anonymous   true for the volumes `run -v /path` and image VOLUMEs make
 *   needs_copy  true until the first container mounts it: an empty volume
 *               is then seeded from the image's content at the mount
 *               point, as podman does
 *
 * A volume is in use while some container record's options.mounts has a
 * source at or under its _data. */
#ifndef BERTH_STORAGE_VOLUMES_H
#define BERTH_STORAGE_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"
#include "storage/store.h"

/* Create a volume.  name NULL: an anonymous one with a random name.
 * labels and options (objects of strings, may be NULL) are copied.
 * Options understood: uid=, gid= (owner of _data in the container's
 * ids), nocopy (never seed), copy.  A name in use fails with podman's
 * "volume with name x already exists: volume already exists" (errnum
 * EEXIST).  *ret (may be NULL) receives the record. */
int volumes_create(struct store *s, const char *name, json_t *labels,
                   json_t *options, bool anonymous, json_t **ret,
                   berth_error_t *err);
/* The record.  Missing: podman's "no volume with name "x" found: no such
 * volume" (errnum ENOENT). */
int volumes_get(struct store *s, const char *name, json_t **ret,
                berth_error_t *err);
/* All complete records, sorted by name. */
int volumes_list(struct store *s, json_t **ret, berth_error_t *err);
/* Ids of the containers using the volume (possibly an empty vector). */
int volumes_users(struct store *s, const char *name, char ***ret_ids,
                  berth_error_t *err);
/* Remove a volume.  In use and !force: podman's "volume x is being used
 * by the following container(s): ID...: volume is being used" (errnum
 * EBUSY); the containers themselves are the caller's business.  Missing:
 * as volumes_get (ENOENT). */
int volumes_remove(struct store *s, const char *name, bool force,
                   berth_error_t *err);
/* Remove every unused volume; *ret_removed (may be NULL) their names. */
int volumes_prune(struct store *s, char ***ret_removed, berth_error_t *err);
/* ROOT/volumes/NAME/_data */
char *volumes_data_path(struct store *s, const char *name);

/* spec_volume_resolver (runtime/spec.h) over the store `arg`: a named
 * volume is created on first use, NULL makes an anonymous one; returns
 * the _data path. */
int volumes_spec_resolve(void *arg, const char *name, char **ret_path,
                         berth_error_t *err);

/* Seed volume_path (must be empty) from the image's merged view at
 * container_path: the layers read top-down honouring whiteouts and
 * opaque dirs, owners, modes and times kept (in the user namespace when
 * rootless).  Nothing at container_path, or not a directory: nothing to
 * copy, returns 0.  Symlinks on the way are resolved inside the image. */
int volumes_seed(struct store *s, const char *volume_path,
                 json_t *image_record, const char *container_path,
                 berth_error_t *err);
/* For the OCI spec about to be written: every mount whose source is a
 * volume's _data and whose volume still needs_copy is seeded from the
 * image at the mount's destination (when _data is empty), and needs_copy
 * is cleared, under the volume's lock.  image_record NULL: only clears. */
int volumes_seed_spec(struct store *s, json_t *spec, json_t *image_record,
                      berth_error_t *err);
/* The image config's Volumes (the blob, or its "config" object) that no
 * -v, --mount or --tmpfs already covers, as "-v DEST" strings (anonymous
 * volumes) to append to the user's -v list.  *ret is a NULL-terminated
 * vector, possibly empty. */
int volumes_for_image(json_t *image_config, char *const *volumes,
                      char *const *mounts, char *const *tmpfs, char ***ret,
                      berth_error_t *err);
/* rm -v: remove the anonymous volumes container_record mounted.  Call it
 * after the container is deleted; volumes other containers still use are
 * kept.  Best effort over all of them; the first error is returned. */
int volumes_remove_anonymous_of(struct store *s, json_t *container_record,
                                berth_error_t *err);

/* Exposed for the unit test: copy the merged view at container_path of
 * diffs (layer dirs, top-most first) into dest.  No user namespace. */
int volumes_copy_merged(char *const *diffs, const char *container_path,
                        const char *dest, berth_error_t *err);

#endif
