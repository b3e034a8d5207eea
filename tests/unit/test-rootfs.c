#define _GNU_SOURCE
#include "storage/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/containers.h"
#include "storage/driver.h"
#include "storage/images.h"
#include "storage/store.h"
#include "tests/unit/tap.h"

static char *rfs_scratch(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/berth-rootfs-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static void rfs_scratch_free(char *d)
{
    berth_error_t e = NULL;
    /* overlay leaves work/work mode 000, which lib/fs.c's fs_rm_rf cannot
     * descend as an unprivileged user */
    _cleanup_free_ char *ww = xasprintf("%s/work/work", d);
    chmod(ww, 0700);
    if (fs_rm_rf(d, &e) < 0) {
        fprintf(stderr, "# cleanup: %s\n", e->msg);
        berth_error_free(&e);
    }
    free(d);
}

static int rfs_put(const char *dir, const char *rel, const char *data)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
    _cleanup_free_ char *parent = xstrdup(p);
    berth_error_t e = NULL;
    *strrchr(parent, '/') = '\0';
    int r = fs_mkdir_p(parent, 0755, &e) < 0 ||
                    fs_write_file_atomic(p, data, strlen(data), 0644, &e) < 0
                ? -1
                : 0;
    berth_error_free(&e);
    return r;
}

static bool rfs_has(const char *dir, const char *rel)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
    return fs_exists(p);
}

static void rfs_opaque(const char *dir)
{
    setxattr(dir, "trusted.overlay.opaque", "y", 1, 0);
    setxattr(dir, "user.overlay.opaque", "y", 1, 0);
}

static int rfs_report(int r, berth_error_t *e)
{
    if (r < 0 && e && *e)
        fprintf(stderr, "# error: %s\n", (*e)->msg);
    berth_error_free(e);
    return r < 0 ? -1 : r;
}

/* --- vfs copy semantics --- */

static int vfs_check(const char *out, berth_error_t *err)
{
    TAP_CHECK(!rfs_has(out, "a") && !rfs_has(out, "b"));
    TAP_CHECK(!rfs_has(out, ".wh.b") && !rfs_has(out, "keep/.wh..wh..opq"));
    TAP_CHECK(rfs_has(out, "d/y") && !rfs_has(out, "d/x") &&
              !rfs_has(out, "d/sub"));
    TAP_CHECK(rfs_has(out, "keep/k2") && !rfs_has(out, "keep/k"));
    TAP_CHECK(rfs_has(out, "f/g") && rfs_has(out, "n") && rfs_has(out, "h2"));
    _cleanup_free_ char *od = xasprintf("%s/d", out);
    char v;
    TAP_CHECK(getxattr(od, "user.overlay.opaque", &v, 1) < 0);
    struct stat s1, s2;
    _cleanup_free_ char *o1 = xasprintf("%s/h1", out), *o2 = xasprintf("%s/h2", out);
    TAP_CHECK(stat(o1, &s1) == 0 && stat(o2, &s2) == 0 && s1.st_ino == s2.st_ino);
    _cleanup_free_ char *oln = xasprintf("%s/ln", out);
    char target[64];
    ssize_t n = readlink(oln, target, sizeof target - 1);
    TAP_CHECK(n == 8);
    target[n] = '\0';
    TAP_STREQ(target, "a-target");
    _cleanup_free_ char *content = NULL;
    _cleanup_free_ char *on = xasprintf("%s/n", out);
    TAP_CHECK(fs_read_file(on, &content, NULL, err) == 0);
    TAP_STREQ(content, "new");
    return 0;
}

