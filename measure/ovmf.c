/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVMF firmware image: the footer GUID table and the SEV ("ASEV") metadata.
 *
 * Layout, read backwards from the end of the file (n = file size):
 *   n-32 .. n      reset vector area (not parsed)
 *   n-48 .. n-32   OVMF_TABLE_FOOTER GUID
 *   n-50 .. n-48   u16 table length, including this 18-byte footer
 *   entries, each ending at p: GUID at p-16, u16 length L (data + 18) at
 *   p-18, data at p-L .. p-18; the next entry ends at p-L.
 * Every offset read here is bounds-checked against the file before use.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

/* GUIDs as stored in the file (EFI mixed-endian). */
static const uint8_t GUID_TABLE_FOOTER[16] = {
	0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
	0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const uint8_t GUID_SEV_ES_RESET_BLOCK[16] = {
	0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
	0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const uint8_t GUID_SEV_HASH_TABLE_RV[16] = {
	0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
	0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };
static const uint8_t GUID_SEV_SECRET_BLOCK[16] = {
	0x61, 0xb3, 0x2e, 0x4c, 0x9b, 0x7d, 0xc3, 0x4c,
	0x80, 0x81, 0x12, 0x7c, 0x90, 0xd3, 0xd2, 0x94 };
static const uint8_t GUID_OVMF_SEV_METADATA[16] = {
	0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
	0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc };
static const uint8_t GUID_TDX_METADATA[16] = {
	0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
	0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2 };
static const uint8_t GUID_IGVM_METADATA[16] = {
	0x0e, 0xa7, 0x4f, 0x78, 0x76, 0x31, 0x77, 0x46,
	0x8a, 0x20, 0x04, 0xb6, 0x86, 0x99, 0xe3, 0x74 };
static const uint8_t GUID_SVSM_INFO[16] = {
	0x12, 0xa6, 0x89, 0xa7, 0x97, 0x05, 0x4b, 0x4c,
	0xa4, 0x9f, 0xcb, 0xb1, 0xfe, 0x9d, 0x1d, 0xdd };

static const struct {
	const uint8_t *guid;
	const char *name;
} known_guids[] = {
	{ GUID_TABLE_FOOTER, "OVMF_TABLE_FOOTER" },
	{ GUID_SEV_ES_RESET_BLOCK, "SEV_ES_RESET_BLOCK" },
	{ GUID_SEV_HASH_TABLE_RV, "SEV_HASH_TABLE_RV" },
	{ GUID_SEV_SECRET_BLOCK, "SEV_SECRET_BLOCK" },
	{ GUID_OVMF_SEV_METADATA, "OVMF_SEV_METADATA" },
	{ GUID_TDX_METADATA, "TDX_METADATA" },
	{ GUID_IGVM_METADATA, "IGVM_METADATA" },
	{ GUID_SVSM_INFO, "SVSM_INFO" },
};

#define FOOTER_RESERVED 32   /* reset vector area at the very end */
#define ENTRY_HDR 18         /* u16 length + GUID */
#define ASEV_HDR 16
#define ASEV_DESC 12
#define MAX_IMAGE (64u << 20)   /* firmware is mapped below 4 GiB; OVMF is 2-4 MiB */

const char *cvmf_ovmf_guid_name(const uint8_t guid[16])
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(known_guids); i++)
		if (!memcmp(guid, known_guids[i].guid, 16))
			return known_guids[i].name;
	return NULL;
}

void cvmf_guid_format(const uint8_t g[16], char *out)
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 cmn_le32(g), cmn_le16(g + 4), cmn_le16(g + 6), g[8], g[9], g[10],
		 g[11], g[12], g[13], g[14], g[15]);
}

const char *cvmf_snp_section_name(uint32_t type)
{
	switch (type) {
	case CVMF_SNP_SEC_MEM: return "SNP_SEC_MEM";
	case CVMF_SNP_SECRETS: return "SNP_SECRETS";
	case CVMF_SNP_CPUID: return "CPUID";
	case CVMF_SNP_SVSM_CAA: return "SVSM_CAA";
	case CVMF_SNP_KERNEL_HASHES: return "SNP_KERNEL_HASHES";
	}
	return NULL;
}

void cvmf_ovmf_free(struct cvmf_ovmf *o)
{
	if (!o)
		return;
	free(o->entries);
	free(o->sections);
	free(o->tdvf_sections);
	free(o);
}

