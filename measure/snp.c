/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV, SEV-ES and SEV-SNP launch digests.
 *
 * SNP: a SHA-384 chain over 112-byte PAGE_INFO records, applied in this
 * order -- THE ORDER IS THE MEASUREMENT, DO NOT REORDER:
 *   1. every 4 KiB page of the firmware (NORMAL), or the --snp-ovmf-hash seed;
 *      in snp:svsm mode the OVMF pages, then the SVSM pages;
 *   2. the SEV metadata sections in table order (not address order), with the
 *      per-VMM page types; for ec2 the CPUID pages are deferred to the end;
 *   3. one VMSA page per vCPU, BSP first.
 * SEV-ES: SHA-256(firmware || [hashes table] || VMSA_0 .. VMSA_n-1).
 * SEV:    SHA-256(firmware || [hashes table]).
 *
 * Step 1 does not depend on the launch, so cvmf_sev_load does it once; step
 * 2 depends only on the VMM and step 3 is extended vCPU by vCPU, which is
 * what makes a measurement matrix cost little more than one digest.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/file.h"
#include "measure/measure.h"

#define SNP_DIGEST 48
#define PAGE_INFO_LEN 0x70
#define VMSA_GPA 0x0000fffffffff000ull   /* KVM's INITIAL_VMSA_GPA */
#define BSP_EIP 0xfffffff0u
#define FOUR_GIB 0x100000000ull

enum page_type {
	PAGE_NORMAL = 1,
	PAGE_VMSA = 2,
	PAGE_ZERO = 3,
	PAGE_UNMEASURED = 4,
	PAGE_SECRETS = 5,
	PAGE_CPUID = 6,
};

struct cvmf_sev_inputs {
	enum cvmf_sev_mode mode;
	char *ovmf_path;               /* for messages */
	uint8_t *fw;
	size_t fw_len;
	struct cvmf_ovmf *ovmf;
	uint8_t *svsm;                 /* snp:svsm */
	size_t svsm_len;
	struct cvmf_ovmf *svsm_ovmf;
	uint64_t svsm_gpa;
	uint64_t vars_size;

	bool have_kernel;
	uint8_t kernel_sha256[32], initrd_sha256[32], cmdline_sha256[32];
	uint64_t kernel_size, initrd_size;
	bool have_table;
	uint8_t table[MSR_SEV_HASHES_PADDED_LEN];

	bool have_fw_sha256;
	uint8_t ovmf_sha256[32], svsm_sha256[32];

	bool seeded;                   /* --snp-ovmf-hash */
	uint8_t fw_prefix[SNP_DIGEST]; /* SNP chain after step 1 */
	struct cmn_hasher *sev_prefix;/* SEV/SEV-ES: SHA-256 after fw || table */
};

/* ---- the SNP PAGE_INFO chain ---- */

struct chain {
	struct cmn_hasher *h;
	uint8_t digest[SNP_DIGEST];
};

static int chain_update(struct chain *c, enum page_type type, uint64_t gpa,
			const uint8_t *contents_digest)
{
	uint8_t pi[PAGE_INFO_LEN] = { 0 };
	_Static_assert(sizeof(pi) == 112, "PAGE_INFO is 112 bytes");
	memcpy(pi, c->digest, SNP_DIGEST);
	if (contents_digest)
		memcpy(pi + 0x30, contents_digest, SNP_DIGEST);
	cmn_put_le16(pi + 0x60, PAGE_INFO_LEN);
	pi[0x62] = (uint8_t)type;
	/* 0x63 IMI_PAGE, 0x64..0x66 VMPL3..1 permissions, 0x67: all zero */
	cmn_put_le64(pi + 0x68, gpa);
	return cmn_hasher_oneshot(c->h, pi, sizeof(pi), c->digest);
}

static int chain_normal_pages(struct chain *c, struct cmn_hasher *page_h, uint64_t gpa,
			      const uint8_t *data, size_t len)
{
	uint8_t d[SNP_DIGEST];
	for (size_t off = 0; off < len; off += CMN_PAGE_SIZE) {
		int r = cmn_hasher_oneshot(page_h, data + off, CMN_PAGE_SIZE, d);
		if (!r)
			r = chain_update(c, PAGE_NORMAL, gpa + off, d);
		if (r)
			return r;
	}
	return 0;
}

static int chain_empty_pages(struct chain *c, enum page_type type, uint64_t gpa, uint32_t len)
{
	for (uint64_t off = 0; off < len; off += CMN_PAGE_SIZE) {
		int r = chain_update(c, type, gpa + off, NULL);
		if (r)
			return r;
	}
	return 0;
}

