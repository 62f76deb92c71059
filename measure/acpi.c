/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QEMU's ACPI fw_cfg blobs for x86, derived from etc/acpi/tables.
 *
 * OVMF measures three fw_cfg files before it installs the tables:
 * etc/table-loader, etc/acpi/rsdp and etc/acpi/tables. Only the tables carry
 * information; the other two follow from them for the layout QEMU builds:
 *
 *   etc/acpi/rsdp (20 bytes, ACPI 1.0): "RSD PTR ", checksum 0, OEM ID
 *     "BOCHS ", revision 0, u32 offset of the RSDT in etc/acpi/tables (the
 *     loader turns the offset into an address and fixes the checksum).
 *
 *   etc/table-loader: 128-byte commands, zero-padded to a multiple of 4096.
 *     ALLOCATE     u32 1, file[56], u32 align, u8 zone (1 HIGH, 2 FSEG)
 *     ADD_POINTER  u32 2, dest file[56], src file[56], u32 offset, u8 size
 *     ADD_CHECKSUM u32 3, file[56], u32 result offset, u32 start, u32 length
 *   QEMU prepends allocations, so the RSDP's (align 16, FSEG) comes before
 *   the tables' (align 64, HIGH). Then, per table in blob order, its
 *   pointers and then its checksum: FACP points at FACS (+36, 4 bytes), at
 *   the DSDT (+40, 4) and, in a revision 3+ FADT, X_DSDT (+140, 8); the RSDT
 *   has one 4-byte pointer per entry; every table but FACS is checksummed
 *   (result at +9). Last, the RSDP's pointer (+16, 4) and its checksum over
 *   bytes 0..19.
 *
 * Tables that point into other fw_cfg files (TPM2 and TCPA point at the TPM
 * log) or an XSDT-based layout are refused: their loader commands must come
 * from a dump of the real QEMU.
 */
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

#define TABLES_FILE "etc/acpi/tables"
#define RSDP_FILE "etc/acpi/rsdp"
#define CMD_LEN 128
#define FILE_LEN 56
#define LOADER_ALIGN 4096

struct table {
	char sig[5];
	uint32_t off, len;
};

/* Walk the tables in blob order; the blob ends at zero padding. */
static int walk(cvmf_ctx *ctx, const char *what, const uint8_t *t, size_t len,
		struct table **ret, size_t *ret_n)
{
	size_t cap = 16, n = 0;
	struct table *v = malloc(cap * sizeof(*v));
	if (!v)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	size_t off = 0;
	while (off + 8 <= len) {
		if (!memcmp(t + off, "\0\0\0\0", 4))
			break;
		for (int i = 0; i < 4; i++)
			if (t[off + i] < 0x20 || t[off + i] > 0x7e) {
				free(v);
				return cmn_error(ctx, CVMF_E_FORMAT,
						  "%s: no ACPI table signature at offset 0x%zx", what,
						  off);
			}
		uint32_t tl = cmn_le32(t + off + 4);
		bool facs = !memcmp(t + off, "FACS", 4);
		if (tl < (facs ? 8u : 36u) || tl > len - off) {
			free(v);
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: table '%.4s' at offset 0x%zx has length %u, outside the %zu-byte blob",
					  what, (const char *)(t + off), off, tl, len);
		}
		if (n == cap) {
			struct table *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				free(v);
				return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			}
			v = nv;
			cap *= 2;
		}
		memcpy(v[n].sig, t + off, 4);
		v[n].sig[4] = 0;
		v[n].off = (uint32_t)off;
		v[n].len = tl;
		n++;
		off += tl;
	}
	if (n == 0) {
		free(v);
		return cmn_error(ctx, CVMF_E_FORMAT, "%s holds no ACPI tables", what);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static const struct table *find(const struct table *v, size_t n, const char *sig)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].sig, sig))
			return &v[i];
	return NULL;
}

static int check_layout(cvmf_ctx *ctx, const char *what, const struct table *v, size_t n)
{
	static const char *const refused[] = { "XSDT", "TPM2", "TCPA" };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(refused); i++)
		if (find(v, n, refused[i]))
			return cmn_error(ctx, CVMF_E_UNSUPPORTED,
					  "%s has an %s table, whose loader commands cannot be derived: give --acpi-rsdp and --acpi-loader dumped from the QEMU that launches the guest",
					  what, refused[i]);
	if (!find(v, n, "RSDT"))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s has no RSDT", what);
	return 0;
}

