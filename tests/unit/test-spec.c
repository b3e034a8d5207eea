#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "runtime/caps.h"
#include "runtime/seccomp-default.h"
#include "runtime/spec.h"
#include "tests/unit/tap.h"

static char *rootfs; /* fake rootfs with etc/passwd and etc/group */

static int write_file(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    berth_error_t e = NULL;
    _cleanup_free_ char *d = xstrdup(p);
    *strrchr(d, '/') = '\0';
    if (fs_mkdir_p(d, 0755, &e) < 0 ||
        fs_write_file_atomic(p, text, strlen(text), 0644, &e) < 0) {
        fprintf(stderr, "# %s\n", e->msg);
        berth_error_free(&e);
        return -1;
    }
    return 0;
}

static const char *setup_rootfs(void)
{
    if (rootfs)
        return rootfs;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    rootfs = xasprintf("%s/test-spec-XXXXXX", tmp);
    if (mkdtemp(rootfs) == NULL)
        abort();
    write_file(rootfs, "etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
               "# a comment line is not an entry\n"
               "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
               "nohome:x:1001:1001::/:/bin/sh\n");
    write_file(rootfs, "etc/group",
               "root:x:0:\n"
               "wheel:x:10:root,alice\n"
               "audio:x:29:alice\n"
               "alice:x:1000:\n"
               "staff:x:50:\n");
    return rootfs;
}

/* What the spec should say for a default rlimit: podman's value, or the
 * current hard limit when this process cannot raise it (no
 * CAP_SYS_RESOURCE: rootless, or root in a sandbox). */
static uint64_t expected_rlimit(int res, uint64_t dflt, bool rootless)
{
    _cleanup_free_ char *status = NULL;
    berth_error_t e = NULL;
    bool can = false;
    if (!rootless && fs_read_file("/proc/self/status", &status, NULL, &e) == 0) {
        char *p = strstr(status, "CapEff:");
        can = p && (strtoull(p + 7, NULL, 16) >> 24) & 1;
    }
    berth_error_free(&e);
    struct rlimit cur;
    if (!can && getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
        cur.rlim_max < dflt)
        return cur.rlim_max;
    return dflt;
}

static json_t *busybox_config(void)
{
    return json_pack("{s:{s:[s], s:[s]}}", "config", "Env",
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                     "/sbin:/bin",
                     "Cmd", "sh");
}

/* Compare a JSON array of strings with a NULL-terminated list. */
static bool quiet;

static int strarr_eq(json_t *a, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    if (json_array_size(a) != n) {
        if (quiet)
            return 0;
        char *s = json_dumps(a, JSON_COMPACT);
        fprintf(stderr, "# got %s (%zu items, want %zu)\n", s ? s : "null",
                json_array_size(a), n);
        free(s);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(a, i)) ||
            strcmp(json_string_value(json_array_get(a, i)), want[i])) {
            if (quiet)
                return 0;
            fprintf(stderr, "# item %zu: got %s want %s\n", i,
                    json_string_value(json_array_get(a, i)), want[i]);
            return 0;
        }
    return 1;
}

static json_t *gen(json_t *img, const struct spec_opts *o, char **ret_err)
{
    berth_error_t e = NULL;
    json_t *spec = NULL;
    if (spec_generate(img, o, &spec, &e) < 0) {
        if (ret_err)
            *ret_err = xstrdup(e->msg);
        else
            fprintf(stderr, "# spec_generate: %s\n", e->msg);
        berth_error_free(&e);
        return NULL;
    }
    return spec;
}

static json_t *mount_at(json_t *spec, const char *dst)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m) if (
        strcmp(json_get_str(m, "destination"), dst) == 0) return m;
    return NULL;
}

static int check_default_linux(json_t *s);
static int check_default_process(json_t *s);

static int test_default_busybox(void)
{
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = setup_rootfs(), .hostname = "abc123"};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    TAP_CHECK(s);
    return check_default_process(s) < 0 ? -1 : check_default_linux(s);
}

/* Everything but mounts and linux for a busybox image, field by field. */
static int check_default_process(json_t *s)
{
    TAP_STREQ(json_get_str(s, "ociVersion"), "1.0.2");
    TAP_STREQ(json_get_str(s, "hostname"), "abc123");
    json_t *root = json_object_get(s, "root");
    TAP_STREQ(json_get_str(root, "path"), rootfs);
    TAP_CHECK(json_is_false(json_object_get(root, "readonly")));
    json_t *p = json_object_get(s, "process");
    TAP_CHECK(json_is_false(json_object_get(p, "terminal")));
    TAP_CHECK(strarr_eq(json_object_get(p, "args"), (const char *[]){"sh", NULL}));
    TAP_CHECK(strarr_eq(json_object_get(p, "env"),
                        (const char *[]){"PATH=/usr/local/sbin:/usr/local/bin:"
                                         "/usr/sbin:/usr/bin:/sbin:/bin",
                                         "container=berth", "HOSTNAME=abc123",
                                         "HOME=/root", NULL}));
    TAP_STREQ(json_get_str(p, "cwd"), "/");
    json_t *user = json_object_get(p, "user");
    TAP_CHECK(json_get_int(user, "uid", -1) == 0);
    TAP_CHECK(json_get_int(user, "gid", -1) == 0);
    TAP_CHECK(json_get_int(user, "umask", -1) == 022);
    json_t *ag = json_object_get(user, "additionalGids");
    TAP_CHECK(json_array_size(ag) == 1 &&
              json_integer_value(json_array_get(ag, 0)) == 10);
    const char *caps[] = {"CAP_CHOWN",       "CAP_DAC_OVERRIDE",
                          "CAP_FOWNER",      "CAP_FSETID",
                          "CAP_KILL",        "CAP_SETGID",
                          "CAP_SETUID",      "CAP_SETPCAP",
                          "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                          "CAP_SETFCAP",     NULL};
    json_t *c = json_object_get(p, "capabilities");
    TAP_CHECK(strarr_eq(json_object_get(c, "bounding"), caps));
    TAP_CHECK(strarr_eq(json_object_get(c, "effective"), caps));
    TAP_CHECK(strarr_eq(json_object_get(c, "permitted"), caps));
    TAP_CHECK(json_object_get(c, "inheritable") == NULL);
    TAP_CHECK(json_object_get(p, "noNewPrivileges") == NULL);
    json_t *rl = json_object_get(p, "rlimits");
    TAP_CHECK(json_array_size(rl) == 2);
    TAP_STREQ(json_get_str(json_array_get(rl, 0), "type"), "RLIMIT_NOFILE");
    uint64_t nofile = expected_rlimit(RLIMIT_NOFILE, 1048576, false);
    uint64_t nproc = expected_rlimit(RLIMIT_NPROC, 4194304, false);
    TAP_CHECK((uint64_t)json_get_int(json_array_get(rl, 0), "soft", 0) ==
              nofile);
    TAP_CHECK((uint64_t)json_get_int(json_array_get(rl, 0), "hard", 0) ==
              nofile);
    TAP_STREQ(json_get_str(json_array_get(rl, 1), "type"), "RLIMIT_NPROC");
    TAP_CHECK((uint64_t)json_get_int(json_array_get(rl, 1), "soft", 0) ==
              nproc);

    return 0;
}

/* The rest of the busybox default: mounts and the linux section. */
static int check_default_linux(json_t *s)
{
    const char *dsts[] = {"/proc",     "/dev",           "/dev/pts",
                          "/dev/mqueue", "/sys",         "/sys/fs/cgroup",
                          "/dev/shm",  NULL};
    json_t *mounts = json_object_get(s, "mounts");
    TAP_CHECK(json_array_size(mounts) == 7);
    for (size_t i = 0; dsts[i]; i++)
        TAP_STREQ(json_get_str(json_array_get(mounts, i), "destination"),
                  dsts[i]);
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s, "/dev/shm"), "options"),
                        (const char *[]){"nosuid", "noexec", "nodev",
                                         "mode=1777", "size=65536k", NULL}));
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s, "/sys"), "options"),
                        (const char *[]){"nosuid", "noexec", "nodev", "ro",
                                         NULL}));
    TAP_STREQ(json_get_str(mount_at(s, "/dev/pts"), "type"), "devpts");
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s, "/dev/pts"), "options"),
                        (const char *[]){"nosuid", "noexec", "newinstance",
                                         "ptmxmode=0666", "mode=0620",
                                         "gid=5", NULL}));

    json_t *lx = json_object_get(s, "linux");
    TAP_CHECK(strarr_eq(json_object_get(lx, "maskedPaths"),
                        (const char *[]){"/proc/acpi", "/proc/kcore",
                                         "/proc/keys", "/proc/latency_stats",
                                         "/proc/timer_list",
                                         "/proc/timer_stats",
                                         "/proc/sched_debug", "/proc/scsi",
                                         "/sys/firmware", "/sys/fs/selinux",
                                         "/sys/dev/block", NULL}));
    TAP_CHECK(strarr_eq(json_object_get(lx, "readonlyPaths"),
                        (const char *[]){"/proc/asound", "/proc/bus",
                                         "/proc/fs", "/proc/irq", "/proc/sys",
                                         "/proc/sysrq-trigger", NULL}));
    json_t *ns = json_object_get(lx, "namespaces");
    const char *nst[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
    TAP_CHECK(json_array_size(ns) == 6);
    for (size_t i = 0; i < 6; i++)
        TAP_STREQ(json_get_str(json_array_get(ns, i), "type"), nst[i]);
    TAP_CHECK(json_object_get(lx, "uidMappings") == NULL);
    TAP_STREQ(json_get_str(json_object_get(lx, "sysctl"),
                           "net.ipv4.ping_group_range"),
              "0 0");
    json_t *sc = json_object_get(lx, "seccomp");
    TAP_STREQ(json_get_str(sc, "defaultAction"), "SCMP_ACT_ERRNO");
    TAP_CHECK(json_get_int(sc, "defaultErrnoRet", 0) == ENOSYS);
    TAP_CHECK(json_array_size(json_object_get(sc, "syscalls")) > 10);
    /* root, not privileged: the devices cgroup starts from deny-all */
    json_t *dev = json_object_get(json_object_get(lx, "resources"), "devices");
    TAP_CHECK(json_array_size(dev) == 1);
    TAP_CHECK(json_is_false(json_object_get(json_array_get(dev, 0), "allow")));
    TAP_CHECK(json_array_size(json_object_get(lx, "devices")) == 0);
    TAP_CHECK(json_object_size(json_object_get(s, "annotations")) == 0);
    return 0;
}

