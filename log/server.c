/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The directory log served over HTTP with libmicrohttpd (tlog.md §6.5).
 *
 * Read API, c2sp.org/tlog-tiles at the URL root: GET/HEAD /checkpoint,
 * /tile/L/N[.p/W], /tile/entries/N[.p/W]. A path is accepted only in its
 * canonical form (it is re-encoded and compared, so "..", "//", "%2F" or any
 * escape never reach the file system: the URL is not unescaped at all), only
 * for a tile inside the tree of the published checkpoint (leftovers of a
 * crashed batch are never served), and opened component by component under
 * the log directory with O_NOFOLLOW (a symlink planted in the tree is 404).
 *
 * Write API: POST /add, "Authorization: Bearer TOKEN" (compared as SHA-256
 * digests with CRYPTO_memcmp), the raw entry as the body (<= 65535 bytes).
 * The connection is suspended while its entry waits; one thread integrates
 * every waiting entry as one batch through the log's writer (log/store.c,
 * kept open: one commit, one signed checkpoint per batch), builds each
 * entry's tlog-proof from the writer's edge and resumes the connections. The
 * answer (200 and the proof) is therefore sent only once the entry is durable
 * and a signed checkpoint covers it. Before a batch it lingers briefly for
 * the clients of the last batches (group commit, linger()).
 *
 * Rollback: at each commit the committed tree (origin, size, root) is
 * recorded durably in KEY.tree-head beside the log's key, outside the served
 * directory, renamed between treeState and lastSigned. A tree smaller than
 * the record, or one whose first record.size leaves do not hash to its root,
 * stops the append before anything is signed; at start-up this refuses to
 * serve a directory restored from an old backup (tlog.md §6.3).
 *
 * Partial tiles: the writer removes a full tile's partial tiles once it is
 * committed; a request for one is answered with the full tile cut to size.
 *
 * Slow clients: an idle timeout (MHD_OPTION_CONNECTION_TIMEOUT), a limit on
 * connections, and a deadline per request: a request whose headers have not
 * all arrived in time has its socket shut down by a reaper thread; a body
 * still arriving at the deadline closes the connection. Overload: more than
 * max_pending entries waiting is 503 with Retry-After.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/lazy.h"
#include "common/write.h"
#include "log/server.h"
#include "log/tlog.h"

#define RECORD_SUFFIX ".tree-head"
#define MAX_BUNDLE ((size_t)TLG_TILE_WIDTH * (TLG_MAX_ENTRY + 2))

struct srv;

/* One POST /add. */
struct req {
	struct srv *s;
	struct MHD_Connection *conn;
	struct req *next;
	uint8_t *body;
	size_t len, cap;
	size_t announced;               /* Content-Length, when given */
	int status;                     /* an error to answer once the body is in */
	const char *msg;
	bool queued, done;
	bool dropped;                   /* too large: the rest of the body is discarded */
	struct timespec start;
	/* the answer, set by the batcher */
	int res_status;
	char *res_body;
	size_t res_len;
};

/* One TCP connection, for the reaper. */
struct conn {
	struct conn *prev, *next;
	int fd;
	struct timespec since;          /* start of the request being received */
	bool in_request;                /* headers complete: the handler has it */
};

struct srv {
	const struct tlg_serve_opts *o;
	char *dir;
	int dirfd;
	bool writable;
	uint8_t token_hash[32];
	char *record;                   /* KEY.tree-head */
	bool have_record;
	uint64_t rec_size;
	uint8_t rec_root[TLG_HASH];
	uint64_t next_size;             /* the record a batch writes, once it is through */
	uint8_t next_root[TLG_HASH];
	struct tlg_writer *w;           /* the batcher's */
	_Atomic uint64_t signed_size;   /* the published checkpoint's size */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct req *head, *tail;
	size_t pending;
	size_t queued;                  /* entries in head..tail */
	size_t recent[8];               /* the sizes of the last batches */
	unsigned n_batches;
	bool stopping;
	struct conn *conns;             /* under mu */
	unsigned max_pending, max_batch, request_timeout_s;
};

