/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output files through the CLI (issue 10, defect 1): every verb writes its
 * outputs with the one writer (common/write.c), so that
 *   - a device is written through and a write error is exit 1 with a message:
 *     `--ccel /dev/full`, `initrd -o /dev/full`; /dev/full stays a device;
 *   - a FIFO with a reader gets the bytes (--eventlog, initrd -o);
 *   - /dev/stdout is the caller's descriptor, not a file to replace;
 *   - a symlink given as output keeps being a link, its target gets the bytes
 *     (--ccel, --dump-vmsa, initrd -o);
 *   - a regular file is replaced whole and no temporary is left beside it.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "tests/unit/testlib.h"

struct tdx_in {
	char *fw, *kernel, *initrd, *tables;
};

static bool tdx_inputs(struct tdx_in *in)
{
	memset(in, 0, sizeof(*in));
	in->fw = t_shared_file("inputs/OVMF.trixie.fd");
	in->kernel = in->fw ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	in->initrd = in->kernel ? t_shared_file("inputs/initrd-tiny.cpio") : NULL;
	in->tables = in->initrd
			     ? t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin")
			     : NULL;
	return in->tables != NULL;
}

static void tdx_free(struct tdx_in *in)
{
	free(in->fw);
	free(in->kernel);
	free(in->initrd);
	free(in->tables);
}

