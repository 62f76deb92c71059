/* SPDX-License-Identifier: Apache-2.0 */
/* The value parsers shared by recipes and the command line (common/parse.h). */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "common/parse.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int cmn_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = s;
	if (!is_digit(*p))
		return -1;
	for (; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	unsigned shift = 0;
	if (*p) {
		static const char units[] = "KMGT";
		char u = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		const char *k = u ? strchr(units, u) : NULL;
		if (!k)
			return -1;
		shift = 10 * (unsigned)(k - units + 1);
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "B"))
			p += strlen(p);
		if (*p)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*ret = v << shift;
	return 0;
}

int cmn_parse_memory(const char *s, uint64_t *ret)
{
	uint64_t v;
	if (cmn_parse_size(s, &v))
		return -1;
	if (v < CMN_MEMORY_MIN || v > CMN_MEMORY_MAX || v % CMN_PAGE_SIZE)
		return -2;
	*ret = v;
	return 0;
}

int cmn_parse_qemu_version(const char *s, unsigned *ret)
{
	unsigned part[3] = { 0 };
	int n = 0;
	for (;;) {
		if (!is_digit(*s))
			return -1;
		unsigned v = 0;
		for (; is_digit(*s); s++) {
			if (v > 9999)
				return -1;
			v = v * 10 + (unsigned)(*s - '0');
		}
		part[n++] = v;
		if (!*s)
			break;
		if (*s != '.' || n == 3)
			return -1;
		s++;
	}
	if (n < 2 || part[0] > 99 || part[1] > 99)
		return -1;
	*ret = part[0] * 100 + part[1];
	return 0;
}

void cmn_list_free(struct cmn_list *l)
{
	if (!l)
		return;
	free(l->buf);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int cmn_split_list(const char *s, struct cmn_list *ret, size_t *ret_empty_index)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	char *b = strdup(s);
	char **v = calloc(n, sizeof(*v));
	if (!b || !v) {
		free(b);
		free(v);
		return -2;
	}
	char *p = b;
	for (size_t i = 0; i < n; i++) {
		char *e = strchr(p, ',');
		if (e)
			*e = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		size_t l = strlen(p);
		while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		p[l] = '\0';
		if (!*p) {
			free(b);
			free(v);
			if (ret_empty_index)
				*ret_empty_index = i;
			return -1;
		}
		v[i] = p;
		p = e ? e + 1 : p + l;
	}
	*ret = (struct cmn_list){ b, v, n };
	return 0;
}

bool cmn_deb_package_ok(const char *s, size_t n)
{
	if (n < 2 || n > CMN_DEB_PACKAGE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || is_digit(c);
		if (!alnum && (i == 0 || !strchr("+.-", c) || !c))
			return false;
	}
	return true;
}
