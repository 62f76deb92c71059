/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Debian packages: resolved by apt, fetched by common/http.c, kept in a
 * content-addressed cache, and read with libarchive.
 *
 * Trust: apt resolves PACKAGE[=VERSION] against its signed indexes and
 * prints the URL and SHA256 of the .deb (`apt-get download --print-uris`);
 * we download it ourselves and accept it only if it hashes to what apt
 * said (and to the recipe's pin, when there is one). A pinned .deb already
 * in the cache is used without apt or the network.
 *
 * Cache layout (CACHE = $XDG_CACHE_HOME/cvmforge or ~/.cache/cvmforge):
 *   debs/<sha256>.deb                 the packages
 *   files/<sha256>                    files extracted from them
 *   index/<package>_<version>.deb     the hex sha256 of that package's .deb;
 *                                     ':' in the version is written "%3a",
 *                                     as apt names .deb files
 * Every file appears by rename(2) from a temporary file in the same
 * directory, so a crash leaves no half-written entry under a final name.
 *
 * Reading a .deb: it is an ar archive (debian-binary, control.tar.*,
 * data.tar.*); the tar member is read as a nested libarchive archive whose
 * read callback pulls from the outer archive, so nothing is held in memory
 * beyond two fixed buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "builder/builder.h"
#include "common/http.h"
#include "common/write.h"
#include "common/parse.h"
#include "common/path.h"

extern char **environ;

#define DEB_CHUNK (64u * 1024u)
/* What apt-get may print before we stop listening. */
#define APT_OUTPUT_MAX (1u << 20)
/* The control file of a package is small; this is generous. */
#define CONTROL_MAX (1u << 20)
#define LINK_HOPS 8
#define CONNECT_TIMEOUT 30L
/* Abort a transfer slower than 1 KiB/s (common/http.c) for this many seconds. */
#define LOW_SPEED_TIME 60L

/* ---- small helpers ---- */

static int fmt(cvmf_ctx *ctx, char *ret, size_t len, const char *f, ...)
	__attribute__((format(printf, 4, 5)));
static int fmt(cvmf_ctx *ctx, char *ret, size_t len, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(ret, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return cmn_error(ctx, CVMF_E_INVAL, "path too long: '%.64s...'", ret);
	return 0;
}

int bld_cache_dir(cvmf_ctx *ctx, char *ret, size_t len)
{
	char buf[4096];
	const char *x = getenv("XDG_CACHE_HOME");
	int r;
	/* The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored. */
	if (x && x[0] == '/') {
		r = fmt(ctx, buf, sizeof(buf), "%s/cvmforge", x);
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/')
			return cmn_error(ctx, CVMF_E_INVAL,
					  "cache: neither XDG_CACHE_HOME nor HOME is an absolute path");
		r = fmt(ctx, buf, sizeof(buf), "%s/.cache/cvmforge", home);
	}
	if (r)
		return r;
	/* Collapse "//" (XDG_CACHE_HOME=/x/ gives "/x//cvmforge"). */
	size_t o = 0;
	for (size_t i = 0; buf[i]; i++)
		if (!(buf[i] == '/' && o && buf[o - 1] == '/'))
			buf[o++] = buf[i];
	buf[o] = '\0';
	r = cmn_mkdir_p(ctx, buf, 0755);
	if (r)
		return r;
	if (o >= len)
		return cmn_error(ctx, CVMF_E_INVAL, "cache: '%s' does not fit in %zu bytes", buf, len);
	memcpy(ret, buf, o + 1);
	return 0;
}

/* Package names: Debian policy, by the rule recipes use (common/parse.h);
 * no ":arch" qualifier, and nothing that starts with '-': these strings
 * become apt-get arguments. */
static bool valid_package(const char *p)
{
	return cmn_deb_package_ok(p, strlen(p));
}

/* Versions: [epoch:]upstream[-revision] of [A-Za-z0-9.+~:-]. */
static bool valid_version(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= 100 || !(v[0] >= '0' && v[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '+' || c == '~' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* The version as apt writes it in a file name: ':' becomes "%3a". */
static void version_for_file(const char *v, char *out, size_t len)
{
	size_t o = 0;
	for (; *v && o + 4 < len; v++) {
		if (*v == ':') {
			memcpy(out + o, "%3a", 3);
			o += 3;
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
}

/* Undo apt's %XX escapes in a file-name field; false on a bad escape. */
static bool unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return false;
			int hi = cmn_hexval(s[i + 1]), lo = cmn_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= len)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

int bld_deb_parse_uri_line(cvmf_ctx *ctx, const char *line, struct bld_deb_uri *ret)
{
	struct bld_deb_uri u;
	memset(&u, 0, sizeof(u));
	size_t ll = strcspn(line, "\r\n");
	if (ll == 0 || line[0] != '\'')
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: expected 'URI' FILE SIZE SHA256:HEX, got '%.*s'",
				  (int)(ll > 200 ? 200 : ll), line);
	const char *q = memchr(line + 1, '\'', ll - 1);
	if (!q || q == line + 1 || (size_t)(q - line - 1) >= sizeof(u.uri))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: no quoted URI in '%.*s'",
				  (int)(ll > 200 ? 200 : ll), line);
	memcpy(u.uri, line + 1, (size_t)(q - line - 1));

	/* The three fields after the URI, separated by single spaces. */
	const char *f[3];
	size_t fl[3];
	const char *p = q + 1, *end = line + ll;
	for (int i = 0; i < 3; i++) {
		if (p >= end || *p != ' ')
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "apt-get --print-uris: expected FILE SIZE SHA256:HEX after the URI in '%.*s'",
					  (int)(ll > 200 ? 200 : ll), line);
		while (p < end && *p == ' ')
			p++;
		f[i] = p;
		while (p < end && *p != ' ')
			p++;
		fl[i] = (size_t)(p - f[i]);
		if (fl[i] == 0)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "apt-get --print-uris: missing field %d in '%.*s'", i + 2,
					  (int)(ll > 200 ? 200 : ll), line);
	}
	while (p < end && *p == ' ')
		p++;
	if (p != end)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: unexpected text after the hash in '%.*s'",
				  (int)(ll > 200 ? 200 : ll), line);

	/* FILE: PACKAGE_VERSION_ARCH.deb; none of the three may hold '_'. */
	if (fl[0] >= sizeof(u.file) || fl[0] < 5 || memcmp(f[0] + fl[0] - 4, ".deb", 4))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: '%.*s' is not a .deb file name",
				  (int)(fl[0] > 200 ? 200 : fl[0]), f[0]);
	memcpy(u.file, f[0], fl[0]);
	const char *u1 = memchr(u.file, '_', fl[0]);
	const char *u2 = u1 ? memchr(u1 + 1, '_', fl[0] - (size_t)(u1 + 1 - u.file)) : NULL;
	const char *dot = u.file + fl[0] - 4;
	if (!u1 || !u2 || memchr(u2 + 1, '_', (size_t)(dot - u2 - 1)) || u1 == u.file ||
	    u2 == u1 + 1 || dot == u2 + 1)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: '%s' is not PACKAGE_VERSION_ARCH.deb", u.file);
	size_t pl = (size_t)(u1 - u.file), al = (size_t)(dot - u2 - 1);
	if (pl >= sizeof(u.package) || al >= sizeof(u.arch))
		return cmn_error(ctx, CVMF_E_FORMAT, "apt-get --print-uris: '%s' has overlong fields",
				  u.file);
	memcpy(u.package, u.file, pl);
	memcpy(u.arch, u2 + 1, al);
	if (!unescape(u1 + 1, (size_t)(u2 - u1 - 1), u.version, sizeof(u.version)) ||
	    !valid_version(u.version) || !valid_package(u.package))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: '%s' has an invalid package name or version",
				  u.file);

	/* SIZE */
	char num[32];
	if (fl[1] >= sizeof(num))
		return cmn_error(ctx, CVMF_E_FORMAT, "apt-get --print-uris: size '%.*s' is too long",
				  (int)fl[1], f[1]);
	memcpy(num, f[1], fl[1]);
	num[fl[1]] = '\0';
	char *e;
	errno = 0;
	unsigned long long sz = strtoull(num, &e, 10);
	if (num[0] < '0' || num[0] > '9' || *e || errno)
		return cmn_error(ctx, CVMF_E_FORMAT, "apt-get --print-uris: bad size '%s' for %s",
				  num, u.file);
	u.size = sz;

	/* HASH: "SHA256:hex"; apt prints the strongest hash it has, and older
	 * versions or odd repositories may give only MD5Sum: or SHA1:. */
	static const char tag[] = "SHA256:";
	if (fl[2] != strlen(tag) + 64 || memcmp(f[2], tag, strlen(tag))) {
		const char *colon = memchr(f[2], ':', fl[2]);
		int tl = colon ? (int)(colon - f[2]) : (int)(fl[2] > 32 ? 32 : fl[2]);
		if (colon && (size_t)tl == strlen(tag) - 1 && !memcmp(f[2], tag, (size_t)tl))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "apt-get --print-uris: malformed SHA256 '%.*s' for %s",
					  (int)(fl[2] > 80 ? 80 : fl[2]), f[2], u.file);
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "apt gives no SHA256 for %s (only '%.*s'); refusing to download it unverified",
				  u.file, tl, f[2]);
	}
	char hex[65];
	memcpy(hex, f[2] + strlen(tag), 64);
	hex[64] = '\0';
	if (cvmf_unhex(hex, u.sha256, 32))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "apt-get --print-uris: malformed SHA256 '%s' for %s", hex, u.file);
	*ret = u;
	return 0;
}