/* The data of a known entry must be at least `need` bytes. */
static int need_data(cvmf_ctx *ctx, const struct cvmf_guid_entry *e, size_t need)
{
	if (e->data_len >= need)
		return 0;
	return cmn_error(ctx, CVMF_E_FORMAT,
			  "OVMF footer entry %s at offset 0x%zx has %zu data bytes, needs %zu",
			  cvmf_ovmf_guid_name(e->guid), e->data_offset, e->data_len, need);
}

static int parse_table(cvmf_ctx *ctx, const uint8_t *buf, size_t n, struct cvmf_ovmf *o)
{
	if (n < FOOTER_RESERVED + ENTRY_HDR)
		return 0;   /* too small to hold a table: none */
	const size_t footer_end = n - FOOTER_RESERVED;
	if (memcmp(buf + footer_end - 16, GUID_TABLE_FOOTER, 16))
		return 0;
	size_t table_len = cmn_le16(buf + footer_end - ENTRY_HDR);
	if (table_len < ENTRY_HDR || table_len > footer_end)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "OVMF footer table length %zu at offset 0x%zx does not fit the %zu-byte file",
				  table_len, footer_end - ENTRY_HDR, n);
	o->has_table = true;
	const size_t start = footer_end - table_len;
	size_t p = footer_end - ENTRY_HDR;
	size_t cap = 0;
	while (p - start >= ENTRY_HDR) {
		size_t len = cmn_le16(buf + p - ENTRY_HDR);
		if (len < ENTRY_HDR)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "OVMF footer entry at offset 0x%zx has length %zu, less than its %d-byte header",
					  p - ENTRY_HDR, len, ENTRY_HDR);
		if (len > p - start)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "OVMF footer entry at offset 0x%zx has length %zu, past the table start at 0x%zx",
					  p - ENTRY_HDR, len, start);
		if (o->n_entries == cap) {
			cap = cap ? cap * 2 : 8;
			void *ne = realloc(o->entries, cap * sizeof(*o->entries));
			if (!ne)
				return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			o->entries = ne;
		}
		struct cvmf_guid_entry *e = &o->entries[o->n_entries];
		memcpy(e->guid, buf + p - 16, 16);
		e->data_offset = p - len;
		e->data_len = len - ENTRY_HDR;
		for (size_t i = 0; i < o->n_entries; i++)
			if (!memcmp(o->entries[i].guid, e->guid, 16)) {
				char g[37];
				cvmf_guid_format(e->guid, g);
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "OVMF footer table lists GUID %s twice (offsets 0x%zx and 0x%zx)",
						  g, o->entries[i].data_offset, e->data_offset);
			}
		o->n_entries++;
		p -= len;
	}
	return 0;
}

static int parse_known_entries(cvmf_ctx *ctx, const uint8_t *buf, size_t n,
			       struct cvmf_ovmf *o)
{
	int r;
	for (size_t i = 0; i < o->n_entries; i++) {
		const struct cvmf_guid_entry *e = &o->entries[i];
		const uint8_t *d = buf + e->data_offset;
		if (!memcmp(e->guid, GUID_SEV_ES_RESET_BLOCK, 16)) {
			if ((r = need_data(ctx, e, 4)))
				return r;
			o->has_reset_eip = true;
			o->reset_eip = cmn_le32(d);
		} else if (!memcmp(e->guid, GUID_SEV_HASH_TABLE_RV, 16)) {
			if ((r = need_data(ctx, e, 8)))
				return r;
			o->has_hashes_rv = true;
			o->hashes_base = cmn_le32(d);
			o->hashes_size = cmn_le32(d + 4);
		} else if (!memcmp(e->guid, GUID_SEV_SECRET_BLOCK, 16)) {
			if ((r = need_data(ctx, e, 8)))
				return r;
			o->has_secret_block = true;
			o->secret_base = cmn_le32(d);
			o->secret_size = cmn_le32(d + 4);
		} else if (!memcmp(e->guid, GUID_SVSM_INFO, 16)) {
			if ((r = need_data(ctx, e, 4)))
				return r;
			o->has_svsm_info = true;
			o->svsm_entry_offset = cmn_le32(d);
		} else if (!memcmp(e->guid, GUID_OVMF_SEV_METADATA, 16)) {
			if ((r = need_data(ctx, e, 4)))
				return r;
			uint32_t off = cmn_le32(d);
			if (off < ASEV_HDR || off > n)
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "OVMF SEV metadata offset 0x%x (from the end) points outside the %zu-byte file",
						  off, n);
			o->has_sev_metadata = true;
			o->sev_metadata_offset = n - off;
		} else if (!memcmp(e->guid, GUID_TDX_METADATA, 16)) {
			if ((r = need_data(ctx, e, 4)))
				return r;
			uint32_t off = cmn_le32(d);
			o->has_tdx_metadata = true;
			if (off < 16 || off > n) {
				o->tdx_err = CVMF_E_FORMAT;
				snprintf(o->tdx_errmsg, sizeof(o->tdx_errmsg),
					 "TDX metadata offset 0x%x (from the end) points outside the %zu-byte file",
					 off, n);
			} else {
				o->tdx_metadata_offset = n - off;
			}
		}
	}
	return 0;
}

