#define _GNU_SOURCE
#include "image/auth.h"

#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"

/* ---- base64 (RFC 4648, standard alphabet) ----------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Padding is optional: some tools write auth values without it. */
char *base64_decode(const char *s, size_t *ret_len)
{
    size_t n = strlen(s);
    size_t pad = 0;

    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
        return NULL;
    _cleanup_free_ char *out = xmalloc(n / 4 * 3 + 3);
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            return NULL;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    if (ret_len)
        *ret_len = o;
    return TAKE_PTR(out);
}

/* ---- where the files are ------------------------------------------------ */

static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && home[0])
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

static char *config_auth_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = home_dir();

    if (xdg && xdg[0] == '/')
        return xasprintf("%s/containers/auth.json", xdg);
    return home ? xasprintf("%s/.config/containers/auth.json", home) : NULL;
}

char *auth_default_path(void)
{
    const char *env = getenv("REGISTRY_AUTH_FILE");
    const char *run = getenv("XDG_RUNTIME_DIR");

    if (env && env[0])
        return xstrdup(env);
    if (run && run[0])
        return xasprintf("%s/containers/auth.json", run);
    return config_auth_path();
}

/* ---- keys --------------------------------------------------------------- */

/* Docker writes "https://index.docker.io/v1/" style keys: the scheme and
 * the API path are not part of what the key names.  docker.io's other
 * names map to it, as containers-image's normalizeRegistry does. */
static char *auth_normalize_key(const char *key)
{
    char *k;

    if (str_has_prefix(key, "https://") || str_has_prefix(key, "http://")) {
        const char *h = strstr(key, "://") + 3;
        k = xstrndup(h, strcspn(h, "/"));
    } else {
        k = xstrdup(key);
        size_t n = strlen(k);
        while (n > 0 && k[n - 1] == '/')
            k[--n] = '\0';
    }
    size_t h = strcspn(k, "/");
    if ((h == 15 && strncmp(k, "index.docker.io", h) == 0) ||
        (h == 20 && strncmp(k, "registry-1.docker.io", h) == 0)) {
        char *n = xasprintf("docker.io%s", k + h);
        free(k);
        k = n;
    }
    return k;
}

/* 1 with *ret filled, 0 for an entry without credentials (docker leaves
 * "{}" when a credential helper holds them), -1 on a broken entry. */
static int entry_creds(json_t *entry, const char *file, const char *key,
                       struct auth_creds *ret, berth_error_t *err)
{
    const char *auth = json_get_str(entry, "auth");
    const char *user = json_get_str(entry, "username");

    if (auth && auth[0]) {
        _cleanup_free_ char *dec = base64_decode(auth, NULL);
        char *colon = dec ? strchr(dec, ':') : NULL;
        if (colon == NULL)
            return berth_error_new(err, 0,
                                   "%s: invalid \"auth\" value for "
                                   "%s: expected base64 of "
                                   "user:password",
                                   file, key);
        *colon = '\0';
        ret->username = xstrdup(dec);
        ret->password = xstrdup(colon + 1);
        explicit_bzero(colon + 1, strlen(colon + 1));
        return 1;
    }
    if (user && user[0]) {
        const char *pass = json_get_str(entry, "password");
        ret->username = xstrdup(user);
        ret->password = xstrdup(pass ? pass : "");
        return 1;
    }
    return 0;
}

static json_t *auths_entry(json_t *auths, const char *key)
{
    const char *k;
    json_t *v, *e = json_object_get(auths, key);

    if (e)
        return e;
    json_object_foreach(auths, k, v)
    {
        _cleanup_free_ char *nk = auth_normalize_key(k);
        if (strcmp(nk, key) == 0)
            return v;
    }
    return NULL;
}

/* containers-auth.json(5): "host/ns/repo", then each shorter path, then
 * "host" alone. */
static int auths_find(json_t *auths, const char *file, const char *key,
                      struct auth_creds *ret, berth_error_t *err)
{
    _cleanup_free_ char *k = auth_normalize_key(key);

    for (;;) {
        json_t *e = auths_entry(auths, k);
        if (json_is_object(e)) {
            int r = entry_creds(e, file, k, ret, err);
            if (r != 0)
                return r;
        }
        char *slash = strrchr(k, '/');
        if (slash == NULL)
            return 0;
        *slash = '\0';
    }
}

/* Load PATH; *ret stays NULL when the file does not exist. */
static int auth_file_load(const char *path, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    size_t len = 0;

    if (fs_read_file(path, &buf, &len, &e) < 0) {
        if (e->errnum == ENOENT) {
            berth_error_free(&e);
            *ret = NULL;
            return 0;
        }
        *err = e;
        return -1;
    }
    json_t *j = json_parse_buf(buf, len, path, err);
    if (j == NULL)
        return -1;
    if (!json_is_object(j)) {
        json_decref(j);
        return berth_error_new(err, 0, "%s: not a JSON object", path);
    }
    *ret = j;
    return 0;
}

/* The "auths" object of a file; LEGACY is docker's ~/.dockercfg, whose
 * top level is that object. */
static int lookup_file(const char *path, bool legacy, const char *key,
                       struct auth_creds *ret, berth_error_t *err)
{
    _cleanup_json_ json_t *root = NULL;

    if (auth_file_load(path, &root, err) < 0)
        return -1;
    if (root == NULL)
        return 0;
    json_t *auths = legacy ? root : json_object_get(root, "auths");
    if (auths == NULL)
        return 0;
    if (!json_is_object(auths))
        return berth_error_new(err, 0, "%s: \"auths\" is not an object", path);
    return auths_find(auths, path, key, ret, err);
}

