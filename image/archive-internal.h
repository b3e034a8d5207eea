/* Private to image/archive*.c: the tar writer, the extracted-archive
 * index the loaders read from, and the two formats' entry points. */
#ifndef BERTH_IMAGE_ARCHIVE_INTERNAL_H
#define BERTH_IMAGE_ARCHIVE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/archive.h"
#include "lib/error.h"

struct archive;
struct store;

/* Biggest JSON document (manifest.json, index.json, a manifest or a
 * config) read from an archive: a hostile archive can't make us load a
 * huge file into memory. */
#define ARC_JSON_MAX (16 * 1024 * 1024)

/* --- writing (archive-tar.c) --- */
struct arc_writer {
    struct archive *a;
    char **written; /* entry names already in the archive */
};

int arc_writer_open(struct arc_writer *w, int fd, berth_error_t *err);
/* Finish the archive (trailer, flush); the writer is freed either way. */
int arc_writer_close(struct arc_writer *w, berth_error_t *err);
void arc_writer_free(struct arc_writer *w);
/* true when name was written already; else remembers it. */
bool arc_writer_seen(struct arc_writer *w, const char *name);
int arc_write_dir(struct arc_writer *w, const char *name, berth_error_t *err);
int arc_write_bytes(struct arc_writer *w, const char *name, const void *data,
                    size_t len, berth_error_t *err);
/* Stream a file's content as entry name. */
int arc_write_file(struct arc_writer *w, const char *name, const char *path,
                   berth_error_t *err);
/* A regular entry whose data follows with arc_write_data (exactly size
 * bytes in total). */
int arc_write_header(struct arc_writer *w, const char *name, int64_t size,
                     berth_error_t *err);
int arc_write_data(struct arc_writer *w, const void *buf, size_t len,
                   berth_error_t *err);

/* --- reading (archive-tar.c) --- */
struct arc_file;

/* The archive read once and its regular files saved as dir/N; entries are
 * found by name without ever creating a path from an entry's name, so
 * names like "../x" can't reach outside dir. */
struct arc_index {
    char *dir;
    char *what; /* the archive, for messages */
    struct arc_file *v;
    size_t n;
};

int arc_index_read(struct arc_index *ix, int fd, const char *dir,
                   const char *what, berth_error_t *err);
void arc_index_clear(struct arc_index *ix);
bool arc_index_has(struct arc_index *ix, const char *name);
/* The file holding entry `name` (symlinks and hard links inside the
 * archive followed).  Fails naming the entry when it is missing, is not a
 * regular file, or the name is absolute or has ".." components. */
int arc_index_path(struct arc_index *ix, const char *name,
                   const char **ret_path, berth_error_t *err);
/* Read a small entry (at most ARC_JSON_MAX bytes) into memory. */
int arc_index_read_small(struct arc_index *ix, const char *name, char **ret,
                         size_t *ret_len, berth_error_t *err);

/* Decompressed view of a stored blob (gzip, zstd or plain). */
struct archive *arc_decompress_open(const char *path, berth_error_t *err);

/* --- loading (archive.c) --- */
struct arc_load {
    struct store *s;
    struct arc_index ix;
    const struct image_archive_opts *o;
    json_t *records; /* written only when every image is in place */
    struct image_archive_loaded *loaded;
    size_t n_loaded;
};

void arc_emit(const struct image_archive_opts *o, enum pull_event_kind k,
              const char *digest, int64_t size);
/* Normalize the names, build the record and queue it. */
int arc_load_finish(struct arc_load *l, const char *mdigest, const char *mtype,
                    const char *cdigest, json_t *cfg, json_t *layers,
                    char **raw_names, berth_error_t *err);

/* --- docker-archive (archive-docker.c) --- */
int arc_docker_save(struct store *s, struct arc_writer *w,
                    const struct image_archive_item *items, size_t n,
                    const struct image_archive_opts *o, berth_error_t *err);
int arc_docker_load(struct arc_load *l, berth_error_t *err);

#endif