/* ---- running apt-get ---- */

struct capture {
	char *buf;
	size_t len, cap;
};

static int capture_read(struct capture *c, int fd)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	/* Past the limit, keep draining but stop storing. */
	size_t keep = c->len + (size_t)n > APT_OUTPUT_MAX ? APT_OUTPUT_MAX - c->len : (size_t)n;
	if (c->len + keep + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + keep + 1)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b)
			return -1;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, tmp, keep);
	c->len += keep;
	c->buf[c->len] = '\0';
	return 1;
}

/* The first "E: " line of apt's stderr, else its first line, else "". */
static void apt_message(const char *err, char *out, size_t len)
{
	const char *l = NULL;
	for (const char *p = err; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "E: ", 3)) {
			l = p;
			break;
		}
	if (!l)
		l = err ? err : "";
	while (*l == '\n')
		l++;
	size_t n = strcspn(l, "\n");
	snprintf(out, len, "%.*s", (int)n, l);
}

/* Run apt-get download --print-uris SPEC in cwd with LC_ALL=C; its stdout
 * in *ret_out (caller frees). */
static int run_apt(cvmf_ctx *ctx, const char *spec, const char *cwd, char **ret_out)
{
	struct capture out = { NULL, 0, 0 }, err = { NULL, 0, 0 };
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	char **env = NULL;
	posix_spawn_file_actions_t fa;
	bool fa_init = false;
	pid_t pid = -1;
	int r = 0;

	size_t ne = 0;
	while (environ && environ[ne])
		ne++;
	env = calloc(ne + 2, sizeof(*env));
	if (!env)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "LC_ALL=", 7))
			env[k++] = environ[i];
	env[k++] = (char *)"LC_ALL=C";
	env[k] = NULL;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "apt-get: cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa)) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	fa_init = true;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, po[1], 1) ||
	    posix_spawn_file_actions_adddup2(&fa, pe[1], 2) ||
	    posix_spawn_file_actions_addchdir_np(&fa, cwd)) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	char *argv[] = { (char *)"apt-get", (char *)"download", (char *)"--print-uris",
			 (char *)spec, NULL };
	int se = posix_spawnp(&pid, "apt-get", &fa, NULL, argv, env);
	if (se) {
		pid = -1;
		if (se == ENOENT)
			r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
				       "cannot resolve '%s': apt-get is not in PATH (a Debian host with apt is needed, or pin the .deb's sha256 and pre-seed the cache)",
				       spec);
		else
			r = cmn_error(ctx, CVMF_E_IO, "cannot run apt-get for '%s': %s", spec,
				       strerror(se));
		goto out;
	}
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;

	struct pollfd pfd[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	struct capture *cap[2] = { &out, &err };
	int open_fds = 2;
	while (open_fds) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = cmn_error(ctx, CVMF_E_IO, "apt-get: poll: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int c = capture_read(cap[i], pfd[i].fd);
			if (c < 0) {
				r = cmn_error(ctx, CVMF_E_IO, "apt-get: reading its output failed");
				goto out;
			}
			if (c == 0) {
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			r = cmn_error(ctx, CVMF_E_IO, "apt-get: waitpid: %s", strerror(errno));
			goto out;
		}
	}
	pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char msg[300];
		apt_message(err.buf, msg, sizeof(msg));
		if (WIFEXITED(st))
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "apt-get cannot resolve '%s' (exit %d): %s", spec,
				       WEXITSTATUS(st), msg[0] ? msg : "no message");
		else
			r = cmn_error(ctx, CVMF_E_IO, "apt-get was killed by signal %d resolving '%s'",
				       WTERMSIG(st), spec);
		goto out;
	}
	if (!out.buf) {
		char msg[300];
		apt_message(err.buf, msg, sizeof(msg));
		r = cmn_error(ctx, CVMF_E_FORMAT, "apt-get printed no URI for '%s'%s%s", spec,
			       msg[0] ? ": " : "", msg);
		goto out;
	}
	*ret_out = out.buf;
	out.buf = NULL;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(out.buf);
	free(err.buf);
	free(env);
	return r;
}

