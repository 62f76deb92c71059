/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The deterministic initrd: a cpio "newc" archive whose bytes depend only on
 * the entries, their contents and SOURCE_DATE_EPOCH (docs/formats.md §1).
 *
 * Every header field is set here, never copied from stat(): paths sorted
 * bytewise (strcmp), ino = 1, 2, ... in emission order, nlink 1 (2 for
 * directories), dev 0:0, mtime = the epoch, owner and mode from the entry.
 * No hardlinks: a file linked twice in a tree is stored twice. libarchive
 * writes the records with 512-byte blocks and no padding of the last one,
 * so the archive ends right after the trailer's padding to 4 bytes.
 *
 * Memory stays bounded: files are streamed in READ_CHUNK pieces, and the
 * compressed output goes out through a bld_sink as it is produced.
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
#include "common/path.h"

#define READ_CHUNK (256u * 1024u)
#define PROGRESS_STEP (4ull << 20)
#define CPIO_BLOCK 512
#define MAX_PATH_LEN 4095       /* the kernel's PATH_MAX, with the NUL */
#define IMPLICIT_ORIGIN "implicit parent directory"

static const char *org(const char *origin)
{
	return origin && *origin ? origin : "(unknown origin)";
}

static void entry_clear(struct bld_entry *e)
{
	free(e->path);
	free(e->source);
	free(e->target);
	free(e->origin);
	memset(e, 0, sizeof(*e));
}

void bld_initrd_init(struct bld_initrd *l)
{
	memset(l, 0, sizeof(*l));
}

void bld_initrd_free(struct bld_initrd *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		entry_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const char *type_name(enum bld_type t)
{
	switch (t) {
	case BLD_REG: return "file";
	case BLD_DIR: return "directory";
	case BLD_SYMLINK: return "symlink";
	case BLD_CHAR: return "character device";
	case BLD_BLOCK: return "block device";
	}
	return "unknown";
}

/* "/usr/bin/x" -> "usr/bin/x": the rule of common/path.h for paths that
 * must already be normal (CMN_PATH_CANONICAL), a leading '/' optional;
 * refuses "", "/", "..", ".", "a//b", "a/". */
static int norm_path(cvmf_ctx *ctx, const char *in, const char *origin, char **ret)
{
	if (!in)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: an entry has no path", org(origin));
	const char *p = in[0] == '/' ? in + 1 : in;
	if (strlen(p) > MAX_PATH_LEN)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: path '%.64s...' is longer than %d bytes",
				  org(origin), in, MAX_PATH_LEN);
	char *n = NULL;
	enum cmn_path_err e = cmn_path_norm(in, CMN_PATH_CANONICAL, &n);
	switch (e) {
	case CMN_PATH_OK:
		break;
	case CMN_PATH_E_NOMEM:
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	case CMN_PATH_E_ROOT:
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: path '%s' names the archive's root, which is implicit",
				  org(origin), in);
	default:
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: path '%s' %s", org(origin), in,
				  cmn_path_strerror(e));
	}
	memmove(n, n + 1, strlen(n));   /* the archive's form: no leading '/' */
	*ret = n;
	return 0;
}

