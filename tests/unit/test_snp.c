/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV / SEV-ES / SEV-SNP launch digests.
 *
 * Besides the known answers of ../shared, the engine is checked against a
 * second, deliberately plain implementation written here from the spec
 * (one PAGE_INFO at a time, nothing cached, nothing incremental), over
 * synthetic firmware and many parameter combinations: the engine's
 * prefix reuse and vCPU-chain extension must not change a single bit.
 */
#include "tests/unit/testlib.h"
#include "measure/measure.h"

/* ---- the plain reference model ---- */

struct ref {
	uint8_t ld[48];
};

static void ref_update(struct ref *r, int type, uint64_t gpa, const uint8_t *page)
{
	uint8_t pi[112] = { 0 };
	memcpy(pi, r->ld, 48);
	if (page)
		t_sha384(page, 4096, pi + 48);
	pi[0x60] = 0x70;
	pi[0x62] = (uint8_t)type;
	t_le64(pi + 0x68, gpa);
	t_sha384(pi, sizeof(pi), r->ld);
}

static void ref_seg(uint8_t *p, uint16_t sel, uint16_t attr, uint32_t lim, uint64_t base)
{
	t_le16(p, sel);
	t_le16(p + 2, attr);
	t_le32(p + 4, lim);
	t_le64(p + 8, base);
}

/* The VMSA of §2.6 of the SNP notes, written out field by field. */
static void ref_vmsa(uint8_t *v, int vmm, uint32_t eip, uint32_t sig, uint64_t features)
{
	memset(v, 0, 4096);
	int ec2 = vmm == CVMF_VMM_EC2, gce = vmm == CVMF_VMM_GCE;
	ref_seg(v + 0x00, 0, 0x93, 0xffff, 0);
	ref_seg(v + 0x10, 0xf000, ec2 && eip == 0xfffffff0 ? 0x9a : 0x9b, 0xffff, eip & 0xffff0000);
	ref_seg(v + 0x20, 0, ec2 ? 0x92 : 0x93, 0xffff, 0);
	for (int s = 0x30; s <= 0x50; s += 0x10)
		ref_seg(v + s, 0, 0x93, 0xffff, 0);
	ref_seg(v + 0x60, 0, 0, 0xffff, 0);
	ref_seg(v + 0x70, 0, 0x82, 0xffff, 0);
	ref_seg(v + 0x80, 0, 0, 0xffff, 0);
	ref_seg(v + 0x90, 0, ec2 ? 0x83 : 0x8b, 0xffff, 0);
	t_le64(v + 0xd0, 0x1000);
	t_le64(v + 0x148, 0x40);
	t_le64(v + 0x158, 0x10);
	t_le64(v + 0x160, 0x400);
	t_le64(v + 0x168, 0xffff0ff0);
	t_le64(v + 0x170, 2);
	t_le64(v + 0x178, eip & 0xffff);
	t_le64(v + 0x268, gce ? 0x00070106 : 0x0007040600070406ull);
	t_le64(v + 0x310, vmm == CVMF_VMM_QEMU ? sig : 0x600);
	t_le64(v + 0x3b0, features);
	t_le64(v + 0x3e8, 1);
	if (vmm == CVMF_VMM_QEMU) {
		t_le32(v + 0x408, 0x1f80);
		t_le16(v + 0x410, 0x37f);
	}
}

struct ref_input {
	const struct fw *f;
	const struct t_section *secs;
	size_t n_secs;
	uint32_t reset_eip, hashes_base;
	const uint8_t *table;   /* 176 bytes, or NULL without a kernel */
};