/* ---- atomic files ---- */

/* Write data to dir/name through the one writer (common/write.h). */
static int write_atomic(cvmf_ctx *ctx, const char *dir, const char *name, const void *data,
			size_t len)
{
	char path[4096];
	int r = fmt(ctx, path, sizeof(path), "%s/%s", dir, name);
	return r ? r : cmn_write_file(ctx, "cache file", path, data, len, 0);
}

/* Move a finished temporary file to its content address; an existing
 * file of that name holds the same bytes, so the temporary one just goes. */
static int publish(cvmf_ctx *ctx, const char *tmp, const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cmn_error(ctx, CVMF_E_IO, "cache: cannot rename '%s' to '%s': %s", tmp,
				  path, strerror(e));
	}
	return 0;
}

/* ---- reading .deb files ---- */

struct deb_tar {
	struct archive *outer, *inner;
	uint8_t *nbuf;
	char member[64];        /* "data.tar.xz" */
};

static la_ssize_t nested_read(struct archive *a, void *user, const void **buf)
{
	struct deb_tar *t = user;
	la_ssize_t got = archive_read_data(t->outer, t->nbuf, DEB_CHUNK);
	if (got < 0) {
		archive_set_error(a, EIO, "%s",
				  archive_error_string(t->outer) ? archive_error_string(t->outer)
								 : "read error");
		return -1;
	}
	*buf = t->nbuf;
	return got;
}