static double since_s(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ---- the record beside the key ---- */

int tlg_serve_record_path(cvmf_ctx *ctx, const char *dir, char **ret)
{
	struct tlg_log *l = NULL;
	int r = tlg_log_open(ctx, dir, false, &l);
	if (r)
		return r;
	if (asprintf(ret, "%s" RECORD_SUFFIX, tlg_log_key_path(l)) < 0)
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	tlg_log_close(l);
	return r;
}

static int read_record(cvmf_ctx *ctx, struct srv *s, const char *origin)
{
	uint8_t *b = NULL;
	size_t len = 0;
	struct tlg_checkpoint c = { 0 };
	if (access(s->record, F_OK) != 0 && errno == ENOENT)
		return 0;       /* first time this log is served */
	int r = cmn_read_file(ctx, "the server's tree record", s->record, 4096, &b, &len);
	if (!r)
		r = tlg_checkpoint_parse(ctx, s->record, (const char *)b, len, &c);
	if (!r && strcmp(c.origin, origin))
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: origin '%s' is not the log's ('%s')",
			       s->record, c.origin, origin);
	if (!r) {
		s->have_record = true;
		s->rec_size = c.size;
		memcpy(s->rec_root, c.root, TLG_HASH);
	}
	tlg_checkpoint_clear(&c);
	free(b);
	return r;
}

/* The commit hook: the tree must extend the record; it becomes the record,
 * written durably with the commit, before its checkpoint is published. */
static int commit_hook(void *user, cvmf_ctx *ctx, struct tlg_commit *c)
{
	struct srv *s = user;
	int r = 0;
	if (s->have_record) {   /* a tree of 0 is extended by any tree */
		if (c->size < s->rec_size)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "log '%s' was rolled back: its tree has %llu entries, but "
					  "this server committed %llu (recorded in '%s'); refusing to "
					  "sign or serve it, that would fork the log",
					  s->dir, (unsigned long long)c->size,
					  (unsigned long long)s->rec_size, s->record);
		if (c->size == s->rec_size && memcmp(c->root, s->rec_root, TLG_HASH))
			return cmn_error(ctx, CVMF_E_CRYPTO,
					  "log '%s': its tree of %llu entries is not the one "
					  "this server committed (recorded in '%s'): a "
					  "different log; refusing to sign or serve it",
					  s->dir, (unsigned long long)c->size, s->record);
	}
	/* The batch extends prev (checked by the writer against the tiles); if
	 * prev is the record, so does the tree. Otherwise hash the record's
	 * range from the tiles. */
	bool extends_prev = c->prev_size == s->rec_size &&
			    !memcmp(c->prev_root, s->rec_root, TLG_HASH);
	if (s->have_record && s->rec_size && c->size > s->rec_size && !extends_prev) {
		struct tlg_tiles *t = NULL;
		uint8_t h[TLG_HASH];
		if ((r = tlg_tiles_new(ctx, s->dir, c->size, &t)) == 0)
			r = tlg_range_hash(ctx, tlg_tiles_node, t, 0, s->rec_size, h);
		tlg_tiles_free(t);
		if (r)
			return r;
		if (memcmp(h, s->rec_root, TLG_HASH))
			return cmn_error(ctx, CVMF_E_CRYPTO,
					  "log '%s': its first %llu entries are not the ones this "
					  "server committed (recorded in '%s'): the directory was "
					  "replaced or tampered with; refusing to sign or serve it",
					  s->dir, (unsigned long long)s->rec_size, s->record);
	}
	if (c->size == s->rec_size && s->have_record)
		return 0;       /* recorded already */
	if ((r = tlg_checkpoint_text(ctx, c->origin, c->size, c->root, &c->also_text)))
		return r;
	c->also_path = s->record;
	s->next_size = c->size;
	memcpy(s->next_root, c->root, TLG_HASH);
	return 0;
}

