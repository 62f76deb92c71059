/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image builder's internal interfaces (docs/build.md). One file per
 * on-disk format: initrd.c (cpio newc), compress.c (zstd/gzip/raw sinks),
 * cpio_diff.c (entry-level comparison), deb.c (Debian packages), modinfo.c
 * (kernel modules and the bzImage release), tar.c (the image tarball).
 * Nothing here prints; progress goes through a callback.
 */
#ifndef CVMF_BUILDER_H
#define CVMF_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"

/* Progress of a long step: `what` names it ("initrd", "download busybox-static"),
 * done/total in bytes (total 0 when unknown). Called from the building thread. */
typedef void (*bld_progress_fn)(void *user, const char *what, uint64_t done, uint64_t total);

/* ---- the deterministic initrd (builder/initrd.c) ----
 * Entries are collected, then written in bytewise order of their paths:
 * ino = 1, 2, ... in that order, nlink 1 (2 for directories), dev 0,
 * mtime = the build's SOURCE_DATE_EPOCH for every entry, owner from the
 * entry (0:0 unless the recipe says otherwise), no hardlinks, missing parent
 * directories added with mode 0755. The archive is newc, written by
 * libarchive with 512-byte blocks and no padding of the last block. */
enum bld_type { BLD_REG, BLD_DIR, BLD_SYMLINK, BLD_CHAR, BLD_BLOCK };

struct bld_entry {
	char *path;             /* in the archive, without a leading '/': "bin/busybox" */
	enum bld_type type;
	unsigned mode;          /* permission bits only (<= 07777) */
	unsigned uid, gid;
	unsigned rmajor, rminor;   /* CHAR, BLOCK */
	char *source;           /* REG: host file, opened with O_NOFOLLOW; read when written */
	char *target;           /* SYMLINK */
	char *origin;           /* for messages: "hello.recipe:14" or "tree rootfs: bin/x" */
	bool implicit;          /* a parent directory nobody named */
};

struct bld_initrd {
	struct bld_entry *v;
	size_t n, cap;
	bool finished;
};

void bld_initrd_init(struct bld_initrd *l);
void bld_initrd_free(struct bld_initrd *l);
/* Add one entry; `path` may start with '/' and is normalised. Paths with
 * "..", "." components, empty components or a NUL are refused
 * (CVMF_E_FORMAT naming `origin`). Strings are copied. */
int bld_initrd_add(cvmf_ctx *ctx, struct bld_initrd *l, const struct bld_entry *e);
/* Walk a host directory (never following symlinks) and add its contents under
 * `prefix` ("/" or "/usr/share/x"). Regular files get 0755 when the owner
 * may execute them, else 0644; directories 0755; symlinks 0777 with their
 * target as read by readlink. Devices, FIFOs and sockets in a tree are
 * refused: device nodes come only from the recipe. setuid/setgid/sticky
 * bits are dropped. `origin` is a prefix for messages ("hello.recipe:12"). */
int bld_initrd_add_tree(cvmf_ctx *ctx, struct bld_initrd *l, const char *dir,
			const char *prefix, unsigned uid, unsigned gid, const char *origin);
/* Sort, add implicit parents, refuse duplicates (naming both origins) and
 * entries whose parent is not a directory. Idempotent. */
int bld_initrd_finish(cvmf_ctx *ctx, struct bld_initrd *l);

enum bld_compress { BLD_ZSTD, BLD_GZIP, BLD_NONE };

struct bld_initrd_opts {
	enum bld_compress compress;
	int level;              /* zstd 1..19, gzip 1..9; 0 = default (zstd 3, gzip 9) */
	unsigned workers;       /* zstd: >= 1 (0 = 1); the bytes do not depend on it */
	uint64_t mtime;         /* SOURCE_DATE_EPOCH */
	bld_progress_fn progress;
	void *progress_user;
};

struct bld_initrd_result {
	uint64_t entries;       /* without the trailer */
	uint64_t raw_size;      /* the uncompressed cpio */
	uint8_t raw_sha256[32];
	uint64_t size;          /* what was written to fd */
	uint8_t sha256[32], sha384[48];
};

/* Finish the list if needed, then write it to fd. Source files are read with
 * O_NOFOLLOW and must still be regular files of the size seen. */
int bld_initrd_write(cvmf_ctx *ctx, struct bld_initrd *l, const struct bld_initrd_opts *o,
		     int fd, struct bld_initrd_result *ret);

/* ---- compression sinks (builder/compress.c) ----
 * A byte stream in, compressed bytes out to fd, with SHA-256 of the input and
 * SHA-256/384 of the output. zstd: libzstd streaming, ZSTD_c_nbWorkers =
 * workers (>= 1), checksum on, fixed level, 2 MiB jobs, no long mode. gzip: zlib with a
 * gzip header whose mtime is 0, no name, OS 3 (Unix). NONE: copy. */
struct bld_sink;
int bld_sink_new(cvmf_ctx *ctx, enum bld_compress c, int level, unsigned workers, int fd,
		 struct bld_sink **ret);
int bld_sink_write(struct bld_sink *s, const void *buf, size_t len);
/* Flush, then fill the result's raw_size/raw_sha256/size/sha256/sha384. */
int bld_sink_finish(struct bld_sink *s, struct bld_initrd_result *ret);
void bld_sink_free(struct bld_sink *s);
/* The message of a failed write/finish, for the caller's ctx. */
const char *bld_sink_error(const struct bld_sink *s);
const char *bld_compress_name(enum bld_compress c);
/* "libzstd 1.5.4", "zlib 1.2.13", "libarchive 3.6.2": for the manifest. */
void bld_tool_versions(char *zstd, char *zlib, char *libarchive, size_t len);

