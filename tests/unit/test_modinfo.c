/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel releases (builder/modinfo.c): the bzImage setup header's version
 * string and a module's vermagic.
 *
 * Modules are built here: with libelf (ELF_C_WRITE) for exact control
 * (ELF32 and ELF64, both byte orders, a .modinfo without vermagic, an
 * SHT_NOBITS .modinfo, a section offset past the end), and with the C
 * compiler for an object laid out by a real toolchain. The bzImage header is
 * synthetic; the Debian 12 kernel in ../shared is checked when present.
 * Compressed modules are made from those with the xz, zstd and gzip
 * commands, as Linux's modules_install does.
 */
#include <gelf.h>
#include <libelf.h>

#include "tests/unit/testlib.h"
#include "common/internal.h"
#include "builder/builder.h"

static const char VERMAGIC[] = "6.1.0-50-amd64 SMP preempt mod_unload modversions ";

/* A relocatable ELF with one section `name` holding n bytes of data (type
 * sh_type), a .shstrtab, and nothing else. Returns the file's bytes. */
static uint8_t *mkelf(int cls, int enc, const char *name, const void *data, size_t n,
		      unsigned sh_type, size_t *ret_len)
{
	char *dir = t_tmpdir();
	char *path = NULL;
	assert_true(asprintf(&path, "%s/m.ko", dir) > 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
	assert_non_null(e);
	assert_non_null(gelf_newehdr(e, cls));
	GElf_Ehdr eh;
	assert_non_null(gelf_getehdr(e, &eh));
	eh.e_ident[EI_DATA] = (unsigned char)enc;
	eh.e_type = ET_REL;
	eh.e_machine = cls == ELFCLASS64 ? EM_X86_64 : EM_386;
	eh.e_version = EV_CURRENT;

	/* "\0" name "\0" ".shstrtab\0" */
	char names[128];
	size_t nl = strlen(name);
	names[0] = '\0';
	memcpy(names + 1, name, nl + 1);
	memcpy(names + 2 + nl, ".shstrtab", 10);
	size_t names_len = 2 + nl + 10;

	Elf_Scn *s1 = elf_newscn(e);
	Elf_Data *d1 = elf_newdata(s1);
	d1->d_buf = (void *)data;
	d1->d_size = n;
	d1->d_type = ELF_T_BYTE;
	d1->d_align = 1;
	GElf_Shdr sh;
	assert_non_null(gelf_getshdr(s1, &sh));
	sh.sh_name = 1;
	sh.sh_type = sh_type;
	sh.sh_flags = SHF_ALLOC;
	sh.sh_size = n;
	assert_true(gelf_update_shdr(s1, &sh));

	Elf_Scn *s2 = elf_newscn(e);
	Elf_Data *d2 = elf_newdata(s2);
	d2->d_buf = names;
	d2->d_size = names_len;
	d2->d_type = ELF_T_BYTE;
	d2->d_align = 1;
	assert_non_null(gelf_getshdr(s2, &sh));
	sh.sh_name = (GElf_Word)(2 + nl);
	sh.sh_type = SHT_STRTAB;
	sh.sh_size = names_len;
	assert_true(gelf_update_shdr(s2, &sh));
	eh.e_shstrndx = (GElf_Half)elf_ndxscn(s2);
	assert_true(gelf_update_ehdr(e, &eh));
	if (elf_update(e, ELF_C_WRITE) < 0)
		fail_msg("elf_update: %s", elf_errmsg(-1));
	elf_end(e);
	close(fd);
	uint8_t *buf = (uint8_t *)t_slurp(path, ret_len);
	free(path);
	t_rmrf(dir);
	free(dir);
	return buf;
}

static int vermagic(cvmf_ctx *ctx, const uint8_t *b, size_t n, char *out, size_t len)
{
	return bld_module_vermagic(ctx, b, n, out, len);
}

static void test_libelf_classes(void **state)
{
	(void)state;
	static const int cls[] = { ELFCLASS64, ELFCLASS32 };
	static const int enc[] = { ELFDATA2LSB, ELFDATA2MSB };
	char mi[256];
	size_t mlen = (size_t)snprintf(mi, sizeof(mi),
				       "license=GPL%cdescription=x%cvermagic=%s%cname=m", 0, 0,
				       VERMAGIC, 0) + 1;
	for (int c = 0; c < 2; c++)
		for (int d = 0; d < 2; d++) {
			cvmf_ctx *ctx = cvmf_ctx_new();
			size_t n;
			uint8_t *b = mkelf(cls[c], enc[d], ".modinfo", mi, mlen, SHT_PROGBITS, &n);
			char out[128];
			int r = vermagic(ctx, b, n, out, sizeof(out));
			if (r)
				fail_msg("class %d enc %d: %s", cls[c], enc[d], cvmf_ctx_errmsg(ctx));
			assert_string_equal(out, VERMAGIC);
			/* Too small an output buffer is an error, not a truncation. */
			assert_int_equal(vermagic(ctx, b, n, out, strlen(VERMAGIC)), CVMF_E_INVAL);
			free(b);
			cvmf_ctx_free(ctx);
		}
}

static void test_unterminated_last_string(void **state)
{
	(void)state;
	static const char mi[] = "a=b\0vermagic=6.1.0-x SMP";   /* no NUL at the very end */
	cvmf_ctx *ctx = cvmf_ctx_new();
	size_t n;
	uint8_t *b = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", mi, sizeof(mi) - 1, SHT_PROGBITS, &n);
	char out[64];
	assert_int_equal(vermagic(ctx, b, n, out, sizeof(out)), 0);
	assert_string_equal(out, "6.1.0-x SMP");
	free(b);
	cvmf_ctx_free(ctx);
}

static void test_errors(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[128];
	size_t n;
	uint8_t *b;

	/* Not ELF. */
	static const uint8_t junk[64] = "this is not an ELF file";
	assert_int_equal(vermagic(ctx, junk, sizeof(junk), out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "not an ELF"));
	assert_int_equal(vermagic(ctx, junk, 0, out, sizeof(out)), CVMF_E_FORMAT);
	static const uint8_t xz[16] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	assert_int_equal(vermagic(ctx, xz, sizeof(xz), out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "xz"));
	/* ELF magic and nothing else. */
	static const uint8_t stub[20] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	assert_int_equal(vermagic(ctx, stub, sizeof(stub), out, sizeof(out)), CVMF_E_FORMAT);

	/* No .modinfo. */
	static const char mi[] = "vermagic=6.1.0 SMP";
	b = mkelf(ELFCLASS64, ELFDATA2LSB, ".rodata", mi, sizeof(mi), SHT_PROGBITS, &n);
	assert_int_equal(vermagic(ctx, b, n, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "no .modinfo"));
	free(b);

	/* .modinfo without vermagic (a "vermagicx=" key does not count). */
	static const char nov[] = "license=GPL\0vermagicx=1\0vermagic\0name=m";
	b = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", nov, sizeof(nov), SHT_PROGBITS, &n);
	assert_int_equal(vermagic(ctx, b, n, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "no vermagic"));
	free(b);

	/* An empty vermagic. */
	static const char empty[] = "vermagic=\0name=m";
	b = mkelf(ELFCLASS32, ELFDATA2LSB, ".modinfo", empty, sizeof(empty), SHT_PROGBITS, &n);
	assert_int_equal(vermagic(ctx, b, n, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "empty"));
	free(b);

	/* SHT_NOBITS. */
	b = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", NULL, 0, SHT_NOBITS, &n);
	assert_int_equal(vermagic(ctx, b, n, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "NOBITS"));
	free(b);

	/* The section's offset moved past the end of the file (ELF64 LE:
	 * section headers at e_shoff, index 1 is .modinfo, sh_offset at +24). */
	b = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", mi, sizeof(mi), SHT_PROGBITS, &n);
	uint64_t shoff = t_get64(b + 0x28);
	assert_true(shoff + 3 * 64 <= n);
	t_le64(b + shoff + 64 + 24, (uint64_t)n - 4);
	int r = vermagic(ctx, b, n, out, sizeof(out));
	assert_int_equal(r, CVMF_E_FORMAT);
	free(b);

	/* Truncated anywhere: never a crash, always an error or the right answer. */
	b = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", mi, sizeof(mi), SHT_PROGBITS, &n);
	for (size_t cut = 0; cut < n; cut++) {
		r = vermagic(ctx, b, cut, out, sizeof(out));
		if (r == 0)
			assert_string_equal(out, "6.1.0 SMP");
		else
			assert_true(r == CVMF_E_FORMAT || r == CVMF_E_INVAL);
	}
	free(b);
	cvmf_ctx_free(ctx);
}

/* The toolchain's own layout: cc -c with the kernel's MODULE_INFO idiom. */
static void test_cc_object(void **state)
{
	(void)state;
	if (access("/usr/bin/cc", X_OK) != 0) {
		printf("# SKIP reason: no C compiler at /usr/bin/cc to build a module-like object\n");
		skip();
	}
	char *dir = t_tmpdir();
	char *src = NULL, *obj = NULL;
	char text[512];
	snprintf(text, sizeof(text),
		 "__attribute__((section(\".modinfo\"), used, aligned(1))) static const char a[] = \"license=GPL\";\n"
		 "__attribute__((section(\".modinfo\"), used, aligned(1))) static const char b[] = \"vermagic=%s\";\n"
		 "int init_module(void) { return 0; }\n",
		 VERMAGIC);
	src = t_write(dir, "mod.c", text, strlen(text));
	assert_true(asprintf(&obj, "%s/mod.o", dir) > 0);
	for (int m32 = 0; m32 < 2; m32++) {
		char *argv[] = { "/usr/bin/cc", "-c", "-O2", m32 ? "-m32" : "-m64", src, "-o", obj, NULL };
		struct run rr = t_run(argv);
		if (rr.status != 0) {
			t_run_free(&rr);
			if (m32) {
				printf("# note: cc -m32 is unavailable; ELF32 is covered by the libelf test\n");
				break;
			}
			fail_msg("cc -c failed");
		}
		t_run_free(&rr);
		size_t n;
		uint8_t *b = (uint8_t *)t_slurp(obj, &n);
		cvmf_ctx *ctx = cvmf_ctx_new();
		char out[128];
		if (bld_module_vermagic(ctx, b, n, out, sizeof(out)))
			fail_msg("%s", cvmf_ctx_errmsg(ctx));
		assert_string_equal(out, VERMAGIC);
		cvmf_ctx_free(ctx);
		free(b);
	}
	free(src);
	free(obj);
	t_rmrf(dir);
	free(dir);
}

/* ---- compressed modules (.ko.xz, .ko.zst, .ko.gz) ---- */

static bool have_tool(const char *name)
{
	struct run r = t_sh("command -v %s >/dev/null 2>&1", name);
	bool ok = r.status == 0;
	t_run_free(&r);
	return ok;
}

/* Compress dir/src into dir/dst with a shell command ("xz -c"); the bytes. */
static uint8_t *compress_with(const char *dir, const char *src, const char *cmd, const char *dst,
			      size_t *ret_len)
{
	struct run r = t_sh("cd '%s' && %s '%s' > '%s'", dir, cmd, src, dst);
	if (r.status)
		fail_msg("%s %s: %s", cmd, src, r.err);
	t_run_free(&r);
	char *p;
	assert_true(asprintf(&p, "%s/%s", dir, dst) > 0);
	uint8_t *b = (uint8_t *)t_slurp(p, ret_len);
	free(p);
	return b;
}

/* The commands Linux's Makefile.modinst uses for CONFIG_MODULE_COMPRESS_*. */
static const struct {
	const char *suffix, *tool, *cmd;
} compressors[] = {
	{ ".ko.xz", "xz", "xz --check=crc32 --lzma2=dict=1MiB -c" },
	{ ".ko.zst", "zstd", "zstd -q -T0 -c" },
	{ ".ko.gz", "gzip", "gzip -n -f -c" },
};

static void test_compressed(void **state)
{
	(void)state;
	char mi[256];
	size_t mlen = (size_t)snprintf(mi, sizeof(mi), "license=GPL%cvermagic=%s%cname=m", 0,
				       VERMAGIC, 0) + 1;
	size_t n;
	uint8_t *elf = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", mi, mlen, SHT_PROGBITS, &n);
	char *dir = t_tmpdir();
	free(t_write(dir, "m.ko", elf, n));
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[128];
	uint8_t *packed[3] = { NULL };
	size_t plen[3] = { 0 };
	for (size_t i = 0; i < 3; i++) {
		if (!have_tool(compressors[i].tool)) {
			printf("# note: no %s; %s not checked\n", compressors[i].tool,
			       compressors[i].suffix);
			continue;
		}
		char dst[32];
		snprintf(dst, sizeof(dst), "m%s", compressors[i].suffix);
		packed[i] = compress_with(dir, "m.ko", compressors[i].cmd, dst, &plen[i]);
		memset(out, 0, sizeof(out));
		if (bld_module_vermagic_file(ctx, dst, packed[i], plen[i], out, sizeof(out)))
			fail_msg("%s: %s", dst, cvmf_ctx_errmsg(ctx));
		assert_string_equal(out, VERMAGIC);
		assert_int_equal(bld_module_kind(dst), (int)(BLD_MODULE_XZ + i));
		/* Cut off: an error, not a partial ELF. */
		assert_int_equal(bld_module_vermagic(ctx, packed[i], plen[i] - 7, out, sizeof(out)),
				 CVMF_E_FORMAT);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), compressors[i].tool));
		/* Bytes after the end of the stream are refused. */
		uint8_t *tail = malloc(plen[i] + 3);
		memcpy(tail, packed[i], plen[i]);
		memcpy(tail + plen[i], "abc", 3);
		assert_int_equal(bld_module_vermagic(ctx, tail, plen[i] + 3, out, sizeof(out)),
				 CVMF_E_FORMAT);
		free(tail);
	}
	/* The name and the bytes must agree, as kmod requires. */
	assert_int_equal(bld_module_vermagic_file(ctx, "m.ko", elf, n, out, sizeof(out)), 0);
	if (packed[0]) {
		assert_int_equal(bld_module_vermagic_file(ctx, "m.ko", packed[0], plen[0], out,
							  sizeof(out)), CVMF_E_FORMAT);
		assert_string_equal(cvmf_ctx_errmsg(ctx),
				    "module: the name says an ELF object but the file is xz-compressed");
	}
	if (packed[1]) {
		assert_int_equal(bld_module_vermagic_file(ctx, "m.ko.xz", packed[1], plen[1], out,
							  sizeof(out)), CVMF_E_FORMAT);
		assert_string_equal(cvmf_ctx_errmsg(ctx),
				    "module: the name says xz but the file is zstd-compressed");
	}
	assert_int_equal(bld_module_vermagic_file(ctx, "m.ko.xz", elf, n, out, sizeof(out)),
			 CVMF_E_FORMAT);
	assert_string_equal(cvmf_ctx_errmsg(ctx), "module: the name says xz but the file is not compressed");
	assert_int_equal(bld_module_kind("m.ko.bz2"), BLD_MODULE_NONE);
	assert_int_equal(bld_module_kind(".ko"), BLD_MODULE_NONE);
	/* Compressed junk: the decoder's error, named. */
	if (packed[1]) {
		free(t_write(dir, "junk", "not an ELF at all", 17));
		size_t jn;
		uint8_t *j = compress_with(dir, "junk", compressors[1].cmd, "junk.zst", &jn);
		assert_int_equal(bld_module_vermagic(ctx, j, jn, out, sizeof(out)), CVMF_E_FORMAT);
		assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "module: zstd-compressed, 17 bytes decoded: not an ELF"));
		free(j);
	}
	for (size_t i = 0; i < 3; i++)
		free(packed[i]);
	free(elf);
	cvmf_ctx_free(ctx);
	t_rmrf(dir);
	free(dir);
}

