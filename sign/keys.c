/* SPDX-License-Identifier: Apache-2.0 */
/* The public key API (cvmforge/sign.h): a thin handle over common/key.c. */
#include <stdlib.h>

#include "common/internal.h"
#include "sign/sgn.h"

static int wrap(cvmf_ctx *ctx, struct cmn_key *k, cvmf_key **ret)
{
	cvmf_key *key = malloc(sizeof(*key));
	if (!key) {
		cmn_key_free(k);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	key->k = k;
	*ret = key;
	return 0;
}

static enum cmn_key_type to_cmn(enum cvmf_key_type t)
{
	return t == CVMF_KEY_ED25519 ? CMN_KEY_ED25519 : CMN_KEY_ECDSA_P384;
}

int cvmf_key_generate(cvmf_ctx *ctx, enum cvmf_key_type type, cvmf_key **ret)
{
	struct cmn_key *k = NULL;
	if (type != CVMF_KEY_ED25519 && type != CVMF_KEY_ECDSA_P384)
		return cmn_error(ctx, CVMF_E_INVAL, "unknown key type %d", (int)type);
	int r = cmn_key_generate(ctx, to_cmn(type), &k);
	return r < 0 ? r : wrap(ctx, k, ret);
}

int cvmf_key_load_private(cvmf_ctx *ctx, const char *path, cvmf_key **ret)
{
	struct cmn_key *k = NULL;
	int r = cmn_key_load_private(ctx, path, &k);
	return r < 0 ? r : wrap(ctx, k, ret);
}

int cvmf_key_load_public(cvmf_ctx *ctx, const char *path, cvmf_key **ret)
{
	struct cmn_key *k = NULL;
	int r = cmn_key_load_public(ctx, path, &k);
	return r < 0 ? r : wrap(ctx, k, ret);
}

int cvmf_key_write(cvmf_ctx *ctx, const cvmf_key *key, const char *path)
{
	return cmn_key_write(ctx, key->k, path);
}

enum cvmf_key_type cvmf_key_get_type(const cvmf_key *key)
{
	return cmn_key_type(key->k) == CMN_KEY_ED25519 ? CVMF_KEY_ED25519 : CVMF_KEY_ECDSA_P384;
}

bool cvmf_key_is_private(const cvmf_key *key)
{
	return cmn_key_is_private(key->k);
}

const char *cvmf_key_type_name(enum cvmf_key_type type)
{
	return cmn_key_type_name(to_cmn(type));
}

int cvmf_key_type_from_name(const char *name, enum cvmf_key_type *ret)
{
	enum cmn_key_type t;
	if (cmn_key_type_parse(name, &t) < 0)
		return CVMF_E_INVAL;
	*ret = t == CMN_KEY_ED25519 ? CVMF_KEY_ED25519 : CVMF_KEY_ECDSA_P384;
	return 0;
}

int cvmf_key_fingerprint(cvmf_ctx *ctx, const cvmf_key *key, uint8_t out[32])
{
	return cmn_key_fingerprint(ctx, key->k, out);
}

int cvmf_key_public_pem(cvmf_ctx *ctx, const cvmf_key *key, char **ret)
{
	size_t len;
	return cmn_key_public_pem(ctx, key->k, ret, &len);
}

int cvmf_key_note_vkey(cvmf_ctx *ctx, const cvmf_key *key, const char *name, char **ret)
{
	return cmn_key_note_vkey(ctx, key->k, name, ret);
}

void cvmf_key_free(cvmf_key *key)
{
	if (!key)
		return;
	cmn_key_free(key->k);
	free(key);
}
