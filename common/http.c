/* SPDX-License-Identifier: Apache-2.0 */
/* The one HTTP client, over libcurl (common/http.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/http.h"
#include "common/internal.h"
#include "common/lazy.h"

#define CONNECT_TIMEOUT_S 30L
#define STALL_S 60L
#define STALL_BYTES_PER_S 1024L

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init = CURLE_FAILED_INIT;

static void global_init(void)
{
	g_init = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct xfer {
	const struct cmn_http_req *req;
	cvmf_ctx *ctx;
	CURL *c;
	const char *what;
	size_t max;
	uint8_t *buf;
	size_t len, cap;
	bool too_big, oom;
	int sink_rc;
};

static bool append(struct xfer *x, const void *p, size_t n)
{
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		while (cap < x->len + n + 1)
			cap *= 2;
		uint8_t *nb = realloc(x->buf, cap);
		if (!nb)
			return false;
		x->buf = nb;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = 0;
	return true;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *user)
{
	struct xfer *x = user;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 400) {
		/* An error response: kept (the start of it) for the caller's message. */
		size_t room = x->len < CMN_HTTP_ERROR_BODY_MAX ? CMN_HTTP_ERROR_BODY_MAX - x->len : 0;
		if (room && !append(x, p, n < room ? n : room)) {
			x->oom = true;
			return 0;
		}
		return n;
	}
	if (n > x->max || x->len > x->max - n) {
		x->too_big = true;
		return 0;
	}
	if (x->req->sink) {
		int rc = x->req->sink(x->req->sink_user, x->ctx, p, n);
		if (rc) {
			x->sink_rc = rc < 0 ? rc : CVMF_E_IO;
			return 0;
		}
		x->len += n;   /* counted, not kept */
		return n;
	}
	if (!append(x, p, n)) {
		x->oom = true;
		return 0;
	}
	return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = user;
	(void)ultotal;
	(void)ulnow;
	x->req->progress(x->req->progress_user, x->what, dlnow > 0 ? (uint64_t)dlnow : 0,
			 dltotal > 0 ? (uint64_t)dltotal : x->req->expected_size);
	return 0;
}

int cmn_http_fd_sink(void *user, cvmf_ctx *ctx, const void *buf, size_t len)
{
	int fd = *(const int *)user;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cmn_error(ctx, CVMF_E_IO, "cannot write the response: %s",
					  strerror(w < 0 ? errno : ENOSPC));
		off += (size_t)w;
	}
	return 0;
}

int cmn_http(cvmf_ctx *ctx, const struct cmn_http_req *req, long *ret_status,
	     uint8_t **ret_body, size_t *ret_len)
{
	const char *method = req->method ? req->method : "GET";
	bool post = !strcmp(method, "POST");
	struct xfer x = {
		.req = req, .ctx = ctx, .what = req->what ? req->what : method,
		.max = req->max_response ? req->max_response : CMN_HTTP_DEFAULT_MAX,
	};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	int rc = 0;

	if (!req->url || !*req->url)
		return cmn_error(ctx, CVMF_E_INVAL, "%s: no URL", x.what);
	if (!post && strcmp(method, "GET"))
		return cmn_error(ctx, CVMF_E_INVAL, "%s %s: method %s is not GET or POST", x.what,
				  req->url, method);
	/* libcurl is loaded on first use (common/lazy.h): say so if it cannot be. */
	if ((rc = cmn_lazy_require(ctx, &cmn_lazy_curl)))
		return rc;
	pthread_once(&g_once, global_init);
	if (g_init != CURLE_OK)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "libcurl cannot be initialised: %s",
				  curl_easy_strerror(g_init));
	for (const char *const *h = req->headers; h && *h; h++) {
		/* One header per line: a CR or LF would smuggle in another one. */
		if (strpbrk(*h, "\r\n") || !strchr(*h, ':')) {
			rc = cmn_error(ctx, CVMF_E_INVAL, "%s %s: bad request header '%.60s'", x.what,
					req->url, *h);
			goto out;
		}
		struct curl_slist *n = curl_slist_append(hdrs, *h);
		if (!n) {
			rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		hdrs = n;
	}
	if (post) {
		/* No "Expect: 100-continue" round trip before a large body. */
		struct curl_slist *n = curl_slist_append(hdrs, "Expect:");
		if (!n) {
			rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto out;
		}
		hdrs = n;
	}
	x.c = curl_easy_init();
	if (!x.c) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "libcurl: cannot create a handle");
		goto out;
	}
	CURL *c = x.c;
	long stall = req->stall_s > 0 ? req->stall_s : STALL_S;
	bool bad = curl_easy_setopt(c, CURLOPT_URL, req->url) ||
		   curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
				    req->protocols ? req->protocols : "http,https") ||
		   curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
		   curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) ||
		   curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L) ||
		   curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
		   curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
				    req->connect_timeout_s > 0 ? req->connect_timeout_s
							       : CONNECT_TIMEOUT_S) ||
		   curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s > 0 ? req->timeout_s : 0L) ||
		   curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, STALL_BYTES_PER_S) ||
		   curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall) ||
		   curl_easy_setopt(c, CURLOPT_USERAGENT, "cvmforge/" CVMF_VERSION) ||
		   curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) ||
		   curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) ||
		   curl_easy_setopt(c, CURLOPT_WRITEDATA, &x) ||
		   (hdrs && curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs));
	if (!bad && post)
		bad = curl_easy_setopt(c, CURLOPT_POST, 1L) ||
		      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) ||
		      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	if (!bad && req->progress)
		bad = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) ||
		      curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x) ||
		      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (bad) {
		rc = cmn_error(ctx, CVMF_E_UNSUPPORTED, "libcurl: cannot set the transfer options");
		goto out;
	}
	CURLcode cr = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK) {
		if (x.too_big)
			rc = cmn_error(ctx, CVMF_E_FORMAT,
					"%s from %s: the server sent more than the %zu bytes accepted",
					x.what, req->url, x.max);
		else if (x.sink_rc)
			rc = x.sink_rc;   /* the sink's own message */
		else if (x.oom)
			rc = cmn_error(ctx, CVMF_E_NOMEM, "%s from %s: out of memory", x.what,
					req->url);
		else
			rc = cmn_error(ctx, CVMF_E_IO, "%s from %s failed: %s (curl error %d)", x.what,
					req->url, errbuf[0] ? errbuf : curl_easy_strerror(cr), (int)cr);
		goto out;
	}
	bool streamed = req->sink && status < 400;
	if (ret_body && !streamed && !x.buf && !(x.buf = calloc(1, 1))) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if (ret_status)
		*ret_status = status;
	if (ret_len)
		*ret_len = streamed ? 0 : x.len;
	if (ret_body) {
		*ret_body = streamed ? NULL : x.buf;
		if (!streamed)
			x.buf = NULL;
	}
out:
	if (x.c)
		curl_easy_cleanup(x.c);
	curl_slist_free_all(hdrs);
	free(x.buf);
	return rc;
}
