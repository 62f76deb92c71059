/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge build / verify / reproduce, end to end through the CLI, on the
 * real Debian firmware and kernel of ../shared (file: inputs, no network):
 * outputs, pins and the lock, module vermagic checks, nothing partial on
 * failure, tamper detection, reproduce's diffs, agreement with the measure
 * verbs, and byte-identical builds under a different environment.
 */
#include <dirent.h>

#include "testlib.h"

#define KERNEL_REL "6.1.0-50-amd64"

struct fx {
	char *dir;          /* scratch */
	char *ovmf, *kernel, *amdsev;
};

/* An absolute path: recipes resolve relative file: paths against their own directory. */
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
	f->kernel = shared_abs("inputs/vmlinuz-6.1.0-50");
	f->amdsev = shared_abs("inputs/OVMF.amdsev.fd");
	f->dir = t_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	t_rmrf(f->dir);
	free(f->dir);
	free(f->ovmf);
	free(f->kernel);
	free(f->amdsev);
	free(f);
	return 0;
}

static bool have_inputs(struct fx *f)
{
	if (f->ovmf && f->kernel)
		return true;
	printf("# SKIP reason: needs ../shared/inputs/OVMF.fd and vmlinuz-6.1.0-50 (Debian 12)\n");
	return false;
}

/* A kernel-module-like ELF object with a .modinfo vermagic, made by the C
 * compiler; NULL (and a printed reason) without one. */
static char *make_module(const char *dir, const char *name, const char *release)
{
	char *src, *obj;
	assert_true(asprintf(&src, "%s/%s.c", dir, name) > 0);
	assert_true(asprintf(&obj, "%s/%s", dir, name) > 0);
	FILE *s = fopen(src, "w");
	assert_non_null(s);
	fprintf(s, "__attribute__((section(\".modinfo\"), used)) static const char m[] =\n"
		   "\t\"license=GPL\\0vermagic=%s SMP preempt mod_unload modversions \";\n"
		   "int init_module(void) { return 0; }\n", release);
	fclose(s);
	struct run r = t_sh("cc -c -o '%s' '%s' 2>&1", obj, src);
	free(src);
	if (r.status) {
		printf("# SKIP reason: no C compiler to make a test module (%s)\n", r.out);
		t_run_free(&r);
		free(obj);
		return NULL;
	}
	t_run_free(&r);
	return obj;
}

/* A recipe in dir/name (with dir/rootfs), on the ../shared inputs. */
static char *write_recipe(struct fx *f, const char *dir, const char *name, const char *extra_initrd,
			  const char *extra)
{
	char *path, *tree;
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_true(asprintf(&tree, "%s/rootfs", dir) > 0);
	if (access(tree, F_OK)) {
		struct run r = t_sh("mkdir -p '%s/etc' '%s/bin' && printf '#!/bin/sh\\necho hi\\n' > '%s/init' "
				  "&& chmod 755 '%s/init' && echo test > '%s/etc/hostname' && "
				  "ln -s ../init '%s/bin/start'", tree, tree, tree, tree, tree, tree);
		t_assert_clean_exit(&r, 0);
		t_run_free(&r);
	}
	free(tree);
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	fprintf(o, "[image]\nname = t\nversion = 1\nsource-date-epoch = 1700000000\n\n"
		   "[firmware]\nsource = file:%s\nrelease = 2022.11\n\n"
		   "[kernel]\nsource = file:%s\n\n"
		   "[initrd]\ntree = rootfs\ndir = /proc\ndevice = /dev/console c 5 1\n%s\n"
		   "[cmdline]\nvalue = console=ttyS0\n  quiet\n\n"
		   "[snp]\nkernel-hashes = no\nvcpus = 1-3\n\n"
		   "[tdx]\nmemory = 2G\npage-order = single-pass,two-pass\n%s",
		f->ovmf, f->kernel, extra_initrd ? extra_initrd : "", extra ? extra : "");
	fclose(o);
	return path;
}

