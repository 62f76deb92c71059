/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel TDX launch measurements for QEMU + TDVF (OVMF) direct kernel boot.
 *
 * MRTD: SHA-384 over the 128-byte records the TDX module writes while the
 * host adds the TDVF sections:
 *   MEM.PAGE.ADD  "MEM.PAGE.ADD" | zeros | u64 GPA at 16 | zeros to 128
 *   MR.EXTEND     "MR.EXTEND"    | zeros | u64 GPA at 16 | zeros to 128,
 *                 then the 256 bytes of the chunk
 * For each section in metadata order and each 4 KiB page: an ADD unless the
 * section has PAGE.AUG, and 16 EXTENDs (one per 256-byte chunk) if it has
 * MR.EXTEND; data past RawDataSize is zero. Single-pass interleaves them per
 * page; two-pass does all of a section's ADDs, then all its EXTENDs.
 *
 * RTMR0..2: SHA-384 extend chains over the events of the predicted CCEL
 * (measure/uefi.c builds the UEFI events, this file adds the TDVF-only ones
 * and picks the order of the OVMF release). RTMR3 is never touched by
 * firmware. docs/measure-tdx.md lists every input and what is not modelled.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/file.h"
#include "measure/measure.h"

enum { BFV = 0, CFV = 1, TD_HOB = 2, TEMP_MEM = 3 };
#define ATTR_MR_EXTEND 0x1u
#define ATTR_PAGE_AUG 0x2u
#define REC 128
#define CHUNK 256
#define PAGE_RECORDS (REC + 16 * (REC + CHUNK))
#define FOUR_GIB 0x100000000ull
#define HOB_PHIT_LEN 56
#define HOB_RES_LEN 48
#define HOB_END_LEN 8
#define RES_SYSTEM_MEMORY 0u
#define RES_MEMORY_UNACCEPTED 7u

/* gUefiOvmfPkgTokenSpaceGuid 93bb96af-b9f2-4eb8-9462-e0ba74564236 */
static const uint8_t GUID_OVMF_TOKEN_SPACE[16] = {
	0xaf, 0x96, 0xbb, 0x93, 0xf2, 0xb9, 0xb8, 0x4e,
	0x94, 0x62, 0xe0, 0xba, 0x74, 0x56, 0x42, 0x36 };

/* ---- names and parameters ---- */

static const char *const order_names[] = { "single-pass", "two-pass" };
static const char *const layout_names[] = { "edk2-pre-2024.11", "edk2-2024.11" };

const char *cvmf_tdx_page_order_name(enum cvmf_tdx_page_order o)
{
	return (unsigned)o < CMN_ARRAY_SIZE(order_names) ? order_names[o] : NULL;
}

int cvmf_tdx_page_order_parse(const char *s, enum cvmf_tdx_page_order *ret)
{
	for (unsigned i = 0; i < CMN_ARRAY_SIZE(order_names); i++)
		if (!strcmp(s, order_names[i])) {
			*ret = (enum cvmf_tdx_page_order)i;
			return 0;
		}
	return CVMF_E_INVAL;
}

const char *cvmf_tdx_layout_name(enum cvmf_tdx_layout l)
{
	return (unsigned)l < CMN_ARRAY_SIZE(layout_names) ? layout_names[l] : NULL;
}

int cvmf_tdx_layout_parse(cvmf_ctx *ctx, const char *s, enum cvmf_tdx_layout *ret)
{
	if (!strcmp(s, "edk2-pre-2024.11")) {
		*ret = CVMF_TDX_LAYOUT_PRE_2024_11;
		return 0;
	}
	if (!strcmp(s, "edk2-2024.11") || !strcmp(s, "edk2-2024.11..2025.02")) {
		*ret = CVMF_TDX_LAYOUT_2024_11;
		return 0;
	}
	unsigned rel;
	if (!strncmp(s, "edk2-", 5) && !cvmf_edk2_release_parse(s + 5, &rel) && rel >= 202505)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "OVMF event layout '%s' is not modelled: edk2 >= 202505 adds fw_cfg, SMBIOS and boot-manager events to RTMR0 that cvmforge does not predict",
				  s);
	return cmn_error(ctx, CVMF_E_INVAL,
			  "unknown OVMF event layout '%s' (known: edk2-pre-2024.11, edk2-2024.11)",
			  s);
}

