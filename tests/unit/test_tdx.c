/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TDX model, piece by piece: MRTD against a plain reference written
 * here, the TD HOB, QEMU's setup-header patch, the ACPI blob derivation, the
 * QEMU x OVMF kernel rule, the event sequences of both OVMF layouts, and the
 * real dstack CCEL.
 */
#include "tests/unit/testlib.h"

#include <openssl/evp.h>

#include "measure/measure.h"

#define GIB (1ull << 30)
#define MIB (1ull << 20)
#define T_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- MRTD ---- */

/* The record stream written out in full, then hashed once: the model of
 * tdx.md §3.2 without the incremental buffers of measure/tdx.c. */
static void mrtd_reference(const uint8_t *img, const struct t_tdvf *s, size_t n, bool two_pass,
			   uint8_t out[48])
{
	size_t cap = 1 << 20, len = 0;
	uint8_t *b = malloc(cap);
	assert_non_null(b);
#define GROW(k) do { while (len + (k) > cap) { cap *= 2; b = realloc(b, cap); assert_non_null(b); } } while (0)
	for (size_t i = 0; i < n; i++) {
		uint64_t pages = s[i].size / 4096;
		bool add = !(s[i].attr & 2), ext = s[i].attr & 1;
		for (int pass = 0; pass < (two_pass ? 2 : 1); pass++)
			for (uint64_t p = 0; p < pages; p++) {
				if (add && (!two_pass || pass == 0)) {
					GROW(128);
					memset(b + len, 0, 128);
					memcpy(b + len, "MEM.PAGE.ADD", 12);
					t_le64(b + len + 16, s[i].gpa + p * 4096);
					len += 128;
				}
				if (ext && (!two_pass || pass == 1))
					for (int c = 0; c < 16; c++) {
						GROW(384);
						memset(b + len, 0, 384);
						memcpy(b + len, "MR.EXTEND", 9);
						uint64_t off = p * 4096 + c * 256;
						t_le64(b + len + 16, s[i].gpa + off);
						for (int k = 0; k < 256; k++)
							if (off + k < s[i].raw)
								b[len + 128 + k] = img[s[i].off + off + k];
						len += 384;
					}
			}
	}
#undef GROW
	t_sha384(b, len, out);
	free(b);
}

static void test_mrtd_reference(void **state)
{
	(void)state;
	const size_t len = 64 * 1024;
	const uint64_t base = 0x100000000ull - len;
	/* A BFV whose raw data ends mid-page (zero tail), a CFV, the TD HOB,
	 * TempMem, and a PAGE.AUG section that td-shim would use. */
	const struct t_tdvf s[] = {
		{ 0x8000, 0x7100, base + 0x8000, 0x8000, 0, 1 },
		{ 0, 0x8000, base, 0x8000, 1, 0 },
		{ 0, 0, 0x809000, 0x2000, 2, 0 },
		{ 0, 0, 0x800000, 0x6000, 3, 0 },
		{ 0, 0, 0x900000, 0x3000, 4, 2 },
		{ 0x1000, 0x1000, 0xa00000, 0x2000, 5, 1 },
	};
	struct fw f = fw_tdvf(len, 0x7000, s, T_N(s), true);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_ovmf *o = NULL;
	assert_int_equal(cvmf_ovmf_parse(ctx, f.buf, f.len, &o), 0);
	assert_int_equal(o->tdx_err, 0);
	assert_int_equal(o->n_tdvf_sections, T_N(s));
	for (int two = 0; two < 2; two++) {
		uint8_t want[48], got[48];
		mrtd_reference(f.buf, s, T_N(s), two, want);
		assert_int_equal(msr_tdx_mrtd(ctx, f.buf, f.len, o,
					       two ? CVMF_TDX_TWO_PASS : CVMF_TDX_SINGLE_PASS, got), 0);
		assert_memory_equal(got, want, 48);
	}
	/* The two orders must differ whenever a section has both. */
	uint8_t a[48], b[48];
	msr_tdx_mrtd(ctx, f.buf, f.len, o, CVMF_TDX_SINGLE_PASS, a);
	msr_tdx_mrtd(ctx, f.buf, f.len, o, CVMF_TDX_TWO_PASS, b);
	assert_memory_not_equal(a, b, 48);
	cvmf_ovmf_free(o);
	cvmf_ctx_free(ctx);
	free(f.buf);
}

