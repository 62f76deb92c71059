/* SPDX-License-Identifier: Apache-2.0 */
/* The one writer of output files (atomic or write-through), and the temporaries
 * a signal removes (common/write.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "write.h"

/* ---- the registry of temporaries ---- */

/* A slot is free (0), being filled (1) or live (2); the handler only reads live
 * slots, and atomic_int is lock-free on every Linux target, so the handler may
 * read it. */
#define TMP_SLOTS 64
static struct tmp_slot {
	atomic_int state;
	bool is_dir;
	int lock_fd;
	char path[PATH_MAX];
} slots[TMP_SLOTS];

static int tmp_register_lock(const char *path, bool is_dir, int lock_fd)
{
	size_t n = strlen(path);
	if (n >= PATH_MAX)
		return CVMF_E_INVAL;
	for (int i = 0; i < TMP_SLOTS; i++) {
		int want = 0;
		if (!atomic_compare_exchange_strong(&slots[i].state, &want, 1))
			continue;
		memcpy(slots[i].path, path, n + 1);
		slots[i].is_dir = is_dir;
		slots[i].lock_fd = lock_fd;
		atomic_store(&slots[i].state, 2);
		return i;
	}
	return CVMF_E_NOMEM;
}

int cmn_tmp_register(const char *path, bool is_dir)
{
	return tmp_register_lock(path, is_dir, -1);
}

void cmn_tmp_unregister(int slot)
{
	if (slot < 0 || slot >= TMP_SLOTS)
		return;
	int fd = slots[slot].lock_fd;
	slots[slot].lock_fd = -1;
	atomic_store(&slots[slot].state, 0);
	if (fd >= 0)
		close(fd);
}

void cmn_tmp_release(const char *path)
{
	for (int i = 0; i < TMP_SLOTS; i++)
		if (atomic_load(&slots[i].state) == 2 && !strcmp(slots[i].path, path)) {
			cmn_tmp_unregister(i);
			return;
		}
}

/* The record getdents64(2) returns (the kernel's layout). */
struct dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define RMTREE_DEPTH 64

/* Remove what directory dfd holds, with system calls only (no malloc, no stdio, no
 * DIR streams): async-signal-safe. Passes repeat until one removes nothing, since a
 * directory changed while it is read may skip names. */
static void rm_children(int dfd, int depth)
{
	char buf[2048] __attribute__((aligned(8)));
	for (int pass = 0; pass < 8; pass++) {
		bool removed = false;
		if (lseek(dfd, 0, SEEK_SET) < 0)
			return;
		for (;;) {
			long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
			if (n <= 0)
				break;
			for (long off = 0; off < n;) {
				struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
				off += d->d_reclen;
				const char *name = d->d_name;
				if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
					continue;
				if (d->d_type != DT_DIR && !unlinkat(dfd, name, 0)) {
					removed = true;
					continue;
				}
				if (depth < RMTREE_DEPTH) {
					int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY |
								    O_NOFOLLOW | O_CLOEXEC);
					if (sub >= 0) {
						rm_children(sub, depth + 1);
						close(sub);
					}
				}
				if (!unlinkat(dfd, name, AT_REMOVEDIR))
					removed = true;
			}
		}
		if (!removed)
			return;
	}
}

int cmn_rmtree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP)
			return unlink(path);
		return -1;
	}
	rm_children(fd, 0);
	close(fd);
	return rmdir(path) && errno != ENOENT ? -1 : 0;
}

void cmn_tmp_remove_all(void)
{
	int saved = errno;
	for (int i = 0; i < TMP_SLOTS; i++) {
		if (atomic_load(&slots[i].state) != 2)
			continue;
		if (slots[i].is_dir)
			cmn_rmtree(slots[i].path);
		else
			unlink(slots[i].path);
	}
	errno = saved;
}

/* ---- random names ---- */

/* Locked temporary directories have 10 random characters: mkdtemp's 6 are what
 * versions without the lock used, so a sweep never mistakes their live work
 * for a leftover. */
#define TMPDIR_SUFFIX 10

/* n random letters and digits, NUL-terminated (out has n + 1 bytes, n <= 16). */
static void random_suffix(char *out, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static atomic_uint counter;
	unsigned char r[16];
	if (getrandom(r, n, GRND_NONBLOCK) != (ssize_t)n) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t x = (uint64_t)t.tv_nsec ^ (uint64_t)getpid() << 20 ^
			     (uint64_t)atomic_fetch_add(&counter, 1) << 40;
		for (size_t i = 0; i < n; i++, x = x >> 8 | x << 56)
			r[i] = (unsigned char)(x ^ i * 0x9e);
	}
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] % (sizeof(set) - 1)];
	out[n] = 0;
}

