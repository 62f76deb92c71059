/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recipes (docs/recipe.md): an INI file read with libinih, then checked key
 * by key in the order of its lines, so that the first error reported is the
 * first one in the file. Every message is "FILE:LINE: what is wrong".
 *
 * libinih does the splitting; the reader below feeds it one line at a time
 * from memory and keeps the line number, the full section name (inih keeps
 * 49 characters) and the previous key, following inih's own rules for
 * comments, headers and continuation lines.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <ini.h>

#include "common/parse.h"
#include "common/path.h"
#include "recipes/recipe.h"

/* A recipe larger than this is not a recipe. */
#define RECIPE_MAX_SIZE (1u << 20)
#define LIST_MAX 64
#define EPOCH_MAX 253402300799ull   /* 9999-12-31T23:59:59Z */

/* ------------------------------------------------------------------------
 * The INI layer
 */

struct ini_state {
	cvmf_ctx *ctx;
	const char *name;
	const char *p;              /* what is left of the text */
	size_t left;
	unsigned line;              /* of the line last handed to inih */
	int err;                    /* the first error; its message is in ctx */
	unsigned err_line;
	rcp_ini_fn fn;
	void *user;
	bool full;                  /* the last line filled inih's buffer exactly */
	int last_num;
	bool cont;                  /* the current line continues prev_key */
	char section[RCP_MAX_LINE + 1];
	char prev_key[RCP_MAX_LINE + 1];   /* "" after a header */
	char value[RCP_MAX_LINE + 1];      /* a continuation line without its comment */
};

static int ini_fail(struct ini_state *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ini_fail(struct ini_state *st, int err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->err = cvmf_error(st->ctx, err, "%s:%u: %s", st->name, st->line, msg);
	st->err_line = st->line;
	return st->err;
}

/* The end of s (n bytes) at the first of `chars` or at an inline comment:
 * ';' after whitespace, as inih's ini_find_chars_or_comment. */
static size_t find_chars_or_comment(const char *s, size_t n, const char *chars)
{
	bool was_space = false;
	size_t i;
	for (i = 0; i < n; i++) {
		if (chars && strchr(chars, s[i]))
			break;
		if (was_space && s[i] == ';')
			break;
		was_space = isspace((unsigned char)s[i]);
	}
	return i;
}

static size_t rstrip_len(const char *s, size_t n)
{
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n;
}

/* Where the first invalid UTF-8 sequence or control character starts, or n. */
static size_t bad_byte(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return i;
			i++;
			continue;
		}
		size_t k;
		unsigned min, cp;
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return i;
		}
		if (n - i <= k)
			return i;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += k + 1;
	}
	return n;
}

bool rcp_ini_text_ok(const char *s)
{
	size_t n = strlen(s);
	return bad_byte((const unsigned char *)s, n) == n;
}

/* Follow inih's reading of one line (without its '\n'): note headers and
 * keys, and call the callback for a header. */
static void ini_classify(struct ini_state *st, const char *line, size_t n)
{
	const char *s = line;
	if (st->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (s < line + n && isspace((unsigned char)*s))
		s++;
	size_t len = rstrip_len(s, (size_t)(line + n - s));
	st->cont = false;
	if (!len || *s == ';' || *s == '#')
		return;
	if (st->prev_key[0] && s > line) {
		st->cont = true;
		size_t e = find_chars_or_comment(s, len, NULL);
		e = rstrip_len(s, e);
		memcpy(st->value, s, e);
		st->value[e] = '\0';
		return;
	}
	if (*s == '[') {
		size_t e = find_chars_or_comment(s + 1, len - 1, "]");
		if (e == len - 1 || s[1 + e] != ']')
			return;     /* inih reports the line */
		/* inih ignores what follows the ']': only a comment may. */
		const char *rest = s + 2 + e;
		size_t rn = len - 2 - e, c = find_chars_or_comment(rest, rn, NULL);
		if (rstrip_len(rest, c)) {
			ini_fail(st, CVMF_E_FORMAT, "text after the section header's ']'");
			return;
		}
		memcpy(st->section, s + 1, e);
		st->section[e] = '\0';
		st->prev_key[0] = '\0';
		struct rcp_ini_item it = { st->section, NULL, NULL, st->line, false };
		int r = st->fn(st->ctx, st->user, &it);
		if (r) {
			st->err = r;
			st->err_line = st->line;
		}
		return;
	}
	size_t e = find_chars_or_comment(s, len, "=:");
	if (e == len)
		return;     /* inih reports the line */
	if (s[e] == ':') {
		ini_fail(st, CVMF_E_FORMAT, "expected 'key = value' (':' is not a separator)");
		return;
	}
	size_t k = rstrip_len(s, e);
	memcpy(st->prev_key, s, k);
	st->prev_key[k] = '\0';
}

/* An fgets() over the text for ini_parse_stream: one whole line per call. */
static char *ini_read(char *buf, int num, void *stream)
{
	struct ini_state *st = stream;
	/* A newer inih drains the rest of a line that filled its buffer with
	 * smaller reads: that line was whole. */
	if (st->full && num < st->last_num) {
		st->full = false;
		return NULL;
	}
	st->full = false;
	st->last_num = num;
	if (st->err || !st->left || num < 2)
		return NULL;
	const char *nl = memchr(st->p, '\n', st->left);
	size_t n = nl ? (size_t)(nl - st->p) : st->left;
	size_t adv = nl ? n + 1 : n;
	size_t len = n && st->p[n - 1] == '\r' ? n - 1 : n;
	st->line++;
	size_t bad = bad_byte((const unsigned char *)st->p, len);
	if (bad < len) {
		unsigned char c = (unsigned char)st->p[bad];
		if (!c)
			ini_fail(st, CVMF_E_FORMAT, "NUL byte in column %zu", bad + 1);
		else if (c < 0x80)
			ini_fail(st, CVMF_E_FORMAT, "control character 0x%02x in column %zu", c,
				 bad + 1);
		else
			ini_fail(st, CVMF_E_FORMAT, "not UTF-8 text (byte 0x%02x in column %zu)", c,
				 bad + 1);
		return NULL;
	}
	size_t max = (size_t)num - 1 < RCP_MAX_LINE ? (size_t)num - 1 : RCP_MAX_LINE;
	if (len > max) {
		ini_fail(st, CVMF_E_FORMAT,
			 "line longer than %zu characters (continue a long value on indented lines)",
			 max);
		return NULL;
	}
	memcpy(buf, st->p, len);
	st->p += adv;
	st->left -= adv;
	ini_classify(st, buf, len);
	if (st->err)
		return NULL;
	size_t out = len;
	if (out < (size_t)num - 1)
		buf[out++] = '\n';
	else
		st->full = true;
	buf[out] = '\0';
	return buf;
}

static int ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	if (st->err)
		return 1;
	/* inih truncates long names: use ours when they extend its. */
	const char *sec = strncmp(st->section, section, strlen(section)) ? section : st->section;
	const char *key = strncmp(st->prev_key, name, strlen(name)) ? name : st->prev_key;
	struct rcp_ini_item it = { sec, key, st->cont ? st->value : value, st->line, st->cont };
	int r = st->fn(st->ctx, st->user, &it);
	if (r) {
		st->err = r;
		st->err_line = st->line;
	}
	return 1;
}

