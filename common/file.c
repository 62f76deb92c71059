/* SPDX-License-Identifier: Apache-2.0 */
/* Safe file input (common/file.h): one opener, whole small files, and
 * constant-memory hashing and comparison of big ones. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"

/* Large inputs are hashed through this much buffer, whatever their size. */
#define STREAM_CHUNK (256u * 1024u)

static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int cmn_input_open(cvmf_ctx *ctx, const char *what, const char *path, uint64_t max,
		   unsigned flags, uint64_t *ret_size)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is
	 * refused below, and cleared for the regular file that remains. */
	int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	if (flags & CMN_IN_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	int fd = open(path, oflags);
	if (fd < 0 && errno == ELOOP && (flags & CMN_IN_NOFOLLOW))
		return cmn_error(ctx, CVMF_E_IO,
				  "%s '%s' is a symbolic link; only regular files are accepted here",
				  what, path);
	if (fd < 0)
		return cmn_error(ctx, CVMF_E_IO, "cannot open %s '%s': %s", what, path,
				  strerror(errno));
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = cmn_error(ctx, CVMF_E_IO, "cannot stat %s '%s': %s", what, path,
			       strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = cmn_error(ctx, CVMF_E_IO, "%s '%s' is %s; only regular files are accepted",
			       what, path, kind(st.st_mode));
	else if ((uint64_t)st.st_size > max)
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "%s '%s' is %llu bytes, more than the %llu accepted", what, path,
			       (unsigned long long)st.st_size, (unsigned long long)max);
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		r = cmn_error(ctx, CVMF_E_IO, "cannot read %s '%s': %s", what, path,
			       strerror(errno));
	if (r) {
		close(fd);
		return r;
	}
	if (ret_size)
		*ret_size = (uint64_t)st.st_size;
	return fd;
}

/* read(2) retried on EINTR; bytes read, 0 at the end, or a CVMF_E_IO code. */
static ssize_t read_chunk(cvmf_ctx *ctx, const char *what, const char *path, int fd,
			  void *buf, size_t n)
{
	for (;;) {
		ssize_t got = read(fd, buf, n);
		if (got >= 0)
			return got;
		if (errno != EINTR)
			return cmn_error(ctx, CVMF_E_IO, "cannot read %s '%s': %s", what, path,
					  strerror(errno));
	}
}

int cmn_read_file(cvmf_ctx *ctx, const char *what, const char *path, size_t max,
		   uint8_t **ret_buf, size_t *ret_len)
{
	uint64_t size;
	int fd = cmn_input_open(ctx, what, path, max, 0, &size);
	if (fd < 0)
		return fd;
	/* One byte more than fstat said, to see a file that grew. */
	size_t cap = (size_t)size + 1;
	uint8_t *buf = malloc(cap);
	size_t len = 0;
	int r = 0;
	if (!buf) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	for (;;) {
		ssize_t n = read_chunk(ctx, what, path, fd, buf + len, cap - len);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			r = cmn_error(ctx, CVMF_E_IO,
				       "%s '%s' grew past its %llu bytes while being read", what,
				       path, (unsigned long long)size);
			goto out;
		}
	}
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int cmn_hash_file(cvmf_ctx *ctx, const char *what, const char *path,
		   struct cmn_hasher *const *h, size_t n_hashers, uint8_t *const *out,
		   uint64_t *ret_size)
{
	return cmn_hash_input(ctx, what, path, CMN_MAX_STREAM, 0, h, n_hashers, out, ret_size);
}

int cmn_hash_input(cvmf_ctx *ctx, const char *what, const char *path, uint64_t max,
		   unsigned flags, struct cmn_hasher *const *h, size_t n_hashers,
		   uint8_t *const *out, uint64_t *ret_size)
{
	uint8_t *buf = NULL;
	uint64_t total = 0, size;
	int fd = cmn_input_open(ctx, what, path, max, flags, &size);
	if (fd < 0)
		return fd;
	int r = 0;
	buf = malloc(STREAM_CHUNK);
	if (!buf) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	for (size_t i = 0; i < n_hashers; i++)
		if (cmn_hasher_reset(h[i]))
			goto crypto;
	for (;;) {
		ssize_t n = read_chunk(ctx, what, path, fd, buf, STREAM_CHUNK);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i < n_hashers; i++)
			if (cmn_hasher_update(h[i], buf, (size_t)n))
				goto crypto;
		total += (uint64_t)n;
		if (total > size) {
			r = cmn_error(ctx, CVMF_E_IO,
				       "%s '%s' grew past its %llu bytes while being read", what,
				       path, (unsigned long long)size);
			goto out;
		}
	}
	for (size_t i = 0; i < n_hashers; i++)
		if (cmn_hasher_final(h[i], out[i]))
			goto crypto;
	if (ret_size)
		*ret_size = total;
	goto out;
