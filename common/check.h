/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reporting the checks of a verification (cvmf_verify, cvmf_verify_signatures,
 * cvmf_reproduce): each check goes to the caller's cvmf_check_fn with a name,
 * a verdict and, for a failure, a detail; failures are counted. Internal, not
 * installed.
 */
#ifndef CMN_CHECK_H
#define CMN_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "cvmforge/cvmforge.h"

struct cmn_checks {
	cvmf_ctx *ctx;          /* for the checks' own errors */
	cvmf_check_fn check;    /* NULL: only count */
	void *user;
	size_t bad;             /* failed checks so far */
};

/* Report check `what`. A failure (ok false) counts in c->bad and gets the
 * detail formatted from fmt (cut at 1199 bytes); a success gets "" (fmt is
 * not formatted). */
void cmn_check(struct cmn_checks *c, const char *what, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
