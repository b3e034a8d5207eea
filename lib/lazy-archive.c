/* libarchive, loaded on first use: see lib/lazy.h. */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/lazy.h"

/* clang-format off */
LAZY_FN(archive, time_t, archive_entry_atime, (struct archive_entry *a0), (a0))
LAZY_FN(archive, int, archive_entry_atime_is_set, (struct archive_entry *a0), (a0))
LAZY_FN(archive, long, archive_entry_atime_nsec, (struct archive_entry *a0), (a0))
LAZY_VOID(archive, archive_entry_copy_pathname, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_VOID(archive, archive_entry_copy_stat, (struct archive_entry *a0, const struct stat *a1), (a0, a1))
LAZY_VOID(archive, archive_entry_copy_symlink, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_FN(archive, mode_t, archive_entry_filetype, (struct archive_entry *a0), (a0))
LAZY_VOID(archive, archive_entry_free, (struct archive_entry *a0), (a0))
LAZY_FN(archive, la_int64_t, archive_entry_gid, (struct archive_entry *a0), (a0))
LAZY_FN(archive, const char *, archive_entry_hardlink, (struct archive_entry *a0), (a0))
LAZY_FN(archive, time_t, archive_entry_mtime, (struct archive_entry *a0), (a0))
LAZY_FN(archive, int, archive_entry_mtime_is_set, (struct archive_entry *a0), (a0))
LAZY_FN(archive, long, archive_entry_mtime_nsec, (struct archive_entry *a0), (a0))
LAZY_FN(archive, struct archive_entry *, archive_entry_new, (void), ())
LAZY_FN(archive, const char *, archive_entry_pathname, (struct archive_entry *a0), (a0))
LAZY_FN(archive, mode_t, archive_entry_perm, (struct archive_entry *a0), (a0))
LAZY_FN(archive, dev_t, archive_entry_rdev, (struct archive_entry *a0), (a0))
LAZY_VOID(archive, archive_entry_set_filetype, (struct archive_entry *a0, unsigned int a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_gid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_hardlink, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_mtime, (struct archive_entry *a0, time_t a1, long a2), (a0, a1, a2))
LAZY_VOID(archive, archive_entry_set_pathname, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_perm, (struct archive_entry *a0, mode_t a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_rdev, (struct archive_entry *a0, dev_t a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_size, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_symlink, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_VOID(archive, archive_entry_set_uid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
LAZY_FN(archive, la_int64_t, archive_entry_size, (struct archive_entry *a0), (a0))
LAZY_FN(archive, const char *, archive_entry_symlink, (struct archive_entry *a0), (a0))
LAZY_FN(archive, la_int64_t, archive_entry_uid, (struct archive_entry *a0), (a0))
LAZY_VOID(archive, archive_entry_xattr_add_entry, (struct archive_entry *a0, const char *a1, const void *a2, size_t a3), (a0, a1, a2, a3))
LAZY_FN(archive, int, archive_entry_xattr_next, (struct archive_entry *a0, const char **a1, const void **a2, size_t *a3), (a0, a1, a2, a3))
LAZY_FN(archive, int, archive_entry_xattr_reset, (struct archive_entry *a0), (a0))
LAZY_FN(archive, int, archive_errno, (struct archive *a0), (a0))
LAZY_FN(archive, const char *, archive_error_string, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_free, (struct archive *a0), (a0))
LAZY_FN(archive, la_ssize_t, archive_read_data, (struct archive *a0, void *a1, size_t a2), (a0, a1, a2))
LAZY_FN(archive, int, archive_read_data_block, (struct archive *a, const void **buff, size_t *size, la_int64_t *offset), (a, buff, size, offset))
LAZY_FN(archive, int, archive_read_data_into_fd, (struct archive *a0, int fd), (a0, fd))
LAZY_FN(archive, int, archive_read_free, (struct archive *a0), (a0))
LAZY_FN(archive, struct archive *, archive_read_new, (void), ())
LAZY_FN(archive, int, archive_read_next_header, (struct archive *a0, struct archive_entry **a1), (a0, a1))
LAZY_FN(archive, int, archive_read_open, (struct archive *a0, void *_client_data, archive_open_callback *a2, archive_read_callback *a3, archive_close_callback *a4), (a0, _client_data, a2, a3, a4))
LAZY_FN(archive, int, archive_read_open_fd, (struct archive *a0, int _fd, size_t _block_size), (a0, _fd, _block_size))
LAZY_FN(archive, int, archive_read_open_filename, (struct archive *a0, const char *_filename, size_t _block_size), (a0, _filename, _block_size))
LAZY_FN(archive, int, archive_read_support_filter_all, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_read_support_filter_gzip, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_read_support_filter_none, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_read_support_filter_zstd, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_read_support_format_empty, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_read_support_format_raw, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_read_support_format_tar, (struct archive *a0), (a0))
LAZY_FN(archive, const char *, archive_version_details, (void), ())
LAZY_FN(archive, const char *, archive_version_string, (void), ())
LAZY_FN(archive, int, archive_write_add_filter_gzip, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_write_close, (struct archive *a0), (a0))
LAZY_FN(archive, la_ssize_t, archive_write_data, (struct archive *a0, const void *a1, size_t a2), (a0, a1, a2))
LAZY_FN(archive, int, archive_write_free, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_write_header, (struct archive *a0, struct archive_entry *a1), (a0, a1))
LAZY_FN(archive, struct archive *, archive_write_new, (void), ())
LAZY_FN(archive, int, archive_write_open, (struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3, archive_close_callback *a4), (a0, a1, a2, a3, a4))
LAZY_FN(archive, int, archive_write_open_fd, (struct archive *a0, int _fd), (a0, _fd))
LAZY_FN(archive, int, archive_write_set_bytes_in_last_block, (struct archive *a0, int bytes_in_last_block), (a0, bytes_in_last_block))
LAZY_FN(archive, int, archive_write_set_bytes_per_block, (struct archive *a0, int bytes_per_block), (a0, bytes_per_block))
LAZY_FN(archive, int, archive_write_set_format_pax_restricted, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_write_set_format_raw, (struct archive *a0), (a0))
LAZY_FN(archive, int, archive_write_set_options, (struct archive *_a, const char *opts), (_a, opts))
/* clang-format on */

void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
    __typeof__(&archive_set_error) fp = LAZY_RESOLVE(archive, archive_set_error);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fp(a, err, "%s", msg);
}
