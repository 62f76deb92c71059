/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image tarball: a deterministic pax-restricted (ustar unless a name
 * needs more) archive of a directory, and its careful extraction.
 *
 * Determinism: paths are sorted bytewise, every entry is written from
 * scratch (never from stat): owner 0:0 without names, the one mtime given
 * (nanoseconds 0), no atime/ctime/birthtime, no xattrs or ACLs, mode 0755
 * or 0644. libarchive's pax-restricted writer then emits a plain ustar
 * header and only adds an extended header (path/linkpath) when a name does
 * not fit ustar; times go into it only when they do not fit the ustar
 * field (mtime >= 2^31 - 1), which bld_tar_write refuses.
 * Blocking: 10240-byte records, the last one padded too (GNU tar's default
 * record), whatever kind of file the output is.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "builder/builder.h"
#include "builder/image.h"
#include "common/file.h"
#include "common/write.h"

#define TAR_BLOCK 10240
#define TAR_CHUNK (64u * 1024u)
/* libarchive writes it in ustar otherwise; see the top of the file. */
#define TAR_MTIME_MAX 0x7ffffffeu

struct walk_ent {
	char *rel;              /* relative to dir, no leading '/' */
	bool is_dir;
	unsigned mode;
	uint64_t size;
};

struct walk {
	struct walk_ent *v;
	size_t n, cap;
};

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].rel);
	free(w->v);
}

static int walk_push(cvmf_ctx *ctx, struct walk *w, char *rel, const struct stat *st)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct walk_ent *v = realloc(w->v, cap * sizeof(*v));
		if (!v) {
			free(rel);
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = (struct walk_ent){ rel, S_ISDIR(st->st_mode), st->st_mode,
					  (uint64_t)st->st_size };
	return 0;
}

static char *join(const char *a, const char *b)
{
	char *p = NULL;
	if (!*a)
		return strdup(b);
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* Collect everything under dir/rel (rel "" for the top). */
static int walk_dir(cvmf_ctx *ctx, const char *dir, const char *rel, struct walk *w,
		    unsigned depth, const char *skip)
{
	char *abs = *rel ? join(dir, rel) : strdup(dir);
	DIR *d = NULL;
	int r = 0;
	if (!abs)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (depth > 256) {
		r = cmn_error(ctx, CVMF_E_INVAL, "tar: '%s' is nested too deeply", abs);
		goto out;
	}
	d = opendir(abs);
	if (!d) {
		r = cmn_error(ctx, CVMF_E_IO, "tar: cannot open directory '%s': %s", abs,
			       strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				r = cmn_error(ctx, CVMF_E_IO, "tar: cannot read directory '%s': %s",
					       abs, strerror(errno));
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (skip && !*rel && !strcmp(de->d_name, skip))
			continue;
		if (!*rel && img_is_signature(de->d_name))
			continue;   /* added by `cvmforge sign`, after the tarball */
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = cmn_error(ctx, CVMF_E_IO, "tar: cannot stat '%s/%s': %s", abs,
				       de->d_name, strerror(errno));
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
				       "tar: '%s/%s' is a symlink; the image tarball holds only files and directories",
				       abs, de->d_name);
			break;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
				       "tar: '%s/%s' is a special file; the image tarball holds only files and directories",
				       abs, de->d_name);
			break;
		}
		char *child = join(rel, de->d_name);
		if (!child) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			break;
		}
		r = walk_push(ctx, w, child, &st);
		if (r)
			break;
		if (S_ISDIR(st.st_mode)) {
			/* w->v may move: recurse on a copy of the name. */
			char *sub = strdup(child);
			if (!sub) {
				r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				break;
			}
			r = walk_dir(ctx, dir, sub, w, depth + 1, NULL);
			free(sub);
			if (r)
				break;
		}
	}
out:
	if (d)
		closedir(d);
	free(abs);
	return r;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct walk_ent *)a)->rel, ((const struct walk_ent *)b)->rel);
}