static struct run build(const char *recipe, const char *out, const char *flags)
{
	return t_sh("'%s' build '%s' -o '%s' %s", t_bin(), recipe, out, flags ? flags : "");
}

static bool file_exists(const char *dir, const char *rel)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	bool ok = !access(p, F_OK);
	free(p);
	return ok;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_build_verify_reproduce(void **state)
{
	struct fx *f = *state;
	if (!have_inputs(f))
		skip();
	char *recipe = write_recipe(f, f->dir, "img.recipe", NULL, NULL);
	char *out;
	assert_true(asprintf(&out, "%s/out", f->dir) > 0);

	/* Unpinned inputs are refused, naming the recipe line and the digest. */
	struct run r = build(recipe, out, "");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "img.recipe:7: file:"));
	assert_non_null(strstr(r.err, "is not pinned"));
	assert_non_null(strstr(r.err, "--lock"));
	assert_int_equal(count_entries(out), 0);   /* nothing partial */
	t_run_free(&r);

	r = build(recipe, out, "--lock --json");
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "\"launch-digest\""));
	assert_non_null(strstr(r.out, "\"mrtd\""));
	assert_non_null(strstr(r.out, "kernel-hashes = no"));   /* the warning */
	t_run_free(&r);
	static const char *const files[] = { "OVMF.fd", "vmlinuz", "initrd.img", "cmdline.txt",
					     "manifest.json", "measurements.json", "launch/qemu.sh",
					     "launch/snp.sh", "launch/tdx.sh", "t-1.tar" };
	char *img;
	assert_true(asprintf(&img, "%s/t-1", out) > 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!file_exists(img, files[i]))
			fail_msg("the image lacks %s", files[i]);
	assert_int_equal(count_entries(out), 1);   /* no temporary left */
	char *lock;
	assert_true(asprintf(&lock, "%s.lock", recipe) > 0);
	size_t n;
	char *l = t_slurp(lock, &n);
	assert_non_null(strstr(l, "[tree:rootfs]"));
	assert_non_null(strstr(l, "sha256 = "));
	free(l);

	/* The cmdline is exactly the joined value; the kernel release is recorded. */
	char *p;
	assert_true(asprintf(&p, "%s/cmdline.txt", img) > 0);
	char *cmd = t_slurp(p, NULL);
	assert_string_equal(cmd, "console=ttyS0 quiet");
	free(cmd);
	free(p);
	assert_true(asprintf(&p, "%s/manifest.json", img) > 0);
	char *man = t_slurp(p, NULL);
	assert_non_null(strstr(man, "\"release\": \"" KERNEL_REL "\""));
	assert_non_null(strstr(man, "\"source-date-epoch\": 1700000000"));
	free(man);
	free(p);

	/* Pinned now: the same build again, in place, needs --force. */
	r = build(recipe, out, "--quiet");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "already exists"));
	t_run_free(&r);
	r = build(recipe, out, "--quiet --force");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);

	/* verify: the directory and the tarball. */
	r = t_sh("'%s' verify '%s'", t_bin(), img);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "ok       snp QEMU vcpus=3 cpu=EPYC-v4 features=0x1 launch-digest"));
	assert_non_null(strstr(r.out, "ok       tdx memory=2048M two-pass mrtd"));
	assert_non_null(strstr(r.out, "0 differ"));
	t_run_free(&r);
	r = t_sh("'%s' verify --quiet '%s/t-1.tar'", t_bin(), img);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);

	/* reproduce: identical against the directory and against the tarball. */
	r = t_sh("'%s' reproduce '%s' --against '%s'", t_bin(), recipe, img);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "reproduced bit for bit"));
	t_run_free(&r);
	r = t_sh("'%s' reproduce --quiet '%s' --against '%s/t-1.tar'", t_bin(), recipe, img);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);

	/* A recipe change shows up as the cpio entry and field that differ. */
	char *recipe2 = write_recipe(f, f->dir, "img2.recipe", "dir = /zz mode=0700\n", NULL);
	struct run c = t_sh("cp '%s' '%s.lock'", lock, recipe2);
	t_assert_clean_exit(&c, 0);
	t_run_free(&c);
	r = t_sh("'%s' reproduce '%s' --against '%s'", t_bin(), recipe2, img);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "DIFFERS  file initrd.img: "));
	assert_non_null(strstr(r.out, "zz"));
	t_run_free(&r);

	/* A changed tree file no longer matches the lock. */
	c = t_sh("echo changed >> '%s/rootfs/etc/hostname'", f->dir);
	t_run_free(&c);
	r = build(recipe, out, "--force");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "tree:rootfs: the lock pins sha256"));
	assert_non_null(strstr(r.err, "img.recipe.lock:"));
	t_run_free(&r);
	assert_true(file_exists(img, "OVMF.fd"));   /* the old image is untouched */
	c = t_sh("printf 'test\\n' > '%s/rootfs/etc/hostname'", f->dir);
	t_run_free(&c);

	free(recipe2);
	free(lock);
	free(img);
	free(out);
	free(recipe);
}