/* After a batch went through: what it recorded is the record. */
static void record_done(struct srv *s)
{
	if (s->next_size > s->rec_size || !s->have_record) {
		s->have_record = true;
		s->rec_size = s->next_size;
		memcpy(s->rec_root, s->next_root, TLG_HASH);
	}
}

/* ---- responses ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			     const char *cache, void *body, size_t len, bool owned)
{
	struct MHD_Response *rs = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (!rs) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(rs, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (cache)
		MHD_add_response_header(rs, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(rs, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(rs, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(rs, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result ok = MHD_queue_response(c, status, rs);
	MHD_destroy_response(rs);
	return ok;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt,
				   ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt,
				   ...)
{
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return reply(c, status, "text/plain; charset=utf-8", "no-store", m, (size_t)n, true);
}

/* ---- read API ---- */

/* "tile/L/N[.p/W]" or "tile/entries/N[.p/W]", canonical only. */
bool tlg_serve_parse_tile(const char *p, int *ret_level, uint64_t *ret_index, unsigned *ret_w)
{
	const char *start = p;
	int level;
	if (strncmp(p, "tile/", 5))
		return false;
	p += 5;
	if (!strncmp(p, "entries/", 8)) {
		level = TLG_LEVEL_ENTRIES;
		p += 8;
	} else {
		char *end;
		if (*p < '0' || *p > '9')
			return false;
		long v = strtol(p, &end, 10);
		if (*end != '/' || v > 63)
			return false;
		level = (int)v;
		p = end + 1;
	}
	uint64_t index = 0;
	unsigned w = 0;
	for (int g = 0;; g++) {
		bool more = *p == 'x';
		if (g >= 7)
			return false;
		p += more;
		unsigned d = 0;
		for (int i = 0; i < 3; i++) {
			if (p[i] < '0' || p[i] > '9')
				return false;
			d = d * 10 + (unsigned)(p[i] - '0');
		}
		p += 3;
		if (index > (UINT64_MAX - d) / 1000)
			return false;
		index = index * 1000 + d;
		if (more) {
			if (*p++ != '/')
				return false;
			continue;
		}
		break;
	}
	if (!strncmp(p, ".p/", 3)) {
		char *end;
		if (p[3] < '1' || p[3] > '9')
			return false;
		long v = strtol(p + 3, &end, 10);
		if (*end || v < 1 || v > 255)
			return false;
		w = (unsigned)v;
	} else if (*p) {
		return false;
	}
	/* Canonical: exactly what tlg_tile_path writes for these numbers. */
	char canon[128];
	if (tlg_tile_path(canon, sizeof(canon), level, index, w) || strcmp(canon, start))
		return false;
	*ret_level = level;
	*ret_index = index;
	*ret_w = w;
	return true;
}

/* Whether tile (level, index, w) lies inside a tree of `size`. */
static bool tile_inside(int level, uint64_t index, unsigned w, uint64_t size)
{
	uint64_t h = level < 0 ? size : (level >= 8 ? 0 : size >> (8 * level));
	uint64_t full = h >> 8;
	if (!w || w == TLG_TILE_WIDTH)
		return index < full;
	return index < full || (index == full && w <= (h & 255));
}

/* Open rel (a canonical path) under the log directory, no symlink followed
 * anywhere; read it whole. 0, -ENOENT (absent, a symlink, not a regular file)
 * or another -errno. */
