/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client (common/http.c) against a real HTTP server on loopback:
 * a small server in this file, on a free port of 127.0.0.1, one thread,
 * one connection at a time. Status codes, GET and POST with headers and a
 * body, redirects, the response size cap, streaming to a sink with
 * progress, error bodies kept apart, a stalled server timed out, a closed
 * port, requests refused before anything is sent.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "tests/unit/testlib.h"
#include "common/http.h"
#include "common/internal.h"

#define BIG_LEN 300000

struct server {
	int lfd;
	int port;
	pthread_t thread;
	unsigned requests;
};

static void send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;   /* the client went away (the size cap): fine */
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *extra_headers, const void *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, len, extra_headers ? extra_headers : "");
	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

static char *big_body(void)
{
	char *b = malloc(BIG_LEN);
	for (size_t i = 0; i < BIG_LEN; i++)
		b[i] = (char)('a' + i % 26);
	return b;
}

/* One request: read the head and a Content-Length body, answer by path. */
static void serve(int fd)
{
	char req[65536];
	size_t len = 0;
	char *end = NULL;
	while (!end && len < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = 0;
		end = strstr(req, "\r\n\r\n");
	}
	if (!end)
		return;
	size_t head_len = (size_t)(end - req) + 4;
	const char *cl = strcasestr(req, "\r\nContent-Length:");
	size_t body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
	while (len < head_len + body_len && len < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	req[len] = 0;
	char method[16] = "", path[256] = "";
	sscanf(req, "%15s %255s", method, path);

	if (!strcmp(path, "/ok")) {
		respond(fd, 200, NULL, "hello", 5);
	} else if (!strcmp(path, "/missing")) {
		respond(fd, 404, NULL, "no such thing", 13);
	} else if (!strcmp(path, "/redirect")) {
		respond(fd, 302, "Location: /ok\r\n", "", 0);
	} else if (!strcmp(path, "/big")) {
		char *b = big_body();
		respond(fd, 200, NULL, b, BIG_LEN);
		free(b);
	} else if (!strcmp(path, "/bigerror")) {
		char *b = big_body();
		respond(fd, 500, NULL, b, BIG_LEN);
		free(b);
	} else if (!strcmp(path, "/echo")) {
		/* The method, the X-Test header and the body, as the server got them. */
		char out[70000];
		const char *h = strcasestr(req, "\r\nX-Test: ");
		size_t hl = h ? strcspn(h + 10, "\r") : 0;
		int n = snprintf(out, sizeof(out), "%s|%.*s|", method, (int)hl, h ? h + 10 : "");
		size_t blen = len - head_len;
		memcpy(out + n, req + head_len, blen);
		respond(fd, 200, NULL, out, (size_t)n + blen);
	} else if (!strcmp(path, "/stall")) {
		/* Never answer: wait until the client gives up (or 20 s). */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 20000);
	} else if (!strcmp(path, "/trickle")) {
		/* Headers, then one byte and silence. */
		send_all(fd, "HTTP/1.1 200 X\r\nContent-Length: 100\r\n\r\nx", 40);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 20000);
	} else {
		respond(fd, 400, NULL, "bad path", 8);
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;   /* shut down */
		s->requests++;
		serve(fd);
		close(fd);
	}
	return NULL;
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(s->thread, NULL);
	free(s);
	return 0;
}

static char *url(const struct server *s, const char *path)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", s->port, path);
	return buf;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_status(void **state)
{
	struct server *s = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	long st = -1;
	uint8_t *body = NULL;
	size_t n = 0;
	struct cmn_http_req req = { .url = url(s, "/ok") };
	if (cmn_http(ctx, &req, &st, &body, &n))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_int_equal(st, 200);
	assert_int_equal(n, 5);
	assert_string_equal((char *)body, "hello");
	free(body);

	/* A 404 is a result, not an error: the caller decides. */
	req.url = url(s, "/missing");
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), 0);
	assert_int_equal(st, 404);
	assert_string_equal((char *)body, "no such thing");
	free(body);

	/* Redirects are followed. */
	req.url = url(s, "/redirect");
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), 0);
	assert_int_equal(st, 200);
	assert_string_equal((char *)body, "hello");
	free(body);
	cvmf_ctx_free(ctx);
}

static void test_post_headers(void **state)
{
	struct server *s = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	static const char *const hdrs[] = { "X-Test: forty two", "Content-Type: application/json",
					    NULL };
	const char payload[] = "{\"a\":1}\0tail";   /* binary-safe: a NUL inside */
	struct cmn_http_req req = { .url = url(s, "/echo"), .method = "POST", .headers = hdrs,
				    .body = payload, .body_len = sizeof(payload) - 1 };
	long st;
	uint8_t *body;
	size_t n;
	if (cmn_http(ctx, &req, &st, &body, &n))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	assert_int_equal(st, 200);
	const char want[] = "POST|forty two|{\"a\":1}\0tail";
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(body, want, n);
	free(body);
	/* GET, no body */
	req.method = NULL;
	req.body = NULL;
	req.body_len = 0;
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), 0);
	assert_string_equal((char *)body, "GET|forty two|");
	free(body);
	cvmf_ctx_free(ctx);
}

