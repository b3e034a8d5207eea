/* Pieces several subcommands share: registry flags, progress output for
 * transfers, warnings. */
#ifndef BERTH_CMD_COMMON_H
#define BERTH_CMD_COMMON_H

#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "image/pull.h"
#include "image/registry.h"

struct reg_flags {
    int tls_verify; /* CLI_TRI */
    char *authfile;
    char *creds;
    char *cert_dir;
};

#define REG_FLAG_OPTS(rf)                                                      \
    {"tls-verify", 0, CLI_TRI, &(rf).tls_verify, NULL,                         \
     "Require HTTPS and verify certificates when contacting registries"},      \
        {"authfile", 0, CLI_STRING, &(rf).authfile, "string",                  \
         "Path of the authentication file"},                                   \
        {"creds", 0, CLI_STRING, &(rf).creds, "[username[:password]]",         \
         "Credentials (USERNAME:PASSWORD) to use for authenticating to a "     \
         "registry"},                                                          \
        {"cert-dir", 0, CLI_STRING, &(rf).cert_dir, "Pathname",                \
         "Use certificates at the specified path to access the registry"}

void reg_flags_init(struct reg_flags *rf);
void reg_flags_free(struct reg_flags *rf);
void reg_flags_apply(const struct reg_flags *rf, struct registry_opts *o);

/* Transfer progress on stderr: podman's lines ("Copying blob ...") or,
 * on a terminal, a live bar per blob. */
struct progress;
struct progress *progress_new(bool quiet);
void progress_free(struct progress *p);
void progress_pull_event(void *arg, const struct pull_event *ev);
void progress_line(struct progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Inspect output: the documents as an indented JSON array, or each
 * rendered through a --format template. */
int format_print_docs(json_t *docs, const char *format, berth_error_t *err);

/* "WARN[0000] msg" on stderr, as podman's logrus output. */
/* Commands over several names (rm, stop, pod rm ...): each failure but
 * the last is printed as it comes, the last is the command's error, as
 * podman reports them. */
struct multi {
    berth_error_t last;
};
void multi_fail(struct multi *m, berth_error_t *e);
int multi_done(struct multi *m, berth_error_t *err);

struct cli_global;
struct store;
/* The start of every `... prune`: parse -f/--force (and --help), no
 * arguments, the store, and unless forced print warning and ask
 * "Are you sure you want to continue? [y/N]".  Returns 1 to go on, 0 when
 * done (help shown, or the user said no), -1 on error. */
int prune_begin(const char *name, const char *summary, const char *warning,
                struct cli_global *g, int argc, char **argv,
                struct store **ret, berth_error_t *err);

/* `pod inspect`, `network inspect`: parse --format (format_help) and the
 * names, print the documents doc() gives for the ones found (--format or
 * JSON), then fail with the last one not found, as podman.  doc returns a
 * new reference, or NULL with *err. */
typedef json_t *(*inspect_doc_fn)(struct store *s, const char *name,
                                  berth_error_t *err);
int inspect_each(const char *name, const char *usage, const char *summary,
                 const char *format_help, inspect_doc_fn doc,
                 struct cli_global *g, int argc, char **argv,
                 berth_error_t *err);

void print_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
