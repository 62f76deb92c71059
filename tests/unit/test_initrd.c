/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The deterministic initrd (builder/initrd.c), its compression sinks
 * (builder/compress.c), the entry-level diff (builder/cpio_diff.c) and the
 * `cvmforge initrd` verb. Archives are checked with a small newc parser of
 * our own, independent of libarchive, and cross-checked against GNU cpio.
 */
#include <ctype.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <zlib.h>
#include <zstd.h>

#include "builder/builder.h"
#include "tests/unit/testlib.h"

#define MIB (1024u * 1024u)

/* ---- a newc reader for the checks ---- */

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_SIZE, F_DMAJ, F_DMIN, F_RMAJ, F_RMIN,
       F_NAMESZ, F_CHECK, N_FIELDS };

struct rec {
	char *name;
	unsigned long f[N_FIELDS];
	size_t off;             /* of the header */
	const uint8_t *data;
};

struct recs {
	struct rec *v;
	size_t n;
	size_t end;             /* just after the trailer's padding */
};

static unsigned long hex8(const uint8_t *p)
{
	char b[9];
	memcpy(b, p, 8);
	b[8] = '\0';
	return strtoul(b, NULL, 16);
}

static size_t align4(size_t x)
{
	return (x + 3) & ~(size_t)3;
}

/* Every record up to the trailer; fails the test on anything malformed. */
static struct recs parse(const uint8_t *b, size_t len)
{
	struct recs r = { 0 };
	size_t off = 0;
	for (;;) {
		assert_true(off + 110 <= len);
		assert_memory_equal(b + off, "070701", 6);
		struct rec x = { .off = off };
		for (int i = 0; i < N_FIELDS; i++)
			x.f[i] = hex8(b + off + 6 + 8 * i);
		size_t ns = x.f[F_NAMESZ];
		assert_true(ns >= 1 && off + 110 + ns <= len);
		assert_int_equal(b[off + 110 + ns - 1], 0);
		size_t data = align4(off + 110 + ns);
		size_t next = align4(data + x.f[F_SIZE]);
		assert_true(next <= len);
		if (!strcmp((const char *)b + off + 110, "TRAILER!!!")) {
			r.end = next;
			return r;
		}
		x.name = strdup((const char *)b + off + 110);
		x.data = b + data;
		r.v = realloc(r.v, (r.n + 1) * sizeof(*r.v));
		assert_non_null(r.v);
		r.v[r.n++] = x;
		off = next;
	}
}

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
}

static const struct rec *rec_find(const struct recs *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].name, name))
			return &r->v[i];
	return NULL;
}

/* ---- building into memory ---- */

struct out {
	uint8_t *buf;
	size_t len;
	struct bld_initrd_result res;
};

static struct out build_opts(struct bld_initrd *l, const struct bld_initrd_opts *o)
{
	char path[] = "/tmp/cvmforge-initrd-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct out out = { 0 };
	int r = bld_initrd_write(ctx, l, o, fd, &out.res);
	if (r)
		fail_msg("bld_initrd_write: %s", cvmf_ctx_errmsg(ctx));
	close(fd);
	out.buf = (uint8_t *)t_slurp(path, &out.len);
	unlink(path);
	cvmf_ctx_free(ctx);
	assert_int_equal(out.len, out.res.size);
	return out;
}

static struct out build(struct bld_initrd *l, enum bld_compress c, int level, unsigned workers,
			uint64_t mtime)
{
	struct bld_initrd_opts o = { .compress = c, .level = level, .workers = workers,
				     .mtime = mtime };
	return build_opts(l, &o);
}

/* A tree's initrd. */
static struct out build_tree(const char *dir, enum bld_compress c, uint64_t mtime)
{
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (bld_initrd_add_tree(ctx, &l, dir, "/", 0, 0, "test"))
		fail_msg("add_tree: %s", cvmf_ctx_errmsg(ctx));
	struct out o = build(&l, c, 0, 2, mtime);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	return o;
}

/* ---- making trees ---- */

