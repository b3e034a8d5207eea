#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runtime/cgroup.h"
#include "tests/unit/tap.h"

#define USER_SLICE "/user.slice/user-1000.slice/user@1000.service"
#define APP USER_SLICE "/app.slice"
#define PROC_V2 "0::" APP "/term.scope\n"

static char *mktree(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *d = xasprintf("%s/test-cgroup-XXXXXX", tmp);
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static void rmtree(char *d)
{
    berth_error_t e = NULL;
    fs_rm_rf(d, &e);
    berth_error_free(&e);
    free(d);
}

/* Create ROOT/REL as a plain file with text (parents too). */
static int put(const char *root, const char *rel, const char *text)
{
    _cleanup_free_ char *p = xasprintf("%s%s", root, rel);
    _cleanup_free_ char *d = xstrdup(p);
    berth_error_t e = NULL;
    *strrchr(d, '/') = '\0';
    if (fs_mkdir_p(d, 0755, &e) < 0 ||
        fs_write_file_atomic(p, text, strlen(text), 0644, &e) < 0) {
        fprintf(stderr, "# %s\n", e->msg);
        berth_error_free(&e);
        return -1;
    }
    return 0;
}

static char *get(const char *root, const char *rel)
{
    _cleanup_free_ char *p = xasprintf("%s%s", root, rel);
    char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(p, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return NULL;
    }
    return buf;
}

#define FILE_IS(root, rel, want)                                               \
    do {                                                                       \
        _cleanup_free_ char *_g = get(root, rel);                              \
        TAP_STREQ(_g, want);                                                   \
    } while (0)

/* The uid the fake delegated tree belongs to: 1000 when the test can
 * chown (root), else whoever runs it. */
static uid_t tree_owner(const char *root, const char *rel)
{
    if (geteuid() != 0)
        return geteuid();
    _cleanup_free_ char *p = xasprintf("%s%s", root, rel);
    if (chown(p, 1000, 1000) < 0)
        return (uid_t)-1;
    return 1000;
}

static int v2_tree(const char *root, bool delegated)
{
    if (put(root, "/cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n") < 0 ||
        put(root, APP "/cgroup.controllers", "cpu memory pids\n") < 0 ||
        put(root, APP "/cgroup.subtree_control", "") < 0 ||
        put(root, APP "/term.scope/cgroup.procs", "1\n") < 0)
        return -1;
    (void)delegated;
    return 0;
}

static int test_detect_v2_delegated(void)
{
    char *root = mktree();
    struct cgroup_info info;
    berth_error_t e = NULL;
    TAP_CHECK(v2_tree(root, true) == 0);
    uid_t uid = tree_owner(root, APP "/cgroup.subtree_control");
    TAP_CHECK(uid != (uid_t)-1);
    TAP_CHECK(cgroup_detect_full(root, "1:name=systemd:/x\n" PROC_V2, uid,
                                 &info, &e) == 0);
    TAP_CHECK(info.mode == CGROUP_MODE_V2);
    TAP_STREQ(cgroup_mode_name(info.mode), "v2");
    TAP_STREQ(info.own_path, APP "/term.scope");
    TAP_CHECK(info.available == (CGROUP_CPU | CGROUP_CPUSET | CGROUP_IO |
                                 CGROUP_MEMORY | CGROUP_PIDS));
    if (uid == 0) {
        /* the root user owns everything: no delegation question */
        TAP_STREQ(info.base_path, "/");
        TAP_CHECK(info.delegated == info.available);
    } else {
        TAP_STREQ(info.base_path, APP);
        TAP_CHECK(info.delegated == (CGROUP_CPU | CGROUP_MEMORY | CGROUP_PIDS));
    }
    _cleanup_free_ char *cp = cgroup_container_path(&info, "abc");
    TAP_STREQ(cp, uid == 0 ? "/berth/abc" : APP "/berth-abc");
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

/* The whole v2 path for a user with delegation: create enables the
 * controllers in the delegated parent, limits are written in v2 units,
 * a controller the user lacks (io) becomes a warning. */
static int test_v2_apply_delegated(void)
{
    char *root = mktree();
    berth_error_t e = NULL;
    struct cgroup_info info;
    TAP_CHECK(v2_tree(root, true) == 0);
    uid_t uid = geteuid() == 0 ? 1000 : geteuid();
    TAP_CHECK(tree_owner(root, APP "/cgroup.subtree_control") == uid);
    TAP_CHECK(cgroup_detect_full(root, PROC_V2, uid, &info, &e) == 0);
    const char *cg = APP "/berth-abc";
    TAP_CHECK(cgroup_create(&info, cg, &e) == 0);
    FILE_IS(root, APP "/cgroup.subtree_control", "+cpu +memory +pids");
    /* the kernel would make these appear; the fake tree needs them */
    static const char *const files[] = {"memory.max", "memory.swap.max",
                                        "memory.low", "cpu.max", "cpu.weight",
                                        "pids.max", "cgroup.procs"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        _cleanup_free_ char *rel = xasprintf("%s/%s", cg, files[i]);
        TAP_CHECK(put(root, rel, "") == 0);
    }
    _cleanup_json_ json_t *res = json_pack(
        "{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I}, s:{s:I}}", "memory",
        "limit", (json_int_t)536870912, "swap", (json_int_t)1073741824,
        "reservation", (json_int_t)1048576, "cpu", "quota",
        (json_int_t)150000, "period", (json_int_t)100000, "shares",
        (json_int_t)1024, "pids", "limit", (json_int_t)100, "blockIO",
        "weight", (json_int_t)500);
    _cleanup_strv_ char **warn = NULL;
    TAP_CHECK(cgroup_apply_resources(&info, cg, res, &warn, &e) == 0);
    FILE_IS(root, APP "/berth-abc/memory.max", "536870912");
    FILE_IS(root, APP "/berth-abc/memory.swap.max", "536870912");
    FILE_IS(root, APP "/berth-abc/memory.low", "1048576");
    FILE_IS(root, APP "/berth-abc/cpu.max", "150000 100000");
    FILE_IS(root, APP "/berth-abc/cpu.weight", "39");
    FILE_IS(root, APP "/berth-abc/pids.max", "100");
    TAP_CHECK(strv_len(warn) == 1);
    _cleanup_free_ char *w = xasprintf(
        "io weight not applied: cgroup v2 controller io is not delegated to "
        "user %u (run with systemd delegation, see README)",
        (unsigned)uid);
    TAP_STREQ(warn[0], w);

    /* unlimited values are "max"; an absent file is a warning */
    _cleanup_free_ char *rel = xasprintf("%s/memory.swap.max", cg);
    _cleanup_free_ char *abs = xasprintf("%s%s", root, rel);
    TAP_CHECK(unlink(abs) == 0);
    _cleanup_json_ json_t *res2 = json_pack(
        "{s:{s:I, s:I}, s:{s:I}, s:{s:I}}", "memory", "limit",
        (json_int_t)-1, "swap", (json_int_t)-1, "pids", "limit",
        (json_int_t)-1, "cpu", "period", (json_int_t)50000);
    _cleanup_strv_ char **warn2 = NULL;
    TAP_CHECK(cgroup_apply_resources(&info, cg, res2, &warn2, &e) == 0);
    FILE_IS(root, APP "/berth-abc/memory.max", "max");
    FILE_IS(root, APP "/berth-abc/pids.max", "max");
    FILE_IS(root, APP "/berth-abc/cpu.max", "max 50000");
    TAP_CHECK(strv_len(warn2) == 1);
    TAP_STREQ(warn2[0], "memory swap limit not applied: the kernel has no "
                        "swap accounting (memory.swap.max missing)");

    TAP_CHECK(cgroup_enter(&info, cg, 4242, &e) == 0);
    FILE_IS(root, APP "/berth-abc/cgroup.procs", "4242");
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

static int test_v2_not_delegated(void)
{
    char *root = mktree();
    berth_error_t e = NULL;
    struct cgroup_info info;
    TAP_CHECK(v2_tree(root, false) == 0);
    /* a uid that owns nothing in the tree */
    uid_t uid = geteuid() == 4321 ? 4322 : 4321;
    TAP_CHECK(cgroup_detect_full(root, PROC_V2, uid, &info, &e) == 0);
    TAP_CHECK(info.mode == CGROUP_MODE_V2);
    TAP_CHECK(info.delegated == 0);
    const char *cg = APP "/berth-x";
    _cleanup_json_ json_t *res = json_pack("{s:{s:I}, s:{s:I}}", "memory",
                                           "limit", (json_int_t)1 << 30,
                                           "pids", "limit", (json_int_t)10);
    _cleanup_strv_ char **warn = NULL;
    TAP_CHECK(cgroup_apply_resources(&info, cg, res, &warn, &e) == 0);
    TAP_CHECK(strv_len(warn) == 2);
    _cleanup_free_ char *w = xasprintf(
        "memory limit not applied: cgroup v2 controller memory is not "
        "delegated to user %u (run with systemd delegation, see README)",
        (unsigned)uid);
    TAP_STREQ(warn[0], w);
    TAP_CHECK(str_has_prefix(warn[1], "pids limit not applied: cgroup v2 "
                                      "controller pids is not delegated"));
    /* nothing was written */
    _cleanup_free_ char *p = xasprintf("%s%s", root, cg);
    TAP_CHECK(!fs_exists(p));
    cgroup_info_clear(&info);

    /* delegated parent, but its cgroup.controllers lacks memory */
    if (geteuid() != 0) {
        rmtree(root);
        return 0;
    }
    TAP_CHECK(put(root, APP "/cgroup.controllers", "pids\n") == 0);
    TAP_CHECK(tree_owner(root, APP "/cgroup.subtree_control") == 1000);
    TAP_CHECK(cgroup_detect_full(root, PROC_V2, 1000, &info, &e) == 0);
    TAP_CHECK(info.delegated == CGROUP_PIDS);
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

static int v1_tree(const char *root)
{
    static const char *const ctrls[] = {"cpu", "cpuacct", "cpuset", "blkio",
                                        "memory", "pids", "freezer", NULL};
    for (size_t i = 0; ctrls[i]; i++) {
        _cleanup_free_ char *rel = xasprintf("/%s/cgroup.procs", ctrls[i]);
        if (put(root, rel, "") < 0)
            return -1;
    }
    return put(root, "/cpuset/cpuset.cpus", "0-3\n") < 0 ||
                   put(root, "/cpuset/cpuset.mems", "0\n") < 0 ||
                   put(root, "/unified/cgroup.controllers", "") < 0
               ? -1
               : 0;
}

static int test_v1_root(void)
{
    char *root = mktree();
    berth_error_t e = NULL;
    struct cgroup_info info;
    TAP_CHECK(v1_tree(root) == 0);
    TAP_CHECK(cgroup_detect_full(root, "4:memory:/\n0::/\n", 0, &info, &e) ==
              0);
    TAP_CHECK(info.mode == CGROUP_MODE_HYBRID);
    unsigned all = CGROUP_CPU | CGROUP_CPUSET | CGROUP_IO | CGROUP_MEMORY |
                   CGROUP_PIDS | CGROUP_FREEZER;
    TAP_CHECK(info.available == all && info.delegated == all);
    const char *cg = "/berth/c1";
    /* the kernel gives a new cpuset empty cpus/mems files */
    TAP_CHECK(put(root, "/cpuset/berth/cpuset.cpus", "") == 0);
    TAP_CHECK(put(root, "/cpuset/berth/cpuset.mems", "") == 0);
    TAP_CHECK(put(root, "/cpuset/berth/c1/cpuset.cpus", "\n") == 0);
    TAP_CHECK(put(root, "/cpuset/berth/c1/cpuset.mems", "") == 0);
    TAP_CHECK(cgroup_create(&info, cg, &e) == 0);
    FILE_IS(root, "/cpuset/berth/cpuset.cpus", "0-3");
    FILE_IS(root, "/cpuset/berth/c1/cpuset.cpus", "0-3");
    FILE_IS(root, "/cpuset/berth/c1/cpuset.mems", "0");
    static const char *const files[] = {
        "/memory/berth/c1/memory.limit_in_bytes",
        "/memory/berth/c1/memory.soft_limit_in_bytes",
        "/cpu/berth/c1/cpu.cfs_quota_us", "/cpu/berth/c1/cpu.cfs_period_us",
        "/cpu/berth/c1/cpu.shares", "/pids/berth/c1/pids.max",
        "/blkio/berth/c1/blkio.weight", "/pids/berth/c1/cgroup.procs",
        "/memory/berth/c1/cgroup.procs", "/cpu/berth/c1/cgroup.procs",
        "/cpuset/berth/c1/cgroup.procs", "/blkio/berth/c1/cgroup.procs",
        "/freezer/berth/c1/cgroup.procs", "/freezer/berth/c1/freezer.state"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        TAP_CHECK(put(root, files[i], "") == 0);
    _cleanup_json_ json_t *res = json_pack(
        "{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:s}, s:{s:I}, s:{s:I}}",
        "memory", "limit", (json_int_t)536870912, "swap",
        (json_int_t)1073741824, "reservation", (json_int_t)4096, "cpu",
        "quota", (json_int_t)150000, "period", (json_int_t)100000, "shares",
        (json_int_t)512, "cpus", "1", "pids", "limit", (json_int_t)-1,
        "blockIO", "weight", (json_int_t)300);
    _cleanup_strv_ char **warn = NULL;
    TAP_CHECK(cgroup_apply_resources(&info, cg, res, &warn, &e) == 0);
    FILE_IS(root, "/memory/berth/c1/memory.limit_in_bytes", "536870912");
    FILE_IS(root, "/memory/berth/c1/memory.soft_limit_in_bytes", "4096");
    FILE_IS(root, "/cpu/berth/c1/cpu.cfs_quota_us", "150000");
    FILE_IS(root, "/cpu/berth/c1/cpu.cfs_period_us", "100000");
    FILE_IS(root, "/cpu/berth/c1/cpu.shares", "512");
    FILE_IS(root, "/cpuset/berth/c1/cpuset.cpus", "1");
    FILE_IS(root, "/pids/berth/c1/pids.max", "max");
    FILE_IS(root, "/blkio/berth/c1/blkio.weight", "300");
    TAP_CHECK(strv_len(warn) == 1);
    TAP_STREQ(warn[0], "memory swap limit not applied: the kernel has no "
                       "swap accounting (boot with swapaccount=1)");

    TAP_CHECK(cgroup_enter(&info, cg, 77, &e) == 0);
    FILE_IS(root, "/pids/berth/c1/cgroup.procs", "77");
    FILE_IS(root, "/memory/berth/c1/cgroup.procs", "77");
    FILE_IS(root, "/freezer/berth/c1/cgroup.procs", "77");

    TAP_CHECK(cgroup_freeze(&info, cg, true, &e) == 0);
    FILE_IS(root, "/freezer/berth/c1/freezer.state", "FROZEN");
    TAP_CHECK(cgroup_freeze(&info, cg, false, &e) == 0);
    FILE_IS(root, "/freezer/berth/c1/freezer.state", "THAWED");

    TAP_CHECK(put(root, "/memory/berth/c1/memory.usage_in_bytes", "8192\n") ==
              0);
    TAP_CHECK(put(root, "/memory/berth/c1/memory.limit_in_bytes",
                  "9223372036854771712\n") == 0);
    TAP_CHECK(put(root, "/pids/berth/c1/pids.current", "3\n") == 0);
    TAP_CHECK(put(root, "/cpuacct/berth/c1/cpuacct.usage", "5000000\n") == 0);
    struct cgroup_stats st;
    TAP_CHECK(cgroup_stats(&info, cg, &st, &e) == 0);
    TAP_CHECK(st.memory_current == 8192 && st.memory_max == -1 &&
              st.pids_current == 3 && st.cpu_usage_usec == 5000);
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

static int test_v1_rootless(void)
{
    char *root = mktree();
    berth_error_t e = NULL;
    struct cgroup_info info;
    TAP_CHECK(v1_tree(root) == 0);
    TAP_CHECK(put(root, "/unified/cgroup.controllers", "") == 0);
    uid_t uid = geteuid() == 4321 ? 4322 : 4321;
    TAP_CHECK(cgroup_detect_full(root, "4:memory:/user.slice\n", uid, &info,
                                 &e) == 0);
    TAP_CHECK(info.delegated == 0);
    TAP_STREQ(info.own_path, "/user.slice");
    _cleanup_json_ json_t *res = json_pack("{s:{s:I}}", "cpu", "shares",
                                           (json_int_t)100);
    _cleanup_strv_ char **warn = NULL;
    TAP_CHECK(cgroup_apply_resources(&info, "/berth/x", res, &warn, &e) == 0);
    TAP_CHECK(strv_len(warn) == 1);
    _cleanup_free_ char *w = xasprintf(
        "cpu shares not applied: cgroup v1 controller cpu cannot be used by "
        "user %u (rootless limits need cgroup v2 with systemd delegation, "
        "see README)",
        (unsigned)uid);
    TAP_STREQ(warn[0], w);
    TAP_CHECK(cgroup_freeze(&info, "/berth/x", true, &e) < 0);
    TAP_CHECK(strstr(e->msg, "freezer is not available") != NULL);
    berth_error_free(&e);
    /* nothing to create or remove for a user without controllers */
    TAP_CHECK(cgroup_create(&info, "/berth/x", &e) == 0);
    _cleanup_free_ char *p = xasprintf("%s/memory/berth", root);
    TAP_CHECK(!fs_exists(p));
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

static int test_v2_freeze_stats_destroy(void)
{
    char *root = mktree();
    berth_error_t e = NULL;
    struct cgroup_info info;
    TAP_CHECK(put(root, "/cgroup.controllers", "cpu memory pids\n") == 0);
    TAP_CHECK(cgroup_detect_full(root, "0::/\n", 0, &info, &e) == 0);
    const char *cg = "/berth/c2";
    TAP_CHECK(put(root, "/cgroup.subtree_control", "") == 0);
    TAP_CHECK(cgroup_create(&info, cg, &e) == 0);
    /* root enables in every ancestor, the hierarchy root included */
    FILE_IS(root, "/cgroup.subtree_control", "+cpu +memory +pids");
    TAP_CHECK(put(root, "/berth/c2/cgroup.freeze", "") == 0);
    TAP_CHECK(put(root, "/berth/c2/cgroup.events",
                  "populated 1\nfrozen 1\n") == 0);
    TAP_CHECK(cgroup_freeze(&info, cg, true, &e) == 0);
    FILE_IS(root, "/berth/c2/cgroup.freeze", "1");
    TAP_CHECK(put(root, "/berth/c2/cgroup.events",
                  "populated 1\nfrozen 0\n") == 0);
    TAP_CHECK(cgroup_freeze(&info, cg, false, &e) == 0);
    FILE_IS(root, "/berth/c2/cgroup.freeze", "0");

    TAP_CHECK(put(root, "/berth/c2/memory.current", "12345\n") == 0);
    TAP_CHECK(put(root, "/berth/c2/memory.max", "max\n") == 0);
    TAP_CHECK(put(root, "/berth/c2/pids.current", "2\n") == 0);
    TAP_CHECK(put(root, "/berth/c2/cpu.stat",
                  "usage_usec 777\nuser_usec 500\nsystem_usec 277\n") == 0);
    struct cgroup_stats st;
    TAP_CHECK(cgroup_stats(&info, cg, &st, &e) == 0);
    TAP_CHECK(st.memory_current == 12345 && st.memory_max == -1 &&
              st.pids_current == 2 && st.cpu_usage_usec == 777);

    /* destroy removes nested cgroups the container made, deepest first
     * (on cgroupfs the interface files vanish with their directory) */
    TAP_CHECK(cgroup_destroy(&info, "/berth/gone", &e) == 0);
    _cleanup_free_ char *nested = xasprintf("%s/berth/c3/a/b", root);
    TAP_CHECK(fs_mkdir_p(nested, 0755, &e) == 0);
    TAP_CHECK(cgroup_destroy(&info, "/berth/c3", &e) == 0);
    _cleanup_free_ char *c3 = xasprintf("%s/berth/c3", root);
    TAP_CHECK(!fs_exists(c3));
    /* a cgroup that cannot go (here: a plain file in it) is an error */
    TAP_CHECK(cgroup_destroy(&info, cg, &e) < 0);
    TAP_CHECK(strstr(e->msg, "remove cgroup") != NULL);
    berth_error_free(&e);
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

static int test_none(void)
{
    char *root = mktree();
    berth_error_t e = NULL;
    struct cgroup_info info;
    TAP_CHECK(cgroup_detect_full(root, "", 1000, &info, &e) == 0);
    TAP_CHECK(info.mode == CGROUP_MODE_NONE);
    _cleanup_json_ json_t *res = json_pack("{s:{s:I}}", "memory", "limit",
                                           (json_int_t)1 << 30);
    _cleanup_strv_ char **warn = NULL;
    TAP_CHECK(cgroup_apply_resources(&info, "/x", res, &warn, &e) == 0);
    TAP_CHECK(strv_len(warn) == 1);
    _cleanup_free_ char *w = xasprintf(
        "memory limit not applied: no cgroup file system at %s", root);
    TAP_STREQ(warn[0], w);
    TAP_CHECK(cgroup_create(&info, "/x", &e) == 0);
    TAP_CHECK(cgroup_freeze(&info, "/x", true, &e) < 0);
    TAP_STREQ(e->msg, "pause: no cgroup file system, cannot pause containers");
    berth_error_free(&e);
    cgroup_info_clear(&info);
    rmtree(root);
    return 0;
}

/* This host's own hierarchy: only that detection works and agrees with
 * the file system; nothing is written. */
static int test_detect_host(void)
{
    struct cgroup_info info;
    berth_error_t e = NULL;
    if (!fs_exists("/sys/fs/cgroup"))
        return 77;
    TAP_CHECK(cgroup_detect(NULL, &info, &e) == 0);
    fprintf(stderr, "# host: %s, available %#x, delegated %#x\n",
            cgroup_mode_name(info.mode), info.available, info.delegated);
    if (fs_exists("/sys/fs/cgroup/cgroup.controllers"))
        TAP_CHECK(info.mode == CGROUP_MODE_V2);
    else if (fs_exists("/sys/fs/cgroup/memory"))
        TAP_CHECK(info.mode == CGROUP_MODE_V1 ||
                  info.mode == CGROUP_MODE_HYBRID);
    if (geteuid() == 0)
        TAP_CHECK(info.delegated == info.available);
    TAP_CHECK(info.own_path && info.own_path[0] == '/');
    cgroup_info_clear(&info);
    return 0;
}

/* The real kernel, as root: a throwaway cgroup gets limits, a process,
 * a freeze and thaw, and goes away.  Skipped rootless and where the
 * hierarchy is read-only (inside some sandboxes). */
static int test_real_kernel(void)
{
    struct cgroup_info info;
    berth_error_t e = NULL;
    if (geteuid() != 0)
        return 77;
    TAP_CHECK(cgroup_detect(NULL, &info, &e) == 0);
    if (info.mode == CGROUP_MODE_NONE) {
        cgroup_info_clear(&info);
        return 77;
    }
    _cleanup_free_ char *cg = xasprintf("/berth-unit-%d", (int)getpid());
    if (cgroup_create(&info, cg, &e) < 0) {
        fprintf(stderr, "# skip: %s\n", e->msg);
        berth_error_free(&e);
        cgroup_info_clear(&info);
        return 77;
    }
    _cleanup_json_ json_t *res = json_pack(
        "{s:{s:I, s:I}, s:{s:I}, s:{s:I}}", "memory", "limit",
        (json_int_t)64 << 20, "swap", (json_int_t)128 << 20, "pids", "limit",
        (json_int_t)50, "cpu", "shares", (json_int_t)512);
    _cleanup_strv_ char **warn = NULL;
    int r = cgroup_apply_resources(&info, cg, res, &warn, &e);
    for (size_t i = 0; warn && warn[i]; i++)
        fprintf(stderr, "# warning: %s\n", warn[i]);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    /* a new v1 cpuset has no cpus until create fills it: enter tests it */
    int r_enter = r < 0 ? -1 : cgroup_enter(&info, cg, child, &e);
    struct cgroup_stats st = {0};
    int r_stats = r_enter < 0 ? -1 : cgroup_stats(&info, cg, &st, &e);
    int r_freeze = r_stats < 0 ? -1 : cgroup_freeze(&info, cg, true, &e);
    int r_thaw = r_freeze < 0 ? -1 : cgroup_freeze(&info, cg, false, &e);
    if (e)
        fprintf(stderr, "# %s\n", e->msg);
    berth_error_free(&e);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    int r_destroy = cgroup_destroy(&info, cg, &e);
    if (e)
        fprintf(stderr, "# destroy: %s\n", e->msg);
    berth_error_free(&e);
    _cleanup_free_ char *memdir = xasprintf(
        "%s%s%s", info.mountpoint, info.mode == CGROUP_MODE_V2 ? "" : "/memory",
        cg);
    bool gone = !fs_exists(memdir);
    cgroup_info_clear(&info);
    TAP_CHECK(r == 0 && r_enter == 0 && r_stats == 0);
    TAP_CHECK(r_freeze == 0 && r_thaw == 0);
    TAP_CHECK(st.memory_max == 64 << 20);
    TAP_CHECK(st.pids_current == 1);
    TAP_CHECK(r_destroy == 0 && gone);
    return 0;
}

TAP_MAIN({"detect v2 with delegation", test_detect_v2_delegated},
         {"v2 delegated: create, apply, enter", test_v2_apply_delegated},
         {"v2 without delegation warns", test_v2_not_delegated},
         {"v1 as root: create, apply, enter, freeze, stats", test_v1_root},
         {"v1 rootless warns", test_v1_rootless},
         {"v2 freeze, stats, destroy", test_v2_freeze_stats_destroy},
         {"no cgroups", test_none},
         {"detect this host", test_detect_host},
         {"real kernel cgroup round trip (root)", test_real_kernel})
