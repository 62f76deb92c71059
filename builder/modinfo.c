/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel releases: the one a bzImage announces in its setup header, and the
 * vermagic a module was built for. A build refuses modules whose vermagic
 * does not start with the kernel's release, so both are read from the
 * files themselves rather than trusted from the recipe. Both inputs are
 * untrusted; every offset is checked before use (tests/fuzz/fuzz_modinfo.c).
 */
#include <pthread.h>
#include <stdlib.h>

#include <gelf.h>
#include <libelf.h>

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

int bld_module_vermagic(cvmf_ctx *ctx, const uint8_t *buf, size_t len, char *ret,
			size_t retlen)
{
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const uint8_t zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
	Elf *e = NULL;
	char *copy = NULL;
	int r = 0;

	pthread_once(&g_elf_once, elf_init);
	if (g_elf_version == EV_NONE)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "module: libelf is out of date: %s",
				  elf_errmsg(-1));
	if (len >= 6 && !memcmp(buf, xz, 6))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "module: xz-compressed (.ko.xz); the ELF object is needed");
	if (len >= 4 && !memcmp(buf, zst, 4))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "module: zstd-compressed (.ko.zst); the ELF object is needed");
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