int cvmf_edk2_release_parse(const char *s, unsigned *ret)
{
	if (!strncmp(s, "edk2-stable", 11))
		s += 11;
	else if (!strncmp(s, "stable", 6))
		s += 6;
	unsigned y = 0, m = 0;
	int n = 0;
	if (sscanf(s, "%4u.%2u%n", &y, &m, &n) == 2 && n == 7) {
		s += n;
	} else if (sscanf(s, "%4u%2u%n", &y, &m, &n) == 2 && n == 6) {
		s += n;
	} else {
		return CVMF_E_INVAL;
	}
	/* An optional point release: ".01". */
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return CVMF_E_INVAL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s || y < 2000 || y > 2999 || m < 1 || m > 12)
		return CVMF_E_INVAL;
	*ret = y * 100 + m;
	return 0;
}

int cvmf_tdx_layout_for_release(cvmf_ctx *ctx, unsigned release, enum cvmf_tdx_layout *ret)
{
	if (release >= 202505)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "OVMF %u.%02u is newer than the modelled event layouts: edk2 >= 202505 adds fw_cfg, SMBIOS and boot-manager events to RTMR0",
				  release / 100, release % 100);
	*ret = release >= 202411 ? CVMF_TDX_LAYOUT_2024_11 : CVMF_TDX_LAYOUT_PRE_2024_11;
	return 0;
}

int cvmf_qemu_kernel_patched(cvmf_ctx *ctx, unsigned qemu_version, unsigned ovmf_release,
			     const enum cvmf_tdx_layout *layout, bool confidential, bool *ret)
{
	if (confidential && qemu_version >= 1002) {
		*ret = false;   /* QEMU >= 10.2 leaves confidential guests' headers alone */
		return 0;
	}
	if (qemu_version < 1000) {
		*ret = true;    /* no etc/boot/kernel before QEMU 10.0 */
		return 0;
	}
	if (ovmf_release) {
		*ret = ovmf_release < 202502;   /* 202502 reads etc/boot/kernel */
		return 0;
	}
	if (layout && *layout == CVMF_TDX_LAYOUT_PRE_2024_11) {
		*ret = true;
		return 0;
	}
	return cmn_error(ctx, CVMF_E_INVAL,
			  "QEMU %u.%u measures the patched kernel header with OVMF before 2025.02 and the plain file from 2025.02 on; the OVMF release is not known (give --ovmf-release, or --qemu-kernel-patch / --no-qemu-kernel-patch)",
			  qemu_version / 100, qemu_version % 100);
}

/* ---- MRTD ---- */

static void record(uint8_t *r, const char *op, uint64_t gpa)
{
	memset(r, 0, REC);
	memcpy(r, op, strlen(op));
	cmn_put_le64(r + 16, gpa);
}

/* The 16 EXTEND records of one page into out (16 * 384 bytes). */
static void extend_page(uint8_t *out, const uint8_t *image, const struct cvmf_tdvf_section *s,
			uint64_t page)
{
	for (unsigned i = 0; i < 16; i++) {
		uint8_t *r = out + i * (REC + CHUNK);
		uint64_t off = page * CMN_PAGE_SIZE + i * CHUNK;
		record(r, "MR.EXTEND", s->gpa + off);
		uint8_t *data = r + REC;
		memset(data, 0, CHUNK);
		if (off < s->raw_size) {
			uint64_t n = s->raw_size - off < CHUNK ? s->raw_size - off : CHUNK;
			memcpy(data, image + s->data_offset + off, n);
		}
	}
}

