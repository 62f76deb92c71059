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
 * And the temporaries of build and verify (defects 4 and 13):
 *   - SIGTERM or SIGINT during `build` leaves no OUT/.NAME-VERSION.tmp-*, during
 *     `verify IMG.tar` no $TMPDIR/cvmforge-image-*, during `reproduce` no
 *     $TMPDIR/cvmforge-reproduce-*; the process still dies of the signal;
 *   - a SIGKILLed run's leftover is swept by the next run, a live (locked) one is kept;
 *   - `build --lock` with an unwritable lock location fails and leaves nothing in OUT
 *     (and, with --force, the old image in place).
 */
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

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
	char *fw_rel = t_shared_file("inputs/OVMF.amdsev.fd");
	char *kernel_rel = fw_rel ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	if (!kernel_rel) {
		free(fw_rel);
		skip();
	}
	/* Absolute: the runs below are in other directories. */
	char *fw = realpath(fw_rel, NULL), *kernel = realpath(kernel_rel, NULL);
	assert_non_null(fw);
	assert_non_null(kernel);
	free(fw_rel);
	free(kernel_rel);
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

/* ---- build and verify: temporaries, signals, the lock ---- */

struct bfx {
	char *dir, *recipe, *out, *tmpdir;
};

/* dir/r/r.recipe on the ../shared firmware and kernel, with a rootfs holding
 * `big` bytes of incompressible data (to make a build last a while). */
static bool build_fixture(struct bfx *f, size_t big)
{
	memset(f, 0, sizeof(*f));
	char *ovmf = t_shared_file("inputs/OVMF.fd");
	char *kernel = ovmf ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	if (!kernel) {
		free(ovmf);
		return false;
	}
	char *ovmf_abs = realpath(ovmf, NULL), *kernel_abs = realpath(kernel, NULL);
	assert_non_null(ovmf_abs);
	assert_non_null(kernel_abs);
	f->dir = t_tmpdir();
	assert_int_equal(chmod(f->dir, 0755), 0);
	char *rdir = path_in(f->dir, "r"), *rootfs = path_in(f->dir, "r/rootfs");
	assert_int_equal(mkdir(rdir, 0755), 0);
	assert_int_equal(mkdir(rootfs, 0755), 0);
	free(t_write(rootfs, "init", "#!/bin/sh\n", 10));
	if (big) {
		char *p = path_in(rootfs, "big");
		FILE *o = fopen(p, "wb");
		assert_non_null(o);
		uint64_t x = 0x9e3779b97f4a7c15ull, buf[8192];
		for (size_t done = 0; done < big; done += sizeof(buf)) {
			for (size_t i = 0; i < 8192; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[i] = x;
			}
			assert_int_equal(fwrite(buf, sizeof(buf), 1, o), 1);
		}
		assert_int_equal(fclose(o), 0);
		free(p);
	}
	f->recipe = path_in(rdir, "r.recipe");
	FILE *o = fopen(f->recipe, "w");
	assert_non_null(o);
	fprintf(o, "[image]\nname = t\nversion = 1\nsource-date-epoch = 1700000000\n\n"
		   "[firmware]\nsource = file:%s\nrelease = 2022.11\n\n"
		   "[kernel]\nsource = file:%s\n\n"
		   "[initrd]\ntree = rootfs\n\n[cmdline]\nvalue = console=ttyS0\n",
		ovmf_abs, kernel_abs);
	assert_int_equal(fclose(o), 0);
	f->out = path_in(f->dir, "out");
	f->tmpdir = path_in(f->dir, "tmp");
	assert_int_equal(mkdir(f->out, 0777), 0);
	assert_int_equal(chmod(f->out, 0777), 0);
	assert_int_equal(mkdir(f->tmpdir, 0700), 0);
	free(rdir);
	free(rootfs);
	free(ovmf_abs);
	free(kernel_abs);
	free(ovmf);
	free(kernel);
	return true;
}

