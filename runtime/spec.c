#define _GNU_SOURCE
#include "runtime/spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "runtime/caps.h"
#include "runtime/seccomp-default.h"
#include "runtime/spec-internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const masked_paths[] = {
    "/proc/acpi",        "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",        "/sys/firmware",
    "/sys/fs/selinux",   "/sys/dev/block",    NULL,
};
static const char *const readonly_paths[] = {
    "/proc/asound", "/proc/bus",      "/proc/fs",
    "/proc/irq",    "/proc/sys",      "/proc/sysrq-trigger", NULL,
};

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void json_strv_append(json_t *a, char ***v)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (json_is_string(e))
        strv_append(v, json_string_value(e));
}

/* podman: --entrypoint replaces the image's Entrypoint and drops its
 * Cmd; a value that parses as a JSON array is the exec form. */
static int build_args(json_t *cfg, const struct spec_opts *o, char ***ret,
                      berth_error_t *err)
{
    _cleanup_strv_ char **args = xcalloc(1, sizeof(char *));
    if (o->entrypoint == NULL) {
        json_strv_append(json_object_get(cfg, "Entrypoint"), &args);
    } else if (o->entrypoint[0] == '[') {
        _cleanup_json_ json_t *a = json_loads(o->entrypoint, 0, NULL);
        if (!json_is_array(a))
            return berth_error_new(err, 0, "invalid --entrypoint \"%s\"",
                                   o->entrypoint);
        json_strv_append(a, &args);
    } else if (*o->entrypoint) {
        strv_append(&args, o->entrypoint);
    }
    if (o->command && o->command[0]) {
        for (size_t i = 0; o->command[i]; i++)
            strv_append(&args, o->command[i]);
    } else if (o->entrypoint == NULL) {
        json_strv_append(json_object_get(cfg, "Cmd"), &args);
    }
    if (args[0] == NULL)
        return berth_error_new(err, 0,
                               "no command or entrypoint provided, and no "
                               "CMD or ENTRYPOINT from image");
    *ret = TAKE_PTR(args);
    return 0;
}

/* Set KEY=VAL, replacing an earlier value of KEY. */
static void env_set(char ***env, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; (*env)[i]; i++)
        if (strncmp((*env)[i], kv, klen) == 0 && (*env)[i][klen] == '=') {
            free((*env)[i]);
            (*env)[i] = xstrdup(kv);
            return;
        }
    strv_append(env, kv);
}

static const char *env_get(char **env, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
            return env[i] + klen + 1;
    return NULL;
}

/* One -e or --env-file entry: KEY=VAL; KEY takes the host's value (and
 * is skipped when the host has none); PREFIX* takes every host match. */
static void env_add_one(char ***env, const char *e)
{
    if (strchr(e, '=')) {
        env_set(env, e);
        return;
    }
    size_t len = strlen(e);
    if (len && e[len - 1] == '*') {
        for (char **h = environ; h && *h; h++)
            if (strncmp(*h, e, len - 1) == 0)
                env_set(env, *h);
        return;
    }
    const char *v = getenv(e);
    if (v) {
        _cleanup_free_ char *kv = xasprintf("%s=%s", e, v);
        env_set(env, kv);
    }
}

static int env_file_add(char ***env, const char *path, berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    if (fs_read_file(path, &buf, NULL, err) < 0)
        return berth_error_prefix(err, "--env-file");
    _cleanup_strv_ char **lines = strv_split(buf, "\n");
    for (size_t i = 0; lines[i]; i++) {
        char *l = lines[i] + strspn(lines[i], " \t");
        l[strcspn(l, "\r")] = '\0';
        if (*l == '\0' || *l == '#')
            continue;
        if (*l == '=')
            return berth_error_new(err, 0,
                                   "--env-file %s: invalid environment "
                                   "variable \"%s\"",
                                   path, l);
        env_add_one(env, l);
    }
    return 0;
}

