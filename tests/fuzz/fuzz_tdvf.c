/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the TDVF metadata and what TDX builds on it:
 * cvmf_ovmf_parse() (measure/tdvf.c), msr_tdx_mrtd() and msr_tdx_td_hob()
 * (measure/tdx.c). The input is a TDVF descriptor with its sections, placed
 * in a synthetic OVMF image whose footer GUID table has a TDX_METADATA entry
 * pointing at it, so every input reaches the TDVF checks.
 *
 * Input: byte 0 picks the parameters, the rest is the descriptor.
 *   bits 0-2  guest RAM for the TD HOB (mod 5): 16 MiB, 1 GiB, 2 GiB,
 *             2815 MiB (just under QEMU's 0xb0000000 split), 4 GiB
 *   bit 3     MRTD page order (single-pass / two-pass)
 *   bits 4-5  image size: 64 KiB, 256 KiB, 1 MiB, 4 MiB (real descriptors)
 *   bit 6     raw: keep the descriptor's signature, version and length as
 *             given (otherwise "TDVF", 1 and 16 + 32 n are written over them,
 *             n the section count from the input)
 *   bit 7     leave out the TDVF metadata GUID in front of the descriptor
 * The descriptor (at most DESC_MAX bytes, zero-filled) sits DESC_AT bytes
 * from the end of the image; the rest of the image is a fixed pattern.
 *
 * When the sections are accepted (tdx_err == 0): every section's data lies
 * in the file, sizes are whole pages, nothing overlaps, exactly one TD_HOB;
 * MRTD succeeds (computed only for at most 256 pages, to keep execs fast);
 * and the TD HOB succeeds exactly when an independent model says it should,
 * and then lists ranges that are sorted, disjoint and tile the RAM exactly,
 * with the TD_HOB/TempMem sections accepted and everything else unaccepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvmforge/cvmforge.h"
#include "measure/measure.h"

#define PAGE 4096ull
#define MIB (1ull << 20)
#define FOUR_GIB 0x100000000ull
#define DESC_MAX 4096u             /* room for 16 + 32 * 64 and then some */
#define DESC_AT (DESC_MAX + 128u)  /* descriptor offset from the end */
#define TDVF_DESC 16
#define TDVF_SECTION 32
#define MAX_SECTIONS 64
#define MRTD_MAX_PAGES 256
#define BOTH_ORDERS_MAX_PAGES 64
#define HOB_PHIT 56
#define HOB_RES 48
#define HOB_END 8

enum { BFV = 0, CFV = 1, TD_HOB = 2, TEMP_MEM = 3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

/* EFI byte order, as in tests/unit/testlib.h. */
static const uint8_t GUID_FOOTER[16] = { 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const uint8_t GUID_TDX_META[16] = { 0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
					   0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2 };
static const uint8_t GUID_TDVF[16] = { 0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44,
				       0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae };

static const size_t image_sizes[4] = { 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
static const uint64_t rams[5] = { 16 * MIB, 1024 * MIB, 2048 * MIB, 2815 * MIB, 4096 * MIB };

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/*
 * A len-byte image: a pattern, then the footer table as edk2's ResetVector
 * lays it out (built like testlib.h's fw_new/fw_u32_entry/fw_finish): the
 * 32 reserved bytes at the end, before them the footer (u16 table length +
 * GUID), before that the TDX_METADATA entry (u32 offset from the end of the
 * file, u16 entry length, GUID).
 */
static uint8_t *make_image(size_t len)
{
	uint8_t *b = malloc(len);
	if (!b)
		__builtin_trap();
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 12) * 7);
	memset(b + len - DESC_AT, 0, DESC_AT);
	size_t end = len - 32;          /* footer table ends here */
	size_t p = end - 18;            /* the footer's own length + GUID */
	p -= 4 + 18;                    /* the TDX_METADATA entry */
	put32(b + p, (uint32_t)DESC_AT);
	put16(b + p + 4, 4 + 18);
	memcpy(b + p + 6, GUID_TDX_META, 16);
	put16(b + end - 18, (uint16_t)(end - p));
	memcpy(b + end - 16, GUID_FOOTER, 16);
	return b;
}

struct iv {
	uint64_t start, len;
};

static int cmp_iv(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void check_sections(const struct cvmf_ovmf *o, size_t size)
{
	unsigned hobs = 0;
	CHECK(o->n_tdvf_sections >= 2 && o->n_tdvf_sections <= MAX_SECTIONS);
	CHECK(o->tdvf_sections != NULL);
	for (size_t i = 0; i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *s = &o->tdvf_sections[i];
		CHECK(cvmf_tdvf_section_name(s->type) != NULL);
		CHECK((uint64_t)s->data_offset + s->raw_size <= size);
		CHECK(s->gpa % PAGE == 0 && s->mem_size % PAGE == 0 && s->mem_size != 0);
		CHECK(s->mem_size >= s->raw_size);
		CHECK(s->gpa + s->mem_size > s->gpa);
		if (s->type == BFV || s->type == CFV)
			CHECK(s->raw_size != 0);
		if (s->type == TD_HOB || s->type == TEMP_MEM)
			CHECK(s->raw_size == 0);
		hobs += s->type == TD_HOB;
		for (size_t j = 0; j < i; j++) {
			const struct cvmf_tdvf_section *u = &o->tdvf_sections[j];
			CHECK(s->gpa + s->mem_size <= u->gpa || u->gpa + u->mem_size <= s->gpa);
		}
	}
	CHECK(hobs == 1);
}

static uint64_t total_pages(const struct cvmf_ovmf *o)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < o->n_tdvf_sections; i++) {
		uint64_t p = o->tdvf_sections[i].mem_size / PAGE;
		if (p > MRTD_MAX_PAGES || pages + p > MRTD_MAX_PAGES)
			return UINT64_MAX;
		pages += p;
	}
	return pages;
}

static void check_mrtd(cvmf_ctx *ctx, const uint8_t *image, size_t size,
		       const struct cvmf_ovmf *o, enum cvmf_tdx_page_order order)
{
	uint64_t pages = total_pages(o);
	if (pages > MRTD_MAX_PAGES)
		return;
	uint8_t a[48], b[48];
	CHECK(msr_tdx_mrtd(ctx, image, size, o, order, a) == 0);
	if (pages > BOTH_ORDERS_MAX_PAGES)
		return;
	/* The orders differ only in sections both added and extended over
	 * more than one page; without those, the digests are the same. */
	bool same = true;
	for (size_t i = 0; i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *s = &o->tdvf_sections[i];
		if (!(s->attributes & 2) && (s->attributes & 1) && s->mem_size > PAGE)
			same = false;
	}
	CHECK(msr_tdx_mrtd(ctx, image, size, o,
			    order == CVMF_TDX_SINGLE_PASS ? CVMF_TDX_TWO_PASS : CVMF_TDX_SINGLE_PASS,
			    b) == 0);
	if (same)
		CHECK(!memcmp(a, b, 48));
}

/*
 * The TD HOB, checked against a model: QEMU's RAM below 4 GiB and above,
 * every TD_HOB and TempMem section accepted (it must lie whole inside one
 * of the two), the rest unaccepted; the HOB (PHIT, one resource descriptor
 * per range, END) must fit the TD_HOB section.
 */
static void check_td_hob(cvmf_ctx *ctx, const struct cvmf_ovmf *o, uint64_t ram)
{
	uint64_t below = msr_qemu_below_4g(ram, true);
	CHECK(below <= ram && below <= FOUR_GIB && below != 0);
	struct iv acc[MAX_SECTIONS];
	size_t k = 0;
	const struct cvmf_tdvf_section *hob = NULL;
	bool inside = true;
	for (size_t i = 0; i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *s = &o->tdvf_sections[i];
		if (s->type != TD_HOB && s->type != TEMP_MEM)
			continue;
		if (s->type == TD_HOB)
			hob = s;
		acc[k++] = (struct iv){ s->gpa, s->mem_size };
		uint64_t e = s->gpa + s->mem_size;   /* no wrap: checked by the parser */
		bool lo = e <= below;
		bool hi = ram > below && s->gpa >= FOUR_GIB && e - FOUR_GIB <= ram - below;
		inside = inside && (lo || hi);
	}
	CHECK(hob != NULL);
	qsort(acc, k, sizeof(acc[0]), cmp_iv);
	/* Expected ranges: the accepted sections and the gaps around them. */
	size_t n_expect = k;
	if (inside) {
		uint64_t regions[2][2] = { { 0, below }, { FOUR_GIB, FOUR_GIB + (ram - below) } };
		for (int r = 0; r < (ram > below ? 2 : 1); r++) {
			uint64_t at = regions[r][0];
			for (size_t i = 0; i < k; i++) {
				if (acc[i].start < regions[r][0] || acc[i].start >= regions[r][1])
					continue;
				n_expect += acc[i].start > at;
				at = acc[i].start + acc[i].len;
			}
			n_expect += regions[r][1] > at;
		}
	}
	bool fits = HOB_PHIT + HOB_RES * (uint64_t)n_expect + HOB_END <= hob->mem_size;

	uint8_t *b = (uint8_t *)(uintptr_t)1;
	size_t len = 12345;
	uint64_t gpa = 777;
	int r = msr_tdx_td_hob(ctx, o, ram, &b, &len, &gpa);
	if (r) {
		CHECK(r < 0);
		CHECK(cvmf_ctx_errmsg(ctx)[0] != '\0');
		CHECK(b == (uint8_t *)(uintptr_t)1 && len == 12345 && gpa == 777);
		CHECK(!(inside && fits));
		return;
	}
	CHECK(inside && fits);
	CHECK(b != NULL);
	CHECK(gpa == hob->gpa);
	CHECK(len > HOB_PHIT && (len - HOB_PHIT) % HOB_RES == 0);
	size_t n = (len - HOB_PHIT) / HOB_RES;
	CHECK(n == n_expect);
	CHECK(len + HOB_END <= hob->mem_size);
	/* PHIT: type 1, length 56, version 9, EfiEndOfHobList after END. */
	CHECK(get16(b) == 1 && get16(b + 2) == HOB_PHIT && get32(b + 8) == 9);
	CHECK(get64(b + 48) == hob->gpa + len + HOB_END);
	uint64_t sum = 0, next = 0;
	size_t ai = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *d = b + HOB_PHIT + HOB_RES * i;
		CHECK(get16(d) == 3 && get16(d + 2) == HOB_RES);
		uint32_t type = get32(d + 24);
		CHECK(type == 0 || type == 7);
		CHECK(get32(d + 28) == 7);
		uint64_t start = get64(d + 32), l = get64(d + 40);
		CHECK(l != 0 && start + l > start);
		/* Sorted, disjoint and gap-free but for the hole below 4 GiB. */
		if (i == 0)
			CHECK(start == 0);
		else if (next == below && ram > below)
			CHECK(start == FOUR_GIB);
		else
			CHECK(start == next);
		next = start + l;
		sum += l;
		if (type == 0) {
			CHECK(ai < k && acc[ai].start == start && acc[ai].len == l);
			ai++;
		}
	}
	CHECK(ai == k);
	CHECK(sum == ram);
	CHECK(next == (ram > below ? FOUR_GIB + ram - below : below));
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	static uint8_t *images[4];

	if (!ctx) {
		ctx = cvmf_ctx_new();
		if (!ctx)
			__builtin_trap();
		for (int i = 0; i < 4; i++)
			images[i] = make_image(image_sizes[i]);
	}
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	uint64_t ram = rams[(sel & 7) % 5];
	enum cvmf_tdx_page_order order = sel & 8 ? CVMF_TDX_TWO_PASS : CVMF_TDX_SINGLE_PASS;
	size_t len = image_sizes[(sel >> 4) & 3];
	uint8_t *image = images[(sel >> 4) & 3];
	bool raw = sel & 0x40, guid = !(sel & 0x80);
	data++;
	size--;

	size_t at = len - DESC_AT;
	uint8_t *d = image + at;
	size_t n = size < DESC_MAX ? size : DESC_MAX;
	memcpy(d, data, n);
	memset(d + n, 0, DESC_MAX - n);
	if (!raw) {
		memcpy(d, "TDVF", 4);
		put32(d + 4, (uint32_t)(TDVF_DESC + TDVF_SECTION * get32(d + 12)));
		put32(d + 8, 1);
	}
	if (guid)
		memcpy(d - 16, GUID_TDVF, 16);
	else
		memset(d - 16, 0, 16);

	struct cvmf_ovmf *o = NULL;
	/* The footer table is well formed: the parse itself must succeed. */
	CHECK(cvmf_ovmf_parse(ctx, image, len, &o) == 0);
	CHECK(o && o->has_table && o->has_tdx_metadata);
	CHECK(o->tdx_metadata_offset == at);
	if (o->tdx_err) {
		CHECK(o->tdx_err < 0 && o->tdx_errmsg[0] != '\0');
		CHECK(memchr(o->tdx_errmsg, '\0', sizeof(o->tdx_errmsg)) != NULL);
		CHECK(o->n_tdvf_sections == 0);
	} else {
		CHECK(guid);
		check_sections(o, len);
		check_mrtd(ctx, image, len, o, order);
		check_td_hob(ctx, o, ram);
	}
	cvmf_ovmf_free(o);
	return 0;
}
