/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the log tests: building and running ../shared/tools/tlogcheck. */
#ifndef CVMF_TLOGTEST_H
#define CVMF_TLOGTEST_H

#include <libgen.h>

#include "tests/unit/testlib.h"

/* build/tlogcheck, built from ../shared with Debian's Go and x/mod (offline);
 * NULL, with the reason printed, if ../shared or Go is absent. Never in git. */
static inline const char *t_tlogcheck(void)
{
	static char path[4096];
	static int state;       /* 0 unknown, 1 built, -1 unavailable */
	if (state)
		return state > 0 ? path : NULL;
	state = -1;
	char *src = t_shared_file("tools/tlogcheck/main.go");
	if (!src)
		return NULL;
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s", t_bin());
	snprintf(path, sizeof(path), "%s/tlogcheck", dirname(bin));
	if (access(path, X_OK) != 0) {
		struct run r = t_sh("command -v go >/dev/null || exit 77; cd '%s/tools/tlogcheck' && "
				    "HOME=${HOME:-/tmp} GOCACHE='%s.gocache' GO111MODULE=off "
				    "GOPATH=/usr/share/gocode GOFLAGS= go build -o '%s' . 2>&1",
				    t_shared(), path, path);
		if (r.status == 77) {
			printf("# SKIP reason: go is not installed (scripts/deps.sh check installs "
			       "golang-go and golang-golang-x-mod-dev); tlogcheck cannot be built\n");
			t_run_free(&r);
			free(src);
			return NULL;
		}
		if (r.status != 0)
			fail_msg("building tlogcheck failed: %s", r.out);
		t_run_free(&r);
	}
	free(src);
	state = 1;
	return path;
}

#endif