static char *dup_opt(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* Append an entry, taking ownership of e's strings (freed on failure). */
static int push(cvmf_ctx *ctx, struct bld_initrd *l, struct bld_entry *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct bld_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			entry_clear(e);
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	l->finished = false;
	return 0;
}

int bld_initrd_add(cvmf_ctx *ctx, struct bld_initrd *l, const struct bld_entry *e)
{
	const char *o = org(e->origin);
	if ((unsigned)e->type > BLD_BLOCK)
		return cmn_error(ctx, CVMF_E_INVAL, "%s: unknown entry type %d", o, (int)e->type);
	if (e->mode > 07777)
		return cmn_error(ctx, CVMF_E_INVAL, "%s: mode %#o has bits beyond 07777", o,
				  e->mode);
	if (e->type == BLD_REG && (!e->source || !*e->source))
		return cmn_error(ctx, CVMF_E_INVAL, "%s: file '%s' has no source", o,
				  e->path ? e->path : "");
	if (e->type == BLD_SYMLINK && (!e->target || !*e->target))
		return cmn_error(ctx, CVMF_E_INVAL, "%s: symlink '%s' has no target", o,
				  e->path ? e->path : "");
	if (e->type == BLD_SYMLINK && strlen(e->target) > MAX_PATH_LEN)
		return cmn_error(ctx, CVMF_E_INVAL, "%s: the target of symlink '%s' is longer than %d bytes",
				  o, e->path ? e->path : "", MAX_PATH_LEN);

	struct bld_entry n = { .type = e->type, .mode = e->mode, .uid = e->uid, .gid = e->gid,
			       .implicit = e->implicit };
	int r = norm_path(ctx, e->path, e->origin, &n.path);
	if (r)
		return r;
	bool oom = false;
	if (e->type == BLD_CHAR || e->type == BLD_BLOCK) {
		n.rmajor = e->rmajor;
		n.rminor = e->rminor;
	}
	if (e->type == BLD_REG)
		n.source = dup_opt(e->source, &oom);
	if (e->type == BLD_SYMLINK)
		n.target = dup_opt(e->target, &oom);
	n.origin = dup_opt(e->origin, &oom);
	if (oom) {
		entry_clear(&n);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	return push(ctx, l, &n);
}

/* ---- walking a host tree ---- */

struct walk {
	cvmf_ctx *ctx;
	struct bld_initrd *l;
	const char *dir;        /* the tree's root on the host */
	const char *prefix;     /* normalised, "" for the root */
	const char *origin;
	unsigned uid, gid;
	char rel[MAX_PATH_LEN + 1];   /* path below the tree root */
};

static int walk_add(struct walk *w, enum bld_type type, unsigned mode, const char *target)
{
	char *path = NULL, *source = NULL, *origin = NULL;
	int r = 0;
	if (asprintf(&path, "%s%s%s", w->prefix, *w->prefix ? "/" : "", w->rel) < 0)
		path = NULL;
	/* "hello.recipe:12: tree rootfs: bin/x" comes in as origin + rel. */
	int n = w->origin ? asprintf(&origin, "%s: %s", w->origin, w->rel)
			  : asprintf(&origin, "tree %s: %s", w->dir, w->rel);
	if (n < 0)
		origin = NULL;
	if (type == BLD_REG && asprintf(&source, "%s/%s", w->dir, w->rel) < 0)
		source = NULL;
	if (!path || !origin || (type == BLD_REG && !source)) {
		r = cmn_error(w->ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	struct bld_entry e = { .path = path, .type = type, .mode = mode, .uid = w->uid,
			       .gid = w->gid, .source = source, .target = (char *)target,
			       .origin = origin };
	r = bld_initrd_add(w->ctx, w->l, &e);
out:
	free(path);
	free(source);
	free(origin);
	return r;
}

/* Walk the directory open as dfd, whose path below the root is w->rel. */
static int walk_dir(struct walk *w, int dfd, unsigned depth)
{
	if (depth > 256) {
		close(dfd);
		return cmn_error(w->ctx, CVMF_E_UNSUPPORTED, "tree '%s': '%s' is nested too deeply",
				  w->dir, w->rel);
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return cmn_error(w->ctx, CVMF_E_IO, "tree '%s': cannot read directory '%s': %s",
				  w->dir, *w->rel ? w->rel : ".", strerror(e));
	}
	size_t base = strlen(w->rel);
	int r = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				r = cmn_error(w->ctx, CVMF_E_IO,
					       "tree '%s': cannot read directory '%s': %s", w->dir,
					       base ? w->rel : ".", strerror(errno));
			break;
		}
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		size_t nl = strlen(name);
		if (base + 1 + nl > MAX_PATH_LEN) {
			r = cmn_error(w->ctx, CVMF_E_UNSUPPORTED,
				       "tree '%s': the path of '%s/%s' is longer than %d bytes",
				       w->dir, w->rel, name, MAX_PATH_LEN);
			break;
		}
		snprintf(w->rel + base, sizeof(w->rel) - base, "%s%s", base ? "/" : "", name);

		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = cmn_error(w->ctx, CVMF_E_IO, "tree '%s': cannot stat '%s': %s", w->dir,
				       w->rel, strerror(errno));
			break;
		}
		if (S_ISREG(st.st_mode)) {
			r = walk_add(w, BLD_REG, st.st_mode & S_IXUSR ? 0755 : 0644, NULL);
		} else if (S_ISLNK(st.st_mode)) {
			char target[MAX_PATH_LEN + 1];
			ssize_t n = readlinkat(dirfd(d), name, target, sizeof(target));
			if (n < 0 || (size_t)n >= sizeof(target)) {
				r = cmn_error(w->ctx, CVMF_E_IO, "tree '%s': cannot read symlink '%s': %s",
					       w->dir, w->rel, n < 0 ? strerror(errno) : "target too long");
				break;
			}
			target[n] = '\0';
			if (n == 0) {
				r = cmn_error(w->ctx, CVMF_E_FORMAT,
					       "tree '%s': symlink '%s' has an empty target", w->dir, w->rel);
				break;
			}
			r = walk_add(w, BLD_SYMLINK, 0777, target);
		} else if (S_ISDIR(st.st_mode)) {
			r = walk_add(w, BLD_DIR, 0755, NULL);
			if (r)
				break;
			int sub = openat(dirfd(d), name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = cmn_error(w->ctx, CVMF_E_IO, "tree '%s': cannot open directory '%s': %s",
					       w->dir, w->rel, strerror(errno));
				break;
			}
			r = walk_dir(w, sub, depth + 1);
		} else {
			const char *what = S_ISFIFO(st.st_mode) ? "a FIFO"
					   : S_ISSOCK(st.st_mode) ? "a socket"
					   : S_ISCHR(st.st_mode) ? "a character device"
					   : S_ISBLK(st.st_mode) ? "a block device" : "not a file";
			r = cmn_error(w->ctx, CVMF_E_UNSUPPORTED,
				       "%s%s'%s' in tree '%s' is %s; device nodes, FIFOs and sockets are not taken from trees (declare devices in the recipe)",
				       w->origin ? w->origin : "", w->origin ? ": " : "", w->rel,
				       w->dir, what);
		}
		if (r)
			break;
		w->rel[base] = '\0';
	}
	w->rel[base] = '\0';
	closedir(d);
	return r;
}

int bld_initrd_add_tree(cvmf_ctx *ctx, struct bld_initrd *l, const char *dir,
			const char *prefix, unsigned uid, unsigned gid, const char *origin)
{
	struct walk *w = calloc(1, sizeof(*w));
	if (!w)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	char *pfx = NULL;
	int r = 0;
	/* "/" and "" put the tree at the root; anything else is a path. */
	if (prefix && strcmp(prefix, "/") && *prefix) {
		r = norm_path(ctx, prefix, origin ? origin : dir, &pfx);
		if (r)
			goto out;
	}
	*w = (struct walk){ .ctx = ctx, .l = l, .dir = dir, .prefix = pfx ? pfx : "",
			    .origin = origin, .uid = uid, .gid = gid };
	/* The root itself may be a symlink (a path the user chose); below
	 * it, nothing is followed. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "%s%scannot open tree '%s': %s", origin ? origin : "",
			       origin ? ": " : "", dir, strerror(errno));
		goto out;
	}
	r = walk_dir(w, dfd, 0);
out:
	free(pfx);
	free(w);
	return r;
}

/* ---- finishing: sort, parents, duplicates ---- */

static int cmp_entry(const void *a, const void *b)
{
	const struct bld_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	/* A fixed order among duplicates, so that messages are stable. */
	return strcmp(x->origin ? x->origin : "", y->origin ? y->origin : "");
}

static int cmp_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct bld_entry *)elem)->path);
}