static int build_env(json_t *cfg, const struct spec_opts *o, const char *home,
                     char ***ret, berth_error_t *err)
{
    _cleanup_strv_ char **env = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cfg, "Env"), i, e) if (
        json_is_string(e) && strchr(json_string_value(e), '='))
        env_set(&env, json_string_value(e));
    for (i = 0; o->env_files && o->env_files[i]; i++)
        if (env_file_add(&env, o->env_files[i], err) < 0)
            return -1;
    for (i = 0; o->env && o->env[i]; i++) {
        if (o->env[i][0] == '=' || o->env[i][0] == '\0')
            return berth_error_new(err, 0,
                                   "invalid environment variable \"%s\"",
                                   o->env[i]);
        env_add_one(&env, o->env[i]);
    }
    if (!env_get(env, "PATH"))
        strv_append(&env, "PATH=" DEFAULT_PATH);
    if (o->tty && !env_get(env, "TERM"))
        strv_append(&env, "TERM=xterm");
    env_set(&env, "container=berth");
    if (o->hostname && !env_get(env, "HOSTNAME"))
        strv_push(&env, xasprintf("HOSTNAME=%s", o->hostname));
    if (!env_get(env, "HOME"))
        strv_push(&env, xasprintf("HOME=%s", home && *home ? home : "/"));
    *ret = TAKE_PTR(env);
    return 0;
}

static int build_user(json_t *cfg, const struct spec_opts *o, json_t *process,
                      char **ret_home, berth_error_t *err)
{
    const char *spec = o->user ? o->user : json_get_str(cfg, "User");
    uid_t uid;
    gid_t gid;
    _cleanup_free_ gid_t *gids = NULL;
    size_t n;
    if (spec_resolve_user(o->rootfs, spec, o->group_add, &uid, &gid, &gids,
                          &n, ret_home, err) < 0)
        return -1;
    /* umask 0022 as podman sets it, not whatever berth was started with */
    json_t *user = json_pack("{s:I, s:I, s:i}", "uid", (json_int_t)uid, "gid",
                             (json_int_t)gid, "umask", 022);
    if (n) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_integer(gids[i]));
        json_object_set_new(user, "additionalGids", a);
    }
    json_object_set_new(process, "user", user);
    return 0;
}

struct security {
    bool nnp, seccomp_off, unmask_all;
    char *seccomp_path;
    char **mask, **unmask;
};

static void security_clear(struct security *s)
{
    free(s->seccomp_path);
    strv_free(s->mask);
    strv_free(s->unmask);
}

static int security_opt(struct security *s, const char *opt,
                        berth_error_t *err)
{
    const char *v = strpbrk(opt, "=:");
    size_t klen = v ? (size_t)(v - opt) : strlen(opt);
    v = v ? v + 1 : NULL;
#define KEY(k) (klen == strlen(k) && strncmp(opt, k, klen) == 0)
    if (KEY("no-new-privileges") && (!v || !strcmp(v, "true")))
        s->nnp = true;
    else if (KEY("no-new-privileges") && !strcmp(v, "false"))
        s->nnp = false;
    else if (KEY("seccomp") && v && !strcmp(v, "unconfined"))
        s->seccomp_off = true;
    else if (KEY("seccomp") && v && *v) {
        free(s->seccomp_path);
        s->seccomp_path = xstrdup(v);
    } else if ((KEY("label") || KEY("apparmor")) && v)
        ; /* no SELinux or AppArmor support: accepted, as on hosts without */
    else if (KEY("mask") && v) {
        _cleanup_strv_ char **p = strv_split(v, ":");
        for (size_t i = 0; p[i]; i++)
            strv_append(&s->mask, p[i]);
    } else if (KEY("unmask") && v) {
        _cleanup_strv_ char **p = strv_split(v, ":");
        for (size_t i = 0; p[i]; i++)
            if (!strcmp(p[i], "ALL"))
                s->unmask_all = true;
            else
                strv_append(&s->unmask, p[i]);
    } else
        return berth_error_new(err, 0, "invalid --security-opt \"%s\"", opt);
#undef KEY
    return 0;
}

