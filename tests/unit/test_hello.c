/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/hello, for real: the SEV-SNP image (hello.recipe: sid's
 * ovmf-amdsev, measured direct boot with kernel hashes) and the TDX image
 * (hello-tdx.recipe: trixie's ovmf 2025.02, which measures into RTMRs),
 * both with Debian 12's kernel and busybox, fetched as .debs from the
 * repositories the recipes declare (private apt state, signed indexes,
 * libcurl, the content-addressed cache), built, verified, reproduced bit
 * for bit from the cache without apt (also copied elsewhere and built under
 * another TZ, umask, locale and CPU count), and booted under QEMU (TCG): the
 * init's marker must reach the serial console within the time bound.
 *
 * The TDX image boots with its own firmware and launch script. Debian's
 * OVMF.amdsev.fd cannot boot without SEV (its BDS only tries an embedded
 * GRUB the package does not ship: "BdsDxe: No bootable option was found"),
 * so the SNP image's own kernel, initrd and command line are booted under
 * the TDX image's plain OVMF.fd instead.
 */
#include <time.h>

#include "testlib.h"

#define SNP_RECIPE "examples/hello/hello.recipe"
#define TDX_RECIPE "examples/hello/hello-tdx.recipe"
#define MARKER "CVMFORGE-HELLO-OK"
#define BOOT_SECONDS 180

static char *scratch;
static char *snp_image, *tdx_image;   /* the built images, shared by the tests below */

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
	free(snp_image);
	free(tdx_image);
	return 0;
}

/* Build RECIPE into scratch/out; the image's path, or NULL after a skip. */
static char *build(const char *recipe, const char *stem)
{
	if (access(recipe, R_OK)) {
		printf("# SKIP reason: %s not found (run from the repository root)\n", recipe);
		skip();
	}
	struct run r = t_sh("'%s' build %s -o '%s/out' --json", t_bin(), recipe, scratch);
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
	/* No warning left for a user to act on. */
	assert_non_null(strstr(r.out, "\"warnings\": []"));
	t_run_free(&r);
	char *image = NULL;
	assert_true(asprintf(&image, "%s/out/%s", scratch, stem) > 0);

	char *p;
	assert_true(asprintf(&p, "%s/manifest.json", image) > 0);
	char *man = t_slurp(p, NULL);
	/* The module's vermagic was checked and the deb provenance is recorded. */
	assert_non_null(strstr(man, "\"path\": \"lib/modules/crc8.ko\""));
	assert_non_null(strstr(man, "\"release\": \"6.1.0-50-amd64\""));
	assert_non_null(strstr(man, "\"package\": \"busybox-static\""));
	assert_non_null(strstr(man, "\"version\": \"1:1.35.0-4+deb12u1+b1\""));
	assert_non_null(strstr(man, "\"suite\": \"bookworm\""));
	free(man);
	free(p);
	return image;
}

static char *measurements(const char *image)
{
	char *p;
	assert_true(asprintf(&p, "%s/measurements.json", image) > 0);
	char *m = t_slurp(p, NULL);
	free(p);
	return m;
}

static void test_build_snp(void **state)
{
	(void)state;
	snp_image = build(SNP_RECIPE, "hello-1.0");
	char *m = measurements(snp_image);
	/* The launch digest covers kernel, initrd and cmdline (the SEV hashes
	 * table of ovmf-amdsev), for every host parameter listed beside it. */
	assert_non_null(strstr(m, "\"kernel-hashes\": true"));
	assert_non_null(strstr(m, "\"launch-digest\""));
	assert_non_null(strstr(m, "\"vcpu-sig\""));
	assert_non_null(strstr(m, "\"vmm\": \"QEMU\""));
	free(m);
	char *p;
	assert_true(asprintf(&p, "%s/manifest.json", snp_image) > 0);
	char *man = t_slurp(p, NULL);
	assert_non_null(strstr(man, "\"package\": \"ovmf-amdsev\""));
	assert_non_null(strstr(man, "\"suite\": \"sid\""));
	free(man);
	free(p);
}

static void test_build_tdx(void **state)
{
	(void)state;
	tdx_image = build(TDX_RECIPE, "hello-tdx-1.0");
	char *m = measurements(tdx_image);
	/* Firmware that measures: RTMR1 and RTMR2 are values, not null; RTMR0
	 * is null with its reason beside it (QEMU's ACPI tables are not given),
	 * and the host parameters sit beside every value. */
	assert_null(strstr(m, "\"rtmr1\": null"));
	assert_null(strstr(m, "\"rtmr2\": null"));
	assert_non_null(strstr(m, "\"rtmr0\": null"));
	assert_non_null(strstr(m, "\"rtmr0-null-reason\": \"it measures QEMU's ACPI tables"));
	assert_null(strstr(m, "does not extend"));
	assert_non_null(strstr(m, "\"qemu-version\": \"9.2\""));
	assert_non_null(strstr(m, "\"ovmf-event-layout\": \"edk2-2024.11\""));
	free(m);
}

static void verify_and_reproduce(const char *image, const char *recipe, const char *tar)
{
	if (!image) {
		printf("# SKIP reason: the image was not built (see the tests above)\n");
		skip();
	}
	struct run r = t_sh("'%s' verify --quiet '%s'", t_bin(), image);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	/* From the cache alone: no apt, no network (PATH without apt-get). */
	r = t_sh("PATH=/nonexistent '%s' reproduce --quiet %s --against '%s/%s'", t_bin(), recipe,
		 image, tar);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "reproduced bit for bit"));
	t_run_free(&r);
}

