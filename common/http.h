/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one HTTP client of libcvmforge, over libcurl (common/http.c). Used by
 * the package downloads of builder/deb.c and by the transparency-log and
 * attestation clients. Internal, not installed. Every use of libcurl is in
 * common/http.c and nowhere else.
 *
 * One request, one call: GET or POST with request headers and a body; the
 * response body is collected in memory or streamed to a sink, with a size
 * cap checked as it arrives; redirects are followed (at most 10, never to
 * another protocol than http or https); timeouts for connecting, for the
 * whole transfer and for a stalled server; an optional progress callback.
 *
 * The result is the HTTP status and the body, whatever the status: the
 * caller decides what a 404 means. Transport failures (no connection, a
 * timeout, a cap exceeded, a sink error) are errors naming the URL.
 * A body with a status of 400 or more is never given to the sink: it is
 * kept in memory (its first CMN_HTTP_ERROR_BODY_MAX bytes) for the message.
 */
#ifndef CMN_HTTP_H
#define CMN_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "cvmforge/cvmforge.h"

/* max_response when 0 */
#define CMN_HTTP_DEFAULT_MAX (64u << 20)
/* What is kept of an error response streamed to a sink */
#define CMN_HTTP_ERROR_BODY_MAX (64u << 10)

struct cmn_http_req {
	const char *url;
	const char *method;                /* "GET" (NULL: GET) or "POST" */
	const char *what;                  /* for messages and progress: "download hello"; NULL: the URL */
	const char *const *headers;        /* "Name: value" lines, NULL-terminated; NULL: none */
	const void *body;                  /* POST: the request body (body_len bytes) */
	size_t body_len;
	size_t max_response;               /* bytes of response body accepted; 0: CMN_HTTP_DEFAULT_MAX */
	long timeout_s;                    /* the whole transfer; 0: no limit but the ones below */
	long connect_timeout_s;            /* 0: 30 s */
	long stall_s;                      /* abort below 1 KiB/s for this long; 0: 60 s */
	const char *protocols;             /* curl's protocol list; NULL: "http,https" */
	/* Called as bytes arrive: (user, what, received, total or expected_size or 0) */
	void (*progress)(void *user, const char *what, uint64_t done, uint64_t total);
	void *progress_user;
	uint64_t expected_size;            /* for progress when the server gives no length */
	/* Stream the body here instead of memory: 0, or a negative CVMF_E_* code
	 * (with the message in ctx) to abort the transfer. ret_body is then NULL. */
	int (*sink)(void *user, cvmf_ctx *ctx, const void *buf, size_t len);
	void *sink_user;
};

/* Perform req. Errors: CVMF_E_IO for the transfer (the message ends with
 * "(curl error N)"), CVMF_E_FORMAT only for a response larger than
 * max_response, the sink's own code, CVMF_E_INVAL for a bad request,
 * CVMF_E_UNSUPPORTED when libcurl cannot be set up. On success: *ret_status is the HTTP status (0 for file://),
 * *ret_body (malloc'd, NUL-terminated beyond *ret_len; NULL with a sink and a
 * status below 400) and *ret_len. ret_body and ret_len may be NULL. */
int cmn_http(cvmf_ctx *ctx, const struct cmn_http_req *req, long *ret_status,
	     uint8_t **ret_body, size_t *ret_len);

/* A sink writing to a file descriptor: sink_user points to the int fd. */
int cmn_http_fd_sink(void *user, cvmf_ctx *ctx, const void *buf, size_t len);

#endif
