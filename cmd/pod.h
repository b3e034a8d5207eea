/* Pods: containers sharing the network, IPC and UTS namespaces of an
 * infra container (berth-init --pause from the local image
 * localhost/berth-pause, built on first use from berth-init). */
#ifndef BERTH_CMD_POD_H
#define BERTH_CMD_POD_H

#include <jansson.h>

#include "lib/error.h"

struct store;

#define PAUSE_IMAGE "localhost/berth-pause:" BERTH_VERSION

/* Build PAUSE_IMAGE from berth-init when the store lacks it. */
int pod_pause_image(struct store *s, berth_error_t *err);

/* run --pod SPEC: "new:NAME" creates the pod, anything else names an
 * existing one.  *ret the pod's record (with infra_id). */
int pod_resolve_for_run(struct store *s, const char *spec, json_t **ret,
                        berth_error_t *err);

#endif
