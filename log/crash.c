/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failpoints for the crash test (tests/unit/test_serve_crash.c): with
 * CVMF_CRASH_POINT=NAME:N set, the N-th arrival at tlg_crash_point("NAME")
 * kills the process with SIGKILL, as a power cut or kill -9 would at that
 * exact step of an append. Without the variable it costs one load.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/tlog.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char point[32];
static long target;
static atomic_long hits;

static void crash_init(void)
{
	const char *e = getenv("CVMF_CRASH_POINT");
	const char *colon = e ? strchr(e, ':') : NULL;
	if (!colon || (size_t)(colon - e) >= sizeof(point))
		return;
	char *end;
	long n = strtol(colon + 1, &end, 10);
	if (*end || n < 1)
		return;
	memcpy(point, e, (size_t)(colon - e));
	point[colon - e] = '\0';
	target = n;
}

void tlg_crash_point(const char *name)
{
	pthread_once(&once, crash_init);
	if (!target || strcmp(name, point))
		return;
	if (atomic_fetch_add(&hits, 1) + 1 == target)
		kill(getpid(), SIGKILL);
}
