/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/write.c: the one writer of output files and the registry of temporaries.
 *   - a regular file is replaced whole (a new inode), a new path created;
 *   - /dev/full is written through and ENOSPC is an error; it stays a device;
 *   - a FIFO is written through to its reader; a symlink keeps being a link;
 *   - modes: 0666 & ~umask, PRIVATE 0600 from creation on whatever the umask;
 *   - EXCL refuses an existing path and a dangling link;
 *   - failures and aborts leave no temporary file;
 *   - temporaries registered are removed by cmn_tmp_remove_all; sweeping removes
 *     unlocked leftovers and keeps live, locked ones and older versions' names.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/testlib.h"
#include "common/fileset.h"
#include "common/write.h"

static void test_regular_replaced_whole(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *f = t_write(dir, "out.bin", "old contents, longer than the new", 33);
	struct stat before, after;
	assert_int_equal(stat(f, &before), 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cmn_write_file(ctx, "output", f, "new", 3, 0), 0);
	size_t n;
	char *got = t_slurp(f, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(got, "new", 3);
	assert_int_equal(stat(f, &after), 0);
	assert_true(S_ISREG(after.st_mode));
	assert_true(before.st_ino != after.st_ino);   /* renamed over, not rewritten */
	assert_int_equal(t_count_entries(dir), 1);
	free(got);
	cvmf_ctx_free(ctx);
	free(f);
	t_rmrf(dir);
	free(dir);
}

static void test_new_path_and_umask(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *f = t_path_in(dir, "new.json");
	cvmf_ctx *ctx = cvmf_ctx_new();
	mode_t old = umask(022);
	assert_int_equal(cmn_write_file(ctx, "output", f, "{}\n", 3, CMN_W_DURABLE), 0);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_size, 3);
	unlink(f);
	umask(0);
	assert_int_equal(cmn_write_file(ctx, "output", f, "{}\n", 3, 0), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	umask(old);
	assert_int_equal(t_count_entries(dir), 1);
	cvmf_ctx_free(ctx);
	free(f);
	t_rmrf(dir);
	free(dir);
}

static void test_private_0600_from_the_first_byte(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *f = t_path_in(dir, "key.pem");
	cvmf_ctx *ctx = cvmf_ctx_new();
	mode_t old = umask(0);
	struct cmn_out *o = NULL;
	assert_int_equal(cmn_out_open(ctx, "key", f, CMN_W_PRIVATE, &o), 0);
	/* The temporary, before any byte is written: already 0600. */
	struct stat st;
	assert_int_equal(fstat(cmn_out_fd(o), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(cmn_out_write(o, "secret", 6), 0);
	assert_int_equal(cmn_out_commit(o), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* A umask that takes the owner's write bit: still 0600. */
	umask(0277);
	unlink(f);
	assert_int_equal(cmn_write_file(ctx, "key", f, "secret", 6, CMN_W_PRIVATE), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(old);
	cvmf_ctx_free(ctx);
	free(f);
	t_rmrf(dir);
	free(dir);
}

static void test_dev_full_is_an_error(void **state)
{
	(void)state;
	struct stat st;
	if (stat("/dev/full", &st) || !S_ISCHR(st.st_mode) || access("/dev/full", W_OK)) {
		printf("# SKIP reason: no writable /dev/full\n");
		skip();
	}
	cvmf_ctx *ctx = cvmf_ctx_new();
	int rc = cmn_write_file(ctx, "event log", "/dev/full", "abc", 3, 0);
	assert_int_equal(rc, CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "'/dev/full'"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), strerror(ENOSPC)));
	assert_int_equal(stat("/dev/full", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* /dev/null: written through, fine, and still a device. */
	assert_int_equal(cmn_write_file(ctx, "event log", "/dev/null", "abc", 3, CMN_W_DURABLE), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	cvmf_ctx_free(ctx);
}

static void test_fifo_written_through(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *fifo = t_path_in(dir, "pipe");
	char *copy = t_path_in(dir, "copy");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "cat '%s' > '%s'", fifo, copy) > 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	cvmf_ctx *ctx = cvmf_ctx_new();
	static char big[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(cmn_write_file(ctx, "event log", fifo, big, sizeof(big), 0), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	size_t n;
	char *got = t_slurp(copy, &n);
	assert_int_equal(n, sizeof(big));
	assert_memory_equal(got, big, sizeof(big));
	struct stat sb;
	assert_int_equal(lstat(fifo, &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(t_count_entries(dir), 2);
	free(got);
	free(cmd);
	cvmf_ctx_free(ctx);
	free(fifo);
	free(copy);
	t_rmrf(dir);
	free(dir);
}

static void test_symlink_keeps_the_link(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *sub = t_path_in(dir, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	char *target = t_write(sub, "real.json", "old", 3);
	char *link1 = t_path_in(dir, "link");      /* relative: sub/real.json */
	char *link2 = t_path_in(dir, "link2");     /* a chain: link2 -> link */
	assert_int_equal(symlink("sub/real.json", link1), 0);
	assert_int_equal(symlink("link", link2), 0);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cmn_write_file(ctx, "output", link2, "new!", 4, 0), 0);
	struct stat st;
	assert_int_equal(lstat(link1, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(link2, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	size_t n;
	char *got = t_slurp(target, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(got, "new!", 4);
	free(got);
	assert_int_equal(t_count_entries(sub), 1);   /* no temporary left beside the target */
	assert_int_equal(t_count_entries(dir), 3);
	/* A dangling link: its target is created, the link stays. */
	char *dangling = t_path_in(dir, "dangling");
	assert_int_equal(symlink("sub/made.txt", dangling), 0);
	assert_int_equal(cmn_write_file(ctx, "output", dangling, "x", 1, 0), 0);
	assert_int_equal(lstat(dangling, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char *made = t_path_in(sub, "made.txt");
	assert_int_equal(stat(made, &st), 0);
	assert_int_equal(st.st_size, 1);
	cvmf_ctx_free(ctx);
	free(made);
	free(dangling);
	free(link1);
	free(link2);
	free(target);
	free(sub);
	t_rmrf(dir);
	free(dir);
}

static void test_excl(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *f = t_write(dir, "key", "keep", 4);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cmn_write_file(ctx, "key", f, "new", 3, CMN_W_EXCL | CMN_W_PRIVATE),
			 CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "already exists"));
	size_t n;
	char *got = t_slurp(f, &n);
	assert_int_equal(n, 4);
	free(got);
	char *dangling = t_path_in(dir, "dangling");
	assert_int_equal(symlink("nowhere", dangling), 0);
	assert_int_equal(cmn_write_file(ctx, "key", dangling, "new", 3, CMN_W_EXCL), CVMF_E_IO);
	char *nowhere = t_path_in(dir, "nowhere");
	assert_int_equal(access(nowhere, F_OK), -1);
	/* A new path is fine; one that appears before the commit is not replaced. */
	char *fresh = t_path_in(dir, "fresh");
	assert_int_equal(cmn_write_file(ctx, "key", fresh, "k", 1, CMN_W_EXCL), 0);
	char *racy = t_path_in(dir, "racy");
	struct cmn_out *o = NULL;
	assert_int_equal(cmn_out_open(ctx, "key", racy, CMN_W_EXCL, &o), 0);
	assert_int_equal(cmn_out_write(o, "mine", 4), 0);
	free(t_write(dir, "racy", "theirs", 6));
	assert_int_equal(cmn_out_commit(o), CVMF_E_IO);
	got = t_slurp(racy, &n);
	assert_int_equal(n, 6);
	assert_memory_equal(got, "theirs", 6);
	free(got);
	assert_int_equal(t_count_entries(dir), 4);   /* key, dangling, fresh, racy */
	cvmf_ctx_free(ctx);
	free(racy);
	free(fresh);
	free(nowhere);
	free(dangling);
	free(f);
	t_rmrf(dir);
	free(dir);
}

static void test_failures_leave_no_temporary(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	cvmf_ctx *ctx = cvmf_ctx_new();
	/* A directory is no output file. */
	char *sub = t_path_in(dir, "adir");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(cmn_write_file(ctx, "output", sub, "x", 1, 0), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "directory"));
	assert_int_equal(t_count_entries(sub), 0);
	/* Aborted: the old file stays, no temporary beside it. */
	char *f = t_write(dir, "out", "old", 3);
	struct cmn_out *o = NULL;
	assert_int_equal(cmn_out_open(ctx, "output", f, 0, &o), 0);
	assert_int_equal(cmn_out_write(o, "partial", 7), 0);
	assert_int_equal(t_count_entries(dir), 3);   /* adir, out, the temporary */
	cmn_out_abort(o);
	cmn_out_abort(NULL);
	assert_int_equal(t_count_entries(dir), 2);
	size_t n;
	char *got = t_slurp(f, &n);
	assert_int_equal(n, 3);
	free(got);
	/* A missing directory: an error naming the path, nothing created. */
	char *deep = t_path_in(dir, "no/such/out");
	assert_int_equal(cmn_write_file(ctx, "output", deep, "x", 1, 0), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), deep));
	assert_int_equal(t_count_entries(dir), 2);
	/* The rename fails (the target became a directory): the temporary goes. */
	char *late = t_path_in(dir, "late");
	assert_int_equal(cmn_out_open(ctx, "output", late, 0, &o), 0);
	assert_int_equal(mkdir(late, 0755), 0);
	char *inner = t_write(late, "x", "x", 1);
	assert_int_equal(cmn_out_commit(o), CVMF_E_IO);
	assert_int_equal(t_count_entries(dir), 3);   /* adir, out, late */
	cvmf_ctx_free(ctx);
	free(inner);
	free(late);
	free(deep);
	free(f);
	free(sub);
	t_rmrf(dir);
	free(dir);
}

static void test_registered_temporaries_removed(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *tree = t_path_in(dir, "tree");
	assert_int_equal(mkdir(tree, 0700), 0);
	/* A tree with nested directories and many names (more than one getdents buffer). */
	for (int i = 0; i < 300; i++) {
		char name[64];
		snprintf(name, sizeof(name), "file-with-a-rather-long-name-%04d", i);
		free(t_write(tree, name, "x", 1));
	}
	char *deep = t_path_in(tree, "a");
	assert_int_equal(mkdir(deep, 0700), 0);
	char *deeper = t_path_in(deep, "b");
	assert_int_equal(mkdir(deeper, 0700), 0);
	free(t_write(deeper, "f", "y", 1));
	char *link = t_path_in(deep, "up");
	assert_int_equal(symlink(dir, link), 0);   /* not followed */
	char *lone = t_write(dir, "lone.tmp", "z", 1);
	char *keep = t_write(dir, "keep", "k", 1);
	int s1 = cmn_tmp_register(tree, true), s2 = cmn_tmp_register(lone, false);
	assert_true(s1 >= 0 && s2 >= 0 && s1 != s2);
	cmn_tmp_remove_all();
	assert_int_equal(access(tree, F_OK), -1);
	assert_int_equal(access(lone, F_OK), -1);
	assert_int_equal(access(keep, F_OK), 0);
	cmn_tmp_unregister(s1);
	cmn_tmp_unregister(s2);
	cmn_tmp_unregister(-1);
	/* A slot freed is reused; an unregistered path is left alone. */
	char *again = t_write(dir, "again", "a", 1);
	int s3 = cmn_tmp_register(again, false);
	assert_true(s3 >= 0);
	cmn_tmp_unregister(s3);
	cmn_tmp_remove_all();
	assert_int_equal(access(again, F_OK), 0);
	free(again);
	free(keep);
	free(lone);
	free(link);
	free(deeper);
	free(deep);
	free(tree);
	t_rmrf(dir);
	free(dir);
}

static void test_tmpdir_lock_and_sweep(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *live = NULL;
	assert_int_equal(cmn_tmpdir_create(ctx, dir, ".img-1.0.tmp-", &live), 0);
	assert_int_equal(strncmp(live, dir, strlen(dir)), 0);
	assert_int_equal(strlen(strrchr(live, '/') + 1), strlen(".img-1.0.tmp-") + 10);
	struct stat st;
	assert_int_equal(stat(live, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(t_write(live, "work", "w", 1));
	/* A leftover of a killed run: the name, no lock, some content. */
	char *stale = t_path_in(dir, ".img-1.0.tmp-AbC123dEf4");
	assert_int_equal(mkdir(stale, 0700), 0);
	char *stale_sub = t_path_in(stale, "img-1.0");
	assert_int_equal(mkdir(stale_sub, 0755), 0);
	free(t_write(stale_sub, "initrd.img", "partial", 7));
	/* Names the sweep must not touch. */
	char *other = t_path_in(dir, ".other-1.0.tmp-AbC123dEf4");
	char *longer = t_path_in(dir, ".img-1.0.tmp-AbC123dEf45");
	char *staging = t_path_in(dir, ".img-1.0.tmp-AbC123dEf4.new");
	/* mkdtemp's six characters: an older version's directory, unlocked even while
	 * it runs, so never taken for a leftover. */
	char *legacy = t_path_in(dir, ".img-1.0.tmp-AbC123");
	assert_int_equal(mkdir(legacy, 0700), 0);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(mkdir(longer, 0700), 0);
	assert_int_equal(mkdir(staging, 0700), 0);
	/* A stale one whose lock another live process holds: kept. */
	char *held = t_path_in(dir, ".img-1.0.tmp-Held000000");
	assert_int_equal(mkdir(held, 0700), 0);
	int release;
	pid_t pid = t_hold_lock(held, &release);

	assert_int_equal(cmn_tmpdir_sweep(dir, ".img-1.0.tmp-"), 1);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(access(held, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(access(longer, F_OK), 0);
	assert_int_equal(access(staging, F_OK), 0);
	assert_int_equal(access(legacy, F_OK), 0);
	close(release);
	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	/* Its owner gone, the held one is a leftover too. */
	assert_int_equal(cmn_tmpdir_sweep(dir, ".img-1.0.tmp-"), 1);
	assert_int_equal(access(held, F_OK), -1);
	/* Removed by its owner: the lock and the registration go with it. */
	assert_int_equal(cmn_tmpdir_remove(live), 0);
	assert_int_equal(access(live, F_OK), -1);
	assert_int_equal(cmn_tmpdir_sweep(dir, ".img-1.0.tmp-"), 0);
	/* Registered: a signal's cleanup removes it. */
	char *sig = NULL;
	assert_int_equal(cmn_tmpdir_create(ctx, dir, "cvmforge-image-", &sig), 0);
	free(t_write(sig, "f", "f", 1));
	cmn_tmp_remove_all();
	assert_int_equal(access(sig, F_OK), -1);
	cmn_tmp_release(sig);
	/* No parent: an error naming it. */
	char *none = t_path_in(dir, "none");
	char *bad = NULL;
	assert_int_equal(cmn_tmpdir_create(ctx, none, "x-", &bad), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), none));
	assert_null(bad);
	free(none);
	free(sig);
	cvmf_ctx_free(ctx);
	free(held);
	free(other);
	free(longer);
	free(staging);
	free(legacy);
	free(stale_sub);
	free(stale);
	free(live);
	t_rmrf(dir);
	free(dir);
}

/* common/fileset.c: files in place and temporaries synced in one round, the
 * temporaries renamed in order (the callback sees each after its rename), a
 * link planted at an in-place path removed, not written through; a set freed
 * before its commit leaves no temporary. */
static char tags_seen[64];

static void note_tag(const char *tag)
{
	strncat(tags_seen, tag, sizeof(tags_seen) - strlen(tags_seen) - 1);
}

static void test_fileset(void **state)
{
	(void)state;
	char *d = t_tmpdir(), *p = NULL, *link = NULL, *outside = NULL, *a = NULL, *b = NULL;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cmn_syncpool *pool = cmn_syncpool_new();
	assert_non_null(pool);
	assert_true(asprintf(&p, "%s/x/y/data", d) > 0);
	assert_true(asprintf(&outside, "%s/outside", d) > 0);
	assert_true(asprintf(&link, "%s/x/link", d) > 0);
	assert_true(asprintf(&a, "%s/a", d) > 0);
	assert_true(asprintf(&b, "%s/b", d) > 0);
	free(t_write(d, "outside", "keep", 4));
	free(t_write(d, "a", "old a", 5));
	struct run mk = t_sh("mkdir '%s/x'", d);
	t_assert_clean_exit(&mk, 0);
	t_run_free(&mk);
	assert_int_equal(symlink(outside, link), 0);
	struct cmn_fileset data = { 0 }, commit = { 0 };
	assert_int_equal(cmn_fileset_put(ctx, &data, p, "tile", 4, 0644, true, NULL), 0);
	assert_int_equal(cmn_fileset_put(ctx, &data, link, "in place", 8, 0644, true, NULL), 0);
	assert_int_equal(cmn_fileset_put(ctx, &commit, a, "new a", 5, 0600, false, "A"), 0);
	assert_int_equal(cmn_fileset_put(ctx, &commit, b, "new b", 5, 0600, false, "B"), 0);
	/* Nothing renamed yet: the names still hold the old bytes. */
	size_t len = 0;
	char *got = t_slurp(a, &len);
	assert_memory_equal(got, "old a", 5);
	free(got);
	assert_int_equal(access(b, F_OK), -1);
	struct cmn_fileset *round1[] = { &data, &commit };
	assert_int_equal(cmn_fileset_sync(ctx, pool, round1, 2), 0);
	assert_int_equal(cmn_fileset_commit(ctx, pool, &commit, note_tag), 0);
	assert_string_equal(tags_seen, "AB");
	got = t_slurp(a, &len);
	assert_memory_equal(got, "new a", 5);
	free(got);
	got = t_slurp(p, &len);
	assert_memory_equal(got, "tile", 4);
	free(got);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));       /* the link was replaced */
	got = t_slurp(outside, &len);
	assert_memory_equal(got, "keep", 4);    /* and its target untouched */
	free(got);
	cmn_fileset_free(&data);
	/* Freed before its commit: the temporary is gone, the name unchanged. */
	struct cmn_fileset gone = { 0 };
	assert_int_equal(cmn_fileset_put(ctx, &gone, a, "never", 5, 0600, false, NULL), 0);
	cmn_fileset_free(&gone);
	struct run r = t_sh("ls -A '%s' | grep -c '^\\.tmp-' || true", d);
	assert_string_equal(r.out, "0\n");
	t_run_free(&r);
	got = t_slurp(a, &len);
	assert_memory_equal(got, "new a", 5);
	free(got);
	cmn_syncpool_free(pool);
	cvmf_ctx_free(ctx);
	t_rmrf(d);
	free(d);
	free(p);
	free(link);
	free(outside);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_replaced_whole),
		cmocka_unit_test(test_new_path_and_umask),
		cmocka_unit_test(test_private_0600_from_the_first_byte),
		cmocka_unit_test(test_dev_full_is_an_error),
		cmocka_unit_test(test_fifo_written_through),
		cmocka_unit_test(test_symlink_keeps_the_link),
		cmocka_unit_test(test_excl),
		cmocka_unit_test(test_failures_leave_no_temporary),
		cmocka_unit_test(test_registered_temporaries_removed),
		cmocka_unit_test(test_tmpdir_lock_and_sweep),
		cmocka_unit_test(test_fileset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