int auth_lookup(const char *authfile, const char *key, struct auth_creds *ret,
                berth_error_t *err)
{
    const char *env = getenv("REGISTRY_AUTH_FILE");
    const char *run = getenv("XDG_RUNTIME_DIR");
    const char *docker = getenv("DOCKER_CONFIG");
    const char *home = home_dir();
    char *paths[4] = {NULL, NULL, NULL, NULL};
    int r = 0;

    /* a file the user named is the only one, as podman's --authfile */
    if (authfile && authfile[0])
        return lookup_file(authfile, false, key, ret, err);
    if (env && env[0])
        return lookup_file(env, false, key, ret, err);
    if (run && run[0])
        paths[0] = xasprintf("%s/containers/auth.json", run);
    paths[1] = config_auth_path();
    if (docker && docker[0])
        paths[2] = xasprintf("%s/config.json", docker);
    else if (home)
        paths[2] = xasprintf("%s/.docker/config.json", home);
    if (home)
        paths[3] = xasprintf("%s/.dockercfg", home);
    for (int i = 0; i < 4 && r == 0; i++)
        if (paths[i])
            r = lookup_file(paths[i], i == 3, key, ret, err);
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    return r;
}

/* ---- writing ------------------------------------------------------------ */

static int auth_file_write(const char *path, json_t *root, berth_error_t *err)
{
    _cleanup_free_ char *dir = xstrdup(path);
    _cleanup_free_ char *text = NULL;

    if (fs_mkdir_p(dirname(dir), 0700, err) < 0)
        return -1;
    text = json_dumps(root, JSON_INDENT(2));
    if (text == NULL)
        return berth_error_new(err, 0, "encode %s", path);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    memcpy(text + n, "\n", 2);
    return fs_write_file_atomic(path, text, n + 1, 0600, err);
}

static char *auth_target(const char *authfile)
{
    return authfile && authfile[0] ? xstrdup(authfile) : auth_default_path();
}

/* The "auths" object of ROOT, created when missing. */
static json_t *auths_object(json_t *root, const char *path, berth_error_t *err)
{
    json_t *auths = json_object_get(root, "auths");

    if (auths == NULL) {
        auths = json_object();
        json_object_set_new(root, "auths", auths);
    }
    if (!json_is_object(auths)) {
        berth_error_new(err, 0, "%s: \"auths\" is not an object", path);
        return NULL;
    }
    return auths;
}

int auth_store(const char *authfile, const char *key,
               const struct auth_creds *creds, berth_error_t *err)
{
    _cleanup_free_ char *path = auth_target(authfile);
    _cleanup_free_ char *k = NULL, *plain = NULL, *enc = NULL;
    _cleanup_json_ json_t *root = NULL;

    if (path == NULL)
        return berth_error_new(err, 0,
                               "cannot find the auth file: neither "
                               "REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR "
                               "nor HOME is set");
    if (key == NULL || key[0] == '\0')
        return berth_error_new(err, 0, "store credentials: no registry given");
    if (auth_file_load(path, &root, err) < 0)
        return -1;
    if (root == NULL)
        root = json_object();
    json_t *auths = auths_object(root, path, err);
    if (auths == NULL)
        return -1;
    k = auth_normalize_key(key);
    plain = xasprintf("%s:%s", creds->username ? creds->username : "",
                      creds->password ? creds->password : "");
    enc = base64_encode(plain, strlen(plain));
    explicit_bzero(plain, strlen(plain));
    json_object_set_new(auths, k, json_pack("{s:s}", "auth", enc));
    int r = auth_file_write(path, root, err);
    explicit_bzero(enc, strlen(enc));
    return r;
}

int auth_remove(const char *authfile, const char *key, berth_error_t *err)
{
    _cleanup_free_ char *path = auth_target(authfile);
    _cleanup_free_ char *k = key ? auth_normalize_key(key) : NULL;
    _cleanup_json_ json_t *root = NULL;
    const char *fk;
    json_t *v, *auths;
    void *tmp;
    int removed = 0;

    if (path == NULL || auth_file_load(path, &root, err) < 0)
        return path == NULL ? 0 : -1;
    if (root == NULL)
        return 0;
    auths = json_object_get(root, "auths");
    if (!json_is_object(auths))
        return 0;
    json_object_foreach_safe(auths, tmp, fk, v)
    {
        _cleanup_free_ char *nk = auth_normalize_key(fk);
        if (k == NULL || strcmp(fk, k) == 0 || strcmp(nk, k) == 0) {
            json_object_del(auths, fk);
            removed = 1;
        }
    }
    if (removed && auth_file_write(path, root, err) < 0)
        return -1;
    return removed;
}

int auth_parse_creds(const char *s, struct auth_creds *ret, berth_error_t *err)
{
    if (s == NULL || s[0] == '\0')
        return berth_error_new(err, 0, "credentials can't be empty");
    const char *colon = strchr(s, ':');
    if (colon == s)
        return berth_error_new(err, 0, "username can't be empty");
    ret->username = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
    ret->password = colon ? xstrdup(colon + 1) : NULL;
    return 0;
}

void auth_creds_clear(struct auth_creds *c)
{
    if (c == NULL)
        return;
    if (c->password)
        explicit_bzero(c->password, strlen(c->password));
    free(c->username);
    free(c->password);
    c->username = NULL;
    c->password = NULL;
}