/* "" or a normalised relative prefix without a trailing '/'. */
static int check_prefix(cvmf_ctx *ctx, const char *prefix, char *ret, size_t len)
{
	size_t n = prefix ? strlen(prefix) : 0;
	while (n && prefix[n - 1] == '/')
		n--;
	if (n >= len)
		return cmn_error(ctx, CVMF_E_INVAL, "tar: prefix '%s' is too long", prefix);
	if (n && prefix[0] == '/')
		return cmn_error(ctx, CVMF_E_INVAL, "tar: prefix '%s' must be relative", prefix);
	memcpy(ret, prefix ? prefix : "", n);
	ret[n] = '\0';
	for (const char *c = ret; *c;) {
		const char *e = strchr(c, '/');
		size_t cl = e ? (size_t)(e - c) : strlen(c);
		if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
			return cmn_error(ctx, CVMF_E_INVAL,
					  "tar: prefix '%s' has an empty, '.' or '..' component", prefix);
		c += cl + (e ? 1 : 0);
	}
	return 0;
}

static int tar_err(cvmf_ctx *ctx, struct archive *a, const char *out_path, const char *name)
{
	return cmn_error(ctx, CVMF_E_IO, "tar: writing '%s' to '%s': %s", name, out_path,
			  archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* One entry: header, then (for files) exactly the size seen by the walk. */
static int write_one(cvmf_ctx *ctx, struct archive *a, struct archive_entry *ae,
		     const char *dir, const char *out_path, const char *name,
		     const struct walk_ent *we, uint64_t mtime, uint8_t *buf)
{
	int r = 0, fd = -1;
	char *src = NULL;

	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, (time_t)mtime, 0);
	if (!we || we->is_dir) {
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		archive_entry_set_size(ae, 0);
	} else {
		src = join(dir, we->rel);
		if (!src)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = cmn_error(ctx, CVMF_E_IO, "tar: cannot open '%s': %s", src,
				       strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != we->size) {
			r = cmn_error(ctx, CVMF_E_IO, "tar: '%s' changed while the tarball was written",
				       src);
			goto out;
		}
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, (we->mode & S_IXUSR) ? 0755 : 0644);
		archive_entry_set_size(ae, (la_int64_t)we->size);
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		r = tar_err(ctx, a, out_path, name);
		goto out;
	}
	uint64_t left = fd >= 0 ? we->size : 0;
	while (left) {
		size_t want = left < TAR_CHUNK ? (size_t)left : TAR_CHUNK;
		ssize_t got = read(fd, buf, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = cmn_error(ctx, CVMF_E_IO, "tar: cannot read '%s': %s", src,
				       got < 0 ? strerror(errno) : "it became shorter");
			goto out;
		}
		if (archive_write_data(a, buf, (size_t)got) != got) {
			r = tar_err(ctx, a, out_path, name);
			goto out;
		}
		left -= (uint64_t)got;
	}
	if (archive_write_finish_entry(a) != ARCHIVE_OK)
		r = tar_err(ctx, a, out_path, name);
out:
	if (fd >= 0)
		close(fd);
	free(src);
	return r;
}

/* Open an archive writer with the tarball's format and blocking. */
static struct archive *tar_writer(void)
{
	struct archive *a = archive_write_new();
	if (a && (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
		  archive_write_add_filter_none(a) != ARCHIVE_OK ||
		  archive_write_set_bytes_per_block(a, TAR_BLOCK) != ARCHIVE_OK ||
		  archive_write_set_bytes_in_last_block(a, TAR_BLOCK) != ARCHIVE_OK)) {
		archive_write_free(a);
		a = NULL;
	}
	return a;
}

/*
 * The tarball's entries into an opened writer, then its end: the one
 * definition of the tarball's bytes, for writing and for checking. `skip`
 * (or NULL) is a name left out at the top of dir. on_member (or NULL) is
 * told each member's name before its header is written.
 */
static int tar_emit(cvmf_ctx *ctx, const char *dir, const char *pfx, uint64_t mtime,
		    const char *skip, struct archive *a, const char *out_path,
		    void (*on_member)(void *, struct archive *, const char *), void *user)
{
	struct walk w = { NULL, 0, 0 };
	struct archive_entry *ae = archive_entry_new();
	uint8_t *buf = malloc(TAR_CHUNK);
	char *name = NULL;
	int r = 0;
	if (!ae || !buf) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	r = walk_dir(ctx, dir, "", &w, 0, skip);
	if (r)
		goto out;
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), cmp_ent);
	if (pfx[0]) {
		if (on_member)
			on_member(user, a, pfx);
		r = write_one(ctx, a, ae, dir, out_path, pfx, NULL, mtime, buf);
		if (r)
			goto out;
	}
	for (size_t i = 0; i < w.n; i++) {
		free(name);
		name = pfx[0] ? join(pfx, w.v[i].rel) : strdup(w.v[i].rel);
		if (!name) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		if (on_member)
			on_member(user, a, name);
		r = write_one(ctx, a, ae, dir, out_path, name, &w.v[i], mtime, buf);
		if (r)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		r = tar_err(ctx, a, out_path, "(end of archive)");
out:
	archive_entry_free(ae);
	free(name);
	free(buf);
	walk_free(&w);
	return r;
}

