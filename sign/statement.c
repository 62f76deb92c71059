/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two in-toto Statements (v1) of an image, written as canonical JSON
 * (common/json.h) so that the same image gives the same payload bytes:
 *
 *   - the measurement statement: predicateType CVMF_PREDICATE_MEASUREMENTS,
 *     predicate = the content of measurements.json, verbatim;
 *   - the SLSA provenance v1 statement: buildDefinition from manifest.json
 *     (recipe and lock digests, every input as a resolved dependency with its
 *     digest and source), runDetails.builder with the tool versions, and
 *     nothing that changes from one run to the next (no timestamps).
 *
 * Both have the same subjects: every file of the image and its tarball,
 * sorted bytewise by name, each with its sha256, and its sha384 too when
 * measurements.json lists it as measured. Before anything is signed, every
 * file is checked against manifest.json: a signer never vouches for an image
 * that does not match its own manifest.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image.h"
#include "common/internal.h"
#include "common/json.h"
#include "sign/sgn.h"

/* manifest.json and measurements.json are small; anything bigger is not ours. */
#define DOC_MAX (64u << 20)
#define SUBJECTS_MAX 100000u

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* The image's documents, checked for their format. */
static int read_docs(cvmf_ctx *ctx, const char *dir, json_t **ret_manifest, json_t **ret_meas)
{
	char path[4400];
	json_t *man = NULL, *meas = NULL;
	int r;
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_MANIFEST);
	if ((r = cmn_json_read_file(ctx, "image manifest", path, DOC_MAX, &man)) < 0)
		goto out;
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_MEASUREMENTS);
	if ((r = cmn_json_read_file(ctx, "image measurements", path, DOC_MAX, &meas)) < 0)
		goto out;
	const char *mf = json_string_value(json_object_get(man, "format"));
	const char *sf = json_string_value(json_object_get(meas, "format"));
	if (!mf || strcmp(mf, IMG_MANIFEST_FORMAT) || !sf || strcmp(sf, IMG_MEASUREMENTS_FORMAT)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: not a cvmforge image (format %s / %s; "
			       "expected %s / %s)", dir, mf ? mf : "none", sf ? sf : "none",
			       IMG_MANIFEST_FORMAT, IMG_MEASUREMENTS_FORMAT);
		goto out;
	}
	if (!json_is_object(json_object_get(man, "outputs"))) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s/%s: no \"outputs\" object", dir, IMG_MANIFEST);
		goto out;
	}
	*ret_manifest = man;
	*ret_meas = meas;
	man = meas = NULL;
	r = 0;
out:
	json_decref(man);
	json_decref(meas);
	return r;
}

/* Compare one recorded {sha256, sha384, size} with the file's digests. */
static int check_recorded(cvmf_ctx *ctx, const char *doc, const char *name, json_t *rec,
			  const struct cvmf_file_digest *d)
{
	char hex[97];
	const char *want;
	cvmf_hex(d->sha256, 32, hex);
	if ((want = json_string_value(json_object_get(rec, "sha256"))) && strcmp(want, hex))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "file %s: sha256 %s, %s records %s; refusing to sign an image "
				  "that does not match it (cvmforge verify says more)", name, hex,
				  doc, want);
	cvmf_hex(d->sha384, 48, hex);
	if ((want = json_string_value(json_object_get(rec, "sha384"))) && strcmp(want, hex))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "file %s: sha384 %s, %s records %s; refusing to sign an image "
				  "that does not match it (cvmforge verify says more)", name, hex,
				  doc, want);
	return 0;
}

