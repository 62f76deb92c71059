/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the unit tests: synthetic OVMF images, temporary files,
 * running the CLI, and locating ../shared. Header-only so that each test
 * stays one file.
 */
#ifndef CVMF_TESTLIB_H
#define CVMF_TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cvmforge/cvmforge.h"

extern char **environ;

/* ---- GUIDs as stored in firmware (EFI mixed-endian) ---- */
static const uint8_t T_GUID_FOOTER[16] = { 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					   0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const uint8_t T_GUID_RESET[16] = { 0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
					  0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const uint8_t T_GUID_HASHES[16] = { 0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
					   0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };
static const uint8_t T_GUID_SEV_META[16] = { 0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
					     0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc };
static const uint8_t T_GUID_TDX_META[16] = { 0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
					     0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2 };
static const uint8_t T_GUID_TDVF[16] = { 0xf3, 0xf9, 0xea, 0xe9, 0x8e, 0x16, 0xd5, 0x44,
					 0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae };

static inline void t_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void t_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void t_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t t_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t t_get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * A synthetic firmware image. Entries are laid down backwards from the
 * footer, exactly as edk2's ResetVector does; fw_finish writes the footer.
 */
struct fw {
	uint8_t *buf;
	size_t len;
	size_t p;   /* where the next entry ends */
};

static inline struct fw fw_new(size_t len)
{
	struct fw f = { calloc(1, len), len, len - 32 - 18 };
	assert_non_null(f.buf);
	/* Deterministic, non-zero page contents. */
	for (size_t i = 0; i < len - 64; i++)
		f.buf[i] = (uint8_t)(i * 131 + (i >> 12) * 7);
	return f;
}

static inline void fw_entry(struct fw *f, const uint8_t guid[16], const void *data, size_t n)
{
	size_t l = n + 18;
	f->p -= l;
	memcpy(f->buf + f->p, data, n);
	t_le16(f->buf + f->p + n, (uint16_t)l);
	memcpy(f->buf + f->p + n + 2, guid, 16);
}

static inline void fw_u32_entry(struct fw *f, const uint8_t guid[16], uint32_t v)
{
	uint8_t d[4];
	t_le32(d, v);
	fw_entry(f, guid, d, 4);
}

static inline void fw_finish(struct fw *f)
{
	size_t end = f->len - 32;
	t_le16(f->buf + end - 18, (uint16_t)(end - f->p));
	memcpy(f->buf + end - 16, T_GUID_FOOTER, 16);
}

struct t_section { uint32_t gpa, len, type; };

/* Write an ASEV block at file offset `at` and point an entry at it. */
static inline void fw_asev(struct fw *f, size_t at, const struct t_section *s, size_t n)
{
	uint8_t *h = f->buf + at;
	memcpy(h, "ASEV", 4);
	t_le32(h + 4, (uint32_t)(16 + 12 * n));
	t_le32(h + 8, 1);
	t_le32(h + 12, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		t_le32(h + 16 + 12 * i, s[i].gpa);
		t_le32(h + 20 + 12 * i, s[i].len);
		t_le32(h + 24 + 12 * i, s[i].type);
	}
	fw_u32_entry(f, T_GUID_SEV_META, (uint32_t)(f->len - at));
}

static inline void fw_hashes(struct fw *f, uint32_t base, uint32_t size)
{
	uint8_t d[8];
	t_le32(d, base);
	t_le32(d + 4, size);
	fw_entry(f, T_GUID_HASHES, d, 8);
}

/* A finished image with an SEV-ES reset block, optionally an empty hashes
 * area (as in Debian 12's OVMF), and n ASEV sections half-way through. */
static inline struct fw fw_sev(size_t len, uint32_t reset_eip, bool empty_hashes,
			       const struct t_section *s, size_t n)
{
	struct fw f = fw_new(len);
	fw_u32_entry(&f, T_GUID_RESET, reset_eip);
	if (empty_hashes)
		fw_hashes(&f, 0, 0);
	if (n)
		fw_asev(&f, len / 2, s, n);
	fw_finish(&f);
	return f;
}

/* An AmdSevX64-like image: reset block, hashes table, ASEV with a kernel-hashes page. */
static inline struct fw fw_amdsev_like(size_t len)
{
	static const struct t_section secs[] = {
		{ 0x800000, 0x9000, 1 }, { 0x80a000, 0x3000, 1 }, { 0x80d000, 0x1000, 2 },
		{ 0x80e000, 0x1000, 3 }, { 0x80f000, 0x1000, 4 }, { 0x811000, 0x3000, 1 },
		{ 0x810000, 0x1000, 0x10 },
	};
	struct fw f = fw_new(len);
	fw_u32_entry(&f, T_GUID_RESET, 0x80b004);
	fw_hashes(&f, 0x810c00, 0x400);
	fw_asev(&f, len - 0x1000, secs, sizeof(secs) / sizeof(secs[0]));
	fw_finish(&f);
	return f;
}

/* ---- files ---- */
/* A TDVF descriptor with these sections at file offset `at` of a len-byte
 * image, the TDX metadata entry pointing at it (without the metadata GUID
 * in front when !guid). */
struct t_tdvf { uint32_t off, raw; uint64_t gpa, size; uint32_t type, attr; };

static inline struct fw fw_tdvf(size_t len, size_t at, const struct t_tdvf *s, size_t n,
				bool guid)
{
	struct fw f = fw_new(len);
	if (guid)
		memcpy(f.buf + at - 16, T_GUID_TDVF, 16);
	uint8_t *d = f.buf + at;
	memcpy(d, "TDVF", 4);
	t_le32(d + 4, (uint32_t)(16 + 32 * n));
	t_le32(d + 8, 1);
	t_le32(d + 12, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = d + 16 + 32 * i;
		t_le32(e, s[i].off);
		t_le32(e + 4, s[i].raw);
		t_le64(e + 8, s[i].gpa);
		t_le64(e + 16, s[i].size);
		t_le32(e + 24, s[i].type);
		t_le32(e + 28, s[i].attr);
	}
	fw_u32_entry(&f, T_GUID_TDX_META, (uint32_t)(f.len - at));
	fw_finish(&f);
	return f;
}

static inline char *t_tmpdir(void)
{
	char tmpl[] = "/tmp/cvmforge-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static inline char *t_write(const char *dir, const char *name, const void *data, size_t n)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Write a synthetic image to dir/name and release it. */
static inline char *fw_write(const char *dir, const char *name, struct fw f)
{
	char *path = t_write(dir, name, f.buf, f.len);
	free(f.buf);
	return path;
}

static inline void t_rmrf(const char *dir)
{
	char *cmd = NULL;
	if (asprintf(&cmd, "rm -rf '%s'", dir) > 0 && system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	free(cmd);
}

static inline void t_sha256(const void *d, size_t n, uint8_t out[32])
{
	assert_true(EVP_Digest(d, n, out, NULL, EVP_sha256(), NULL));
}

static inline void t_sha384(const void *d, size_t n, uint8_t out[48])
{
	assert_true(EVP_Digest(d, n, out, NULL, EVP_sha384(), NULL));
}

/* ---- ../shared ---- */
/* Absolute when it exists, so that tests that change directory (cd DIR && ...)
 * still find it; as given otherwise, for the skip message. */
static inline const char *t_shared(void)
{
	static char abs[4096];
	const char *s = getenv("SHARED");
	s = s && *s ? s : "../shared";
	return realpath(s, abs) ? abs : s;
}

/* Path of a file under ../shared, or NULL (and a printed reason) if absent. */
static inline char *t_shared_file(const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", t_shared(), rel) > 0);
	if (access(p, R_OK) != 0) {
		printf("# SKIP reason: %s not readable (../shared is reference material that may be absent)\n", p);
		free(p);
		return NULL;
	}
	return p;
}

/* ---- running the CLI ---- */
struct run {
	int status;      /* exit code, or 128+signal */
	char *out, *err; /* NUL-terminated */
	size_t out_len;
};

static inline char *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	for (;;) {
		n += fread(b + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		cap *= 2;
		b = realloc(b, cap);
		assert_non_null(b);
	}
	fclose(f);
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

/* A vector's input must be the file it pins: fail, naming both digests. */
static inline void t_check_input(const char *path, const char *want_hex)
{
	size_t n;
	char *data = t_slurp(path, &n);
	uint8_t d[32];
	char hex[65];
	t_sha256(data, n, d);
	cvmf_hex(d, 32, hex);
	free(data);
	if (strcmp(hex, want_hex))
		fail_msg("input %s has sha256 %s, the vector pins %s", path, hex, want_hex);
}

/* The binary under test, as an absolute path (tests may chdir). */
static inline const char *t_bin(void)
{
	static char path[4096];
	if (!path[0]) {
		const char *b = getenv("CVMFORGE_BIN");
		if (!realpath(b && *b ? b : "build/cvmforge", path))
			snprintf(path, sizeof(path), "%s", b && *b ? b : "build/cvmforge");
	}
	return path;
}

/* Run argv (argv[0] is the program path), in `cwd` if not NULL. */
static inline struct run t_run_in(const char *cwd, char *const argv[])
{
	char out_path[] = "/tmp/cvmforge-out-XXXXXX", err_path[] = "/tmp/cvmforge-err-XXXXXX";
	int ofd = mkstemp(out_path), efd = mkstemp(err_path);
	assert_true(ofd >= 0 && efd >= 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, ofd, 1);
	posix_spawn_file_actions_adddup2(&fa, efd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(rc, 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(ofd);
	close(efd);
	struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), NULL, NULL, 0 };
	r.out = t_slurp(out_path, &r.out_len);
	r.err = t_slurp(err_path, NULL);
	unlink(out_path);
	unlink(err_path);
	return r;
}

static inline struct run t_run(char *const argv[])
{
	return t_run_in(NULL, argv);
}

static inline void t_run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Run a shell command line built with printf (quote paths with '...'). */
static inline struct run t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline struct run t_sh(const char *fmt, ...)
{
	char *script;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&script, fmt, ap) > 0);
	va_end(ap);
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct run r = t_run(argv);
	free(script);
	return r;
}

/* The last non-empty line of s (in a static buffer). */
static inline const char *t_last_line(const char *s)
{
	static char buf[4096];
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		n--;
	size_t start = n;
	while (start && s[start - 1] != '\n')
		start--;
	snprintf(buf, sizeof(buf), "%.*s", (int)(n - start), s + start);
	return buf;
}

/* A run must never end in a signal (crash, sanitizer abort) nor an odd code. */
static inline void t_assert_clean_exit(const struct run *r, int want)
{
	if (r->status != want)
		fprintf(stderr, "exit %d, wanted %d; stderr:\n%s\nstdout:\n%s\n", r->status, want,
			r->err, r->out);
	assert_int_equal(r->status, want);
}

#endif
