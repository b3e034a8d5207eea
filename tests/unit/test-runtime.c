#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runtime/runtime-internal.h"
#include "runtime/runtime.h"
#include "tests/unit/tap.h"

static char *rt_test_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/test-runtime.XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

static void rt_test_rm(const char *d)
{
    berth_error_t e = NULL;
    fs_rm_rf(d, &e);
    berth_error_free(&e);
}

/* symlinks inside the rootfs resolve as if it were "/": no escape */
static int test_path_in_root(void)
{
    _cleanup_free_ char *d = rt_test_tmpdir();
    TAP_CHECK(d != NULL);
    _cleanup_free_ char *etc = xasprintf("%s/etc", d);
    _cleanup_free_ char *l1 = xasprintf("%s/abs", d);
    _cleanup_free_ char *l2 = xasprintf("%s/etc/up", d);
    _cleanup_free_ char *l3 = xasprintf("%s/loop", d);
    TAP_CHECK(mkdir(etc, 0755) == 0);
    TAP_CHECK(symlink("/etc", l1) == 0);
    TAP_CHECK(symlink("../../../../..", l2) == 0);
    TAP_CHECK(symlink("loop", l3) == 0);

    _cleanup_free_ char *a = rt_path_in_root(d, "/abs/passwd");
    _cleanup_free_ char *b = rt_path_in_root(d, "/etc/up/etc/shadow");
    _cleanup_free_ char *c = rt_path_in_root(d, "/../../x");
    _cleanup_free_ char *e = rt_path_in_root(d, "/");
    _cleanup_free_ char *f = rt_path_in_root(d, "/loop/x");
    _cleanup_free_ char *wa = xasprintf("%s/etc/passwd", d);
    _cleanup_free_ char *wb = xasprintf("%s/etc/shadow", d);
    _cleanup_free_ char *wc = xasprintf("%s/x", d);
    rt_test_rm(d);
    TAP_STREQ(a, wa);
    TAP_STREQ(b, wb);
    TAP_STREQ(c, wc);
    TAP_STREQ(e, d);
    /* a symlink loop ends after 40 links instead of spinning */
    TAP_CHECK(str_has_prefix(f, d));
    return 0;
}

static int test_mount_opts(void)
{
    json_t *o = json_pack("[s,s,s,s,s,s,s,s]", "rbind", "ro", "nosuid", "rw",
                          "rprivate", "mode=755", "size=1k", "tmpcopyup");
    struct rt_mount_opts m;
    rt_mount_opts_parse(o, &m);
    json_decref(o);
    _cleanup_free_ char *data = m.data;
    TAP_CHECK(m.bind && m.rec);
    /* the later "rw" wins over "ro" and is remembered as cleared */
    TAP_CHECK(m.flags == MS_NOSUID);
    TAP_CHECK(m.clear == MS_RDONLY);
    TAP_CHECK(m.propagation == (MS_PRIVATE | MS_REC));
    TAP_STREQ(data, "mode=755,size=1k");

    o = json_pack("[s,s]", "bind", "slave");
    rt_mount_opts_parse(o, &m);
    json_decref(o);
    TAP_CHECK(m.bind && !m.rec && m.data == NULL);
    TAP_CHECK(m.propagation == MS_SLAVE);
    return 0;
}

static int test_signal_parse(void)
{
    TAP_CHECK(runtime_signal_parse("KILL") == SIGKILL);
    TAP_CHECK(runtime_signal_parse("SIGTERM") == SIGTERM);
    TAP_CHECK(runtime_signal_parse("sigusr1") == SIGUSR1);
    TAP_CHECK(runtime_signal_parse("9") == 9);
    TAP_CHECK(runtime_signal_parse("NOPE") == -1);
    TAP_CHECK(runtime_signal_parse("9x") == -1);
    TAP_CHECK(runtime_signal_parse("0") == -1);
    TAP_CHECK(runtime_signal_parse("") == -1);
    return 0;
}

static int test_lookup_exec(void)
{
    _cleanup_free_ char *d = rt_test_tmpdir();
    TAP_CHECK(d != NULL);
    _cleanup_free_ char *x = xasprintf("%s/tool", d);
    _cleanup_free_ char *nx = xasprintf("%s/data", d);
    _cleanup_free_ char *path = xasprintf("/nonexistent:%s", d);
    berth_error_t err = NULL;
    char *ret = NULL;

    TAP_CHECK(fs_write_file_atomic(x, "#!/bin/sh\n", 10, 0755, &err) == 0);
    TAP_CHECK(fs_write_file_atomic(nx, "data\n", 5, 0644, &err) == 0);
    int r1 = rt_lookup_exec("tool", path, &ret, &err);
    _cleanup_free_ char *found = ret;
    int r2 = rt_lookup_exec("missing", path, &ret, &err);
    int code2 = err ? err->exit_code : 0;
    _cleanup_free_ char *msg2 = err ? xstrdup(err->msg) : NULL;
    berth_error_free(&err);
    int r3 = rt_lookup_exec("data", path, &ret, &err);
    int code3 = err ? err->exit_code : 0;
    berth_error_free(&err);
    int r4 = rt_lookup_exec(nx, NULL, &ret, &err);
    int code4 = err ? err->exit_code : 0;
    berth_error_free(&err);
    rt_test_rm(d);

    TAP_CHECK(r1 == 0);
    TAP_STREQ(found, x);
    TAP_CHECK(r2 == -1 && code2 == 127);
    TAP_STREQ(msg2, "executable file `missing` not found in $PATH: No such "
                    "file or directory");
    TAP_CHECK(r3 == -1 && code3 == 126);
    TAP_CHECK(r4 == -1 && code4 == 126);
    return 0;
}

