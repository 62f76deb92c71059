/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the `log serve` tests: starting the server on a free loopback
 * port, raw HTTP requests (byte for byte what the test writes, so paths are
 * sent unnormalised), tlog-proof fields. */
#ifndef CVMF_SERVETEST_H
#define CVMF_SERVETEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "tests/unit/tlogtest.h"

struct srv_proc {
	pid_t pid;
	int port;
	char err_path[64];
};

/* Start `cvmforge log serve DIR --listen 127.0.0.1:0 [extra...]` with env
 * additions (NULL-terminated "K=V" list, may be NULL). Returns 0 and fills p
 * once the server printed its address; otherwise the exit status (the server
 * refused to start) with its stderr in *err (malloc'd) when err is not NULL. */
static inline int srv_start(struct srv_proc *p, const char *dir, char *const *extra,
			    char *const *env_add, char **err)
{
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)t_bin();
	argv[n++] = "log";
	argv[n++] = "serve";
	argv[n++] = (char *)dir;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	snprintf(p->err_path, sizeof(p->err_path), "/tmp/cvmforge-serve-err-XXXXXX");
	int efd = mkstemp(p->err_path);
	assert_true(efd >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(efd, 2);
		close(pfd[0]);
		close(pfd[1]);
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		for (int i = 0; env_add && env_add[i]; i++)
			putenv(env_add[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	close(efd);
	char line[512];
	size_t len = 0;
	for (;;) {
		struct pollfd pf = { pfd[0], POLLIN, 0 };
		if (poll(&pf, 1, 20000) <= 0)
			break;
		ssize_t got = read(pfd[0], line + len, sizeof(line) - 1 - len);
		if (got <= 0)
			break;
		len += (size_t)got;
		line[len] = '\0';
		if (strchr(line, '\n'))
			break;
	}
	close(pfd[0]);
	line[len] = '\0';
	const char *colon = strrchr(line, ':');
	if (len && strchr(line, '\n') && colon && !strncmp(line, "serving ", 8)) {
		p->pid = pid;
		p->port = atoi(colon + 1);
		return 0;
	}
	int st;
	waitpid(pid, &st, 0);
	if (err)
		*err = t_slurp(p->err_path, NULL);
	unlink(p->err_path);
	return WIFEXITED(st) ? (WEXITSTATUS(st) ? WEXITSTATUS(st) : 255) : 128 + WTERMSIG(st);
}

/* SIGTERM (graceful) or SIGKILL; returns the wait status. */
static inline int srv_stop(struct srv_proc *p, int sig)
{
	int st = 0;
	if (p->pid > 0) {
		kill(p->pid, sig);
		waitpid(p->pid, &st, 0);
		p->pid = 0;
		unlink(p->err_path);
	}
	return st;
}

static inline int t_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 20, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct t_resp {
	int status;             /* 0: no answer (connection refused, reset or closed) */
	char *head;             /* status line and headers */
	char *body;             /* NUL-terminated */
	size_t body_len;
};

static inline void t_resp_free(struct t_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Send req (len bytes) as is, read one answer: to its Content-Length (none
 * after a HEAD), or to the end of the stream when it has none. The server
 * may keep the connection open. */
static inline struct t_resp t_http_raw(int port, const void *req, size_t len)
{
	struct t_resp r = { 0 };
	int fd = t_connect(port);
	if (fd < 0)
		return r;
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	bool head_req = len >= 5 && !memcmp(req, "HEAD ", 5);
	for (;;) {
		if (n + 1 >= cap)
			b = realloc(b, cap *= 2);
		ssize_t got = recv(fd, b + n, cap - n - 1, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
		b[n] = '\0';
		const char *end = strstr(b, "\r\n\r\n"), *cl = NULL;
		if (end) {
			for (const char *h = b; h && h < end && !cl; h = strstr(h + 2, "\r\n"))
				if (!strncasecmp(h, "\r\nContent-Length:", 17))
					cl = h + 17;
			if (cl && n >= (size_t)(end + 4 - b) +
					  (head_req ? 0 : strtoull(cl, NULL, 10)))
				break;
		}
	}
	close(fd);
	b[n] = '\0';
	char *sep = strstr(b, "\r\n\r\n");
	if (!sep || sscanf(b, "HTTP/1.%*d %d", &r.status) != 1) {
		free(b);
		r.status = 0;
		return r;
	}
	r.head = strndup(b, (size_t)(sep - b));
	r.body_len = n - (size_t)(sep + 4 - b);
	r.body = malloc(r.body_len + 1);
	memcpy(r.body, sep + 4, r.body_len);
	r.body[r.body_len] = '\0';
	free(b);
	return r;
}

/* METHOD PATH with optional token and body. */
static inline struct t_resp t_http(int port, const char *method, const char *path,
				   const char *token, const void *body, size_t len)
{
	char *head = NULL;
	char auth[512] = "";
	if (token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
	assert_true(asprintf(&head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n", method, path, auth, len) > 0);
	size_t hl = strlen(head);
	char *req = malloc(hl + len + 1);
	memcpy(req, head, hl);
	if (len)
		memcpy(req + hl, body, len);
	struct t_resp r = t_http_raw(port, req, hl + len);
	free(req);
	free(head);
	return r;
}

/* A header's value in a response (static buffer), or NULL. */
static inline const char *t_header(const struct t_resp *r, const char *name)
{
	static __thread char v[512];
	size_t nl = strlen(name);
	for (const char *p = r->head; p && (p = strstr(p, "\r\n")); ) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *s = p + nl + 1;
			while (*s == ' ')
				s++;
			size_t l = strcspn(s, "\r\n");
			snprintf(v, sizeof(v), "%.*s", (int)l, s);
			return v;
		}
	}
	return NULL;
}

/* The "index N" line of a tlog-proof, or UINT64_MAX. */
static inline uint64_t t_proof_index(const char *proof)
{
	const char *p = strstr(proof, "\nindex ");
	return p ? strtoull(p + 7, NULL, 10) : UINT64_MAX;
}

#endif
