/* Subordinate ids and the user namespace.  The mapping is the same every
 * time (container 0 = the user, 1..N = the user's first subordinate range
 * from libsubid), so every fresh namespace sees the store's files with the
 * same owners and no long-lived "pause" process is needed.  With no
 * subordinate ids (common on HPC hosts) the mapping is the single id. */
#ifndef BERTH_ROOTLESS_USERNS_H
#define BERTH_ROOTLESS_USERNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

#define USERNS_MAX_RANGES 8

struct idmap_range {
    uint32_t container;
    uint32_t host;
    uint32_t size;
};

struct userns_mapping {
    struct idmap_range uid[USERNS_MAX_RANGES];
    struct idmap_range gid[USERNS_MAX_RANGES];
    int n_uid, n_gid;
    bool single; /* no subordinate ids: only the user's own id is mapped */
};

/* true when berth runs rootless: not uid 0, or uid 0 of a user namespace
 * (inside `berth unshare`), where the store is still the user's. */
bool userns_rootless(void);
/* true inside a user namespace other than the initial one. */
bool userns_in_child(void);
/* The current user's mapping (libsubid ranges; the single-id mapping when
 * the user has none). */
int userns_mapping_get(struct userns_mapping *ret, berth_error_t *err);
/* "0 1000 1\n1 100000 65536\n" style text of one side. */
char *userns_mapping_format(const struct idmap_range *r, int n);

typedef int (*userns_fn)(void *arg, berth_error_t *err);
/* Run fn(arg) in a forked child inside a new user namespace (plus a new
 * mount namespace) with the user's mapping, as root there (when already
 * uid 0, real or in berth's namespace, just in a forked child).  Its error
 * comes back over a pipe.  fn may also exec a program (fds it must keep
 * without O_CLOEXEC): the program's exit status is then the result.  When not rootless, fn runs in a forked child
 * without namespaces (same isolation of side effects).  Returns fn's
 * return value (>= 0) or -1. */
int userns_run(userns_fn fn, void *arg, berth_error_t *err);
/* The same, but rootless in the user namespace of process join (a running
 * container's, to share its other namespaces; a mount namespace of its
 * own all the same); join <= 0 is userns_run. */
int userns_run_in(pid_t join, userns_fn fn, void *arg, berth_error_t *err);

/* Enter a new user+mount namespace in this (single-threaded) process and
 * become root there: used by `berth unshare` before exec. */
int userns_enter(berth_error_t *err);

/* Warning to print when the mapping is single (the usermod fix). */
char *userns_single_warning(void);

#endif