/* The image whose metadata drives step 2: the SVSM in snp:svsm, else OVMF. */
static const struct cvmf_ovmf *metadata_image(const struct cvmf_sev_inputs *in)
{
	return in->mode == CVMF_MODE_SNP_SVSM ? in->svsm_ovmf : in->ovmf;
}

/* Step 2: the metadata sections, in table order, with the VMM's page types. */
static int snp_metadata(const struct cvmf_sev_inputs *in, enum cvmf_vmm vmm, struct chain *c,
			struct cmn_hasher *page_h)
{
	const struct cvmf_ovmf *o = metadata_image(in);
	int r = 0;
	for (size_t i = 0; i < o->n_sections && !r; i++) {
		const struct cvmf_snp_section *s = &o->sections[i];
		switch (s->type) {
		case CVMF_SNP_SEC_MEM:
			r = chain_empty_pages(c, vmm == CVMF_VMM_GCE ? PAGE_UNMEASURED : PAGE_ZERO,
					      s->gpa, s->len);
			break;
		case CVMF_SNP_SECRETS:
			r = chain_update(c, PAGE_SECRETS, s->gpa, NULL);
			break;
		case CVMF_SNP_CPUID:
			if (vmm != CVMF_VMM_EC2)
				r = chain_update(c, PAGE_CPUID, s->gpa, NULL);
			break;
		case CVMF_SNP_SVSM_CAA:
			r = chain_empty_pages(c, PAGE_ZERO, s->gpa, s->len);
			break;
		case CVMF_SNP_KERNEL_HASHES:
			if (in->have_kernel && in->mode == CVMF_MODE_SNP) {
				uint8_t page[CMN_PAGE_SIZE] = { 0 };
				memcpy(page + (in->ovmf->hashes_base & 0xfff), in->table,
				       MSR_SEV_HASHES_PADDED_LEN);
				r = chain_normal_pages(c, page_h, s->gpa, page, sizeof(page));
			} else {
				r = chain_empty_pages(c, PAGE_ZERO, s->gpa, s->len);
			}
			break;
		}
	}
	/* EC2 adds the CPUID pages after every other section. */
	if (vmm == CVMF_VMM_EC2)
		for (size_t i = 0; i < o->n_sections && !r; i++)
			if (o->sections[i].type == CVMF_SNP_CPUID)
				r = chain_update(c, PAGE_CPUID, o->sections[i].gpa, NULL);
	return r;
}

/* ---- loading ---- */

struct hash_job {
	const struct cvmf_sev_spec *spec;
	struct cvmf_sev_inputs *in;
	cvmf_ctx err;
	int r;
};

/* The SEV and SEV-ES digests start as SHA-256 of the firmware: the report's
 * firmware digest is read off that prefix instead of hashing it again. */
static bool fw_sha256_from_prefix(enum cvmf_sev_mode m)
{
	return m == CVMF_MODE_SEV || m == CVMF_MODE_SEV_ES;
}

/* Runs beside the firmware chain: the kernel-side SHA-256s and, for reports
 * in the SNP modes, the firmware's own SHA-256. */
static void *hash_job_run(void *arg)
{
	struct hash_job *j = arg;
	struct cvmf_sev_inputs *in = j->in;
	int r = 0;
	if (in->have_kernel) {
		struct cmn_hasher *h = NULL;
		uint8_t *out = in->kernel_sha256;
		r = cmn_hasher_new(&j->err, CMN_SHA256, &h);
		if (!r)
			r = cmn_hash_input(&j->err, "kernel", j->spec->kernel_path, CMN_MAX_KERNEL, 0,
					   &h, 1, &out, &in->kernel_size);
		out = in->initrd_sha256;
		if (!r && j->spec->initrd_path)
			r = cmn_hash_input(&j->err, "initrd", j->spec->initrd_path, CMN_MAX_INITRD, 0,
					   &h, 1, &out, &in->initrd_size);
		cmn_hasher_free(h);
	}
	if (!r && j->spec->want_file_digests && !fw_sha256_from_prefix(in->mode)) {
		struct cmn_hasher *h = NULL;
		r = cmn_hasher_new(&j->err, CMN_SHA256, &h);
		if (!r)
			r = cmn_hasher_oneshot(h, in->fw, in->fw_len, in->ovmf_sha256);
		if (!r && in->svsm)
			r = cmn_hasher_oneshot(h, in->svsm, in->svsm_len, in->svsm_sha256);
		cmn_hasher_free(h);
		if (!r)
			in->have_fw_sha256 = true;
		else if (!j->err.msg[0])
			cmn_error(&j->err, r, "SHA-256 of the firmware failed");
	}
	j->r = r;
	return NULL;
}