/* ---- TD HOB ---- */

/* Debian 13's OVMF section layout (tdx.md §3.4), on a 4 MiB image. */
static const struct t_tdvf deb13[] = {
	{ 0x84000, 0x37c000, 0xffc84000, 0x37c000, 0, 1 },
	{ 0, 0x84000, 0xffc00000, 0x84000, 1, 0 },
	{ 0, 0, 0x811000, 0xf000, 3, 0 },
	{ 0, 0, 0x80b000, 0x2000, 3, 0 },
	{ 0, 0, 0x809000, 0x2000, 2, 0 },
	{ 0, 0, 0x800000, 0x6000, 3, 0 },
};

static struct cvmf_ovmf *deb13_like(struct fw *f)
{
	*f = fw_tdvf(4 << 20, (4 << 20) - 0x2000, deb13, T_N(deb13), true);
	struct cvmf_ovmf *o = NULL;
	assert_int_equal(cvmf_ovmf_parse(NULL, f->buf, f->len, &o), 0);
	assert_int_equal(o->tdx_err, 0);
	return o;
}

static void test_td_hob(void **state)
{
	(void)state;
	struct fw f;
	struct cvmf_ovmf *o = deb13_like(&f);
	uint8_t *hob;
	size_t len;
	uint64_t gpa;
	/* The worked example of tdx.md §4.2: 2 GiB, 8 resource descriptors. */
	assert_int_equal(msr_tdx_td_hob(NULL, o, 2 * GIB, &hob, &len, &gpa), 0);
	assert_int_equal(gpa, 0x809000);
	assert_int_equal(len, 56 + 8 * 48);
	assert_int_equal(t_get64(hob + 48), 0x8091c0);
	static const uint64_t want[8][3] = {
		{ 7, 0, 0x800000 }, { 0, 0x800000, 0x6000 }, { 7, 0x806000, 0x3000 },
		{ 0, 0x809000, 0x2000 }, { 0, 0x80b000, 0x2000 }, { 7, 0x80d000, 0x4000 },
		{ 0, 0x811000, 0xf000 }, { 7, 0x820000, 0x7f7e0000 },
	};
	for (int i = 0; i < 8; i++) {
		const uint8_t *d = hob + 56 + 48 * i;
		assert_int_equal(d[0] | d[1] << 8, 3);
		assert_int_equal(d[24], want[i][0]);
		assert_int_equal(d[28], 7);
		assert_int_equal(t_get64(d + 32), want[i][1]);
		assert_int_equal(t_get64(d + 40), want[i][2]);
	}
	free(hob);
	/* >= 2816 MiB: low RAM stops at 2 GiB and a ninth range starts at 4 GiB. */
	assert_int_equal(msr_tdx_td_hob(NULL, o, 4 * GIB, &hob, &len, &gpa), 0);
	assert_int_equal(len, 56 + 9 * 48);
	assert_int_equal(t_get64(hob + 48), 0x8091f0);
	assert_int_equal(t_get64(hob + 56 + 8 * 48 + 32), 0x100000000ull);
	assert_int_equal(t_get64(hob + 56 + 8 * 48 + 40), 2 * GIB);
	free(hob);
	/* Just under the threshold: all of it below 4 GiB. */
	assert_int_equal(msr_tdx_td_hob(NULL, o, 2815 * MIB, &hob, &len, &gpa), 0);
	assert_int_equal(len, 56 + 8 * 48);
	assert_int_equal(t_get64(hob + 56 + 7 * 48 + 40), 2815 * MIB - 0x820000);
	free(hob);
	/* RAM too small to hold the TempMem sections. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(msr_tdx_td_hob(ctx, o, 8 * MIB, &hob, &len, &gpa), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "--memory"));
	cvmf_ctx_free(ctx);
	cvmf_ovmf_free(o);
	free(f.buf);
}

/* ---- QEMU's setup-header patch ---- */

static void bzimage_header(uint8_t *h, uint16_t proto, uint8_t loadflags, uint16_t xlf)
{
	memset(h, 0, 4096);
	h[0x1f1] = 27;
	memcpy(h + 0x202, "HdrS", 4);
	t_le16(h + 0x206, proto);
	h[0x211] = loadflags;
	t_le32(h + 0x22c, 0x7fffffff);
	t_le16(h + 0x236, xlf);
}

static void test_qemu_patch(void **state)
{
	(void)state;
	/* vtpm.md §7.2's worked example: a 1985024-byte initrd. */
	static const struct { uint64_t ram; bool q35; uint32_t addr; } cases[] = {
		{ 1024 * MIB, true, 0x3fdf3000 }, { 2048 * MIB, true, 0x7fdf3000 },
		{ 2816 * MIB, true, 0x7fdf3000 }, { 4096 * MIB, true, 0x7fdf3000 },
		{ 2815 * MIB, true, 0xafcf3000 }, { 1024 * MIB, false, 0x3fdf3000 },
		{ 4096 * MIB, false, 0xbfdf3000 },
	};
	for (size_t i = 0; i < T_N(cases); i++) {
		uint8_t h[4096];
		bzimage_header(h, 0x20f, 0x01, 0x7f);
		struct msr_qemu_linux q = { msr_qemu_below_4g(cases[i].ram, cases[i].q35), 0x28000,
					     "console=ttyS0", true, 1985024 };
		struct msr_qemu_patch p;
		assert_int_equal(msr_qemu_patch_setup(NULL, "k", h, sizeof(h), 1 << 20, &q, &p), 0);
		assert_int_equal(p.initrd_addr, cases[i].addr);
		assert_int_equal(t_get32(h + 0x218), cases[i].addr);
		assert_int_equal(t_get32(h + 0x21c), 1985024);
		assert_int_equal(h[0x210], 0xb0);
		assert_int_equal(h[0x211], 0x81);
		assert_int_equal(h[0x224] | h[0x225] << 8, 0xfe00);
		assert_int_equal(t_get32(h + 0x228), 0x20000);
	}
	/* Without XLF_CAN_BE_LOADED_ABOVE_4G, initrd_addr_max (0x7fffffff) rules. */
	uint8_t h[4096];
	bzimage_header(h, 0x20f, 0x01, 0x01);
	struct msr_qemu_linux q = { msr_qemu_below_4g(2815 * MIB, true), 0x28000, "", true, 4096 };
	struct msr_qemu_patch p;
	assert_int_equal(msr_qemu_patch_setup(NULL, "k", h, sizeof(h), 1 << 20, &q, &p), 0);
	assert_int_equal(p.initrd_max, 0x7fffffff);
	assert_int_equal(p.initrd_addr, 0x7fffe000);
	/* Loaded low (loadflags bit 0 clear): the command line sits under 0x9a000. */
	bzimage_header(h, 0x20f, 0x00, 0x7f);
	q = (struct msr_qemu_linux){ 1 * GIB, 0x28000, "0123456789abcdefg", false, 0 };
	assert_int_equal(msr_qemu_patch_setup(NULL, "k", h, sizeof(h), 1 << 20, &q, &p), 0);
	assert_int_equal(p.cmdline_addr, 0x9a000 - 32);
	assert_int_equal(p.real_addr, 0x90000);
	assert_int_equal(t_get32(h + 0x218), 0);   /* no initrd, no address */
	/* "vga=" sets the video mode, like QEMU. */
	bzimage_header(h, 0x20f, 0x01, 0x7f);
	q = (struct msr_qemu_linux){ 1 * GIB, 0x28000, "quiet vga=0x318", false, 0 };
	assert_int_equal(msr_qemu_patch_setup(NULL, "k", h, sizeof(h), 1 << 20, &q, &p), 0);
	assert_int_equal(h[0x1fa] | h[0x1fb] << 8, 0x318);
	/* No "HdrS" (protocol 0): QEMU's old-style command-line magic, and no initrd. */
	memset(h, 0, sizeof(h));
	q = (struct msr_qemu_linux){ 1 * GIB, 0x28000, "x", false, 0 };
	assert_int_equal(msr_qemu_patch_setup(NULL, "k", h, sizeof(h), 1 << 20, &q, &p), 0);
	assert_int_equal(h[0x20] | h[0x21] << 8, 0xa33f);
	q.has_initrd = true;
	cvmf_ctx *ctx = cvmf_ctx_new();
	assert_int_equal(msr_qemu_patch_setup(ctx, "k", h, sizeof(h), 1 << 20, &q, &p),
			 CVMF_E_UNSUPPORTED);
	/* An initrd larger than the window QEMU allows is refused, as QEMU does. */
	bzimage_header(h, 0x20f, 0x01, 0x7f);
	q = (struct msr_qemu_linux){ 1 * GIB, 0x28000, "", true, 2 * GIB };
	assert_int_equal(msr_qemu_patch_setup(ctx, "k", h, sizeof(h), 1 << 20, &q, &p), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "initrd"));
	/* A setup larger than the file. */
	bzimage_header(h, 0x20f, 0x01, 0x7f);
	assert_int_equal(msr_qemu_patch_setup(ctx, "k", h, sizeof(h), 4096, &q, &p), CVMF_E_FORMAT);
	cvmf_ctx_free(ctx);
}