static char *join(const char *dir, const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

static void mkfile(const char *dir, const char *rel, const void *data, size_t len, mode_t mode)
{
	char *p = join(dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	const uint8_t *d = data;
	while (len) {
		ssize_t w = write(fd, d, len);
		assert_true(w > 0);
		d += w;
		len -= (size_t)w;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static void mkdirp(const char *dir, const char *rel, mode_t mode)
{
	char *p = join(dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void mklink(const char *dir, const char *rel, const char *target)
{
	char *p = join(dir, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static void set_mtime(const char *dir, const char *rel, time_t t)
{
	char *p = join(dir, rel);
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
	free(p);
}

/* Deterministic bytes: xorshift64*. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Mixed content: English-like text, random bytes and repeated runs, in
 * 64 KiB stretches, roughly what a rootfs holds. */
static void fill_mixed(uint8_t *p, size_t len, uint64_t seed)
{
	static const char *words[] = { "the ", "kernel ", "module ", "initrd ", "measure ",
				       "confidential ", "of ", "and ", "launch ", "digest ",
				       "\n", "firmware ", "0x7f ", "static ", "int " };
	uint64_t s = seed | 1;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 65536 ? len - off : 65536;
		unsigned kind = (unsigned)(rnd(&s) % 4);
		for (size_t i = 0; i < n;) {
			if (kind == 0) {
				p[off + i++] = (uint8_t)rnd(&s);
			} else if (kind == 3) {
				p[off + i] = (uint8_t)(i / 512);
				i++;
			} else {
				const char *w = words[rnd(&s) % CMN_ARRAY_SIZE(words)];
				for (; *w && i < n; w++)
					p[off + i++] = (uint8_t)*w;
			}
		}
		off += n;
	}
}

/* ---- 1. the same bytes whatever the host did to the tree ---- */

static void make_variant(const char *dir, bool reverse)
{
	/* Tree A: umask 022, natural order, usual modes, old mtimes.
	 * Tree B: umask 077, reverse order, other modes with the same owner
	 * execute bit, recent mtimes, directories 0700. */
	mode_t old = umask(reverse ? 077 : 022);
	static const char *const dirs[] = { "bin", "etc", "usr", "usr/lib", "usr/lib/x" };
	static const char *const files[] = { "bin/sh", "etc/motd", "etc/passwd", "usr/lib/libc.so",
					     "usr/lib/x/y", "init" };
	static const mode_t mode_a[] = { 0755, 0644, 0644, 0755, 0444, 0755 };
	static const mode_t mode_b[] = { 0711, 0600, 0640, 0700, 0400, 0744 };
	size_t nd = CMN_ARRAY_SIZE(dirs), nf = CMN_ARRAY_SIZE(files);
	for (size_t k = 0; k < nd; k++)
		mkdirp(dir, dirs[k], reverse ? 0700 : 0755);
	for (size_t k = 0; k < nf; k++) {
		size_t i = reverse ? nf - 1 - k : k;
		char content[64];
		int n = snprintf(content, sizeof(content), "content of %s\n", files[i]);
		mkfile(dir, files[i], content, (size_t)n, reverse ? mode_b[i] : mode_a[i]);
		set_mtime(dir, files[i], reverse ? 2000000000 : 1000);
	}
	if (reverse) {
		mklink(dir, "usr/lib/libz.so", "libc.so");
		mklink(dir, "bin/ash", "sh");
	} else {
		mklink(dir, "bin/ash", "sh");
		mklink(dir, "usr/lib/libz.so", "libc.so");
	}
	set_mtime(dir, "bin/ash", reverse ? 5 : 6);
	umask(old);
}

static void test_same_bytes_any_order(void **state)
{
	(void)state;
	char *a = t_tmpdir(), *b = t_tmpdir();
	make_variant(a, false);
	make_variant(b, true);
	for (int c = 0; c < 3; c++) {
		struct out x = build_tree(a, (enum bld_compress)c, 1700000000);
		struct out y = build_tree(b, (enum bld_compress)c, 1700000000);
		assert_int_equal(x.len, y.len);
		assert_memory_equal(x.buf, y.buf, x.len);
		assert_memory_equal(x.res.raw_sha256, y.res.raw_sha256, 32);
		if (c == BLD_NONE) {
			struct recs r = parse(x.buf, x.len);
			/* dirs bin etc usr usr/lib usr/lib/x, 6 files, 2 links */
			assert_int_equal(r.n, 13);
			assert_int_equal(x.res.entries, 13);
			assert_int_equal(r.end, x.len);   /* no block padding */
			for (size_t i = 0; i < r.n; i++) {
				assert_int_equal(r.v[i].f[F_INO], i + 1);
				assert_int_equal(r.v[i].f[F_MTIME], 1700000000);
				if (i)
					assert_true(strcmp(r.v[i - 1].name, r.v[i].name) < 0);
			}
			assert_int_equal(rec_find(&r, "bin/sh")->f[F_MODE], 0100755);
			assert_int_equal(rec_find(&r, "etc/motd")->f[F_MODE], 0100644);
			assert_int_equal(rec_find(&r, "usr/lib/x/y")->f[F_MODE], 0100644);
			assert_int_equal(rec_find(&r, "init")->f[F_MODE], 0100755);
			assert_int_equal(rec_find(&r, "usr/lib")->f[F_MODE], 040755);
			assert_int_equal(rec_find(&r, "usr/lib")->f[F_NLINK], 2);
			recs_free(&r);
		}
		free(x.buf);
		free(y.buf);
	}
	t_rmrf(a);
	t_rmrf(b);
	free(a);
	free(b);
}

/* ---- 2. zstd: the bytes do not depend on the worker count ---- */

static void test_zstd_workers(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	/* 40 MB in 4 files: several zstd jobs at level 3 (8 MiB each). */
	size_t part = 10 * 1000 * 1000;
	uint8_t *data = malloc(part);
	assert_non_null(data);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "part%d", i);
		fill_mixed(data, part, 0x1234 + (uint64_t)i);
		mkfile(dir, name, data, part, 0644);
	}
	free(data);
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/", 0, 0, NULL), 0);
	struct out raw = build(&l, BLD_NONE, 0, 1, 0);
	struct out w1 = build(&l, BLD_ZSTD, 3, 1, 0);
	struct out w4 = build(&l, BLD_ZSTD, 3, 4, 0);
	struct out w0 = build(&l, BLD_ZSTD, 0, 0, 0);   /* defaults: level 3, 1 worker */
	assert_true(raw.len > 40 * 1000 * 1000);
	assert_int_equal(w1.len, w4.len);
	assert_memory_equal(w1.buf, w4.buf, w1.len);
	assert_int_equal(w1.len, w0.len);
	assert_memory_equal(w1.buf, w0.buf, w1.len);
	assert_memory_equal(w1.res.sha384, w4.res.sha384, 48);
	assert_true(w1.len < raw.len * 9 / 10);
	/* Frame: magic, then the checksum flag set in the descriptor. */
	assert_memory_equal(w1.buf, "\x28\xb5\x2f\xfd", 4);
	assert_true(w1.buf[4] & 0x04);
	/* It decompresses back to the uncompressed archive. */
	uint8_t *back = malloc(raw.len);
	assert_non_null(back);
	size_t n = ZSTD_decompress(back, raw.len, w4.buf, w4.len);
	assert_false(ZSTD_isError(n));
	assert_int_equal(n, raw.len);
	assert_memory_equal(back, raw.buf, raw.len);
	assert_memory_equal(w4.res.raw_sha256, raw.res.sha256, 32);
	assert_int_equal(w4.res.raw_size, raw.len);
	uint8_t d[48];
	t_sha256(w4.buf, w4.len, d);
	assert_memory_equal(d, w4.res.sha256, 32);
	t_sha384(w4.buf, w4.len, d);
	assert_memory_equal(d, w4.res.sha384, 48);
	free(back);
	free(raw.buf);
	free(w0.buf);
	free(w1.buf);
	free(w4.buf);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
}

/* The zstd CLI, fed the archive on stdin with the same job size, is an
 * independent implementation of the same stream: the bytes must agree. */
static void test_zstd_cli(void **state)
{
	(void)state;
	if (system("zstd --version >/dev/null 2>&1") != 0) {
		printf("# SKIP reason: the zstd command is not installed (Debian package zstd)\n");
		skip();
	}
	char *dir = t_tmpdir(), *tree = join(dir, "t");
	assert_int_equal(mkdir(tree, 0755), 0);
	size_t len = 5 * MIB + 777;   /* three jobs */
	uint8_t *data = malloc(len);
	fill_mixed(data, len, 4242);
	mkfile(tree, "blob", data, len, 0644);
	mkfile(tree, "small", data, 1000, 0755);
	free(data);
	struct out raw = build_tree(tree, BLD_NONE, 99);
	char *rawp = t_write(dir, "raw.cpio", raw.buf, raw.len);
	static const int levels[] = { 3, 7 };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(levels); i++) {
		struct bld_initrd l;
		bld_initrd_init(&l);
		cvmf_ctx *ctx = cvmf_ctx_new();
		assert_int_equal(bld_initrd_add_tree(ctx, &l, tree, "/", 0, 0, NULL), 0);
		struct out z = build(&l, BLD_ZSTD, levels[i], 2, 99);
		char *cmd = NULL, *clip = join(dir, "cli.zst");
		assert_true(asprintf(&cmd, "zstd -%d -T1 -B2097152 -q -c < '%s' > '%s'", levels[i],
				     rawp, clip) > 0);
		assert_int_equal(system(cmd), 0);
		size_t cl;
		uint8_t *c = (uint8_t *)t_slurp(clip, &cl);
		assert_int_equal(cl, z.len);
		assert_memory_equal(c, z.buf, cl);
		free(c);
		free(cmd);
		free(clip);
		free(z.buf);
		bld_initrd_free(&l);
		cvmf_ctx_free(ctx);
	}
	free(raw.buf);
	free(rawp);
	t_rmrf(dir);
	free(dir);
	free(tree);
}

/* ---- 3. gzip: mtime 0, OS 3, the same bytes every time ---- */

static void test_gzip(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	make_variant(dir, false);
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/", 0, 0, NULL), 0);
	struct out raw = build(&l, BLD_NONE, 0, 1, 7);
	struct out g1 = build(&l, BLD_GZIP, 0, 1, 7);
	sleep(1);   /* a writer that stored time(NULL) would now differ */
	struct out g2 = build(&l, BLD_GZIP, 9, 3, 7);
	struct out g3 = build(&l, BLD_GZIP, 1, 1, 7);
	assert_int_equal(g1.len, g2.len);
	assert_memory_equal(g1.buf, g2.buf, g1.len);
	/* ID1 ID2 CM FLG, MTIME 0, XFL 2 (level 9) or 4 (level 1), OS 3 */
	static const uint8_t h9[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3 };
	static const uint8_t h1[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3 };
	assert_memory_equal(g1.buf, h9, 10);
	assert_memory_equal(g3.buf, h1, 10);
	/* It inflates back to the archive. */
	uint8_t *back = malloc(raw.len + 1);
	z_stream z = { 0 };
	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	z.next_in = g1.buf;
	z.avail_in = (uInt)g1.len;
	z.next_out = back;
	z.avail_out = (uInt)raw.len + 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, raw.len);
	assert_memory_equal(back, raw.buf, raw.len);
	inflateEnd(&z);
	free(back);
	free(raw.buf);
	free(g1.buf);
	free(g2.buf);
	free(g3.buf);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
}

/* ---- 4. GNU cpio gives the same archive ---- */

static bool have_gnu_cpio(void)
{
	return system("cpio --version 2>/dev/null | grep -q 'GNU cpio'") == 0;
}

/* Rewrite a field of a newc header in place. */
static void put_hex8(uint8_t *p, unsigned long v)
{
	char b[9];
	snprintf(b, sizeof(b), "%08lx", v);
	memcpy(p, b, 8);
}

static void test_gnu_cpio(void **state)
{
	(void)state;
	if (!have_gnu_cpio()) {
		printf("# SKIP reason: GNU cpio is not installed (Debian package cpio)\n");
		skip();
	}
	const time_t epoch = 1700000000;
	char *dir = t_tmpdir(), *top = t_tmpdir();
	free(dir);
	dir = join(top, "tree");
	assert_int_equal(mkdir(dir, 0755), 0);
	mkdirp(dir, "a", 0755);
	mkdirp(dir, "a/b", 0755);
	mkdirp(dir, "a/b/c", 0755);
	mkdirp(dir, "d", 0755);
	mkdirp(dir, "d-e", 0755);
	mkfile(dir, "a/f", "hello\n", 6, 0644);
	uint8_t bin[1001];
	fill_mixed(bin, sizeof(bin), 9);
	mkfile(dir, "a/b/x", bin, sizeof(bin), 0755);
	mkfile(dir, "a/b/c/empty", "", 0, 0644);
	/* names of every length modulo 4, for the padding */
	mkfile(dir, "n1", "1", 1, 0644);
	mkfile(dir, "n22", "22", 2, 0644);
	mkfile(dir, "n333", "333", 3, 0755);
	mkfile(dir, "n4444", "4444", 4, 0644);
	mkfile(dir, "d-e/f", "x", 1, 0644);
	mklink(dir, "s", "a/f");
	mklink(dir, "a/b/l", "../../nowhere");
	mklink(dir, "abs", "/etc/passwd");
	static const char *const all[] = { "a/b/c/empty", "a/b/x", "a/f", "n1", "n22", "n333",
					   "n4444", "d-e/f", "s", "a/b/l", "abs",
					   "a/b/c", "a/b", "a", "d", "d-e", "." };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(all); i++)
		set_mtime(dir, all[i], epoch);

	struct out ours = build_tree(dir, BLD_NONE, (uint64_t)epoch);
	char *gnu = join(top, "gnu.cpio"), *cmd = NULL;
	assert_true(asprintf(&cmd,
			     "cd '%s' && find . -mindepth 1 -printf '%%P\\n' | LC_ALL=C sort | "
			     "cpio --create --format=newc --reproducible --renumber-inodes -R 0:0 "
			     "--quiet > '%s'", dir, gnu) > 0);
	assert_int_equal(system(cmd), 0);
	size_t glen;
	uint8_t *g = (uint8_t *)t_slurp(gnu, &glen);

	/* GNU cpio 2.13 differs in three conventions: it numbers inodes from
	 * 0, stores a directory's real link count (2.14's --ignore-dirnlink
	 * stores 2) and writes hex digits in upper case (libarchive: lower;
	 * the kernel reads both). Patch those, then every byte must agree;
	 * GNU pads the archive to 512 bytes, we do not. */
	struct recs r = parse(g, glen);
	for (size_t i = 0; i <= r.n; i++) {
		size_t off = i < r.n ? r.v[i].off : r.end - 124;   /* the trailer */
		for (size_t k = 6; k < 110; k++)
			g[off + k] = (uint8_t)tolower(g[off + k]);
	}
	for (size_t i = 0; i < r.n; i++) {
		uint8_t *h = g + r.v[i].off;
		assert_int_equal(r.v[i].f[F_INO], i);
		put_hex8(h + 6 + 8 * F_INO, r.v[i].f[F_INO] + 1);
		if ((r.v[i].f[F_MODE] & 0170000) == 040000)
			put_hex8(h + 6 + 8 * F_NLINK, 2);
	}
	assert_int_equal(r.end, ours.len);
	assert_int_equal(glen % 512, 0);
	assert_true(glen >= ours.len && glen - ours.len < 512);
	for (size_t i = ours.len; i < glen; i++)
		assert_int_equal(g[i], 0);
	assert_memory_equal(g, ours.buf, ours.len);
	assert_int_equal(r.n, 16);
	recs_free(&r);
	free(g);
	free(gnu);
	free(cmd);
	free(ours.buf);
	t_rmrf(top);
	free(top);
	free(dir);
}

/* ---- 5. symlinks are stored, never followed ---- */

static void test_symlinks(void **state)
{
	(void)state;
	char *top = t_tmpdir(), *dir = join(top, "t"), *outside = join(top, "outside");
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	mkfile(outside, "secret", "secret", 6, 0644);
	mkdirp(dir, "sub", 0755);
	mkfile(dir, "sub/f", "f", 1, 0644);
	mklink(dir, "dirlink", "sub");
	mklink(dir, "out", "/etc/passwd");
	mklink(dir, "up", "../outside/secret");
	mklink(dir, "updir", "../outside");
	mklink(dir, "dangling", "does/not/exist");
	struct out o = build_tree(dir, BLD_NONE, 0);
	struct recs r = parse(o.buf, o.len);
	static const char *const names[] = { "dangling", "dirlink", "out", "sub", "sub/f", "up",
					     "updir" };
	assert_int_equal(r.n, CMN_ARRAY_SIZE(names));
	for (size_t i = 0; i < r.n; i++)
		assert_string_equal(r.v[i].name, names[i]);
	static const struct { const char *name, *target; } links[] = {
		{ "dangling", "does/not/exist" }, { "dirlink", "sub" }, { "out", "/etc/passwd" },
		{ "up", "../outside/secret" }, { "updir", "../outside" },
	};
	for (size_t i = 0; i < CMN_ARRAY_SIZE(links); i++) {
		const struct rec *x = rec_find(&r, links[i].name);
		assert_non_null(x);
		assert_int_equal(x->f[F_MODE], 0120777);
		assert_int_equal(x->f[F_SIZE], strlen(links[i].target));
		assert_memory_equal(x->data, links[i].target, strlen(links[i].target));
		assert_int_equal(x->f[F_NLINK], 1);
	}
	recs_free(&r);
	free(o.buf);

	/* A symlink as the source of a file entry is refused, before any
	 * byte is written. */
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *src = join(dir, "out");
	struct bld_entry e = { .path = "/etc/x", .type = BLD_REG, .mode = 0644, .source = src,
			       .origin = "t.recipe:3" };
	assert_int_equal(bld_initrd_add(ctx, &l, &e), 0);
	char path[] = "/tmp/cvmforge-initrd-XXXXXX";
	int fd = mkstemp(path);
	struct bld_initrd_opts opts = { .compress = BLD_ZSTD };
	struct bld_initrd_result res;
	assert_int_equal(bld_initrd_write(ctx, &l, &opts, fd, &res), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "not a regular file"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "t.recipe:3"));
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	unlink(path);
	/* A missing source is an error naming it. */
	bld_initrd_free(&l);
	bld_initrd_init(&l);
	e.source = "/nonexistent/cvmforge-test";
	assert_int_equal(bld_initrd_add(ctx, &l, &e), 0);
	fd = open("/dev/null", O_WRONLY);
	assert_int_equal(bld_initrd_write(ctx, &l, &opts, fd, &res), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "/nonexistent/cvmforge-test"));
	close(fd);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	free(src);
	t_rmrf(top);
	free(top);
	free(dir);
	free(outside);
}

