#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "image/push.h"
#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

/* Destination: "docker://ref" or a plain reference; other transports are
 * not supported by push (use save). */
static int dest_name(const char *arg, char **ret, berth_error_t *err)
{
    static const char *const other[] = {"oci-archive:", "docker-archive:",
                                        "oci:", "dir:", NULL};
    if (str_has_prefix(arg, "docker://"))
        arg += 9;
    for (size_t i = 0; other[i]; i++)
        if (str_has_prefix(arg, other[i]))
            return berth_error_new(err, 0, "push to %s: transport not supported "
                               "by push yet; use berth save", arg);
    *ret = xstrdup(arg);
    return 0;
}

/* The name of REC that the short NAME (no registry) was found by:
 * "localhost/NAME[:latest]" first, else any "REGISTRY/NAME[:latest]", the
 * way images_lookup matched it.  NULL when NAME is not one of its names
 * (an id, say). */
static char *push_short_name(json_t *rec, const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *last = slash ? slash + 1 : name;
    _cleanup_free_ char *want = strchr(last, ':') || strchr(name, '@')
                                    ? xstrdup(name)
                                    : xasprintf("%s:latest", name);
    _cleanup_free_ char *local = xasprintf("localhost/%s", want);
    json_t *names = json_object_get(rec, "names"), *v;
    size_t i, wl = strlen(want);
    const char *found = NULL;
    json_array_foreach(names, i, v) {
        const char *n = json_string_value(v);
        size_t nl = n ? strlen(n) : 0;
        if (n && strcmp(n, local) == 0)
            return xstrdup(n);
        if (found == NULL && nl > wl && n[nl - wl - 1] == '/' &&
            strcmp(n + nl - wl, want) == 0)
            found = n;
    }
    return found ? xstrdup(found) : NULL;
}

int cmd_push(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "push", NULL, "[options] IMAGE [DESTINATION]",
        "Push an image to a specified destination", NULL, NULL};
    bool quiet = false;
    _cleanup_free_ char *digestfile = NULL;
    struct reg_flags rf;
    reg_flags_init(&rf);
    const struct cli_opt opts[] = {
        {"digestfile", 0, CLI_STRING, &digestfile, "string",
         "Write the digest of the pushed image to the specified file"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL,
         "Suppress output information when pushing images"},
        REG_FLAG_OPTS(rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    _cleanup_json_ json_t *rec = NULL;
    _cleanup_free_ char *dest = NULL, *digest = NULL;
    struct pull_opts po = {0};
    struct progress *prog = NULL;
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0) {
        r = r > 0 ? 0 : -1;
        goto out;
    }
    r = -1;
    if (cli_nargs("push", argc - optind, 1, 2, err) < 0 ||
        cli_store(g, &s, err) < 0 ||
        images_lookup(s, argv[optind], &rec, err) < 0)
        goto out;
    if (argc - optind == 2) {
        if (dest_name(argv[optind + 1], &dest, err) < 0)
            goto out;
    } else {
        /* the name the user typed, as the image's name it stands for: a
         * short "app:1" is localhost/app:1, never the image's other names
         * (which would push to a repository the user did not name) */
        struct image_ref *ref = NULL;
        berth_error_t e = NULL;
        if (image_ref_parse(argv[optind], &ref, &e) == 0 && ref->registry)
            dest = image_ref_string(ref);
        else
            dest = push_short_name(rec, argv[optind]);
        image_ref_free(ref);
        berth_error_free(&e);
        if (dest == NULL) {
            berth_error_new(err, 0, "%s: no destination given: name the "
                            "registry to push to (e.g. berth push %s "
                            "registry.example.com/name:tag)",
                            argv[optind], argv[optind]);
            goto out;
        }
    }
    reg_flags_apply(&rf, &po.reg);
    prog = progress_new(quiet);
    po.on_event = progress_pull_event;
    po.event_arg = prog;
    if (image_push(s, rec, dest, &po, &digest, err) < 0)
        goto out;
    if (digestfile &&
        fs_write_file_atomic(digestfile, digest, strlen(digest), 0644, err) < 0)
        goto out;
    r = 0;
out:
    progress_free(prog);
    reg_flags_free(&rf);
    return r;
}
