/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UEFI firmware volumes (PI spec vol. 3): the volumes of an OVMF image, the
 * FFS files in them and their sections, with the LZMA-compressed sections
 * decoded, so that the drivers a firmware carries are read rather than
 * taken on the user's word.
 *
 * Volume header (EFI_FIRMWARE_VOLUME_HEADER), at the volume's start:
 *   +16 FileSystemGuid, +32 u64 FvLength, +40 "_FVH", +44 u32 Attributes
 *   (bit 11: erase polarity), +48 u16 HeaderLength, +50 u16 Checksum (the
 *   header's 16-bit words sum to 0), +52 u16 ExtHeaderOffset (0: none; the
 *   extension is a 16-byte name GUID and a u32 size).
 * Files (EFI_FFS_FILE_HEADER, 8-byte aligned from the volume start):
 *   +0 Name GUID, +16 u16 checksums, +18 u8 Type, +19 u8 Attributes (bit 0
 *   FFS_ATTRIB_LARGE_FILE: a 32-byte header with a u64 size at +24), +20
 *   u24 Size (header included), +23 u8 State. A header of erase bytes is
 *   free space: the end of the files.
 * Sections (4-byte aligned from the file's data): u24 Size (0xffffff: a u32
 *   size at +4, 8-byte header), u8 Type. GUID-defined (0x02): GUID, u16
 *   DataOffset from the section start, u16 Attributes (bit 0: processing
 *   required). edk2's LZMA GUID EE4E5898-3914-4259-9D6E-DC7BD79403CF holds
 *   the LZMA "alone" format (13-byte header: properties, u32 dictionary
 *   size, u64 decoded size), which lzma_alone_decoder reads.
 *
 * Everything is bounded: volume and file sizes against their container,
 * decoded sizes against MAX_DECODED (each) and MAX_DECODED_TOTAL, nesting
 * against MAX_DEPTH, and the counts of volumes, files and sections.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <lzma.h>

#include "common/internal.h"
#include "measure/measure.h"

#define FV_HDR_MIN 56
#define FV_ATTR_ERASE_POLARITY 0x800u
#define FFS_HDR 24
#define FFS_HDR2 32
#define FFS_ATTR_LARGE_FILE 0x01u
#define FFS_STATE_DELETED 0x10u
#define FT_RAW 0x01
#define FT_DXE_CORE 0x05
#define FT_PAD 0xf0
#define SEC_COMPRESSION 0x01
#define SEC_GUID_DEFINED 0x02
#define SEC_DISPOSABLE 0x03
#define SEC_PE32 0x10
#define SEC_TE 0x12
#define SEC_UI 0x15
#define SEC_FV_IMAGE 0x17
#define GUIDED_PROCESSING_REQUIRED 0x01u
#define LZMA_ALONE_HDR 13

#define MAX_DEPTH 6                        /* volume -> file -> section -> volume ... */
#define MAX_VOLUMES 64
#define MAX_FILES 4096
#define MAX_SECTIONS 512                   /* per file, nested ones included */
#define MAX_DECODED (64u << 20)            /* one decoded section; OVMF's DXE volume is ~16 MiB */
#define MAX_DECODED_TOTAL (128u << 20)
#define LZMA_MEMLIMIT (256u << 20)
#define MAX_IMAGE (64u << 20)

/* GUIDs as stored (EFI mixed-endian). */
static const uint8_t GUID_FFS2[16] = {       /* 8c8ce578-8a3d-4f1c-9935-896185c32dd3 */
	0x78, 0xe5, 0x8c, 0x8c, 0x3d, 0x8a, 0x1c, 0x4f,
	0x99, 0x35, 0x89, 0x61, 0x85, 0xc3, 0x2d, 0xd3 };
static const uint8_t GUID_FFS3[16] = {       /* 5473c07a-3dcb-4dca-bd6f-1e9689e7349a */
	0x7a, 0xc0, 0x73, 0x54, 0xcb, 0x3d, 0xca, 0x4d,
	0xbd, 0x6f, 0x1e, 0x96, 0x89, 0xe7, 0x34, 0x9a };