/* ---- 6. FIFOs, sockets in trees; hardlinks copied ---- */

static void test_special_files(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	mkdirp(dir, "run", 0755);
	char *fifo = join(dir, "run/initctl");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/", 0, 0, "r.recipe:4"),
			 CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "run/initctl"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "FIFO"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "r.recipe:4"));
	unlink(fifo);
	bld_initrd_free(&l);

	/* A socket. */
	char *sock = join(dir, "run/s");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock) < sizeof(sa.sun_path)) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
		bld_initrd_init(&l);
		assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/", 0, 0, NULL),
				 CVMF_E_UNSUPPORTED);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "run/s"));
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "socket"));
		bld_initrd_free(&l);
		unlink(sock);
	}
	close(s);

	/* Hardlinks: two independent files, nlink 1, both with the data. */
	mkfile(dir, "run/a", "same", 4, 0644);
	char *a = join(dir, "run/a"), *b = join(dir, "run/b");
	assert_int_equal(link(a, b), 0);
	struct out o = build_tree(dir, BLD_NONE, 0);
	struct recs r = parse(o.buf, o.len);
	assert_int_equal(r.n, 3);
	for (size_t i = 1; i < 3; i++) {
		assert_int_equal(r.v[i].f[F_NLINK], 1);
		assert_int_equal(r.v[i].f[F_SIZE], 4);
		assert_memory_equal(r.v[i].data, "same", 4);
		assert_int_equal(r.v[i].f[F_INO], i + 1);
	}
	recs_free(&r);
	free(o.buf);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
	free(fifo);
	free(sock);
	free(a);
	free(b);
}

