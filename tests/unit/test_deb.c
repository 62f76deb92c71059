/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Debian packages (builder/deb.c).
 *
 * Real .deb files are built here with dpkg-deb (xz, zstd, gzip and no
 * compression) from a tree holding a nested directory, a hard link,
 * relative, absolute and chained symlinks, a symlinked directory, a loop,
 * a link out of the package and a dangling one. Fetching is tested three
 * ways: from a pre-seeded cache with apt-get out of PATH; through a fake
 * apt-get that prints a file:// URI (the whole download path without a
 * network: libcurl, hashing, the index, the second fetch from the cache,
 * apt's errors, digest mismatches); and, when apt and the network work,
 * a real download of Debian 12's `hello`.
 */
#include <dirent.h>
#include <time.h>

#include "tests/unit/testlib.h"
#include "common/internal.h"
#include "builder/builder.h"

#define PKG "cvmf-test"
#define PKG_VERSION "1:2.0-1"
#define PKG_FILE "cvmf-test_1%3a2.0-1_all.deb"
#define HELLO_TEXT "#!/bin/sh\necho hello from cvmforge\n"

static char *path2(const char *a, const char *b)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

static void mkdirs(const char *root, const char *rel)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "mkdir -p '%s/%s'", root, rel) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void put(const char *root, const char *rel, const void *data, size_t n, mode_t mode)
{
	char *p = path2(root, rel);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void lnk(const char *root, const char *rel, const char *target)
{
	char *p = path2(root, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/* 300 KiB of pseudo-random bytes: several read chunks. */
static uint8_t *big_data(size_t *n)
{
	*n = 300 * 1024 + 17;
	uint8_t *b = malloc(*n);
	assert_non_null(b);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < *n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
	return b;
}

static bool have_dpkg_deb(void)
{
	if (access("/usr/bin/dpkg-deb", X_OK) == 0)
		return true;
	printf("# SKIP reason: dpkg-deb is not installed (needed to build test packages)\n");
	return false;
}

/* The package tree under dir/pkg. */
static char *make_tree(const char *dir)
{
	char *root = path2(dir, "pkg");
	mkdirs(root, "DEBIAN");
	mkdirs(root, "usr/bin");
	mkdirs(root, "usr/share/deep/a/b/c");
	mkdirs(root, "bin");
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "chmod -R 0755 '%s'", root) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	static const char control[] = "Package: " PKG "\nVersion: " PKG_VERSION "\n"
				      "Architecture: all\nMaintainer: Test <test@example.org>\n"
				      "Description: cvmforge test package\n";
	put(root, "DEBIAN/control", control, strlen(control), 0644);
	put(root, "usr/bin/hello", HELLO_TEXT, strlen(HELLO_TEXT), 0755);
	char *a = path2(root, "usr/bin/hello"), *b = path2(root, "usr/bin/hello-hard");
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
	size_t n;
	uint8_t *big = big_data(&n);
	put(root, "usr/share/deep/a/b/c/data.bin", big, n, 0644);
	free(big);
	lnk(root, "bin/rel", "../usr/bin/hello");
	lnk(root, "bin/abs", "/usr/bin/hello");
	lnk(root, "bin/chain", "rel");
	lnk(root, "bin/dirlink", "../usr/share");
	lnk(root, "bin/escape", "../../../etc/passwd");
	lnk(root, "bin/dangling", "/nonexistent");
	lnk(root, "bin/loop1", "loop2");
	lnk(root, "bin/loop2", "./loop1");
	lnk(root, "lib64", "usr/share/deep");
	return root;
}

/* dpkg-deb -Z<comp> -b the tree into dir/<comp>.deb. */
static char *build_deb(const char *dir, const char *root, const char *comp)
{
	char *out = NULL, *z = NULL;
	assert_true(asprintf(&out, "%s/%s.deb", dir, comp) > 0);
	assert_true(asprintf(&z, "-Z%s", comp) > 0);
	char *argv[] = { "/usr/bin/dpkg-deb", "--root-owner-group", z, "-b", (char *)root, out,
			 NULL };
	struct run r = t_run(argv);
	if (r.status != 0)
		fail_msg("dpkg-deb %s failed: %s", z, r.err);
	t_run_free(&r);
	free(z);
	return out;
}

/* Entries of a directory; *tmp counts those named like temporary files. */
static size_t count_entries(const char *path, size_t *tmp)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	size_t n = 0;
	*tmp = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n++;
		if (strstr(de->d_name, "tmp"))
			(*tmp)++;
	}
	closedir(d);
	return n;
}

