/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for cvmf_ovmf_parse(): the OVMF footer GUID table, the
 * "ASEV" SEV metadata and the TDVF metadata are read from untrusted firmware
 * files, so every offset they carry must stay inside the input. ASan/UBSan
 * catch out-of-bounds reads; the checks below catch a parse that succeeds
 * but returns offsets or sections its callers would trust and misuse.
 *
 * A parsed image also goes through cvmf_ovmf_validate(), the layout check of
 * every OVMF (firmware volumes, reset vector, footer table).
 *
 * Each input is parsed twice: as a whole file, and as the tail of a 4 MiB
 * image whose start is zeros. Real TDVF sections point at the start of the
 * firmware, so only the second view lets the seeds (tails of real images,
 * -max_len is 1 MiB) get through the TDVF checks to the code behind them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvmforge/cvmforge.h"

#define FOOTER_RESERVED 32   /* reset vector area after the footer table */
#define ENTRY_HDR 18         /* u16 length + GUID after each entry's data */
#define ASEV_HDR 16
#define ASEV_DESC 12
#define TDVF_DESC 16
#define TDVF_SECTION 32
#define PAGE 4096u
#define FOUR_GIB 0x100000000ull
#define TAIL_IMAGE (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

/* Touch a string so ASan sees every byte up to its NUL. */
static void touch_str(const char *s)
{
	if (s)
		CHECK(strlen(s) < 4096);
}

static void check_entries(const struct cvmf_ovmf *o, size_t size)
{
	char g[37];

	if (!o->has_table) {
		CHECK(o->n_entries == 0);
		return;
	}
	CHECK(size >= FOOTER_RESERVED + ENTRY_HDR);
	CHECK(o->n_entries == 0 || o->entries);
	for (size_t i = 0; i < o->n_entries; i++) {
		const struct cvmf_guid_entry *e = &o->entries[i];

		CHECK(e->data_offset <= size);
		CHECK(e->data_len <= size - e->data_offset);
		/* Stronger: data, length and GUID all end before the reset area. */
		CHECK(e->data_offset + e->data_len + ENTRY_HDR <= size - FOOTER_RESERVED);
		/* Table order is last in file first. */
		if (i)
			CHECK(e->data_offset + e->data_len + ENTRY_HDR <=
			      o->entries[i - 1].data_offset);
		for (size_t j = 0; j < i; j++)
			CHECK(memcmp(o->entries[j].guid, e->guid, 16));
		touch_str(cvmf_ovmf_guid_name(e->guid));
		memset(g, 0x55, sizeof(g));
		cvmf_guid_format(e->guid, g);
		CHECK(g[36] == '\0' && strlen(g) == 36);
		CHECK(g[8] == '-' && g[13] == '-' && g[18] == '-' && g[23] == '-');
	}
}

static void check_sev(const struct cvmf_ovmf *o, size_t size)
{
	if (!o->has_sev_metadata) {
		CHECK(o->n_sections == 0);
		return;
	}
	CHECK(o->sev_metadata_offset <= size);
	CHECK(size - o->sev_metadata_offset >= ASEV_HDR);
	CHECK(o->n_sections <= (size - o->sev_metadata_offset - ASEV_HDR) / ASEV_DESC);
	CHECK(o->n_sections == 0 || o->sections);
	for (size_t i = 0; i < o->n_sections; i++) {
		const struct cvmf_snp_section *s = &o->sections[i];

		CHECK(s->len != 0);
		CHECK(s->gpa % PAGE == 0);
		CHECK(s->len % PAGE == 0);
		CHECK((uint64_t)s->gpa + s->len <= FOUR_GIB);
		const char *name = cvmf_snp_section_name(s->type);
		CHECK(name != NULL);
		touch_str(name);
	}
}

static void check_tdx(const struct cvmf_ovmf *o, size_t size)
{
	CHECK(memchr(o->tdx_errmsg, '\0', sizeof(o->tdx_errmsg)) != NULL);
	if (!o->has_tdx_metadata) {
		CHECK(o->tdx_err == 0);
		CHECK(o->n_tdvf_sections == 0);
		return;
	}
	if (o->tdx_err) {
		CHECK(o->tdx_err < 0);
		CHECK(o->tdx_errmsg[0] != '\0');
		CHECK(o->n_tdvf_sections == 0);
		return;
	}
	CHECK(o->tdx_metadata_offset >= 16);
	CHECK(o->tdx_metadata_offset <= size);
	CHECK(size - o->tdx_metadata_offset >= TDVF_DESC);
	CHECK(o->n_tdvf_sections >= 2);
	CHECK(o->n_tdvf_sections <=
	      (size - o->tdx_metadata_offset - TDVF_DESC) / TDVF_SECTION);
	CHECK(o->tdvf_sections);
	for (size_t i = 0; i < o->n_tdvf_sections; i++) {
		const struct cvmf_tdvf_section *t = &o->tdvf_sections[i];

		CHECK((uint64_t)t->data_offset + t->raw_size <= size);
		CHECK(t->gpa % PAGE == 0 && t->mem_size % PAGE == 0);
		CHECK(t->mem_size != 0 && t->mem_size >= t->raw_size);
		CHECK(t->gpa + t->mem_size > t->gpa);
		const char *name = cvmf_tdvf_section_name(t->type);
		CHECK(name != NULL);
		touch_str(name);
	}
}

static void check_image(cvmf_ctx *ctx, const uint8_t *data, size_t size)
{
	struct cvmf_ovmf *o = NULL;
	int r = cvmf_ovmf_parse(ctx, data, size, &o);
	if (r) {
		/* Failures leave ret untouched and a message behind. */
		CHECK(r < 0);
		CHECK(o == NULL);
		touch_str(cvmf_ctx_errmsg(ctx));
		CHECK(cvmf_ctx_errmsg(ctx)[0] != '\0');
		return;
	}
	CHECK(o != NULL);
	CHECK(o->size == size);
	if (size <= FOUR_GIB)
		CHECK(o->gpa == FOUR_GIB - size);
	check_entries(o, size);
	check_sev(o, size);
	check_tdx(o, size);
	/* The layout check walks firmware volumes by lengths from the input. */
	r = cvmf_ovmf_validate(ctx, data, size, o);
	CHECK(r <= 0);
	if (r)
		touch_str(cvmf_ctx_errmsg(ctx));
	else
		CHECK(size % PAGE == 0 && o->has_table);
	cvmf_ovmf_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	static uint8_t *image;   /* TAIL_IMAGE bytes, zero but for the tail */

	if (!ctx) {
		ctx = cvmf_ctx_new();
		image = calloc(1, TAIL_IMAGE);
		if (!ctx || !image)
			__builtin_trap();
	}
	check_image(ctx, data, size);
	if (size && size <= TAIL_IMAGE) {
		uint8_t *tail = image + TAIL_IMAGE - size;
		memcpy(tail, data, size);
		check_image(ctx, image, TAIL_IMAGE);
		memset(tail, 0, size);
	}
	return 0;
}
