/* Minimal TAP runner for unit tests: each case returns 0 (pass), -1 (fail)
 * or 77 (skip), as crun's tests/tests_libcrun_*.c. */
#ifndef BERTH_TESTS_TAP_H
#define BERTH_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

struct tap_case {
    const char *name;
    int (*fn)(void);
};

#define TAP_CHECK(cond)                                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "# %s:%d: check failed: %s\n", __FILE__,           \
                    __LINE__, #cond);                                          \
            return -1;                                                         \
        }                                                                      \
    } while (0)

#define TAP_STREQ(a, b)                                                        \
    do {                                                                       \
        const char *_a = (a), *_b = (b);                                       \
        if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {                 \
            fprintf(stderr, "# %s:%d: '%s' != '%s'\n", __FILE__, __LINE__,     \
                    _a ? _a : "(null)", _b ? _b : "(null)");                   \
            return -1;                                                         \
        }                                                                      \
    } while (0)

static inline int tap_run(const struct tap_case *cases, size_t n)
{
    int failed = 0;
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        int r = cases[i].fn();
        if (r == 77)
            printf("ok %zu - %s # SKIP\n", i + 1, cases[i].name);
        else if (r == 0)
            printf("ok %zu - %s\n", i + 1, cases[i].name);
        else {
            printf("not ok %zu - %s\n", i + 1, cases[i].name);
            failed++;
        }
    }
    return failed ? 1 : 0;
}

#define TAP_MAIN(...)                                                          \
    int main(void)                                                             \
    {                                                                          \
        static const struct tap_case cases[] = {__VA_ARGS__};                  \
        return tap_run(cases, sizeof(cases) / sizeof(cases[0]));              \
    }

#endif