/* The checks both entry points make on their arguments. */
static int tar_args(cvmf_ctx *ctx, const char *dir, const char *prefix, uint64_t mtime,
		    char *pfx, size_t pfx_len)
{
	if (mtime > TAR_MTIME_MAX)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "tar: mtime %llu does not fit a ustar header (at most %u)",
				  (unsigned long long)mtime, TAR_MTIME_MAX);
	int r = check_prefix(ctx, prefix, pfx, pfx_len);
	if (r)
		return r;
	struct stat st;
	if (stat(dir, &st) < 0)
		return cmn_error(ctx, CVMF_E_IO, "tar: cannot stat '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cmn_error(ctx, CVMF_E_INVAL, "tar: '%s' is not a directory", dir);
	return 0;
}

int bld_tar_write(cvmf_ctx *ctx, const char *dir, const char *prefix, uint64_t mtime,
		  const char *out_path)
{
	struct archive *a = NULL;
	struct cmn_out *o = NULL;
	char pfx[1024];
	int r = tar_args(ctx, dir, prefix, mtime, pfx, sizeof(pfx));
	if (r)
		return r;
	/* Through the one writer: a temporary beside out_path, fsynced and renamed. */
	if ((r = cmn_out_open(ctx, "tarball", out_path, CMN_W_DURABLE, &o)))
		goto out;
	a = tar_writer();
	if (!a) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (archive_write_open_fd(a, cmn_out_fd(o)) != ARCHIVE_OK) {
		r = tar_err(ctx, a, out_path, "(header)");
		goto out;
	}
	if ((r = tar_emit(ctx, dir, pfx, mtime, NULL, a, out_path, NULL, NULL)))
		goto out;
	r = cmn_out_commit(o);
	o = NULL;
out:
	if (a)
		archive_write_free(a);
	cmn_out_abort(o);
	return r;
}

/* ---- checking a tarball against the directory it was written from ---- */

struct tar_cmp {
	cvmf_ctx *ctx;
	const char *path;
	int fd;
	uint64_t size, off;     /* the tarball's size; bytes compared so far */
	uint8_t *buf;
	bool differs;
	uint64_t diff_at;
	int io_err;             /* a read error (not a difference) */
	/* The member being written, and where its bytes start. */
	char member[1024], diff_member[1024];
	uint64_t member_at, diff_member_at;
};

static void cmp_member(void *u, struct archive *a, const char *name)
{
	struct tar_cmp *c = u;
	/* Bytes the format has produced so far: where this member starts. */
	c->member_at = (uint64_t)archive_filter_bytes(a, 0);
	snprintf(c->member, sizeof(c->member), "%s", name);
}

static la_ssize_t cmp_write(struct archive *a, void *u, const void *data, size_t n)
{
	(void)a;
	struct tar_cmp *c = u;
	const uint8_t *p = data;
	size_t done = 0;
	/* After the first difference the rest is swallowed, not refused: a callback
	 * that fails puts the archive in its fatal state, and libarchive 3.6.2 then
	 * never frees its write buffer (LeakSanitizer in verify of a changed image). */
	if (c->differs)
		return (la_ssize_t)n;
	if (c->io_err)
		return -1;
	while (done < n) {
		size_t k = n - done < TAR_CHUNK ? n - done : TAR_CHUNK;
		size_t have = c->off >= c->size ? 0 :
			      c->size - c->off < k ? (size_t)(c->size - c->off) : k;
		if (have && (c->io_err = cmn_file_pread(c->ctx, "tarball", c->path, c->fd, c->off,
							 c->buf, have)))
			return -1;
		size_t i = 0;
		while (i < have && c->buf[i] == p[done + i])
			i++;
		if (i < k) {
			c->differs = true;
			c->diff_at = c->off + i;
			snprintf(c->diff_member, sizeof(c->diff_member), "%s", c->member);
			c->diff_member_at = c->member_at;
			return (la_ssize_t)n;   /* the first difference is all that is reported */
		}
		c->off += k;
		done += k;
	}
	return (la_ssize_t)n;
}

