/* Capability names: the table of every capability the kernel knows by
 * name, podman's default set, and --cap-add/--cap-drop arithmetic.  Names
 * are accepted as podman does: any case, with or without "CAP_", and
 * "ALL". */
#ifndef BERTH_RUNTIME_CAPS_H
#define BERTH_RUNTIME_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

/* Index (capability number) of a canonical "CAP_FOO" name, or -1. */
int caps_from_name(const char *name);
/* "CAP_FOO" for a capability number, NULL when unknown. */
const char *caps_to_name(int cap);
/* Highest capability number this kernel supports (cap_last_cap), capped
 * to the names berth knows. */
int caps_last(void);
/* Canonical "CAP_FOO" (malloc'd) of a user-given name, or "ALL".  Fails
 * with `invalid capability "x"` naming the value as typed. */
char *caps_normalize(const char *name, berth_error_t *err);
/* podman's default capability set, NULL-terminated, static. */
const char *const *caps_default(void);
/* The resulting set as a bitmask (bit n = capability n): start from the
 * default (or, privileged, every capability in this process's bounding
 * set), add cap_add, then remove cap_drop.
 * "ALL" in cap_add adds every capability, in cap_drop drops every one
 * not explicitly added, as podman. */
int caps_compute(char *const *cap_add, char *const *cap_drop, bool privileged,
                 uint64_t *ret_mask, berth_error_t *err);
/* NULL-terminated malloc'd vector of the names in mask, in number order. */
char **caps_mask_to_strv(uint64_t mask);

#endif
