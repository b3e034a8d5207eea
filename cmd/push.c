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
        /* the name the user typed, or the image's first name */
        struct image_ref *ref = NULL;
        berth_error_t e = NULL;
        if (image_ref_parse(argv[optind], &ref, &e) == 0 && ref->registry)
            dest = image_ref_string(ref);
        else if (json_array_size(json_object_get(rec, "names")) > 0)
            dest = xstrdup(json_string_value(
                json_array_get(json_object_get(rec, "names"), 0)));
        image_ref_free(ref);
        berth_error_free(&e);
        if (dest == NULL) {
            berth_error_new(err, 0, "%s: no destination given and the image "
                            "has no name", argv[optind]);
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
