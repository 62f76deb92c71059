/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for measure/acpi.c: msr_acpi_derive_rsdp() and
 * msr_acpi_derive_loader() over the input as QEMU's etc/acpi/tables blob
 * (a file the user gives, so untrusted). ASan/UBSan catch out-of-bounds
 * reads; the checks below catch output OVMF's loader would reject or
 * misapply:
 *   - both derivations accept the same blobs (the loader may additionally
 *     refuse a FACP too short for its DSDT pointer);
 *   - etc/acpi/rsdp: "RSD PTR ", OEM "BOCHS ", revision 0, checksum 0, and
 *     an RSDT offset inside the blob where an "RSDT" table starts;
 *   - etc/table-loader: a non-zero multiple of 4096 bytes of 128-byte
 *     commands, each ALLOCATE (1), ADD_POINTER (2) or ADD_CHECKSUM (3), then
 *     only all-zero padding; files are etc/acpi/rsdp (20 bytes) or
 *     etc/acpi/tables (the blob), NUL-padded; every pointer and checksum
 *     offset lies inside its file, and only allocated files are named.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvmforge/cvmforge.h"
#include "measure/measure.h"

#define CMD 128
#define FILE_LEN 56
#define ALIGN 4096
#define RSDP_LEN 20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The size of the file a command names (56 bytes, NUL-padded), or 0. */
static uint64_t file_size(const uint8_t *name, size_t tables_len)
{
	static const char tables[] = "etc/acpi/tables", rsdp[] = "etc/acpi/rsdp";
	if (!memcmp(name, tables, sizeof(tables)) &&
	    all_zero(name + sizeof(tables), FILE_LEN - sizeof(tables)))
		return tables_len;
	if (!memcmp(name, rsdp, sizeof(rsdp)) &&
	    all_zero(name + sizeof(rsdp), FILE_LEN - sizeof(rsdp)))
		return RSDP_LEN;
	return 0;
}

static void check_rsdp(const uint8_t *r, const uint8_t *t, size_t len)
{
	CHECK(!memcmp(r, "RSD PTR ", 8));
	CHECK(r[8] == 0);                  /* the loader computes it */
	CHECK(!memcmp(r + 9, "BOCHS ", 6));
	CHECK(r[15] == 0);                 /* ACPI 1.0 */
	uint32_t rsdt = get32(r + 16);
	CHECK(rsdt < len && len - rsdt >= 36);
	CHECK(!memcmp(t + rsdt, "RSDT", 4));
}

static void check_loader(const uint8_t *l, size_t n, size_t tables_len)
{
	CHECK(n != 0 && n % ALIGN == 0);
	bool alloc_rsdp = false, alloc_tables = false, padding = false;
	size_t cmds = 0;
	for (size_t off = 0; off < n; off += CMD) {
		const uint8_t *c = l + off;
		if (padding || all_zero(c, CMD)) {
			CHECK(all_zero(c, CMD));
			padding = true;
			continue;
		}
		cmds++;
		uint32_t type = get32(c);
		CHECK(type >= 1 && type <= 3);
		uint64_t fs = file_size(c + 4, tables_len);
		CHECK(fs != 0);
		const uint8_t *rest;
		size_t rest_off;
		if (type == 1) {   /* ALLOCATE: file, u32 align, u8 zone */
			uint32_t align = get32(c + 4 + FILE_LEN);
			uint8_t zone = c[8 + FILE_LEN];
			CHECK(align != 0 && (align & (align - 1)) == 0);
			CHECK(zone == 1 || zone == 2);
			if (fs == RSDP_LEN && !memcmp(c + 4, "etc/acpi/rsdp", 14)) {
				CHECK(!alloc_rsdp && zone == 2);
				alloc_rsdp = true;
			} else {
				CHECK(!alloc_tables && zone == 1);
				alloc_tables = true;
			}
			rest_off = 9 + FILE_LEN;
		} else if (type == 2) {   /* ADD_POINTER: dest, src, u32 offset, u8 size */
			uint64_t src = file_size(c + 4 + FILE_LEN, tables_len);
			CHECK(src != 0);
			uint32_t at = get32(c + 4 + 2 * FILE_LEN);
			uint8_t sz = c[8 + 2 * FILE_LEN];
			CHECK(sz == 1 || sz == 2 || sz == 4 || sz == 8);
			CHECK((uint64_t)at + sz <= fs);
			rest_off = 9 + 2 * FILE_LEN;
		} else {   /* ADD_CHECKSUM: file, u32 result, u32 start, u32 length */
			uint32_t res = get32(c + 4 + FILE_LEN);
			uint32_t start = get32(c + 8 + FILE_LEN);
			uint32_t clen = get32(c + 12 + FILE_LEN);
			CHECK(res < fs);
			CHECK((uint64_t)start + clen <= fs);
			CHECK(res >= start && res - start < clen);
			rest_off = 16 + FILE_LEN;
		}
		/* Files must be allocated before anything else names them. */
		if (type != 1)
			CHECK(alloc_rsdp && alloc_tables);
		rest = c + rest_off;
		CHECK(all_zero(rest, CMD - rest_off));
	}
	/* At least the two ALLOCATEs, the RSDP pointer and checksum, and the
	 * RSDT's checksum. */
	CHECK(cmds >= 5);
	CHECK(alloc_rsdp && alloc_tables);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	if (!ctx) {
		ctx = cvmf_ctx_new();
		if (!ctx)
			__builtin_trap();
	}
	/* An exact-size copy, so ASan sees any read past the end. */
	uint8_t *t = malloc(size ? size : 1);
	if (!t)
		__builtin_trap();
	memcpy(t, data, size);

	uint8_t rsdp[RSDP_LEN];
	memset(rsdp, 0xa5, sizeof(rsdp));
	int r1 = msr_acpi_derive_rsdp(ctx, "fuzz", t, size, rsdp);
	if (r1) {
		CHECK(r1 < 0 && cvmf_ctx_errmsg(ctx)[0] != '\0');
	} else {
		check_rsdp(rsdp, t, size);
	}

	uint8_t *l = (uint8_t *)(uintptr_t)1;
	size_t n = 12345;
	int r2 = msr_acpi_derive_loader(ctx, "fuzz", t, size, &l, &n);
	if (r2) {
		CHECK(r2 < 0 && cvmf_ctx_errmsg(ctx)[0] != '\0');
		CHECK(l == (uint8_t *)(uintptr_t)1 && n == 12345);
		/* Only the FACP length check is the loader's own. */
		if (!r1)
			CHECK(strstr(cvmf_ctx_errmsg(ctx), "FACP") != NULL);
	} else {
		CHECK(r1 == 0);
		check_loader(l, n, size);
		free(l);
	}
	free(t);
	return 0;
}