static struct bld_deb deb_at(const char *path)
{
	struct bld_deb d;
	memset(&d, 0, sizeof(d));
	snprintf(d.path, sizeof(d.path), "%s", path);
	snprintf(d.file, sizeof(d.file), "%s", PKG_FILE);
	return d;
}

static void file_sha256(const char *path, uint8_t out[32], size_t *n)
{
	char *b = t_slurp(path, n);
	t_sha256(b, *n, out);
	free(b);
}

/* Extract and check the bytes, the digest and the cache path. */
static void expect_member(cvmf_ctx *ctx, const char *cache, const struct bld_deb *d,
			  const char *member, const void *want, size_t want_len)
{
	char path[4096], hex[65], *exp = NULL;
	uint8_t sha[32], w[32];
	if (bld_deb_extract(ctx, cache, d, member, path, sizeof(path), sha))
		fail_msg("%s: %s", member, cvmf_ctx_errmsg(ctx));
	t_sha256(want, want_len, w);
	assert_memory_equal(sha, w, 32);
	cvmf_hex(w, 32, hex);
	assert_true(asprintf(&exp, "%s/files/%s", cache, hex) > 0);
	assert_string_equal(path, exp);
	free(exp);
	size_t n;
	char *got = t_slurp(path, &n);
	assert_int_equal(n, want_len);
	assert_memory_equal(got, want, n);
	free(got);
}

static void expect_error(cvmf_ctx *ctx, const char *cache, const struct bld_deb *d,
			 const char *member, const char *what)
{
	char path[4096] = "untouched";
	uint8_t sha[32];
	int r = bld_deb_extract(ctx, cache, d, member, path, sizeof(path), sha);
	if (r == 0)
		fail_msg("%s: extracted, expected '%s'", member, what);
	assert_int_equal(r, CVMF_E_FORMAT);
	const char *msg = cvmf_ctx_errmsg(ctx);
	if (!strstr(msg, what) || !strstr(msg, member) || !strstr(msg, PKG_FILE))
		fail_msg("%s: message '%s' should name the package, the member and say '%s'",
			 member, msg, what);
	assert_string_equal(path, "untouched");
}