/* ---- ACPI ---- */

static size_t put_table(uint8_t *b, size_t at, const char *sig, uint32_t len)
{
	memcpy(b + at, sig, 4);
	t_le32(b + at + 4, len);
	return at + len;
}

static void test_acpi_synthetic(void **state)
{
	(void)state;
	uint8_t t[8192] = { 0 };
	size_t at = put_table(t, 0, "FACS", 64);
	at = put_table(t, at, "DSDT", 100);
	size_t facp = at;
	at = put_table(t, at, "FACP", 116);   /* revision 1: no X_DSDT */
	at = put_table(t, at, "APIC", 120);
	size_t rsdt = at;
	at = put_table(t, at, "RSDT", 36 + 2 * 4);
	uint8_t rsdp[20], *ld;
	size_t ll;
	assert_int_equal(msr_acpi_derive_rsdp(NULL, "t", t, sizeof(t), rsdp), 0);
	assert_memory_equal(rsdp, "RSD PTR \0BOCHS \0", 16);
	assert_int_equal(t_get32(rsdp + 16), rsdt);
	assert_int_equal(msr_acpi_derive_loader(NULL, "t", t, sizeof(t), &ld, &ll), 0);
	assert_int_equal(ll, 4096);
	/* 2 allocations, DSDT checksum, FACP 2 pointers + checksum, APIC
	 * checksum, RSDT 2 pointers + checksum, RSDP pointer + checksum. */
	static const uint32_t cmds[] = { 1, 1, 3, 2, 2, 3, 3, 2, 2, 3, 2, 3, 0 };
	for (size_t i = 0; i < T_N(cmds); i++)
		assert_int_equal(ld[128 * i], cmds[i]);
	assert_string_equal((char *)ld + 4, "etc/acpi/rsdp");
	assert_int_equal(ld[128 + 60], 64);   /* tables: align 64 */
	assert_int_equal(ld[128 + 64], 1);    /* zone HIGH */
	assert_int_equal(t_get32(ld + 3 * 128 + 116), facp + 36);
	free(ld);
	/* An XSDT (or a TPM2 table) cannot be derived. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	put_table(t, at, "TPM2", 76);
	assert_int_equal(msr_acpi_derive_loader(ctx, "t", t, sizeof(t), &ld, &ll), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "--acpi-loader"));
	/* A FACP too short for its pointers (the message reads the table after
	 * the list is gone: fuzz_acpi found that use-after-free). */
	uint8_t shortf[72] = { 0 };
	put_table(shortf, put_table(shortf, 0, "FACP", 36), "RSDT", 36);
	assert_int_equal(msr_acpi_derive_loader(ctx, "t", shortf, sizeof(shortf), &ld, &ll),
			 CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "FACP at offset 0x0 is 36 bytes"));
	/* A table running past the blob. */
	put_table(t, at, "SSDT", 9000);
	assert_int_equal(msr_acpi_derive_rsdp(ctx, "t", t, sizeof(t), rsdp), CVMF_E_FORMAT);
	memset(t, 0, sizeof(t));
	assert_int_equal(msr_acpi_derive_rsdp(ctx, "t", t, sizeof(t), rsdp), CVMF_E_FORMAT);
	cvmf_ctx_free(ctx);
}