static bool is_suffix_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- output files ---- */

struct cmn_out {
	cvmf_ctx *ctx;
	char *what;
	char *path;        /* as the caller named it, for messages */
	char *final;       /* where the rename goes (a symlink resolved); NULL: through */
	char *tmp;
	int fd;
	int slot;
	unsigned flags;
};

static void out_free(struct cmn_out *o)
{
	if (!o)
		return;
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	cmn_tmp_unregister(o->slot);
	free(o->what);
	free(o->path);
	free(o->final);
	free(o->tmp);
	free(o);
}

static int out_err(struct cmn_out *o, int err, const char *reason)
{
	return cmn_error(o->ctx, err, "cannot write %s '%s': %s", o->what, o->path, reason);
}

static bool under_proc(const char *dir)
{
	return !strncmp(dir, "/proc", 5) && (dir[5] == '/' || !dir[5]);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* The descriptor number N when `link` is /proc/<this process>/fd/N (dir is its
 * resolved directory), else -1. */
static int own_fd(const char *dir, const char *link)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/%ld/fd", (long)getpid());
	if (strcmp(dir, self))
		return -1;
	const char *base = strrchr(link, '/');
	base = base ? base + 1 : link;
	char *end;
	errno = 0;
	long n = strtol(base, &end, 10);
	return *base && !*end && !errno && n >= 0 && n <= INT_MAX ? (int)n : -1;
}

/* Where an output path leads: the path itself, or the end of its chain of symbolic
 * links (relative targets taken from the link's directory). *ret_magic is set when a
 * link lives under /proc (/dev/stdout, /dev/fd/N): such a link names an open file
 * description, which must be written through, never replaced. */
