/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auditor's signature checks (cvmforge verify IMAGE --pubkey PUB): both
 * envelopes under the public key, every signed subject against the file on
 * disk, no image file outside the signed subjects, the signed predicate
 * against measurements.json, and the same subjects in both statements.
 * Recomputing the measurements stays cvmf_verify's (builder/verify.c).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image.h"
#include "common/internal.h"
#include "common/json.h"
#include "sign/sgn.h"

struct vs {
	cvmf_ctx *ctx;
	cvmf_check_fn check;
	void *user;
	size_t bad;
};

static void report(struct vs *v, const char *what, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(struct vs *v, const char *what, bool ok, const char *fmt, ...)
{
	char detail[1200] = "";
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

/* Read, verify and parse one envelope; false (reported) if any step fails. */
static bool open_statement(struct vs *v, const char *sigdir, const char *file,
			   const cvmf_key *pub, const char *predicate_type,
			   struct sgn_statement *ret)
{
	char path[4400], what[300];
	uint8_t *env = NULL, *payload = NULL;
	size_t env_len = 0, len = 0;
	bool ok = false;
	img_pathf(path, sizeof(path), "%s/%s", sigdir, file);
	snprintf(what, sizeof(what), "signature %s", file);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		report(v, what, false, "missing: %s has no %s (sign it with `cvmforge sign`)",
		       sigdir, file);
		return false;
	}
	if (cmn_read_file(v->ctx, "signature", path, CVMF_DSSE_MAX_ENVELOPE, &env, &env_len)) {
		report(v, what, false, "%s", cvmf_ctx_errmsg(v->ctx));
		goto out;
	}
	if (cvmf_dsse_verify(v->ctx, file, pub, CVMF_DSSE_PAYLOAD_TYPE, env, env_len, &payload,
			     &len)) {
		report(v, what, false, "%s", cvmf_ctx_errmsg(v->ctx));
		goto out;
	}
	char pw[320];
	snprintf(pw, sizeof(pw), "%s payload", file);
	if (sgn_statement_parse(v->ctx, pw, payload, len, ret)) {
		report(v, what, false, "%s", cvmf_ctx_errmsg(v->ctx));
		goto out;
	}
	if (strcmp(ret->predicate_type, predicate_type)) {
		report(v, what, false, "%s payload: predicateType is \"%.200s\", expected \"%s\"",
		       file, ret->predicate_type, predicate_type);
		sgn_statement_clear(ret);
		goto out;
	}
	report(v, what, true, " ");
	ok = true;
out:
	free(env);
	free(payload);
	return ok;
}

static int cmp_subject_name(const void *key, const void *elem)
{
	return strcmp(*(const char *const *)key, ((const struct sgn_subject *)elem)->name);
}

/* Each subject against its file; each image file against the subjects. */
static int check_subjects(struct vs *v, const char *dir, const char *sigdir,
			  const struct sgn_statement *st)
{
	char path[4400], what[4400], a[97], b[97];
	for (size_t i = 0; i < st->n_subjects; i++) {
		const struct sgn_subject *s = &st->subjects[i];
		bool top_tar = !strchr(s->name, '/') && strlen(s->name) > 4 &&
			       !strcmp(s->name + strlen(s->name) - 4, ".tar");
		struct cvmf_file_digest d;
		snprintf(what, sizeof(what), "signed file %s", s->name);
		img_pathf(path, sizeof(path), "%s/%s", top_tar ? sigdir : dir, s->name);
		struct stat sb;
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			report(v, what, false, "%s: %s", path,
			       errno == ENOENT ? "missing" : "not a regular file");
			continue;
		}
		if (img_digest_file(v->ctx, path, &d)) {
			report(v, what, false, "%s", cvmf_ctx_errmsg(v->ctx));
			continue;
		}
		if (memcmp(d.sha256, s->sha256, 32)) {
			cvmf_hex(s->sha256, 32, a);
			cvmf_hex(d.sha256, 32, b);
			report(v, what, false, "sha256: signed %s, the file has %s", a, b);
		} else if (s->has_sha384 && memcmp(d.sha384, s->sha384, 48)) {
			cvmf_hex(s->sha384, 48, a);
			cvmf_hex(d.sha384, 48, b);
			report(v, what, false, "sha384: signed %s, the file has %s", a, b);
		} else {
			report(v, what, true, " ");
		}
	}
	/* Nothing is launched that the signature does not cover. */
	struct img_names files = { 0 };
	int rc = img_files(v->ctx, dir, &files);
	for (size_t i = 0; i < files.n && !rc; i++) {
		const char *name = files.v[i];
		if (bsearch(&name, st->subjects, st->n_subjects, sizeof(*st->subjects),
			    cmp_subject_name))
			continue;
		snprintf(what, sizeof(what), "file %s", name);
		report(v, what, false, "not a subject of the signed measurement statement");
	}
	img_names_free(&files);
	return rc;
}