static void test_acpi_fixture(void **state)
{
	(void)state;
	char *path = t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin");
	if (!path)
		skip();
	size_t len;
	uint8_t *t = (uint8_t *)t_slurp(path, &len);
	uint8_t rsdp[20], *ld, h[48];
	size_t ll;
	char hex[97];
	/* The sha384 values tdx.jsonl lists for the derived blobs. */
	assert_int_equal(msr_acpi_derive_rsdp(NULL, "t", t, len, rsdp), 0);
	t_sha384(rsdp, 20, h);
	cvmf_hex(h, 48, hex);
	assert_string_equal(hex, "c0c8965fbfded8e2487e91dbfc89690f60cbf2076eee487aaf408228afaa6193b852f104ada6ad7dd8b7869245e33acb");
	assert_int_equal(msr_acpi_derive_loader(NULL, "t", t, len, &ld, &ll), 0);
	t_sha384(ld, ll, h);
	cvmf_hex(h, 48, hex);
	assert_string_equal(hex, "01c52d6efb004b1f166ac0fd3b41dcb80de16911e08a57961afd4edf27f2ae32ab6e7f009bd75417d3596d67da33b566");
	free(ld);
	free(t);
	free(path);
}

/* ---- parameters ---- */

static void test_kernel_rule(void **state)
{
	(void)state;
	static const struct {
		unsigned qemu, ovmf;
		int layout;   /* -1 none */
		bool cc, want;
	} cases[] = {
		{ 702, 202211, -1, false, true }, { 702, 202502, -1, false, true },
		{ 1000, 202211, -1, false, true }, { 1000, 202502, -1, false, false },
		{ 1001, 202411, -1, true, true }, { 1001, 202502, -1, true, false },
		{ 1002, 202211, -1, true, false }, { 1002, 202211, -1, false, true },
		{ 902, 0, -1, true, true }, { 1000, 0, CVMF_TDX_LAYOUT_PRE_2024_11, true, true },
		{ 1100, 0, CVMF_TDX_LAYOUT_2024_11, true, false },
	};
	for (size_t i = 0; i < T_N(cases); i++) {
		bool got = !cases[i].want;
		enum cvmf_tdx_layout l = (enum cvmf_tdx_layout)cases[i].layout;
		assert_int_equal(cvmf_qemu_kernel_patched(NULL, cases[i].qemu, cases[i].ovmf,
							  cases[i].layout < 0 ? NULL : &l,
							  cases[i].cc, &got), 0);
		assert_int_equal(got, cases[i].want);
	}
	/* QEMU 10.0 with an OVMF of the 2024.11 layout: 202411 or 202502? */
	cvmf_ctx *ctx = cvmf_ctx_new();
	enum cvmf_tdx_layout l = CVMF_TDX_LAYOUT_2024_11;
	bool got;
	assert_int_equal(cvmf_qemu_kernel_patched(ctx, 1000, 0, &l, true, &got), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "--ovmf-release"));
	unsigned rel;
	assert_int_equal(cvmf_edk2_release_parse("2025.02", &rel), 0);
	assert_int_equal(rel, 202502);
	assert_int_equal(cvmf_edk2_release_parse("edk2-stable202408.01", &rel), 0);
	assert_int_equal(rel, 202408);
	assert_int_equal(cvmf_edk2_release_parse("202411", &rel), 0);
	assert_int_equal(rel, 202411);
	assert_int_not_equal(cvmf_edk2_release_parse("2025.13", &rel), 0);
	assert_int_not_equal(cvmf_edk2_release_parse("25.02", &rel), 0);
	assert_int_not_equal(cvmf_edk2_release_parse("2025.02x", &rel), 0);
	assert_int_equal(cvmf_tdx_layout_for_release(ctx, 202408, &l), 0);
	assert_int_equal(l, CVMF_TDX_LAYOUT_PRE_2024_11);
	assert_int_equal(cvmf_tdx_layout_for_release(ctx, 202502, &l), 0);
	assert_int_equal(l, CVMF_TDX_LAYOUT_2024_11);
	assert_int_equal(cvmf_tdx_layout_for_release(ctx, 202505, &l), CVMF_E_UNSUPPORTED);
	assert_int_equal(cvmf_tdx_layout_parse(ctx, "edk2-2025.05", &l), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "not modelled"));
	assert_int_equal(cvmf_tdx_layout_parse(ctx, "edk2-2024.11..2025.02", &l), 0);
	assert_int_equal(cvmf_tdx_layout_parse(ctx, "bogus", &l), CVMF_E_INVAL);
	cvmf_ctx_free(ctx);
}