static struct bld_entry *find(struct bld_initrd *l, size_t n, const char *path)
{
	return bsearch(path, l->v, n, sizeof(*l->v), cmp_key);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add a directory entry, mode 0755 owned by 0:0, for every missing parent. */
static int add_parents(cvmf_ctx *ctx, struct bld_initrd *l)
{
	char **miss = NULL;
	size_t n_miss = 0, cap = 0, n = l->n;
	int r = 0;
	const char *last = NULL;   /* the last missing parent recorded */
	for (size_t i = 0; i < n; i++) {
		const char *p = l->v[i].path;
		for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			size_t len = (size_t)(s - p);
			if (last && strlen(last) == len && !memcmp(last, p, len))
				continue;
			char *pre = strndup(p, len);
			if (!pre) {
				r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				goto out;
			}
			if (find(l, n, pre)) {
				free(pre);
				continue;
			}
			if (n_miss == cap) {
				cap = cap ? cap * 2 : 16;
				char **m = realloc(miss, cap * sizeof(*m));
				if (!m) {
					free(pre);
					r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
					goto out;
				}
				miss = m;
			}
			miss[n_miss++] = pre;
			last = pre;
		}
	}
	if (!n_miss)
		goto out;
	qsort(miss, n_miss, sizeof(*miss), cmp_str);
	const char *prev = NULL;   /* miss[i - 1] may already be moved out */
	for (size_t i = 0; i < n_miss; i++) {
		if (prev && !strcmp(miss[i], prev))
			continue;
		prev = miss[i];
		struct bld_entry e = { .path = miss[i], .type = BLD_DIR, .mode = 0755,
				       .origin = strdup(IMPLICIT_ORIGIN), .implicit = true };
		miss[i] = NULL;
		if (!e.origin) {
			free(e.path);
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		r = push(ctx, l, &e);
		if (r)
			goto out;
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
out:
	for (size_t i = 0; i < n_miss; i++)
		free(miss[i]);
	free(miss);
	return r;
}

int bld_initrd_finish(cvmf_ctx *ctx, struct bld_initrd *l)
{
	if (l->finished)
		return 0;
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);

	/* Duplicates. The same directory named twice (same mode and owner,
	 * e.g. "etc" in two trees) is one directory; anything else is an
	 * error naming both places. */
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (k && !strcmp(l->v[k - 1].path, l->v[i].path)) {
			struct bld_entry *a = &l->v[k - 1], *b = &l->v[i];
			if (a->type == BLD_DIR && b->type == BLD_DIR && a->mode == b->mode &&
			    a->uid == b->uid && a->gid == b->gid) {
				entry_clear(b);
				continue;
			}
			int r = cmn_error(ctx, CVMF_E_FORMAT,
					   "duplicate path '%s': a %s from %s and a %s from %s",
					   a->path, type_name(a->type), org(a->origin),
					   type_name(b->type), org(b->origin));
			/* Keep the list whole: move the rest down. */
			memmove(&l->v[k], &l->v[i], (l->n - i) * sizeof(*l->v));
			l->n -= i - k;
			return r;
		}
		if (k != i)
			l->v[k] = l->v[i];
		k++;
	}
	l->n = k;

