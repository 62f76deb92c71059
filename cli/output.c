/* SPDX-License-Identifier: Apache-2.0 */
/* Files the CLI writes: whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int write_file_atomic(const char *path, const void *buf, size_t len)
{
	/* A temporary file beside the target, renamed over it once complete:
	 * a reader never sees half a file, and a failure leaves none. */
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp)
		return fail("out of memory writing '%s'", path);
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return fail("cannot create '%s': %s", path, strerror(e));
	}
	const char *p = buf;
	size_t left = len;
	int err = 0;
	while (left && !err) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err = errno;
		else {
			p += w;
			left -= (size_t)w;
		}
	}
	mode_t mask = umask(0);
	umask(mask);
	if (!err && fchmod(fd, 0666 & ~mask) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		unlink(tmp);
		free(tmp);
		return fail("cannot write '%s': %s", path, strerror(err));
	}
	free(tmp);
	return EXIT_OK_;
}