static void test_extract(void **state)
{
	(void)state;
	if (!have_dpkg_deb())
		skip();
	char *dir = t_tmpdir();
	char *root = make_tree(dir);
	char *cache = path2(dir, "cache");
	size_t bign;
	uint8_t *big = big_data(&bign);
	static const char *const comps[] = { "xz", "zstd", "gzip", "none" };
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t i = 0; i < CMN_ARRAY_SIZE(comps); i++) {
		char *deb = build_deb(dir, root, comps[i]);
		struct bld_deb d = deb_at(deb);
		expect_member(ctx, cache, &d, "/usr/bin/hello", HELLO_TEXT, strlen(HELLO_TEXT));
		expect_member(ctx, cache, &d, "usr/bin/hello", HELLO_TEXT, strlen(HELLO_TEXT));
		expect_member(ctx, cache, &d, "/usr/share/deep/a/b/c/data.bin", big, bign);
		expect_member(ctx, cache, &d, "/usr/bin/hello-hard", HELLO_TEXT, strlen(HELLO_TEXT));
		expect_member(ctx, cache, &d, "/bin/rel", HELLO_TEXT, strlen(HELLO_TEXT));
		expect_member(ctx, cache, &d, "/bin/abs", HELLO_TEXT, strlen(HELLO_TEXT));
		expect_member(ctx, cache, &d, "/bin/chain", HELLO_TEXT, strlen(HELLO_TEXT));
		expect_member(ctx, cache, &d, "/bin/dirlink/deep/a/b/c/data.bin", big, bign);
		expect_member(ctx, cache, &d, "/lib64/a/b/c/data.bin", big, bign);

		expect_error(ctx, cache, &d, "/usr/bin/nope", "no member");
		expect_error(ctx, cache, &d, "/bin/loop1", "more than 8 links");
		expect_error(ctx, cache, &d, "/usr/share/deep", "is a directory");
		expect_error(ctx, cache, &d, "/bin/dirlink", "is a directory");
		expect_error(ctx, cache, &d, "/bin/escape", "outside the package");
		expect_error(ctx, cache, &d, "/bin/dangling", "not in the package");
		free(deb);
	}
	/* Only content-addressed files in files/: no temporary ones left. */
	size_t tmp;
	char *files = path2(cache, "files");
	assert_int_equal(count_entries(files, &tmp), 2);
	assert_int_equal(tmp, 0);
	free(files);

	/* Not a .deb. */
	char *junk = t_write(dir, "junk.deb", "!<arch>\nnonsense", 16);
	struct bld_deb d = deb_at(junk);
	char path[4096];
	uint8_t sha[32];
	assert_int_equal(bld_deb_extract(ctx, cache, &d, "/x", path, sizeof(path), sha),
			 CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), PKG_FILE));
	free(junk);
	cvmf_ctx_free(ctx);
	free(big);
	free(cache);
	free(root);
	t_rmrf(dir);
	free(dir);
}

/* ---- the --print-uris line ---- */

static void test_parse_uri_line(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct bld_deb_uri u;
	static const char bb[] =
		"'http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4%2bdeb12u1%2bb1_amd64.deb' "
		"busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb 928188 "
		"SHA256:3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744\n";
	assert_int_equal(bld_deb_parse_uri_line(ctx, bb, &u), 0);
	assert_string_equal(u.uri, "http://deb.debian.org/debian/pool/main/b/busybox/"
				   "busybox-static_1.35.0-4%2bdeb12u1%2bb1_amd64.deb");
	assert_string_equal(u.file, "busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb");
	assert_string_equal(u.package, "busybox-static");
	assert_string_equal(u.version, "1:1.35.0-4+deb12u1+b1");
	assert_string_equal(u.arch, "amd64");
	assert_int_equal(u.size, 928188);
	char hex[65];
	cvmf_hex(u.sha256, 32, hex);
	assert_string_equal(hex, "3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744");

	static const char hello[] =
		"'http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb' "
		"hello_2.10-3_amd64.deb 53080 "
		"SHA256:2E6E2F1A0007DC43BC91C273FD36E91E40A4F1C2765A03ECA68B70A42103878A";
	assert_int_equal(bld_deb_parse_uri_line(ctx, hello, &u), 0);
	assert_string_equal(u.package, "hello");
	assert_string_equal(u.version, "2.10-3");
	assert_int_equal(u.size, 53080);
	cvmf_hex(u.sha256, 32, hex);
	assert_string_equal(hex, "2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a");

	static const char file_uri[] = "'file:/srv/mirror/pool/x/x_1.0_all.deb' x0_1.0~rc1_all.deb 1 "
				       "SHA256:0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(bld_deb_parse_uri_line(ctx, file_uri, &u), 0);
	assert_string_equal(u.package, "x0");
	assert_string_equal(u.version, "1.0~rc1");

	/* An older apt or a repository without SHA256: refused, naming what it has. */
	static const char md5[] = "'http://x/y/hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53080 "
				  "MD5Sum:52a4a0ae5e5d6e5d5cb0fb2bbd8bd0b4";
	assert_int_equal(bld_deb_parse_uri_line(ctx, md5, &u), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "no SHA256"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "MD5Sum"));
	static const char bare[] = "'http://x/y/hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53080 "
				   "52a4a0ae5e5d6e5d5cb0fb2bbd8bd0b4";
	assert_int_equal(bld_deb_parse_uri_line(ctx, bare, &u), CVMF_E_UNSUPPORTED);

	static const char *const bad[] = {
		"",
		"http://x/hello_2.10-3_amd64.deb hello_2.10-3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/hello_2.10-3_amd64.deb hello_2.10-3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'' hello_2.10-3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 1",
		"'http://x/h.deb' hello_2.10-3_amd64.deb SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.deb -1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 12x SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 99999999999999999999999 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.tar 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10_3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello__amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_1%3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_1%zza2_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' Hello_1.0_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878aa",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 1 SHA256:ze6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a",
		"'http://x/h.deb' hello_2.10-3_amd64.deb 1 SHA256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a extra",
	};
	for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
		memset(&u, 0x5a, sizeof(u));
		int r = bld_deb_parse_uri_line(ctx, bad[i], &u);
		if (r != CVMF_E_FORMAT)
			fail_msg("line %zu accepted or wrong code %d: %s", i, r, bad[i]);
		assert_null(strchr(cvmf_ctx_errmsg(ctx), '\n'));
		assert_int_equal(((uint8_t *)&u)[0], 0x5a);
	}
	cvmf_ctx_free(ctx);
}

