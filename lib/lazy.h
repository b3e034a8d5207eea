/* Libraries loaded on first use (dlopen), not at every start.
 *
 * libcurl, libarchive and libsubid bring 50 shared libraries with them
 * (TLS, Kerberos, LDAP, ICU, PAM, SELinux...): mapping and relocating them
 * took ~10 ms of every berth invocation, most of which (ps, rm, start, run
 * of a local image) never call them.  lib/lazy-*.c define each function
 * berth calls with the library's own prototype (from its header, so the
 * compiler checks them); the first call loads the library and looks the
 * function up.  A library that cannot be loaded ends the process as the
 * dynamic loader would have at start: the message and exit status 127.
 * A new call into one of these libraries needs its line in lib/lazy-*.c
 * (the link fails until it has one). */
#ifndef BERTH_LIB_LAZY_H
#define BERTH_LIB_LAZY_H

#include <stdbool.h>

struct lazy_lib {
    const char *const *sonames; /* tried in order */
    void *handle;
};

extern struct lazy_lib lazy_curl, lazy_archive, lazy_subid;

/* The library's function NAME, loading the library first if need be. */
void *lazy_sym(struct lazy_lib *l, const char *name);
/* Whether the library is loaded (for tests and `info`). */
bool lazy_loaded(const struct lazy_lib *l);

/* Defines NAME with the library's prototype, forwarding to the real one. */
#define LAZY_FN(lib, ret, name, params, args)                                  \
    ret name params                                                            \
    {                                                                          \
        __typeof__(&name) fp = LAZY_RESOLVE(lib, name);                        \
        return fp args;                                                        \
    }
#define LAZY_VOID(lib, name, params, args)                                     \
    void name params                                                           \
    {                                                                          \
        __typeof__(&name) fp = LAZY_RESOLVE(lib, name);                        \
        fp args;                                                               \
    }
/* one lookup per function; threads (parallel pulls) may race to store the
 * same pointer, which the atomics make harmless */
#define LAZY_RESOLVE(lib, name)                                                \
    __extension__({                                                            \
        static __typeof__(&name) cached_;                                      \
        __typeof__(&name) f_ = __atomic_load_n(&cached_, __ATOMIC_ACQUIRE);    \
        if (f_ == NULL) {                                                      \
            f_ = (__typeof__(&name))lazy_sym(&lazy_##lib, #name);              \
            __atomic_store_n(&cached_, f_, __ATOMIC_RELEASE);                  \
        }                                                                      \
        f_;                                                                    \
    })

#endif
