/* Image archives, as podman save/load and docker save/load write them:
 *
 *   oci-archive     a tar of an OCI image layout: oci-layout, index.json
 *                   (one descriptor per name, annotated
 *                   "org.opencontainers.image.ref.name" = the full name,
 *                   as podman writes it), blobs/sha256/HEX.  The stored
 *                   manifest, config and compressed layers are copied
 *                   bit-exact.
 *   docker-archive  docker save's format: manifest.json
 *                   [{Config, RepoTags, Layers}], the config as HEX.json,
 *                   each layer uncompressed as DIFFHEX/layer.tar, and the
 *                   legacy "repositories" file.  The config bytes are kept,
 *                   so the image id survives a save and load.
 *
 * Several images fit in one archive of either format.  Loading detects
 * the format (manifest.json: docker-archive; index.json: oci-archive),
 * reads any compression, verifies every blob and diff id, unpacks the
 * layers and writes the image records only once every image of the
 * archive is in place: a bad archive leaves no image behind, only
 * content-addressed debris for store_gc and temporary files that are
 * removed. */
#ifndef BERTH_IMAGE_ARCHIVE_H
#define BERTH_IMAGE_ARCHIVE_H

#include <jansson.h>
#include <stddef.h>

#include "image/pull.h"
#include "lib/error.h"

struct store;

enum image_archive_format {
    IMAGE_ARCHIVE_DOCKER,
    IMAGE_ARCHIVE_OCI,
};

/* One image to save: its record and the full names ("docker.io/library/
 * busybox:latest") to record for it; no names saves it untagged. */
struct image_archive_item {
    json_t *record;
    char **names; /* NULL-terminated, may be NULL */
};

/* Progress, reusing pull's events: PULL_CONFIG when an image starts,
 * PULL_BLOB_START/DONE or PULL_BLOB_SKIP per layer blob, PULL_MANIFEST
 * when an image is complete.  on_event may be NULL. */
struct image_archive_opts {
    pull_event_fn on_event;
    void *event_arg;
};

/* Write the archive to fd (a file or a pipe; nothing is seeked). */
int image_archive_save(struct store *s, enum image_archive_format fmt,
                       const struct image_archive_item *items, size_t n,
                       int fd, const struct image_archive_opts *o,
                       berth_error_t *err);
/* Write the archive to path: a regular file (new or existing) is written
 * to a temporary file beside it and renamed into place, so a failed save
 * leaves no partial archive; anything else (a fifo, /dev/stdout) is
 * written directly. */
int image_archive_save_path(struct store *s, enum image_archive_format fmt,
                            const struct image_archive_item *items, size_t n,
                            const char *path,
                            const struct image_archive_opts *o,
                            berth_error_t *err);

struct image_archive_loaded {
    char *id;     /* image id (config digest hex) */
    char **names; /* full names given to it, NULL-terminated (may be empty) */
};

/* Load every image of the archive read from fd (streamed once; no seek,
 * so stdin works).  `what` names the archive in errors ("x.tar",
 * "stdin").  *ret is an array of *ret_n loaded images, in archive order. */
int image_archive_load(struct store *s, int fd, const char *what,
                       const struct image_archive_opts *o,
                       struct image_archive_loaded **ret, size_t *ret_n,
                       berth_error_t *err);
void image_archive_loaded_free(struct image_archive_loaded *v, size_t n);

/* Shared by load and import: for an image whose manifest, config and
 * layer blobs are already in the store, unpack its layers (chain ids from
 * the config's diff ids, each checked against the layer's content) and
 * return its image record, not yet written (images_put).  layers:
 * [{digest, media_type, size}] in manifest order; diff_id and chain_id
 * are added.  The store must be pinned (store_pin) by the caller. */
int image_record_build(struct store *s, const char *manifest_digest,
                       const char *manifest_type, const char *config_digest,
                       json_t *config, json_t *layers, char *const *names,
                       json_t **ret, berth_error_t *err);

/* A name found in an archive, as podman's NormalizeName: "busybox" and
 * "busybox:latest" become "docker.io/library/busybox:latest". */
int image_archive_normalize_name(const char *name, char **ret,
                                 berth_error_t *err);

#endif
