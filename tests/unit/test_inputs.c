/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inputs, opened one way (common/file.h), in every verb: endless or special
 * files (/dev/zero, FIFOs, directories) are refused at once with a message
 * naming the role and the path; size caps are checked before any byte is
 * hashed; image directories hold regular files only (no links); verify
 * checks the tarball beside the files; reproduce compares in constant
 * memory; snp checks the kernel as QEMU does; a recipe tree's root is not
 * followed. Every command runs under timeout(1), so a regression to a
 * hang fails (exit 124) instead of hanging the suite.
 */
#include <sys/resource.h>
#include <time.h>

#include "tests/unit/testlib.h"
#include "common/file.h"

#define TIMEOUT "timeout 60 "

struct fx {
	char *dir;          /* scratch */
	char *ovmf, *amdsev, *kernel, *initrd;
	char *fifo;
	char *recipe, *img; /* a built image (built once, on first use) */
};

static char *shared_abs(const char *rel)
{
	char *p = t_shared_file(rel);
	if (!p)
		return NULL;
	char *abs = realpath(p, NULL);
	free(p);
	return abs;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ovmf = shared_abs("inputs/OVMF.fd");
	f->amdsev = shared_abs("inputs/OVMF.amdsev.fd");
	f->kernel = shared_abs("inputs/vmlinuz-6.1.0-50");
	f->initrd = shared_abs("inputs/initrd-tiny.cpio");
	f->dir = t_tmpdir();
	assert_true(asprintf(&f->fifo, "%s/fifo", f->dir) > 0);
	assert_int_equal(mkfifo(f->fifo, 0600), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	t_rmrf(f->dir);
	char **p[] = { &f->dir, &f->ovmf, &f->amdsev, &f->kernel, &f->initrd, &f->fifo,
		       &f->recipe, &f->img };
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		free(*p[i]);
	free(f);
	return 0;
}

static bool have(const char *a, const char *b)
{
	if (a && b)
		return true;
	printf("# SKIP reason: needs the Debian 12 inputs of ../shared/inputs\n");
	return false;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run a shell command; it must exit with `code` within `secs` and say `needle`
 * (on stderr for failures, stdout otherwise). */
static void expect_sh(int code, const char *needle, double secs, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void expect_sh(int code, const char *needle, double secs, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	double t0 = now();
	struct run r = t_sh("%s", cmd);
	double dt = now() - t0;
	if (r.status != code || (needle && !strstr(code ? r.err : r.out, needle)) || dt > secs)
		fail_msg("%s\nexit %d (wanted %d) after %.2f s (at most %.1f); wanted '%s' in:\n"
			 "stderr: %s\nstdout: %s", cmd, r.status, code, dt, secs,
			 needle ? needle : "", r.err, r.out);
	t_run_free(&r);
	free(cmd);
}

/* ---- the opener itself ---- */

static void test_opener(void **state)
{
	struct fx *f = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint64_t size = 0;
	int fd = cmn_input_open(ctx, "initrd", "/dev/zero", CMN_MAX_INITRD, 0, &size);
	assert_true(fd < 0);
	assert_string_equal(cvmf_ctx_errmsg(ctx),
			    "initrd '/dev/zero' is a character device; only regular files are accepted");
	/* A FIFO with no writer: refused at once, not waited on. */
	fd = cmn_input_open(ctx, "kernel", f->fifo, CMN_MAX_KERNEL, 0, &size);
	assert_true(fd < 0);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "is a FIFO"));
	fd = cmn_input_open(ctx, "firmware", f->dir, 1 << 20, 0, &size);
	assert_true(fd < 0);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "is a directory"));

	/* The cap, from fstat: a sparse file is never read. */
	char *big;
	assert_true(asprintf(&big, "%s/big", f->dir) > 0);
	int bfd = open(big, O_WRONLY | O_CREAT, 0600);
	assert_true(bfd >= 0);
	assert_int_equal(ftruncate(bfd, (off_t)8 << 30), 0);
	close(bfd);
	fd = cmn_input_open(ctx, "initrd", big, CMN_MAX_INITRD, 0, &size);
	assert_true(fd < 0);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "is 8589934592 bytes, more than the 4294967295 accepted"));
	uint8_t *buf = NULL;
	size_t len;
	assert_true(cmn_read_file(ctx, "recipe", big, 1 << 20, &buf, &len) < 0);
	assert_null(buf);
	unlink(big);

	/* Links: followed by default, refused with CMN_IN_NOFOLLOW. */
	char *a = t_write(f->dir, "a", "abc", 3), *l;
	assert_true(asprintf(&l, "%s/l", f->dir) > 0);
	assert_int_equal(symlink(a, l), 0);
	fd = cmn_input_open(ctx, "file", l, 100, 0, &size);
	assert_true(fd >= 0);
	assert_int_equal(size, 3);
	/* Blocking again once known to be a regular file. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	fd = cmn_input_open(ctx, "image file", l, 100, CMN_IN_NOFOLLOW, &size);
	assert_true(fd < 0);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "is a symbolic link"));

	/* Streaming comparison: equal, differing, a prefix. */
	char *b = t_write(f->dir, "b", "abd", 3), *c = t_write(f->dir, "c", "abcdef", 6);
	bool same;
	uint64_t off, sa, sb;
	assert_int_equal(cmn_compare_inputs(ctx, "a", a, "a", l, 100, 0, &same, &off, &sa, &sb), 0);
	assert_true(same);
	assert_int_equal(cmn_compare_inputs(ctx, "a", a, "b", b, 100, 0, &same, &off, &sa, &sb), 0);
	assert_false(same);
	assert_int_equal(off, 2);
	assert_int_equal(cmn_compare_inputs(ctx, "a", a, "c", c, 100, 0, &same, &off, &sa, &sb), 0);
	assert_false(same);
	assert_int_equal(off, 3);
	assert_int_equal(sb, 6);
	assert_true(cmn_compare_inputs(ctx, "a", a, "z", "/dev/zero", 100, 0, &same, &off, NULL,
				       NULL) < 0);
	free(a);
	free(b);
	free(c);
	free(l);
	free(big);
	cvmf_ctx_free(ctx);
}

