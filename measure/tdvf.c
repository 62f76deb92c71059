/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDVF metadata (Intel TDX firmware): the "TDVF" descriptor and its sections.
 *
 *   GUID e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae (16 bytes before the descriptor)
 *   descriptor: "TDVF", u32 length (16 + 32 n), u32 version (1), u32 n
 *   section:    u32 data offset, u32 raw size, u64 GPA, u64 memory size,
 *               u32 type, u32 attributes
 * The checks are QEMU's (hw/i386/tdvf.c) plus overlap and bounds checks; a
 * failure is recorded in the ovmf struct, not returned, because SEV users
 * of the same image must not be blocked by its TDX half.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

static const uint8_t GUID_TDVF_METADATA[16] = {
	0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44,
	0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae };

#define TDVF_DESC 16
#define TDVF_SECTION 32
#define TDVF_MAX_SECTIONS 64

enum { BFV = 0, CFV, TD_HOB, TEMP_MEM, PERM_MEM, PAYLOAD, PAYLOAD_PARAM, TD_INFO, TD_PARAMS };

const char *cvmf_tdvf_section_name(uint32_t type)
{
	static const char *const names[] = { "BFV", "CFV", "TD_HOB", "TempMem", "PermMem",
					     "Payload", "PayloadParam", "TD_INFO", "TD_PARAMS" };
	return type < CMN_ARRAY_SIZE(names) ? names[type] : NULL;
}

__attribute__((format(printf, 2, 3)))
static void refuse(struct cvmf_ovmf *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->tdx_errmsg, sizeof(o->tdx_errmsg), fmt, ap);
	va_end(ap);
	o->tdx_err = CVMF_E_FORMAT;
	free(o->tdvf_sections);
	o->tdvf_sections = NULL;
	o->n_tdvf_sections = 0;
}

void msr_tdvf_parse(const uint8_t *buf, size_t n, struct cvmf_ovmf *o)
{
	const size_t at = o->tdx_metadata_offset;
	if (at < 16 || n - at < TDVF_DESC)
		return refuse(o, "TDVF descriptor at offset 0x%zx is cut off by the file", at);
	if (memcmp(buf + at - 16, GUID_TDVF_METADATA, 16))
		return refuse(o, "TDVF descriptor at offset 0x%zx is not preceded by the TDVF metadata GUID", at);
	const uint8_t *d = buf + at;
	if (memcmp(d, "TDVF", 4))
		return refuse(o, "TDVF descriptor at offset 0x%zx has no \"TDVF\" signature", at);
	uint32_t length = cmn_le32(d + 4), version = cmn_le32(d + 8), count = cmn_le32(d + 12);
	if (version != 1)
		return refuse(o, "TDVF descriptor has version %u; only version 1 is known", version);
	if (count < 2 || count > TDVF_MAX_SECTIONS)
		return refuse(o, "TDVF descriptor lists %u sections (expected 2 to %d)", count,
			      TDVF_MAX_SECTIONS);
	if (length != TDVF_DESC + TDVF_SECTION * count)
		return refuse(o, "TDVF descriptor length %u does not match its %u sections", length,
			      count);
	if (n - at < length)
		return refuse(o, "TDVF sections at offset 0x%zx run past the end of the file", at);
	o->tdvf_sections = calloc(count, sizeof(*o->tdvf_sections));
	if (!o->tdvf_sections)
		return refuse(o, "out of memory");
	unsigned hobs = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *s = d + TDVF_DESC + (size_t)TDVF_SECTION * i;
		struct cvmf_tdvf_section *t = &o->tdvf_sections[i];
		t->data_offset = cmn_le32(s);
		t->raw_size = cmn_le32(s + 4);
		t->gpa = cmn_le64(s + 8);
		t->mem_size = cmn_le64(s + 16);
		t->type = cmn_le32(s + 24);
		t->attributes = cmn_le32(s + 28);
		const char *name = cvmf_tdvf_section_name(t->type);
		if (!name)
			return refuse(o, "TDVF section %u has unknown type %u", i, t->type);
		if ((uint64_t)t->data_offset + t->raw_size > n)
			return refuse(o, "TDVF section %u (%s) data 0x%x+0x%x lies outside the %zu-byte file",
				      i, name, t->data_offset, t->raw_size, n);
		if (t->gpa % CMN_PAGE_SIZE || t->mem_size % CMN_PAGE_SIZE || t->mem_size == 0)
			return refuse(o, "TDVF section %u (%s) at GPA 0x%llx size 0x%llx is not whole 4 KiB pages",
				      i, name, (unsigned long long)t->gpa,
				      (unsigned long long)t->mem_size);
		if (t->mem_size < t->raw_size)
			return refuse(o, "TDVF section %u (%s) memory size 0x%llx is smaller than its data 0x%x",
				      i, name, (unsigned long long)t->mem_size, t->raw_size);
		if (t->gpa + t->mem_size < t->gpa)
			return refuse(o, "TDVF section %u (%s) wraps the address space", i, name);
		if ((t->type == BFV || t->type == CFV) && t->raw_size == 0)
			return refuse(o, "TDVF section %u (%s) has no data", i, name);
		if ((t->type == TD_HOB || t->type == TEMP_MEM) && t->raw_size != 0)
			return refuse(o, "TDVF section %u (%s) must not carry data", i, name);
		if (t->type == TD_HOB)
			hobs++;
		for (uint32_t j = 0; j < i; j++) {
			const struct cvmf_tdvf_section *u = &o->tdvf_sections[j];
			if (t->gpa < u->gpa + u->mem_size && u->gpa < t->gpa + t->mem_size)
				return refuse(o, "TDVF sections %u and %u overlap in guest memory", j, i);
		}
		o->n_tdvf_sections++;
	}
	if (hobs != 1)
		return refuse(o, "TDVF metadata has %u TD_HOB sections; exactly one is required", hobs);
}
