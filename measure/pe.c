/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Authenticode digest of a PE/COFF image, as edk2 computes it when it
 * measures an image it loads (SecurityPkg Tcg2Dxe MeasurePeImageAndExtend,
 * the same steps as DxeImageVerificationLib HashPeImage).
 *
 * Layout (all little-endian; "opt" = e_lfanew + 24, the optional header):
 *   0x00  "MZ", e_lfanew u32 at 0x3c (no "MZ": the PE header is at 0)
 *   e_lfanew       "PE\0\0", then the COFF file header: Machine u16,
 *                  NumberOfSections u16 at +6, SizeOfOptionalHeader u16 at +20
 *   opt+0          Magic 0x10b (PE32) or 0x20b (PE32+)
 *   opt+56, +60    SizeOfImage, SizeOfHeaders
 *   opt+64         CheckSum (both formats)
 *   opt+92 / +108  NumberOfRvaAndSizes (PE32 / PE32+)
 *   opt+96 / +112  DataDirectory[], 8 bytes each; entry 4 is the Certificate
 *                  Table {file offset, size}
 *   opt+SizeOfOptionalHeader   the section table, 40 bytes per section:
 *                  VirtualAddress +12, SizeOfRawData +16, PointerToRawData +20
 *
 * The digest, in this order -- THE ORDER IS THE MEASUREMENT:
 *   1. [0, opt+64), skipping the 4-byte CheckSum;
 *   2. if NumberOfRvaAndSizes > 4: on to the Certificate Table entry, skip
 *      its 8 bytes, on to SizeOfHeaders; otherwise straight to SizeOfHeaders;
 *   3. each section with SizeOfRawData > 0, in ascending PointerToRawData
 *      order (ties keep table order): [PointerToRawData, +SizeOfRawData);
 *   4. sum = SizeOfHeaders + those SizeOfRawData. If the file is longer than
 *      sum, cert = the Certificate Table size (0 without the entry), and the
 *      file is longer than sum + cert: [sum, file size - cert). If it is
 *      longer than sum but shorter than sum + cert, edk2 refuses the image.
 * No padding to 8 bytes. Gaps between sections are not hashed; bytes after
 * `sum` are, even when they are section data already hashed.
 *
 * Before hashing, edk2's PeCoffLoaderGetImageInfo (MdePkg BasePeCoffLib)
 * refuses images that fail its header checks; the same checks are made here,
 * each with its own message, so that every image measured here is one edk2
 * would measure. Not replicated: the Machine check (X64/EBC on x86 OVMF;
 * it says which firmware loads the image, not how it is hashed) and the
 * debug-directory walk, which refuses an image whose debug entries (found
 * through the section holding DataDirectory[6]) lie past the end of the
 * file, and which changes between edk2 releases.
 *
 * The headers up to the end of the section table are read once into a
 * buffer (at most HDR_MAX bytes; larger is refused as unsupported), and
 * everything else is streamed through a CHUNK-byte buffer, so memory stays
 * constant for any file size.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

#define HDR_MAX (64u * 1024)        /* file prefix parsed in memory */
#define CHUNK (256u * 1024)         /* streaming buffer */

#define DOS_HDR_LEN 64              /* edk2 reads the whole DOS header */
#define DOS_E_LFANEW 0x3c
#define NT_HDR_READ 264             /* sizeof(EFI_IMAGE_OPTIONAL_HEADER_UNION) */
#define COFF_NSECTIONS 6            /* from the PE signature */
#define COFF_SIZEOFOPT 20
#define OPT_START 24                /* signature + 20-byte COFF header */
#define OPT_SIZEOFIMAGE 56
#define OPT_SIZEOFHEADERS 60
#define OPT_CHECKSUM 64
#define MAGIC_PE32 0x10b
#define MAGIC_PE32PLUS 0x20b
#define PE32_NRVA 92
#define PE32PLUS_NRVA 108
#define PE32_DIRS 96                /* optional header size without directories */
#define PE32PLUS_DIRS 112
#define DIR_LEN 8
#define DIR_SECURITY 4
#define MAX_DIRS 16
#define SECTION_LEN 40
#define SEC_VA 12
#define SEC_RAWSIZE 16
#define SEC_RAWPTR 20

struct pe_run {
	cvmf_ctx *ctx;
	const char *what;
	const struct msr_pe_source *src;
	struct cmn_hasher *const *h;
	size_t n_h;
	uint8_t *hdr;       /* the first hdr_len bytes of the file */
	size_t hdr_len;
	uint8_t *chunk;     /* CHUNK bytes, allocated on first use */
};