/* ---- the whole measurement on real inputs ---- */

struct real {
	char *fw, *kernel, *initrd, *tables1g, *tables2g, *ccel;
};

static bool real_inputs(struct real *r)
{
	r->fw = t_shared_file("inputs/OVMF.trixie.fd");
	r->kernel = r->fw ? t_shared_file("inputs/vmlinuz-6.1.0-50") : NULL;
	r->initrd = r->kernel ? t_shared_file("inputs/initrd-tiny.cpio") : NULL;
	r->tables1g = r->initrd ? t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-1024M-1disk.bin") : NULL;
	r->tables2g = r->tables1g ? t_shared_file("fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin") : NULL;
	r->ccel = r->tables2g ? t_shared_file("fixtures/tdx-upstream/dstack-ccel-sample.bin") : NULL;
	return r->ccel != NULL;
}

static void real_free(struct real *r)
{
	free(r->fw);
	free(r->kernel);
	free(r->initrd);
	free(r->tables1g);
	free(r->tables2g);
	free(r->ccel);
}

static struct cvmf_tdx_result *measure(const struct cvmf_tdx_spec *s)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_tdx_result *r = NULL;
	int rc = cvmf_tdx_measure(ctx, s, &r);
	if (rc)
		fprintf(stderr, "measure: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(rc, 0);
	cvmf_ctx_free(ctx);
	return r;
}