static void deb_tar_close(struct deb_tar *t)
{
	if (t->inner)
		archive_read_free(t->inner);
	if (t->outer)
		archive_read_free(t->outer);
	free(t->nbuf);
	memset(t, 0, sizeof(*t));
}

static bool tar_member_name(const char *name, const char *base)
{
	static const char *const sfx[] = { "", ".xz", ".zst", ".gz", ".bz2", ".lzma" };
	size_t bl = strlen(base);
	if (strncmp(name, base, bl))
		return false;
	for (size_t i = 0; i < CMN_ARRAY_SIZE(sfx); i++)
		if (!strcmp(name + bl, sfx[i]))
			return true;
	return false;
}

/* Open the .deb at path and position a nested reader on its `base`
 * ("data.tar" or "control.tar") member, whatever its compression. */
static int deb_tar_open(cvmf_ctx *ctx, const char *path, const char *label, const char *base,
			struct deb_tar *t)
{
	memset(t, 0, sizeof(*t));
	t->nbuf = malloc(DEB_CHUNK);
	t->outer = archive_read_new();
	t->inner = archive_read_new();
	int r = 0;
	if (!t->nbuf || !t->outer || !t->inner) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto fail;
	}
	archive_read_support_format_ar(t->outer);
	if (archive_read_open_filename(t->outer, path, DEB_CHUNK) != ARCHIVE_OK) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "package %s ('%s'): not a readable .deb: %s",
			       label, path, archive_error_string(t->outer));
		goto fail;
	}
	for (;;) {
		struct archive_entry *ae;
		int ar = archive_read_next_header(t->outer, &ae);
		if (ar == ARCHIVE_EOF) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "package %s ('%s'): no %s.* member",
				       label, path, base);
			goto fail;
		}
		if (ar != ARCHIVE_OK) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "package %s ('%s'): not a readable .deb: %s",
				       label, path, archive_error_string(t->outer));
			goto fail;
		}
		const char *name = archive_entry_pathname(ae);
		if (name && tar_member_name(name, base)) {
			snprintf(t->member, sizeof(t->member), "%s", name);
			break;
		}
	}
	/* The compressions dpkg-deb writes (Debian's libarchive links all of
	 * their libraries); not filter_all, whose exotic filters may start an
	 * external program that would print. */
	archive_read_support_filter_gzip(t->inner);
	archive_read_support_filter_xz(t->inner);
	archive_read_support_filter_lzma(t->inner);
	archive_read_support_filter_bzip2(t->inner);
	archive_read_support_filter_zstd(t->inner);
	archive_read_support_format_tar(t->inner);
	if (archive_read_open(t->inner, t, NULL, nested_read, NULL) != ARCHIVE_OK) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "package %s ('%s'): cannot read %s: %s", label,
			       path, t->member, archive_error_string(t->inner));
		goto fail;
	}
	return 0;
fail:
	deb_tar_close(t);
	return r;
}

/* A path inside a package, by the rule of common/path.h with "." dropped
 * and ".." resolved within the package's root: "./usr/lib/../bin/x" is
 * "usr/bin/x" (written without the leading '/', as tar stores it; the root
 * is ""). False if it climbs above the root or does not fit in len. */
static bool norm_path(const char *in, char *out, size_t len)
{
	char *n = NULL;
	if (cmn_path_norm(in, CMN_PATH_RESOLVE | CMN_PATH_ROOT_OK, &n))
		return false;
	size_t l = strlen(n + 1);
	bool fits = l < len;
	if (fits)
		memcpy(out, n + 1, l + 1);
	free(n);
	return fits;
}

/* Where a symlink at `link` (normalised) pointing to `target` leads. */
static bool link_dest(const char *link, const char *target, char *out, size_t len)
{
	char tmp[8192];
	if (target[0] == '/') {
		return norm_path(target, out, len);
	}
	const char *slash = strrchr(link, '/');
	int n = slash ? snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)(slash - link), link, target)
		      : snprintf(tmp, sizeof(tmp), "%s", target);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return false;
	return norm_path(tmp, out, len);
}

enum scan_kind { SCAN_FILE, SCAN_LINK, SCAN_MISSING };

struct sink {
	int fd;                  /* -1: into mem */
	struct cmn_hasher *h;
	uint8_t *mem;            /* CONTROL_MAX bytes */
	size_t mem_len;
};

/* One pass over the package's data.tar looking for `want` (normalised).
 * A regular file is streamed into the sink; a symlink or hard link (on
 * `want` itself or on one of its parent directories) gives the path to
 * look for next in `next`. */
