#define _GNU_SOURCE
#include "runtime/spec.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "runtime/spec-internal.h"

static json_t *strv_json(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void mount_add(json_t *mounts, const char *dst, const char *type,
                      const char *src, const char *const *opts)
{
    json_array_append_new(mounts,
                          json_pack("{s:s, s:s, s:s, s:o}", "destination", dst,
                                    "type", type, "source", src, "options",
                                    strv_json(opts)));
}

static bool mounts_have_dest(json_t *mounts, const char *dst)
{
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m) if (strcmp(json_get_str(m, "destination")
                                                    ?: "",
                                                dst) == 0) return true;
    return false;
}

/* The file systems every container gets, as podman's default spec. */
static int default_mounts(json_t *mounts, const struct spec_opts *o,
                          berth_error_t *err)
{
    int64_t shm = parse_size(o->shm_size ? o->shm_size : "64m");
    if (shm <= 0)
        return berth_error_new(err, 0, "invalid --shm-size \"%s\"",
                               o->shm_size);
    _cleanup_free_ char *shm_opt = xasprintf("size=%lldk",
                                             (long long)(shm + 1023) / 1024);
    /* gid=5 (tty) exists only when the mapping covers it: a single-id
     * rootless mapping has no gid 5, and the mount would fail. */
    bool tty_gid = !(o->userns && o->userns->single);
    mount_add(mounts, "/proc", "proc", "proc",
              (const char *[]){"nosuid", "noexec", "nodev", NULL});
    mount_add(mounts, "/dev", "tmpfs", "tmpfs",
              (const char *[]){"nosuid", "strictatime", "mode=755",
                               "size=65536k", NULL});
    mount_add(mounts, "/dev/pts", "devpts", "devpts",
              (const char *[]){"nosuid", "noexec", "newinstance",
                               "ptmxmode=0666", "mode=0620",
                               tty_gid ? "gid=5" : NULL, NULL});
    mount_add(mounts, "/dev/mqueue", "mqueue", "mqueue",
              (const char *[]){"nosuid", "noexec", "nodev", NULL});
    mount_add(mounts, "/sys", "sysfs", "sysfs",
              (const char *[]){"nosuid", "noexec", "nodev",
                               o->privileged ? "rw" : "ro", NULL});
    mount_add(mounts, "/sys/fs/cgroup", "cgroup", "cgroup",
              (const char *[]){"rprivate", "nosuid", "noexec", "nodev",
                               "relatime", o->privileged ? "rw" : "ro",
                               NULL});
    mount_add(mounts, "/dev/shm", "tmpfs", "shm",
              (const char *[]){"nosuid", "noexec", "nodev", "mode=1777",
                               shm_opt, NULL});
    return 0;
}

static void etc_mounts(json_t *mounts, const struct spec_opts *o)
{
    const char *files[][2] = {{"/etc/hosts", o->hosts_path},
                              {"/etc/resolv.conf", o->resolv_conf_path},
                              {"/etc/hostname", o->hostname_path}};
    for (size_t i = 0; i < 3; i++)
        if (files[i][1] && !mounts_have_dest(mounts, files[i][0]))
            mount_add(mounts, files[i][0], "bind", files[i][1],
                      (const char *[]){"bind", "rprivate", NULL});
}

static int user_mount_add(json_t *mounts, struct spec_mount *m,
                          const struct spec_opts *o, berth_error_t *err)
{
    _cleanup_free_ char *src = NULL;
    if (strcmp(m->type, "volume") == 0) {
        if (o->volume_resolve == NULL)
            return berth_error_new(err, 0, "volume %s: no volume store",
                                   m->source ? m->source : "(anonymous)");
        if (o->volume_resolve(o->volume_resolve_arg, m->source, &src, err) < 0)
            return -1;
    } else if (strcmp(m->type, "bind") == 0) {
        src = realpath(m->source, NULL);
        if (src == NULL)
            return berth_error_new(err, errno,
                                   "invalid volume spec: host path %s",
                                   m->source);
    }
    /* A later mount over the same path replaces the earlier one, so -v
     * over a default like /dev/shm works as in podman. */
    size_t i;
    json_t *e;
    json_array_foreach(mounts, i, e) if (strcmp(json_get_str(e, "destination"),
                                                m->destination) == 0)
    {
        json_array_remove(mounts, i);
        break;
    }
    const char *type = strcmp(m->type, "tmpfs") == 0 ? "tmpfs" : "bind";
    mount_add(mounts, m->destination, type, src ? src : "tmpfs",
              (const char *const *)m->options);
    return 0;
}

typedef int (*mount_parser)(const char *, struct spec_mount *,
                            berth_error_t *);