void cvmf_sev_inputs_free(struct cvmf_sev_inputs *in)
{
	if (!in)
		return;
	free(in->ovmf_path);
	free(in->fw);
	free(in->svsm);
	cvmf_ovmf_free(in->ovmf);
	cvmf_ovmf_free(in->svsm_ovmf);
	cmn_hasher_free(in->sev_prefix);
	free(in);
}

static int load_image(cvmf_ctx *ctx, const char *what, const char *path, uint8_t **buf,
		      size_t *len, struct cvmf_ovmf **ovmf)
{
	int r = msr_ovmf_read_image(ctx, what, path, true, buf, len, ovmf);
	if (r)
		return r;
	if (!(*ovmf)->has_table)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s '%s' is not an OVMF image: no footer GUID table "
				  "(96b582de-1fb2-45f7-baea-a366c55a082d) at offset 0x%zx",
				  what, path, *len >= 48 ? *len - 48 : 0);
	return 0;
}

/* Sections must lie in guest RAM: below the image mapped up to 4 GiB. */
static int check_sections(cvmf_ctx *ctx, const char *what, const char *path,
			  const struct cvmf_ovmf *o, uint64_t mapped_at)
{
	for (size_t i = 0; i < o->n_sections; i++) {
		const struct cvmf_snp_section *s = &o->sections[i];
		if ((uint64_t)s->gpa + s->len > mapped_at)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s '%s': SEV metadata section %zu (%s, GPA 0x%x, length 0x%x) "
					  "overlaps the image mapped at 0x%llx, outside guest memory",
					  what, path, i, cvmf_snp_section_name(s->type), s->gpa, s->len,
					  (unsigned long long)mapped_at);
	}
	return 0;
}

static int check_spec(cvmf_ctx *ctx, const struct cvmf_sev_spec *spec)
{
	if (!spec->ovmf_path)
		return cmn_error(ctx, CVMF_E_INVAL, "no firmware (--ovmf) given");
	if (!spec->kernel_path && spec->initrd_path)
		return cmn_error(ctx, CVMF_E_INVAL, "--kernel required when using --initrd");
	if (!spec->kernel_path && spec->append && spec->append[0])
		return cmn_error(ctx, CVMF_E_INVAL, "--kernel required when using --append");
	if (spec->have_ovmf_hash && spec->mode != CVMF_MODE_SNP)
		return cmn_error(ctx, CVMF_E_INVAL, "--snp-ovmf-hash only works in snp mode");
	if (spec->mode == CVMF_MODE_SNP_SVSM) {
		if (!spec->svsm_path)
			return cmn_error(ctx, CVMF_E_INVAL, "snp:svsm mode requires --svsm");
		if (spec->kernel_path)
			return cmn_error(ctx, CVMF_E_INVAL,
					  "snp:svsm mode does not measure a kernel: drop --kernel");
		if (spec->vars_size == 0 || spec->vars_size % CMN_PAGE_SIZE)
			return cmn_error(ctx, CVMF_E_INVAL,
					  "OVMF vars size %llu is not a non-zero multiple of 4096",
					  (unsigned long long)spec->vars_size);
	}
	if (spec->mode == CVMF_MODE_SNP_OVMF_HASH && spec->kernel_path)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "snp:ovmf-hash mode hashes the firmware only: drop --kernel");
	return 0;
}

/* The checks that need the parsed firmware, before any hashing. */
static int check_firmware(cvmf_ctx *ctx, const struct cvmf_sev_spec *spec,
			  struct cvmf_sev_inputs *in)
{
	const struct cvmf_ovmf *o = in->ovmf;
	const bool snp = spec->mode == CVMF_MODE_SNP;
	int r;
	/* SNP reports a missing section before the table area (the reference's order). */
	const struct cvmf_snp_section *kh = NULL;
	const unsigned why = in->have_kernel ? cvmf_ovmf_kernel_hashes(o, &kh) : 0;
	if (snp && (why & CVMF_KH_NO_SECTION))
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section");
	if (snp && (why & CVMF_KH_SECTION_NOT_PAGE))
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "OVMF SNP_KERNEL_HASHES section at GPA 0x%x is 0x%x bytes; one 4 KiB page is expected",
				  kh->gpa, kh->len);
	if (why & CVMF_KH_NO_AREA)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement");
	if (why & CVMF_KH_AREA_TOO_SMALL)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "OVMF hashes table area (base 0x%x, size 0x%x) cannot hold the %d-byte table; "
				  "QEMU refuses this firmware for measured direct boot",
				  o->hashes_base, o->hashes_size, MSR_SEV_HASHES_PADDED_LEN);
	if (snp && !o->has_sev_metadata)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "firmware '%s' has no SEV metadata (OVMF_SEV_METADATA/\"ASEV\"); "
				  "QEMU refuses to launch it as an SNP guest", spec->ovmf_path);
	if (snp && (r = check_sections(ctx, "firmware", spec->ovmf_path, o, o->gpa)))
		return r;
	if ((spec->mode == CVMF_MODE_SNP || spec->mode == CVMF_MODE_SEV_ES) && !o->has_reset_eip)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "firmware '%s' has no SEV_ES_RESET_BLOCK entry, so its vCPU start address is unknown",
				  spec->ovmf_path);
	return 0;
}