static int args_of(json_t *img, const char *ep, char *const *cmd,
                   const char *const *want)
{
    struct spec_opts o = {.rootfs = setup_rootfs(), .entrypoint = ep,
                          .command = cmd};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    return s && strarr_eq(json_object_get(json_object_get(s, "process"),
                                          "args"),
                          want);
}

static int test_args(void)
{
    _cleanup_json_ json_t *img = json_pack(
        "{s:{s:[s,s], s:[s]}}", "config", "Entrypoint", "/ep", "-v", "Cmd",
        "default");
    TAP_CHECK(args_of(img, NULL, NULL,
                      (const char *[]){"/ep", "-v", "default", NULL}));
    TAP_CHECK(args_of(img, NULL, (char *[]){"x", "y", NULL},
                      (const char *[]){"/ep", "-v", "x", "y", NULL}));
    /* --entrypoint drops the image's Cmd */
    TAP_CHECK(args_of(img, "/new", NULL, (const char *[]){"/new", NULL}));
    TAP_CHECK(args_of(img, "/new", (char *[]){"x", NULL},
                      (const char *[]){"/new", "x", NULL}));
    TAP_CHECK(args_of(img, "[\"/a\", \"-b c\"]", NULL,
                      (const char *[]){"/a", "-b c", NULL}));
    TAP_CHECK(args_of(img, "", (char *[]){"x", NULL},
                      (const char *[]){"x", NULL}));
    /* a plain string is one argument, spaces and all */
    TAP_CHECK(args_of(img, "/bin/sh -c", NULL,
                      (const char *[]){"/bin/sh -c", NULL}));
    char *msg = NULL;
    struct spec_opts o = {.rootfs = setup_rootfs(), .entrypoint = ""};
    TAP_CHECK(gen(img, &o, &msg) == NULL);
    TAP_STREQ(msg, "no command or entrypoint provided, and no CMD or "
                   "ENTRYPOINT from image");
    free(msg);
    msg = NULL;
    o.entrypoint = "[\"/a\",";
    TAP_CHECK(gen(img, &o, &msg) == NULL);
    TAP_STREQ(msg, "invalid --entrypoint \"[\"/a\",\"");
    free(msg);
    return 0;
}

static json_t *env_of(json_t *img, const struct spec_opts *o)
{
    json_t *s = gen(img, o, NULL);
    json_t *env = s ? json_incref(json_object_get(json_object_get(s,
                                                                   "process"),
                                                  "env"))
                    : NULL;
    json_decref(s);
    return env;
}

static int test_env(void)
{
    _cleanup_json_ json_t *img = json_pack(
        "{s:{s:[s,s,s], s:[s]}}", "config", "Env", "A=image", "B=image",
        "TERM=vt100", "Cmd", "sh");
    _cleanup_free_ char *dir = xstrdup(setup_rootfs());
    TAP_CHECK(write_file(dir, "envfile",
                         "# comment\n\n  B=file\nC=file with spaces\r\n"
                         "BERTH_TEST_HOSTVAR\nBERTH_TEST_UNSET\n") == 0);
    _cleanup_free_ char *envfile = xasprintf("%s/envfile", dir);
    setenv("BERTH_TEST_HOSTVAR", "fromhost", 1);
    setenv("BERTH_TESTP_ONE", "1", 1);
    setenv("BERTH_TESTP_TWO", "2", 1);
    unsetenv("BERTH_TEST_UNSET");
    struct spec_opts o = {
        .rootfs = dir,
        .env_files = (char *[]){envfile, NULL},
        .env = (char *[]){"C=flag", "D", "BERTH_TESTP_*", NULL},
        .user = "alice",
        .tty = true,
    };
    setenv("D", "d-host", 1);
    _cleanup_json_ json_t *env = env_of(img, &o);
    TAP_CHECK(env);
    TAP_CHECK(strarr_eq(env, (const char *[]){
                                 "A=image", "B=file", "TERM=vt100",
                                 "C=flag", "BERTH_TEST_HOSTVAR=fromhost",
                                 "D=d-host", "BERTH_TESTP_ONE=1",
                                 "BERTH_TESTP_TWO=2",
                                 "PATH=/usr/local/sbin:/usr/local/bin:"
                                 "/usr/sbin:/usr/bin:/sbin:/bin",
                                 "container=berth", "HOME=/home/alice",
                                 NULL}));
    /* TERM=xterm only with -t and when the image does not set it */
    _cleanup_json_ json_t *img2 = busybox_config();
    struct spec_opts o2 = {.rootfs = dir, .tty = true, .user = "1234",
                           .env = (char *[]){"HOME=/custom", NULL}};
    _cleanup_json_ json_t *env2 = env_of(img2, &o2);
    TAP_CHECK(strarr_eq(env2, (const char *[]){
                                  "PATH=/usr/local/sbin:/usr/local/bin:"
                                  "/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HOME=/custom", "TERM=xterm", "container=berth", NULL}));
    /* numeric user without an entry: HOME=/ */
    struct spec_opts o3 = {.rootfs = dir, .user = "1234"};
    _cleanup_json_ json_t *env3 = env_of(img2, &o3);
    TAP_CHECK(strarr_eq(env3, (const char *[]){
                                  "PATH=/usr/local/sbin:/usr/local/bin:"
                                  "/usr/sbin:/usr/bin:/sbin:/bin",
                                  "container=berth", "HOME=/", NULL}));
    char *msg = NULL;
    struct spec_opts o4 = {.rootfs = dir, .env = (char *[]){"=x", NULL}};
    TAP_CHECK(gen(img2, &o4, &msg) == NULL);
    TAP_STREQ(msg, "invalid environment variable \"=x\"");
    free(msg);
    msg = NULL;
    struct spec_opts o5 = {.rootfs = dir,
                           .env_files = (char *[]){"/nonexistent/env", NULL}};
    TAP_CHECK(gen(img2, &o5, &msg) == NULL);
    TAP_CHECK(str_has_prefix(msg, "--env-file: "));
    TAP_CHECK(strstr(msg, "No such file or directory") != NULL);
    free(msg);
    unsetenv("BERTH_TEST_HOSTVAR");
    unsetenv("BERTH_TESTP_ONE");
    unsetenv("BERTH_TESTP_TWO");
    unsetenv("D");
    return 0;
}