/* ---- measure: endless and special inputs, caps ---- */

static void test_measure_special_inputs(void **state)
{
	struct fx *f = *state;
	if (!have(f->amdsev, f->ovmf) || !have(f->kernel, f->initrd))
		skip();
	const char *b = t_bin();
	const char *snp = "measure snp --mode snp --vcpus 1 --vcpu-type EPYC-v4";
	expect_sh(1, "kernel '/dev/zero' is a character device", 10,
		  TIMEOUT "'%s' %s --ovmf '%s' --kernel /dev/zero", b, snp, f->amdsev);
	const char *bad[] = { "/dev/zero", f->fifo };
	for (size_t i = 0; i < 2; i++) {
		const char *why = i ? "is a FIFO" : "is a character device";
		expect_sh(1, why, 10, TIMEOUT "'%s' %s --ovmf '%s' --kernel '%s' --initrd '%s'", b,
			  snp, f->amdsev, f->kernel, bad[i]);
		expect_sh(1, why, 10, TIMEOUT "'%s' measure tdx --ovmf '%s' --kernel '%s' --initrd '%s'",
			  b, f->ovmf, f->kernel, bad[i]);
		expect_sh(1, why, 10, TIMEOUT "'%s' measure tpm --ovmf '%s' --kernel '%s' --initrd '%s'",
			  b, f->ovmf, f->kernel, bad[i]);
		expect_sh(1, why, 10, TIMEOUT "'%s' measure tdx --ovmf '%s' --kernel '%s' --acpi-tables '%s'",
			  b, f->ovmf, f->kernel, bad[i]);
		expect_sh(1, why, 10, TIMEOUT "'%s' inspect ovmf '%s'", b, bad[i]);
		expect_sh(1, why, 10, TIMEOUT "'%s' eventlog replay '%s'", b, bad[i]);
		expect_sh(1, why, 10, TIMEOUT "'%s' measure tdx --ovmf '%s'", b, bad[i]);
	}
	expect_sh(1, "not a regular file", 10, TIMEOUT "'%s' initrd diff '%s' '%s'", b, f->fifo,
		  f->initrd);
	expect_sh(1, "is a directory", 10, TIMEOUT "'%s' measure tpm --ovmf '%s' --kernel '%s'", b,
		  f->ovmf, f->dir);

	/* An 8 GiB sparse initrd: refused on its size at once, never hashed
	 * (it took 24 s of hashing before). */
	char *big;
	assert_true(asprintf(&big, "%s/initrd-8g", f->dir) > 0);
	expect_sh(0, NULL, 10, "truncate -s 8G '%s'", big);
	for (const char *const *v = (const char *const[]){ "tdx", "tpm", NULL }; *v; v++)
		expect_sh(1, "is 8589934592 bytes, more than the 4294967295 accepted", 2,
			  TIMEOUT "'%s' measure %s --ovmf '%s' --kernel '%s' --initrd '%s'", b, *v,
			  f->ovmf, f->kernel, big);
	expect_sh(1, "is 8589934592 bytes, more than the 4294967295 accepted", 2,
		  TIMEOUT "'%s' %s --ovmf '%s' --kernel '%s' --initrd '%s'", b, snp, f->amdsev,
		  f->kernel, big);
	/* Under the cap but over the kernel's initrd limit: refused before hashing. */
	expect_sh(0, NULL, 10, "truncate -s 3500M '%s'", big);
	for (const char *const *v = (const char *const[]){ "tdx", "tpm", NULL }; *v; v++)
		expect_sh(1, "does not fit below the kernel's initrd limit", 2,
			  TIMEOUT "'%s' measure %s --ovmf '%s' --kernel '%s' --initrd '%s'", b, *v,
			  f->ovmf, f->kernel, big);
	unlink(big);
	free(big);
}

