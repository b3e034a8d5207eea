/* Starting a container's monitor where the container will live: a child
 * enters a fresh user namespace with berth's mapping (rootless) and a
 * fresh mount namespace, mounts the container's rootfs there, and execs
 * the monitor, which runs the OCI runtime inside those namespaces.  The
 * mount exists only in that namespace (DESIGN.md: nothing stays mounted
 * anywhere else; a crash leaves no stale mount) and it goes away with the
 * last process of the container. */
#ifndef BERTH_RUNTIME_LAUNCH_H
#define BERTH_RUNTIME_LAUNCH_H

#include <jansson.h>
#include <sys/types.h>

#include "lib/error.h"

struct store;

/* argv: the monitor's command line (argv[0] a path).  File descriptors
 * the monitor must inherit are passed without O_CLOEXEC by the caller.
 * join > 0: rootless, the user namespace of that process instead of a
 * fresh one (a container that shares another's namespaces must be in its
 * user namespace to enter them).  Returns once the monitor has daemonized
 * (its first process exited 0). */
int launch_monitor(struct store *s, json_t *container, char *const *argv,
                   pid_t join, berth_error_t *err);

#endif