static int scan_once(cvmf_ctx *ctx, const char *path, const char *label, const char *base,
		     const char *member, const char *want, struct sink *s, char *next,
		     size_t next_len, enum scan_kind *ret)
{
	struct deb_tar t;
	uint8_t *buf = NULL;
	char name[4096];
	char via[4096] = "";     /* the shortest symlinked parent of want */
	char via_dest[4096] = "";
	int r = deb_tar_open(ctx, path, label, base, &t);
	if (r)
		return r;
	buf = s->fd >= 0 ? malloc(DEB_CHUNK) : NULL;
	if (s->fd >= 0 && !buf) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	size_t wl = strlen(want);
	for (;;) {
		struct archive_entry *ae;
		int ar = archive_read_next_header(t.inner, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "package %s ('%s'): %s: %s", label, path,
				       t.member, archive_error_string(t.inner));
			goto out;
		}
		const char *raw = archive_entry_pathname(ae);
		if (!raw || !norm_path(raw, name, sizeof(name)))
			continue;
		const char *hl = archive_entry_hardlink(ae);
		const char *sl = archive_entry_symlink(ae);
		mode_t type = archive_entry_filetype(ae);
		if (strcmp(name, want)) {
			size_t nl = strlen(name);
			if (sl && type == AE_IFLNK && nl < wl && want[nl] == '/' &&
			    !strncmp(want, name, nl) && (!via[0] || nl < strlen(via))) {
				char d[4096];
				if (!link_dest(name, sl, d, sizeof(d)))
					continue;
				snprintf(via, sizeof(via), "%s", name);
				if (snprintf(via_dest, sizeof(via_dest), "%s%s%s", d, d[0] ? "/" : "",
					     want + nl + 1) >= (int)sizeof(via_dest))
					via[0] = '\0';
			}
			continue;
		}
		if (hl) {
			if (!norm_path(hl, next, next_len)) {
				r = cmn_error(ctx, CVMF_E_FORMAT,
					       "package %s: member '%s' is a hard link to '%s', outside the package",
					       label, member, hl);
				goto out;
			}
			*ret = SCAN_LINK;
			goto out;
		}
		if (type == AE_IFLNK && sl) {
			if (!link_dest(name, sl, next, next_len)) {
				r = cmn_error(ctx, CVMF_E_FORMAT,
					       "package %s: member '%s': symlink '/%s' -> '%s' leads outside the package",
					       label, member, name, sl);
				goto out;
			}
			*ret = SCAN_LINK;
			goto out;
		}
		if (type == AE_IFDIR) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "package %s: member '%s' is a directory ('/%s'), not a file",
				       label, member, want);
			goto out;
		}
		if (type != AE_IFREG) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "package %s: member '%s' is not a regular file (type 0%o)", label,
				       member, (unsigned)type);
			goto out;
		}
		/* The file: stream it. */
		for (;;) {
			la_ssize_t got;
			if (s->fd >= 0) {
				got = archive_read_data(t.inner, buf, DEB_CHUNK);
			} else {
				if (s->mem_len == CONTROL_MAX) {
					r = cmn_error(ctx, CVMF_E_FORMAT,
						       "package %s: '%s' is larger than %u bytes",
						       label, member, CONTROL_MAX);
					goto out;
				}
				got = archive_read_data(t.inner, s->mem + s->mem_len,
							CONTROL_MAX - s->mem_len);
			}
			if (got < 0) {
				r = cmn_error(ctx, CVMF_E_FORMAT, "package %s ('%s'): member '%s': %s",
					       label, path, member, archive_error_string(t.inner));
				goto out;
			}
			if (got == 0)
				break;
			if (s->fd < 0) {
				s->mem_len += (size_t)got;
				continue;
			}
			if (cmn_hasher_update(s->h, buf, (size_t)got)) {
				r = cmn_error(ctx, CVMF_E_CRYPTO, "hashing failed");
				goto out;
			}
			for (la_ssize_t off = 0; off < got;) {
				ssize_t w = write(s->fd, buf + off, (size_t)(got - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					r = cmn_error(ctx, CVMF_E_IO,
						       "package %s: member '%s': cannot write to the cache: %s",
						       label, member, strerror(errno));
					goto out;
				}
				off += w;
			}
		}
		*ret = SCAN_FILE;
		goto out;
	}
	if (via[0] && via_dest[0]) {
		snprintf(next, next_len, "%s", via_dest);
		*ret = SCAN_LINK;
	} else {
		*ret = SCAN_MISSING;
	}
out:
	free(buf);
	deb_tar_close(&t);
	return r;
}

/* Find `member` in the package, following links (at most LINK_HOPS), and
 * stream it into the sink. */
static int deb_find(cvmf_ctx *ctx, const char *path, const char *label, const char *base,
		    const char *member, struct sink *s)
{
	char want[4096], next[4096];
	if (!norm_path(member, want, sizeof(want)) || !want[0])
		return cmn_error(ctx, CVMF_E_INVAL, "package %s: '%s' is not a usable member path",
				  label, member);
	for (int hop = 0;; hop++) {
		enum scan_kind k = SCAN_MISSING;
		int r = scan_once(ctx, path, label, base, member, want, s, next, sizeof(next), &k);
		if (r)
			return r;
		if (k == SCAN_FILE)
			return 0;
		if (k == SCAN_MISSING) {
			if (hop)
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "package %s: member '%s' is a link to '/%s', which is not in the package",
						  label, member, want);
			return cmn_error(ctx, CVMF_E_FORMAT, "package %s: no member '%s' in %s",
					  label, member, base);
		}
		if (hop == LINK_HOPS)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "package %s: member '%s': more than %d links to follow (a symlink loop?)",
					  label, member, LINK_HOPS);
		snprintf(want, sizeof(want), "%s", next);
		if (!want[0])
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "package %s: member '%s' is a link to the package's root",
					  label, member);
	}
}