int msr_acpi_derive_rsdp(cvmf_ctx *ctx, const char *what, const uint8_t *tables, size_t len,
			  uint8_t out[MSR_ACPI_RSDP_LEN])
{
	struct table *v;
	size_t n;
	int r = walk(ctx, what, tables, len, &v, &n);
	if (r)
		return r;
	r = check_layout(ctx, what, v, n);
	if (!r) {
		memset(out, 0, MSR_ACPI_RSDP_LEN);
		memcpy(out, "RSD PTR ", 8);
		memcpy(out + 9, "BOCHS ", 6);
		cmn_put_le32(out + 16, find(v, n, "RSDT")->off);
	}
	free(v);
	return r;
}

struct loader {
	uint8_t *buf;
	size_t len, cap;
};

static uint8_t *cmd(struct loader *l, uint32_t type)
{
	if (l->len + CMD_LEN > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : LOADER_ALIGN;
		uint8_t *nb = realloc(l->buf, cap);
		if (!nb)
			return NULL;
		l->buf = nb;
		l->cap = cap;
	}
	uint8_t *c = l->buf + l->len;
	memset(c, 0, CMD_LEN);
	cmn_put_le32(c, type);
	l->len += CMD_LEN;
	return c;
}

static int allocate(struct loader *l, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *c = cmd(l, 1);
	if (!c)
		return CVMF_E_NOMEM;
	memcpy(c + 4, file, strlen(file));
	cmn_put_le32(c + 4 + FILE_LEN, align);
	c[8 + FILE_LEN] = zone;
	return 0;
}

static int pointer(struct loader *l, const char *dest, const char *src, uint32_t off,
		   uint8_t size)
{
	uint8_t *c = cmd(l, 2);
	if (!c)
		return CVMF_E_NOMEM;
	memcpy(c + 4, dest, strlen(dest));
	memcpy(c + 4 + FILE_LEN, src, strlen(src));
	cmn_put_le32(c + 4 + 2 * FILE_LEN, off);
	c[8 + 2 * FILE_LEN] = size;
	return 0;
}

static int checksum(struct loader *l, const char *file, uint32_t result, uint32_t start,
		    uint32_t len)
{
	uint8_t *c = cmd(l, 3);
	if (!c)
		return CVMF_E_NOMEM;
	memcpy(c + 4, file, strlen(file));
	cmn_put_le32(c + 4 + FILE_LEN, result);
	cmn_put_le32(c + 8 + FILE_LEN, start);
	cmn_put_le32(c + 12 + FILE_LEN, len);
	return 0;
}

int msr_acpi_derive_loader(cvmf_ctx *ctx, const char *what, const uint8_t *tables, size_t len,
			    uint8_t **ret, size_t *ret_len)
{
	struct table *v;
	size_t n;
	int r = walk(ctx, what, tables, len, &v, &n);
	if (r)
		return r;
	r = check_layout(ctx, what, v, n);
	if (r) {
		free(v);
		return r;
	}
	struct loader l = { 0 };
	r = allocate(&l, RSDP_FILE, 16, 2);
	if (!r)
		r = allocate(&l, TABLES_FILE, 64, 1);
	for (size_t i = 0; !r && i < n; i++) {
		const struct table *t = &v[i];
		if (!strcmp(t->sig, "FACS"))
			continue;
		if (!strcmp(t->sig, "FACP")) {
			if (t->len < 44) {
				r = cmn_error(ctx, CVMF_E_FORMAT,
					       "%s: FACP at offset 0x%x is %u bytes, too short for its DSDT pointer",
					       what, t->off, t->len);
				free(v);
				free(l.buf);
				return r;
			}
			r = pointer(&l, TABLES_FILE, TABLES_FILE, t->off + 36, 4);
			if (!r)
				r = pointer(&l, TABLES_FILE, TABLES_FILE, t->off + 40, 4);
			if (!r && t->len >= 148)
				r = pointer(&l, TABLES_FILE, TABLES_FILE, t->off + 140, 8);
		} else if (!strcmp(t->sig, "RSDT")) {
			for (uint32_t e = 36; !r && e + 4 <= t->len; e += 4)
				r = pointer(&l, TABLES_FILE, TABLES_FILE, t->off + e, 4);
		}
		if (!r)
			r = checksum(&l, TABLES_FILE, t->off + 9, t->off, t->len);
	}
	if (!r)
		r = pointer(&l, RSDP_FILE, TABLES_FILE, 16, 4);
	if (!r)
		r = checksum(&l, RSDP_FILE, 8, 0, 20);
	free(v);
	if (r) {
		free(l.buf);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	size_t padded = (l.len + LOADER_ALIGN - 1) / LOADER_ALIGN * LOADER_ALIGN;
	if (padded > l.cap) {
		uint8_t *nb = realloc(l.buf, padded);
		if (!nb) {
			free(l.buf);
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		}
		l.buf = nb;
	}
	memset(l.buf + l.len, 0, padded - l.len);
	*ret = l.buf;
	*ret_len = padded;
	return 0;
}
