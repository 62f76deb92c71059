/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge key generate|show`: release keys (docs/sign.md). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_gen[] = "--type ecdsa-p384|ed25519 -o KEY";
static const char usage_show[] = "KEY|KEY.pub [--name NAME] [--json]";

enum { OPT_HELP = 1, OPT_TYPE, OPT_OUT, OPT_JSON, OPT_NAME };
static const struct opt gen_options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "type", 't', true, OPT_TYPE },
	{ "output", 'o', true, OPT_OUT },
	{ NULL, 0, false, 0 },
};
static const struct opt show_options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "json", 0, false, OPT_JSON },
	{ "name", 0, true, OPT_NAME },
	{ NULL, 0, false, 0 },
};

static int key_generate(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_gen, .opts = gen_options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 0 };
	const char *v, *type = NULL, *out = NULL;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Generate a signing key: KEY (PKCS#8 PEM, mode 0600 from the first byte)\n"
			       "and KEY.pub (its public key, PEM). Neither may exist already.\n\n"
			       "  -t, --type TYPE  ecdsa-p384 (ECDSA P-384 with SHA-384) or ed25519\n"
			       "                   (deterministic: byte-identical envelopes)\n"
			       "  -o, --output KEY where to write the private key\n", prog, usage_gen);
			return EXIT_OK_;
		case OPT_TYPE: type = v; break;
		case OPT_OUT: out = v; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (!type || !out)
		return usage_error(prog, usage_gen, "the following arguments are required: %s",
				   !type ? "--type" : "-o/--output");
	enum cvmf_key_type t;
	if (cvmf_key_type_from_name(type, &t) < 0)
		return usage_error(prog, usage_gen, "argument --type: invalid choice: '%s' (choose "
				   "from 'ecdsa-p384', 'ed25519')", type);
	cvmf_ctx *ctx = cvmf_ctx_new();
	cvmf_key *k = NULL;
	uint8_t fp[32];
	char hex[65];
	int rc;
	if (!ctx)
		return fail("out of memory");
	if (cvmf_key_generate(ctx, t, &k) || cvmf_key_write(ctx, k, out) ||
	    cvmf_key_fingerprint(ctx, k, fp)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else {
		cvmf_hex(fp, sizeof(fp), hex);
		printf("%s key written to %s (public key: %s.pub)\nfingerprint sha256:%s\n",
		       cvmf_key_type_name(t), out, out, hex);
		rc = EXIT_OK_;
	}
	cvmf_key_free(k);
	cvmf_ctx_free(ctx);
	return rc;
}

/* The default signed-note key name: the file name without .pub / .pem. */
static void default_name(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(out, len, "%s", base);
	for (const char *const *sfx = (const char *const[]){ ".pub", ".pem", ".key", NULL }; *sfx;
	     sfx++) {
		size_t n = strlen(out), m = strlen(*sfx);
		if (n > m && !strcmp(out + n - m, *sfx))
			out[n - m] = 0;
	}
}

static int key_show(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_show, .opts = show_options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	const char *v, *name = NULL;
	bool json = false;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Show a key (private or public, PEM or DER, as cvmforge or the openssl\n"
			       "command line wrote it): its type, its fingerprint (SHA-256 of the DER\n"
			       "public key: the keyid of the signatures it makes) and, for Ed25519, the\n"
			       "C2SP signed-note verifier key.\n\n"
			       "  --name NAME  the key name in the verifier key (default: the file\n"
			       "               name without .pub/.pem/.key)\n"
			       "  --json       one JSON object\n", prog, usage_show);
			return EXIT_OK_;
		case OPT_JSON: json = true; break;
		case OPT_NAME: name = v; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1)
		return usage_error(prog, usage_show, "the following arguments are required: KEY");
	const char *path = p.positional[0];
	cvmf_ctx *ctx = cvmf_ctx_new();
	cvmf_key *k = NULL;
	char *vkey = NULL, *pem = NULL, hex[65], dname[256], pub_err[600] = "";
	uint8_t fp[32];
	int rc;
	if (!ctx)
		return fail("out of memory");
	/* A public key first; a private key file is checked as one (its mode). */
	if (cvmf_key_load_public(ctx, path, &k)) {
		snprintf(pub_err, sizeof(pub_err), "%s", cvmf_ctx_errmsg(ctx));
		if (!strstr(pub_err, "holds a private key") &&
		    !strstr(pub_err, "holds an encrypted private key")) {
			rc = fail("%s", pub_err);
			goto out;
		}
		if (cvmf_key_load_private(ctx, path, &k)) {
			rc = fail("%s", cvmf_ctx_errmsg(ctx));
			goto out;
		}
	}
	if (cvmf_key_fingerprint(ctx, k, fp) || cvmf_key_public_pem(ctx, k, &pem)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	cvmf_hex(fp, sizeof(fp), hex);
	enum cvmf_key_type t = cvmf_key_get_type(k);
	if (t == CVMF_KEY_ED25519) {
		if (!name) {
			default_name(path, dname, sizeof(dname));
			name = dname;
		}
		if (cvmf_key_note_vkey(ctx, k, name, &vkey)) {
			rc = name == dname ? usage_error(prog, usage_show, "%s; give --name",
							 cvmf_ctx_errmsg(ctx))
					   : usage_error(prog, usage_show, "argument --name: %s",
							 cvmf_ctx_errmsg(ctx));
			goto out;
		}
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:s}", "file", path, "type",
				      cvmf_key_type_name(t), "private", cvmf_key_is_private(k),
				      "fingerprint-sha256", hex, "public-key-pem", pem);
		if (vkey)
			json_object_set_new(o, "note-verifier-key", json_string(vkey));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: %s %s key\nfingerprint sha256:%s\n", path, cvmf_key_type_name(t),
		       cvmf_key_is_private(k) ? "private" : "public", hex);
		if (vkey)
			printf("note verifier key: %s\n", vkey);
	}
	rc = EXIT_OK_;
out:
	free(vkey);
	free(pem);
	cvmf_key_free(k);
	cvmf_ctx_free(ctx);
	return rc;
}

int cmd_key(const char *prog, int argc, char **argv)
{
	(void)prog;
	static const struct verb subcommands[] = {
		{ "generate", key_generate, "generate --type ecdsa-p384|ed25519 -o KEY",
		  "a signing key: KEY (PKCS#8, 0600) and KEY.pub" },
		{ "show", key_show, "show KEY|KEY.pub [--name NAME] [--json]",
		  "type, fingerprint (the keyid of its signatures), signed-note verifier key" },
	};
	static const struct verb_table t = {
		.prog = "cvmforge key",
		.metavar = "SUBCOMMAND",
		.heading = "Subcommands",
		.about = "Signing keys: ECDSA P-384 (SHA-384) or Ed25519 (docs/sign.md).\n",
		.epilog = "Run 'cvmforge key SUBCOMMAND --help' for a subcommand's details.\n",
		.verbs = subcommands,
		.n = sizeof(subcommands) / sizeof(subcommands[0]),
		.sub_prog = true,
	};
	return cli_dispatch(&t, argc, argv);
}
