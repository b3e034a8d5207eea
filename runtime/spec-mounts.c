#define _GNU_SOURCE
#include "runtime/spec.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "runtime/spec-internal.h"

void spec_mount_clear(struct spec_mount *m)
{
    free(m->type);
    free(m->source);
    free(m->destination);
    strv_free(m->options);
    *m = (struct spec_mount){0};
}

static const char *const propagations[] = {
    "private", "rprivate", "shared",     "rshared",
    "slave",   "rslave",   "unbindable", "runbindable", NULL,
};
/* Options passed through to mount(2) as they are. */
static const char *const plain_opts[] = {
    "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async",
    "atime", "noatime", "relatime", "norelatime", "strictatime",
    "nostrictatime", "diratime", "nodiratime", "idmap", NULL,
};

/* Validate -v options and turn them into OCI options plus flags. */
static int volume_options(const char *spec, const char *opts,
                          struct spec_mount *m, berth_error_t *err)
{
    _cleanup_strv_ char **in = strv_split(opts ? opts : "", ",");
    int rw = 0, bind = 0, prop = 0;
    for (size_t i = 0; in[i]; i++) {
        const char *o = in[i];
        if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
            rw++;
        else if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0)
            bind++;
        else if (strv_contains((char *const *)propagations, o))
            prop++;
        else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0) {
            m->relabel = true;
            continue;
        } else if (strcmp(o, "U") == 0) {
            m->chown = true;
            continue;
        } else if (strcmp(o, "O") == 0) {
            m->overlay = true;
            continue;
        } else if (!strcmp(o, "copy") || !strcmp(o, "nocopy")) {
            continue; /* podman's volume copy-up switch, not for mount(2) */
        } else if (!strcmp(m->type, "tmpfs") &&
                   (str_has_prefix(o, "size=") || str_has_prefix(o, "mode=")))
            ; /* from --mount's tmpfs-size and tmpfs-mode */
        else if (!strv_contains((char *const *)plain_opts, o))
            return berth_error_new(err, 0,
                                   "invalid volume spec \"%s\": unknown "
                                   "option \"%s\"",
                                   spec, o);
        if (rw > 1 || bind > 1 || prop > 1)
            return berth_error_new(err, 0,
                                   "invalid volume spec \"%s\": conflicting "
                                   "option \"%s\"",
                                   spec, o);
        strv_append(&m->options, o);
    }
    if (m->options == NULL)
        m->options = xcalloc(1, sizeof(char *));
    if (!bind && strcmp(m->type, "tmpfs") != 0)
        strv_append(&m->options, "rbind");
    if (!prop && strcmp(m->type, "tmpfs") != 0)
        strv_append(&m->options, "rprivate");
    if (strcmp(m->type, "volume") == 0) {
        /* podman mounts named volumes nosuid,nodev unless told otherwise */
        if (!strv_contains(m->options, "suid"))
            strv_append(&m->options, "nosuid");
        if (!strv_contains(m->options, "dev"))
            strv_append(&m->options, "nodev");
    }
    return 0;
}

static int check_dest(const char *spec, const char *dst, berth_error_t *err)
{
    if (dst == NULL || dst[0] != '/')
        return berth_error_new(err, 0,
                               "invalid volume spec \"%s\": container path "
                               "\"%s\" must be an absolute path",
                               spec, dst ? dst : "");
    if (strcmp(dst, "/") == 0)
        return berth_error_new(err, 0,
                               "invalid volume spec \"%s\": cannot mount "
                               "over the container's root",
                               spec);
    return 0;
}

