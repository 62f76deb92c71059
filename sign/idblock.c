/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV-SNP ID block (96 bytes) and ID authentication information
 * structure (4096 bytes) of SNP_LAUNCH_FINISH (SNP firmware ABI, tables
 * "ID_BLOCK" and "ID_AUTH"; ../shared/docs/snp.md section 3). QEMU takes
 * both base64-encoded (sev-snp-guest id-block=, id-auth=).
 *
 * Keys are ECDSA P-384 and sign with SHA-384. In the firmware's layout a
 * public key is {u32 curve = 2 (P-384); Qx; Qy} and a signature {R; S}, each
 * number little-endian, zero-padded to 72 bytes. The key digests a report
 * carries (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST) are SHA-384 of the 1028-byte
 * public-key structures.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "builder/image.h"
#include "common/internal.h"
#include "common/json.h"
#include "sign/sgn.h"

/* ID_BLOCK */
#define IDB_LD 0x00
#define IDB_FAMILY_ID 0x30
#define IDB_IMAGE_ID 0x40
#define IDB_VERSION 0x50
#define IDB_GUEST_SVN 0x54
#define IDB_POLICY 0x58
#define IDB_SIZE 0x60
#define IDB_VERSION_1 1u

/* ID_AUTH */
#define IDA_ID_KEY_ALGO 0x000
#define IDA_AUTH_KEY_ALGO 0x004
#define IDA_ID_BLOCK_SIG 0x040
#define IDA_ID_KEY 0x240
#define IDA_ID_KEY_SIG 0x680
#define IDA_AUTHOR_KEY 0x880
#define IDA_SIZE 0x1000
#define ALGO_ECDSA_P384_SHA384 1u

/* Public key and signature structures */
#define PUBKEY_SIZE 1028
#define SIG_SIZE 512
#define NUM_SIZE 72          /* Qx, Qy, R, S: little-endian, zero-padded */
#define CURVE_P384 2u

_Static_assert(IDB_POLICY + 8 == IDB_SIZE, "ID block is 96 bytes");
_Static_assert(IDA_ID_KEY + PUBKEY_SIZE <= IDA_ID_KEY_SIG, "ID key fits before its signature");
_Static_assert(IDA_AUTHOR_KEY + PUBKEY_SIZE <= IDA_SIZE, "author key fits in ID auth");
_Static_assert(IDA_ID_BLOCK_SIG + SIG_SIZE == IDA_ID_KEY, "ID block signature is 512 bytes");

static int check_key(cvmf_ctx *ctx, const char *role, const cvmf_key *k)
{
	if (cmn_key_type(k->k) != CMN_KEY_ECDSA_P384)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "the %s is an %s key; SEV-SNP ID and author keys are ECDSA P-384",
				  role, cmn_key_type_name(cmn_key_type(k->k)));
	if (!cmn_key_is_private(k->k))
		return cmn_error(ctx, CVMF_E_INVAL, "the %s is a public key; signing needs the "
				  "private key", role);
	return 0;
}

/* The 1028-byte firmware public key structure of an ECDSA P-384 key. */
static int pubkey_struct(cvmf_ctx *ctx, const char *role, const cvmf_key *k, uint8_t *out)
{
	BIGNUM *x = NULL, *y = NULL;
	EVP_PKEY *pk = cmn_key_pkey(k->k);
	int r = 0;
	memset(out, 0, PUBKEY_SIZE);
	cmn_put_le32(out, CURVE_P384);
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2lebinpad(x, out + 4, NUM_SIZE) != NUM_SIZE ||
	    BN_bn2lebinpad(y, out + 4 + NUM_SIZE, NUM_SIZE) != NUM_SIZE)
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot read the public point of the %s", role);
	ERR_clear_error();
	BN_free(x);
	BN_free(y);
	return r;
}

/* Sign msg with SHA-384 and store {R, S} little-endian in a 512-byte field. */
static int sign_struct(cvmf_ctx *ctx, const char *role, const cvmf_key *k, const uint8_t *msg,
		       size_t len, uint8_t *out)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	ECDSA_SIG *sig = NULL;
	int r = cmn_key_sign(ctx, k->k, msg, len, &der, &der_len);
	if (r < 0)
		return r;
	const unsigned char *p = der;
	memset(out, 0, SIG_SIZE);
	if (!(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) ||
	    BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), out, NUM_SIZE) != NUM_SIZE ||
	    BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), out + NUM_SIZE, NUM_SIZE) != NUM_SIZE)
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot convert the %s's signature to the "
			       "firmware layout", role);
	ERR_clear_error();
	ECDSA_SIG_free(sig);
	free(der);
	return r;
}

