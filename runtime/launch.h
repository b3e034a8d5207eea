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

#include "lib/error.h"

struct store;

/* argv: the monitor's command line (argv[0] a path).  File descriptors
 * the monitor must inherit are passed without O_CLOEXEC by the caller.
 * Returns once the monitor has daemonized (its first process exited 0). */
int launch_monitor(struct store *s, json_t *container, char *const *argv,
                   berth_error_t *err);

#endif