static int parse_sev_metadata(cvmf_ctx *ctx, const uint8_t *buf, size_t n,
			      struct cvmf_ovmf *o)
{
	const size_t at = o->sev_metadata_offset;
	const uint8_t *h = buf + at;
	if (n - at < ASEV_HDR)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "OVMF SEV metadata header at offset 0x%zx is cut off by the end of the file",
				  at);
	if (memcmp(h, "ASEV", 4))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "OVMF SEV metadata at offset 0x%zx has no \"ASEV\" signature",
				  at);
	uint32_t size = cmn_le32(h + 4), version = cmn_le32(h + 8), count = cmn_le32(h + 12);
	if (version != 1)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "OVMF SEV metadata at offset 0x%zx has version %u; only version 1 is known",
				  at, version);
	uint64_t need = ASEV_HDR + (uint64_t)ASEV_DESC * count;
	if (need > n - at)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "OVMF SEV metadata at offset 0x%zx declares %u sections, past the end of the file",
				  at, count);
	if (size < need)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "OVMF SEV metadata at offset 0x%zx has size %u, too small for its %u sections",
				  at, size, count);
	o->sections = calloc(count ? count : 1, sizeof(*o->sections));
	if (!o->sections)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *d = h + ASEV_HDR + (size_t)ASEV_DESC * i;
		struct cvmf_snp_section *s = &o->sections[i];
		s->gpa = cmn_le32(d);
		s->len = cmn_le32(d + 4);
		s->type = cmn_le32(d + 8);
		if (!cvmf_snp_section_name(s->type))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "OVMF SEV metadata section %u (GPA 0x%x) has unknown type 0x%x",
					  i, s->gpa, s->type);
		if (s->len == 0 || s->gpa % CMN_PAGE_SIZE || s->len % CMN_PAGE_SIZE)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "OVMF SEV metadata section %u (%s, GPA 0x%x, length 0x%x) is not whole 4 KiB pages",
					  i, cvmf_snp_section_name(s->type), s->gpa, s->len);
		if ((uint64_t)s->gpa + s->len > 0x100000000ull)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "OVMF SEV metadata section %u (%s, GPA 0x%x, length 0x%x) runs past 4 GiB",
					  i, cvmf_snp_section_name(s->type), s->gpa, s->len);
		o->n_sections++;
	}
	return 0;
}

unsigned cvmf_ovmf_kernel_hashes(const struct cvmf_ovmf *o,
				 const struct cvmf_snp_section **ret_section)
{
	const struct cvmf_snp_section *kh = NULL;
	unsigned why = 0;
	for (size_t i = 0; i < o->n_sections && !kh; i++)
		if (o->sections[i].type == CVMF_SNP_KERNEL_HASHES)
			kh = &o->sections[i];
	if (!kh)
		why |= CVMF_KH_NO_SECTION;
	else if (kh->len != CMN_PAGE_SIZE)
		why |= CVMF_KH_SECTION_NOT_PAGE;
	/* QEMU's "hashes table area is invalid" check, plus the table's page. */
	if (!o->has_hashes_rv || o->hashes_base == 0)
		why |= CVMF_KH_NO_AREA;
	else if (o->hashes_size < MSR_SEV_HASHES_PADDED_LEN ||
		 (o->hashes_base & 0xfff) + MSR_SEV_HASHES_PADDED_LEN > CMN_PAGE_SIZE)
		why |= CVMF_KH_AREA_TOO_SMALL;
	if (ret_section)
		*ret_section = kh;
	return why;
}