static int read_under(struct srv *s, const char *rel, size_t max, uint8_t **ret, size_t *ret_len)
{
	char buf[160];
	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf))
		return -ENOENT;
	int fd = dup(s->dirfd), e = 0;
	if (fd < 0)
		return -errno;
	char *comp = buf;
	for (char *slash; (slash = strchr(comp, '/')); comp = slash + 1) {
		*slash = '\0';
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		if (nfd < 0)
			return e == ELOOP || e == ENOTDIR ? -ENOENT : -e;
		fd = nfd;
	}
	int ffd = openat(fd, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	e = errno;
	close(fd);
	if (ffd < 0)
		return e == ELOOP ? -ENOENT : -e;
	struct stat st;
	uint8_t *b = NULL;
	int r = 0;
	if (fstat(ffd, &st) != 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		r = -ENOENT;
	} else if (!(b = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		r = -ENOMEM;
	} else {
		size_t n = 0;
		while (n < (size_t)st.st_size) {
			ssize_t got = pread(ffd, b + n, (size_t)st.st_size - n, (off_t)n);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				r = got < 0 ? -errno : -EIO;
				break;
			}
			n += (size_t)got;
		}
		if (!r) {
			*ret = b;
			*ret_len = n;
			b = NULL;
		}
	}
	free(b);
	close(ffd);
	return r;
}

/* A partial tile whose full tile exists may have been removed (log/store.c
 * prune_partials): its bytes are the full tile's first w hashes or entries. */
static int read_pruned(struct srv *s, int level, uint64_t index, unsigned w, uint8_t **ret,
		       size_t *ret_len)
{
	char full[128];
	if (tlg_tile_path(full, sizeof(full), level, index, TLG_TILE_WIDTH))
		return -ENOENT;
	uint8_t *b = NULL;
	size_t len = 0, cut = 0;
	int e = read_under(s, full, MAX_BUNDLE, &b, &len);
	if (e)
		return e;
	if (level == TLG_LEVEL_ENTRIES) {
		cvmf_ctx *q = cvmf_ctx_new();   /* the reason is not sent */
		int r = q ? tlg_bundle_cut(q, full, b, len, w, &cut) : CVMF_E_NOMEM;
		cvmf_ctx_free(q);
		if (r)
			cut = SIZE_MAX;
	} else {
		cut = (size_t)w * TLG_HASH;
	}
	if (cut > len) {        /* the full file is not what it should be */
		free(b);
		return -EIO;
	}
	*ret = b;
	*ret_len = cut;
	return 0;
}

static bool is_read_path(const char *url)
{
	int level;
	uint64_t index;
	unsigned w;
	return !strcmp(url, "/checkpoint") || tlg_serve_parse_tile(url + 1, &level, &index, &w);
}

static enum MHD_Result serve_read(struct srv *s, struct MHD_Connection *c, const char *url)
{
	int level = 0;
	uint64_t index = 0;
	unsigned w = 0;
	bool cp = !strcmp(url, "/checkpoint");
	if (!cp && !tlg_serve_parse_tile(url + 1, &level, &index, &w))
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found: not a tlog-tiles path\n");
	if (!cp && !tile_inside(level, index, w, s->signed_size))
		return reply_error(c, MHD_HTTP_NOT_FOUND,
				   "not found: not in the tree of the published checkpoint\n");
	uint8_t *b = NULL;
	size_t len = 0;
	int e = read_under(s, url + 1, cp ? TLG_MAX_NOTE : MAX_BUNDLE, &b, &len);
	if (e == -ENOENT && w && w < TLG_TILE_WIDTH &&
	    tile_inside(level, index, TLG_TILE_WIDTH, s->signed_size))
		e = read_pruned(s, level, index, w, &b, &len);
	if (e == -ENOENT || e == -ENOTDIR)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (e)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read: %s\n",
				   strerror(-e));
	bool full = !w || w == TLG_TILE_WIDTH;
	return reply(c, MHD_HTTP_OK, cp ? "text/plain; charset=utf-8" : "application/octet-stream",
		     cp ? "no-cache, max-age=0" : full ? "public, max-age=31536000, immutable"
						 : "public, max-age=5",
		     b, len, true);
}

/* ---- write API ---- */

static bool auth_ok(struct srv *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t d[32];
	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	h += 7;
	if (!EVP_Digest(h, strlen(h), d, NULL, EVP_sha256(), NULL))
		return false;
	return CRYPTO_memcmp(d, s->token_hash, sizeof(d)) == 0;
}