/*
 * The kernel as QEMU's x86_load_linux checks it before launching (the check
 * tdx and tpm make): a setup header, setup sectors inside the file, and a
 * boot protocol that can take an initrd if one is given; the initrd's size
 * against the cap. Before any hashing. One exception, kept for
 * sev-snp-measure's published vectors (../shared/vectors/snp-upstream.jsonl),
 * which measure a zero-byte placeholder kernel: an empty kernel file is
 * accepted and hashed as the reference does (QEMU would refuse it; the CLI
 * warns). docs/measure-snp.md says so.
 */
static int check_kernel(cvmf_ctx *ctx, const struct cvmf_sev_spec *spec)
{
	uint64_t size;
	int fd = cmn_input_open(ctx, "kernel", spec->kernel_path, CMN_MAX_KERNEL, 0, &size);
	if (fd < 0)
		return fd;
	close(fd);
	if (spec->initrd_path) {
		fd = cmn_input_open(ctx, "initrd", spec->initrd_path, CMN_MAX_INITRD, 0, NULL);
		if (fd < 0)
			return fd;
		close(fd);
	}
	if (size == 0)
		return 0;
	return msr_kernel_check(ctx, spec->kernel_path, NULL, spec->initrd_path != NULL, NULL);
}

static int load_svsm(cvmf_ctx *ctx, const struct cvmf_sev_spec *spec, struct cvmf_sev_inputs *in)
{
	int r = load_image(ctx, "SVSM image", spec->svsm_path, &in->svsm, &in->svsm_len,
			   &in->svsm_ovmf);
	if (r)
		return r;
	in->vars_size = spec->vars_size;
	uint64_t below = (uint64_t)in->fw_len + in->vars_size + in->svsm_len;
	if (below > FOUR_GIB)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "OVMF (%zu) + vars (%llu) + SVSM (%zu) bytes do not fit below 4 GiB",
				  in->fw_len, (unsigned long long)in->vars_size, in->svsm_len);
	in->svsm_gpa = FOUR_GIB - below;
	const struct cvmf_ovmf *s = in->svsm_ovmf;
	if (!s->has_svsm_info)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "SVSM image '%s' has no SVSM_INFO entry (a789a612-0597-4c4b-a49f-cbb1fe9d1ddd)",
				  spec->svsm_path);
	if (!s->has_sev_metadata)
		return cmn_error(ctx, CVMF_E_FORMAT, "SVSM image '%s' has no SEV metadata",
				  spec->svsm_path);
	return check_sections(ctx, "SVSM image", spec->svsm_path, s, in->svsm_gpa);
}