struct raw {
	uint32_t ptr, size;
	uint16_t index;     /* table order, the tie-breaker */
};

static int feed(struct pe_run *p, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < p->n_h; i++)
		if (cmn_hasher_update(p->h[i], d, len))
			return cmn_error(p->ctx, CVMF_E_CRYPTO, "%s: hashing failed", p->what);
	return 0;
}

/* Hash [off, off+len) of the file: from the header buffer where it
 * covers the range, otherwise read in CHUNK-sized pieces. The caller has
 * checked that the range lies inside the file. */
static int hash_range(struct pe_run *p, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n;
		int r;

		if (off < p->hdr_len) {
			n = p->hdr_len - (size_t)off;
			if (n > len)
				n = (size_t)len;
			r = feed(p, p->hdr + off, n);
		} else {
			if (!p->chunk && !(p->chunk = malloc(CHUNK)))
				return cmn_error(p->ctx, CVMF_E_NOMEM, "out of memory");
			n = len < CHUNK ? (size_t)len : CHUNK;
			r = p->src->read(p->src->u, p->ctx, off, p->chunk, n);
			if (!r)
				r = feed(p, p->chunk, n);
		}
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

/* [off, off+len) must lie in the file, and in the parsed header prefix. */
static int need_hdr(struct pe_run *p, uint64_t off, uint64_t len, const char *field)
{
	uint64_t size = p->src->size;

	if (off > size || len > size - off)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: %s at 0x%" PRIx64 "+0x%" PRIx64
				  " runs past the end of the %" PRIu64 "-byte file",
				  p->what, field, off, len, size);
	if (off + len > p->hdr_len)
		return cmn_error(p->ctx, CVMF_E_UNSUPPORTED,
				  "%s: %s at 0x%" PRIx64 "+0x%" PRIx64
				  " lies beyond the first %u KiB; headers that large are not supported",
				  p->what, field, off, len, HDR_MAX / 1024);
	return 0;
}

