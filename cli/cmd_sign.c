/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge sign IMAGE --key KEY`: the signed measurement statement and
 * provenance of an image (docs/sign.md); `cvmforge sign id-block`: the
 * SEV-SNP ID block and ID auth (sign/idblock.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_line[] =
	"IMAGE --key KEY [--recipe RECIPE] [--builder-id URI] [--force]";

enum { OPT_HELP = 1, OPT_KEY, OPT_RECIPE, OPT_BUILDER, OPT_FORCE };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "key", 'k', true, OPT_KEY },
	{ "recipe", 0, true, OPT_RECIPE },
	{ "builder-id", 0, true, OPT_BUILDER },
	{ "force", 'f', false, OPT_FORCE },
	{ NULL, 0, false, 0 },
};

/* ---- sign id-block ---- */

static const char usage_idb[] =
	"(--measurement HEX | --image IMAGE) --id-key KEY [--author-key KEY] "
	"[--family-id HEX] [--image-id HEX] [--guest-svn N] [--policy VALUE] [--json]";

enum { IDB_HELP = 1, IDB_MEAS, IDB_IMAGE, IDB_ID_KEY, IDB_AUTHOR, IDB_FAMILY, IDB_IMAGE_ID,
       IDB_SVN, IDB_POLICY, IDB_JSON };
static const struct opt idb_options[] = {
	{ "help", 'h', false, IDB_HELP },
	{ "measurement", 'm', true, IDB_MEAS },
	{ "image", 0, true, IDB_IMAGE },
	{ "id-key", 0, true, IDB_ID_KEY },
	{ "author-key", 0, true, IDB_AUTHOR },
	{ "family-id", 0, true, IDB_FAMILY },
	{ "image-id", 0, true, IDB_IMAGE_ID },
	{ "guest-svn", 0, true, IDB_SVN },
	{ "policy", 0, true, IDB_POLICY },
	{ "json", 0, false, IDB_JSON },
	{ NULL, 0, false, 0 },
};

/* An unsigned integer option (Python int(s, 0) syntax) no larger than max. */
static int idb_uint(const char *prog, const char *opt, const char *s, unsigned long long max,
		    unsigned long long *ret)
{
	long long neg;
	if (parse_pyint(s, true, &neg, ret) != 0 || neg || *ret > max)
		return usage_error(prog, usage_idb, "argument --%s: invalid value: '%s' (an integer "
				   "from 0 to %llu)", opt, s, max);
	return 0;
}

static int idb_hex(const char *prog, const char *opt, const char *s, uint8_t *out, size_t n)
{
	if (cvmf_unhex(s, out, n) != 0)
		return usage_error(prog, usage_idb, "argument --%s: expected %zu hex digits, got '%s'",
				   opt, 2 * n, s);
	return 0;
}

static json_t *b64j(const uint8_t *b, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (!s)
		return NULL;
	cvmf_base64(b, n, s);
	json_t *j = json_string(s);
	free(s);
	return j;
}

/* One ID block: the QEMU option line and the digests, as snp-create-id-block
 * prints them; or a JSON object. */
static int idb_one(cvmf_ctx *ctx, const struct cvmf_snp_id_params *ip, const cvmf_key *id,
		   const cvmf_key *author, const struct cvmf_snp_launch *l, json_t *list)
{
	struct cvmf_snp_id_result *res = malloc(sizeof(*res));
	char *blk = malloc(4 * ((sizeof(res->id_block) + 2) / 3) + 1);
	char *auth = malloc(4 * ((sizeof(res->id_auth) + 2) / 3) + 1);
	char idd[65], aud[65], ldhex[97];
	int r = -1;
	if (!res || !blk || !auth) {
		fail("out of memory");
		goto out;
	}
	if (cvmf_snp_id_block(ctx, ip, id, author, res)) {
		fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	cvmf_base64(res->id_block, sizeof(res->id_block), blk);
	cvmf_base64(res->id_auth, sizeof(res->id_auth), auth);
	cvmf_base64(res->id_key_digest, 48, idd);
	cvmf_base64(res->author_key_digest, 48, aud);
	cvmf_hex(ip->ld, 48, ldhex);
	if (list) {
		char hex[97];
		json_t *o = json_object();
		json_object_set_new(o, "launch-digest", json_string(ldhex));
		if (l) {
			json_object_set_new(o, "vmm", json_string(l->vmm));
			json_object_set_new(o, "vcpus", json_integer(l->vcpus));
			json_object_set_new(o, "cpu-type", json_string(l->cpu_type));
			json_object_set_new(o, "guest-features", json_string(l->guest_features));
		}
		json_object_set_new(o, "id-block", json_string(blk));
		json_object_set_new(o, "id-auth", json_string(auth));
		cvmf_hex(res->id_key_digest, 48, hex);
		json_object_set_new(o, "id-key-digest", json_string(hex));
		json_object_set_new(o, "id-key-digest-base64", b64j(res->id_key_digest, 48));
		if (res->has_author_key) {
			cvmf_hex(res->author_key_digest, 48, hex);
			json_object_set_new(o, "author-key-digest", json_string(hex));
			json_object_set_new(o, "author-key-digest-base64",
					    b64j(res->author_key_digest, 48));
		}
		json_array_append_new(list, o);
	} else {
		if (l)
			printf("# vmm=%s vcpus=%u cpu-type=%s guest-features=%s launch-digest=%s\n",
			       l->vmm, l->vcpus, l->cpu_type, l->guest_features, ldhex);
		printf("id-block=%s,id-auth=%s\n", blk, auth);
		printf("id_key_hash: %s\n", idd);
		if (res->has_author_key)
			printf("author_key: %s\n", aud);
	}
	r = 0;
out:
	free(res);
	free(blk);
	free(auth);
	return r;
}

static int sign_id_block(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_idb, .opts = idb_options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 0 };
	struct cvmf_snp_id_params ip = { .policy = CVMF_SNP_POLICY_DEFAULT };
	const char *v, *meas = NULL, *image = NULL, *id_path = NULL, *author_path = NULL;
	unsigned long long u;
	bool json = false;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case IDB_HELP:
			printf("usage: %s %s\n\n"
			       "Build the SEV-SNP ID block (96 bytes) and ID auth structure (4096 bytes)\n"
			       "for an expected launch digest, signed with ECDSA P-384 keys, and print\n"
			       "QEMU's sev-snp-guest option string \"id-block=B64,id-auth=B64\" on a line\n"
			       "of its own, then the SHA-384 digests of the ID key and author key (the\n"
			       "report's ID_KEY_DIGEST and AUTHOR_KEY_DIGEST), base64, as sev-snp-measure's\n"
			       "snp-create-id-block does. With an author key QEMU needs\n"
			       "author-key-enabled=on.\n\n"
			       "  -m, --measurement HEX  the launch digest (96 hex digits)\n"
			       "  --image IMAGE          every SNP launch digest of an image's\n"
			       "                         measurements.json, one ID block each\n"
			       "  --id-key KEY           ECDSA P-384 private key signing the ID block\n"
			       "  --author-key KEY       ECDSA P-384 private key signing the ID key\n"
			       "  --family-id HEX        16 bytes (32 hex digits; default zeros)\n"
			       "  --image-id HEX         16 bytes (32 hex digits; default zeros)\n"
			       "  --guest-svn N          guest security version (default 0)\n"
			       "  --policy VALUE         guest policy (default 0x30000)\n"
			       "  --json                 one JSON object\n\n"
			       "ID auth is not reproducible byte for byte (ECDSA signatures are\n"
			       "randomised); the ID block and the key digests are.\n", prog, usage_idb);
			return EXIT_OK_;
		case IDB_MEAS: meas = v; break;
		case IDB_IMAGE: image = v; break;
		case IDB_ID_KEY: id_path = v; break;
		case IDB_AUTHOR: author_path = v; break;
		case IDB_FAMILY:
			if (idb_hex(prog, "family-id", v, ip.family_id, 16))
				return EXIT_USAGE;
			break;
		case IDB_IMAGE_ID:
			if (idb_hex(prog, "image-id", v, ip.image_id, 16))
				return EXIT_USAGE;
			break;
		case IDB_SVN:
			if (idb_uint(prog, "guest-svn", v, UINT32_MAX, &u))
				return EXIT_USAGE;
			ip.guest_svn = (uint32_t)u;
			break;
		case IDB_POLICY:
			if (idb_uint(prog, "policy", v, UINT64_MAX, &u))
				return EXIT_USAGE;
			ip.policy = u;
			break;
		case IDB_JSON: json = true; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (!id_path)
		return usage_error(prog, usage_idb, "the following arguments are required: --id-key");
	if (!meas == !image)
		return usage_error(prog, usage_idb, "give one of --measurement HEX and --image IMAGE");
	if (meas && idb_hex(prog, "measurement", meas, ip.ld, 48))
		return EXIT_USAGE;

	cvmf_ctx *ctx = cvmf_ctx_new();
	cvmf_key *idk = NULL, *auk = NULL;
	struct cvmf_snp_launch *ls = NULL;
	size_t n = 0;
	json_t *list = json ? json_array() : NULL;
	int rc = EXIT_FAILURE_;
	if (!ctx)
		return fail("out of memory");
	if (cvmf_key_load_private(ctx, id_path, &idk) ||
	    (author_path && cvmf_key_load_private(ctx, author_path, &auk))) {
		fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	if (cvmf_key_get_type(idk) != CVMF_KEY_ECDSA_P384 ||
	    (auk && cvmf_key_get_type(auk) != CVMF_KEY_ECDSA_P384)) {
		bool bad_id = cvmf_key_get_type(idk) != CVMF_KEY_ECDSA_P384;
		fail("%s '%s' is an %s key; SEV-SNP ID and author keys are ECDSA P-384 "
		     "(cvmforge key generate --type ecdsa-p384)", bad_id ? "ID key" : "author key",
		     bad_id ? id_path : author_path,
		     cvmf_key_type_name(cvmf_key_get_type(bad_id ? idk : auk)));
		goto out;
	}
	if (image) {
		if (cvmf_snp_image_launches(ctx, image, &ls, &n)) {
			fail("%s", cvmf_ctx_errmsg(ctx));
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			memcpy(ip.ld, ls[i].ld, 48);
			if (idb_one(ctx, &ip, idk, auk, &ls[i], list))
				goto out;
		}
	} else if (idb_one(ctx, &ip, idk, auk, NULL, list)) {
		goto out;
	}
	if (list) {
		char hex[33], pol[24];
		json_t *o = json_object();
		json_object_set(o, "id-blocks", list);
		snprintf(pol, sizeof(pol), "0x%llx", (unsigned long long)ip.policy);
		json_object_set_new(o, "policy", json_string(pol));
		json_object_set_new(o, "guest-svn", json_integer((json_int_t)ip.guest_svn));
		cvmf_hex(ip.family_id, 16, hex);
		json_object_set_new(o, "family-id", json_string(hex));
		cvmf_hex(ip.image_id, 16, hex);
		json_object_set_new(o, "image-id", json_string(hex));
		json_object_set_new(o, "author-key", json_boolean(auk != NULL));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	}
	rc = EXIT_OK_;
out:
	json_decref(list);
	free(ls);
	cvmf_key_free(idk);
	cvmf_key_free(auk);
	cvmf_ctx_free(ctx);
	return rc;
}

/* ---- sign IMAGE ---- */

static int sign_image(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	struct cvmf_sign_opts o = { 0 };
	const char *v, *key_path = NULL;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n"
			       "       %s id-block --help\n\n"
			       "Sign an image directory written by `cvmforge build`: writes\n"
			       "IMAGE/%s (an in-toto statement whose subjects are every\n"
			       "file of the image and whose predicate is measurements.json) and\n"
			       "IMAGE/%s (SLSA provenance v1), each a DSSE envelope. No file\n"
			       "build wrote is changed; the image must match its manifest.json.\n\n"
			       "  -k, --key KEY      private key (ecdsa-p384 or ed25519; mode 0600)\n"
			       "  --recipe RECIPE    the recipe the image was built from: its digest must\n"
			       "                     match, and RECIPE.lock's digest is recorded too\n"
			       "  --builder-id URI   the provenance's builder id (default %s)\n"
			       "  -f, --force        replace existing signatures\n\n"
			       "Verify with: %s verify IMAGE --pubkey KEY.pub\n", prog, usage_line, prog,
			       CVMF_SIGN_MEASUREMENTS_FILE, CVMF_SIGN_PROVENANCE_FILE,
			       CVMF_BUILDER_ID_DEFAULT, prog);
			return EXIT_OK_;
		case OPT_KEY: key_path = v; break;
		case OPT_RECIPE: o.recipe = v; break;
		case OPT_BUILDER: o.builder_id = v; break;
		case OPT_FORCE: o.force = true; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1 || !key_path)
		return usage_error(prog, usage_line, "the following arguments are required: %s",
				   p.n_positional != 1 ? "IMAGE" : "--key");
	cvmf_ctx *ctx = cvmf_ctx_new();
	cvmf_key *k = NULL;
	uint8_t fp[32];
	char hex[65];
	int rc;
	if (!ctx)
		return fail("out of memory");
	if (cvmf_key_load_private(ctx, key_path, &k) || cvmf_key_fingerprint(ctx, k, fp) ||
	    cvmf_sign_image(ctx, p.positional[0], k, &o)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else {
		cvmf_hex(fp, sizeof(fp), hex);
		printf("%s/%s\n%s/%s\nsigned with %s key sha256:%s\n", p.positional[0],
		       CVMF_SIGN_MEASUREMENTS_FILE, p.positional[0], CVMF_SIGN_PROVENANCE_FILE,
		       cvmf_key_type_name(cvmf_key_get_type(k)), hex);
		rc = EXIT_OK_;
	}
	cvmf_key_free(k);
	cvmf_ctx_free(ctx);
	return rc;
}

int cmd_sign(const char *prog, int argc, char **argv)
{
	(void)prog;
	static const struct verb subcommands[] = {
		{ "id-block", sign_id_block, "id-block (--measurement HEX | --image IMAGE) ...",
		  "SEV-SNP ID block and ID auth for a launch digest" },
	};
	static const struct verb_table t = {
		.prog = "cvmforge sign",
		.metavar = "SUBCOMMAND",
		.heading = "Subcommands",
		.verbs = subcommands,
		.n = sizeof(subcommands) / sizeof(subcommands[0]),
		.sub_prog = true,
		.fallback = sign_image,   /* cvmforge sign IMAGE --key KEY */
	};
	return cli_dispatch(&t, argc, argv);
}