static json_t *paths_json(const char *const *dflt, const struct security *s,
                          bool with_mask)
{
    json_t *a = json_array();
    for (size_t i = 0; dflt[i]; i++)
        if (!s->unmask_all && !strv_contains(s->unmask, dflt[i]))
            json_array_append_new(a, json_string(dflt[i]));
    for (size_t i = 0; with_mask && s->mask && s->mask[i]; i++)
        json_array_append_new(a, json_string(s->mask[i]));
    return a;
}

static void build_caps(json_t *process, uint64_t mask, uint64_t added,
                       bool root)
{
    _cleanup_strv_ char **all = caps_mask_to_strv(mask);
    /* A non-root process user starts with empty effective and permitted
     * sets except what --cap-add named, as podman 4. */
    _cleanup_strv_ char **eff = caps_mask_to_strv(root ? mask : mask & added);
    json_object_set_new(process, "capabilities",
                        json_pack("{s:o, s:o, s:o}", "bounding",
                                  strv_to_json(all), "effective",
                                  strv_to_json(eff), "permitted",
                                  strv_to_json(eff)));
}

static int build_seccomp(json_t *linux_, const struct security *s,
                         uint64_t mask, bool privileged, berth_error_t *err)
{
    json_t *prof;
    if (s->seccomp_path) {
        if (strcmp(s->seccomp_path, "unconfined") == 0)
            return 0;
        _cleanup_json_ json_t *file = json_load_path(s->seccomp_path, err);
        if (file == NULL)
            return berth_error_prefix(err, "seccomp profile");
        prof = seccomp_profile_convert(file, mask, err);
        if (prof == NULL)
            return berth_error_prefix(err, "seccomp profile %s",
                                      s->seccomp_path);
    } else if (s->seccomp_off || privileged) {
        return 0;
    } else {
        prof = seccomp_default_profile(mask);
    }
    json_object_set_new(linux_, "seccomp", prof);
    return 0;
}

static int build_security(json_t *spec, json_t *process,
                          const struct spec_opts *o, berth_error_t *err)
{
    _cleanup_(security_clear) struct security s = {0};
    uint64_t mask, added;
    json_t *linux_ = json_object_get(spec, "linux");
    for (size_t i = 0; o->security_opts && o->security_opts[i]; i++)
        if (security_opt(&s, o->security_opts[i], err) < 0)
            return -1;
    if (caps_compute(o->cap_add, o->cap_drop, o->privileged, &mask, err) < 0 ||
        caps_compute(o->cap_add, (char *const[]){"ALL", NULL}, false, &added,
                     err) < 0)
        return -1;
    json_t *user = json_object_get(process, "user");
    build_caps(process, mask, added,
               json_integer_value(json_object_get(user, "uid")) == 0);
    if (s.nnp)
        json_object_set_new(process, "noNewPrivileges", json_true());
    if (build_seccomp(linux_, &s, mask, o->privileged, err) < 0)
        return -1;
    if (!o->privileged) {
        json_object_set_new(linux_, "maskedPaths",
                            paths_json(masked_paths, &s, true));
        json_object_set_new(linux_, "readonlyPaths",
                            paths_json(readonly_paths, &s, false));
    }
    return 0;
}

static json_t *idmap_json(const struct idmap_range *r, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            a, json_pack("{s:I, s:I, s:I}", "containerID",
                         (json_int_t)r[i].container, "hostID",
                         (json_int_t)r[i].host, "size", (json_int_t)r[i].size));
    return a;
}

static void build_namespaces(json_t *linux_, const struct spec_opts *o)
{
    json_t *ns = json_array();
    const char *types[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (!strcmp(types[i], "network") && o->network &&
            !strcmp(o->network, "host"))
            continue;
        if (!strcmp(types[i], "network") && o->network_path) {
            json_array_append_new(ns, json_pack("{s:s,s:s}", "type", types[i],
                                                "path", o->network_path));
            continue;
        }
        json_array_append_new(ns, json_pack("{s:s}", "type", types[i]));
    }
    /* containers.conf's default_sysctls: unprivileged ICMP sockets, so
     * ping works without CAP_NET_RAW; only in a network namespace of the
     * container's own. */
    if (!(o->network && !strcmp(o->network, "host")) && !o->network_path)
        json_object_set_new(linux_, "sysctl",
                            json_pack("{s:s}", "net.ipv4.ping_group_range",
                                      "0 0"));
    if (o->userns) {
        json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
        json_object_set_new(linux_, "uidMappings",
                            idmap_json(o->userns->uid, o->userns->n_uid));
        json_object_set_new(linux_, "gidMappings",
                            idmap_json(o->userns->gid, o->userns->n_gid));
    }
    json_object_set_new(linux_, "namespaces", ns);
}