static int test_rlimit_names(void)
{
    TAP_CHECK(rt_rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE);
    TAP_CHECK(rt_rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME);
    TAP_CHECK(rt_rlimit_from_name("NOFILE") == -1);
    return 0;
}

static int test_seccomp_build(void)
{
    berth_error_t err = NULL;
    struct rt_seccomp *ctx = NULL;
    json_error_t je;

    /* unknown syscall names are skipped, as runc */
    json_t *ok = json_loads(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
        "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
        "\"syscalls\":[{\"names\":[\"read\",\"no_such_call\"],"
        "\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\","
        "\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
        "\"errnoRet\":38}]}",
        0, &je);
    TAP_CHECK(ok != NULL);
    int r = rt_seccomp_prepare(ok, NULL, &ctx, &err);
    json_decref(ok);
    TAP_CHECK(r == 0 && ctx != NULL);
    rt_seccomp_free(ctx);

    json_t *bad = json_pack("{s:s}", "defaultAction", "SCMP_ACT_NOPE");
    r = rt_seccomp_prepare(bad, NULL, &ctx, &err);
    json_decref(bad);
    TAP_CHECK(r == -1 && err != NULL);
    TAP_STREQ(err->msg, "seccomp: unsupported action SCMP_ACT_NOPE");
    berth_error_free(&err);

    bad = json_loads("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
                     "[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\","
                     "\"args\":[{\"index\":0,\"value\":1,\"op\":\"BAD\"}]}]}",
                     0, &je);
    r = rt_seccomp_prepare(bad, NULL, &ctx, &err);
    json_decref(bad);
    TAP_CHECK(r == -1 && err != NULL);
    berth_error_free(&err);

    /* absent: no filter */
    TAP_CHECK(rt_seccomp_prepare(NULL, NULL, &ctx, &err) == 0 && ctx == NULL);
    return 0;
}

static int test_default_root(void)
{
    char *old = getenv("XDG_RUNTIME_DIR") ? xstrdup(getenv("XDG_RUNTIME_DIR"))
                                          : NULL;
    setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
    _cleanup_free_ char *a = runtime_default_root();
    unsetenv("XDG_RUNTIME_DIR");
    _cleanup_free_ char *b = runtime_default_root();
    if (old) {
        setenv("XDG_RUNTIME_DIR", old, 1);
        free(old);
    }
    if (geteuid() == 0) {
        TAP_STREQ(a, "/run/berth/oci-runtime");
        TAP_STREQ(b, "/run/berth/oci-runtime");
    } else {
        _cleanup_free_ char *want =
            xasprintf("/tmp/berth-%u/oci-runtime", (unsigned)geteuid());
        TAP_STREQ(a, "/run/user/4242/berth/oci-runtime");
        TAP_STREQ(b, want);
    }
    return 0;
}

/* state of an unknown container and of a bad id, without any process */
static int test_state_errors(void)
{
    _cleanup_free_ char *d = rt_test_tmpdir();
    TAP_CHECK(d != NULL);
    berth_error_t err = NULL;
    json_t *st = NULL;
    int r1 = runtime_state(d, "nope", &st, &err);
    _cleanup_free_ char *m1 = err ? xstrdup(err->msg) : NULL;
    berth_error_free(&err);
    int r2 = runtime_state(d, "../x", &st, &err);
    _cleanup_free_ char *m2 = err ? xstrdup(err->msg) : NULL;
    berth_error_free(&err);
    /* a record whose process is gone reads as stopped, pid 0 */
    _cleanup_free_ char *cd = xasprintf("%s/old", d);
    _cleanup_free_ char *sf = xasprintf("%s/old/state.json", d);
    const char *rec = "{\"pid\":2147483000,\"starttime\":1,\"bundle\":\"/b\","
                      "\"rootfs\":\"/b/r\",\"created\":\"x\"}";
    TAP_CHECK(mkdir(cd, 0700) == 0);
    TAP_CHECK(fs_write_file_atomic(sf, rec, strlen(rec), 0600, &err) == 0);
    int r3 = runtime_state(d, "old", &st, &err);
    rt_test_rm(d);
    TAP_CHECK(r1 == -1);
    TAP_STREQ(m1, "container \"nope\" does not exist");
    TAP_CHECK(r2 == -1);
    TAP_STREQ(m2, "invalid container id \"../x\"");
    TAP_CHECK(r3 == 0 && st != NULL);
    TAP_STREQ(json_string_value(json_object_get(st, "status")), "stopped");
    TAP_CHECK(json_integer_value(json_object_get(st, "pid")) == 0);
    TAP_STREQ(json_string_value(json_object_get(st, "bundle")), "/b");
    json_decref(st);
    return 0;
}

TAP_MAIN({"path in root", test_path_in_root},
         {"mount options", test_mount_opts},
         {"signal names", test_signal_parse},
         {"exec lookup", test_lookup_exec},
         {"rlimit names", test_rlimit_names},
         {"seccomp translation", test_seccomp_build},
         {"default state root", test_default_root},
         {"state errors", test_state_errors})
