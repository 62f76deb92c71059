/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge eventlog replay|show|diff`: TCG2 crypto-agile event logs, that
 * is a TPM's binary_bios_measurements or a TDX CCEL. replay recomputes the
 * registers, show lists the events, diff finds the first event where an
 * expected log and an actual one part, and says what usually causes it.
 *
 * Event numbers printed here count from 1 after the Spec ID record (#0),
 * as in the logs' documentation; the library's record numbers are 0-based.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

#define PROG "cvmforge eventlog"
#define N_PCRS 24
#define N_RTMRS 4

static const char usage_replay[] = "FILE [--format auto|ccel|tpm] [--json]";
static const char usage_show[] = "FILE [--format auto|ccel|tpm] [--json]";
static const char usage_diff[] = "EXPECTED ACTUAL [--format auto|ccel|tpm] [--ignore N[,N...]]";

enum { OPT_HELP = 1, OPT_JSON, OPT_FORMAT, OPT_IGNORE };
static const struct opt options_json[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "format", 0, true, OPT_FORMAT },
	{ "json", 0, false, OPT_JSON },
	{ NULL, 0, false, 0 },
};
static const struct opt options_diff[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "format", 0, true, OPT_FORMAT },
	{ "ignore", 0, true, OPT_IGNORE },
	{ NULL, 0, false, 0 },
};

static void print_sub_help(const char *sub)
{
	if (!strcmp(sub, "replay"))
		printf("usage: %s replay %s\n\n"
		       "Replay the log: every event except EV_NO_ACTION extends its register,\n"
		       "starting from zeros. A CCEL prints rtmr0..rtmr3 (SHA-384); a TPM log prints\n"
		       "'pcrN BANK HEX' for every PCR with events, in each bank of the log.\n"
		       "A log cut off by the end of the file is replayed up to the last whole\n"
		       "record, with a warning on stderr.\n\n"
		       "  --format auto|ccel|tpm  how to read the indices (default auto)\n"
		       "  --json                  {\"format\", \"events\", \"truncated\", \"registers\"}\n",
		       PROG, usage_replay);
	else if (!strcmp(sub, "show"))
		printf("usage: %s show %s\n\n"
		       "List the events: number (the Spec ID record is #0), byte offset, register,\n"
		       "type, decoded data where it is short or printable, and every digest.\n\n"
		       "  --format auto|ccel|tpm  how to read the indices (default auto)\n"
		       "  --json                  one JSON object per event, one per line\n",
		       PROG, usage_show);
	else
		printf("usage: %s diff %s\n\n"
		       "Compare two logs of the same kind, register by register: the k-th event of\n"
		       "a register in EXPECTED is matched with the k-th of that register in ACTUAL;\n"
		       "EV_NO_ACTION records are ignored and the digest banks both logs have are\n"
		       "compared. Prints 'logs agree: N events in M registers' and exits 0, or the\n"
		       "first difference (register, event numbers, types, digests, and a hint\n"
		       "naming the host parameter that usually causes it) and exits 3.\n\n"
		       "  --format auto|ccel|tpm  how to read both logs (default auto)\n"
		       "  --ignore N[,N...]       leave these registers out: PCR numbers for TPM logs\n"
		       "                          (e.g. 0: PCR 0 is not predictable), RTMR numbers\n"
		       "                          for CCEL logs\n",
		       PROG, usage_diff);
}

static int parse_format(const char *prog, const char *usage, const char *v,
			enum cvmf_evlog_kind *ret)
{
	if (!strcmp(v, "auto"))
		*ret = CVMF_EVLOG_AUTO;
	else if (!strcmp(v, "ccel"))
		*ret = CVMF_EVLOG_CCEL;
	else if (!strcmp(v, "tpm"))
		*ret = CVMF_EVLOG_TPM;
	else
		return usage_error(prog, usage,
				   "argument --format: invalid choice: '%s' (choose from 'auto', 'ccel', 'tpm')",
				   v);
	return 0;
}

/* Read a log; warn when it was cut off. */
static int load(const char *path, enum cvmf_evlog_kind kind, struct cvmf_eventlog **ret)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	int r = EXIT_OK_;
	if (cvmf_eventlog_read(ctx, path, kind, ret))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	else if ((*ret)->truncated)
		fprintf(stderr,
			"warning: event log '%s': the record at byte offset %llu is cut off by the end of the file; using the %zu records before it\n",
			path, (unsigned long long)(*ret)->end, (*ret)->n_events);
	cvmf_ctx_free(ctx);
	return r;
}

static const char *kind_name(enum cvmf_evlog_kind k)
{
	return k == CVMF_EVLOG_CCEL ? "ccel" : "tpm";
}

/* "rtmr0", "pcr4", "mrtd", "mr-1" ... in one of 4 rotating buffers. */
static const char *reg_name(enum cvmf_evlog_kind kind, uint32_t index)
{
	static char buf[4][24];
	static int k;
	k = (k + 1) % 4;
	if (kind == CVMF_EVLOG_CCEL) {
		if (index >= 1 && index <= N_RTMRS)
			snprintf(buf[k], sizeof(buf[k]), "rtmr%u", index - 1);
		else if (index == 0)
			snprintf(buf[k], sizeof(buf[k]), "mrtd");
		else if (index == UINT32_MAX)
			snprintf(buf[k], sizeof(buf[k]), "mr-1");
		else
			snprintf(buf[k], sizeof(buf[k]), "mr%u", index);
	} else if (index == UINT32_MAX) {
		snprintf(buf[k], sizeof(buf[k]), "pcr-1");
	} else {
		snprintf(buf[k], sizeof(buf[k]), "pcr%u", index);
	}
	return buf[k];
}

static const char *type_str(uint32_t type)
{
	static char buf[4][16];
	static int k;
	const char *n = cvmf_ev_type_name(type);
	if (n)
		return n;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "0x%08x", type);
	return buf[k];
}

static const char *alg_str(uint16_t alg)
{
	static char buf[4][16];
	static int k;
	const char *n = cvmf_tcg_alg_name(alg);
	if (n)
		return n;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "alg_0x%04x", alg);
	return buf[k];
}

static const struct cvmf_event_digest *digest_of(const struct cvmf_event *e, uint16_t alg)
{
	for (unsigned i = 0; i < e->n_digests; i++)
		if (e->digests[i].alg == alg)
			return &e->digests[i];
	return NULL;
}

/* ---- replay ---- */

static bool has_events(const struct cvmf_eventlog *log, uint32_t index)
{
	for (size_t i = 0; i < log->n_events; i++)
		if (log->events[i].type != CVMF_EV_NO_ACTION && log->events[i].index == index)
			return true;
	return false;
}

static uint16_t ccel_bank(const struct cvmf_eventlog *log)
{
	for (unsigned i = 0; i < log->n_algs; i++)
		if (log->algs[i].alg == CVMF_TCG_SHA384)
			return CVMF_TCG_SHA384;
	return log->algs[0].alg;
}

static unsigned bank_len(const struct cvmf_eventlog *log, uint16_t alg)
{
	for (unsigned i = 0; i < log->n_algs; i++)
		if (log->algs[i].alg == alg)
			return log->algs[i].len;
	return 0;
}

static int do_replay(const char *path, enum cvmf_evlog_kind kind, bool json)
{
	struct cvmf_eventlog *log = NULL;
	int r = load(path, kind, &log);
	if (r)
		return r;
	cvmf_ctx *ctx = cvmf_ctx_new();
	uint8_t regs[CVMF_EVLOG_MAX_ALGS][N_PCRS][64];
	char hex[129];
	json_t *root = json ? json_object() : NULL, *jregs = json ? json_object() : NULL;
	if (!ctx) {
		r = fail("out of memory");
		goto out;
	}
	if (log->kind == CVMF_EVLOG_CCEL) {
		const uint16_t alg = ccel_bank(log);
		const unsigned dlen = bank_len(log, alg);
		if (cvmf_eventlog_replay(ctx, log, alg, regs[0], N_RTMRS)) {
			r = fail("%s: %s", path, cvmf_ctx_errmsg(ctx));
			goto out;
		}
		for (unsigned i = 0; i < N_RTMRS; i++) {
			cvmf_hex(regs[0][i], dlen, hex);
			if (json)
				json_object_set_new(jregs, reg_name(log->kind, i + 1), json_string(hex));
			else
				printf("rtmr%u %s\n", i, hex);
		}
	} else {
		for (unsigned b = 0; b < log->n_algs; b++)
			if (cvmf_eventlog_replay(ctx, log, log->algs[b].alg, regs[b], N_PCRS)) {
				r = fail("%s: %s", path, cvmf_ctx_errmsg(ctx));
				goto out;
			}
		for (unsigned pcr = 0; pcr < N_PCRS; pcr++) {
			if (!has_events(log, pcr))
				continue;
			json_t *jp = json ? json_object() : NULL;
			for (unsigned b = 0; b < log->n_algs; b++) {
				cvmf_hex(regs[b][pcr], log->algs[b].len, hex);
				if (json)
					json_object_set_new(jp, alg_str(log->algs[b].alg), json_string(hex));
				else
					printf("pcr%u %s %s\n", pcr, alg_str(log->algs[b].alg), hex);
			}
			if (json)
				json_object_set_new(jregs, reg_name(log->kind, pcr), jp);
		}
	}
	if (json) {
		json_object_set_new(root, "format", json_string(kind_name(log->kind)));
		json_object_set_new(root, "events", json_integer((json_int_t)log->n_events));
		json_object_set_new(root, "truncated", json_boolean(log->truncated));
		json_object_set_new(root, "registers", jregs);
		jregs = NULL;
		int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		if (rc)
			r = fail("cannot write JSON");
	}
out:
	json_decref(jregs);
	json_decref(root);
	cvmf_ctx_free(ctx);
	cvmf_eventlog_free(log);
	return r;
}

/* ---- show ---- */

static int do_show(const char *path, enum cvmf_evlog_kind kind, bool json)
{
	struct cvmf_eventlog *log = NULL;
	int r = load(path, kind, &log);
	if (r)
		return r;
	char desc[256], hex[129];
	if (!json) {
		printf("%s: %s log, banks", path, log->kind == CVMF_EVLOG_CCEL ? "CCEL" : "TPM");
		for (unsigned b = 0; b < log->n_algs; b++)
			printf("%s %s", b ? "," : "", alg_str(log->algs[b].alg));
		printf("; %zu event%s in %llu bytes%s\n", log->n_events, log->n_events == 1 ? "" : "s",
		       (unsigned long long)log->end,
		       log->fill_end ? ", then 0xFF fill" : log->truncated ? ", then a cut-off record" : "");
		printf("#0 offset 0x0 EV_NO_ACTION \"Spec ID Event03\" (index %u, errata %u, uintnSize %u)\n",
		       log->spec_index, log->spec_errata, log->spec_uintn_size);
	}
	for (size_t i = 0; i < log->n_events; i++) {
		const struct cvmf_event *e = &log->events[i];
		cvmf_eventlog_describe(e, desc, sizeof(desc));
		if (!json) {
			printf("#%zu offset 0x%llx %s %s%s%s\n", i + 1, (unsigned long long)e->offset,
			       reg_name(log->kind, e->index), type_str(e->type), desc[0] ? " " : "", desc);
			for (unsigned j = 0; j < e->n_digests; j++) {
				cvmf_hex(e->digests[j].bytes, e->digests[j].len, hex);
				printf("    %s %s\n", alg_str(e->digests[j].alg), hex);
			}
			continue;
		}
		json_t *o = json_object(), *dg = json_object();
		json_object_set_new(o, "number", json_integer((json_int_t)(i + 1)));
		json_object_set_new(o, "offset", json_integer((json_int_t)e->offset));
		json_object_set_new(o, "index", json_integer(e->index));
		json_object_set_new(o, "register", json_string(reg_name(log->kind, e->index)));
		json_object_set_new(o, "type", json_integer(e->type));
		const char *tn = cvmf_ev_type_name(e->type);
		json_object_set_new(o, "type_name", tn ? json_string(tn) : json_null());
		for (unsigned j = 0; j < e->n_digests; j++) {
			cvmf_hex(e->digests[j].bytes, e->digests[j].len, hex);
			json_object_set_new(dg, alg_str(e->digests[j].alg), json_string(hex));
		}
		json_object_set_new(o, "digests", dg);
		char *dh = malloc(2 * e->data_len + 1);
		if (!dh) {
			json_decref(o);
			r = fail("out of memory");
			break;
		}
		cvmf_hex(e->data, e->data_len, dh);
		json_object_set_new(o, "data", json_string(dh));
		free(dh);
		json_object_set_new(o, "summary", desc[0] ? json_string(desc) : json_null());
		int rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
		printf("\n");
		if (rc) {
			r = fail("cannot write JSON");
			break;
		}
	}
	cvmf_eventlog_free(log);
	return r;
}

/* ---- diff ---- */

static void print_side(const char *label, const struct cvmf_eventlog *log,
		       const struct cvmf_event *e, size_t number, uint16_t alg,
		       const struct cvmf_evdiff *d)
{
	if (!e) {
		size_t n = 0;
		for (size_t i = 0; i < log->n_events; i++)
			n += log->events[i].type != CVMF_EV_NO_ACTION && log->events[i].index == d->index;
		printf("  %-9s none: %s has %zu event%s\n", label, reg_name(log->kind, d->index), n,
		       n == 1 ? "" : "s");
		return;
	}
	char hex[129] = "(no digest)";
	const struct cvmf_event_digest *dg = digest_of(e, alg);
	if (dg)
		cvmf_hex(dg->bytes, dg->len, hex);
	printf("  %-9s event #%zu (offset 0x%llx) %s%s%s%s %s %s\n", label, number + 1,
	       (unsigned long long)e->offset, type_str(e->type), e->what ? " (" : "",
	       e->what ? e->what : "", e->what ? ")" : "", alg_str(alg), hex);
}

static int do_diff(const char *exp_path, const char *act_path, enum cvmf_evlog_kind kind,
		   uint32_t ignore)
{
	struct cvmf_eventlog *exp = NULL, *act = NULL;
	int r = load(exp_path, kind, &exp);
	if (!r)
		r = load(act_path, kind, &act);
	if (!r && ignore) {
		cvmf_eventlog_drop_registers(exp, ignore);
		cvmf_eventlog_drop_registers(act, ignore);
	}
	cvmf_ctx *ctx = r ? NULL : cvmf_ctx_new();
	if (!r && !ctx)
		r = fail("out of memory");
	struct cvmf_evdiff d;
	if (!r && cvmf_eventlog_diff(ctx, exp, act, &d))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	if (!r && d.what == CVMF_EVDIFF_SAME) {
		size_t n = 0, regs = 0;
		for (size_t i = 0; i < exp->n_events; i++) {
			const struct cvmf_event *e = &exp->events[i];
			if (e->type == CVMF_EV_NO_ACTION)
				continue;
			n++;
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = exp->events[j].type != CVMF_EV_NO_ACTION &&
				       exp->events[j].index == e->index;
			regs += !seen;
		}
		printf("logs agree: %zu event%s in %zu register%s\n", n, n == 1 ? "" : "s", regs,
		       regs == 1 ? "" : "s");
	} else if (!r) {
		static const char *const why[] = {
			[CVMF_EVDIFF_TYPE] = "the event types differ",
			[CVMF_EVDIFF_DIGEST] = "the digests differ",
			[CVMF_EVDIFF_MISSING] = "the actual log lacks this event",
			[CVMF_EVDIFF_EXTRA] = "the actual log has an event the expected one lacks",
		};
		printf("logs differ at %s, event %zu of that register: %s\n",
		       reg_name(exp->kind, d.index), d.position + 1, why[d.what]);
		print_side("expected:", exp, d.expected, d.expected_number, d.alg, &d);
		print_side("actual:", act, d.actual, d.actual_number, d.alg, &d);
		printf("  hint: %s\n", d.hint);
		r = EXIT_MISMATCH;
	}
	cvmf_ctx_free(ctx);
	cvmf_eventlog_free(exp);
	cvmf_eventlog_free(act);
	return r;
}

/* One of replay, show, diff: argv[0] says which; prog is "cvmforge eventlog SUB". */
static int eventlog_sub(const char *subprog, int argc, char **argv)
{
	const char *sub = argv[0];
	const bool is_diff = !strcmp(sub, "diff");
	const char *usage = is_diff ? usage_diff : !strcmp(sub, "replay") ? usage_replay : usage_show;
	struct opt_parser p = { .prog = subprog, .usage = usage,
				.opts = is_diff ? options_diff : options_json,
				.argc = argc, .argv = argv, .i = 1,
				.max_positional = is_diff ? 2 : 1 };
	const char *v;
	bool json = false;
	enum cvmf_evlog_kind kind = CVMF_EVLOG_AUTO;
	uint32_t ignore = 0;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		if (id == OPT_HELP) {
			print_sub_help(sub);
			return EXIT_OK_;
		}
		if (id == OPT_JSON)
			json = true;
		else if (id == OPT_FORMAT && parse_format(subprog, usage, v, &kind))
			return EXIT_USAGE;
		else if (id == OPT_IGNORE) {
			char *end;
			for (const char *c = v;; c = end + 1) {
				unsigned long n = strtoul(c, &end, 10);
				if (end == c || n > 31 || (*end && *end != ','))
					return usage_error(subprog, usage,
							   "argument --ignore: '%s' is not a list of register numbers 0-31",
							   v);
				ignore |= 1u << n;
				if (!*end)
					break;
			}
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (is_diff) {
		if (p.n_positional < 2)
			return usage_error(subprog, usage, "the following arguments are required: %s",
					   p.n_positional ? "ACTUAL" : "EXPECTED, ACTUAL");
		return do_diff(p.positional[0], p.positional[1], kind, ignore);
	}
	if (p.n_positional < 1)
		return usage_error(subprog, usage, "the following arguments are required: FILE");
	return !strcmp(sub, "replay") ? do_replay(p.positional[0], kind, json)
				      : do_show(p.positional[0], kind, json);
}

static const struct verb subcommands[] = {
	{ "replay", eventlog_sub, "replay FILE [--format auto|ccel|tpm] [--json]",
	  "recompute the registers the log extends (RTMR0..3, or PCRs per bank)" },
	{ "show", eventlog_sub, "show FILE [--format auto|ccel|tpm] [--json]",
	  "list the events: number, offset, register, type, digests, data" },
	{ "diff", eventlog_sub, "diff EXPECTED ACTUAL [--format auto|ccel|tpm]",
	  "compare two logs; name the first difference and the host parameter behind it" },
};

int cmd_eventlog(const char *prog, int argc, char **argv)
{
	(void)prog;
	static const struct verb_table t = {
		.prog = PROG,
		.metavar = "SUBCOMMAND",
		.heading = "Subcommands",
		.about = "Read TCG2 crypto-agile event logs: a TPM log (binary_bios_measurements) or a\n"
			 "TDX CCEL (/sys/firmware/acpi/tables/data/CCEL).\n",
		.epilog = "--format auto (default) reads a Spec ID record at index 1 as a CCEL (TDVF\n"
			  "writes 1) and anything else as a TPM log.\n"
			  "Exit codes: 0 success (diff: the logs agree), 1 failure, 2 usage error,\n"
			  "3 the logs differ (diff).\n"
			  "Run '" PROG " SUBCOMMAND --help' for a subcommand's details.\n",
		.verbs = subcommands,
		.n = sizeof(subcommands) / sizeof(subcommands[0]),
		.sub_prog = true,
	};
	return cli_dispatch(&t, argc, argv);
}
