/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge verify IMAGE`: recompute an image's measurements from its files. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_line[] = "verify IMAGE [--json] [--quiet]";

enum { OPT_HELP = 1, OPT_JSON, OPT_QUIET };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "json", 0, false, OPT_JSON },
	{ "quiet", 'q', false, OPT_QUIET },
	{ NULL, 0, false, 0 },
};

int cmd_verify(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	struct cli_checks c = { 0 };
	const char *v;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Check an image (a directory written by `cvmforge build`, or its tarball)\n"
			       "from its own files: every file against manifest.json, and every value of\n"
			       "measurements.json recomputed with the parameters recorded there. No\n"
			       "recipe and no network are used.\n\n"
			       "  --json      one JSON object: {\"ok\": bool, \"checks\": [...]}\n"
			       "  -q, --quiet print only what differs\n\n"
			       "Exit codes: 0 everything matches, 3 something differs, 1 the image cannot\n"
			       "be read, 2 usage error.\n", prog, usage_line);
			return EXIT_OK_;
		case OPT_JSON: c.json = true; break;
		case OPT_QUIET: c.quiet = true; break;
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
	size_t bad = 0;
	int rc;
	if (cvmf_verify(ctx, p.positional[0], cli_check_print, &c, &bad)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else {
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
			printf("%s: %zu checks, %zu differ%s\n", p.positional[0], c.ok + c.bad, c.bad,
			       bad ? "" : ": the measurements are reproduced from the image's files");
		}
	}
	json_decref(c.list);
	cvmf_ctx_free(ctx);
	return rc;
}