int msr_tdx_mrtd(cvmf_ctx *ctx, const uint8_t *image, size_t len, const struct cvmf_ovmf *o,
		  enum cvmf_tdx_page_order order, uint8_t out[48])
{
	(void)len;   /* sections were checked against the file by the parser */
	struct cmn_hasher *h;
	int r = cmn_hasher_new(ctx, CMN_SHA384, &h);
	if (r)
		return r;
	uint8_t *buf = malloc(PAGE_RECORDS);
	if (!buf) {
		cmn_hasher_free(h);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; !r && i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *s = &o->tdvf_sections[i];
		uint64_t pages = s->mem_size / CMN_PAGE_SIZE;
		bool add = !(s->attributes & ATTR_PAGE_AUG);
		bool ext = s->attributes & ATTR_MR_EXTEND;
		if (order == CVMF_TDX_SINGLE_PASS) {
			for (uint64_t p = 0; !r && p < pages; p++) {
				size_t n = 0;
				if (add) {
					record(buf, "MEM.PAGE.ADD", s->gpa + p * CMN_PAGE_SIZE);
					n = REC;
				}
				if (ext) {
					extend_page(buf + n, image, s, p);
					n += 16 * (REC + CHUNK);
				}
				r = cmn_hasher_update(h, buf, n);
			}
		} else {
			for (uint64_t p = 0; add && !r && p < pages; p++) {
				record(buf, "MEM.PAGE.ADD", s->gpa + p * CMN_PAGE_SIZE);
				r = cmn_hasher_update(h, buf, REC);
			}
			for (uint64_t p = 0; ext && !r && p < pages; p++) {
				extend_page(buf, image, s, p);
				r = cmn_hasher_update(h, buf, 16 * (REC + CHUNK));
			}
		}
	}
	if (!r)
		r = cmn_hasher_final(h, out);
	free(buf);
	cmn_hasher_free(h);
	return r ? cmn_error(ctx, CVMF_E_CRYPTO, "SHA-384 failed computing MRTD") : 0;
}

/* ---- TD HOB ---- */

