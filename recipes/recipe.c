/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recipes (docs/recipe.md): an INI file read with libinih (recipes/ini.c),
 * then checked key by key in the order of its lines, so that the first
 * error reported is the first one in the file. Every message is
 * "FILE:LINE: what is wrong". Sources are in recipes/source.c, the entry
 * lines of [initrd] in recipes/entry.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/parse.h"
#include "recipes/recipe_int.h"

/* A recipe larger than this is not a recipe. */
#define RECIPE_MAX_SIZE (1u << 20)
#define LIST_MAX 64
#define EPOCH_MAX 253402300799ull   /* 9999-12-31T23:59:59Z */

/* ------------------------------------------------------------------------
 * Sections and keys: the one table (docs/recipe.md follows it)
 */

static const char *const section_names[N_SECTIONS] = {
	"image", "firmware", "kernel", "initrd", "cmdline", "snp", "tdx",
};

/* How an indented continuation line joins the value. */
enum join { J_NONE, J_SPACE, J_LIST, J_REPEAT /* each line one entry; no continuation */ };

const struct rcp_key_doc rcp_key_table[N_KEYS] = {
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
	*ret = rcp_key_table;
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
		if (!strcmp(rcp_key_table[i].section, section_names[sec]) && !strcmp(rcp_key_table[i].key, k))
			return i;
	return -1;
}

/* ------------------------------------------------------------------------
 * Collecting the lines
 */

int rcp_perr(struct pstate *ps, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		return cmn_error(ps->ctx, CVMF_E_FORMAT, "%s:%u: %s", ps->name, line, msg);
	return cmn_error(ps->ctx, CVMF_E_FORMAT, "%s: %s", ps->name, msg);
}

int rcp_nomem(cvmf_ctx *ctx)
{
	return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
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
			return rcp_nomem(ps->ctx);
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
		if (strcmp(rcp_key_table[i].section, section_names[sec]))
			continue;
		size_t l = strlen(buf);
		snprintf(buf + l, size - l, "%s%s", l ? ", " : "", rcp_key_table[i].key);
	}
}

static int recipe_line(cvmf_ctx *ctx, void *user, const struct rcp_ini_item *it)
{
	struct pstate *ps = user;
	(void)ctx;
	if (!it->key) {
		int s = find_section(it->section);
		if (s < 0)
			return rcp_perr(ps, it->line,
				    "unknown section [%s] (sections: image, firmware, kernel, initrd, cmdline, snp, tdx)",
				    it->section);
		if (ps->sec_line[s])
			return rcp_perr(ps, it->line, "section [%s] already started on line %u",
				    it->section, ps->sec_line[s]);
		ps->sec_line[s] = it->line;
		ps->sec = s;
		return 0;
	}
	if (ps->sec < 0)
		return rcp_perr(ps, it->line, "'%s' is outside any section", it->key);
	if (it->continuation) {
		struct item *last = ps->n ? &ps->items[ps->n - 1] : NULL;
		if (!last || strcmp(rcp_key_table[last->key].key, it->key))
			return rcp_perr(ps, it->line, "unexpected indented line");
		switch (key_join[last->key]) {
		case J_SPACE:
			return item_append(ps, last, " ", it->value);
		case J_LIST: {
			bool comma = last->len && last->value[last->len - 1] != ',' &&
				     it->value[0] != ',';
			return item_append(ps, last, comma ? "," : "", it->value);
		}
		default:
			return rcp_perr(ps, it->line, "'%s' does not take continuation lines", it->key);
		}
	}
	int k = find_key(ps->sec, it->key);
	if (k < 0) {
		char keys[300];
		list_keys(ps->sec, keys, sizeof(keys));
		return rcp_perr(ps, it->line, "unknown key '%s' in [%s] (keys: %s)", it->key,
			    section_names[ps->sec], keys);
	}
	if (key_join[k] != J_REPEAT && ps->key_line[k])
		return rcp_perr(ps, it->line, "duplicate key '%s' in [%s] (first on line %u)", it->key,
			    section_names[ps->sec], ps->key_line[k]);
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 32;
		struct item *v = realloc(ps->items, cap * sizeof(*v));
		if (!v)
			return rcp_nomem(ps->ctx);
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
bool rcp_parse_dec(const char *s, uint64_t max, uint64_t *ret)
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
			int h = cmn_hexval(*s);
			if (h < 0 || v >> 60)
				return false;
			v = v << 4 | (unsigned)h;
		}
		*ret = v;
		return true;
	}
	return rcp_parse_dec(s, UINT64_MAX, ret);
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

