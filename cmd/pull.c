#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "image/pull.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/store.h"

int cmd_pull(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "pull", NULL, "[options] IMAGE [IMAGE...]",
        "Pull an image from a registry", NULL, NULL};
    bool quiet = false, all_tags = false;
    _cleanup_free_ char *platform = NULL, *arch = NULL, *os = NULL,
                        *variant = NULL;
    struct reg_flags rf;
    reg_flags_init(&rf);
    const struct cli_opt opts[] = {
        {"all-tags", 'a', CLI_BOOL, &all_tags, NULL,
         "All tagged images in the repository will be pulled"},
        {"arch", 0, CLI_STRING, &arch, "ARCH",
         "Use ARCH instead of the architecture of the machine"},
        {"os", 0, CLI_STRING, &os, "OS",
         "Use OS instead of the running OS for choosing images"},
        {"platform", 0, CLI_STRING, &platform, "string",
         "Specify the platform for selecting the image (OS/ARCH[/VARIANT])"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL,
         "Suppress output information when pulling images"},
        {"variant", 0, CLI_STRING, &variant, "string",
         "Use VARIANT instead of the running architecture variant"},
        REG_FLAG_OPTS(rf),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    int optind = 0, r;
    struct pull_opts po = {0};
    struct store *s = NULL;
    struct progress *prog = NULL;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0) {
        r = r > 0 ? 0 : -1;
        goto out;
    }
    if ((r = cli_nargs("pull", argc - optind, 1, -1, err)) < 0)
        goto out;
    if ((r = platform_resolve(platform, os, arch, variant, &po.platform,
                              err)) < 0 ||
        (r = cli_store(g, &s, err)) < 0)
        goto out;
    reg_flags_apply(&rf, &po.reg);
    prog = progress_new(quiet);
    po.on_event = progress_pull_event;
    po.event_arg = prog;
    for (int i = optind; i < argc; i++) {
        if (all_tags) {
            _cleanup_strv_ char **ids = NULL;
            if ((r = image_pull_all_tags(s, argv[i], &po, &ids, err)) < 0)
                goto out;
            for (size_t k = 0; ids[k]; k++)
                printf("%s\n", ids[k]);
        } else {
            _cleanup_free_ char *id = NULL;
            if ((r = image_pull(s, argv[i], &po, &id, err)) < 0)
                goto out;
            printf("%s\n", id);
        }
    }
    r = 0;
out:
    progress_free(prog);
    platform_clear(&po.platform);
    reg_flags_free(&rf);
    return r;
}