	int r = add_parents(ctx, l);
	if (r)
		return r;

	/* Every parent must be a directory. */
	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->v[i].path;
		const char *s = strrchr(p, '/');
		if (!s)
			continue;
		char *parent = strndup(p, (size_t)(s - p));
		if (!parent)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		struct bld_entry *e = find(l, l->n, parent);
		free(parent);
		if (e && e->type != BLD_DIR)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "'%s' (%s): its parent '%s' is a %s (%s), not a directory",
					  p, org(l->v[i].origin), e->path, type_name(e->type),
					  org(e->origin));
	}
	l->finished = true;
	return 0;
}

/* ---- writing ---- */

struct wstate {
	struct bld_sink *sink;
	int sink_err;
};

static la_ssize_t write_cb(struct archive *a, void *user, const void *buf, size_t len)
{
	struct wstate *w = user;
	int r = bld_sink_write(w->sink, buf, len);
	if (r) {
		w->sink_err = r;
		archive_set_error(a, EIO, "%s", bld_sink_error(w->sink));
		return -1;
	}
	return (la_ssize_t)len;
}

/* read(2) retried on EINTR. */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t got = read(fd, buf, n);
		if (got >= 0 || errno != EINTR)
			return got;
	}
}

/* The error of a failed archive call: the sink's own message if it failed. */
static int archive_fail(cvmf_ctx *ctx, struct archive *a, const struct wstate *w,
			const struct bld_entry *e)
{
	if (w->sink_err)
		return cmn_error(ctx, w->sink_err, "writing the initrd: %s",
				  bld_sink_error(w->sink));
	const char *msg = archive_error_string(a);
	if (e)
		return cmn_error(ctx, CVMF_E_IO, "writing the initrd entry '%s' (%s): %s", e->path,
				  org(e->origin), msg ? msg : "libarchive error");
	return cmn_error(ctx, CVMF_E_IO, "writing the initrd: %s", msg ? msg : "libarchive error");
}

