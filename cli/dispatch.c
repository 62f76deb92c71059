/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One sub-verb dispatch for every level of the command line: `cvmforge VERB`,
 * `cvmforge measure PLATFORM`, `cvmforge eventlog SUBCOMMAND`, `cvmforge
 * initrd diff`. A table of verbs gives the help (generated from it), the
 * argparse-style errors for a missing or unknown sub-verb, and the program
 * name each sub-verb prints.
 */
#include <string.h>

#include "cli/cli.h"

#define SYNOPSIS_COLUMN 38   /* longer synopses put their help on the next line */

static void print_choices(FILE *f, const struct verb_table *t, const char *open,
			  const char *sep, const char *quote, const char *close)
{
	fputs(open, f);
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%s%s%s%s", i ? sep : "", quote, t->verbs[i].name, quote);
	fputs(close, f);
}

static void print_usage_line(FILE *f, const struct verb_table *t)
{
	fprintf(f, "usage: %s ", t->prog);
	print_choices(f, t, "{", ",", "", "} ...\n");
}

void cli_dispatch_help(const struct verb_table *t, FILE *f)
{
	print_usage_line(f, t);
	if (t->about)
		fprintf(f, "\n%s", t->about);
	fprintf(f, "\n%s:\n", t->heading);
	int col = 0;
	for (size_t i = 0; i < t->n; i++) {
		int len = (int)strlen(t->verbs[i].synopsis);
		if (len > col && len <= SYNOPSIS_COLUMN)
			col = len;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct verb *v = &t->verbs[i];
		if ((int)strlen(v->synopsis) > col)
			fprintf(f, "  %s\n      %s\n", v->synopsis, v->help);
		else
			fprintf(f, "  %-*s %s\n", col, v->synopsis, v->help);
	}
	if (t->epilog)
		fprintf(f, "\n%s", t->epilog);
}

const struct verb *cli_dispatch_find(const struct verb_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->verbs[i].name, name))
			return &t->verbs[i];
	return NULL;
}

int cli_dispatch(const struct verb_table *t, int argc, char **argv)
{
	const struct verb *v = argc > 1 ? cli_dispatch_find(t, argv[1]) : NULL;
	if (!v && t->fallback)
		return t->fallback(t->prog, argc, argv);
	if (argc < 2) {
		cli_dispatch_help(t, stderr);
		fprintf(stderr, "%s: error: the following arguments are required: %s ", t->prog,
			t->metavar);
		print_choices(stderr, t, "(", ", ", "", ")\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		cli_dispatch_help(t, stdout);
		return EXIT_OK_;
	}
	if (!v) {
		print_usage_line(stderr, t);
		fprintf(stderr, "%s: error: argument %s: invalid choice: '%s' ", t->prog, t->metavar,
			argv[1]);
		print_choices(stderr, t, "(choose from ", ", ", "'", ")\n");
		return EXIT_USAGE;
	}
	if (!t->sub_prog)
		return v->run(t->prog, argc - 1, argv + 1);
	char prog[128];
	snprintf(prog, sizeof(prog), "%s %s", t->prog, v->name);
	return v->run(prog, argc - 1, argv + 1);
}
