#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "image/archive.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

/* The name of rec the user meant by arg, as podman's LookupImage resolves
 * it; NULL when arg is the id (podman then saves the image untagged). */
static const char *save_resolved_name(json_t *rec, const char *arg)
{
    json_t *names = json_object_get(rec, "names"), *v;
    const char *last = strrchr(arg, '/');
    _cleanup_free_ char *full =
        strchr(last ? last : arg, ':') || strchr(arg, '@')
            ? xstrdup(arg)
            : xasprintf("%s:latest", arg);
    size_t fl = strlen(full), i;

    json_array_foreach(names, i, v) {
        if (strcmp(json_string_value(v), full) == 0)
            return json_string_value(v);
    }
    /* "busybox" for "docker.io/library/busybox:latest" */
    json_array_foreach(names, i, v) {
        const char *n = json_string_value(v);
        size_t nl = strlen(n);
        if (nl > fl && n[nl - fl - 1] == '/' && strcmp(n + nl - fl, full) == 0)
            return n;
    }
    return NULL;
}

struct save_list {
    struct image_archive_item *items;
    json_t **records;
    size_t n;
};

static void save_list_free(struct save_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        strv_free(l->items[i].names);
        json_decref(l->records[i]);
    }
    free(l->items);
    free(l->records);
}

/* Add the image arg names (once per image, in the order given). */
static int save_add(struct store *s, struct save_list *l, const char *arg,
                    berth_error_t *err)
{
    json_t *rec = NULL;
    if (images_lookup(s, arg, &rec, err) < 0)
        return -1;
    const char *name = save_resolved_name(rec, arg);
    const char *id = json_get_str(rec, "id");
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(json_get_str(l->records[i], "id"), id) == 0) {
            if (name && !strv_contains(l->items[i].names, name))
                strv_append(&l->items[i].names, name);
            json_decref(rec);
            return 0;
        }
    }
    l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->records = xrealloc(l->records, (l->n + 1) * sizeof(*l->records));
    l->records[l->n] = rec;
    l->items[l->n] = (struct image_archive_item){.record = rec, .names = NULL};
    if (name)
        strv_append(&l->items[l->n].names, name);
    l->n++;
    return 0;
}

static int save_check_args(const char *format, const char *output,
                           bool compress, enum image_archive_format *ret,
                           berth_error_t *err)
{
    if (compress)
        return berth_error_new(err, 0, "--compress can only be set when "
                               "--format is 'docker-dir'");
    if (strcmp(format, "docker-archive") == 0)
        *ret = IMAGE_ARCHIVE_DOCKER;
    else if (strcmp(format, "oci-archive") == 0)
        *ret = IMAGE_ARCHIVE_OCI;
    else if (strcmp(format, "oci-dir") == 0 || strcmp(format, "docker-dir") == 0)
        return berth_error_new(err, 0, "format %s is not supported by berth "
                               "yet (supported: docker-archive, oci-archive)",
                               format);
    else
        return berth_error_new(err, 0, "format value must be one of "
                               "docker-archive oci-archive");
    if (output && strchr(output, ':'))
        return berth_error_new(err, 0, "invalid filename (should not contain "
                               "':') \"%s\"", output);
    if (output == NULL && isatty(STDOUT_FILENO))
        return berth_error_new(err, 0, "refusing to save to terminal. Use -o "
                               "flag or redirect");
    return 0;
}

/* Without -m the arguments after the image are more names for it, as
 * podman's additional tags. */
static int save_collect(struct store *s, int argc, char **argv, bool multi,
                        struct save_list *l, berth_error_t *err)
{
    if (save_add(s, l, argv[0], err) < 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        if (multi) {
            if (save_add(s, l, argv[i], err) < 0)
                return -1;
            continue;
        }
        char *tag = NULL;
        if (image_archive_normalize_name(argv[i], &tag, err) < 0)
            return berth_error_prefix(err, "invalid additional tag \"%s\"",
                                      argv[i]);
        if (strv_contains(l->items[0].names, tag))
            free(tag);
        else
            strv_push(&l->items[0].names, tag);
    }
    return 0;
}

int cmd_save(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "save", NULL, "[options] IMAGE [IMAGE...]",
        "Save image(s) to an archive", NULL, NULL};
    _cleanup_free_ char *output = NULL;
    _cleanup_free_ char *format = xstrdup("docker-archive");
    bool quiet = false, multi = false, compress = false, uncompressed = false;
    const struct cli_opt opts[] = {
        {"compress", 0, CLI_BOOL, &compress, NULL,
         "Compress tarball image layers when saving to a directory using the "
         "'dir' transport. (default is same compression type as source)"},
        {"format", 0, CLI_STRING, &format, "string",
         "Save image to oci-archive or docker-archive (default "
         "\"docker-archive\")"},
        {"multi-image-archive", 'm', CLI_BOOL, &multi, NULL,
         "Interpret additional arguments as images not tags and create a "
         "multi-image-archive"},
        {"output", 'o', CLI_STRING, &output, "string",
         "Write to a specified file (default: stdout, which must be "
         "redirected)"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "Suppress the output"},
        {"uncompressed", 0, CLI_BOOL, &uncompressed, NULL,
         "Accept uncompressed layers when copying OCI images"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct save_list l = {0};
    struct store *s = NULL;
    enum image_archive_format fmt = IMAGE_ARCHIVE_DOCKER;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("save", argc - optind, 1, -1, err) < 0 ||
        save_check_args(format, output, compress, &fmt, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    r = save_collect(s, argc - optind, argv + optind, multi, &l, err);
    if (r == 0) {
        /* the archive is stdout itself: keep the terminal quiet too, as
         * podman does */
        struct progress *p = progress_new(quiet || output == NULL);
        struct image_archive_opts o = {.on_event = progress_pull_event,
                                       .event_arg = p};
        if (output)
            r = image_archive_save_path(s, fmt, l.items, l.n, output, &o, err);
        else
            r = image_archive_save(s, fmt, l.items, l.n, STDOUT_FILENO, &o,
                                   err);
        progress_free(p);
    }
    save_list_free(&l);
    return r < 0 ? -1 : 0;
}