/* ------------------------------------------------------------------------
 * Checking each line
 */

static int sha256_at(struct pstate *ps, const struct item *it, uint8_t out[32])
{
	const char *v = it->value;
	if (strlen(v) != 64 || cvmf_unhex(v, out, 32))
		return rcp_perr(ps, it->line, "'%s' must be 64 hex digits, not '%s'",
			    rcp_key_table[it->key].key, v);
	return 0;
}

static int bool_at(struct pstate *ps, const struct item *it, bool *out)
{
	if (!parse_bool(it->value, out))
		return rcp_perr(ps, it->line, "'%s' must be yes or no (or true/false, 1/0), not '%s'",
			    rcp_key_table[it->key].key, it->value);
	return 0;
}

static int memory_at(struct pstate *ps, const struct item *it, const char *s, uint64_t *out)
{
	if (cmn_parse_memory(s, out))
		return rcp_perr(ps, it->line,
			    "'%s' in '%s' is not a memory size such as 2G, 2048M or 512MiB (a multiple of 4 KiB, 32 MiB .. 64 TiB)",
			    s, rcp_key_table[it->key].key);
	return 0;
}

/* Split a comma-separated list (common/parse.h): items are trimmed and
 * never empty. */
static int split_list(struct pstate *ps, const struct item *it, struct cmn_list *ret)
{
	int r = cmn_split_list(it->value, ret, NULL);
	if (r == -2)
		return rcp_nomem(ps->ctx);
	if (r)
		return rcp_perr(ps, it->line, "'%s' has an empty item", rcp_key_table[it->key].key);
	return 0;
}

