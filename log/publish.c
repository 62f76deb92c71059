/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Publishing an image: its signed measurement statement (the DSSE envelope
 * measurements.dsse.json written by `cvmforge sign`, byte for byte) becomes
 * one log entry, and the entry's tlog-proof is stored beside the image as
 * IMAGE.tlog-proof (beside, so that the image's own files are unchanged). The
 * proof carries the envelope in its extra line: one file is enough for an
 * offline check (checkpoint signature -> inclusion -> envelope signature).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/write.h"
#include "cvmforge/sign.h"
#include "log/tlog.h"

/* The directory holding the envelopes (the image, or the tarball's directory)
 * and IMAGE.tlog-proof. */
static int image_paths(cvmf_ctx *ctx, const char *image, char **ret_env, char **ret_proof)
{
	struct stat st;
	char *copy = NULL, *env = NULL, *proof = NULL;
	int r = 0;
	if (stat(image, &st) != 0)
		return cmn_error(ctx, CVMF_E_IO, "image '%s': %s", image, strerror(errno));
	size_t n = strlen(image);
	while (n > 1 && image[n - 1] == '/')
		n--;
	if (!(copy = strndup(image, n))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (asprintf(&proof, "%s.tlog-proof", copy) < 0) {
		proof = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	const char *sigdir = S_ISDIR(st.st_mode) ? copy : dirname(copy);
	if (asprintf(&env, "%s/%s", sigdir, CVMF_SIGN_MEASUREMENTS_FILE) < 0) {
		env = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	*ret_env = env;
	*ret_proof = proof;
	env = proof = NULL;
out:
	free(copy);
	free(env);
	free(proof);
	return r;
}

int cvmf_log_publish(cvmf_ctx *ctx, const char *image, const char *log_dir,
		     char **ret_proof_path, uint64_t *ret_index)
{
	return tlg_publish(ctx, image, log_dir, NULL, ret_proof_path, ret_index);
}

int tlg_publish(cvmf_ctx *ctx, const char *image, const char *log_dir, const char *token,
		char **ret_proof_path, uint64_t *ret_index)
{
	char *env_path = NULL, *proof_path = NULL, *proof = NULL;
	uint8_t *env = NULL;
	size_t env_len = 0, proof_len = 0;
	uint64_t index = 0;
	struct stat st;
	int r = image_paths(ctx, image, &env_path, &proof_path);
	if (r)
		return r;
	if (stat(env_path, &st) != 0) {
		r = cmn_error(ctx, CVMF_E_IO,
			       "image '%s' is not signed: %s: %s (run cvmforge sign first)", image,
			       env_path, strerror(errno));
		goto out;
	}
	if (st.st_size > TLG_MAX_ENTRY) {
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
			       "%s: %lld bytes, a log entry may have at most %u; the statement "
			       "would have to be split into several signed statements",
			       env_path, (long long)st.st_size, TLG_MAX_ENTRY);
		goto out;
	}
	if (access(proof_path, F_OK) == 0) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "'%s' exists: the image is already published (remove it to publish "
			       "again)",
			       proof_path);
		goto out;
	}
	if ((r = cmn_read_file(ctx, "signed measurement statement", env_path, TLG_MAX_ENTRY,
				&env, &env_len)))
		goto out;
	const uint8_t *e[1] = { env };
	if (tlg_is_url(log_dir) && !token) {
		r = cmn_error(ctx, CVMF_E_INVAL, "log '%s': a served log needs a token", log_dir);
		goto out;
	}
	if (tlg_is_url(log_dir) ? (r = tlg_submit(ctx, log_dir, token, env, env_len, &proof,
						   &proof_len, &index)) != 0
				: ((r = cvmf_log_add(ctx, log_dir, e, &env_len, 1, &index)) ||
				   (r = cvmf_log_proof(ctx, log_dir, index, &proof, &proof_len))))
		goto out;
	if ((r = cmn_write_file(ctx, "tlog-proof", proof_path, proof, proof_len, CMN_W_DURABLE)))
		goto out;
	*ret_proof_path = proof_path;
	*ret_index = index;
	proof_path = NULL;
out:
	free(env_path);
	free(proof_path);
	free(proof);
	free(env);
	return r;
}

int cvmf_log_check_image(cvmf_ctx *ctx, const char *image, const struct cvmf_log_verify_opts *o,
			 struct cvmf_log_verified *ret)
{
	char *env_path = NULL, *proof_path = NULL;
	uint8_t *env = NULL, *proof = NULL;
	size_t env_len = 0, proof_len = 0;
	int r = image_paths(ctx, image, &env_path, &proof_path);
	if (r)
		return r;
	if ((r = cmn_read_file(ctx, "tlog-proof", proof_path, TLG_MAX_NOTE + 2 * TLG_MAX_ENTRY,
				&proof, &proof_len)) ||
	    (r = cmn_read_file(ctx, "signed measurement statement", env_path, TLG_MAX_ENTRY,
				&env, &env_len)))
		goto out;
	struct cvmf_log_verify_opts oo = *o;
	oo.entry = env;
	oo.entry_len = env_len;
	r = cvmf_log_verify_proof(ctx, proof, proof_len, &oo, ret);
	if (r) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s", cvmf_ctx_errmsg(ctx));
		r = cmn_error(ctx, r, "%s (entry: %s): %s", proof_path, env_path, msg);
	}
out:
	free(env_path);
	free(proof_path);
	free(env);
	free(proof);
	return r;
}
