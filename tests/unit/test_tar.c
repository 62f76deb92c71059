/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image tarball (builder/tar.c): the same tree gives the same bytes
 * whatever the order of creation, the mtimes and the umask; the headers
 * carry only what the contract allows; extraction round-trips and refuses
 * hostile archives (written here with libarchive) naming the member.
 */
#include <archive.h>
#include <archive_entry.h>
#include <time.h>

#include "tests/unit/testlib.h"
#include "common/internal.h"
#include "builder/builder.h"

#define MTIME 1700000000u

static char *path2(const char *a, const char *b)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

static void mkfile(const char *dir, const char *rel, const char *content, mode_t mode)
{
	char *p = path2(dir, rel);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void mkdir2(const char *dir, const char *rel)
{
	char *p = path2(dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
}

static void set_mtime(const char *dir, const char *rel, time_t t)
{
	char *p = path2(dir, rel);
	struct timespec ts[2] = { { t, 0 }, { t, 123456789 } };
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
	free(p);
}

/* A name longer than ustar's 100 + 155 bytes split allows, to force a pax
 * extended header. */
static const char LONG_DIR[] =
	"a-directory-with-a-rather-long-name-that-does-not-fit-the-ustar-name-field-"
	"at-all-and-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-"
	"and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on";

/* The tree in one of two orders; `big` bytes of data in "data/big.bin". */
static void make_tree(const char *dir, bool reverse, size_t big)
{
	char *bigdata = malloc(big + 1);
	assert_non_null(bigdata);
	for (size_t i = 0; i < big; i++)
		bigdata[i] = (char)('a' + i * 7 % 26);
	bigdata[big] = '\0';
	char *long_rel = path2("data", LONG_DIR);
	char *long_file = path2(long_rel, "file.txt");
	if (!reverse) {
		mkdir2(dir, "bin");
		mkfile(dir, "bin/tool", "#!/bin/sh\necho hi\n", 0700);
		mkdir2(dir, "data");
		mkfile(dir, "data/big.bin", bigdata, 0600);
		mkfile(dir, "data/a.txt", "a\n", 0640);
		mkfile(dir, "data.txt", "top\n", 0666);
		mkdir2(dir, long_rel);
		mkfile(dir, long_file, "long\n", 0644);
		mkdir2(dir, "empty");
		mkfile(dir, "z", "", 0750);
	} else {
		mkfile(dir, "z", "", 0755);
		mkdir2(dir, "empty");
		mkfile(dir, "data.txt", "top\n", 0600);
		mkdir2(dir, "data");
		mkdir2(dir, long_rel);
		mkfile(dir, long_file, "long\n", 0600);
		mkfile(dir, "data/a.txt", "a\n", 0644);
		mkfile(dir, "data/big.bin", bigdata, 0644);
		mkdir2(dir, "bin");
		mkfile(dir, "bin/tool", "#!/bin/sh\necho hi\n", 0755);
		set_mtime(dir, "bin/tool", 12345);
		set_mtime(dir, "data", 999999);
		set_mtime(dir, ".", 42);
	}
	free(long_rel);
	free(long_file);
	free(bigdata);
}

struct two {
	char *root, *a, *b, *ta, *tb;
};

static struct two two_tars(size_t big)
{
	struct two t;
	t.root = t_tmpdir();
	t.a = path2(t.root, "a");
	t.b = path2(t.root, "b");
	t.ta = path2(t.root, "a.tar");
	t.tb = path2(t.root, "b.tar");
	assert_int_equal(mkdir(t.a, 0755), 0);
	assert_int_equal(mkdir(t.b, 0700), 0);
	mode_t old = umask(022);
	make_tree(t.a, false, big);
	umask(077);
	make_tree(t.b, true, big);
	umask(old);
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (bld_tar_write(ctx, t.a, "image", MTIME, t.ta) ||
	    bld_tar_write(ctx, t.b, "image/", MTIME, t.tb))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	cvmf_ctx_free(ctx);
	return t;
}

static void two_free(struct two *t)
{
	t_rmrf(t->root);
	free(t->root);
	free(t->a);
	free(t->b);
	free(t->ta);
	free(t->tb);
}

static void test_identical(void **state)
{
	(void)state;
	struct two t = two_tars(300000);
	size_t na, nb;
	char *a = t_slurp(t.ta, &na), *b = t_slurp(t.tb, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(na % 10240, 0);
	struct stat st;
	assert_int_equal(stat(t.ta, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* No temporary file left beside the output. */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "ls '%s' | grep -q tmp", t.root) > 0);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	free(a);
	free(b);
	two_free(&t);
}

static void test_headers(void **state)
{
	(void)state;
	struct two t = two_tars(1000);
	/* Bytewise order of whole paths without the directories' trailing '/'
	 * (as the initrd): "image/data" < "image/data.txt" < "image/data/a.txt",
	 * since '.' (0x2e) sorts before '/' (0x2f). */
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, t.ta, 10240), ARCHIVE_OK);
	struct archive_entry *ae;
	char prev[1024] = "";
	int n = 0;
	bool saw_long = false;
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		char bare[1024];
		snprintf(bare, sizeof(bare), "%s", name);
		if (bare[0] && bare[strlen(bare) - 1] == '/')
			bare[strlen(bare) - 1] = '\0';
		if (n == 0)
			assert_string_equal(name, "image/");
		else if (strcmp(prev, bare) >= 0)
			fail_msg("'%s' after '%s'", bare, prev);
		if (n == 4)
			assert_string_equal(name, "image/data.txt");
		assert_true(strncmp(name, "image/", 6) == 0);
		snprintf(prev, sizeof(prev), "%s", bare);
		assert_int_equal(archive_entry_uid(ae), 0);
		assert_int_equal(archive_entry_gid(ae), 0);
		const char *un = archive_entry_uname(ae), *gn = archive_entry_gname(ae);
		assert_true(!un || !*un);
		assert_true(!gn || !*gn);
		assert_int_equal(archive_entry_mtime(ae), MTIME);
		assert_int_equal(archive_entry_mtime_nsec(ae), 0);
		assert_false(archive_entry_atime_is_set(ae));
		assert_false(archive_entry_ctime_is_set(ae));
		assert_false(archive_entry_birthtime_is_set(ae));
		unsigned perm = archive_entry_perm(ae);
		if (archive_entry_filetype(ae) == AE_IFDIR)
			assert_int_equal(perm, 0755);
		else if (!strcmp(name, "image/bin/tool") || !strcmp(name, "image/z"))
			assert_int_equal(perm, 0755);
		else
			assert_int_equal(perm, 0644);
		if (strstr(name, "rather-long"))
			saw_long = true;
		n++;
	}
	assert_true(saw_long);
	assert_int_equal(n, 11);
	archive_read_free(a);

	/* Raw headers: ustar blocks, and the only pax records are paths. */
	size_t len;
	uint8_t *raw = (uint8_t *)t_slurp(t.ta, &len);
	size_t off = 0, pax = 0;
	while (off + 512 <= len && raw[off]) {
		const uint8_t *h = raw + off;
		assert_memory_equal(h + 257, "ustar\0" "00", 8);
		assert_memory_equal(h + 108, "000000 ", 8);     /* uid 0 */
		assert_memory_equal(h + 116, "000000 ", 8);     /* gid 0 */
		assert_int_equal(strtoul((const char *)h + 136, NULL, 8), MTIME);
		assert_int_equal(h[265], 0);                    /* uname */
		assert_int_equal(h[297], 0);                    /* gname */
		uint64_t size = strtoull((const char *)h + 124, NULL, 8);
		char type = (char)h[156];
		assert_true(type == '0' || type == '5' || type == 'x');
		if (type == 'x') {
			char *rec = strndup((const char *)h + 512, (size_t)size);
			if (strstr(rec, "time=") || strstr(rec, "uid=") || strstr(rec, "gid=") ||
			    strstr(rec, "uname=") || strstr(rec, "gname=") || strstr(rec, "SCHILY") ||
			    strstr(rec, "LIBARCHIVE"))
				fail_msg("a pax header carries more than a path: %s", rec);
			assert_non_null(strstr(rec, " path="));
			free(rec);
			pax++;
		}
		off += 512 + (size + 511) / 512 * 512;
	}
	assert_int_equal(pax, 2);
	free(raw);
	two_free(&t);
}