static const uint8_t GUID_LZMA[16] = {       /* ee4e5898-3914-4259-9d6e-dc7bd79403cf */
	0x98, 0x58, 0x4e, 0xee, 0x14, 0x39, 0x59, 0x42,
	0x9d, 0x6e, 0xdc, 0x7b, 0xd7, 0x94, 0x03, 0xcf };
/* BlobVerifierLibSevHashes' table entries: kernel, initrd, cmdline. */
static const uint8_t GUID_SEV_KERNEL_HASH[16] = {   /* 4de79437-abd2-427f-b835-d5b172d2045b */
	0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
	0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b };
static const uint8_t GUID_SEV_INITRD_HASH[16] = {   /* 44baf731-3a2f-4bd7-9af1-41e29169781d */
	0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
	0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d };
static const uint8_t GUID_SEV_CMDLINE_HASH[16] = {  /* 97d02dd8-bd20-4c94-aa78-e7714d36ab2a */
	0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
	0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a };

/*
 * Drivers cvmforge knows by their FILE_GUID (from edk2's INF files). The
 * release bounds come from edk2's history: `since` is the first
 * edk2-stable tag whose tree has the driver at all, so its presence means
 * the firmware is at least that release; `until` is the last release whose
 * OVMF platforms (every OvmfPkg .fdf) list it, so its presence means at
 * most that release.
 */
enum { K_NONE, K_TCG2, K_TDX, K_QEMU_KERNEL_LOADER };
static const struct known_file {
	uint8_t guid[16];
	const char *name;
	int kind;
	unsigned since, until;
} known_files[] = {
	/* SecurityPkg/Tcg/Tcg2Dxe FDFF263D-5F68-4591-87BA-B768F445A9AF */
	{ { 0x3d, 0x26, 0xff, 0xfd, 0x68, 0x5f, 0x91, 0x45,
	    0x87, 0xba, 0xb7, 0x68, 0xf4, 0x45, 0xa9, 0xaf }, "Tcg2Dxe", K_TCG2, 0, 0 },
	/* OvmfPkg/IntelTdx/TdTcg2Dxe (OvmfPkg/Tcg/TdTcg2Dxe from 202405)
	 * F062221E-C607-44C2-B0B4-C3886331D351: the only producer of
	 * EFI_CC_MEASUREMENT_PROTOCOL in edk2 */
	{ { 0x1e, 0x22, 0x62, 0xf0, 0x07, 0xc6, 0xc2, 0x44,
	    0xb0, 0xb4, 0xc3, 0x88, 0x63, 0x31, 0xd3, 0x51 }, "TdTcg2Dxe", K_TDX, 0, 0 },
	/* OvmfPkg/QemuKernelLoaderFsDxe 806040CA-DAD9-4978-A3B4-2D2AB0C8A48F */
	{ { 0xca, 0x40, 0x60, 0x80, 0xd9, 0xda, 0x78, 0x49,
	    0xa3, 0xb4, 0x2d, 0x2a, 0xb0, 0xc8, 0xa4, 0x8f }, "QemuKernelLoaderFsDxe",
	  K_QEMU_KERNEL_LOADER, 0, 0 },
	/* OvmfPkg/Tcg/TdTcg2Pei FCB3A3D6-6274-411C-A548-BD0E717D533A */
	{ { 0xd6, 0xa3, 0xb3, 0xfc, 0x74, 0x62, 0x1c, 0x41,
	    0xa5, 0x48, 0xbd, 0x0e, 0x71, 0x7d, 0x53, 0x3a }, "TdTcg2Pei", K_NONE, 202502, 0 },
	/* OvmfPkg/VirtioSerialDxe 23CACE14-EBA4-49F6-9681-C697FF0B649E */
	{ { 0x14, 0xce, 0xca, 0x23, 0xa4, 0xeb, 0xf6, 0x49,
	    0x96, 0x81, 0xc6, 0x97, 0xff, 0x0b, 0x64, 0x9e }, "VirtioSerialDxe", K_NONE, 202305, 0 },
	/* OvmfPkg/VirtHstiDxe 60740CF3-D428-4500-80E6-04A5798241ED */
	{ { 0xf3, 0x0c, 0x74, 0x60, 0x28, 0xd4, 0x00, 0x45,
	    0x80, 0xe6, 0x04, 0xa5, 0x79, 0x82, 0x41, 0xed }, "VirtHstiDxe", K_NONE, 202405, 0 },
	/* OvmfPkg/VirtioKeyboardDxe F141B1E5-9C7C-44CC-AFAA-E87D7689B113 */
	{ { 0xe5, 0xb1, 0x41, 0xf1, 0x7c, 0x9c, 0xcc, 0x44,
	    0xaf, 0xaa, 0xe8, 0x7d, 0x76, 0x89, 0xb1, 0x13 }, "VirtioKeyboardDxe", K_NONE, 202502, 0 },
	/* MdeModulePkg NullMemoryTestDxe 96B5C032-DF4C-4B6E-8232-438DCF448D0E:
	 * dropped from every OvmfPkg platform in edk2-stable202402 */
	{ { 0x32, 0xc0, 0xb5, 0x96, 0x4c, 0xdf, 0x6e, 0x4b,
	    0x82, 0x32, 0x43, 0x8d, 0xcf, 0x44, 0x8d, 0x0e }, "NullMemoryTestDxe", K_NONE, 0, 202311 },
};