static int resolve(struct cmn_out *o, char **ret_final, bool *ret_magic, int *ret_fd)
{
	char *cur = strdup(o->path);
	char *dir = NULL;
	int rc = 0;
	*ret_magic = false;
	*ret_fd = -1;
	if (!cur)
		return out_err(o, CVMF_E_NOMEM, "out of memory");
	for (int hops = 0;; hops++) {
		struct stat st;
		if (lstat(cur, &st) < 0) {
			if (errno == ENOENT)
				break;
			rc = out_err(o, CVMF_E_IO, strerror(errno));
			goto out;
		}
		if (!S_ISLNK(st.st_mode))
			break;
		if (hops == 40) {
			rc = out_err(o, CVMF_E_IO, strerror(ELOOP));
			goto out;
		}
		free(dir);
		char *d = dir_of(cur);
		dir = d ? realpath(d, NULL) : NULL;
		free(d);
		if (!dir) {
			rc = out_err(o, CVMF_E_IO, strerror(errno ? errno : ENOMEM));
			goto out;
		}
		if (under_proc(dir)) {
			*ret_magic = true;
			*ret_fd = own_fd(dir, cur);
			break;
		}
		char target[PATH_MAX];
		ssize_t n = readlink(cur, target, sizeof(target) - 1);
		if (n < 0) {
			rc = out_err(o, CVMF_E_IO, strerror(errno));
			goto out;
		}
		target[n] = 0;
		char *next;
		if (target[0] == '/')
			next = strdup(target);
		else if (asprintf(&next, "%s/%s", strcmp(dir, "/") ? dir : "", target) < 0)
			next = NULL;
		if (!next) {
			rc = out_err(o, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		free(cur);
		cur = next;
	}
	*ret_final = cur;
	cur = NULL;
out:
	free(cur);
	free(dir);
	return rc;
}

/* A new file beside final, with its final mode from creation on. */
static int open_tmp(struct cmn_out *o)
{
	char *dir = dir_of(o->final);
	const char *slash = strrchr(o->final, '/');
	const char *base = slash ? slash + 1 : o->final;
	int rc = 0;
	if (!dir)
		return out_err(o, CVMF_E_NOMEM, "out of memory");
	/* .BASE.tmp-xxxxxx; a name too long for that gets a short one. */
	bool short_name = strlen(base) > NAME_MAX - 20;
	const mode_t mode = (o->flags & CMN_W_PRIVATE) ? 0600 : 0666;
	for (int tries = 0; tries < 100; tries++) {
		char sfx[7];
		random_suffix(sfx, 6);
		free(o->tmp);
		o->tmp = NULL;
		if (asprintf(&o->tmp, "%s/.%s.tmp-%s", dir, short_name ? "cvmforge" : base,
			     sfx) < 0) {
			o->tmp = NULL;
			rc = out_err(o, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (o->fd >= 0)
			break;
		if (errno != EEXIST) {
			int e = errno;
			free(o->tmp);
			o->tmp = NULL;
			rc = out_err(o, CVMF_E_IO, strerror(e));
			goto out;
		}
	}
	if (o->fd < 0) {
		free(o->tmp);
		o->tmp = NULL;
		rc = out_err(o, CVMF_E_IO, "no free temporary name");
		goto out;
	}
	o->slot = cmn_tmp_register(o->tmp, false);
	/* The umask may only have taken bits away: 0600 exactly. */
	if ((o->flags & CMN_W_PRIVATE) && fchmod(o->fd, 0600) < 0)
		rc = out_err(o, CVMF_E_IO, strerror(errno));
out:
	free(dir);
	return rc;
}

int cmn_out_open(cvmf_ctx *ctx, const char *what, const char *path, unsigned flags,
		 struct cmn_out **ret)
{
	struct cmn_out *o = calloc(1, sizeof(*o));
	int rc = 0;
	if (!o)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory writing %s '%s'", what, path);
	o->ctx = ctx;
	o->fd = -1;
	o->slot = -1;
	o->flags = flags;
	o->what = strdup(what);
	o->path = strdup(path);
	if (!o->what || !o->path) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory writing %s '%s'", what, path);
		goto out;
	}
	struct stat st;
	if (flags & CMN_W_EXCL) {
		if (!lstat(path, &st)) {
			rc = out_err(o, CVMF_E_IO, "it already exists");
			goto out;
		}
		if (errno != ENOENT) {
			rc = out_err(o, CVMF_E_IO, strerror(errno));
			goto out;
		}
	}
	bool magic = false;
	int own = -1;
	if ((rc = resolve(o, &o->final, &magic, &own)))
		goto out;
	bool exists = !stat(o->final, &st);
	if (!exists && errno != ENOENT) {
		rc = out_err(o, CVMF_E_IO, strerror(errno));
		goto out;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		rc = out_err(o, CVMF_E_IO, "it is a directory");
		goto out;
	}
	if (exists && (magic || !S_ISREG(st.st_mode))) {
		/* Written through: a device, a FIFO, a terminal, an inherited descriptor.
		 * One of our own descriptors (/dev/stdout, /dev/fd/N) is duplicated, so
		 * that it is written at its offset, as the shell does; others are
		 * opened without O_TRUNC (a device has nothing to truncate; a file
		 * behind another process's descriptor is appended to). */
		int fl = O_WRONLY | O_NOCTTY | O_CLOEXEC | (S_ISREG(st.st_mode) ? O_APPEND : 0);
		if (own >= 0)
			o->fd = fcntl(own, F_DUPFD_CLOEXEC, 3);
		else
			do
				o->fd = open(magic ? path : o->final, fl);
			while (o->fd < 0 && errno == EINTR);
		if (o->fd < 0) {
			rc = out_err(o, CVMF_E_IO, strerror(errno));
			goto out;
		}
		free(o->final);
		o->final = NULL;
		goto out;
	}
	rc = open_tmp(o);
out:
	if (rc)
		out_free(o);
	else
		*ret = o;
	return rc;
}

int cmn_out_write(struct cmn_out *o, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t w = write(o->fd, p, len > SSIZE_MAX ? SSIZE_MAX : len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return out_err(o, CVMF_E_IO, strerror(errno));
		if (w == 0)
			return out_err(o, CVMF_E_IO, "short write");
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int cmn_out_fd(const struct cmn_out *o)
{
	return o->fd;
}

static int fsync_dir(struct cmn_out *o)
{
	char *dir = dir_of(o->final);
	if (!dir)
		return out_err(o, CVMF_E_NOMEM, "out of memory");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0 || fsync(fd) < 0)
		rc = cmn_error(o->ctx, CVMF_E_IO, "cannot write %s '%s': syncing '%s': %s",
				o->what, o->path, dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* rename(2) that refuses to replace anything (EXCL): RENAME_NOREPLACE, or link(2)
 * where the file system lacks it. */
static int rename_excl(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) == 0) {
		unlink(from);
		return 0;
	}
	if (errno != EPERM)   /* a directory cannot be linked */
		return -1;
	struct stat st;
	if (!lstat(to, &st)) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int cmn_out_commit(struct cmn_out *o)
{
	int rc = 0;
	if (!o)
		return CVMF_E_INVAL;
	if ((o->flags & CMN_W_DURABLE) && fsync(o->fd) < 0 &&
	    (o->tmp || (errno != EINVAL && errno != EROFS && errno != ENOTSUP))) {
		rc = out_err(o, CVMF_E_IO, strerror(errno));
		goto out;
	}
	int fd = o->fd;
	o->fd = -1;
	if (close(fd) < 0 && errno != EINTR) {
		rc = out_err(o, CVMF_E_IO, strerror(errno));
		goto out;
	}
	if (!o->tmp)
		goto out;
	int r = (o->flags & CMN_W_EXCL) ? rename_excl(o->tmp, o->final)
					 : rename(o->tmp, o->final);
	if (r < 0) {
		rc = out_err(o, CVMF_E_IO, errno == EEXIST ? "it already exists" : strerror(errno));
		goto out;
	}
	free(o->tmp);
	o->tmp = NULL;
	if (o->flags & CMN_W_DURABLE)
		rc = fsync_dir(o);
out:
	out_free(o);
	return rc;
}

void cmn_out_abort(struct cmn_out *o)
{
	out_free(o);
}

int cmn_write_file(cvmf_ctx *ctx, const char *what, const char *path,
		   const void *buf, size_t len, unsigned flags)
{
	struct cmn_out *o = NULL;
	int rc = cmn_out_open(ctx, what, path, flags, &o);
	if (rc)
		return rc;
	if ((rc = cmn_out_write(o, buf, len))) {
		cmn_out_abort(o);
		return rc;
	}
	return cmn_out_commit(o);
}

/* ---- locked temporary directories ---- */

int cmn_tmpdir_create(cvmf_ctx *ctx, const char *parent, const char *prefix, char **ret_path)
{
	char *staging = NULL, *final = NULL;
	int lock_fd = -1, slot = -1, rc = 0;
	for (int tries = 0; tries < 100 && !final; tries++) {
		char sfx[TMPDIR_SUFFIX + 1];
		random_suffix(sfx, TMPDIR_SUFFIX);
		free(staging);
		if (asprintf(&staging, "%s/%s%s.new", parent, prefix, sfx) < 0) {
			staging = NULL;
			rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		if (mkdir(staging, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			rc = cmn_error(ctx, CVMF_E_IO, "cannot create a temporary directory in '%s': %s",
					parent, strerror(errno));
			goto out;
		}
		/* Locked before it carries the name a sweeper looks for. */
		lock_fd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
			rc = cmn_error(ctx, CVMF_E_IO, "cannot lock '%s': %s", staging,
					strerror(errno));
			rmdir(staging);
			goto out;
		}
		if (asprintf(&final, "%s/%s%s", parent, prefix, sfx) < 0) {
			final = NULL;
			rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			rmdir(staging);
			goto out;
		}
		slot = tmp_register_lock(final, true, lock_fd);
		int tmp_slot = cmn_tmp_register(staging, true);
		int r = rename_excl(staging, final);
		int e = errno;
		cmn_tmp_unregister(tmp_slot);
		if (!r)
			break;
		rmdir(staging);
		if (slot >= 0)
			cmn_tmp_unregister(slot);   /* closes lock_fd */
		else
			close(lock_fd);
		slot = -1;
		lock_fd = -1;
		free(final);
		final = NULL;
		if (e != EEXIST) {
			rc = cmn_error(ctx, CVMF_E_IO, "cannot create a temporary directory in '%s': %s",
					parent, strerror(e));
			goto out;
		}
	}
	if (!final) {
		rc = cmn_error(ctx, CVMF_E_IO, "cannot create a temporary directory in '%s': "
				"no free name", parent);
		goto out;
	}
	/* The slot owns lock_fd. Not registered (table full), the descriptor is kept
	 * open for the process's life: the lock still keeps sweepers away, the directory
	 * is just not removed by a signal. */
	*ret_path = final;
	final = NULL;
	lock_fd = -1;
out:
	free(staging);
	free(final);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}

int cmn_tmpdir_remove(const char *path)
{
	int r = cmn_rmtree(path);
	cmn_tmp_release(path);
	return r;
}

int cmn_tmpdir_sweep(const char *parent, const char *prefix)
{
	int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	size_t plen = strlen(prefix);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		if (strncmp(name, prefix, plen) || strlen(name) != plen + TMPDIR_SUFFIX)
			continue;
		bool ok = true;
		for (size_t i = plen; i < plen + TMPDIR_SUFFIX; i++)
			ok = ok && is_suffix_char(name[i]);
		if (!ok)
			continue;
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		/* Ours, and nobody's live work: the owner holds the lock while it runs. */
		if (!fstat(fd, &st) && st.st_uid == geteuid() && !flock(fd, LOCK_EX | LOCK_NB)) {
			rm_children(fd, 0);
			if (!unlinkat(dfd, name, AT_REMOVEDIR))
				n++;
		}
		close(fd);
	}
	closedir(d);
	return n;
}
