/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `measure tpm` without booting: the PCR formulas of vtpm.md §7 recomputed
 * here by hand, the RAM rule of the patched header, the one event model
 * shared with TDX, secure boot (authority event, legacy-loader fallback)
 * and the variable-store reader. The real boots are in test_tpm_boot.c.
 */
#include "tests/unit/testlib.h"

#include "measure/measure.h"

#define MIB (1ull << 20)

static void extend(uint8_t *reg, size_t n, const void *data, size_t len)
{
	uint8_t d[48], buf[96];
	if (n == 32)
		t_sha256(data, len, d);
	else
		t_sha384(data, len, d);
	memcpy(buf, reg, n);
	memcpy(buf + n, d, n);
	if (n == 32)
		t_sha256(buf, 2 * n, reg);
	else
		t_sha384(buf, 2 * n, reg);
}

struct in {
	char *kernel, *initrd;
};

static bool inputs(struct in *in)
{
	in->kernel = t_shared_file("inputs/vmlinuz");
	in->initrd = in->kernel ? t_shared_file("inputs/initrd.img") : NULL;
	return in->initrd != NULL;
}

static struct cvmf_tpm_result *tpm(const struct cvmf_tpm_spec *s)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_tpm_result *r = NULL;
	int rc = cvmf_tpm_measure(ctx, s, &r);
	if (rc)
		fprintf(stderr, "measure tpm: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(rc, 0);
	cvmf_ctx_free(ctx);
	return r;
}

/* A code-only image: no variable store inside, so no keys. (measure tpm
 * refuses a firmware that is not laid out as OVMF is.) */
static char *code_image(const char *dir)
{
	(void)dir;
	char *p = t_shared_file("inputs/OVMF_CODE_4M.fd");
	assert_non_null(p);
	return p;
}

