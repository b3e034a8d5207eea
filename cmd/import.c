#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "image/config-change.h"
#include "image/import.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/store.h"

/* Check the changes up front (podman's errors) and warn about what an OCI
 * config can't hold. */
static int import_check_changes(char **changes, berth_error_t *err)
{
    _cleanup_json_ json_t *probe = json_object();
    _cleanup_strv_ char **onbuild = NULL;
    if (config_changes_apply(probe, changes, &onbuild, err) < 0)
        return -1;
    for (size_t i = 0; onbuild && onbuild[i]; i++)
        print_warning("ONBUILD \"%s\": the OCI image format has no ONBUILD, "
                      "ignoring",
                      onbuild[i]);
    return 0;
}

int cmd_import(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "import", NULL, "[options] PATH [REFERENCE]",
        "Import a tarball to create a filesystem image", NULL, NULL};
    _cleanup_strv_ char **changes = NULL;
    _cleanup_free_ char *message = NULL, *os = NULL, *arch = NULL,
                        *variant = NULL, *name = NULL, *id = NULL;
    bool quiet = false;
    const struct cli_opt opts[] = {
        {"arch", 0, CLI_STRING, &arch, "string",
         "Set the architecture of the imported image"},
        {"change", 'c', CLI_STRV, &changes, "stringArray",
         "Apply the following possible instructions to the created image "
         "(default []): CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | ONBUILD | "
         "STOPSIGNAL | USER | VOLUME | WORKDIR"},
        {"message", 'm', CLI_STRING, &message, "string",
         "Set commit message for imported image"},
        {"os", 0, CLI_STRING, &os, "string",
         "Set the OS of the imported image"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL,
         "Suppress output information when writing images"},
        {"variant", 0, CLI_STRING, &variant, "string",
         "Set the variant of the imported image"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("import", argc - optind, 1, 2, err) < 0 ||
        import_check_changes(changes, err) < 0)
        return -1;
    if (argc - optind == 2 &&
        image_import_reference(argv[optind + 1], &name, err) < 0)
        return -1;
    if (cli_store(g, &s, err) < 0)
        return -1;
    const char *source = argv[optind];
    /* podman says this on stdout; stderr keeps `id=$(berth import URL)`
     * working */
    if (image_import_is_url(source) && !quiet)
        fprintf(stderr, "Downloading from \"%s\"\n", source);
    struct progress *p = progress_new(quiet);
    struct import_opts o = {.changes = changes,
                            .message = message,
                            .name = name,
                            .os = os,
                            .arch = arch,
                            .variant = variant,
                            .on_event = progress_pull_event,
                            .event_arg = p};
    r = image_import(s, source, &o, &id, err);
    progress_free(p);
    if (r < 0)
        return -1;
    printf("sha256:%s\n", id);
    return 0;
}
