/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The measure verbs and their sub-verb dispatch through the command line:
 *   - `measure tpm` refuses a firmware OVMF could not be (all zeros, one
 *     byte, random bytes, a variable store, truncated or footer-corrupted
 *     copies of ../shared/inputs/OVMF_CODE_4M.fd), naming the file and what
 *     is missing, and takes the real code-only and combined images;
 *   - the OVMF-release rules of the vTPM model, asked of the library;
 *   - one dispatch for `cvmforge`, `measure`, `eventlog` and `initrd`.
 */
#include "tests/unit/testlib.h"

struct in {
	char *code, *combined, *vars, *kernel;
};

static bool inputs(struct in *in)
{
	memset(in, 0, sizeof(*in));
	in->code = t_shared_file("inputs/OVMF_CODE_4M.fd");
	in->combined = in->code ? t_shared_file("inputs/OVMF.fd") : NULL;
	in->vars = in->combined ? t_shared_file("inputs/OVMF_VARS.fd") : NULL;
	in->kernel = in->vars ? t_shared_file("inputs/vmlinuz") : NULL;
	return in->kernel != NULL;
}

static void in_free(struct in *in)
{
	free(in->code);
	free(in->combined);
	free(in->vars);
	free(in->kernel);
}

static struct run tpm(const char *fw, const char *kernel)
{
	char *argv[] = { (char *)t_bin(), "measure", "tpm", "--ovmf", (char *)fw,
			 "--kernel", (char *)kernel, NULL };
	return t_run(argv);
}

/* `measure tpm` with fw: exit 1, nothing on stdout, and one error line
 * naming the file and `why`. */
static void refused(const char *fw, const char *kernel, const char *why)
{
	struct run r = tpm(fw, kernel);
	t_assert_clean_exit(&r, 1);
	assert_int_equal(r.out_len, 0);
	if (!strstr(r.err, fw) || !strstr(r.err, why))
		fail_msg("measure tpm --ovmf %s: wanted an error naming the file and \"%s\", got: %s",
			 fw, why, r.err);
	assert_non_null(strstr(r.err, "Error: firmware '"));
	t_run_free(&r);
}

static void test_tpm_takes_ovmf(void **state)
{
	(void)state;
	struct in in;
	if (!inputs(&in)) {
		in_free(&in);
		skip();
	}
	/* The code-only image (no SEV/TDX metadata) and the combined one. */
	const char *fws[] = { in.code, in.combined };
	for (size_t i = 0; i < 2; i++) {
		struct run r = tpm(fws[i], in.kernel);
		t_assert_clean_exit(&r, 0);
		assert_non_null(strstr(r.out, "pcr4 sha256 "));
		t_run_free(&r);
	}
	/* And the library's check, directly. */
	size_t n;
	char *b = t_slurp(in.code, &n);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_ovmf *o = NULL;
	assert_int_equal(cvmf_ovmf_parse(ctx, (uint8_t *)b, n, &o), 0);
	assert_int_equal(cvmf_ovmf_validate(ctx, (uint8_t *)b, n, o), 0);
	cvmf_ovmf_free(o);
	cvmf_ctx_free(ctx);
	free(b);
	in_free(&in);
}