struct resolved {
    uid_t uid;
    gid_t gid;
    gid_t *gids;
    size_t n;
    char *home;
    char *err;
};

static int resolve(const char *spec, char *const *group_add,
                   struct resolved *r)
{
    berth_error_t e = NULL;
    *r = (struct resolved){0};
    if (spec_resolve_user(setup_rootfs(), spec, group_add, &r->uid, &r->gid,
                          &r->gids, &r->n, &r->home, &e) < 0) {
        r->err = xstrdup(e->msg);
        berth_error_free(&e);
        return -1;
    }
    return 0;
}

static void resolved_clear(struct resolved *r)
{
    free(r->gids);
    free(r->home);
    free(r->err);
}

static int test_user(void)
{
    struct resolved r;
    TAP_CHECK(resolve("alice", NULL, &r) == 0);
    TAP_CHECK(r.uid == 1000 && r.gid == 1000 && r.n == 2 && r.gids[0] == 10 &&
              r.gids[1] == 29);
    TAP_STREQ(r.home, "/home/alice");
    resolved_clear(&r);
    /* a uid with an entry behaves like its name */
    TAP_CHECK(resolve("1000", NULL, &r) == 0);
    TAP_CHECK(r.uid == 1000 && r.gid == 1000 && r.n == 2);
    resolved_clear(&r);
    /* an explicit group: no supplementary groups from /etc/group */
    TAP_CHECK(resolve("alice:staff", NULL, &r) == 0);
    TAP_CHECK(r.uid == 1000 && r.gid == 50 && r.n == 0);
    resolved_clear(&r);
    TAP_CHECK(resolve("4000:4001", NULL, &r) == 0);
    TAP_CHECK(r.uid == 4000 && r.gid == 4001 && r.n == 0);
    TAP_STREQ(r.home, "/");
    resolved_clear(&r);
    TAP_CHECK(resolve("4000", NULL, &r) == 0);
    TAP_CHECK(r.uid == 4000 && r.gid == 0);
    resolved_clear(&r);
    TAP_CHECK(resolve(NULL, NULL, &r) == 0);
    TAP_CHECK(r.uid == 0 && r.gid == 0 && r.n == 1 && r.gids[0] == 10);
    TAP_STREQ(r.home, "/root");
    resolved_clear(&r);
    TAP_CHECK(resolve("daemon", (char *[]){"audio", "77", "10", NULL}, &r) ==
              0);
    TAP_CHECK(r.uid == 1 && r.gid == 1 && r.n == 3 && r.gids[0] == 29 &&
              r.gids[1] == 77 && r.gids[2] == 10);
    TAP_STREQ(r.home, "/usr/sbin");
    resolved_clear(&r);
    TAP_CHECK(resolve("bob", NULL, &r) < 0);
    TAP_STREQ(r.err,
              "unable to find user bob: no matching entries in passwd file");
    resolved_clear(&r);
    TAP_CHECK(resolve("alice:nogroup", NULL, &r) < 0);
    TAP_STREQ(r.err, "unable to find group nogroup: no matching entries in "
                     "group file");
    resolved_clear(&r);
    TAP_CHECK(resolve("alice", (char *[]){"ghosts", NULL}, &r) < 0);
    TAP_STREQ(r.err, "--group-add: unable to find group ghosts: no matching "
                     "entries in group file");
    resolved_clear(&r);
    TAP_CHECK(resolve("alice:", NULL, &r) < 0);
    TAP_STREQ(r.err, "invalid user \"alice:\"");
    resolved_clear(&r);
    return 0;
}

/* An image whose /etc/passwd is an absolute symlink must be read inside
 * its own rootfs, never the host's. */
static int test_user_symlink_stays_in_rootfs(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    _cleanup_free_ char *r2 = xasprintf("%s/test-spec-ln-XXXXXX", tmp);
    TAP_CHECK(mkdtemp(r2));
    TAP_CHECK(write_file(r2, "real/passwd",
                         "inner:x:777:778::/inner:/bin/sh\n") == 0);
    _cleanup_free_ char *etc = xasprintf("%s/etc", r2);
    _cleanup_free_ char *ln = xasprintf("%s/etc/passwd", r2);
    TAP_CHECK(mkdir(etc, 0755) == 0);
    TAP_CHECK(symlink("/real/passwd", ln) == 0);
    uid_t uid;
    gid_t gid;
    gid_t *gids = NULL;
    size_t n;
    char *home = NULL;
    berth_error_t e = NULL;
    int r = spec_resolve_user(r2, "inner", NULL, &uid, &gid, &gids, &n, &home,
                              &e);
    berth_error_free(&e);
    free(gids);
    free(home);
    /* "root" exists on the host but not in this rootfs */
    int r_root = spec_resolve_user(r2, "root", NULL, &uid, &gid, &gids, &n,
                                   &home, &e);
    berth_error_free(&e);
    berth_error_t e2 = NULL;
    fs_rm_rf(r2, &e2);
    berth_error_free(&e2);
    TAP_CHECK(r == 0 && uid == 777);
    TAP_CHECK(r_root < 0);
    return 0;
}

static int test_workdir(void)
{
    _cleanup_json_ json_t *img = json_pack("{s:{s:[s], s:s}}", "config", "Cmd",
                                           "sh", "WorkingDir", "/srv");
    struct spec_opts o = {.rootfs = setup_rootfs()};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    TAP_STREQ(json_get_str(json_object_get(s, "process"), "cwd"), "/srv");
    o.workdir = "/tmp/w";
    _cleanup_json_ json_t *s2 = gen(img, &o, NULL);
    TAP_STREQ(json_get_str(json_object_get(s2, "process"), "cwd"), "/tmp/w");
    o.workdir = "rel";
    char *msg = NULL;
    TAP_CHECK(gen(img, &o, &msg) == NULL);
    TAP_STREQ(msg, "invalid working directory \"rel\": must be an absolute "
                   "path");
    free(msg);
    return 0;
}

static int vol(const char *spec, struct spec_mount *m, char **msg)
{
    berth_error_t e = NULL;
    if (spec_parse_volume(spec, m, &e) < 0) {
        *msg = xstrdup(e->msg);
        berth_error_free(&e);
        return -1;
    }
    return 0;
}

