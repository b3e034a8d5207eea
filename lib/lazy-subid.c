/* libsubid, loaded on first use: see lib/lazy.h. */
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <shadow/subid.h>

#include "lib/lazy.h"

/* clang-format off */
LAZY_FN(subid, int, subid_get_gid_ranges, (const char *owner, struct subid_range **ranges), (owner, ranges))
LAZY_FN(subid, int, subid_get_uid_ranges, (const char *owner, struct subid_range **ranges), (owner, ranges))
LAZY_FN(subid, _Bool, subid_init, (const char *progname, FILE *logfd), (progname, logfd))
/* clang-format on */