static void test_tpm_refuses_non_ovmf(void **state)
{
	(void)state;
	struct in in;
	if (!inputs(&in)) {
		in_free(&in);
		skip();
	}
	char *dir = t_tmpdir();
	size_t n;
	uint8_t *code = (uint8_t *)t_slurp(in.code, &n);
	assert_true(n > (1u << 20) && n % 4096 == 0);

	uint8_t *zeros = calloc(1, n);
	char *p = t_write(dir, "zeros.fd", zeros, n);
	refused(p, in.kernel, "no firmware volume header (\"_FVH\" signature) at offset 0x0");
	free(p);
	p = t_write(dir, "one.fd", "\x90", 1);
	refused(p, in.kernel, "not a whole number of 4 KiB pages");
	free(p);
	p = t_write(dir, "empty.fd", "", 0);
	refused(p, in.kernel, "is empty");
	free(p);
	/* Random bytes (a fixed xorshift sequence). */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		zeros[i] = (uint8_t)x;
	}
	p = t_write(dir, "random.fd", zeros, n);
	refused(p, in.kernel, "no firmware volume header");
	free(p);
	free(zeros);
	/* A variable store is one firmware volume, without a reset vector. */
	refused(in.vars, in.kernel, "no reset vector");

	/* Truncated: the first volume runs past the end; the tail alone has
	 * no volume at offset 0; an odd cut is not whole pages. */
	p = t_write(dir, "head.fd", code, 2u << 20);
	refused(p, in.kernel, "has length 0x348000, but the file has 0x200000 bytes from there");
	free(p);
	p = t_write(dir, "tail.fd", code + n - (1u << 20), 1u << 20);
	refused(p, in.kernel, "no firmware volume header");
	free(p);
	p = t_write(dir, "cut.fd", code, n - 100);
	refused(p, in.kernel, "not a whole number of 4 KiB pages");
	free(p);
	/* The last volume removed: the file ends where a volume should start... */
	p = t_write(dir, "nosec.fd", code, 0x348000);
	refused(p, in.kernel, "no reset vector");
	free(p);

	/* Corrupted: the footer GUID, the reset vector's signature, a volume
	 * header's checksum, the second volume's signature. */
	static const struct { size_t from_end, at; const char *why; } bad[] = {
		{ 48, 0, "no OVMF footer GUID table" },
		{ 20, 0, "no reset vector" },
		{ 0, 0x38, "bad checksum" },
		{ 0, 0x348028, "at offset 0x348000, where the previous volume ends" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t at = bad[i].from_end ? n - bad[i].from_end : bad[i].at;
		code[at] ^= 0x5a;
		char name[32];
		snprintf(name, sizeof(name), "bad%zu.fd", i);
		p = t_write(dir, name, code, n);
		refused(p, in.kernel, bad[i].why);
		free(p);
		code[at] ^= 0x5a;
	}
	/* The intact copy still measures: the refusals above are the damage. */
	p = t_write(dir, "intact.fd", code, n);
	struct run r = tpm(p, in.kernel);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	free(p);

	free(code);
	t_rmrf(dir);
	free(dir);
	in_free(&in);
}

/* The OVMF-release rules of the vTPM model live in the library. */
static void test_tpm_release_rules(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_tpm_rules r = { true, 7 };
	assert_int_equal(cvmf_tpm_rules_for_release(ctx, 202211, &r), 0);
	assert_false(r.acpi_in_pcr1);
	assert_int_equal(r.secure_boot_var, 0);
	assert_int_equal(cvmf_tpm_rules_for_release(ctx, 202302, &r), 0);
	assert_true(r.acpi_in_pcr1);
	assert_int_equal(r.secure_boot_var, -1);
	assert_int_equal(cvmf_tpm_rules_for_release(ctx, 202502, &r), 0);
	assert_true(r.acpi_in_pcr1);
	r = (struct cvmf_tpm_rules){ false, 5 };
	assert_int_equal(cvmf_tpm_rules_for_release(ctx, 202505, &r), CVMF_E_UNSUPPORTED);
	assert_string_equal(cvmf_ctx_errmsg(ctx),
			    "OVMF 2025.05 is not modelled: edk2 >= 202505 adds fw_cfg, SMBIOS and boot-manager events");
	assert_int_equal(r.secure_boot_var, 5);   /* untouched on failure */
	cvmf_ctx_free(ctx);
	/* The command line says so as a usage error, before reading any file. */
	char *argv[] = { (char *)t_bin(), "measure", "tpm", "--ovmf", "/nonexistent/f", "--kernel",
			 "/nonexistent/k", "--ovmf-release", "edk2-stable202508", NULL };
	struct run run = t_run(argv);
	t_assert_clean_exit(&run, 2);
	assert_non_null(strstr(run.err, "cvmforge measure tpm: error: argument --ovmf-release: OVMF 2025.08 is not modelled"));
	t_run_free(&run);
}

