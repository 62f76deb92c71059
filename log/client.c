/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client of `log serve`'s write API: POST URL/add with the bearer token,
 * the entry as the body; the answer is the entry's c2sp.org/tlog-proof. Over
 * common/http.c (libcurl, loaded on first use). 503 (the server is busy) is
 * retried after its Retry-After, a few times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/http.h"
#include "log/tlog.h"

#define PROOF_HEADER "c2sp.org/tlog-proof@v1\n"

int tlg_submit(cvmf_ctx *ctx, const char *url, const char *token, const uint8_t *entry,
	       size_t len, char **ret_proof, size_t *ret_len, uint64_t *ret_index)
{
	char *add = NULL, *auth = NULL;
	uint8_t *body = NULL;
	size_t blen = 0;
	long status = 0;
	int r = 0;
	size_t ul = strlen(url);
	while (ul && url[ul - 1] == '/')
		ul--;
	if (len > TLG_MAX_ENTRY)
		return cmn_error(ctx, CVMF_E_INVAL, "log entry: %zu bytes, at most %u", len,
				  TLG_MAX_ENTRY);
	if (asprintf(&add, "%.*s/add", (int)ul, url) < 0 ||
	    asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
		add = auth = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	const char *headers[] = { auth, "Content-Type: application/octet-stream", NULL };
	/* The server answers once a signed checkpoint covers the entry. */
	struct cmn_http_req req = { .url = add, .method = "POST", .what = "log submission",
				    .headers = headers, .body = entry, .body_len = len,
				    .max_response = TLG_MAX_NOTE + 2 * TLG_MAX_ENTRY,
				    .timeout_s = 120 };
	for (int attempt = 0;; attempt++) {
		free(body);
		body = NULL;
		if ((r = cmn_http(ctx, &req, &status, &body, &blen)))
			goto out;
		if (status != 503 || attempt == 4)
			break;
		sleep(1u << attempt);   /* Retry-After: 1, then backing off */
	}
	if (status != 200) {
		size_t ml = strcspn(body ? (char *)body : "", "\n");
		r = cmn_error(ctx, status == 401 ? CVMF_E_INVAL : CVMF_E_IO,
			       "log '%s' refused the entry: HTTP %ld%s%.*s", url, status,
			       ml ? ": " : "", (int)(ml > 200 ? 200 : ml), body ? (char *)body : "");
		goto out;
	}
	const char *ix = blen > strlen(PROOF_HEADER) && !memcmp(body, PROOF_HEADER, strlen(PROOF_HEADER))
				 ? strstr((char *)body, "\nindex ") : NULL;
	char *end = NULL;
	unsigned long long index = ix ? strtoull(ix + 7, &end, 10) : 0;
	if (!ix || !end || *end != '\n') {
		r = cmn_error(ctx, CVMF_E_FORMAT, "log '%s': the answer is not a tlog-proof", url);
		goto out;
	}
	*ret_proof = (char *)body;
	*ret_len = blen;
	*ret_index = index;
	body = NULL;
out:
	free(body);
	free(add);
	free(auth);
	return r;
}