struct progress {
	const struct bld_initrd_opts *o;
	uint64_t done, total, last;
};

static void progress_at(struct progress *p, bool force)
{
	if (!p->o->progress)
		return;
	if (!force && p->done - p->last < PROGRESS_STEP)
		return;
	p->last = p->done;
	p->o->progress(p->o->progress_user, "initrd", p->done, p->total);
}

/* Stream one regular file's data: exactly `size` bytes, then its end. */
static int write_file(cvmf_ctx *ctx, struct archive *a, const struct wstate *w,
		      const struct bld_entry *e, int fd, uint64_t size, uint8_t *buf,
		      struct progress *pg)
{
	uint64_t left = size;
	for (;;) {
		size_t want = left < READ_CHUNK ? (size_t)left + 1 : READ_CHUNK;
		ssize_t n = read_retry(fd, buf, want);
		if (n < 0)
			return cmn_error(ctx, CVMF_E_IO, "cannot read '%s' for '%s' (%s): %s",
					  e->source, e->path, org(e->origin), strerror(errno));
		if (n == 0) {
			if (left)
				return cmn_error(ctx, CVMF_E_IO,
						  "'%s' for '%s' (%s) shrank while being read (%llu bytes expected)",
						  e->source, e->path, org(e->origin),
						  (unsigned long long)size);
			return 0;
		}
		if ((uint64_t)n > left)
			return cmn_error(ctx, CVMF_E_IO,
					  "'%s' for '%s' (%s) grew while being read (%llu bytes expected)",
					  e->source, e->path, org(e->origin),
					  (unsigned long long)size);
		la_ssize_t wr = archive_write_data(a, buf, (size_t)n);
		if (wr < 0 || (size_t)wr != (size_t)n)
			return archive_fail(ctx, a, w, e);
		left -= (uint64_t)n;
		pg->done += (uint64_t)n;
		progress_at(pg, false);
	}
}

static mode_t ae_type(enum bld_type t)
{
	switch (t) {
	case BLD_REG: return AE_IFREG;
	case BLD_DIR: return AE_IFDIR;
	case BLD_SYMLINK: return AE_IFLNK;
	case BLD_CHAR: return AE_IFCHR;
	case BLD_BLOCK: return AE_IFBLK;
	}
	return 0;
}

/* The size of every regular file's source, checked before any output. */
static int stat_sources(cvmf_ctx *ctx, const struct bld_initrd *l, uint64_t *sizes,
			uint64_t *ret_total)
{
	uint64_t total = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct bld_entry *e = &l->v[i];
		sizes[i] = 0;
		if (e->type != BLD_REG)
			continue;
		struct stat st;
		if (lstat(e->source, &st) < 0)
			return cmn_error(ctx, CVMF_E_IO, "cannot stat '%s' for '%s' (%s): %s",
					  e->source, e->path, org(e->origin), strerror(errno));
		if (!S_ISREG(st.st_mode))
			return cmn_error(ctx, CVMF_E_IO,
					  "'%s' for '%s' (%s) is not a regular file%s", e->source,
					  e->path, org(e->origin),
					  S_ISLNK(st.st_mode) ? " (a symlink: sources are not followed)" : "");
		if ((uint64_t)st.st_size > 0xffffffffull)
			return cmn_error(ctx, CVMF_E_UNSUPPORTED,
					  "'%s' for '%s' (%s) is %llu bytes; newc holds at most 4 GiB - 1 per file",
					  e->source, e->path, org(e->origin),
					  (unsigned long long)st.st_size);
		sizes[i] = (uint64_t)st.st_size;
		total += sizes[i];
	}
	*ret_total = total;
	return 0;
}