/* ---- measure snp: the kernel QEMU would load ---- */

static void test_snp_kernel_check(void **state)
{
	struct fx *f = *state;
	if (!have(f->amdsev, f->kernel))
		skip();
	const char *b = t_bin();
	const char *snp = "measure snp --mode snp --vcpus 1 --vcpu-type EPYC-v4";
	char *cut;
	assert_true(asprintf(&cut, "%s/vmlinuz-600", f->dir) > 0);
	expect_sh(0, NULL, 10, "head -c 600 '%s' > '%s'", f->kernel, cut);
	expect_sh(1, "exceeds the 600-byte file", 10, TIMEOUT "'%s' %s --ovmf '%s' --kernel '%s'", b,
		  snp, f->amdsev, cut);
	expect_sh(1, "too short for a Linux setup header", 10,
		  TIMEOUT "head -c 100 '%s' > '%s' && '%s' %s --ovmf '%s' --kernel '%s'", f->kernel,
		  cut, b, snp, f->amdsev, cut);
	/* The same check as tdx and tpm. */
	expect_sh(1, "too short for a Linux setup header", 10,
		  TIMEOUT "'%s' measure tdx --ovmf '%s' --kernel '%s'", b, f->ovmf, cut);
	/* The real kernel is fine. */
	expect_sh(0, NULL, 10, TIMEOUT "'%s' %s --ovmf '%s' --kernel '%s'", b, snp, f->amdsev,
		  f->kernel);

	/* An empty kernel: QEMU refuses it, but sev-snp-measure's published
	 * vectors measure one, so it is measured as the reference does, with a
	 * warning under our name and the reference's silence under its own. */
	char *empty = t_write(f->dir, "empty", "", 0);
	struct run r = t_sh(TIMEOUT "'%s' %s --ovmf '%s' --kernel '%s'", b, snp, f->amdsev, empty);
	t_assert_clean_exit(&r, 0);
	assert_int_equal(strlen(r.out), 97);
	assert_non_null(strstr(r.err, "warning: kernel"));
	assert_non_null(strstr(r.err, "is empty: QEMU refuses to boot it"));
	t_run_free(&r);
	free(empty);
	free(cut);
}

/* ---- images: links and special files, the tarball, streaming ---- */

/* Build the image once (a recipe on the ../shared inputs, file: sources). */
static const char *image(struct fx *f)
{
	if (f->img)
		return f->img;
	char *tree;
	assert_true(asprintf(&tree, "%s/rootfs", f->dir) > 0);
	expect_sh(0, NULL, 30, "mkdir -p '%s/etc' && printf '#!/bin/sh\\necho hi\\n' > '%s/init' && "
		  "chmod 755 '%s/init' && echo test > '%s/etc/hostname'", tree, tree, tree, tree);
	free(tree);
	assert_true(asprintf(&f->recipe, "%s/t.recipe", f->dir) > 0);
	FILE *o = fopen(f->recipe, "w");
	assert_non_null(o);
	fprintf(o, "[image]\nname = t\nversion = 1\nsource-date-epoch = 1700000000\n\n"
		   "[firmware]\nsource = file:%s\nrelease = 2022.11\n\n"
		   "[kernel]\nsource = file:%s\n\n[initrd]\ntree = rootfs\n\n"
		   "[cmdline]\nvalue = console=ttyS0\n\n[snp]\nkernel-hashes = no\nvcpus = 1\n\n"
		   "[tdx]\nmemory = 2G\n", f->ovmf, f->kernel);
	fclose(o);
	expect_sh(0, NULL, 120, TIMEOUT "'%s' build '%s' -o '%s/out' --lock --quiet", t_bin(),
		  f->recipe, f->dir);
	assert_true(asprintf(&f->img, "%s/out/t-1", f->dir) > 0);
	return f->img;
}

