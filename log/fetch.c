/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a log's files from a directory or over HTTP: every reader of log/
 * (tiles, bundles, checkpoints: the monitor, proofs) goes through
 * tlg_fetch(), so `log monitor URL` and `log proof URL N` read a served log
 * (c2sp.org/tlog-tiles at the URL) exactly as they read a directory. HTTP is
 * common/http.c (libcurl, loaded on first use).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/http.h"
#include "log/tlog.h"

bool tlg_is_url(const char *path)
{
	return !strncmp(path, "http://", 7) || !strncmp(path, "https://", 8);
}

int tlg_fetch(cvmf_ctx *ctx, const char *what, const char *path, size_t max, uint8_t **ret,
	      size_t *ret_len, bool *ret_missing)
{
	if (ret_missing)
		*ret_missing = false;
	if (!tlg_is_url(path)) {
		if (access(path, F_OK) != 0 && errno == ENOENT) {
			if (ret_missing)
				*ret_missing = true;
			return cmn_error(ctx, CVMF_E_IO, "%s '%s': %s", what, path, strerror(ENOENT));
		}
		return cmn_read_file(ctx, what, path, max, ret, ret_len);
	}
	/* "http://host/log/" + "/tile/..." : no empty path segment in tlog-tiles */
	char *url = strdup(path);
	if (!url)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	char *start = strstr(url, "://") + 3, *o = start;
	for (const char *p = start; *p; p++)
		if (!(*p == '/' && o > start && o[-1] == '/'))
			*o++ = *p;
	*o = '\0';
	long status = 0;
	uint8_t *body = NULL;
	size_t len = 0;
	struct cmn_http_req req = { .url = url, .what = what, .max_response = max ? max : 1,
				    .timeout_s = 60, .stall_s = 30 };
	int r = cmn_http(ctx, &req, &status, &body, &len);
	if (!r && status != 200) {
		if ((status == 404 || status == 410) && ret_missing)
			*ret_missing = true;
		r = cmn_error(ctx, CVMF_E_IO, "%s '%s': HTTP status %ld", what, url, status);
	}
	if (!r && len > max)
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s '%s': more than %zu bytes", what, url, max);
	if (!r) {
		*ret = body;
		*ret_len = len;
		body = NULL;
	}
	free(body);
	free(url);
	return r;
}