/* `measure tdx` on the real inputs with one output option. */
static struct run tdx_to(const struct tdx_in *in, const char *opt, const char *path)
{
	char *argv[] = { (char *)t_bin(), "measure", "tdx", "--ovmf", in->fw, "--kernel",
			 in->kernel, "--initrd", in->initrd, "--acpi-tables", in->tables,
			 (char *)opt, (char *)path, NULL };
	return t_run(argv);
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void assert_same_file(const char *a, const char *b)
{
	size_t na, nb;
	char *da = t_slurp(a, &na), *db = t_slurp(b, &nb);
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(da, db, na);
	free(da);
	free(db);
}

static bool have_dev_full(void)
{
	struct stat st;
	if (stat("/dev/full", &st) || !S_ISCHR(st.st_mode) || access("/dev/full", W_OK)) {
		printf("# SKIP reason: no writable /dev/full character device\n");
		return false;
	}
	return true;
}

static void test_ccel_dev_full(void **state)
{
	(void)state;
	struct tdx_in in;
	if (!have_dev_full() || !tdx_inputs(&in)) {
		tdx_free(&in);
		skip();
	}
	struct run r = tdx_to(&in, "--ccel", "/dev/full");
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, "'/dev/full'"));
	assert_non_null(strstr(r.err, strerror(ENOSPC)));
	struct stat st;
	assert_int_equal(lstat("/dev/full", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	t_run_free(&r);
	r = tdx_to(&in, "--eventlog", "/dev/full");
	t_assert_clean_exit(&r, 1);
	assert_int_equal(lstat("/dev/full", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	t_run_free(&r);
	/* /dev/null: fine, and still a device. */
	r = tdx_to(&in, "--ccel", "/dev/null");
	t_assert_clean_exit(&r, 0);
	assert_int_equal(lstat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	t_run_free(&r);
	tdx_free(&in);
}

static void test_eventlog_fifo_and_stdout(void **state)
{
	(void)state;
	struct tdx_in in;
	if (!tdx_inputs(&in)) {
		tdx_free(&in);
		skip();
	}
	char *dir = t_tmpdir();
	char *plain = path_in(dir, "plain.jsonl"), *fifo = path_in(dir, "fifo");
	char *copy = path_in(dir, "copy.jsonl"), *out = path_in(dir, "stdout.txt");
	struct run r = tdx_to(&in, "--eventlog", plain);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* A FIFO with a reader: the reader gets the same bytes. */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	r = t_sh("cat '%s' > '%s' & '%s' measure tdx --ovmf '%s' --kernel '%s' --initrd '%s' "
		 "--acpi-tables '%s' --eventlog '%s' >/dev/null; rc=$?; wait; exit $rc",
		 fifo, copy, t_bin(), in.fw, in.kernel, in.initrd, in.tables, fifo);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_same_file(plain, copy);
	struct stat st;
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* /dev/stdout redirected to a file: that file is written, not replaced
	 * (the shell's descriptor would otherwise point at a deleted inode). */
	r = t_sh("exec > '%s'; ls -i '%s' >&2; '%s' measure tdx --ovmf '%s' --kernel '%s' "
		 "--initrd '%s' --acpi-tables '%s' --eventlog /dev/stdout; rc=$?; ls -i '%s' >&2; "
		 "exit $rc", out, out, t_bin(), in.fw, in.kernel, in.initrd, in.tables, out);
	t_assert_clean_exit(&r, 0);
	char ino1[64] = "", ino2[64] = "";
	assert_int_equal(sscanf(r.err, "%63s %*s %63s", ino1, ino2), 2);
	assert_string_equal(ino1, ino2);
	t_run_free(&r);
	size_t n_out, n_plain;
	char *got = t_slurp(out, &n_out), *want = t_slurp(plain, &n_plain);
	assert_non_null(strstr(got, want));   /* the log, and the measurement printed after it */
	free(got);
	free(want);
	assert_int_equal(count_entries(dir), 4);   /* no temporary anywhere */
	free(plain);
	free(fifo);
	free(copy);
	free(out);
	t_rmrf(dir);
	free(dir);
	tdx_free(&in);
}

static void test_symlink_output_keeps_the_link(void **state)
{
	(void)state;
	struct tdx_in in;
	if (!tdx_inputs(&in)) {
		tdx_free(&in);
		skip();
	}
	char *dir = t_tmpdir();
	char *sub = path_in(dir, "real");
	assert_int_equal(mkdir(sub, 0755), 0);
	char *target = t_write(sub, "td.ccel", "old", 3);
	char *link = path_in(dir, "td.ccel");
	assert_int_equal(symlink("real/td.ccel", link), 0);
	char *plain = path_in(dir, "plain.ccel");
	struct run r = tdx_to(&in, "--ccel", plain);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	r = tdx_to(&in, "--ccel", link);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_same_file(plain, target);
	assert_int_equal(count_entries(sub), 1);
	assert_int_equal(count_entries(dir), 3);   /* real/, td.ccel, plain.ccel */
	/* A directory given as output: exit 1 naming it, nothing written. */
	r = tdx_to(&in, "--ccel", sub);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, sub));
	assert_int_equal(count_entries(sub), 1);
	t_run_free(&r);
	free(plain);
	free(link);
	free(target);
	free(sub);
	t_rmrf(dir);
	free(dir);
	tdx_free(&in);
}

static void test_dump_vmsa_symlink(void **state)
{
	(void)state;
	char *fw = t_shared_file("inputs/OVMF.amdsev.fd");
	char *kernel = fw ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	if (!kernel) {
		free(fw);
		skip();
	}
	char *dir = t_tmpdir();
	char *ref = path_in(dir, "ref"), *work = path_in(dir, "work");
	assert_int_equal(mkdir(ref, 0755), 0);
	assert_int_equal(mkdir(work, 0755), 0);
	char *argv[] = { (char *)t_bin(), "measure", "snp", "--mode", "snp", "--ovmf", fw,
			 "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--kernel", kernel,
			 "--dump-vmsa", NULL };
	struct run r = t_run_in(ref, argv);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* vmsa0.bin is a link to a file elsewhere: the link stays. */
	char *elsewhere = t_write(dir, "kept-vmsa0", "x", 1);
	char *link = path_in(work, "vmsa0.bin");
	assert_int_equal(symlink("../kept-vmsa0", link), 0);
	r = t_run_in(work, argv);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char *ref0 = path_in(ref, "vmsa0.bin"), *ref1 = path_in(ref, "vmsa1.bin");
	char *work1 = path_in(work, "vmsa1.bin");
	assert_same_file(ref0, elsewhere);
	assert_same_file(ref1, work1);
	assert_int_equal(count_entries(work), 2);
	free(ref0);
	free(ref1);
	free(work1);
	free(link);
	free(elsewhere);
	free(ref);
	free(work);
	t_rmrf(dir);
	free(dir);
	free(fw);
	free(kernel);
}

static void test_initrd_outputs(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *tree = path_in(dir, "tree");
	assert_int_equal(mkdir(tree, 0755), 0);
	free(t_write(tree, "init", "#!/bin/sh\n", 10));
	char *plain = path_in(dir, "plain.img"), *fifo = path_in(dir, "fifo");
	char *copy = path_in(dir, "copy.img"), *link = path_in(dir, "link.img");
	char *target = path_in(dir, "target.img");
	char *a[] = { (char *)t_bin(), "initrd", "-o", plain, "--tree", tree, "--quiet", NULL };
	struct run r = t_run(a);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	if (have_dev_full()) {
		char *b[] = { (char *)t_bin(), "initrd", "-o", "/dev/full", "--tree", tree, NULL };
		r = t_run(b);
		t_assert_clean_exit(&r, 1);
		assert_non_null(strstr(r.err, strerror(ENOSPC)));
		struct stat st;
		assert_int_equal(lstat("/dev/full", &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		t_run_free(&r);
	}
	assert_int_equal(mkfifo(fifo, 0600), 0);
	r = t_sh("cat '%s' > '%s' & '%s' initrd -o '%s' --tree '%s' --quiet; rc=$?; wait; exit $rc",
		 fifo, copy, t_bin(), fifo, tree);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_same_file(plain, copy);
	free(t_write(dir, "target.img", "old", 3));
	assert_int_equal(symlink("target.img", link), 0);
	char *c[] = { (char *)t_bin(), "initrd", "-o", link, "--tree", tree, "--quiet", NULL };
	r = t_run(c);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_same_file(plain, target);
	assert_int_equal(count_entries(dir), 6);   /* tree, plain, fifo, copy, link, target */
	free(plain);
	free(fifo);
	free(copy);
	free(link);
	free(target);
	free(tree);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ccel_dev_full),
		cmocka_unit_test(test_eventlog_fifo_and_stdout),
		cmocka_unit_test(test_symlink_output_keeps_the_link),
		cmocka_unit_test(test_dump_vmsa_symlink),
		cmocka_unit_test(test_initrd_outputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