int bld_tar_compare(cvmf_ctx *ctx, const char *dir, const char *skip, const char *prefix,
		    uint64_t mtime, const char *tar_path, bool *ret_same, char *ret_diff,
		    size_t diff_len)
{
	struct tar_cmp c = { .ctx = ctx, .path = tar_path, .fd = -1 };
	struct archive *a = NULL;
	char pfx[1024];
	int r = tar_args(ctx, dir, prefix, mtime, pfx, sizeof(pfx));
	if (r)
		return r;
	c.fd = cmn_input_open(ctx, "tarball", tar_path, CMN_MAX_STREAM, CMN_IN_NOFOLLOW, &c.size);
	if (c.fd < 0)
		return c.fd;
	c.buf = malloc(TAR_CHUNK);
	a = tar_writer();
	if (!c.buf || !a) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (archive_write_open(a, &c, NULL, cmp_write, NULL) != ARCHIVE_OK) {
		r = tar_err(ctx, a, tar_path, "(header)");
		goto out;
	}
	r = tar_emit(ctx, dir, pfx, mtime, skip, a, tar_path, cmp_member, &c);
	if (c.io_err) {
		r = c.io_err;   /* the message is the read's */
		goto out;
	}
	if (c.differs) {
		r = 0;
		snprintf(ret_diff, diff_len, "first difference at byte %llu, in member '%s' "
			 "(which starts at byte %llu)", (unsigned long long)c.diff_at,
			 c.diff_member, (unsigned long long)c.diff_member_at);
	} else if (!r && c.off != c.size) {
		c.differs = true;
		snprintf(ret_diff, diff_len, "%llu more bytes than the tarball of the image's "
			 "files, from byte %llu", (unsigned long long)(c.size - c.off),
			 (unsigned long long)c.off);
	}
	if (!r)
		*ret_same = !c.differs;
out:
	if (a)
		archive_write_free(a);
	free(c.buf);
	close(c.fd);
	return r;
}

/* ---- extraction ---- */

/* Check a member name and split it into components in `buf` (modified):
 * a leading "./" is tolerated, absolute paths, "..", "." and empty
 * components are not. Returns the number of components or an error. */
static int split_member(cvmf_ctx *ctx, const char *tar_path, const char *name, char *buf,
			size_t len, char **comp, size_t max_comp)
{
	if (!name || !*name)
		return cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': a member has no name", tar_path);
	if (name[0] == '/')
		return cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': member '%s' has an absolute path",
				  tar_path, name);
	const char *p = name;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (n == 0 && p != name)
		return 0;       /* "./": the destination itself */
	if (n == 0 || n >= len)
		return cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': member '%s' has an unusable path",
				  tar_path, name);
	memcpy(buf, p, n);
	buf[n] = '\0';
	size_t nc = 0;
	char *save = NULL;
	for (char *c = buf; c; c = save) {
		save = strchr(c, '/');
		if (save)
			*save++ = '\0';
		if (!strcmp(c, ".."))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "tar '%s': member '%s' has a '..' component", tar_path, name);
		if (!*c || !strcmp(c, "."))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "tar '%s': member '%s' has an empty or '.' component",
					  tar_path, name);
		if (nc == max_comp)
			return cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': member '%s' is nested too deeply",
					  tar_path, name);
		comp[nc++] = c;
	}
	return (int)nc;
}

#define MAX_COMP 256

/* Open the directory holding the member's last component, creating missing
 * parents (0755) and never following a symlink. Returns an fd or an error. */
static int open_parent(cvmf_ctx *ctx, const char *tar_path, const char *name, int destfd,
		       char **comp, int nc)
{
	int fd = dup(destfd);
	if (fd < 0)
		return cmn_error(ctx, CVMF_E_IO, "tar '%s': %s", tar_path, strerror(errno));
	for (int i = 0; i < nc - 1; i++) {
		if (mkdirat(fd, comp[i], 0755) == 0) {
			(void)fchmodat(fd, comp[i], 0755, 0);
		} else if (errno != EEXIST) {
			int e = errno;
			close(fd);
			return cmn_error(ctx, CVMF_E_IO,
					  "tar '%s': member '%s': cannot create directory '%s': %s",
					  tar_path, name, comp[i], strerror(e));
		}
		int nfd = openat(fd, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (nfd < 0)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "tar '%s': member '%s': '%s' is not a directory in the destination (%s)",
					  tar_path, name, comp[i], strerror(e));
		fd = nfd;
	}
	return fd;
}