int cvmf_sev_load(cvmf_ctx *ctx, const struct cvmf_sev_spec *spec, struct cvmf_sev_inputs **ret)
{
	int r = check_spec(ctx, spec);
	if (r)
		return r;
	struct cvmf_sev_inputs *in = calloc(1, sizeof(*in));
	struct cmn_hasher *page_h = NULL;
	struct chain c = { 0 };
	struct hash_job job = { .spec = spec };
	pthread_t tid;
	bool started = false;
	if (!in)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	in->mode = spec->mode;
	in->have_kernel = spec->kernel_path != NULL;
	in->ovmf_path = strdup(spec->ovmf_path);
	if (!in->ovmf_path) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	job.in = in;

	r = load_image(ctx, "firmware", spec->ovmf_path, &in->fw, &in->fw_len, &in->ovmf);
	if (!r && spec->mode == CVMF_MODE_SNP_SVSM)
		r = load_svsm(ctx, spec, in);
	if (!r)
		r = check_firmware(ctx, spec, in);
	if (!r && in->have_kernel)
		r = check_kernel(ctx, spec);
	if (r)
		goto out;

	/* cmdline: the bytes of --append and one NUL; "" and none agree. */
	{
		const char *a = spec->append ? spec->append : "";
		struct cmn_hasher *h = NULL;
		r = cmn_hasher_new(ctx, CMN_SHA256, &h);
		if (!r)
			r = cmn_hasher_oneshot(h, a, strlen(a) + 1, in->cmdline_sha256);
		if (!r)
			r = cmn_hasher_oneshot(h, "", 0, in->initrd_sha256);
		cmn_hasher_free(h);
		if (r)
			goto out;
	}

	if (in->have_kernel || spec->want_file_digests) {
		if (pthread_create(&tid, NULL, hash_job_run, &job) == 0) {
			started = true;
		} else {
			hash_job_run(&job);   /* no thread: do it here */
			if (job.r) {
				r = cmn_error(ctx, job.r, "%s", job.err.msg);
				goto out;
			}
		}
	}

	switch (spec->mode) {
	case CVMF_MODE_SNP:
	case CVMF_MODE_SNP_OVMF_HASH:
	case CVMF_MODE_SNP_SVSM:
		if (spec->have_ovmf_hash) {
			in->seeded = true;
			memcpy(in->fw_prefix, spec->ovmf_hash, SNP_DIGEST);
			break;
		}
		if ((r = cmn_hasher_new(ctx, CMN_SHA384, &c.h)) ||
		    (r = cmn_hasher_new(ctx, CMN_SHA384, &page_h)))
			goto out;
		if (spec->mode == CVMF_MODE_SNP_SVSM) {
			uint64_t ovmf_gpa = in->svsm_gpa + in->svsm_len + in->vars_size;
			r = chain_normal_pages(&c, page_h, ovmf_gpa, in->fw, in->fw_len);
			if (!r)
				r = chain_normal_pages(&c, page_h, in->svsm_gpa, in->svsm, in->svsm_len);
		} else {
			r = chain_normal_pages(&c, page_h, in->ovmf->gpa, in->fw, in->fw_len);
		}
		if (r) {
			r = cmn_error(ctx, r, "SHA-384 of the firmware pages failed");
			goto out;
		}
		memcpy(in->fw_prefix, c.digest, SNP_DIGEST);
		break;
	case CVMF_MODE_SEV:
	case CVMF_MODE_SEV_ES:
		if ((r = cmn_hasher_new(ctx, CMN_SHA256, &in->sev_prefix)))
			goto out;
		if ((r = cmn_hasher_update(in->sev_prefix, in->fw, in->fw_len)) ||
		    (spec->want_file_digests &&
		     (r = cmn_hasher_peek(in->sev_prefix, in->ovmf_sha256)))) {
			r = cmn_error(ctx, r, "SHA-256 of the firmware failed");
			goto out;
		}
		in->have_fw_sha256 = spec->want_file_digests;
		break;
	}

	if (started) {
		pthread_join(tid, NULL);
		started = false;
		if (job.r) {
			r = cmn_error(ctx, job.r, "%s", job.err.msg);
			goto out;
		}
	}
	if (in->have_kernel) {
		msr_sev_hashes_table(in->cmdline_sha256, in->initrd_sha256, in->kernel_sha256,
				      in->table);
		in->have_table = true;
		if (in->sev_prefix &&
		    (r = cmn_hasher_update(in->sev_prefix, in->table, sizeof(in->table))))
			goto out;
	}
	*ret = in;
	in = NULL;
out:
	if (started)
		pthread_join(tid, NULL);
	cmn_hasher_free(c.h);
	cmn_hasher_free(page_h);
	cvmf_sev_inputs_free(in);
	return r;
}

void cvmf_sev_input_info(const struct cvmf_sev_inputs *in, struct cvmf_sev_input_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->mode = in->mode;
	ret->ovmf = in->ovmf;
	ret->svsm = in->svsm_ovmf;
	ret->ovmf_size = in->fw_len;
	ret->svsm_size = in->svsm_len;
	ret->have_fw_sha256 = in->have_fw_sha256;
	memcpy(ret->ovmf_sha256, in->ovmf_sha256, 32);
	memcpy(ret->svsm_sha256, in->svsm_sha256, 32);
	ret->have_kernel = in->have_kernel;
	memcpy(ret->kernel_sha256, in->kernel_sha256, 32);
	memcpy(ret->initrd_sha256, in->initrd_sha256, 32);
	memcpy(ret->cmdline_sha256, in->cmdline_sha256, 32);
	ret->kernel_size = in->kernel_size;
	ret->initrd_size = in->initrd_size;
	ret->have_ovmf_hash = in->mode != CVMF_MODE_SEV && in->mode != CVMF_MODE_SEV_ES;
	memcpy(ret->ovmf_hash, in->fw_prefix, SNP_DIGEST);
	ret->vars_size = in->vars_size;
	ret->hashes_table = in->have_table ? in->table : NULL;
}

