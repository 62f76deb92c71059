/* SPDX-License-Identifier: Apache-2.0 */
/* libarchive, loaded on first use (see common/lazy.h). Every libarchive
 * function the project calls is listed here with its prototype from
 * <archive.h> / <archive_entry.h>; a function missing from this table is a
 * link error, not a silent fallback to a linked libarchive. */
#include <stdarg.h>
#include <stdio.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/internal.h"
#include "common/lazy.h"

#ifndef CMN_LAZY_ARCHIVE_SONAME
#define CMN_LAZY_ARCHIVE_SONAME "libarchive.so.13"
#endif

static const char *archive_why(void);

typedef struct archive A;
typedef struct archive_entry E;

/* F(ret, name, (params), (args), fail, skip) / V(name, (params), (args), skip) / M(name) */
#define ARCHIVE_FNS(F, V, M)                                                                  \
	/* sessions: NULL when libarchive cannot be loaded */                                 \
	F(A *, archive_read_new, (void), (), NULL, 0)                                         \
	F(A *, archive_write_new, (void), (), NULL, 0)                                        \
	F(E *, archive_entry_new, (void), (), NULL, 0)                                        \
	F(const char *, archive_version_string, (void), (), archive_why(), 0)                 \
	/* free: no-ops on NULL, without loading anything */                                  \
	F(int, archive_read_free, (A *a), (a), ARCHIVE_OK, !a)                                \
	F(int, archive_write_free, (A *a), (a), ARCHIVE_OK, !a)                               \
	V(archive_entry_free, (E *e), (e), !e)                                                \
	/* errors */                                                                          \
	F(int, archive_errno, (A *a), (a), -1, 0)                                             \
	F(const char *, archive_error_string, (A *a), (a), archive_why(), 0)                  \
	F(la_int64_t, archive_filter_bytes, (A *a, int n), (a, n), -1, 0)                     \
	M(archive_set_error)                                                                  \
	/* reading */                                                                         \
	F(int, archive_read_support_filter_all, (A *a), (a), ARCHIVE_FATAL, 0)                \
	F(int, archive_read_support_filter_bzip2, (A *a), (a), ARCHIVE_FATAL, 0)              \
	F(int, archive_read_support_filter_gzip, (A *a), (a), ARCHIVE_FATAL, 0)               \
	F(int, archive_read_support_filter_lzma, (A *a), (a), ARCHIVE_FATAL, 0)               \
	F(int, archive_read_support_filter_xz, (A *a), (a), ARCHIVE_FATAL, 0)                 \
	F(int, archive_read_support_filter_zstd, (A *a), (a), ARCHIVE_FATAL, 0)               \
	F(int, archive_read_support_format_all, (A *a), (a), ARCHIVE_FATAL, 0)                \
	F(int, archive_read_support_format_ar, (A *a), (a), ARCHIVE_FATAL, 0)                 \
	F(int, archive_read_support_format_cpio, (A *a), (a), ARCHIVE_FATAL, 0)               \
	F(int, archive_read_support_format_raw, (A *a), (a), ARCHIVE_FATAL, 0)                \
	F(int, archive_read_support_format_tar, (A *a), (a), ARCHIVE_FATAL, 0)                \
	F(int, archive_read_open,                                                             \
	  (A *a, void *client, archive_open_callback *o, archive_read_callback *r,            \
	   archive_close_callback *c),                                                        \
	  (a, client, o, r, c), ARCHIVE_FATAL, 0)                                             \
	F(int, archive_read_open_fd, (A *a, int fd, size_t block), (a, fd, block),            \
	  ARCHIVE_FATAL, 0)                                                                   \
	F(int, archive_read_open_filename, (A *a, const char *path, size_t block),            \
	  (a, path, block), ARCHIVE_FATAL, 0)                                                 \
	F(int, archive_read_open_memory, (A *a, const void *buf, size_t size),                \
	  (a, buf, size), ARCHIVE_FATAL, 0)                                                   \
	F(int, archive_read_next_header, (A *a, E **e), (a, e), ARCHIVE_FATAL, 0)             \
	F(la_ssize_t, archive_read_data, (A *a, void *buf, size_t n), (a, buf, n),            \
	  ARCHIVE_FATAL, 0)                                                                   \
	F(int, archive_read_data_block,                                                       \
	  (A *a, const void **buf, size_t *size, la_int64_t *offset), (a, buf, size, offset), \
	  ARCHIVE_FATAL, 0)                                                                   \
	F(int, archive_read_data_skip, (A *a), (a), ARCHIVE_FATAL, 0)                         \
	F(int, archive_read_close, (A *a), (a), ARCHIVE_FATAL, 0)                             \
	/* writing */                                                                         \
	F(int, archive_write_set_format_cpio_newc, (A *a), (a), ARCHIVE_FATAL, 0)             \
	F(int, archive_write_set_format_pax_restricted, (A *a), (a), ARCHIVE_FATAL, 0)        \
	F(int, archive_write_add_filter_none, (A *a), (a), ARCHIVE_FATAL, 0)                  \
	F(int, archive_write_add_filter_gzip, (A *a), (a), ARCHIVE_FATAL, 0)                  \
	F(int, archive_write_add_filter_zstd, (A *a), (a), ARCHIVE_FATAL, 0)                  \
	F(int, archive_write_set_bytes_per_block, (A *a, int n), (a, n), ARCHIVE_FATAL, 0)    \
	F(int, archive_write_set_bytes_in_last_block, (A *a, int n), (a, n), ARCHIVE_FATAL,   \
	  0)                                                                                  \
	F(int, archive_write_open2,                                                           \
	  (A *a, void *client, archive_open_callback *o, archive_write_callback *w,           \
	   archive_close_callback *c, archive_free_callback *f),                              \
	  (a, client, o, w, c, f), ARCHIVE_FATAL, 0)                                          \
	F(int, archive_write_open,                                                            \
	  (A *a, void *client, archive_open_callback *o, archive_write_callback *w,           \
	   archive_close_callback *c),                                                        \
	  (a, client, o, w, c), ARCHIVE_FATAL, 0)                                             \
	F(int, archive_write_open_fd, (A *a, int fd), (a, fd), ARCHIVE_FATAL, 0)              \
	F(int, archive_write_open_filename, (A *a, const char *path), (a, path),              \
	  ARCHIVE_FATAL, 0)                                                                   \
	F(int, archive_write_header, (A *a, E *e), (a, e), ARCHIVE_FATAL, 0)                  \
	F(la_ssize_t, archive_write_data, (A *a, const void *buf, size_t n), (a, buf, n),     \
	  ARCHIVE_FATAL, 0)                                                                   \
	F(int, archive_write_finish_entry, (A *a), (a), ARCHIVE_FATAL, 0)                     \
	F(int, archive_write_close, (A *a), (a), ARCHIVE_FATAL, 0)                            \
	F(int, archive_write_fail, (A *a), (a), ARCHIVE_FATAL, 0)                             \
	/* entries: read */                                                                   \
	F(E *, archive_entry_clear, (E *e), (e), NULL, 0)                                     \
	F(const char *, archive_entry_pathname, (E *e), (e), NULL, 0)                         \
	F(const char *, archive_entry_symlink, (E *e), (e), NULL, 0)                          \
	F(const char *, archive_entry_hardlink, (E *e), (e), NULL, 0)                         \
	F(const char *, archive_entry_uname, (E *e), (e), NULL, 0)                            \
	F(const char *, archive_entry_gname, (E *e), (e), NULL, 0)                            \
	F(__LA_MODE_T, archive_entry_filetype, (E *e), (e), 0, 0)                             \
	F(__LA_MODE_T, archive_entry_mode, (E *e), (e), 0, 0)                                 \
	F(__LA_MODE_T, archive_entry_perm, (E *e), (e), 0, 0)                                 \
	F(la_int64_t, archive_entry_size, (E *e), (e), 0, 0)                                  \
	F(la_int64_t, archive_entry_uid, (E *e), (e), 0, 0)                                   \
	F(la_int64_t, archive_entry_gid, (E *e), (e), 0, 0)                                   \
	F(la_int64_t, archive_entry_ino, (E *e), (e), 0, 0)                                   \
	F(la_int64_t, archive_entry_ino64, (E *e), (e), 0, 0)                                 \
	F(unsigned int, archive_entry_nlink, (E *e), (e), 0, 0)                               \
	F(time_t, archive_entry_mtime, (E *e), (e), 0, 0)                                     \
	F(long, archive_entry_mtime_nsec, (E *e), (e), 0, 0)                                  \
	F(int, archive_entry_mtime_is_set, (E *e), (e), 0, 0)                                 \
	F(int, archive_entry_atime_is_set, (E *e), (e), 0, 0)                                 \
	F(int, archive_entry_ctime_is_set, (E *e), (e), 0, 0)                                 \
	F(int, archive_entry_birthtime_is_set, (E *e), (e), 0, 0)                             \
	F(dev_t, archive_entry_dev, (E *e), (e), 0, 0)                                        \
	F(dev_t, archive_entry_devmajor, (E *e), (e), 0, 0)                                   \
	F(dev_t, archive_entry_devminor, (E *e), (e), 0, 0)                                   \
	F(dev_t, archive_entry_rdev, (E *e), (e), 0, 0)                                       \
	F(dev_t, archive_entry_rdevmajor, (E *e), (e), 0, 0)                                  \
	F(dev_t, archive_entry_rdevminor, (E *e), (e), 0, 0)                                  \
	/* entries: write */                                                                  \
	V(archive_entry_set_pathname, (E *e, const char *s), (e, s), 0)                       \
	V(archive_entry_copy_pathname, (E *e, const char *s), (e, s), 0)                      \
	V(archive_entry_set_symlink, (E *e, const char *s), (e, s), 0)                        \
	V(archive_entry_copy_symlink, (E *e, const char *s), (e, s), 0)                       \
	V(archive_entry_set_hardlink, (E *e, const char *s), (e, s), 0)                       \
	V(archive_entry_copy_hardlink, (E *e, const char *s), (e, s), 0)                      \
	V(archive_entry_set_uname, (E *e, const char *s), (e, s), 0)                          \
	V(archive_entry_set_gname, (E *e, const char *s), (e, s), 0)                          \
	V(archive_entry_set_filetype, (E *e, unsigned int t), (e, t), 0)                      \
	V(archive_entry_set_mode, (E *e, __LA_MODE_T m), (e, m), 0)                           \
	V(archive_entry_set_perm, (E *e, __LA_MODE_T m), (e, m), 0)                           \
	V(archive_entry_set_size, (E *e, la_int64_t n), (e, n), 0)                            \
	V(archive_entry_set_uid, (E *e, la_int64_t n), (e, n), 0)                             \
	V(archive_entry_set_gid, (E *e, la_int64_t n), (e, n), 0)                             \
	V(archive_entry_set_ino, (E *e, la_int64_t n), (e, n), 0)                             \
	V(archive_entry_set_ino64, (E *e, la_int64_t n), (e, n), 0)                           \
	V(archive_entry_set_nlink, (E *e, unsigned int n), (e, n), 0)                         \
	V(archive_entry_set_mtime, (E *e, time_t s, long ns), (e, s, ns), 0)                  \
	V(archive_entry_set_atime, (E *e, time_t s, long ns), (e, s, ns), 0)                  \
	V(archive_entry_set_ctime, (E *e, time_t s, long ns), (e, s, ns), 0)                  \
	V(archive_entry_set_dev, (E *e, dev_t d), (e, d), 0)                                  \
	V(archive_entry_set_devmajor, (E *e, dev_t d), (e, d), 0)                             \
	V(archive_entry_set_devminor, (E *e, dev_t d), (e, d), 0)                             \
	V(archive_entry_set_rdev, (E *e, dev_t d), (e, d), 0)                                 \
	V(archive_entry_set_rdevmajor, (E *e, dev_t d), (e, d), 0)                            \
	V(archive_entry_set_rdevminor, (E *e, dev_t d), (e, d), 0)

CMN_LAZY_DEFINE_LIB(cmn_lazy_archive, ARCHIVE_FNS, "libarchive", CMN_LAZY_ARCHIVE_SONAME);
#define LIB cmn_lazy_archive

static const char *archive_why(void)
{
	const char *why = cmn_lazy_error(&cmn_lazy_archive);
	return why ? why : "libarchive is not loaded";
}

CMN_LAZY_TRAMPOLINES(ARCHIVE_FNS)

/* Variadic, with no va_list twin in libarchive: format here, pass "%s". */
CMN_LAZY_HIDDEN void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	char msg[1024] = "";
	if (!cmn_lazy_load(&LIB))
		return;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	CMN_LAZY_FN(LIB, void (*)(struct archive *, int, const char *, ...),
		    archive_set_error)(a, err, fmt ? "%s" : NULL, msg);
}
