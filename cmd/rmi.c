#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/container.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/store.h"

/* Does `arg` name one of the record's names (rather than its id)? */
static const char *named_by(json_t *rec, const char *arg)
{
    size_t i;
    json_t *v;
    size_t al = strlen(arg);
    json_array_foreach(json_object_get(rec, "names"), i, v) {
        const char *n = json_string_value(v);
        size_t nl = strlen(n);
        if (strcmp(n, arg) == 0)
            return n;
        /* "busybox" or "busybox:latest" for "reg/busybox:latest" */
        if (nl > al && n[nl - al - 1] == '/' && strcmp(n + nl - al, arg) == 0)
            return n;
        if (nl > al + 7 && strcmp(n + nl - 7, ":latest") == 0 &&
            strncmp(n + nl - 7 - al, arg, al) == 0 &&
            (nl - 7 - al == 0 || n[nl - 8 - al] == '/'))
            return n;
    }
    return NULL;
}

/* Containers using the image: refused without force (podman's message,
 * exit 2), removed with it. */
static int image_users(struct store *s, const char *id, bool force,
                       berth_error_t *err)
{
    _cleanup_strv_ char **users = NULL;
    if (containers_using_image(s, id, &users, err) < 0)
        return -1;
    if (users == NULL || users[0] == NULL)
        return 0;
    if (!force) {
        berth_error_new(err, 0,
                        "image used by %s: image is in use by a container: "
                        "consider listing external containers and "
                        "force-removing image",
                        users[0]);
        berth_error_set_exit(err, 2);
        return -1;
    }
    for (size_t i = 0; users[i]; i++)
        if (ctr_remove(s, users[i], true, err) < 0)
            return -1;
    return 0;
}

static int remove_image(struct store *s, json_t *rec, bool force,
                        berth_error_t *err)
{
    const char *id = json_get_str(rec, "id");
    size_t i;
    json_t *v;
    if (image_users(s, id, force, err) < 0)
        return -1;
    json_array_foreach(json_object_get(rec, "names"), i, v)
        printf("Untagged: %s\n", json_string_value(v));
    if (images_delete(s, id, err) < 0)
        return -1;
    printf("Deleted: %s\n", id);
    return 0;
}

/* One argument of rmi: returns 0, 1 (not found), -1. */
static int rmi_one(struct store *s, const char *arg, bool force,
                   berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (images_lookup(s, arg, &rec, err) < 0)
        return (*err)->errnum == ENOENT ? 1 : -1;
    /* in use: refused before anything is untagged */
    if (image_users(s, json_get_str(rec, "id"), force, err) < 0)
        return (*err)->exit_code == 2 ? 2 : -1;
    const char *name = named_by(rec, arg);
    size_t nnames = json_array_size(json_object_get(rec, "names"));
    if (name && nnames > 1) {
        /* removing one of several names only untags */
        _cleanup_free_ char *n = xstrdup(name);
        if (images_remove_name(s, json_get_str(rec, "id"), n, err) < 0)
            return -1;
        printf("Untagged: %s\n", n);
        return 0;
    }
    if (!name && nnames > 1 && !force) {
        /* podman's wording: the names as Go prints a []string */
        _cleanup_free_ char *list = xstrdup("");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(rec, "names"), i, v) {
            char *l = xasprintf("%s%s%s", list, i ? " " : "",
                                json_string_value(v));
            free(list);
            list = l;
        }
        return berth_error_new(err, 0,
                               "unable to delete image \"%s\" by ID with "
                               "more than one tag ([%s]): please force "
                               "removal",
                               json_get_str(rec, "id"), list);
    }
    return remove_image(s, rec, force, err);
}

