/* The default seccomp profile (containers-common's seccomp.json: deny by
 * default, an allowlist of syscalls, some allowed only with a capability)
 * rendered as the OCI runtime spec's linux.seccomp object, and the
 * conversion of a user's profile file (--security-opt seccomp=FILE, in
 * the same docker/podman format) to that object. */
#ifndef BERTH_RUNTIME_SECCOMP_DEFAULT_H
#define BERTH_RUNTIME_SECCOMP_DEFAULT_H

#include <jansson.h>
#include <stdint.h>

#include "lib/error.h"

/* The default profile for a container whose bounding set is caps_mask
 * (bit n = capability n): rules that need a capability the container
 * lacks are left out, as podman does when it converts the profile. */
json_t *seccomp_default_profile(uint64_t caps_mask);
/* Convert a docker/podman format profile (defaultAction, archMap,
 * syscalls[] with includes/excludes) to OCI linux.seccomp.  A profile
 * already in OCI form passes through the same filter unchanged. */
json_t *seccomp_profile_convert(json_t *profile, uint64_t caps_mask,
                                berth_error_t *err);

#endif