/* The real CCEL of a dstack TD with 1 GiB: every event whose inputs are
 * public is reproduced byte for byte (index, type, digest and data); the
 * ACPI and kernel events belong to dstack's own topology and kernel. */
static void test_dstack_ccel(void **state)
{
	(void)state;
	struct real in;
	if (!real_inputs(&in)) {
		real_free(&in);
		skip();
	}
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_eventlog *real = NULL;
	assert_int_equal(cvmf_eventlog_read(ctx, in.ccel, CVMF_EVLOG_AUTO, &real), 0);
	assert_int_equal(real->kind, CVMF_EVLOG_CCEL);
	assert_int_equal(real->n_events, 18);
	struct cvmf_tdx_spec s = {
		.ovmf_path = in.fw, .kernel_path = in.kernel, .memory = 1 * GIB,
		.acpi_tables_path = in.tables1g, .layout = CVMF_TDX_LAYOUT_2024_11,
		.kernel_header_patch = true, .stub_cc = true,
	};
	struct cvmf_tdx_result *r = measure(&s);
	assert_int_equal(r->log->n_events, 18);
	const char *reproduced[] = { "TD HOB", "CFV (varstore)", "SecureBoot", "PK", "KEK", "db",
				     "dbx", "BootOrder", "Boot0000" };
	size_t matched = 0;
	for (size_t i = 0; i < 18; i++) {
		const struct cvmf_event *p = &r->log->events[i], *a = &real->events[i];
		assert_int_equal(p->index, a->index);
		assert_int_equal(p->type, a->type);
		bool public_input = p->type == CVMF_EV_SEPARATOR || p->type == CVMF_EV_EFI_ACTION;
		for (size_t k = 0; k < T_N(reproduced); k++)
			public_input |= !strcmp(p->what, reproduced[k]);
		if (!public_input)
			continue;
		assert_int_equal(p->digests[0].alg, a->digests[0].alg);
		assert_memory_equal(p->digests[0].bytes, a->digests[0].bytes, 48);
		assert_int_equal(p->data_len, a->data_len);
		assert_memory_equal(p->data, a->data, a->data_len);
		matched++;
	}
	assert_int_equal(matched, 14);
	/* The CCEL we write starts with the same 65-byte Spec ID record. */
	uint8_t *buf;
	size_t len, rlen;
	uint8_t *raw = (uint8_t *)t_slurp(in.ccel, &rlen);
	assert_int_equal(cvmf_eventlog_write(ctx, r->log, &buf, &len), 0);
	assert_memory_equal(buf, raw, 65);
	free(buf);
	free(raw);
	cvmf_tdx_result_free(r);
	cvmf_eventlog_free(real);
	cvmf_ctx_free(ctx);
	real_free(&in);
}