crypto:
	r = cmn_error(ctx, CVMF_E_CRYPTO, "hashing failed on %s '%s'", what, path);
out:
	free(buf);
	close(fd);
	return r;
}

int cmn_compare_inputs(cvmf_ctx *ctx, const char *what_a, const char *path_a,
		       const char *what_b, const char *path_b, uint64_t max, unsigned flags,
		       bool *ret_same, uint64_t *ret_off, uint64_t *ret_size_a,
		       uint64_t *ret_size_b)
{
	uint64_t sa = 0, sb = 0, off = 0;
	uint8_t *a = NULL, *b = NULL;
	int fb = -1, r = 0;
	int fa = cmn_input_open(ctx, what_a, path_a, max, flags, &sa);
	if (fa < 0)
		return fa;
	fb = cmn_input_open(ctx, what_b, path_b, max, flags, &sb);
	if (fb < 0) {
		r = fb;
		fb = -1;
		goto out;
	}
	a = malloc(STREAM_CHUNK);
	b = malloc(STREAM_CHUNK);
	if (!a || !b) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	bool same = true;
	const uint64_t common = sa < sb ? sa : sb;
	while (off < common && same) {
		size_t n = common - off < STREAM_CHUNK ? (size_t)(common - off) : STREAM_CHUNK;
		if ((r = cmn_file_pread(ctx, what_a, path_a, fa, off, a, n)) ||
		    (r = cmn_file_pread(ctx, what_b, path_b, fb, off, b, n)))
			goto out;
		if (!memcmp(a, b, n)) {
			off += n;
			continue;
		}
		size_t i = 0;
		while (a[i] == b[i])
			i++;
		off += i;
		same = false;
	}
	if (sa != sb)
		same = false;
	*ret_same = same;
	if (ret_off)
		*ret_off = same ? sa : off;
	if (ret_size_a)
		*ret_size_a = sa;
	if (ret_size_b)
		*ret_size_b = sb;
out:
	free(a);
	free(b);
	close(fa);
	if (fb >= 0)
		close(fb);
	return r;
}

int cmn_sha256_file(cvmf_ctx *ctx, const char *what, const char *path,
		     uint8_t out[32], uint64_t *ret_size)
{
	struct cmn_hasher *h = NULL;
	int r = cmn_hasher_new(ctx, CMN_SHA256, &h);
	if (!r)
		r = cmn_hash_file(ctx, what, path, &h, 1, &out, ret_size);
	cmn_hasher_free(h);
	return r;
}

int cmn_file_open(cvmf_ctx *ctx, const char *what, const char *path, uint64_t *ret_size)
{
	return cmn_input_open(ctx, what, path, CMN_MAX_STREAM, 0, ret_size);
}

int cmn_file_pread(cvmf_ctx *ctx, const char *what, const char *path, int fd, uint64_t off,
		    void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t got = pread(fd, p, len, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return cmn_error(ctx, CVMF_E_IO, "cannot read %s '%s': %s", what, path,
					  strerror(errno));
		if (got == 0)
			return cmn_error(ctx, CVMF_E_IO,
					  "%s '%s' ended at byte %llu while being read (did it change?)",
					  what, path, (unsigned long long)off);
		p += got;
		off += (uint64_t)got;
		len -= (size_t)got;
	}
	return 0;
}

int cmn_mkdir_p(cvmf_ctx *ctx, const char *path, unsigned mode)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return cmn_error(ctx, CVMF_E_INVAL, "unusable directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return cmn_error(ctx, CVMF_E_IO, "cannot create directory '%s': %s",
					  buf, strerror(errno));
		buf[i] = c;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return cmn_error(ctx, CVMF_E_IO, "'%s' is not a directory", path);
	return 0;
}