static const struct known_file *find_known(const uint8_t guid[16])
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(known_files); i++)
		if (!memcmp(known_files[i].guid, guid, 16))
			return &known_files[i];
	return NULL;
}

const char *cvmf_fw_known_file(const uint8_t guid[16])
{
	const struct known_file *k = find_known(guid);
	return k ? k->name : NULL;
}

const char *cvmf_fw_file_type_name(uint8_t type, char *buf)
{
	static const char *const names[] = {
		[0x01] = "RAW", [0x02] = "FREEFORM", [0x03] = "SECURITY_CORE",
		[0x04] = "PEI_CORE", [0x05] = "DXE_CORE", [0x06] = "PEIM", [0x07] = "DRIVER",
		[0x08] = "COMBINED_PEIM_DRIVER", [0x09] = "APPLICATION", [0x0a] = "MM",
		[0x0b] = "FIRMWARE_VOLUME_IMAGE", [0x0c] = "COMBINED_MM_DXE", [0x0d] = "MM_CORE",
		[0x0e] = "MM_STANDALONE", [0x0f] = "MM_CORE_STANDALONE",
	};
	if (type < CMN_ARRAY_SIZE(names) && names[type])
		return names[type];
	if (type == FT_PAD)
		return "FFS_PAD";
	snprintf(buf, 8, "0x%02x", type);
	return buf;
}

void cvmf_fw_info_free(struct cvmf_fw_info *fi)
{
	if (!fi)
		return;
	free(fi->files);
	free(fi);
}

/* ---- the walk ---- */

struct walk {
	cvmf_ctx *ctx;
	struct cvmf_fw_info *fi;
	size_t cap_files;
	size_t sections;        /* in the current file */
	bool bad;               /* fi->error is set (or rc): stop */
	int rc;                 /* a failure of the call itself (out of memory), in ctx */
	bool dxe_core;
	bool sev_kernel, sev_initrd, sev_cmdline;   /* in QemuKernelLoaderFsDxe */
	size_t version_file[CVMF_FW_MAX_VERSIONS];  /* the file each version was found in */
};

static void bad(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct walk *w, const char *fmt, ...)
{
	if (w->bad)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->fi->error, sizeof(w->fi->error), fmt, ap);
	va_end(ap);
	w->bad = true;
}

static bool has_bytes(const uint8_t *d, size_t n, const uint8_t *pat, size_t m)
{
	if (n < m)
		return false;
	for (size_t i = 0; i + m <= n; i++)
		if (d[i] == pat[0] && !memcmp(d + i, pat, m))
			return true;
	return false;
}

/* A UTF-16LE version string at d[i]: "YYYY.MM" (2000..2099, 01..12), then
 * printable ASCII up to a NUL, at most 63 characters, not preceded by a
 * printable character. Returns its length in characters, or 0. */