static void test_tamper(void **state)
{
	struct fx *f = *state;
	if (!have_inputs(f))
		skip();
	char *recipe = write_recipe(f, f->dir, "tamper.recipe", NULL, NULL);
	char *out;
	assert_true(asprintf(&out, "%s/tamper-out", f->dir) > 0);
	struct run r = build(recipe, out, "--lock --quiet");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);

	/* A launch digest edited in measurements.json. */
	r = t_sh("cd '%s/t-1' && sed -i '0,/\"launch-digest\": \"./s//\"launch-digest\": \"f/' "
	       "measurements.json && grep -c '\"launch-digest\": \"f' measurements.json", out);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = t_sh("'%s' verify --quiet '%s/t-1'", t_bin(), out);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "DIFFERS  file measurements.json"));
	assert_non_null(strstr(r.out, "DIFFERS  snp QEMU vcpus=1 cpu=EPYC-v4 features=0x1 launch-digest: recorded f"));
	t_run_free(&r);

	/* A byte of the kernel: its file check and every measurement that covers it. */
	r = build(recipe, out, "--quiet --force");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = t_sh("printf 'X' | dd of='%s/t-1/vmlinuz' bs=1 seek=4096 conv=notrunc 2>/dev/null", out);
	t_run_free(&r);
	r = t_sh("'%s' verify --json '%s/t-1'", t_bin(), out);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "\"what\": \"file vmlinuz\""));
	/* Debian 12's firmware extends no RTMR, so rtmr1 is null and cannot differ. */
	assert_non_null(strstr(r.out, "\"what\": \"measured input vmlinuz\""));
	assert_null(strstr(r.out, "rtmr1"));
	t_run_free(&r);

	/* Not an image at all. */
	r = t_sh("'%s' verify '%s'", t_bin(), f->dir);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "manifest.json"));
	t_run_free(&r);
	free(out);
	free(recipe);
}

