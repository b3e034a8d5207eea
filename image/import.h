/* Import: a root file system tarball (any compression; a file, stdin or
 * an http(s) URL) becomes a one-layer image, as podman import makes it:
 * an OCI config with the host's platform, the --change instructions
 * (image/config-change.h) and one history entry
 * "/bin/sh -c #(nop) ADD file:DIFFHEX in /" commented with the message
 * ("imported from tarball" by default), created at the tarball's mtime. */
#ifndef BERTH_IMAGE_IMPORT_H
#define BERTH_IMAGE_IMPORT_H

#include <stdbool.h>

#include "image/pull.h"
#include "lib/error.h"

struct store;

struct import_opts {
    char *const *changes; /* --change, NULL-terminated or NULL */
    const char *message;  /* --message, or NULL */
    const char *name;     /* full name for the image (see
                             image_import_reference), or NULL: untagged */
    const char *os;       /* NULL: the host's */
    const char *arch;
    const char *variant;
    /* progress: PULL_CONFIG, PULL_BLOB_START/DONE, PULL_MANIFEST */
    pull_event_fn on_event;
    void *event_arg;
};

/* true for the sources image_import downloads. */
bool image_import_is_url(const char *source);
/* Import source: a path, "-" for standard input, or an http(s) URL.
 * *ret_id receives the image id (config digest hex). */
int image_import(struct store *s, const char *source,
                 const struct import_opts *o, char **ret_id,
                 berth_error_t *err);
/* The name an imported (or committed) image gets for REFERENCE, as podman
 * tags: a short name goes under localhost/ and gets ":latest"; a digest
 * is refused. */
int image_import_reference(const char *reference, char **ret,
                           berth_error_t *err);

#endif