/* ---- comparing initrds (builder/cpio_diff.c) ----
 * Both sides are decompressed (zstd, gzip or raw, detected) and read as cpio
 * with libarchive. The first difference is described in `ret`, e.g.
 * "entry 12 'bin/busybox': mtime 1700000000 vs 1700000001", or
 * "entry 3: 'etc' vs 'init' (different paths)", or "compressed bytes differ
 * but the cpio archives are identical". Returns 0 when equal (ret = ""),
 * 1 when different, or a negative CVMF_E_* when a side cannot be read. */
int bld_cpio_diff(cvmf_ctx *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen, char *ret, size_t retlen);

/* ---- Debian packages (builder/deb.c) ----
 * The cache (default $XDG_CACHE_HOME/cvmforge or ~/.cache/cvmforge) is
 * content-addressed: debs/<sha256>.deb and files/<sha256>, with
 * index/<package>_<version>.deb -> the sha256 of that .deb. A package is
 * resolved with `apt-get download --print-uris PACKAGE[=VERSION]` (apt's
 * signed indexes give the URL and the SHA256), fetched with libcurl with
 * progress, checked against apt's SHA256, and stored. */
struct bld_deb {
	char package[128];
	char version[128];
	char file[256];             /* the .deb's file name, as in the archive */
	char path[4096];            /* of the cached .deb */
	uint8_t sha256[32];         /* of the .deb */
	bool downloaded;            /* false: it came from the cache */
};
/* want_sha256 (may be NULL): the .deb's pinned digest; when the cache holds
 * it no network or apt is used. version may be NULL (apt's candidate). */
int bld_deb_fetch(cvmf_ctx *ctx, const char *cache_dir, const char *package,
		  const char *version, const uint8_t *want_sha256, bld_progress_fn progress,
		  void *progress_user, struct bld_deb *ret);
/* Extract one regular file of the package's data.tar.* (member path
 * "/bin/busybox"; "./bin/busybox" in the tar) into the cache's files/ and
 * return that path and the file's sha256. A symlink member is followed
 * inside the package (at most 8 hops); a missing member is an error that
 * names the package and the path. */
int bld_deb_extract(cvmf_ctx *ctx, const char *cache_dir, const struct bld_deb *deb,
		    const char *member, char *ret_path, size_t ret_path_len,
		    uint8_t ret_sha256[32]);
/* The default cache directory (no trailing slash). */
int bld_cache_dir(cvmf_ctx *ctx, char *ret, size_t len);
/* Internal (exposed for the tests): one line printed by `apt-get download
 * --print-uris`: 'URI' FILE SIZE SHA256:HEX, FILE being
 * PACKAGE_VERSION_ARCH.deb with the version's ':' written "%3a". A line
 * without a SHA256 is refused (CVMF_E_UNSUPPORTED). */
struct bld_deb_uri {
	char uri[2048];
	char file[256];
	char package[128];
	char version[128];          /* decoded: "1:1.35.0-4+deb12u1+b1" */
	char arch[32];
	uint64_t size;
	uint8_t sha256[32];
};
int bld_deb_parse_uri_line(cvmf_ctx *ctx, const char *line, struct bld_deb_uri *ret);

/* ---- kernel modules and the kernel release (builder/modinfo.c) ---- */
/* The release of a bzImage: the first word of the version string the setup
 * header points to (kernel_version at 0x20e), e.g. "6.1.0-50-amd64". */
int bld_bzimage_release(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen);
/* The vermagic of a kernel module (ELF .ko, or compressed), read from its
 * .modinfo section with libelf: "6.1.0-50-amd64 SMP preempt mod_unload modversions ". */
int bld_module_vermagic(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen);
/* Kernel modules by file name: .ko, or compressed as .ko.xz, .ko.zst, .ko.gz. */
enum bld_module_kind {
	BLD_MODULE_NONE, BLD_MODULE_ELF, BLD_MODULE_XZ, BLD_MODULE_ZSTD, BLD_MODULE_GZIP,
};
enum bld_module_kind bld_module_kind(const char *path);
/* bld_module_vermagic() decodes a compressed module (by its magic, at most
 * 256 MiB decoded) and reads the ELF inside. This one also requires the
 * file's compression to be the one its name says (as kmod does). */
int bld_module_vermagic_file(cvmf_ctx *ctx, const char *path, const uint8_t *buf, size_t len,
			     char *ret, size_t retlen);

/* ---- the image tarball (builder/tar.c) ----
 * A deterministic POSIX ustar/pax archive of the files of `dir` (sorted
 * bytewise, recursively), stored under `prefix/`: owner 0:0 with no names,
 * mtime = `mtime`, mode 0755 for files the owner may execute and
 * directories, 0644 otherwise; no pax headers that carry times or ids. */
int bld_tar_write(cvmf_ctx *ctx, const char *dir, const char *prefix, uint64_t mtime,
		  const char *out_path);
/* Check tar_path against the tarball bld_tar_write would write for dir now
 * (with `skip`, a name at the top of dir, left out; NULL for none), in
 * constant memory: the writer's output is compared as it is produced.
 * *ret_same, or ret_diff names the first differing byte and its member. */
int bld_tar_compare(cvmf_ctx *ctx, const char *dir, const char *skip, const char *prefix,
		    uint64_t mtime, const char *tar_path, bool *ret_same, char *ret_diff,
		    size_t diff_len);
/* Extract a tarball written by bld_tar_write into dest (which must exist),
 * refusing absolute paths, "..", links and anything but files and dirs. */
int bld_tar_extract(cvmf_ctx *ctx, const char *tar_path, const char *dest);

#endif