/* ---- 7. paths ---- */

static void test_bad_paths(void **state)
{
	(void)state;
	static const char *const bad[] = { "..", "/..", "a/../b", "/../etc", "/a/..", ".", "./a",
					   "a/.", "a//b", "a/", "", "/", "//a", "a/./b" };
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t i = 0; i < CMN_ARRAY_SIZE(bad); i++) {
		struct bld_entry e = { .path = (char *)bad[i], .type = BLD_DIR, .mode = 0755,
				       .origin = "t.recipe:7" };
		int r = bld_initrd_add(ctx, &l, &e);
		if (r != CVMF_E_FORMAT)
			fail_msg("path '%s' gave %d, not CVMF_E_FORMAT", bad[i], r);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "t.recipe:7"));
	}
	assert_int_equal(l.n, 0);
	/* A tree's prefix follows the same rules. */
	char *dir = t_tmpdir();
	assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/usr/../etc", 0, 0, "t.recipe:8"),
			 CVMF_E_FORMAT);
	/* Bad modes and incomplete entries. */
	struct bld_entry m = { .path = "x", .type = BLD_DIR, .mode = 010000, .origin = "o" };
	assert_int_equal(bld_initrd_add(ctx, &l, &m), CVMF_E_INVAL);
	struct bld_entry f = { .path = "x", .type = BLD_REG, .mode = 0644, .origin = "o" };
	assert_int_equal(bld_initrd_add(ctx, &l, &f), CVMF_E_INVAL);
	struct bld_entry s = { .path = "x", .type = BLD_SYMLINK, .mode = 0777, .origin = "o" };
	assert_int_equal(bld_initrd_add(ctx, &l, &s), CVMF_E_INVAL);
	/* A good path is normalised. */
	struct bld_entry g = { .path = "/a/b", .type = BLD_DIR, .mode = 0755, .origin = "o" };
	assert_int_equal(bld_initrd_add(ctx, &l, &g), 0);
	assert_string_equal(l.v[0].path, "a/b");
	/* The epoch must fit the header. */
	struct bld_initrd_opts o = { .compress = BLD_NONE, .mtime = 1ull << 32 };
	struct bld_initrd_result res;
	assert_int_equal(bld_initrd_write(ctx, &l, &o, 1, &res), CVMF_E_INVAL);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
}

