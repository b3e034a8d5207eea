/* Scope cleanup: __attribute__((cleanup)) helpers and TAKE_PTR/TAKE_FD,
 * as systemd's cleanup-fundamental.h and crun's utils.h.  Every destructor
 * accepts NULL / -1. */
#ifndef BERTH_LIB_CLEANUP_H
#define BERTH_LIB_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <jansson.h>

#include "lib/error.h"

static inline void cleanup_freep(void *p)
{
    free(*(void **)p);
}
static inline void cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
static inline void cleanup_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}
static inline void cleanup_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}
static inline void cleanup_jsonp(json_t **j)
{
    if (*j)
        json_decref(*j);
}
static inline void cleanup_errorp(berth_error_t *e)
{
    berth_error_free(e);
}
/* NULL-terminated string vector */
static inline void cleanup_strvp(char ***v)
{
    if (*v) {
        for (char **p = *v; *p; p++)
            free(*p);
        free(*v);
    }
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_closedir_ _cleanup_(cleanup_closedirp)
#define _cleanup_json_ _cleanup_(cleanup_jsonp)
#define _cleanup_error_ _cleanup_(cleanup_errorp)
#define _cleanup_strv_ _cleanup_(cleanup_strvp)

#define TAKE_PTR(p)                                                            \
    ({                                                                         \
        __typeof__(p) _tp = (p);                                               \
        (p) = NULL;                                                            \
        _tp;                                                                   \
    })
#define TAKE_FD(fd)                                                            \
    ({                                                                         \
        int _tf = (fd);                                                        \
        (fd) = -1;                                                             \
        _tf;                                                                   \
    })

#endif