static void ref_snp(const struct ref_input *in, int vmm, unsigned vcpus, uint32_t sig,
		    uint64_t features, uint8_t out[48])
{
	struct ref r = { { 0 } };
	uint64_t gpa = 0x100000000ull - in->f->len;
	for (size_t off = 0; off < in->f->len; off += 4096)
		ref_update(&r, 1, gpa + off, in->f->buf + off);
	for (size_t i = 0; i < in->n_secs; i++) {
		const struct t_section *s = &in->secs[i];
		if (s->type == 1)
			for (uint32_t o = 0; o < s->len; o += 4096)
				ref_update(&r, vmm == CVMF_VMM_GCE ? 4 : 3, s->gpa + o, NULL);
		else if (s->type == 2)
			ref_update(&r, 5, s->gpa, NULL);
		else if (s->type == 3 && vmm != CVMF_VMM_EC2)
			ref_update(&r, 6, s->gpa, NULL);
		else if (s->type == 4)
			for (uint32_t o = 0; o < s->len; o += 4096)
				ref_update(&r, 3, s->gpa + o, NULL);
		else if (s->type == 0x10 && in->table) {
			uint8_t page[4096] = { 0 };
			memcpy(page + (in->hashes_base & 0xfff), in->table, 176);
			ref_update(&r, 1, s->gpa, page);
		} else if (s->type == 0x10)
			for (uint32_t o = 0; o < s->len; o += 4096)
				ref_update(&r, 3, s->gpa + o, NULL);
	}
	if (vmm == CVMF_VMM_EC2)
		for (size_t i = 0; i < in->n_secs; i++)
			if (in->secs[i].type == 3)
				ref_update(&r, 6, in->secs[i].gpa, NULL);
	uint8_t v[4096];
	for (unsigned i = 0; i < vcpus; i++) {
		ref_vmsa(v, vmm, i == 0 ? 0xfffffff0 : in->reset_eip, sig, features);
		ref_update(&r, 2, 0xfffffffff000ull, v);
	}
	memcpy(out, r.ld, 48);
}

/* ---- fixtures ---- */

static const struct t_section amdsev_secs[] = {
	{ 0x800000, 0x9000, 1 }, { 0x80a000, 0x3000, 1 }, { 0x80d000, 0x1000, 2 },
	{ 0x80e000, 0x1000, 3 }, { 0x80f000, 0x1000, 4 }, { 0x811000, 0x3000, 1 },
	{ 0x810000, 0x1000, 0x10 },
};

struct env {
	char *dir, *fw, *kernel, *initrd;
	struct fw f;
	uint8_t kernel_data[10000], initrd_data[3000];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->dir = t_tmpdir();
	e->f = fw_amdsev_like(64 * 1024);
	e->fw = t_write(e->dir, "fw.fd", e->f.buf, e->f.len);
	for (size_t i = 0; i < sizeof(e->kernel_data); i++)
		e->kernel_data[i] = (uint8_t)(i * 7 + 1);
	/* A setup header QEMU (and measure/bzimage.c) accepts: one setup
	 * sector, boot protocol 2.15, so that it may take an initrd. */
	e->kernel_data[0x1f1] = 1;
	memcpy(e->kernel_data + 0x202, "HdrS", 4);
	e->kernel_data[0x206] = 0x0f;
	e->kernel_data[0x207] = 0x02;
	for (size_t i = 0; i < sizeof(e->initrd_data); i++)
		e->initrd_data[i] = (uint8_t)(i * 13 + 5);
	e->kernel = t_write(e->dir, "vmlinuz", e->kernel_data, sizeof(e->kernel_data));
	e->initrd = t_write(e->dir, "initrd", e->initrd_data, sizeof(e->initrd_data));
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	t_rmrf(e->dir);
	free(e->dir);
	free(e->fw);
	free(e->kernel);
	free(e->initrd);
	free(e->f.buf);
	free(e);
	return 0;
}

static struct cvmf_sev_inputs *load(const struct cvmf_sev_spec *spec)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_sev_inputs *in = NULL;
	int r = cvmf_sev_load(ctx, spec, &in);
	if (r)
		fprintf(stderr, "load failed: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(r, 0);
	cvmf_ctx_free(ctx);
	return in;
}

static void measure(const struct cvmf_sev_inputs *in, const struct cvmf_sev_launch *l,
		    struct cvmf_digest *d)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	int r = cvmf_sev_measure(ctx, in, l, d);
	if (r)
		fprintf(stderr, "measure failed: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(r, 0);
	cvmf_ctx_free(ctx);
}

/* ---- tests ---- */