/* A fresh copy of the image to spoil: DIR/name/t-1. */
static char *copy_image(struct fx *f, const char *name)
{
	const char *img = image(f);
	char *c;
	assert_true(asprintf(&c, "%s/%s/t-1", f->dir, name) > 0);
	expect_sh(0, NULL, 30, "rm -rf '%s/%s' && mkdir -p '%s/%s' && cp -a '%s' '%s'", f->dir,
		  name, f->dir, name, img, c);
	return c;
}

static void test_image_links_and_specials(void **state)
{
	struct fx *f = *state;
	if (!have(f->ovmf, f->kernel))
		skip();
	const char *b = t_bin();
	char *c = copy_image(f, "zero");
	expect_sh(0, NULL, 10, "ln -sf /dev/zero '%s/vmlinuz'", c);
	expect_sh(1, "'vmlinuz' in image", 10, TIMEOUT "'%s' verify '%s'", b, c);
	expect_sh(1, "is a symbolic link", 10, TIMEOUT "'%s' reproduce '%s' --against '%s'", b,
		  f->recipe, c);
	free(c);

	c = copy_image(f, "fifo-img");
	expect_sh(0, NULL, 10, "rm '%s/initrd.img' && mkfifo '%s/initrd.img'", c, c);
	expect_sh(1, "'initrd.img' in image", 10, TIMEOUT "'%s' verify '%s'", b, c);
	expect_sh(1, "is a special file", 10, TIMEOUT "'%s' reproduce '%s' --against '%s'", b,
		  f->recipe, c);
	free(c);

	/* A link to an identical file outside the image: still refused. */
	c = copy_image(f, "outside");
	expect_sh(0, NULL, 10, "mv '%s/OVMF.fd' '%s/outside/OVMF.fd' && ln -s '%s/outside/OVMF.fd' "
		  "'%s/OVMF.fd'", c, f->dir, f->dir, c);
	expect_sh(1, "'OVMF.fd' in image", 10, TIMEOUT "'%s' verify '%s'", b, c);
	expect_sh(1, "'OVMF.fd' in image", 10, TIMEOUT "'%s' reproduce '%s' --against '%s'", b,
		  f->recipe, c);
	free(c);

	/* A tarball that is a FIFO, given as the image. */
	expect_sh(1, "is a FIFO", 10, TIMEOUT "'%s' verify '%s'", b, f->fifo);
}

static void test_verify_tarball(void **state)
{
	struct fx *f = *state;
	if (!have(f->ovmf, f->kernel))
		skip();
	const char *b = t_bin();
	expect_sh(0, "ok       tarball t-1.tar", 60, TIMEOUT "'%s' verify '%s'", b, image(f));
	char *c = copy_image(f, "tar");
	/* Four bytes inside OVMF.fd's data in the tarball (it starts at 512). */
	expect_sh(0, NULL, 10, "printf 'XXXX' | dd of='%s/t-1.tar' bs=1 seek=3000 conv=notrunc "
		  "2>/dev/null", c);
	expect_sh(3, "DIFFERS  tarball t-1.tar: not the tarball of the image's files: first "
		  "difference at byte 3000, in member 't-1/OVMF.fd'", 30,
		  TIMEOUT "'%s' verify '%s' 1>&2", b, c);
	/* Bytes appended: in the directory, and given as the image (whose files
	 * all check, as the end of archive comes before the extra byte). */
	expect_sh(0, NULL, 10, "cp '%s/t-1.tar' '%s/t-1.tar' && printf 'x' >> '%s/t-1.tar'",
		  f->img, c, c);
	expect_sh(3, "1 more bytes than the tarball of the image's files", 30,
		  TIMEOUT "'%s' verify '%s' 1>&2", b, c);
	expect_sh(3, "1 more bytes than the tarball of the image's files", 30,
		  TIMEOUT "'%s' verify '%s/t-1.tar' 1>&2", b, c);
	expect_sh(0, "ok       tarball", 30, TIMEOUT "'%s' verify '%s/t-1.tar'", b, f->img);
	/* Missing. */
	expect_sh(0, NULL, 10, "rm '%s/t-1.tar'", c);
	expect_sh(3, "tarball t-1.tar: missing", 30, TIMEOUT "'%s' verify '%s' 1>&2", b, c);
	/* A file the tarball does not hold (listed nowhere, so verify says so too). */
	expect_sh(0, NULL, 10, "cp '%s/t-1.tar' '%s/' && echo x > '%s/extra'", f->img, c, c);
	expect_sh(3, "DIFFERS  tarball t-1.tar", 30, TIMEOUT "'%s' verify '%s' 1>&2", b, c);
	free(c);
}

