/* Pushing an image to a registry: the stored compressed blobs and the
 * stored manifest go up unchanged, so digests survive a round trip;
 * blobs the registry already has are skipped. */
#ifndef BERTH_IMAGE_PUSH_H
#define BERTH_IMAGE_PUSH_H

#include <jansson.h>

#include "image/pull.h"
#include "image/registry.h"
#include "lib/error.h"

struct store;

/* Push the image `record` to `dest` (a fully qualified reference, no
 * transport).  Events reuse the pull events (BLOB_START/SKIP/PROGRESS/DONE,
 * CONFIG, MANIFEST).  *ret_digest receives the manifest digest. */
int image_push(struct store *s, json_t *record, const char *dest,
               const struct pull_opts *o, char **ret_digest,
               berth_error_t *err);

#endif
