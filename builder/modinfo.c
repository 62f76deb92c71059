/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel releases: the one a bzImage announces in its setup header, and the
 * vermagic a module was built for. A build refuses modules whose vermagic
 * does not start with the kernel's release, so both are read from the
 * files themselves rather than trusted from the recipe. Both inputs are
 * untrusted; every offset is checked before use (tests/fuzz/fuzz_modinfo.c).
 *
 * Modules may be compressed as the kernel's module loader and kmod accept
 * them: .ko.xz (liblzma), .ko.zst (libzstd), .ko.gz (zlib). They are
 * decoded here, in memory and at most MAX_MODULE bytes, only to read the
 * vermagic; the image ships the file's own bytes.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "builder/builder.h"

/* The x86 boot protocol (Documentation/arch/x86/boot.rst). */
#define SETUP_HDR_MAGIC_OFF 0x202      /* "HdrS" */
#define SETUP_VERSION_OFF 0x206        /* u16 boot protocol version */
#define SETUP_KVER_OFF 0x20e           /* u16 kernel_version, less 0x200 */
#define SETUP_KVER_BASE 0x200
/* The version string lives in the real-mode setup code, well inside the
 * first 32 KiB; anything further is not a setup header we understand. */
#define SETUP_MAX 0x8000u

int bld_bzimage_release(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen)
{
	if (len < SETUP_KVER_OFF + 2)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: %zu bytes is too short for an x86 setup header", len);
	if (memcmp(buf + SETUP_HDR_MAGIC_OFF, "HdrS", 4))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: no 'HdrS' setup header magic at 0x202 (not an x86 bzImage)");
	uint16_t proto = cmn_le16(buf + SETUP_VERSION_OFF);
	if (proto < 0x0200)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: boot protocol %u.%02u has no kernel_version field (2.00 or later needed)",
				  proto >> 8, proto & 0xff);
	uint16_t kver = cmn_le16(buf + SETUP_KVER_OFF);
	if (kver == 0)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: the setup header has no kernel version string (kernel_version is 0)");
	size_t off = (size_t)kver + SETUP_KVER_BASE;
	size_t end = len < SETUP_MAX ? len : SETUP_MAX;
	if (off >= end)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: the kernel version string at 0x%zx lies beyond %s (0x%zx)",
				  off, len < SETUP_MAX ? "the end of the file" : "the first 32 KiB",
				  end);
	const uint8_t *s = buf + off;
	const uint8_t *nul = memchr(s, 0, end - off);
	if (!nul)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: the kernel version string at 0x%zx is not NUL-terminated within %s",
				  off, len < SETUP_MAX ? "the file" : "the first 32 KiB");
	size_t n = 0;
	while (s + n < nul && s[n] != ' ')
		n++;
	if (n == 0)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "bzImage: the kernel version string at 0x%zx is empty", off);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "bzImage: the kernel release at 0x%zx has a non-printable byte 0x%02x",
					  off, s[i]);
	if (n >= retlen)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "bzImage: the kernel release (%zu bytes) does not fit in %zu bytes",
				  n, retlen);
	memcpy(ret, s, n);
	ret[n] = '\0';
	return 0;
}

/* The largest decoded module accepted: Debian's largest (amdgpu) is ~20 MiB. */
#define MAX_MODULE (256u << 20)

static const uint8_t MAGIC_XZ[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
static const uint8_t MAGIC_ZSTD[] = { 0x28, 0xb5, 0x2f, 0xfd };
static const uint8_t MAGIC_GZIP[] = { 0x1f, 0x8b };

static const struct {
	const char *suffix;
	enum bld_module_kind kind;
	const char *name;
} module_kinds[] = {
	{ ".ko", BLD_MODULE_ELF, "an ELF object" },
	{ ".ko.xz", BLD_MODULE_XZ, "xz" },
	{ ".ko.zst", BLD_MODULE_ZSTD, "zstd" },
	{ ".ko.gz", BLD_MODULE_GZIP, "gzip" },
};

enum bld_module_kind bld_module_kind(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < CMN_ARRAY_SIZE(module_kinds); i++) {
		size_t m = strlen(module_kinds[i].suffix);
		if (n > m && !memcmp(path + n - m, module_kinds[i].suffix, m))
			return module_kinds[i].kind;
	}
	return BLD_MODULE_NONE;
}