int rcp_ini_parse(cvmf_ctx *ctx, const char *name, const char *text, size_t len,
		  rcp_ini_fn fn, void *user)
{
	struct ini_state *st = calloc(1, sizeof(*st));
	if (!st)
		return cvmf_error(ctx, CVMF_E_NOMEM, "out of memory");
	st->ctx = ctx;
	st->name = name;
	st->p = text;
	st->left = len;
	st->fn = fn;
	st->user = user;
	int r = ini_parse_stream(ini_read, st, ini_line, st);
	int rc = st->err;
	if (r > 0 && (!rc || (unsigned)r < st->err_line)) {
		/* inih's syntax error: find the line to say what it is. */
		const char *p = text, *end = text + len;
		for (int i = 1; i < r && p < end; i++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		}
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '[')
			rc = cvmf_error(ctx, CVMF_E_FORMAT,
					"%s:%d: section header without a closing ']' (or with a ';' comment inside)",
					name, r);
		else
			rc = cvmf_error(ctx, CVMF_E_FORMAT,
					"%s:%d: expected '[section]', 'key = value' or a comment", name, r);
	} else if (!rc && r < 0) {
		rc = cvmf_error(ctx, CVMF_E_NOMEM, "%s: the INI parser failed (%d)", name, r);
	}
	free(st);
	return rc;
}

/* ------------------------------------------------------------------------
 * Sections and keys: the one table (docs/recipe.md follows it)
 */

enum section { S_IMAGE, S_FIRMWARE, S_KERNEL, S_INITRD, S_CMDLINE, S_SNP, S_TDX, N_SECTIONS };
static const char *const section_names[N_SECTIONS] = {
	"image", "firmware", "kernel", "initrd", "cmdline", "snp", "tdx",
};

enum key {
	K_NAME, K_VERSION, K_EPOCH,
	K_FW_SOURCE, K_FW_SHA256, K_FW_RELEASE,
	K_KERNEL_SOURCE, K_KERNEL_SHA256,
	K_INITRD_SOURCE, K_INITRD_SHA256, K_COMPRESSION, K_LEVEL,
	K_TREE, K_FILE, K_DIR, K_SYMLINK, K_DEVICE,
	K_CMDLINE,
	K_SNP_HASHES, K_SNP_VCPUS, K_SNP_CPUS, K_SNP_VMMS, K_SNP_FEATURES, K_SNP_MEMORY,
	K_TDX_MEMORY, K_TDX_ORDER, K_TDX_LAYOUT, K_TDX_QEMU, K_TDX_PATCH, K_TDX_STUB_CC,
	K_TDX_ACPI, K_TDX_ACPI_SHA256,
	N_KEYS
};

/* How an indented continuation line joins the value. */
enum join { J_NONE, J_SPACE, J_LIST, J_REPEAT /* each line one entry; no continuation */ };

static const struct rcp_key_doc key_docs[N_KEYS] = {
	[K_NAME] = { "image", "name", "NAME",
		"the image's name: letters, digits and . _ + ~ - (not first: . -); required" },
	[K_VERSION] = { "image", "version", "VERSION",
		"the image's version, same alphabet as name; required" },
	[K_EPOCH] = { "image", "source-date-epoch", "SECONDS",
		"the timestamp of every file, decimal seconds since 1970 (<= 253402300799); required" },
	[K_FW_SOURCE] = { "firmware", "source", "SOURCE",
		"the OVMF image (file:PATH or deb:PACKAGE[=VERSION]:/PATH); required" },
	[K_FW_SHA256] = { "firmware", "sha256", "HEX",
		"SHA-256 the firmware must have; default: pinned in RECIPE.lock, if at all" },
	[K_FW_RELEASE] = { "firmware", "release", "YYYY.MM",
		"the edk2 release of the firmware (2024.11, edk2-stable202411); default: unknown" },
	[K_KERNEL_SOURCE] = { "kernel", "source", "SOURCE",
		"the kernel bzImage (file:PATH or deb:PACKAGE[=VERSION]:/PATH); required" },
	[K_KERNEL_SHA256] = { "kernel", "sha256", "HEX",
		"SHA-256 the kernel must have; default: pinned in RECIPE.lock, if at all" },
	[K_INITRD_SOURCE] = { "initrd", "source", "SOURCE",
		"a prebuilt initrd, used as is (no entry lines, compression or level then); default: built from the entry lines" },
	[K_INITRD_SHA256] = { "initrd", "sha256", "HEX",
		"SHA-256 the prebuilt initrd must have (only with source); default: not pinned here" },
	[K_COMPRESSION] = { "initrd", "compression", "zstd|gzip|none",
		"how the built initrd is compressed; default zstd" },
	[K_LEVEL] = { "initrd", "level", "N",
		"compression level, zstd 1..19, gzip 1..9; default zstd 3, gzip 9" },
	[K_TREE] = { "initrd", "tree", "DIR [dest=/PREFIX] [uid=N] [gid=N]",
		"add a host directory's contents under PREFIX (default /); repeatable" },
	[K_FILE] = { "initrd", "file", "SOURCE:/DEST [mode=OCTAL] [uid=N] [gid=N] [sha256=HEX]",
		"add one file at DEST (default mode 0644, owner 0:0); repeatable" },
	[K_DIR] = { "initrd", "dir", "/DEST [mode=OCTAL] [uid=N] [gid=N]",
		"add a directory (default mode 0755, owner 0:0); repeatable" },
	[K_SYMLINK] = { "initrd", "symlink", "/DEST -> TARGET [uid=N] [gid=N]",
		"add a symbolic link to TARGET, stored as written; repeatable" },
	[K_DEVICE] = { "initrd", "device", "/DEST c|b MAJOR MINOR [mode=OCTAL] [uid=N] [gid=N]",
		"add a character or block device node (default mode 0600); repeatable" },
	[K_CMDLINE] = { "cmdline", "value", "TEXT",
		"the kernel command line; continuation lines are joined with one space; default empty" },
	[K_SNP_HASHES] = { "snp", "kernel-hashes", "yes|no",
		"measure kernel, initrd and cmdline into the launch digest (SEV hashes table); default yes" },
	[K_SNP_VCPUS] = { "snp", "vcpus", "LIST",
		"vCPU counts to measure, 1..4096, ranges allowed (1-4,8); default 1" },
	[K_SNP_CPUS] = { "snp", "cpu-types", "LIST",
		"QEMU CPU models (EPYC-v4, EPYC-Milan-v2, ...); default EPYC-v4" },
	[K_SNP_VMMS] = { "snp", "vmm-types", "LIST",
		"VMMs whose VMSA layout to measure: QEMU, ec2, gce; default QEMU" },
	[K_SNP_FEATURES] = { "snp", "guest-features", "LIST",
		"SEV features (VMSA sev_features), hex or decimal; default 0x1" },
	[K_SNP_MEMORY] = { "snp", "memory", "SIZE",
		"guest memory for the launch script only (not measured); default 2G" },
	[K_TDX_MEMORY] = { "tdx", "memory", "LIST",
		"guest memory sizes to measure (2G, 4096M, 1GiB; >= 32M, 4 KiB multiple); default 2G" },
	[K_TDX_ORDER] = { "tdx", "page-order", "LIST",
		"TDVF page order(s): single-pass (KVM >= 6.16), two-pass (QEMU 8.2 TDX); default single-pass" },
	[K_TDX_LAYOUT] = { "tdx", "ovmf-event-layout", "edk2-pre-2024.11|edk2-2024.11",
		"OVMF's event layout; default: from [firmware] release" },
	[K_TDX_QEMU] = { "tdx", "qemu-version", "X.Y[.Z]",
		"the QEMU version the guest runs on (9.2, 10.0.1); default 9.2" },
	[K_TDX_PATCH] = { "tdx", "kernel-header-patch", "yes|no",
		"whether OVMF measures the kernel with QEMU's patched setup header; default: from QEMU and OVMF versions" },
	[K_TDX_STUB_CC] = { "tdx", "stub-cc", "yes|no",
		"the kernel's EFI stub measures cmdline and initrd into RTMR2 (CC measurement protocol); default yes" },
	[K_TDX_ACPI] = { "tdx", "acpi-tables", "SOURCE",
		"QEMU's etc/acpi/tables blob for RTMR0; default: none (RTMR0 not predicted)" },
	[K_TDX_ACPI_SHA256] = { "tdx", "acpi-tables-sha256", "HEX",
		"SHA-256 the acpi-tables blob must have; default: not pinned here" },
};

