/* berth port: the published ports of containers, as podman prints them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/container.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/ports.h"
#include "storage/containers.h"
#include "storage/store.h"

/* "80" or "80/udp": the maps of that container port, host side only */
static int print_one(const struct port_map *m, size_t n, const char *want,
                     berth_error_t *err)
{
    char proto[8] = "tcp";
    int port = 0;
    const char *slash = strchr(want, '/');
    if (slash && strlen(slash + 1) < sizeof proto)
        snprintf(proto, sizeof proto, "%s", slash + 1);
    port = atoi(want);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (m[i].container_port != port || strcmp(m[i].protocol, proto) != 0)
            continue;
        printf("%s:%d\n", m[i].host_ip[0] ? m[i].host_ip : "0.0.0.0",
               m[i].host_port);
        found = true;
    }
    if (!found)
        return berth_error_new(err, 0, "failed to find published port \"%d/%s\"",
                               port, proto);
    return 0;
}

static void print_all(const struct port_map *m, size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *line = ports_port_line(&m[i]);
        printf("%s%s\n", prefix, line);
    }
}

int cmd_port(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "port", NULL, "[options] CONTAINER [PRIVATE_PORT[/PROTO]]",
        "List port mappings or a specific mapping for the container", NULL,
        NULL};
    bool all = false;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Display port information for all "
                                           "containers"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("port", argc - optind, all ? 0 : 1, all ? 0 : 2, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (all) {
        _cleanup_json_ json_t *list = NULL;
        if (containers_list(s, &list, err) < 0)
            return -1;
        size_t i;
        json_t *rec;
        json_array_foreach(list, i, rec) {
            _cleanup_free_ struct port_map *m = NULL;
            size_t n = 0;
            ports_from_json(
                json_object_get(json_object_get(rec, "options"), "ports"), &m,
                &n);
            _cleanup_free_ char *prefix =
                xasprintf("%.12s\t", json_get_str(rec, "id"));
            print_all(m, n, prefix);
        }
        return 0;
    }
    _cleanup_json_ json_t *rec = NULL;
    if (ctr_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    _cleanup_free_ struct port_map *m = NULL;
    size_t n = 0;
    ports_from_json(json_object_get(json_object_get(rec, "options"), "ports"),
                    &m, &n);
    if (argc - optind == 2)
        return print_one(m, n, argv[optind + 1], err);
    print_all(m, n, "");
    return 0;
}