/* Integrate a batch, answer each entry. */
static void integrate(struct srv *s, cvmf_ctx *ctx, struct req *list, size_t n)
{
	const uint8_t **e = calloc(n, sizeof(*e));
	size_t *lens = calloc(n, sizeof(*lens));
	uint64_t first = 0;
	int r = 0;
	if (!e || !lens) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	} else {
		size_t i = 0;
		for (struct req *q = list; q; q = q->next, i++) {
			e[i] = q->body;
			lens[i] = q->len;
		}
		s->next_size = 0;
		r = tlg_writer_append(ctx, s->w, e, lens, n, &first);
	}
	if (!r) {
		record_done(s);
		s->signed_size = tlg_writer_size(s->w);
	}
	char *err = NULL;
	if (r && asprintf(&err, "could not integrate the entry: %s\n", cvmf_ctx_errmsg(ctx)) < 0)
		err = NULL;
	/* The proofs of the whole batch in one pass: one checkpoint read, shared tiles. */
	char **proofs = NULL;
	size_t *proof_lens = NULL;
	int pr = 0;
	if (!r) {
		proofs = calloc(n, sizeof(*proofs));
		proof_lens = calloc(n, sizeof(*proof_lens));
		pr = proofs && proof_lens
			     ? tlg_writer_proofs(ctx, s->w, first, n, e, lens, proofs, proof_lens)
			     : cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	size_t i = 0;
	for (struct req *q = list; q; q = q->next, i++) {
		if (!r && !pr) {
			q->res_status = MHD_HTTP_OK;
			q->res_body = proofs[i];
			q->res_len = proof_lens[i];
		} else if (!r) {
			q->res_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			if (asprintf(&q->res_body, "entry %llu was integrated, but its proof "
				     "could not be built: %s\n", (unsigned long long)(first + i),
				     cvmf_ctx_errmsg(ctx)) < 0)
				q->res_body = NULL;
			q->res_len = q->res_body ? strlen(q->res_body) : 0;
		} else {
			q->res_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			q->res_body = err ? strdup(err) : NULL;
			q->res_len = q->res_body ? strlen(q->res_body) : 0;
		}
	}
	free(err);
	free(proofs);
	free(proof_lens);
	free(e);
	free(lens);
	tlg_crash_point("ack");
	for (struct req *q = list, *next; q; q = next) {
		next = q->next;
		q->next = NULL;
		q->done = true;
		MHD_resume_connection(q->conn);    /* q belongs to its connection again */
	}
}

/* Group commit. The clients answered by the last batch come back at about
 * the same time; a batch that takes only the first of them pays a whole
 * batch's fixed cost (fsyncs, a signature) for a few entries, and the rest
 * wait for it. So before a batch the batcher lingers while entries keep
 * coming: until as many are queued as the largest of the last 8 batches had,
 * no new one arrived for LINGER_QUIET_NS, or LINGER_MAX_NS passed. One client
 * alone (batches of 1) never waits. */
#define LINGER_QUIET_NS 250000L
#define LINGER_MAX_NS 2000000L

static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static void linger(struct srv *s)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	size_t want = 0;
	for (unsigned i = 0; i < 8; i++)
		if (s->recent[i] > want)
			want = s->recent[i];
	if (want > s->max_batch)
		want = s->max_batch;
	while (!s->stopping && s->queued < want) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = LINGER_MAX_NS - ns_between(&start, &now);
		if (left <= 0)
			break;
		long wait = left < LINGER_QUIET_NS ? left : LINGER_QUIET_NS;
		struct timespec until = now;
		until.tv_nsec += wait;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		size_t before = s->queued;
		int e = 0;
		while (s->queued == before && !s->stopping && e != ETIMEDOUT)
			e = pthread_cond_timedwait(&s->cv, &s->mu, &until);
		if (s->queued == before)
			break;          /* quiet: nobody else is coming */
	}
}

