/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge log serve`: the directory log over HTTP (log/server.c, over
 * libmicrohttpd, loaded on first use). The read API is c2sp.org/tlog-tiles at
 * the URL root; POST /add appends through the log's own append path and
 * answers with a c2sp.org/tlog-proof once a signed checkpoint covers the
 * entry. docs/log.md describes the API, its errors and its limits.
 */
#ifndef CVMF_LOG_SERVER_H
#define CVMF_LOG_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "cvmforge/cvmforge.h"

#define TLG_SERVE_MAX_BODY 65535u       /* an entry: tlog-tiles' uint16 length */

struct tlg_serve_opts {
	const char *dir;
	const char *listen;             /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0: any */
	const char *token;              /* the writers' bearer token; NULL: read-only */
	size_t token_len;
	unsigned max_pending;           /* entries waiting for integration before 503; 0: 8192 */
	unsigned max_batch;             /* entries per integration; 0: 8192 */
	unsigned conn_limit;            /* open connections; 0: 1024 */
	unsigned idle_timeout_s;        /* a connection silent this long is closed; 0: 10 */
	unsigned request_timeout_s;     /* headers and body must arrive within this; 0: 30 */
	unsigned threads;               /* HTTP threads; 0: 2 */
	/* Called once the socket is bound and the log checked: "ADDR:PORT". */
	void (*ready)(void *user, const char *addr);
	void *ready_user;
	/* Set (by a signal handler) to stop: pending entries are integrated and
	 * answered, then the server returns 0. */
	volatile sig_atomic_t *stop;
};

/* Check the log (never behind the tree recorded beside its key: a rolled
 * back directory is refused), finish an interrupted batch, then serve until
 * *stop. Errors before serving: CVMF_E_FORMAT/CVMF_E_CRYPTO for a log that
 * must not be served, CVMF_E_IO for the socket or libmicrohttpd. */
int tlg_serve(cvmf_ctx *ctx, const struct tlg_serve_opts *o);

/* Where the tree committed by the server is recorded: KEY.tree-head, beside
 * the log's key, outside the served directory (malloc'd). */
int tlg_serve_record_path(cvmf_ctx *ctx, const char *dir, char **ret);

/* A read-API path without its leading '/' ("tile/0/x001/234.p/7",
 * "tile/entries/000"): true only for the canonical form, with the numbers. */
bool tlg_serve_parse_tile(const char *path, int *ret_level, uint64_t *ret_index,
			  unsigned *ret_w);

#endif
