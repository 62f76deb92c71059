/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sigstore Rekor v2 from the command line (log/rekor.c, docs/log.md):
 *   cvmforge publish IMAGE --rekor URL --key KEY --rekor-key VKEY
 *       log SHA-384 of the image's signed measurement statement envelope as a
 *       hashedrekord v0.0.2 (ECDSA P-384 KEY), verify the answer, write the
 *       Sigstore bundle v0.3 beside the image as IMAGE.sigstore.json;
 *   cvmforge log verify BUNDLE --rekor-key VKEY [--entry ENVELOPE]
 *       verify such a bundle offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/internal.h"
#include "common/key.h"
#include "common/write.h"
#include "cvmforge/sign.h"
#include "log/rekor.h"

static int lib_fail(cvmf_ctx *ctx, int r)
{
	fprintf(stderr, "Error: %s\n", cvmf_ctx_errmsg(ctx));
	return r == CVMF_E_CRYPTO ? EXIT_MISMATCH : EXIT_FAILURE_;
}

int cli_publish_rekor(const char *image, const char *url, const char *key_path, const char *vkey)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cmn_key *k = NULL;
	struct tlg_rekor_entry e = { 0 };
	char *vk = NULL, *env_path = NULL, *out = NULL, *bundle = NULL;
	uint8_t *env = NULL, digest[48];
	size_t env_len = 0, blen = 0, n = strlen(image);
	struct stat st;
	int r = 0, rc = EXIT_OK_;
	if (!ctx)
		return fail("out of memory");
	while (n > 1 && image[n - 1] == '/')
		n--;
	if (!(vk = cli_vkey_arg(vkey))) {
		rc = EXIT_FAILURE_;
		goto out;
	}
	if (stat(image, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = fail("image '%s': not an image directory", image);
		goto out;
	}
	if (asprintf(&env_path, "%.*s/%s", (int)n, image, CVMF_SIGN_MEASUREMENTS_FILE) < 0 ||
	    asprintf(&out, "%.*s.sigstore.json", (int)n, image) < 0) {
		rc = fail("out of memory");
		goto out;
	}
	if ((r = cmn_read_file(ctx, "signed measurement statement", env_path, 1u << 20, &env,
				&env_len)) ||
	    (r = cmn_key_load_private(ctx, key_path, &k)) ||
	    (r = tlg_rekor_submit(ctx, url, k, env, env_len, vk, &e)))
		goto out;
	EVP_Digest(env, env_len, digest, NULL, EVP_sha384(), NULL);
	if ((r = tlg_rekor_bundle(ctx, &e, digest, &bundle, &blen)) ||
	    (r = cmn_write_file(ctx, "Sigstore bundle", out, bundle, blen, CMN_W_DURABLE)))
		goto out;
	printf("%s: entry %llu of the Rekor log at %s (tree size %llu); bundle %s\n", image,
	       (unsigned long long)e.index, url, (unsigned long long)e.size, out);
out:
	if (r)
		rc = lib_fail(ctx, r);
	tlg_rekor_entry_clear(&e);
	cmn_key_free(k);
	free(vk);
	free(env_path);
	free(out);
	free(bundle);
	free(env);
	cvmf_ctx_free(ctx);
	return rc;
}

int cli_verify_rekor_bundle(const char *path, const char *vkey, const char *entry)
{
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_rekor_entry e = { 0 };
	uint8_t *b = NULL, *stmt = NULL;
	size_t len = 0, slen = 0;
	char *vk = NULL;
	int r = 0, rc = EXIT_OK_;
	if (!ctx)
		return fail("out of memory");
	if (!(vk = cli_vkey_arg(vkey))) {
		rc = EXIT_FAILURE_;
		goto out;
	}
	if ((r = cmn_read_file(ctx, "Sigstore bundle", path, 4u << 20, &b, &len)) ||
	    (entry && (r = cmn_read_file(ctx, "statement", entry, 1u << 20, &stmt, &slen))) ||
	    (r = tlg_rekor_bundle_verify(ctx, path, b, len, vk, stmt, slen, &e)))
		goto out;
	printf("%s: entry %llu of the Rekor log (tree size %llu) logs its digest%s\n", path,
	       (unsigned long long)e.index, (unsigned long long)e.size,
	       entry ? ", and the logged key signed the statement" : "");
out:
	if (r)
		rc = lib_fail(ctx, r);
	tlg_rekor_entry_clear(&e);
	free(vk);
	free(b);
	free(stmt);
	cvmf_ctx_free(ctx);
	return rc;
}

/* `log verify BUNDLE --rekor-key VKEY [--entry FILE]` (routed here by cmd_log). */
int cmd_log_verify_rekor(int argc, char **argv)
{
	static const char usage[] = "BUNDLE --rekor-key VKEY [--entry FILE]";
	enum { O_HELP = 1, O_RKEY, O_ENTRY };
	static const struct opt opts[] = {
		{ "help", 'h', false, O_HELP },
		{ "rekor-key", 0, true, O_RKEY },
		{ "entry", 0, true, O_ENTRY },
		{ NULL, 0, false, 0 },
	};
	struct opt_parser p = { .prog = "cvmforge log verify", .usage = usage, .opts = opts,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	const char *v, *rkey = NULL, *entry = NULL;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		if (id == O_HELP) {
			printf("usage: cvmforge log verify %s\n\n"
			       "Verify a Sigstore bundle v0.3 from `publish --rekor` offline: the Rekor\n"
			       "checkpoint signed by VKEY (a note verifier key, or a file holding it), the\n"
			       "entry's inclusion, the logged digest and signature; with --entry, that the\n"
			       "digest is SHA-384 of FILE and the logged key signed it.\n", usage);
			return EXIT_OK_;
		}
		if (id == O_RKEY)
			rkey = v;
		if (id == O_ENTRY)
			entry = v;
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1 || !rkey)
		return usage_error("cvmforge log verify", usage,
				   "the following arguments are required: BUNDLE, --rekor-key");
	return cli_verify_rekor_bundle(p.positional[0], rkey, entry);
}