static void test_modules(void **state)
{
	struct fx *f = *state;
	if (!have_inputs(f))
		skip();
	char *good = make_module(f->dir, "good.ko", KERNEL_REL);
	if (!good)
		skip();
	char *bad = make_module(f->dir, "bad.ko", "5.10.0-99-amd64");
	char *line;
	assert_true(asprintf(&line, "file = file:good.ko:/lib/modules/good.ko\n"
				    "file = file:bad.ko:/lib/modules/sub/bad.ko\n") > 0);
	char *recipe = write_recipe(f, f->dir, "mods.recipe", line, NULL);
	char *out;
	assert_true(asprintf(&out, "%s/mods-out", f->dir) > 0);
	struct run r = build(recipe, out, "--lock --quiet");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "mods.recipe:"));
	assert_non_null(strstr(r.err, "/lib/modules/sub/bad.ko: module built for 5.10.0-99-amd64, "
				      "but the kernel is " KERNEL_REL));
	assert_int_equal(count_entries(out), 0);
	t_run_free(&r);
	free(line);
	free(recipe);

	assert_true(asprintf(&line, "file = file:good.ko:/lib/modules/good.ko\n") > 0);
	recipe = write_recipe(f, f->dir, "mods2.recipe", line, NULL);
	r = build(recipe, out, "--lock --quiet");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *p;
	assert_true(asprintf(&p, "%s/t-1/manifest.json", out) > 0);
	char *man = t_slurp(p, NULL);
	assert_non_null(strstr(man, "\"path\": \"lib/modules/good.ko\""));
	assert_non_null(strstr(man, "\"vermagic\": \"" KERNEL_REL " SMP preempt"));
	free(man);
	free(p);
	free(line);
	free(recipe);
	free(out);
	free(good);
	free(bad);
}

/* The values in measurements.json are the measure verbs' values. */
static void test_agrees_with_measure(void **state)
{
	struct fx *f = *state;
	if (!have_inputs(f) || !f->amdsev)
		skip();
	char *d;
	assert_true(asprintf(&d, "%s/agree", f->dir) > 0);
	assert_int_equal(mkdir(d, 0755), 0);
	/* SNP with kernel hashes needs the AMD SEV firmware; TDX takes it too? No: it has
	 * no TDVF metadata, so this recipe measures SNP only. */
	char *path;
	assert_true(asprintf(&path, "%s/snp.recipe", d) > 0);
	FILE *o = fopen(path, "w");
	fprintf(o, "[image]\nname = s\nversion = 2\nsource-date-epoch = 0\n"
		   "[firmware]\nsource = file:%s\n[kernel]\nsource = file:%s\n"
		   "[initrd]\ncompression = gzip\ndir = /x\n"
		   "[cmdline]\nvalue = console=ttyS0 x=\"a b\"\n"
		   "[snp]\nvcpus = 2\ncpu-types = EPYC-Milan-v2\nvmm-types = QEMU,ec2\n", f->amdsev, f->kernel);
	fclose(o);
	char *out;
	assert_true(asprintf(&out, "%s/out", d) > 0);
	struct run r = build(path, out, "--lock --json");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *img;
	assert_true(asprintf(&img, "%s/s-2", out) > 0);
	for (int ec2 = 0; ec2 < 2; ec2++) {
		r = t_sh("'%s' measure snp --mode snp --vcpus 2 --vcpu-type EPYC-Milan-v2 --vmm-type %s "
		       "--ovmf '%s/OVMF.fd' --kernel '%s/vmlinuz' --initrd '%s/initrd.img' "
		       "--append \"$(cat '%s/cmdline.txt')\"", t_bin(), ec2 ? "ec2" : "QEMU", img, img,
		       img, img);
		t_assert_clean_exit(&r, 0);
		char digest[97];
		assert_true(sscanf(r.out, "%96s", digest) == 1);
		t_run_free(&r);
		char *m = NULL;
		assert_true(asprintf(&m, "%s/measurements.json", img) > 0);
		char *js = t_slurp(m, NULL);
		if (!strstr(js, digest))
			fail_msg("measure snp (%s) gives %s, not in measurements.json", ec2 ? "ec2" : "QEMU",
				 digest);
		free(js);
		free(m);
	}

	/* TDX: the same values as measure tdx with the recorded parameters. */
	char *recipe = write_recipe(f, d, "tdx.recipe", NULL, NULL);
	char *out2;
	assert_true(asprintf(&out2, "%s/out2", d) > 0);
	r = build(recipe, out2, "--lock --quiet");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = t_sh("cd '%s/t-1' && '%s' measure tdx --ovmf OVMF.fd --kernel vmlinuz --initrd initrd.img "
	       "--append \"$(cat cmdline.txt)\" --memory 2G --page-order two-pass --ovmf-release 2022.11 "
	       "--qemu-version 9.2", out2, t_bin());
	t_assert_clean_exit(&r, 0);
	char *m = NULL;
	assert_true(asprintf(&m, "%s/t-1/measurements.json", out2) > 0);
	char *js = t_slurp(m, NULL);
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		char key[16], val[97];
		assert_int_equal(sscanf(line, "%15s %96s", key, val), 2);
		if (!strstr(js, val))
			fail_msg("measure tdx %s %s is not in measurements.json", key, val);
	}
	free(js);
	free(m);
	t_run_free(&r);
	free(out2);
	free(recipe);
	free(img);
	free(out);
	free(path);
	free(d);
}

