/* volume create, ls, inspect, rm, prune, exists. */
#define _GNU_SOURCE
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/format.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/store.h"
#include "storage/volumes.h"

int cmd_volume_create(struct cli_global *g, int argc, char **argv,
                      berth_error_t *err);
int cmd_volume_ls(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err);
int cmd_volume_inspect(struct cli_global *g, int argc, char **argv,
                       berth_error_t *err);
int cmd_volume_rm(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err);
int cmd_volume_prune(struct cli_global *g, int argc, char **argv,
                     berth_error_t *err);
int cmd_volume_exists(struct cli_global *g, int argc, char **argv,
                      berth_error_t *err);

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}

/* KEY=VALUE (or KEY, an empty value) entries into an object. */
static int kv_object(char *const *kvs, const char *what, json_t **ret,
                     berth_error_t *err)
{
    _cleanup_json_ json_t *o = json_object();
    for (size_t i = 0; kvs && kvs[i]; i++) {
        const char *eq = strchr(kvs[i], '=');
        _cleanup_free_ char *k = eq ? xstrndup(kvs[i], (size_t)(eq - kvs[i]))
                                    : xstrdup(kvs[i]);
        if (*k == '\0')
            return berth_error_new(err, 0, "invalid %s \"%s\": empty key",
                                   what, kvs[i]);
        json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
    }
    *ret = TAKE_PTR(o);
    return 0;
}

/* podman's inspect document (and ls --format json row). */
static json_t *volume_doc(json_t *rec)
{
    json_t *opts = json_object_get(rec, "options");
    json_t *d = json_pack(
        "{s:s, s:s, s:s, s:s, s:O, s:s, s:O}", "Name",
        json_get_str(rec, "name"), "Driver",
        json_get_str(rec, "driver") ?: "local", "Mountpoint",
        json_get_str(rec, "mountpoint") ?: "", "CreatedAt",
        json_get_str(rec, "created") ?: "", "Labels",
        json_object_get(rec, "labels") ?: json_object(), "Scope", "local",
        "Options", opts ? opts : json_object());
    const char *uid = json_get_str(opts, "uid") ?: json_get_str(opts, "UID");
    const char *gid = json_get_str(opts, "gid") ?: json_get_str(opts, "GID");
    if (uid)
        json_object_set_new(d, "UID", json_integer(atol(uid)));
    if (gid)
        json_object_set_new(d, "GID", json_integer(atol(gid)));
    json_object_set_new(d, "Anonymous",
                        json_boolean(json_is_true(
                            json_object_get(rec, "anonymous"))));
    json_object_set_new(d, "MountCount", json_integer(0));
    json_object_set_new(d, "NeedsCopyUp",
                        json_boolean(json_is_true(
                            json_object_get(rec, "needs_copy"))));
    return d;
}

int cmd_volume_create(struct cli_global *g, int argc, char **argv,
                      berth_error_t *err)
{
    static const struct cli_command self = {
        "volume create", NULL, "[options] [NAME]", "Create a new volume",
        NULL, NULL};
    _cleanup_strv_ char **labels = NULL, **opts = NULL;
    _cleanup_free_ char *driver = NULL;
    bool ignore = false;
    const struct cli_opt o[] = {
        {"driver", 'd', CLI_STRING, &driver, "string",
         "Specify volume driver name"},
        {"ignore", 0, CLI_BOOL, &ignore, NULL,
         "Don't fail if volume already exists"},
        {"label", 'l', CLI_STRV, &labels, "stringArray",
         "Set metadata for a volume (e.g. --label mykey=value)"},
        {"opt", 'o', CLI_STRV, &opts, "stringArray",
         "Set driver specific options"},
        NO_OPTS,
    };
    _cleanup_json_ json_t *lj = NULL, *oj = NULL, *rec = NULL;
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, o, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("volume create", argc - optind, 0, 1, err) < 0)
        return -1;
    if (driver && strcmp(driver, "local") != 0)
        return berth_error_new(err, 0, "volume driver \"%s\" not found: "
                               "berth supports the \"local\" driver only",
                               driver);
    if (kv_object(labels, "label", &lj, err) < 0 ||
        kv_object(opts, "option", &oj, err) < 0 || cli_store(g, &s, err) < 0)
        return -1;
    const char *name = optind < argc ? argv[optind] : NULL;
    berth_error_t e = NULL;
    if (volumes_create(s, name, lj, oj, false, &rec, &e) < 0) {
        if (!(ignore && e->errnum == EEXIST)) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
        printf("%s\n", name);
        return 0;
    }
    printf("%s\n", json_get_str(rec, "name"));
    return 0;
}