int spec_parse_volume(const char *spec, struct spec_mount *ret,
                      berth_error_t *err)
{
    _cleanup_strv_ char **f = NULL;
    struct spec_mount m = {0};
    /* strv_split drops empty fields; "::" must not silently collapse */
    if (spec == NULL || !*spec || strstr(spec, "::") || spec[0] == ':' ||
        str_has_suffix(spec, ":"))
        return berth_error_new(err, 0, "invalid volume spec \"%s\"",
                               spec ? spec : "");
    f = strv_split(spec, ":");
    size_t n = strv_len(f);
    if (n > 3)
        return berth_error_new(err, 0, "invalid volume spec \"%s\"", spec);
    if (n == 1) {
        m.type = xstrdup("volume"); /* anonymous */
        m.destination = xstrdup(f[0]);
    } else {
        bool path = f[0][0] == '/' || f[0][0] == '.';
        m.type = xstrdup(path ? "bind" : "volume");
        m.source = xstrdup(f[0]);
        m.destination = xstrdup(f[1]);
    }
    /* podman's volume name rule; "~/x" and "a/b" are typos, not names */
    if (!strcmp(m.type, "volume") && m.source &&
        (!isalnum((unsigned char)m.source[0]) ||
         strspn(m.source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_.-") != strlen(m.source))) {
        berth_error_new(err, 0,
                        "invalid volume spec \"%s\": \"%s\" is neither an "
                        "absolute path nor a valid volume name",
                        spec, m.source);
        spec_mount_clear(&m);
        return -1;
    }
    if (check_dest(spec, m.destination, err) < 0 ||
        volume_options(spec, n == 3 ? f[2] : NULL, &m, err) < 0) {
        spec_mount_clear(&m);
        return -1;
    }
    *ret = m;
    return 0;
}

/* One key=value (or bare flag) of --mount applied to m. */
static int mount_kv(const char *spec, const char *k, const char *v,
                    struct spec_mount *m, char ***opts, berth_error_t *err)
{
    if (!strcmp(k, "src") || !strcmp(k, "source")) {
        free(m->source);
        m->source = xstrdup(v ? v : "");
    } else if (!strcmp(k, "dst") || !strcmp(k, "destination") ||
               !strcmp(k, "target")) {
        free(m->destination);
        m->destination = xstrdup(v ? v : "");
    } else if (!strcmp(k, "ro") || !strcmp(k, "readonly")) {
        if (v == NULL || !strcmp(v, "true") || !strcmp(v, "1"))
            strv_append(opts, "ro");
        else if (strcmp(v, "false") && strcmp(v, "0"))
            return berth_error_new(err, 0, "invalid mount \"%s\": %s=%s",
                                   spec, k, v);
    } else if (!strcmp(k, "rw") && v == NULL) {
        strv_append(opts, "rw");
    } else if (!strcmp(k, "bind-propagation") && v &&
               strv_contains((char *const *)propagations, v)) {
        strv_append(opts, v);
    } else if (!strcmp(k, "bind-nonrecursive")) {
        strv_append(opts, "bind");
    } else if (!strcmp(k, "relabel") && v &&
               (!strcmp(v, "shared") || !strcmp(v, "private"))) {
        strv_append(opts, "z");
    } else if ((!strcmp(k, "U") || !strcmp(k, "chown")) &&
               (v == NULL || !strcmp(v, "true"))) {
        strv_append(opts, "U");
    } else if (!strcmp(k, "tmpfs-size") && v && parse_size(v) >= 0) {
        char *o = xasprintf("size=%lld", (long long)parse_size(v));
        strv_push(opts, o);
    } else if (!strcmp(k, "tmpfs-mode") && v && strspn(v, "01234567") ==
                                                     strlen(v) && *v) {
        char *o = xasprintf("mode=%s", v);
        strv_push(opts, o);
    } else if (v == NULL && strv_contains((char *const *)plain_opts, k)) {
        strv_append(opts, k);
    } else {
        return berth_error_new(err, 0, "invalid mount \"%s\": unknown "
                               "option \"%s\"", spec, k);
    }
    return 0;
}

static int mount_fields(const char *spec, struct spec_mount *m,
                        berth_error_t *err)
{
    _cleanup_strv_ char **f = strv_split(spec, ",");
    _cleanup_strv_ char **opts = xcalloc(1, sizeof(char *));
    for (size_t i = 0; f[i]; i++) {
        char *eq = strchr(f[i], '=');
        if (eq)
            *eq++ = '\0';
        if (strcmp(f[i], "type") == 0) {
            free(m->type);
            m->type = xstrdup(eq ? eq : "");
        } else if (mount_kv(spec, f[i], eq, m, &opts, err) < 0)
            return -1;
    }
    if (m->type == NULL)
        return berth_error_new(err, 0, "invalid mount \"%s\": type is "
                               "required", spec);
    if (strcmp(m->type, "bind") && strcmp(m->type, "volume") &&
        strcmp(m->type, "tmpfs"))
        return berth_error_new(err, 0, "invalid mount \"%s\": unsupported "
                               "type \"%s\"", spec, m->type);
    if (m->destination == NULL)
        return berth_error_new(err, 0, "invalid mount \"%s\": target is "
                               "required", spec);
    if (!strcmp(m->type, "bind") && (m->source == NULL || !*m->source))
        return berth_error_new(err, 0, "invalid mount \"%s\": source is "
                               "required for bind mounts", spec);
    if (!strcmp(m->type, "tmpfs") && m->source)
        return berth_error_new(err, 0, "invalid mount \"%s\": tmpfs takes "
                               "no source", spec);
    _cleanup_free_ char *joined = strv_join(opts, ",");
    return volume_options(spec, joined, m, err);
}

int spec_parse_mount(const char *spec, struct spec_mount *ret,
                     berth_error_t *err)
{
    struct spec_mount m = {0};
    if (spec == NULL || !*spec)
        return berth_error_new(err, 0, "invalid mount \"\"");
    if (mount_fields(spec, &m, err) < 0 ||
        check_dest(spec, m.destination, err) < 0) {
        spec_mount_clear(&m);
        return -1;
    }
    if (!strcmp(m.type, "tmpfs"))
        for (const char *const *d = (const char *const[]){"nosuid", "nodev",
                                                          NULL};
             *d; d++)
            if (!strv_contains(m.options, *d))
                strv_append(&m.options, *d);
    *ret = m;
    return 0;
}

int spec_parse_tmpfs(const char *spec, struct spec_mount *ret,
                     berth_error_t *err)
{
    struct spec_mount m = {.type = xstrdup("tmpfs")};
    const char *colon = spec ? strchr(spec, ':') : NULL;
    m.destination = colon ? xstrndup(spec, (size_t)(colon - spec))
                          : xstrdup(spec ? spec : "");
    _cleanup_strv_ char **o = strv_split(colon ? colon + 1 : "", ",");
    m.options = xcalloc(1, sizeof(char *));
    for (size_t i = 0; o[i]; i++)
        strv_append(&m.options, o[i]);
    /* podman's --tmpfs defaults */
    static const char *const dflt[] = {"rw", "noexec", "nosuid", "nodev",
                                       NULL};
    for (size_t i = 0; dflt[i]; i++) {
        bool set = strv_contains(m.options, dflt[i]) ||
                   (!strcmp(dflt[i], "rw") && strv_contains(m.options, "ro")) ||
                   (!strcmp(dflt[i], "noexec") &&
                    strv_contains(m.options, "exec"));
        if (!set)
            strv_append(&m.options, dflt[i]);
    }
    if (check_dest(spec ? spec : "", m.destination, err) < 0) {
        spec_mount_clear(&m);
        return -1;
    }
    *ret = m;
    return 0;
}
