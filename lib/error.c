#define _GNU_SOURCE
#include "lib/error.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
    fputs("Error: out of memory\n", stderr);
    abort();
}

int berth_error_new(berth_error_t *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    char *base = NULL, *msg = NULL;
    struct berth_error *e;

    if (err == NULL)
        return -1;
    /* crun #1711: an error made over an unreported one leaks it. */
    assert(*err == NULL);
    va_start(ap, fmt);
    if (vasprintf(&base, fmt, ap) < 0)
        oom();
    va_end(ap);
    if (errnum != 0) {
        if (asprintf(&msg, "%s: %s", base, strerror(errnum)) < 0)
            oom();
        free(base);
    } else {
        msg = base;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        oom();
    e->errnum = errnum;
    e->exit_code = 125;
    e->msg = msg;
    *err = e;
    return -1;
}

int berth_error_prefix(berth_error_t *err, const char *fmt, ...)
{
    va_list ap;
    char *pre = NULL, *msg = NULL;

    if (err == NULL || *err == NULL)
        return -1;
    va_start(ap, fmt);
    if (vasprintf(&pre, fmt, ap) < 0)
        oom();
    va_end(ap);
    if (asprintf(&msg, "%s: %s", pre, (*err)->msg) < 0)
        oom();
    free(pre);
    free((*err)->msg);
    (*err)->msg = msg;
    return -1;
}

void berth_error_set_exit(berth_error_t *err, int code)
{
    if (err != NULL && *err != NULL)
        (*err)->exit_code = code;
}

void berth_error_free(berth_error_t *err)
{
    if (err == NULL || *err == NULL)
        return;
    free((*err)->msg);
    free(*err);
    *err = NULL;
}

char *berth_error_serialize(const berth_error_t *err)
{
    char *out = NULL;
    if (err == NULL || *err == NULL)
        return NULL;
    if (asprintf(&out, "%d %d %s", (*err)->errnum, (*err)->exit_code,
                 (*err)->msg) < 0)
        oom();
    /* one line: fold newlines */
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return out;
}

int berth_error_deserialize(berth_error_t *err, const char *line)
{
    int errnum = 0, code = 125, n = 0;
    if (sscanf(line, "%d %d %n", &errnum, &code, &n) < 2 || n == 0)
        return berth_error_new(err, 0, "%s", line);
    berth_error_new(err, 0, "%s", line + n);
    (*err)->errnum = errnum;
    (*err)->exit_code = code;
    return -1;
}
