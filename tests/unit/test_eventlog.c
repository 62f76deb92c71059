/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCG2 event logs: parsing, writing, replay and diff on synthetic logs and
 * on the real dstack CCEL in ../shared, and `cvmforge eventlog` end to end.
 * Replays are checked against a plain replay written here from the bytes.
 */
#include <jansson.h>

#include "tests/unit/testlib.h"

#define DSTACK "fixtures/tdx-upstream/dstack-ccel-sample.bin"
#define DSTACK_END 1933
#define RUN(...) t_run((char *const[]){ (char *)t_bin(), __VA_ARGS__, NULL })

/* ---- building logs byte by byte ---- */

struct lb {
	uint8_t buf[4096];
	size_t len;
};

static void lb_bytes(struct lb *b, const void *p, size_t n)
{
	assert_true(b->len + n <= sizeof(b->buf));
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void lb_u8(struct lb *b, uint8_t v) { lb_bytes(b, &v, 1); }
static void lb_u16(struct lb *b, uint16_t v)
{
	uint8_t d[2];
	t_le16(d, v);
	lb_bytes(b, d, 2);
}
static void lb_u32(struct lb *b, uint32_t v)
{
	uint8_t d[4];
	t_le32(d, v);
	lb_bytes(b, d, 4);
}

/* A Spec ID record; sizes[i] 0 means the alg's real size. */
static void lb_spec_id(struct lb *b, uint32_t index, uint8_t errata, const uint16_t *algs,
		       const uint16_t *sizes, unsigned n)
{
	static const uint8_t zero[20];
	lb_u32(b, index);
	lb_u32(b, 3);
	lb_bytes(b, zero, 20);
	lb_u32(b, 28 + 4 * n + 1);
	lb_bytes(b, "Spec ID Event03", 16);
	lb_u32(b, 0);
	lb_u8(b, 0);
	lb_u8(b, 2);
	lb_u8(b, errata);
	lb_u8(b, 2);
	lb_u32(b, n);
	for (unsigned i = 0; i < n; i++) {
		lb_u16(b, algs[i]);
		lb_u16(b, sizes && sizes[i] ? sizes[i] : (uint16_t)cvmf_tcg_alg_size(algs[i]));
	}
	lb_u8(b, 0);
}

static void digest_of(uint16_t alg, const void *data, size_t n, uint8_t *out)
{
	const EVP_MD *md = alg == CVMF_TCG_SHA1 ? EVP_sha1() : alg == CVMF_TCG_SHA256 ? EVP_sha256()
			 : alg == CVMF_TCG_SHA384 ? EVP_sha384() : EVP_sha512();
	assert_true(EVP_Digest(data, n, out, NULL, md, NULL));
}

/* A record whose digests are the hashes of its data, in the given banks. */
static void lb_event(struct lb *b, uint32_t index, uint32_t type, const uint16_t *algs,
		     unsigned n, const void *data, size_t len)
{
	lb_u32(b, index);
	lb_u32(b, type);
	lb_u32(b, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t d[64];
		digest_of(algs[i], data, len, d);
		lb_u16(b, algs[i]);
		lb_bytes(b, d, cvmf_tcg_alg_size(algs[i]));
	}
	lb_u32(b, (uint32_t)len);
	lb_bytes(b, data, len);
}

static const uint16_t SHA384_ONLY[] = { CVMF_TCG_SHA384 };
static const uint16_t TWO_BANKS[] = { CVMF_TCG_SHA256, CVMF_TCG_SHA384 };

static struct cvmf_eventlog *parse_ok(const uint8_t *buf, size_t len, enum cvmf_evlog_kind kind)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_eventlog *log = NULL;
	int r = cvmf_eventlog_parse(ctx, buf, len, kind, &log);
	if (r)
		fprintf(stderr, "unexpected parse error: %s\n", cvmf_ctx_errmsg(ctx));
	assert_int_equal(r, 0);
	assert_non_null(log);
	cvmf_ctx_free(ctx);
	return log;
}

static void parse_fails(const uint8_t *buf, size_t len, int want, const char *needle)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_eventlog *log = NULL;
	int r = cvmf_eventlog_parse(ctx, buf, len, CVMF_EVLOG_AUTO, &log);
	if (r != want || !strstr(cvmf_ctx_errmsg(ctx), needle))
		fprintf(stderr, "r=%d msg='%s', wanted %d '%s'\n", r, cvmf_ctx_errmsg(ctx), want,
			needle);
	assert_int_equal(r, want);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), needle));
	assert_null(log);
	cvmf_ctx_free(ctx);
}

/* ---- an independent replay, straight from the bytes ---- */

/* Replays a well-formed log of `n` banks (sizes from the alg IDs) into
 * regs[bank][register]; CCEL indices are shifted by one. Stops at the end
 * or at 8 bytes of 0xFF. */
