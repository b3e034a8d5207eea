#define _GNU_SOURCE
#include "monitor/monitor.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *mon_test_dir(void)
{
    const char *t = getenv("TMPDIR");
    char *d;
    if (asprintf(&d, "%s/test-monitor.XXXXXX", t ? t : "/tmp") < 0)
        abort();
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static void mon_test_rm(char *d)
{
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", d) >= 0) {
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", d);
        free(cmd);
    }
    free(d);
}

static char *mon_read(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static int test_opts(void)
{
    char err[MONITOR_ERR_LEN];
    struct monitor_opts o;
    char *argv[] = {"m", "--id", "c1", "--bundle", "/b", "--exit-dir", "/e",
                    "--log-path", "/l", "--log-driver", "k8s-file",
                    "--runtime", "/bin/berth", "--runtime-arg", "oci-runtime",
                    "--rm-cmd", "berth", "--rm-cmd", "rm", "--sync-fd", "5",
                    "--restart", "on-failure:2", "--log-max-size", "-1",
                    "--terminal", NULL};
    TAP_CHECK(monitor_opts_parse(&o, 26, argv, err) == 0);
    TAP_STREQ(o.id, "c1");
    TAP_STREQ(o.runtime, "/bin/berth");
    TAP_CHECK(o.n_runtime_args == 1 && o.runtime_args[1] == NULL);
    TAP_STREQ(o.runtime_args[0], "oci-runtime");
    TAP_CHECK(o.n_rm_cmd == 2 && o.rm_cmd[2] == NULL);
    TAP_STREQ(o.rm_cmd[1], "rm");
    TAP_CHECK(o.sync_fd == 5 && o.start_fd == -1 && o.terminal && !o.stdin_open);
    TAP_CHECK(o.restart == MONITOR_RESTART_ON_FAILURE && o.restart_max == 2);
    TAP_CHECK(o.log_max_size == 0);
    monitor_opts_free(&o);

    char *bad[] = {"m", "--id", "a/b", "--bundle", "/b", "--exit-dir", "/e",
                   "--log-driver", "none", NULL};
    TAP_CHECK(monitor_opts_parse(&o, 9, bad, err) < 0);
    TAP_STREQ(err, "invalid container id a/b");
    monitor_opts_free(&o);
    char *missing[] = {"m", "--id", "c", "--bundle", "/b", "--exit-dir", "/e",
                       NULL};
    TAP_CHECK(monitor_opts_parse(&o, 7, missing, err) < 0);
    TAP_STREQ(err, "--log-path is required with k8s-file");
    monitor_opts_free(&o);
    char *noarg[] = {"m", "--id", NULL};
    TAP_CHECK(monitor_opts_parse(&o, 2, noarg, err) < 0);
    TAP_STREQ(err, "missing argument to option --id");
    monitor_opts_free(&o);
    return 0;
}

static int test_restart(void)
{
    char err[MONITOR_ERR_LEN];
    struct monitor_opts o = {0};
    TAP_CHECK(monitor_restart_parse("on-failure", &o.restart, &o.restart_max, err) == 0);
    TAP_CHECK(o.restart_max == -1);
    TAP_CHECK(monitor_should_restart(&o, 1, 1000, false));
    TAP_CHECK(!monitor_should_restart(&o, 0, 0, false));
    TAP_CHECK(monitor_restart_parse("on-failure:1", &o.restart, &o.restart_max, err) == 0);
    TAP_CHECK(monitor_should_restart(&o, 3, 0, false));
    TAP_CHECK(!monitor_should_restart(&o, 3, 1, false));
    TAP_CHECK(monitor_restart_parse("always", &o.restart, &o.restart_max, err) == 0);
    TAP_CHECK(monitor_should_restart(&o, 0, 50, false));
    TAP_CHECK(!monitor_should_restart(&o, 0, 0, true));
    TAP_CHECK(monitor_restart_parse("no", &o.restart, &o.restart_max, err) == 0);
    TAP_CHECK(!monitor_should_restart(&o, 1, 0, false));
    TAP_CHECK(monitor_restart_parse("on-failure:x", &o.restart, &o.restart_max, err) < 0);
    TAP_STREQ(err, "invalid restart retry count in on-failure:x");
    TAP_CHECK(monitor_restart_parse("on-failures", &o.restart, &o.restart_max, err) < 0);
    return 0;
}

static int test_json_escape(void)
{
    char out[64];
    monitor_json_escape(out, sizeof out, "a\"b\\c\nd\te\x01");
    TAP_STREQ(out, "a\\\"b\\\\c\\nd\\te\\u0001");
    monitor_json_escape(out, 6, "abc\"def");
    TAP_STREQ(out, "abc\\\""); /* cut between escapes, never inside one */
    monitor_json_escape(out, 5, "abc\"def");
    TAP_STREQ(out, "abc");
    return 0;
}

static int test_exit_files(void)
{
    char err[MONITOR_ERR_LEN], path[4096];
    char *d = mon_test_dir();
    struct timespec ts = {.tv_sec = 1704164645, .tv_nsec = 123456789};
    int r = monitor_write_exit(d, "c1", 137, &ts, 2, err);
    snprintf(path, sizeof path, "%s/c1", d);
    char *code = mon_read(path);
    int ok = r == 0 && code && strcmp(code, "137\n") == 0;
    snprintf(path, sizeof path, "%s/c1.json", d);
    char *json = mon_read(path);
    ok = ok && json && strcmp(json, "{\"exitCode\":137,\"exitedAt\":"
                                     "\"2024-01-02T03:04:05.123456789Z\","
                                     "\"restartCount\":2}\n") == 0;
    snprintf(path, sizeof path, "%s/.c1.tmp", d);
    ok = ok && access(path, F_OK) < 0;
    r = monitor_write_exit("/nonexistent/dir", "c1", 0, &ts, 0, err);
    ok = ok && r < 0 && strstr(err, "/nonexistent/dir/.c1.tmp") != NULL;
    mon_test_rm(d);
    TAP_CHECK(ok);
    return 0;
}

static int mon_count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static int test_log(void)
{
    char err[MONITOR_ERR_LEN], path[4096];
    char *d = mon_test_dir();
    snprintf(path, sizeof path, "%s/ctr.log", d);
    struct monitor_opts o = {.log_path = path};
    struct monitor_log l;
    int ok = monitor_log_open(&l, &o, err) == 0;
    monitor_log_write(&l, "stdout", "one\ntwo\npart", 12);
    monitor_log_write(&l, "stderr", "e\n", 2);
    monitor_log_close(&l);
    char *s = mon_read(path);
    /* 2024-01-02T03:04:05.123456789Z is 30 characters */
    ok = ok && s && strlen(s) == 4 * 31 + strlen("stdout F one\nstdout F two\n"
                                                  "stdout P part\nstderr F e\n");
    ok = ok && s && s[4] == '-' && s[10] == 'T' && s[29] == 'Z' &&
         strncmp(s + 30, " stdout F one\n", 14) == 0 &&
         strstr(s, " stdout P part\n") && strstr(s, " stderr F e\n");
    mon_test_rm(d);
    TAP_CHECK(ok);
    return 0;
}

static int test_log_rotate(void)
{
    char err[MONITOR_ERR_LEN], path[4096], tmp[4200];
    char *d = mon_test_dir();
    snprintf(path, sizeof path, "%s/ctr.log", d);
    struct monitor_opts o = {.log_path = path, .log_max_size = 100};
    struct monitor_log l;
    int ok = monitor_log_open(&l, &o, err) == 0;
    monitor_log_write(&l, "stdout", "first line\n", 11);
    monitor_log_write(&l, "stdout", "second line\n", 12); /* 2 x 50 > 100 */
    char *s = mon_read(path);
    ok = ok && s && !strstr(s, "first") && mon_count(s, "second line") == 1;
    /* a failed rotation warns and keeps writing to the old file */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ok = ok && mkdir(tmp, 0700) == 0;
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    monitor_log_write(&l, "stdout", "third line\n", 11);
    monitor_log_write(&l, "stdout", "fourth\n", 7);
    dup2(saved, 2);
    close(saved);
    close(null);
    s = mon_read(path);
    ok = ok && s && strstr(s, "second line") && strstr(s, "third line") &&
         strstr(s, "fourth");
    monitor_log_close(&l);
    mon_test_rm(d);
    TAP_CHECK(ok);
    return 0;
}

TAP_MAIN({"opts", test_opts}, {"restart policies", test_restart},
         {"json escape", test_json_escape}, {"exit files", test_exit_files},
         {"k8s-file log", test_log}, {"log rotation", test_log_rotate})