static void test_gnu_tar_reads_it(void **state)
{
	(void)state;
	if (access("/usr/bin/tar", X_OK) != 0 && access("/bin/tar", X_OK) != 0) {
		printf("# SKIP reason: GNU tar is not installed\n");
		skip();
	}
	struct two t = two_tars(1000);
	char *argv[] = { access("/usr/bin/tar", X_OK) == 0 ? "/usr/bin/tar" : "/bin/tar",
			 "--numeric-owner", "-tvf", t.ta, NULL };
	struct run r = t_run(argv);
	t_assert_clean_exit(&r, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "-rwxr-xr-x 0/0"));
	assert_non_null(strstr(r.out, "drwxr-xr-x 0/0"));
	assert_non_null(strstr(r.out, "image/data/big.bin"));
	assert_non_null(strstr(r.out, "file.txt"));
	assert_null(strstr(r.out, "PaxHeader"));
	/* 1700000000 = 2023-11-14 22:13:20 UTC; tar prints local time, so
	 * check the year only. */
	assert_non_null(strstr(r.out, "2023-11-1"));
	t_run_free(&r);
	two_free(&t);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct two t = two_tars(200000);
	char *dest = path2(t.root, "out");
	assert_int_equal(mkdir(dest, 0755), 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	mode_t old = umask(077);
	int r = bld_tar_extract(ctx, t.ta, dest);
	umask(old);
	if (r)
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "diff -r '%s' '%s/image' >/dev/null", t.a, dest) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	struct stat st;
	char *p = path2(dest, "image/bin/tool");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(p);
	p = path2(dest, "image/data/a.txt");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(p);
	p = path2(dest, "image/empty");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	free(p);
	/* And back: the same tarball. */
	char *again = path2(t.root, "again.tar");
	char *img = path2(dest, "image");
	assert_int_equal(bld_tar_write(ctx, img, "image", MTIME, again), 0);
	size_t n1, n2;
	char *b1 = t_slurp(t.ta, &n1), *b2 = t_slurp(again, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	free(b1);
	free(b2);
	/* Extracting again over the same files is refused, not merged. */
	assert_int_equal(bld_tar_extract(ctx, t.ta, dest), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "image/bin/tool"));
	free(img);
	free(again);
	free(dest);
	cvmf_ctx_free(ctx);
	two_free(&t);
}

