/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge publish IMAGE --log DIR|URL [--token-file FILE]`: log a signed image's
 * measurement statement, in a directory or through a served log's POST /add. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "log/tlog.h"

static const char usage_line[] =
	"publish IMAGE {--log DIR|URL [--token-file FILE] | --rekor URL --key KEY --rekor-key VKEY}";

enum { OPT_HELP = 1, OPT_LOG, OPT_TOKEN, OPT_REKOR, OPT_KEY, OPT_RKEY };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "log", 0, true, OPT_LOG },
	{ "token-file", 0, true, OPT_TOKEN },
	{ "rekor", 0, true, OPT_REKOR },
	{ "key", 0, true, OPT_KEY },
	{ "rekor-key", 0, true, OPT_RKEY },
	{ NULL, 0, false, 0 },
};

int cmd_publish(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	const char *v, *log = NULL, *token_file = NULL, *rekor = NULL, *key = NULL, *rkey = NULL;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		if (id == OPT_HELP) {
			printf("usage: %s %s\n\n"
			       "Append a signed image's measurement statement (the DSSE envelope\n"
			       "measurements.dsse.json written by `cvmforge sign`, byte for byte) to the\n"
			       "log in DIR (`cvmforge log init`) as one entry, and write its tlog-proof\n"
			       "beside the image as IMAGE.tlog-proof. `cvmforge verify IMAGE --pubkey PUB\n"
			       "--vkey VKEY` then checks it offline. An envelope over 65535 bytes is\n"
			       "refused; an existing IMAGE.tlog-proof is not replaced.\n\n"
			       "  --log DIR|URL      the log directory, or the URL of `cvmforge log serve`\n"
			       "  --token-file FILE  with a URL: the bearer token (its first line, mode 0600)\n"
			       "  --rekor URL        a Sigstore Rekor v2 shard instead: logs SHA-384 of the\n"
			       "                     envelope as a hashedrekord signed with --key (ECDSA\n"
			       "                     P-384), checks the answer with --rekor-key (the log's\n"
			       "                     note verifier key), writes IMAGE.sigstore.json\n",
			       prog, usage_line);
			return EXIT_OK_;
		}
		if (id == OPT_LOG)
			log = v;
		if (id == OPT_TOKEN)
			token_file = v;
		if (id == OPT_REKOR)
			rekor = v;
		if (id == OPT_KEY)
			key = v;
		if (id == OPT_RKEY)
			rkey = v;
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1)
		return usage_error(prog, usage_line, "the following arguments are required: IMAGE");
	if (rekor) {
		if (log || token_file || !key || !rkey)
			return usage_error(prog, usage_line,
					   "--rekor needs --key and --rekor-key, and no --log");
		return cli_publish_rekor(p.positional[0], rekor, key, rkey);
	}
	if (key || rkey)
		return usage_error(prog, usage_line, "--key and --rekor-key are for --rekor");
	if (!log)
		return usage_error(prog, usage_line, "the following arguments are required: --log");
	if (tlg_is_url(log) != (token_file != NULL))
		return usage_error(prog, usage_line, token_file ? "--token-file is for a log URL"
							  : "a log URL needs --token-file");
	if (token_file) {
		char *token = NULL;
		size_t tl = 0;
		int trc = cli_read_token(token_file, &token, &tl);
		if (trc)
			return trc;
		cvmf_ctx *ctx = cvmf_ctx_new();
		char *proof = NULL;
		uint64_t index = 0;
		int rc = EXIT_OK_;
		if (!ctx || tlg_publish(ctx, p.positional[0], log, token, &proof, &index))
			rc = fail("%s", ctx ? cvmf_ctx_errmsg(ctx) : "out of memory");
		else
			printf("%s: entry %llu of the log at %s; proof %s\n", p.positional[0],
			       (unsigned long long)index, log, proof);
		free(proof);
		free(token);
		cvmf_ctx_free(ctx);
		return rc;
	}
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	char *proof = NULL;
	uint64_t index = 0;
	struct cvmf_log_state st;
	int rc = EXIT_OK_;
	if (cvmf_log_publish(ctx, p.positional[0], log, &proof, &index) ||
	    cvmf_log_state(ctx, log, &st))
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	else
		printf("%s: entry %llu of %s (tree size %llu); proof %s\n", p.positional[0],
		       (unsigned long long)index, st.origin, (unsigned long long)st.size, proof);
	free(proof);
	cvmf_ctx_free(ctx);
	return rc;
}

int cli_check_log(cvmf_ctx *ctx, const char *image, const char *vkey, struct cli_checks *c,
		  size_t *bad)
{
	char *vk = cli_vkey_arg(vkey);
	if (!vk)
		return -1;
	struct cvmf_log_verify_opts o = { .vkey = vk };
	struct cvmf_log_verified res;
	char what[4200], detail[600];
	size_t n = strlen(image);
	while (n > 1 && image[n - 1] == '/')
		n--;
	snprintf(what, sizeof(what), "transparency log (%.*s.tlog-proof)", (int)n, image);
	if (cvmf_log_check_image(ctx, image, &o, &res)) {
		cli_check_print(c, what, false, cvmf_ctx_errmsg(ctx));
		++*bad;
	} else {
		snprintf(detail, sizeof(detail), "entry %llu of %s (tree size %llu)",
			 (unsigned long long)res.index, res.origin, (unsigned long long)res.size);
		cli_check_print(c, what, true, detail);
		cvmf_log_verified_clear(&res);
	}
	free(vk);
	return 0;
}