/* ---- fetching ---- */

struct env_save {
	char *path, *xdg;
};

static struct env_save env_save(void)
{
	const char *p = getenv("PATH"), *x = getenv("XDG_CACHE_HOME");
	struct env_save s = { p ? strdup(p) : NULL, x ? strdup(x) : NULL };
	return s;
}

static void env_restore(struct env_save *s)
{
	if (s->path)
		setenv("PATH", s->path, 1);
	else
		unsetenv("PATH");
	if (s->xdg)
		setenv("XDG_CACHE_HOME", s->xdg, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	free(s->path);
	free(s->xdg);
}

static void copy_file(const char *from, const char *to)
{
	size_t n;
	char *b = t_slurp(from, &n);
	FILE *f = fopen(to, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(b);
}

static void test_cache_dir(void **state)
{
	(void)state;
	struct env_save s = env_save();
	char *dir = t_tmpdir();
	char *xdg = path2(dir, "x/y/");
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[4096], *want = NULL;
	setenv("XDG_CACHE_HOME", xdg, 1);
	assert_int_equal(bld_cache_dir(ctx, out, sizeof(out)), 0);
	assert_true(asprintf(&want, "%s/x/y/cvmforge", dir) > 0);
	assert_string_equal(out, want);
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(want);
	/* A relative XDG_CACHE_HOME is ignored (XDG spec): HOME is used. */
	setenv("XDG_CACHE_HOME", "relative", 1);
	const char *home = getenv("HOME");
	char *home_save = home ? strdup(home) : NULL;
	setenv("HOME", dir, 1);
	assert_int_equal(bld_cache_dir(ctx, out, sizeof(out)), 0);
	assert_true(asprintf(&want, "%s/.cache/cvmforge", dir) > 0);
	assert_string_equal(out, want);
	free(want);
	assert_int_equal(bld_cache_dir(ctx, out, 8), CVMF_E_INVAL);
	if (home_save)
		setenv("HOME", home_save, 1);
	else
		unsetenv("HOME");
	free(home_save);
	cvmf_ctx_free(ctx);
	free(xdg);
	t_rmrf(dir);
	free(dir);
	env_restore(&s);
}

/* A pinned .deb in the cache: no apt-get (PATH is an empty directory). */
static void test_fetch_from_cache(void **state)
{
	(void)state;
	if (!have_dpkg_deb())
		skip();
	struct env_save s = env_save();
	char *dir = t_tmpdir();
	char *root = make_tree(dir);
	char *deb = build_deb(dir, root, "xz");
	char *empty = path2(dir, "empty-bin");
	assert_int_equal(mkdir(empty, 0755), 0);
	char *xdg = path2(dir, "xdg");
	setenv("XDG_CACHE_HOME", xdg, 1);
	setenv("PATH", empty, 1);

	cvmf_ctx *ctx = cvmf_ctx_new();
	char cache[4096], hex[65], *seeded = NULL;
	uint8_t sha[32];
	size_t n;
	file_sha256(deb, sha, &n);
	cvmf_hex(sha, 32, hex);
	assert_int_equal(bld_cache_dir(ctx, cache, sizeof(cache)), 0);
	char *debs = path2(cache, "debs");
	assert_int_equal(mkdir(debs, 0755), 0);
	assert_true(asprintf(&seeded, "%s/%s.deb", debs, hex) > 0);
	copy_file(deb, seeded);

	struct bld_deb d;
	memset(&d, 0, sizeof(d));
	if (bld_deb_fetch(ctx, NULL, PKG, PKG_VERSION, sha, NULL, NULL, &d))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_string_equal(d.package, PKG);
	assert_string_equal(d.version, PKG_VERSION);
	assert_string_equal(d.file, PKG_FILE);
	assert_string_equal(d.path, seeded);
	assert_memory_equal(d.sha256, sha, 32);
	assert_false(d.downloaded);
	/* Any version, an explicit cache dir. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, NULL, sha, NULL, NULL, &d), 0);
	assert_string_equal(d.version, PKG_VERSION);
	expect_member(ctx, cache, &d, "/bin/chain", HELLO_TEXT, strlen(HELLO_TEXT));

	/* The pinned digest is another package or version: refused. */
	assert_int_equal(bld_deb_fetch(ctx, cache, "other", NULL, sha, NULL, NULL, &d),
			 CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "not the requested other"));
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, "2.0-1", sha, NULL, NULL, &d),
			 CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), hex));

	/* Not in the cache: apt is needed, and it is not there. */
	uint8_t other[32];
	memset(other, 0x11, sizeof(other));
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, PKG_VERSION, other, NULL, NULL, &d),
			 CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "apt-get is not in PATH"));
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, NULL, NULL, NULL, NULL, &d),
			 CVMF_E_UNSUPPORTED);

	/* A corrupted cache entry is not used (and is removed). */
	FILE *f = fopen(seeded, "r+b");
	assert_non_null(f);
	fseek(f, 100, SEEK_SET);
	fputc('X', f);
	fclose(f);
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, PKG_VERSION, sha, NULL, NULL, &d),
			 CVMF_E_UNSUPPORTED);
	assert_int_equal(access(seeded, F_OK), -1);

	/* Bad names never reach apt-get's command line. */
	assert_int_equal(bld_deb_fetch(ctx, cache, "-o=x", NULL, NULL, NULL, NULL, &d),
			 CVMF_E_INVAL);
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, "1.0 x", NULL, NULL, NULL, &d),
			 CVMF_E_INVAL);

	cvmf_ctx_free(ctx);
	env_restore(&s);
	free(seeded);
	free(debs);
	free(xdg);
	free(empty);
	free(deb);
	free(root);
	t_rmrf(dir);
	free(dir);
}