/* The sorted subject list of the image in dir. */
static int subjects(cvmf_ctx *ctx, const char *dir, json_t *man, json_t *meas, json_t **ret)
{
	struct img_names files = { 0 };
	json_t *list = NULL, *outputs = json_object_get(man, "outputs");
	json_t *measured = json_object_get(meas, "files");
	DIR *d = NULL;
	int r;

	if ((r = img_files(ctx, dir, &files)) < 0)
		goto out;
	/* The tarball(s) at the top, which img_files leaves out. */
	if (!(d = opendir(dir))) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot read image directory '%s': %s", dir,
			       strerror(errno));
		goto out;
	}
	for (struct dirent *e; (e = readdir(d));) {
		char path[4400];
		struct stat st;
		if (!ends_with(e->d_name, ".tar"))
			continue;
		img_pathf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (files.n == files.cap) {
			size_t cap = files.cap ? 2 * files.cap : 16;
			char **v = realloc(files.v, cap * sizeof(*v));
			if (!v) {
				r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				goto out;
			}
			files.v = v;
			files.cap = cap;
		}
		if (!(files.v[files.n] = strdup(e->d_name))) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		files.n++;
	}
	qsort(files.v, files.n, sizeof(*files.v), cmp_str);
	if (files.n > SUBJECTS_MAX) {
		r = cmn_error(ctx, CVMF_E_INVAL, "%s: %zu files, more than the %u subjects a "
			       "statement may have", dir, files.n, SUBJECTS_MAX);
		goto out;
	}

	/* Every output the manifest lists must be there. */
	const char *key;
	json_t *val;
	json_object_foreach(outputs, key, val) {
		if (!bsearch(&key, files.v, files.n, sizeof(*files.v), cmp_str)) {
			r = cmn_error(ctx, CVMF_E_INVAL, "%s: %s lists %s, which is missing; refusing "
				       "to sign", dir, IMG_MANIFEST, key);
			goto out;
		}
	}

	list = json_array();
	if (!list) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < files.n; i++) {
		const char *name = files.v[i];
		char path[4400];
		struct cvmf_file_digest fd;
		json_t *rec = json_object_get(outputs, name);
		bool top_tar = !strchr(name, '/') && ends_with(name, ".tar");
		img_pathf(path, sizeof(path), "%s/%s", dir, name);
		struct stat st;
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			r = cmn_error(ctx, CVMF_E_INVAL, "%s: %s is not a regular file (a link or "
				       "special file); refusing to sign it", dir, name);
			goto out;
		}
		if ((r = img_digest_file(ctx, path, &fd)) < 0)
			goto out;
		if (rec && (r = check_recorded(ctx, IMG_MANIFEST, name, rec, &fd)) < 0)
			goto out;
		if (!rec && strcmp(name, IMG_MANIFEST) && !top_tar) {
			r = cmn_error(ctx, CVMF_E_INVAL, "%s: file %s is not listed in %s; refusing "
				       "to sign it", dir, name, IMG_MANIFEST);
			goto out;
		}
		json_t *m = json_object_get(measured, name);
		if (m && (r = check_recorded(ctx, IMG_MEASUREMENTS, name, m, &fd)) < 0)
			goto out;
		json_t *digest = json_object(), *subj = json_object();
		if (!digest || !subj ||
		    json_object_set_new(digest, "sha256", cmn_json_hex(fd.sha256, 32)) ||
		    (m && json_object_set_new(digest, "sha384", cmn_json_hex(fd.sha384, 48))) ||
		    json_object_set_new(subj, "name", json_string(name)) ||
		    json_object_set_new(subj, "digest", digest) ||
		    json_array_append_new(list, subj)) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
	}
	*ret = list;
	list = NULL;
	r = 0;
out:
	if (d)
		closedir(d);
	json_decref(list);
	img_names_free(&files);
	return r;
}

static int statement(cvmf_ctx *ctx, json_t *subj, const char *predicate_type, json_t *pred,
		     char **ret, size_t *ret_len)
{
	json_t *st = json_object();
	int r;
	if (!st || json_object_set_new(st, "_type", json_string(CVMF_STATEMENT_TYPE)) ||
	    json_object_set(st, "subject", subj) ||
	    json_object_set_new(st, "predicateType", json_string(predicate_type)) ||
	    json_object_set(st, "predicate", pred))
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	else
		r = cmn_json_canonical(ctx, st, ret, ret_len);
	json_decref(st);
	return r;
}

/* ---- SLSA provenance v1 ---- */

/* Percent-encode a purl component (RFC 3986 unreserved kept). */
static void purl_escape(const char *s, char *out, size_t len)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hexd[c >> 4];
			out[o++] = hexd[c & 15];
		}
	}
	out[o] = 0;
}

/* A resolved dependency for the .deb an input came from (once per .deb):
 * {"name": FILE, "uri": "pkg:deb/debian/PKG@VERSION?arch=ARCH", "digest": {"sha256"}}. */