static void test_write_refuses(void **state)
{
	(void)state;
	char *root = t_tmpdir();
	char *src = path2(root, "src"), *out = path2(root, "o.tar");
	assert_int_equal(mkdir(src, 0755), 0);
	mkfile(src, "f", "x", 0644);
	char *ln = path2(src, "link");
	assert_int_equal(symlink("f", ln), 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(bld_tar_write(ctx, src, "p", MTIME, out), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "link"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "symlink"));
	assert_int_equal(access(out, F_OK), -1);
	unlink(ln);
	assert_int_equal(mkfifo(ln, 0644), 0);
	assert_int_equal(bld_tar_write(ctx, src, "p", MTIME, out), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "special"));
	unlink(ln);
	assert_int_equal(bld_tar_write(ctx, src, "../p", MTIME, out), CVMF_E_INVAL);
	assert_int_equal(bld_tar_write(ctx, src, "/p", MTIME, out), CVMF_E_INVAL);
	assert_int_equal(bld_tar_write(ctx, src, "p", 0x80000000ull, out), CVMF_E_INVAL);
	assert_int_equal(bld_tar_write(ctx, out, "p", MTIME, out), CVMF_E_IO);
	/* No prefix: the files at the top. */
	assert_int_equal(bld_tar_write(ctx, src, "", MTIME, out), 0);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, out, 10240), ARCHIVE_OK);
	struct archive_entry *ae;
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(ae), "f");
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_EOF);
	archive_read_free(a);
	cvmf_ctx_free(ctx);
	free(ln);
	free(src);
	free(out);
	t_rmrf(root);
	free(root);
}

/* A tar holding a good file, then one hostile member. */
enum evil { EVIL_DOTDOT, EVIL_ABS, EVIL_SYMLINK, EVIL_HARDLINK, EVIL_FIFO, EVIL_CHR,
	    EVIL_INNER_DOTDOT, EVIL_DOT };