/* A fake apt-get in an otherwise empty PATH: it logs its environment and
 * arguments, prints dir/apt.out and dir/apt.err, exits with dir/apt.rc. */
static char *fake_apt(const char *dir, const char *out, const char *err, int rc)
{
	char *bin = path2(dir, "fakebin"), *script = NULL, *text = NULL, rcs[16];
	mkdir(bin, 0755);
	assert_true(asprintf(&text,
			     "#!/bin/sh\n"
			     "echo \"LC_ALL=$LC_ALL PWD=$(/bin/pwd) ARGS=$*\" >>'%s/apt.log'\n"
			     "/bin/cat '%s/apt.out'\n"
			     "/bin/cat '%s/apt.err' >&2\n"
			     "exit $(/bin/cat '%s/apt.rc')\n",
			     dir, dir, dir, dir) > 0);
	script = path2(bin, "apt-get");
	put(bin, "apt-get", text, strlen(text), 0755);
	put(dir, "apt.out", out, strlen(out), 0644);
	put(dir, "apt.err", err, strlen(err), 0644);
	snprintf(rcs, sizeof(rcs), "%d\n", rc);
	put(dir, "apt.rc", rcs, strlen(rcs), 0644);
	free(text);
	free(script);
	return bin;
}

struct progress {
	int calls;
	uint64_t last_done, last_total;
	char what[64];
};

