/* Pods: containers sharing the network, IPC and UTS namespaces of an
 * infra container (berth-init --pause from the local image
 * localhost/berth-pause, built on first use from berth-init). */
#ifndef BERTH_CMD_POD_H
#define BERTH_CMD_POD_H

#include <jansson.h>

#include "lib/error.h"

struct store;

/* run --pod SPEC: "new:NAME" creates the pod, anything else names an
 * existing one.  *ret the pod's record (with infra_id). */
int pod_resolve_for_run(struct store *s, const char *spec, json_t **ret,
                        berth_error_t *err);

#endif