static void test_verify_and_reproduce_snp(void **state)
{
	(void)state;
	verify_and_reproduce(snp_image, SNP_RECIPE, "hello-1.0.tar");
}

static void test_verify_and_reproduce_tdx(void **state)
{
	(void)state;
	verify_and_reproduce(tdx_image, TDX_RECIPE, "hello-tdx-1.0.tar");
}

/* The recipe copied elsewhere (its rootfs with other modes, mtimes and
 * creation order), built there under another TZ, umask, locale, CPU count,
 * thread count and working directory, from the cache alone: the same
 * tarball, byte for byte. */
static void rebuild_elsewhere(const char *image, const char *recipe, const char *stem)
{
	if (!image) {
		printf("# SKIP reason: the image was not built (see the tests above)\n");
		skip();
	}
	const char *name = strrchr(recipe, '/') + 1;
	bool taskset = system("taskset -c 0 true >/dev/null 2>&1") == 0;
	struct run r = t_sh(
		"set -e; d='%s/env-%s/deeper'; rm -rf \"$d\"; mkdir -p \"$d/rootfs/etc\"; umask 077; "
		"cp examples/hello/%s examples/hello/%s.lock \"$d/\"; "
		"cat examples/hello/rootfs/etc/hostname >\"$d/rootfs/etc/hostname\"; "
		"cat examples/hello/rootfs/init >\"$d/rootfs/init\"; chmod 700 \"$d/rootfs/init\"; "
		"touch -d '2001-01-01 12:00' \"$d/rootfs/init\" \"$d/rootfs/etc\"; "
		"cd \"$d\" && PATH=/nonexistent TZ=Asia/Kathmandu LANG=de_DE.UTF-8 LC_ALL=tr_TR.UTF-8 "
		"%s '%s' build %s -o out --jobs 4 --quiet && "
		"/usr/bin/cmp out/%s/%s.tar '%s/%s.tar'",
		scratch, stem, name, name, taskset ? "/usr/bin/taskset -c 0" : "", t_bin(), name,
		stem, stem, image, stem);
	if (r.status)
		fail_msg("the rebuild elsewhere differs or failed:\n%s%s", r.out, r.err);
	t_run_free(&r);
}

static void test_reproducible_environment_snp(void **state)
{
	(void)state;
	rebuild_elsewhere(snp_image, SNP_RECIPE, "hello-1.0");
}

static void test_reproducible_environment_tdx(void **state)
{
	(void)state;
	rebuild_elsewhere(tdx_image, TDX_RECIPE, "hello-tdx-1.0");
}

/* Boot CMD (a shell command) and expect the marker. */
static void boot(const char *what, const char *cmd)
{
	if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
		printf("# SKIP reason: qemu-system-x86_64 is not installed (make deps installs it)\n");
		skip();
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct run r = t_sh("timeout %d %s 2>&1", BOOT_SECONDS, cmd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# %s booted and powered off in %.1f s (bound %d s), exit %d\n", what, secs,
	       BOOT_SECONDS, r.status);
	if (!strstr(r.out, MARKER))
		fail_msg("no %s on the serial console within %d s; console:\n%s", MARKER,
			 BOOT_SECONDS, r.out);
	assert_non_null(strstr(r.out, "crc8.ko loaded"));
	assert_non_null(strstr(r.out, "Linux 6.1.0-50-amd64"));
	t_assert_clean_exit(&r, 0);   /* powered off, not killed by the timeout */
	t_run_free(&r);
}

static void test_boot_tdx_image(void **state)
{
	(void)state;
	if (!tdx_image) {
		printf("# SKIP reason: the TDX image was not built (see the tests above)\n");
		skip();
	}
	char *cmd;
	assert_true(asprintf(&cmd, "sh '%s/launch/qemu.sh'", tdx_image) > 0);
	boot("hello-tdx (its own OVMF 2025.02)", cmd);
	free(cmd);
}

static void test_boot_snp_image(void **state)
{
	(void)state;
	if (!snp_image || !tdx_image) {
		printf("# SKIP reason: the images were not built (see the tests above)\n");
		skip();
	}
	/* OVMF.amdsev.fd boots only under SEV: the SNP image's kernel, initrd
	 * and cmdline under the TDX image's plain OVMF.fd, as its qemu.sh
	 * would run them. */
	char *cmd;
	assert_true(asprintf(&cmd,
			     "qemu-system-x86_64 -machine q35,accel=tcg -m 1024 -nographic -no-reboot "
			     "-bios '%s/OVMF.fd' -kernel '%s/vmlinuz' -initrd '%s/initrd.img' "
			     "-append \"$(cat '%s/cmdline.txt')\"",
			     tdx_image, snp_image, snp_image, snp_image) > 0);
	boot("hello (SNP image's kernel, initrd, cmdline under plain OVMF)", cmd);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_snp),
		cmocka_unit_test(test_build_tdx),
		cmocka_unit_test(test_verify_and_reproduce_snp),
		cmocka_unit_test(test_verify_and_reproduce_tdx),
		cmocka_unit_test(test_reproducible_environment_snp),
		cmocka_unit_test(test_reproducible_environment_tdx),
		cmocka_unit_test(test_boot_tdx_image),
		cmocka_unit_test(test_boot_snp_image),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