static void test_constant_pcrs(void **state)
{
	(void)state;
	struct in in;
	if (!inputs(&in)) {
		free(in.kernel);
		skip();
	}
	char *dir = t_tmpdir(), *fw = code_image(dir);
	struct cvmf_tpm_spec s = { .ovmf_path = fw, .kernel_path = in.kernel,
				   .initrd_path = in.initrd, .append = "console=ttyS0 loglevel=3",
				   .memory = 1024 * MIB, .q35 = true, .kernel_header_patch = true,
				   .secure_boot_var = 0 };
	struct cvmf_tpm_result *r = tpm(&s);
	for (size_t n = 32; n <= 48; n += 16) {
		uint8_t sep[48] = { 0 }, p5[48] = { 0 }, p1[48] = { 0 }, p7[48] = { 0 };
		extend(sep, n, "\0\0\0\0", 4);
		/* PCR 2, 3, 6: one separator. */
		const uint8_t *got2 = n == 32 ? r->sha256[2] : r->sha384[2];
		assert_memory_equal(got2, sep, n);
		assert_memory_equal(n == 32 ? r->sha256[6] : r->sha384[6], sep, n);
		/* PCR 5: separator, then the two ExitBootServices actions. */
		extend(p5, n, "\0\0\0\0", 4);
		extend(p5, n, "Exit Boot Services Invocation", 29);
		extend(p5, n, "Exit Boot Services Returned with Success", 40);
		assert_memory_equal(n == 32 ? r->sha256[5] : r->sha384[5], p5, n);
		/* PCR 1 on OVMF 2022.11: BootOrder 0000 and Boot0000 (data only), separator. */
		static const uint8_t boot0000[62] = {
			0x09, 0x01, 0, 0, 0x2c, 0, 'U', 0, 'i', 0, 'A', 0, 'p', 0, 'p', 0, 0, 0,
			0x04, 0x07, 0x14, 0x00, 0xc9, 0xbd, 0xb8, 0x7c, 0xeb, 0xf8, 0x34, 0x4f,
			0xaa, 0xea, 0x3e, 0xe4, 0xaf, 0x65, 0x16, 0xa1,
			0x04, 0x06, 0x14, 0x00, 0x21, 0xaa, 0x2c, 0x46, 0x14, 0x76, 0x03, 0x45,
			0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31, 0x7f, 0xff, 0x04, 0x00 };
		extend(p1, n, "\0\0", 2);
		extend(p1, n, boot0000, 62);
		extend(p1, n, "\0\0\0\0", 4);
		assert_memory_equal(n == 32 ? r->sha256[1] : r->sha384[1], p1, n);
		/* PCR 7 with SecureBoot = 00 and no keys: UEFI_VARIABLE_DATA each. */
		static const uint8_t global[16] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
						    0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
		static const uint8_t secdb[16] = { 0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
						   0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
		const struct { const char *name; const uint8_t *guid; size_t dlen; } v[] = {
			{ "SecureBoot", global, 1 }, { "PK", global, 0 }, { "KEK", global, 0 },
			{ "db", secdb, 0 }, { "dbx", secdb, 0 } };
		for (int i = 0; i < 5; i++) {
			uint8_t b[64] = { 0 };
			size_t nl = strlen(v[i].name);
			memcpy(b, v[i].guid, 16);
			t_le64(b + 16, nl);
			t_le64(b + 24, v[i].dlen);
			for (size_t c = 0; c < nl; c++)
				b[32 + 2 * c] = (uint8_t)v[i].name[c];
			extend(p7, n, b, 32 + 2 * nl + v[i].dlen);   /* SecureBoot's byte is 00 */
		}
		extend(p7, n, "\0\0\0\0", 4);
		assert_memory_equal(n == 32 ? r->sha256[7] : r->sha384[7], p7, n);
	}
	assert_false(r->have_pcr[0]);
	assert_false(r->have_pcr[8]);
	cvmf_tpm_result_free(r);
	free(fw);
	t_rmrf(dir);
	free(dir);
	free(in.kernel);
	free(in.initrd);
}

/* The patched header's RAM rule (vtpm.md §7.2), the plain path, and one
 * kernel digest for TPM and TDX alike. */
static void test_pcr4_and_shared_model(void **state)
{
	(void)state;
	struct in in;
	if (!inputs(&in)) {
		free(in.kernel);
		skip();
	}
	char *dir = t_tmpdir(), *fw = code_image(dir);
	struct cvmf_tpm_spec s = { .ovmf_path = fw, .kernel_path = in.kernel,
				   .initrd_path = in.initrd, .append = "console=ttyS0",
				   .q35 = true, .kernel_header_patch = true };
	static const uint64_t ram[] = { 1024, 2048, 2815, 2816, 4096 };
	uint8_t p4[5][32];
	for (int i = 0; i < 5; i++) {
		s.memory = ram[i] * MIB;
		struct cvmf_tpm_result *r = tpm(&s);
		memcpy(p4[i], r->sha256[4], 32);
		cvmf_tpm_result_free(r);
	}
	assert_memory_equal(p4[1], p4[3], 32);      /* 2048 = 2816 = 4096 */
	assert_memory_equal(p4[1], p4[4], 32);
	assert_memory_not_equal(p4[0], p4[1], 32);  /* 1024 and 2815 each differ */
	assert_memory_not_equal(p4[2], p4[1], 32);
	assert_memory_not_equal(p4[2], p4[0], 32);
	/* pc: 4096 MiB differs from q35's. */
	s.q35 = false;
	s.memory = 4096 * MIB;
	struct cvmf_tpm_result *r = tpm(&s);
	assert_memory_not_equal(r->sha256[4], p4[4], 32);
	cvmf_tpm_result_free(r);
	/* Plain: the same at every size. */
	s.q35 = true;
	s.kernel_header_patch = false;
	s.memory = 1024 * MIB;
	struct cvmf_tpm_result *a = tpm(&s);
	s.memory = 4096 * MIB;
	struct cvmf_tpm_result *b = tpm(&s);
	assert_memory_equal(a->sha384[4], b->sha384[4], 48);
	/* TDX's RTMR1 kernel event has the same SHA-384 digest as PCR 4's. */
	char *tdvf = t_shared_file("inputs/OVMF.trixie.fd");
	if (tdvf) {
		struct cvmf_tdx_spec t = { .ovmf_path = tdvf, .kernel_path = in.kernel,
					   .initrd_path = in.initrd, .append = "console=ttyS0",
					   .memory = 4096 * MIB, .kernel_header_patch = false,
					   .stub_cc = true };
		cvmf_ctx *ctx = cvmf_ctx_new();
		struct cvmf_tdx_result *x = NULL;
		assert_int_equal(cvmf_tdx_measure(ctx, &t, &x), 0);
		assert_memory_equal(x->kernel_authenticode, b->kernel_authenticode384, 48);
		/* And the stub's two events: RTMR2 = PCR 9 in the sha384 bank. */
		assert_memory_equal(x->rtmr[2], b->sha384[9], 48);
		cvmf_tdx_result_free(x);
		cvmf_ctx_free(ctx);
		free(tdvf);
	}
	cvmf_tpm_result_free(a);
	cvmf_tpm_result_free(b);
	free(fw);
	t_rmrf(dir);
	free(dir);
	free(in.kernel);
	free(in.initrd);
}

/* Debian's snakeoil secure-boot store and certificate, when installed. */
static void test_secure_boot(void **state)
{
	(void)state;
	const char *vars = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd";
	const char *cert = "/usr/share/ovmf/PkKek-1-snakeoil.pem";
	struct in in;
	if (access(vars, R_OK) || access(cert, R_OK)) {
		printf("# SKIP reason: Debian's ovmf package (snakeoil secure-boot store) is not installed\n");
		skip();
	}
	if (!inputs(&in)) {
		free(in.kernel);
		skip();
	}
	char *dir = t_tmpdir(), *fw = code_image(dir);
	struct cvmf_tpm_spec s = { .ovmf_path = fw, .vars_path = vars, .kernel_path = in.kernel,
				   .initrd_path = in.initrd, .append = "console=ttyS0",
				   .memory = 1024 * MIB, .q35 = true, .kernel_header_patch = false,
				   .secure_boot = true, .signer_cert_path = cert };
	/* The plain path: the signature holds, so an authority event comes
	 * right before the kernel, and PCR 4 is that of a boot without secure
	 * boot. */
	struct cvmf_tpm_result *r = tpm(&s);
	assert_false(r->legacy_fallback);
	size_t k = 0;
	for (; k < r->log->n_events; k++)
		if (r->log->events[k].type == CVMF_EV_EFI_BOOT_SERVICES_APPLICATION)
			break;
	assert_true(k > 0 && k < r->log->n_events);
	assert_int_equal(r->log->events[k - 1].type, CVMF_EV_EFI_VARIABLE_AUTHORITY);
	assert_int_equal(r->log->events[k - 1].index, 7);
	s.secure_boot = false;
	s.signer_cert_path = NULL;
	s.vars_path = NULL;
	struct cvmf_tpm_result *plain = tpm(&s);
	assert_memory_equal(r->sha256[4], plain->sha256[4], 32);
	assert_memory_not_equal(r->sha256[7], plain->sha256[7], 32);
	cvmf_tpm_result_free(r);
	/* The patched path: the signature breaks, OVMF's legacy loader measures
	 * no kernel and the stub no LoadOptions; the warning says so. */
	s.secure_boot = true;
	s.signer_cert_path = cert;
	s.vars_path = vars;
	s.kernel_header_patch = true;
	r = tpm(&s);
	assert_true(r->legacy_fallback);
	assert_non_null(strstr(r->warning, "legacy loader"));
	for (size_t i = 0; i < r->log->n_events; i++) {
		assert_int_not_equal(r->log->events[i].type, CVMF_EV_EFI_BOOT_SERVICES_APPLICATION);
		assert_int_not_equal(r->log->events[i].type, CVMF_EV_EFI_VARIABLE_AUTHORITY);
	}
	uint8_t p9[32] = { 0 }, p4[32] = { 0 };
	size_t n;
	char *initrd = t_slurp(in.initrd, &n);
	extend(p9, 32, initrd, n);
	free(initrd);
	assert_memory_equal(r->sha256[9], p9, 32);
	extend(p4, 32, "Calling EFI Application from Boot Option", 40);
	extend(p4, 32, "\0\0\0\0", 4);
	assert_memory_equal(r->sha256[4], p4, 32);
	cvmf_tpm_result_free(r);
	/* A file that is not a certificate is refused, naming it. */
	s.signer_cert_path = in.initrd;
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(cvmf_tpm_measure(ctx, &s, &r), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), in.initrd));
	cvmf_ctx_free(ctx);
	cvmf_tpm_result_free(plain);
	free(fw);
	t_rmrf(dir);
	free(dir);
	free(in.kernel);
	free(in.initrd);
}