/* A section name for messages: the 8 name bytes, printable ASCII only. */
static void section_name(const uint8_t *s, char out[9])
{
	size_t i;

	for (i = 0; i < 8 && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[i] = '\0';
}

static int cmp_raw(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;

	if (x->ptr != y->ptr)
		return x->ptr < y->ptr ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int authenticode(struct pe_run *p)
{
	const uint64_t size = p->src->size;
	const uint8_t *b = p->hdr;
	uint64_t pe, opt, sect, table_end, sum, cert_size = 0;
	uint32_t nrva, dirs, soi, soh;
	uint16_t magic, nsec, sopt;
	struct raw *raw = NULL;
	size_t n_raw = 0;
	int r;

	/* ---- DOS header and PE signature ---- */
	if (size < DOS_HDR_LEN)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: the %" PRIu64 "-byte file is too small for a %d-byte DOS header",
				  p->what, size, DOS_HDR_LEN);
	if (b[0] == 'M' && b[1] == 'Z') {
		pe = cmn_le32(b + DOS_E_LFANEW);
		if (pe > size || size - pe < NT_HDR_READ)
			return cmn_error(p->ctx, CVMF_E_FORMAT,
					  "%s: e_lfanew 0x%" PRIx64 " leaves no room for the %d bytes of PE headers in the %" PRIu64 "-byte file",
					  p->what, pe, NT_HDR_READ, size);
		if ((r = need_hdr(p, pe, NT_HDR_READ, "the PE header")))
			return r;
		if (memcmp(b + pe, "PE\0\0", 4))
			return cmn_error(p->ctx, CVMF_E_FORMAT,
					  "%s: no PE signature at e_lfanew 0x%" PRIx64, p->what, pe);
	} else {
		/* edk2 takes a file without a DOS header as PE headers at 0. */
		pe = 0;
		if (memcmp(b, "PE\0\0", 4))
			return cmn_error(p->ctx, CVMF_E_FORMAT,
					  "%s: not a PE/COFF image (no 'MZ' DOS header, no PE signature at offset 0)",
					  p->what);
		if (size < NT_HDR_READ)
			return cmn_error(p->ctx, CVMF_E_FORMAT,
					  "%s: the %" PRIu64 "-byte file is too small for the %d bytes of PE headers",
					  p->what, size, NT_HDR_READ);
	}

	/* ---- COFF and optional headers ---- */
	nsec = cmn_le16(b + pe + COFF_NSECTIONS);
	sopt = cmn_le16(b + pe + COFF_SIZEOFOPT);
	opt = pe + OPT_START;
	magic = cmn_le16(b + opt);
	if (magic == MAGIC_PE32) {
		nrva = cmn_le32(b + opt + PE32_NRVA);
		dirs = PE32_DIRS;
	} else if (magic == MAGIC_PE32PLUS) {
		nrva = cmn_le32(b + opt + PE32PLUS_NRVA);
		dirs = PE32PLUS_DIRS;
	} else {
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: optional header magic 0x%04x at 0x%" PRIx64
				  " is neither PE32 (0x10b) nor PE32+ (0x20b)",
				  p->what, magic, opt);
	}
	if (nrva > MAX_DIRS)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: NumberOfRvaAndSizes %" PRIu32 " at 0x%" PRIx64 " is more than %d",
				  p->what, nrva, opt + dirs - 4, MAX_DIRS);
	if (sopt != dirs + DIR_LEN * nrva)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: SizeOfOptionalHeader %u does not match NumberOfRvaAndSizes %" PRIu32
				  " (%s wants %" PRIu32 ")",
				  p->what, sopt, nrva, magic == MAGIC_PE32 ? "PE32" : "PE32+",
				  dirs + DIR_LEN * nrva);

	/* ---- SizeOfImage, SizeOfHeaders and the section table ---- */
	sect = opt + sopt;
	soi = cmn_le32(b + opt + OPT_SIZEOFIMAGE);
	soh = cmn_le32(b + opt + OPT_SIZEOFHEADERS);
	/* edk2 wants room for one more section header than there are. */
	if (soi <= sect || (soi - sect) / SECTION_LEN <= nsec)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: SizeOfImage 0x%" PRIx32 " is too small for %u section headers at 0x%" PRIx64,
				  p->what, soi, nsec, sect);
	if (soh <= sect)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: SizeOfHeaders 0x%" PRIx32 " ends before the section table at 0x%" PRIx64,
				  p->what, soh, sect);
	if (soh >= soi)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: SizeOfHeaders 0x%" PRIx32 " is not below SizeOfImage 0x%" PRIx32,
				  p->what, soh, soi);
	if ((soh - sect) / SECTION_LEN < nsec)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: the %u-entry section table at 0x%" PRIx64
				  " runs past SizeOfHeaders 0x%" PRIx32,
				  p->what, nsec, sect, soh);
	if (soh > size)
		return cmn_error(p->ctx, CVMF_E_FORMAT,
				  "%s: SizeOfHeaders 0x%" PRIx32 " runs past the end of the %" PRIu64
				  "-byte file (truncated?)",
				  p->what, soh, size);
	table_end = sect + (uint64_t)SECTION_LEN * nsec;
	if ((r = need_hdr(p, sect, table_end - sect, "the section table")))
		return r;

	/* ---- the Certificate Table ---- */
	if (nrva > DIR_SECURITY) {
		const uint8_t *d = b + opt + dirs + DIR_LEN * DIR_SECURITY;
		uint32_t cert_off = cmn_le32(d);

		cert_size = cmn_le32(d + 4);
		if (cert_size && (uint64_t)cert_off + cert_size > size)
			return cmn_error(p->ctx, CVMF_E_FORMAT,
					  "%s: certificate table 0x%" PRIx32 "+0x%" PRIx64
					  " runs past the end of the %" PRIu64 "-byte file",
					  p->what, cert_off, cert_size, size);
		if (cert_size && (uint64_t)cert_off + cert_size > UINT32_MAX)
			return cmn_error(p->ctx, CVMF_E_FORMAT,
					  "%s: certificate table 0x%" PRIx32 "+0x%" PRIx64
					  " overflows 32 bits", p->what, cert_off, cert_size);
	}

	/* ---- the sections ---- */
	if (nsec && !(raw = calloc(nsec, sizeof(*raw))))
		return cmn_error(p->ctx, CVMF_E_NOMEM, "out of memory");
	for (uint16_t i = 0; i < nsec; i++) {
		const uint8_t *s = b + sect + (size_t)SECTION_LEN * i;
		uint32_t va = cmn_le32(s + SEC_VA);
		uint32_t rs = cmn_le32(s + SEC_RAWSIZE);
		uint32_t rp = cmn_le32(s + SEC_RAWPTR);
		char name[9];

		if (!rs)
			continue;
		section_name(s, name);
		if (va < soh || rp < soh) {
			r = cmn_error(p->ctx, CVMF_E_FORMAT,
				       "%s: section %u '%s' (VirtualAddress 0x%" PRIx32
				       ", PointerToRawData 0x%" PRIx32 ") lies inside the headers (SizeOfHeaders 0x%" PRIx32 ")",
				       p->what, i, name, va, rp, soh);
			goto out;
		}
		if ((uint64_t)rp + rs > size) {
			r = cmn_error(p->ctx, CVMF_E_FORMAT,
				       "%s: section %u '%s' raw data 0x%" PRIx32 "+0x%" PRIx32
				       " runs past the end of the %" PRIu64 "-byte file",
				       p->what, i, name, rp, rs, size);
			goto out;
		}
		if ((uint64_t)rp + rs > UINT32_MAX) {
			r = cmn_error(p->ctx, CVMF_E_FORMAT,
				       "%s: section %u '%s' raw data 0x%" PRIx32 "+0x%" PRIx32
				       " overflows 32 bits", p->what, i, name, rp, rs);
			goto out;
		}
		raw[n_raw++] = (struct raw){ rp, rs, i };
	}
	if (n_raw > 1)
		qsort(raw, n_raw, sizeof(*raw), cmp_raw);

	/* ---- hash: headers, sections, trailing data ---- */
	r = hash_range(p, 0, opt + OPT_CHECKSUM);
	if (r)
		goto out;
	if (nrva > DIR_SECURITY) {
		uint64_t dir = opt + dirs + DIR_LEN * DIR_SECURITY;

		r = hash_range(p, opt + OPT_CHECKSUM + 4, dir - (opt + OPT_CHECKSUM + 4));
		if (!r)
			r = hash_range(p, dir + DIR_LEN, soh - (dir + DIR_LEN));
	} else {
		r = hash_range(p, opt + OPT_CHECKSUM + 4, soh - (opt + OPT_CHECKSUM + 4));
	}
	sum = soh;
	for (size_t i = 0; !r && i < n_raw; i++) {
		r = hash_range(p, raw[i].ptr, raw[i].size);
		sum += raw[i].size;
	}
	if (r)
		goto out;
	if (size > sum) {
		if (size > sum + cert_size) {
			r = hash_range(p, sum, size - cert_size - sum);
		} else if (size < sum + cert_size) {
			r = cmn_error(p->ctx, CVMF_E_FORMAT,
				       "%s: the 0x%" PRIx64 "-byte certificate table does not fit in the 0x%" PRIx64
				       " bytes after the 0x%" PRIx64 " bytes of headers and sections",
				       p->what, cert_size, size - sum, sum);
		}
	}
