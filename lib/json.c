#define _GNU_SOURCE
#include "lib/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

json_t *json_parse_buf(const char *buf, size_t len, const char *what,
                       berth_error_t *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        berth_error_new(err, 0, "parse %s: %s at line %d column %d", what,
                        jerr.text, jerr.line, jerr.column);
    return j;
}

json_t *json_load_path(const char *path, berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    if (fs_read_file(path, &buf, &len, err) < 0)
        return NULL;
    return json_parse_buf(buf, len, path, err);
}

int json_write_path(const char *path, json_t *j, berth_error_t *err)
{
    _cleanup_free_ char *s =
        json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    if (s == NULL)
        return berth_error_new(err, 0, "encode %s", path);
    size_t n = strlen(s);
    s = xrealloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = '\0';
    return fs_write_file_atomic(path, s, n + 1, 0644, err);
}

const char *json_get_str(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t json_get_int(json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

char *json_dump_compact(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    return s ? s : xstrdup("null");
}

char *time_rfc3339(int64_t sec, long nsec)
{
    struct tm tm;
    time_t t = (time_t)sec;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (nsec > 0) {
        char frac[32];
        snprintf(frac, sizeof frac, ".%09ld", nsec);
        /* Go trims trailing zeros of the fraction */
        size_t l = strlen(frac);
        while (l > 1 && frac[l - 1] == '0')
            frac[--l] = '\0';
        return xasprintf("%s%sZ", buf, frac);
    }
    return xasprintf("%sZ", buf);
}

char *time_rfc3339_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return time_rfc3339(ts.tv_sec, ts.tv_nsec);
}

int time_parse_rfc3339(const char *s, int64_t *ret_sec)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL)
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *ret_sec = (int64_t)timegm(&tm) - off;
    return 0;
}