static int extract_one(cvmf_ctx *ctx, struct archive *a, struct archive_entry *ae,
		       const char *tar_path, int destfd, uint8_t *buf)
{
	const char *name = archive_entry_pathname(ae);
	char path[4096];
	char *comp[MAX_COMP];
	int r = 0, fd = -1, pfd = -1;

	if (!name)
		name = "";
	if (archive_entry_hardlink(ae))
		return cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': member '%s' is a hard link",
				  tar_path, name);
	mode_t type = archive_entry_filetype(ae);
	if (type == AE_IFLNK || archive_entry_symlink(ae))
		return cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': member '%s' is a symlink",
				  tar_path, name);
	if (type != AE_IFREG && type != AE_IFDIR)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "tar '%s': member '%s' is neither a file nor a directory",
				  tar_path, name);
	int nc = split_member(ctx, tar_path, name, path, sizeof(path), comp, MAX_COMP);
	if (nc < 0)
		return nc;
	if (nc == 0) {
		if (type != AE_IFDIR)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "tar '%s': member '%s' has an unusable path", tar_path, name);
		return 0;
	}
	pfd = open_parent(ctx, tar_path, name, destfd, comp, nc);
	if (pfd < 0)
		return pfd;
	const char *last = comp[nc - 1];
	if (type == AE_IFDIR) {
		if (mkdirat(pfd, last, 0755) < 0 && errno != EEXIST) {
			r = cmn_error(ctx, CVMF_E_IO, "tar '%s': member '%s': cannot create it: %s",
				       tar_path, name, strerror(errno));
			goto out;
		}
		fd = openat(pfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0755) < 0) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "tar '%s': member '%s': not a directory in the destination (%s)",
				       tar_path, name, strerror(errno));
			goto out;
		}
		goto out;
	}
	mode_t mode = (archive_entry_perm(ae) & S_IXUSR) ? 0755 : 0644;
	fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "tar '%s': member '%s': cannot create it: %s",
			       tar_path, name, strerror(errno));
		goto out;
	}
	for (;;) {
		la_ssize_t got = archive_read_data(a, buf, TAR_CHUNK);
		if (got < 0) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': member '%s': %s", tar_path,
				       name, archive_error_string(a));
			goto out;
		}
		if (got == 0)
			break;
		for (la_ssize_t off = 0; off < got;) {
			ssize_t w = write(fd, buf + off, (size_t)(got - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r = cmn_error(ctx, CVMF_E_IO, "tar '%s': member '%s': write: %s",
					       tar_path, name, strerror(errno));
				goto out;
			}
			off += w;
		}
	}
	if (fchmod(fd, mode) < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "tar '%s': member '%s': chmod: %s", tar_path, name,
			       strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = cmn_error(ctx, CVMF_E_IO, "tar '%s': member '%s': close: %s", tar_path, name,
			       strerror(errno));
		goto out;
	}
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return r;
}

int bld_tar_extract(cvmf_ctx *ctx, const char *tar_path, const char *dest)
{
	struct archive *a = NULL;
	uint8_t *buf = NULL;
	int r = 0, tfd = -1;
	int destfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (destfd < 0)
		return cmn_error(ctx, CVMF_E_IO, "tar: cannot open destination '%s': %s", dest,
				  strerror(errno));
	buf = malloc(TAR_CHUNK);
	a = archive_read_new();
	if (!buf || !a) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	tfd = cmn_input_open(ctx, "tarball", tar_path, CMN_MAX_STREAM, 0, NULL);
	if (tfd < 0) {
		r = tfd;
		tfd = -1;
		goto out;
	}
	/* bld_tar_write's output is not compressed, but a user may have
	 * compressed it. Not filter_all: its exotic filters may start an
	 * external program, which could print. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, tfd, TAR_BLOCK) != ARCHIVE_OK) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': %s", tar_path,
			       archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *ae;
		int ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "tar '%s': %s", tar_path,
				       archive_error_string(a) ? archive_error_string(a) : "unreadable header");
			goto out;
		}
		r = extract_one(ctx, a, ae, tar_path, destfd, buf);
		if (r)
			goto out;
	}
out:
	if (a)
		archive_read_free(a);
	if (tfd >= 0)
		close(tfd);
	free(buf);
	close(destfd);
	return r;
}
