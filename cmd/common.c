#define _GNU_SOURCE
#include "cmd/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "lib/xalloc.h"

void reg_flags_init(struct reg_flags *rf)
{
    memset(rf, 0, sizeof(*rf));
    rf->tls_verify = -1;
}

void reg_flags_free(struct reg_flags *rf)
{
    free(rf->authfile);
    free(rf->creds);
    free(rf->cert_dir);
}

void reg_flags_apply(const struct reg_flags *rf, struct registry_opts *o)
{
    o->tls_verify = rf->tls_verify;
    o->authfile = rf->authfile;
    o->creds = rf->creds;
    o->cert_dir = rf->cert_dir;
}

void print_warning(const char *fmt, ...)
{
    va_list ap;
    fputs("WARN[0000] ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

struct bar {
    char *digest;
    int64_t done, total;
    const char *state; /* NULL while running */
};

struct progress {
    bool quiet;
    bool tty;
    bool said_signatures;
    char *config;
    struct bar *bars;
    size_t n;
    size_t drawn; /* lines of bars currently on screen */
    struct timespec last;
};

struct progress *progress_new(bool quiet)
{
    struct progress *p = xcalloc(1, sizeof(*p));
    p->quiet = quiet;
    p->tty = !quiet && isatty(STDERR_FILENO) && getenv("TERM") &&
             strcmp(getenv("TERM"), "dumb") != 0;
    return p;
}

void progress_free(struct progress *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->bars[i].digest);
    free(p->bars);
    free(p->config);
    free(p);
}

void progress_line(struct progress *p, const char *fmt, ...)
{
    va_list ap;
    if (p->quiet)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    p->drawn = 0;
}

static struct bar *find_bar(struct progress *p, const char *digest)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->bars[i].digest, digest) == 0)
            return &p->bars[i];
    p->bars = xrealloc(p->bars, (p->n + 1) * sizeof(*p->bars));
    p->bars[p->n] = (struct bar){.digest = xstrdup(digest), .total = -1};
    return &p->bars[p->n++];
}

static void human(int64_t v, char *buf, size_t len)
{
    static const char *u[] = {"b", "KiB", "MiB", "GiB"};
    double d = (double)v;
    int i = 0;
    while (d >= 1024 && i < 3) {
        d /= 1024;
        i++;
    }
    snprintf(buf, len, i ? "%.1f%s" : "%.0f%s", d, u[i]);
}

static void draw(struct progress *p, bool force)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - p->last.tv_sec) * 1000 +
              (now.tv_nsec - p->last.tv_nsec) / 1000000;
    if (!force && ms < 100)
        return;
    p->last = now;
    if (p->drawn)
        fprintf(stderr, "\033[%zuA", p->drawn);
    for (size_t i = 0; i < p->n; i++) {
        struct bar *b = &p->bars[i];
        const char *hex = b->digest + (strncmp(b->digest, "sha256:", 7) ? 0 : 7);
        char done[32], total[32], line[40];
        human(b->done, done, sizeof done);
        human(b->total, total, sizeof total);
        int width = 30, fill = 0;
        if (b->total > 0)
            fill = (int)((double)b->done / (double)b->total * width);
        if (fill > width)
            fill = width;
        memset(line, '=', (size_t)fill);
        memset(line + fill, '-', (size_t)(width - fill));
        line[width] = '\0';
        if (b->state)
            fprintf(stderr, "\033[2KCopying blob %.12s %s\n", hex, b->state);
        else
            fprintf(stderr, "\033[2KCopying blob %.12s [%s] %s / %s\n", hex,
                    line, done, b->total >= 0 ? total : "?");
    }
    p->drawn = p->n;
    fflush(stderr);
}

void progress_pull_event(void *arg, const struct pull_event *ev)
{
    struct progress *p = arg;
    if (p->quiet)
        return;
    switch (ev->kind) {
    case PULL_TRYING:
        progress_line(p, "Trying to pull %s...", ev->name);
        p->said_signatures = false;
        return;
    case PULL_CONFIG:
        if (!p->said_signatures) {
            progress_line(p, "Getting image source signatures");
            p->said_signatures = true;
        }
        free(p->config);
        p->config = xstrdup(ev->digest);
        return;
    case PULL_BLOB_START:
    case PULL_BLOB_PROGRESS:
    case PULL_BLOB_SKIP:
    case PULL_BLOB_DONE: {
        struct bar *b = find_bar(p, ev->digest);
        const char *hex = ev->digest + 7;
        b->done = ev->done;
        b->total = ev->total;
        if (ev->kind == PULL_BLOB_SKIP)
            b->state = "skipped: already exists";
        else if (ev->kind == PULL_BLOB_DONE)
            b->state = "done";
        if (p->tty) {
            draw(p, ev->kind != PULL_BLOB_PROGRESS);
        } else if (ev->kind == PULL_BLOB_START) {
            fprintf(stderr, "Copying blob %s\n", ev->digest);
        } else if (ev->kind == PULL_BLOB_SKIP) {
            fprintf(stderr, "Copying blob %.12s skipped: already exists\n",
                    hex);
        }
        return;
    }
    case PULL_MANIFEST:
        if (p->config)
            progress_line(p, "Copying config %s", p->config);
        progress_line(p, "Writing manifest to image destination");
        progress_line(p, "Storing signatures");
        return;
    default:
        return;
    }
}

void multi_fail(struct multi *m, berth_error_t *e)
{
    if (m->last)
        fprintf(stderr, "Error: %s\n", m->last->msg);
    berth_error_free(&m->last);
    m->last = *e;
    *e = NULL;
}

int multi_done(struct multi *m, berth_error_t *err)
{
    if (m->last == NULL)
        return 0;
    *err = m->last;
    return -1;
}

int prune_begin(const char *name, const char *summary, const char *warning,
                struct cli_global *g, int argc, char **argv,
                struct store **ret, berth_error_t *err)
{
    const struct cli_command self = {name, NULL, "[options]", summary, NULL,
                                     NULL};
    bool force = false;
    const struct cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Do not prompt for confirmation"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs(name, argc - optind, 0, 0, err) < 0 ||
        cli_store(g, ret, err) < 0)
        return -1;
    if (force)
        return 1;
    char line[16];
    printf("%s\nAre you sure you want to continue? [y/N] ", warning);
    fflush(stdout);
    return fgets(line, sizeof line, stdin) != NULL &&
           (line[0] == 'y' || line[0] == 'Y');
}

int inspect_each(const char *name, const char *usage, const char *summary,
                 const char *format_help, inspect_doc_fn doc,
                 struct cli_global *g, int argc, char **argv,
                 berth_error_t *err)
{
    const struct cli_command self = {name, NULL, usage, summary, NULL, NULL};
    char *format = NULL;
    const struct cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "string", format_help},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0) {
        free(format);
        return r > 0 ? 0 : -1;
    }
    if (cli_nargs(name, argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0) {
        free(format);
        return -1;
    }
    json_t *docs = json_array();
    struct multi m = {0};
    for (int k = optind; k < argc; k++) {
        berth_error_t e = NULL;
        json_t *d = doc(s, argv[k], &e);
        if (d == NULL)
            multi_fail(&m, &e);
        else
            json_array_append_new(docs, d);
    }
    r = 0;
    if (json_array_size(docs) > 0 && format_print_docs(docs, format, err) < 0) {
        berth_error_free(&m.last);
        r = -1;
    }
    json_decref(docs);
    free(format);
    return r < 0 ? -1 : multi_done(&m, err);
}
