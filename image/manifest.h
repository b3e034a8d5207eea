/* Manifests and indexes: OCI image manifest and index, Docker schema 2
 * manifest and manifest list.  Docker schema 1 is recognized only to be
 * refused with a message saying so. */
#ifndef BERTH_IMAGE_MANIFEST_H
#define BERTH_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1_SIGNED                                                    \
    "application/vnd.docker.distribution.manifest.v1+prettyjws"

struct manifest_desc {
    char *media_type;
    char *digest;
    int64_t size;
};

struct manifest {
    char *media_type;
    struct manifest_desc config;
    struct manifest_desc *layers;
    size_t n_layers;
};

struct platform {
    char *os;
    char *arch;
    char *variant; /* NULL when none */
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

/* Classify a manifest body: from its mediaType field, else the
 * Content-Type, else its shape.  Schema 1 and unknown types fail. */
int manifest_kind(const char *body, size_t len, const char *content_type,
                  enum manifest_kind *ret, char **ret_media_type,
                  berth_error_t *err);
/* Parse an image manifest; every layer media type must be one berth can
 * unpack ("unsupported layer media type X" otherwise). */
int manifest_parse(const char *body, size_t len, const char *media_type,
                   struct manifest **ret, berth_error_t *err);
void manifest_free(struct manifest *m);
/* Choose the entry of an index for the platform: os and arch must match;
 * the variant when one is wanted (arm64 defaults to v8). Fails with
 * "no image found in manifest list for architecture X, variant Y, OS Z". */
int manifest_index_select(const char *body, size_t len,
                          const struct platform *want, char **ret_digest,
                          char **ret_media_type, berth_error_t *err);

/* The host's platform, with the --platform/--os/--arch/--variant flags
 * applied over it. */
int platform_resolve(const char *platform, const char *os, const char *arch,
                     const char *variant, struct platform *ret,
                     berth_error_t *err);
void platform_clear(struct platform *p);
/* Go's GOARCH name for the running machine ("amd64", "arm64", ...). */
const char *platform_host_arch(void);

#endif