out:
	free(raw);
	return r;
}

int msr_authenticode(cvmf_ctx *ctx, const char *what, const struct msr_pe_source *src,
		      struct cmn_hasher *const *hashers, size_t n_hashers, uint8_t *const *out)
{
	struct pe_run p = {
		.ctx = ctx,
		.what = what ? what : "PE image",
		.src = src,
		.h = hashers,
		.n_h = n_hashers,
	};
	int r;

	if (!src || !src->read || (n_hashers && (!hashers || !out)))
		return cmn_error(ctx, CVMF_E_INVAL, "%s: no source or no hashers", p.what);
	for (size_t i = 0; i < n_hashers; i++)
		if (cmn_hasher_reset(hashers[i]))
			return cmn_error(ctx, CVMF_E_CRYPTO, "%s: cannot reset a hasher", p.what);

	p.hdr_len = src->size < HDR_MAX ? (size_t)src->size : HDR_MAX;
	if (!(p.hdr = malloc(p.hdr_len ? p.hdr_len : 1)))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	r = p.hdr_len ? src->read(src->u, ctx, 0, p.hdr, p.hdr_len) : 0;
	if (!r)
		r = authenticode(&p);
	for (size_t i = 0; !r && i < n_hashers; i++)
		if (cmn_hasher_final(hashers[i], out[i]))
			r = cmn_error(ctx, CVMF_E_CRYPTO, "%s: hashing failed", p.what);
	free(p.hdr);
	free(p.chunk);
	return r;
}

static int mem_read(void *u, cvmf_ctx *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct msr_pe_mem *m = u;

	if (off > m->src.size || len > m->src.size - off)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "read of 0x%zx bytes at 0x%" PRIx64 " past the %" PRIu64 "-byte buffer",
				  len, off, m->src.size);
	if (len)
		memcpy(buf, m->buf + off, len);
	return 0;
}

void msr_pe_mem_init(struct msr_pe_mem *m, const uint8_t *buf, size_t len)
{
	m->src.size = len;
	m->src.read = mem_read;
	m->src.u = m;
	m->buf = buf;
}
