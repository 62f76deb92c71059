/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge verify IMAGE`: recompute an image's measurements from its files. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_line[] = "verify IMAGE [--pubkey PUB] [--vkey VKEY] [--json] [--quiet]";

enum { OPT_HELP = 1, OPT_JSON, OPT_QUIET, OPT_PUBKEY, OPT_VKEY };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "json", 0, false, OPT_JSON },
	{ "quiet", 'q', false, OPT_QUIET },
	{ "pubkey", 0, true, OPT_PUBKEY },
	{ "vkey", 0, true, OPT_VKEY },
	{ NULL, 0, false, 0 },
};

int cmd_verify(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	struct cli_checks c = { 0 };
	const char *v, *pubkey = NULL, *vkey = NULL;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Check an image (a directory written by `cvmforge build`, or its tarball)\n"
			       "from its own files: every file against manifest.json, and every value of\n"
			       "measurements.json recomputed with the parameters recorded there. No\n"
			       "recipe and no network are used.\n\n"
			       "  --pubkey PUB  also check the image's signatures (cvmforge sign) under\n"
			       "              this public key: both envelopes, every signed file's\n"
			       "              digest, no file outside the signed subjects, the signed\n"
			       "              measurements against measurements.json\n"
			       "  --vkey VKEY also check IMAGE.tlog-proof (cvmforge publish) offline:\n"
			       "              the log's checkpoint signed by VKEY, the image's signed\n"
			       "              statement included in it\n"
			       "  --json      one JSON object: {\"ok\": bool, \"checks\": [...]}\n"
			       "  -q, --quiet print only what differs\n\n"
			       "Exit codes: 0 everything matches, 3 something differs, 1 the image cannot\n"
			       "be read, 2 usage error.\n", prog, usage_line);
			return EXIT_OK_;
		case OPT_JSON: c.json = true; break;
		case OPT_QUIET: c.quiet = true; break;
		case OPT_PUBKEY: pubkey = v; break;
		case OPT_VKEY: vkey = v; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1)
		return usage_error(prog, usage_line, "the following arguments are required: IMAGE");
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	c.list = json_array();
	size_t bad = 0, sig_bad = 0;
	cvmf_key *pub = NULL;
	int rc;
	if (pubkey && (cvmf_key_load_public(ctx, pubkey, &pub) ||
		       cvmf_verify_signatures(ctx, p.positional[0], pub, cli_check_print, &c,
					      &sig_bad))) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else if (vkey && cli_check_log(ctx, p.positional[0], vkey, &c, &sig_bad)) {
		rc = EXIT_FAILURE_;
	} else if (cvmf_verify(ctx, p.positional[0], cli_check_print, &c, &bad)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else {
		bad += sig_bad;
		rc = bad ? EXIT_MISMATCH : EXIT_OK_;
		if (c.json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_boolean(!bad));
			json_object_set_new(o, "image", json_string(p.positional[0]));
			json_object_set(o, "checks", c.list);
			json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			putchar('\n');
			json_decref(o);
		} else {
			printf("%s: %zu checks, %zu differ%s%s\n", p.positional[0], c.ok + c.bad, c.bad,
			       bad ? "" : ": the measurements are reproduced from the image's files",
			       bad || !pub ? "" : ", and signed by the given key");
		}
	}
	json_decref(c.list);
	cvmf_key_free(pub);
	cvmf_ctx_free(ctx);
	return rc;
}
