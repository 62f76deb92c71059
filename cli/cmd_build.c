/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge build RECIPE -o OUT`: a CVM image and its measurements. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_line[] =
	"build RECIPE -o OUT [--lock] [--force] [--cache DIR] [--jobs N] [--json] [--quiet]";

enum { OPT_HELP = 1, OPT_OUT, OPT_LOCK, OPT_FORCE, OPT_CACHE, OPT_JOBS, OPT_JSON, OPT_QUIET };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "output", 'o', true, OPT_OUT },
	{ "lock", 0, false, OPT_LOCK },
	{ "force", 0, false, OPT_FORCE },
	{ "cache", 0, true, OPT_CACHE },
	{ "jobs", 'j', true, OPT_JOBS },
	{ "json", 0, false, OPT_JSON },
	{ "quiet", 'q', false, OPT_QUIET },
	{ NULL, 0, false, 0 },
};

static void print_help(const char *prog)
{
	printf("usage: %s %s\n\n"
	       "Build the CVM image a recipe describes into OUT/NAME-VERSION/: OVMF.fd, vmlinuz,\n"
	       "initrd.img and cmdline.txt exactly as launched, measurements.json (SEV-SNP and\n"
	       "TDX values, each with its parameters), manifest.json (every input and output\n"
	       "with sha256 and sha384), launch/*.sh and NAME-VERSION.tar. Two builds of one\n"
	       "recipe give the same bytes.\n\n"
	       "Options:\n"
	       "  -o, --output OUT   where the image directory is created\n"
	       "  --lock             record every input's digest in RECIPE.lock (and accept\n"
	       "                     changed ones); without it, unpinned inputs are errors\n"
	       "  --force            replace an existing OUT/NAME-VERSION\n"
	       "  --cache DIR        package cache (default $XDG_CACHE_HOME/cvmforge)\n"
	       "  -j, --jobs N       compression threads (default: all CPUs; same bytes)\n"
	       "  --json             print the result as one JSON object\n"
	       "  -q, --quiet        no progress and no summary: warnings and errors only\n\n"
	       "Recipe keys (docs/recipe.md):\n", prog, usage_line);
	const struct cvmf_recipe_key *k;
	size_t n = cvmf_recipe_keys(&k);
	const char *section = "";
	for (size_t i = 0; i < n; i++) {
		if (strcmp(section, k[i].section)) {
			section = k[i].section;
			printf("  [%s]\n", section);
		}
		printf("    %-20s %-14s %s\n", k[i].key, k[i].value, k[i].help);
	}
	printf("\nExit codes: 0 built, 1 failed (nothing is left in OUT), 2 usage error.\n");
}

/* A short human summary of measurements.json. */
static void print_measurements(const json_t *m)
{
	json_t *snp = json_object_get(m, "snp"), *tdx = json_object_get(m, "tdx");
	size_t i;
	json_t *e;
	if (snp) {
		json_t *list = json_object_get(snp, "measurements");
		printf("SEV-SNP launch digests (%zu):\n", json_array_size(list));
		json_array_foreach(list, i, e) {
			if (i == 12) {
				printf("  ... %zu more in measurements.json\n", json_array_size(list) - i);
				break;
			}
			printf("  %-5s vcpus=%-3" JSON_INTEGER_FORMAT " %-16s features=%-6s %s\n",
			       json_string_value(json_object_get(e, "vmm")),
			       json_integer_value(json_object_get(e, "vcpus")),
			       json_string_value(json_object_get(e, "cpu-type")),
			       json_string_value(json_object_get(e, "guest-features")),
			       json_string_value(json_object_get(e, "launch-digest")));
		}
	}
	if (tdx) {
		json_t *list = json_object_get(tdx, "measurements");
		json_array_foreach(list, i, e) {
			printf("TDX memory=%" JSON_INTEGER_FORMAT "M %s:\n",
			       json_integer_value(json_object_get(e, "memory")) >> 20,
			       json_string_value(json_object_get(e, "page-order")));
			for (const char *const *k = (const char *const[]){ "mrtd", "rtmr0", "rtmr1",
									   "rtmr2", "rtmr3", NULL }; *k; k++) {
				const char *v = json_string_value(json_object_get(e, *k));
				char why_key[32];
				snprintf(why_key, sizeof(why_key), "%s-null-reason", *k);
				const char *why = json_string_value(json_object_get(e, why_key));
				if (v)
					printf("  %-5s %s\n", *k, v);
				else
					printf("  %-5s null: %s\n", *k, why ? why : "not computed");
			}
		}
	}
}

int cmd_build(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	struct cvmf_build_opts o = { 0 };
	bool json = false, quiet = false;
	const char *v;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			print_help(prog);
			return EXIT_OK_;
		case OPT_OUT: o.out_dir = v; break;
		case OPT_LOCK: o.lock = true; break;
		case OPT_FORCE: o.force = true; break;
		case OPT_CACHE: o.cache_dir = v; break;
		case OPT_JOBS:
			if (cli_parse_jobs(v, &o.workers))
				return usage_error(prog, usage_line,
						   "argument --jobs: '%s' is not a number in 1..256", v);
			break;
		case OPT_JSON: json = true; break;
		case OPT_QUIET: quiet = true; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1)
		return usage_error(prog, usage_line, "the following arguments are required: RECIPE");
	if (!o.out_dir)
		return usage_error(prog, usage_line, "the following arguments are required: -o/--output");
	o.recipe_path = p.positional[0];
	struct cli_progress pr;
	cli_progress_init(&pr, quiet || json);
	o.progress = cli_progress;
	o.progress_user = &pr;

	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_build_result *r = calloc(1, sizeof(*r));
	if (!ctx || !r) {
		free(r);
		cvmf_ctx_free(ctx);
		return fail("out of memory");
	}
	int rc = EXIT_OK_;
	if (cvmf_build(ctx, &o, r)) {
		cli_progress_end(&pr);
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	cli_progress_end(&pr);
	char path[4300];
	snprintf(path, sizeof(path), "%s/measurements.json", r->image_dir);
	json_error_t e;
	json_t *m = json_load_file(path, 0, &e);
	if (!m) {
		rc = fail("%s: %s", path, e.text);
		goto out;
	}
	json_t *t = json_object();
	json_object_set_new(t, "inputs", json_real(r->t_inputs));
	json_object_set_new(t, "initrd", json_real(r->t_initrd));
	json_object_set_new(t, "measure", json_real(r->t_measure));
	json_object_set_new(t, "write", json_real(r->t_write));
	json_object_set_new(t, "total", json_real(r->t_total));
	if (json) {
		json_t *out = json_object();
		json_object_set_new(out, "image", json_string(r->image_dir));
		json_object_set_new(out, "tarball", json_string(r->tar_path));
		json_object_set_new(out, "lock", o.lock ? json_string(r->lock_path) : json_null());
		json_t *w = json_array();
		for (size_t i = 0; i < r->n_warnings; i++)
			json_array_append_new(w, json_string(r->warnings[i]));
		json_object_set_new(out, "warnings", w);
		json_object_set(out, "seconds", t);
		json_object_set(out, "measurements", m);
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(out);
	} else if (!quiet) {
		printf("image:   %s/\n", r->image_dir);
		printf("tarball: %s\n", r->tar_path);
		if (o.lock)
			printf("lock:    %s\n", r->lock_path);
		print_measurements(m);
		fprintf(stderr, "time: inputs %.2f s, initrd %.2f s, measure %.2f s, write %.2f s; "
			"total %.2f s\n", r->t_inputs, r->t_initrd, r->t_measure, r->t_write,
			r->t_total);
	}
	if (!json)
		for (size_t i = 0; i < r->n_warnings; i++)
			fprintf(stderr, "warning: %s\n", r->warnings[i]);
	json_decref(t);
	json_decref(m);
out:
	free(r);
	cvmf_ctx_free(ctx);
	return rc;
}
