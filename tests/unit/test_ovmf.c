/* SPDX-License-Identifier: Apache-2.0 */
/* The OVMF footer table, ASEV and TDVF parsers, on synthetic and real images. */
#include "tests/unit/testlib.h"

static struct cvmf_ovmf *parse_ok(const struct fw *f)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_ovmf *o = NULL;
	int r = cvmf_ovmf_parse(ctx, f->buf, f->len, &o);
	if (r)
		fprintf(stderr, "unexpected parse error: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(r, 0);
	cvmf_ctx_free(ctx);
	return o;
}

/* Parsing must fail with CVMF_E_FORMAT and a message containing `needle`. */
static void parse_fails(const struct fw *f, const char *needle)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_ovmf *o = NULL;
	int r = cvmf_ovmf_parse(ctx, f->buf, f->len, &o);
	if (r != CVMF_E_FORMAT || !strstr(cvmf_ctx_errmsg(ctx), needle))
		fprintf(stderr, "r=%d msg='%s', wanted '%s'\n", r, cvmf_ctx_errmsg(ctx), needle);
	assert_int_equal(r, CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), needle));
	assert_null(o);
	cvmf_ctx_free(ctx);
}

static void test_amdsev_like(void **state)
{
	(void)state;
	struct fw f = fw_amdsev_like(64 * 1024);
	struct cvmf_ovmf *o = parse_ok(&f);
	assert_true(o->has_table);
	assert_int_equal(o->n_entries, 3);
	assert_int_equal(o->gpa, 0x100000000ull - 64 * 1024);
	assert_true(o->has_reset_eip);
	assert_int_equal(o->reset_eip, 0x80b004);
	assert_true(o->has_hashes_rv);
	assert_int_equal(o->hashes_base, 0x810c00);
	assert_int_equal(o->hashes_size, 0x400);
	assert_true(o->has_sev_metadata);
	assert_int_equal(o->sev_metadata_offset, 64 * 1024 - 0x1000);
	assert_int_equal(o->n_sections, 7);
	/* Table order is kept, not address order. */
	assert_int_equal(o->sections[5].gpa, 0x811000);
	assert_int_equal(o->sections[6].type, CVMF_SNP_KERNEL_HASHES);
	assert_int_equal(o->sections[6].gpa, 0x810000);
	assert_false(o->has_tdx_metadata);
	char g[37];
	cvmf_guid_format(o->entries[0].guid, g);
	assert_string_equal(g, "00f771de-1a7e-4fcb-890e-68c77e2fb44e");
	assert_string_equal(cvmf_ovmf_guid_name(o->entries[0].guid), "SEV_ES_RESET_BLOCK");
	cvmf_ovmf_free(o);
	free(f.buf);
}

static void test_no_table(void **state)
{
	(void)state;
	struct fw f = fw_new(8192);   /* no footer written */
	struct cvmf_ovmf *o = parse_ok(&f);
	assert_false(o->has_table);
	assert_int_equal(o->n_entries, 0);
	cvmf_ovmf_free(o);
	/* Too small to hold a footer at all. */
	struct fw tiny = { f.buf, 20, 0 };
	o = parse_ok(&tiny);
	assert_false(o->has_table);
	cvmf_ovmf_free(o);
	free(f.buf);
}

static void test_table_length_outside(void **state)
{
	(void)state;
	struct fw f = fw_new(4096);
	fw_finish(&f);
	t_le16(f.buf + 4096 - 32 - 18, 0xffff);   /* longer than the file */
	parse_fails(&f, "does not fit");
	t_le16(f.buf + 4096 - 32 - 18, 3);        /* shorter than the footer itself */
	parse_fails(&f, "does not fit");
	free(f.buf);
}

static void test_entry_lengths(void **state)
{
	(void)state;
	struct fw f = fw_new(4096);
	fw_u32_entry(&f, T_GUID_RESET, 0x80b004);
	fw_finish(&f);
	size_t len_at = f.p + 4;   /* the entry's u16 length */
	t_le16(f.buf + len_at, 17);
	parse_fails(&f, "less than its 18-byte header");
	t_le16(f.buf + len_at, 200);
	parse_fails(&f, "past the table start");
	free(f.buf);
}

static void test_duplicate_and_short_entries(void **state)
{
	(void)state;
	struct fw f = fw_new(4096);
	fw_u32_entry(&f, T_GUID_RESET, 1);
	fw_u32_entry(&f, T_GUID_RESET, 2);
	fw_finish(&f);
	parse_fails(&f, "twice");
	free(f.buf);

	struct fw g = fw_new(4096);
	uint8_t two[2] = { 1, 2 };
	fw_entry(&g, T_GUID_HASHES, two, sizeof(two));
	fw_finish(&g);
	parse_fails(&g, "needs 8");
	free(g.buf);
}

