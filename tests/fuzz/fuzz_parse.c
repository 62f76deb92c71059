/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the shared value parsers and the path rule
 * (common/parse.h, common/path.h): recipes and command lines come from
 * people and scripts, so each must stay inside its string, write its output
 * only on success, and keep its documented promise:
 *   - a size is what 128-bit arithmetic makes of its digits and unit, and
 *     anything that does not fit in 64 bits is refused;
 *   - guest memory is a size within 32 MiB .. 64 TiB and 4 KiB aligned;
 *   - list items are never empty, have no comma and no outer blanks;
 *   - a normalised path is "/" or "/a/b" with no empty, "." or ".."
 *     component, and normalising it again changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "common/parse.h"
#include "common/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

#define SENTINEL 0xa5a5a5a5a5a5a5a5ULL

/* The value of a size by a second method: 128-bit, no early exits. */
static bool ref_size(const char *s, uint64_t *ret)
{
	unsigned __int128 v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT64_MAX)
			return false;
	}
	unsigned shift = 0;
	if (*p) {
		switch (*p) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return false;
		}
		p++;
		if (strcmp(p, "") && strcmp(p, "B") && strcmp(p, "iB"))
			return false;
	}
	v <<= shift;
	if (v > UINT64_MAX)
		return false;
	*ret = (uint64_t)v;
	return true;
}

static void check_size(const char *s)
{
	uint64_t v = SENTINEL, want = 0;
	int r = cmn_parse_size(s, &v);
	CHECK(r == 0 || r == -1);
	bool ok = ref_size(s, &want);
	CHECK(ok == (r == 0));
	CHECK(r ? v == SENTINEL : v == want);

	uint64_t m = SENTINEL;
	int rm = cmn_parse_memory(s, &m);
	if (r)
		CHECK(rm == -1);
	else if (want >= CMN_MEMORY_MIN && want <= CMN_MEMORY_MAX && want % 4096 == 0)
		CHECK(rm == 0 && m == want);
	else
		CHECK(rm == -2);
	if (rm)
		CHECK(m == SENTINEL);
}

static void check_qemu(const char *s)
{
	unsigned v = 0xdeadbeef;
	int r = cmn_parse_qemu_version(s, &v);
	CHECK(r == 0 || r == -1);
	if (r) {
		CHECK(v == 0xdeadbeef);
		return;
	}
	CHECK(v <= 9999 && v % 100 <= 99);
	CHECK(s[0] >= '0' && s[0] <= '9' && strchr(s, '.'));
}

static void check_list(const char *s)
{
	struct cmn_list l = { (char *)1, (char **)1, 7 };
	size_t at = SIZE_MAX;
	int r = cmn_split_list(s, &l, &at);
	CHECK(r == 0 || r == -1 || r == -2);
	size_t commas = 0;
	for (const char *p = s; *p; p++)
		commas += *p == ',';
	if (r) {
		CHECK(l.buf == (char *)1 && l.n == 7);
		if (r == -1)
			CHECK(at <= commas);
		return;
	}
	CHECK(l.n == commas + 1);
	for (size_t i = 0; i < l.n; i++) {
		size_t n = strlen(l.v[i]);
		CHECK(n > 0 && !strchr(l.v[i], ','));
		CHECK(l.v[i][0] != ' ' && l.v[i][0] != '\t');
		CHECK(l.v[i][n - 1] != ' ' && l.v[i][n - 1] != '\t');
	}
	cmn_list_free(&l);
	CHECK(!l.buf && !l.v && !l.n);
}

static void check_path(const char *s, unsigned flags)
{
	char *out = (char *)1;
	enum cmn_path_err e = cmn_path_norm(s, flags, &out);
	CHECK(e >= CMN_PATH_OK && e <= CMN_PATH_E_NOMEM);
	if (e) {
		CHECK(out == (char *)1);
		if (e == CMN_PATH_E_RELATIVE)
			CHECK((flags & CMN_PATH_ABSOLUTE) && s[0] != '/');
		if (e == CMN_PATH_E_ABOVE)
			CHECK(flags & CMN_PATH_RESOLVE);
		if (e == CMN_PATH_E_EMPTY)
			CHECK(flags & CMN_PATH_CANONICAL);
		if (e == CMN_PATH_E_DOT || e == CMN_PATH_E_DOTDOT)
			CHECK(!(flags & CMN_PATH_RESOLVE));
		return;
	}
	size_t n = strlen(out);
	CHECK(out[0] == '/');
	CHECK(n == 1 ? (flags & CMN_PATH_ROOT_OK) : out[n - 1] != '/');
	CHECK(!strstr(out, "//") && !strstr(out, "/./") && !strstr(out, "/../"));
	CHECK(!(n >= 2 && !strcmp(out + n - 2, "/.")) && !(n >= 3 && !strcmp(out + n - 3, "/..")));
	CHECK(n <= strlen(s) + 1);
	/* Idempotent, whatever the flags. */
	char *again = NULL;
	CHECK(cmn_path_norm(out, flags | CMN_PATH_CANONICAL | CMN_PATH_ABSOLUTE, &again) ==
	      CMN_PATH_OK);
	CHECK(!strcmp(again, out));
	free(again);
	/* The normal form of a path that needs no change is itself. */
	if ((flags & CMN_PATH_CANONICAL) && !(flags & CMN_PATH_RESOLVE))
		CHECK(!strcmp(out + 1, s[0] == '/' ? s + 1 : s));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_size(s);
	check_qemu(s);
	check_list(s);
	for (unsigned flags = 0; flags < 16; flags++)
		check_path(s, flags);
	(void)cmn_deb_package_ok(s, size);
	free(s);
	return 0;
}