static void test_varstore(void **state)
{
	(void)state;
	/* A synthetic authenticated store: FV header, store header, two
	 * variables (one deleted). */
	uint8_t b[4096] = { 0 };
	memcpy(b + 40, "_FVH", 4);
	t_le16(b + 48, 72);
	static const uint8_t auth[16] = { 0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
					  0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };
	memcpy(b + 72, auth, 16);
	t_le32(b + 88, 4096 - 72);
	size_t p = 100;
	const struct { const char *name; uint8_t state; const char *data; } v[] = {
		{ "db", 0x3c, "old" }, { "db", 0x3f, "new!" }, { "PK", 0x3f, "k" } };
	for (int i = 0; i < 3; i++) {
		size_t nl = 2 * (strlen(v[i].name) + 1), dl = strlen(v[i].data);
		t_le16(b + p, 0x55aa);
		b[p + 2] = v[i].state;
		t_le32(b + p + 36, (uint32_t)nl);
		t_le32(b + p + 40, (uint32_t)dl);
		b[p + 44] = 0x11;
		for (size_t c = 0; c < strlen(v[i].name); c++)
			b[p + 60 + 2 * c] = (uint8_t)v[i].name[c];
		memcpy(b + p + 60 + nl, v[i].data, dl);
		p = (p + 60 + nl + dl + 3) & ~(size_t)3;
	}
	struct msr_varstore s;
	assert_int_equal(msr_varstore_parse(NULL, "t", b, sizeof(b), &s), 0);
	assert_int_equal(s.n, 2);
	uint8_t g[16] = { 0x11 };
	const struct msr_efi_var *db = msr_varstore_find(&s, g, "db");
	assert_non_null(db);
	assert_int_equal(db->len, 4);
	assert_memory_equal(db->data, "new!", 4);
	msr_varstore_free(&s);
	/* A variable that runs past the store is an error. */
	t_le32(b + 100 + 40, 100000);
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(msr_varstore_parse(ctx, "t", b, sizeof(b), &s), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "runs past"));
	memset(b + 72, 0, 16);
	assert_int_equal(msr_varstore_parse(ctx, "t", b, sizeof(b), &s), CVMF_E_UNSUPPORTED);
	cvmf_ctx_free(ctx);
}