static size_t version_at(const uint8_t *d, size_t n, size_t i, char out[64])
{
	if (i >= 2 && d[i - 1] == 0 && d[i - 2] >= 0x20 && d[i - 2] < 0x7f)
		return 0;
	size_t k = 0;
	for (; k < 63 && i + 2 * k + 1 < n; k++) {
		uint8_t c = d[i + 2 * k], hi = d[i + 2 * k + 1];
		if (hi || c == 0)
			break;
		if (c < 0x21 || c > 0x7e)
			return 0;
		out[k] = (char)c;
	}
	if (k < 7 || k == 63 || i + 2 * k + 1 >= n || d[i + 2 * k] || d[i + 2 * k + 1])
		return 0;
	out[k] = 0;
	for (int j = 0; j < 7; j++)
		if (j == 4 ? out[j] != '.' : (out[j] < '0' || out[j] > '9'))
			return 0;
	if (out[0] != '2' || out[1] != '0')
		return 0;
	int month = (out[5] - '0') * 10 + (out[6] - '0');
	if (month < 1 || month > 12)
		return 0;
	if (k > 7 && !strchr("-+~.:_", out[7]))
		return 0;
	return k;
}

static void find_versions(struct walk *w, const uint8_t *d, size_t n, size_t file)
{
	struct cvmf_fw_info *fi = w->fi;
	for (size_t i = 0; i + 16 <= n; i++) {
		if (d[i] != '2' || d[i + 1] || d[i + 2] != '0' || d[i + 3])
			continue;
		char v[64];
		size_t k = version_at(d, n, i, v);
		if (!k)
			continue;
		bool seen = false;
		for (size_t j = 0; j < fi->n_versions && !seen; j++)
			seen = !strcmp(fi->versions[j], v);
		if (!seen && fi->n_versions < CVMF_FW_MAX_VERSIONS) {
			snprintf(fi->versions[fi->n_versions], sizeof(fi->versions[0]), "%s", v);
			w->version_file[fi->n_versions++] = file;
		}
		i += 2 * k;
	}
}

static void walk_volume(struct walk *w, const uint8_t *buf, size_t len, size_t base,
			unsigned depth);

/* Decode an LZMA "alone" stream of at most MAX_DECODED bytes. */
static int lzma_decode(struct walk *w, const uint8_t *in, size_t in_len, size_t where,
		       uint8_t **ret, size_t *ret_len)
{
	if (in_len < LZMA_ALONE_HDR) {
		bad(w, "LZMA section at 0x%zx has %zu bytes, less than the 13-byte header", where,
		    in_len);
		return 0;
	}
	uint64_t size = cmn_le64(in + 5);
	if (size == UINT64_MAX) {
		bad(w, "LZMA section at 0x%zx does not declare its decoded size", where);
		return 0;
	}
	if (size > MAX_DECODED || size > MAX_DECODED_TOTAL - w->fi->decoded_bytes) {
		bad(w, "LZMA section at 0x%zx declares %llu decoded bytes, more than the %u accepted",
		    where, (unsigned long long)size,
		    size > MAX_DECODED ? MAX_DECODED : MAX_DECODED_TOTAL);
		return 0;
	}
	uint8_t *out = malloc(size ? (size_t)size : 1);
	if (!out)
		return cmn_error(w->ctx, CVMF_E_NOMEM, "out of memory (%llu bytes)",
				  (unsigned long long)size);
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret lr = lzma_alone_decoder(&s, LZMA_MEMLIMIT);
	if (lr != LZMA_OK) {
		free(out);
		return lr == LZMA_MEM_ERROR ? cmn_error(w->ctx, CVMF_E_NOMEM, "out of memory (liblzma)")
					    : cmn_error(w->ctx, CVMF_E_UNSUPPORTED,
							 "liblzma: cannot start a decoder (%d)", (int)lr);
	}
	s.next_in = in;
	s.avail_in = in_len;
	s.next_out = out;
	s.avail_out = (size_t)size;
	lr = lzma_code(&s, LZMA_FINISH);
	size_t got = (size_t)size - s.avail_out;
	lzma_end(&s);
	if (lr == LZMA_MEM_ERROR) {
		free(out);
		return cmn_error(w->ctx, CVMF_E_NOMEM, "out of memory (liblzma)");
	}
	if ((lr != LZMA_STREAM_END && lr != LZMA_OK) || got != size) {
		free(out);
		bad(w, "LZMA section at 0x%zx does not decode: %s (%zu of %llu bytes)", where,
		    lr == LZMA_DATA_ERROR ? "corrupt data" :
		    lr == LZMA_FORMAT_ERROR ? "not the LZMA alone format" :
		    lr == LZMA_MEMLIMIT_ERROR ? "its dictionary is too large" :
		    lr == LZMA_BUF_ERROR ? "the data is cut off" : "liblzma error",
		    got, (unsigned long long)size);
		return 0;
	}
	w->fi->n_decoded++;
	w->fi->decoded_bytes += (size_t)size;
	*ret = out;
	*ret_len = (size_t)size;
	return 0;
}

