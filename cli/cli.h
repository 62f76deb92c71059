/* SPDX-License-Identifier: Apache-2.0 */
/* The cvmforge front end: the only part of the project that prints. */
#ifndef CVMF_CLI_H
#define CVMF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cvmforge/cvmforge.h"

/* Process exit codes. Values are a documented interface (docs/cli.md):
 * do not reorder or renumber. */
enum cli_exit {
	EXIT_OK_ = 0,        /* success */
	EXIT_FAILURE_ = 1,   /* the work failed: bad input file, I/O, unsupported */
	EXIT_USAGE = 2,      /* the command line is wrong */
	EXIT_MISMATCH = 3,   /* compared and different: verify, reproduce, eventlog diff,
	                        initrd diff */
};

/* ---- verbs and sub-verbs: one dispatch (cli/dispatch.c) ---- */
struct verb {
	const char *name;
	int (*run)(const char *prog, int argc, char **argv);
	const char *synopsis;   /* as listed in the help: "diff EXPECTED ACTUAL ..." */
	const char *help;       /* one line */
};
struct verb_table {
	const char *prog;       /* "cvmforge", "cvmforge measure" */
	const char *metavar;    /* in errors: "VERB", "PLATFORM", "SUBCOMMAND" */
	const char *heading;    /* of the list in the help: "Verbs", "Platforms" */
	const char *about;      /* help text before the list ("...\n"), or NULL */
	const char *epilog;     /* help text after the list ("...\n"), or NULL */
	const struct verb *verbs;
	size_t n;
	/* Sub-verbs run with prog "PROG NAME" (true), or PROG (false: the top
	 * verbs, whose usage lines start with their own name). */
	bool sub_prog;
	/* Run with (prog, argc, argv) unchanged when argv[1] is not a sub-verb
	 * (`initrd` builds); NULL: a missing or unknown sub-verb is an error. */
	int (*fallback)(const char *prog, int argc, char **argv);
};
/* argv[0] is the verb that owns the table; argv[1] the sub-verb. Prints the
 * help generated from the table for --help/-h (exit 0); without a sub-verb,
 * the help and "PROG: error: the following arguments are required: METAVAR
 * (a, b)"; for an unknown one, argparse's "argument METAVAR: invalid choice:
 * 'x' (choose from 'a', 'b')" (both exit 2). Else the sub-verb's exit code. */
int cli_dispatch(const struct verb_table *t, int argc, char **argv);
void cli_dispatch_help(const struct verb_table *t, FILE *f);
const struct verb *cli_dispatch_find(const struct verb_table *t, const char *name);

int cmd_measure(const char *prog, int argc, char **argv);
int cmd_inspect(const char *prog, int argc, char **argv);
int cmd_measure_snp(const char *prog, int argc, char **argv);
int cmd_measure_tdx(const char *prog, int argc, char **argv);   /* cli/cmd_measure_tdx.c */
int cmd_measure_tpm(const char *prog, int argc, char **argv);   /* cli/cmd_measure_tpm.c */
int cmd_eventlog(const char *prog, int argc, char **argv);  /* cli/cmd_eventlog.c */
int cmd_build(const char *prog, int argc, char **argv);     /* cli/cmd_build.c */
int cmd_verify(const char *prog, int argc, char **argv);    /* cli/cmd_verify.c */
int cmd_reproduce(const char *prog, int argc, char **argv); /* cli/cmd_reproduce.c */
int cmd_initrd(const char *prog, int argc, char **argv);    /* cli/cmd_initrd.c */
int cmd_key(const char *prog, int argc, char **argv);       /* cli/cmd_key.c */
int cmd_sign(const char *prog, int argc, char **argv);      /* cli/cmd_sign.c */
int cmd_log(const char *prog, int argc, char **argv);       /* cli/cmd_log.c */
int cmd_log_serve(int argc, char **argv);                   /* cli/cmd_log_serve.c: log serve */
/* A bearer token: the first line of FILE, mode 0600 (cli/cmd_log_serve.c); prints the error. */
int cli_read_token(const char *path, char **ret, size_t *ret_len);
/* Sigstore Rekor v2 (cli/cmd_rekor.c): publish --rekor, log verify BUNDLE --rekor-key */
int cli_publish_rekor(const char *image, const char *url, const char *key_path, const char *vkey);
int cli_verify_rekor_bundle(const char *path, const char *vkey, const char *entry);
int cmd_log_verify_rekor(int argc, char **argv);
int cmd_publish(const char *prog, int argc, char **argv);   /* cli/cmd_publish.c */
int cmd_attest(const char *prog, int argc, char **argv);    /* cli/cmd_attest.c */