static int build_annotations(json_t *spec, const struct spec_opts *o,
                             berth_error_t *err)
{
    json_t *a = json_object();
    json_object_set_new(spec, "annotations", a);
    for (size_t i = 0; o->annotations && o->annotations[i]; i++) {
        const char *eq = strchr(o->annotations[i], '=');
        if (eq == NULL || eq == o->annotations[i])
            return berth_error_new(err, 0, "invalid annotation \"%s\": "
                                   "expected KEY=VALUE", o->annotations[i]);
        _cleanup_free_ char *k = xstrndup(o->annotations[i],
                                          (size_t)(eq - o->annotations[i]));
        json_object_set_new(a, k, json_string(eq + 1));
    }
    /* crun's way of keeping the caller's supplementary groups */
    if (strv_contains(o->group_add, "keep-groups"))
        json_object_set_new(a, "run.oci.keep_original_groups",
                            json_string("1"));
    return 0;
}

static int build_process(json_t *cfg, const struct spec_opts *o,
                         json_t *process, berth_error_t *err)
{
    _cleanup_strv_ char **args = NULL, **env = NULL;
    _cleanup_free_ char *home = NULL;
    if (build_args(cfg, o, &args, err) < 0 ||
        build_user(cfg, o, process, &home, err) < 0 ||
        build_env(cfg, o, home, &env, err) < 0)
        return -1;
    const char *cwd = o->workdir && *o->workdir ? o->workdir
                                                : json_get_str(cfg, "WorkingDir");
    if (cwd == NULL || *cwd == '\0')
        cwd = "/";
    if (*cwd != '/')
        return berth_error_new(err, 0, "invalid working directory \"%s\": "
                               "must be an absolute path", cwd);
    json_object_set_new(process, "terminal", json_boolean(o->tty));
    json_object_set_new(process, "args", strv_to_json(args));
    json_object_set_new(process, "env", strv_to_json(env));
    json_object_set_new(process, "cwd", json_string(cwd));
    return spec_build_rlimits(process, o, err);
}

int spec_generate(json_t *image_config, const struct spec_opts *o,
                  json_t **ret, berth_error_t *err)
{
    json_t *cfg = json_object_get(image_config, "config");
    if (o->rootfs == NULL)
        return berth_error_new(err, EINVAL, "spec: no rootfs");
    _cleanup_json_ json_t *spec = json_pack(
        "{s:s, s:{s:s, s:b}, s:{}, s:{s:{}}}", "ociVersion", "1.0.2", "root",
        "path", o->rootfs, "readonly", o->read_only, "process", "linux",
        "resources");
    json_t *process = json_object_get(spec, "process");
    json_t *linux_ = json_object_get(spec, "linux");
    if (o->hostname)
        json_object_set_new(spec, "hostname", json_string(o->hostname));
    if (build_process(cfg, o, process, err) < 0 ||
        build_security(spec, process, o, err) < 0)
        return -1;
    if (o->resources)
        json_object_update(json_object_get(linux_, "resources"), o->resources);
    if (o->cgroups_path)
        json_object_set_new(linux_, "cgroupsPath",
                            json_string(o->cgroups_path));
    build_namespaces(linux_, o);
    if (spec_build_mounts(spec, o, err) < 0 ||
        spec_build_devices(spec, o, err) < 0 ||
        build_annotations(spec, o, err) < 0)
        return -1;
    *ret = TAKE_PTR(spec);
    return 0;
}