static void *batcher(void *arg)
{
	struct srv *s = arg;
	cvmf_ctx *ctx = cvmf_ctx_new();
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->head) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		linger(s);
		struct req *list = s->head, *last = list;
		size_t n = 1;
		while (last->next && n < s->max_batch) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		s->pending -= n;
		s->queued -= n;
		s->recent[s->n_batches++ % 8] = n;
		pthread_mutex_unlock(&s->mu);
		integrate(s, ctx, list, n);
	}
	cvmf_ctx_free(ctx);
	return NULL;
}

static enum MHD_Result on_add(struct srv *s, struct MHD_Connection *c, struct req *q,
			      const char *upload, size_t *upload_size)
{
	if (*upload_size) {
		if (since_s(&q->start) > s->request_timeout_s)
			return MHD_NO;          /* a body still arriving: close */
		if (!q->dropped && q->len + *upload_size > TLG_SERVE_MAX_BODY) {
			q->dropped = true;
			q->status = MHD_HTTP_CONTENT_TOO_LARGE;
			q->msg = "entry too large: at most 65535 bytes";
			free(q->body);
			q->body = NULL;
		}
		if (!q->dropped) {
			if (q->len + *upload_size > q->cap) {   /* as large as announced, or doubling */
				size_t cap = q->cap ? q->cap : q->announced;
				while (cap < q->len + *upload_size)
					cap = cap ? cap * 2 : 4096;
				if (cap > TLG_SERVE_MAX_BODY)
					cap = TLG_SERVE_MAX_BODY;
				uint8_t *nb = realloc(q->body, cap);
				if (!nb)
					return MHD_NO;
				q->body = nb;
				q->cap = cap;
			}
			memcpy(q->body + q->len, upload, *upload_size);
			q->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->done) {
		int st = q->res_status;
		char *b = q->res_body;
		q->res_body = NULL;
		if (!b)
			return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(c, (unsigned)st,
			     st == MHD_HTTP_OK ? "text/plain; charset=utf-8" : "text/plain; charset=utf-8",
			     "no-store", b, q->res_len, true);
	}
	if (q->status)
		return reply_error(c, (unsigned)q->status, "%s\n", q->msg);
	if (!q->len)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "empty body: the entry is the body\n");
	pthread_mutex_lock(&s->mu);
	if (s->stopping || s->pending >= s->max_pending) {
		pthread_mutex_unlock(&s->mu);
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "overloaded: %zu entries are waiting; retry later\n", s->pending);
	}
	s->pending++;           /* its place is taken */
	pthread_mutex_unlock(&s->mu);
	/* Suspended before the batcher can see it (it resumes what it answers);
	 * no libmicrohttpd call is made under s->mu. */
	q->conn = c;
	q->queued = true;
	MHD_suspend_connection(c);
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = q;
	else
		s->head = q;
	s->tail = q;
	s->queued++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return MHD_YES;
}