static enum bld_module_kind sniff(const uint8_t *buf, size_t len)
{
	if (len >= sizeof(MAGIC_XZ) && !memcmp(buf, MAGIC_XZ, sizeof(MAGIC_XZ)))
		return BLD_MODULE_XZ;
	if (len >= sizeof(MAGIC_ZSTD) && !memcmp(buf, MAGIC_ZSTD, sizeof(MAGIC_ZSTD)))
		return BLD_MODULE_ZSTD;
	if (len >= sizeof(MAGIC_GZIP) && !memcmp(buf, MAGIC_GZIP, sizeof(MAGIC_GZIP)))
		return BLD_MODULE_GZIP;
	return BLD_MODULE_ELF;
}

static const char *kind_name(enum bld_module_kind k)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(module_kinds); i++)
		if (module_kinds[i].kind == k)
			return module_kinds[i].name;
	return "?";
}

/* Grow out to hold at least `need` more bytes, up to MAX_MODULE. */
static int grow(cvmf_ctx *ctx, const char *what, uint8_t **out, size_t *cap, size_t used)
{
	if (used >= MAX_MODULE)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "module: %s-compressed: decodes to more than %u bytes (the most accepted)",
				  what, MAX_MODULE);
	size_t ncap = *cap ? *cap * 2 : 1u << 20;
	if (ncap > MAX_MODULE)
		ncap = MAX_MODULE;
	uint8_t *n = realloc(*out, ncap);
	if (!n)
		return cmn_error(ctx, CVMF_E_NOMEM, "module: out of memory (%zu bytes)", ncap);
	*out = n;
	*cap = ncap;
	return 0;
}

static int unxz(cvmf_ctx *ctx, const uint8_t *in, size_t len, uint8_t **out, size_t *cap,
		size_t *used)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret lr = lzma_stream_decoder(&s, 256u << 20, 0);
	if (lr != LZMA_OK)
		return cmn_error(ctx, lr == LZMA_MEM_ERROR ? CVMF_E_NOMEM : CVMF_E_UNSUPPORTED,
				  "module: xz: cannot start a decoder (%d)", (int)lr);
	s.next_in = in;
	s.avail_in = len;
	int r = 0;
	while (!r) {
		if (*used == *cap && (r = grow(ctx, "xz", out, cap, *used)))
			break;
		s.next_out = *out + *used;
		s.avail_out = *cap - *used;
		lr = lzma_code(&s, LZMA_FINISH);
		*used = *cap - s.avail_out;
		if (lr == LZMA_STREAM_END)
			break;
		if (lr != LZMA_OK && !(lr == LZMA_BUF_ERROR && s.avail_out == 0))
			r = cmn_error(ctx, lr == LZMA_MEM_ERROR ? CVMF_E_NOMEM : CVMF_E_FORMAT,
				       "module: xz-compressed data does not decode: %s",
				       lr == LZMA_DATA_ERROR ? "corrupt data" :
				       lr == LZMA_FORMAT_ERROR ? "not the xz format" :
				       lr == LZMA_BUF_ERROR ? "the data is cut off" :
				       lr == LZMA_MEMLIMIT_ERROR ? "its dictionary is too large" :
				       lr == LZMA_OPTIONS_ERROR ? "unsupported options" :
				       "liblzma error");
	}
	lzma_end(&s);
	if (!r && s.avail_in)
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "module: xz-compressed: %zu bytes follow the end of the stream",
			       (size_t)s.avail_in);
	return r;
}