static void plain_replay(const uint8_t *b, size_t len, bool ccel, unsigned n,
			 uint8_t regs[][24][64])
{
	memset(regs, 0, n * sizeof(regs[0]));
	size_t p = 32 + t_get64((const uint8_t[8]){ b[28], b[29], b[30], b[31] });
	while (p + 8 <= len) {
		const uint8_t ff[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		if (!memcmp(b + p, ff, 8))
			break;
		uint32_t index = (uint32_t)t_get64((const uint8_t[8]){ b[p], b[p + 1], b[p + 2], b[p + 3] });
		uint32_t type = (uint32_t)t_get64((const uint8_t[8]){ b[p + 4], b[p + 5], b[p + 6], b[p + 7] });
		size_t q = p + 12;
		for (unsigned i = 0; i < n; i++) {
			uint16_t alg = (uint16_t)(b[q] | b[q + 1] << 8);
			size_t dl = cvmf_tcg_alg_size(alg);
			if (type != 3) {
				uint8_t *r = regs[i][ccel ? index - 1 : index], cat[128];
				memcpy(cat, r, dl);
				memcpy(cat + dl, b + q + 2, dl);
				digest_of(alg, cat, 2 * dl, r);
			}
			q += 2 + dl;
		}
		size_t size = (size_t)t_get64((const uint8_t[8]){ b[q], b[q + 1], b[q + 2], b[q + 3] });
		p = q + 4 + size;
	}
}

/* ---- the dstack CCEL ---- */

static uint8_t *dstack(size_t *len)
{
	char *path = t_shared_file(DSTACK);
	if (!path)
		return NULL;
	uint8_t *b = (uint8_t *)t_slurp(path, len);
	free(path);
	return b;
}

static void test_dstack_parse(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = dstack(&len);
	if (!buf)
		skip();
	assert_int_equal(len, 65536);
	struct cvmf_eventlog *log = parse_ok(buf, len, CVMF_EVLOG_AUTO);
	assert_int_equal(log->kind, CVMF_EVLOG_CCEL);
	assert_int_equal(log->n_events, 18);
	assert_true(log->fill_end);
	assert_false(log->truncated);
	assert_int_equal(log->end, DSTACK_END);
	assert_int_equal(log->spec_index, 1);
	assert_int_equal(log->spec_errata, 0);
	assert_int_equal(log->spec_uintn_size, 2);
	assert_int_equal(log->n_algs, 1);
	assert_int_equal(log->algs[0].alg, CVMF_TCG_SHA384);
	assert_int_equal(log->algs[0].len, 48);
	/* tdx.md §4.2's order, without the RTMR2 (MR 3) events. */
	static const uint32_t want[18][2] = {
		{ 1, CVMF_EV_EFI_HANDOFF_TABLES2 }, { 1, CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2 },
		{ 1, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG }, { 1, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG },
		{ 1, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG }, { 1, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG },
		{ 1, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG }, { 1, CVMF_EV_SEPARATOR },
		{ 1, CVMF_EV_PLATFORM_CONFIG_FLAGS }, { 1, CVMF_EV_PLATFORM_CONFIG_FLAGS },
		{ 1, CVMF_EV_PLATFORM_CONFIG_FLAGS }, { 2, CVMF_EV_EFI_BOOT_SERVICES_APPLICATION },
		{ 1, CVMF_EV_EFI_VARIABLE_BOOT }, { 1, CVMF_EV_EFI_VARIABLE_BOOT },
		{ 2, CVMF_EV_EFI_ACTION }, { 2, CVMF_EV_SEPARATOR },
		{ 2, CVMF_EV_EFI_ACTION }, { 2, CVMF_EV_EFI_ACTION },
	};
	for (size_t i = 0; i < 18; i++) {
		assert_int_equal(log->events[i].index, want[i][0]);
		assert_int_equal(log->events[i].type, want[i][1]);
		assert_int_equal(log->events[i].n_digests, 1);
		assert_int_equal(log->events[i].digests[0].alg, CVMF_TCG_SHA384);
		assert_null(log->events[i].what);
	}
	assert_int_equal(log->events[0].offset, 65);
	assert_int_equal(log->events[0].data_len, 42);
	assert_memory_equal(log->events[0].data, "\x09TdxTable", 10);
	/* The CFV and separator digests are the constants of tdx.md §4.2. */
	char hex[97];
	cvmf_hex(log->events[1].digests[0].bytes, 48, hex);
	assert_string_equal(hex, "344bc51c980ba621aaa00da3ed7436f7d6e549197dfe699515dfa2c6583d95e6412af21c097d473155875ffd561d6790");
	cvmf_hex(log->events[15].digests[0].bytes, 48, hex);
	assert_string_equal(hex, "394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0");
	assert_memory_equal(log->events[17].data, "Exit Boot Services Returned with Success", 40);
	assert_int_equal(log->events[17].offset + 12 + 50 + 4 + 40, DSTACK_END);
	/* An explicit kind is honoured. */
	struct cvmf_eventlog *tpm = parse_ok(buf, len, CVMF_EVLOG_TPM);
	assert_int_equal(tpm->kind, CVMF_EVLOG_TPM);
	assert_int_equal(tpm->n_events, 18);
	cvmf_eventlog_free(tpm);
	cvmf_eventlog_free(log);
	free(buf);
}

static void test_dstack_roundtrip(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = dstack(&len);
	if (!buf)
		skip();
	struct cvmf_eventlog *log = parse_ok(buf, len, CVMF_EVLOG_AUTO);
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t *out = NULL;
	size_t n = 0;
	assert_int_equal(cvmf_eventlog_write(ctx, log, &out, &n), 0);
	assert_int_equal(n, DSTACK_END);
	assert_memory_equal(out, buf, DSTACK_END);
	free(out);

	/* A new CCEL log writes the same 65-byte header. */
	struct cvmf_eventlog *fresh = NULL;
	uint16_t alg = CVMF_TCG_SHA384;
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_CCEL, &alg, 1, &fresh), 0);
	assert_int_equal(cvmf_eventlog_write(ctx, fresh, &out, &n), 0);
	assert_int_equal(n, 65);
	assert_memory_equal(out, buf, 65);
	free(out);

	/* Rebuilt event by event through add, it is the same log. */
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		const uint8_t *d[] = { e->digests[0].bytes };
		assert_int_equal(cvmf_eventlog_add(ctx, fresh, e->index, e->type, d, e->data,
						   e->data_len, false, NULL), 0);
	}
	assert_int_equal(cvmf_eventlog_write(ctx, fresh, &out, &n), 0);
	assert_int_equal(n, DSTACK_END);
	assert_memory_equal(out, buf, DSTACK_END);
	free(out);
	cvmf_eventlog_free(fresh);
	cvmf_eventlog_free(log);
	cvmf_ctx_free(ctx);
	free(buf);
}

/* The dstack RTMRs from the plain replay, as hex (shared with the CLI test). */
static void dstack_rtmrs(const uint8_t *buf, size_t len, char hex[4][97])
{
	uint8_t regs[1][24][64];
	plain_replay(buf, len, true, 1, regs);
	for (int i = 0; i < 4; i++)
		cvmf_hex(regs[0][i], 48, hex[i]);
}

static void test_dstack_replay(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = dstack(&len);
	if (!buf)
		skip();
	struct cvmf_eventlog *log = parse_ok(buf, len, CVMF_EVLOG_AUTO);
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t regs[4][64];
	assert_int_equal(cvmf_eventlog_replay(ctx, log, CVMF_TCG_SHA384, regs, 4), 0);
	char want[4][97], got[97];
	dstack_rtmrs(buf, len, want);
	for (int i = 0; i < 4; i++) {
		cvmf_hex(regs[i], 48, got);
		assert_string_equal(got, want[i]);
	}
	/* No RTMR2 or RTMR3 events: those stay zero. */
	static const uint8_t zero[48];
	assert_memory_equal(regs[2], zero, 48);
	assert_memory_equal(regs[3], zero, 48);
	/* The log has no SHA-256 bank. */
	assert_int_equal(cvmf_eventlog_replay(ctx, log, CVMF_TCG_SHA256, regs, 4), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "no sha256 bank"));
	/* Too few registers: the event is named. */
	assert_int_equal(cvmf_eventlog_replay(ctx, log, CVMF_TCG_SHA384, regs, 1), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "record 12 at offset 1122 has MR index 2"));
	cvmf_eventlog_free(log);
	cvmf_ctx_free(ctx);
	free(buf);
}

/* ---- synthetic logs ---- */