static int vol_err(const char *spec, const char *want)
{
    struct spec_mount m = {0};
    char *msg = NULL;
    int r = vol(spec, &m, &msg);
    int ok = r < 0 && msg && strcmp(msg, want) == 0;
    if (!ok)
        fprintf(stderr, "# %s: got \"%s\"\n", spec, msg ? msg : "success");
    free(msg);
    spec_mount_clear(&m);
    return ok;
}

static int test_parse_volume(void)
{
    struct spec_mount m = {0};
    char *msg = NULL;
    TAP_CHECK(vol("/host:/ctr", &m, &msg) == 0);
    TAP_STREQ(m.type, "bind");
    TAP_STREQ(m.source, "/host");
    TAP_STREQ(m.destination, "/ctr");
    TAP_CHECK(strv_len(m.options) == 2);
    TAP_STREQ(m.options[0], "rbind");
    TAP_STREQ(m.options[1], "rprivate");
    spec_mount_clear(&m);

    TAP_CHECK(vol("./rel:/ctr:ro,Z,U,shared,noexec", &m, &msg) == 0);
    TAP_STREQ(m.type, "bind");
    TAP_CHECK(m.relabel && m.chown && !m.overlay);
    _cleanup_free_ char *j = strv_join(m.options, ",");
    TAP_STREQ(j, "ro,shared,noexec,rbind");
    spec_mount_clear(&m);

    TAP_CHECK(vol("data:/var/lib/data:rw,bind,nocopy", &m, &msg) == 0);
    TAP_STREQ(m.type, "volume");
    TAP_STREQ(m.source, "data");
    _cleanup_free_ char *j2 = strv_join(m.options, ",");
    TAP_STREQ(j2, "rw,bind,rprivate,nosuid,nodev");
    spec_mount_clear(&m);

    TAP_CHECK(vol("/anon", &m, &msg) == 0);
    TAP_STREQ(m.type, "volume");
    TAP_CHECK(m.source == NULL);
    TAP_STREQ(m.destination, "/anon");
    spec_mount_clear(&m);

    TAP_CHECK(vol_err("", "invalid volume spec \"\""));
    TAP_CHECK(vol_err("x", "invalid volume spec \"x\": container path \"x\" "
                           "must be an absolute path"));
    TAP_CHECK(vol_err("/a:rel", "invalid volume spec \"/a:rel\": container "
                                "path \"rel\" must be an absolute path"));
    TAP_CHECK(vol_err("/a:/b:ro,rw", "invalid volume spec \"/a:/b:ro,rw\": "
                                     "conflicting option \"rw\""));
    TAP_CHECK(vol_err("/a:/b:bogus", "invalid volume spec \"/a:/b:bogus\": "
                                     "unknown option \"bogus\""));
    TAP_CHECK(vol_err("/a:/b:ro:x", "invalid volume spec \"/a:/b:ro:x\""));
    TAP_CHECK(vol_err("/a::/b", "invalid volume spec \"/a::/b\""));
    TAP_CHECK(vol_err("/a:/b:", "invalid volume spec \"/a:/b:\""));
    TAP_CHECK(vol_err("~/x:/y", "invalid volume spec \"~/x:/y\": \"~/x\" "
                                "is neither an absolute path nor a valid "
                                "volume name"));
    TAP_CHECK(vol_err("/a:/", "invalid volume spec \"/a:/\": cannot mount "
                              "over the container's root"));
    return 0;
}

static int mnt(const char *spec, struct spec_mount *m, char **msg)
{
    berth_error_t e = NULL;
    *msg = NULL;
    if (spec_parse_mount(spec, m, &e) < 0) {
        *msg = xstrdup(e->msg);
        berth_error_free(&e);
        return -1;
    }
    return 0;
}

static int test_parse_mount(void)
{
    struct spec_mount m = {0};
    char *msg = NULL;
    TAP_CHECK(mnt("type=bind,source=/a,target=/b,readonly", &m, &msg) == 0);
    TAP_STREQ(m.type, "bind");
    TAP_STREQ(m.source, "/a");
    TAP_STREQ(m.destination, "/b");
    _cleanup_free_ char *j = strv_join(m.options, ",");
    TAP_STREQ(j, "ro,rbind,rprivate");
    spec_mount_clear(&m);

    TAP_CHECK(mnt("type=bind,src=/a,dst=/b,ro=false,bind-propagation=rslave,"
                  "bind-nonrecursive",
                  &m, &msg) == 0);
    _cleanup_free_ char *j2 = strv_join(m.options, ",");
    TAP_STREQ(j2, "rslave,bind");
    spec_mount_clear(&m);

    TAP_CHECK(mnt("type=volume,source=vol1,destination=/data,relabel=private",
                  &m, &msg) == 0);
    TAP_STREQ(m.type, "volume");
    TAP_STREQ(m.source, "vol1");
    TAP_CHECK(m.relabel);
    spec_mount_clear(&m);

    TAP_CHECK(mnt("type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1770",
                  &m, &msg) == 0);
    TAP_STREQ(m.type, "tmpfs");
    TAP_CHECK(m.source == NULL);
    _cleanup_free_ char *j3 = strv_join(m.options, ",");
    TAP_STREQ(j3, "size=1048576,mode=1770,nosuid,nodev");
    spec_mount_clear(&m);

    static const char *const bad[][2] = {
        {"source=/a,target=/b", "invalid mount \"source=/a,target=/b\": type "
                                "is required"},
        {"type=nfs,target=/b", "invalid mount \"type=nfs,target=/b\": "
                               "unsupported type \"nfs\""},
        {"type=bind,source=/a", "invalid mount \"type=bind,source=/a\": "
                                "target is required"},
        {"type=bind,target=/b", "invalid mount \"type=bind,target=/b\": "
                                "source is required for bind mounts"},
        {"type=bind,source=/a,target=/b,frob=1",
         "invalid mount \"type=bind,source=/a,target=/b,frob=1\": unknown "
         "option \"frob\""},
        {"type=tmpfs,target=/t,tmpfs-size=lots",
         "invalid mount \"type=tmpfs,target=/t,tmpfs-size=lots\": unknown "
         "option \"tmpfs-size\""},
        {"type=bind,source=/a,target=b",
         "invalid volume spec \"type=bind,source=/a,target=b\": container "
         "path \"b\" must be an absolute path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        TAP_CHECK(mnt(bad[i][0], &m, &msg) < 0);
        TAP_STREQ(msg, bad[i][1]);
        free(msg);
        spec_mount_clear(&m);
    }

    berth_error_t e = NULL;
    TAP_CHECK(spec_parse_tmpfs("/run:size=10m,exec", &m, &e) == 0);
    TAP_STREQ(m.destination, "/run");
    _cleanup_free_ char *j4 = strv_join(m.options, ",");
    TAP_STREQ(j4, "size=10m,exec,rw,nosuid,nodev");
    spec_mount_clear(&m);
    TAP_CHECK(spec_parse_tmpfs("run", &m, &e) < 0);
    berth_error_free(&e);
    return 0;
}

static int resolve_vol(void *arg, const char *name, char **ret,
                       berth_error_t *err)
{
    (void)err;
    *ret = xasprintf("%s/volumes/%s", (const char *)arg, name ? name : "anon");
    return 0;
}

static int test_mounts_in_spec(void)
{
    _cleanup_json_ json_t *img = busybox_config();
    const char *dir = setup_rootfs();
    struct spec_opts o = {
        .rootfs = dir,
        .volumes = (char *[]){"/tmp:/hosttmp:ro", "named:/data", "/anon",
                              NULL},
        .mounts = (char *[]){"type=tmpfs,target=/dev/shm", NULL},
        .tmpfs = (char *[]){"/scratch", NULL},
        .volume_resolve = resolve_vol,
        .volume_resolve_arg = (void *)"/store",
        .hosts_path = "/c/hosts",
        .resolv_conf_path = "/c/resolv.conf",
        .hostname_path = "/c/hostname",
        .shm_size = "1g",
    };
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    TAP_CHECK(s);
    json_t *m = mount_at(s, "/hosttmp");
    TAP_STREQ(json_get_str(m, "type"), "bind");
    TAP_STREQ(json_get_str(m, "source"), "/tmp");
    TAP_CHECK(strarr_eq(json_object_get(m, "options"),
                        (const char *[]){"ro", "rbind", "rprivate", NULL}));
    TAP_STREQ(json_get_str(mount_at(s, "/data"), "source"),
              "/store/volumes/named");
    TAP_STREQ(json_get_str(mount_at(s, "/anon"), "source"),
              "/store/volumes/anon");
    /* --mount over /dev/shm replaces the default (and its size) */
    json_t *shm = mount_at(s, "/dev/shm");
    TAP_STREQ(json_get_str(shm, "type"), "tmpfs");
    TAP_CHECK(strarr_eq(json_object_get(shm, "options"),
                        (const char *[]){"nosuid", "nodev", NULL}));
    TAP_STREQ(json_get_str(mount_at(s, "/scratch"), "type"), "tmpfs");
    TAP_STREQ(json_get_str(mount_at(s, "/etc/hosts"), "source"), "/c/hosts");
    TAP_STREQ(json_get_str(mount_at(s, "/etc/resolv.conf"), "source"),
              "/c/resolv.conf");
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s, "/etc/hostname"),
                                        "options"),
                        (const char *[]){"bind", "rprivate", NULL}));

    /* shm size from --shm-size when nothing replaces it */
    struct spec_opts o2 = {.rootfs = dir, .shm_size = "1g"};
    _cleanup_json_ json_t *s2 = gen(img, &o2, NULL);
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s2, "/dev/shm"), "options"),
                        (const char *[]){"nosuid", "noexec", "nodev",
                                         "mode=1777", "size=1048576k", NULL}));
    char *msg = NULL;
    struct spec_opts o3 = {.rootfs = dir,
                           .volumes = (char *[]){"/does/not/exist:/x", NULL}};
    TAP_CHECK(gen(img, &o3, &msg) == NULL);
    TAP_STREQ(msg, "invalid volume spec: host path /does/not/exist: No such "
                   "file or directory");
    free(msg);
    msg = NULL;
    struct spec_opts o4 = {.rootfs = dir, .shm_size = "lots"};
    TAP_CHECK(gen(img, &o4, &msg) == NULL);
    TAP_STREQ(msg, "invalid --shm-size \"lots\"");
    free(msg);

    /* --read-only: readonly root plus writable scratch tmpfs */
    struct spec_opts o5 = {.rootfs = dir, .read_only = true};
    _cleanup_json_ json_t *s5 = gen(img, &o5, NULL);
    TAP_CHECK(json_is_true(json_object_get(json_object_get(s5, "root"),
                                           "readonly")));
    TAP_CHECK(mount_at(s5, "/tmp") && mount_at(s5, "/var/tmp") &&
              mount_at(s5, "/run"));
    o5.no_read_only_tmpfs = true;
    _cleanup_json_ json_t *s6 = gen(img, &o5, NULL);
    TAP_CHECK(mount_at(s6, "/tmp") == NULL);
    return 0;
}