static int dup_item(struct pstate *ps, const struct item *it, const char *s)
{
	return rcp_perr(ps, it->line, "'%s' lists '%s' twice", rcp_key_table[it->key].key, s);
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
		bool ok = rcp_parse_dec(v[i], CVMF_MAX_VCPUS, &a) &&
			  (!dash || rcp_parse_dec(dash + 1, CVMF_MAX_VCPUS, &b));
		if (!dash)
			b = a;
		if (dash)
			*dash = '-';
		if (!ok || !a || a > b)
			return rcp_perr(ps, it->line,
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
			return rcp_nomem(ps->ctx);
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
		r = rcp_perr(ps, it->line, "'%s' has %zu items, more than %u", rcp_key_table[it->key].key, n,
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
			r = rcp_nomem(ps->ctx);
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
				r = rcp_perr(ps, it->line, "unknown CPU type '%s' (%zu known: %s)", v[i], nt,
					 known);
				break;
			}
			if (!(snp->cpu_types[snp->n_cpu_types++] = strdup(v[i])))
				r = rcp_nomem(ps->ctx);
		}
		break;
	case K_SNP_VMMS:
		snp->vmms = calloc(n, sizeof(*snp->vmms));
		if (!snp->vmms) {
			r = rcp_nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++)
			if (cvmf_vmm_parse(v[i], &snp->vmms[snp->n_vmms++]))
				r = rcp_perr(ps, it->line, "unknown VMM type '%s' (QEMU, ec2, gce)", v[i]);
		break;
	case K_SNP_FEATURES:
		snp->guest_features = calloc(n, sizeof(uint64_t));
		if (!snp->guest_features) {
			r = rcp_nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++) {
			uint64_t f;
			if (!parse_u64(v[i], &f)) {
				r = rcp_perr(ps, it->line,
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
			r = rcp_nomem(ps->ctx);
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
			r = rcp_nomem(ps->ctx);
			break;
		}
		for (size_t i = 0; i < n && !r; i++)
			if (cvmf_tdx_page_order_parse(v[i], &tdx->orders[tdx->n_orders++]))
				r = rcp_perr(ps, it->line,
					 "unknown page order '%s' (single-pass, two-pass)", v[i]);
		break;
	}
out:
	cmn_list_free(&list);
	return r;
}

static int check_item(struct pstate *ps, const struct item *it)
{
	struct rcp_recipe *r = ps->r;
	const char *v = it->value;
	const char *key = rcp_key_table[it->key].key;
	uint64_t u;
	switch (it->key) {
	case K_NAME:
	case K_VERSION:
		if (!valid_name(v))
			return rcp_perr(ps, it->line,
				    "'%s' must be letters, digits and . _ + ~ - (not starting with . or -), not '%s'",
				    key, v);
		if (!(*(it->key == K_NAME ? &r->name : &r->version) = strdup(v)))
			return rcp_nomem(ps->ctx);
		return 0;
	case K_EPOCH:
		if (!rcp_parse_dec(v, EPOCH_MAX, &r->source_date_epoch))
			return rcp_perr(ps, it->line,
				    "'source-date-epoch' must be decimal seconds 0..253402300799, not '%s'",
				    v);
		return 0;
	case K_FW_SOURCE:
		return rcp_source_at(ps, it->line, v, &r->firmware);
	case K_KERNEL_SOURCE:
		return rcp_source_at(ps, it->line, v, &r->kernel);
	case K_INITRD_SOURCE:
		r->initrd_prebuilt = true;
		return rcp_source_at(ps, it->line, v, &r->initrd);
	case K_TDX_ACPI:
		r->tdx.have_acpi = true;
		return rcp_source_at(ps, it->line, v, &r->tdx.acpi);
	case K_FW_SHA256:
	case K_KERNEL_SHA256:
	case K_INITRD_SHA256:
	case K_TDX_ACPI_SHA256:
		ps->pin[it->key].have = true;
		ps->pin[it->key].line = it->line;
		return sha256_at(ps, it, ps->pin[it->key].d);
	case K_FW_RELEASE:
		if (cvmf_edk2_release_parse(v, &r->ovmf_release))
			return rcp_perr(ps, it->line,
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
			return rcp_perr(ps, it->line, "'compression' must be zstd, gzip or none, not '%s'",
				    v);
		return 0;
	case K_LEVEL:
		if (!rcp_parse_dec(v, 19, &u) || !u)
			return rcp_perr(ps, it->line, "'level' must be 1..19 (zstd) or 1..9 (gzip), not '%s'",
				    v);
		r->level = (int)u;
		return 0;
	case K_TREE:
	case K_FILE:
	case K_DIR:
	case K_SYMLINK:
	case K_DEVICE:
		return rcp_add_entry(ps, it);
	case K_CMDLINE:
		free(r->cmdline);
		return (r->cmdline = strdup(v)) ? 0 : rcp_nomem(ps->ctx);
	case K_SNP_HASHES:
		return bool_at(ps, it, &r->snp.kernel_hashes);
	case K_SNP_MEMORY:
		return memory_at(ps, it, v, &r->snp.memory);
	case K_TDX_LAYOUT:
		/* Its message, prefixed with where (perr copies it first). */
		if (cvmf_tdx_layout_parse(ps->ctx, v, &r->tdx.layout))
			return rcp_perr(ps, it->line, "%s", cvmf_ctx_errmsg(ps->ctx));
		r->tdx.have_layout = true;
		return 0;
	case K_TDX_QEMU:
		if (cmn_parse_qemu_version(v, &r->tdx.qemu_version))
			return rcp_perr(ps, it->line, "'qemu-version' must be MAJOR.MINOR[.MICRO] (9.2, 10.0.1), not '%s'",
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
	for (size_t i = 0; i < CMN_ARRAY_SIZE(required); i++) {
		enum section s = required[i].s;
		if (!ps->sec_line[s])
			return rcp_perr(ps, 0, "no section [%s] (it needs %s)", section_names[s],
				    s == S_IMAGE ? "name, version and source-date-epoch" : "source");
		if (!ps->key_line[required[i].k])
			return rcp_perr(ps, ps->sec_line[s], "[%s] has no '%s' (required)",
				    section_names[s], rcp_key_table[required[i].k].key);
	}
	apply_pin(ps, K_FW_SHA256, &r->firmware);
	apply_pin(ps, K_KERNEL_SHA256, &r->kernel);

	r->have_initrd = ps->sec_line[S_INITRD] != 0;
	if (r->have_initrd) {
		static const enum key built_only[] = { K_COMPRESSION, K_LEVEL, K_TREE, K_FILE, K_DIR,
						       K_SYMLINK, K_DEVICE };
		if (r->initrd_prebuilt) {
			for (size_t i = 0; i < CMN_ARRAY_SIZE(built_only); i++)
				if (ps->key_line[built_only[i]])
					return rcp_perr(ps, ps->key_line[built_only[i]],
						    "'%s' builds an initrd, but 'source' on line %u names a prebuilt one",
						    rcp_key_table[built_only[i]].key, ps->key_line[K_INITRD_SOURCE]);
			apply_pin(ps, K_INITRD_SHA256, &r->initrd);
		} else {
			if (ps->key_line[K_INITRD_SHA256])
				return rcp_perr(ps, ps->key_line[K_INITRD_SHA256],
					    "'sha256' pins a prebuilt initrd ('source'); pin a file with sha256= on its line");
			if (!r->n_entries)
				return rcp_perr(ps, ps->sec_line[S_INITRD],
					    "[initrd] has neither 'source' nor entry lines (tree, file, dir, symlink, device)");
			if (r->compression == RCP_NONE && r->level)
				return rcp_perr(ps, ps->key_line[K_LEVEL], "'level' with compression none");
			if (r->compression == RCP_GZIP && r->level > 9)
				return rcp_perr(ps, ps->key_line[K_LEVEL], "'level' %d is above gzip's 9",
					    r->level);
			if (!r->level && r->compression != RCP_NONE)
				r->level = r->compression == RCP_ZSTD ? 3 : 9;
		}
		int rc = rcp_check_dup_dests(ps);
		if (rc)
			return rc;
	}
	if (!r->cmdline && !(r->cmdline = strdup("")))
		return rcp_nomem(ps->ctx);

	struct rcp_snp *snp = &r->snp;
	snp->enabled = ps->sec_line[S_SNP] != 0;
	snp->line = ps->sec_line[S_SNP];
	if (snp->enabled) {
		if (!ps->key_line[K_SNP_HASHES])
			snp->kernel_hashes = true;
		if (!snp->n_vcpus) {
			if (!(snp->vcpus = malloc(sizeof(*snp->vcpus))))
				return rcp_nomem(ps->ctx);
			snp->vcpus[snp->n_vcpus++] = 1;
		}
		if (!snp->n_cpu_types) {
			if (!(snp->cpu_types = calloc(1, sizeof(char *))) ||
			    !(snp->cpu_types[0] = strdup("EPYC-v4")))
				return rcp_nomem(ps->ctx);
			snp->n_cpu_types = 1;
		}
		if (!snp->n_vmms) {
			if (!(snp->vmms = malloc(sizeof(*snp->vmms))))
				return rcp_nomem(ps->ctx);
			snp->vmms[snp->n_vmms++] = CVMF_VMM_QEMU;
		}
		if (!snp->n_guest_features) {
			if (!(snp->guest_features = malloc(sizeof(uint64_t))))
				return rcp_nomem(ps->ctx);
			snp->guest_features[snp->n_guest_features++] = 1;
		}
		if (!snp->memory)
			snp->memory = 2ull << 30;
	}

	struct rcp_tdx *tdx = &r->tdx;
	tdx->enabled = ps->sec_line[S_TDX] != 0;
	tdx->line = ps->sec_line[S_TDX];
	if (ps->key_line[K_TDX_ACPI_SHA256] && !tdx->have_acpi)
		return rcp_perr(ps, ps->key_line[K_TDX_ACPI_SHA256],
			    "'acpi-tables-sha256' without 'acpi-tables'");
	apply_pin(ps, K_TDX_ACPI_SHA256, &tdx->acpi);
	if (tdx->enabled) {
		if (!tdx->n_memory) {
			if (!(tdx->memory = malloc(sizeof(uint64_t))))
				return rcp_nomem(ps->ctx);
			tdx->memory[tdx->n_memory++] = 2ull << 30;
		}
		if (!tdx->n_orders) {
			if (!(tdx->orders = malloc(sizeof(*tdx->orders))))
				return rcp_nomem(ps->ctx);
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
		rcp_entry_clear(&r->entries[i]);
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
		return rcp_nomem(ctx);
	ps.r = r;
	r->path = strdup(ps.name);
	r->dir = strdup(dir ? dir : ".");
	if (!r->path || !r->dir) {
		rc = rcp_nomem(ctx);
		goto out;
	}
	struct cmn_hasher *h = NULL;
	if ((rc = cmn_hasher_new(ctx, CMN_SHA256, &h)))
		goto out;
	rc = cmn_hasher_oneshot(h, text, len, r->sha256);
	cmn_hasher_free(h);
	if (rc) {
		rc = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 of %s failed", ps.name);
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
	int rc = cmn_read_file(ctx, "recipe", path, RECIPE_MAX_SIZE, &buf, &len);
	if (rc)
		return rc == CVMF_E_NOMEM ? rc : CVMF_E_IO;
	const char *slash = strrchr(path, '/');
	char *dir = !slash ? strdup(".") : slash == path ? strdup("/")
			   : rcp_xstrndup(path, (size_t)(slash - path));
	if (!dir) {
		free(buf);
		return rcp_nomem(ctx);
	}
	rc = rcp_parse(ctx, path, dir, (const char *)buf, len, ret);
	free(dir);
	free(buf);
	return rc;
}
