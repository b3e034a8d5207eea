/* --change instructions: the subset of Dockerfile instructions podman
 * accepts on import and commit (libimage's ImageConfigFromChanges): USER,
 * EXPOSE, ENV, ENTRYPOINT, CMD, VOLUME, WORKDIR, LABEL, STOPSIGNAL and
 * ONBUILD, applied to the "config" object of an image config (OCI field
 * names: "User", "ExposedPorts", "Env", ...).  Error messages are
 * podman's, since scripts match them. */
#ifndef BERTH_IMAGE_CONFIG_CHANGE_H
#define BERTH_IMAGE_CONFIG_CHANGE_H

#include <jansson.h>

#include "lib/error.h"

/* Apply each change in order to cfg (a JSON object, modified in place).
 * ONBUILD has no place in an OCI config: its values are appended to
 * *ret_onbuild (NULL-terminated, may stay NULL) when ret_onbuild is not
 * NULL, else dropped.  On error cfg may be partly changed. */
int config_changes_apply(json_t *cfg, char *const *changes,
                         char ***ret_onbuild, berth_error_t *err);

/* A signal given by name ("SIGTERM", "term", "RTMIN+3") or number;
 * returns its number, or -1 when unknown. */
int config_parse_signal(const char *s);

#endif