/* Two builds in different environments give the same bytes: TZ, umask,
 * locale, working directory, recipe location, creation order and mtimes of
 * the input tree, CPUs and compression threads. */
static void test_reproducible_environment(void **state)
{
	struct fx *f = *state;
	if (!have_inputs(f))
		skip();
	char *a, *b;
	assert_true(asprintf(&a, "%s/envA", f->dir) > 0);
	assert_true(asprintf(&b, "%s/envB/deeper", f->dir) > 0);
	/* Tree A: created a..z, mtimes now. Tree B: z..a, scattered old mtimes, other modes. */
	struct run r = t_sh("set -e; mkdir -p '%s/rootfs' && cd '%s/rootfs' && umask 022 && "
			  "for i in a b c d e f g h; do mkdir -p d$i; echo $i > d$i/f$i; done && "
			  "printf '#!/bin/sh\\n' > init && chmod 755 init && ln -s da/fa link",
			  a, a);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = t_sh("set -e; mkdir -p '%s/rootfs' && cd '%s/rootfs' && umask 077 && "
	       "ln -s da/fa link && printf '#!/bin/sh\\n' > init && chmod 700 init && "
	       "n=1; for i in h g f e d c b a; do mkdir -p d$i; echo $i > d$i/f$i; "
	       "touch -d \"200$n-0$n-0$n 12:00\" d$i/f$i d$i; n=$((n + 1)); done",
	       b, b);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *ra = write_recipe(f, a, "x.recipe", NULL, NULL);
	char *rb = write_recipe(f, b, "x.recipe", NULL, NULL);
	char *lockout;
	assert_true(asprintf(&lockout, "%s/lockout", a) > 0);
	r = build(ra, lockout, "--lock --quiet");
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	free(lockout);
	r = t_sh("cp '%s.lock' '%s.lock'", ra, rb);
	t_run_free(&r);

	bool taskset = system("taskset -c 0 true >/dev/null 2>&1") == 0;
	r = t_sh("cd / && umask 022 && TZ=UTC LC_ALL=C %s '%s' build '%s' -o '%s/out' --jobs 1 --quiet",
	       taskset ? "taskset -c 0" : "", t_bin(), ra, a);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = t_sh("cd '%s' && umask 077 && TZ=Asia/Kathmandu LANG=de_DE.UTF-8 LC_ALL=tr_TR.UTF-8 "
	       "'%s' build x.recipe -o out --jobs 4 --quiet", b, t_bin());
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = t_sh("diff -r '%s/out/t-1' '%s/out/t-1' && cmp '%s/out/t-1/t-1.tar' '%s/out/t-1/t-1.tar' && "
	       "cd '%s/out/t-1' && find . -type f | sort | xargs sha256sum", a, b, a, b, a);
	if (r.status)
		fail_msg("the two builds differ:\n%s%s", r.out, r.err);
	assert_non_null(strstr(r.out, "./initrd.img"));
	t_run_free(&r);
	free(ra);
	free(rb);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_verify_reproduce),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_agrees_with_measure),
		cmocka_unit_test(test_reproducible_environment),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