static const char *deb_label(const struct bld_deb *deb)
{
	if (deb->file[0])
		return deb->file;
	const char *s = strrchr(deb->path, '/');
	return s ? s + 1 : deb->path;
}

static int cache_subdir(cvmf_ctx *ctx, const char *cache, const char *sub, char *ret,
			size_t len)
{
	int r = fmt(ctx, ret, len, "%s/%s", cache, sub);
	return r ? r : cmn_mkdir_p(ctx, ret, 0755);
}

int bld_deb_extract(cvmf_ctx *ctx, const char *cache_dir, const struct bld_deb *deb,
		    const char *member, char *ret_path, size_t ret_path_len,
		    uint8_t ret_sha256[32])
{
	char cache[4096], files[4096], tmp[4096], final[4096], hex[65];
	struct sink s = { -1, NULL, NULL, 0 };
	uint8_t digest[32];
	int r, slot = -1;

	if (!cache_dir) {
		r = bld_cache_dir(ctx, cache, sizeof(cache));
		if (r)
			return r;
		cache_dir = cache;
	}
	r = cache_subdir(ctx, cache_dir, "files", files, sizeof(files));
	if (!r)
		r = fmt(ctx, tmp, sizeof(tmp), "%s/.tmp-XXXXXX", files);
	if (r)
		return r;
	r = cmn_hasher_new(ctx, CMN_SHA256, &s.h);
	if (r)
		return r;
	s.fd = mkstemp(tmp);
	if (s.fd < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cache: cannot create a file in '%s': %s", files,
			       strerror(errno));
		goto out;
	}
	slot = cmn_tmp_register(tmp, false);
	r = deb_find(ctx, deb->path, deb_label(deb), "data.tar", member, &s);
	if (r)
		goto out;
	if (cmn_hasher_final(s.h, digest)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "hashing failed");
		goto out;
	}
	if (fchmod(s.fd, 0644) < 0 || close(s.fd) < 0) {
		s.fd = -1;
		r = cmn_error(ctx, CVMF_E_IO, "cache: cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	s.fd = -1;
	cvmf_hex(digest, 32, hex);
	r = fmt(ctx, final, sizeof(final), "%s/%s", files, hex);
	if (r)
		goto out;
	if (strlen(final) >= ret_path_len) {
		r = cmn_error(ctx, CVMF_E_INVAL, "cache: '%s' does not fit in %zu bytes", final,
			       ret_path_len);
		goto out;
	}
	r = publish(ctx, tmp, final);
	tmp[0] = '\0';
	if (r)
		goto out;
	memcpy(ret_path, final, strlen(final) + 1);
	memcpy(ret_sha256, digest, 32);
out:
	if (s.fd >= 0)
		close(s.fd);
	if (r && tmp[0] && s.h)
		unlink(tmp);
	cmn_tmp_unregister(slot);
	cmn_hasher_free(s.h);
	return r;
}

/* Package, Version and Architecture from a .deb's control file. */
struct control {
	char package[128], version[128], arch[32];
};

static void control_field(const char *d, size_t n, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	out[0] = '\0';
	for (size_t i = 0; i < n;) {
		const char *l = d + i;
		const char *nl = memchr(l, '\n', n - i);
		size_t ll = nl ? (size_t)(nl - l) : n - i;
		if (ll > kl && !memcmp(l, key, kl) && l[kl] == ':') {
			size_t a = kl + 1;
			while (a < ll && (l[a] == ' ' || l[a] == '\t'))
				a++;
			size_t b = ll;
			while (b > a && (l[b - 1] == ' ' || l[b - 1] == '\t' || l[b - 1] == '\r'))
				b--;
			if (b - a < len) {
				memcpy(out, l + a, b - a);
				out[b - a] = '\0';
			}
			return;
		}
		i += ll + 1;
	}
}

static int read_control(cvmf_ctx *ctx, const char *path, const char *label, struct control *c)
{
	struct sink s = { -1, NULL, malloc(CONTROL_MAX), 0 };
	if (!s.mem)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	int r = deb_find(ctx, path, label, "control.tar", "control", &s);
	if (!r) {
		control_field((char *)s.mem, s.mem_len, "Package", c->package, sizeof(c->package));
		control_field((char *)s.mem, s.mem_len, "Version", c->version, sizeof(c->version));
		control_field((char *)s.mem, s.mem_len, "Architecture", c->arch, sizeof(c->arch));
		if (!valid_package(c->package) || !valid_version(c->version) || !c->arch[0])
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "package %s ('%s'): the control file lacks a valid Package, Version or Architecture",
				       label, path);
	}
	free(s.mem);
	return r;
}

/* ---- downloading (common/http.c) ---- */

/* The body goes to the temporary file and through SHA-256 as it arrives. */
struct dl {
	int fd;
	struct cmn_hasher *h;
	const char *package, *tmp;
};