static void test_tpm_two_banks(void **state)
{
	(void)state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_eventlog *log = NULL;
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_AUTO, TWO_BANKS, 2, &log), CVMF_E_INVAL);
	const uint16_t bad[] = { CVMF_TCG_SHA256, CVMF_TCG_SHA256 };
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_TPM, bad, 2, &log), CVMF_E_INVAL);
	const uint16_t unknown[] = { 0x0012 };
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_TPM, unknown, 1, &log), CVMF_E_INVAL);
	assert_int_equal(cvmf_eventlog_new(ctx, CVMF_EVLOG_TPM, TWO_BANKS, 2, &log), 0);

	static const struct { uint32_t pcr, type; const char *data; size_t len; } evs[] = {
		{ 0, CVMF_EV_S_CRTM_VERSION, "\0", 2 },
		{ 7, CVMF_EV_SEPARATOR, "\0\0\0", 4 },
		{ 4, CVMF_EV_EFI_ACTION, "Calling EFI Application from Boot Option", 40 },
		{ 0, CVMF_EV_NO_ACTION, "StartupLocality\0\3", 17 },
		{ 4, CVMF_EV_SEPARATOR, "\0\0\0", 4 },
		{ 9, CVMF_EV_EVENT_TAG, "tagged", 6 },
	};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		size_t n = evs[i].len;
		uint8_t d256[32], d384[48];
		digest_of(CVMF_TCG_SHA256, evs[i].data, n, d256);
		digest_of(CVMF_TCG_SHA384, evs[i].data, n, d384);
		const uint8_t *d[] = { d256, d384 };
		assert_int_equal(cvmf_eventlog_add(ctx, log, evs[i].pcr, evs[i].type, d, evs[i].data,
						   n, i == 2, "what"), 0);
	}
	assert_int_equal(log->n_events, 6);
	assert_true(log->events[2].data_runtime);
	assert_string_equal(log->events[0].what, "what");
	/* The fill cannot be added. */
	const uint8_t z[48] = { 0 };
	const uint8_t *zd[] = { z, z };
	assert_int_equal(cvmf_eventlog_add(ctx, log, 0xffffffff, 0xffffffff, zd, NULL, 0, false, NULL),
			 CVMF_E_INVAL);

	uint8_t *out = NULL;
	size_t n = 0;
	assert_int_equal(cvmf_eventlog_write(ctx, log, &out, &n), 0);
	/* TPM header: index 0, event size 37, errata 2, two banks. */
	assert_int_equal(t_get64((const uint8_t[8]){ out[0], out[1], out[2], out[3] }), 0);
	assert_int_equal(out[28], 37);
	assert_int_equal(out[32 + 22], 2);
	assert_int_equal(out[32 + 23], 2);
	assert_int_equal(out[32 + 24], 2);
	assert_int_equal(out[32 + 28], 0x0b);
	assert_int_equal(out[32 + 30], 32);
	assert_int_equal(out[32 + 32], 0x0c);
	assert_int_equal(out[32 + 34], 48);
	assert_int_equal(out[32 + 36], 0);

	struct cvmf_eventlog *back = parse_ok(out, n, CVMF_EVLOG_AUTO);
	assert_int_equal(back->kind, CVMF_EVLOG_TPM);
	assert_int_equal(back->n_events, 6);
	assert_int_equal(back->end, n);
	assert_false(back->fill_end || back->truncated);
	for (size_t i = 0; i < 6; i++) {
		const struct cvmf_event *a = &log->events[i], *b = &back->events[i];
		assert_int_equal(a->index, b->index);
		assert_int_equal(a->type, b->type);
		assert_int_equal(b->n_digests, 2);
		assert_memory_equal(a->digests, b->digests, sizeof(a->digests));
		assert_int_equal(a->data_len, b->data_len);
		assert_memory_equal(a->data, b->data, a->data_len);
	}
	uint8_t *again = NULL;
	size_t n2 = 0;
	assert_int_equal(cvmf_eventlog_write(ctx, back, &again, &n2), 0);
	assert_int_equal(n2, n);
	assert_memory_equal(again, out, n);

	/* Replay each bank; compare with the plain replay. */
	uint8_t want[2][24][64], regs[24][64];
	plain_replay(out, n, false, 2, want);
	for (unsigned b = 0; b < 2; b++) {
		assert_int_equal(cvmf_eventlog_replay(ctx, back, TWO_BANKS[b], regs, 24), 0);
		for (int pcr = 0; pcr < 24; pcr++)
			assert_memory_equal(regs[pcr], want[b][pcr], 64);
	}
	/* PCR 7: one separator, by hand. */
	uint8_t cat[64] = { 0 }, sep[32], pcr7[32];
	digest_of(CVMF_TCG_SHA256, "\0\0\0", 4, sep);
	memcpy(cat + 32, sep, 32);
	digest_of(CVMF_TCG_SHA256, cat, 64, pcr7);
	assert_int_equal(cvmf_eventlog_replay(ctx, back, CVMF_TCG_SHA256, regs, 24), 0);
	assert_memory_equal(regs[7], pcr7, 32);
	/* A PCR beyond the registers asked for. */
	assert_int_equal(cvmf_eventlog_replay(ctx, back, CVMF_TCG_SHA256, regs, 8), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "extends PCR 9"));
	free(again);
	free(out);
	cvmf_eventlog_free(back);
	cvmf_eventlog_free(log);
	cvmf_ctx_free(ctx);
}

static void test_no_action_skipped(void **state)
{
	(void)state;
	struct lb with = { .len = 0 }, without = { .len = 0 };
	lb_spec_id(&with, 1, 0, SHA384_ONLY, NULL, 1);
	lb_spec_id(&without, 1, 0, SHA384_ONLY, NULL, 1);
	lb_event(&with, 0xffffffff, CVMF_EV_NO_ACTION, SHA384_ONLY, 1, "SP800-155 Event3", 17);
	lb_event(&with, 1, CVMF_EV_EFI_ACTION, SHA384_ONLY, 1, "one", 3);
	lb_event(&without, 1, CVMF_EV_EFI_ACTION, SHA384_ONLY, 1, "one", 3);
	lb_event(&with, 1, CVMF_EV_NO_ACTION, SHA384_ONLY, 1, "StartupLocality\0\3", 17);
	lb_event(&with, 0, CVMF_EV_NO_ACTION, SHA384_ONLY, 1, "", 0);
	lb_event(&with, 0xffffffff, CVMF_EV_NO_ACTION, SHA384_ONLY, 1, "again", 5);
	lb_event(&with, 2, CVMF_EV_SEPARATOR, SHA384_ONLY, 1, "\0\0\0\0", 4);
	lb_event(&without, 2, CVMF_EV_SEPARATOR, SHA384_ONLY, 1, "\0\0\0\0", 4);
	struct cvmf_eventlog *a = parse_ok(with.buf, with.len, CVMF_EVLOG_AUTO);
	struct cvmf_eventlog *b = parse_ok(without.buf, without.len, CVMF_EVLOG_AUTO);
	/* Index 0xffffffff with a real type is a record, not the fill. */
	assert_int_equal(a->n_events, 6);
	assert_false(a->fill_end);
	assert_int_equal(a->end, with.len);
	assert_int_equal(a->events[0].index, 0xffffffff);
	assert_int_equal(a->events[4].type, CVMF_EV_NO_ACTION);
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t ra[4][64], rb[4][64];
	assert_int_equal(cvmf_eventlog_replay(ctx, a, CVMF_TCG_SHA384, ra, 4), 0);
	assert_int_equal(cvmf_eventlog_replay(ctx, b, CVMF_TCG_SHA384, rb, 4), 0);
	assert_memory_equal(ra, rb, sizeof(ra));
	/* And they do not count in a diff. */
	struct cvmf_evdiff d;
	assert_int_equal(cvmf_eventlog_diff(ctx, a, b, &d), 0);
	assert_int_equal(d.what, CVMF_EVDIFF_SAME);
	assert_null(d.hint);
	assert_int_equal(cvmf_eventlog_diff(ctx, b, a, &d), 0);
	assert_int_equal(d.what, CVMF_EVDIFF_SAME);
	cvmf_eventlog_free(a);
	cvmf_eventlog_free(b);
	cvmf_ctx_free(ctx);
}