static int caps_of(char *const *add, char *const *drop, bool priv,
                   const char *const *want)
{
    uint64_t mask;
    berth_error_t e = NULL;
    if (caps_compute(add, drop, priv, &mask, &e) < 0) {
        fprintf(stderr, "# %s\n", e->msg);
        berth_error_free(&e);
        return 0;
    }
    _cleanup_strv_ char **names = caps_mask_to_strv(mask);
    _cleanup_json_ json_t *a = json_array();
    for (size_t i = 0; names[i]; i++)
        json_array_append_new(a, json_string(names[i]));
    return strarr_eq(a, want);
}

static int test_caps(void)
{
    TAP_CHECK(caps_of((char *[]){"net_admin", "CAP_SYS_PTRACE", NULL},
                      (char *[]){"chown", "Cap_Kill", "setfcap", NULL}, false,
                      (const char *[]){"CAP_DAC_OVERRIDE", "CAP_FOWNER",
                                       "CAP_FSETID", "CAP_SETGID",
                                       "CAP_SETUID", "CAP_SETPCAP",
                                       "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN",
                                       "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
                                       NULL}));
    TAP_CHECK(caps_of((char *[]){"CHOWN", NULL}, (char *[]){"all", NULL},
                      false, (const char *[]){"CAP_CHOWN", NULL}));
    TAP_CHECK(caps_of(NULL, (char *[]){"ALL", NULL}, false,
                      (const char *[]){NULL}));
    uint64_t all, priv;
    berth_error_t e = NULL;
    TAP_CHECK(caps_compute((char *[]){"ALL", NULL}, (char *[]){"SYS_ADMIN",
                                                               NULL},
                           false, &all, &e) == 0);
    TAP_CHECK(caps_compute(NULL, NULL, true, &priv, &e) == 0);
    TAP_CHECK(!(all & (UINT64_C(1) << 21)) && (priv & (UINT64_C(1) << 21)));
    TAP_CHECK(all == (priv & ~(UINT64_C(1) << 21)));
    uint64_t bset = 0;
    for (int c = 0; c <= caps_last(); c++)
        if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1)
            bset |= UINT64_C(1) << c;
    TAP_CHECK(priv == bset);
    TAP_CHECK(caps_compute((char *[]){"CAP_FOO", NULL}, NULL, false, &all,
                           &e) < 0);
    TAP_STREQ(e->msg, "invalid capability \"CAP_FOO\"");
    berth_error_free(&e);
    TAP_CHECK(caps_compute(NULL, (char *[]){"bogus", NULL}, false, &all, &e) <
              0);
    TAP_STREQ(e->msg, "invalid capability \"bogus\"");
    berth_error_free(&e);
    TAP_STREQ(caps_to_name(21), "CAP_SYS_ADMIN");
    TAP_CHECK(caps_from_name("CAP_BPF") == 39);

    /* a non-root process user keeps only --cap-add in effective/permitted */
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = setup_rootfs(), .user = "alice",
                          .cap_add = (char *[]){"NET_RAW", NULL}};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    json_t *c = json_object_get(json_object_get(s, "process"),
                                "capabilities");
    TAP_CHECK(json_array_size(json_object_get(c, "bounding")) == 12);
    TAP_CHECK(strarr_eq(json_object_get(c, "effective"),
                        (const char *[]){"CAP_NET_RAW", NULL}));
    TAP_CHECK(strarr_eq(json_object_get(c, "permitted"),
                        (const char *[]){"CAP_NET_RAW", NULL}));
    char *msg = NULL;
    struct spec_opts o2 = {.rootfs = setup_rootfs(),
                           .cap_drop = (char *[]){"CAP_FOO", NULL}};
    TAP_CHECK(gen(img, &o2, &msg) == NULL);
    TAP_STREQ(msg, "invalid capability \"CAP_FOO\"");
    free(msg);
    return 0;
}