struct ram_entry {
	uint64_t start, len;
	uint32_t type;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct ram_entry *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Mark [start, start+len) accepted, splitting the unaccepted entry that
 * holds it, as QEMU's tdx_accept_ram_range() does. */
static int accept_range(cvmf_ctx *ctx, struct ram_entry *e, size_t *n, size_t cap,
			uint64_t start, uint64_t len, const char *name)
{
	for (size_t i = 0; i < *n; i++) {
		if (e[i].type != RES_MEMORY_UNACCEPTED || start < e[i].start ||
		    start + len > e[i].start + e[i].len)
			continue;
		uint64_t head = start - e[i].start;
		uint64_t tail = e[i].start + e[i].len - (start + len);
		if (*n + 2 > cap)
			return cmn_error(ctx, CVMF_E_FORMAT, "too many TDVF sections to place in RAM");
		e[i] = (struct ram_entry){ start, len, RES_SYSTEM_MEMORY };
		if (head)
			e[(*n)++] = (struct ram_entry){ start - head, head, RES_MEMORY_UNACCEPTED };
		if (tail)
			e[(*n)++] = (struct ram_entry){ start + len, tail, RES_MEMORY_UNACCEPTED };
		return 0;
	}
	return cmn_error(ctx, CVMF_E_INVAL,
			  "TDVF %s section at 0x%llx+0x%llx is not inside the guest's RAM (QEMU refuses to start such a TD; is --memory too small?)",
			  name, (unsigned long long)start, (unsigned long long)len);
}

int msr_tdx_td_hob(cvmf_ctx *ctx, const struct cvmf_ovmf *o, uint64_t ram, uint8_t **ret,
		    size_t *ret_len, uint64_t *ret_gpa)
{
	size_t cap = 2 + 2 * o->n_tdvf_sections, n = 0;
	struct ram_entry *e = calloc(cap, sizeof(*e));
	if (!e)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	uint64_t below = msr_qemu_below_4g(ram, true);
	e[n++] = (struct ram_entry){ 0, below, RES_MEMORY_UNACCEPTED };
	if (ram > below)
		e[n++] = (struct ram_entry){ FOUR_GIB, ram - below, RES_MEMORY_UNACCEPTED };
	const struct cvmf_tdvf_section *hob = NULL;
	int r = 0;
	for (size_t i = 0; !r && i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *s = &o->tdvf_sections[i];
		if (s->type != TD_HOB && s->type != TEMP_MEM)
			continue;
		if (s->type == TD_HOB)
			hob = s;
		r = accept_range(ctx, e, &n, cap, s->gpa, s->mem_size,
				 cvmf_tdvf_section_name(s->type));
	}
	if (!r && !hob)
		r = cmn_error(ctx, CVMF_E_FORMAT, "the firmware has no TD_HOB section");
	size_t len = HOB_PHIT_LEN + HOB_RES_LEN * n;
	if (!r && len + HOB_END_LEN > hob->mem_size)
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "the TD HOB for %zu memory ranges (%zu bytes) does not fit the 0x%llx-byte TD_HOB section",
			       n, len + HOB_END_LEN, (unsigned long long)hob->mem_size);
	uint8_t *b = r ? NULL : calloc(1, len);
	if (!r && !b)
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (r) {
		free(e);
		return r;
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	/* PHIT: type 1, length 56, version 9, boot mode 0, memory fields 0,
	 * EfiEndOfHobList = the end of the END HOB. */
	cmn_put_le16(b, 1);
	cmn_put_le16(b + 2, HOB_PHIT_LEN);
	cmn_put_le32(b + 8, 9);
	cmn_put_le64(b + 48, hob->gpa + len + HOB_END_LEN);
	for (size_t i = 0; i < n; i++) {
		uint8_t *d = b + HOB_PHIT_LEN + HOB_RES_LEN * i;
		cmn_put_le16(d, 3);
		cmn_put_le16(d + 2, HOB_RES_LEN);
		cmn_put_le32(d + 24, e[i].type);
		cmn_put_le32(d + 28, 0x7);   /* PRESENT | INITIALIZED | TESTED */
		cmn_put_le64(d + 32, e[i].start);
		cmn_put_le64(d + 40, e[i].len);
	}
	free(e);
	*ret = b;
	*ret_len = len;
	*ret_gpa = hob->gpa;
	return 0;
}

/* ---- the inputs, hashed on two threads ---- */

struct job {
	int (*run)(struct job *j);
	cvmf_ctx ctx;       /* per job: a context is not shared across threads */
	int rc;
	const struct cvmf_tdx_spec *spec;
	struct cvmf_tdx_result *res;
	/* firmware */
	uint8_t *fw;
	size_t fw_len;
	struct cvmf_ovmf *ovmf;
	uint8_t cfv_sha384[48];
	/* ACPI */
	uint8_t *tables, *rsdp, *loader;
	size_t tables_len, rsdp_len, loader_len;
	/* streamed file digest */
	const char *what, *path;
	enum cmn_hash_alg alg;
	uint8_t *out;
	uint64_t size;
};

static int job_file_digest(struct job *j)
{
	struct cmn_hasher *h;
	int r = cmn_hasher_new(&j->ctx, j->alg, &h);
	if (!r)
		r = cmn_hash_input(&j->ctx, j->what, j->path, CMN_MAX_INITRD, 0, &h, 1, &j->out,
				   &j->size);
	cmn_hasher_free(h);
	return r;
}

static int job_firmware(struct job *j)
{
	const struct cvmf_tdx_spec *spec = j->spec;
	struct cvmf_tdx_result *res = j->res;
	cvmf_ctx *ctx = &j->ctx;
	int r = msr_ovmf_read_image(ctx, "firmware", spec->ovmf_path, false, &j->fw, &j->fw_len,
				     &j->ovmf);
	if (r)
		return r;
	const struct cvmf_ovmf *o = j->ovmf;
	if (!o->has_tdx_metadata)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "firmware '%s' has no TDX metadata (TDVF descriptor): it cannot boot a TD%s",
				  spec->ovmf_path,
				  o->has_table ? "" : "; it has no OVMF footer table at all");
	if (o->tdx_err)
		return cmn_error(ctx, CVMF_E_FORMAT, "firmware '%s': %s%s", spec->ovmf_path,
				  o->tdx_errmsg,
				  strstr(o->tdx_errmsg, "outside") ?
				  " (an OVMF_CODE-style image? QEMU loads TDVF whole, with -bios)" : "");
	r = cmn_digest_both(ctx, j->fw, j->fw_len, &res->firmware);
	if (!r)
		r = msr_tdx_mrtd(ctx, j->fw, j->fw_len, o, spec->page_order, res->mrtd);
	if (r || !spec->kernel_path)
		return r;
	/* Which drivers the firmware carries: without a TDX measurement
	 * driver nothing extends RTMR0..2 the way the model predicts. */
	struct cvmf_fw_info *fi = NULL;
	if ((r = cvmf_fw_scan(ctx, j->fw, j->fw_len, &fi)))
		return r;
	res->fw_known = fi->known;
	res->fw_tdx_measure = fi->features & CVMF_FW_TDX_MEASURE;
	cvmf_fw_info_free(fi);
	/* RTMR inputs: QEMU refuses the section types it does not know. */
	const struct cvmf_tdvf_section *cfv = NULL;
	for (size_t i = 0; i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *s = &o->tdvf_sections[i];
		if (s->type > TEMP_MEM)
			return cmn_error(ctx, CVMF_E_UNSUPPORTED,
					  "firmware '%s': TDVF section %zu has type %s, which QEMU does not load (only BFV, CFV, TD_HOB, TempMem)",
					  spec->ovmf_path, i, cvmf_tdvf_section_name(s->type));
		if (s->type == CFV && !cfv)
			cfv = s;
	}
	if (!cfv)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "firmware '%s' has no CFV (varstore) section, whose digest RTMR0 needs",
				  spec->ovmf_path);
	struct cmn_hasher *h;
	r = cmn_hasher_new(ctx, CMN_SHA384, &h);
	if (r)
		return r;
	if (cmn_hasher_oneshot(h, j->fw + cfv->data_offset, cfv->raw_size, j->cfv_sha384))
		r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-384 failed");
	cmn_hasher_free(h);
	return r;
}