static const struct cvmf_event *find_event(const struct cvmf_eventlog *l, const char *what,
					   size_t *pos)
{
	for (size_t i = 0; i < l->n_events; i++)
		if (l->events[i].what && !strcmp(l->events[i].what, what)) {
			if (pos)
				*pos = i;
			return &l->events[i];
		}
	return NULL;
}

static void test_layouts_and_options(void **state)
{
	(void)state;
	struct real in;
	if (!real_inputs(&in)) {
		real_free(&in);
		skip();
	}
	struct cvmf_tdx_spec s = {
		.ovmf_path = in.fw, .kernel_path = in.kernel, .initrd_path = in.initrd,
		.append = "console=ttyS0 x=gr\xc3\xbc\xc3\x9f", .memory = 2 * GIB,
		.acpi_tables_path = in.tables2g, .layout = CVMF_TDX_LAYOUT_2024_11,
		.kernel_header_patch = true, .stub_cc = true,
	};
	struct cvmf_tdx_result *a = measure(&s);
	assert_int_equal(a->log->n_events, 20);
	/* LoadOptions: every byte widened to 16 bits, " initrd=initrd", NUL. */
	const char *lo = "console=ttyS0 x=gr\xc3\xbc\xc3\x9f initrd=initrd";
	uint8_t w[128] = { 0 }, h[48];
	size_t n = strlen(lo);
	for (size_t i = 0; i < n; i++)
		w[2 * i] = (uint8_t)lo[i];
	t_sha384(w, 2 * n + 2, h);
	assert_memory_equal(find_event(a->log, "LoadOptions", NULL)->digests[0].bytes, h, 48);

	/* The older layout: the ReadyToBoot separator moves to RTMR0, after the
	 * boot variables; RTMR1 keeps kernel, Calling, and the two ExitBS. */
	s.layout = CVMF_TDX_LAYOUT_PRE_2024_11;
	struct cvmf_tdx_result *b = measure(&s);
	assert_int_equal(b->log->n_events, 20);
	assert_memory_equal(a->rtmr[2], b->rtmr[2], 48);
	assert_memory_not_equal(a->rtmr[0], b->rtmr[0], 48);
	assert_memory_not_equal(a->rtmr[1], b->rtmr[1], 48);
	size_t calling = 0;
	assert_non_null(find_event(b->log, "Calling EFI Application from Boot Option", &calling));
	assert_int_equal(b->log->events[calling + 1].type, CVMF_EV_SEPARATOR);
	assert_int_equal(b->log->events[calling + 1].index, 1);
	cvmf_tdx_result_free(b);

	/* No stub logging: RTMR2 stays zero. No patch: the kernel digest is the
	 * plain file's Authenticode and no longer depends on RAM. */
	s.layout = CVMF_TDX_LAYOUT_2024_11;
	s.stub_cc = false;
	s.kernel_header_patch = false;
	b = measure(&s);
	static const uint8_t zero[48];
	assert_memory_equal(b->rtmr[2], zero, 48);
	assert_int_equal(b->log->n_events, 18);
	s.memory = 1 * GIB;
	struct cvmf_tdx_result *c = measure(&s);
	assert_memory_equal(b->rtmr[1], c->rtmr[1], 48);
	assert_memory_not_equal(b->rtmr[0], c->rtmr[0], 48);   /* the TD HOB still does */
	cvmf_tdx_result_free(c);
	/* With the patch, 1 GiB moves the initrd address, hence RTMR1. */
	s.kernel_header_patch = true;
	c = measure(&s);
	assert_memory_not_equal(a->rtmr[1], c->rtmr[1], 48);
	assert_int_equal(c->initrd_addr, 0x3ffd7000);
	assert_int_equal(a->initrd_addr, 0x7ffd7000);
	cvmf_tdx_result_free(c);
	/* 2 GiB and 4 GiB share the initrd address; only RTMR0 differs. */
	s.memory = 4 * GIB;
	c = measure(&s);
	assert_memory_equal(a->rtmr[1], c->rtmr[1], 48);
	cvmf_tdx_result_free(c);
	/* Without ACPI tables RTMR0 is not computed; RTMR1 and 2 are. */
	s.memory = 2 * GIB;
	s.acpi_tables_path = NULL;
	s.stub_cc = true;
	c = measure(&s);
	assert_false(c->have_rtmr[0]);
	assert_true(c->have_rtmr[1]);
	assert_memory_equal(a->rtmr[1], c->rtmr[1], 48);
	assert_memory_equal(a->rtmr[2], c->rtmr[2], 48);
	cvmf_tdx_result_free(c);
	cvmf_tdx_result_free(b);
	cvmf_tdx_result_free(a);
	real_free(&in);
}