static void test_cpu_sig(void **state)
{
	(void)state;
	assert_int_equal(cvmf_cpu_sig(23, 1, 2), 0x00800f12);
	assert_int_equal(cvmf_cpu_sig(23, 49, 0), 0x00830f10);
	assert_int_equal(cvmf_cpu_sig(25, 1, 1), 0x00a00f11);
	assert_int_equal(cvmf_cpu_sig(25, 17, 0), 0x00a10f10);
	assert_int_equal(cvmf_cpu_sig(26, 0, 0), 0x00b00f00);
	assert_int_equal(cvmf_cpu_sig(6, 0x55, 3), 0x00050653);   /* no extended family */
	const struct cvmf_cpu_type *t;
	size_t n = cvmf_cpu_types(&t);
	assert_int_equal(n, 16);
	assert_string_equal(t[0].name, "EPYC");
	assert_string_equal(t[n - 1].name, "EPYC-Turin");
	assert_non_null(cvmf_cpu_type_find("EPYC-Rome-v3"));
	assert_null(cvmf_cpu_type_find("epyc"));
}

static void test_hashes_table_layout(void **state)
{
	(void)state;
	uint8_t c[32], i[32], k[32], t[176];
	memset(c, 0xcc, 32);
	memset(i, 0x11, 32);
	memset(k, 0x22, 32);
	msr_sev_hashes_table(c, i, k, t);
	static const uint8_t head[18] = { 0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c, 0xb4,
					  0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21, 0xa8, 0x00 };
	assert_memory_equal(t, head, 18);
	/* cmdline, initrd, kernel: each GUID, u16 50, digest */
	assert_int_equal(t[0x12], 0xd8);
	assert_int_equal(t[0x22], 50);
	assert_memory_equal(t + 0x24, c, 32);
	assert_int_equal(t[0x44], 0x31);
	assert_memory_equal(t + 0x56, i, 32);
	assert_int_equal(t[0x76], 0x37);
	assert_memory_equal(t + 0x88, k, 32);
	static const uint8_t zero[8] = { 0 };
	assert_memory_equal(t + 168, zero, 8);
}

static void test_vmsa_fields(void **state)
{
	(void)state;
	uint8_t mine[4096], ref[4096];
	const uint32_t eips[] = { 0xfffffff0, 0x80b004, 0x808004 };
	for (int vmm = 0; vmm < 3; vmm++)
		for (size_t e = 0; e < 3; e++) {
			msr_vmsa_build(mine, MSR_VMSA_RESET, (enum cvmf_vmm)vmm, eips[e], 0xa00f11, 0x21);
			ref_vmsa(ref, vmm, eips[e], 0xa00f11, 0x21);
			assert_memory_equal(mine, ref, 4096);
		}
	msr_vmsa_build(mine, MSR_VMSA_RESET, CVMF_VMM_QEMU, 0x80b004, 0x800f12, 0x8000000000000001ull);
	assert_int_equal(t_get64(mine + 0x3b0), 0x8000000000000001ull);
	assert_int_equal(t_get64(mine + 0x310), 0x800f12);
	assert_int_equal(t_get64(mine + 0x18), 0x800000);   /* cs.base */
	assert_int_equal(t_get64(mine + 0x178), 0xb004);    /* rip */
}

/* The engine against the plain model, across VMMs, vCPUs, signatures, features. */
static void test_snp_against_reference(void **state)
{
	struct env *e = *state;
	uint8_t kh[32], ih[32], ch[32], table[176];
	t_sha256(e->kernel_data, sizeof(e->kernel_data), kh);
	t_sha256(e->initrd_data, sizeof(e->initrd_data), ih);
	t_sha256("quiet \xc3\xa9\0", 9, ch);   /* UTF-8 bytes as given, then NUL */
	msr_sev_hashes_table(ch, ih, kh, table);

	for (int with_kernel = 0; with_kernel < 2; with_kernel++) {
		struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SNP, .ovmf_path = e->fw };
		if (with_kernel) {
			spec.kernel_path = e->kernel;
			spec.initrd_path = e->initrd;
			spec.append = "quiet \xc3\xa9";
		}
		struct cvmf_sev_inputs *in = load(&spec);
		struct ref_input ri = { &e->f, amdsev_secs, 7, 0x80b004, 0x810c00,
					with_kernel ? table : NULL };
		const unsigned counts[] = { 1, 2, 3, 7, 64 };
		const uint32_t sigs[] = { 0x800f12, 0xa10f10, 0 };
		const uint64_t feats[] = { 1, 0x21, 0x8000000000000001ull };
		for (int vmm = 0; vmm < 3; vmm++)
			for (size_t c = 0; c < 5; c++)
				for (size_t s = 0; s < 3; s++)
					for (size_t f = 0; f < 3; f++) {
						struct cvmf_sev_launch l = { (enum cvmf_vmm)vmm, counts[c],
									     sigs[s], feats[f] };
						struct cvmf_digest d;
						uint8_t want[48];
						measure(in, &l, &d);
						ref_snp(&ri, vmm, counts[c], sigs[s], feats[f], want);
						assert_int_equal(d.len, 48);
						assert_memory_equal(d.bytes, want, 48);
					}
		cvmf_sev_inputs_free(in);
	}
}