static int dl_sink(void *user, cvmf_ctx *ctx, const void *buf, size_t n)
{
	struct dl *d = user;
	if (cmn_hasher_update(d->h, buf, n))
		return cmn_error(ctx, CVMF_E_CRYPTO, "download of %s: hashing failed", d->package);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(d->fd, (const char *)buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cmn_error(ctx, CVMF_E_IO, "download of %s: cannot write '%s': %s",
					  d->package, d->tmp, strerror(w < 0 ? errno : ENOSPC));
		off += (size_t)w;
	}
	return 0;
}

/* Download u->uri into a temporary file in debs/, check size and SHA256
 * against apt's, and move it to debs/<sha256>.deb. */
static int download(cvmf_ctx *ctx, const char *debs, const struct bld_deb_uri *u,
		    const char *package, bld_progress_fn progress, void *progress_user,
		    const char *final)
{
	char tmp[4096], what[160];
	char want_hex[65], got_hex[65];
	uint8_t digest[32];
	struct dl d = { .fd = -1, .package = package, .tmp = tmp };
	int r, slot = -1;

	if (strncmp(u->uri, "http://", 7) && strncmp(u->uri, "https://", 8) &&
	    strncmp(u->uri, "file://", 7))
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "%s: apt's URI '%s' is not http, https or file", u->file, u->uri);
	snprintf(what, sizeof(what), "download %s", package);
	r = fmt(ctx, tmp, sizeof(tmp), "%s/.tmp-XXXXXX", debs);
	if (r)
		return r;
	r = cmn_hasher_new(ctx, CMN_SHA256, &d.h);
	if (r)
		return r;
	d.fd = mkstemp(tmp);
	if (d.fd < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cache: cannot create a file in '%s': %s", debs,
			       strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	slot = cmn_tmp_register(tmp, false);   /* removed on SIGINT/SIGTERM */
	const struct cmn_http_req req = {
		.url = u->uri, .what = what, .protocols = "http,https,file",
		.max_response = u->size, .connect_timeout_s = CONNECT_TIMEOUT,
		.stall_s = LOW_SPEED_TIME, .progress = progress, .progress_user = progress_user,
		.expected_size = u->size, .sink = dl_sink, .sink_user = &d,
	};
	long status = 0;
	uint8_t *err_body = NULL;
	size_t got = 0;
	r = cmn_http(ctx, &req, &status, &err_body, &got);
	free(err_body);
	if (r == CVMF_E_FORMAT)
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "download of %s from %s: the server sent more than apt's %llu bytes",
			       package, u->uri, (unsigned long long)u->size);
	if (r)
		goto out;
	/* file:// has no status; anything but 200 from a server is a failure. */
	if (status != 0 && status != 200) {
		r = cmn_error(ctx, CVMF_E_IO, "download of %s from %s failed: HTTP status %ld",
			       package, u->uri, status);
		goto out;
	}
	off_t size = lseek(d.fd, 0, SEEK_CUR);
	if (size < 0 || (uint64_t)size != u->size) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "download of %s from %s: got %llu bytes, apt says %llu", package,
			       u->uri, (unsigned long long)(size < 0 ? 0 : size),
			       (unsigned long long)u->size);
		goto out;
	}
	if (cmn_hasher_final(d.h, digest)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "hashing failed");
		goto out;
	}
	if (memcmp(digest, u->sha256, 32)) {
		cvmf_hex(u->sha256, 32, want_hex);
		cvmf_hex(digest, 32, got_hex);
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "download of %s from %s: apt's index says sha256 %s, got %s", package,
			       u->uri, want_hex, got_hex);
		goto out;
	}
	if (fchmod(d.fd, 0644) < 0 || fsync(d.fd) < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cache: cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	int fd = d.fd;
	d.fd = -1;
	if (close(fd) < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cache: cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	r = publish(ctx, tmp, final);
	tmp[0] = '\0';
out:
	if (d.fd >= 0)
		close(d.fd);
	if (tmp[0] && r)
		unlink(tmp);
	cmn_tmp_unregister(slot);
	cmn_hasher_free(d.h);
	return r;
}

/* Whether a package is the one requested (names carry no ":arch"). */
static bool same_package(const char *requested, const char *actual)
{
	return !strcmp(requested, actual);
}

/* A cached .deb at `path` that hashes to `sha`: fill ret from its control
 * file, refusing one that is not the requested package or version. */
static int use_cached(cvmf_ctx *ctx, const char *path, const char *package,
		      const char *version, const uint8_t sha[32], struct bld_deb *ret)
{
	struct control c;
	char hex[65], vf[128];
	cvmf_hex(sha, 32, hex);
	const char *base = strrchr(path, '/');
	int r = read_control(ctx, path, base ? base + 1 : path, &c);
	if (r)
		return r;
	if (!same_package(package, c.package) || (version && strcmp(version, c.version)))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the .deb with sha256 %s is %s %s, not the requested %s %s", hex,
				  c.package, c.version, package, version ? version : "(any version)");
	struct bld_deb d;
	memset(&d, 0, sizeof(d));
	version_for_file(c.version, vf, sizeof(vf));
	snprintf(d.package, sizeof(d.package), "%s", c.package);
	snprintf(d.version, sizeof(d.version), "%s", c.version);
	if (fmt(ctx, d.file, sizeof(d.file), "%s_%s_%s.deb", c.package, vf, c.arch) ||
	    fmt(ctx, d.path, sizeof(d.path), "%s", path))
		return CVMF_E_INVAL;
	memcpy(d.sha256, sha, 32);
	d.downloaded = false;
	*ret = d;
	return 0;
}