/* The sections of one file (or of an encapsulating section's data). */
static int walk_sections(struct walk *w, const uint8_t *d, size_t n, size_t base,
			 unsigned depth, size_t file)
{
	int r = 0;
	if (depth > MAX_DEPTH) {
		bad(w, "sections nested more than %d deep at 0x%zx", MAX_DEPTH, base);
		return 0;
	}
	size_t p = 0;
	while (!w->bad && !r) {
		p = (p + 3) & ~(size_t)3;
		if (p >= n || n - p < 4)
			break;
		if (++w->sections > MAX_SECTIONS) {
			bad(w, "more than %d sections in the file at 0x%zx", MAX_SECTIONS, base);
			break;
		}
		const uint8_t *s = d + p;
		size_t size = s[0] | (size_t)s[1] << 8 | (size_t)s[2] << 16, hs = 4;
		uint8_t type = s[3];
		if (size == 0xffffff) {
			if (n - p < 8) {
				bad(w, "section at 0x%zx is cut off", base + p);
				break;
			}
			size = cmn_le32(s + 4);
			hs = 8;
		}
		if (size < hs || size > n - p) {
			bad(w, "section at 0x%zx has size %zu, outside its %zu-byte container", base + p,
			    size, n - p);
			break;
		}
		const uint8_t *data = s + hs;
		size_t dlen = size - hs;
		struct cvmf_fw_file *f = &w->fi->files[file];
		switch (type) {
		case SEC_UI:
			if (!f->name[0]) {
				size_t k = 0;
				for (; k + 1 < sizeof(f->name) && 2 * k + 1 < dlen; k++) {
					uint16_t c = cmn_le16(data + 2 * k);
					if (!c)
						break;
					f->name[k] = c >= 0x20 && c < 0x7f ? (char)c : '?';
				}
				f->name[k] = 0;
			}
			break;
		case SEC_PE32:
		case SEC_TE: {
			const struct known_file *k = find_known(f->guid);
			if (k && k->kind == K_QEMU_KERNEL_LOADER) {
				w->sev_kernel |= has_bytes(data, dlen, GUID_SEV_KERNEL_HASH, 16);
				w->sev_initrd |= has_bytes(data, dlen, GUID_SEV_INITRD_HASH, 16);
				w->sev_cmdline |= has_bytes(data, dlen, GUID_SEV_CMDLINE_HASH, 16);
			}
			find_versions(w, data, dlen, file);
			break;
		}
		case SEC_COMPRESSION:
			/* EFI_COMPRESSION_SECTION: u32 UncompressedLength, u8 type
			 * (0: not compressed, 1: EFI/Tiano, not decoded here). */
			if (dlen < 5) {
				bad(w, "compression section at 0x%zx is cut off", base + p);
			} else if (data[4] == 0) {
				r = walk_sections(w, data + 5, dlen - 5, base + p + hs + 5, depth + 1, file);
			} else {
				w->fi->n_undecoded++;
			}
			break;
		case SEC_DISPOSABLE:
			r = walk_sections(w, data, dlen, base + p + hs, depth + 1, file);
			break;
		case SEC_GUID_DEFINED: {
			if (dlen < 20) {
				bad(w, "GUID-defined section at 0x%zx is cut off", base + p);
				break;
			}
			size_t off = cmn_le16(data + 16);
			uint16_t attr = cmn_le16(data + 18);
			if (off < hs + 20 || off > size) {
				bad(w, "GUID-defined section at 0x%zx has data offset %zu, outside its %zu bytes",
				    base + p, off, size);
				break;
			}
			if (!memcmp(data, GUID_LZMA, 16)) {
				uint8_t *dec = NULL;
				size_t dec_len = 0;
				r = lzma_decode(w, s + off, size - off, base + p, &dec, &dec_len);
				if (!r && dec)
					r = walk_sections(w, dec, dec_len, 0, depth + 1, file);
				free(dec);
			} else if (!(attr & GUIDED_PROCESSING_REQUIRED)) {
				r = walk_sections(w, s + off, size - off, base + p + off, depth + 1, file);
			} else {
				w->fi->n_undecoded++;
			}
			break;
		}
		case SEC_FV_IMAGE: {
			size_t saved = w->sections;
			walk_volume(w, data, dlen, base + p + hs, depth + 1);
			w->sections = saved;
			break;
		}
		default:
			break;
		}
		p += size;
	}
	return r;
}

