/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge verify: the auditor's path. From an image's own files, with no
 * recipe and no network: every file against manifest.json, and every
 * measurement recomputed (builder/measurements.c) against measurements.json.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image.h"
#include "common/file.h"

struct verify {
	cvmf_ctx *ctx;
	cvmf_check_fn check;
	void *user;
	size_t bad;
};

static void report(struct verify *v, const char *what, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(struct verify *v, const char *what, bool ok, const char *fmt, ...)
{
	char detail[1024] = "";
	if (!ok) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
		v->bad++;
	}
	if (v->check)
		v->check(v->user, what, ok, detail);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Compare two {size, sha256, sha384} objects. */
static void cmp_digest(struct verify *v, const char *what, json_t *want, json_t *got)
{
	if (!json_is_object(want)) {
		report(v, what, false, "no digest recorded");
		return;
	}
	for (const char *const *k = (const char *const[]){ "size", "sha256", "sha384", NULL }; *k; k++)
		if (!json_equal(json_object_get(want, *k), json_object_get(got, *k))) {
			char *a = json_dumps(json_object_get(want, *k), JSON_ENCODE_ANY);
			char *b = json_dumps(json_object_get(got, *k), JSON_ENCODE_ANY);
			report(v, what, false, "%s: recorded %s, the file has %s", *k, a ? a : "null",
			       b ? b : "null");
			free(a);
			free(b);
			return;
		}
	report(v, what, true, " ");
}

/* Files the manifest does not list. */
static int check_files(struct verify *v, const char *dir, json_t *outputs)
{
	struct img_names files = { 0 };
	int rc = img_files(v->ctx, dir, &files);
	for (size_t i = 0; i < files.n && !rc; i++) {
		if (!strcmp(files.v[i], IMG_MANIFEST) || json_object_get(outputs, files.v[i]))
			continue;
		char what[4300];
		snprintf(what, sizeof(what), "file %s", files.v[i]);
		report(v, what, false, "not listed in %s", IMG_MANIFEST);
	}
	img_names_free(&files);
	return rc;
}

/*
 * The tarball: exactly the deterministic tarball (builder/tar.c) of the
 * image's files, regenerated in constant memory and compared as it is
 * produced. In a directory, NAME-VERSION.tar beside the files; a tarball
 * given as the image is checked when it is a plain (uncompressed) tar.
 */
static int check_tarball(struct verify *v, const char *image, const char *dir, bool given,
			 json_t *manifest)
{
	json_t *img = json_object_get(manifest, "image");
	json_t *sde = json_object_get(manifest, "source-date-epoch");
	const char *name = jstr(img, "name"), *version = jstr(img, "version");
	char stem[600], tar_name[700], path[4400], what[800], diff[1500] = "";
	snprintf(stem, sizeof(stem), "%s-%s", name, version);
	snprintf(tar_name, sizeof(tar_name), "%s.tar", stem);
	snprintf(what, sizeof(what), "tarball %s", given ? image : tar_name);
	if (!*name || !*version || !json_is_integer(sde) || json_integer_value(sde) < 0) {
		report(v, what, false, "%s has no image name, version and source-date-epoch to "
		       "check it with", IMG_MANIFEST);
		return 0;
	}
	if (given) {
		img_pathf(path, sizeof(path), "%s", image);
		uint8_t hdr[263];
		uint64_t size = 0;
		int fd = cmn_input_open(v->ctx, "tarball", path, CMN_MAX_STREAM, 0, &size);
		if (fd < 0)
			return fd;
		bool plain = size >= sizeof(hdr) &&
			     !cmn_file_pread(v->ctx, "tarball", path, fd, 0, hdr, sizeof(hdr)) &&
			     !memcmp(hdr + 257, "ustar", 5);
		close(fd);
		if (!plain)
			return 0;   /* compressed: its content is what was checked */
	} else {
		img_pathf(path, sizeof(path), "%s/%s", dir, tar_name);
		struct stat st;
		if (lstat(path, &st) && errno == ENOENT) {
			report(v, what, false, "missing: build writes it beside the files");
			return 0;
		}
	}
	bool same = false;
	int rc = bld_tar_compare(v->ctx, dir, given ? NULL : tar_name, stem,
				 (uint64_t)json_integer_value(sde), path, &same, diff, sizeof(diff));
	if (!rc)
		report(v, what, same, "not the tarball of the image's files: %s", diff);
	return rc;
}

static void snp_label(json_t *m, char *out, size_t len)
{
	snprintf(out, len, "snp %s vcpus=%" JSON_INTEGER_FORMAT " cpu=%s features=%s launch-digest",
		 jstr(m, "vmm"), json_integer_value(json_object_get(m, "vcpus")), jstr(m, "cpu-type"),
		 jstr(m, "guest-features"));
}

static void cmp_list(struct verify *v, const char *plat, json_t *want, json_t *got)
{
	json_t *wl = json_object_get(want, "measurements"), *gl = json_object_get(got, "measurements");
	if (json_array_size(wl) != json_array_size(gl)) {
		report(v, plat, false, "%zu measurements recorded, the parameters give %zu",
		       json_array_size(wl), json_array_size(gl));
		return;
	}
	size_t i;
	json_t *g;
	json_array_foreach(gl, i, g) {
		json_t *w = json_array_get(wl, i);
		char what[512];
		if (!strcmp(plat, "snp")) {
			snp_label(g, what, sizeof(what));
			static const char *const keys[] = { "vmm", "vcpus", "cpu-type", "vcpu-sig",
							    "guest-features" };
			bool same = true;
			for (size_t k = 0; k < CMN_ARRAY_SIZE(keys); k++)
				same = same && json_equal(json_object_get(w, keys[k]),
							  json_object_get(g, keys[k]));
			if (!same)
				report(v, what, false, "entry %zu of snp.measurements has other "
				       "parameters than the recomputed one", i);
			else if (!json_equal(json_object_get(w, "launch-digest"),
					     json_object_get(g, "launch-digest")))
				report(v, what, false, "recorded %s, recomputed %s",
				       jstr(w, "launch-digest"), jstr(g, "launch-digest"));
			else
				report(v, what, true, " ");
			continue;
		}
		for (const char *const *k = (const char *const[]){ "mrtd", "rtmr0", "rtmr1", "rtmr2",
								   "rtmr3", NULL }; *k; k++) {
			snprintf(what, sizeof(what), "tdx memory=%" JSON_INTEGER_FORMAT "M %s %s",
				 json_integer_value(json_object_get(g, "memory")) >> 20,
				 jstr(g, "page-order"), *k);
			json_t *a = json_object_get(w, *k), *b = json_object_get(g, *k);
			if (json_is_null(b) && (!a || json_is_null(a)))
				continue;   /* not computed (RTMR0 without ACPI tables), both sides */
			if (!json_equal(json_object_get(w, "memory"), json_object_get(g, "memory")) ||
			    !json_equal(json_object_get(w, "page-order"), json_object_get(g, "page-order")))
				report(v, what, false, "entry %zu of tdx.measurements has other "
				       "parameters than the recomputed one", i);
			else if (!json_equal(a, b))
				report(v, what, false, "recorded %s, recomputed %s",
				       json_is_string(a) ? json_string_value(a) : "null",
				       json_is_string(b) ? json_string_value(b) : "null");
			else
				report(v, what, true, " ");
		}
	}
}

int cvmf_verify(cvmf_ctx *ctx, const char *image, cvmf_check_fn check, void *user,
		size_t *ret_mismatches)
{
	struct verify v = { .ctx = ctx, .check = check, .user = user };
	char dir[4200];
	char *tmp = NULL;
	json_t *manifest = NULL, *meas = NULL, *fresh = NULL, *platforms = NULL;
	int rc = img_open(ctx, image, dir, sizeof(dir), &tmp);
	if (rc)
		return rc;
	char path[4400];
	/* Both documents have their documented shape before anything is compared. */
	if ((rc = img_read_manifest(ctx, dir, &manifest)) ||
	    (rc = img_read_measurements(ctx, dir, &meas)))
		goto out;

	/* Before any file is hashed: only regular files and directories (a link
	 * could leave the image; a FIFO or a device would never end). */
	struct img_names listed = { 0 };
	rc = img_files(ctx, dir, &listed);
	img_names_free(&listed);
	if (rc)
		goto out;

	/* 1. Every file as the manifest lists it, and nothing else. */
	json_t *outputs = json_object_get(manifest, "outputs");
	const char *key;
	json_t *val;
	json_object_foreach(outputs, key, val) {
		char what[4300];
		snprintf(what, sizeof(what), "file %s", key);
		if (strstr(key, "..") || key[0] == '/') {
			report(&v, what, false, "refused: the name leaves the image");
			continue;
		}
		img_pathf(path, sizeof(path), "%s/%s", dir, key);
		struct cvmf_file_digest d;
		if (img_digest_file(ctx, path, &d)) {
			report(&v, what, false, "%s", cvmf_ctx_errmsg(ctx));
			continue;
		}
		json_t *got = cmn_json_digest(&d);
		cmp_digest(&v, what, val, got);
		json_decref(got);
	}
	if ((rc = check_files(&v, dir, outputs)))
		goto out;
	if ((rc = check_tarball(&v, image, dir, tmp != NULL, manifest)))
		goto out;

	/* 2. Every measurement, recomputed from the files and the recorded parameters. */
	platforms = json_object();
	for (const char *const *p = (const char *const[]){ "snp", "tdx", NULL }; *p; p++) {
		json_t *plat = json_object_get(meas, *p);
		if (plat)
			json_object_set(platforms, *p, json_object_get(plat, "params"));
	}
	if ((rc = img_measure(ctx, dir, jstr(meas, "image"), platforms, &fresh)))
		goto out;
	json_object_foreach(json_object_get(fresh, "files"), key, val) {
		char what[300];
		snprintf(what, sizeof(what), "measured input %s", key);
		cmp_digest(&v, what, json_object_get(json_object_get(meas, "files"), key), val);
	}
	for (const char *const *p = (const char *const[]){ "snp", "tdx", NULL }; *p; p++)
		if (json_object_get(fresh, *p))
			cmp_list(&v, *p, json_object_get(meas, *p), json_object_get(fresh, *p));
out:
	json_decref(manifest);
	json_decref(meas);
	json_decref(fresh);
	json_decref(platforms);
	if (tmp) {
		img_rmtree(tmp);
		free(tmp);
	}
	if (ret_mismatches)
		*ret_mismatches = v.bad;
	return rc;
}
