/* Commands on a container's file system: diff, export, mount, unmount,
 * and container prune. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/container.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/containers.h"
#include "storage/ctr-fs.h"
#include "storage/rootfs.h"
#include "storage/store.h"

int cmd_diff(struct cli_global *g, int argc, char **argv, berth_error_t *err);
int cmd_export(struct cli_global *g, int argc, char **argv, berth_error_t *err);
int cmd_mount(struct cli_global *g, int argc, char **argv, berth_error_t *err);
int cmd_unmount(struct cli_global *g, int argc, char **argv,
                berth_error_t *err);
int cmd_container_prune(struct cli_global *g, int argc, char **argv,
                        berth_error_t *err);

#define NO_OPTS                                                                \
    {                                                                          \
        NULL, 0, 0, NULL, NULL, NULL                                           \
    }

int cmd_diff(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "diff",
        NULL,
        "[options] CONTAINER",
        "Display the changes to the object's file system",
        NULL,
        NULL};
    _cleanup_free_ char *format = NULL;
    const struct cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "string",
         "Change the output format (json)"},
        NO_OPTS,
    };
    struct store *s = NULL;
    _cleanup_json_ json_t *rec = NULL, *changes = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("diff", argc - optind, 1, 1, err) < 0)
        return -1;
    if (format && strcmp(format, "json") != 0)
        return berth_error_new(err, 0,
                               "only json format is supported, "
                               "not %s",
                               format);
    if (cli_store(g, &s, err) < 0 || ctr_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    if (ctrfs_diff(s, rec, &changes, err) < 0)
        return -1;
    static const char kinds[] = "CAD";
    static const char *const keys[] = {"changed", "added", "deleted"};
    _cleanup_json_ json_t *doc = json_object();
    for (size_t k = 0; k < 3; k++) /* podman's order; empty ones go */
        json_object_set_new(doc, keys[k], json_array());
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        int k = (int)json_get_int(c, "Kind", 0);
        if (k < 0 || k > 2)
            continue;
        if (format == NULL) {
            printf("%c %s\n", kinds[k], json_get_str(c, "Path"));
            continue;
        }
        json_array_append_new(json_object_get(doc, keys[k]),
                              json_string(json_get_str(c, "Path")));
    }
    for (size_t k = 0; k < 3; k++)
        if (json_array_size(json_object_get(doc, keys[k])) == 0)
            json_object_del(doc, keys[k]);
    if (format) {
        char *txt = json_dumps(doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt);
        free(txt);
    }
    return 0;
}

struct export_job {
    int fd;
};

static int export_fn(int rootfd, void *arg, berth_error_t *err)
{
    struct export_job *j = arg;
    struct ctrfs_root root = {rootfd, true, "the container"};
    return ctrfs_tar(&root, "/", "", true, j->fd, err);
}

int cmd_export(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "export",
        NULL,
        "[options] CONTAINER",
        "Export container's filesystem contents as a tar archive",
        NULL,
        NULL};
    _cleanup_free_ char *output = NULL;
    const struct cli_opt opts[] = {
        {"output", 'o', CLI_STRING, &output, "string",
         "Write to a specified file (default: stdout, which must be "
         "redirected)"},
        NO_OPTS,
    };
    struct store *s = NULL;
    _cleanup_json_ json_t *rec = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("export", argc - optind, 1, 1, err) < 0)
        return -1;
    if (output == NULL && isatty(STDOUT_FILENO))
        return berth_error_new(err, 0,
                               "refusing to export to terminal. "
                               "Use -o flag or redirect");
    if (cli_store(g, &s, err) < 0 || ctr_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    _cleanup_close_ int fd = -1;
    if (output) {
        fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return berth_error_new(err, errno, "open %s", output);
    }
    struct export_job j = {output ? fd : STDOUT_FILENO};
    fflush(stdout);
    if (ctrfs_with_root(s, rec, export_fn, &j, err) < 0)
        return berth_error_prefix(err, "export %s", argv[optind]);
    return 0;
}

/* --- mount, unmount --- */

/* podman's rule: rootless mounts live in `unshare`'s mount namespace. */
static int mount_store(struct cli_global *g, const char *cmd,
                       struct store **ret, berth_error_t *err)
{
    bool inside = geteuid() == 0 && userns_in_child();
    if (geteuid() != 0)
        return berth_error_new(err, 0,
                               "cannot run command \"berth %s\" in "
                               "rootless mode, must execute `berth "
                               "unshare` first",
                               cmd);
    /* inside unshare we are "root" of the user's own store */
    if (inside && g->root == NULL && getenv("CONTAINERS_GRAPHROOT"))
        g->root = xstrdup(getenv("CONTAINERS_GRAPHROOT"));
    if (inside && g->runroot == NULL && getenv("CONTAINERS_RUNROOT"))
        g->runroot = xstrdup(getenv("CONTAINERS_RUNROOT"));
    if (cli_store(g, ret, err) < 0)
        return -1;
    return 0;
}