static void write_evil(const char *path, enum evil kind, const char **ret_name)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "ok.txt");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 3);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "ok\n", 3), 3);
	archive_entry_clear(e);
	const char *name = "evil";
	archive_entry_set_perm(e, 0644);
	archive_entry_set_filetype(e, AE_IFREG);
	switch (kind) {
	case EVIL_DOTDOT: name = "../x"; break;
	case EVIL_ABS: name = "/abs"; break;
	case EVIL_INNER_DOTDOT: name = "sub/../../y"; break;
	case EVIL_DOT: name = "sub/./z"; break;
	case EVIL_SYMLINK:
		name = "link";
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, "/etc/passwd");
		break;
	case EVIL_HARDLINK:
		name = "hard";
		archive_entry_set_hardlink(e, "ok.txt");
		break;
	case EVIL_FIFO: name = "fifo"; archive_entry_set_filetype(e, AE_IFIFO); break;
	case EVIL_CHR:
		name = "null";
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_rdevmajor(e, 1);
		archive_entry_set_rdevminor(e, 3);
		break;
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, 0);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*ret_name = name;
}

static void test_extract_refuses(void **state)
{
	(void)state;
	static const struct {
		enum evil kind;
		const char *why;
	} cases[] = {
		{ EVIL_DOTDOT, "'..'" }, { EVIL_ABS, "absolute" }, { EVIL_SYMLINK, "symlink" },
		{ EVIL_HARDLINK, "hard link" }, { EVIL_FIFO, "neither" }, { EVIL_CHR, "neither" },
		{ EVIL_INNER_DOTDOT, "'..'" }, { EVIL_DOT, "'.'" },
	};
	char *root = t_tmpdir();
	char *tar = path2(root, "evil.tar");
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t i = 0; i < CMN_ARRAY_SIZE(cases); i++) {
		const char *name;
		write_evil(tar, cases[i].kind, &name);
		char sub[32];
		snprintf(sub, sizeof(sub), "dest%zu", i);
		char *dest = path2(root, sub);
		assert_int_equal(mkdir(dest, 0755), 0);
		assert_int_equal(bld_tar_extract(ctx, tar, dest), CVMF_E_FORMAT);
		const char *msg = cvmf_ctx_errmsg(ctx);
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "'%s'", name);
		if (!strstr(msg, quoted) || !strstr(msg, cases[i].why))
			fail_msg("case %zu: '%s' does not name %s and say %s", i, msg, quoted,
				 cases[i].why);
		free(dest);
	}
	/* Nothing escaped: no x or y beside the destinations. */
	char *x = path2(root, "x"), *y = path2(root, "y");
	assert_int_equal(access(x, F_OK), -1);
	assert_int_equal(access(y, F_OK), -1);
	free(x);
	free(y);

	/* A symlink already in the destination is not followed. */
	char *dest = path2(root, "destlink"), *outside = path2(root, "outside");
	assert_int_equal(mkdir(dest, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	char *lnk = path2(dest, "image");
	assert_int_equal(symlink(outside, lnk), 0);
	struct two t = two_tars(10);
	assert_int_equal(bld_tar_extract(ctx, t.ta, dest), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "'image/'"));
	char *probe = path2(outside, "bin");
	assert_int_equal(access(probe, F_OK), -1);
	free(probe);
	two_free(&t);
	free(lnk);
	free(dest);
	free(outside);

	/* Not a tar at all; a missing destination. */
	char *junk = t_write(root, "junk.tar", "hello, this is not a tar archive", 32);
	assert_true(bld_tar_extract(ctx, junk, root) < 0);
	char *nodest = path2(root, "nope");
	assert_int_equal(bld_tar_extract(ctx, junk, nodest), CVMF_E_IO);
	free(nodest);
	free(junk);
	cvmf_ctx_free(ctx);
	free(tar);
	t_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_gnu_tar_reads_it),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_refuses),
		cmocka_unit_test(test_extract_refuses),
	};
	return cmocka_run_group_tests_name("tar", tests, NULL, NULL);
}