/* Header + three records (record ends in rec_end[]) + 16 bytes of fill. */
static void small_log(struct lb *b, size_t rec_end[4])
{
	b->len = 0;
	lb_spec_id(b, 0, 2, TWO_BANKS, NULL, 2);
	rec_end[0] = b->len;
	lb_event(b, 0, CVMF_EV_S_CRTM_VERSION, TWO_BANKS, 2, "\0\0", 2);
	rec_end[1] = b->len;
	lb_event(b, 4, CVMF_EV_EFI_ACTION, TWO_BANKS, 2, "Calling EFI Application", 23);
	rec_end[2] = b->len;
	lb_event(b, 7, CVMF_EV_SEPARATOR, TWO_BANKS, 2, "", 0);
	rec_end[3] = b->len;
	for (int i = 0; i < 16; i++)
		lb_u8(b, 0xff);
}

static void test_truncation_every_length(void **state)
{
	(void)state;
	struct lb b;
	size_t rec_end[4];
	small_log(&b, rec_end);
	struct cvmf_eventlog *full = parse_ok(b.buf, b.len, CVMF_EVLOG_AUTO);
	assert_int_equal(full->n_events, 3);
	assert_true(full->fill_end);
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (size_t len = 0; len <= b.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
		memcpy(copy, b.buf, len);
		struct cvmf_eventlog *log = NULL;
		int r = cvmf_eventlog_parse(ctx, copy, len, CVMF_EVLOG_AUTO, &log);
		if (len < rec_end[0]) {
			assert_int_equal(r, CVMF_E_FORMAT);
			assert_null(log);
			free(copy);
			continue;
		}
		assert_int_equal(r, 0);
		size_t kept = 0;
		while (kept < 3 && rec_end[kept + 1] <= len)
			kept++;
		assert_int_equal(log->n_events, kept);
		assert_int_equal(log->end, rec_end[kept]);
		assert_int_equal(log->truncated, len < rec_end[3] && len != rec_end[kept]);
		assert_int_equal(log->fill_end, len > rec_end[3]);
		for (size_t i = 0; i < kept; i++) {
			assert_int_equal(log->events[i].type, full->events[i].type);
			assert_memory_equal(log->events[i].digests, full->events[i].digests,
					    sizeof(full->events[i].digests));
		}
		cvmf_eventlog_free(log);
		free(copy);
	}
	cvmf_eventlog_free(full);
	cvmf_ctx_free(ctx);
}

static void test_fill(void **state)
{
	(void)state;
	struct lb b;
	size_t rec_end[4];
	small_log(&b, rec_end);
	/* Anything after the fill marker is not read. */
	const size_t at = rec_end[3] + 8;
	memset(b.buf + at, 0x5a, 8);
	struct cvmf_eventlog *log = parse_ok(b.buf, b.len, CVMF_EVLOG_TPM);
	assert_int_equal(log->kind, CVMF_EVLOG_TPM);
	assert_int_equal(log->n_events, 3);
	assert_true(log->fill_end);
	assert_false(log->truncated);
	assert_int_equal(log->end, rec_end[3]);
	cvmf_eventlog_free(log);
	/* Index 0xffffffff and type 0xffffffff but more FF-free bytes: still the end. */
	b.buf[rec_end[3] + 8] = 0;
	log = parse_ok(b.buf, b.len, CVMF_EVLOG_AUTO);
	assert_true(log->fill_end);
	assert_int_equal(log->n_events, 3);
	cvmf_eventlog_free(log);
	/* A few trailing bytes that are not 0xFF: a cut-off record. */
	b.len = rec_end[3] + 5;
	memset(b.buf + rec_end[3], 0x01, 5);
	log = parse_ok(b.buf, b.len, CVMF_EVLOG_AUTO);
	assert_true(log->truncated);
	assert_false(log->fill_end);
	cvmf_eventlog_free(log);
}