/* The request context of a GET or HEAD (POST /add has a struct req). */
static char read_request;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct srv *s = cls;
	(void)version;
	if (*con_cls == &read_request)
		return serve_read(s, c, url);   /* the second call of a GET or HEAD */
	if (*con_cls)
		return on_add(s, c, *con_cls, upload, upload_size);
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context) {
		pthread_mutex_lock(&s->mu);
		((struct conn *)ci->socket_context)->in_request = true;
		pthread_mutex_unlock(&s->mu);
	}
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	if (!strcmp(url, "/add")) {
		if (strcmp(method, MHD_HTTP_METHOD_POST))
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					   "method %s not allowed: POST /add adds an entry\n", method);
		if (!s->writable)
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					   "this log is read-only (served without --token-file)\n");
		if (!auth_ok(s, c))
			return reply_error(c, MHD_HTTP_UNAUTHORIZED,
					   "missing or wrong bearer token\n");
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > TLG_SERVE_MAX_BODY)
			return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
					   "entry too large: %s bytes, at most 65535\n", cl);
		const char *ce = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_ENCODING);
		if (ce && strcasecmp(ce, "identity"))
			return reply_error(c, MHD_HTTP_BAD_REQUEST,
					   "Content-Encoding '%s' is not accepted: send the raw entry\n",
					   ce);
		struct req *q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->s = s;
		q->announced = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
		clock_gettime(CLOCK_MONOTONIC, &q->start);
		*con_cls = q;
		return MHD_YES;
	}
	if (!get) {
		if (is_read_path(url))
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					   "method %s not allowed: the log is read with GET\n", method);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found\n");
	}
	/* Answered at the next call: libmicrohttpd 0.9.75 closes the connection
	 * after a response queued at the first call (the headers only), since a
	 * body might follow; from the second call on it keeps it open. */
	*con_cls = &read_request;
	return MHD_YES;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct srv *s = cls;
	struct req *q = *con_cls;
	(void)toe;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context) {
		pthread_mutex_lock(&s->mu);
		struct conn *k = ci->socket_context;
		k->in_request = false;
		clock_gettime(CLOCK_MONOTONIC, &k->since);
		pthread_mutex_unlock(&s->mu);
	}
	if (!q || *con_cls == &read_request) {
		*con_cls = NULL;
		return;
	}
	free(q->body);
	free(q->res_body);
	free(q);
	*con_cls = NULL;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	struct srv *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn *k = ci ? calloc(1, sizeof(*k)) : NULL;
		if (!k)
			return;
		k->fd = ci->connect_fd;
		clock_gettime(CLOCK_MONOTONIC, &k->since);
		pthread_mutex_lock(&s->mu);
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		pthread_mutex_unlock(&s->mu);
		*socket_context = k;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		struct conn *k = *socket_context;
		pthread_mutex_lock(&s->mu);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&s->mu);
		free(k);
		*socket_context = NULL;
	}
}

/* Requests whose headers are still arriving past the deadline: shut their
 * socket down; libmicrohttpd then sees the end of the stream and closes it. */
static void reap(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	for (struct conn *k = s->conns; k; k = k->next)
		if (!k->in_request && k->fd >= 0 && since_s(&k->since) > s->request_timeout_s) {
			shutdown(k->fd, SHUT_RDWR);
			k->fd = -1;
		}
	pthread_mutex_unlock(&s->mu);
}

/* The URL is taken as it came: nothing is unescaped, so an escaped byte is
 * never a path character (any '%' makes the path non-canonical: 404). */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *str)
{
	(void)cls;
	(void)c;
	return strlen(str);
}

/* ---- start-up ---- */

static int listen_on(cvmf_ctx *ctx, const char *spec, int *ret_fd, char *addr, size_t addr_len)
{
	char host[256], *port;
	if (snprintf(host, sizeof(host), "%s", spec) >= (int)sizeof(host))
		return cmn_error(ctx, CVMF_E_INVAL, "--listen '%s': too long", spec);
	char *h = host;
	if (*h == '[') {
		char *end = strchr(h, ']');
		if (!end || end[1] != ':')
			return cmn_error(ctx, CVMF_E_INVAL,
					  "--listen '%s': expected [ADDR]:PORT for IPv6", spec);
		*end = '\0';
		h++;
		port = end + 2;
	} else {
		port = strrchr(h, ':');
		if (!port)
			return cmn_error(ctx, CVMF_E_INVAL, "--listen '%s': expected ADDR:PORT",
					  spec);
		*port++ = '\0';
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE },
			*ai = NULL;
	int g = getaddrinfo(*h ? h : NULL, port, &hints, &ai);
	if (g)
		return cmn_error(ctx, CVMF_E_INVAL, "--listen '%s': %s (a numeric address and port)",
				  spec, gai_strerror(g));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r = 0;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot listen on '%s': %s", spec, strerror(errno));
		goto out;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hb[NI_MAXHOST], pb[NI_MAXSERV];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, hb, sizeof(hb), pb, sizeof(pb),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot listen on '%s': %s", spec, strerror(errno));
		goto out;
	}
	snprintf(addr, addr_len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", hb, pb);
	*ret_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}