static int test_vfs_copy(void)
{
    char *d = rfs_scratch();
    _cleanup_free_ char *l1 = xasprintf("%s/l1", d), *l2 = xasprintf("%s/l2", d);
    _cleanup_free_ char *out = xasprintf("%s/out", d);
    berth_error_t e = NULL;
    int r = -1;

    TAP_CHECK(rfs_put(l1, "a", "a") == 0 && rfs_put(l1, "b", "b") == 0);
    TAP_CHECK(rfs_put(l1, "d/x", "x") == 0 && rfs_put(l1, "d/sub/z", "z") == 0);
    TAP_CHECK(rfs_put(l1, "f", "file") == 0 && rfs_put(l1, "keep/k", "k") == 0);
    TAP_CHECK(rfs_put(l1, "h1", "hard") == 0);
    _cleanup_free_ char *h1 = xasprintf("%s/h1", l1), *h2 = xasprintf("%s/h2", l1);
    _cleanup_free_ char *ln = xasprintf("%s/ln", l1);
    TAP_CHECK(link(h1, h2) == 0 && symlink("a-target", ln) == 0);
    _cleanup_free_ char *wh = xasprintf("%s/a", l2);
    TAP_CHECK(rfs_put(l2, "d/y", "y") == 0 && rfs_put(l2, ".wh.b", "") == 0);
    TAP_CHECK(rfs_put(l2, "f/g", "g") == 0 && rfs_put(l2, "n", "new") == 0);
    TAP_CHECK(rfs_put(l2, "keep/.wh..wh..opq", "") == 0 &&
              rfs_put(l2, "keep/k2", "k2") == 0);
    if (mknod(wh, S_IFCHR | 0600, makedev(0, 0)) < 0) {
        fprintf(stderr, "# mknod whiteout: %s\n", strerror(errno));
        rfs_scratch_free(d);
        return 77;
    }
    _cleanup_free_ char *d2 = xasprintf("%s/d", l2);
    rfs_opaque(d2);
    TAP_CHECK(mkdir(out, 0755) == 0);
    char *lowers[] = {l2, l1, NULL};
    if (vfs_copy_layers(lowers, out, &e) == 0)
        r = vfs_check(out, &e);
    rfs_scratch_free(d);
    return rfs_report(r, &e);
}

/* --- backends over the probe tree --- */

struct mount_job {
    const struct rootfs_driver *drv;
    const char *dir;
    bool rootless;
};

/* In the namespace: mount the probe tree, check the merged view, check a
 * write lands in upper, unmount. */
static int mount_job_fn(void *arg, berth_error_t *err)
{
    struct mount_job *j = arg;
    struct rootfs_layout l = {0};
    struct store fake = {.rootless = j->rootless};
    _cleanup_free_ char *merged = xasprintf("%s/merged", j->dir);
    _cleanup_free_ char *why = NULL;
    int ok = -1;

    if (rootfs_private_mounts(!j->rootless, err) < 0 ||
        rootfs_probe_make(j->dir, &l, err) < 0)
        goto out;
    if (j->drv->mount(&fake, &l, merged, err) < 0)
        goto out;
    ok = rootfs_probe_check(merged, &why);
    if (!ok)
        berth_error_new(err, 0, "merged view wrong: %s", why);
    else if (rfs_put(merged, "new", "n") < 0 || !rfs_has(l.upper, "new"))
        ok = berth_error_new(err, 0, "write did not reach the upper dir");
    if (ok > 0 && j->drv->umount(&fake, merged, err) < 0)
        ok = -1;
    if (ok > 0 && rfs_has(merged, "b"))
        ok = berth_error_new(err, 0, "still mounted after umount");
out:
    rootfs_layout_clear(&l);
    return ok > 0 ? 0 : -1;
}

static int run_mount_job(const struct rootfs_driver *drv)
{
    char *d = rfs_scratch();
    berth_error_t e = NULL;
    struct mount_job j = {drv, d, userns_rootless()};
    int r = userns_run(mount_job_fn, &j, &e);
    rfs_scratch_free(d);
    return rfs_report(r, &e);
}

/* Runs fn as the unprivileged test user (the real rootless case) when we
 * are root, or as ourselves when we already are unprivileged. */
static int as_test_user(int (*fn)(void))
{
    if (geteuid() != 0)
        return fn();
    struct passwd *pw = getpwnam("berthtest");
    if (pw == NULL) {
        fprintf(stderr, "# no user berthtest: skipping the rootless case\n");
        return 77;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
            _exit(2);
        /* newuidmap checks /proc/PID, owned by root while not dumpable */
        prctl(PR_SET_DUMPABLE, 1);
        setenv("TMPDIR", "/tmp", 1);
        setenv("HOME", pw->pw_dir, 1);
        int r = fn();
        fflush(NULL);
        _exit(r == 0 ? 0 : r == 77 ? 77 : 1);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) == 77 ? 77 : -1;
}

