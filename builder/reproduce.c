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
#include "common/file.h"
#include "common/write.h"

static bool is_text(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".json")) || (n > 3 && !strcmp(name + n - 3, ".sh")) ||
	       (n > 4 && !strcmp(name + n - 4, ".txt"));
}

/* The initrds are described entry by entry (in memory) up to this size each;
 * beyond it, by the first differing byte. */
#define CPIO_DIFF_MAX ((uint64_t)512 << 20)

/* Describe how two files differ, given where their first difference is
 * (cmn_compare_inputs). Reads at most the identical prefix, streaming, and
 * two short windows; only the initrd's entry-level diff reads whole files. */
static void describe(cvmf_ctx *ctx, const char *name, const char *pa, const char *pb,
		     uint64_t off, uint64_t alen, uint64_t blen, char *out, size_t len)
{
	int fa = -1, fb = -1;
	uint8_t *buf = NULL;
	if (!strcmp(name, IMG_INITRD) && alen <= CPIO_DIFF_MAX && blen <= CPIO_DIFF_MAX) {
		uint8_t *a = NULL, *b = NULL;
		size_t la = 0, lb = 0;
		int rc = cmn_read_file(ctx, "rebuilt initrd", pa, CPIO_DIFF_MAX, &a, &la);
		if (!rc)
			rc = cmn_read_file(ctx, "image initrd", pb, CPIO_DIFF_MAX, &b, &lb);
		if (!rc)
			rc = bld_cpio_diff(ctx, a, la, b, lb, out, len);
		if (rc < 0)
			snprintf(out, len, "the initrds differ; one cannot be read as cpio: %s",
				 cvmf_ctx_errmsg(ctx));
		free(a);
		free(b);
		return;
	}
	fa = cmn_input_open(ctx, "rebuilt file", pa, CMN_MAX_STREAM, CMN_IN_NOFOLLOW, NULL);
	fb = cmn_input_open(ctx, "image file", pb, CMN_MAX_STREAM, CMN_IN_NOFOLLOW, NULL);
	enum { CHUNK = 64 * 1024, SHOW = 200 };
	buf = malloc(CHUNK);
	if (fa < 0 || fb < 0 || !buf) {
		snprintf(out, len, "first difference at byte %" PRIu64 "; sizes %" PRIu64 " and %"
			 PRIu64, off, alen, blen);
		goto out;
	}
	if (is_text(name)) {
		/* The line of the first difference: count lines in the common prefix. */
		uint64_t line = 1, start = 0;
		for (uint64_t p = 0; p < off;) {
			size_t n = off - p < CHUNK ? (size_t)(off - p) : CHUNK;
			if (cmn_file_pread(ctx, "rebuilt file", pa, fa, p, buf, n))
				break;
			for (size_t i = 0; i < n; i++)
				if (buf[i] == '\n') {
					line++;
					start = p + i + 1;
				}
			p += n;
		}
		char la[SHOW + 1], lb[SHOW + 1];
		size_t na = alen - start < SHOW ? (size_t)(alen - start) : SHOW;
		size_t nb = blen - start < SHOW ? (size_t)(blen - start) : SHOW;
		if (cmn_file_pread(ctx, "rebuilt file", pa, fa, start, la, na))
			na = 0;
		if (cmn_file_pread(ctx, "image file", pb, fb, start, lb, nb))
			nb = 0;
		la[na] = lb[nb] = 0;
		size_t ea = strcspn(la, "\n"), eb = strcspn(lb, "\n");
		int n = snprintf(out, len, "line %" PRIu64 ": rebuilt \"%.*s\", image \"%.*s\"",
				 line, (int)(ea < na ? ea : na), la, (int)(eb < nb ? eb : nb), lb);
		if (alen != blen && n > 0 && (size_t)n < len)
			snprintf(out + n, len - (size_t)n, " (sizes %" PRIu64 " and %" PRIu64 " bytes)",
				 alen, blen);
	} else if (off == alen || off == blen) {
		snprintf(out, len, "sizes differ: rebuilt %" PRIu64 " bytes, image %" PRIu64
			 " bytes (equal up to the shorter)", alen, blen);
	} else {
		uint8_t ca = 0, cb = 0;
		if (cmn_file_pread(ctx, "rebuilt file", pa, fa, off, &ca, 1) ||
		    cmn_file_pread(ctx, "image file", pb, fb, off, &cb, 1))
			snprintf(out, len, "first difference at byte %" PRIu64 "; sizes %" PRIu64
				 " and %" PRIu64, off, alen, blen);
		else
			snprintf(out, len, "first difference at byte %" PRIu64 " (rebuilt 0x%02x, "
				 "image 0x%02x); sizes %" PRIu64 " and %" PRIu64, off, ca, cb, alen,
				 blen);
	}
out:
	free(buf);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
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
		bool same;
		uint64_t off, la, lb;
		if ((rc = cmn_compare_inputs(ctx, "rebuilt file", pa, "image file", pb,
					     CMN_MAX_STREAM, CMN_IN_NOFOLLOW, &same, &off, &la, &lb)))
			goto out;
		if (same) {
			check(user, what, true, "");
		} else {
			char detail[1024];
			describe(ctx, name, pa, pb, off, la, lb, detail, sizeof(detail));
			(*ndiff)++;
			check(user, what, false, detail);
		}
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
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", against, strerror(errno));
	/* $TMPDIR/cvmforge-reproduce-xxxxxx: locked, removed on SIGINT/SIGTERM
	 * (common/write.h); killed runs' leftovers are swept first. */
	const char *base = getenv("TMPDIR");
	base = base && *base ? base : "/tmp";
	char *tmp = NULL;
	cmn_tmpdir_sweep(base, "cvmforge-reproduce-");
	int trc = cmn_tmpdir_create(ctx, base, "cvmforge-reproduce-", &tmp);
	if (trc)
		return trc;
	struct cvmf_build_opts o = *opts;
	o.out_dir = tmp;
	o.force = false;
	o.lock = false;
	struct cvmf_build_result *res = calloc(1, sizeof(*res));
	char dir[4200];
	char *extracted = NULL;
	struct img_names check_names = { 0 };
	/* The image first: one that cannot be read (a link or a FIFO in it)
	 * is refused before the rebuild. */
	int rc = res ? img_open(ctx, against, dir, sizeof(dir), &extracted) :
		       cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (!rc)
		rc = img_files(ctx, dir, &check_names);
	img_names_free(&check_names);
	if (!rc)
		rc = cvmf_build(ctx, &o, res);
	if (rc)
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
		bool same;
		uint64_t off, la, lb;
		if (access(theirs, F_OK)) {
			(*ret_differences)++;
			check(user, what, false, "the image has no tarball");
		} else if (!(rc = cmn_compare_inputs(ctx, "rebuilt tarball", res->tar_path,
						     "tarball", theirs, CMN_MAX_STREAM, 0, &same,
						     &off, &la, &lb))) {
			char detail[200] = "";
			if (!same) {
				(*ret_differences)++;
				snprintf(detail, sizeof(detail), "the tarball's bytes differ from "
					 "byte %" PRIu64 " (sizes %" PRIu64 " and %" PRIu64 ")", off,
					 la, lb);
			}
			check(user, what, same, detail);
		}
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