int cvmf_verify_signatures(cvmf_ctx *ctx, const char *image, const cvmf_key *pub,
			   cvmf_check_fn check, void *user, size_t *ret_mismatches)
{
	struct vs v = { .ctx = ctx, .check = check, .user = user };
	struct sgn_statement ms = { 0 }, ps = { 0 };
	char dir[4200], sigdir[4200], path[4400];
	char *tmp = NULL;
	json_t *meas = NULL;
	struct stat st;
	int rc;

	if (stat(image, &st) != 0)
		return cmn_error(ctx, CVMF_E_IO, "%s: %s", image, strerror(errno));
	/* The envelopes sit in the image directory; beside a tarball given alone. */
	if (S_ISDIR(st.st_mode)) {
		img_pathf(sigdir, sizeof(sigdir), "%s", image);
	} else {
		char *copy = strdup(image);
		if (!copy)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		img_pathf(sigdir, sizeof(sigdir), "%s", dirname(copy));
		free(copy);
	}
	if ((rc = img_open(ctx, image, dir, sizeof(dir), &tmp)))
		return rc;

	bool m_ok = open_statement(&v, sigdir, CVMF_SIGN_MEASUREMENTS_FILE, pub,
				   CVMF_PREDICATE_MEASUREMENTS, &ms);
	bool p_ok = open_statement(&v, sigdir, CVMF_SIGN_PROVENANCE_FILE, pub,
				   CVMF_PREDICATE_SLSA, &ps);
	if (m_ok) {
		if ((rc = check_subjects(&v, dir, sigdir, &ms)))
			goto out;
		img_pathf(path, sizeof(path), "%s/%s", dir, IMG_MEASUREMENTS);
		char what[300], diff[1200];
		snprintf(what, sizeof(what), "signed measurements (%s)", IMG_MEASUREMENTS);
		if (cmn_json_read_file(ctx, "image measurements", path, 64u << 20, &meas))
			report(&v, what, false, "%s", cvmf_ctx_errmsg(ctx));
		else if (sgn_json_diff(ms.predicate, meas, diff, sizeof(diff)))
			report(&v, what, false, "the signed predicate and %s differ at %s "
			       "(signed / file)", IMG_MEASUREMENTS, diff);
		else
			report(&v, what, true, " ");
	}
	if (m_ok && p_ok) {
		char what[300];
		snprintf(what, sizeof(what), "signed subjects (%s)", CVMF_SIGN_PROVENANCE_FILE);
		json_t *a = json_object_get(ps.root, "subject"), *b = json_object_get(ms.root, "subject");
		char diff[1200];
		if (sgn_json_diff(a, b, diff, sizeof(diff)))
			report(&v, what, false, "the provenance and measurement statements have "
			       "other subjects: subject%s (provenance / measurements)", diff);
		else
			report(&v, what, true, " ");
	}
	if (p_ok) {
		const char *bt = json_string_value(
			json_object_get(json_object_get(ps.predicate, "buildDefinition"), "buildType"));
		if (!bt || strcmp(bt, CVMF_BUILD_TYPE))
			report(&v, "signed provenance buildType", false, "\"%.200s\", expected \"%s\"",
			       bt ? bt : "missing", CVMF_BUILD_TYPE);
	}
	rc = 0;
out:
	sgn_statement_clear(&ms);
	sgn_statement_clear(&ps);
	json_decref(meas);
	if (tmp) {
		img_rmtree(tmp);
		free(tmp);
	}
	if (ret_mismatches)
		*ret_mismatches = v.bad;
	return rc;
}