static int add_file(struct walk *w, const uint8_t *guid, uint8_t type, unsigned depth,
		    size_t *ret)
{
	struct cvmf_fw_info *fi = w->fi;
	if (fi->n_files == w->cap_files) {
		size_t cap = w->cap_files ? 2 * w->cap_files : 64;
		struct cvmf_fw_file *v = realloc(fi->files, cap * sizeof(*v));
		if (!v)
			return cmn_error(w->ctx, CVMF_E_NOMEM, "out of memory");
		fi->files = v;
		w->cap_files = cap;
	}
	struct cvmf_fw_file *f = &fi->files[fi->n_files];
	memset(f, 0, sizeof(*f));
	memcpy(f->guid, guid, 16);
	f->type = type;
	f->depth = depth;
	*ret = fi->n_files++;
	return 0;
}

static int walk_files(struct walk *w, const uint8_t *v, size_t len, size_t base, size_t first,
		      bool polarity, bool ffs3, unsigned depth)
{
	const uint8_t erase = polarity ? 0xff : 0x00;
	size_t p = first;
	int r = 0;
	while (!w->bad && !r) {
		p = (p + 7) & ~(size_t)7;
		if (p >= len || len - p < FFS_HDR)
			break;
		const uint8_t *h = v + p;
		bool free_space = true;
		for (int i = 0; i < FFS_HDR && free_space; i++)
			free_space = h[i] == erase;
		if (free_space)
			break;
		size_t size = h[20] | (size_t)h[21] << 8 | (size_t)h[22] << 16, hs = FFS_HDR;
		if (ffs3 && (h[19] & FFS_ATTR_LARGE_FILE)) {
			if (len - p < FFS_HDR2) {
				bad(w, "file at 0x%zx is cut off", base + p);
				break;
			}
			uint64_t big = cmn_le64(h + 24);
			size = big > len ? len + 1 : (size_t)big;
			hs = FFS_HDR2;
		}
		if (size < hs || size > len - p) {
			bad(w, "file at 0x%zx has size %zu, outside its volume (%zu bytes left)",
			    base + p, size, len - p);
			break;
		}
		uint8_t state = polarity ? (uint8_t)~h[23] : h[23];
		uint8_t type = h[18];
		if (type != FT_PAD && !(state & FFS_STATE_DELETED)) {
			if (w->fi->n_files >= MAX_FILES) {
				bad(w, "more than %d files in the volumes", MAX_FILES);
				break;
			}
			size_t idx = 0;
			if ((r = add_file(w, h, type, depth, &idx)))
				break;
			if (type == FT_DXE_CORE)
				w->dxe_core = true;
			if (type != FT_RAW && type < FT_PAD) {
				w->sections = 0;
				r = walk_sections(w, h + hs, size - hs, base + p + hs, depth, idx);
			}
		}
		p += size;
	}
	return r;
}