static int job_kernel(struct job *j)
{
	const struct cvmf_tdx_spec *spec = j->spec;
	struct cvmf_tdx_result *res = j->res;
	cvmf_ctx *ctx = &j->ctx;
	uint64_t initrd_size = 0;
	if (spec->initrd_path) {
		int fd = cmn_input_open(ctx, "initrd", spec->initrd_path, CMN_MAX_INITRD, 0,
					&initrd_size);
		if (fd < 0)
			return fd;
		close(fd);
	}
	struct msr_qemu_linux q = {
		.below_4g = msr_qemu_below_4g(spec->memory, true),
		.acpi_data_size = spec->acpi_data_size,
		.cmdline = spec->append ? spec->append : "",
		.has_initrd = spec->initrd_path != NULL,
		.initrd_size = initrd_size,
	};
	struct msr_kernel_image k;
	int r = msr_kernel_measure(ctx, spec->kernel_path, &q, spec->kernel_header_patch, false, &k);
	if (r)
		return r;
	res->kernel_protocol = k.patch.protocol;
	if (spec->kernel_header_patch) {
		res->cmdline_addr = k.patch.cmdline_addr;
		res->initrd_addr = k.patch.initrd_addr;
	}
	memcpy(res->kernel_authenticode, k.authenticode.sha384, 48);
	res->kernel = k.file;
	return 0;
}

#define MAX_ACPI (16u << 20)

static int read_small(cvmf_ctx *ctx, const char *what, const char *path, uint8_t **buf,
		      size_t *len, struct cvmf_file_digest *d)
{
	int r = cmn_read_file(ctx, what, path, MAX_ACPI, buf, len);
	if (!r)
		r = cmn_digest_both(ctx, *buf, *len, d);
	return r;
}

static int job_acpi(struct job *j)
{
	const struct cvmf_tdx_spec *spec = j->spec;
	struct cvmf_tdx_result *res = j->res;
	cvmf_ctx *ctx = &j->ctx;
	char what[300];
	snprintf(what, sizeof(what), "ACPI tables '%s'", spec->acpi_tables_path);
	int r = read_small(ctx, "ACPI tables", spec->acpi_tables_path, &j->tables, &j->tables_len,
			   &res->acpi_tables);
	if (r)
		return r;
	if (spec->acpi_rsdp_path) {
		r = read_small(ctx, "ACPI RSDP", spec->acpi_rsdp_path, &j->rsdp, &j->rsdp_len,
			       &res->acpi_rsdp);
	} else {
		j->rsdp = malloc(MSR_ACPI_RSDP_LEN);
		j->rsdp_len = MSR_ACPI_RSDP_LEN;
		r = j->rsdp ? msr_acpi_derive_rsdp(ctx, what, j->tables, j->tables_len, j->rsdp)
			    : cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		if (!r)
			r = cmn_digest_both(ctx, j->rsdp, j->rsdp_len, &res->acpi_rsdp);
		res->acpi_rsdp.derived = true;
	}
	if (r)
		return r;
	if (spec->acpi_loader_path) {
		r = read_small(ctx, "ACPI table loader", spec->acpi_loader_path, &j->loader,
			       &j->loader_len, &res->acpi_loader);
	} else {
		r = msr_acpi_derive_loader(ctx, what, j->tables, j->tables_len, &j->loader,
					    &j->loader_len);
		if (!r)
			r = cmn_digest_both(ctx, j->loader, j->loader_len, &res->acpi_loader);
		res->acpi_loader.derived = true;
	}
	return r;
}

