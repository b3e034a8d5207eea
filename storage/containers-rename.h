/* Renaming a container: claim the new name the way containers_create
 * does (symlink(2) under ROOT/names, so two renames to one name give one
 * winner), rewrite the record, then free the old name. */
#ifndef BERTH_STORAGE_CONTAINERS_RENAME_H
#define BERTH_STORAGE_CONTAINERS_RENAME_H

#include "lib/error.h"
#include "storage/store.h"

/* Rename the container of full id `id` to new_name.  A name in use fails
 * with podman's message (errnum EEXIST), an invalid one with errnum
 * EINVAL.  Renaming to the current name is a no-op. */
int containers_rename(struct store *s, const char *id, const char *new_name,
                      berth_error_t *err);

#endif