/* ---- 8. duplicates and parents ---- */

static void test_duplicates(void **state)
{
	(void)state;
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct bld_entry f = { .path = "bin/sh", .type = BLD_REG, .mode = 0755,
			       .source = "/dev/null", .origin = "r.recipe:1" };
	struct bld_entry s = { .path = "/bin/sh", .type = BLD_SYMLINK, .mode = 0777,
			       .target = "busybox", .origin = "r.recipe:2" };
	assert_int_equal(bld_initrd_add(ctx, &l, &f), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &s), 0);
	assert_int_equal(bld_initrd_finish(ctx, &l), CVMF_E_FORMAT);
	const char *m = cvmf_ctx_errmsg(ctx);
	assert_non_null(strstr(m, "bin/sh"));
	assert_non_null(strstr(m, "r.recipe:1"));
	assert_non_null(strstr(m, "r.recipe:2"));
	bld_initrd_free(&l);

	/* The same directory twice is one directory; with another mode it
	 * is a duplicate. */
	bld_initrd_init(&l);
	struct bld_entry d1 = { .path = "etc", .type = BLD_DIR, .mode = 0755, .origin = "a" };
	struct bld_entry d2 = { .path = "/etc", .type = BLD_DIR, .mode = 0755, .origin = "b" };
	assert_int_equal(bld_initrd_add(ctx, &l, &d1), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &d2), 0);
	assert_int_equal(bld_initrd_finish(ctx, &l), 0);
	assert_int_equal(l.n, 1);
	struct bld_entry d3 = { .path = "etc", .type = BLD_DIR, .mode = 0700, .origin = "c" };
	assert_int_equal(bld_initrd_add(ctx, &l, &d3), 0);
	assert_int_equal(bld_initrd_finish(ctx, &l), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "duplicate path 'etc'"));
	bld_initrd_free(&l);

	/* A parent that is not a directory. */
	bld_initrd_init(&l);
	struct bld_entry p1 = { .path = "a", .type = BLD_SYMLINK, .mode = 0777, .target = "b",
				.origin = "r.recipe:5" };
	struct bld_entry p2 = { .path = "a/x", .type = BLD_DIR, .mode = 0755, .origin = "r.recipe:6" };
	assert_int_equal(bld_initrd_add(ctx, &l, &p1), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &p2), 0);
	assert_int_equal(bld_initrd_finish(ctx, &l), CVMF_E_FORMAT);
	m = cvmf_ctx_errmsg(ctx);
	assert_non_null(strstr(m, "r.recipe:5"));
	assert_non_null(strstr(m, "r.recipe:6"));
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
}

static void test_implicit_parents(void **state)
{
	(void)state;
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct bld_entry e1 = { .path = "/usr/share/x/file", .type = BLD_REG, .mode = 0600,
				.source = "/dev/null", .origin = "o1" };
	struct bld_entry e2 = { .path = "/usr/bin/y", .type = BLD_SYMLINK, .mode = 0777,
				.target = "../share/x/file", .origin = "o2" };
	struct bld_entry e3 = { .path = "/usr/share", .type = BLD_DIR, .mode = 0700, .uid = 5,
				.origin = "o3" };
	/* /dev/null is not a regular file: use a real one. */
	char *dir = t_tmpdir();
	mkfile(dir, "f", "data", 4, 0600);
	char *src = join(dir, "f");
	e1.source = src;
	assert_int_equal(bld_initrd_add(ctx, &l, &e1), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &e2), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &e3), 0);
	assert_int_equal(bld_initrd_finish(ctx, &l), 0);
	assert_int_equal(bld_initrd_finish(ctx, &l), 0);   /* idempotent */
	static const char *const names[] = { "usr", "usr/bin", "usr/bin/y", "usr/share",
					     "usr/share/x", "usr/share/x/file" };
	static const bool implicit[] = { true, true, false, false, true, false };
	assert_int_equal(l.n, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(l.v[i].path, names[i]);
		assert_int_equal(l.v[i].implicit, implicit[i]);
	}
	struct out o = build(&l, BLD_NONE, 0, 1, 42);
	struct recs r = parse(o.buf, o.len);
	assert_int_equal(r.n, 6);
	static const unsigned long modes[] = { 040755, 040755, 0120777, 040700, 040755, 0100600 };
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(r.v[i].name, names[i]);
		assert_int_equal(r.v[i].f[F_MODE], modes[i]);
		assert_int_equal(r.v[i].f[F_INO], i + 1);
		assert_int_equal(r.v[i].f[F_NLINK], (modes[i] & 0170000) == 040000 ? 2 : 1);
		assert_int_equal(r.v[i].f[F_MTIME], 42);
		assert_int_equal(r.v[i].f[F_DMAJ], 0);
		assert_int_equal(r.v[i].f[F_DMIN], 0);
		assert_int_equal(r.v[i].f[F_CHECK], 0);
	}
	assert_int_equal(r.v[3].f[F_UID], 5);
	assert_int_equal(r.v[0].f[F_UID], 0);
	recs_free(&r);
	free(o.buf);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
	free(src);
}

/* ---- 9. devices and owners ---- */

static void test_devices_and_owners(void **state)
{
	(void)state;
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct bld_entry c = { .path = "/dev/console", .type = BLD_CHAR, .mode = 0600,
			       .rmajor = 5, .rminor = 1, .origin = "r:1" };
	struct bld_entry b = { .path = "/dev/vda", .type = BLD_BLOCK, .mode = 0660, .gid = 6,
			       .rmajor = 254, .rminor = 3, .origin = "r:2" };
	assert_int_equal(bld_initrd_add(ctx, &l, &c), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &b), 0);
	char *dir = t_tmpdir();
	mkdirp(dir, "bin", 0755);
	mkfile(dir, "bin/tool", "#!/bin/sh\n", 10, 0755);
	assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/opt/x", 1000, 100, "r:3"), 0);
	struct out o = build(&l, BLD_NONE, 0, 1, 0);
	struct recs r = parse(o.buf, o.len);
	const struct rec *x = rec_find(&r, "dev/console");
	assert_non_null(x);
	assert_int_equal(x->f[F_MODE], 020600);
	assert_int_equal(x->f[F_RMAJ], 5);
	assert_int_equal(x->f[F_RMIN], 1);
	assert_int_equal(x->f[F_SIZE], 0);
	x = rec_find(&r, "dev/vda");
	assert_int_equal(x->f[F_MODE], 060660);
	assert_int_equal(x->f[F_RMAJ], 254);
	assert_int_equal(x->f[F_RMIN], 3);
	assert_int_equal(x->f[F_GID], 6);
	x = rec_find(&r, "dev");
	assert_int_equal(x->f[F_MODE], 040755);
	x = rec_find(&r, "opt/x/bin/tool");
	assert_non_null(x);
	assert_int_equal(x->f[F_UID], 1000);
	assert_int_equal(x->f[F_GID], 100);
	assert_int_equal(x->f[F_MODE], 0100755);
	assert_int_equal(x->f[F_RMAJ], 0);
	x = rec_find(&r, "opt/x/bin");
	assert_int_equal(x->f[F_UID], 1000);
	x = rec_find(&r, "opt/x");   /* implicit: 0:0 */
	assert_int_equal(x->f[F_UID], 0);
	assert_int_equal(x->f[F_GID], 0);
	recs_free(&r);
	free(o.buf);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
}