static void test_unknown_guid_skipped(void **state)
{
	(void)state;
	static const uint8_t other[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct fw f = fw_new(4096);
	fw_entry(&f, other, "hello", 5);
	fw_u32_entry(&f, T_GUID_RESET, 0x80b004);
	fw_finish(&f);
	struct cvmf_ovmf *o = parse_ok(&f);
	assert_int_equal(o->n_entries, 2);
	assert_null(cvmf_ovmf_guid_name(o->entries[0].guid));
	assert_int_equal(o->entries[0].data_len, 5);
	assert_memory_equal(f.buf + o->entries[0].data_offset, "hello", 5);
	assert_int_equal(o->reset_eip, 0x80b004);
	cvmf_ovmf_free(o);
	free(f.buf);
}

static void asev_case(const struct t_section *s, size_t n, void (*mutate)(uint8_t *h),
		      const char *needle)
{
	struct fw f = fw_new(16384);
	fw_asev(&f, 8192, s, n);
	fw_finish(&f);
	if (mutate)
		mutate(f.buf + 8192);
	parse_fails(&f, needle);
	free(f.buf);
}

static void bad_sig(uint8_t *h) { h[0] = 'X'; }
static void bad_version(uint8_t *h) { t_le32(h + 8, 2); }
static void bad_count(uint8_t *h) { t_le32(h + 12, 100000); }
static void bad_size(uint8_t *h) { t_le32(h + 4, 16); }

static void test_asev_errors(void **state)
{
	(void)state;
	const struct t_section ok[] = { { 0x800000, 0x1000, 1 } };
	asev_case(ok, 1, bad_sig, "no \"ASEV\" signature");
	asev_case(ok, 1, bad_version, "version 2");
	asev_case(ok, 1, bad_count, "past the end of the file");
	asev_case(ok, 1, bad_size, "too small");
	const struct t_section unknown[] = { { 0x800000, 0x1000, 1 }, { 0x801000, 0x1000, 5 } };
	asev_case(unknown, 2, NULL, "unknown type 0x5");
	const struct t_section unaligned[] = { { 0x800800, 0x1000, 1 } };
	asev_case(unaligned, 1, NULL, "not whole 4 KiB pages");
	const struct t_section partial[] = { { 0x800000, 0x1800, 1 } };
	asev_case(partial, 1, NULL, "not whole 4 KiB pages");
	const struct t_section empty[] = { { 0x800000, 0, 1 } };
	asev_case(empty, 1, NULL, "not whole 4 KiB pages");
	const struct t_section wrap[] = { { 0xfffff000, 0x2000, 1 } };
	asev_case(wrap, 1, NULL, "past 4 GiB");
}

static void test_asev_offset_outside(void **state)
{
	(void)state;
	struct fw f = fw_new(4096);
	fw_u32_entry(&f, T_GUID_SEV_META, 8192);
	fw_finish(&f);
	parse_fails(&f, "points outside");
	free(f.buf);
	/* Header starts inside but is cut off by the end of the file. */
	struct fw g = fw_new(4096);
	fw_u32_entry(&g, T_GUID_SEV_META, 20);
	fw_finish(&g);
	parse_fails(&g, "ASEV");
	free(g.buf);
}

/* ---- TDVF ---- */

static struct fw tdvf_image(const struct t_tdvf *s, size_t n, bool guid)
{
	return fw_tdvf(64 * 1024, 32 * 1024, s, n, guid);
}

static void tdvf_refused(const struct t_tdvf *s, size_t n, bool guid, const char *needle)
{
	struct fw f = tdvf_image(s, n, guid);
	struct cvmf_ovmf *o = parse_ok(&f);   /* TDX trouble never blocks SEV */
	assert_true(o->has_tdx_metadata);
	if (!o->tdx_err || !strstr(o->tdx_errmsg, needle))
		fprintf(stderr, "tdx_err=%d '%s', wanted '%s'\n", o->tdx_err, o->tdx_errmsg, needle);
	assert_int_equal(o->tdx_err, CVMF_E_FORMAT);
	assert_non_null(strstr(o->tdx_errmsg, needle));
	assert_int_equal(o->n_tdvf_sections, 0);
	cvmf_ovmf_free(o);
	free(f.buf);
}

static void test_tdvf(void **state)
{
	(void)state;
	const struct t_tdvf good[] = {
		{ 0, 0x8000, 0xffff0000, 0x8000, 0, 1 },   /* BFV, measured */
		{ 0, 0, 0x809000, 0x2000, 2, 0 },          /* TD_HOB */
		{ 0, 0, 0x800000, 0x6000, 3, 0 },          /* TempMem */
	};
	struct fw f = tdvf_image(good, 3, true);
	struct cvmf_ovmf *o = parse_ok(&f);
	assert_int_equal(o->tdx_err, 0);
	assert_int_equal(o->n_tdvf_sections, 3);
	assert_int_equal(o->tdvf_sections[1].type, 2);
	assert_string_equal(cvmf_tdvf_section_name(o->tdvf_sections[1].type), "TD_HOB");
	assert_int_equal(o->tdvf_sections[0].attributes, 1);
	cvmf_ovmf_free(o);
	free(f.buf);

	tdvf_refused(good, 3, false, "metadata GUID");
	const struct t_tdvf outside[] = { { 0xf000, 0x8000, 0xffff0000, 0x8000, 0, 1 },
					  { 0, 0, 0x809000, 0x2000, 2, 0 } };
	tdvf_refused(outside, 2, true, "outside the");
	const struct t_tdvf overlap[] = { { 0, 0, 0x800000, 0x6000, 3, 0 },
					  { 0, 0, 0x805000, 0x2000, 2, 0 } };
	tdvf_refused(overlap, 2, true, "overlap");
	const struct t_tdvf two_hobs[] = { { 0, 0, 0x800000, 0x1000, 2, 0 },
					   { 0, 0, 0x805000, 0x2000, 2, 0 } };
	tdvf_refused(two_hobs, 2, true, "exactly one is required");
	const struct t_tdvf no_hob[] = { { 0, 0, 0x800000, 0x1000, 3, 0 },
					 { 0, 0, 0x805000, 0x2000, 3, 0 } };
	tdvf_refused(no_hob, 2, true, "0 TD_HOB");
	const struct t_tdvf unknown[] = { { 0, 0, 0x800000, 0x1000, 2, 0 },
					  { 0, 0, 0x805000, 0x2000, 42, 0 } };
	tdvf_refused(unknown, 2, true, "unknown type 42");
	const struct t_tdvf hob_data[] = { { 0, 0x10, 0x800000, 0x1000, 2, 0 },
					   { 0, 0, 0x805000, 0x2000, 3, 0 } };
	tdvf_refused(hob_data, 2, true, "must not carry data");
	tdvf_refused(good, 1, true, "lists 1 sections");
}

/* ---- real Debian firmware, when ../shared is there ---- */

static struct cvmf_ovmf *parse_shared(const char *rel, uint8_t **buf)
{
	char *path = t_shared_file(rel);
	if (!path)
		return NULL;
	size_t n;
	*buf = (uint8_t *)t_slurp(path, &n);
	free(path);
	struct fw f = { *buf, n, 0 };
	return parse_ok(&f);
}

static void test_real_firmware(void **state)
{
	(void)state;
	uint8_t *buf = NULL;
	struct cvmf_ovmf *o = parse_shared("inputs/OVMF.amdsev.fd", &buf);
	if (!o)
		skip();
	static const uint32_t want[][3] = {
		{ 0x800000, 0x9000, 1 }, { 0x80a000, 0x3000, 1 }, { 0x80d000, 0x1000, 2 },
		{ 0x80e000, 0x1000, 3 }, { 0x80f000, 0x1000, 4 }, { 0x811000, 0x1f000, 1 },
		{ 0x810000, 0x1000, 0x10 },
	};
	assert_int_equal(o->n_sections, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(o->sections[i].gpa, want[i][0]);
		assert_int_equal(o->sections[i].len, want[i][1]);
		assert_int_equal(o->sections[i].type, want[i][2]);
	}
	assert_int_equal(o->hashes_base, 0x810c00);
	assert_int_equal(o->reset_eip, 0x80b004);
	cvmf_ovmf_free(o);
	free(buf);

	o = parse_shared("inputs/OVMF.fd", &buf);
	assert_non_null(o);
	assert_int_equal(o->n_sections, 5);
	assert_int_equal(o->hashes_base, 0);
	assert_int_equal(o->tdx_err, 0);
	assert_int_equal(o->n_tdvf_sections, 6);
	assert_int_equal(o->tdvf_sections[0].data_offset, 0x20000);
	assert_int_equal(o->tdvf_sections[0].gpa, 0xffe20000);
	cvmf_ovmf_free(o);
	free(buf);

	/* OVMF_CODE.fd alone: the BFV points past its end. */
	o = parse_shared("inputs/OVMF_CODE.fd", &buf);
	assert_non_null(o);
	assert_int_equal(o->tdx_err, CVMF_E_FORMAT);
	assert_non_null(strstr(o->tdx_errmsg, "outside"));
	cvmf_ovmf_free(o);
	free(buf);

	o = parse_shared("inputs/OVMF_CODE_4M.fd", &buf);
	assert_non_null(o);
	assert_true(o->has_table);
	assert_false(o->has_sev_metadata);
	assert_false(o->has_tdx_metadata);
	assert_int_equal(o->reset_eip, 0x808004);
	cvmf_ovmf_free(o);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amdsev_like),
		cmocka_unit_test(test_no_table),
		cmocka_unit_test(test_table_length_outside),
		cmocka_unit_test(test_entry_lengths),
		cmocka_unit_test(test_duplicate_and_short_entries),
		cmocka_unit_test(test_unknown_guid_skipped),
		cmocka_unit_test(test_asev_errors),
		cmocka_unit_test(test_asev_offset_outside),
		cmocka_unit_test(test_tdvf),
		cmocka_unit_test(test_real_firmware),
	};
	return cmocka_run_group_tests_name("ovmf", tests, NULL, NULL);
}