/* Event summaries and register filtering are the library's; the CLI prints. */
static void test_eventlog_describe_and_drop(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	static const uint16_t algs[] = { CVMF_TCG_SHA256 };
	struct cvmf_eventlog *log = NULL;
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_TPM, algs, 1, &log), 0);
	uint8_t z[32] = { 0 };
	const uint8_t *dg[] = { z };
	/* UEFI_VARIABLE_DATA: GUID, 10 characters, 1 data byte, L"SecureBoot", 0. */
	uint8_t var[32 + 20 + 1] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
				     0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
	t_le64(var + 16, 10);
	t_le64(var + 24, 1);
	for (int i = 0; i < 10; i++)
		var[32 + 2 * i] = (uint8_t)"SecureBoot"[i];
	/* UEFI_IMAGE_LOAD_EVENT with one File(L"\\k") node and the end node. */
	uint8_t img[32 + 10 + 4] = { 0 };
	t_le64(img, 0x7e000000);
	t_le64(img + 8, 0x1000);
	t_le64(img + 24, 14);
	img[32] = 4;
	img[33] = 4;
	t_le16(img + 34, 10);
	img[36] = '\\';
	img[38] = 'k';
	img[42] = 0x7f;
	img[43] = 0xff;
	t_le16(img + 44, 4);
	char long_str[100];
	memset(long_str, 'a', sizeof(long_str));
	assert_int_equal(cvmf_eventlog_add(ctx, log, 7, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG, dg,
					   var, sizeof(var), false, NULL), 0);
	assert_int_equal(cvmf_eventlog_add(ctx, log, 4, CVMF_EV_EFI_BOOT_SERVICES_APPLICATION, dg,
					   img, sizeof(img), false, NULL), 0);
	assert_int_equal(cvmf_eventlog_add(ctx, log, 4, CVMF_EV_SEPARATOR, dg, z, 4, false, NULL), 0);
	assert_int_equal(cvmf_eventlog_add(ctx, log, 5, CVMF_EV_EFI_ACTION, dg, long_str,
					   sizeof(long_str), false, NULL), 0);
	assert_int_equal(cvmf_eventlog_add(ctx, log, 9, CVMF_EV_NO_ACTION, dg, "\x01\x02\x03", 3,
					   false, NULL), 0);
	char out[256];
	cvmf_eventlog_describe(&log->events[0], out, sizeof(out));
	assert_string_equal(out, "\"SecureBoot\" 8be4df61-93ca-11d2-aa0d-00e098032b8c, 1 data byte");
	cvmf_eventlog_describe(&log->events[1], out, sizeof(out));
	assert_string_equal(out, "image at 0x7e000000, length 0x1000, file \"\\\\k\"");
	cvmf_eventlog_describe(&log->events[2], out, sizeof(out));
	assert_string_equal(out, "00000000");
	cvmf_eventlog_describe(&log->events[3], out, sizeof(out));
	assert_int_equal(strlen(out), 1 + 64 + 4);   /* quote, 64 shown, ..." */
	cvmf_eventlog_describe(&log->events[4], out, sizeof(out));
	assert_string_equal(out, "3 bytes");
	/* A small buffer is cut, never overrun. */
	memset(out, 'X', sizeof(out));
	cvmf_eventlog_describe(&log->events[0], out, 8);
	assert_string_equal(out, "\"Secure");
	assert_int_equal(out[8], 'X');

	/* Drop PCRs 4 and 9: EV_NO_ACTION records stay. */
	cvmf_eventlog_drop_registers(log, 1u << 4 | 1u << 9);
	assert_int_equal(log->n_events, 3);
	assert_int_equal(log->events[0].index, 7);
	assert_int_equal(log->events[1].index, 5);
	assert_int_equal(log->events[2].type, CVMF_EV_NO_ACTION);
	cvmf_eventlog_free(log);

	/* In a CCEL bit r is RTMR r, MR index r + 1; MRTD (index 0) stays. */
	static const uint16_t a384[] = { CVMF_TCG_SHA384 };
	uint8_t z48[48] = { 0 };
	const uint8_t *dg48[] = { z48 };
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_CCEL, a384, 1, &log), 0);
	for (uint32_t ix = 0; ix <= 4; ix++)
		assert_int_equal(cvmf_eventlog_add(ctx, log, ix, CVMF_EV_SEPARATOR, dg48, z, 4,
						   false, NULL), 0);
	cvmf_eventlog_drop_registers(log, 1u << 0 | 1u << 2);
	assert_int_equal(log->n_events, 3);
	assert_int_equal(log->events[0].index, 0);
	assert_int_equal(log->events[1].index, 2);
	assert_int_equal(log->events[2].index, 4);
	cvmf_eventlog_free(log);
	cvmf_ctx_free(ctx);
}

/* Run the CLI with up to 4 arguments: exit code `want`, `needle` in the
 * last line of stderr (or in stdout when want is 0). */