/* ---- 10. sinks: chunking, hashes, errors; progress ---- */

struct prog {
	unsigned calls;
	uint64_t done, total;
	bool monotonic;
};

static void on_progress(void *user, const char *what, uint64_t done, uint64_t total)
{
	struct prog *p = user;
	assert_string_equal(what, "initrd");
	if (p->calls && done < p->done)
		p->monotonic = false;
	p->calls++;
	p->done = done;
	p->total = total;
}

static void test_sink(void **state)
{
	(void)state;
	size_t len = 3 * MIB + 12345;
	uint8_t *data = malloc(len);
	fill_mixed(data, len, 77);
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t *outs[3][2];
	size_t lens[3][2];
	for (int c = 0; c < 3; c++) {
		for (int way = 0; way < 2; way++) {
			char path[] = "/tmp/cvmforge-sink-XXXXXX";
			int fd = mkstemp(path);
			struct bld_sink *s;
			assert_int_equal(bld_sink_new(ctx, (enum bld_compress)c, 0, 2, fd, &s), 0);
			if (way == 0) {
				assert_int_equal(bld_sink_write(s, data, len), 0);
			} else {
				/* odd slices, like libarchive's blocks and more */
				static const size_t sl[] = { 1, 511, 512, 70000, 262144, 3, 1 << 20 };
				for (size_t off = 0, k = 0; off < len; k++) {
					size_t n = sl[k % CMN_ARRAY_SIZE(sl)];
					if (n > len - off)
						n = len - off;
					assert_int_equal(bld_sink_write(s, data + off, n), 0);
					off += n;
				}
			}
			struct bld_initrd_result res = { 0 };
			assert_int_equal(bld_sink_finish(s, &res), 0);
			assert_string_equal(bld_sink_error(s), "");
			bld_sink_free(s);
			close(fd);
			outs[c][way] = (uint8_t *)t_slurp(path, &lens[c][way]);
			unlink(path);
			uint8_t d[48];
			t_sha256(data, len, d);
			assert_memory_equal(d, res.raw_sha256, 32);
			assert_int_equal(res.raw_size, len);
			assert_int_equal(res.size, lens[c][way]);
			t_sha256(outs[c][way], lens[c][way], d);
			assert_memory_equal(d, res.sha256, 32);
			t_sha384(outs[c][way], lens[c][way], d);
			assert_memory_equal(d, res.sha384, 48);
		}
		assert_int_equal(lens[c][0], lens[c][1]);
		assert_memory_equal(outs[c][0], outs[c][1], lens[c][0]);
		free(outs[c][0]);
		free(outs[c][1]);
	}
	assert_int_equal(lens[BLD_NONE][0], len);

	/* Levels out of range. */
	struct bld_sink *s = NULL;
	assert_int_equal(bld_sink_new(ctx, BLD_ZSTD, 20, 1, 1, &s), CVMF_E_INVAL);
	assert_int_equal(bld_sink_new(ctx, BLD_GZIP, 10, 1, 1, &s), CVMF_E_INVAL);
	assert_int_equal(bld_sink_new(ctx, BLD_GZIP, -1, 1, 1, &s), CVMF_E_INVAL);
	/* A write error is kept, with a message. */
	int fd = open("/dev/null", O_RDONLY);
	assert_int_equal(bld_sink_new(ctx, BLD_NONE, 0, 1, fd, &s), 0);
	/* The helper thread writes: the failure shows now or at the end. */
	int r = bld_sink_write(s, data, len);
	assert_true(r == 0 || r == CVMF_E_IO);
	struct bld_initrd_result res;
	assert_int_equal(bld_sink_finish(s, &res), CVMF_E_IO);
	assert_non_null(strstr(bld_sink_error(s), "cannot write"));
	assert_int_equal(bld_sink_write(s, data, 10), CVMF_E_IO);
	bld_sink_free(s);
	close(fd);
	bld_sink_free(NULL);

	assert_string_equal(bld_compress_name(BLD_ZSTD), "zstd");
	assert_string_equal(bld_compress_name(BLD_GZIP), "gzip");
	assert_string_equal(bld_compress_name(BLD_NONE), "none");
	char vz[64], vl[64], va[64];
	bld_tool_versions(vz, vl, va, sizeof(vz));
	assert_true(!strncmp(vz, "libzstd 1.", 10));
	assert_true(!strncmp(vl, "zlib 1.", 7));
	assert_true(!strncmp(va, "libarchive 3.", 13));

	/* Progress over a tree: reaches the total, never goes back. */
	char *dir = t_tmpdir();
	mkfile(dir, "big", data, len, 0644);
	mkfile(dir, "small", "x", 1, 0644);
	struct bld_initrd l;
	bld_initrd_init(&l);
	assert_int_equal(bld_initrd_add_tree(ctx, &l, dir, "/", 0, 0, NULL), 0);
	struct prog p = { .monotonic = true };
	struct bld_initrd_opts o = { .compress = BLD_ZSTD, .workers = 1, .progress = on_progress,
				     .progress_user = &p };
	struct out x = build_opts(&l, &o);
	assert_true(p.calls >= 2);
	assert_true(p.monotonic);
	assert_int_equal(p.total, len + 1);
	assert_int_equal(p.done, len + 1);
	free(x.buf);
	bld_initrd_free(&l);
	t_rmrf(dir);
	free(dir);
	free(data);
	cvmf_ctx_free(ctx);
}

/* ---- 11. cpio_diff ---- */