static void bfx_free(struct bfx *f)
{
	if (f->dir) {
		char *rdir = path_in(f->dir, "r");
		chmod(rdir, 0755);
		free(rdir);
		t_rmrf(f->dir);
	}
	free(f->dir);
	free(f->recipe);
	free(f->out);
	free(f->tmpdir);
}

/* The first name in dir that starts with prefix (static buffer), or NULL. */
static const char *find_prefixed(const char *dir, const char *prefix)
{
	static char name[256];
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	const char *found = NULL;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix))) {
			snprintf(name, sizeof(name), "%s", e->d_name);
			found = name;
			break;
		}
	closedir(d);
	return found;
}

/* Start the CLI with SIGINT and SIGTERM at their default actions (a shell
 * may have ignored them), output to /dev/null, TMPDIR=tmpdir. */
static pid_t spawn_cli(char *const argv[], const char *tmpdir)
{
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t def, none;
	sigemptyset(&def);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	setenv("TMPDIR", tmpdir, 1);
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, &at, argv, environ), 0);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return pid;
}

/* Wait (up to 120 s) until dir holds a name starting with prefix, while pid runs. */
static void wait_for_temporary(pid_t pid, const char *dir, const char *prefix)
{
	for (int i = 0; i < 600000; i++) {
		if (find_prefixed(dir, prefix))
			return;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("the run ended (status 0x%x) before its temporary %s/%s* appeared",
				 st, dir, prefix);
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
	fail_msg("no temporary %s/%s* appeared", dir, prefix);
}

/* Send sig once the run's temporary exists; it must die of it. */
static void interrupt(char *const argv[], const char *tmpdir, const char *watch,
		      const char *prefix, int sig)
{
	pid_t pid = spawn_cli(argv, tmpdir);
	wait_for_temporary(pid, watch, prefix);
	nanosleep(&(struct timespec){ 0, 30000000 }, NULL);   /* let it write some */
	assert_int_equal(kill(pid, sig), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != sig)
		fail_msg("%s %s: wanted death by signal %d, got status 0x%x (finished too soon?)",
			 argv[1], argv[2], sig, st);
}

/* A child that holds flock(LOCK_EX) on dir until *ret_release is closed. */
static pid_t hold_lock(const char *dir, int *ret_release)
{
	int ready[2], done[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(done[1]);
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		char c = 'x';
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)!read(done[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*ret_release = done[1];
	return pid;
}

static void test_build_interrupted(void **state)
{
	(void)state;
	struct bfx f;
	if (!build_fixture(&f, 96u << 20)) {
		bfx_free(&f);
		skip();
	}
	char *argv[] = { (char *)t_bin(), "build", f.recipe, "-o", f.out, "--lock", "--quiet", NULL };
	interrupt(argv, f.tmpdir, f.out, ".t-1.tmp-", SIGTERM);
	assert_int_equal(count_entries(f.out), 0);
	interrupt(argv, f.tmpdir, f.out, ".t-1.tmp-", SIGINT);
	assert_int_equal(count_entries(f.out), 0);

	/* SIGKILL cannot be caught: the leftover stays, for the next run to sweep. */
	interrupt(argv, f.tmpdir, f.out, ".t-1.tmp-", SIGKILL);
	const char *left = find_prefixed(f.out, ".t-1.tmp-");
	assert_non_null(left);
	char *leftover = path_in(f.out, left);
	assert_int_equal(count_entries(f.out), 1);
	/* Another build's live temporary, locked by its owner: kept. */
	char *live = path_in(f.out, ".t-1.tmp-Live000000");
	assert_int_equal(mkdir(live, 0700), 0);
	free(t_write(live, "work", "in progress", 11));
	int release;
	pid_t holder = hold_lock(live, &release);
	struct run r = t_run(argv);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	assert_int_equal(access(leftover, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(count_entries(f.out), 2);   /* t-1 and the live one */
	close(release);
	int st;
	assert_int_equal(waitpid(holder, &st, 0), holder);

	/* verify IMG.tar: $TMPDIR/cvmforge-image-* goes on SIGINT and SIGTERM. */
	char *tar = path_in(f.out, "t-1/t-1.tar");
	char *v[] = { (char *)t_bin(), "verify", tar, NULL };
	interrupt(v, f.tmpdir, f.tmpdir, "cvmforge-image-", SIGINT);
	assert_int_equal(count_entries(f.tmpdir), 0);
	interrupt(v, f.tmpdir, f.tmpdir, "cvmforge-image-", SIGTERM);
	assert_int_equal(count_entries(f.tmpdir), 0);
	interrupt(v, f.tmpdir, f.tmpdir, "cvmforge-image-", SIGKILL);
	assert_int_equal(count_entries(f.tmpdir), 1);
	pid_t pid = spawn_cli(v, f.tmpdir);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count_entries(f.tmpdir), 0);   /* its own and the leftover */
	/* reproduce: its $TMPDIR/cvmforge-reproduce-* (with the rebuilt image) too. */
	char *img = path_in(f.out, "t-1");
	char *rp[] = { (char *)t_bin(), "reproduce", f.recipe, "--against", img, NULL };
	interrupt(rp, f.tmpdir, f.tmpdir, "cvmforge-reproduce-", SIGTERM);
	assert_int_equal(count_entries(f.tmpdir), 0);
	free(img);
	free(tar);
	free(live);
	free(leftover);
	bfx_free(&f);
}

/* Run argv as an unprivileged user when we are root (root writes anywhere). */
static struct run run_unprivileged(char *const argv[])
{
	char out_path[] = "/tmp/cvmforge-out-XXXXXX", err_path[] = "/tmp/cvmforge-err-XXXXXX";
	int ofd = mkstemp(out_path), efd = mkstemp(err_path);
	assert_true(ofd >= 0 && efd >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(ofd);
	close(efd);
	struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), NULL, NULL, 0 };
	r.out = t_slurp(out_path, &r.out_len);
	r.err = t_slurp(err_path, NULL);
	unlink(out_path);
	unlink(err_path);
	return r;
}

static void test_build_lock_unwritable(void **state)
{
	(void)state;
	struct bfx f;
	if (!build_fixture(&f, 0)) {
		bfx_free(&f);
		skip();
	}
	char *rdir = path_in(f.dir, "r"), *lock = path_in(f.dir, "r/r.recipe.lock");
	char *argv[] = { (char *)t_bin(), "build", f.recipe, "-o", f.out, "--lock", "--quiet", NULL };
	assert_int_equal(chmod(rdir, 0555), 0);
	struct run r = run_unprivileged(argv);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, lock));
	assert_int_equal(count_entries(f.out), 0);   /* nothing in OUT */
	assert_int_equal(access(lock, F_OK), -1);
	t_run_free(&r);

	/* With --force over an image: the old one stays in place, whole. */
	assert_int_equal(chmod(rdir, 0755), 0);
	r = t_run(argv);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *manifest = path_in(f.out, "t-1/manifest.json");
	size_t n0;
	char *before = t_slurp(manifest, &n0);
	struct run sh = t_sh("chmod -R a+rwX '%s' && echo changed > '%s/rootfs/init' && chmod 555 '%s'",
			     f.out, rdir, rdir);
	t_assert_clean_exit(&sh, 0);
	t_run_free(&sh);
	char *force[] = { (char *)t_bin(), "build", f.recipe, "-o", f.out, "--lock", "--force",
			  "--quiet", NULL };
	r = run_unprivileged(force);
	t_assert_clean_exit(&r, 1);
	assert_non_null(strstr(r.err, lock));
	t_run_free(&r);
	assert_int_equal(count_entries(f.out), 1);
	size_t n1;
	char *after = t_slurp(manifest, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	free(before);
	free(after);
	free(manifest);
	free(lock);
	free(rdir);
	bfx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ccel_dev_full),
		cmocka_unit_test(test_eventlog_fifo_and_stdout),
		cmocka_unit_test(test_symlink_output_keeps_the_link),
		cmocka_unit_test(test_dump_vmsa_symlink),
		cmocka_unit_test(test_initrd_outputs),
		cmocka_unit_test(test_build_interrupted),
		cmocka_unit_test(test_build_lock_unwritable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