static int add_deb(json_t *deps, json_t *deb, json_t *seen)
{
	const char *file = json_string_value(json_object_get(deb, "file"));
	const char *pkg = json_string_value(json_object_get(deb, "package"));
	const char *ver = json_string_value(json_object_get(deb, "version"));
	const char *sha = json_string_value(json_object_get(deb, "sha256"));
	if (!file || !pkg || !ver || !sha || json_object_get(seen, sha))
		return 0;
	char epkg[512], ever[512], arch[64] = "", uri[1200];
	const char *us = strrchr(file, '_'), *dot = strrchr(file, '.');
	if (us && dot && dot > us && (size_t)(dot - us - 1) < sizeof(arch))
		snprintf(arch, sizeof(arch), "%.*s", (int)(dot - us - 1), us + 1);
	purl_escape(pkg, epkg, sizeof(epkg));
	purl_escape(ver, ever, sizeof(ever));
	snprintf(uri, sizeof(uri), "pkg:deb/debian/%s@%s%s%s", epkg, ever, *arch ? "?arch=" : "",
		 arch);
	json_t *d = json_pack("{s:s, s:s, s:{s:s}}", "name", file, "uri", uri, "digest",
			      "sha256", sha);
	if (!d || json_array_append_new(deps, d) || json_object_set_new(seen, sha, json_true()))
		return -1;
	return 0;
}

static int dependencies(cvmf_ctx *ctx, json_t *man, json_t **ret)
{
	json_t *inputs = json_object_get(man, "inputs");
	json_t *deps = json_array(), *debs = json_array(), *seen = json_object();
	size_t i;
	json_t *in;
	int r = 0;
	if (!deps || !debs || !seen) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (!json_is_array(inputs)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: no \"inputs\" array", IMG_MANIFEST);
		goto out;
	}
	json_array_foreach(inputs, i, in) {
		const char *source = json_string_value(json_object_get(in, "source"));
		const char *role = json_string_value(json_object_get(in, "role"));
		const char *dest = json_string_value(json_object_get(in, "dest"));
		if (!source || !role) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: inputs[%zu]: no \"source\" or \"role\"",
				       IMG_MANIFEST, i);
			goto out;
		}
		char name[1200];
		snprintf(name, sizeof(name), "%s%s%s", role, dest ? ":" : "", dest ? dest : "");
		json_t *digest = json_object();
		for (const char *const *k = (const char *const[]){ "sha256", "sha384", NULL }; *k; k++)
			if (json_object_get(in, *k))
				json_object_set(digest, *k, json_object_get(in, *k));
		if (json_object_get(in, "tree-sha256"))
			json_object_set(digest, "cvmforge-tree-sha256",
					json_object_get(in, "tree-sha256"));
		if (json_object_size(digest) == 0) {
			json_decref(digest);
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: inputs[%zu] (%s): no digest",
				       IMG_MANIFEST, i, source);
			goto out;
		}
		json_t *ann = json_deep_copy(in);
		for (const char *const *k = (const char *const[]){ "sha256", "sha384", "tree-sha256",
								   "source", NULL }; *k; k++)
			json_object_del(ann, *k);
		json_t *d = json_pack("{s:s, s:s, s:o, s:o}", "name", name, "uri", source, "digest",
				      digest, "annotations", ann);
		if (!d || json_array_append_new(deps, d) ||
		    (json_object_get(in, "deb") && add_deb(debs, json_object_get(in, "deb"), seen))) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
	}
	json_array_extend(deps, debs);
	*ret = deps;
	deps = NULL;
out:
	json_decref(deps);
	json_decref(debs);
	json_decref(seen);
	return r;
}

/* The recipe given to sign must be the one the manifest records; its lock
 * (RECIPE.lock), if there is one, is recorded with its digest. */