struct pool {
	struct job **jobs;
	size_t n;
	atomic_size_t next;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			return NULL;
		p->jobs[i]->rc = p->jobs[i]->run(p->jobs[i]);
	}
}

/* Run the jobs (largest first) on this thread and one more. */
static void run_jobs(struct job **jobs, size_t n)
{
	struct pool p = { .jobs = jobs, .n = n };
	atomic_init(&p.next, 0);
	pthread_t tid;
	bool threaded = n > 1 && pthread_create(&tid, NULL, pool_worker, &p) == 0;
	pool_worker(&p);
	if (threaded)
		pthread_join(tid, NULL);
}

/* ---- the event log ---- */

static int td_hob_event(struct msr_uefi_emit *e, const uint8_t *hob, size_t len, uint64_t gpa)
{
	/* TDVF's EFI_HANDOFF_TABLE_POINTERS2: u8 description size, "TdxTable\0",
	 * u64 number of tables (1), the vendor GUID, u64 table address. */
	uint8_t d[1 + 9 + 8 + 16 + 8];
	d[0] = 9;
	memcpy(d + 1, "TdxTable", 9);
	cmn_put_le64(d + 10, 1);
	memcpy(d + 18, GUID_OVMF_TOKEN_SPACE, 16);
	cmn_put_le64(d + 34, gpa);
	return msr_uefi_ev(e, 1, CVMF_EV_EFI_HANDOFF_TABLES2, hob, len, d, sizeof(d), "TD HOB");
}

static int cfv_event(struct msr_uefi_emit *e, const struct job *fw)
{
	const struct cvmf_tdvf_section *cfv = NULL;
	for (size_t i = 0; i < fw->ovmf->n_tdvf_sections && !cfv; i++)
		if (fw->ovmf->tdvf_sections[i].type == CFV)
			cfv = &fw->ovmf->tdvf_sections[i];
	/* EFI_PLATFORM_FIRMWARE_BLOB2: u8 description size, "Fv(GUID)\0" with
	 * the FV's name from its extension header, or X's when it has none
	 * (OVMF's varstore has none), u64 base, u64 length. */
	char desc[42] = "Fv(XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)";
	const uint8_t *fv = fw->fw + cfv->data_offset;
	if (cfv->raw_size >= 56 && !memcmp(fv + 40, "_FVH", 4)) {
		uint16_t ext = cmn_le16(fv + 52);
		if (ext && (uint64_t)ext + 16 <= cfv->raw_size) {
			char g[37];
			cvmf_guid_format(fv + ext, g);
			snprintf(desc, sizeof(desc), "Fv(%s)", g);
		}
	}
	uint8_t d[1 + 41 + 16];
	d[0] = 41;
	memcpy(d + 1, desc, 41);
	cmn_put_le64(d + 42, cfv->gpa);
	cmn_put_le64(d + 50, cfv->raw_size);
	struct msr_bank_digests dg = { 0 };
	memcpy(dg.sha384, fw->cfv_sha384, 48);
	return msr_uefi_ev_digests(e, 1, CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2, &dg, d, sizeof(d),
				    false, "CFV (varstore)");
}

static int acpi_events(struct msr_uefi_emit *e, const struct job *a)
{
	static const char data[] = "ACPI DATA";
	int r = msr_uefi_ev(e, 1, CVMF_EV_PLATFORM_CONFIG_FLAGS, a->loader, a->loader_len, data,
			     9, "etc/table-loader");
	if (!r)
		r = msr_uefi_ev(e, 1, CVMF_EV_PLATFORM_CONFIG_FLAGS, a->rsdp, a->rsdp_len, data, 9,
				 "etc/acpi/rsdp");
	if (!r)
		r = msr_uefi_ev(e, 1, CVMF_EV_PLATFORM_CONFIG_FLAGS, a->tables, a->tables_len, data,
				 9, "etc/acpi/tables");
	return r;
}

