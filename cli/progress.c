/* SPDX-License-Identifier: Apache-2.0 */
/* Progress lines on a terminal, and the check lists of verify/reproduce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int cli_parse_jobs(const char *s, unsigned *ret)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *end || n < 1 || n > 256)
		return -1;
	*ret = (unsigned)n;
	return 0;
}

void cli_progress_init(struct cli_progress *p, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->on = !quiet && isatty(STDERR_FILENO);
}

/* One line per step, redrawn in place at most ten times a second. */
void cli_progress(void *user, const char *what, uint64_t done, uint64_t total)
{
	struct cli_progress *p = user;
	if (!p->on)
		return;
	double t = mono();
	bool same = !strcmp(p->what, what);
	bool last = total && done >= total;
	if (same && !last && t - p->last < 0.1)
		return;
	if (!same && p->what[0])
		fputc('\n', stderr);
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->last = t;
	if (total)
		fprintf(stderr, "\r\033[K%-32s %8.1f / %.1f MiB %3d%%", what, (double)done / 1048576.0,
			(double)total / 1048576.0, (int)(100.0 * (double)done / (double)total));
	else
		fprintf(stderr, "\r\033[K%-32s %8.1f MiB", what, (double)done / 1048576.0);
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->on && p->what[0])
		fputc('\n', stderr);
	p->what[0] = 0;
}

/* One line per check (verify, reproduce); what differs is always printed. */
void cli_check_print(void *user, const char *what, bool ok, const char *detail)
{
	struct cli_checks *c = user;
	ok ? c->ok++ : c->bad++;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "what", json_string(what));
		json_object_set_new(o, "ok", json_boolean(ok));
		if (!ok)
			json_object_set_new(o, "detail", json_string(detail));
		json_array_append_new(c->list, o);
	} else if (!ok) {
		printf("DIFFERS  %s: %s\n", what, detail);
	} else if (!c->quiet) {
		printf("ok       %s\n", what);
	}
}