/* One volume at buf (len bytes available); base: its offset for messages. */
static void walk_volume(struct walk *w, const uint8_t *buf, size_t len, size_t base,
			unsigned depth)
{
	if (w->bad)
		return;
	if (depth > MAX_DEPTH) {
		bad(w, "firmware volumes nested more than %d deep at 0x%zx", MAX_DEPTH, base);
		return;
	}
	if (len < FV_HDR_MIN || memcmp(buf + 40, "_FVH", 4)) {
		bad(w, "no firmware volume header (\"_FVH\") at 0x%zx", base);
		return;
	}
	uint64_t fv_len = cmn_le64(buf + 32);
	size_t hdr = cmn_le16(buf + 48), ext = cmn_le16(buf + 52);
	uint32_t attr = cmn_le32(buf + 44);
	if (fv_len > len || hdr < FV_HDR_MIN || hdr % 2 || hdr > fv_len) {
		bad(w, "firmware volume at 0x%zx has length 0x%llx and header length %zu, outside the 0x%zx bytes there",
		    base, (unsigned long long)fv_len, hdr, len);
		return;
	}
	uint16_t sum = 0;
	for (size_t i = 0; i < hdr; i += 2)
		sum = (uint16_t)(sum + cmn_le16(buf + i));
	if (sum) {
		bad(w, "firmware volume header at 0x%zx has a bad checksum", base);
		return;
	}
	bool ffs2 = !memcmp(buf + 16, GUID_FFS2, 16), ffs3 = !memcmp(buf + 16, GUID_FFS3, 16);
	if (!ffs2 && !ffs3)
		return;   /* a variable store or another file system: no drivers */
	if (++w->fi->n_volumes > MAX_VOLUMES) {
		bad(w, "more than %d firmware volumes", MAX_VOLUMES);
		return;
	}
	size_t first = hdr;
	if (ext) {
		if (ext < hdr || ext > fv_len || fv_len - ext < 20 ||
		    cmn_le32(buf + ext + 16) < 20 || cmn_le32(buf + ext + 16) > fv_len - ext) {
			bad(w, "firmware volume at 0x%zx has its extended header outside the volume",
			    base);
			return;
		}
		first = ext + cmn_le32(buf + ext + 16);
	}
	int r = walk_files(w, buf, (size_t)fv_len, base, first, attr & FV_ATTR_ERASE_POLARITY, ffs3,
			   depth);
	if (r) {   /* out of memory: the message is in ctx */
		w->rc = r;
		w->bad = true;
	}
}

static void derive(struct walk *w)
{
	struct cvmf_fw_info *fi = w->fi;
	fi->known = !w->bad && w->dxe_core;
	for (size_t i = 0; i < fi->n_files; i++) {
		const struct known_file *k = find_known(fi->files[i].guid);
		if (!k)
			continue;
		if (k->kind == K_TCG2)
			fi->features |= CVMF_FW_TCG2;
		else if (k->kind == K_TDX)
			fi->features |= CVMF_FW_TDX_MEASURE;
		if (k->since && k->since > fi->release_min) {
			fi->release_min = k->since;
			snprintf(fi->release_min_module, sizeof(fi->release_min_module), "%s", k->name);
		}
		if (k->until && (!fi->release_max || k->until < fi->release_max)) {
			fi->release_max = k->until;
			snprintf(fi->release_max_module, sizeof(fi->release_max_module), "%s", k->name);
		}
	}
	/* Name each version's driver now: a file's UI section follows its code. */
	for (size_t i = 0; i < fi->n_versions; i++) {
		const struct cvmf_fw_file *f = &fi->files[w->version_file[i]];
		const char *kn = cvmf_fw_known_file(f->guid);
		char g[37];
		cvmf_guid_format(f->guid, g);
		snprintf(fi->version_module[i], sizeof(fi->version_module[0]), "%s",
			 f->name[0] ? f->name : kn ? kn : g);
	}
	if (w->sev_kernel && w->sev_initrd && w->sev_cmdline)
		fi->features |= CVMF_FW_SEV_HASHES;
	if (!fi->known)
		fi->features = 0;
	if (fi->n_versions == 1) {
		const char *v = fi->versions[0];
		fi->release = (unsigned)((v[0] - '0') * 100000 + (v[1] - '0') * 10000 +
					 (v[2] - '0') * 1000 + (v[3] - '0') * 100 +
					 (v[5] - '0') * 10 + (v[6] - '0'));
	}
}