/*
 * What every OVMF image has, with or without SEV/TDX support (edk2's
 * OvmfPkg/ResetVector and its .fdf layout):
 *   - firmware volumes back to back from offset 0 to the end of the file,
 *     each with the "_FVH" signature at +40, a header length (+48) of at
 *     least 56 bytes whose 16-bit words sum to 0, and a length (+32) that
 *     is a whole number of 4 KiB pages within the file;
 *   - the reset vector's "VTF\0" signature 20 bytes before the end, just
 *     ahead of the instruction at 0xFFFFFFF0;
 *   - the footer GUID table (OVMF_TABLE_FOOTER, 48 bytes before the end,
 *     in every edk2 release since 202011).
 * A variable store alone (OVMF_VARS.fd) is one volume with none of the rest.
 */
#define FV_SIGNATURE_AT 40
#define FV_MIN_HEADER 56

int cvmf_ovmf_validate(cvmf_ctx *ctx, const uint8_t *buf, size_t len, const struct cvmf_ovmf *o)
{
	if (len == 0 || len % CMN_PAGE_SIZE)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%zu bytes is not a whole number of 4 KiB pages, as a firmware image is (truncated?)",
				  len);
	size_t n_fv = 0;
	for (size_t off = 0; off < len; n_fv++) {
		const uint8_t *h = buf + off;
		if (len - off < FV_MIN_HEADER || memcmp(h + FV_SIGNATURE_AT, "_FVH", 4))
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "no firmware volume header (\"_FVH\" signature) at offset 0x%zx%s",
					  off, n_fv ? ", where the previous volume ends" : "");
		const uint64_t fv_len = cmn_le64(h + 32);
		const size_t hdr_len = cmn_le16(h + 48);
		if (hdr_len < FV_MIN_HEADER || hdr_len % 2 || hdr_len > len - off)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "firmware volume at offset 0x%zx has header length %zu",
					  off, hdr_len);
		uint16_t sum = 0;
		for (size_t i = 0; i < hdr_len; i += 2)
			sum = (uint16_t)(sum + cmn_le16(h + i));
		if (sum)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "firmware volume header at offset 0x%zx has a bad checksum",
					  off);
		if (fv_len < hdr_len || fv_len % CMN_PAGE_SIZE || fv_len > len - off)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "firmware volume at offset 0x%zx has length 0x%llx, but the file has 0x%zx bytes from there (truncated?)",
					  off, (unsigned long long)fv_len, len - off);
		off += (size_t)fv_len;
	}
	if (len < FOOTER_RESERVED || memcmp(buf + len - 20, "VTF", 4))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "no reset vector: the \"VTF\" signature is not at offset 0x%zx (20 bytes before the end)",
				  len - 20);
	if (!o->has_table)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "no OVMF footer GUID table (OVMF_TABLE_FOOTER GUID at offset 0x%zx)",
				  len - FOOTER_RESERVED - 16);
	return 0;
}

int msr_ovmf_read_image(cvmf_ctx *ctx, const char *what, const char *path, bool whole_pages,
			 uint8_t **ret_buf, size_t *ret_len, struct cvmf_ovmf **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = cmn_read_file(ctx, what, path, MAX_IMAGE, &buf, &len);
	if (r)
		return r;
	if (len == 0) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s '%s' is empty", what, path);
	} else if (whole_pages && len % CMN_PAGE_SIZE) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "%s '%s' is %zu bytes, not a whole number of 4 KiB pages (truncated?)",
			       what, path, len);
	} else if ((r = cvmf_ovmf_parse(ctx, buf, len, ret))) {
		/* Say which file the parser was looking at. */
		char msg[sizeof(ctx->msg)];
		snprintf(msg, sizeof(msg), "%s", ctx->msg);
		r = cmn_error(ctx, r, "%s '%s': %s", what, path, msg);
	}
	if (r || !ret_buf) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int cvmf_ovmf_read(cvmf_ctx *ctx, const char *path, struct cvmf_ovmf **ret)
{
	return msr_ovmf_read_image(ctx, "firmware", path, false, NULL, NULL, ret);
}

int cvmf_ovmf_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_ovmf **ret)
{
	struct cvmf_ovmf *o = calloc(1, sizeof(*o));
	if (!o)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	o->size = len;
	o->gpa = 0x100000000ull - (len <= 0x100000000ull ? len : 0);
	int r = parse_table(ctx, buf, len, o);
	if (!r)
		r = parse_known_entries(ctx, buf, len, o);
	if (!r && o->has_sev_metadata)
		r = parse_sev_metadata(ctx, buf, len, o);
	if (!r && o->has_tdx_metadata && !o->tdx_err)
		msr_tdvf_parse(buf, len, o);
	if (r) {
		cvmf_ovmf_free(o);
		return r;
	}
	*ret = o;
	return 0;
}