static bool kernel_at_least(int maj, int min)
{
    int a = 0, b = 0;
    _cleanup_free_ char *rel = NULL;
    berth_error_t e = NULL;
    if (fs_read_file("/proc/sys/kernel/osrelease", &rel, NULL, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    sscanf(rel, "%d.%d", &a, &b);
    return a > maj || (a == maj && b >= min);
}

static int test_overlay_root(void)
{
    if (geteuid() != 0)
        return 77;
    return run_mount_job(&rootfs_driver_overlay);
}

static int overlay_rootless_body(void)
{
    return run_mount_job(&rootfs_driver_overlay);
}

static int test_overlay_rootless(void)
{
    if (!kernel_at_least(5, 11)) {
        fprintf(stderr, "# kernel < 5.11: no overlay in a user namespace\n");
        return 77;
    }
    return as_test_user(overlay_rootless_body);
}

static bool fuse_usable(void)
{
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "# /dev/fuse: %s: skipping\n", strerror(errno));
        return false;
    }
    close(fd);
    if (access("/usr/bin/fuse-overlayfs", X_OK) < 0 &&
        access("/usr/local/bin/fuse-overlayfs", X_OK) < 0) {
        fprintf(stderr, "# fuse-overlayfs not installed: skipping\n");
        return false;
    }
    return true;
}

static int test_fuse_root(void)
{
    if (geteuid() != 0 || !fuse_usable())
        return 77;
    return run_mount_job(&rootfs_driver_fuse_overlayfs);
}

static int fuse_rootless_body(void)
{
    if (!fuse_usable())
        return 77;
    return run_mount_job(&rootfs_driver_fuse_overlayfs);
}

static int test_fuse_rootless(void)
{
    return as_test_user(fuse_rootless_body);
}

/* --- through the store: choose, prepare, mount a container --- */

#define RFS_NLAYERS 70 /* enough to overflow one page of mount options */

static struct store *rfs_store(const char *dir, const char *driver)
{
    _cleanup_free_ char *root = xasprintf("%s/root", dir);
    _cleanup_free_ char *run = xasprintf("%s/run", dir);
    struct store_opts o = {.root = root, .runroot = run, .driver = driver};
    struct store *s = NULL;
    berth_error_t e = NULL;
    if (store_open(&o, &s, &e) < 0) {
        fprintf(stderr, "# store_open: %s\n", e->msg);
        abort();
    }
    return s;
}

/* Fake image: layer i holds file fI; layer 1 whites out f0; the top
 * layer makes dir d opaque over layer 0's d/x. */
static int rfs_image(struct store *s, const char *img_id, berth_error_t *err)
{
    json_t *layers = json_array();
    _cleanup_json_ json_t *rec = json_pack("{s:s,s:[s],s:[],s:o}", "id", img_id,
                                           "names", "localhost/many:latest",
                                           "digests", "layers", layers);
    for (int i = 0; i < RFS_NLAYERS; i++) {
        _cleanup_free_ char *seed = xasprintf("layer %d", i);
        char hex[65];
        sha256_hex(seed, strlen(seed), hex);
        _cleanup_free_ char *diff = store_path(s, "layers/%s/diff", hex);
        _cleanup_free_ char *f = xasprintf("f%d", i);
        if (fs_mkdir_p(diff, 0755, err) < 0 || rfs_put(diff, f, f) < 0)
            return -1;
        if (i == 0 && rfs_put(diff, "d/x", "x") < 0)
            return -1;
        if (i == 1) {
            _cleanup_free_ char *wh = xasprintf("%s/f0", diff);
            if (mknod(wh, S_IFCHR | 0600, makedev(0, 0)) < 0)
                return berth_error_new(err, errno, "mknod %s", wh);
        }
        if (i == RFS_NLAYERS - 1) {
            _cleanup_free_ char *dd = xasprintf("%s/d", diff);
            if (rfs_put(diff, "d/y", "y") < 0)
                return -1;
            rfs_opaque(dd);
        }
        json_array_append_new(layers, json_pack("{s:s+}", "chain_id",
                                                "sha256:", hex));
    }
    return images_put(s, rec, err);
}

static int check_view(const char *path, void *arg, berth_error_t *err)
{
    (void)arg;
    if (!rfs_has(path, "f1") || !rfs_has(path, "f69") || !rfs_has(path, "d/y"))
        return berth_error_new(err, 0, "layers missing from %s", path);
    if (rfs_has(path, "f0") || rfs_has(path, "d/x"))
        return berth_error_new(err, 0, "whiteout/opaque not applied in %s",
                               path);
    if (rfs_put(path, "written", "w") < 0)
        return berth_error_new(err, errno, "write into %s", path);
    return 7;
}

