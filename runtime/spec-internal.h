/* Private to runtime/spec*.c: the pieces spec_generate assembles. */
#ifndef BERTH_RUNTIME_SPEC_INTERNAL_H
#define BERTH_RUNTIME_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdio.h>

#include "runtime/spec.h"

/* fopen ROOTFS/PATH resolving symlinks inside the rootfs (an image's
 * /etc/passwd may be a symlink to anywhere); NULL with errno set. */
FILE *spec_rootfs_fopen(const char *rootfs, const char *path);
/* mounts[] and linux.devices/resources.devices. */
int spec_build_mounts(json_t *spec, const struct spec_opts *o,
                      berth_error_t *err);
int spec_build_devices(json_t *spec, const struct spec_opts *o,
                       berth_error_t *err);
/* process.rlimits */
int spec_build_rlimits(json_t *process, const struct spec_opts *o,
                       berth_error_t *err);

#endif