int cmd_rmi(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "rmi", NULL, "[options] IMAGE [IMAGE...]",
        "Remove one or more images from local storage", NULL, NULL};
    bool all = false, force = false, ignore = false;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Remove all images"},
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Force Removal of the image"},
        {"ignore", 'i', CLI_BOOL, &ignore, NULL,
         "Ignore errors if a specified image does not exist"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    int optind = 0, r, worst = 0;
    berth_error_t last = NULL;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (all && argc - optind > 0)
        return berth_error_new(err, 0, "when using the --all switch, you may "
                               "not pass any images names or IDs");
    if (!all && cli_nargs("rmi", argc - optind, 1, -1, err) < 0)
        return -1;
    if (cli_store(g, &s, err) < 0)
        return -1;
    if (all) {
        _cleanup_json_ json_t *recs = NULL;
        size_t i;
        json_t *rec;
        if (images_list(s, &recs, err) < 0)
            return -1;
        json_array_foreach(recs, i, rec) {
            if (remove_image(s, rec, true, err) < 0)
                return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        berth_error_t e = NULL;
        r = rmi_one(s, argv[i], force, &e);
        if (r == 0)
            continue;
        if (r == 1 && ignore) {
            berth_error_free(&e);
            continue;
        }
        /* podman reports each failure and exits with the worst code */
        if (last)
            fprintf(stderr, "Error: %s\n", last->msg);
        berth_error_free(&last);
        last = e;
        worst = r < 0 ? 125 : (r > worst ? r : worst);
    }
    uint64_t freed = 0;
    berth_error_t ge = NULL;
    if (store_gc(s, &freed, &ge) < 0) {
        fprintf(stderr, "WARN[0000] removing unused layers: %s, ignoring\n",
                ge->msg);
        berth_error_free(&ge);
    }
    if (last) {
        berth_error_set_exit(&last, worst);
        *err = last;
        return -1;
    }
    return 0;
}

int cmd_image_prune(struct cli_global *g, int argc, char **argv,
                    berth_error_t *err)
{
    static const struct cli_command self = {
        "image prune", NULL, "[options]", "Remove unused images", NULL, NULL};
    bool all = false, force = false;
    _cleanup_strv_ char **filters = NULL;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         "Remove all images not in use by containers, not just dangling "
         "ones"},
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Do not prompt for confirmation"},
        {"filter", 0, CLI_STRV, &filters, "filters",
         "Provide filter values (e.g. 'label=<key>=<value>')"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    _cleanup_json_ json_t *recs = NULL;
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("image prune", argc - optind, 0, 0, err) < 0)
        return -1;
    if (filters)
        return berth_error_new(err, 0, "image prune --filter is not "
                               "supported yet");
    if (!force) {
        printf("WARNING! This command removes all %s images.\n"
               "Are you sure you want to continue? [y/N] ",
               all ? "images without at least one container associated to "
                     "them"
                   : "dangling");
        fflush(stdout);
        char line[64] = "";
        if (fgets(line, sizeof line, stdin) == NULL ||
            (line[0] != 'y' && line[0] != 'Y'))
            return 0;
    }
    if (cli_store(g, &s, err) < 0 || images_list(s, &recs, err) < 0)
        return -1;
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec) {
        bool dangling = images_dangling(rec);
        if (!all && !dangling)
            continue;
        if (images_delete(s, json_get_str(rec, "id"), err) < 0)
            return -1;
        printf("%s\n", json_get_str(rec, "id"));
    }
    uint64_t freed = 0;
    return store_gc(s, &freed, err) < 0 ? -1 : 0;
}

int cmd_image_exists(struct cli_global *g, int argc, char **argv,
                     berth_error_t *err)
{
    static const struct cli_command self = {
        "image exists", NULL, "IMAGE",
        "Check if an image exists in local storage", NULL, NULL};
    const struct cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("image exists", argc - optind, 1, 1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    berth_error_t e = NULL;
    if (images_lookup(s, argv[optind], &rec, &e) < 0) {
        bool missing = e->errnum == ENOENT;
        if (missing) {
            berth_error_free(&e);
            return 1;
        }
        *err = e;
        return -1;
    }
    return 0;
}