/* SEV-ES and SEV: SHA-256 over firmware, table and VMSAs. */
static void test_seves_against_reference(void **state)
{
	struct env *e = *state;
	struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SEV_ES, .ovmf_path = e->fw,
				      .kernel_path = e->kernel };
	struct cvmf_sev_inputs *in = load(&spec);
	uint8_t kh[32], ih[32], ch[32], table[176], v[4096];
	t_sha256(e->kernel_data, sizeof(e->kernel_data), kh);
	t_sha256("", 0, ih);
	t_sha256("", 1, ch);
	msr_sev_hashes_table(ch, ih, kh, table);
	for (int vmm = 0; vmm < 3; vmm++)
		for (unsigned n = 1; n <= 5; n += 2) {
			EVP_MD_CTX *m = EVP_MD_CTX_new();
			EVP_DigestInit_ex(m, EVP_sha256(), NULL);
			EVP_DigestUpdate(m, e->f.buf, e->f.len);
			EVP_DigestUpdate(m, table, 176);
			for (unsigned i = 0; i < n; i++) {
				ref_vmsa(v, vmm, i ? 0x80b004 : 0xfffffff0, 0xa00f11, 0);
				EVP_DigestUpdate(m, v, 4096);
			}
			uint8_t want[32];
			EVP_DigestFinal_ex(m, want, NULL);
			EVP_MD_CTX_free(m);
			struct cvmf_sev_launch l = { (enum cvmf_vmm)vmm, n, 0xa00f11, 0x21 };
			struct cvmf_digest d;
			measure(in, &l, &d);
			assert_int_equal(d.len, 32);
			assert_memory_equal(d.bytes, want, 32);
		}
	cvmf_sev_inputs_free(in);

	spec.mode = CVMF_MODE_SEV;
	in = load(&spec);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	EVP_DigestUpdate(m, e->f.buf, e->f.len);
	EVP_DigestUpdate(m, table, 176);
	uint8_t want[32];
	EVP_DigestFinal_ex(m, want, NULL);
	EVP_MD_CTX_free(m);
	struct cvmf_sev_launch l = { CVMF_VMM_QEMU, 1, 0, 0 };
	struct cvmf_digest d;
	measure(in, &l, &d);
	assert_memory_equal(d.bytes, want, 32);
	cvmf_sev_inputs_free(in);
}

struct collected {
	size_t n;
	struct cvmf_sev_launch l[256];
	size_t sig_index[256];
	struct cvmf_digest d[256];
};

static int collect(void *u, const struct cvmf_sev_launch *l, size_t s, const struct cvmf_digest *d)
{
	struct collected *c = u;
	assert_true(c->n < 256);
	c->l[c->n] = *l;
	c->sig_index[c->n] = s;
	c->d[c->n++] = *d;
	return 0;
}

