#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

/* A name given to tag: short names go under localhost/, as podman does. */
static int normalize_target(const char *name, char **ret, berth_error_t *err)
{
    struct image_ref *ref = NULL;
    if (image_ref_parse(name, &ref, err) < 0)
        return -1;
    if (ref->digest) {
        image_ref_free(ref);
        return berth_error_new(err, 0, "%s: tag by digest not supported",
                               name);
    }
    if (ref->registry == NULL)
        ref->registry = xstrdup("localhost");
    *ret = image_ref_tagged(ref);
    image_ref_free(ref);
    return 0;
}

int cmd_tag(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "tag", NULL, "IMAGE TARGET_NAME [TARGET_NAME...]",
        "Add an additional name to a local image", NULL, NULL};
    const struct cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("tag", argc - optind, 2, -1, err) < 0 ||
        cli_store(g, &s, err) < 0 ||
        images_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    for (int i = optind + 1; i < argc; i++) {
        _cleanup_free_ char *name = NULL;
        if (normalize_target(argv[i], &name, err) < 0 ||
            images_add_name(s, json_get_str(rec, "id"), name, err) < 0)
            return -1;
    }
    return 0;
}

int cmd_untag(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "untag", NULL, "IMAGE [IMAGE...]", "Remove a name from a local image",
        NULL, NULL};
    const struct cli_opt opts[] = {{NULL, 0, 0, NULL, NULL, NULL}};
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("untag", argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0 ||
        images_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    const char *id = json_get_str(rec, "id");
    if (argc - optind == 1) {
        /* no names given: remove them all */
        _cleanup_json_ json_t *names =
            json_deep_copy(json_object_get(rec, "names"));
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) {
            if (images_remove_name(s, id, json_string_value(n), err) < 0)
                return -1;
        }
        return 0;
    }
    for (int i = optind + 1; i < argc; i++) {
        _cleanup_free_ char *name = NULL;
        if (normalize_target(argv[i], &name, err) < 0)
            return -1;
        /* a short name may also match a name of another registry */
        if (images_remove_name(s, id, name, err) < 0) {
            _cleanup_json_ json_t *other = NULL;
            berth_error_t e = NULL;
            if (images_lookup(s, argv[i], &other, &e) == 0 &&
                strcmp(json_get_str(other, "id"), id) == 0) {
                size_t k;
                json_t *n;
                json_array_foreach(json_object_get(other, "names"), k, n) {
                    const char *nm = json_string_value(n);
                    size_t l = strlen(nm), al = strlen(argv[i]);
                    if (l > al && strcmp(nm + l - al, argv[i]) == 0) {
                        berth_error_free(err);
                        berth_error_free(&e);
                        if (images_remove_name(s, id, nm, err) < 0)
                            return -1;
                        goto next;
                    }
                }
            }
            berth_error_free(&e);
            return -1;
        }
    next:;
    }
    return 0;
}