static int test_privileged_and_security_opts(void)
{
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = setup_rootfs(), .privileged = true};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    json_t *lx = json_object_get(s, "linux");
    TAP_CHECK(json_object_get(lx, "seccomp") == NULL);
    TAP_CHECK(json_object_get(lx, "maskedPaths") == NULL);
    TAP_CHECK(json_object_get(lx, "readonlyPaths") == NULL);
    size_t nbset = 0;
    for (int c = 0; c <= caps_last(); c++)
        nbset += prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1;
    TAP_CHECK(json_array_size(json_object_get(
                  json_object_get(json_object_get(s, "process"),
                                  "capabilities"),
                  "bounding")) == nbset);
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s, "/sys"), "options"),
                        (const char *[]){"nosuid", "noexec", "nodev", "rw",
                                         NULL}));
    /* the host's devices, and a devices cgroup that allows everything */
    json_t *rules = json_object_get(json_object_get(lx, "resources"),
                                    "devices");
    TAP_CHECK(json_array_size(rules) == 1);
    TAP_CHECK(json_is_true(json_object_get(json_array_get(rules, 0),
                                           "allow")));
    size_t i;
    json_t *d;
    bool has_fuse = false, has_null = false;
    json_array_foreach(json_object_get(lx, "devices"), i, d)
    {
        has_fuse |= !strcmp(json_get_str(d, "path"), "/dev/fuse");
        has_null |= !strcmp(json_get_str(d, "path"), "/dev/null");
    }
    TAP_CHECK(!has_null);
    if (fs_exists("/dev/fuse"))
        TAP_CHECK(has_fuse);

    struct spec_opts o2 = {
        .rootfs = setup_rootfs(),
        .security_opts = (char *[]){"no-new-privileges", "seccomp=unconfined",
                                    "label=disable", "mask=/proc/foo:/sys/x",
                                    "unmask=/proc/kcore:/proc/sys", NULL}};
    _cleanup_json_ json_t *s2 = gen(img, &o2, NULL);
    TAP_CHECK(s2);
    TAP_CHECK(json_is_true(json_object_get(json_object_get(s2, "process"),
                                           "noNewPrivileges")));
    json_t *lx2 = json_object_get(s2, "linux");
    TAP_CHECK(json_object_get(lx2, "seccomp") == NULL);
    json_t *masked = json_object_get(lx2, "maskedPaths");
    TAP_CHECK(json_array_size(masked) == 12);
    TAP_STREQ(json_string_value(json_array_get(masked, 1)), "/proc/keys");
    TAP_STREQ(json_string_value(json_array_get(masked, 10)), "/proc/foo");
    TAP_CHECK(json_array_size(json_object_get(lx2, "readonlyPaths")) == 5);

    struct spec_opts o3 = {.rootfs = setup_rootfs(),
                           .security_opts = (char *[]){"unmask=ALL", NULL}};
    _cleanup_json_ json_t *s3 = gen(img, &o3, NULL);
    TAP_CHECK(json_array_size(json_object_get(json_object_get(s3, "linux"),
                                              "maskedPaths")) == 0);
    char *msg = NULL;
    struct spec_opts o4 = {.rootfs = setup_rootfs(),
                           .security_opts = (char *[]){"frobnicate=1", NULL}};
    TAP_CHECK(gen(img, &o4, &msg) == NULL);
    TAP_STREQ(msg, "invalid --security-opt \"frobnicate=1\"");
    free(msg);
    return 0;
}

static int test_seccomp_profile_file(void)
{
    const char *dir = setup_rootfs();
    TAP_CHECK(write_file(
                  dir, "profile.json",
                  "{\"defaultAction\":\"SCMP_ACT_ERRNO\","
                  "\"defaultErrnoRet\":1,"
                  "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
                  "\"subArchitectures\":[\"SCMP_ARCH_X86\"]},"
                  "{\"architecture\":\"SCMP_ARCH_AARCH64\","
                  "\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"
                  "\"syscalls\":[{\"names\":[\"read\",\"write\"],"
                  "\"action\":\"SCMP_ACT_ALLOW\",\"args\":[]},"
                  "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\","
                  "\"includes\":{\"caps\":[\"CAP_SYS_PTRACE\"]}},"
                  "{\"names\":[\"chroot\"],\"action\":\"SCMP_ACT_ALLOW\","
                  "\"excludes\":{\"caps\":[\"CAP_SYS_PTRACE\"]},"
                  "\"comment\":\"dropped by the converter\"}]}") == 0);
    _cleanup_free_ char *opt = xasprintf("seccomp=%s/profile.json", dir);
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = dir,
                          .security_opts = (char *[]){opt, NULL}};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    json_t *sc = json_object_get(json_object_get(s, "linux"), "seccomp");
    TAP_CHECK(sc);
    TAP_CHECK(json_get_int(sc, "defaultErrnoRet", 0) == 1);
    json_t *sys = json_object_get(sc, "syscalls");
    /* without CAP_SYS_PTRACE: ptrace rule out, chroot rule in */
    TAP_CHECK(json_array_size(sys) == 2);
    TAP_CHECK(strarr_eq(json_object_get(json_array_get(sys, 1), "names"),
                        (const char *[]){"chroot", NULL}));
    TAP_CHECK(json_object_get(json_array_get(sys, 0), "args") == NULL);
    TAP_CHECK(json_object_get(json_array_get(sys, 1), "comment") == NULL);