static const unsigned char key_join[N_KEYS] = {
	[K_TREE] = J_REPEAT, [K_FILE] = J_REPEAT, [K_DIR] = J_REPEAT,
	[K_SYMLINK] = J_REPEAT, [K_DEVICE] = J_REPEAT,
	[K_CMDLINE] = J_SPACE,
	[K_SNP_VCPUS] = J_LIST, [K_SNP_CPUS] = J_LIST, [K_SNP_VMMS] = J_LIST,
	[K_SNP_FEATURES] = J_LIST, [K_TDX_MEMORY] = J_LIST, [K_TDX_ORDER] = J_LIST,
};

size_t rcp_key_docs(const struct rcp_key_doc **ret)
{
	*ret = key_docs;
	return N_KEYS;
}

static int find_section(const char *s)
{
	for (int i = 0; i < N_SECTIONS; i++)
		if (!strcmp(section_names[i], s))
			return i;
	return -1;
}

static int find_key(int sec, const char *k)
{
	for (int i = 0; i < N_KEYS; i++)
		if (!strcmp(key_docs[i].section, section_names[sec]) && !strcmp(key_docs[i].key, k))
			return i;
	return -1;
}

/* ------------------------------------------------------------------------
 * Collecting the lines
 */

struct item {
	int key;
	unsigned line;
	char *value;
	size_t len, cap;
};

struct pstate {
	cvmf_ctx *ctx;
	const char *name;
	const char *dir;
	struct rcp_recipe *r;
	struct item *items;
	size_t n, cap;
	int sec;                        /* the current section, -1 for none */
	unsigned sec_line[N_SECTIONS];
	unsigned key_line[N_KEYS];      /* first line of each key */
	size_t key_item[N_KEYS];
	/* sha256 keys apply to their source after every line is read */
	struct pin { bool have; uint8_t d[32]; unsigned line; } pin[N_KEYS];
};

static int perr(struct pstate *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct pstate *ps, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		return cvmf_error(ps->ctx, CVMF_E_FORMAT, "%s:%u: %s", ps->name, line, msg);
	return cvmf_error(ps->ctx, CVMF_E_FORMAT, "%s: %s", ps->name, msg);
}

static int nomem(cvmf_ctx *ctx)
{
	return cvmf_error(ctx, CVMF_E_NOMEM, "out of memory");
}

static int item_append(struct pstate *ps, struct item *it, const char *sep, const char *s)
{
	size_t a = strlen(sep), b = strlen(s);
	if (it->len + a + b + 1 > it->cap) {
		size_t cap = it->cap ? it->cap : 64;
		while (cap < it->len + a + b + 1)
			cap *= 2;
		char *v = realloc(it->value, cap);
		if (!v)
			return nomem(ps->ctx);
		it->value = v;
		it->cap = cap;
	}
	memcpy(it->value + it->len, sep, a);
	memcpy(it->value + it->len + a, s, b + 1);
	it->len += a + b;
	return 0;
}

static void list_keys(int sec, char *buf, size_t size)
{
	buf[0] = '\0';
	for (int i = 0; i < N_KEYS; i++) {
		if (strcmp(key_docs[i].section, section_names[sec]))
			continue;
		size_t l = strlen(buf);
		snprintf(buf + l, size - l, "%s%s", l ? ", " : "", key_docs[i].key);
	}
}

static int recipe_line(cvmf_ctx *ctx, void *user, const struct rcp_ini_item *it)
{
	struct pstate *ps = user;
	(void)ctx;
	if (!it->key) {
		int s = find_section(it->section);
		if (s < 0)
			return perr(ps, it->line,
				    "unknown section [%s] (sections: image, firmware, kernel, initrd, cmdline, snp, tdx)",
				    it->section);
		if (ps->sec_line[s])
			return perr(ps, it->line, "section [%s] already started on line %u",
				    it->section, ps->sec_line[s]);
		ps->sec_line[s] = it->line;
		ps->sec = s;
		return 0;
	}
	if (ps->sec < 0)
		return perr(ps, it->line, "'%s' is outside any section", it->key);
	if (it->continuation) {
		struct item *last = ps->n ? &ps->items[ps->n - 1] : NULL;
		if (!last || strcmp(key_docs[last->key].key, it->key))
			return perr(ps, it->line, "unexpected indented line");
		switch (key_join[last->key]) {
		case J_SPACE:
			return item_append(ps, last, " ", it->value);
		case J_LIST: {
			bool comma = last->len && last->value[last->len - 1] != ',' &&
				     it->value[0] != ',';
			return item_append(ps, last, comma ? "," : "", it->value);
		}
		default:
			return perr(ps, it->line, "'%s' does not take continuation lines", it->key);
		}
	}
	int k = find_key(ps->sec, it->key);
	if (k < 0) {
		char keys[300];
		list_keys(ps->sec, keys, sizeof(keys));
		return perr(ps, it->line, "unknown key '%s' in [%s] (keys: %s)", it->key,
			    section_names[ps->sec], keys);
	}
	if (key_join[k] != J_REPEAT && ps->key_line[k])
		return perr(ps, it->line, "duplicate key '%s' in [%s] (first on line %u)", it->key,
			    section_names[ps->sec], ps->key_line[k]);
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 32;
		struct item *v = realloc(ps->items, cap * sizeof(*v));
		if (!v)
			return nomem(ps->ctx);
		ps->items = v;
		ps->cap = cap;
	}
	struct item *in = &ps->items[ps->n];
	*in = (struct item){ k, it->line, NULL, 0, 0 };
	ps->n++;
	if (!ps->key_line[k]) {
		ps->key_line[k] = it->line;
		ps->key_item[k] = ps->n - 1;
	}
	return item_append(ps, in, "", it->value);
}