static int unzstd(cvmf_ctx *ctx, const uint8_t *in, size_t len, uint8_t **out, size_t *cap,
		  size_t *used)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	if (!d)
		return cmn_error(ctx, CVMF_E_NOMEM, "module: out of memory (zstd)");
	/* A window no larger than the decoded size we accept. */
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 28);
	ZSTD_inBuffer ib = { in, len, 0 };
	int r = 0;
	size_t ret = 1;
	while (!r && ret != 0) {
		if (*used == *cap && (r = grow(ctx, "zstd", out, cap, *used)))
			break;
		ZSTD_outBuffer ob = { *out, *cap, *used };
		ret = ZSTD_decompressStream(d, &ob, &ib);
		*used = ob.pos;
		if (ZSTD_isError(ret))
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "module: zstd-compressed data does not decode: %s",
				       ZSTD_getErrorName(ret));
		else if (ret && ib.pos == ib.size && ob.pos < ob.size)
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "module: zstd-compressed data is cut off");
	}
	ZSTD_freeDStream(d);
	if (!r && ib.pos != ib.size)
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "module: zstd-compressed: %zu bytes follow the end of the frame",
			       ib.size - ib.pos);
	return r;
}

static int ungzip(cvmf_ctx *ctx, const uint8_t *in, size_t len, uint8_t **out, size_t *cap,
		  size_t *used)
{
	z_stream z = { 0 };
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return cmn_error(ctx, CVMF_E_NOMEM, "module: out of memory (zlib)");
	int r = 0, zr = Z_OK;
	size_t done_in = 0;
	while (!r && zr != Z_STREAM_END) {
		if (*used == *cap && (r = grow(ctx, "gzip", out, cap, *used)))
			break;
		size_t in_chunk = len - done_in > UINT_MAX ? UINT_MAX : len - done_in;
		size_t out_chunk = *cap - *used > UINT_MAX ? UINT_MAX : *cap - *used;
		z.next_in = (Bytef *)(in + done_in);
		z.avail_in = (uInt)in_chunk;
		z.next_out = *out + *used;
		z.avail_out = (uInt)out_chunk;
		zr = inflate(&z, Z_NO_FLUSH);
		done_in += in_chunk - z.avail_in;
		*used += out_chunk - z.avail_out;
		if (zr == Z_BUF_ERROR && z.avail_out == 0)
			zr = Z_OK;
		else if (zr != Z_OK && zr != Z_STREAM_END)
			r = cmn_error(ctx, zr == Z_MEM_ERROR ? CVMF_E_NOMEM : CVMF_E_FORMAT,
				       "module: gzip-compressed data does not decode: %s",
				       zr == Z_BUF_ERROR ? "the data is cut off" :
				       z.msg ? z.msg : "zlib error");
	}
	inflateEnd(&z);
	if (!r && done_in != len)
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "module: gzip-compressed: %zu bytes follow the end of the stream",
			       len - done_in);
	return r;
}

static int elf_vermagic(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen);

int bld_module_vermagic(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen)
{
	enum bld_module_kind k = sniff(buf, len);
	if (k == BLD_MODULE_ELF)
		return elf_vermagic(ctx, buf, len, ret, retlen);
	uint8_t *out = NULL;
	size_t cap = 0, used = 0;
	int r = k == BLD_MODULE_XZ ? unxz(ctx, buf, len, &out, &cap, &used) :
		k == BLD_MODULE_ZSTD ? unzstd(ctx, buf, len, &out, &cap, &used) :
		ungzip(ctx, buf, len, &out, &cap, &used);
	if (!r) {
		r = elf_vermagic(ctx, out, used, ret, retlen);
		if (r) {
			char msg[sizeof(ctx->msg)];
			const char *m = ctx->msg;
			if (!strncmp(m, "module: ", 8))
				m += 8;
			snprintf(msg, sizeof(msg), "%s", m);
			r = cmn_error(ctx, r, "module: %s-compressed, %zu bytes decoded: %s",
				       kind_name(k), used, msg);
		}
	}
	free(out);
	return r;
}