/* The direct-boot sequence in log order (docs/measure-tdx.md). */
static int build_log(cvmf_ctx *ctx, const struct cvmf_tdx_spec *spec, struct cvmf_tdx_result *res,
		     const struct job *fw, const struct job *acpi, const uint8_t *initrd384)
{
	static const uint16_t algs[] = { CVMF_TCG_SHA384 };
	int r = cvmf_eventlog_new(ctx, CVMF_EVLOG_CCEL, algs, 1, &res->log);
	if (r)
		return r;
	struct msr_uefi_emit e;
	r = msr_uefi_emit_init(ctx, &e, res->log);
	if (r)
		return r;
	uint8_t *hob = NULL;
	size_t hob_len = 0;
	bool rtmr0 = acpi != NULL;
	if (rtmr0) {
		r = msr_tdx_td_hob(ctx, fw->ovmf, spec->memory, &hob, &hob_len, &res->td_hob_gpa);
		res->td_hob_len = hob_len;
		if (!r)
			r = td_hob_event(&e, hob, hob_len, res->td_hob_gpa);
		if (!r)
			r = cfv_event(&e, fw);
		if (!r)
			r = msr_uefi_secure_boot_vars(&e, 7, -1, NULL);
		if (!r)
			r = msr_uefi_separator(&e, 7);
		if (!r)
			r = acpi_events(&e, acpi);
	}
	struct msr_bank_digests kd = { 0 };
	memcpy(kd.sha384, res->kernel_authenticode, 48);
	if (!r)
		r = msr_uefi_kernel(&e, &kd, res->kernel.size);
	if (!r && rtmr0)
		r = msr_uefi_boot_vars_direct(&e);
	if (!r)
		r = msr_uefi_calling_boot_option(&e);
	/* The ReadyToBoot separator: RTMR0 up to edk2 202408, RTMR1 from 202411. */
	if (!r && spec->layout == CVMF_TDX_LAYOUT_2024_11)
		r = msr_uefi_separator(&e, 4);
	else if (!r && rtmr0)
		r = msr_uefi_separator(&e, 1);
	if (!r && spec->stub_cc) {
		r = msr_uefi_load_options(&e, spec->append, spec->initrd_path != NULL);
		if (!r && spec->initrd_path) {
			struct msr_bank_digests id = { 0 };
			memcpy(id.sha384, initrd384, 48);
			r = msr_uefi_initrd(&e, &id);
		}
	}
	if (!r)
		r = msr_uefi_exit_boot_services(&e);
	msr_uefi_emit_fini(&e);
	free(hob);
	return r;
}

/* ---- the measurement ---- */

void cvmf_tdx_result_free(struct cvmf_tdx_result *r)
{
	if (!r)
		return;
	cvmf_eventlog_free(r->log);
	free(r);
}

static int check_spec(cvmf_ctx *ctx, const struct cvmf_tdx_spec *s)
{
	if (!s->ovmf_path)
		return cmn_error(ctx, CVMF_E_INVAL, "a TDVF firmware image is required");
	if (!s->kernel_path && (s->initrd_path || (s->append && *s->append) || s->acpi_tables_path))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "an initrd, a command line or ACPI tables are measured only with a kernel");
	if ((s->acpi_rsdp_path || s->acpi_loader_path) && !s->acpi_tables_path)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the ACPI RSDP and table loader go with the ACPI tables they point into");
	if ((unsigned)s->page_order > CVMF_TDX_TWO_PASS || (unsigned)s->layout > CVMF_TDX_LAYOUT_2024_11)
		return cmn_error(ctx, CVMF_E_INVAL, "unknown page order or event layout");
	if (s->kernel_path && (s->memory == 0 || s->memory % CMN_PAGE_SIZE))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the guest memory size must be a non-zero multiple of 4 KiB, not %llu bytes",
				  (unsigned long long)s->memory);
	return 0;
}