int spec_build_mounts(json_t *spec, const struct spec_opts *o,
                      berth_error_t *err)
{
    json_t *mounts = json_array();
    json_object_set_new(spec, "mounts", mounts);
    if (default_mounts(mounts, o, err) < 0)
        return -1;
    char *const *lists[] = {o->volumes, o->mounts, o->tmpfs};
    mount_parser parsers[] = {spec_parse_volume, spec_parse_mount,
                              spec_parse_tmpfs};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; lists[l] && lists[l][i]; i++) {
            struct spec_mount m = {0};
            if (parsers[l](lists[l][i], &m, err) < 0)
                return -1;
            int r = user_mount_add(mounts, &m, o, err);
            spec_mount_clear(&m);
            if (r < 0)
                return -1;
        }
    /* --read-only keeps the usual scratch places writable, as podman's
     * --read-only-tmpfs (default true). */
    static const char *const scratch[] = {"/tmp", "/var/tmp", "/run", NULL};
    for (size_t i = 0; o->read_only && !o->no_read_only_tmpfs && scratch[i];
         i++)
        if (!mounts_have_dest(mounts, scratch[i]))
            mount_add(mounts, scratch[i], "tmpfs", "tmpfs",
                      (const char *[]){"rw", "rprivate", "nosuid", "nodev",
                                       "tmpcopyup", NULL});
    etc_mounts(mounts, o);
    return 0;
}

/* --device HOST[:CTR[:perms]] */
static int device_add(json_t *spec, json_t *devices, json_t *rules,
                      const char *arg, bool rootless, berth_error_t *err)
{
    _cleanup_strv_ char **f = strv_split(arg, ":");
    size_t n = strv_len(f);
    const char *perms = "rwm";
    if (n == 0 || n > 3 || f[0][0] != '/')
        return berth_error_new(err, 0, "invalid device spec \"%s\"", arg);
    const char *dst = n >= 2 && f[1][0] == '/' ? f[1] : f[0];
    if (n == 3 || (n == 2 && f[1][0] != '/'))
        perms = f[n - 1];
    if (!*perms || strspn(perms, "rwm") != strlen(perms))
        return berth_error_new(err, 0,
                               "invalid device spec \"%s\": invalid mode "
                               "\"%s\"",
                               arg, perms);
    struct stat st;
    if (stat(f[0], &st) < 0)
        return berth_error_new(err, errno, "device %s", f[0]);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return berth_error_new(err, 0, "device %s: not a device node", f[0]);
    if (rootless) {
        /* An unprivileged user cannot mknod; podman binds the node. */
        mount_add(json_object_get(spec, "mounts"), dst, "bind", f[0],
                  (const char *[]){"bind", "private", NULL});
        return 0;
    }
    const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
    json_array_append_new(
        devices, json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "path", dst,
                           "type", type, "major",
                           (json_int_t)major(st.st_rdev), "minor",
                           (json_int_t)minor(st.st_rdev), "fileMode",
                           (int)(st.st_mode & 07777), "uid", 0, "gid", 0));
    json_array_append_new(
        rules, json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type", type,
                         "major", (json_int_t)major(st.st_rdev), "minor",
                         (json_int_t)minor(st.st_rdev), "access", perms));
    return 0;
}

/* --privileged: every device node of the host, as podman, down to
 * /dev/net/tun and /dev/dri/... (one level of directories).  The runtime
 * makes the standard nodes (null, zero, tty, ptmx, console...) itself,
 * and pts, shm and mqueue are file systems of the container's own. */
static int privileged_devices(json_t *spec, json_t *devices, const char *dir,
                              int depth, bool rootless, berth_error_t *err)
{
    static const char *const skip[] = {
        "pts",  "shm",  "mqueue", "fd",     "console", "ptmx", "tty",
        "null", "zero", "full",   "random", "urandom", "core", NULL,
    };
    _cleanup_closedir_ DIR *d = opendir(dir);
    _cleanup_json_ json_t *rules = json_array(); /* all allowed anyway */
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' ||
            (depth == 0 && strv_contains((char *const *)skip, de->d_name)))
            continue;
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth == 0) {
            if (privileged_devices(spec, devices, p, 1, rootless, err) < 0)
                return -1;
        } else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) &&
                   device_add(spec, devices, rules, p, rootless, err) < 0) {
            return -1;
        }
    }
    return 0;
}

int spec_build_devices(json_t *spec, const struct spec_opts *o,
                       berth_error_t *err)
{
    json_t *linux_ = json_object_get(spec, "linux");
    json_t *res = json_object_get(linux_, "resources");
    json_t *devices = json_array();
    json_t *rules = json_array();
    json_object_set_new(linux_, "devices", devices);
    /* Rootful containers start from deny-all in the devices cgroup; the
     * runtime adds the default nodes (null, zero, tty, ...) itself. */
    if (!o->rootless && !o->privileged)
        json_array_append_new(rules, json_pack("{s:b, s:s}", "allow", 0,
                                               "access", "rwm"));
    if (o->privileged && !o->rootless)
        json_array_append_new(rules, json_pack("{s:b, s:s}", "allow", 1,
                                               "access", "rwm"));
    if (o->privileged &&
        privileged_devices(spec, devices, "/dev", 0, o->rootless, err) < 0) {
        json_decref(rules);
        return -1;
    }
    for (size_t i = 0; o->devices && o->devices[i]; i++)
        if (device_add(spec, devices, rules, o->devices[i], o->rootless,
                       err) < 0) {
            json_decref(rules);
            return -1;
        }
    if (json_array_size(rules))
        json_object_set_new(res, "devices", rules);
    else
        json_decref(rules);
    return 0;
}
