/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/hello, for real: Debian 12's OVMF, kernel and busybox fetched as
 * .debs (apt's indexes, libcurl, the content-addressed cache), built into an
 * image, verified, reproduced bit for bit from the cache, and booted under
 * QEMU (TCG) with the image's own launch script: the init's marker must
 * reach the serial console within the time bound.
 */
#include <time.h>

#include "testlib.h"

#define RECIPE "examples/hello/hello.recipe"
#define MARKER "CVMFORGE-HELLO-OK"
#define BOOT_SECONDS 180

static char *scratch;
static char *image;   /* the built image, shared by the tests below */

static int setup(void **state)
{
	(void)state;
	scratch = t_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	t_rmrf(scratch);
	free(scratch);
	free(image);
	return 0;
}

static void test_build_hello(void **state)
{
	(void)state;
	if (access(RECIPE, R_OK)) {
		printf("# SKIP reason: %s not found (run from the repository root)\n", RECIPE);
		skip();
	}
	struct run r = t_sh("'%s' build " RECIPE " -o '%s/out' --json", t_bin(), scratch);
	if (r.status == 1 && (strstr(r.err, "download") || strstr(r.err, "apt-get") ||
			      strstr(r.err, "resolve") || strstr(r.err, "connect"))) {
		/* Only a failure to reach Debian's archive is a reason to skip. */
		char *nl = strchr(r.err, '\n');
		if (nl)
			*nl = 0;
		printf("# SKIP reason: the Debian packages could not be fetched: %s\n", r.err);
		t_run_free(&r);
		skip();
	}
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "\"launch-digest\""));
	assert_non_null(strstr(r.out, "\"rtmr1\""));
	t_run_free(&r);
	assert_true(asprintf(&image, "%s/out/hello-1.0", scratch) > 0);

	char *p;
	assert_true(asprintf(&p, "%s/manifest.json", image) > 0);
	char *man = t_slurp(p, NULL);
	/* The module's vermagic was checked and the deb provenance is recorded. */
	assert_non_null(strstr(man, "\"path\": \"lib/modules/crc8.ko\""));
	assert_non_null(strstr(man, "\"release\": \"6.1.0-50-amd64\""));
	assert_non_null(strstr(man, "\"package\": \"busybox-static\""));
	assert_non_null(strstr(man, "\"version\": \"1:1.35.0-4+deb12u1+b1\""));
	free(man);
	free(p);
}

static void test_verify_and_reproduce_hello(void **state)
{
	(void)state;
	if (!image) {
		printf("# SKIP reason: the hello image was not built (see the test above)\n");
		skip();
	}
	struct run r = t_sh("'%s' verify --quiet '%s'", t_bin(), image);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* From the cache alone: no apt, no network (PATH without apt-get). */
	r = t_sh("PATH=/nonexistent '%s' reproduce --quiet " RECIPE " --against '%s/hello-1.0.tar'",
	       t_bin(), image);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "reproduced bit for bit"));
	t_run_free(&r);
}

static void test_boot_hello(void **state)
{
	(void)state;
	if (!image) {
		printf("# SKIP reason: the hello image was not built (see the test above)\n");
		skip();
	}
	if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
		printf("# SKIP reason: qemu-system-x86_64 is not installed (make deps installs it)\n");
		skip();
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct run r = t_sh("timeout %d sh '%s/launch/qemu.sh' 2>&1", BOOT_SECONDS, image);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# hello booted and powered off in %.1f s (bound %d s), exit %d\n", secs,
	       BOOT_SECONDS, r.status);
	if (!strstr(r.out, MARKER))
		fail_msg("no %s on the serial console within %d s; console:\n%s", MARKER,
			 BOOT_SECONDS, r.out);
	assert_non_null(strstr(r.out, "crc8.ko loaded"));
	assert_non_null(strstr(r.out, "Linux 6.1.0-50-amd64"));
	t_assert_clean_exit(&r, 0);   /* powered off, not killed by the timeout */
	t_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_hello),
		cmocka_unit_test(test_verify_and_reproduce_hello),
		cmocka_unit_test(test_boot_hello),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