static int recipe_params(cvmf_ctx *ctx, json_t *man, const char *recipe, json_t *ext)
{
	json_t *rec = json_object_get(man, "recipe");
	const char *file = json_string_value(json_object_get(rec, "file"));
	const char *sha = json_string_value(json_object_get(rec, "sha256"));
	if (!file || !sha)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: no recipe file and sha256", IMG_MANIFEST);
	json_t *r = json_pack("{s:s, s:{s:s}}", "file", file, "digest", "sha256", sha);
	if (!r || json_object_set_new(ext, "recipe", r))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (!recipe)
		return 0;
	uint8_t d[32];
	char hex[65], lock[4200];
	int rc = cmn_sha256_file(ctx, "recipe", recipe, d, NULL);
	if (rc < 0)
		return rc;
	cvmf_hex(d, 32, hex);
	if (strcmp(hex, sha))
		return cmn_error(ctx, CVMF_E_INVAL, "recipe '%s' has sha256 %s; the image was built "
				  "from %s with sha256 %s", recipe, hex, file, sha);
	img_pathf(lock, sizeof(lock), "%s.lock", recipe);
	if (access(lock, F_OK) != 0)
		return 0;
	if ((rc = cmn_sha256_file(ctx, "recipe lock", lock, d, NULL)) < 0)
		return rc;
	cvmf_hex(d, 32, hex);
	char lock_name[4200];
	img_pathf(lock_name, sizeof(lock_name), "%s.lock", file);
	json_t *l = json_pack("{s:s, s:{s:s}}", "file", lock_name, "digest", "sha256", hex);
	if (!l || json_object_set_new(ext, "lock", l))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	return 0;
}

/* The SLSA provenance v1 predicate of an image from its manifest. */
static int provenance(cvmf_ctx *ctx, json_t *man, const struct cvmf_sign_opts *opts,
		      json_t **ret)
{
	json_t *deps = NULL, *pred = NULL, *ext = NULL;
	int r = dependencies(ctx, man, &deps);
	if (r)
		goto out;
	ext = json_object();
	if (!ext) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (json_object_get(man, "image"))
		json_object_set(ext, "image", json_object_get(man, "image"));
	if ((r = recipe_params(ctx, man, opts ? opts->recipe : NULL, ext)) < 0)
		goto out;
	json_t *internal = json_object();
	if (internal && json_object_get(man, "source-date-epoch"))
		json_object_set(internal, "source-date-epoch",
				json_object_get(man, "source-date-epoch"));
	json_t *builder = json_pack("{s:s}", "id", opts && opts->builder_id ? opts->builder_id
									    : CVMF_BUILDER_ID_DEFAULT);
	if (builder && json_object_get(man, "tools"))
		json_object_set(builder, "version", json_object_get(man, "tools"));
	json_t *byproducts = json_array();
	json_t *initrd = json_object_get(man, "initrd");
	const char *cpio = json_string_value(json_object_get(initrd, "cpio-sha256"));
	if (byproducts && cpio)
		json_array_append_new(byproducts,
				      json_pack("{s:s, s:{s:s}, s:O}", "name", "initrd.cpio",
						"digest", "sha256", cpio, "annotations", initrd));
	pred = json_pack("{s:{s:s, s:O, s:o*, s:O}, s:{s:o*, s:o*}}",
			 "buildDefinition", "buildType", CVMF_BUILD_TYPE, "externalParameters", ext,
			 "internalParameters", internal, "resolvedDependencies", deps,
			 "runDetails", "builder", builder, "byproducts", byproducts);
	if (!pred) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory building the provenance");
		goto out;
	}
	*ret = pred;
	r = 0;
out:
	json_decref(deps);
	json_decref(ext);
	return r;
}

int sgn_statements(cvmf_ctx *ctx, const char *image_dir, const struct cvmf_sign_opts *opts,
		   char **ret_meas, size_t *ret_meas_len, char **ret_prov, size_t *ret_prov_len)
{
	json_t *man = NULL, *meas = NULL, *subj = NULL, *pred = NULL;
	char *m = NULL;
	size_t mlen = 0;
	int r = read_docs(ctx, image_dir, &man, &meas);
	if (!r)
		r = subjects(ctx, image_dir, man, meas, &subj);
	if (!r && ret_meas)
		r = statement(ctx, subj, CVMF_PREDICATE_MEASUREMENTS, meas, &m, &mlen);
	if (!r && ret_prov)
		r = provenance(ctx, man, opts, &pred);
	if (!r && ret_prov)
		r = statement(ctx, subj, CVMF_PREDICATE_SLSA, pred, ret_prov, ret_prov_len);
	if (!r && ret_meas) {
		*ret_meas = m;
		*ret_meas_len = mlen;
		m = NULL;
	}
	free(m);
	json_decref(man);
	json_decref(meas);
	json_decref(subj);
	json_decref(pred);
	return r;
}

