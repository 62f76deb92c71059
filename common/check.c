/* SPDX-License-Identifier: Apache-2.0 */
/* The check reporter of the verifications (common/check.h). */
#include <stdarg.h>
#include <stdio.h>

#include "common/check.h"

void cmn_check(struct cmn_checks *c, const char *what, bool ok, const char *fmt, ...)
{
	char detail[1200] = "";
	if (!ok) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
		c->bad++;
	}
	if (c->check)
		c->check(c->user, what, ok, detail);
}