int bld_initrd_write(cvmf_ctx *ctx, struct bld_initrd *l, const struct bld_initrd_opts *o,
		     int fd, struct bld_initrd_result *ret)
{
	if (o->mtime > 0xffffffffull)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "SOURCE_DATE_EPOCH %llu does not fit in a newc header (at most 4294967295)",
				  (unsigned long long)o->mtime);
	if (l->n + 1 > 0xffffffffull)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "too many initrd entries");
	int r = bld_initrd_finish(ctx, l);
	if (r)
		return r;

	struct progress pg = { .o = o };
	struct wstate w = { 0 };
	struct archive *a = NULL;
	struct archive_entry *ae = NULL;
	uint8_t *buf = NULL;
	uint64_t *sizes = calloc(l->n ? l->n : 1, sizeof(*sizes));
	int src = -1;
	if (!sizes) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	r = stat_sources(ctx, l, sizes, &pg.total);
	if (r)
		goto out;
	r = bld_sink_new(ctx, o->compress, o->level, o->workers, fd, &w.sink);
	if (r)
		goto out;
	buf = malloc(READ_CHUNK);
	a = archive_write_new();
	ae = archive_entry_new();
	if (!buf || !a || !ae) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, CPIO_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, &w, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		r = archive_fail(ctx, a, &w, NULL);
		goto out;
	}
	progress_at(&pg, true);

	for (size_t i = 0; i < l->n; i++) {
		const struct bld_entry *e = &l->v[i];
		archive_entry_clear(ae);
		archive_entry_copy_pathname(ae, e->path);
		archive_entry_set_filetype(ae, (unsigned)ae_type(e->type));
		archive_entry_set_perm(ae, e->mode);
		archive_entry_set_ino64(ae, (int64_t)i + 1);
		archive_entry_set_dev(ae, 0);
		archive_entry_set_nlink(ae, e->type == BLD_DIR ? 2 : 1);
		archive_entry_set_uid(ae, e->uid);
		archive_entry_set_gid(ae, e->gid);
		archive_entry_set_mtime(ae, (time_t)o->mtime, 0);
		archive_entry_set_size(ae, 0);
		if (e->type == BLD_SYMLINK)
			archive_entry_copy_symlink(ae, e->target);
		if (e->type == BLD_CHAR || e->type == BLD_BLOCK) {
			archive_entry_set_rdevmajor(ae, e->rmajor);
			archive_entry_set_rdevminor(ae, e->rminor);
		}
		if (e->type == BLD_REG) {
			src = open(e->source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (src < 0 || fstat(src, &st) < 0) {
				r = cmn_error(ctx, CVMF_E_IO, "cannot open '%s' for '%s' (%s): %s",
					       e->source, e->path, org(e->origin), strerror(errno));
				goto out;
			}
			if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != sizes[i]) {
				r = cmn_error(ctx, CVMF_E_IO,
					       "'%s' for '%s' (%s) changed while the initrd was written",
					       e->source, e->path, org(e->origin));
				goto out;
			}
			archive_entry_set_size(ae, (la_int64_t)sizes[i]);
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK) {
			r = archive_fail(ctx, a, &w, e);
			goto out;
		}
		if (src >= 0) {
			r = write_file(ctx, a, &w, e, src, sizes[i], buf, &pg);
			close(src);
			src = -1;
			if (r)
				goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = archive_fail(ctx, a, &w, NULL);
		goto out;
	}
	struct bld_initrd_result res = { .entries = l->n };
	r = bld_sink_finish(w.sink, &res);
	if (r) {
		r = cmn_error(ctx, r, "writing the initrd: %s", bld_sink_error(w.sink));
		goto out;
	}
	pg.done = pg.total;
	progress_at(&pg, true);
	*ret = res;
out:
	if (src >= 0)
		close(src);
	if (a && r)
		archive_write_fail(a);   /* no trailer after a failure */
	if (a)
		archive_write_free(a);
	archive_entry_free(ae);
	bld_sink_free(w.sink);
	free(buf);
	free(sizes);
	return r;
}