/* ------------------------------------------------------------------------
 * Values
 */

static bool parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "1" }, *const no[] = { "no", "false", "0" };
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(s, yes[i])) {
			*ret = true;
			return true;
		}
		if (!strcmp(s, no[i])) {
			*ret = false;
			return true;
		}
	}
	return false;
}

/* Plain decimal digits, at most max. */
static bool parse_dec(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

/* 0x-prefixed hex or decimal, any u64. */
static bool parse_u64(const char *s, uint64_t *ret)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		uint64_t v = 0;
		s += 2;
		if (!*s)
			return false;
		for (; *s; s++) {
			int h = cvmf_hexval(*s);
			if (h < 0 || v >> 60)
				return false;
			v = v << 4 | (unsigned)h;
		}
		*ret = v;
		return true;
	}
	return parse_dec(s, UINT64_MAX, ret);
}

static bool parse_octal(const char *s, unsigned max, unsigned *ret)
{
	unsigned v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '7' || v > max)
			return false;
		v = v * 8 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

static bool valid_name(const char *s)
{
	if (!*s || *s == '.' || *s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+~-", *s))
			return false;
	return true;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A path in a recipe: absolute, "." and ".." refused, empty components
 * dropped ("/a//b/" is "/a/b"), by the rule of common/path.h. NULL with
 * *why set when refused (or out of memory, why NULL). */
static char *recipe_path(const char *s, bool root_ok, const char **why)
{
	char *out = NULL;
	enum cmn_path_err e = cmn_path_norm(s, CMN_PATH_ABSOLUTE | (root_ok ? CMN_PATH_ROOT_OK : 0),
					    &out);
	*why = e && e != CMN_PATH_E_NOMEM ? cmn_path_strerror(e) : NULL;
	return e ? NULL : out;
}

/* ------------------------------------------------------------------------
 * Sources
 */

/* [EPOCH:]UPSTREAM[-REVISION]: what Debian allows, starting with a digit. */
static bool valid_deb_version(const char *s, size_t n)
{
	if (!n || !isdigit((unsigned char)s[0]))
		return false;
	const char *colon = memchr(s, ':', n);
	if (colon) {
		for (const char *p = s; p < colon; p++)
			if (!isdigit((unsigned char)*p))
				return false;
		if (colon + 1 == s + n || !isdigit((unsigned char)colon[1]))
			return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".+~:-", s[i]))
			return false;
	return true;
}

static char *join_path(const char *dir, const char *p)
{
	char *out = NULL;
	if (p[0] == '/' || !dir || !*dir || !strcmp(dir, "."))
		return strdup(p);
	size_t l = strlen(dir);
	if (asprintf(&out, "%s%s%s", dir, dir[l - 1] == '/' ? "" : "/", p) < 0)
		return NULL;
	return out;
}

void rcp_source_clear(struct rcp_source *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->path);
	free(s->package);
	free(s->version);
	memset(s, 0, sizeof(*s));
}

int rcp_source_parse(cvmf_ctx *ctx, const char *where, const char *dir, const char *text,
		     struct rcp_source *ret)
{
	struct rcp_source s = { 0 };
	const char *why;
	if (!strncmp(text, "file:", 5)) {
		s.kind = RCP_SRC_FILE;
		if (!text[5])
			return cvmf_error(ctx, CVMF_E_FORMAT, "%s: 'file:' needs a path", where);
		s.path = join_path(dir, text + 5);
		if (!s.path)
			goto oom;
	} else if (!strncmp(text, "deb:", 4)) {
		s.kind = RCP_SRC_DEB;
		const char *p = text + 4, *pend = p + strcspn(p, "=:"), *path;
		if (!cmn_deb_package_ok(p, (size_t)(pend - p)))
			return cvmf_error(ctx, CVMF_E_FORMAT,
					  "%s: '%.*s' is not a Debian package name ([a-z0-9][a-z0-9+.-]+) in '%s'",
					  where, (int)(pend - p), p, text);
		if (*pend == '=') {
			const char *v = pend + 1, *vend = strstr(v, ":/");
			if (!vend)
				return cvmf_error(ctx, CVMF_E_FORMAT,
						  "%s: '%s' has no ':/PATH' after the version (deb:PACKAGE[=VERSION]:/PATH)",
						  where, text);
			if (!valid_deb_version(v, (size_t)(vend - v)))
				return cvmf_error(ctx, CVMF_E_FORMAT,
						  "%s: '%.*s' is not a Debian version ([EPOCH:]UPSTREAM[-REVISION], starting with a digit) in '%s'",
						  where, (int)(vend - v), v, text);
			s.version = xstrndup(v, (size_t)(vend - v));
			if (!s.version)
				goto oom;
			path = vend + 1;
		} else if (pend[0] == ':' && pend[1] == '/') {
			path = pend + 1;
		} else {
			return cvmf_error(ctx, CVMF_E_FORMAT,
					  "%s: '%s' is not deb:PACKAGE[=VERSION]:/PATH", where, text);
		}
		s.package = xstrndup(p, (size_t)(pend - p));
		if (!s.package)
			goto oom;
		s.path = recipe_path(path, false, &why);
		if (!s.path) {
			rcp_source_clear(&s);
			if (!why)
				goto oom;
			return cvmf_error(ctx, CVMF_E_FORMAT, "%s: the path in '%s' %s", where, text,
					  why);
		}
	} else {
		return cvmf_error(ctx, CVMF_E_FORMAT,
				  "%s: '%s' is not a source (file:PATH or deb:PACKAGE[=VERSION]:/PATH)",
				  where, text);
	}
	s.text = strdup(text);
	if (!s.text)
		goto oom;
	*ret = s;
	return 0;
oom:
	rcp_source_clear(&s);
	return nomem(ctx);
}

/* ------------------------------------------------------------------------
 * Checking each line
 */

static int source_at(struct pstate *ps, unsigned line, const char *text, struct rcp_source *out)
{
	char where[300];
	snprintf(where, sizeof(where), "%s:%u", ps->name, line);
	rcp_source_clear(out);
	int r = rcp_source_parse(ps->ctx, where, ps->dir, text, out);
	if (!r)
		out->line = line;
	return r;
}

static int sha256_at(struct pstate *ps, const struct item *it, uint8_t out[32])
{
	const char *v = it->value;
	if (strlen(v) != 64 || cvmf_unhex(v, out, 32))
		return perr(ps, it->line, "'%s' must be 64 hex digits, not '%s'",
			    key_docs[it->key].key, v);
	return 0;
}

static int bool_at(struct pstate *ps, const struct item *it, bool *out)
{
	if (!parse_bool(it->value, out))
		return perr(ps, it->line, "'%s' must be yes or no (or true/false, 1/0), not '%s'",
			    key_docs[it->key].key, it->value);
	return 0;
}

