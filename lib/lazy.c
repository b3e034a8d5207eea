#define _GNU_SOURCE
#include "lib/lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const curl_names[] = {"libcurl.so.4", "libcurl.so",
                                         "libcurl-gnutls.so.4", NULL};
static const char *const archive_names[] = {"libarchive.so.13",
                                            "libarchive.so", NULL};
static const char *const subid_names[] = {"libsubid.so.4", "libsubid.so",
                                          NULL};

struct lazy_lib lazy_curl = {curl_names, NULL};
struct lazy_lib lazy_archive = {archive_names, NULL};
struct lazy_lib lazy_subid = {subid_names, NULL};

static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

/* As the dynamic loader at start: the message, then exit status 127. */
static _Noreturn void lazy_fail(const char *what, const char *why)
{
    fprintf(stderr,
            "berth: error while loading shared libraries: %s: %s\n", what,
            why ? why : "unknown error");
    _exit(127);
}

static void *lazy_open(struct lazy_lib *l)
{
    void *h = __atomic_load_n(&l->handle, __ATOMIC_ACQUIRE);
    if (h)
        return h;
    pthread_mutex_lock(&lazy_lock);
    h = l->handle;
    const char *why = NULL;
    for (size_t i = 0; h == NULL && l->sonames[i]; i++) {
        h = dlopen(l->sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (h == NULL && why == NULL)
            why = dlerror(); /* the first name's reason is the useful one */
    }
    if (h)
        __atomic_store_n(&l->handle, h, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lazy_lock);
    if (h == NULL)
        lazy_fail(l->sonames[0], why);
    return h;
}

void *lazy_sym(struct lazy_lib *l, const char *name)
{
    void *h = lazy_open(l);
    dlerror();
    void *f = dlsym(h, name);
    if (f == NULL)
        lazy_fail(l->sonames[0], dlerror());
    return f;
}

bool lazy_loaded(const struct lazy_lib *l)
{
    return __atomic_load_n(&l->handle, __ATOMIC_ACQUIRE) != NULL;
}
