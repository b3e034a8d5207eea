/* The container's OCI runtime config.json, generated as podman generates
 * it for `podman run`: process (args, env, cwd, user, rlimits,
 * capabilities), mounts, masked and read-only paths, namespaces, seccomp,
 * devices, resources.  Also the parsers of the flags that feed it (-v,
 * --mount, --tmpfs, --device, --ulimit, resource flags), so cmd/ reports
 * a bad value before anything is created.  Nothing here changes the
 * host: it reads the rootfs's /etc/passwd and /etc/group (symlinks
 * resolved inside the rootfs), --env-file files, a seccomp profile file,
 * the host's device nodes (--device, --privileged), bind sources
 * (realpath) and this process's rlimits and capabilities. */
#ifndef BERTH_RUNTIME_SPEC_H
#define BERTH_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"

struct userns_mapping;

/* One parsed -v, --mount or --tmpfs.  options are OCI mount options. */
struct spec_mount {
    char *type;        /* "bind", "volume" or "tmpfs" */
    char *source;      /* host path, volume name, or NULL (anonymous
                          volume, tmpfs) */
    char *destination; /* absolute path in the container */
    char **options;    /* NULL-terminated: "ro", "rbind", "rprivate", ... */
    bool relabel;      /* z or Z: accepted; berth has no SELinux labels */
    bool chown;        /* U: chown the source to the container user */
    bool overlay;      /* O: overlay on top of the source */
};
void spec_mount_clear(struct spec_mount *m);

/* -v/--volume SRC:DST[:OPTS] or DST (anonymous volume).  SRC starting
 * with / or . is a bind mount, else a named volume. */
int spec_parse_volume(const char *spec, struct spec_mount *ret,
                      berth_error_t *err);
/* --mount type=bind|volume|tmpfs,source=,target=,ro,... */
int spec_parse_mount(const char *spec, struct spec_mount *ret,
                     berth_error_t *err);
/* --tmpfs DST[:OPTS] */
int spec_parse_tmpfs(const char *spec, struct spec_mount *ret,
                     berth_error_t *err);

/* Resolve a user spec ("name", "uid", "name:group", "uid:gid") against
 * ROOTFS/etc/passwd and /etc/group as runc does: a numeric uid needs no
 * entry (gid 0, home "/"), a name does; supplementary groups are the
 * groups listing the user, unless a group was given.  group_add entries
 * (names or gids) are appended to *ret_additional_gids. */
int spec_resolve_user(const char *rootfs, const char *userspec,
                      char *const *group_add, uid_t *ret_uid, gid_t *ret_gid,
                      gid_t **ret_additional_gids, size_t *ret_n_additional,
                      char **ret_home, berth_error_t *err);

/* Callback to turn a named volume into its host path (storage/ owns
 * volumes); NULL name means an anonymous volume to create. */
typedef int (*spec_volume_resolver)(void *arg, const char *name,
                                    char **ret_path, berth_error_t *err);

struct spec_opts {
    const char *rootfs;        /* root.path; also where users are looked up */
    const char *hostname;      /* NULL: none set */
    char *const *command;      /* positional command; NULL: image Cmd */
    const char *entrypoint;    /* --entrypoint; NULL: image's; "" clears;
                                  a JSON array string is parsed */
    char *const *env;          /* -e KEY=VAL, KEY (host value), PREFIX* */
    char *const *env_files;    /* --env-file paths */
    const char *workdir;       /* -w */
    const char *user;          /* -u; NULL: image User */
    char *const *group_add;    /* --group-add; "keep-groups" as crun's */
    bool tty;                  /* -t */
    char *const *ulimits;      /* --ulimit name=soft[:hard] */
    char *const *cap_add, *const *cap_drop;
    bool privileged;
    char *const *security_opts; /* no-new-privileges, seccomp=,
                                   label=, apparmor=, mask=, unmask= */
    const char *shm_size;       /* --shm-size, default 64m */
    /* The per-container files bind-mounted over the image's; NULL: none */
    const char *hosts_path, *resolv_conf_path, *hostname_path;
    char *const *volumes;       /* -v */
    char *const *mounts;        /* --mount */
    char *const *tmpfs;         /* --tmpfs */
    spec_volume_resolver volume_resolve;
    void *volume_resolve_arg;
    bool read_only;             /* --read-only */
    bool no_read_only_tmpfs;    /* --read-only-tmpfs=false */
    char *const *devices;       /* --device HOST[:CTR[:perms]] */
    const char *network;        /* "host" shares the host's; else private */
    const char *network_path;   /* join this network namespace, or NULL */
    bool rootless;              /* devices bound, rlimits clamped, ... */
    /* When non-NULL, a user namespace with these mappings; podman adds
     * none when running as root unless asked (--userns). */
    const struct userns_mapping *userns;
    char *const *annotations;   /* KEY=VAL */
    json_t *resources;          /* linux.resources (borrowed), or NULL */
    const char *cgroups_path;   /* linux.cgroupsPath, or NULL */
};

int spec_generate(json_t *image_config, const struct spec_opts *o,
                  json_t **ret, berth_error_t *err);

/* Resource flags as typed; NULL when not given. */
struct spec_resource_opts {
    const char *memory;             /* -m, --memory: 512m, 1g, bytes */
    const char *memory_swap;        /* -1 unlimited; memory+swap total */
    const char *memory_reservation;
    const char *cpus;               /* 1.5 */
    const char *cpu_shares;
    const char *cpu_quota, *cpu_period;
    const char *cpuset_cpus, *cpuset_mems;
    const char *pids_limit;         /* -1 or 0: unlimited */
    const char *blkio_weight;       /* 10..1000 */
};
/* linux.resources as podman fills it; an empty object when nothing set. */
int spec_parse_resources(const struct spec_resource_opts *r, json_t **ret,
                         berth_error_t *err);

/* --ulimit name=soft[:hard] to an OCI rlimit {type, soft, hard}. */
int spec_parse_ulimit(const char *spec, json_t **ret, berth_error_t *err);

#endif
