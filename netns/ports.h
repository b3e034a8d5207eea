/* Published ports: `-p`/`--publish` and `-P`/`--publish-all`, as podman. */
#ifndef BERTH_NETNS_PORTS_H
#define BERTH_NETNS_PORTS_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

/* One host port forwarded to one container port. */
struct port_map {
    char host_ip[64];   /* "" for every address (podman prints 0.0.0.0) */
    int host_port;      /* 0 until chosen: "-p 80" and -P pick a free one */
    int container_port;
    char protocol[4];   /* "tcp" or "udp" */
};

/* Parse one -p value, podman's syntax:
 *   [[IP:][HOSTPORT]:]CTRPORT[/PROTO]   PROTO tcp (default) or udp
 * with ranges "8080-8081:80-81" (both the same length) or a container
 * range alone ("80-81": free host ports), IPv6 host IPs in brackets
 * ("[::1]:8080:80").  Appends one port_map per port to *maps (*n of them;
 * *maps is realloc'd).  Errors as podman's where it has one, e.g.
 *   invalid port "x": ...   (exit 125 at the CLI) */
int ports_parse(const char *spec, struct port_map **maps, size_t *n,
                berth_error_t *err);

/* -P: every EXPOSE'd port of the image config ("80/tcp", "53/udp", "8080"
 * in config.ExposedPorts), on a free host port, appended as above. */
int ports_from_exposed(json_t *image_config, struct port_map **maps,
                       size_t *n, berth_error_t *err);

/* Give every map with host_port 0 a free port: bind port 0 on its address
 * and protocol, take what the kernel chose.  An explicit host port already
 * bound by another process is an error naming it ("... address already in
 * use"). */
int ports_choose(struct port_map *maps, size_t n, berth_error_t *err);

/* JSON for the container record and back:
 *   [{"host_ip": "", "host_port": 8080, "container_port": 80,
 *     "protocol": "tcp"}, ...] */
json_t *ports_to_json(const struct port_map *maps, size_t n);
int ports_from_json(json_t *a, struct port_map **maps, size_t *n);

/* podman's renderings:
 * `port`: one line per map "80/tcp -> 0.0.0.0:8080"
 * ps {{.Ports}}: "0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp"
 *   (consecutive ports of the same ip/proto collapse into ranges:
 *   "0.0.0.0:8080-8081->80-81/tcp")
 * inspect .NetworkSettings.Ports: {"80/tcp": [{"HostIp": "", "HostPort":
 *   "8080"}], ...} */
char *ports_port_line(const struct port_map *m);
char *ports_ps_string(const struct port_map *maps, size_t n);
json_t *ports_inspect_json(const struct port_map *maps, size_t n);

#endif