/* ru_maxrss (KiB) of a child that runs sh -c CMD, and its exit code. */
static long child_maxrss(const char *cmd, int *ret_status)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		pid_t g;
		char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
		int st = 0;
		if (posix_spawn(&g, "/bin/sh", NULL, NULL, argv, environ) || waitpid(g, &st, 0) != g)
			_exit(99);
		struct rusage ru;
		getrusage(RUSAGE_CHILDREN, &ru);
		long v[2] = { ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 };
		ssize_t w = write(p[1], v, sizeof(v));
		_exit(w == (ssize_t)sizeof(v) ? 0 : 98);
	}
	close(p[1]);
	long v[2] = { 0, 0 };
	assert_int_equal(read(p[0], v, sizeof(v)), (ssize_t)sizeof(v));
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	*ret_status = (int)v[1];
	return v[0];
}

static void test_reproduce_streams(void **state)
{
	struct fx *f = *state;
	if (!have(f->ovmf, f->kernel))
		skip();
	char *c = copy_image(f, "sparse");
	expect_sh(0, NULL, 10, "truncate -s 1G '%s/cmdline.txt'", c);
	char *cmd;
	assert_true(asprintf(&cmd, TIMEOUT "'%s' reproduce '%s' --against '%s' > '%s/repro.out' 2>&1",
			     t_bin(), f->recipe, c, f->dir) > 0);
	int status;
	long kib = child_maxrss(cmd, &status);
	char *p;
	assert_true(asprintf(&p, "%s/repro.out", f->dir) > 0);
	char *out = t_slurp(p, NULL);
	printf("# reproduce against a 1 GiB sparse cmdline.txt: exit %d, peak RSS %ld KiB\n",
	       status, kib);
	if (status != 3 || !strstr(out, "DIFFERS  file cmdline.txt: line 1: rebuilt \"console=ttyS0\"") ||
	    !strstr(out, "(sizes 13 and 1073741824 bytes)"))
		fail_msg("exit %d:\n%s", status, out);
	/* 1.07 GB before, when files were read whole. */
	if (kib > 128 * 1024)
		fail_msg("reproduce peaked at %ld KiB", kib);
	free(out);
	free(p);
	free(cmd);
	free(c);
}

/* ---- recipes: a tree whose root is a link ---- */

static void test_tree_root_link(void **state)
{
	struct fx *f = *state;
	if (!have(f->ovmf, f->kernel))
		skip();
	image(f);   /* the recipe and its rootfs */
	char *r2;
	assert_true(asprintf(&r2, "%s/linked.recipe", f->dir) > 0);
	expect_sh(0, NULL, 10, "cd '%s' && ln -sfn /etc t1 && sed 's/^tree = rootfs/tree = t1/' "
		  "t.recipe > linked.recipe && grep -q '^tree = t1' linked.recipe", f->dir);
	expect_sh(1, "tree t1: '", 30, TIMEOUT "'%s' build '%s' -o '%s/linked-out' --lock", t_bin(),
		  r2, f->dir);
	expect_sh(1, "is a symbolic link; a tree's root is not followed", 30,
		  TIMEOUT "'%s' build '%s' -o '%s/linked-out' --lock", t_bin(), r2, f->dir);
	expect_sh(0, NULL, 10, "test ! -e '%s/linked-out/t-1'", f->dir);
	free(r2);
}

/* ---- build: file: inputs ---- */

static void test_build_file_inputs(void **state)
{
	struct fx *f = *state;
	if (!have(f->ovmf, f->kernel))
		skip();
	image(f);
	const char *bad[] = { "/dev/zero", f->fifo };
	for (size_t i = 0; i < 2; i++) {
		expect_sh(0, NULL, 10, "cd '%s' && sed 's|^source = file:%s$|source = file:%s|' t.recipe "
			  "> special.recipe && grep -q 'file:%s' special.recipe", f->dir, f->kernel,
			  bad[i], bad[i]);
		expect_sh(1, "is not a regular file", 10,
			  TIMEOUT "'%s' build '%s/special.recipe' -o '%s/special-out' --lock", t_bin(),
			  f->dir, f->dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opener),
		cmocka_unit_test(test_measure_special_inputs),
		cmocka_unit_test(test_snp_kernel_check),
		cmocka_unit_test(test_image_links_and_specials),
		cmocka_unit_test(test_verify_tarball),
		cmocka_unit_test(test_reproduce_streams),
		cmocka_unit_test(test_tree_root_link),
		cmocka_unit_test(test_build_file_inputs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