/* ---- progress on a terminal (cli/progress.c) ---- */
struct cli_progress {
	bool on;             /* stderr is a terminal and --quiet was not given */
	char what[64];
	double last;
};
void cli_progress_init(struct cli_progress *p, bool quiet);
/* --jobs N: 1..256; 0 or -1 on a bad value. */
int cli_parse_jobs(const char *s, unsigned *ret);
void cli_progress(void *user, const char *what, uint64_t done, uint64_t total);
void cli_progress_end(struct cli_progress *p);
/* The checks of verify and reproduce: printed, or collected for --json. */
struct cli_checks {
	bool json, quiet;
	struct json_t *list;
	size_t ok, bad;
};
void cli_check_print(void *user, const char *what, bool ok, const char *detail);
/* verify --vkey: IMAGE.tlog-proof as one check (cli/cmd_publish.c); -1 (after
 * printing why) only when the verifier key cannot be read. */
int cli_check_log(cvmf_ctx *ctx, const char *image, const char *vkey, struct cli_checks *c,
		  size_t *bad);
/* A note verifier key given inline (it has a '+') or as a file holding it on its
 * first line (malloc'd; NULL after printing an error). cli/cmd_log.c */
char *cli_vkey_arg(const char *v);

/* ---- argparse-compatible option parsing (cli/args.c) ---- */
struct opt {
	const char *name;    /* long name without "--" */
	char shortname;      /* 0 if none */
	bool has_arg;
	int id;
};

struct opt_parser {
	const char *prog;
	const char *usage;   /* one line, after "usage: PROG " */
	const struct opt *opts;
	int argc;
	char **argv;
	int i;               /* next argv index */
	char *positional[8];
	int n_positional;
	int max_positional;
};

/* Next option: its id and value, 0 at the end, or -1 after printing a usage
 * error. Positional arguments are collected into p->positional. */
int opt_next(struct opt_parser *p, const char **value);
/* Print "usage: ..." and "PROG: error: ..." on stderr; returns EXIT_USAGE. */
int usage_error(const char *prog, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print "Error: ..." on stderr; returns EXIT_FAILURE_. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write an output file with cmn_write_file (common/write.h): a regular file
 * whole or not at all, a device or FIFO written through; prints "Error: ..."
 * and returns EXIT_FAILURE_ on failure (cli/output.c). */
int write_file_atomic(const char *path, const void *buf, size_t len);

/* ---- shared by the measure verbs (cli/measure_common.c) ---- */
#define CLI_DEFAULT_MEMORY (2ull << 30)
struct json_t;
/* "9.2", "10.0.1": major * 100 + minor (cmn_parse_qemu_version). */
int cli_parse_qemu_version(const char *s, unsigned *ret);
/* --memory (NULL: the default) by cmn_parse_memory, 32 MiB .. 64 TiB: 0,
 * or -1 after printing a usage error. */
int cli_parse_memory(const char *prog, const char *usage, const char *arg, uint64_t *ret);
/* The -append string (NULL: "") as every verb renders it in JSON:
 * {"value": the string if UTF-8, else null, "hex": its bytes} (cmn_json_text). */
struct json_t *cli_cmdline_obj(const char *append);
/* {path, size, sha256, sha384[, derived]} or null. */
struct json_t *cli_file_obj(const char *path, const struct cvmf_file_digest *d);
/* The expected events as JSON lines, and as a TCG2 binary log; whole or
 * nothing, as write_file_atomic. */
int cli_write_eventlog_json(const char *path, const struct cvmf_eventlog *log);
int cli_write_tcg_log(const char *path, const struct cvmf_eventlog *log);

/* Python int(s, 0) / int(s): optional sign, 0x/0o/0b, '_' between digits. */
int parse_pyint(const char *s, bool auto_base, long long *ret_sign_mag_neg,
		unsigned long long *ret_mag);

#endif
