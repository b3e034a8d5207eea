/* registries.conf (containers-registries.conf(5), v2 format, and the old
 * v1 [registries.search] tables): search registries for short names,
 * [aliases], and per-registry settings (insecure, blocked, location,
 * mirrors).  Files read, later overriding earlier:
 * /etc/containers/registries.conf, the *.conf files in
 * /etc/containers/registries.conf.d, $XDG_CONFIG_HOME/containers/
 * registries.conf (~/.config/...) and the *.conf files in the
 * registries.conf.d beside it; $CONTAINERS_REGISTRIES_CONF alone when
 * set. */
#ifndef BERTH_IMAGE_REGISTRIES_H
#define BERTH_IMAGE_REGISTRIES_H

#include <stdbool.h>

#include "lib/error.h"

struct registry_mirror {
    char *location;
    bool insecure;
};

struct registry_entry {
    char *prefix;   /* what it matches: "example.com", "example.com/foo" */
    char *location; /* where to fetch from (defaults to prefix) */
    bool insecure;
    bool blocked;
    struct registry_mirror *mirrors;
    int n_mirrors;
};

struct registries_conf {
    char **search; /* unqualified-search-registries, NULL-terminated */
    struct registry_entry *entries;
    int n_entries;
    char **alias_names; /* [aliases]: short name -> fully qualified ref */
    char **alias_values;
    int n_aliases;
};

/* Load the configuration from the standard places.  Missing files are fine
 * (an empty configuration).  A malformed file fails, naming file and line. */
int registries_conf_load(struct registries_conf **ret, berth_error_t *err);
/* Parse one file's TOML text into *conf (merging); exposed for tests. */
int registries_conf_parse(struct registries_conf *conf, const char *text,
                          const char *filename, berth_error_t *err);
/* Parse the file at PATH into *conf (merging); a missing file is fine. */
int registries_conf_load_file(struct registries_conf *conf, const char *path,
                              berth_error_t *err);
struct registries_conf *registries_conf_new(void);
void registries_conf_free(struct registries_conf *conf);

/* Longest-prefix match of "host[:port]/path" (no tag); NULL when none. */
const struct registry_entry *
registries_conf_find(const struct registries_conf *conf, const char *repo);

/* Candidate fully-qualified names for a short NAME ("alpine", "foo/bar:1"):
 * the alias if one matches, otherwise each search registry in order, and
 * docker.io (with library/ for single-component names) when no file sets
 * a search list, as podman does; a list set to [] gives an empty vector
 * (podman then refuses the short name).  Returns a NULL-terminated vector of
 * names "host/path[:tag|@digest]". */
char **registries_conf_resolve_short(const struct registries_conf *conf,
                                     const char *name);

/* true when connections to HOST[:PORT] may use plain http / skip TLS
 * verification (insecure = true in registries.conf). */
bool registries_conf_insecure(const struct registries_conf *conf,
                              const char *host);

#endif
