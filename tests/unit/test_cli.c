/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cvmforge command line, end to end: exit codes, --json, matrices,
 * inspect, --dump-vmsa, and bad input of every kind. Synthetic firmware
 * keeps these tests independent of ../shared.
 */
#include <jansson.h>
#include <libgen.h>

#include "tests/unit/testlib.h"

struct env {
	char *dir, *fw, *kernel, *initrd, *plain, *junk, *cut, *badtable, *badsec, *highsec;
	struct fw f;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->dir = t_tmpdir();
	e->f = fw_amdsev_like(64 * 1024);
	e->fw = t_write(e->dir, "fw.fd", e->f.buf, e->f.len);
	/* The smallest kernel QEMU accepts: a setup header with one setup
	 * sector and boot protocol 2.15. */
	uint8_t k[1024] = { 0 };
	k[0x1f1] = 1;
	memcpy(k + 0x202, "HdrS", 4);
	k[0x206] = 0x0f;
	k[0x207] = 0x02;
	e->kernel = t_write(e->dir, "vmlinuz", k, sizeof(k));
	e->initrd = t_write(e->dir, "initrd", "initrd bytes", 12);

	/* An OVMF without kernel hashes (like Debian 12's). */
	const struct t_section s[] = { { 0x800000, 0x2000, 1 }, { 0x80d000, 0x1000, 2 },
				       { 0x80e000, 0x1000, 3 } };
	e->plain = fw_write(e->dir, "plain.fd", fw_sev(32768, 0x80b004, true, s, 3));

	struct fw j = fw_new(8192);   /* no footer: not OVMF */
	e->junk = t_write(e->dir, "junk.bin", j.buf, j.len);
	free(j.buf);
	e->cut = t_write(e->dir, "cut.fd", e->f.buf, e->f.len - 1000);

	struct fw b = fw_new(8192);
	fw_u32_entry(&b, T_GUID_RESET, 0x80b004);
	fw_finish(&b);
	t_le16(b.buf + b.p + 4, 0x4000);   /* entry length past the table */
	e->badtable = t_write(e->dir, "badtable.fd", b.buf, b.len);
	free(b.buf);

	const struct t_section us[] = { { 0x800000, 0x1000, 9 } };
	e->badsec = fw_write(e->dir, "badsec.fd", fw_sev(16384, 0x80b004, false, us, 1));
	const struct t_section hs[] = { { 0xfffff000, 0x1000, 1 } };
	e->highsec = fw_write(e->dir, "highsec.fd", fw_sev(16384, 0x80b004, false, hs, 1));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	t_rmrf(e->dir);
	char **paths[] = { &e->dir, &e->fw, &e->kernel, &e->initrd, &e->plain, &e->junk,
			   &e->cut, &e->badtable, &e->badsec, &e->highsec };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		free(*paths[i]);
	free(e->f.buf);
	free(e);
	return 0;
}

#define RUN(...) t_run((char *const[]){ (char *)t_bin(), __VA_ARGS__, NULL })

static void expect(struct run r, int code, const char *needle)
{
	t_assert_clean_exit(&r, code);
	const char *where = code == 0 ? r.out : r.err;
	if (needle && !strstr(where, needle))
		fail_msg("wanted '%s' in:\n%s", needle, where);
	t_run_free(&r);
}

static void test_verbs(void **state)
{
	expect(RUN("--help"), 0, "measure snp");
	expect(RUN("help", "measure"), 0, "snp");
	expect(RUN("version"), 0, CVMF_VERSION);
	expect(RUN("frobnicate"), 2, "cvmforge: error: argument VERB: invalid choice: 'frobnicate' (choose from 'build', ");
	struct run r = t_run((char *const[]){ (char *)t_bin(), NULL });
	t_assert_clean_exit(&r, 2);
	t_run_free(&r);
	expect(RUN("measure"), 2, "cvmforge measure: error: the following arguments are required: PLATFORM (snp, tpm, tdx)");
	expect(RUN("help", "help"), 0, "Verbs:");
	/* A --vcpus range is checked but not measured in sev mode: plain output. */
	struct run sev = RUN("measure", "snp", "--mode", "sev", "--ovmf", ((struct env *)*state)->fw, "--vcpus", "1-4");
	t_assert_clean_exit(&sev, 0);
	assert_int_equal(strlen(sev.out), 65);
	t_run_free(&sev);
	expect(RUN("measure", "sgx"), 2, "argument PLATFORM: invalid choice: 'sgx' (choose from 'snp', 'tpm', 'tdx')");
	expect(RUN("measure", "snp", "--help"), 0, "EPYC-Turin");
}

