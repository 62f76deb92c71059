/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge reproduce RECIPE --against IMAGE`: rebuild and compare. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_line[] =
	"reproduce RECIPE --against DIR_OR_TAR [--cache DIR] [--jobs N] [--json] [--quiet]";

enum { OPT_HELP = 1, OPT_AGAINST, OPT_CACHE, OPT_JOBS, OPT_JSON, OPT_QUIET };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "against", 0, true, OPT_AGAINST },
	{ "cache", 0, true, OPT_CACHE },
	{ "jobs", 'j', true, OPT_JOBS },
	{ "json", 0, false, OPT_JSON },
	{ "quiet", 'q', false, OPT_QUIET },
	{ NULL, 0, false, 0 },
};

int cmd_reproduce(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	struct cvmf_build_opts o = { 0 };
	struct cli_checks c = { 0 };
	const char *against = NULL, *v;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Rebuild RECIPE in a temporary directory and compare the result with an\n"
			       "image (its directory or its tarball), file by file. For a differing\n"
			       "initrd the first differing cpio entry and field is named; for text\n"
			       "files the first differing line.\n\n"
			       "Exit codes: 0 identical, 3 different, 1 the build failed, 2 usage.\n",
			       prog, usage_line);
			return EXIT_OK_;
		case OPT_AGAINST: against = v; break;
		case OPT_CACHE: o.cache_dir = v; break;
		case OPT_JOBS:
			if (cli_parse_jobs(v, &o.workers))
				return usage_error(prog, usage_line,
						   "argument --jobs: '%s' is not a number in 1..256", v);
			break;
		case OPT_JSON: c.json = true; break;
		case OPT_QUIET: c.quiet = true; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1 || !against)
		return usage_error(prog, usage_line, "the following arguments are required: %s",
				   p.n_positional != 1 ? "RECIPE" : "--against");
	o.recipe_path = p.positional[0];
	struct cli_progress pr;
	cli_progress_init(&pr, c.quiet || c.json);
	o.progress = cli_progress;
	o.progress_user = &pr;
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	c.list = json_array();
	size_t bad = 0;
	int rc;
	int err = cvmf_reproduce(ctx, &o, against, cli_check_print, &c, &bad);
	cli_progress_end(&pr);
	if (err) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else {
		rc = bad ? EXIT_MISMATCH : EXIT_OK_;
		if (c.json) {
			json_t *out = json_object();
			json_object_set_new(out, "identical", json_boolean(!bad));
			json_object_set_new(out, "against", json_string(against));
			json_object_set(out, "checks", c.list);
			json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			putchar('\n');
			json_decref(out);
		} else {
			printf("%s: %zu files compared, %zu differ%s\n", against, c.ok + c.bad, c.bad,
			       bad ? "" : ": reproduced bit for bit");
		}
	}
	json_decref(c.list);
	cvmf_ctx_free(ctx);
	return rc;
}