/* A module that decodes to more than 256 MiB is refused when the bound is
 * reached, without decoding the rest. */
static void test_compressed_bound(void **state)
{
	(void)state;
	if (!have_tool("zstd"))
		skip();
	char *dir = t_tmpdir();
	struct run r = t_sh("head -c 300M /dev/zero | zstd -q -1 -c > '%s/big.ko.zst'", dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *p;
	assert_true(asprintf(&p, "%s/big.ko.zst", dir) > 0);
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(p, &n);
	assert_true(n < (1u << 20));
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[64];
	assert_int_equal(bld_module_vermagic_file(ctx, "big.ko.zst", b, n, out, sizeof(out)),
			 CVMF_E_FORMAT);
	assert_string_equal(cvmf_ctx_errmsg(ctx),
			    "module: zstd-compressed: decodes to more than 268435456 bytes (the most accepted)");
	cvmf_ctx_free(ctx);
	free(b);
	free(p);
	t_rmrf(dir);
	free(dir);
}

/* A real module: one .ko of Debian 12's linux-image-6.1.0-50-amd64 when
 * its package is in cvmforge's download cache (make demo puts it there),
 * compressed as Debian 13 ships its modules (xz, CRC32, 1 MiB dictionary). */
static void test_compressed_real(void **state)
{
	(void)state;
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *cache = NULL;
	if (getenv("CVMFORGE_CACHE"))
		assert_true(asprintf(&cache, "%s/debs", getenv("CVMFORGE_CACHE")) > 0);
	else if (xdg && *xdg)
		assert_true(asprintf(&cache, "%s/cvmforge/debs", xdg) > 0);
	else
		assert_true(asprintf(&cache, "%s/.cache/cvmforge/debs", home ? home : "/") > 0);
	char *dir = t_tmpdir();
	struct run r = t_sh("for d in '%s'/*.deb; do [ \"$(dpkg-deb -f \"$d\" Package 2>/dev/null)\" = "
			    "linux-image-6.1.0-50-amd64 ] || continue; dpkg-deb --fsys-tarfile \"$d\" | "
			    "tar -x -C '%s' --wildcards --no-anchored '*/lib/crc-itu-t.ko' && "
			    "find '%s' -name crc-itu-t.ko && exit 0; done; exit 1", cache, dir, dir);
	if (r.status || !*r.out || !have_tool("xz")) {
		printf("# SKIP reason: linux-image-6.1.0-50-amd64 is not in %s (make demo downloads it), or no xz\n",
		       cache);
		t_run_free(&r);
		t_rmrf(dir);
		free(dir);
		free(cache);
		skip();
	}
	char *ko = strndup(r.out, strcspn(r.out, "\n"));
	t_run_free(&r);
	r = t_sh("xz --check=crc32 --lzma2=dict=1MiB -c '%s' > '%s/crc-itu-t.ko.xz'", ko, dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *p;
	assert_true(asprintf(&p, "%s/crc-itu-t.ko.xz", dir) > 0);
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(p, &n);
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[128];
	if (bld_module_vermagic_file(ctx, p, b, n, out, sizeof(out)))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_string_equal(out, "6.1.0-50-amd64 SMP preempt mod_unload modversions ");
	cvmf_ctx_free(ctx);
	free(b);
	free(p);
	free(ko);
	t_rmrf(dir);
	free(dir);
	free(cache);
}

/* The builder ships compressed modules as they are, after checking them. */
static void test_build_compressed(void **state)
{
	(void)state;
	char *fw = t_shared_file("inputs/OVMF.fd"), *kernel = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (!fw || !kernel || !have_tool("xz") || !have_tool("zstd") || !have_tool("cpio")) {
		free(fw);
		free(kernel);
		skip();
	}
	char *dir = t_tmpdir();
	static const char *const rels[] = { "6.1.0-50-amd64", "5.10.0-99-amd64" };
	for (int i = 0; i < 2; i++) {
		char mi[256], name[16];
		size_t mlen = (size_t)snprintf(mi, sizeof(mi), "license=GPL%cvermagic=%s SMP preempt "
					       "mod_unload modversions ", 0, rels[i]) + 1;
		size_t n;
		uint8_t *elf = mkelf(ELFCLASS64, ELFDATA2LSB, ".modinfo", mi, mlen, SHT_PROGBITS, &n);
		snprintf(name, sizeof(name), "m%d.ko", i);
		free(t_write(dir, name, elf, n));
		free(elf);
	}
	struct run r = t_sh("cd '%s' && xz --check=crc32 --lzma2=dict=1MiB -c m0.ko > good.ko.xz && "
			    "zstd -q -c m0.ko > good.ko.zst && zstd -q -c m1.ko > bad.ko.zst", dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	char *recipe;
	assert_true(asprintf(&recipe, "%s/m.recipe", dir) > 0);
	for (int bad = 1; bad >= 0; bad--) {
		FILE *f = fopen(recipe, "w");
		assert_non_null(f);
		fprintf(f, "[image]\nname = m\nversion = 1\nsource-date-epoch = 1700000000\n\n"
			   "[firmware]\nsource = file:%s\n\n[kernel]\nsource = file:%s\n\n"
			   "[initrd]\ncompression = none\n"
			   "file = file:good.ko.xz:/lib/modules/a/good.ko.xz\n"
			   "file = file:good.ko.zst:/lib/modules/a/good.ko.zst\n%s\n"
			   "[cmdline]\nvalue = console=ttyS0\n\n[snp]\nkernel-hashes = no\nvcpus = 1\n",
			fw, kernel, bad ? "file = file:bad.ko.zst:/lib/modules/b/bad.ko.zst\n" : "");
		fclose(f);
		r = t_sh("cd '%s' && rm -rf out m.recipe.lock && '%s' build --lock --quiet m.recipe -o out",
			 dir, t_bin());
		if (bad) {
			t_assert_clean_exit(&r, 1);
			assert_non_null(strstr(r.err, "/lib/modules/b/bad.ko.zst: module built for "
						      "5.10.0-99-amd64, but the kernel is 6.1.0-50-amd64"));
		} else {
			t_assert_clean_exit(&r, 0);
		}
		t_run_free(&r);
	}
	/* The manifest names each with its vermagic; the initrd holds the files' own bytes. */
	char *p;
	assert_true(asprintf(&p, "%s/out/m-1/manifest.json", dir) > 0);
	char *man = t_slurp(p, NULL);
	assert_non_null(strstr(man, "\"path\": \"lib/modules/a/good.ko.xz\""));
	assert_non_null(strstr(man, "\"path\": \"lib/modules/a/good.ko.zst\""));
	assert_non_null(strstr(man, "\"vermagic\": \"6.1.0-50-amd64 SMP preempt"));
	free(man);
	free(p);
	r = t_sh("cd '%s' && mkdir x && cd x && cpio -i -d --quiet < ../out/m-1/initrd.img && "
		 "cmp lib/modules/a/good.ko.xz ../good.ko.xz && cmp lib/modules/a/good.ko.zst ../good.ko.zst",
		 dir);
	t_assert_clean_exit(&r, 0);
	t_run_free(&r);
	free(recipe);
	t_rmrf(dir);
	free(dir);
	free(fw);
	free(kernel);
}

/* ---- bzImage ---- */

static uint8_t *bz_header(size_t len, uint16_t proto, uint16_t kver, const char *s)
{
	uint8_t *b = calloc(1, len);
	assert_non_null(b);
	b[0x1f1] = 27;
	t_le16(b + 0x1fe, 0xaa55);
	memcpy(b + 0x202, "HdrS", 4);
	t_le16(b + 0x206, proto);
	t_le16(b + 0x20e, kver);
	if (s)
		memcpy(b + 0x200 + kver, s, strlen(s) + 1);
	return b;
}

static void test_bzimage_synthetic(void **state)
{
	(void)state;
	static const char v[] = "6.1.0-50-amd64 (debian-kernel@lists.debian.org) #1 SMP";
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[64];
	uint8_t *b = bz_header(0x1000, 0x020f, 0x300, v);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), 0);
	assert_string_equal(out, "6.1.0-50-amd64");
	/* Exactly the string and its NUL. */
	size_t tight = 0x500 + sizeof(v);
	assert_int_equal(bld_bzimage_release(ctx, b, tight, out, sizeof(out)), 0);
	/* One byte short: the NUL is outside. */
	assert_int_equal(bld_bzimage_release(ctx, b, tight - 1, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "NUL"));
	/* The release does not fit the output. */
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, 14), CVMF_E_INVAL);
	/* A string without spaces is the release itself. */
	memcpy(b + 0x500, "6.2.0\0", 6);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), 0);
	assert_string_equal(out, "6.2.0");
	/* Empty. */
	memcpy(b + 0x500, " x\0", 3);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "empty"));
	free(b);

	/* No magic, old protocol, no string, string out of range. */
	b = bz_header(0x1000, 0x020f, 0x300, v);
	b[0x202] = 'X';
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "HdrS"));
	free(b);
	b = bz_header(0x1000, 0x0104, 0x300, v);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "protocol 1.04"));
	free(b);
	b = bz_header(0x1000, 0x020f, 0, NULL);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "kernel_version is 0"));
	free(b);
	b = bz_header(0x1000, 0x020f, 0x300, v);
	t_le16(b + 0x20e, 0xf000);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "beyond"));
	free(b);
	/* Beyond the first 32 KiB of a big file. */
	b = bz_header(0x12000, 0x020f, 0x8000, v);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x12000, out, sizeof(out)), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "32 KiB"));
	free(b);
	/* Not NUL-terminated within 32 KiB. */
	b = bz_header(0x12000, 0x020f, 0x7000, NULL);
	memset(b + 0x7200, 'a', 0x12000 - 0x7200);
	assert_int_equal(bld_bzimage_release(ctx, b, 0x12000, out, sizeof(out)), CVMF_E_FORMAT);
	free(b);
	/* Every truncation of a valid header: an error or the right answer. */
	b = bz_header(0x600, 0x020f, 0x300, v);
	for (size_t cut = 0; cut <= 0x600; cut++) {
		int r = bld_bzimage_release(ctx, b, cut, out, sizeof(out));
		if (r == 0)
			assert_string_equal(out, "6.1.0-50-amd64");
		else
			assert_int_equal(r, CVMF_E_FORMAT);
	}
	free(b);
	/* A non-printable byte in the release. */
	b = bz_header(0x1000, 0x020f, 0x300, "6.1\x01 x");
	assert_int_equal(bld_bzimage_release(ctx, b, 0x1000, out, sizeof(out)), CVMF_E_FORMAT);
	free(b);
	cvmf_ctx_free(ctx);
}

static void test_bzimage_debian(void **state)
{
	(void)state;
	char *path = t_shared_file("inputs/vmlinuz-6.1.0-50");
	if (!path)
		skip();
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(path, &n);
	cvmf_ctx *ctx = cvmf_ctx_new();
	char out[64];
	if (bld_bzimage_release(ctx, b, n, out, sizeof(out)))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_string_equal(out, "6.1.0-50-amd64");
	/* The first 32 KiB are enough. */
	assert_int_equal(bld_bzimage_release(ctx, b, 0x8000, out, sizeof(out)), 0);
	assert_string_equal(out, "6.1.0-50-amd64");
	cvmf_ctx_free(ctx);
	free(b);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libelf_classes),
		cmocka_unit_test(test_unterminated_last_string),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_cc_object),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_compressed_bound),
		cmocka_unit_test(test_compressed_real),
		cmocka_unit_test(test_build_compressed),
		cmocka_unit_test(test_bzimage_synthetic),
		cmocka_unit_test(test_bzimage_debian),
	};
	return cmocka_run_group_tests_name("modinfo", tests, NULL, NULL);
}