static struct out diff_base(const char *dir, const char *bdata, size_t blen, mode_t amode,
			    const char *extra, enum bld_compress c, int level)
{
	/* a (11 bytes), b (blen bytes), d/ ; plus `extra` if given */
	mkfile(dir, "a", "hello world", 11, 0644);
	mkfile(dir, "b", bdata, blen, 0644);
	struct bld_initrd l;
	bld_initrd_init(&l);
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *a = join(dir, "a"), *b = join(dir, "b");
	struct bld_entry ea = { .path = "a", .type = BLD_REG, .mode = amode, .source = a };
	struct bld_entry eb = { .path = "b", .type = BLD_REG, .mode = 0644, .source = b };
	struct bld_entry ed = { .path = "d", .type = BLD_DIR, .mode = 0755 };
	struct bld_entry ex = { .path = (char *)extra, .type = BLD_SYMLINK, .mode = 0777,
				.target = "a" };
	assert_int_equal(bld_initrd_add(ctx, &l, &ea), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &eb), 0);
	assert_int_equal(bld_initrd_add(ctx, &l, &ed), 0);
	if (extra)
		assert_int_equal(bld_initrd_add(ctx, &l, &ex), 0);
	struct out o = build(&l, c, level, 1, 1000);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
	free(a);
	free(b);
	return o;
}

static int diff(const struct out *x, const struct out *y, char *msg, size_t n)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	int r = bld_cpio_diff(ctx, x->buf, x->len, y->buf, y->len, msg, n);
	if (r < 0)
		fail_msg("bld_cpio_diff: %s", cvmf_ctx_errmsg(ctx));
	cvmf_ctx_free(ctx);
	assert_null(strchr(msg, '\n'));
	return r;
}