/* debs/<hex>.deb exists and hashes to sha: 1; absent: 0 (a corrupt entry
 * is removed and counts as absent); or an error. */
static int cached_ok(cvmf_ctx *ctx, const char *path, const uint8_t sha[32])
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return cmn_error(ctx, CVMF_E_IO, "cache: cannot stat '%s': %s", path,
				  strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return cmn_error(ctx, CVMF_E_IO, "cache: '%s' is not a regular file", path);
	uint8_t d[32];
	int r = cmn_sha256_file(ctx, "cached package", path, d, NULL);
	if (r)
		return r;
	if (memcmp(d, sha, 32)) {
		unlink(path);
		return 0;
	}
	return 1;
}

int bld_deb_fetch(cvmf_ctx *ctx, const char *cache_dir, const char *package,
		  const char *version, const uint8_t *want_sha256, bld_progress_fn progress,
		  void *progress_user, struct bld_deb *ret)
{
	char cache[4096], debs[4096], index[4096], path[4096], spec[256], hex[65], hex2[65];
	char name[300], vf[128];
	char *out = NULL;
	struct bld_deb_uri u;
	int r;

	if (!package || !valid_package(package))
		return cmn_error(ctx, CVMF_E_INVAL, "'%s' is not a Debian package name",
				  package ? package : "(null)");
	if (version && !valid_version(version))
		return cmn_error(ctx, CVMF_E_INVAL, "package %s: '%s' is not a Debian version",
				  package, version);
	if (!cache_dir) {
		r = bld_cache_dir(ctx, cache, sizeof(cache));
		if (r)
			return r;
		cache_dir = cache;
	}
	r = cache_subdir(ctx, cache_dir, "debs", debs, sizeof(debs));
	if (!r)
		r = cache_subdir(ctx, cache_dir, "index", index, sizeof(index));
	if (r)
		return r;

	/* A pinned package already in the cache: no apt, no network. */
	if (want_sha256) {
		cvmf_hex(want_sha256, 32, hex);
		r = fmt(ctx, path, sizeof(path), "%s/%s.deb", debs, hex);
		if (r)
			return r;
		r = cached_ok(ctx, path, want_sha256);
		if (r < 0)
			return r;
		if (r == 1)
			return use_cached(ctx, path, package, version, want_sha256, ret);
	}

	r = fmt(ctx, spec, sizeof(spec), "%s%s%s", package, version ? "=" : "",
		version ? version : "");
	if (!r)
		r = run_apt(ctx, spec, debs, &out);
	if (r)
		return r;
	/* One package asked, one line expected; ignore anything that is not a URI line. */
	const char *line = out;
	while (line && *line && *line != '\'') {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (!line || !*line) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "apt-get printed no URI for '%s': '%.200s'", spec,
			       out);
		goto out;
	}
	r = bld_deb_parse_uri_line(ctx, line, &u);
	if (r)
		goto out;
	if (!same_package(package, u.package) || (version && strcmp(version, u.version))) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "apt resolved '%s' to %s %s", spec, u.package,
			       u.version);
		goto out;
	}
	if (want_sha256 && memcmp(want_sha256, u.sha256, 32)) {
		cvmf_hex(u.sha256, 32, hex2);
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "package %s %s: pinned sha256 %s, got %s from apt's index (%s)",
			       u.package, u.version, hex, hex2, u.file);
		goto out;
	}
	cvmf_hex(u.sha256, 32, hex2);
	r = fmt(ctx, path, sizeof(path), "%s/%s.deb", debs, hex2);
	if (r)
		goto out;
	r = cached_ok(ctx, path, u.sha256);
	if (r < 0)
		goto out;
	bool downloaded = r == 0;
	if (downloaded) {
		r = download(ctx, debs, &u, package, progress, progress_user, path);
		if (r)
			goto out;
	}
	/* The index, for people and tools looking at the cache. */
	version_for_file(u.version, vf, sizeof(vf));
	char line_out[66];
	snprintf(line_out, sizeof(line_out), "%s\n", hex2);
	r = fmt(ctx, name, sizeof(name), "%s_%s.deb", u.package, vf);
	if (!r)
		r = write_atomic(ctx, index, name, line_out, 65);
	if (r)
		goto out;

	struct bld_deb d;
	memset(&d, 0, sizeof(d));
	snprintf(d.package, sizeof(d.package), "%s", u.package);
	snprintf(d.version, sizeof(d.version), "%s", u.version);
	snprintf(d.file, sizeof(d.file), "%s", u.file);
	snprintf(d.path, sizeof(d.path), "%s", path);
	memcpy(d.sha256, u.sha256, 32);
	d.downloaded = downloaded;
	*ret = d;
out:
	free(out);
	return r;
}
