/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The value parsers shared by recipes and the command line: sizes, guest
 * memory, QEMU versions, comma lists and Debian package names. One rule
 * each, so that a value means the same in a recipe and on the command line.
 * They never print and never write their outputs on failure.
 */
#ifndef CMN_PARSE_H
#define CMN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A size: decimal digits, then optionally one binary unit K, M, G or T
 * (either case: 2^10, 2^20, 2^30, 2^40), which may be followed by "B" or
 * "iB" ("2G", "2048M", "512MiB", "1GiB", "4096K", "2147483648"). No sign,
 * spaces, fraction or other unit. 0, or -1 when s is not such a size or its
 * value does not fit in 64 bits. */
int cmn_parse_size(const char *s, uint64_t *ret);

/* Guest memory, wherever it is given (recipes, `measure tdx/tpm --memory`):
 * a size that is a multiple of 4 KiB, from 32 MiB to 64 TiB inclusive. */
#define CMN_MEMORY_MIN (32ull << 20)          /* 32 MiB, 33554432 bytes */
#define CMN_MEMORY_MAX (64ull << 40)          /* 64 TiB, 70368744177664 bytes */
#define CMN_MEMORY_RULE "a multiple of 4 KiB, 32 MiB .. 64 TiB"
/* 0; -1 when s is not a size (see cmn_parse_size); -2 when it is one but
 * outside CMN_MEMORY_MIN..CMN_MEMORY_MAX or not a multiple of 4 KiB. */
int cmn_parse_memory(const char *s, uint64_t *ret);

/* A QEMU version "MAJOR.MINOR[.MICRO]" ("9.2", "10.0.1"): decimal parts,
 * MAJOR and MINOR 0..99, MICRO 0..99999 (ignored); nothing else (no sign,
 * spaces or suffix). *ret = MAJOR * 100 + MINOR. 0 or -1. */
int cmn_parse_qemu_version(const char *s, unsigned *ret);

/* A comma-separated list: items are trimmed of spaces and tabs, and none
 * may be empty ("", "a,,b", "a,", ",a" and "a, ,b" are refused). v[i]
 * point into buf. */
struct cmn_list {
	char *buf;
	char **v;
	size_t n;
};
/* 0; -1 when an item is empty (ret untouched; *ret_empty_index, if not
 * NULL, is the 0-based index of the first empty item); -2 out of memory. */
int cmn_split_list(const char *s, struct cmn_list *ret, size_t *ret_empty_index);
void cmn_list_free(struct cmn_list *l);     /* NULL-safe; zeroes *l */

/* A Debian binary package name, by Debian Policy 5.6.1: at least two
 * characters of [a-z0-9+.-], the first a lowercase letter or digit; and
 * at most CMN_DEB_PACKAGE_MAX characters. An architecture qualifier
 * (":amd64") is not part of a name and is refused, so a name can never be
 * taken for an option or a different package by apt-get. */
#define CMN_DEB_PACKAGE_MAX 127
bool cmn_deb_package_ok(const char *s, size_t n);

#endif