static void test_cli_usage(void **state)
{
	(void)state;
	static const char *const cases[][5] = {
		{ "--kernel", "k", NULL, NULL, "--ovmf" },
		{ "--ovmf", "f", NULL, NULL, "--kernel" },
		{ "--ovmf", "f", "--machine", "virt", "invalid choice" },
		{ "--ovmf", "f", "--ovmf-release", "2025.05", "not modelled" },
		{ "--ovmf", "f", "--secure-boot", NULL, "go together" },
		{ "--ovmf", "f", "--acpi-tables", "t", "go together" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { (char *)t_bin(), "measure", "tpm" };
		int n = 3;
		for (int k = 0; k < 4 && cases[i][k]; k++)
			argv[n++] = (char *)cases[i][k];
		if (i >= 2) {
			argv[n++] = "--kernel";
			argv[n++] = "k";
		}
		argv[n] = NULL;
		struct run r = t_run(argv);
		t_assert_clean_exit(&r, 2);
		if (!strstr(r.err, cases[i][4]))
			fail_msg("case %zu: stderr lacks '%s':\n%s", i, cases[i][4], r.err);
		t_run_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constant_pcrs),
		cmocka_unit_test(test_pcr4_and_shared_model),
		cmocka_unit_test(test_secure_boot),
		cmocka_unit_test(test_varstore),
		cmocka_unit_test(test_cli_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
