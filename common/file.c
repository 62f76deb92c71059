/* SPDX-License-Identifier: Apache-2.0 */
/* Safe file input: whole small files, and constant-memory hashing of big ones. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Large inputs are hashed through this much buffer, whatever their size. */
#define STREAM_CHUNK (256u * 1024u)

static int open_regular(cvmf_ctx *ctx, const char *what, const char *path,
			struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cvmf_error(ctx, CVMF_E_IO, "cannot open %s '%s': %s", what, path,
				  strerror(errno));
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return cvmf_error(ctx, CVMF_E_IO, "cannot stat %s '%s': %s", what, path,
				  strerror(e));
	}
	if (S_ISDIR(st->st_mode)) {
		close(fd);
		return cvmf_error(ctx, CVMF_E_IO, "%s '%s' is a directory", what, path);
	}
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
			return cvmf_error(ctx, CVMF_E_IO, "cannot read %s '%s': %s", what, path,
					  strerror(errno));
	}
}

int cvmf_read_file(cvmf_ctx *ctx, const char *what, const char *path, size_t max,
		   uint8_t **ret_buf, size_t *ret_len)
{
	struct stat st;
	int fd = open_regular(ctx, what, path, &st);
	if (fd < 0)
		return fd;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		close(fd);
		return cvmf_error(ctx, CVMF_E_INVAL,
				  "%s '%s' is %lld bytes, more than the %zu accepted",
				  what, path, (long long)st.st_size, max);
	}
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	uint8_t *buf = malloc(cap);
	size_t len = 0;
	int r = 0;
	if (!buf) {
		r = cvmf_error(ctx, CVMF_E_NOMEM, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				r = cvmf_error(ctx, CVMF_E_INVAL,
					       "%s '%s' is larger than the %zu bytes accepted",
					       what, path, max);
				goto out;
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				r = cvmf_error(ctx, CVMF_E_NOMEM, "out of memory reading %s '%s'",
					       what, path);
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read_chunk(ctx, what, path, fd, buf + len, cap - len);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		r = cvmf_error(ctx, CVMF_E_INVAL, "%s '%s' is larger than the %zu bytes accepted",
			       what, path, max);
		goto out;
	}
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int cvmf_hash_file(cvmf_ctx *ctx, const char *what, const char *path,
		   struct cvmf_hasher *const *h, size_t n_hashers, uint8_t *const *out,
		   uint64_t *ret_size)
{
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t total = 0;
	int fd = open_regular(ctx, what, path, &st);
	if (fd < 0)
		return fd;
	int r = 0;
	buf = malloc(STREAM_CHUNK);
	if (!buf) {
		r = cvmf_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	for (size_t i = 0; i < n_hashers; i++)
		if (cvmf_hasher_reset(h[i]))
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
			if (cvmf_hasher_update(h[i], buf, (size_t)n))
				goto crypto;
		total += (uint64_t)n;
	}
	for (size_t i = 0; i < n_hashers; i++)
		if (cvmf_hasher_final(h[i], out[i]))
			goto crypto;
	if (ret_size)
		*ret_size = total;
	goto out;
crypto:
	r = cvmf_error(ctx, CVMF_E_CRYPTO, "hashing failed on %s '%s'", what, path);
out:
	free(buf);
	close(fd);
	return r;
}

int cvmf_sha256_file(cvmf_ctx *ctx, const char *what, const char *path,
		     uint8_t out[32], uint64_t *ret_size)
{
	struct cvmf_hasher *h = NULL;
	int r = cvmf_hasher_new(ctx, CVMF_SHA256, &h);
	if (!r)
		r = cvmf_hash_file(ctx, what, path, &h, 1, &out, ret_size);
	cvmf_hasher_free(h);
	return r;
}

int cvmf_file_open(cvmf_ctx *ctx, const char *what, const char *path, uint64_t *ret_size)
{
	struct stat st;
	int fd = open_regular(ctx, what, path, &st);
	if (fd < 0)
		return fd;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cvmf_error(ctx, CVMF_E_IO, "%s '%s' is not a regular file", what, path);
	}
	*ret_size = (uint64_t)st.st_size;
	return fd;
}

int cvmf_file_pread(cvmf_ctx *ctx, const char *what, const char *path, int fd, uint64_t off,
		    void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t got = pread(fd, p, len, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return cvmf_error(ctx, CVMF_E_IO, "cannot read %s '%s': %s", what, path,
					  strerror(errno));
		if (got == 0)
			return cvmf_error(ctx, CVMF_E_IO,
					  "%s '%s' ended at byte %llu while being read (did it change?)",
					  what, path, (unsigned long long)off);
		p += got;
		off += (uint64_t)got;
		len -= (size_t)got;
	}
	return 0;
}

int cvmf_mkdir_p(cvmf_ctx *ctx, const char *path, unsigned mode)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return cvmf_error(ctx, CVMF_E_INVAL, "unusable directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return cvmf_error(ctx, CVMF_E_IO, "cannot create directory '%s': %s",
					  buf, strerror(errno));
		buf[i] = c;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return cvmf_error(ctx, CVMF_E_IO, "'%s' is not a directory", path);
	return 0;
}
