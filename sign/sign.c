/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge sign IMAGE --key KEY: the two statements of an image, each in a
 * DSSE envelope, written beside the image's files. Signing only adds files
 * (MSR_SIGN_*_FILE); the bytes build wrote stay as they are, so reproduce
 * still compares equal. The envelope files are the canonical JSON of the
 * envelope plus one newline (a JSON Lines record).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image.h"
#include "common/internal.h"
#include "common/write.h"
#include "sign/sgn.h"

static int envelope(cvmf_ctx *ctx, const cvmf_key *key, char *payload, size_t len,
		    char **ret, size_t *ret_len)
{
	char *env = NULL;
	size_t n = 0;
	int r = cvmf_dsse_sign(ctx, key, CVMF_DSSE_PAYLOAD_TYPE, payload, len, &env, &n);
	if (r < 0)
		return r;
	char *line = realloc(env, n + 2);
	if (!line) {
		free(env);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	line[n] = '\n';
	line[n + 1] = 0;
	*ret = line;
	*ret_len = n + 1;
	return 0;
}

int cvmf_sign_image(cvmf_ctx *ctx, const char *image_dir, const cvmf_key *key,
		    const struct cvmf_sign_opts *opts)
{
	static const char *const files[2] = { CVMF_SIGN_MEASUREMENTS_FILE,
					      CVMF_SIGN_PROVENANCE_FILE };
	char *payload[2] = { NULL, NULL }, *env[2] = { NULL, NULL };
	size_t plen[2] = { 0, 0 }, elen[2] = { 0, 0 };
	char path[2][4400];
	bool existed[2] = { false, false };
	struct stat st;
	int r;

	if (!cvmf_key_is_private(key))
		return cmn_error(ctx, CVMF_E_INVAL, "signing needs a private key");
	if (stat(image_dir, &st) != 0)
		return cmn_error(ctx, CVMF_E_IO, "cannot open image '%s': %s", image_dir,
				  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cmn_error(ctx, CVMF_E_INVAL, "'%s' is not an image directory (sign writes "
				  "its envelopes beside the image's files; give the directory)",
				  image_dir);
	for (int i = 0; i < 2; i++) {
		img_pathf(path[i], sizeof(path[i]), "%s/%s", image_dir, files[i]);
		existed[i] = lstat(path[i], &st) == 0;
		if (existed[i] && !(opts && opts->force))
			return cmn_error(ctx, CVMF_E_INVAL, "%s exists: the image is signed already "
					  "(--force replaces the signatures)", path[i]);
	}
	if ((r = sgn_statements(ctx, image_dir, opts, &payload[0], &plen[0], &payload[1],
				&plen[1])) < 0)
		goto out;
	for (int i = 0; i < 2; i++)
		if ((r = envelope(ctx, key, payload[i], plen[i], &env[i], &elen[i])) < 0)
			goto out;
	for (int i = 0; i < 2; i++) {
		r = cmn_write_file(ctx, "signature", path[i], env[i], elen[i],
				   existed[i] ? CMN_W_DURABLE : CMN_W_DURABLE | CMN_W_EXCL);
		if (r < 0) {
			/* Whole or nothing: take back a first envelope this call created. */
			if (i == 1 && !existed[0])
				unlink(path[0]);
			goto out;
		}
	}
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		free(payload[i]);
		free(env[i]);
	}
	return r;
}
