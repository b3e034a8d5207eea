/* Image records: ROOT/images/ID.json, one per image, written atomically.
 * Record fields (JSON):
 *   id            config digest hex (podman's image id)
 *   names         ["registry/repo:tag", ...]
 *   digests       ["registry/repo@sha256:...", ...] (repo digests)
 *   manifest      "sha256:..."   manifest blob digest
 *   manifest_type media type of the manifest blob
 *   config        "sha256:..."   config blob digest
 *   layers        [{digest, media_type, size, diff_id, chain_id}]
 *   size          sum of unpacked layer sizes
 *   created       from the config; added: when stored here
 * Name changes take the images lock so a name moves atomically. */
#ifndef BERTH_STORAGE_IMAGES_H
#define BERTH_STORAGE_IMAGES_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"
#include "storage/store.h"

/* All records (array of objects), sorted newest first by "added". */
int images_list(struct store *s, json_t **ret, berth_error_t *err);
int images_get(struct store *s, const char *id, json_t **ret,
               berth_error_t *err);
/* Write a record; if it exists, names and digests are merged.  Each name
 * in the new record is removed from every other image first. */
int images_put(struct store *s, json_t *record, berth_error_t *err);
/* Find by id, id prefix (>= 3 hex digits, must be unique), full name,
 * repo digest, or short name (matching "*\/NAME:TAG" of any record, and
 * "localhost/NAME").  Fails "NAME: image not known" (errnum ENOENT). */
int images_lookup(struct store *s, const char *name, json_t **ret,
                  berth_error_t *err);
/* Add name (a full "registry/repo:tag") to image id, taking it from any
 * other image. */
int images_add_name(struct store *s, const char *id, const char *name,
                    berth_error_t *err);
/* Remove name from image id; returns 0, or -1 ("not tagged") when the
 * image doesn't have it. */
int images_remove_name(struct store *s, const char *id, const char *name,
                       berth_error_t *err);
/* Delete the record (the blobs and layers go with store_gc). */
int images_delete(struct store *s, const char *id, berth_error_t *err);
/* An image with no name and no repo digest: what prune removes and
 * `images` shows as <none> <none>.  An image pulled only by digest keeps
 * its repository through its repo digest and is not dangling. */
bool images_dangling(json_t *record);
/* Image config JSON (parsed config blob). */
int images_config(struct store *s, json_t *record, json_t **ret,
                  berth_error_t *err);

#endif