static bool labels_match(json_t *rec, const char *want)
{
    json_t *labels = json_object_get(rec, "labels");
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *k = eq ? xstrndup(want, (size_t)(eq - want))
                                : xstrdup(want);
    const char *have = json_get_str(labels, k);
    return have && (eq == NULL || strcmp(have, eq + 1) == 0);
}

static int bool_value(const char *v, berth_error_t *err)
{
    if (!strcmp(v, "true") || !strcmp(v, "1"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "0"))
        return 0;
    return berth_error_new(err, 0, "%s is not a valid value for the "
                           "\"dangling\" filter - must be true or false", v);
}

/* One filter KEY=VALUE against a record: 1 match, 0 not, -1 bad. */
static int filter_match(struct store *s, json_t *rec, const char *f,
                        berth_error_t *err)
{
    const char *eq = strchr(f, '=');
    if (eq == NULL)
        return berth_error_new(err, 0, "invalid filter \"%s\": expected "
                               "KEY=VALUE", f);
    _cleanup_free_ char *key = xstrndup(f, (size_t)(eq - f));
    const char *v = eq + 1, *name = json_get_str(rec, "name");
    if (!strcmp(key, "name")) {
        regex_t re;
        if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
            return berth_error_new(err, 0, "invalid name filter \"%s\"", v);
        int m = regexec(&re, name, 0, NULL, 0) == 0;
        regfree(&re);
        return m;
    }
    if (!strcmp(key, "label"))
        return labels_match(rec, v);
    if (!strcmp(key, "driver"))
        return strcmp(v, json_get_str(rec, "driver") ?: "local") == 0;
    if (!strcmp(key, "dangling")) {
        int want = bool_value(v, err);
        _cleanup_strv_ char **ids = NULL;
        if (want < 0 || volumes_users(s, name, &ids, err) < 0)
            return -1;
        return (ids[0] == NULL) == (want == 1);
    }
    return berth_error_new(err, 0, "\"%s\" is an invalid volume filter", key);
}

/* Filters with the same key are alternatives; different keys must all
 * match, as podman. */
static int filters_match(struct store *s, json_t *rec, char *const *filters,
                         berth_error_t *err)
{
    for (size_t i = 0; filters && filters[i]; i++) {
        size_t klen = strcspn(filters[i], "=");
        int any = 0;
        for (size_t j = 0; filters[j]; j++) {
            if (strncmp(filters[j], filters[i], klen) != 0 ||
                filters[j][klen] != filters[i][klen])
                continue;
            int m = filter_match(s, rec, filters[j], err);
            if (m < 0)
                return -1;
            any |= m;
        }
        if (!any)
            return 0;
    }
    return 1;
}

