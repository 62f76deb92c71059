/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: build from a recipe, verify, reproduce (docs/build.md).
 * Part of the public API; include <cvmforge/cvmforge.h>. The rules stated
 * in cvmforge/core.h hold for every function here.
 */
#ifndef CVMFORGE_BUILD_H
#define CVMFORGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvmforge/core.h"
#include "cvmforge/measure.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ------------------------------------------------------------------------
 * Images: build from a recipe, verify, reproduce (docs/build.md). The
 * library never prints: progress and per-check results go to callbacks.
 */

struct cvmf_build_opts {
	const char *recipe_path;
	const char *out_dir;            /* the image is OUT/NAME-VERSION */
	const char *cache_dir;          /* NULL: $XDG_CACHE_HOME/cvmforge or ~/.cache/cvmforge */
	bool lock;                      /* write RECIPE.lock with every input's digest */
	bool force;                     /* replace an existing OUT/NAME-VERSION */
	unsigned workers;               /* zstd workers; 0: the online CPUs. No effect on bytes */
	cvmf_progress_fn progress;
	void *progress_user;
};

#define CVMF_BUILD_MAX_WARNINGS 8
struct cvmf_build_result {
	char image_dir[4096];           /* OUT/NAME-VERSION */
	char tar_path[4096];            /* OUT/NAME-VERSION/NAME-VERSION.tar */
	char lock_path[4096];           /* written when opts.lock */
	size_t n_inputs;
	size_t n_warnings;
	char warnings[CVMF_BUILD_MAX_WARNINGS][320];
	/* Where the time went, in seconds (bench/). */
	double t_inputs, t_initrd, t_measure, t_write, t_total;
};

int cvmf_build(cvmf_ctx *ctx, const struct cvmf_build_opts *opts, struct cvmf_build_result *ret);

/* Every recipe key, for help texts (docs/recipe.md has the same table). */
struct cvmf_recipe_key {
	const char *section, *key;
	const char *value;              /* "SOURCE", "yes|no", "LIST", ... */
	const char *help;               /* one line, with the default */
};
size_t cvmf_recipe_keys(const struct cvmf_recipe_key **ret);

/* Recompute every measurement of an image (a directory written by
 * cvmf_build, or its tarball) from its own files and the parameters
 * recorded in measurements.json, check every file against manifest.json,
 * and report each check. *ret_mismatches counts the failed checks; the
 * return value is an error only when the image cannot be read. */
int cvmf_verify(cvmf_ctx *ctx, const char *image, cvmf_check_fn check, void *user,
		size_t *ret_mismatches);

/* Rebuild a recipe in a temporary directory and compare it with an image
 * (directory or tarball), file by file and, for the initrd, entry by entry. */
int cvmf_reproduce(cvmf_ctx *ctx, const struct cvmf_build_opts *opts, const char *against,
		   cvmf_check_fn check, void *user, size_t *ret_differences);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CVMFORGE_BUILD_H */