static void test_errors(void **state)
{
	(void)state;
	struct lb b;
	size_t rec_end[4];

	small_log(&b, rec_end);
	b.buf[32] = 'X';
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "bad Spec ID signature \"Xpec ID Event03\" at offset 32");
	b.buf[32] = 'S';
	b.buf[32 + 14] = '0';
	parse_fails(b.buf, b.len, CVMF_E_UNSUPPORTED, "TPM 1.2");

	/* Too many algorithms, with consistent sizes. */
	const uint16_t five[] = { 0x4, 0xb, 0xc, 0xd, 0x12 };
	const uint16_t five_sizes[] = { 0, 0, 0, 0, 32 };
	b.len = 0;
	lb_spec_id(&b, 0, 2, five, five_sizes, 5);
	parse_fails(b.buf, b.len, CVMF_E_UNSUPPORTED, "declares 5 digest algorithms (offset 56); at most 4");
	b.len = 0;
	lb_spec_id(&b, 0, 2, five, NULL, 0);
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "declares no digest algorithm");

	/* A known algorithm with another size. */
	const uint16_t wrong[] = { 48 };
	b.len = 0;
	lb_spec_id(&b, 0, 2, TWO_BANKS, wrong, 1);
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "sha256, offset 60) has digest size 48, not 32");
	/* An unknown one is taken at the header's word. */
	const uint16_t sm3[] = { 0x0012 };
	const uint16_t sm3_size[] = { 32 };
	b.len = 0;
	lb_spec_id(&b, 0, 2, sm3, sm3_size, 1);
	struct cvmf_eventlog *log = parse_ok(b.buf, b.len, CVMF_EVLOG_AUTO);
	assert_int_equal(log->algs[0].len, 32);
	cvmf_eventlog_free(log);

	/* A record with a digest the header does not declare. */
	small_log(&b, rec_end);
	b.buf[rec_end[1] + 12] = 0x0d;   /* record 2's first digest: sha512 */
	parse_fails(b.buf, b.len, CVMF_E_FORMAT,
		    "record 2 at offset 171: digest 0 (offset 183) has algorithm sha512, which the Spec ID record does not declare");
	small_log(&b, rec_end);
	b.buf[rec_end[1] + 8] = 1;   /* digest count */
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "record 2 at offset 171 has 1 digests");
	small_log(&b, rec_end);
	b.buf[rec_end[1] + 12 + 34] = 0x0b;   /* second digest: sha256 again */
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "has two sha256 digests");

	/* The Spec ID event size beyond the buffer is an error... */
	small_log(&b, rec_end);
	parse_fails(b.buf, 60, CVMF_E_FORMAT, "Spec ID event size 37 at offset 28 goes past the end of the 60-byte buffer");
	t_le32(b.buf + 28, 0x7fffffff);
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "goes past the end");
	small_log(&b, rec_end);
	t_le32(b.buf + 28, 38);
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "disagrees with its contents");
	small_log(&b, rec_end);
	b.buf[4] = 4;
	parse_fails(b.buf, b.len, CVMF_E_FORMAT, "not EV_NO_ACTION");
	parse_fails(b.buf, 10, CVMF_E_FORMAT, "cannot hold");

	/* ...a record's event size beyond it is a cut-off log, the events before kept. */
	small_log(&b, rec_end);
	t_le32(b.buf + rec_end[2] - 4 - 23, 0xfffffff0);
	log = parse_ok(b.buf, b.len, CVMF_EVLOG_AUTO);
	assert_true(log->truncated);
	assert_int_equal(log->n_events, 1);
	assert_int_equal(log->end, rec_end[1]);
	cvmf_eventlog_free(log);

	/* More records than the parser takes: refused, not hundreds of MiB. */
	const size_t many = (1u << 18) + 1, rec = 19;
	struct lb h = { .len = 0 };
	const uint16_t tiny[] = { 0x0012 }, tiny_size[] = { 1 };
	lb_spec_id(&h, 0, 2, tiny, tiny_size, 1);
	uint8_t *big = calloc(1, h.len + many * rec);
	assert_non_null(big);
	memcpy(big, h.buf, h.len);
	for (size_t i = 0; i < many; i++) {
		uint8_t *r = big + h.len + i * rec;
		t_le32(r + 4, CVMF_EV_SEPARATOR);
		t_le32(r + 8, 1);
		t_le16(r + 12, 0x0012);
	}
	parse_fails(big, h.len + many * rec, CVMF_E_UNSUPPORTED, "record 262145 at offset");
	log = parse_ok(big, h.len + (many - 1) * rec, CVMF_EVLOG_AUTO);
	assert_int_equal(log->n_events, many - 1);
	cvmf_eventlog_free(log);
	free(big);

	/* Names and parsing of types and algorithms. */
	uint32_t t;
	assert_string_equal(cvmf_ev_type_name(CVMF_EV_EFI_HANDOFF_TABLES2), "EV_EFI_HANDOFF_TABLES2");
	assert_null(cvmf_ev_type_name(0x7777));
	assert_int_equal(cvmf_ev_type_parse("EV_SEPARATOR", &t), 0);
	assert_int_equal(t, 4);
	assert_int_equal(cvmf_ev_type_parse("efi_action", &t), 0);
	assert_int_equal(t, 0x80000007);
	assert_int_equal(cvmf_ev_type_parse("0x8000000B", &t), 0);
	assert_int_equal(t, 0x8000000B);
	assert_int_equal(cvmf_ev_type_parse("13", &t), 0);
	assert_int_equal(t, 13);
	assert_int_equal(cvmf_ev_type_parse("0x100000000", &t), CVMF_E_INVAL);
	assert_int_equal(cvmf_ev_type_parse("EV_NOPE", &t), CVMF_E_INVAL);
	assert_int_equal(cvmf_ev_type_parse("", &t), CVMF_E_INVAL);
	assert_int_equal(cvmf_ev_type_parse("12x", &t), CVMF_E_INVAL);
	assert_string_equal(cvmf_tcg_alg_name(CVMF_TCG_SHA512), "sha512");
	assert_int_equal(cvmf_tcg_alg_size(CVMF_TCG_SHA1), 20);
	assert_int_equal(cvmf_tcg_alg_size(0x0012), 0);
	assert_null(cvmf_tcg_alg_name(0x0012));
}

/* ---- diff ---- */

enum variant {
	V_BASE = 0,
	V_HOB = 1 << 0,        /* another TD HOB digest */
	V_OLD_LAYOUT = 1 << 1, /* separator in RTMR0 after the boot variables */
	V_NO_STUB = 1 << 2,    /* no RTMR2 events */
	V_EXTRA = 1 << 3,      /* one more action at the end of RTMR1 */
	V_FWCFG = 1 << 4,      /* four fw_cfg events after the ACPI ones */
	V_CMDLINE = 1 << 5,    /* another command line */
	V_TPM = 1 << 6,        /* a TPM log with the same events */
	V_SHA256 = 1 << 7,     /* a CCEL with a sha256 bank only */
};

static void add(struct cvmf_eventlog *log, uint32_t mr, uint32_t type, const char *data,
		size_t len, const char *preimage)
{
	uint8_t d[64];
	const uint16_t alg = log->algs[0].alg;
	if (!preimage)
		preimage = data;
	digest_of(alg, preimage, strlen(preimage), d);
	const uint8_t *dd[] = { d };
	assert_int_equal(cvmf_eventlog_add(NULL, log, mr, type, dd, data, len, false, NULL), 0);
}