int cmd_volume_ls(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err)
{
    static const struct cli_command self = {
        "volume ls", "list", "[options]", "List volumes", NULL, NULL};
    _cleanup_strv_ char **filters = NULL;
    _cleanup_free_ char *format = NULL;
    bool quiet = false, noheading = false;
    const struct cli_opt o[] = {
        {"filter", 'f', CLI_STRV, &filters, "stringArray",
         "Filter volume output"},
        {"format", 0, CLI_STRING, &format, "string",
         "Format volume output using Go template"},
        {"noheading", 'n', CLI_BOOL, &noheading, NULL,
         "Do not print headers"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "Print volume output in quiet "
                                               "mode"},
        NO_OPTS,
    };
    static const char *const headers[] = {"Name", "VOLUME NAME", NULL};
    _cleanup_json_ json_t *list = NULL, *rows = json_array();
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, o, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("volume ls", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0 || volumes_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *rec;
    json_array_foreach(list, i, rec) {
        int m = filters_match(s, rec, filters, err);
        if (m < 0)
            return -1;
        if (m)
            json_array_append_new(rows, volume_doc(rec));
    }
    if (quiet) {
        json_array_foreach(rows, i, rec)
            printf("%s\n", json_get_str(rec, "Name"));
        return 0;
    }
    return format_print_list(format, "table {{.Driver}}\t{{.Name}}", headers,
                             rows, noheading, stdout, err) < 0
               ? -1
               : 0;
}

/* Print an error that is not the last one, as podman does for lists. */
static void keep_last(berth_error_t *last, berth_error_t e)
{
    fflush(stdout); /* what was done so far comes before the error */
    if (*last) {
        fprintf(stderr, "Error: %s\n", (*last)->msg);
        berth_error_free(last);
    }
    *last = e;
}

int cmd_volume_inspect(struct cli_global *g, int argc, char **argv,
                       berth_error_t *err)
{
    static const struct cli_command self = {
        "volume inspect", NULL, "[options] VOLUME [VOLUME...]",
        "Display detailed information on one or more volumes", NULL, NULL};
    _cleanup_free_ char *format = NULL;
    bool all = false;
    const struct cli_opt o[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Inspect all volumes"},
        {"format", 'f', CLI_STRING, &format, "string",
         "Format volume output using Go template"},
        NO_OPTS,
    };
    _cleanup_json_ json_t *docs = json_array(), *list = NULL;
    struct store *s = NULL;
    berth_error_t missing = NULL;
    int optind = 0;
    int r = cli_parse(&self, o, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("volume inspect", argc - optind, all ? 0 : 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (all && volumes_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *rec;
    json_array_foreach(list, i, rec)
        json_array_append_new(docs, volume_doc(rec));
    for (int k = optind; !all && k < argc; k++) {
        _cleanup_json_ json_t *one = NULL;
        berth_error_t e = NULL;
        if (volumes_get(s, argv[k], &one, &e) < 0) {
            if (e->errnum == ENOENT) {
                berth_error_free(&e);
                berth_error_new(&e, 0, "no such volume %s", argv[k]);
            }
            keep_last(&missing, e);
            continue;
        }
        json_array_append_new(docs, volume_doc(one));
    }
    if ((json_array_size(docs) > 0 || missing == NULL) &&
        format_print_docs(docs, format, err) < 0) {
        berth_error_free(&missing);
        return -1;
    }
    fflush(stdout);
    if (missing) {
        *err = missing;
        return -1;
    }
    return 0;
}

/* -f: the containers using the volume go first, as podman. */
static int remove_one(struct store *s, const char *name, bool force,
                      berth_error_t *err)
{
    if (force) {
        _cleanup_strv_ char **ids = NULL;
        if (volumes_users(s, name, &ids, err) < 0)
            return -1;
        for (size_t i = 0; ids[i]; i++)
            if (ctr_remove(s, ids[i], true, err) < 0)
                return berth_error_prefix(err, "remove container %s using "
                                          "volume %s", ids[i], name);
    }
    return volumes_remove(s, name, force, err);
}

/* podman's exit codes: 1 no such volume, 2 volume in use, else 125. */
static int rm_exit_code(const berth_error_t e)
{
    return e->errnum == ENOENT ? 1 : e->errnum == EBUSY ? 2 : 125;
}

int cmd_volume_rm(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err)
{
    static const struct cli_command self = {
        "volume rm", "remove", "[options] VOLUME [VOLUME...]",
        "Remove one or more volumes", NULL, NULL};
    bool all = false, force = false;
    int timeout = 10;
    const struct cli_opt o[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Remove all volumes"},
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Remove a volume by force, even if it is being used by a container"},
        {"time", 't', CLI_INT, &timeout, "int",
         "Seconds to wait for running containers to stop before killing the "
         "container"},
        NO_OPTS,
    };
    _cleanup_strv_ char **names = NULL;
    _cleanup_json_ json_t *list = NULL;
    struct store *s = NULL;
    berth_error_t last = NULL;
    int optind = 0, code = 0;
    int r = cli_parse(&self, o, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (all && argc - optind > 0)
        return berth_error_new(err, 0, "choose either one or more volumes or "
                               "all");
    if ((!all && cli_nargs("volume rm", argc - optind, 1, -1, err) < 0) ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (all) {
        size_t i;
        json_t *rec;
        if (volumes_list(s, &list, err) < 0)
            return -1;
        json_array_foreach(list, i, rec)
            strv_append(&names, json_get_str(rec, "name"));
    }
    for (int k = optind; !all && k < argc; k++)
        strv_append(&names, argv[k]);
    for (size_t i = 0; names && names[i]; i++) {
        berth_error_t e = NULL;
        if (remove_one(s, names[i], force, &e) == 0) {
            printf("%s\n", names[i]);
            continue;
        }
        if (force && e->errnum == ENOENT) {
            berth_error_free(&e);
            continue;
        }
        code = rm_exit_code(e);
        keep_last(&last, e);
    }
    fflush(stdout);
    if (last) {
        berth_error_set_exit(&last, code);
        *err = last;
        return -1;
    }
    return 0;
}

static bool confirm(char *const *names)
{
    char line[64];
    fputs("WARNING! This will remove all volumes not used by at least one "
          "container. The following volumes will be removed:\n",
          stdout);
    for (size_t i = 0; names[i]; i++)
        printf("%s\n", names[i]);
    fputs("Are you sure you want to continue? [y/N] ", stdout);
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return false;
    return line[0] == 'y' || line[0] == 'Y';
}

int cmd_volume_prune(struct cli_global *g, int argc, char **argv,
                     berth_error_t *err)
{
    static const struct cli_command self = {
        "volume prune", NULL, "[options]", "Remove all unused volumes", NULL,
        NULL};
    bool force = false;
    const struct cli_opt o[] = {
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Do not prompt for confirmation"},
        NO_OPTS,
    };
    _cleanup_strv_ char **removed = NULL, **unused = NULL;
    _cleanup_json_ json_t *list = NULL;
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, o, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("volume prune", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (!force) {
        size_t i;
        json_t *rec;
        unused = xcalloc(1, sizeof(char *));
        if (volumes_list(s, &list, err) < 0)
            return -1;
        json_array_foreach(list, i, rec) {
            _cleanup_strv_ char **ids = NULL;
            if (volumes_users(s, json_get_str(rec, "name"), &ids, err) < 0)
                return -1;
            if (ids[0] == NULL)
                strv_append(&unused, json_get_str(rec, "name"));
        }
        if (unused[0] == NULL || !confirm(unused))
            return 0;
    }
    if (volumes_prune(s, &removed, err) < 0)
        return -1;
    for (size_t i = 0; removed[i]; i++)
        printf("%s\n", removed[i]);
    return 0;
}

int cmd_volume_exists(struct cli_global *g, int argc, char **argv,
                      berth_error_t *err)
{
    static const struct cli_command self = {
        "volume exists", NULL, "VOLUME", "Check if the given volume exists",
        NULL, NULL};
    const struct cli_opt o[] = {NO_OPTS};
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    berth_error_t e = NULL;
    int optind = 0;
    int r = cli_parse(&self, o, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("volume exists", argc - optind, 1, 1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (volumes_get(s, argv[optind], &rec, &e) == 0)
        return 0;
    if (e->errnum == ENOENT) {
        berth_error_free(&e);
        return 1;
    }
    *err = e;
    return -1;
}