static int container_flow(const char *driver, char **ret_used)
{
    char *d = rfs_scratch();
    struct store *s = rfs_store(d, driver);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *c = NULL, *f = NULL;
    _cleanup_free_ char *name = NULL, *reason = NULL, *upper = NULL;
    const char *img = "5555555555555555555555555555555555555555555555555555"
                      "555555555555";
    int r = -1;

    if (rfs_image(s, img, &e) < 0)
        goto out;
    f = json_pack("{s:s}", "image", img);
    if (containers_create(s, f, &c, &e) < 0 ||
        rootfs_choose(s, &name, &reason, &e) < 0)
        goto out;
    fprintf(stderr, "# %s store: %s (%s)\n", driver, name, reason);
    r = rootfs_with_mounted(s, c, check_view, NULL, &e);
    if (r >= 0 && r != 7)
        r = berth_error_new(&e, 0, "fn result lost: %d", r);
    if (r < 0)
        goto out;
    upper = containers_path(s, json_get_str(c, "id"), "diff");
    if (!rfs_has(upper, "written"))
        r = berth_error_new(&e, 0, "write did not reach %s", upper);
    else
        r = 0;
    *ret_used = xstrdup(json_get_str(c, "driver"));
out:
    /* exercises removal of a tree with subordinate owners too */
    if (c && containers_delete(s, json_get_str(c, "id"), &e) < 0 && r == 0)
        r = -1;
    store_free(s);
    rfs_scratch_free(d);
    return rfs_report(r, &e);
}

static int flow_overlay_body(void)
{
    _cleanup_free_ char *used = NULL;
    if (container_flow("overlay", &used) < 0)
        return -1;
    TAP_CHECK(strcmp(used, "overlay") == 0 ||
              strcmp(used, "fuse-overlayfs") == 0 || strcmp(used, "vfs") == 0);
    if (kernel_at_least(5, 11))
        TAP_STREQ(used, "overlay");
    _cleanup_free_ char *v = NULL;
    if (container_flow("vfs", &v) < 0)
        return -1;
    TAP_STREQ(v, "vfs");
    return 0;
}

static int test_flow_root(void)
{
    if (geteuid() != 0)
        return 77;
    return flow_overlay_body();
}

static int test_flow_rootless(void)
{
    return as_test_user(flow_overlay_body);
}

static int test_choose_cache(void)
{
    char *d = rfs_scratch();
    struct store *s = rfs_store(d, "overlay");
    berth_error_t e = NULL;
    _cleanup_free_ char *n1 = NULL, *r1 = NULL, *n2 = NULL, *r2 = NULL;
    _cleanup_free_ char *cache = store_path(s, "rootfs.json");
    _cleanup_json_ json_t *j = NULL;
    int r = -1;

    if (rootfs_choose(s, &n1, &r1, &e) < 0)
        goto out;
    j = json_load_path(cache, &e);
    if (j == NULL)
        goto out;
    TAP_STREQ(json_get_str(j, "driver"), n1);
    /* a cached verdict is used as long as the kernel is the same */
    json_object_set_new(j, "reason", json_string("from the cache"));
    if (json_write_path(cache, j, &e) < 0 ||
        rootfs_choose(s, &n2, &r2, &e) < 0)
        goto out;
    TAP_STREQ(r2, "from the cache");
    json_object_set_new(j, "kernel", json_string("0.0-old"));
    free(n2), free(r2);
    n2 = r2 = NULL;
    if (json_write_path(cache, j, &e) < 0 ||
        rootfs_choose(s, &n2, &r2, &e) < 0)
        goto out;
    TAP_CHECK(strcmp(r2, "from the cache") != 0);
    r = 0;
out:
    store_free(s);
    rfs_scratch_free(d);
    return rfs_report(r, &e);
}

TAP_MAIN({"vfs copy applies whiteouts and opaque dirs", test_vfs_copy},
         {"kernel overlay as root", test_overlay_root},
         {"kernel overlay rootless (userxattr)", test_overlay_rootless},
         {"fuse-overlayfs as root", test_fuse_root},
         {"fuse-overlayfs rootless", test_fuse_rootless},
         {"choose caches its verdict per kernel", test_choose_cache},
         {"container rootfs through the store, as root", test_flow_root},
         {"container rootfs through the store, rootless", test_flow_rootless})