/* A CCEL shaped like tdx.md §4.2's direct boot. */
static struct cvmf_eventlog *direct_boot(unsigned v)
{
	struct cvmf_eventlog *log = NULL;
	uint16_t alg = v & V_SHA256 ? CVMF_TCG_SHA256 : CVMF_TCG_SHA384;
	assert_int_equal(cvmf_eventlog_new(NULL, v & V_TPM ? CVMF_EVLOG_TPM : CVMF_EVLOG_CCEL,
					   &alg, 1, &log), 0);
	const uint8_t tag_cmd[] = { 0xed, 0x22, 0x3b, 0x8f, 26, 0, 0, 0 };
	const uint8_t tag_initrd[] = { 0xec, 0x22, 0x3b, 0x8f, 13, 0, 0, 0 };
	add(log, 1, CVMF_EV_EFI_HANDOFF_TABLES2, "\x09TdxTable", 10, v & V_HOB ? "hob 2G" : "hob 1G");
	add(log, 1, CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2, "\x29" "Fv(XXX)", 9, "cfv");
	static const char *const vars[] = { "SecureBoot", "PK", "KEK", "db", "dbx" };
	for (int i = 0; i < 5; i++)
		add(log, 1, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG, vars[i], strlen(vars[i]), NULL);
	add(log, 1, CVMF_EV_SEPARATOR, "\0\0\0\0", 4, "sep");
	for (int i = 0; i < 3; i++)
		add(log, 1, CVMF_EV_PLATFORM_CONFIG_FLAGS, "ACPI DATA", 9, i == 0 ? "loader" : i == 1 ? "rsdp" : "tables");
	if (v & V_FWCFG)
		for (int i = 0; i < 4; i++)
			add(log, 1, CVMF_EV_PLATFORM_CONFIG_FLAGS, "QEMU FW CFG\0etc/x", 17, "fwcfg");
	add(log, 2, CVMF_EV_EFI_BOOT_SERVICES_APPLICATION, "image", 5, "kernel");
	add(log, 1, CVMF_EV_EFI_VARIABLE_BOOT, "BootOrder", 9, "\0");
	add(log, 1, CVMF_EV_EFI_VARIABLE_BOOT, "Boot0000", 8, "uiapp");
	if (v & V_OLD_LAYOUT)
		add(log, 1, CVMF_EV_SEPARATOR, "\0\0\0\0", 4, "sep");
	add(log, 2, CVMF_EV_EFI_ACTION, "Calling EFI Application from Boot Option", 40, NULL);
	if (!(v & V_OLD_LAYOUT))
		add(log, 2, CVMF_EV_SEPARATOR, "\0\0\0\0", 4, "sep");
	if (!(v & V_NO_STUB)) {
		add(log, 3, CVMF_EV_EVENT_TAG, (const char *)tag_cmd, 8,
		    v & V_CMDLINE ? "console=ttyS0" : "console=hvc0");
		add(log, 3, CVMF_EV_EVENT_TAG, (const char *)tag_initrd, 8, "initrd");
	}
	add(log, 2, CVMF_EV_EFI_ACTION, "Exit Boot Services Invocation", 29, NULL);
	add(log, 2, CVMF_EV_EFI_ACTION, "Exit Boot Services Returned with Success", 40, NULL);
	if (v & V_EXTRA)
		add(log, 2, CVMF_EV_EFI_ACTION, "one more", 8, NULL);
	return log;
}

static struct cvmf_evdiff diff(unsigned ve, unsigned va)
{
	struct cvmf_eventlog *e = direct_boot(ve), *a = direct_boot(va);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_evdiff d;
	assert_int_equal(cvmf_eventlog_diff(ctx, e, a, &d), 0);
	/* The event pointers are only valid with the logs: keep what we check. */
	static struct cvmf_event ee, ea;
	if (d.expected) {
		ee = *d.expected;
		ee.data = NULL;
		d.expected = &ee;
	}
	if (d.actual) {
		ea = *d.actual;
		ea.data = NULL;
		d.actual = &ea;
	}
	cvmf_eventlog_free(e);
	cvmf_eventlog_free(a);
	cvmf_ctx_free(ctx);
	return d;
}

static void assert_hint(const struct cvmf_evdiff *d, const char *needle)
{
	if (!d->hint || !strstr(d->hint, needle))
		fail_msg("hint '%s' lacks '%s'", d->hint ? d->hint : "(null)", needle);
}

static void test_diff_same(void **state)
{
	(void)state;
	struct cvmf_evdiff d = diff(V_BASE, V_BASE);
	assert_int_equal(d.what, CVMF_EVDIFF_SAME);
	assert_null(d.hint);
	assert_null(d.expected);
	assert_null(d.actual);
	assert_int_equal(d.alg, CVMF_TCG_SHA384);
	assert_int_equal(d.expected_number, SIZE_MAX);
}

static void test_diff_hob_digest(void **state)
{
	(void)state;
	struct cvmf_evdiff d = diff(V_BASE, V_HOB);
	assert_int_equal(d.what, CVMF_EVDIFF_DIGEST);
	assert_int_equal(d.index, 1);
	assert_int_equal(d.position, 0);
	assert_int_equal(d.expected_number, 0);
	assert_int_equal(d.actual_number, 0);
	assert_int_equal(d.expected->type, CVMF_EV_EFI_HANDOFF_TABLES2);
	assert_int_equal(d.actual->type, CVMF_EV_EFI_HANDOFF_TABLES2);
	assert_hint(&d, "TD HOB");
	assert_hint(&d, "memory");
	d = diff(V_BASE, V_CMDLINE);
	assert_int_equal(d.what, CVMF_EVDIFF_DIGEST);
	assert_int_equal(d.index, 3);
	assert_hint(&d, "--append");
}

static void test_diff_separator_moved(void **state)
{
	(void)state;
	/* Expected 2024.11 layout, actual older: RTMR1's third event differs. */
	struct cvmf_evdiff d = diff(V_BASE, V_OLD_LAYOUT);
	assert_int_equal(d.what, CVMF_EVDIFF_TYPE);
	assert_int_equal(d.index, 2);
	assert_int_equal(d.position, 2);
	assert_int_equal(d.expected->type, CVMF_EV_SEPARATOR);
	assert_int_equal(d.actual->type, CVMF_EV_EFI_ACTION);
	assert_int_equal(d.expected_number, 15);
	assert_int_equal(d.actual_number, 18);
	assert_hint(&d, "separator from RTMR0 to RTMR1");
	/* The other way round, RTMR0 lacks its last separator. */
	d = diff(V_OLD_LAYOUT, V_BASE);
	assert_int_equal(d.what, CVMF_EVDIFF_MISSING);
	assert_int_equal(d.index, 1);
	assert_int_equal(d.position, 13);
	assert_int_equal(d.expected->type, CVMF_EV_SEPARATOR);
	assert_null(d.actual);
	assert_int_equal(d.actual_number, SIZE_MAX);
	assert_hint(&d, "--ovmf-layout");
}

static void test_diff_missing_rtmr2(void **state)
{
	(void)state;
	struct cvmf_evdiff d = diff(V_BASE, V_NO_STUB);
	assert_int_equal(d.what, CVMF_EVDIFF_MISSING);
	assert_int_equal(d.index, 3);
	assert_int_equal(d.position, 0);
	assert_int_equal(d.expected->type, CVMF_EV_EVENT_TAG);
	assert_null(d.actual);
	assert_hint(&d, "--no-stub-cc");
	assert_hint(&d, "6.9");
	d = diff(V_NO_STUB, V_BASE);
	assert_int_equal(d.what, CVMF_EVDIFF_EXTRA);
	assert_int_equal(d.index, 3);
	assert_hint(&d, "drop --no-stub-cc");
}

static void test_diff_extra(void **state)
{
	(void)state;
	struct cvmf_evdiff d = diff(V_BASE, V_EXTRA);
	assert_int_equal(d.what, CVMF_EVDIFF_EXTRA);
	assert_int_equal(d.index, 2);
	assert_int_equal(d.position, 5);
	assert_null(d.expected);
	assert_int_equal(d.expected_number, SIZE_MAX);
	assert_int_equal(d.actual->type, CVMF_EV_EFI_ACTION);
	assert_int_equal(d.actual_number, 20);
	assert_hint(&d, "action");
	/* OVMF 202505's fw_cfg events: 17 RTMR0 events. */
	d = diff(V_BASE, V_FWCFG);
	assert_int_equal(d.what, CVMF_EVDIFF_TYPE);
	assert_int_equal(d.index, 1);
	assert_int_equal(d.position, 11);
	assert_hint(&d, "edk2-stable202505");
	assert_hint(&d, "not modelled");
}