#if defined(__x86_64__)
    TAP_CHECK(strarr_eq(json_object_get(sc, "architectures"),
                        (const char *[]){"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                         NULL}));
#endif
    struct spec_opts o2 = {.rootfs = dir,
                           .cap_add = (char *[]){"SYS_PTRACE", NULL},
                           .security_opts = (char *[]){opt, NULL}};
    _cleanup_json_ json_t *s2 = gen(img, &o2, NULL);
    json_t *sys2 = json_object_get(json_object_get(json_object_get(s2, "linux"),
                                                   "seccomp"),
                                   "syscalls");
    TAP_CHECK(json_array_size(sys2) == 2);
    TAP_CHECK(strarr_eq(json_object_get(json_array_get(sys2, 1), "names"),
                        (const char *[]){"ptrace", NULL}));
    char *msg = NULL;
    struct spec_opts o3 = {.rootfs = dir,
                           .security_opts = (char *[]){"seccomp=/nope.json",
                                                       NULL}};
    TAP_CHECK(gen(img, &o3, &msg) == NULL);
    TAP_CHECK(str_has_prefix(msg, "seccomp profile: "));
    free(msg);
    return 0;
}

/* Every name in the default profile must mean something to libseccomp
 * (on some architecture); a few names newer than this libseccomp are
 * tolerated, as the runtime skips names it cannot resolve. */
static int test_seccomp_names_resolve(void)
{
    _cleanup_json_ json_t *p = seccomp_default_profile(0);
    size_t total = 0, unknown = 0, i, j;
    json_t *rule, *name;
    json_array_foreach(json_object_get(p, "syscalls"), i, rule)
        json_array_foreach(json_object_get(rule, "names"), j, name)
    {
        total++;
        const char *n = json_string_value(name);
        if (seccomp_syscall_resolve_name(n) != __NR_SCMP_ERROR)
            continue;
        /* names of other ABIs (socketcall, _llseek) resolve there */
        static const uint32_t arches[] = {SCMP_ARCH_X86, SCMP_ARCH_ARM,
                                          SCMP_ARCH_AARCH64, SCMP_ARCH_S390X,
                                          SCMP_ARCH_PPC64LE};
        bool found = false;
        for (size_t a = 0; a < sizeof(arches) / sizeof(arches[0]); a++)
            if (seccomp_syscall_resolve_name_arch(arches[a], n) !=
                __NR_SCMP_ERROR)
                found = true;
        if (!found) {
            fprintf(stderr, "# unknown to libseccomp: %s\n", n);
            unknown++;
        }
    }
    fprintf(stderr, "# %zu names, %zu unknown\n", total, unknown);
    TAP_CHECK(total > 350);
    TAP_CHECK(unknown * 20 < total);
    json_t *arches = json_object_get(p, "architectures");
    json_array_foreach(arches, i, name)
    {
        _cleanup_free_ char *a = xstrdup(json_string_value(name) +
                                         strlen("SCMP_ARCH_"));
        for (char *c = a; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        TAP_CHECK(seccomp_arch_resolve_name(a) != 0);
    }
    return 0;
}

static int test_seccomp_caps_gate(void)
{
    /* chroot is in podman's default set: allowed; ptrace is not: EPERM */
    uint64_t mask;
    berth_error_t e = NULL;
    TAP_CHECK(caps_compute(NULL, NULL, false, &mask, &e) == 0);
    _cleanup_json_ json_t *p = seccomp_default_profile(mask);
    size_t i;
    json_t *rule;
    int chroot_ok = 0, ptrace_denied = 0, audit_rules = 0;
    quiet = true;
    json_array_foreach(json_object_get(p, "syscalls"), i, rule)
    {
        json_t *names = json_object_get(rule, "names");
        const char *act = json_get_str(rule, "action");
        if (strarr_eq(names, (const char *[]){"chroot", NULL}))
            chroot_ok = !strcmp(act, "SCMP_ACT_ALLOW");
        if (json_string_value(json_array_get(names, 4)) &&
            !strcmp(json_string_value(json_array_get(names, 4)), "ptrace"))
            ptrace_denied = !strcmp(act, "SCMP_ACT_ERRNO") &&
                            json_get_int(rule, "errnoRet", 0) == EPERM;
        if (!strcmp(json_string_value(json_array_get(names, 0)), "socket"))
            audit_rules++;
    }
    quiet = false;
    TAP_CHECK(chroot_ok && ptrace_denied);
    TAP_CHECK(audit_rules == 3);
    return 0;
}

static int test_ulimits(void)
{
    json_t *r = NULL;
    berth_error_t e = NULL;
    TAP_CHECK(spec_parse_ulimit("nofile=1024:2048", &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "type"), "RLIMIT_NOFILE");
    TAP_CHECK(json_get_int(r, "soft", 0) == 1024 &&
              json_get_int(r, "hard", 0) == 2048);
    json_decref(r);
    TAP_CHECK(spec_parse_ulimit("core=-1", &r, &e) == 0);
    TAP_CHECK(json_get_int(r, "soft", 0) == -1 &&
              json_get_int(r, "hard", 0) == -1);
    json_decref(r);
    static const char *const bad[][2] = {
        {"nofile", "invalid ulimit \"nofile\": expected name=soft[:hard]"},
        {"bogus=1", "invalid ulimit \"bogus=1\": unknown type \"bogus\""},
        {"nofile=x", "invalid ulimit \"nofile=x\": bad value"},
        {"nofile=10:5", "invalid ulimit \"nofile=10:5\": soft limit 10 is "
                        "greater than hard limit 5"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        TAP_CHECK(spec_parse_ulimit(bad[i][0], &r, &e) < 0);
        TAP_STREQ(e->msg, bad[i][1]);
        berth_error_free(&e);
    }
    /* rootless: defaults clamp to the hard limit; asking above it fails */
    struct rlimit cur;
    TAP_CHECK(getrlimit(RLIMIT_NOFILE, &cur) == 0);
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = setup_rootfs(), .rootless = true,
                          .ulimits = (char *[]){"nproc=100:200", NULL}};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    json_t *rl = json_object_get(json_object_get(s, "process"), "rlimits");
    TAP_CHECK(json_array_size(rl) == 2);
    uint64_t want = expected_rlimit(RLIMIT_NOFILE, 1048576, true);
    TAP_CHECK((uint64_t)json_get_int(json_array_get(rl, 0), "hard", 0) ==
              want);
    TAP_STREQ(json_get_str(json_array_get(rl, 1), "type"), "RLIMIT_NPROC");
    TAP_CHECK(json_get_int(json_array_get(rl, 1), "soft", 0) == 100);
    if (cur.rlim_max != RLIM_INFINITY) {
        _cleanup_free_ char *big = xasprintf(
            "nofile=10:%llu", (unsigned long long)cur.rlim_max + 1);
        struct spec_opts o2 = {.rootfs = setup_rootfs(), .rootless = true,
                               .ulimits = (char *[]){big, NULL}};
        char *msg = NULL;
        TAP_CHECK(gen(img, &o2, &msg) == NULL);
        TAP_CHECK(strstr(msg, "only a process with CAP_SYS_RESOURCE can raise") != NULL);
        free(msg);
    }
    return 0;
}

static json_t *res_of(const struct spec_resource_opts *r, char **msg)
{
    json_t *out = NULL;
    berth_error_t e = NULL;
    if (spec_parse_resources(r, &out, &e) < 0) {
        *msg = xstrdup(e->msg);
        berth_error_free(&e);
        return NULL;
    }
    return out;
}

static int res_err(const struct spec_resource_opts *r, const char *want)
{
    char *msg = NULL;
    json_t *j = res_of(r, &msg);
    int ok = j == NULL && msg && strcmp(msg, want) == 0;
    if (!ok)
        fprintf(stderr, "# got \"%s\", want \"%s\"\n", msg ? msg : "ok", want);
    json_decref(j);
    free(msg);
    return ok;
}

static int test_resources(void)
{
    char *msg = NULL;
    struct spec_resource_opts r = {.memory = "512m", .cpus = "1.5",
                                   .cpu_shares = "512", .cpuset_cpus = "0-1",
                                   .pids_limit = "100", .blkio_weight = "300",
                                   .memory_reservation = "256m"};
    _cleanup_json_ json_t *j = res_of(&r, &msg);
    TAP_CHECK(j);
    json_t *mem = json_object_get(j, "memory");
    TAP_CHECK(json_get_int(mem, "limit", 0) == 536870912);
    TAP_CHECK(json_get_int(mem, "swap", 0) == 2 * 536870912LL);
    TAP_CHECK(json_get_int(mem, "reservation", 0) == 268435456);
    json_t *cpu = json_object_get(j, "cpu");
    TAP_CHECK(json_get_int(cpu, "quota", 0) == 150000);
    TAP_CHECK(json_get_int(cpu, "period", 0) == 100000);
    TAP_CHECK(json_get_int(cpu, "shares", 0) == 512);
    TAP_STREQ(json_get_str(cpu, "cpus"), "0-1");
    TAP_CHECK(json_get_int(json_object_get(j, "pids"), "limit", 0) == 100);
    TAP_CHECK(json_get_int(json_object_get(j, "blockIO"), "weight", 0) ==
              300);

    struct spec_resource_opts r2 = {.memory = "1g", .memory_swap = "-1",
                                    .pids_limit = "0"};
    _cleanup_json_ json_t *j2 = res_of(&r2, &msg);
    TAP_CHECK(json_get_int(json_object_get(j2, "memory"), "swap", 0) == -1);
    TAP_CHECK(json_get_int(json_object_get(j2, "pids"), "limit", 0) == -1);
    TAP_CHECK(json_object_get(j2, "cpu") == NULL);

    struct spec_resource_opts none = {0};
    _cleanup_json_ json_t *j3 = res_of(&none, &msg);
    TAP_CHECK(json_is_object(j3) && json_object_size(j3) == 0);

    TAP_CHECK(res_err(&(struct spec_resource_opts){.memory = "lots"},
                      "invalid --memory \"lots\""));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.memory = "1m"},
                      "minimum memory limit allowed is 6MB"));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.memory_swap = "1g"},
                      "you must provide a memory limit when specifying a "
                      "memory-swap limit"));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.memory = "1g",
                                                   .memory_swap = "512m"},
                      "you must provide a memory-swap limit greater than or "
                      "equal to the memory limit"));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.cpus = "0"},
                      "invalid --cpus \"0\""));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.cpus = "two"},
                      "invalid --cpus \"two\""));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.cpus = "1",
                                                   .cpu_quota = "5000"},
                      "--cpus and --cpu-quota/--cpu-period cannot be set "
                      "together"));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.cpu_shares = "1"},
                      "invalid --cpu-shares \"1\""));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.cpuset_cpus = "a-b"},
                      "invalid --cpuset-cpus \"a-b\""));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.pids_limit = "-5"},
                      "invalid --pids-limit \"-5\""));
    TAP_CHECK(res_err(&(struct spec_resource_opts){.blkio_weight = "5"},
                      "invalid --blkio-weight \"5\""));

    /* resources land in linux.resources next to the devices rules */
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = setup_rootfs(), .resources = j,
                          .cgroups_path = "/berth/abc"};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    json_t *lx = json_object_get(s, "linux");
    TAP_STREQ(json_get_str(lx, "cgroupsPath"), "/berth/abc");
    json_t *res = json_object_get(lx, "resources");
    TAP_CHECK(json_get_int(json_object_get(res, "pids"), "limit", 0) == 100);
    TAP_CHECK(json_array_size(json_object_get(res, "devices")) == 1);
    return 0;
}