int cvmf_statement_measurements(cvmf_ctx *ctx, const char *image_dir, char **ret,
				size_t *ret_len)
{
	return sgn_statements(ctx, image_dir, NULL, ret, ret_len, NULL, NULL);
}

int cvmf_statement_provenance(cvmf_ctx *ctx, const char *image_dir,
			      const struct cvmf_sign_opts *opts, char **ret, size_t *ret_len)
{
	return sgn_statements(ctx, image_dir, opts, NULL, NULL, ret, ret_len);
}

/* ---- parsing (verification side) ---- */

void sgn_statement_clear(struct sgn_statement *s)
{
	if (!s)
		return;
	json_decref(s->root);
	free(s->subjects);
	memset(s, 0, sizeof(*s));
}

/* A subject name is a relative path inside the image: no leading '/', no
 * empty, "." or ".." component, no backslash or control character. */
static bool safe_name(const char *s)
{
	if (!*s || *s == '/' || strlen(s) > 4096)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
			return false;
	const char *c = s;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!e)
			return true;
		c = e + 1;
	}
}

static int only_keys(cvmf_ctx *ctx, const char *what, const char *where, json_t *o,
		     const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, key);
		if (!ok)
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: unknown field \"%.80s\"", what,
					  where, key);
	}
	return 0;
}

static int get_digest(cvmf_ctx *ctx, const char *what, const char *where, json_t *digest,
		      const char *alg, uint8_t *out, size_t n, bool *ret_has)
{
	json_t *v = json_object_get(digest, alg);
	*ret_has = false;
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 2 * n || cvmf_unhex(s, out, n) < 0)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.digest.%s: expected %zu hex digits",
				  what, where, alg, 2 * n);
	for (const char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: %s.digest.%s: uppercase hex (digests are lowercase)",
					  what, where, alg);
	*ret_has = true;
	return 0;
}

int sgn_statement_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
			struct sgn_statement *ret)
{
	static const char *const st_keys[] = { "_type", "subject", "predicateType", "predicate",
					       NULL };
	static const char *const subj_keys[] = { "name", "digest", NULL };
	static const char *const dig_keys[] = { "sha256", "sha384", NULL };
	struct sgn_statement s = { 0 };
	char *canon = NULL;
	size_t clen = 0;
	int r;

	if ((r = cmn_json_parse(ctx, what, buf, len, &s.root)) < 0)
		return r;
	if (!json_is_object(s.root)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: a statement is a JSON object, not %s", what,
			       cmn_json_type_name(s.root));
		goto out;
	}
	/* Signed bytes are canonical: one document, one encoding. */
	if (cmn_json_canonical(ctx, s.root, &canon, &clen) < 0) {
		char why[400];
		snprintf(why, sizeof(why), "%s", cvmf_ctx_errmsg(ctx));
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: not canonical JSON: %s", what, why);
		goto out;
	}
	if (clen != len || memcmp(canon, buf, len)) {
		size_t i = 0;
		while (i < len && i < clen && canon[i] == ((const char *)buf)[i])
			i++;
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "%s: the payload is not canonical JSON (first difference at byte "
			       "%zu)", what, i);
		goto out;
	}
	if ((r = only_keys(ctx, what, "statement", s.root, st_keys)) < 0)
		goto out;
	const char *type = json_string_value(json_object_get(s.root, "_type"));
	if (!type || strcmp(type, CVMF_STATEMENT_TYPE)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: _type is %s%.100s%s, expected \"%s\"", what,
			       type ? "\"" : "", type ? type : "missing", type ? "\"" : "",
			       CVMF_STATEMENT_TYPE);
		goto out;
	}
	s.predicate_type = json_string_value(json_object_get(s.root, "predicateType"));
	if (!s.predicate_type) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: predicateType: missing or not a string", what);
		goto out;
	}
	s.predicate = json_object_get(s.root, "predicate");
	if (!json_is_object(s.predicate)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: predicate: missing or not an object", what);
		goto out;
	}
	json_t *subj = json_object_get(s.root, "subject");
	size_t n = json_array_size(subj);
	if (!json_is_array(subj) || n == 0 || n > SUBJECTS_MAX) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: subject: expected an array of 1 to %u "
			       "subjects", what, SUBJECTS_MAX);
		goto out;
	}
	if (!(s.subjects = calloc(n, sizeof(*s.subjects)))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char where[64];
		struct sgn_subject *sj = &s.subjects[i];
		json_t *o = json_array_get(subj, i);
		snprintf(where, sizeof(where), "subject[%zu]", i);
		if (!json_is_object(o)) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s: expected an object", what, where);
			goto out;
		}
		if ((r = only_keys(ctx, what, where, o, subj_keys)) < 0)
			goto out;
		sj->name = json_string_value(json_object_get(o, "name"));
		if (!sj->name || !safe_name(sj->name)) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.name: %s", what, where,
				       sj->name ? "not a relative path inside the image"
						: "missing or not a string");
			goto out;
		}
		if (i > 0 && strcmp(s.subjects[i - 1].name, sj->name) >= 0) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.name \"%.200s\" is not after \"%.200s\" "
				       "(subjects are sorted and unique)", what, where, sj->name,
				       s.subjects[i - 1].name);
			goto out;
		}
		json_t *dg = json_object_get(o, "digest");
		if (!json_is_object(dg)) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.digest: missing or not an object",
				       what, where);
			goto out;
		}
		if ((r = only_keys(ctx, what, where, dg, dig_keys)) < 0 ||
		    (r = get_digest(ctx, what, where, dg, "sha256", sj->sha256, 32,
				    &sj->has_sha256)) < 0 ||
		    (r = get_digest(ctx, what, where, dg, "sha384", sj->sha384, 48,
				    &sj->has_sha384)) < 0)
			goto out;
		if (!sj->has_sha256) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.digest: no sha256", what, where);
			goto out;
		}
		s.n_subjects = i + 1;
	}
	*ret = s;
	memset(&s, 0, sizeof(s));
	r = 0;