static int memory_at(struct pstate *ps, const struct item *it, const char *s, uint64_t *out)
{
	if (cmn_parse_memory(s, out))
		return perr(ps, it->line,
			    "'%s' in '%s' is not a memory size such as 2G, 2048M or 512MiB (a multiple of 4 KiB, 32 MiB .. 64 TiB)",
			    s, key_docs[it->key].key);
	return 0;
}

/* Split a comma-separated list (common/parse.h): items are trimmed and
 * never empty. */
static int split_list(struct pstate *ps, const struct item *it, struct cmn_list *ret)
{
	int r = cmn_split_list(it->value, ret, NULL);
	if (r == -2)
		return nomem(ps->ctx);
	if (r)
		return perr(ps, it->line, "'%s' has an empty item", key_docs[it->key].key);
	return 0;
}

static int dup_item(struct pstate *ps, const struct item *it, const char *s)
{
	return perr(ps, it->line, "'%s' lists '%s' twice", key_docs[it->key].key, s);
}

static int check_vcpus(struct pstate *ps, const struct item *it, char **v, size_t n)
{
	struct rcp_snp *snp = &ps->r->snp;
	uint8_t seen[CVMF_MAX_VCPUS + 1] = { 0 };
	for (size_t i = 0; i < n; i++) {
		uint64_t a = 0, b = 0;
		char *dash = strchr(v[i], '-');
		if (dash)
			*dash = '\0';
		bool ok = parse_dec(v[i], CVMF_MAX_VCPUS, &a) &&
			  (!dash || parse_dec(dash + 1, CVMF_MAX_VCPUS, &b));
		if (!dash)
			b = a;
		if (dash)
			*dash = '-';
		if (!ok || !a || a > b)
			return perr(ps, it->line,
				    "'%s' in 'vcpus' is not a count or range within 1..%u (1,2,4-8)",
				    v[i], CVMF_MAX_VCPUS);
		for (uint64_t c = a; c <= b; c++) {
			if (seen[c]) {
				char s[16];
				snprintf(s, sizeof(s), "%u", (unsigned)c);
				return dup_item(ps, it, s);
			}
			seen[c] = 1;
		}
		unsigned *nv = realloc(snp->vcpus, (snp->n_vcpus + (b - a + 1)) * sizeof(*nv));
		if (!nv)
			return nomem(ps->ctx);
		snp->vcpus = nv;
		for (uint64_t c = a; c <= b; c++)
			snp->vcpus[snp->n_vcpus++] = (unsigned)c;
	}
	return 0;
}

static int check_list(struct pstate *ps, const struct item *it)
{
	struct cmn_list list = { 0 };
	int r = split_list(ps, it, &list);
	if (r)
		return r;
	char **v = list.v;
	size_t n = list.n;
	struct rcp_snp *snp = &ps->r->snp;
	struct rcp_tdx *tdx = &ps->r->tdx;
	if (n > LIST_MAX && it->key != K_SNP_VCPUS) {
		r = perr(ps, it->line, "'%s' has %zu items, more than %u", key_docs[it->key].key, n,
			 LIST_MAX);
		goto out;
	}
	for (size_t i = 0; i < n && it->key != K_SNP_VCPUS; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v[i], v[j])) {
				r = dup_item(ps, it, v[i]);
				goto out;
			}
	switch (it->key) {
	case K_SNP_VCPUS:
		r = check_vcpus(ps, it, v, n);
		break;
	case K_SNP_CPUS:
		snp->cpu_types = calloc(n, sizeof(char *));
		if (!snp->cpu_types) {
			r = nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++) {
			if (!cvmf_cpu_type_find(v[i])) {
				const struct cvmf_cpu_type *t;
				size_t nt = cvmf_cpu_types(&t);
				char known[300] = "";
				for (size_t j = 0; j < nt; j++) {
					size_t l = strlen(known);
					snprintf(known + l, sizeof(known) - l, "%s%s", j ? ", " : "",
						 t[j].name);
				}
				r = perr(ps, it->line, "unknown CPU type '%s' (%zu known: %s)", v[i], nt,
					 known);
				break;
			}
			if (!(snp->cpu_types[snp->n_cpu_types++] = strdup(v[i])))
				r = nomem(ps->ctx);
		}
		break;
	case K_SNP_VMMS:
		snp->vmms = calloc(n, sizeof(*snp->vmms));
		if (!snp->vmms) {
			r = nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++)
			if (cvmf_vmm_parse(v[i], &snp->vmms[snp->n_vmms++]))
				r = perr(ps, it->line, "unknown VMM type '%s' (QEMU, ec2, gce)", v[i]);
		break;
	case K_SNP_FEATURES:
		snp->guest_features = calloc(n, sizeof(uint64_t));
		if (!snp->guest_features) {
			r = nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++) {
			uint64_t f;
			if (!parse_u64(v[i], &f)) {
				r = perr(ps, it->line,
					 "'%s' in 'guest-features' is not a 64-bit number (0x1, 1)",
					 v[i]);
				break;
			}
			for (size_t j = 0; j < snp->n_guest_features && !r; j++)
				if (snp->guest_features[j] == f)
					r = dup_item(ps, it, v[i]);
			snp->guest_features[snp->n_guest_features++] = f;
		}
		break;
	case K_TDX_MEMORY:
		tdx->memory = calloc(n, sizeof(uint64_t));
		if (!tdx->memory) {
			r = nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++) {
			uint64_t m;
			r = memory_at(ps, it, v[i], &m);
			for (size_t j = 0; j < tdx->n_memory && !r; j++)
				if (tdx->memory[j] == m)
					r = dup_item(ps, it, v[i]);
			tdx->memory[tdx->n_memory++] = m;
		}
		break;
	case K_TDX_ORDER:
		tdx->orders = calloc(n, sizeof(*tdx->orders));
		if (!tdx->orders) {
			r = nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++)
			if (cvmf_tdx_page_order_parse(v[i], &tdx->orders[tdx->n_orders++]))
				r = perr(ps, it->line,
					 "unknown page order '%s' (single-pass, two-pass)", v[i]);
		break;
	}
out:
	cmn_list_free(&list);
	return r;
}

/* ---- initrd entry lines ---- */