/* ---- VMSAs and the launch-dependent part ---- */

bool cvmf_sev_mode_has_vmsas(enum cvmf_sev_mode m)
{
	return m == CVMF_MODE_SNP || m == CVMF_MODE_SEV_ES || m == CVMF_MODE_SNP_SVSM;
}

uint64_t cvmf_sev_vmsa_features(enum cvmf_sev_mode m, uint64_t requested)
{
	if (m == CVMF_MODE_SNP)
		return requested;
	/* The reference fixes snp:svsm at SNPActive whatever was asked; its
	 * published values depend on it (docs/measure-snp.md, quirks). */
	if (m == CVMF_MODE_SNP_SVSM)
		return 0x1;
	return 0;   /* SEV-ES has no sev_features; SEV has no VMSA */
}

bool cvmf_vmm_uses_vcpu_sig(enum cvmf_vmm v)
{
	return v == CVMF_VMM_QEMU;   /* EC2 and GCE put 0x600 in rdx */
}

static int check_launch(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
			const struct cvmf_sev_launch *l)
{
	if (!cvmf_sev_mode_has_vmsas(in->mode))
		return 0;
	if (l->vcpus < 1 || l->vcpus > CVMF_MAX_VCPUS)
		return cmn_error(ctx, CVMF_E_INVAL, "%u vCPUs: a guest has 1 to %d", l->vcpus,
				  CVMF_MAX_VCPUS);
	if ((unsigned)l->vmm > CVMF_VMM_GCE)
		return cmn_error(ctx, CVMF_E_INVAL, "unknown VMM type %d", (int)l->vmm);
	if (in->mode == CVMF_MODE_SNP_SVSM && l->vmm != CVMF_VMM_QEMU)
		return cmn_error(ctx, CVMF_E_INVAL, "snp:svsm mode is only modelled for QEMU");
	if (in->mode != CVMF_MODE_SNP_SVSM && l->vcpus > 1 && in->ovmf->reset_eip == 0)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "firmware '%s' has an SEV-ES AP reset address of 0; cannot start %u vCPUs",
				  in->ovmf_path, l->vcpus);
	return 0;
}

/* The VMSA page of vCPU `index`. */
static void build_vmsa(const struct cvmf_sev_inputs *in, const struct cvmf_sev_launch *l,
		       unsigned index, uint8_t page[CMN_PAGE_SIZE])
{
	const uint64_t features = cvmf_sev_vmsa_features(in->mode, l->guest_features);
	if (in->mode == CVMF_MODE_SNP_SVSM) {
		uint32_t eip = (uint32_t)(in->svsm_gpa + in->svsm_ovmf->svsm_entry_offset);
		msr_vmsa_build(page, MSR_VMSA_SVSM, CVMF_VMM_QEMU, eip, l->vcpu_sig, features);
		return;
	}
	uint32_t eip = index == 0 ? BSP_EIP : in->ovmf->reset_eip;
	msr_vmsa_build(page, MSR_VMSA_RESET, l->vmm, eip, l->vcpu_sig, features);
}

int cvmf_sev_vmsa(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
		  const struct cvmf_sev_launch *launch, unsigned index, uint8_t ret_page[4096])
{
	if (!cvmf_sev_mode_has_vmsas(in->mode))
		return cmn_error(ctx, CVMF_E_INVAL, "mode %s has no VMSA pages",
				  cvmf_sev_mode_name(in->mode));
	int r = check_launch(ctx, in, launch);
	if (r)
		return r;
	if (index >= launch->vcpus)
		return cmn_error(ctx, CVMF_E_INVAL, "vCPU %u does not exist in a %u-vCPU guest",
				  index, launch->vcpus);
	build_vmsa(in, launch, index, ret_page);
	return 0;
}

/*
 * One VMSA chain: digests after 1..max vCPUs for the sorted, unique counts in
 * `counts`, written to out[i * len]. SNP extends the PAGE_INFO chain from the
 * VMM's metadata state; SEV-ES extends a copy of the SHA-256 prefix.
 */