static void test_diff_refused(void **state)
{
	(void)state;
	struct cvmf_eventlog *ccel = direct_boot(V_BASE), *tpm = direct_boot(V_TPM),
			     *s256 = direct_boot(V_SHA256);
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_evdiff d;
	assert_int_equal(cvmf_eventlog_diff(ctx, ccel, tpm, &d), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "cannot compare a CCEL log with a TPM log"));
	assert_int_equal(cvmf_eventlog_diff(ctx, ccel, s256, &d), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "share no digest bank (expected has sha384, actual has sha256)"));
	/* TPM logs diff the same way. */
	assert_int_equal(cvmf_eventlog_diff(ctx, tpm, tpm, &d), 0);
	assert_int_equal(d.what, CVMF_EVDIFF_SAME);
	cvmf_eventlog_free(ccel);
	cvmf_eventlog_free(tpm);
	cvmf_eventlog_free(s256);
	cvmf_ctx_free(ctx);
}

/* ---- the CLI ---- */

static void expect(struct run r, int code, const char *needle)
{
	t_assert_clean_exit(&r, code);
	const char *where = code == 0 || code == 3 ? r.out : r.err;
	if (needle && !strstr(where, needle))
		fail_msg("wanted '%s' in:\n%s", needle, where);
	t_run_free(&r);
}

static void test_cli_replay(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = dstack(&len);
	if (!buf)
		skip();
	char *path = t_shared_file(DSTACK);
	char want[4][97], lines[512];
	dstack_rtmrs(buf, len, want);
	snprintf(lines, sizeof(lines), "rtmr0 %s\nrtmr1 %s\nrtmr2 %s\nrtmr3 %s\n", want[0], want[1],
		 want[2], want[3]);
	struct run r = RUN("eventlog", "replay", path);
	t_assert_clean_exit(&r, 0);
	assert_string_equal(r.out, lines);
	assert_string_equal(r.err, "");
	t_run_free(&r);

	r = RUN("eventlog", "replay", path, "--json");
	t_assert_clean_exit(&r, 0);
	json_error_t err;
	json_t *j = json_loads(r.out, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "ccel");
	assert_int_equal(json_integer_value(json_object_get(j, "events")), 18);
	assert_true(json_is_false(json_object_get(j, "truncated")));
	json_t *regs = json_object_get(j, "registers");
	assert_int_equal(json_object_size(regs), 4);
	assert_string_equal(json_string_value(json_object_get(regs, "rtmr0")), want[0]);
	assert_string_equal(json_string_value(json_object_get(regs, "rtmr1")), want[1]);
	assert_string_equal(json_string_value(json_object_get(regs, "rtmr3")), want[3]);
	json_decref(j);
	t_run_free(&r);

	/* Read as a TPM log, the MR indices are PCRs 1 and 2. */
	r = RUN("eventlog", "replay", "--format", "tpm", path);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.out, "pcr1 sha384 "));
	assert_non_null(strstr(r.out, "pcr2 sha384 "));
	assert_null(strstr(r.out, "pcr0"));
	t_run_free(&r);

	/* show: 18 events; JSON lines parse. */
	expect(RUN("eventlog", "show", path), 0, "#18 offset 0x723 rtmr1 EV_EFI_ACTION \"Exit Boot Services Returned with Success\"");
	r = RUN("eventlog", "show", path, "--json");
	t_assert_clean_exit(&r, 0);
	size_t n = 0;
	char *save = NULL;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
		json_t *o = json_loads(l, 0, &err);
		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "number")), n + 1);
		assert_non_null(json_object_get(json_object_get(o, "digests"), "sha384"));
		json_decref(o);
	}
	assert_int_equal(n, 18);
	t_run_free(&r);

	/* A cut-off copy: replayed, with a warning naming the offset. */
	char *dir = t_tmpdir();
	char *cut = t_write(dir, "cut.bin", buf, 1000);
	r = RUN("eventlog", "replay", cut);
	t_assert_clean_exit(&r, 0);
	assert_non_null(strstr(r.err, "warning:"));
	assert_non_null(strstr(r.err, "byte offset 972"));
	t_run_free(&r);
	r = RUN("eventlog", "replay", cut, "--json");
	t_assert_clean_exit(&r, 0);
	j = json_loads(r.out, 0, &err);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	assert_int_equal(json_integer_value(json_object_get(j, "events")), 9);
	json_decref(j);
	t_run_free(&r);
	t_rmrf(dir);
	free(cut);
	free(dir);
	free(path);
	free(buf);
}

static void test_cli_tpm(void **state)
{
	(void)state;
	struct lb b;
	size_t rec_end[4];
	small_log(&b, rec_end);
	char *dir = t_tmpdir();
	char *path = t_write(dir, "tpm.bin", b.buf, b.len);
	uint8_t want[2][24][64];
	plain_replay(b.buf, b.len, false, 2, want);
	char hex[129], line[200];
	struct run r = RUN("eventlog", "replay", path);
	t_assert_clean_exit(&r, 0);
	/* PCRs 0, 4 and 7, each in both banks. */
	size_t lines = 0;
	for (char *c = r.out; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 6);
	cvmf_hex(want[0][4], 32, hex);
	snprintf(line, sizeof(line), "pcr4 sha256 %s\n", hex);
	assert_non_null(strstr(r.out, line));
	cvmf_hex(want[1][7], 48, hex);
	snprintf(line, sizeof(line), "pcr7 sha384 %s\n", hex);
	assert_non_null(strstr(r.out, line));
	t_run_free(&r);
	r = RUN("eventlog", "replay", path, "--json");
	t_assert_clean_exit(&r, 0);
	json_error_t err;
	json_t *j = json_loads(r.out, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "tpm");
	json_t *p7 = json_object_get(json_object_get(j, "registers"), "pcr7");
	assert_string_equal(json_string_value(json_object_get(p7, "sha384")), hex);
	assert_non_null(json_object_get(p7, "sha256"));
	assert_null(json_object_get(json_object_get(j, "registers"), "pcr1"));
	json_decref(j);
	t_run_free(&r);
	expect(RUN("eventlog", "show", path), 0, "#2 offset 0xab pcr4 EV_EFI_ACTION \"Calling EFI Application\"");
	t_rmrf(dir);
	free(path);
	free(dir);
}

