#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "image/archive.h"
#include "image/import.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/store.h"

int cmd_load(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "load", NULL, "[options]", "Load image(s) from a tar archive", NULL,
        NULL};
    _cleanup_free_ char *input = NULL;
    bool quiet = false;
    const struct cli_opt opts[] = {
        {"input", 'i', CLI_STRING, &input, "string",
         "Read from specified archive file (default: stdin)"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "Suppress the output"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    _cleanup_close_ int fd = -1;
    struct image_archive_loaded *loaded = NULL;
    size_t n = 0;
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("load", argc - optind, 0, 0, err) < 0)
        return -1;
    if (input && image_import_is_url(input))
        return berth_error_new(err, 0, "%s: berth load reads local files "
                               "only: download the archive first (curl -LO "
                               "URL)", input);
    if (input) {
        fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return berth_error_new(err, errno, "%s", input);
    } else if (isatty(STDIN_FILENO)) {
        return berth_error_new(err, 0, "cannot read from terminal, use "
                               "command-line redirection or the --input "
                               "flag");
    }
    if (cli_store(g, &s, err) < 0)
        return -1;
    struct progress *p = progress_new(quiet);
    struct image_archive_opts o = {.on_event = progress_pull_event,
                                   .event_arg = p};
    r = image_archive_load(s, fd >= 0 ? fd : STDIN_FILENO,
                           input ? input : "stdin", &o, &loaded, &n, err);
    progress_free(p);
    if (r < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (loaded[i].names[0] == NULL)
            printf("Loaded image: sha256:%s\n", loaded[i].id);
        for (size_t k = 0; loaded[i].names[k]; k++)
            printf("Loaded image: %s\n", loaded[i].names[k]);
    }
    image_archive_loaded_free(loaded, n);
    return 0;
}