static void test_diff(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	size_t blen = 100000;
	char *bd = malloc(blen);
	fill_mixed((uint8_t *)bd, blen, 5);
	char msg[1024];

	struct out base = diff_base(dir, bd, blen, 0644, NULL, BLD_NONE, 0);
	struct out same = diff_base(dir, bd, blen, 0644, NULL, BLD_NONE, 0);
	assert_int_equal(diff(&base, &same, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");

	bd[70000] ^= 1;
	struct out content = diff_base(dir, bd, blen, 0644, NULL, BLD_NONE, 0);
	bd[70000] ^= 1;
	assert_int_equal(diff(&base, &content, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 2 'b': data differs at byte 70000");

	struct out mode = diff_base(dir, bd, blen, 0600, NULL, BLD_NONE, 0);
	assert_int_equal(diff(&base, &mode, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 1 'a': mode 0644 vs 0600");

	/* One entry's mtime, patched in the header. */
	struct out mt = { malloc(base.len), base.len };
	memcpy(mt.buf, base.buf, base.len);
	struct recs r = parse(mt.buf, mt.len);
	put_hex8(mt.buf + r.v[1].off + 6 + 8 * F_MTIME, 1001);
	recs_free(&r);
	assert_int_equal(diff(&base, &mt, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 2 'b': mtime 1000 vs 1001");

	struct out mid = diff_base(dir, bd, blen, 0644, "c", BLD_NONE, 0);
	assert_int_equal(diff(&base, &mid, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 3: 'd' vs 'c' (different paths)");
	struct out end = diff_base(dir, bd, blen, 0644, "z", BLD_NONE, 0);
	assert_int_equal(diff(&base, &end, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 4 'z' only in B (A has 3 entries)");
	assert_int_equal(diff(&end, &base, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 4 'z' only in A (B has 3 entries)");

	/* Same archive, other compression. */
	struct out z3 = diff_base(dir, bd, blen, 0644, NULL, BLD_ZSTD, 3);
	struct out z1 = diff_base(dir, bd, blen, 0644, NULL, BLD_ZSTD, 1);
	struct out gz = diff_base(dir, bd, blen, 0644, NULL, BLD_GZIP, 6);
	assert_int_equal(diff(&z3, &z3, msg, sizeof(msg)), 0);
	assert_int_equal(diff(&base, &z3, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "compressed bytes differ (none vs zstd) but the cpio archives are identical");
	assert_int_equal(diff(&z1, &z3, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "compressed bytes differ but the cpio archives are identical");
	assert_int_equal(diff(&gz, &z3, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "(gzip vs zstd)"));
	/* Compressed on one side, data differing: found through zstd. */
	assert_int_equal(diff(&z3, &content, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 2 'b': data differs at byte 70000");
	/* Padding after the trailer. */
	struct out pad = { calloc(1, base.len + 512), base.len + 512 };
	memcpy(pad.buf, base.buf, base.len);
	assert_int_equal(diff(&base, &pad, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "the cpio entries are identical"));

	struct out *all[] = { &base, &same, &content, &mode, &mt, &mid, &end, &z3, &z1, &gz, &pad };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(all); i++)
		free(all[i]->buf);
	free(bd);
	t_rmrf(dir);
	free(dir);
}

static void test_diff_garbage(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char bd[300];
	memset(bd, 'b', sizeof(bd));
	struct out good = diff_base(dir, bd, sizeof(bd), 0644, NULL, BLD_NONE, 0);
	struct out gz = diff_base(dir, bd, sizeof(bd), 0644, NULL, BLD_ZSTD, 0);
	uint8_t junk[4096];
	uint64_t s = 99;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rnd(&s);
	uint8_t hdr[512];
	memset(hdr, '0', sizeof(hdr));
	memcpy(hdr, "070701", 6);
	memcpy(hdr + 6 + 8 * F_SIZE, "FFFFFFFF", 8);   /* a file of 4 GiB in 512 bytes */
	memcpy(hdr + 6 + 8 * F_NAMESZ, "00000002", 8);
	memcpy(hdr + 6 + 8 * F_MODE, "000081A4", 8);
	hdr[110] = 'x';
	hdr[111] = 0;
	uint8_t bigname[200];
	memset(bigname, '0', sizeof(bigname));
	memcpy(bigname, "070701", 6);
	memcpy(bigname + 6 + 8 * F_NAMESZ, "7FFFFFFF", 8);
	/* The same after garbage (the reader resyncs), and compressed. */
	uint8_t bigname_late[300];
	memset(bigname_late, 'z', 100);
	memcpy(bigname_late + 100, bigname, sizeof(bigname));
	uint8_t bigname_zst[512];
	size_t bzl = ZSTD_compress(bigname_zst, sizeof(bigname_zst), bigname_late,
				   sizeof(bigname_late), 3);
	assert_false(ZSTD_isError(bzl));
	struct {
		const char *what;
		const uint8_t *p;
		size_t len;
		bool may_differ;   /* parses partly: 1 (different) is also fine */
	} cases[] = {
		{ "empty", (const uint8_t *)"", 0, false },
		{ "magic only", (const uint8_t *)"070701", 6, false },
		{ "random", junk, sizeof(junk), false },
		{ "zstd magic + random", (const uint8_t *)"\x28\xb5\x2f\xfd\x00\x01\x02\x03", 8, false },
		{ "gzip magic + random", (const uint8_t *)"\x1f\x8b\x08\x00\xff\xff", 6, false },
		{ "half a zstd initrd", gz.buf, gz.len / 2, true },
		{ "zstd initrd minus 1", gz.buf, gz.len - 1, true },
		{ "cpio cut in data", good.buf, 200, false },
		{ "cpio without trailer", good.buf, good.len - 124, true },
		{ "4 GiB entry in 512 bytes", hdr, sizeof(hdr), true },
		{ "huge name", bigname, sizeof(bigname), false },
		{ "huge name after garbage", bigname_late, sizeof(bigname_late), false },
		{ "huge name, zstd", bigname_zst, bzl, false },
	};
	cvmf_ctx *ctx = cvmf_ctx_new();
	char msg[512];
	for (size_t i = 0; i < CMN_ARRAY_SIZE(cases); i++) {
		for (int k = 0; k < 3; k++) {
			const uint8_t *a = cases[i].p, *b = k == 0 ? cases[i].p : good.buf;
			size_t al = cases[i].len, bl = k == 0 ? cases[i].len : good.len;
			if (k == 2) {
				a = good.buf;
				al = good.len;
				b = cases[i].p;
				bl = cases[i].len;
			}
			int r = bld_cpio_diff(ctx, a, al, b, bl, msg, sizeof(msg));
			if (!(r < 0 || (cases[i].may_differ && r == 1)))
				fail_msg("%s (%d): %d, %s", cases[i].what, k, r, r ? msg : "equal");
			if (r < 0) {
				assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "initrd"));
				assert_null(strchr(cvmf_ctx_errmsg(ctx), '\n'));
			}
		}
	}
	assert_true(bld_cpio_diff(ctx, bigname_zst, bzl, good.buf, good.len, msg, sizeof(msg)) < 0);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "byte 100 declares a 2147483647-byte name"));
	/* A name with control bytes is escaped in messages. */
	struct bld_initrd l;
	bld_initrd_init(&l);
	struct bld_entry e = { .path = "bad\nname\x01", .type = BLD_DIR, .mode = 0755 };
	assert_int_equal(bld_initrd_add(ctx, &l, &e), 0);
	struct out x = build(&l, BLD_NONE, 0, 1, 0);
	assert_int_equal(bld_cpio_diff(ctx, x.buf, x.len, good.buf, good.len, msg, sizeof(msg)), 1);
	assert_string_equal(msg, "entry 1: 'bad\\x0aname\\x01' vs 'a' (different paths)");
	bld_initrd_free(&l);
	free(x.buf);
	cvmf_ctx_free(ctx);
	free(good.buf);
	free(gz.buf);
	t_rmrf(dir);
	free(dir);
}

/* ---- 12. the verb ---- */

static bool have_bin(void)
{
	if (access(t_bin(), X_OK) == 0)
		return true;
	printf("# SKIP reason: %s not built (set CVMFORGE_BIN)\n", t_bin());
	return false;
}

static void test_cli(void **state)
{
	(void)state;
	if (!have_bin())
		skip();
	char *dir = t_tmpdir(), *tree = join(dir, "tree"), *out = join(dir, "out.cpio"),
	     *out2 = join(dir, "out2.zst"), *src = join(dir, "init");
	assert_int_equal(mkdir(tree, 0755), 0);
	make_variant(tree, false);
	mkfile(dir, "init", "#!/bin/sh\n", 10, 0755);
	char tree_arg[4200], file_arg[4200];
	snprintf(tree_arg, sizeof(tree_arg), "%s:/usr/share/t", tree);
	snprintf(file_arg, sizeof(file_arg), "%s:/init:0700", src);

	char *argv1[] = { (char *)t_bin(), "initrd", "-o", out, "--tree", tree_arg, "--file",
			  file_arg, "--compress", "none", "--source-date-epoch", "77", "--json",
			  NULL };
	struct run r = t_run(argv1);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "\"entries\": 17"));
	t_run_free(&r);
	size_t len;
	uint8_t *buf = (uint8_t *)t_slurp(out, &len);
	struct recs rc = parse(buf, len);
	assert_int_equal(rc.n, 17);
	const struct rec *x = rec_find(&rc, "init");
	assert_int_equal(x->f[F_MODE], 0100700);
	assert_int_equal(x->f[F_MTIME], 77);
	assert_non_null(rec_find(&rc, "usr/share/t/bin/sh"));
	recs_free(&rc);
	free(buf);

	/* SOURCE_DATE_EPOCH from the environment, zstd by default. */
	setenv("SOURCE_DATE_EPOCH", "77", 1);
	char *argv2[] = { (char *)t_bin(), "initrd", "-o", out2, "--tree", tree_arg, "--file",
			  file_arg, "--workers", "3", "--quiet", NULL };
	r = t_run(argv2);
	unsetenv("SOURCE_DATE_EPOCH");
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "17 entries"));
	t_run_free(&r);

	char *argv3[] = { (char *)t_bin(), "initrd", "diff", out, out2, NULL };
	r = t_run(argv3);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "compressed bytes differ (none vs zstd)"));
	t_run_free(&r);
	char *argv4[] = { (char *)t_bin(), "initrd", "diff", out2, out2, NULL };
	r = t_run(argv4);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *argv5[] = { (char *)t_bin(), "initrd", "diff", out2, src, NULL };
	r = t_run(argv5);
	t_assert_clean_exit(&r, 1);
	t_run_free(&r);
	char *argv6[] = { (char *)t_bin(), "initrd", "--tree", tree, NULL };
	r = t_run(argv6);
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);

	/* A failing build leaves neither OUT nor a temporary. */
	char *fifo = join(tree, "fifo"), *out3 = join(dir, "out3");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	char *argv7[] = { (char *)t_bin(), "initrd", "-o", out3, "--tree", tree, NULL };
	r = t_run(argv7);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "fifo"));
	t_run_free(&r);
	unlink(fifo);
	char *missing = join(dir, "missing");
	char file_bad[4200];
	snprintf(file_bad, sizeof(file_bad), "%s:/x", missing);
	char *argv8[] = { (char *)t_bin(), "initrd", "-o", out3, "--file", file_bad, NULL };
	r = t_run(argv8);
	t_assert_clean_exit(&r, 1);
	t_run_free(&r);
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, "out3"));
	closedir(d);

	t_rmrf(dir);
	char *ps[] = { dir, tree, out, out2, src, fifo, out3, missing };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(ps); i++)
		free(ps[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_any_order),
		cmocka_unit_test(test_zstd_workers),
		cmocka_unit_test(test_zstd_cli),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_gnu_cpio),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_special_files),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_implicit_parents),
		cmocka_unit_test(test_devices_and_owners),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_garbage),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
