/* Allocation and string helpers that abort on out-of-memory (the only case
 * where berth exits on the spot), plus NULL-terminated string vectors. */
#ifndef BERTH_LIB_XALLOC_H
#define BERTH_LIB_XALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

size_t strv_len(char *const *v);
/* Append a copy of s; *v may be NULL. */
void strv_append(char ***v, const char *s);
/* Append s itself, taking ownership. */
void strv_push(char ***v, char *s);
bool strv_contains(char *const *v, const char *s);
/* Remove every element equal to s; returns how many were removed. */
size_t strv_remove(char **v, const char *s);
void strv_free(char **v);
/* Split on any of the separator characters, dropping empty fields. */
char **strv_split(const char *s, const char *seps);
char *strv_join(char *const *v, const char *sep);

/* podman's human units: "5.6 MB" (SI, 3 significant digits) and
 * "2 minutes ago". */
char *format_size(uint64_t bytes);
char *format_ago(int64_t seconds);
/* Parse "10", "10k", "10MB", "1.5g" into bytes; -1 on error. */
int64_t parse_size(const char *s);

#endif
