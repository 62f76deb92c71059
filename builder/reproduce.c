/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge reproduce: rebuild a recipe in a temporary directory and compare
 * the result with an image, file by file; for the initrd, entry by entry
 * (builder/cpio_diff.c); for text files, the first differing line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image.h"

static bool is_text(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".json")) || (n > 3 && !strcmp(name + n - 3, ".sh")) ||
	       (n > 4 && !strcmp(name + n - 4, ".txt"));
}

/* Describe how two byte strings differ. */
static void describe(cvmf_ctx *ctx, const char *name, const uint8_t *a, size_t alen,
		     const uint8_t *b, size_t blen, char *out, size_t len)
{
	if (!strcmp(name, IMG_INITRD)) {
		int rc = bld_cpio_diff(ctx, a, alen, b, blen, out, len);
		if (rc < 0)
			snprintf(out, len, "the initrds differ; one cannot be read as cpio: %s",
				 cvmf_ctx_errmsg(ctx));
		return;
	}
	size_t i = 0, line = 1, start = 0;
	size_t m = alen < blen ? alen : blen;
	while (i < m && a[i] == b[i]) {
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	if (is_text(name)) {
		size_t ea = start, eb = start;
		while (ea < alen && a[ea] != '\n')
			ea++;
		while (eb < blen && b[eb] != '\n')
			eb++;
		snprintf(out, len, "line %zu: rebuilt \"%.*s\", image \"%.*s\"", line,
			 (int)(ea - start > 200 ? 200 : ea - start), (const char *)a + start,
			 (int)(eb - start > 200 ? 200 : eb - start), (const char *)b + start);
	} else if (i == m) {
		snprintf(out, len, "sizes differ: rebuilt %zu bytes, image %zu bytes (equal up "
			 "to the shorter)", alen, blen);
	} else {
		snprintf(out, len, "first difference at byte %zu (rebuilt 0x%02x, image 0x%02x); "
			 "sizes %zu and %zu", i, a[i], b[i], alen, blen);
	}
}

static int compare_dirs(cvmf_ctx *ctx, const char *mine, const char *theirs, cvmf_check_fn check,
			void *user, size_t *ndiff)
{
	struct img_names a = { 0 }, b = { 0 };
	int rc = img_files(ctx, mine, &a);
	if (!rc)
		rc = img_files(ctx, theirs, &b);
	if (rc)
		goto out;
	size_t i = 0, j = 0;
	while (i < a.n || j < b.n) {
		int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.v[i], b.v[j]);
		char what[4300];
		if (c < 0) {
			snprintf(what, sizeof(what), "file %s", a.v[i++]);
			(*ndiff)++;
			check(user, what, false, "the rebuild has it, the image does not");
			continue;
		}
		if (c > 0) {
			snprintf(what, sizeof(what), "file %s", b.v[j++]);
			(*ndiff)++;
			check(user, what, false, "the image has it, the rebuild does not");
			continue;
		}
		const char *name = a.v[i];
		snprintf(what, sizeof(what), "file %s", name);
		char pa[4400], pb[4400];
		img_pathf(pa, sizeof(pa), "%s/%s", mine, name);
		img_pathf(pb, sizeof(pb), "%s/%s", theirs, name);
		uint8_t *da = NULL, *db = NULL;
		size_t la = 0, lb = 0;
		if ((rc = cvmf_read_file(ctx, "rebuilt file", pa, (size_t)4 << 30, &da, &la)) ||
		    (rc = cvmf_read_file(ctx, "image file", pb, (size_t)4 << 30, &db, &lb))) {
			free(da);
			goto out;
		}
		if (la == lb && !memcmp(da, db, la)) {
			check(user, what, true, "");
		} else {
			char detail[1024];
			describe(ctx, name, da, la, db, lb, detail, sizeof(detail));
			(*ndiff)++;
			check(user, what, false, detail);
		}
		free(da);
		free(db);
		i++;
		j++;
	}
out:
	img_names_free(&a);
	img_names_free(&b);
	return rc;
}

int cvmf_reproduce(cvmf_ctx *ctx, const struct cvmf_build_opts *opts, const char *against,
		   cvmf_check_fn check, void *user, size_t *ret_differences)
{
	*ret_differences = 0;
	struct stat st;
	if (stat(against, &st))
		return cvmf_error(ctx, CVMF_E_IO, "%s: %s", against, strerror(errno));
	const char *base = getenv("TMPDIR");
	char *tmp;
	if (asprintf(&tmp, "%s/cvmforge-reproduce-XXXXXX", base && *base ? base : "/tmp") < 0)
		return cvmf_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (!mkdtemp(tmp)) {
		int e = errno;
		free(tmp);
		return cvmf_error(ctx, CVMF_E_IO, "cannot create a temporary directory: %s",
				  strerror(e));
	}
	struct cvmf_build_opts o = *opts;
	o.out_dir = tmp;
	o.force = false;
	o.lock = false;
	struct cvmf_build_result *res = calloc(1, sizeof(*res));
	char dir[4200];
	char *extracted = NULL;
	int rc = res ? cvmf_build(ctx, &o, res) : cvmf_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (rc)
		goto out;
	if ((rc = img_open(ctx, against, dir, sizeof(dir), &extracted)))
		goto out;
	rc = compare_dirs(ctx, res->image_dir, dir, check, user, ret_differences);
	if (!rc) {
		/* The tarball itself, byte for byte: the given one, or the image's. */
		char theirs[4400];
		const char *tar_name = strrchr(res->tar_path, '/');
		if (S_ISREG(st.st_mode))
			img_pathf(theirs, sizeof(theirs), "%s", against);
		else
			img_pathf(theirs, sizeof(theirs), "%s%s", dir, tar_name);
		char what[4500];
		snprintf(what, sizeof(what), "tarball %s", tar_name + 1);
		uint8_t *da = NULL, *db = NULL;
		size_t la, lb;
		if (access(theirs, F_OK)) {
			(*ret_differences)++;
			check(user, what, false, "the image has no tarball");
		} else if (!(rc = cvmf_read_file(ctx, "rebuilt tarball", res->tar_path,
						 (size_t)4 << 30, &da, &la)) &&
			   !(rc = cvmf_read_file(ctx, "tarball", theirs, (size_t)4 << 30, &db, &lb))) {
			bool same = la == lb && !memcmp(da, db, la);
			if (!same)
				(*ret_differences)++;
			check(user, what, same, same ? "" : "the tarball's bytes differ");
		}
		free(da);
		free(db);
	}
out:
	if (extracted) {
		img_rmtree(extracted);
		free(extracted);
	}
	img_rmtree(tmp);
	free(tmp);
	free(res);
	return rc;
}