static void test_cli_diff(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = dstack(&len);
	if (!buf)
		skip();
	char *path = t_shared_file(DSTACK);
	char *dir = t_tmpdir();
	buf[65 + 12 + 2] ^= 0x01;   /* the TD HOB digest's first byte */
	char *hob = t_write(dir, "hob.bin", buf, len);
	buf[65 + 12 + 2] ^= 0x01;
	/* Drop the RTMR1 separator (#16, offset 0x67e, 70 bytes). */
	uint8_t *nosep = malloc(len);
	memcpy(nosep, buf, 0x67e);
	memcpy(nosep + 0x67e, buf + 0x67e + 70, len - 0x67e - 70);
	memset(nosep + len - 70, 0xff, 70);
	char *moved = t_write(dir, "nosep.bin", nosep, len);

	expect(RUN("eventlog", "diff", path, path), 0, "logs agree: 18 events in 2 registers\n");
	struct run r = RUN("eventlog", "diff", path, hob);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "logs differ at rtmr0, event 1 of that register: the digests differ"));
	assert_non_null(strstr(r.out, "expected: event #1 (offset 0x41) EV_EFI_HANDOFF_TABLES2 sha384 2b630fa1"));
	assert_non_null(strstr(r.out, "actual:   event #1 (offset 0x41) EV_EFI_HANDOFF_TABLES2 sha384 2a630fa1"));
	assert_non_null(strstr(r.out, "hint: the TD HOB"));
	assert_non_null(strstr(r.out, "--memory"));
	t_run_free(&r);
	r = RUN("eventlog", "diff", path, moved);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "logs differ at rtmr1, event 3 of that register: the event types differ"));
	assert_non_null(strstr(r.out, "expected: event #16 (offset 0x67e) EV_SEPARATOR"));
	assert_non_null(strstr(r.out, "actual:   event #16 (offset 0x67e) EV_EFI_ACTION"));
	assert_non_null(strstr(r.out, "ReadyToBoot separator"));
	t_run_free(&r);
	r = RUN("eventlog", "diff", moved, path);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "the event types differ"));
	t_run_free(&r);

	/* Usage and input errors. */
	expect(RUN("eventlog"), 2, "cvmforge eventlog: error: the following arguments are required: SUBCOMMAND");
	expect(RUN("eventlog", "replay"), 2, "cvmforge eventlog replay: error: the following arguments are required: FILE");
	expect(RUN("eventlog", "show"), 2, "required: FILE");
	expect(RUN("eventlog", "diff"), 2, "required: EXPECTED, ACTUAL");
	expect(RUN("eventlog", "diff", path), 2, "required: ACTUAL");
	expect(RUN("eventlog", "diff", path, path, path), 2, "unrecognized arguments");
	expect(RUN("eventlog", "frob"), 2, "invalid choice: 'frob'");
	expect(RUN("eventlog", "replay", "--format", "xyz", path), 2, "invalid choice: 'xyz'");
	expect(RUN("eventlog", "diff", "--json", path, path), 2, "unrecognized arguments: --json");
	expect(RUN("eventlog", "replay", "/nonexistent/log"), 1, "cannot open event log '/nonexistent/log'");
	expect(RUN("eventlog", "diff", path, "/nonexistent/log"), 1, "cannot open event log");
	char *junk = t_write(dir, "junk.bin", "not a log at all, but long enough to read 32 bytes", 50);
	expect(RUN("eventlog", "replay", junk), 1, "Error: event log '");
	expect(RUN("eventlog", "--help"), 0, "replay FILE");
	expect(RUN("eventlog", "diff", "--help"), 0, "logs agree");
	expect(RUN("eventlog", "replay", "-h"), 0, "rtmr0..rtmr3");
	expect(RUN("eventlog", "show", "--help"), 0, "one JSON object per event");
	expect(RUN("help", "eventlog"), 0, "{replay,show,diff}");
	expect(RUN("--help"), 0, "eventlog replay|show|diff");
	t_rmrf(dir);
	free(junk);
	free(hob);
	free(moved);
	free(nosep);
	free(dir);
	free(path);
	free(buf);
}

static char *write_log(const char *dir, const char *name, struct cvmf_eventlog *log)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	assert_int_equal(cvmf_eventlog_write(NULL, log, &buf, &n), 0);
	char *path = t_write(dir, name, buf, n);
	free(buf);
	cvmf_eventlog_free(log);
	return path;
}

static void test_cli_diff_synthetic(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	char *base = write_log(dir, "base.bin", direct_boot(V_BASE));
	char *nostub = write_log(dir, "nostub.bin", direct_boot(V_NO_STUB));
	char *extra = write_log(dir, "extra.bin", direct_boot(V_EXTRA));
	char *tpm = write_log(dir, "tpm.bin", direct_boot(V_TPM));
	expect(RUN("eventlog", "diff", base, base), 0, "logs agree: 20 events in 3 registers\n");
	struct run r = RUN("eventlog", "diff", base, nostub);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "logs differ at rtmr2, event 1 of that register: the actual log lacks this event"));
	assert_non_null(strstr(r.out, "expected: event #17 (offset 0x"));
	assert_non_null(strstr(r.out, "actual:   none: rtmr2 has 0 events"));
	assert_non_null(strstr(r.out, "hint: a guest kernel whose EFI stub does not log"));
	t_run_free(&r);
	r = RUN("eventlog", "diff", base, extra);
	t_assert_clean_exit(&r, 3);
	assert_non_null(strstr(r.out, "logs differ at rtmr1, event 6 of that register"));
	assert_non_null(strstr(r.out, "expected: none: rtmr1 has 5 events"));
	assert_non_null(strstr(r.out, "actual:   event #21 (offset 0x"));
	t_run_free(&r);
	/* A TPM log and a CCEL do not compare; --format makes both one kind. */
	expect(RUN("eventlog", "diff", base, tpm), 1, "cannot compare a CCEL log with a TPM log");
	expect(RUN("eventlog", "diff", "--format", "ccel", base, tpm), 0, "logs agree: 20 events");
	expect(RUN("eventlog", "diff", "--format=tpm", tpm, nostub), 3, "pcr3");
	t_rmrf(dir);
	free(base);
	free(nostub);
	free(extra);
	free(tpm);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dstack_parse),
		cmocka_unit_test(test_dstack_roundtrip),
		cmocka_unit_test(test_dstack_replay),
		cmocka_unit_test(test_tpm_two_banks),
		cmocka_unit_test(test_no_action_skipped),
		cmocka_unit_test(test_truncation_every_length),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_diff_same),
		cmocka_unit_test(test_diff_hob_digest),
		cmocka_unit_test(test_diff_separator_moved),
		cmocka_unit_test(test_diff_missing_rtmr2),
		cmocka_unit_test(test_diff_extra),
		cmocka_unit_test(test_diff_refused),
		cmocka_unit_test(test_cli_replay),
		cmocka_unit_test(test_cli_tpm),
		cmocka_unit_test(test_cli_diff),
		cmocka_unit_test(test_cli_diff_synthetic),
	};
	return cmocka_run_group_tests_name("eventlog", tests, NULL, NULL);
}
