/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for cvmf_eventlog_parse(): TPM event logs and CCELs come
 * from the guest being verified, so they are hostile input. ASan/UBSan
 * catch out-of-bounds reads; the checks below catch a parse that succeeds
 * with a log its callers would trust and misuse.
 *
 * For every input that parses (AUTO kind):
 *   - every event lies inside the bytes consumed, in order, with the
 *     header's banks;
 *   - write() reproduces the input up to `end` byte for byte when the
 *     header is one write() emits (zero SHA-1 digest, platformClass 0,
 *     version 2.0, no vendor info), and in any case parses back to the same
 *     events, neither truncated nor filled;
 *   - every bank replays (or fails with a message, for an index out of
 *     range), and the reparsed log replays to the same registers;
 *   - diff() finds the log equal to its round trip, and the log without its
 *     last event (parsed from the bytes before it) lacking that event.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvmforge/cvmforge.h"

#define N_REGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                   \
	do {                                          \
		if (!(cond))                          \
			__builtin_trap();             \
	} while (0)

static void touch_str(const char *s)
{
	if (s)
		CHECK(strlen(s) < 4096);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_failed(cvmf_ctx *ctx, int r)
{
	CHECK(r < 0);
	touch_str(cvmf_ctx_errmsg(ctx));
	CHECK(cvmf_ctx_errmsg(ctx)[0] != '\0');
}

static void check_log(const struct cvmf_eventlog *log, size_t size)
{
	CHECK(log->kind == CVMF_EVLOG_TPM || log->kind == CVMF_EVLOG_CCEL);
	CHECK(log->kind == (log->spec_index == 1 ? CVMF_EVLOG_CCEL : CVMF_EVLOG_TPM));
	CHECK(log->n_algs >= 1 && log->n_algs <= CVMF_EVLOG_MAX_ALGS);
	CHECK(log->end <= size);
	CHECK(!(log->truncated && log->fill_end));
	if (!log->truncated && !log->fill_end)
		CHECK(log->end == size);
	for (unsigned i = 0; i < log->n_algs; i++) {
		CHECK(log->algs[i].len >= 1 && log->algs[i].len <= 64);
		const size_t known = cvmf_tcg_alg_size(log->algs[i].alg);
		CHECK(!known || known == log->algs[i].len);
		touch_str(cvmf_tcg_alg_name(log->algs[i].alg));
	}
	uint64_t prev_end = 0;
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		CHECK(e->offset >= prev_end);
		CHECK(e->n_digests == log->n_algs);
		size_t rec = 16 + e->data_len;
		for (unsigned j = 0; j < e->n_digests; j++) {
			bool declared = false;
			for (unsigned k = 0; k < log->n_algs; k++)
				if (log->algs[k].alg == e->digests[j].alg)
					declared = log->algs[k].len == e->digests[j].len;
			CHECK(declared);
			for (unsigned k = 0; k < j; k++)
				CHECK(e->digests[k].alg != e->digests[j].alg);
			rec += 2 + e->digests[j].len;
		}
		CHECK(e->offset + rec <= log->end);
		CHECK(!(e->index == 0xffffffffu && e->type == 0xffffffffu));
		CHECK(e->data_len == 0 || e->data);
		if (e->data_len) {
			volatile uint8_t x = e->data[0] ^ e->data[e->data_len - 1];
			(void)x;
		}
		touch_str(cvmf_ev_type_name(e->type));
		/* The summary decodes variable, image-load and device-path data
		 * from the record: within its buffer, always terminated. */
		char desc[256], tiny[9];
		cvmf_eventlog_describe(e, desc, sizeof(desc));
		CHECK(memchr(desc, 0, sizeof(desc)) != NULL);
		cvmf_eventlog_describe(e, tiny, sizeof(tiny));
		CHECK(memchr(tiny, 0, sizeof(tiny)) != NULL);
		CHECK(!strncmp(tiny, desc, strlen(tiny)));
		prev_end = e->offset + rec;
	}
	if (log->n_events)
		CHECK(prev_end == log->end);
}

static void same_events(const struct cvmf_eventlog *a, const struct cvmf_eventlog *b)
{
	CHECK(a->kind == b->kind && a->n_algs == b->n_algs && a->n_events == b->n_events);
	CHECK(!memcmp(a->algs, b->algs, sizeof(a->algs)));
	CHECK(a->spec_index == b->spec_index && a->spec_errata == b->spec_errata &&
	      a->spec_uintn_size == b->spec_uintn_size);
	for (size_t i = 0; i < a->n_events; i++) {
		const struct cvmf_event *x = &a->events[i], *y = &b->events[i];
		CHECK(x->index == y->index && x->type == y->type && x->n_digests == y->n_digests);
		for (unsigned j = 0; j < x->n_digests; j++) {
			CHECK(x->digests[j].alg == y->digests[j].alg);
			CHECK(x->digests[j].len == y->digests[j].len);
			CHECK(!memcmp(x->digests[j].bytes, y->digests[j].bytes, x->digests[j].len));
		}
		CHECK(x->data_len == y->data_len);
		CHECK(!x->data_len || !memcmp(x->data, y->data, x->data_len));
	}
}