out:
	free(canon);
	sgn_statement_clear(&s);
	return r;
}

/* ---- first difference of two JSON values ---- */

static void shorten(const json_t *v, char *out, size_t len)
{
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!s)
		snprintf(out, len, "(absent)");
	else if (strlen(s) > 120)
		snprintf(out, len, "%.117s...", s);
	else
		snprintf(out, len, "%s", s);
	free(s);
}

static bool diff_at(const json_t *a, const json_t *b, char *path, size_t plen, char *out,
		    size_t len)
{
	if (a && b && json_equal(a, b))
		return false;
	size_t at = strlen(path);
	if (json_is_object(a) && json_is_object(b)) {
		const char *key;
		json_t *v;
		/* keys of a (sorted), then keys only b has */
		for (int pass = 0; pass < 2; pass++) {
			const json_t *x = pass ? b : a, *y = pass ? a : b;
			const char **keys = malloc(json_object_size(x) * sizeof(*keys) + 1);
			size_t n = 0;
			if (!keys)
				break;
			json_object_foreach((json_t *)x, key, v)
				keys[n++] = key;
			qsort(keys, n, sizeof(*keys), cmp_str);
			for (size_t i = 0; i < n; i++) {
				if (pass && json_object_get(y, keys[i]))
					continue;
				snprintf(path + at, plen - at, "%s%s", at ? "." : "", keys[i]);
				const json_t *va = json_object_get(a, keys[i]);
				const json_t *vb = json_object_get(b, keys[i]);
				if (diff_at(va, vb, path, plen, out, len)) {
					free(keys);
					return true;
				}
				path[at] = 0;
			}
			free(keys);
		}
	} else if (json_is_array(a) && json_is_array(b)) {
		size_t na = json_array_size(a), nb = json_array_size(b);
		for (size_t i = 0; i < (na > nb ? na : nb); i++) {
			snprintf(path + at, plen - at, "[%zu]", i);
			if (diff_at(json_array_get(a, i), json_array_get(b, i), path, plen, out, len))
				return true;
			path[at] = 0;
		}
	}
	char va[160], vb[160];
	shorten(a, va, sizeof(va));
	shorten(b, vb, sizeof(vb));
	snprintf(out, len, "%s: %s / %s", *path ? path : "(the whole document)", va, vb);
	return true;
}

bool sgn_json_diff(const json_t *a, const json_t *b, char *out, size_t len)
{
	char path[1024] = "";
	return diff_at(a, b, path, sizeof(path), out, len);
}
