/* The error object: created at the failing call, prefixed with context on
 * the way up, printed once by cmd/.  Modeled on crun's libcrun_error_t. */
#ifndef BERTH_LIB_ERROR_H
#define BERTH_LIB_ERROR_H

struct berth_error {
    int errnum;    /* errno at the failing call, 0 when none */
    int exit_code; /* process exit code the CLI should use (125 default) */
    char *msg;
};
typedef struct berth_error *berth_error_t;

/* Fill *err with a new error; appends ": strerror(errnum)" when errnum != 0.
 * Always returns -1 so callers can `return berth_error_new(...)`. */
int berth_error_new(berth_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix context: "context: old message".  Returns -1. */
int berth_error_prefix(berth_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Set the exit code carried with the error (126, 127, ...). */
void berth_error_set_exit(berth_error_t *err, int code);
void berth_error_free(berth_error_t *err);
/* Serialize to one line / parse back: used to pass an error over a pipe
 * from a child process to its parent. */
char *berth_error_serialize(const berth_error_t *err);
int berth_error_deserialize(berth_error_t *err, const char *line);

#endif