static void test_size_cap(void **state)
{
	struct server *s = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	long st = -1;
	uint8_t *body = (uint8_t *)"untouched";
	size_t n = 7;
	struct cmn_http_req req = { .url = url(s, "/big"), .max_response = 1000 };
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_FORMAT);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "more than the 1000 bytes accepted"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "/big"));
	assert_int_equal(st, -1);
	assert_string_equal((char *)body, "untouched");
	assert_int_equal(n, 7);
	/* Exactly the cap is fine. */
	req.max_response = BIG_LEN;
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), 0);
	assert_int_equal(n, BIG_LEN);
	char *want = big_body();
	assert_memory_equal(body, want, BIG_LEN);
	free(body);
	req.max_response = BIG_LEN - 1;
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_FORMAT);
	free(want);
	cvmf_ctx_free(ctx);
}

struct prog {
	unsigned calls;
	uint64_t last_done, last_total;
	char what[64];
};

static void on_progress(void *user, const char *what, uint64_t done, uint64_t total)
{
	struct prog *p = user;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
	snprintf(p->what, sizeof(p->what), "%s", what);
}

static int failing_sink(void *user, cvmf_ctx *ctx, const void *buf, size_t len)
{
	(void)user;
	(void)buf;
	(void)len;
	return cmn_error(ctx, CVMF_E_IO, "the sink is full");
}

static void test_sink(void **state)
{
	struct server *s = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	char *dir = t_tmpdir(), *path = NULL;
	assert_true(asprintf(&path, "%s/body", dir) > 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	struct prog p = { 0 };
	struct cmn_http_req req = { .url = url(s, "/big"), .what = "fetch big", .sink = cmn_http_fd_sink,
				    .sink_user = &fd, .progress = on_progress, .progress_user = &p };
	long st;
	uint8_t *body = (uint8_t *)"x";
	size_t n = 99;
	if (cmn_http(ctx, &req, &st, &body, &n))
		fail_msg("%s", cvmf_ctx_errmsg(ctx));
	close(fd);
	assert_int_equal(st, 200);
	assert_null(body);
	assert_int_equal(n, 0);
	size_t got;
	char *data = t_slurp(path, &got);
	char *want = big_body();
	assert_int_equal(got, BIG_LEN);
	assert_memory_equal(data, want, BIG_LEN);
	free(data);
	assert_true(p.calls > 0);
	assert_int_equal(p.last_done, BIG_LEN);
	assert_int_equal(p.last_total, BIG_LEN);
	assert_string_equal(p.what, "fetch big");

	/* An error response never reaches the sink: its start is kept for the message. */
	fd = open(path, O_WRONLY | O_TRUNC);
	req.url = url(s, "/bigerror");
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), 0);
	close(fd);
	assert_int_equal(st, 500);
	assert_int_equal(n, CMN_HTTP_ERROR_BODY_MAX);
	assert_memory_equal(body, want, n);
	free(body);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);

	/* A sink's error stops the transfer, with its own message. */
	req.url = url(s, "/big");
	req.sink = failing_sink;
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_IO);
	assert_string_equal(cvmf_ctx_errmsg(ctx), "the sink is full");
	free(want);
	free(path);
	t_rmrf(dir);
	free(dir);
	cvmf_ctx_free(ctx);
}

static void test_timeouts(void **state)
{
	struct server *s = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	long st = -1;
	uint8_t *body = NULL;
	size_t n;
	/* A server that accepts and never answers: the whole-transfer timeout. */
	struct cmn_http_req req = { .url = url(s, "/stall"), .timeout_s = 1 };
	double t0 = now();
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_IO);
	double dt = now() - t0;
	assert_true(dt >= 0.9 && dt < 5);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "(curl error 28)"));
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "/stall"));
	assert_int_equal(st, -1);
	/* A server that stops sending mid-body: the stall limit, without a total timeout. */
	req = (struct cmn_http_req){ .url = url(s, "/trickle"), .stall_s = 1 };
	t0 = now();
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_IO);
	dt = now() - t0;
	assert_true(dt >= 0.9 && dt < 5);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "(curl error 28)"));
	cvmf_ctx_free(ctx);
}

static void test_refused(void **state)
{
	struct server *s = *state;
	cvmf_ctx *ctx = cvmf_ctx_new();
	long st = -1;
	uint8_t *body = NULL;
	size_t n;
	unsigned before = s->requests;
	/* Header injection, a method we do not speak, no URL: nothing is sent. */
	static const char *const inject[] = { "X-Test: a\r\nX-Evil: b", NULL };
	struct cmn_http_req req = { .url = url(s, "/ok"), .headers = inject };
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_INVAL);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "bad request header"));
	static const char *const nocolon[] = { "X-Test", NULL };
	req.headers = nocolon;
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_INVAL);
	req = (struct cmn_http_req){ .url = url(s, "/ok"), .method = "DELETE" };
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_INVAL);
	req = (struct cmn_http_req){ .url = "" };
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_INVAL);
	assert_int_equal(s->requests, before);
	/* file:// only when asked for. */
	req = (struct cmn_http_req){ .url = "file:///etc/hostname" };
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "curl error"));
	/* A closed port. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);   /* bound, then closed: nobody listens there */
	char u[64];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/", ntohs(a.sin_port));
	req = (struct cmn_http_req){ .url = u, .what = "fetch" };
	assert_int_equal(cmn_http(ctx, &req, &st, &body, &n), CVMF_E_IO);
	assert_non_null(strstr(cvmf_ctx_errmsg(ctx), "(curl error 7)"));
	assert_true(strncmp(cvmf_ctx_errmsg(ctx), "fetch from http://127.0.0.1:", 28) == 0);
	assert_int_equal(st, -1);
	cvmf_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_post_headers),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests_name("http", tests, setup, teardown);
}
