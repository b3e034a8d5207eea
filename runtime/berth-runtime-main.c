/* berth-runtime: berth's built-in OCI runtime as its own lean executable
 * (runc's command line, as `berth oci-runtime`).  The monitor execs it for
 * create, start and delete of every container; linked without libcurl and
 * libarchive it starts in a fraction of berth's time. */
#define _GNU_SOURCE
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/error.h"

int main(int argc, char **argv)
{
    struct cli_global g = {0};
    berth_error_t err = NULL;
    int r = cmd_oci_runtime(&g, argc, argv, &err);
    if (r < 0) {
        if (err == NULL) {
            fputs("Error: internal error: failure without a message\n",
                  stderr);
            return 125;
        }
        fprintf(stderr, "Error: %s\n", err->msg);
        r = err->exit_code;
        berth_error_free(&err);
    }
    return r;
}