static void on_progress(void *user, const char *what, uint64_t done, uint64_t total)
{
	struct progress *p = user;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
	snprintf(p->what, sizeof(p->what), "%s", what);
}

static void test_fetch_file_uri(void **state)
{
	(void)state;
	if (!have_dpkg_deb())
		skip();
	struct env_save s = env_save();
	char *dir = t_tmpdir();
	char *root = make_tree(dir);
	char *deb = build_deb(dir, root, "zstd");
	char *cache = path2(dir, "cache");
	uint8_t sha[32];
	size_t n;
	char hex[65], *line = NULL;
	file_sha256(deb, sha, &n);
	cvmf_hex(sha, 32, hex);
	assert_true(asprintf(&line, "'file://%s' %s %zu SHA256:%s\n", deb, PKG_FILE, n, hex) > 0);
	char *bin = fake_apt(dir, line, "", 0);
	setenv("PATH", bin, 1);

	cvmf_ctx *ctx = cvmf_ctx_new();
	struct progress pr = { 0 };
	struct bld_deb d;
	if (bld_deb_fetch(ctx, cache, PKG, PKG_VERSION, NULL, on_progress, &pr, &d))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_true(d.downloaded);
	assert_string_equal(d.package, PKG);
	assert_string_equal(d.version, PKG_VERSION);
	assert_string_equal(d.file, PKG_FILE);
	assert_memory_equal(d.sha256, sha, 32);
	char *want_path = NULL;
	assert_true(asprintf(&want_path, "%s/debs/%s.deb", cache, hex) > 0);
	assert_string_equal(d.path, want_path);
	uint8_t got[32];
	file_sha256(d.path, got, &n);
	assert_memory_equal(got, sha, 32);
	assert_true(pr.calls > 0);
	assert_string_equal(pr.what, "download " PKG);
	/* The index names the version as apt names files. */
	char *idx = NULL;
	assert_true(asprintf(&idx, "%s/index/%s_%s.deb", cache, PKG, "1%3a2.0-1") > 0);
	char *idx_text = t_slurp(idx, NULL);
	assert_int_equal(strncmp(idx_text, hex, 64), 0);
	free(idx_text);
	/* apt ran with LC_ALL=C, in the cache, with PACKAGE=VERSION. */
	char *logp = path2(dir, "apt.log");
	char *log = t_slurp(logp, NULL);
	assert_non_null(strstr(log, "LC_ALL=C "));
	assert_non_null(strstr(log, "ARGS=download --print-uris " PKG "=" PKG_VERSION "\n"));
	free(log);

	/* Again: from the cache (apt still resolves the version). */
	memset(&d, 0, sizeof(d));
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, PKG_VERSION, NULL, NULL, NULL, &d), 0);
	assert_false(d.downloaded);
	assert_string_equal(d.path, want_path);
	/* Pinned and cached: apt is not run at all. */
	unlink(logp);
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, PKG_VERSION, sha, NULL, NULL, &d), 0);
	assert_false(d.downloaded);
	assert_int_equal(access(logp, F_OK), -1);

	/* A pin that apt's index contradicts: both digests in the message. */
	uint8_t pin[32];
	memset(pin, 0xab, sizeof(pin));
	char pin_hex[65];
	cvmf_hex(pin, 32, pin_hex);
	assert_int_equal(bld_deb_fetch(ctx, cache, PKG, PKG_VERSION, pin, NULL, NULL, &d),
			 CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), pin_hex));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), hex));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "pinned"));

	/* apt's index disagrees with the file served: refused, nothing stored. */
	char *cache2 = path2(dir, "cache2");
	free(line);
	assert_true(asprintf(&line, "'file://%s' %s %zu SHA256:%064d\n", deb, PKG_FILE, n, 0) > 0);
	free(bin);
	bin = fake_apt(dir, line, "", 0);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, NULL, NULL, NULL, NULL, &d), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), hex));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "0000000000000000"));
	size_t tmp;
	char *debs2 = path2(cache2, "debs");
	assert_int_equal(count_entries(debs2, &tmp), 0);
	free(debs2);
	/* The wrong size. */
	free(line);
	assert_true(asprintf(&line, "'file://%s' %s %zu SHA256:%s\n", deb, PKG_FILE, n - 1, hex) > 0);
	free(bin);
	bin = fake_apt(dir, line, "", 0);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, NULL, NULL, NULL, NULL, &d), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "more than apt's"));
	/* A missing file. */
	free(line);
	assert_true(asprintf(&line, "'file://%s/nope.deb' %s %zu SHA256:%s\n", dir, PKG_FILE, n,
			     hex) > 0);
	free(bin);
	bin = fake_apt(dir, line, "", 0);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, NULL, NULL, NULL, NULL, &d), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "curl error"));
	/* apt resolves to something else. */
	free(line);
	assert_true(asprintf(&line, "'file://%s' %s %zu SHA256:%s\n", deb, PKG_FILE, n, hex) > 0);
	free(bin);
	bin = fake_apt(dir, line, "", 0);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, "2.0", NULL, NULL, NULL, &d), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "resolved"));
	/* A scheme we do not fetch. */
	free(line);
	assert_true(asprintf(&line, "'cdrom:[x]/pool/y.deb' %s %zu SHA256:%s\n", PKG_FILE, n, hex) > 0);
	free(bin);
	bin = fake_apt(dir, line, "", 0);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, NULL, NULL, NULL, NULL, &d),
			 CVMF_E_UNSUPPORTED);
	/* apt does not know the version: its "E:" line in the message. */
	free(bin);
	bin = fake_apt(dir, "", "Reading package lists...\nE: Version '9.9' for 'cvmf-test' was not found\n",
		       100);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, "9.9", NULL, NULL, NULL, &d), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "E: Version '9.9' for 'cvmf-test' was not found"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "exit 100"));
	/* apt succeeds but prints nothing useful. */
	free(bin);
	bin = fake_apt(dir, "Reading package lists...\n", "", 0);
	assert_int_equal(bld_deb_fetch(ctx, cache2, PKG, NULL, NULL, NULL, NULL, &d), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "no URI"));

	cvmf_ctx_free(ctx);
	free(cache2);
	free(logp);
	free(idx);
	free(want_path);
	free(line);
	free(bin);
	env_restore(&s);
	free(cache);
	free(deb);
	free(root);
	t_rmrf(dir);
	free(dir);
}