int cvmf_tdx_measure(cvmf_ctx *ctx, const struct cvmf_tdx_spec *spec, struct cvmf_tdx_result **ret)
{
	int r = check_spec(ctx, spec);
	if (r)
		return r;
	struct cvmf_tdx_result *res = calloc(1, sizeof(*res));
	if (!res)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (spec->kernel_path)
		res->below_4g = msr_qemu_below_4g(spec->memory, true);

	struct job fw = { .run = job_firmware }, kern = { .run = job_kernel },
		   acpi = { .run = job_acpi }, i384 = { .run = job_file_digest },
		   i256 = { .run = job_file_digest };
	uint8_t initrd384[48];
	struct job *all[] = { &i384, &i256, &kern, &fw, &acpi };
	struct job *jobs[CMN_ARRAY_SIZE(all)];
	size_t n = 0;
	for (size_t i = 0; i < CMN_ARRAY_SIZE(all); i++) {
		all[i]->spec = spec;
		all[i]->res = res;
	}
	/* The kernel's header and the initrd's size first (a few reads): an
	 * initrd QEMU would refuse is not hashed for nothing. The kernel job
	 * reports the error in its turn below. */
	cvmf_ctx pre = { 0 };
	int pre_r = 0;
	if (spec->initrd_path && spec->kernel_path) {
		uint64_t isz = 0;
		int fd = cmn_input_open(&pre, "initrd", spec->initrd_path, CMN_MAX_INITRD, 0, &isz);
		if (fd >= 0) {
			close(fd);
			struct msr_qemu_linux q = {
				.below_4g = msr_qemu_below_4g(spec->memory, true),
				.acpi_data_size = spec->acpi_data_size,
				.cmdline = spec->append ? spec->append : "",
				.has_initrd = true,
				.initrd_size = isz,
			};
			pre_r = msr_kernel_check(&pre, spec->kernel_path, &q, true, NULL);
		} else {
			pre_r = fd;
		}
	}
	if (spec->initrd_path && !pre_r) {
		i384.what = i256.what = "initrd";
		i384.path = i256.path = spec->initrd_path;
		i384.alg = CMN_SHA384;
		i384.out = initrd384;
		i256.alg = CMN_SHA256;
		i256.out = res->initrd.sha256;
		jobs[n++] = &i384;
		jobs[n++] = &i256;
	}
	if (spec->kernel_path)
		jobs[n++] = &kern;
	jobs[n++] = &fw;
	if (spec->kernel_path && spec->acpi_tables_path)
		jobs[n++] = &acpi;
	run_jobs(jobs, n);

	/* Report the first failure in a fixed order, whatever finished first. */
	struct job *order[] = { &fw, &kern, &i384, &i256, &acpi };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(order) && !r; i++)
		if (order[i]->rc)
			r = cmn_error(ctx, order[i]->rc, "%s", order[i]->ctx.msg);
	if (!r && pre_r)
		r = cmn_error(ctx, pre_r, "%s", pre.msg);
	if (!r && spec->initrd_path) {
		res->initrd.present = true;
		res->initrd.size = i384.size;
		memcpy(res->initrd.sha384, initrd384, 48);
	}
	if (!r && spec->kernel_path && res->fw_known && !res->fw_tdx_measure) {
		/* RTMR3 is the OS's: zero at launch whatever the firmware. */
		res->have_rtmr[3] = true;
	} else if (!r && spec->kernel_path) {
		r = build_log(ctx, spec, res, &fw, spec->acpi_tables_path ? &acpi : NULL, initrd384);
		uint8_t regs[4][64];
		if (!r)
			r = cvmf_eventlog_replay(ctx, res->log, CVMF_TCG_SHA384, regs, 4);
		for (int i = 0; !r && i < 4; i++) {
			memcpy(res->rtmr[i], regs[i], 48);
			res->have_rtmr[i] = i > 0 || spec->acpi_tables_path;
		}
	}
	free(fw.fw);
	cvmf_ovmf_free(fw.ovmf);
	free(acpi.tables);
	free(acpi.rsdp);
	free(acpi.loader);
	if (r) {
		cvmf_tdx_result_free(res);
		return r;
	}
	*ret = res;
	return 0;
}
