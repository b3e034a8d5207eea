/* jansson helpers: load a JSON file with a useful error, write one
 * atomically, and NULL-safe getters. */
#ifndef BERTH_LIB_JSON_H
#define BERTH_LIB_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "lib/error.h"

json_t *json_load_path(const char *path, berth_error_t *err);
json_t *json_parse_buf(const char *buf, size_t len, const char *what,
                       berth_error_t *err);
/* Sorted keys, indented, trailing newline; written atomically. */
int json_write_path(const char *path, json_t *j, berth_error_t *err);
/* String value of key, or NULL when missing or not a string. */
const char *json_get_str(json_t *obj, const char *key);
int64_t json_get_int(json_t *obj, const char *key, int64_t dflt);
/* Compact canonical dump (sorted keys), caller frees. */
char *json_dump_compact(json_t *j);

/* RFC 3339 with nanoseconds in UTC, as Go prints time.Time. */
char *time_rfc3339_now(void);
char *time_rfc3339(int64_t sec, long nsec);
/* Parse RFC 3339 (any fraction, Z or +hh:mm); -1 on error. */
int time_parse_rfc3339(const char *s, int64_t *ret_sec);

#endif
