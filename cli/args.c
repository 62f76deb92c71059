/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Option parsing with the rules of Python's argparse, so that a pipeline
 * written for sev-snp-measure keeps working: "--opt value" and "--opt=value",
 * unambiguous prefixes of long options, the last repetition wins, and usage
 * errors exit 2 with "PROG: error: ..." as the last line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int usage_error(const char *prog, const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "usage: %s %s\n", prog, usage);
	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE_;
}

static bool looks_negative_number(const char *s)
{
	if (s[0] != '-' || !s[1])
		return false;
	for (const char *c = s + 1; *c; c++)
		if (!isdigit((unsigned char)*c) && *c != '.')
			return false;
	return true;
}

static const struct opt *find_long(struct opt_parser *p, const char *name, size_t len)
{
	const struct opt *hit = NULL;
	int n = 0;
	for (const struct opt *o = p->opts; o->name; o++) {
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;   /* an exact match beats any prefix */
		if (!strncmp(o->name, name, len)) {
			hit = o;
			n++;
		}
	}
	if (n > 1) {
		char list[512] = "";
		for (const struct opt *o = p->opts; o->name; o++)
			if (!strncmp(o->name, name, len)) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof(list) - l, "%s--%s", l ? ", " : "", o->name);
			}
		usage_error(p->prog, p->usage, "ambiguous option: --%.*s could match %s",
			    (int)len, name, list);
		return (const struct opt *)-1;
	}
	return hit;
}

int opt_next(struct opt_parser *p, const char **value)
{
	while (p->i < p->argc) {
		char *a = p->argv[p->i++];
		const struct opt *o = NULL;
		const char *inline_val = NULL;
		if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_long(p, a + 2, len);
			if (o == (const struct opt *)-1)
				return -1;
			if (!o) {
				usage_error(p->prog, p->usage, "unrecognized arguments: %s", a);
				return -1;
			}
			if (eq)
				inline_val = eq + 1;
		} else if (a[0] == '-' && a[1] && a[1] != '-' && !looks_negative_number(a)) {
			for (const struct opt *s = p->opts; s->name; s++)
				if (s->shortname && s->shortname == a[1])
					o = s;
			if (!o) {
				usage_error(p->prog, p->usage, "unrecognized arguments: %s", a);
				return -1;
			}
			if (a[2]) {
				if (!o->has_arg) {
					usage_error(p->prog, p->usage, "unrecognized arguments: %s", a);
					return -1;
				}
				inline_val = a + 2;
			}
		} else {
			if (p->n_positional >= p->max_positional ||
			    p->n_positional >= (int)(sizeof(p->positional) / sizeof(p->positional[0]))) {
				usage_error(p->prog, p->usage, "unrecognized arguments: %s", a);
				return -1;
			}
			p->positional[p->n_positional++] = a;
			continue;
		}
		if (!o->has_arg) {
			if (inline_val) {
				usage_error(p->prog, p->usage, "argument --%s: ignored explicit argument '%s'",
					    o->name, inline_val);
				return -1;
			}
			*value = NULL;
			return o->id;
		}
		if (inline_val) {
			*value = inline_val;
			return o->id;
		}
		if (p->i >= p->argc ||
		    (p->argv[p->i][0] == '-' && p->argv[p->i][1] &&
		     !looks_negative_number(p->argv[p->i]))) {
			usage_error(p->prog, p->usage, "argument --%s: expected one argument", o->name);
			return -1;
		}
		*value = p->argv[p->i++];
		return o->id;
	}
	return 0;
}

/* Python's int(): [+-] then, with auto_base, 0x/0o/0b or a decimal without a
 * leading zero; single underscores may separate digits. */
int parse_pyint(const char *s, bool auto_base, long long *ret_neg, unsigned long long *ret_mag)
{
	while (isspace((unsigned char)*s))
		s++;
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	unsigned base = 10;
	if (auto_base && s[0] == '0' && s[1] && strchr("xXoObB", s[1])) {
		base = strchr("xX", s[1]) ? 16 : strchr("oO", s[1]) ? 8 : 2;
		s += 2;
		if (*s == '_')
			s++;
	}
	unsigned long long v = 0;
	bool any = false, leading_zero = false, nonzero = false;
	const char *start = s;
	for (; *s && !isspace((unsigned char)*s); s++) {
		if (*s == '_') {
			if (s == start || !isxdigit((unsigned char)s[1]))
				return -1;
			continue;
		}
		int d = isdigit((unsigned char)*s) ? *s - '0'
			: isxdigit((unsigned char)*s) ? tolower((unsigned char)*s) - 'a' + 10 : 99;
		if (d >= (int)base)
			return -1;
		if (!any && d == 0 && base == 10)
			leading_zero = true;
		if (d)
			nonzero = true;
		if (v > (~0ull - (unsigned)d) / base)
			return -2;   /* does not fit in 64 bits */
		v = v * base + (unsigned)d;
		any = true;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!any || *s)
		return -1;
	/* int("017", 0) is an error in Python; int("017") is not. */
	if (auto_base && base == 10 && leading_zero && nonzero)
		return -1;
	*ret_neg = neg && v;
	*ret_mag = v;
	return 0;
}