/* The whitespace-separated tokens of s (modified in place). */
static size_t tokenize(char *s, char **tok, size_t max)
{
	size_t n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return n;
		if (n == max)
			return n + 1;
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

enum opt { O_MODE = 1, O_UID = 2, O_GID = 4, O_SHA256 = 8, O_DEST = 16 };

static int entry_options(struct pstate *ps, const struct item *it, struct rcp_entry *e,
			 char **tok, size_t n, unsigned allowed)
{
	static const char *const names[] = { "mode", "uid", "gid", "sha256", "dest" };
	const char *what = key_docs[it->key].key;
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		size_t kl = eq ? (size_t)(eq - tok[i]) : 0;
		unsigned o = 0;
		for (unsigned j = 0; j < CVMF_ARRAY_SIZE(names) && eq; j++)
			if (strlen(names[j]) == kl && !strncmp(tok[i], names[j], kl))
				o = 1u << j;
		if (!(o & allowed)) {
			char opts[64] = "";
			for (unsigned j = 0; j < CVMF_ARRAY_SIZE(names); j++)
				if (allowed & (1u << j)) {
					size_t l = strlen(opts);
					snprintf(opts + l, sizeof(opts) - l, "%s%s=", l ? ", " : "",
						 names[j]);
				}
			if (!eq)
				return perr(ps, it->line, "unexpected '%s' in '%s' (options: %s)",
					    tok[i], what, opts);
			return perr(ps, it->line, "unknown option '%.*s' in '%s' (options: %s)",
				    (int)kl, tok[i], what, opts);
		}
		if (seen & o)
			return perr(ps, it->line, "option '%.*s' given twice", (int)kl, tok[i]);
		seen |= o;
		const char *v = eq + 1;
		uint64_t u;
		const char *why;
		switch (o) {
		case O_MODE:
			if (!parse_octal(v, 07777, &e->mode))
				return perr(ps, it->line, "mode '%s' is not octal 0..07777", v);
			e->have_mode = true;
			break;
		case O_UID:
		case O_GID:
			if (!parse_dec(v, 0xfffffffeu, &u))
				return perr(ps, it->line, "%s '%s' is not a number 0..4294967294",
					    o == O_UID ? "uid" : "gid", v);
			*(o == O_UID ? &e->uid : &e->gid) = (unsigned)u;
			break;
		case O_SHA256:
			if (strlen(v) != 64 || cvmf_unhex(v, e->src.sha256, 32))
				return perr(ps, it->line, "sha256 must be 64 hex digits, not '%s'", v);
			e->src.have_sha256 = true;
			break;
		case O_DEST:
			free(e->dest);
			e->dest = recipe_path(v, true, &why);
			if (!e->dest)
				return why ? perr(ps, it->line, "dest '%s' %s", v, why) : nomem(ps->ctx);
			break;
		}
	}
	return 0;
}

static int dest_at(struct pstate *ps, const struct item *it, const char *s, bool root_ok,
		   struct rcp_entry *e)
{
	const char *why;
	e->dest = recipe_path(s, root_ok, &why);
	if (!e->dest)
		return why ? perr(ps, it->line, "'%s': '%s' %s", key_docs[it->key].key, s, why)
			   : nomem(ps->ctx);
	return 0;
}

static int parse_entry(struct pstate *ps, const struct item *it, struct rcp_entry *e)
{
	char *buf = strdup(it->value);
	char *tok[16];
	int r = 0;
	if (!buf)
		return nomem(ps->ctx);
	size_t n = tokenize(buf, tok, CVMF_ARRAY_SIZE(tok));
	const char *what = key_docs[it->key].key;
	e->line = it->line;
	if (n > CVMF_ARRAY_SIZE(tok)) {
		r = perr(ps, it->line, "too many words in '%s'", what);
		goto out;
	}
	if (!n) {
		r = perr(ps, it->line, "'%s' needs a value: %s = %s", what, what,
			 key_docs[it->key].value);
		goto out;
	}
	switch (it->key) {
	case K_FILE: {
		e->kind = RCP_ENT_FILE;
		char *sep = NULL;
		for (char *p = strstr(tok[0], ":/"); p; p = strstr(p + 1, ":/"))
			sep = p;
		if (!sep || sep == tok[0]) {
			r = perr(ps, it->line, "'file' needs SOURCE:/DEST, as in file:init:/init, not '%s'",
				 tok[0]);
			goto out;
		}
		*sep = '\0';
		if ((r = dest_at(ps, it, sep + 1, false, e)) ||
		    (r = source_at(ps, it->line, tok[0], &e->src)))
			goto out;
		r = entry_options(ps, it, e, tok + 1, n - 1, O_MODE | O_UID | O_GID | O_SHA256);
		break;
	}
	case K_TREE: {
		e->kind = RCP_ENT_TREE;
		char *text = NULL;
		if (!strncmp(tok[0], "deb:", 4)) {
			r = perr(ps, it->line, "'tree' takes a host directory (DIR or file:DIR), not '%s'",
				 tok[0]);
			goto out;
		}
		if (asprintf(&text, "%s%s", strncmp(tok[0], "file:", 5) ? "file:" : "", tok[0]) < 0) {
			r = nomem(ps->ctx);
			goto out;
		}
		r = source_at(ps, it->line, text, &e->src);
		free(text);
		if (r || (r = entry_options(ps, it, e, tok + 1, n - 1, O_DEST | O_UID | O_GID)))
			goto out;
		/* The source as written. */
		free(e->src.text);
		if (!(e->src.text = strdup(tok[0]))) {
			r = nomem(ps->ctx);
			goto out;
		}
		if (!e->dest && !(e->dest = strdup("/")))
			r = nomem(ps->ctx);
		break;
	}
	case K_DIR:
		e->kind = RCP_ENT_DIR;
		if (!(r = dest_at(ps, it, tok[0], true, e)))
			r = entry_options(ps, it, e, tok + 1, n - 1, O_MODE | O_UID | O_GID);
		break;
	case K_SYMLINK:
		e->kind = RCP_ENT_SYMLINK;
		if (n < 3 || strcmp(tok[1], "->")) {
			r = perr(ps, it->line, "'symlink' needs /DEST -> TARGET");
			goto out;
		}
		if ((r = dest_at(ps, it, tok[0], false, e)))
			goto out;
		if (!(e->target = strdup(tok[2]))) {
			r = nomem(ps->ctx);
			goto out;
		}
		r = entry_options(ps, it, e, tok + 3, n - 3, O_UID | O_GID);
		break;
	case K_DEVICE: {
		uint64_t ma, mi;
		if (n < 4 || (strcmp(tok[1], "c") && strcmp(tok[1], "b"))) {
			r = perr(ps, it->line, "'device' needs /DEST c|b MAJOR MINOR");
			goto out;
		}
		e->kind = tok[1][0] == 'c' ? RCP_ENT_CHAR : RCP_ENT_BLOCK;
		if (!parse_dec(tok[2], 4095, &ma) || !parse_dec(tok[3], 1048575, &mi)) {
			r = perr(ps, it->line,
				 "device numbers '%s %s' are not MAJOR 0..4095 and MINOR 0..1048575",
				 tok[2], tok[3]);
			goto out;
		}
		e->major = (unsigned)ma;
		e->minor = (unsigned)mi;
		if (!(r = dest_at(ps, it, tok[0], false, e)))
			r = entry_options(ps, it, e, tok + 4, n - 4, O_MODE | O_UID | O_GID);
		break;
	}
	}
out:
	free(buf);
	return r;
}

static void entry_clear(struct rcp_entry *e)
{
	rcp_source_clear(&e->src);
	free(e->dest);
	free(e->target);
}