/* The Spec ID record holds nothing write() would not reproduce. */
static bool canonical_header(const uint8_t *d, size_t size)
{
	static const uint8_t zero[20];
	if (size < 61 || memcmp(d + 8, zero, 20) || le32(d + 48) != 0 || d[52] != 0)
		return false;
	const uint32_t n = le32(d + 56);
	return 60 + 4 * (size_t)n < size && d[60 + 4 * n] == 0;
}

static void check_replay(cvmf_ctx *ctx, const struct cvmf_eventlog *a,
			 const struct cvmf_eventlog *b)
{
	static uint8_t ra[N_REGS][64], rb[N_REGS][64];
	for (unsigned i = 0; i < a->n_algs; i++) {
		int r1 = cvmf_eventlog_replay(ctx, a, a->algs[i].alg, ra, N_REGS);
		if (r1)
			check_failed(ctx, r1);
		int r2 = cvmf_eventlog_replay(ctx, b, a->algs[i].alg, rb, N_REGS);
		if (r2)
			check_failed(ctx, r2);
		CHECK((r1 == 0) == (r2 == 0));
		if (!r1)
			CHECK(!memcmp(ra, rb, sizeof(ra)));
	}
	/* A bank the log does not have. */
	uint16_t missing = 0;
	static const uint16_t all[] = { CVMF_TCG_SHA1, CVMF_TCG_SHA256, CVMF_TCG_SHA384,
					CVMF_TCG_SHA512 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && !missing; i++) {
		bool have = false;
		for (unsigned j = 0; j < a->n_algs; j++)
			have |= a->algs[j].alg == all[i];
		if (!have)
			missing = all[i];
	}
	if (missing) {
		int r = cvmf_eventlog_replay(ctx, a, missing, ra, N_REGS);
		CHECK(r != 0);
		check_failed(ctx, r);
	}
}

static void check_diff(cvmf_ctx *ctx, const struct cvmf_eventlog *log,
		       const struct cvmf_eventlog *back, const uint8_t *data)
{
	struct cvmf_evdiff d;
	CHECK(cvmf_eventlog_diff(ctx, log, back, &d) == 0);
	CHECK(d.what == CVMF_EVDIFF_SAME && d.hint == NULL);
	if (!log->n_events)
		return;
	/* The log without its last event: the bytes before that record. */
	const struct cvmf_event *last = &log->events[log->n_events - 1];
	struct cvmf_eventlog *shorter = NULL;
	CHECK(cvmf_eventlog_parse(ctx, data, (size_t)last->offset, CVMF_EVLOG_AUTO, &shorter) == 0);
	CHECK(shorter->n_events == log->n_events - 1);
	CHECK(!shorter->truncated && !shorter->fill_end);
	CHECK(cvmf_eventlog_diff(ctx, log, shorter, &d) == 0);
	if (last->type == CVMF_EV_NO_ACTION) {
		CHECK(d.what == CVMF_EVDIFF_SAME);
	} else {
		CHECK(d.what == CVMF_EVDIFF_MISSING);
		CHECK(d.expected == last && d.actual == NULL);
		CHECK(d.expected_number == log->n_events - 1);
		CHECK(d.index == last->index);
		touch_str(d.hint);
		CHECK(d.hint && d.hint[0]);
	}
	/* And the other way round: an extra event. */
	CHECK(cvmf_eventlog_diff(ctx, shorter, log, &d) == 0);
	if (last->type != CVMF_EV_NO_ACTION) {
		CHECK(d.what == CVMF_EVDIFF_EXTRA);
		CHECK(d.actual == last && d.expected == NULL);
		touch_str(d.hint);
	}
	cvmf_eventlog_free(shorter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cvmf_ctx *ctx;
	if (!ctx) {
		ctx = cvmf_ctx_new();
		if (!ctx)
			__builtin_trap();
	}
	struct cvmf_eventlog *log = NULL;
	int r = cvmf_eventlog_parse(ctx, data, size, CVMF_EVLOG_AUTO, &log);
	if (r) {
		CHECK(log == NULL);
		check_failed(ctx, r);
		return 0;
	}
	CHECK(log != NULL);
	check_log(log, size);

	uint8_t *out = NULL;
	size_t n = 0;
	CHECK(cvmf_eventlog_write(ctx, log, &out, &n) == 0);
	if (canonical_header(data, size)) {
		CHECK(n == log->end);
		CHECK(!memcmp(out, data, n));
	}
	struct cvmf_eventlog *back = NULL;
	CHECK(cvmf_eventlog_parse(ctx, out, n, CVMF_EVLOG_AUTO, &back) == 0);
	check_log(back, n);
	CHECK(!back->truncated && !back->fill_end && back->end == n);
	same_events(log, back);
	check_replay(ctx, log, back);
	check_diff(ctx, log, back, data);

	/* Leaving every register out keeps only EV_NO_ACTION records. */
	cvmf_eventlog_drop_registers(back, UINT32_MAX);
	for (size_t i = 0; i < back->n_events; i++) {
		const uint32_t ix = back->events[i].index, reg = log->kind == CVMF_EVLOG_CCEL ? ix - 1 : ix;
		CHECK(back->events[i].type == CVMF_EV_NO_ACTION || reg >= 32);
	}

	cvmf_eventlog_free(back);
	free(out);
	cvmf_eventlog_free(log);
	return 0;
}
