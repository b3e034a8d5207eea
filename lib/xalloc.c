#define _GNU_SOURCE
#include "lib/xalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void __attribute__((noreturn)) oom(void)
{
    fputs("Error: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (p == NULL)
        oom();
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        oom();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0)
        oom();
    va_end(ap);
    return p;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

size_t strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

void strv_push(char ***v, char *s)
{
    size_t n = strv_len(*v);
    *v = xrealloc(*v, (n + 2) * sizeof(char *));
    (*v)[n] = s;
    (*v)[n + 1] = NULL;
}

void strv_append(char ***v, const char *s)
{
    strv_push(v, xstrdup(s));
}

bool strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

size_t strv_remove(char **v, const char *s)
{
    size_t r = 0, w = 0;
    if (v == NULL)
        return 0;
    for (size_t i = 0; v[i]; i++) {
        if (strcmp(v[i], s) == 0) {
            free(v[i]);
            r++;
        } else {
            v[w++] = v[i];
        }
    }
    v[w] = NULL;
    return r;
}

void strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

char **strv_split(const char *s, const char *seps)
{
    char **v = xcalloc(1, sizeof(char *));
    const char *p = s;
    while (p && *p) {
        size_t n = strcspn(p, seps);
        if (n > 0)
            strv_push(&v, xstrndup(p, n));
        p += n;
        if (*p)
            p++;
    }
    return v;
}

char *strv_join(char *const *v, const char *sep)
{
    size_t len = 1, seplen = strlen(sep);
    for (size_t i = 0; v && v[i]; i++)
        len += strlen(v[i]) + seplen;
    char *out = xmalloc(len), *w = out;
    for (size_t i = 0; v && v[i]; i++) {
        if (i) {
            memcpy(w, sep, seplen);
            w += seplen;
        }
        size_t l = strlen(v[i]);
        memcpy(w, v[i], l);
        w += l;
    }
    *w = '\0';
    return out;
}

char *format_size(uint64_t bytes)
{
    /* go-units HumanSizeWithPrecision(size, 3): decimal units */
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    size_t i = 0;
    while (v >= 1000.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000.0;
        i++;
    }
    char num[32];
    snprintf(num, sizeof num, "%.3g", v);
    return xasprintf("%s %s", num, units[i]);
}

char *format_ago(int64_t s)
{
    /* go-units HumanDuration */
    if (s < 1)
        return xstrdup("Less than a second ago");
    if (s == 1)
        return xstrdup("1 second ago");
    if (s < 60)
        return xasprintf("%lld seconds ago", (long long)s);
    int64_t m = s / 60;
    if (m == 1)
        return xstrdup("About a minute ago");
    if (m < 60)
        return xasprintf("%lld minutes ago", (long long)m);
    int64_t h = (int64_t)llround((double)s / 3600.0);
    if (h == 1)
        return xstrdup("About an hour ago");
    if (h < 48)
        return xasprintf("%lld hours ago", (long long)h);
    if (h < 24 * 7 * 2)
        return xasprintf("%lld days ago", (long long)(h / 24));
    if (h < 24 * 30 * 2)
        return xasprintf("%lld weeks ago", (long long)(h / 24 / 7));
    if (h < 24 * 365 * 2)
        return xasprintf("%lld months ago", (long long)(h / 24 / 30));
    return xasprintf("%lld years ago", (long long)(h / 24 / 365));
}

int64_t parse_size(const char *s)
{
    char *end = NULL;
    double v;
    if (s == NULL || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
        return -1;
    v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    double mult = 1;
    switch (tolower((unsigned char)*end)) {
    case '\0':
    case 'b':
        break;
    case 'k':
        mult = 1024.0;
        break;
    case 'm':
        mult = 1024.0 * 1024;
        break;
    case 'g':
        mult = 1024.0 * 1024 * 1024;
        break;
    case 't':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        return -1;
    }
    if (*end) {
        end++;
        /* accept k, kb, kib in any case */
        if (strcasecmp(end, "") != 0 && strcasecmp(end, "b") != 0 &&
            strcasecmp(end, "ib") != 0)
            return -1;
    }
    return (int64_t)(v * mult);
}
