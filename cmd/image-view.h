/* The JSON views of an image that users see: podman's `image inspect`
 * document and the per-row objects `images --format` templates read. */
#ifndef BERTH_CMD_IMAGE_VIEW_H
#define BERTH_CMD_IMAGE_VIEW_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

struct store;

/* podman image inspect's object for one image record. */
int image_view_inspect(struct store *s, json_t *record, json_t **ret,
                       berth_error_t *err);
/* Rows for `images`: one per repository:tag (one "<none>" row for an
 * untagged image), with the fields podman's templates use. */
void image_view_rows(json_t *record, json_t *config, bool no_trunc,
                     json_t *rows);
/* podman's `images --format json` object for one image. */
json_t *image_view_list_json(json_t *record, json_t *config);
/* "2006-01-02 15:04:05.999999999 -0700 MST" as Go prints a time.Time. */
char *image_view_go_time(const char *rfc3339);

#endif
