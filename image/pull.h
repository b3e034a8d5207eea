/* Pulling an image: resolve the name (short names through registries.conf),
 * fetch and verify the manifest (choosing the platform from an index), the
 * config and the layers (in parallel), unpack each layer once, and write
 * the image record.  Nothing is visible in the store until verified; a
 * pull killed at any moment leaves only debris in ROOT/tmp that the next
 * command removes. */
#ifndef BERTH_IMAGE_PULL_H
#define BERTH_IMAGE_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "image/manifest.h"
#include "image/registry.h"
#include "lib/error.h"

struct store;

enum pull_event_kind {
    PULL_TRYING,       /* name: the fully qualified reference */
    PULL_BLOB_START,   /* digest, total */
    PULL_BLOB_SKIP,    /* digest: already in the store */
    PULL_BLOB_PROGRESS,/* digest, done, total */
    PULL_BLOB_DONE,    /* digest */
    PULL_CONFIG,       /* digest */
    PULL_MANIFEST,     /* writing manifest */
};

struct pull_event {
    enum pull_event_kind kind;
    const char *name;
    const char *digest;
    int64_t done, total;
};

/* Called from several threads (serialized by the puller). */
typedef void (*pull_event_fn)(void *arg, const struct pull_event *ev);

struct pull_opts {
    struct registry_opts reg;
    struct platform platform;
    pull_event_fn on_event;
    void *event_arg;
    int jobs; /* parallel blob downloads (default 3) */
};

/* Pull NAME; *ret_id receives the image id (config digest hex). */
int image_pull(struct store *s, const char *name, const struct pull_opts *o,
               char **ret_id, berth_error_t *err);
/* Pull every tag of the repository NAME (--all-tags). ret_ids is a
 * NULL-terminated vector. */
int image_pull_all_tags(struct store *s, const char *name,
                        const struct pull_opts *o, char ***ret_ids,
                        berth_error_t *err);
/* The fully qualified candidates for NAME (short names expanded through
 * registries.conf; a qualified name gives itself). */
int image_pull_candidates(const char *name, char ***ret, berth_error_t *err);

#endif