int tlg_serve(cvmf_ctx *ctx, const struct tlg_serve_opts *o)
{
	struct srv s = { .o = o, .dirfd = -1 };
	struct tlg_log *l = NULL;
	struct MHD_Daemon *d = NULL;
	pthread_t bt;
	bool batcher_started = false;
	int lfd = -1, r = 0;
	char addr[300];
	pthread_condattr_t ca;
	pthread_mutex_init(&s.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s.cv, &ca);
	pthread_condattr_destroy(&ca);
	s.max_pending = o->max_pending ? o->max_pending : 8192;
	s.max_batch = o->max_batch ? o->max_batch : 8192;
	s.request_timeout_s = o->request_timeout_s ? o->request_timeout_s : 30;
	if (o->token) {
		s.writable = true;
		if (!EVP_Digest(o->token, o->token_len, s.token_hash, NULL, EVP_sha256(), NULL)) {
			r = cmn_error(ctx, CVMF_E_CRYPTO, "SHA-256 failed");
			goto out;
		}
	}
	if (!(s.dir = strdup(o->dir))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	if ((r = tlg_log_open(ctx, o->dir, false, &l)))
		goto out;
	if (asprintf(&s.record, "%s" RECORD_SUFFIX, tlg_log_key_path(l)) < 0) {
		s.record = NULL;
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	{
		struct cvmf_log_state st;
		if ((r = cvmf_log_state(ctx, o->dir, &st)) || (r = read_record(ctx, &s, st.origin)))
			goto out;
	}
	tlg_log_close(l);
	l = NULL;
	/* Check the directory against the record, finish an interrupted batch
	 * (sign a committed tree without a checkpoint), record the tree. */
	uint64_t first = 0;
	if ((r = tlg_writer_open(ctx, o->dir, TLG_W_PRUNE_PARTIALS, commit_hook, &s, &s.w)) ||
	    (r = tlg_writer_append(ctx, s.w, NULL, NULL, 0, &first)))
		goto out;
	record_done(&s);
	s.signed_size = tlg_writer_size(s.w);
	s.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "log '%s': %s", o->dir, strerror(errno));
		goto out;
	}
	if ((r = cmn_lazy_require(ctx, &cmn_lazy_mhd)) ||
	    (r = listen_on(ctx, o->listen, &lfd, addr, sizeof(addr))))
		goto out;
	if (pthread_create(&bt, NULL, batcher, &s) != 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot start a thread: %s", strerror(errno));
		goto out;
	}
	batcher_started = true;
	unsigned threads = o->threads ? o->threads : 2;
	d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handler,
		&s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd, MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)(o->conn_limit ? o->conn_limit : 1024), MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)(o->idle_timeout_s ? o->idle_timeout_s : 10),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, completed, &s, MHD_OPTION_NOTIFY_CONNECTION,
		notify_conn, &s, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, &s,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_END);
	if (!d) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot start the HTTP server on '%s'", addr);
		goto out;
	}
	lfd = -1;       /* the daemon's now */
	if (o->ready)
		o->ready(o->ready_user, addr);
	while (!o->stop || !*o->stop) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		reap(&s);
	}
out:
	pthread_mutex_lock(&s.mu);
	s.stopping = true;
	pthread_cond_broadcast(&s.cv);
	pthread_mutex_unlock(&s.mu);
	if (batcher_started)
		pthread_join(bt, NULL);   /* every waiting entry answered, connections resumed */
	MHD_stop_daemon(d);
	if (lfd >= 0)
		close(lfd);
	if (s.dirfd >= 0)
		close(s.dirfd);
	for (struct conn *k = s.conns, *n; k; k = n) {
		n = k->next;
		free(k);
	}
	tlg_log_close(l);
	tlg_writer_close(s.w);
	free(s.dir);
	free(s.record);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	return r;
}
