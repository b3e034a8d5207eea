/* Image references: the docker reference grammar
 * ([registry[:port]/]path[:tag][@sha256:hex]) and its normalization.
 * "alpine" -> docker.io/library/alpine:latest, as podman does once
 * short-name resolution (image/registries.h) picked docker.io. */
#ifndef BERTH_IMAGE_REF_H
#define BERTH_IMAGE_REF_H

#include <stdbool.h>

#include "lib/error.h"

struct image_ref {
    char *registry; /* "docker.io", "127.0.0.1:5000"; NULL if short name */
    char *path;     /* "library/alpine", "foo/bar" */
    char *tag;      /* "latest" when neither tag nor digest was given; NULL
                       when only a digest was given */
    char *digest;   /* "sha256:<64 hex>" or NULL */
};

/* Parse NAME.  Fails (naming NAME) on uppercase repository paths, bad
 * characters, bad tags (max 128, [\w][\w.-]*), bad digests, too long
 * names (255).  A name with no registry part is a short name: registry is
 * NULL and the caller resolves it.  "docker.io/alpine" normalizes to
 * path "library/alpine".  Tag defaults to "latest" when no digest. */
int image_ref_parse(const char *name, struct image_ref **ret,
                    berth_error_t *err);
void image_ref_free(struct image_ref *ref);
struct image_ref *image_ref_dup(const struct image_ref *ref);
/* "registry/path" */
char *image_ref_repo(const struct image_ref *ref);
/* "registry/path:tag", or "registry/path@digest" when there is no tag,
 * or "registry/path:tag@digest" with both. */
char *image_ref_string(const struct image_ref *ref);
/* "registry/path:tag" (NULL when tag is NULL) */
char *image_ref_tagged(const struct image_ref *ref);
/* true when s looks like a (possibly short) image id: 3..64 lowercase hex
 * digits, optionally prefixed "sha256:" */
bool image_ref_is_id_prefix(const char *s);
/* Validate a "sha256:<64 hex>" digest string. */
bool image_digest_valid(const char *digest);

#endif
