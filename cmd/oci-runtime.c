/* berth oci-runtime: the built-in OCI runtime behind runc's command line
 * (create, start, state, kill, delete, run, exec), so the monitor drives
 * berth and crun/runc the same way. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"

int cmd_oci_runtime(struct cli_global *g, int argc, char **argv,
                    berth_error_t *err);

typedef int (*oci_fn)(const char *root, int argc, char **argv,
                      berth_error_t *err);

#define OCI_END {NULL, 0, 0, NULL, NULL, NULL}

static int oci_parse(const char *name, const char *usage,
                     const struct cli_opt *opts, int argc, char **argv,
                     int nargs, int *ret_optind, berth_error_t *err)
{
    const struct cli_command self = {name, NULL, usage, name, NULL, NULL};
    int r = cli_parse(&self, opts, argc, argv, false, ret_optind, err);
    if (r != 0)
        return r;
    return cli_nargs(name, argc - *ret_optind, nargs, nargs, err);
}

static int oci_create_or_run(const char *root, int argc, char **argv,
                             bool run, berth_error_t *err)
{
    _cleanup_free_ char *bundle = NULL, *pid_file = NULL, *console = NULL;
    bool ignored = false;
    int preserve = 0;
    const struct cli_opt opts[] = {
        {"bundle", 'b', CLI_STRING, &bundle, "string", "bundle directory"},
        {"preserve-fds", 0, CLI_INT, &preserve, "int",
         "pass N more file descriptors to the process"},
        {"pid-file", 0, CLI_STRING, &pid_file, "string", "pid file"},
        {"console-socket", 0, CLI_STRING, &console, "string",
         "unix socket receiving the pty master"},
        {"no-pivot", 0, CLI_BOOL, &ignored, NULL, "ignored"},
        {"no-new-keyring", 0, CLI_BOOL, &ignored, NULL, "ignored"},
        {"detach", 'd', CLI_BOOL, &ignored, NULL, "ignored"},
        OCI_END,
    };
    int optind = 0;
    int r = oci_parse(run ? "run" : "create", "[options] ID", opts, argc, argv,
                      1, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    struct runtime_create_opts o = {bundle ? bundle : ".", pid_file, console,
                                    preserve};
    if (run)
        return runtime_run(root, argv[optind], &o, err);
    return runtime_create(root, argv[optind], &o, err);
}

static int oci_create(const char *root, int argc, char **argv,
                      berth_error_t *err)
{
    return oci_create_or_run(root, argc, argv, false, err);
}

static int oci_run(const char *root, int argc, char **argv, berth_error_t *err)
{
    return oci_create_or_run(root, argc, argv, true, err);
}

static int oci_start(const char *root, int argc, char **argv,
                     berth_error_t *err)
{
    const struct cli_opt opts[] = {OCI_END};
    int optind = 0;
    int r = oci_parse("start", "ID", opts, argc, argv, 1, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    return runtime_start(root, argv[optind], err);
}

static int oci_state(const char *root, int argc, char **argv,
                     berth_error_t *err)
{
    const struct cli_opt opts[] = {OCI_END};
    _cleanup_json_ json_t *st = NULL;
    int optind = 0;
    int r = oci_parse("state", "ID", opts, argc, argv, 1, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (runtime_state(root, argv[optind], &st, err) < 0)
        return -1;
    _cleanup_free_ char *s = json_dumps(st, JSON_INDENT(2) |
                                                JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    return 0;
}

static int oci_kill(const char *root, int argc, char **argv,
                    berth_error_t *err)
{
    bool all = false;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "ignored: the init is signalled"},
        OCI_END,
    };
    const struct cli_command self = {"kill", NULL, "ID [SIGNAL]", "kill",
                                     NULL, NULL};
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("kill", argc - optind, 1, 2, err) < 0)
        return -1;
    const char *name = optind + 1 < argc ? argv[optind + 1] : "TERM";
    int sig = runtime_signal_parse(name);
    if (sig < 0)
        return berth_error_new(err, 0, "invalid signal: %s", name);
    return runtime_kill(root, argv[optind], sig, err);
}

static int oci_delete(const char *root, int argc, char **argv,
                      berth_error_t *err)
{
    bool force = false;
    const struct cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL, "kill a running container"},
        OCI_END,
    };
    int optind = 0;
    int r = oci_parse("delete", "[options] ID", opts, argc, argv, 1, &optind,
                      err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    return runtime_delete(root, argv[optind], force, err);
}

static int oci_exec(const char *root, int argc, char **argv,
                    berth_error_t *err)
{
    _cleanup_free_ char *process = NULL, *console = NULL, *pid_file = NULL;
    bool ignored = false;
    const struct cli_opt opts[] = {
        {"process", 'p', CLI_STRING, &process, "string", "process.json"},
        {"console-socket", 0, CLI_STRING, &console, "string",
         "unix socket receiving the pty master"},
        {"pid-file", 0, CLI_STRING, &pid_file, "string", "ignored"},
        {"detach", 'd', CLI_BOOL, &ignored, NULL, "ignored"},
        OCI_END,
    };
    int optind = 0;
    int r = oci_parse("exec", "--process FILE ID", opts, argc, argv, 1,
                      &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (process == NULL)
        return berth_error_new(err, 0, "exec: --process is required");
    return runtime_exec(root, argv[optind], process, console, err);
}

int cmd_oci_runtime(struct cli_global *g, int argc, char **argv,
                    berth_error_t *err)
{
    static const struct cli_command self = {
        "oci-runtime", NULL, "[options] COMMAND [ARG...]",
        "berth's built-in OCI runtime (runc's command line)", NULL, NULL};
    static const struct {
        const char *name;
        oci_fn fn;
    } cmds[] = {
        {"create", oci_create}, {"start", oci_start},   {"state", oci_state},
        {"kill", oci_kill},     {"delete", oci_delete}, {"run", oci_run},
        {"exec", oci_exec},
    };
    _cleanup_free_ char *root = NULL, *log = NULL, *log_format = NULL;
    bool flag = false;
    /* the global flags podman and conmon pass to any runtime */
    const struct cli_opt opts[] = {
        {"root", 0, CLI_STRING, &root, "string", "state directory"},
        {"log", 0, CLI_STRING, &log, "string", "ignored"},
        {"log-format", 0, CLI_STRING, &log_format, "string", "ignored"},
        {"systemd-cgroup", 0, CLI_BOOL, &flag, NULL, "ignored"},
        {"debug", 0, CLI_BOOL, &flag, NULL, "ignored"},
        OCI_END,
    };
    int optind = 0;

    (void)g;
    int r = cli_parse(&self, opts, argc, argv, true, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (optind >= argc)
        return berth_error_new(err, 0, "missing command 'oci-runtime "
                                       "COMMAND'");
    if (root == NULL)
        root = runtime_default_root();
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmds[i].name, argv[optind]) == 0)
            return cmds[i].fn(root, argc - optind, argv + optind, err);
    return berth_error_new(err, 0, "unknown command \"%s\" for \"berth "
                                   "oci-runtime\"",
                           argv[optind]);
}