static int add_entry(struct pstate *ps, const struct item *it)
{
	struct rcp_recipe *r = ps->r;
	struct rcp_entry *v = realloc(r->entries, (r->n_entries + 1) * sizeof(*v));
	if (!v)
		return nomem(ps->ctx);
	r->entries = v;
	struct rcp_entry *e = &v[r->n_entries];
	memset(e, 0, sizeof(*e));
	int rc = parse_entry(ps, it, e);
	if (rc) {
		entry_clear(e);
		return rc;
	}
	r->n_entries++;
	return 0;
}

static int cmp_dest(const void *a, const void *b)
{
	const struct rcp_entry *x = *(const struct rcp_entry *const *)a,
			       *y = *(const struct rcp_entry *const *)b;
	int c = strcmp(x->dest, y->dest);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Two lines creating the same path: the later of the earliest such pair. */
static int check_dup_dests(struct pstate *ps)
{
	struct rcp_recipe *r = ps->r;
	const struct rcp_entry **v = calloc(r->n_entries + 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return nomem(ps->ctx);
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->entries[i].kind != RCP_ENT_TREE)
			v[n++] = &r->entries[i];
	qsort(v, n, sizeof(*v), cmp_dest);
	const struct rcp_entry *first = NULL, *second = NULL;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(v[i]->dest, v[i - 1]->dest) &&
		    (i < 2 || strcmp(v[i]->dest, v[i - 2]->dest)) &&
		    (!second || v[i]->line < second->line)) {
			first = v[i - 1];
			second = v[i];
		}
	free(v);
	if (second)
		return perr(ps, second->line, "'%s' is already created on line %u", second->dest,
			    first->line);
	return 0;
}

static int check_item(struct pstate *ps, const struct item *it)
{
	struct rcp_recipe *r = ps->r;
	const char *v = it->value;
	const char *key = key_docs[it->key].key;
	uint64_t u;
	switch (it->key) {
	case K_NAME:
	case K_VERSION:
		if (!valid_name(v))
			return perr(ps, it->line,
				    "'%s' must be letters, digits and . _ + ~ - (not starting with . or -), not '%s'",
				    key, v);
		if (!(*(it->key == K_NAME ? &r->name : &r->version) = strdup(v)))
			return nomem(ps->ctx);
		return 0;
	case K_EPOCH:
		if (!parse_dec(v, EPOCH_MAX, &r->source_date_epoch))
			return perr(ps, it->line,
				    "'source-date-epoch' must be decimal seconds 0..253402300799, not '%s'",
				    v);
		return 0;
	case K_FW_SOURCE:
		return source_at(ps, it->line, v, &r->firmware);
	case K_KERNEL_SOURCE:
		return source_at(ps, it->line, v, &r->kernel);
	case K_INITRD_SOURCE:
		r->initrd_prebuilt = true;
		return source_at(ps, it->line, v, &r->initrd);
	case K_TDX_ACPI:
		r->tdx.have_acpi = true;
		return source_at(ps, it->line, v, &r->tdx.acpi);
	case K_FW_SHA256:
	case K_KERNEL_SHA256:
	case K_INITRD_SHA256:
	case K_TDX_ACPI_SHA256:
		ps->pin[it->key].have = true;
		ps->pin[it->key].line = it->line;
		return sha256_at(ps, it, ps->pin[it->key].d);
	case K_FW_RELEASE:
		if (cvmf_edk2_release_parse(v, &r->ovmf_release))
			return perr(ps, it->line,
				    "'release' must be an edk2 release such as 2024.11 or edk2-stable202411, not '%s'",
				    v);
		return 0;
	case K_COMPRESSION:
		if (!strcmp(v, "zstd"))
			r->compression = RCP_ZSTD;
		else if (!strcmp(v, "gzip"))
			r->compression = RCP_GZIP;
		else if (!strcmp(v, "none"))
			r->compression = RCP_NONE;
		else
			return perr(ps, it->line, "'compression' must be zstd, gzip or none, not '%s'",
				    v);
		return 0;
	case K_LEVEL:
		if (!parse_dec(v, 19, &u) || !u)
			return perr(ps, it->line, "'level' must be 1..19 (zstd) or 1..9 (gzip), not '%s'",
				    v);
		r->level = (int)u;
		return 0;
	case K_TREE:
	case K_FILE:
	case K_DIR:
	case K_SYMLINK:
	case K_DEVICE:
		return add_entry(ps, it);
	case K_CMDLINE:
		free(r->cmdline);
		return (r->cmdline = strdup(v)) ? 0 : nomem(ps->ctx);
	case K_SNP_HASHES:
		return bool_at(ps, it, &r->snp.kernel_hashes);
	case K_SNP_MEMORY:
		return memory_at(ps, it, v, &r->snp.memory);
	case K_TDX_LAYOUT:
		/* Its message, prefixed with where (perr copies it first). */
		if (cvmf_tdx_layout_parse(ps->ctx, v, &r->tdx.layout))
			return perr(ps, it->line, "%s", cvmf_ctx_errmsg(ps->ctx));
		r->tdx.have_layout = true;
		return 0;
	case K_TDX_QEMU:
		if (cmn_parse_qemu_version(v, &r->tdx.qemu_version))
			return perr(ps, it->line, "'qemu-version' must be MAJOR.MINOR[.MICRO] (9.2, 10.0.1), not '%s'",
				    v);
		return 0;
	case K_TDX_PATCH:
		r->tdx.have_kernel_patch = true;
		return bool_at(ps, it, &r->tdx.kernel_patch);
	case K_TDX_STUB_CC:
		return bool_at(ps, it, &r->tdx.stub_cc);
	default:
		return check_list(ps, it);
	}
}

static void apply_pin(struct pstate *ps, int key, struct rcp_source *s)
{
	if (!ps->pin[key].have)
		return;
	s->have_sha256 = true;
	memcpy(s->sha256, ps->pin[key].d, 32);
}

/* What no single line can say: required keys, keys that need or exclude
 * others, defaults. */