static int walk_vcpus(const struct cvmf_sev_inputs *in, const struct cvmf_sev_launch *l,
		      const uint8_t meta_state[SNP_DIGEST], const unsigned *counts, size_t n,
		      struct cmn_hasher *small_h, struct cmn_hasher *page_h,
		      struct cmn_hasher *run_h, uint8_t *out)
{
	uint8_t bsp[CMN_PAGE_SIZE], ap[CMN_PAGE_SIZE];
	struct cvmf_sev_launch one = *l;
	one.vcpus = 2;
	build_vmsa(in, &one, 0, bsp);
	build_vmsa(in, &one, 1, ap);
	int r = 0;
	if (in->mode == CVMF_MODE_SEV_ES) {
		if ((r = cmn_hasher_copy(run_h, in->sev_prefix)))
			return r;
		unsigned done = 0;
		for (size_t i = 0; i < n; i++) {
			for (; done < counts[i] && !r; done++)
				r = cmn_hasher_update(run_h, done == 0 ? bsp : ap, CMN_PAGE_SIZE);
			if (!r)
				r = cmn_hasher_peek(run_h, out + i * 32);
			if (r)
				return r;
		}
		return 0;
	}
	uint8_t bsp_d[SNP_DIGEST], ap_d[SNP_DIGEST];
	if ((r = cmn_hasher_oneshot(page_h, bsp, CMN_PAGE_SIZE, bsp_d)) ||
	    (r = cmn_hasher_oneshot(page_h, ap, CMN_PAGE_SIZE, ap_d)))
		return r;
	struct chain c = { .h = small_h };
	memcpy(c.digest, meta_state, SNP_DIGEST);
	unsigned done = 0;
	for (size_t i = 0; i < n; i++) {
		for (; done < counts[i] && !r; done++)
			r = chain_update(&c, PAGE_VMSA, VMSA_GPA, done == 0 ? bsp_d : ap_d);
		if (r)
			return r;
		memcpy(out + i * SNP_DIGEST, c.digest, SNP_DIGEST);
	}
	return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

int cvmf_sev_measure_matrix(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
			    const struct cvmf_sev_matrix *m, cvmf_sev_matrix_cb cb, void *userdata)
{
	if (!m->n_vmms || !m->n_vcpu_sigs || !m->n_guest_features || !m->n_vcpus)
		return cmn_error(ctx, CVMF_E_INVAL, "empty measurement matrix");
	const bool vmsas = cvmf_sev_mode_has_vmsas(in->mode);
	const size_t dlen = in->mode == CVMF_MODE_SEV || in->mode == CVMF_MODE_SEV_ES ? 32 : 48;
	struct cmn_hasher *small_h = NULL, *page_h = NULL, *run_h = NULL;
	unsigned *uniq = NULL;
	uint32_t *eff_sigs = NULL;
	uint8_t *digests = NULL;
	size_t n_uniq = 0;
	int r;

	for (size_t v = 0; v < m->n_vmms; v++)
		for (size_t i = 0; i < m->n_vcpus; i++) {
			struct cvmf_sev_launch l = { .vmm = m->vmms[v], .vcpus = m->vcpus[i] };
			if ((r = check_launch(ctx, in, &l)))
				return r;
		}

	if ((r = cmn_hasher_new(ctx, CMN_SHA384, &small_h)) ||
	    (r = cmn_hasher_new(ctx, CMN_SHA384, &page_h)) ||
	    (r = cmn_hasher_new(ctx, CMN_SHA256, &run_h)))
		goto out;
	uniq = malloc(m->n_vcpus * sizeof(*uniq));
	eff_sigs = malloc(m->n_vcpu_sigs * sizeof(*eff_sigs));
	if (!uniq || !eff_sigs) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(uniq, m->vcpus, m->n_vcpus * sizeof(*uniq));
	qsort(uniq, m->n_vcpus, sizeof(*uniq), cmp_unsigned);
	for (size_t i = 0; i < m->n_vcpus; i++)
		if (!n_uniq || uniq[n_uniq - 1] != uniq[i])
			uniq[n_uniq++] = uniq[i];
	digests = malloc(m->n_vcpu_sigs * n_uniq * dlen);
	if (!digests) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}

