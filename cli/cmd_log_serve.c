/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge log serve DIR --listen ADDR:PORT [--token-file FILE]`: the log
 * over HTTP (log/server.c, docs/log.md). Runs until SIGINT or SIGTERM; the
 * entries already received are integrated and answered before it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "log/server.h"

#define PROG "cvmforge log serve"

static const char usage[] =
	"DIR --listen ADDR:PORT [--token-file FILE] [--timeout S] [--max-pending N]";

enum { OPT_HELP = 1, OPT_LISTEN, OPT_TOKEN, OPT_TIMEOUT, OPT_PENDING, OPT_THREADS };

static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "listen", 0, true, OPT_LISTEN },
	{ "token-file", 0, true, OPT_TOKEN },
	{ "timeout", 0, true, OPT_TIMEOUT },
	{ "max-pending", 0, true, OPT_PENDING },
	{ "threads", 0, true, OPT_THREADS },
	{ NULL, 0, false, 0 },
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void ready(void *user, const char *addr)
{
	const char *dir = user;
	printf("serving %s on http://%s\n", dir, addr);
	fflush(stdout);
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v == 0 || v > max)
		return -1;
	*ret = (unsigned)v;
	return 0;
}

/* The token: the first line of FILE, which only its owner may read. */
int cli_read_token(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return fail("cannot read the token file '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("token file '%s': not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fail("token file '%s': mode %04o lets others read it; chmod 600 it", path,
			    (unsigned)(st.st_mode & 07777));
	}
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return fail("cannot read the token file '%s': %s", path, strerror(errno));
	buf[n] = '\0';
	size_t len = strcspn(buf, "\r\n");
	if (len == 0 || (len == (size_t)n && n == (ssize_t)sizeof(buf) - 1)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return fail("token file '%s': %s", path,
			    len ? "the first line is longer than 4095 bytes" : "the first line is empty");
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] < 0x21 || buf[i] > 0x7e) {
			OPENSSL_cleanse(buf, sizeof(buf));
			return fail("token file '%s': the token may only hold printable ASCII without "
				    "spaces (byte %zu)", path, i + 1);
		}
	*ret = strndup(buf, len);
	*ret_len = len;
	OPENSSL_cleanse(buf, sizeof(buf));
	return *ret ? EXIT_OK_ : fail("out of memory");
}

int cmd_log_serve(int argc, char **argv)
{
	struct opt_parser p = { .prog = PROG, .usage = usage, .opts = options, .argc = argc,
				.argv = argv, .i = 1, .max_positional = 1 };
	const char *listen = NULL, *token_file = NULL, *v;
	struct tlg_serve_opts o = { 0 };
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Serve the log in DIR over HTTP: the c2sp.org/tlog-tiles read API at the URL\n"
			       "root (/checkpoint, /tile/L/N[.p/W], /tile/entries/N[.p/W]) and, with\n"
			       "--token-file, POST /add: the body is one entry (<= 65535 bytes), sent with\n"
			       "'Authorization: Bearer TOKEN'; the answer is its c2sp.org/tlog-proof, once\n"
			       "a signed checkpoint covers it. Refuses to start on a directory rolled back\n"
			       "behind the tree it last committed (recorded in KEY.tree-head beside the\n"
			       "log's key). Stops on SIGINT or SIGTERM after answering what it received.\n\n"
			       "  --listen ADDR:PORT   numeric address and port ([ADDR6]:PORT; port 0: any)\n"
			       "  --token-file FILE    the writers' token, its first line (mode 0600);\n"
			       "                       without it the log is read-only\n"
			       "  --timeout S          close connections idle for S seconds, and requests\n"
			       "                       not received within 3*S (default 10)\n"
			       "  --max-pending N      entries waiting before 503 (default 8192)\n"
			       "  --threads N          HTTP threads (default 2)\n",
			       PROG, usage);
			return EXIT_OK_;
		case OPT_LISTEN: listen = v; break;
		case OPT_TOKEN: token_file = v; break;
		case OPT_TIMEOUT:
			if (parse_uint(v, 3600, &o.idle_timeout_s))
				return usage_error(PROG, usage, "argument --timeout: 1 to 3600 seconds, not '%s'", v);
			o.request_timeout_s = 3 * o.idle_timeout_s;
			break;
		case OPT_PENDING:
			if (parse_uint(v, 1u << 20, &o.max_pending))
				return usage_error(PROG, usage, "argument --max-pending: 1 to 1048576, not '%s'", v);
			break;
		case OPT_THREADS:
			if (parse_uint(v, 64, &o.threads))
				return usage_error(PROG, usage, "argument --threads: 1 to 64, not '%s'", v);
			break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional < 1)
		return usage_error(PROG, usage, "the following arguments are required: DIR");
	if (!listen)
		return usage_error(PROG, usage, "the following arguments are required: --listen");
	char *token = NULL;
	int rc = EXIT_OK_;
	if (token_file && (rc = cli_read_token(token_file, &token, &o.token_len)))
		return rc;
	o.dir = p.positional[0];
	o.listen = listen;
	o.token = token;
	o.ready = ready;
	o.ready_user = p.positional[0];
	o.stop = &stop;
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx) {
		rc = fail("out of memory");
	} else {
		int r = tlg_serve(ctx, &o);
		if (r) {
			fprintf(stderr, "Error: %s\n", cvmf_ctx_errmsg(ctx));
			rc = r == CVMF_E_CRYPTO ? EXIT_MISMATCH : EXIT_FAILURE_;
		}
	}
	cvmf_ctx_free(ctx);
	if (token)
		OPENSSL_cleanse(token, o.token_len);
	free(token);
	return rc;
}