static int scan(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_fw_info **ret)
{
	struct cvmf_fw_info *fi = calloc(1, sizeof(*fi));
	if (!fi)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	struct walk w = { .ctx = ctx, .fi = fi };
	int r = 0;
	/* The image: volumes back to back from offset 0. */
	for (size_t off = 0; off < len && !w.bad;) {
		const uint8_t *v = buf + off;
		if (len - off < FV_HDR_MIN || memcmp(v + 40, "_FVH", 4)) {
			bad(&w, "no firmware volume header (\"_FVH\") at 0x%zx%s", off,
			    off ? ", where the previous volume ends" : "");
			break;
		}
		uint64_t fv_len = cmn_le64(v + 32);
		if (fv_len < FV_HDR_MIN || fv_len > len - off) {
			bad(&w, "firmware volume at 0x%zx has length 0x%llx, past the end of the 0x%zx-byte image",
			    off, (unsigned long long)fv_len, len);
			break;
		}
		walk_volume(&w, v, (size_t)fv_len, off, 0);
		off += (size_t)fv_len;
	}
	if ((r = w.rc)) {
		cvmf_fw_info_free(fi);
		return r;
	}
	if (!w.bad && !w.dxe_core)
		snprintf(fi->error, sizeof(fi->error), "%s",
			 fi->n_decoded || fi->n_volumes ?
			 "no DXE core in the firmware volumes: the driver list is not the firmware's" :
			 "no firmware volume with FFS files");
	derive(&w);
	*ret = fi;
	return 0;
}

/* ---- a one-entry cache: measuring the same firmware again does not decode it again ---- */

static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cvmf_fw_info *g_cache;
static uint8_t g_cache_key[32];
static size_t g_cache_len;

static struct cvmf_fw_info *info_dup(const struct cvmf_fw_info *fi)
{
	struct cvmf_fw_info *c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	*c = *fi;
	c->files = NULL;
	if (fi->n_files) {
		c->files = malloc(fi->n_files * sizeof(*c->files));
		if (!c->files) {
			free(c);
			return NULL;
		}
		memcpy(c->files, fi->files, fi->n_files * sizeof(*c->files));
	}
	return c;
}

int cvmf_fw_scan(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_fw_info **ret)
{
	uint8_t key[32];
	struct cmn_hasher *h = NULL;
	int r = cmn_hasher_new(ctx, CMN_SHA256, &h);
	if (r)
		return r;
	if (cmn_hasher_oneshot(h, buf, len, key))
		r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
	cmn_hasher_free(h);
	if (r)
		return r;
	struct cvmf_fw_info *fi = NULL;
	pthread_mutex_lock(&g_cache_lock);
	if (g_cache && g_cache_len == len && !memcmp(g_cache_key, key, 32))
		fi = info_dup(g_cache);
	pthread_mutex_unlock(&g_cache_lock);
	if (fi) {
		*ret = fi;
		return 0;
	}
	if ((r = scan(ctx, buf, len, &fi)))
		return r;
	struct cvmf_fw_info *c = info_dup(fi);
	if (c) {
		pthread_mutex_lock(&g_cache_lock);
		cvmf_fw_info_free(g_cache);
		g_cache = c;
		memcpy(g_cache_key, key, 32);
		g_cache_len = len;
		pthread_mutex_unlock(&g_cache_lock);
	}
	*ret = fi;
	return 0;
}

int cvmf_fw_read(cvmf_ctx *ctx, const char *path, struct cvmf_fw_info **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = cmn_read_file(ctx, "firmware", path, MAX_IMAGE, &buf, &len);
	if (r)
		return r;
	if (len == 0)
		r = cmn_error(ctx, CVMF_E_FORMAT, "firmware '%s' is empty", path);
	else
		r = cvmf_fw_scan(ctx, buf, len, ret);
	free(buf);
	return r;
}

int cvmf_fw_check_release(cvmf_ctx *ctx, const struct cvmf_fw_info *fi, unsigned release)
{
	if (fi->release && release != fi->release)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the image embeds version '%s' (in %s), which is release %u.%02u",
				  fi->versions[0], fi->version_module[0], fi->release / 100,
				  fi->release % 100);
	if (fi->release_min && release < fi->release_min)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the image carries %s, which edk2 added in edk2-stable%u: the release is %u.%02u or later",
				  fi->release_min_module, fi->release_min, fi->release_min / 100,
				  fi->release_min % 100);
	if (fi->release_max && release > fi->release_max)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the image carries %s, which OVMF dropped after edk2-stable%u: the release is %u.%02u or earlier",
				  fi->release_max_module, fi->release_max, fi->release_max / 100,
				  fi->release_max % 100);
	return 0;
}