int bld_module_vermagic_file(cvmf_ctx *ctx, const char *path, const uint8_t *buf, size_t len,
			     char *ret, size_t retlen)
{
	enum bld_module_kind want = bld_module_kind(path), got = sniff(buf, len);
	if (want == BLD_MODULE_NONE)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "module: the name does not end in .ko, .ko.xz, .ko.zst or .ko.gz");
	if (want != got)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "module: the name says %s but the file is %s%s",
				  kind_name(want), got == BLD_MODULE_ELF ? "not compressed" : kind_name(got),
				  got == BLD_MODULE_ELF ? "" : "-compressed");
	return bld_module_vermagic(ctx, buf, len, ret, retlen);
}

static pthread_once_t g_elf_once = PTHREAD_ONCE_INIT;
static unsigned g_elf_version = EV_NONE;

static void elf_init(void)
{
	g_elf_version = elf_version(EV_CURRENT);
}

/* Find `key=` in a .modinfo section: NUL-separated "key=value" strings,
 * the last one possibly unterminated (then it runs to the section's end). */
static const char *modinfo_find(const char *d, size_t n, const char *key, size_t *ret_len)
{
	size_t klen = strlen(key);
	size_t i = 0;
	while (i < n) {
		const char *s = d + i;
		const char *nul = memchr(s, 0, n - i);
		size_t sl = nul ? (size_t)(nul - s) : n - i;
		if (sl > klen && !memcmp(s, key, klen) && s[klen] == '=') {
			*ret_len = sl - klen - 1;
			return s + klen + 1;
		}
		i += sl + 1;
	}
	return NULL;
}

static int elf_vermagic(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen)
{
	Elf *e = NULL;
	char *copy = NULL;
	int r = 0;

	pthread_once(&g_elf_once, elf_init);
	if (g_elf_version == EV_NONE)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "module: libelf is out of date: %s",
				  elf_errmsg(-1));
	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return cmn_error(ctx, CVMF_E_FORMAT, "module: not an ELF file (no \\177ELF magic)");

	/* libelf takes a mutable image (it may convert it in place): give it a copy. */
	copy = malloc(len);
	if (!copy)
		return cmn_error(ctx, CVMF_E_NOMEM, "module: out of memory (%zu bytes)", len);
	memcpy(copy, buf, len);
	e = elf_memory(copy, len);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: not a readable ELF object: %s",
			       elf_errmsg(-1));
		goto out;
	}
	int cls = gelf_getclass(e);
	if (cls != ELFCLASS32 && cls != ELFCLASS64) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: unknown ELF class %d", cls);
		goto out;
	}
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx)) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "module: no section header string table: %s", elf_errmsg(-1));
		goto out;
	}

	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	bool found = false;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".modinfo")) {
			found = true;
			break;
		}
	}
	if (!found) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: no .modinfo section");
		goto out;
	}
	if (sh.sh_type == SHT_NOBITS) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: the .modinfo section has no data (SHT_NOBITS)");
		goto out;
	}
	if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "module: the .modinfo section (offset %llu, %llu bytes) lies outside the %zu-byte file",
			       (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size, len);
		goto out;
	}
	/* Raw bytes: .modinfo is a byte array whatever the ELF's byte order. */
	Elf_Data *d = elf_rawdata(scn, NULL);
	if (!d || (sh.sh_size && !d->d_buf)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: cannot read the .modinfo section: %s",
			       elf_errmsg(-1));
		goto out;
	}
	size_t dlen = d->d_size < sh.sh_size ? d->d_size : (size_t)sh.sh_size;
	size_t vlen = 0;
	const char *v = dlen ? modinfo_find(d->d_buf, dlen, "vermagic", &vlen) : NULL;
	if (!v) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: .modinfo has no vermagic= entry");
		goto out;
	}
	if (vlen == 0) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "module: the vermagic in .modinfo is empty");
		goto out;
	}
	if (vlen >= retlen) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "module: the vermagic (%zu bytes) does not fit in %zu bytes", vlen, retlen);
		goto out;
	}
	memcpy(ret, v, vlen);
	ret[vlen] = '\0';
out:
	elf_end(e);
	free(copy);
	return r;
}
