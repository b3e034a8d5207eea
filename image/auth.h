/* Registry credentials, where podman keeps them: auth.json at
 * $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json (when
 * XDG_RUNTIME_DIR is unset: $HOME/.config/containers/auth.json, which
 * podman also reads), then docker's $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json as fallback for reading.  Format:
 * {"auths": {"host[:port][/path]": {"auth": base64("user:pass")}}} */
#ifndef BERTH_IMAGE_AUTH_H
#define BERTH_IMAGE_AUTH_H

#include <stddef.h>

#include "lib/error.h"

struct auth_creds {
    char *username;
    char *password;
};

/* The default path auth.json is written to (not created). */
char *auth_default_path(void);
/* Look up credentials for KEY ("host:port" or "host/path" for a repo; the
 * longest matching key wins, as containers-auth.json(5)).  authfile, when
 * non-NULL, is the only file consulted.  Returns 1 and fills *ret when
 * found, 0 when none, -1 on error (malformed file). */
int auth_lookup(const char *authfile, const char *key, struct auth_creds *ret,
                berth_error_t *err);
/* Store credentials (creating the file 0600 and its directory 0700). */
int auth_store(const char *authfile, const char *key,
               const struct auth_creds *creds, berth_error_t *err);
/* Remove one entry, or all when key is NULL.  Returns 1 when something was
 * removed, 0 when there was nothing for that key. */
int auth_remove(const char *authfile, const char *key, berth_error_t *err);
/* Parse --creds "USER[:PASS]". */
int auth_parse_creds(const char *s, struct auth_creds *ret, berth_error_t *err);
void auth_creds_clear(struct auth_creds *c);

char *base64_encode(const void *data, size_t len);
/* Returns decoded bytes (NUL-terminated) or NULL on malformed input. */
char *base64_decode(const char *s, size_t *ret_len);

#endif