static int test_devices(void)
{
    _cleanup_json_ json_t *img = busybox_config();
    struct spec_opts o = {.rootfs = setup_rootfs(),
                          .devices = (char *[]){"/dev/null:/dev/mynull:rw",
                                                "/dev/zero", NULL}};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    TAP_CHECK(s);
    json_t *lx = json_object_get(s, "linux");
    json_t *devs = json_object_get(lx, "devices");
    TAP_CHECK(json_array_size(devs) == 2);
    json_t *d = json_array_get(devs, 0);
    TAP_STREQ(json_get_str(d, "path"), "/dev/mynull");
    TAP_STREQ(json_get_str(d, "type"), "c");
    TAP_CHECK(json_get_int(d, "major", 0) == 1 &&
              json_get_int(d, "minor", 0) == 3);
    TAP_STREQ(json_get_str(json_array_get(devs, 1), "path"), "/dev/zero");
    json_t *rules = json_object_get(json_object_get(lx, "resources"),
                                    "devices");
    TAP_CHECK(json_array_size(rules) == 3);
    TAP_STREQ(json_get_str(json_array_get(rules, 1), "access"), "rw");
    TAP_STREQ(json_get_str(json_array_get(rules, 2), "access"), "rwm");

    /* rootless: a bind mount of the node, no devices cgroup rules */
    o.rootless = true;
    _cleanup_json_ json_t *s2 = gen(img, &o, NULL);
    json_t *lx2 = json_object_get(s2, "linux");
    TAP_CHECK(json_array_size(json_object_get(lx2, "devices")) == 0);
    TAP_CHECK(json_object_get(json_object_get(lx2, "resources"), "devices") ==
              NULL);
    json_t *m = mount_at(s2, "/dev/mynull");
    TAP_STREQ(json_get_str(m, "type"), "bind");
    TAP_STREQ(json_get_str(m, "source"), "/dev/null");

    static const char *const bad[][2] = {
        {"/dev/null:/x:rwz", "invalid device spec \"/dev/null:/x:rwz\": "
                             "invalid mode \"rwz\""},
        {"dev/null", "invalid device spec \"dev/null\""},
        {"/nonexistent-dev", "device /nonexistent-dev: No such file or "
                             "directory"},
        {"/etc/passwd", "device /etc/passwd: not a device node"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *msg = NULL;
        struct spec_opts ob = {.rootfs = setup_rootfs(),
                               .devices = (char *[]){(char *)bad[i][0], NULL}};
        TAP_CHECK(gen(img, &ob, &msg) == NULL);
        TAP_STREQ(msg, bad[i][1]);
        free(msg);
    }
    return 0;
}

static int test_namespaces_userns_annotations(void)
{
    _cleanup_json_ json_t *img = busybox_config();
    struct userns_mapping map = {
        .uid = {{0, 1000, 1}, {1, 100000, 65536}},
        .gid = {{0, 1000, 1}, {1, 100000, 65536}},
        .n_uid = 2,
        .n_gid = 2,
    };
    struct spec_opts o = {.rootfs = setup_rootfs(), .network = "host",
                          .userns = &map,
                          .annotations = (char *[]){"a=b", "k=v=w", NULL},
                          .group_add = (char *[]){"keep-groups", NULL}};
    _cleanup_json_ json_t *s = gen(img, &o, NULL);
    TAP_CHECK(s);
    json_t *lx = json_object_get(s, "linux");
    json_t *ns = json_object_get(lx, "namespaces");
    const char *nst[] = {"pid", "ipc", "uts", "mount", "cgroup", "user"};
    TAP_CHECK(json_array_size(ns) == 6);
    for (size_t i = 0; i < 6; i++)
        TAP_STREQ(json_get_str(json_array_get(ns, i), "type"), nst[i]);
    TAP_CHECK(json_object_get(lx, "sysctl") == NULL); /* host network */
    json_t *um = json_object_get(lx, "uidMappings");
    TAP_CHECK(json_array_size(um) == 2);
    TAP_CHECK(json_get_int(json_array_get(um, 1), "containerID", 0) == 1);
    TAP_CHECK(json_get_int(json_array_get(um, 1), "hostID", 0) == 100000);
    TAP_CHECK(json_get_int(json_array_get(um, 1), "size", 0) == 65536);
    TAP_CHECK(json_array_size(json_object_get(lx, "gidMappings")) == 2);
    json_t *an = json_object_get(s, "annotations");
    TAP_STREQ(json_get_str(an, "a"), "b");
    TAP_STREQ(json_get_str(an, "k"), "v=w");
    TAP_STREQ(json_get_str(an, "run.oci.keep_original_groups"), "1");

    /* single-id mapping: no gid=5 on devpts */
    struct userns_mapping single = {.uid = {{0, 1000, 1}},
                                    .gid = {{0, 1000, 1}},
                                    .n_uid = 1, .n_gid = 1, .single = true};
    struct spec_opts o2 = {.rootfs = setup_rootfs(), .userns = &single};
    _cleanup_json_ json_t *s2 = gen(img, &o2, NULL);
    TAP_CHECK(strarr_eq(json_object_get(mount_at(s2, "/dev/pts"), "options"),
                        (const char *[]){"nosuid", "noexec", "newinstance",
                                         "ptmxmode=0666", "mode=0620", NULL}));
    char *msg = NULL;
    struct spec_opts o3 = {.rootfs = setup_rootfs(),
                           .annotations = (char *[]){"novalue", NULL}};
    TAP_CHECK(gen(img, &o3, &msg) == NULL);
    TAP_STREQ(msg, "invalid annotation \"novalue\": expected KEY=VALUE");
    free(msg);
    return 0;
}

static int test_cleanup_rootfs(void)
{
    berth_error_t e = NULL;
    TAP_CHECK(rootfs);
    TAP_CHECK(fs_rm_rf(rootfs, &e) == 0);
    free(rootfs);
    rootfs = NULL;
    return 0;
}

TAP_MAIN({"default spec for busybox", test_default_busybox},
         {"args: entrypoint and command", test_args},
         {"env: image, env-file, -e, defaults", test_env},
         {"user resolution", test_user},
         {"user lookup stays inside the rootfs",
          test_user_symlink_stays_in_rootfs},
         {"working directory", test_workdir},
         {"parse -v", test_parse_volume},
         {"parse --mount and --tmpfs", test_parse_mount},
         {"mounts in the spec", test_mounts_in_spec},
         {"capabilities", test_caps},
         {"privileged and --security-opt", test_privileged_and_security_opts},
         {"seccomp profile from a file", test_seccomp_profile_file},
         {"seccomp default names resolve", test_seccomp_names_resolve},
         {"seccomp rules gated by capabilities", test_seccomp_caps_gate},
         {"ulimits and rlimits", test_ulimits},
         {"resource flags", test_resources},
         {"devices", test_devices},
         {"namespaces, user namespace, annotations",
          test_namespaces_userns_annotations},
         {"cleanup", test_cleanup_rootfs})
