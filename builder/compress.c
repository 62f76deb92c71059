/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compression sinks for the initrd: a byte stream in, compressed bytes out
 * to a file descriptor, hashing both sides on the way (docs/build.md).
 *
 * The bytes must depend only on the input, the method and the level:
 *   - zstd runs in libzstd's multi-threaded mode with at least one worker
 *     and a fixed job size. nbWorkers 0 (single-threaded) and nbWorkers >= 1
 *     cut the stream differently, but every worker count >= 1 gives the same
 *     jobs and so the same bytes: "workers" only changes the speed. Checksum
 *     on, no long mode (the kernel's decompressor limits the window). The
 *     result equals `zstd -T1 -B2097152 -LEVEL` of the stream on stdin.
 *   - gzip is zlib's deflate with an explicit header: mtime 0, no name,
 *     OS 3 (Unix), whatever the host.
 * Input is staged into fixed-size chunks before it reaches the compressor,
 * so the compressor sees the same calls however the caller slices its
 * writes (libarchive hands over 512-byte blocks).
 *
 * Threads: the caller's thread stages input and drives the compressor;
 * one helper thread hashes (SHA-256 of the input, SHA-256 and SHA-384 of
 * the output) and writes to fd, so that hashing overlaps compression. The
 * two share a small pool of chunk buffers handed over in order through a
 * FIFO: memory stays bounded (SINK_NBUF chunks) whatever the size.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <archive.h>
#include <zlib.h>
#include <zstd.h>

#include "builder/builder.h"

#define SINK_CHUNK (256u * 1024u)
#define SINK_NBUF 8

#define ZSTD_DEFAULT_LEVEL 3
/* Fixed, so that neither the bytes nor the memory follow libzstd's default
 * (4 windows: 8 MiB at level 3, ~80 MiB resident with 2 workers). 2 MiB jobs
 * keep a 2-worker build near 40 MiB and cost ~0.1% of ratio. Part of the
 * output format: changing it changes every initrd. */
#define ZSTD_JOB_SIZE (2 << 20)
#define GZIP_DEFAULT_LEVEL 9

/* A chunk on its way to the helper: input to hash, or output to hash and write. */
struct job {
	uint8_t *buf;
	size_t len;
	bool raw;
};

struct bld_sink {
	enum bld_compress c;
	int fd;
	ZSTD_CCtx *zc;
	z_stream z;
	bool z_init;
	gz_header gzh;          /* zlib keeps a pointer to it until the header is out */
	struct cmn_hasher *raw256, *out256, *out384;   /* the helper's */
	uint8_t *in;            /* staged input, a pool chunk */
	size_t in_len;
	uint8_t *out;           /* compressor output being filled, a pool chunk */
	size_t out_len;
	uint64_t raw_size, size;
	int err;                /* the first failure, sticky (caller's thread) */
	bool finished;
	char msg[256];

	/* shared with the helper, under mu */
	pthread_t th;
	bool th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_job, cv_free;
	uint8_t *pool[SINK_NBUF];
	uint8_t *free_bufs[SINK_NBUF];
	size_t n_free;
	struct job q[SINK_NBUF];
	size_t q_head, q_len;
	bool stop;
	bool discard;           /* freed unfinished: skip the queued work */
	int th_err;
	char th_msg[256];
};

static int sink_fail(struct bld_sink *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sink_fail(struct bld_sink *s, int err, const char *fmt, ...)
{
	if (s->err)
		return s->err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->err = err;
	return err;
}

const char *bld_compress_name(enum bld_compress c)
{
	switch (c) {
	case BLD_ZSTD: return "zstd";
	case BLD_GZIP: return "gzip";
	case BLD_NONE: return "none";
	}
	return "unknown";
}

void bld_tool_versions(char *zstd, char *zlib, char *libarchive, size_t len)
{
	if (zstd && len)
		snprintf(zstd, len, "libzstd %s", ZSTD_versionString());
	if (zlib && len)
		snprintf(zlib, len, "zlib %s", zlibVersion());
	if (libarchive && len)
		snprintf(libarchive, len, "%s", archive_version_string());
}

const char *bld_sink_error(const struct bld_sink *s)
{
	if (!s)
		return "no output";
	return s->err ? s->msg : "";
}

/* ---- the helper thread ---- */

/* Hash and write one output chunk; 0 or an error (message in th_msg). */
static int helper_out(struct bld_sink *s, const uint8_t *p, size_t len, char *msg, size_t n)
{
	if (cmn_hasher_update(s->out256, p, len) || cmn_hasher_update(s->out384, p, len)) {
		snprintf(msg, n, "hashing the output failed");
		return CVMF_E_CRYPTO;
	}
	while (len) {
		ssize_t w = write(s->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(msg, n, "cannot write the output: %s",
				 w < 0 ? strerror(errno) : "no progress");
			return CVMF_E_IO;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void *helper(void *arg)
{
	struct bld_sink *s = arg;
	char msg[256];
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->q_len && !s->stop)
			pthread_cond_wait(&s->cv_job, &s->mu);
		if (!s->q_len)
			break;
		struct job j = s->q[s->q_head];
		bool failed = s->th_err || s->discard;
		pthread_mutex_unlock(&s->mu);

		int r = 0;
		if (!failed && j.raw) {
			if (cmn_hasher_update(s->raw256, j.buf, j.len)) {
				snprintf(msg, sizeof(msg), "hashing the uncompressed stream failed");
				r = CVMF_E_CRYPTO;
			}
		} else if (!failed) {
			r = helper_out(s, j.buf, j.len, msg, sizeof(msg));
		}

		pthread_mutex_lock(&s->mu);
		if (r && !s->th_err) {
			s->th_err = r;
			memcpy(s->th_msg, msg, sizeof(msg));
		}
		s->q_head = (s->q_head + 1) % SINK_NBUF;
		s->q_len--;
		s->free_bufs[s->n_free++] = j.buf;
		pthread_cond_signal(&s->cv_free);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The helper's failure, as the sink's own. */
static int helper_failed(struct bld_sink *s)
{
	pthread_mutex_lock(&s->mu);
	int e = s->th_err;
	char msg[256];
	memcpy(msg, s->th_msg, sizeof(msg));
	pthread_mutex_unlock(&s->mu);
	return e ? sink_fail(s, e, "%s", msg) : 0;
}

/* A free chunk, waiting for the helper if all are in flight. */
static int get_buf(struct bld_sink *s, uint8_t **ret)
{
	pthread_mutex_lock(&s->mu);
	while (!s->n_free && !s->th_err)
		pthread_cond_wait(&s->cv_free, &s->mu);
	int e = s->th_err;
	if (!e)
		*ret = s->free_bufs[--s->n_free];
	pthread_mutex_unlock(&s->mu);
	return e ? helper_failed(s) : 0;
}

/* Hand a chunk to the helper, which gives it back to the pool. */
static void put_job(struct bld_sink *s, uint8_t *buf, size_t len, bool raw)
{
	pthread_mutex_lock(&s->mu);
	s->q[(s->q_head + s->q_len) % SINK_NBUF] = (struct job){ buf, len, raw };
	s->q_len++;
	pthread_cond_signal(&s->cv_job);
	pthread_mutex_unlock(&s->mu);
}

/* Send the output chunk when it is full (or `force` with anything in it). */
static int flush_out(struct bld_sink *s, bool force)
{
	if (s->out_len < SINK_CHUNK && !(force && s->out_len))
		return 0;
	s->size += s->out_len;
	put_job(s, s->out, s->out_len, false);
	s->out = NULL;
	s->out_len = 0;
	return get_buf(s, &s->out);
}

/* ---- compressors ---- */

static int zstd_run(struct bld_sink *s, const uint8_t *p, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { p, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { s->out, SINK_CHUNK, s->out_len };
		size_t left = ZSTD_compressStream2(s->zc, &out, &in, end);
		if (ZSTD_isError(left))
			return sink_fail(s, CVMF_E_UNSUPPORTED, "zstd compression failed: %s",
					 ZSTD_getErrorName(left));
		s->out_len = out.pos;
		int r = flush_out(s, false);
		if (r)
			return r;
		/* continue: done once the input is taken; end: once flushed. */
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int gzip_run(struct bld_sink *s, const uint8_t *p, size_t len, int flush)
{
	s->z.next_in = (Bytef *)(uintptr_t)p;
	s->z.avail_in = (uInt)len;
	for (;;) {
		s->z.next_out = s->out + s->out_len;
		s->z.avail_out = (uInt)(SINK_CHUNK - s->out_len);
		int zr = deflate(&s->z, flush);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return sink_fail(s, CVMF_E_UNSUPPORTED, "gzip compression failed: %s",
					 s->z.msg ? s->z.msg : "deflate error");
		bool room = s->z.avail_out != 0;
		s->out_len = SINK_CHUNK - s->z.avail_out;
		int r = flush_out(s, false);
		if (r)
			return r;
		if (flush == Z_FINISH ? zr == Z_STREAM_END : s->z.avail_in == 0 && room)
			return 0;
	}
}

/* Compress the staged chunk, then pass it on: hashed as input, or (NONE)
 * as the output itself. */
static int consume(struct bld_sink *s)
{
	int r = 0;
	s->raw_size += s->in_len;
	if (s->c == BLD_ZSTD)
		r = zstd_run(s, s->in, s->in_len, ZSTD_e_continue);
	else if (s->c == BLD_GZIP)
		r = gzip_run(s, s->in, s->in_len, Z_NO_FLUSH);
	if (r)
		return r;
	/* Uncompressed, the output is the input: one SHA-256 serves both. */
	if (s->c == BLD_NONE)
		s->size += s->in_len;
	put_job(s, s->in, s->in_len, s->c != BLD_NONE);
	s->in = NULL;
	s->in_len = 0;
	return get_buf(s, &s->in);
}

int bld_sink_new(cvmf_ctx *ctx, enum bld_compress c, int level, unsigned workers, int fd,
		 struct bld_sink **ret)
{
	if (c != BLD_ZSTD && c != BLD_GZIP && c != BLD_NONE)
		return cmn_error(ctx, CVMF_E_INVAL, "unknown compression method %d", (int)c);
	if (c == BLD_ZSTD && level == 0)
		level = ZSTD_DEFAULT_LEVEL;
	if (c == BLD_GZIP && level == 0)
		level = GZIP_DEFAULT_LEVEL;
	if (c == BLD_ZSTD && (level < 1 || level > 19))
		return cmn_error(ctx, CVMF_E_INVAL, "zstd level %d is out of range (1..19)", level);
	if (c == BLD_GZIP && (level < 1 || level > 9))
		return cmn_error(ctx, CVMF_E_INVAL, "gzip level %d is out of range (1..9)", level);
	if (fd < 0)
		return cmn_error(ctx, CVMF_E_INVAL, "no output file descriptor");
	if (workers == 0)
		workers = 1;

	struct bld_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	s->c = c;
	s->fd = fd;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_job, NULL);
	pthread_cond_init(&s->cv_free, NULL);
	int r = cmn_hasher_new(ctx, CMN_SHA256, &s->raw256);
	if (!r)
		r = cmn_hasher_new(ctx, CMN_SHA256, &s->out256);
	if (!r)
		r = cmn_hasher_new(ctx, CMN_SHA384, &s->out384);
	if (r)
		goto fail;
	for (size_t i = 0; i < SINK_NBUF; i++) {
		s->pool[i] = malloc(SINK_CHUNK);
		if (!s->pool[i]) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	/* Two chunks are ours (input, output), the rest circulate. */
	s->in = s->pool[0];
	s->out = s->pool[1];
	for (size_t i = 2; i < SINK_NBUF; i++)
		s->free_bufs[s->n_free++] = s->pool[i];

	if (c == BLD_ZSTD) {
		s->zc = ZSTD_createCCtx();
		if (!s->zc) {
			r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory (zstd context)");
			goto fail;
		}
		const struct {
			ZSTD_cParameter p;
			int v;
			const char *name;
		} params[] = {
			{ ZSTD_c_compressionLevel, level, "level" },
			{ ZSTD_c_checksumFlag, 1, "checksum" },
			{ ZSTD_c_nbWorkers, (int)workers, "workers" },
			{ ZSTD_c_jobSize, ZSTD_JOB_SIZE, "job size" },
		};
		for (size_t i = 0; i < CMN_ARRAY_SIZE(params); i++) {
			size_t zr = ZSTD_CCtx_setParameter(s->zc, params[i].p, params[i].v);
			if (ZSTD_isError(zr)) {
				r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
					       "libzstd %s refuses %s = %d: %s (a multi-threaded libzstd is required)",
					       ZSTD_versionString(), params[i].name, params[i].v,
					       ZSTD_getErrorName(zr));
				goto fail;
			}
		}
	} else if (c == BLD_GZIP) {
		int zr = deflateInit2(&s->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (zr != Z_OK) {
			r = cmn_error(ctx, zr == Z_MEM_ERROR ? CVMF_E_NOMEM : CVMF_E_UNSUPPORTED,
				       "zlib %s: deflateInit2 failed (%d)", zlibVersion(), zr);
			goto fail;
		}
		s->z_init = true;
		/* No name, no comment, no extra field, mtime 0, OS 3 (Unix). */
		s->gzh.time = 0;
		s->gzh.os = 3;
		if (deflateSetHeader(&s->z, &s->gzh) != Z_OK) {
			r = cmn_error(ctx, CVMF_E_UNSUPPORTED, "zlib %s: deflateSetHeader failed",
				       zlibVersion());
			goto fail;
		}
	}
	int e = pthread_create(&s->th, NULL, helper, s);
	if (e) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "cannot start the hashing thread: %s", strerror(e));
		goto fail;
	}
	s->th_started = true;
	*ret = s;
	return 0;
fail:
	bld_sink_free(s);
	return r;
}

int bld_sink_write(struct bld_sink *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (s->err)
		return s->err;
	if (s->finished)
		return sink_fail(s, CVMF_E_INVAL, "write after the end of the stream");
	while (len) {
		size_t n = SINK_CHUNK - s->in_len;
		if (n > len)
			n = len;
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		p += n;
		len -= n;
		if (s->in_len == SINK_CHUNK) {
			int r = consume(s);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Let the helper drain the queue and exit. */
static void stop_helper(struct bld_sink *s, bool discard)
{
	if (!s->th_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	s->discard = discard;
	pthread_cond_signal(&s->cv_job);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	s->th_started = false;
}

int bld_sink_finish(struct bld_sink *s, struct bld_initrd_result *ret)
{
	int r;
	if (s->err)
		return s->err;
	if (s->finished)
		return sink_fail(s, CVMF_E_INVAL, "the stream is already finished");
	if (s->in_len && (r = consume(s)))
		return r;
	if (s->c == BLD_ZSTD)
		r = zstd_run(s, NULL, 0, ZSTD_e_end);
	else if (s->c == BLD_GZIP)
		r = gzip_run(s, NULL, 0, Z_FINISH);
	else
		r = 0;
	if (!r)
		r = flush_out(s, true);
	if (r)
		return r;
	stop_helper(s, false);   /* after this, the hashers are ours */
	if ((r = helper_failed(s)))
		return r;
	s->finished = true;
	uint8_t raw[32], d256[32], d384[48];
	if (cmn_hasher_final(s->raw256, raw) || cmn_hasher_final(s->out256, d256) ||
	    cmn_hasher_final(s->out384, d384))
		return sink_fail(s, CVMF_E_CRYPTO, "hashing failed");
	ret->raw_size = s->raw_size;
	memcpy(ret->raw_sha256, s->c == BLD_NONE ? d256 : raw, 32);
	ret->size = s->size;
	memcpy(ret->sha256, d256, 32);
	memcpy(ret->sha384, d384, 48);
	return 0;
}

void bld_sink_free(struct bld_sink *s)
{
	if (!s)
		return;
	stop_helper(s, true);
	ZSTD_freeCCtx(s->zc);
	if (s->z_init)
		deflateEnd(&s->z);
	cmn_hasher_free(s->raw256);
	cmn_hasher_free(s->out256);
	cmn_hasher_free(s->out384);
	for (size_t i = 0; i < SINK_NBUF; i++)
		free(s->pool[i]);
	pthread_cond_destroy(&s->cv_job);
	pthread_cond_destroy(&s->cv_free);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
