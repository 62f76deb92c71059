/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge initrd`: build a deterministic initrd from host trees and files,
 * and `cvmforge initrd diff A B`: the first difference between two initrds.
 *
 * The output goes to a temporary file beside OUT, renamed over it once
 * complete: OUT is never half-written, and a failure leaves nothing. A device
 * or FIFO given as OUT is written through (common/write.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/builder.h"
#include "cli/cli.h"
#include "common/write.h"

#define PROG "cvmforge initrd"

static const char usage_build[] =
	"-o OUT [--tree DIR[:PREFIX]]... [--file SRC:/DEST[:MODE]]... [--compress zstd|gzip|none] "
	"[--level N] [--workers N] [--source-date-epoch N] [--json] [--quiet]";
static const char usage_diff[] = "diff A B";

enum {
	OPT_HELP = 1, OPT_OUT, OPT_TREE, OPT_FILE, OPT_COMPRESS, OPT_LEVEL, OPT_WORKERS,
	OPT_EPOCH, OPT_JSON, OPT_QUIET,
};
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "output", 'o', true, OPT_OUT },
	{ "tree", 0, true, OPT_TREE },
	{ "file", 0, true, OPT_FILE },
	{ "compress", 0, true, OPT_COMPRESS },
	{ "level", 0, true, OPT_LEVEL },
	{ "workers", 0, true, OPT_WORKERS },
	{ "source-date-epoch", 0, true, OPT_EPOCH },
	{ "json", 0, false, OPT_JSON },
	{ "quiet", 'q', false, OPT_QUIET },
	{ NULL, 0, false, 0 },
};
static const struct opt options_diff[] = {
	{ "help", 'h', false, OPT_HELP },
	{ NULL, 0, false, 0 },
};

static void print_help(void)
{
	printf("usage: %s %s\n"
	       "       %s %s\n\n"
	       "Build a deterministic cpio (newc) initrd: entries sorted bytewise, inode\n"
	       "numbers 1, 2, ... in that order, every mtime = SOURCE_DATE_EPOCH, owner 0:0,\n"
	       "modes 0755 (directories, and files their owner may execute) or 0644, symlinks\n"
	       "stored as such, missing parent directories added with mode 0755. The same\n"
	       "inputs give the same bytes on any host, whatever the number of workers.\n\n"
	       "  -o, --output OUT           the initrd to write (through a temporary file)\n"
	       "  --tree DIR[:PREFIX]        add DIR's contents under PREFIX (default /); symlinks\n"
	       "                             are not followed, devices/FIFOs/sockets refused\n"
	       "  --file SRC:/DEST[:MODE]    add one file; MODE in octal (default 0755 if its\n"
	       "                             owner may execute it, else 0644)\n"
	       "  --compress zstd|gzip|none  (default zstd)\n"
	       "  --level N                  zstd 1..19 (default 3), gzip 1..9 (default 9)\n"
	       "  --workers N                zstd threads (default: the online CPUs); the\n"
	       "                             bytes do not depend on it\n"
	       "  --source-date-epoch N      mtime of every entry (default $SOURCE_DATE_EPOCH,\n"
	       "                             else 0)\n"
	       "  --json                     print the result as a JSON object\n"
	       "  -q, --quiet                no progress on stderr\n\n"
	       "diff A B compares two initrds (zstd, gzip or uncompressed) entry by entry and\n"
	       "prints the first difference: path, type, mode, owner, nlink, ino, mtime, size,\n"
	       "device, symlink target, then the byte offset of differing data.\n\n"
	       "Exit codes: 0 success (diff: identical), 1 failure, 2 usage error, 3 the\n"
	       "initrds differ (diff).\n",
	       PROG, usage_build, PROG, usage_diff);
}

/* A decimal number in [lo, hi]; false when it is not one. */
static bool parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
		       unsigned long long *ret)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

/* --tree DIR[:PREFIX]: the last ':' followed by '/' starts the prefix. */
static int add_tree_arg(cvmf_ctx *ctx, struct bld_initrd *l, const char *arg)
{
	char *dir = strdup(arg);
	if (!dir)
		return fail("out of memory");
	const char *prefix = "/";
	char *c = strrchr(dir, ':');
	while (c && c[1] != '/') {
		*c = '\0';
		char *prev = strrchr(dir, ':');
		*c = ':';
		c = prev;
	}
	if (c) {
		*c = '\0';
		prefix = c + 1;
	}
	char origin[4200];
	snprintf(origin, sizeof(origin), "--tree %s", arg);
	int r = EXIT_OK_;
	if (bld_initrd_add_tree(ctx, l, dir, prefix, 0, 0, origin))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	free(dir);
	return r;
}

/* --file SRC:/DEST[:MODE]: SRC ends at the first ":/". */
static int add_file_arg(cvmf_ctx *ctx, struct bld_initrd *l, const char *arg)
{
	char *s = strdup(arg);
	if (!s)
		return fail("out of memory");
	int r = EXIT_OK_;
	char *sep = strstr(s, ":/");
	if (!sep || sep == s) {
		r = usage_error(PROG, usage_build,
				"argument --file: expected SRC:/DEST[:MODE], got '%s'", arg);
		goto out;
	}
	*sep = '\0';
	char *dest = sep + 1;
	long mode = -1;
	char *colon = strrchr(dest, ':');
	if (colon && colon[1] && strspn(colon + 1, "01234567") == strlen(colon + 1)) {
		mode = strtol(colon + 1, NULL, 8);
		if (strlen(colon + 1) > 5 || mode > 07777) {
			r = usage_error(PROG, usage_build, "argument --file: mode '%s' is not 0..07777",
					colon + 1);
			goto out;
		}
		*colon = '\0';
	}
	if (mode < 0) {
		struct stat st;
		if (stat(s, &st) < 0) {
			r = fail("cannot stat '%s': %s", s, strerror(errno));
			goto out;
		}
		mode = st.st_mode & S_IXUSR ? 0755 : 0644;
	}
	char origin[4200];
	snprintf(origin, sizeof(origin), "--file %s", arg);
	struct bld_entry e = { .path = dest, .type = BLD_REG, .mode = (unsigned)mode,
			       .source = s, .origin = origin };
	if (bld_initrd_add(ctx, l, &e))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
out:
	free(s);
	return r;
}

/* Write the initrd through the one writer: a temporary beside `out` renamed
 * over it, or a device or FIFO written through (common/write.h). */
static int write_out(cvmf_ctx *ctx, struct bld_initrd *l, const struct bld_initrd_opts *o,
		     const char *out, struct bld_initrd_result *res)
{
	struct cmn_out *w = NULL;
	if (cmn_out_open(ctx, "initrd", out, 0, &w))
		return fail("%s", cvmf_ctx_errmsg(ctx));
	if (bld_initrd_write(ctx, l, o, cmn_out_fd(w), res)) {
		cmn_out_abort(w);
		return fail("%s", cvmf_ctx_errmsg(ctx));
	}
	if (cmn_out_commit(w))
		return fail("%s", cvmf_ctx_errmsg(ctx));
	return EXIT_OK_;
}

static int print_result(const char *out, const struct bld_initrd_opts *o,
			const struct bld_initrd_result *res, bool json)
{
	char raw[65], s256[65], s384[97];
	cvmf_hex(res->raw_sha256, 32, raw);
	cvmf_hex(res->sha256, 32, s256);
	cvmf_hex(res->sha384, 48, s384);
	if (!json) {
		if (o->compress == BLD_NONE)
			printf("%s: %llu entries, %llu bytes, sha256 %s\n", out,
			       (unsigned long long)res->entries, (unsigned long long)res->size, s256);
		else
			printf("%s: %llu entries, cpio %llu bytes (sha256 %s), %s %llu bytes, sha256 %s\n",
			       out, (unsigned long long)res->entries,
			       (unsigned long long)res->raw_size, raw, bld_compress_name(o->compress),
			       (unsigned long long)res->size, s256);
		return EXIT_OK_;
	}
	char vz[64], vl[64], va[64];
	bld_tool_versions(vz, vl, va, sizeof(vz));
	json_t *j = json_object(), *cpio = json_object(), *tools = json_object();
	json_object_set_new(j, "path", json_string(out));
	json_object_set_new(j, "entries", json_integer((json_int_t)res->entries));
	json_object_set_new(j, "compression", json_string(bld_compress_name(o->compress)));
	json_object_set_new(j, "level", o->compress == BLD_NONE ? json_null()
				: json_integer(o->level ? o->level : o->compress == BLD_ZSTD ? 3 : 9));
	json_object_set_new(j, "source_date_epoch", json_integer((json_int_t)o->mtime));
	json_object_set_new(cpio, "size", json_integer((json_int_t)res->raw_size));
	json_object_set_new(cpio, "sha256", json_string(raw));
	json_object_set_new(j, "cpio", cpio);
	json_object_set_new(j, "size", json_integer((json_int_t)res->size));
	json_object_set_new(j, "sha256", json_string(s256));
	json_object_set_new(j, "sha384", json_string(s384));
	if (o->compress == BLD_ZSTD)
		json_object_set_new(tools, "zstd", json_string(vz));
	if (o->compress == BLD_GZIP)
		json_object_set_new(tools, "zlib", json_string(vl));
	json_object_set_new(tools, "libarchive", json_string(va));
	json_object_set_new(j, "tools", tools);
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	printf("\n");
	return rc ? fail("cannot write JSON") : EXIT_OK_;
}

static int cmd_build_initrd(int argc, char **argv)
{
	struct opt_parser p = { .prog = PROG, .usage = usage_build, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 0 };
	struct bld_initrd_opts o = { .compress = BLD_ZSTD };
	const char *out = NULL, *v;
	const char **trees = calloc((size_t)argc + 1, sizeof(*trees));
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	size_t n_trees = 0, n_files = 0;
	bool json = false, quiet = false, have_level = false, have_epoch = false;
	unsigned long long x;
	int id, r = EXIT_OK_;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o.workers = cpus > 0 ? (unsigned)(cpus > 200 ? 200 : cpus) : 1;
	if (!trees || !files) {
		r = fail("out of memory");
		goto out;
	}
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			print_help();
			goto out;
		case OPT_OUT:
			out = v;
			break;
		case OPT_TREE:
			trees[n_trees++] = v;
			break;
		case OPT_FILE:
			files[n_files++] = v;
			break;
		case OPT_COMPRESS:
			if (!strcmp(v, "zstd"))
				o.compress = BLD_ZSTD;
			else if (!strcmp(v, "gzip"))
				o.compress = BLD_GZIP;
			else if (!strcmp(v, "none"))
				o.compress = BLD_NONE;
			else {
				r = usage_error(PROG, usage_build,
						"argument --compress: invalid choice: '%s' (choose from 'zstd', 'gzip', 'none')",
						v);
				goto out;
			}
			break;
		case OPT_LEVEL:
			if (!parse_uint(v, 1, 19, &x)) {
				r = usage_error(PROG, usage_build, "argument --level: invalid level '%s'", v);
				goto out;
			}
			o.level = (int)x;
			have_level = true;
			break;
		case OPT_WORKERS:
			if (!parse_uint(v, 1, 200, &x)) {
				r = usage_error(PROG, usage_build,
						"argument --workers: '%s' is not a number in 1..200", v);
				goto out;
			}
			o.workers = (unsigned)x;
			break;
		case OPT_EPOCH:
			if (!parse_uint(v, 0, 0xffffffffull, &x)) {
				r = usage_error(PROG, usage_build,
						"argument --source-date-epoch: '%s' is not a number of seconds in 0..4294967295",
						v);
				goto out;
			}
			o.mtime = x;
			have_epoch = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		}
	}
	if (id < 0) {
		r = EXIT_USAGE;
		goto out;
	}
	if (!out) {
		r = usage_error(PROG, usage_build, "the following arguments are required: -o/--output");
		goto out;
	}
	if (!n_trees && !n_files) {
		r = usage_error(PROG, usage_build, "nothing to archive: give --tree or --file");
		goto out;
	}
	if (have_level && o.compress == BLD_GZIP && o.level > 9) {
		r = usage_error(PROG, usage_build, "argument --level: gzip levels are 1..9");
		goto out;
	}
	if (have_level && o.compress == BLD_NONE) {
		r = usage_error(PROG, usage_build, "argument --level: not used with --compress none");
		goto out;
	}
	if (!have_epoch) {
		const char *env = getenv("SOURCE_DATE_EPOCH");
		if (env && *env) {
			if (parse_uint(env, 0, 0xffffffffull, &x))
				o.mtime = x;
			else
				fprintf(stderr, "warning: SOURCE_DATE_EPOCH '%s' is not a number of seconds in 0..4294967295; using 0\n",
					env);
		}
	}

	cvmf_ctx *ctx = cvmf_ctx_new();
	struct bld_initrd l;
	bld_initrd_init(&l);
	if (!ctx) {
		r = fail("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_trees && !r; i++)
		r = add_tree_arg(ctx, &l, trees[i]);
	for (size_t i = 0; i < n_files && !r; i++)
		r = add_file_arg(ctx, &l, files[i]);
	if (!r && bld_initrd_finish(ctx, &l))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	struct cli_progress pr;
	cli_progress_init(&pr, quiet);
	o.progress = cli_progress;
	o.progress_user = &pr;
	struct bld_initrd_result res;
	if (!r)
		r = write_out(ctx, &l, &o, out, &res);
	cli_progress_end(&pr);
	if (!r)
		r = print_result(out, &o, &res, json);
	bld_initrd_free(&l);
	cvmf_ctx_free(ctx);
out:
	free(trees);
	free(files);
	return r;
}

/* A whole file, mapped read-only (an empty file maps to a NULL pointer). */
struct mapped {
	uint8_t *p;
	size_t len;
};

static int map_file(const char *path, struct mapped *m)
{
	/* O_NONBLOCK: a FIFO is refused below, not waited on (mmap ignores it). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail("cannot open '%s': %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail("'%s' is not a regular file", path);
	}
	m->len = (size_t)st.st_size;
	m->p = NULL;
	if (m->len) {
		void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			return fail("cannot read '%s': %s", path, strerror(e));
		}
		m->p = p;
	}
	close(fd);
	return EXIT_OK_;
}

static int cmd_diff(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_diff, .opts = options_diff,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 2 };
	const char *v;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		if (id == OPT_HELP) {
			print_help();
			return EXIT_OK_;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional < 2)
		return usage_error(p.prog, usage_diff, "the following arguments are required: A B");
	struct mapped a = { 0 }, b = { 0 };
	int r = map_file(p.positional[0], &a);
	if (!r)
		r = map_file(p.positional[1], &b);
	cvmf_ctx *ctx = r ? NULL : cvmf_ctx_new();
	if (!r && !ctx)
		r = fail("out of memory");
	if (!r) {
		char msg[2048];
		static const uint8_t none[1];
		int d = bld_cpio_diff(ctx, a.p ? a.p : none, a.len, b.p ? b.p : none, b.len, msg,
				      sizeof(msg));
		if (d < 0) {
			r = fail("%s", cvmf_ctx_errmsg(ctx));
		} else if (d == 0) {
			printf("initrds are identical\n");
		} else {
			printf("%s\n", msg);
			r = EXIT_MISMATCH;
		}
	}
	cvmf_ctx_free(ctx);
	if (a.p)
		munmap(a.p, a.len);
	if (b.p)
		munmap(b.p, b.len);
	return r;
}

/* Anything but `diff` builds: `initrd -o OUT ...`, `initrd --help`. */
static int build_or_help(const char *prog, int argc, char **argv)
{
	(void)prog;
	return cmd_build_initrd(argc, argv);
}

int cmd_initrd(const char *prog, int argc, char **argv)
{
	(void)prog;
	static const struct verb subverbs[] = {
		{ "diff", cmd_diff, usage_diff, "compare two initrds entry by entry" },
	};
	static const struct verb_table t = {
		.prog = PROG,
		.metavar = "SUBCOMMAND",
		.heading = "Subcommands",
		.verbs = subverbs,
		.n = sizeof(subverbs) / sizeof(subverbs[0]),
		.sub_prog = true,
		.fallback = build_or_help,
	};
	return cli_dispatch(&t, argc, argv);
}