static void test_usage_errors(void **state)
{
	struct env *e = *state;
	expect(RUN("measure", "snp", "--ovmf", e->fw), 2, "required: --mode");
	expect(RUN("measure", "snp", "--mode", "snp"), 2, "required: --ovmf");
	expect(RUN("measure", "snp", "--mode", "tdx", "--ovmf", e->fw), 2, "invalid choice: 'tdx'");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "0", "--vcpu-type", "EPYC"),
	       2, "--vcpus: 0 is out of range");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "100000", "--vcpu-type", "EPYC"),
	       2, "out of range");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "four", "--vcpu-type", "EPYC"),
	       2, "invalid int value: 'four'");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1-99999", "--vcpu-type", "EPYC"),
	       2, "out of range");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC-Zen9"),
	       2, "invalid choice: 'EPYC-Zen9'");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-sig", "017"),
	       2, "invalid auto_base_int value: '017'");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-sig", "0x1ffffffff"),
	       2, "out of range");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-family", "25"),
	       2, "requires --vcpu-model and --vcpu-stepping");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--vmm-type", "qemu"), 2, "invalid choice: 'qemu'");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--snp-ovmf-hash", "abcd"), 2, "not 96 hex digits");
	expect(RUN("measure", "snp", "--mode", "seves", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--snp-ovmf-hash", "00"), 2, "only works in snp mode");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--initrd", e->initrd), 2, "--kernel required when using --initrd");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpu", "1"), 2, "ambiguous option");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--bogus"), 2,
	       "unrecognized arguments: --bogus");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus"), 2, "expected one argument");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--vcpus", "1-2", "--dump-vmsa"), 2, "--dump-vmsa needs one");
	expect(RUN("measure", "snp", "--mode", "sev", "--ovmf", e->fw, "--dump-vmsa"), 2, "has no VMSA pages");
	expect(RUN("measure", "snp", "--mode", "snp", "--ovmf", e->fw, "--vcpus", "1", "--vmm-type", ","), 2,
	       "argument --vmm-type: empty list");
	expect(RUN("measure", "snp", "--mode", "snp:svsm", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--svsm", e->fw, "--vars-size", "4096", "--vars-file", e->fw), 2, "not allowed with argument --vars-size");
	expect(RUN("measure", "snp", "--mode", "snp:svsm", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--svsm", e->fw, "--vars-file", e->dir), 1, "is not a regular file");
	expect(RUN("measure", "snp", "--mode", "sev", "--ovmf", e->fw, "--vcpus", "x"), 2, "invalid int value: 'x'");
	expect(RUN("measure", "snp", "--mode", "snp:svsm", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--svsm", e->fw, "--vars-size", "0"), 2, "requires --vars-size or --vars-file");
	expect(RUN("measure", "snp", "--mode", "snp:svsm", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--svsm", e->fw, "--vars-size", "1000"), 2, "not a multiple of 4096");
	expect(RUN("measure", "snp", "--mode", "snp:svsm", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--svsm", e->fw, "--vars-size", "4096", "--kernel", e->kernel), 2, "does not measure a kernel");
	expect(RUN("measure", "snp", "--mode", "snp:svsm", "--ovmf", e->fw, "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--svsm", e->fw, "--vars-size", "4096", "--vmm-type", "ec2"), 2, "only defined for --vmm-type QEMU");
}

static void test_bad_input(void **state)
{
	struct env *e = *state;
	const char *snp[] = { "measure", "snp", "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC" };
#define BAD(path, needle) expect(t_run((char *const[]){ (char *)t_bin(), (char *)snp[0], (char *)snp[1], \
		(char *)snp[2], (char *)snp[3], (char *)snp[4], (char *)snp[5], (char *)snp[6], (char *)snp[7], \
		"--ovmf", (char *)(path), NULL }), 1, needle)
	BAD("/nonexistent/OVMF.fd", "Error: cannot open firmware '/nonexistent/OVMF.fd': No such file");
	BAD(e->dir, "is a directory");
	BAD(e->junk, "is not an OVMF image");
	BAD(e->cut, "not a whole number of 4 KiB pages");
	BAD(e->badtable, "past the table start");
	BAD(e->badsec, "unknown type 0x9");
	BAD(e->highsec, "outside guest memory");
	expect(RUN("measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--ovmf", e->plain, "--kernel", e->kernel),
	       1, "Error: Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section");
	expect(RUN("measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC",
		   "--ovmf", e->fw, "--kernel", "/nonexistent/k"), 1, "cannot open kernel '/nonexistent/k'");
	expect(RUN("inspect", "ovmf", e->badtable), 1, "past the table start");
	expect(RUN("inspect", "ovmf", "/nonexistent"), 1, "cannot open");
	expect(RUN("inspect", "disk", e->fw), 2, "unknown kind 'disk'");
}

static json_t *parse_json(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	if (!j)
		fail_msg("not JSON (%s): %s", err.text, s);
	return j;
}

static const char *jstr(json_t *o, const char *path)
{
	char *copy = strdup(path), *save = NULL;
	json_t *cur = o;
	for (char *k = strtok_r(copy, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, k);
	free(copy);
	if (!json_is_string(cur))
		fail_msg("no string at '%s'", path);
	return json_string_value(cur);
}

static void test_json_single(void **state)
{
	struct env *e = *state;
	struct run plain = RUN("measure", "snp", "--mode", "snp", "--vcpus", "3", "--vcpu-type", "EPYC-Milan",
			       "--ovmf", e->fw, "--kernel", e->kernel, "--initrd", e->initrd,
			       "--append", "root=/dev/vda \"quoted\"", "--guest-features", "0x21");
	t_assert_clean_exit(&plain, 0);
	struct run js = RUN("measure", "snp", "--mode", "snp", "--vcpus", "3", "--vcpu-type", "EPYC-Milan",
			    "--ovmf", e->fw, "--kernel", e->kernel, "--initrd", e->initrd,
			    "--append", "root=/dev/vda \"quoted\"", "--guest-features", "0x21", "--json");
	t_assert_clean_exit(&js, 0);
	json_t *j = parse_json(js.out);
	char want[100];
	snprintf(want, sizeof(want), "%s", plain.out);
	want[strcspn(want, "\n")] = 0;
	assert_string_equal(jstr(j, "digest"), want);
	assert_string_equal(jstr(j, "mode"), "snp");
	assert_string_equal(jstr(j, "vmm"), "QEMU");
	assert_int_equal(json_integer_value(json_object_get(j, "vcpus")), 3);
	assert_string_equal(jstr(j, "vcpu_type"), "EPYC-Milan");
	assert_string_equal(jstr(j, "vcpu_sig"), "0x00a00f11");
	assert_string_equal(jstr(j, "guest_features"), "0x21");
	assert_string_equal(jstr(j, "cmdline.value"), "root=/dev/vda \"quoted\"");
	uint8_t d[32];
	char hex[65];
	t_sha256(e->f.buf, e->f.len, d);
	cvmf_hex(d, 32, hex);
	assert_string_equal(jstr(j, "ovmf.sha256"), hex);
	/* SEV-ES reads the firmware digest off its own measurement prefix. */
	struct run es = RUN("measure", "snp", "--mode", "seves", "--vcpus", "1", "--vcpu-type", "EPYC",
			    "--ovmf", e->fw, "--json");
	t_assert_clean_exit(&es, 0);
	json_t *ej = parse_json(es.out);
	assert_string_equal(jstr(ej, "ovmf.sha256"), hex);
	json_decref(ej);
	t_run_free(&es);
	size_t klen;
	char *kbytes = t_slurp(e->kernel, &klen);
	t_sha256(kbytes, klen, d);
	free(kbytes);
	cvmf_hex(d, 32, hex);
	assert_string_equal(jstr(j, "kernel.sha256"), hex);
	t_sha256("root=/dev/vda \"quoted\"", 23, d);   /* with the NUL */
	cvmf_hex(d, 32, hex);
	assert_string_equal(jstr(j, "cmdline.sha256"), hex);
	assert_string_equal(jstr(j, "snp_ovmf_hash_source"), "firmware");
	assert_int_equal(strlen(jstr(j, "sev_hashes_table")), 352);
	assert_string_equal(jstr(j, "algorithm"), CVMF_SNP_ALGORITHM);
	json_decref(j);
	t_run_free(&plain);
	t_run_free(&js);

	/* EC2 and GCE ignore the signature, and say so. */
	js = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1", "--vmm-type", "ec2", "--ovmf", e->fw, "--json");
	t_assert_clean_exit(&js, 0);
	j = parse_json(js.out);
	assert_true(json_is_null(json_object_get(j, "vcpu_sig")));
	assert_true(json_is_null(json_object_get(j, "kernel")));
	json_decref(j);
	t_run_free(&js);

	/* A kernel without --initrd: the initrd is measured as SHA-256 of nothing. */
	js = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", e->fw,
		 "--kernel", e->kernel, "--json");
	t_assert_clean_exit(&js, 0);
	j = parse_json(js.out);
	assert_string_equal(jstr(j, "initrd.sha256"),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_true(json_is_null(json_object_get(json_object_get(j, "initrd"), "path")));
	assert_string_equal(jstr(j, "cmdline.sha256"),
			    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	json_decref(j);
	t_run_free(&js);
}

/* Every matrix line equals the single invocation with its parameters. */
static void test_matrix(void **state)
{
	struct env *e = *state;
	struct run m = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1-3,8", "--vcpu-type", "EPYC,EPYC-Genoa",
			   "--vmm-type", "QEMU,gce", "--guest-features", "0x1,0x21", "--ovmf", e->fw,
			   "--kernel", e->kernel);
	t_assert_clean_exit(&m, 0);
	size_t lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(m.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
		json_t *j = parse_json(l);
		char vcpus[16];
		snprintf(vcpus, sizeof(vcpus), "%lld", (long long)json_integer_value(json_object_get(j, "vcpus")));
		const char *vmm = jstr(j, "vmm");
		struct run one = RUN("measure", "snp", "--mode", "snp", "--vcpus", vcpus,
				     "--vcpu-type", (char *)jstr(j, "vcpu_type"), "--vmm-type", (char *)vmm,
				     "--guest-features", (char *)jstr(j, "guest_features"),
				     "--ovmf", e->fw, "--kernel", e->kernel);
		t_assert_clean_exit(&one, 0);
		one.out[strcspn(one.out, "\n")] = 0;
		assert_string_equal(jstr(j, "digest"), one.out);
		t_run_free(&one);
		json_decref(j);
	}
	assert_int_equal(lines, 4 * 2 * 2 * 2);
	t_run_free(&m);

	/* "all" expands to every CPU type and VMM. */
	m = RUN("measure", "snp", "--mode", "snp", "--vcpus", "1-2", "--vcpu-type", "all", "--vmm-type", "all",
		"--ovmf", e->fw);
	t_assert_clean_exit(&m, 0);
	size_t n = 0;
	for (char *c = m.out; *c; c++)
		n += *c == '\n';
	assert_int_equal(n, 2 * 16 * 3);
	t_run_free(&m);
}

static void test_output_forms(void **state)
{
	struct env *e = *state;
	struct run h = RUN("measure", "snp", "--mode", "seves", "--vcpus", "2", "--vcpu-sig", "0xa00f11", "--ovmf", e->fw);
	struct run b = RUN("measure", "snp", "--mode", "seves", "--vcpus", "2", "--vcpu-sig", "0xa00f11", "--ovmf", e->fw,
			   "--output-format", "base64");
	struct run v = RUN("measure", "snp", "--mode", "seves", "--vcpus", "2", "--vcpu-sig", "0xa00f11", "--ovmf", e->fw,
			   "-v");
	struct run abbrev = RUN("measure", "snp", "--mode=seves", "--vcpus=2", "--vcpu-si", "0xa00f11", "--ov", e->fw);
	t_assert_clean_exit(&h, 0);
	t_assert_clean_exit(&b, 0);
	t_assert_clean_exit(&v, 0);
	t_assert_clean_exit(&abbrev, 0);
	assert_int_equal(strlen(h.out), 65);
	assert_string_equal(h.out, abbrev.out);
	uint8_t raw[32];
	h.out[64] = 0;
	assert_int_equal(cvmf_unhex(h.out, raw, 32), 0);
	char b64[64];
	cvmf_base64(raw, 32, b64);
	strcat(b64, "\n");
	assert_string_equal(b.out, b64);
	char want[128];
	snprintf(want, sizeof(want), "Calculated SEV_ES guest measurement: %s\n", h.out);
	assert_string_equal(v.out, want);
	t_run_free(&h);
	t_run_free(&b);
	t_run_free(&v);
	t_run_free(&abbrev);
}

static void test_dump_vmsa(void **state)
{
	struct env *e = *state;
	char *dir = t_tmpdir();
	struct run r = t_run_in(dir, (char *const[]){ (char *)t_bin(), "measure", "snp", "--mode", "snp",
		"--vcpus", "3", "--vcpu-type", "EPYC-Genoa", "--guest-features", "0x21", "--ovmf", e->fw,
		"--dump-vmsa", NULL });
	t_assert_clean_exit(&r, 0);
	for (int i = 0; i < 3; i++) {
		char path[512];
		size_t n;
		snprintf(path, sizeof(path), "%s/vmsa%d.bin", dir, i);
		uint8_t *v = (uint8_t *)t_slurp(path, &n);
		assert_int_equal(n, 4096);
		assert_int_equal(t_get64(v + 0x310), 0x00a10f10);
		assert_int_equal(t_get64(v + 0x3b0), 0x21);
		assert_int_equal(t_get64(v + 0x178), i == 0 ? 0xfff0 : 0xb004);
		free(v);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/vmsa3.bin", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	t_run_free(&r);
	t_rmrf(dir);
	free(dir);
}

static void test_inspect(void **state)
{
	struct env *e = *state;
	struct run r = RUN("inspect", "ovmf", e->fw);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "SEV_ES_RESET_BLOCK"));
	assert_non_null(strstr(r.out, "SNP_KERNEL_HASHES"));
	assert_non_null(strstr(r.out, "measured direct boot (kernel hashes): yes"));
	t_run_free(&r);
	r = RUN("inspect", "ovmf", e->plain, "--json");
	t_assert_clean_exit(&r, 0);
	json_t *j = parse_json(r.out);
	json_t *secs = json_object_get(json_object_get(j, "sev_metadata"), "sections");
	assert_int_equal(json_array_size(secs), 3);
	assert_string_equal(jstr(json_array_get(secs, 2), "type"), "CPUID");
	assert_string_equal(jstr(j, "sev_es_reset_eip"), "0x80b004");
	assert_non_null(strstr(jstr(j, "kernel_hashes"), "no:"));
	json_decref(j);
	t_run_free(&r);
	r = RUN("inspect", "ovmf", e->junk);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "footer GUID table: none"));
	assert_non_null(strstr(r.out, "(kernel hashes): no: no OVMF footer table"));
	t_run_free(&r);
	char *empty = t_write(e->dir, "empty.fd", "", 0);
	expect(RUN("inspect", "ovmf", empty), 1, "is empty");
	free(empty);
}

/* The TDVF view of Debian 13's firmware: every field on one line is right. */
static void test_inspect_real(void **state)
{
	(void)state;
	char *shared = t_shared_file("inputs/OVMF.trixie.fd");
	if (!shared)
		skip();
	struct run r = RUN("inspect", "ovmf", shared);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "BFV      data 0x84000+0x37c000 GPA 0xffc84000 size 0x37c000 attr 0x1 (MR.EXTEND)"));
	assert_non_null(strstr(r.out, "SVSM_CAA           GPA 0x0080f000 length 0x1000 (1 page)"));
	t_run_free(&r);
	free(shared);
}

/* Invoked as sev-snp-measure, the program is that tool. */
static void test_compat_name(void **state)
{
	struct env *e = *state;
	char *copy = strdup(t_bin()), *compat = NULL;
	assert_true(asprintf(&compat, "%s/sev-snp-measure", dirname(copy)) > 0);
	struct run a = t_run((char *const[]){ compat, "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC",
					      "--ovmf", e->fw, NULL });
	struct run b = RUN("measure", "snp", "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC", "--ovmf", e->fw);
	t_assert_clean_exit(&a, 0);
	assert_string_equal(a.out, b.out);
	t_run_free(&a);
	t_run_free(&b);
	a = t_run((char *const[]){ compat, "--mode", "snp", "--ovmf", e->fw, NULL });
	t_assert_clean_exit(&a, 2);
	assert_string_equal(t_last_line(a.err), "sev-snp-measure: error: missing --vcpus N in guest mode 'snp'");
	t_run_free(&a);
	free(compat);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_json_single),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_output_forms),
		cmocka_unit_test(test_dump_vmsa),
		cmocka_unit_test(test_inspect),
		cmocka_unit_test(test_inspect_real),
		cmocka_unit_test(test_compat_name),
	};
	return cmocka_run_group_tests_name("cli", tests, setup, teardown);
}