/* Every matrix cell equals a single measurement, in the documented order. */
static void test_matrix_equals_singles(void **state)
{
	struct env *e = *state;
	const enum cvmf_sev_mode modes[] = { CVMF_MODE_SNP, CVMF_MODE_SEV_ES };
	for (size_t md = 0; md < 2; md++) {
		struct cvmf_sev_spec spec = { .mode = modes[md], .ovmf_path = e->fw,
					      .kernel_path = e->kernel, .append = "x" };
		struct cvmf_sev_inputs *in = load(&spec);
		const enum cvmf_vmm vmms[] = { CVMF_VMM_GCE, CVMF_VMM_QEMU, CVMF_VMM_EC2 };
		const uint32_t sigs[] = { 0xa00f11, 0x800f12, 0xa00f11 };
		const uint64_t feats[] = { 0x21, 0x1 };
		const unsigned vcpus[] = { 5, 1, 3, 3, 2 };
		struct cvmf_sev_matrix m = { vmms, 3, sigs, 3, feats, 2, vcpus, 5 };
		struct collected *c = calloc(1, sizeof(*c));
		cvmf_ctx *ctx = cvmf_ctx_new();
		assert_int_equal(cvmf_sev_measure_matrix(ctx, in, &m, collect, c), 0);
		assert_int_equal(c->n, 3 * 3 * 2 * 5);
		size_t k = 0;
		for (size_t v = 0; v < 3; v++)
			for (size_t f = 0; f < 2; f++)
				for (size_t s = 0; s < 3; s++)
					for (size_t i = 0; i < 5; i++, k++) {
						struct cvmf_sev_launch l = { vmms[v], vcpus[i], sigs[s], feats[f] };
						assert_int_equal(c->l[k].vmm, l.vmm);
						assert_int_equal(c->l[k].vcpus, l.vcpus);
						assert_int_equal(c->l[k].vcpu_sig, l.vcpu_sig);
						assert_int_equal(c->l[k].guest_features, l.guest_features);
						assert_int_equal(c->sig_index[k], s);
						struct cvmf_digest d;
						measure(in, &l, &d);
						assert_memory_equal(c->d[k].bytes, d.bytes, d.len);
					}
		cvmf_ctx_free(ctx);
		free(c);
		cvmf_sev_inputs_free(in);
	}
}

static void load_fails(const struct cvmf_sev_spec *spec, int want, const char *needle)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_sev_inputs *in = NULL;
	int r = cvmf_sev_load(ctx, spec, &in);
	if (r != want || !strstr(cvmf_ctx_errmsg(ctx), needle))
		fprintf(stderr, "r=%d '%s', wanted %d '%s'\n", r, cvmf_ctx_errmsg(ctx), want, needle);
	assert_int_equal(r, want);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), needle));
	assert_null(in);
	cvmf_ctx_free(ctx);
}