static bool is_mountpoint(const char *path)
{
    struct stat a, b;
    _cleanup_free_ char *parent = xasprintf("%s/..", path);
    if (stat(path, &a) < 0 || stat(parent, &b) < 0)
        return false;
    return a.st_dev != b.st_dev;
}

static int mount_list(struct store *s, bool notrunc, berth_error_t *err)
{
    _cleanup_json_ json_t *list = NULL;
    if (containers_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *rec;
    json_array_foreach(list, i, rec)
    {
        const char *id = json_get_str(rec, "id");
        _cleanup_free_ char *merged = containers_path(s, id, "merged");
        if (is_mountpoint(merged))
            printf("%.*s  %s\n", notrunc ? 64 : 12, id, merged);
    }
    return 0;
}

int cmd_mount(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "mount",
        NULL,
        "[options] [CONTAINER...]",
        "Mount a working container's root filesystem",
        NULL,
        NULL};
    bool notrunc = false;
    const struct cli_opt opts[] = {
        {"notruncate", 0, CLI_BOOL, &notrunc, NULL, "Do not truncate output"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (mount_store(g, "mount", &s, err) < 0)
        return -1;
    if (optind == argc)
        return mount_list(s, notrunc, err);
    for (int i = optind; i < argc; i++) {
        _cleanup_json_ json_t *rec = NULL;
        if (ctr_lookup(s, argv[i], &rec, err) < 0)
            return -1;
        _cleanup_free_ char *merged =
            containers_path(s, json_get_str(rec, "id"), "merged");
        if (!is_mountpoint(merged) && (rootfs_prepare(s, rec, err) < 0 ||
                                       rootfs_mount(s, rec, merged, err) < 0))
            return berth_error_prefix(err, "mount %s", argv[i]);
        printf("%s\n", merged);
    }
    return 0;
}

int cmd_unmount(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "unmount",
        "umount",
        "[options] CONTAINER [CONTAINER...]",
        "Unmount working container's root filesystem",
        NULL,
        NULL};
    bool all = false, force = false;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         "Unmount all of the currently "
         "mounted containers"},
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Force the complete unmount of the specified mounted containers"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (!all && cli_nargs("unmount", argc - optind, 1, -1, err) < 0)
        return -1;
    if (mount_store(g, "unmount", &s, err) < 0)
        return -1;
    _cleanup_json_ json_t *recs = json_array();
    _cleanup_strv_ char **shown = NULL;
    if (all) {
        _cleanup_json_ json_t *list = NULL;
        if (containers_list(s, &list, err) < 0)
            return -1;
        json_array_extend(recs, list);
        for (size_t i = 0; i < json_array_size(list); i++)
            strv_append(&shown, json_get_str(json_array_get(list, i), "id"));
    }
    for (int i = optind; i < argc; i++) {
        json_t *rec = NULL;
        if (ctr_lookup(s, argv[i], &rec, err) < 0)
            return -1;
        json_array_append_new(recs, rec);
        strv_append(&shown, argv[i]);
    }
    for (size_t i = 0; i < json_array_size(recs); i++) {
        json_t *rec = json_array_get(recs, i);
        _cleanup_free_ char *merged =
            containers_path(s, json_get_str(rec, "id"), "merged");
        bool mounted = is_mountpoint(merged);
        if (mounted && rootfs_umount(s, rec, merged, err) < 0)
            return berth_error_prefix(err, "unmount %s", shown[i]);
        /* podman: --all names what it unmounted, names are echoed */
        if (mounted || i >= json_array_size(recs) - (size_t)(argc - optind))
            printf("%s\n", shown[i]);
    }
    (void)force;
    return 0;
}

/* --- container prune --- */

static bool prunable(struct store *s, json_t *rec)
{
    const char *st = json_get_str(json_object_get(rec, "state"), "status");
    if (st && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 ||
               strcmp(st, "stopping") == 0))
        return false;
    (void)s;
    return ctrfs_live_pid(rec) == 0;
}

int cmd_container_prune(struct cli_global *g, int argc, char **argv,
                        berth_error_t *err)
{
    static const struct cli_command self = {"container prune",
                                            NULL,
                                            "[options]",
                                            "Remove all non running containers",
                                            NULL,
                                            NULL};
    bool force = false;
    const struct cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Do not prompt for confirmation.  The default is false"},
        NO_OPTS,
    };
    struct store *s = NULL;
    _cleanup_json_ json_t *list = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("container prune", argc - optind, 0, 0, err) < 0)
        return -1;
    if (!force) {
        printf("WARNING! This will remove all non running containers.\n"
               "Are you sure you want to continue? [y/N] ");
        fflush(stdout);
        char line[64] = "";
        if (fgets(line, sizeof line, stdin) == NULL ||
            (line[0] != 'y' && line[0] != 'Y'))
            return 0;
    }
    if (cli_store(g, &s, err) < 0 || ctr_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *rec;
    json_array_foreach(list, i, rec)
    {
        if (!prunable(s, rec))
            continue;
        if (ctr_remove(s, json_get_str(rec, "id"), false, err) < 0)
            return -1;
        printf("%s\n", json_get_str(rec, "id"));
    }
    return 0;
}