int cvmf_snp_id_block(cvmf_ctx *ctx, const struct cvmf_snp_id_params *p,
		      const cvmf_key *id_key, const cvmf_key *author_key,
		      struct cvmf_snp_id_result *ret)
{
	struct cvmf_snp_id_result *res = calloc(1, sizeof(*res));
	int r;
	if (!res)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if ((r = check_key(ctx, "ID key", id_key)) < 0 ||
	    (author_key && (r = check_key(ctx, "author key", author_key)) < 0))
		goto out;

	uint8_t *b = res->id_block;
	memcpy(b + IDB_LD, p->ld, 48);
	memcpy(b + IDB_FAMILY_ID, p->family_id, 16);
	memcpy(b + IDB_IMAGE_ID, p->image_id, 16);
	cmn_put_le32(b + IDB_VERSION, IDB_VERSION_1);
	cmn_put_le32(b + IDB_GUEST_SVN, p->guest_svn);
	cmn_put_le64(b + IDB_POLICY, p->policy);

	uint8_t *a = res->id_auth;
	cmn_put_le32(a + IDA_ID_KEY_ALGO, ALGO_ECDSA_P384_SHA384);
	if ((r = sign_struct(ctx, "ID key", id_key, b, IDB_SIZE, a + IDA_ID_BLOCK_SIG)) < 0 ||
	    (r = pubkey_struct(ctx, "ID key", id_key, a + IDA_ID_KEY)) < 0)
		goto out;
	if (!EVP_Digest(a + IDA_ID_KEY, PUBKEY_SIZE, res->id_key_digest, NULL, EVP_sha384(), NULL)) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot hash the ID key");
		goto out;
	}
	if (author_key) {
		cmn_put_le32(a + IDA_AUTH_KEY_ALGO, ALGO_ECDSA_P384_SHA384);
		if ((r = pubkey_struct(ctx, "author key", author_key, a + IDA_AUTHOR_KEY)) < 0 ||
		    (r = sign_struct(ctx, "author key", author_key, a + IDA_ID_KEY, PUBKEY_SIZE,
				     a + IDA_ID_KEY_SIG)) < 0)
			goto out;
		if (!EVP_Digest(a + IDA_AUTHOR_KEY, PUBKEY_SIZE, res->author_key_digest, NULL,
				EVP_sha384(), NULL)) {
			r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot hash the author key");
			goto out;
		}
		res->has_author_key = true;
	}
	*ret = *res;
	r = 0;
out:
	OPENSSL_cleanse(res, sizeof(*res));
	free(res);
	return r;
}

int cvmf_snp_image_launches(cvmf_ctx *ctx, const char *image, struct cvmf_snp_launch **ret,
			    size_t *ret_n)
{
	char dir[4200], path[4400];
	char *tmp = NULL;
	json_t *meas = NULL;
	struct cvmf_snp_launch *v = NULL;
	int r = img_open(ctx, image, dir, sizeof(dir), &tmp);
	if (r)
		return r;
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_MEASUREMENTS);
	if ((r = cmn_json_read_file(ctx, "image measurements", path, 64u << 20, &meas)) < 0)
		goto out;
	json_t *list = json_object_get(json_object_get(meas, "snp"), "measurements");
	size_t n = json_array_size(list);
	if (n == 0) {
		r = cmn_error(ctx, CVMF_E_INVAL, "%s: %s has no SNP launch digests", image,
			       IMG_MEASUREMENTS);
		goto out;
	}
	if (!(v = calloc(n, sizeof(*v)))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char where[64];
		const char *s;
		uint64_t vcpus;
		snprintf(where, sizeof(where), "snp.measurements[%zu]", i);
		char field[96];
#define FIELD(name) (snprintf(field, sizeof(field), "%s.%s", where, name), field)
		if ((r = cmn_json_get_hex(ctx, path, meas, FIELD("launch-digest"), v[i].ld, 48)) < 0 ||
		    (r = cmn_json_get_u64(ctx, path, meas, FIELD("vcpus"), UINT32_MAX, &vcpus)) < 0 ||
		    (r = cmn_json_get_str(ctx, path, meas, FIELD("vmm"), &s)) < 0)
			goto out;
		v[i].vcpus = (uint32_t)vcpus;
		snprintf(v[i].vmm, sizeof(v[i].vmm), "%s", s);
		if ((r = cmn_json_get_str(ctx, path, meas, FIELD("cpu-type"), &s)) < 0)
			goto out;
		snprintf(v[i].cpu_type, sizeof(v[i].cpu_type), "%s", s);
		if ((r = cmn_json_get_str(ctx, path, meas, FIELD("guest-features"), &s)) < 0)
			goto out;
		snprintf(v[i].guest_features, sizeof(v[i].guest_features), "%s", s);
#undef FIELD
	}
	*ret = v;
	*ret_n = n;
	v = NULL;
	r = 0;
out:
	free(v);
	json_decref(meas);
	if (tmp) {
		img_rmtree(tmp);
		free(tmp);
	}
	return r;
}