static void test_load_errors(void **state)
{
	struct env *e = *state;
	struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SNP, .ovmf_path = "/nonexistent/fw.fd" };
	load_fails(&spec, CVMF_E_IO, "cannot open firmware '/nonexistent/fw.fd'");
	spec.ovmf_path = e->dir;
	load_fails(&spec, CVMF_E_IO, "is a directory");

	/* Truncated: not whole pages; cut at a page: the footer is gone. */
	char *cut = t_write(e->dir, "cut.fd", e->f.buf, e->f.len - 100);
	spec.ovmf_path = cut;
	load_fails(&spec, CVMF_E_FORMAT, "not a whole number of 4 KiB pages");
	free(cut);
	cut = t_write(e->dir, "cut2.fd", e->f.buf, e->f.len - 4096);
	spec.ovmf_path = cut;
	load_fails(&spec, CVMF_E_FORMAT, "is not an OVMF image");
	free(cut);
	char *empty = t_write(e->dir, "empty.fd", "", 0);
	spec.ovmf_path = empty;
	load_fails(&spec, CVMF_E_FORMAT, "is empty");
	free(empty);

	/* Kernel given, but the firmware has no hashes page / table area. */
	const struct t_section secs[] = { { 0x800000, 0x1000, 1 } };
	char *p = fw_write(e->dir, "plain.fd", fw_sev(16384, 0x80b004, true, secs, 1));
	spec.ovmf_path = p;
	spec.kernel_path = e->kernel;
	load_fails(&spec, CVMF_E_UNSUPPORTED,
		   "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section");
	spec.mode = CVMF_MODE_SEV_ES;
	load_fails(&spec, CVMF_E_UNSUPPORTED,
		   "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement");
	spec.mode = CVMF_MODE_SNP;
	spec.kernel_path = "/nonexistent/vmlinuz";
	spec.ovmf_path = e->fw;
	load_fails(&spec, CVMF_E_IO, "cannot open kernel '/nonexistent/vmlinuz'");
	spec.kernel_path = NULL;
	spec.initrd_path = e->initrd;
	load_fails(&spec, CVMF_E_INVAL, "--kernel required when using --initrd");
	spec.initrd_path = NULL;
	spec.have_ovmf_hash = true;
	spec.mode = CVMF_MODE_SEV_ES;
	load_fails(&spec, CVMF_E_INVAL, "only works in snp mode");
	free(p);

	/* A metadata section that overlaps the firmware's own mapping. */
	const struct t_section hs[] = { { 0xffffc000, 0x1000, 1 } };
	p = fw_write(e->dir, "high.fd", fw_sev(16384, 0x80b004, false, hs, 1));
	struct cvmf_sev_spec s2 = { .mode = CVMF_MODE_SNP, .ovmf_path = p };
	load_fails(&s2, CVMF_E_FORMAT, "outside guest memory");
	free(p);

	/* No ASEV at all: not launchable as SNP, fine for SEV-ES. */
	p = fw_write(e->dir, "noasev.fd", fw_sev(16384, 0, false, NULL, 0));
	s2.ovmf_path = p;
	load_fails(&s2, CVMF_E_UNSUPPORTED, "has no SEV metadata");
	s2.mode = CVMF_MODE_SEV_ES;
	struct cvmf_sev_inputs *in = load(&s2);
	/* ... but its AP reset address is 0, so only one vCPU can start. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_sev_launch l = { CVMF_VMM_QEMU, 2, 0xa00f11, 1 };
	struct cvmf_digest d;
	assert_int_equal(cvmf_sev_measure(ctx, in, &l, &d), CVMF_E_UNSUPPORTED);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "AP reset address of 0"));
	l.vcpus = 1;
	assert_int_equal(cvmf_sev_measure(ctx, in, &l, &d), 0);
	l.vcpus = 0;
	assert_int_equal(cvmf_sev_measure(ctx, in, &l, &d), CVMF_E_INVAL);
	l.vcpus = CVMF_MAX_VCPUS + 1;
	assert_int_equal(cvmf_sev_measure(ctx, in, &l, &d), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "a guest has 1 to"));
	cvmf_ctx_free(ctx);
	cvmf_sev_inputs_free(in);
	free(p);
}

/* The worked example of the SNP notes, with the real Debian sid firmware. */
static void test_worked_example(void **state)
{
	(void)state;
	char *fw = t_shared_file("inputs/OVMF.amdsev.fd");
	char *k = t_shared_file("inputs/vmlinuz");
	char *i = t_shared_file("inputs/initrd.img");
	if (!fw || !k || !i) {
		free(fw);
		free(k);
		free(i);
		skip();
	}
	struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SNP, .ovmf_path = fw, .kernel_path = k,
				      .initrd_path = i, .append = "console=ttyS0 root=/dev/vda1 ro" };
	struct cvmf_sev_inputs *in = load(&spec);
	struct cvmf_sev_input_info info;
	cvmf_sev_input_info(in, &info);
	char hex[97];
	cvmf_hex(info.ovmf_hash, 48, hex);
	assert_string_equal(hex, "9d0dd8be18c86e3fe3bf0038ed75ebf5340bee69fd2632c8ff9409964575960a"
				 "e1f7e84be387d2e3467bc3508d1e4806");
	cvmf_hex(info.kernel_sha256, 32, hex);
	assert_string_equal(hex, "26f2e57c99338feaf71c46fa4babdc7e1a6c115943002d109fdb746667104f5f");
	struct cvmf_sev_launch l = { CVMF_VMM_QEMU, 4, cvmf_cpu_sig(25, 1, 1), 1 };
	struct cvmf_digest d;
	measure(in, &l, &d);
	cvmf_hex(d.bytes, 48, hex);
	assert_string_equal(hex, "10b8c14a1b6ebf62bd1fc0683ae0e2f24a459497d63890d5472ec6dd81cba405"
				 "6cae36dc33a8e673930ceaba2b6cffc2");
	cvmf_sev_inputs_free(in);
	free(fw);
	free(k);
	free(i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_sig),
		cmocka_unit_test(test_hashes_table_layout),
		cmocka_unit_test(test_vmsa_fields),
		cmocka_unit_test_setup_teardown(test_snp_against_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seves_against_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_matrix_equals_singles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
		cmocka_unit_test(test_worked_example),
	};
	return cmocka_run_group_tests_name("snp", tests, NULL, NULL);
}