static void test_refusals(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_tdx_result *r = NULL;
	char *code = t_shared_file("inputs/OVMF_CODE.fd");
	if (code) {
		struct cvmf_tdx_spec s = { .ovmf_path = code };
		assert_int_equal(cvmf_tdx_measure(ctx, &s, &r), CVMF_E_FORMAT);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "outside"));
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "-bios"));
		free(code);
	}
	char *code4m = t_shared_file("inputs/OVMF_CODE_4M.fd");
	if (code4m) {
		struct cvmf_tdx_spec s = { .ovmf_path = code4m };
		assert_int_equal(cvmf_tdx_measure(ctx, &s, &r), CVMF_E_UNSUPPORTED);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "no TDX metadata"));
		free(code4m);
	}
	/* Section types QEMU does not load are refused for RTMRs, not MRTD. */
	char *dir = t_tmpdir();
	const struct t_tdvf s6[] = {
		{ 0, 0x8000, 0xffff0000, 0x8000, 1, 0 }, { 0, 0, 0x809000, 0x2000, 2, 0 },
		{ 0, 0, 0x900000, 0x2000, 4, 2 },
	};
	char *fw = fw_write(dir, "fw.fd", fw_tdvf(64 * 1024, 0xf000, s6, 3, true));
	char *kernel = t_write(dir, "k", "MZ", 2);
	struct cvmf_tdx_spec s = { .ovmf_path = fw };
	assert_int_equal(cvmf_tdx_measure(ctx, &s, &r), 0);
	cvmf_tdx_result_free(r);
	s.kernel_path = kernel;
	s.memory = 2 * GIB;
	assert_int_equal(cvmf_tdx_measure(ctx, &s, &r), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "PermMem"));
	s.memory = 4095;
	assert_int_equal(cvmf_tdx_measure(ctx, &s, &r), CVMF_E_INVAL);
	free(fw);
	free(kernel);
	t_rmrf(dir);
	free(dir);
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mrtd_reference),
		cmocka_unit_test(test_td_hob),
		cmocka_unit_test(test_qemu_patch),
		cmocka_unit_test(test_acpi_synthetic),
		cmocka_unit_test(test_acpi_fixture),
		cmocka_unit_test(test_kernel_rule),
		cmocka_unit_test(test_dstack_ccel),
		cmocka_unit_test(test_layouts_and_options),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
