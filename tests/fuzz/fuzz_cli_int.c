/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for parse_pyint(), the Python int() reader behind every
 * numeric CLI option (--vcpus, --guest-features, ...). Command lines come
 * from scripts we do not control, so the parser must never read past the
 * string, must agree with strtoull() on plain decimals, and must give the
 * same value for the same number however it is spelt.
 *
 * cli/args.c is not part of the library the fuzz targets link, so it is
 * compiled in here directly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.c"
#include "tests/fuzz/fuzz.h"

#define SENTINEL_NEG 0x5a5a5a5aLL
#define SENTINEL_MAG 0xa5a5a5a5a5a5a5a5ULL

/* parse_pyint with the "outputs written only on success" rule checked. */
static int parse(const char *s, bool auto_base, long long *neg, unsigned long long *mag)
{
	*neg = SENTINEL_NEG;
	*mag = SENTINEL_MAG;
	int r = parse_pyint(s, auto_base, neg, mag);
	CHECK(r == 0 || r == -1 || r == -2);
	if (r) {
		CHECK(*neg == SENTINEL_NEG && *mag == SENTINEL_MAG);
	} else {
		CHECK(*neg == 0 || *neg == 1);
		CHECK(!*neg || *mag);   /* "-0" is not negative */
	}
	return r;
}

/* [ws][+-]digits[ws], digits only ASCII 0-9, no underscores: the span of
 * the digits in *b, *e. */
static bool pure_decimal(const char *s, const char **b, const char **e)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		s++;
	*b = s;
	while (*s >= '0' && *s <= '9')
		s++;
	*e = s;
	if (*e == *b)
		return false;
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* A decimal within 64 bits: what strtoull makes of the same digits. */
static void check_decimal(const char *s, bool auto_base, int r, unsigned long long mag)
{
	const char *b, *e;
	if (!pure_decimal(s, &b, &e))
		return;
	bool leading_zero = b[0] == '0';
	bool nonzero = false;
	for (const char *c = b; c < e; c++)
		if (*c != '0')
			nonzero = true;

	char *end;
	errno = 0;
	unsigned long long want = strtoull(b, &end, 10);
	bool range = errno == ERANGE;
	CHECK(end == e);

	if (r == 0) {
		CHECK(!range);
		CHECK(mag == want);
		CHECK(!(auto_base && leading_zero && nonzero));
	} else if (r == -2) {
		CHECK(range);
	} else {
		/* Only int("017", 0) is refused among plain decimals. */
		CHECK(auto_base && leading_zero && nonzero);
	}
	/* Every plain decimal fits or overflows; nothing else is possible. */
	if (!auto_base || !leading_zero || !nonzero)
		CHECK(r == (range ? -2 : 0));
}

/* The same number spelt another way parses to the same value. */
static void check_respell(const char *s, bool auto_base, long long neg,
			  unsigned long long mag, char *tmp, size_t tmp_len)
{
	long long n2;
	unsigned long long m2;

	snprintf(tmp, tmp_len, "%s%llu", neg ? "-" : "", mag);
	CHECK(parse(tmp, false, &n2, &m2) == 0 && n2 == neg && m2 == mag);
	CHECK(parse(tmp, true, &n2, &m2) == 0 && n2 == neg && m2 == mag);
	snprintf(tmp, tmp_len, "%s0x%llx", neg ? "-" : "", mag);
	CHECK(parse(tmp, true, &n2, &m2) == 0 && n2 == neg && m2 == mag);
	CHECK(parse(tmp, false, &n2, &m2) == -1);

	/* Dropping the underscores changes nothing. */
	size_t j = 0;
	for (const char *c = s; *c && j + 1 < tmp_len; c++)
		if (*c != '_')
			tmp[j++] = *c;
	tmp[j] = '\0';
	CHECK(parse(tmp, auto_base, &n2, &m2) == 0 && n2 == neg && m2 == mag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t tmp_len = size + 32;
	char *tmp = malloc(tmp_len);

	if (!s || !tmp)
		goto out;
	memcpy(s, data, size);
	s[size] = '\0';

	for (int mode = 0; mode < 2; mode++) {
		bool auto_base = mode;
		long long neg;
		unsigned long long mag;
		int r = parse(s, auto_base, &neg, &mag);

		check_decimal(s, auto_base, r, mag);
		if (r == 0)
			check_respell(s, auto_base, neg, mag, tmp, tmp_len);
	}
out:
	free(tmp);
	free(s);
	return 0;
}