/* ---- the real thing ---- */

static bool find_in_path(const char *prog)
{
	const char *p = getenv("PATH");
	char *dup = strdup(p ? p : "/usr/bin:/bin"), *save = NULL;
	bool found = false;
	for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *f = path2(d, prog);
		found = access(f, X_OK) == 0;
		free(f);
	}
	free(dup);
	return found;
}

static bool network_error(const char *msg)
{
	/* CURLE_COULDNT_RESOLVE_PROXY 5, _HOST 6, COULDNT_CONNECT 7, OPERATION_TIMEDOUT 28 */
	static const char *const codes[] = { "(curl error 5)", "(curl error 6)",
					     "(curl error 7)", "(curl error 28)" };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(codes); i++)
		if (strstr(msg, codes[i]))
			return true;
	return false;
}

static void test_fetch_network(void **state)
{
	(void)state;
	if (!find_in_path("apt-get")) {
		printf("# SKIP reason: apt-get is not installed; the real download needs a Debian host\n");
		skip();
	}
	char *dir = t_tmpdir();
	char *cache = path2(dir, "cache");
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct progress pr = { 0 };
	struct bld_deb d;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = bld_deb_fetch(ctx, cache, "hello", NULL, NULL, on_progress, &pr, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r) {
		const char *msg = cvmf_ctx_errmsg(ctx);
		bool apt_unaware = strstr(msg, "apt-get cannot resolve") &&
				   (strstr(msg, "Unable to locate") || strstr(msg, "Can't find") ||
				    strstr(msg, "has no installation candidate"));
		if (network_error(msg) || apt_unaware) {
			printf("# SKIP reason: %s: %s\n",
			       apt_unaware ? "apt has no index entry for hello (apt-get update not run?)"
					   : "no network for the real download",
			       msg);
			cvmf_ctx_free(ctx);
			t_rmrf(dir);
			free(dir);
			free(cache);
			skip();
		}
		fail_msg("%s", msg);
	}
	assert_true(d.downloaded);
	assert_string_equal(d.package, "hello");
	assert_true(pr.calls > 0);
	assert_string_equal(pr.what, "download hello");

	/* The digest is apt's, and the file's. */
	char *argv[] = { "/usr/bin/env", "LC_ALL=C", "apt-get", "download", "--print-uris",
			 "hello", NULL };
	struct run rr = t_run(argv);
	t_assert_clean_exit(&rr, 0);
	struct bld_deb_uri u;
	assert_int_equal(bld_deb_parse_uri_line(ctx, rr.out, &u), 0);
	assert_memory_equal(u.sha256, d.sha256, 32);
	assert_string_equal(u.version, d.version);
	assert_string_equal(u.file, d.file);
	t_run_free(&rr);
	uint8_t got[32];
	size_t n;
	file_sha256(d.path, got, &n);
	assert_memory_equal(got, d.sha256, 32);
	assert_int_equal(n, u.size);

	char path[4096], hex[65];
	uint8_t sha[32];
	if (bld_deb_extract(ctx, cache, &d, "/usr/bin/hello", path, sizeof(path), sha))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	size_t bn;
	char *bin = t_slurp(path, &bn);
	assert_true(bn > 1000);
	assert_memory_equal(bin, "\177ELF", 4);
	free(bin);
	cvmf_hex(d.sha256, 32, hex);
	printf("# note: downloaded %s (%s %s, %zu bytes, sha256 %s) in %.2f s; "
	       "/usr/bin/hello is %zu bytes\n", d.file, d.package, d.version, n, hex,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, bn);

	/* Second time: from the cache. */
	struct bld_deb again;
	assert_int_equal(bld_deb_fetch(ctx, cache, "hello", d.version, NULL, NULL, NULL, &again), 0);
	assert_false(again.downloaded);
	assert_string_equal(again.path, d.path);
	assert_int_equal(bld_deb_fetch(ctx, cache, "hello", NULL, d.sha256, NULL, NULL, &again), 0);
	assert_false(again.downloaded);
	assert_string_equal(again.version, d.version);
	assert_string_equal(again.file, d.file);

	cvmf_ctx_free(ctx);
	free(cache);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uri_line),
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_cache_dir),
		cmocka_unit_test(test_fetch_from_cache),
		cmocka_unit_test(test_fetch_file_uri),
		cmocka_unit_test(test_fetch_network),
	};
	return cmocka_run_group_tests_name("deb", tests, NULL, NULL);
}
