/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge log init|add|proof|verify|monitor`: the embedded transparency log
 * (docs/log.md). Exit codes: 0 ok, 1 could not run, 2 usage, 3 does not verify,
 * 4 (monitor) a rollback or split view of the log: an alert.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cli/cli.h"

#define PROG "cvmforge log"
#define EXIT_LOG_ALERT 4        /* monitor: rollback or split view */

static const char usage_top[] = "{init,add,proof,verify,monitor,serve} ...";
static const char usage_init[] = "DIR --origin NAME [--key FILE]";
static const char usage_add[] = "DIR FILE...";
static const char usage_proof[] = "DIR INDEX [-o FILE]";
static const char usage_verify[] =
	"PROOF --vkey VKEY [--entry FILE] [--witness VKEY]... [--quorum N]";
static const char usage_monitor[] = "DIR --vkey VKEY --state FILE";

enum { OPT_HELP = 1, OPT_ORIGIN, OPT_KEY, OPT_OUT, OPT_VKEY, OPT_ENTRY, OPT_WITNESS,
       OPT_QUORUM, OPT_STATE, OPT_QUIET };

static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "origin", 0, true, OPT_ORIGIN },
	{ "key", 0, true, OPT_KEY },
	{ "output", 'o', true, OPT_OUT },
	{ "vkey", 0, true, OPT_VKEY },
	{ "entry", 0, true, OPT_ENTRY },
	{ "witness", 0, true, OPT_WITNESS },
	{ "quorum", 0, true, OPT_QUORUM },
	{ "state", 0, true, OPT_STATE },
	{ "quiet", 'q', false, OPT_QUIET },
	{ NULL, 0, false, 0 },
};

static void print_help(const char *sub)
{
	if (!sub) {
		printf("usage: %s %s\n\n"
		       "The embedded transparency log: a c2sp.org/tlog-tiles log in a directory that\n"
		       "any web server can serve, checkpoints signed with Ed25519 (c2sp.org/signed-note),\n"
		       "and c2sp.org/tlog-proof files that verify offline.\n\n"
		       "  init %s\n      create a log and its key (beside DIR unless --key); print the verifier key\n"
		       "  add %s\n      append files as entries (<= 65535 bytes each) in one batch; print each index\n"
		       "  proof %s\n      write a tlog-proof for an entry (stdout without -o)\n"
		       "  verify %s\n      verify a tlog-proof offline\n"
		       "  monitor %s\n      check the newest checkpoint against the last one seen; list new entries\n\n"
		       "Exit codes: 0 success, 1 failure, 2 usage error, 3 does not verify,\n"
		       "4 (monitor) rollback or split view: an alert.\n"
		       "Run '%s SUBCOMMAND --help' for a subcommand's details.\n",
		       PROG, usage_top, usage_init, usage_add, usage_proof, usage_verify,
		       usage_monitor, PROG);
		return;
	}
	if (!strcmp(sub, "init"))
		printf("usage: %s init %s\n\n"
		       "Create an empty log in DIR (absent or empty) for ORIGIN, e.g.\n"
		       "builder.example.com/cvm-log, and sign its empty checkpoint. --key names an\n"
		       "Ed25519 key: used if it exists (PKCS#8 PEM, or a PRIVATE+KEY+ORIGIN+... signer\n"
		       "key), generated there (0600, with FILE.pub) if not. Without --key the key is\n"
		       "DIR.key. The key may not be inside DIR: DIR is what gets served.\n"
		       "Prints the verifier key (ORIGIN+KEYID+BASE64) on a line of its own.\n",
		       PROG, usage_init);
	else if (!strcmp(sub, "add"))
		printf("usage: %s add %s\n\n"
		       "Append the files as entries, in order, in one batch under the log's lock;\n"
		       "write the tiles, commit the tree and sign one new checkpoint. Prints\n"
		       "'INDEX FILE' per entry. An entry over 65535 bytes is refused, and then\n"
		       "nothing is appended.\n",
		       PROG, usage_add);
	else if (!strcmp(sub, "proof"))
		printf("usage: %s proof %s\n\n"
		       "Write a c2sp.org/tlog-proof for entry INDEX against the current checkpoint,\n"
		       "with the entry in its extra line, to FILE (or stdout).\n\n"
		       "  -o, --output FILE  write here (whole or nothing)\n",
		       PROG, usage_proof);
	else if (!strcmp(sub, "verify"))
		printf("usage: %s verify %s\n\n"
		       "Verify a tlog-proof with nothing fetched: the checkpoint is signed by VKEY\n"
		       "(whose name is the origin), the inclusion proof leads from the entry to the\n"
		       "checkpoint's root, and, with --witness, cosignature/v1 lines of at least N\n"
		       "of the witnesses (default: all of them).\n\n"
		       "  --vkey VKEY       the log's verifier key, or a file holding it\n"
		       "  --entry FILE      the entry; without it, the proof's extra line\n"
		       "  --witness VKEY    a witness's cosignature/v1 key (repeatable)\n"
		       "  --quorum N        witnesses that must have cosigned\n",
		       PROG, usage_verify);
	else
		printf("usage: %s monitor %s\n\n"
		       "Verify DIR's checkpoint with VKEY and prove it consistent with the last one\n"
		       "seen, kept in the state FILE (absent on the first run: the whole log is\n"
		       "checked). Every entry added since is checked against the new root and\n"
		       "listed; DSSE envelopes and in-toto statements are decoded. The state file\n"
		       "is replaced only when everything verified. A smaller log (rollback) or an\n"
		       "inconsistent checkpoint (split view) exits 4.\n\n"
		       "  -q, --quiet  do not list the entries\n",
		       PROG, usage_monitor);
}

/* A verifier key given inline (it has '+') or in a file (its first line). */
char *cli_vkey_arg(const char *v)
{
	if (strchr(v, '+'))
		return strdup(v);
	FILE *f = fopen(v, "r");
	if (!f) {
		fail("cannot read the verifier key '%s': %s", v, strerror(errno));
		return NULL;
	}
	char line[1024];
	char *s = fgets(line, sizeof(line), f) ? line : NULL;
	fclose(f);
	if (!s) {
		fail("verifier key file '%s' is empty", v);
		return NULL;
	}
	s[strcspn(s, "\r\n")] = '\0';
	return strdup(s);
}

static int lib_fail(cvmf_ctx *ctx, int r)
{
	fprintf(stderr, "Error: %s\n", cvmf_ctx_errmsg(ctx));
	return r == CVMF_E_CRYPTO ? EXIT_MISMATCH : EXIT_FAILURE_;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return -1;
	*ret = v;
	return 0;
}

static int read_all(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail("cannot read '%s': %s", path, strerror(errno));
	size_t cap = 65536, n = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		if (cap > max) {
			free(b);
			fclose(f);
			return fail("'%s' is larger than %zu bytes", path, max);
		}
		uint8_t *nb = realloc(b, cap * 2);
		if (!nb)
			free(b);
		b = nb;
		cap *= 2;
	}
	bool err = ferror(f);
	fclose(f);
	if (!b || err) {
		free(b);
		return fail("cannot read '%s'", path);
	}
	*ret = b;
	*ret_len = n;
	return EXIT_OK_;
}

/* ---- monitor: describe an entry ---- */

static uint8_t *b64_decode(const char *s, size_t *ret_len)
{
	size_t len = strlen(s);
	if (len % 4)
		return NULL;
	uint8_t *out = malloc(len / 4 * 3 + 1);
	int n = out ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : -1;
	if (n < 0) {
		free(out);
		return NULL;
	}
	n -= (len && s[len - 1] == '=') + (len > 1 && s[len - 2] == '=');
	out[n] = 0;
	*ret_len = (size_t)n;
	return out;
}

/* One line about an entry: a DSSE envelope's payload type, an in-toto
 * statement's predicate and subjects, or the first line of text. */
static void describe(const uint8_t *e, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)e, len, 0, &je), *st = NULL;
	const char *ptype = j ? json_string_value(json_object_get(j, "payloadType")) : NULL;
	const char *payload = j ? json_string_value(json_object_get(j, "payload")) : NULL;
	if (ptype && payload) {
		size_t pl = 0;
		uint8_t *p = b64_decode(payload, &pl);
		st = p ? json_loadb((const char *)p, pl, 0, &je) : NULL;
		free(p);
		printf("    DSSE envelope, %s, %zu signature(s)\n", ptype,
		       json_array_size(json_object_get(j, "signatures")));
	} else if (j && json_object_get(j, "predicateType")) {
		st = json_incref(j);
	}
	if (st) {
		const char *pt = json_string_value(json_object_get(st, "predicateType"));
		printf("    statement: predicate %s\n", pt ? pt : "(none)");
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(st, "subject"), i, s) {
			const char *name = json_string_value(json_object_get(s, "name"));
			json_t *dg = json_object_get(s, "digest");
			const char *alg = NULL;
			json_t *val = NULL;
			if (json_is_object(dg)) {
				void *it = json_object_iter(dg);
				alg = it ? json_object_iter_key(it) : NULL;
				val = it ? json_object_iter_value(it) : NULL;
			}
			printf("    subject %s %s:%s\n", name ? name : "?", alg ? alg : "?",
			       json_string_value(val) ? json_string_value(val) : "?");
			if (i >= 15) {
				printf("    ... %zu subjects\n", json_array_size(json_object_get(st, "subject")));
				break;
			}
		}
		/* A measurement record (docs/sign.md): the attested values. */
		json_t *pred = json_object_get(st, "predicate");
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(json_object_get(pred, "snp"), "measurements"), k, m) {
			if (k == 8) {
				printf("    ... %zu SEV-SNP launch digests\n",
				       json_array_size(json_object_get(json_object_get(pred, "snp"),
								       "measurements")));
				break;
			}
			printf("    snp launch-digest %s (%s, %lld vCPU, %s)\n",
			       json_string_value(json_object_get(m, "launch-digest")) ?: "?",
			       json_string_value(json_object_get(m, "vmm")) ?: "?",
			       (long long)json_integer_value(json_object_get(m, "vcpus")),
			       json_string_value(json_object_get(m, "cpu-type")) ?: "?");
		}
		json_array_foreach(json_object_get(json_object_get(pred, "tdx"), "measurements"), k, m) {
			if (k == 4)
				break;
			printf("    tdx mrtd %s (memory %lld MiB, %s)\n",
			       json_string_value(json_object_get(m, "mrtd")) ?: "?",
			       (long long)(json_integer_value(json_object_get(m, "memory")) >> 20),
			       json_string_value(json_object_get(m, "page-order")) ?: "?");
		}
		json_decref(st);
	} else if (!j) {
		size_t l = 0;
		while (l < len && l < 100 && e[l] >= 0x20 && e[l] < 0x7f)
			l++;
		if (l)
			printf("    %.*s%s\n", (int)l, (const char *)e, l < len && e[l] != '\n' ? "..." : "");
	}
	json_decref(j);
}

struct mon {
	bool quiet;
	uint64_t count;
};

static int on_entry(void *user, uint64_t index, const uint8_t *e, size_t len)
{
	struct mon *m = user;
	m->count++;
	if (m->quiet)
		return 0;
	uint8_t d[32];
	char hex[65];
	EVP_Digest(e, len, d, NULL, EVP_sha256(), NULL);
	cvmf_hex(d, 32, hex);
	printf("entry %llu: %zu bytes, sha256 %s\n", (unsigned long long)index, len, hex);
	describe(e, len);
	return 0;
}

/* ---- the subcommands ---- */

int cmd_log(const char *prog, int argc, char **argv)
{
	(void)prog;
	if (argc < 2)
		return usage_error(PROG, usage_top,
				   "the following arguments are required: SUBCOMMAND (init, add, proof, verify, monitor)");
	const char *sub = argv[1];
	if (!strcmp(sub, "serve"))
		return cmd_log_serve(argc - 1, argv + 1);
	for (int i = 2; !strcmp(sub, "verify") && i < argc; i++)
		if (!strcmp(argv[i], "--rekor-key") || !strncmp(argv[i], "--rekor-key=", 12))
			return cmd_log_verify_rekor(argc - 1, argv + 1);
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		print_help(NULL);
		return EXIT_OK_;
	}
	const char *usage = !strcmp(sub, "init")     ? usage_init
			    : !strcmp(sub, "add")    ? usage_add
			    : !strcmp(sub, "proof")  ? usage_proof
			    : !strcmp(sub, "verify") ? usage_verify
			    : !strcmp(sub, "monitor") ? usage_monitor
						      : NULL;
	if (!usage)
		return usage_error(PROG, usage_top,
				   "invalid choice: '%s' (choose from 'init', 'add', 'proof', 'verify', 'monitor')",
				   sub);
	char subprog[64];
	snprintf(subprog, sizeof(subprog), "%s %s", PROG, sub);

	/* add takes any number of files: its own loop. */
	if (!strcmp(sub, "add")) {
		const char **files = calloc((size_t)argc, sizeof(*files));
		size_t nf = 0;
		const char *dir = NULL;
		bool dashdash = false;
		if (!files)
			return fail("out of memory");
		for (int i = 2; i < argc; i++) {
			const char *a = argv[i];
			if (!dashdash && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
				free(files);
				print_help(sub);
				return EXIT_OK_;
			}
			if (!dashdash && !strcmp(a, "--")) {
				dashdash = true;
				continue;
			}
			if (!dashdash && a[0] == '-' && a[1]) {
				free(files);
				return usage_error(subprog, usage, "unrecognized arguments: %s", a);
			}
			if (!dir)
				dir = a;
			else
				files[nf++] = a;
		}
		if (!dir || !nf) {
			free(files);
			return usage_error(subprog, usage,
					   "the following arguments are required: %s", dir ? "FILE" : "DIR, FILE");
		}
		cvmf_ctx *ctx = cvmf_ctx_new();
		uint64_t first = 0;
		int r = cvmf_log_add_files(ctx, dir, files, nf, &first);
		int rc = r ? lib_fail(ctx, r) : EXIT_OK_;
		for (size_t i = 0; !r && i < nf; i++)
			printf("%llu %s\n", (unsigned long long)(first + i), files[i]);
		cvmf_ctx_free(ctx);
		free(files);
		return rc;
	}

	struct opt_parser p = { .prog = subprog, .usage = usage, .opts = options, .argc = argc,
				.argv = argv, .i = 2,
				.max_positional = !strcmp(sub, "proof") ? 2 : 1 };
	const char *origin = NULL, *key = NULL, *out = NULL, *vkey = NULL, *entry = NULL,
		   *state = NULL;
	const char *witnesses[64];
	size_t nw = 0;
	uint64_t quorum = UINT64_MAX;
	bool quiet = false;
	const char *v;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			print_help(sub);
			return EXIT_OK_;
		case OPT_ORIGIN: origin = v; break;
		case OPT_KEY: key = v; break;
		case OPT_OUT: out = v; break;
		case OPT_VKEY: vkey = v; break;
		case OPT_ENTRY: entry = v; break;
		case OPT_STATE: state = v; break;
		case OPT_QUIET: quiet = true; break;
		case OPT_WITNESS:
			if (nw == sizeof(witnesses) / sizeof(witnesses[0]))
				return usage_error(subprog, usage, "at most 64 --witness keys");
			witnesses[nw++] = v;
			break;
		case OPT_QUORUM:
			if (parse_u64(v, &quorum))
				return usage_error(subprog, usage, "argument --quorum: invalid number: '%s'", v);
			break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	/* Options that belong to another subcommand. */
	bool is_init = !strcmp(sub, "init"), is_proof = !strcmp(sub, "proof"),
	     is_verify = !strcmp(sub, "verify"), is_mon = !strcmp(sub, "monitor");
	if ((origin || key) && !is_init)
		return usage_error(subprog, usage, "--origin and --key are for 'log init'");
	if (out && !is_proof)
		return usage_error(subprog, usage, "-o is for 'log proof'");
	if ((entry || nw || quorum != UINT64_MAX) && !is_verify)
		return usage_error(subprog, usage, "--entry, --witness and --quorum are for 'log verify'");
	if ((state || quiet) && !is_mon)
		return usage_error(subprog, usage, "--state and --quiet are for 'log monitor'");
	if (vkey && !is_verify && !is_mon)
		return usage_error(subprog, usage, "--vkey is for 'log verify' and 'log monitor'");
	if (p.n_positional < p.max_positional)
		return usage_error(subprog, usage, "the following arguments are required: %s",
				   is_proof ? (p.n_positional ? "INDEX" : "DIR, INDEX")
				   : is_verify ? "PROOF" : "DIR");
	if (is_init && !origin)
		return usage_error(subprog, usage, "the following arguments are required: --origin");
	if ((is_verify || is_mon) && !vkey)
		return usage_error(subprog, usage, "the following arguments are required: --vkey");
	if (is_mon && !state)
		return usage_error(subprog, usage, "the following arguments are required: --state");
	if (quorum != UINT64_MAX && quorum > nw)
		return usage_error(subprog, usage, "--quorum %llu is more than the %zu --witness keys",
				   (unsigned long long)quorum, nw);

	cvmf_ctx *ctx = cvmf_ctx_new();
	int rc = EXIT_OK_, r = 0;
	char *vk = NULL, *text = NULL;
	uint8_t *buf = NULL, *ebuf = NULL;
	size_t len = 0, elen = 0;
	if (!ctx)
		return fail("out of memory");
	if (vkey && !(vk = cli_vkey_arg(vkey))) {
		rc = EXIT_FAILURE_;
		goto out;
	}
	if (is_init) {
		if ((r = cvmf_log_init(ctx, p.positional[0], origin, key, &text)))
			goto out;
		printf("%s\n", text);
	} else if (is_proof) {
		uint64_t index;
		if (parse_u64(p.positional[1], &index)) {
			cvmf_ctx_free(ctx);
			return usage_error(subprog, usage, "argument INDEX: invalid number: '%s'",
					   p.positional[1]);
		}
		if ((r = cvmf_log_proof(ctx, p.positional[0], index, &text, &len)))
			goto out;
		if (out)
			rc = write_file_atomic(out, text, len);
		else if (fwrite(text, 1, len, stdout) != len)
			rc = fail("cannot write the proof to stdout");
	} else if (is_verify) {
		if ((rc = read_all(p.positional[0], 1u << 20, &buf, &len)))
			goto out;
		if (entry && (rc = read_all(entry, CVMF_LOG_MAX_ENTRY, &ebuf, &elen)))
			goto out;
		char *wk[64];
		for (size_t i = 0; i < nw; i++)
			wk[i] = NULL;
		for (size_t i = 0; i < nw; i++)
			if (!(wk[i] = cli_vkey_arg(witnesses[i])))
				rc = EXIT_FAILURE_;
		struct cvmf_log_verify_opts o = {
			.vkey = vk, .witnesses = (const char *const *)wk, .n_witnesses = nw,
			.quorum = quorum == UINT64_MAX ? nw : (size_t)quorum,
			.entry = ebuf, .entry_len = elen,
		};
		struct cvmf_log_verified res;
		if (!rc && !(r = cvmf_log_verify_proof(ctx, buf, len, &o, &res))) {
			char hex[65];
			cvmf_hex(res.leaf, 32, hex);
			printf("%s: entry %llu of %s (tree size %llu) is included, leaf %s",
			       p.positional[0], (unsigned long long)res.index, res.origin,
			       (unsigned long long)res.size, hex);
			if (nw)
				printf("; %zu of %zu witnesses cosigned (quorum %zu)", res.n_cosigned, nw,
				       o.quorum);
			printf("\n");
			cvmf_log_verified_clear(&res);
		}
		for (size_t i = 0; i < nw; i++)
			free(wk[i]);
	} else {
		struct mon m = { .quiet = quiet };
		struct cvmf_log_monitor_result res;
		if ((r = cvmf_log_monitor(ctx, p.positional[0], vk, state, on_entry, &m, &res)))
			goto out;
		if (res.alert) {
			printf("ALERT: %s\n", res.detail);
			fprintf(stderr, "Error: log '%s': %s; the state file '%s' is unchanged\n",
				p.positional[0], res.detail, state);
			rc = EXIT_LOG_ALERT;
		} else {
			printf("%s: %llu new entr%s (size %llu -> %llu)%s\n", p.positional[0],
			       (unsigned long long)m.count, m.count == 1 ? "y" : "ies",
			       (unsigned long long)res.old_size, (unsigned long long)res.new_size,
			       res.first ? ", first run: the whole log was checked"
					 : ", consistent with the last checkpoint seen");
		}
	}
out:
	if (r)
		rc = lib_fail(ctx, r);
	free(vk);
	free(text);
	free(buf);
	free(ebuf);
	cvmf_ctx_free(ctx);
	return rc;
}