static int check_recipe(struct pstate *ps)
{
	struct rcp_recipe *r = ps->r;
	static const struct { enum section s; enum key k; } required[] = {
		{ S_IMAGE, K_NAME }, { S_IMAGE, K_VERSION }, { S_IMAGE, K_EPOCH },
		{ S_FIRMWARE, K_FW_SOURCE }, { S_KERNEL, K_KERNEL_SOURCE },
	};
	for (size_t i = 0; i < CVMF_ARRAY_SIZE(required); i++) {
		enum section s = required[i].s;
		if (!ps->sec_line[s])
			return perr(ps, 0, "no section [%s] (it needs %s)", section_names[s],
				    s == S_IMAGE ? "name, version and source-date-epoch" : "source");
		if (!ps->key_line[required[i].k])
			return perr(ps, ps->sec_line[s], "[%s] has no '%s' (required)",
				    section_names[s], key_docs[required[i].k].key);
	}
	apply_pin(ps, K_FW_SHA256, &r->firmware);
	apply_pin(ps, K_KERNEL_SHA256, &r->kernel);

	r->have_initrd = ps->sec_line[S_INITRD] != 0;
	if (r->have_initrd) {
		static const enum key built_only[] = { K_COMPRESSION, K_LEVEL, K_TREE, K_FILE, K_DIR,
						       K_SYMLINK, K_DEVICE };
		if (r->initrd_prebuilt) {
			for (size_t i = 0; i < CVMF_ARRAY_SIZE(built_only); i++)
				if (ps->key_line[built_only[i]])
					return perr(ps, ps->key_line[built_only[i]],
						    "'%s' builds an initrd, but 'source' on line %u names a prebuilt one",
						    key_docs[built_only[i]].key, ps->key_line[K_INITRD_SOURCE]);
			apply_pin(ps, K_INITRD_SHA256, &r->initrd);
		} else {
			if (ps->key_line[K_INITRD_SHA256])
				return perr(ps, ps->key_line[K_INITRD_SHA256],
					    "'sha256' pins a prebuilt initrd ('source'); pin a file with sha256= on its line");
			if (!r->n_entries)
				return perr(ps, ps->sec_line[S_INITRD],
					    "[initrd] has neither 'source' nor entry lines (tree, file, dir, symlink, device)");
			if (r->compression == RCP_NONE && r->level)
				return perr(ps, ps->key_line[K_LEVEL], "'level' with compression none");
			if (r->compression == RCP_GZIP && r->level > 9)
				return perr(ps, ps->key_line[K_LEVEL], "'level' %d is above gzip's 9",
					    r->level);
			if (!r->level && r->compression != RCP_NONE)
				r->level = r->compression == RCP_ZSTD ? 3 : 9;
		}
		int rc = check_dup_dests(ps);
		if (rc)
			return rc;
	}
	if (!r->cmdline && !(r->cmdline = strdup("")))
		return nomem(ps->ctx);

	struct rcp_snp *snp = &r->snp;
	snp->enabled = ps->sec_line[S_SNP] != 0;
	snp->line = ps->sec_line[S_SNP];
	if (snp->enabled) {
		if (!ps->key_line[K_SNP_HASHES])
			snp->kernel_hashes = true;
		if (!snp->n_vcpus) {
			if (!(snp->vcpus = malloc(sizeof(*snp->vcpus))))
				return nomem(ps->ctx);
			snp->vcpus[snp->n_vcpus++] = 1;
		}
		if (!snp->n_cpu_types) {
			if (!(snp->cpu_types = calloc(1, sizeof(char *))) ||
			    !(snp->cpu_types[0] = strdup("EPYC-v4")))
				return nomem(ps->ctx);
			snp->n_cpu_types = 1;
		}
		if (!snp->n_vmms) {
			if (!(snp->vmms = malloc(sizeof(*snp->vmms))))
				return nomem(ps->ctx);
			snp->vmms[snp->n_vmms++] = CVMF_VMM_QEMU;
		}
		if (!snp->n_guest_features) {
			if (!(snp->guest_features = malloc(sizeof(uint64_t))))
				return nomem(ps->ctx);
			snp->guest_features[snp->n_guest_features++] = 1;
		}
		if (!snp->memory)
			snp->memory = 2ull << 30;
	}

	struct rcp_tdx *tdx = &r->tdx;
	tdx->enabled = ps->sec_line[S_TDX] != 0;
	tdx->line = ps->sec_line[S_TDX];
	if (ps->key_line[K_TDX_ACPI_SHA256] && !tdx->have_acpi)
		return perr(ps, ps->key_line[K_TDX_ACPI_SHA256],
			    "'acpi-tables-sha256' without 'acpi-tables'");
	apply_pin(ps, K_TDX_ACPI_SHA256, &tdx->acpi);
	if (tdx->enabled) {
		if (!tdx->n_memory) {
			if (!(tdx->memory = malloc(sizeof(uint64_t))))
				return nomem(ps->ctx);
			tdx->memory[tdx->n_memory++] = 2ull << 30;
		}
		if (!tdx->n_orders) {
			if (!(tdx->orders = malloc(sizeof(*tdx->orders))))
				return nomem(ps->ctx);
			tdx->orders[tdx->n_orders++] = CVMF_TDX_SINGLE_PASS;
		}
		if (!tdx->qemu_version)
			tdx->qemu_version = 902;
		if (!ps->key_line[K_TDX_STUB_CC])
			tdx->stub_cc = true;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Entry points
 */

void rcp_free(struct rcp_recipe *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->dir);
	free(r->name);
	free(r->version);
	rcp_source_clear(&r->firmware);
	rcp_source_clear(&r->kernel);
	rcp_source_clear(&r->initrd);
	for (size_t i = 0; i < r->n_entries; i++)
		entry_clear(&r->entries[i]);
	free(r->entries);
	free(r->cmdline);
	free(r->snp.vcpus);
	for (size_t i = 0; i < r->snp.n_cpu_types; i++)
		free(r->snp.cpu_types[i]);
	free(r->snp.cpu_types);
	free(r->snp.vmms);
	free(r->snp.guest_features);
	free(r->tdx.memory);
	free(r->tdx.orders);
	rcp_source_clear(&r->tdx.acpi);
	free(r);
}

int rcp_parse(cvmf_ctx *ctx, const char *name, const char *dir, const char *text,
	      size_t len, struct rcp_recipe **ret)
{
	struct pstate ps = { .ctx = ctx, .name = name ? name : "recipe", .dir = dir, .sec = -1 };
	struct rcp_recipe *r = calloc(1, sizeof(*r));
	int rc;
	if (!r)
		return nomem(ctx);
	ps.r = r;
	r->path = strdup(ps.name);
	r->dir = strdup(dir ? dir : ".");
	if (!r->path || !r->dir) {
		rc = nomem(ctx);
		goto out;
	}
	struct cvmf_hasher *h = NULL;
	if ((rc = cvmf_hasher_new(ctx, CVMF_SHA256, &h)))
		goto out;
	rc = cvmf_hasher_oneshot(h, text, len, r->sha256);
	cvmf_hasher_free(h);
	if (rc) {
		rc = cvmf_error(ctx, CVMF_E_CRYPTO, "SHA-256 of %s failed", ps.name);
		goto out;
	}
	if ((rc = rcp_ini_parse(ctx, ps.name, text, len, recipe_line, &ps)))
		goto out;
	for (size_t i = 0; i < ps.n && !rc; i++)
		rc = check_item(&ps, &ps.items[i]);
	if (!rc)
		rc = check_recipe(&ps);
out:
	for (size_t i = 0; i < ps.n; i++)
		free(ps.items[i].value);
	free(ps.items);
	if (rc) {
		rcp_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

int rcp_load(cvmf_ctx *ctx, const char *path, struct rcp_recipe **ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = cvmf_read_file(ctx, "recipe", path, RECIPE_MAX_SIZE, &buf, &len);
	if (rc)
		return rc == CVMF_E_NOMEM ? rc : CVMF_E_IO;
	const char *slash = strrchr(path, '/');
	char *dir = !slash ? strdup(".") : slash == path ? strdup("/")
			   : xstrndup(path, (size_t)(slash - path));
	if (!dir) {
		free(buf);
		return nomem(ctx);
	}
	rc = rcp_parse(ctx, path, dir, (const char *)buf, len, ret);
	free(dir);
	free(buf);
	return rc;
}