static void expect(const char *a1, const char *a2, const char *a3, const char *a4, int want,
		   const char *needle)
{
	char *argv[] = { (char *)t_bin(), (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	struct run r = t_run(argv);
	t_assert_clean_exit(&r, want);
	const char *where = want ? t_last_line(r.err) : r.out;
	if (!strstr(where, needle))
		fail_msg("cvmforge %s %s %s: wanted '%s' in:\n%s", a1 ? a1 : "", a2 ? a2 : "",
			 a3 ? a3 : "", needle, where);
	if (want == 2)
		assert_int_equal(r.out_len, 0);
	t_run_free(&r);
}

/* One dispatch for every level: the same help, errors and program names. */
static void test_dispatch(void **state)
{
	(void)state;
	/* Unknown sub-verbs: argparse's "invalid choice", at every level. */
	/* (The top-level list grows as verbs are added: only its start is pinned.) */
	expect("frob", NULL, NULL, NULL, 2,
	       "cvmforge: error: argument VERB: invalid choice: 'frob' (choose from 'build', 'verify', ");
	expect("measure", "sgx", NULL, NULL, 2,
	       "cvmforge measure: error: argument PLATFORM: invalid choice: 'sgx' (choose from 'snp', 'tpm', 'tdx')");
	expect("eventlog", "frob", NULL, NULL, 2,
	       "cvmforge eventlog: error: argument SUBCOMMAND: invalid choice: 'frob' (choose from 'replay', 'show', 'diff')");
	expect("help", "frob", NULL, NULL, 2, "cvmforge: error: argument VERB: invalid choice: 'frob'");
	/* Missing ones. */
	expect(NULL, NULL, NULL, NULL, 2, "cvmforge: error: the following arguments are required: VERB (build, ");
	expect("measure", NULL, NULL, NULL, 2,
	       "cvmforge measure: error: the following arguments are required: PLATFORM (snp, tpm, tdx)");
	expect("eventlog", NULL, NULL, NULL, 2,
	       "cvmforge eventlog: error: the following arguments are required: SUBCOMMAND (replay, show, diff)");
	/* Help generated from the tables: usage, every entry, the epilog. */
	expect("--help", NULL, NULL, NULL, 0, "usage: cvmforge {build,verify,reproduce,measure,inspect,");
	expect("-h", NULL, NULL, NULL, 0, "Verbs:\n  build RECIPE");
	expect("help", NULL, NULL, NULL, 0, "Run 'cvmforge VERB --help' for a verb's options.");
	expect("measure", "--help", NULL, NULL, 0, "usage: cvmforge measure {snp,tpm,tdx} ...\n\nPlatforms:\n  snp AMD SEV");
	expect("help", "measure", NULL, NULL, 0, "  tdx Intel TDX MRTD");
	expect("eventlog", "-h", NULL, NULL, 0, "Subcommands:\n  replay FILE [--format auto|ccel|tpm] [--json]\n      recompute");
	expect("help", "eventlog", NULL, NULL, 0, "3 the logs differ (diff).");
	/* Sub-verbs get their full program name. */
	expect("measure", "tpm", "--bogus", NULL, 2, "cvmforge measure tpm: error: ");
	expect("measure", "tdx", "--bogus", NULL, 2, "cvmforge measure tdx: error: ");
	expect("eventlog", "show", NULL, NULL, 2, "cvmforge eventlog show: error: the following arguments are required: FILE");
	expect("eventlog", "diff", "--help", NULL, 0, "usage: cvmforge eventlog diff EXPECTED ACTUAL");
	/* initrd: `diff` is a sub-verb; anything else builds. */
	expect("initrd", "diff", NULL, NULL, 2, "cvmforge initrd diff: error: the following arguments are required: A B");
	expect("initrd", NULL, NULL, NULL, 2, "cvmforge initrd: error: the following arguments are required: -o/--output");
	expect("initrd", "--help", NULL, NULL, 0, "usage: cvmforge initrd -o OUT");
	expect("initrd", "frob", NULL, NULL, 2, "cvmforge initrd: error: ");
	/* --version stays a top-level option. */
	expect("--version", NULL, NULL, NULL, 0, "cvmforge ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tpm_takes_ovmf),
		cmocka_unit_test(test_tpm_refuses_non_ovmf),
		cmocka_unit_test(test_tpm_release_rules),
		cmocka_unit_test(test_eventlog_describe_and_drop),
		cmocka_unit_test(test_dispatch),
	};
	return cmocka_run_group_tests_name("measure-cli", tests, NULL, NULL);
}