	for (size_t v = 0; v < m->n_vmms; v++) {
		const enum cvmf_vmm vmm = m->vmms[v];
		uint8_t meta[SNP_DIGEST];
		struct chain c = { .h = small_h };
		memcpy(c.digest, in->fw_prefix, SNP_DIGEST);
		if ((in->mode == CVMF_MODE_SNP || in->mode == CVMF_MODE_SNP_SVSM) &&
		    (r = snp_metadata(in, vmm, &c, page_h)))
			goto crypto;
		memcpy(meta, c.digest, SNP_DIGEST);

		for (size_t f = 0; f < m->n_guest_features; f++) {
			/* Only QEMU puts the signature in the VMSA: chains that
			 * differ only in an ignored signature are computed once. */
			for (size_t s = 0; s < m->n_vcpu_sigs; s++) {
				eff_sigs[s] = cvmf_vmm_uses_vcpu_sig(vmm) ? m->vcpu_sigs[s] : 0;
				size_t same = s;
				for (size_t t = 0; t < s; t++)
					if (eff_sigs[t] == eff_sigs[s]) {
						same = t;
						break;
					}
				uint8_t *dst = digests + s * n_uniq * dlen;
				if (same != s) {
					memcpy(dst, digests + same * n_uniq * dlen, n_uniq * dlen);
					continue;
				}
				struct cvmf_sev_launch l = { .vmm = vmm, .vcpu_sig = m->vcpu_sigs[s],
							     .guest_features = m->guest_features[f] };
				if (vmsas) {
					r = walk_vcpus(in, &l, meta, uniq, n_uniq, small_h, page_h,
						       run_h, dst);
				} else if (in->mode == CVMF_MODE_SEV) {
					for (size_t i = 0; i < n_uniq && !r; i++)
						r = cmn_hasher_peek(in->sev_prefix, dst + i * dlen);
				} else {
					for (size_t i = 0; i < n_uniq; i++)
						memcpy(dst + i * dlen, in->fw_prefix, dlen);
				}
				if (r)
					goto crypto;
			}
			for (size_t s = 0; s < m->n_vcpu_sigs; s++)
				for (size_t i = 0; i < m->n_vcpus; i++) {
					unsigned *hit = bsearch(&m->vcpus[i], uniq, n_uniq,
								sizeof(*uniq), cmp_unsigned);
					struct cvmf_sev_launch l = {
						.vmm = vmm, .vcpus = m->vcpus[i],
						.vcpu_sig = m->vcpu_sigs[s],
						.guest_features = m->guest_features[f] };
					struct cvmf_digest d = { .len = dlen };
					memcpy(d.bytes, digests + (s * n_uniq + (size_t)(hit - uniq)) * dlen,
					       dlen);
					if ((r = cb(userdata, &l, s, &d)))
						goto out;
				}
		}
	}
	r = 0;
	goto out;
crypto:
	r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA computation failed");
out:
	free(uniq);
	free(eff_sigs);
	free(digests);
	cmn_hasher_free(small_h);
	cmn_hasher_free(page_h);
	cmn_hasher_free(run_h);
	return r;
}

static int store_one(void *userdata, const struct cvmf_sev_launch *l, size_t sig_index,
		     const struct cvmf_digest *d)
{
	(void)l;
	(void)sig_index;
	*(struct cvmf_digest *)userdata = *d;
	return 0;
}

int cvmf_sev_measure(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
		     const struct cvmf_sev_launch *launch, struct cvmf_digest *ret)
{
	struct cvmf_sev_matrix m = {
		.vmms = &launch->vmm, .n_vmms = 1,
		.vcpu_sigs = &launch->vcpu_sig, .n_vcpu_sigs = 1,
		.guest_features = &launch->guest_features, .n_guest_features = 1,
		.vcpus = &launch->vcpus, .n_vcpus = 1,
	};
	struct cvmf_digest d;
	int r = cvmf_sev_measure_matrix(ctx, in, &m, store_one, &d);
	if (!r)
		*ret = d;
	return r;
}

/* ---- names ---- */

static const char *const mode_names[] = {
	[CVMF_MODE_SEV] = "sev", [CVMF_MODE_SEV_ES] = "seves", [CVMF_MODE_SNP] = "snp",
	[CVMF_MODE_SNP_OVMF_HASH] = "snp:ovmf-hash", [CVMF_MODE_SNP_SVSM] = "snp:svsm",
};

const char *cvmf_sev_mode_name(enum cvmf_sev_mode m)
{
	return (unsigned)m < CMN_ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

int cvmf_sev_mode_parse(const char *s, enum cvmf_sev_mode *ret)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(mode_names); i++)
		if (!strcmp(s, mode_names[i])) {
			*ret = (enum cvmf_sev_mode)i;
			return 0;
		}
	return CVMF_E_INVAL;
}

static const char *const vmm_names[] = {
	[CVMF_VMM_QEMU] = "QEMU", [CVMF_VMM_EC2] = "ec2", [CVMF_VMM_GCE] = "gce",
};

const char *cvmf_vmm_name(enum cvmf_vmm v)
{
	return (unsigned)v < CMN_ARRAY_SIZE(vmm_names) ? vmm_names[v] : "?";
}

int cvmf_vmm_parse(const char *s, enum cvmf_vmm *ret)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(vmm_names); i++)
		if (!strcmp(s, vmm_names[i])) {
			*ret = (enum cvmf_vmm)i;
			return 0;
		}
	return CVMF_E_INVAL;
}
