/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing keys over OpenSSL 3: decoding (OSSL_DECODER), generation
 * (EVP_PKEY_Q_keygen), encoding (OSSL_ENCODER) and EVP_DigestSign/Verify.
 * Only two key types are accepted anywhere: ECDSA P-384 (signed with
 * SHA-384, DER signatures) and Ed25519 (pure).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "file.h"
#include "internal.h"
#include "key.h"
#include "write.h"

struct cmn_key {
	EVP_PKEY *pkey;
	enum cmn_key_type type;
	bool priv;
};

/* The reason of the newest OpenSSL error, or a fallback; clears the queue. */
static const char *ossl_reason(char *buf, size_t n)
{
	unsigned long e = ERR_peek_last_error();
	if (e == 0) {
		snprintf(buf, n, "no detail from OpenSSL");
	} else {
		const char *r = ERR_reason_error_string(e);
		snprintf(buf, n, "%s", r ? r : "unknown OpenSSL error");
	}
	ERR_clear_error();
	return buf;
}

const char *cmn_key_type_name(enum cmn_key_type t)
{
	switch (t) {
	case CMN_KEY_ECDSA_P384: return "ecdsa-p384";
	case CMN_KEY_ED25519: return "ed25519";
	}
	return "unknown";
}

int cmn_key_type_parse(const char *s, enum cmn_key_type *ret)
{
	if (strcmp(s, "ecdsa-p384") == 0) {
		*ret = CMN_KEY_ECDSA_P384;
		return 0;
	}
	if (strcmp(s, "ed25519") == 0) {
		*ret = CMN_KEY_ED25519;
		return 0;
	}
	return CVMF_E_INVAL;
}

/* The key type of pkey, or an error naming what it is instead. */
static int classify(cvmf_ctx *ctx, const char *what, EVP_PKEY *pkey, enum cmn_key_type *ret)
{
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*ret = CMN_KEY_ED25519;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[80] = "";
		size_t glen = 0;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), &glen))
			snprintf(group, sizeof(group), "(explicit parameters)");
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			*ret = CMN_KEY_ECDSA_P384;
			return 0;
		}
		ERR_clear_error();
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "%s is an EC key on curve %s; only P-384 (secp384r1) and "
				  "Ed25519 keys are accepted", what, group);
	}
	const char *name = EVP_PKEY_get0_type_name(pkey);
	return cmn_error(ctx, CVMF_E_UNSUPPORTED,
			  "%s is a %s key; only ECDSA P-384 and Ed25519 keys are accepted", what,
			  name ? name : "unknown");
}

/* Whether pkey holds private key material (any key type). */
static bool has_private(EVP_PKEY *pkey)
{
	OSSL_PARAM *params = NULL;
	bool ok = EVP_PKEY_todata(pkey, EVP_PKEY_KEYPAIR, &params) == 1 && params &&
		  (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY) ||
		   OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_D));
	OSSL_PARAM_free(params);
	ERR_clear_error();
	return ok;
}

int cmn_key_from_pkey(cvmf_ctx *ctx, const char *what, EVP_PKEY *pkey, struct cmn_key **ret)
{
	enum cmn_key_type t;
	int r = classify(ctx, what, pkey, &t);
	if (r < 0)
		return r;
	struct cmn_key *k = calloc(1, sizeof(*k));
	if (!k)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory for %s", what);
	if (!EVP_PKEY_up_ref(pkey)) {
		free(k);
		return cmn_error(ctx, CVMF_E_CRYPTO, "cannot reference %s", what);
	}
	k->pkey = pkey;
	k->type = t;
	k->priv = has_private(pkey);
	*ret = k;
	return 0;
}

/* Passphrases are never asked for: an encrypted key is refused. */
static int no_passphrase(char *pass, size_t size, size_t *ret_len,
			 const OSSL_PARAM params[], void *arg)
{
	(void)pass; (void)size; (void)ret_len; (void)params;
	*(bool *)arg = true;
	return 0;
}

/* Past the PEM block p starts in (its "-----END ...-----" line), or NULL if p
 * is not PEM or there is no further block. */
static const unsigned char *next_pem_block(const unsigned char *p, size_t left)
{
	const char *s = (const char *)p, *end = s + left;
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	if ((size_t)(end - s) < 11 || memcmp(s, "-----BEGIN ", 11) != 0)
		return NULL;
	const char *e = memmem(s, (size_t)(end - s), "-----END ", 9);
	if (!e)
		return NULL;
	const char *nl = memchr(e, '\n', (size_t)(end - e));
	return nl ? (const unsigned char *)nl + 1 : NULL;
}

/* Decode the first key of the wanted kind in buf (PEM blocks such as
 * "EC PARAMETERS" before it, as `openssl ecparam -genkey` writes, are
 * skipped). NULL if none. */
static EVP_PKEY *decode(const uint8_t *buf, size_t len, int selection, bool *ret_encrypted)
{
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = buf;
	size_t left = len;

	while (left > 0 && !pkey) {
		OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
			&pkey, NULL, NULL, NULL, selection, NULL, NULL);
		if (!dctx)
			break;
		OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase, ret_encrypted);
		size_t before = left;
		int ok = OSSL_DECODER_from_data(dctx, &p, &left);
		OSSL_DECODER_CTX_free(dctx);
		if (ok && pkey && selection == EVP_PKEY_KEYPAIR && !has_private(pkey)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		if (pkey)
			break;
		if (!ok || left == before) {
			/* Not a key: skip one PEM block (e.g. "EC PARAMETERS") */
			const unsigned char *next = next_pem_block(p, left);
			if (!next)
				break;
			left -= (size_t)(next - p);
			p = next;
		}
	}
	ERR_clear_error();
	return pkey;
}

static int load(cvmf_ctx *ctx, const char *path, bool priv, struct cmn_key **ret)
{
	const char *what = priv ? "private key" : "public key";
	uint8_t *buf = NULL;
	EVP_PKEY *pkey = NULL;
	struct cmn_key *k = NULL;
	size_t len = 0;
	bool encrypted = false;
	struct stat st;
	char label[300];
	int r;

	/* Regular files only, never blocking on a FIFO, the cap before a byte is read. */
	uint64_t size = 0;
	int fd = cmn_input_open(ctx, what, path, CMN_KEY_MAX_FILE, 0, &size);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = cmn_error(ctx, CVMF_E_IO, "cannot stat %s '%s': %s", what, path,
			       strerror(errno));
		goto out;
	}
	/* As ssh does: a private key others can read is not private. */
	if (priv && (st.st_mode & 077)) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "permissions %04o for private key '%s' are too open: it must not "
			       "be readable by group or others (chmod 600 '%s')",
			       (unsigned)(st.st_mode & 07777), path, path);
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	while (len < (size_t)size) {
		ssize_t got = read(fd, buf + len, (size_t)size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = cmn_error(ctx, CVMF_E_IO, "cannot read %s '%s': %s", what, path,
				       strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len == 0) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s '%s' is empty", what, path);
		goto out;
	}

	pkey = decode(buf, len, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, &encrypted);
	if (!pkey) {
		bool enc2 = false;
		EVP_PKEY *other = decode(buf, len, priv ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR,
					 &enc2);
		if ((encrypted || enc2) && !priv)
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "'%s' holds an encrypted private key; give its public key "
				       "(KEY.pub)", path);
		else if (encrypted || enc2)
			r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
				       "%s '%s' is encrypted; passphrases are not supported (store "
				       "it unencrypted with mode 0600, or use a provider)", what, path);
		else if (other && priv)
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "'%s' holds a public key, not a private key", path);
		else if (other)
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "'%s' holds a private key; give its public key (KEY.pub)",
				       path);
		else
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "%s '%s' is not a PEM or DER %s key OpenSSL can decode", what,
				       path, priv ? "private" : "public");
		EVP_PKEY_free(other);
		goto out;
	}
	if (!priv && has_private(pkey)) {
		r = cmn_error(ctx, CVMF_E_INVAL,
			       "'%s' holds a private key; give its public key (KEY.pub)", path);
		goto out;
	}
	snprintf(label, sizeof(label), "%s '%s'", what, path);
	r = cmn_key_from_pkey(ctx, label, pkey, &k);
	if (r < 0)
		goto out;
	*ret = k;
	r = 0;
out:
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
	EVP_PKEY_free(pkey);
	close(fd);
	return r;
}

int cmn_key_load_private(cvmf_ctx *ctx, const char *path, struct cmn_key **ret)
{
	return load(ctx, path, true, ret);
}

int cmn_key_load_public(cvmf_ctx *ctx, const char *path, struct cmn_key **ret)
{
	return load(ctx, path, false, ret);
}

int cmn_key_generate(cvmf_ctx *ctx, enum cmn_key_type t, struct cmn_key **ret)
{
	char why[160];
	EVP_PKEY *pkey = t == CMN_KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
					      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!pkey)
		return cmn_error(ctx, CVMF_E_CRYPTO, "cannot generate an %s key: %s",
				  cmn_key_type_name(t), ossl_reason(why, sizeof(why)));
	int r = cmn_key_from_pkey(ctx, "generated key", pkey, ret);
	EVP_PKEY_free(pkey);
	return r;
}

/* Encode k with OSSL_ENCODER into a malloc'd buffer (NUL-ended for PEM). */
static int encode(cvmf_ctx *ctx, const struct cmn_key *k, int selection, const char *format,
		  const char *structure, uint8_t **ret, size_t *ret_len)
{
	char why[160];
	unsigned char *data = NULL;
	size_t len = 0;
	OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey, selection, format,
							       structure, NULL);
	if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
	    !OSSL_ENCODER_to_data(ectx, &data, &len)) {
		OSSL_ENCODER_CTX_free(ectx);
		return cmn_error(ctx, CVMF_E_CRYPTO, "cannot encode the %s key as %s %s: %s",
				  cmn_key_type_name(k->type), format, structure,
				  ossl_reason(why, sizeof(why)));
	}
	OSSL_ENCODER_CTX_free(ectx);
	uint8_t *out = malloc(len + 1);
	if (!out) {
		OPENSSL_clear_free(data, len);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory encoding a key");
	}
	memcpy(out, data, len);
	out[len] = 0;
	OPENSSL_clear_free(data, len);
	*ret = out;
	*ret_len = len;
	return 0;
}

int cmn_key_public_pem(cvmf_ctx *ctx, const struct cmn_key *k, char **ret, size_t *ret_len)
{
	return encode(ctx, k, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo",
		      (uint8_t **)ret, ret_len);
}

int cmn_key_public_der(cvmf_ctx *ctx, const struct cmn_key *k, uint8_t **ret, size_t *ret_len)
{
	return encode(ctx, k, EVP_PKEY_PUBLIC_KEY, "DER", "SubjectPublicKeyInfo", ret, ret_len);
}

int cmn_key_write(cvmf_ctx *ctx, const struct cmn_key *k, const char *path)
{
	uint8_t *priv = NULL, *pub = NULL;
	size_t priv_len = 0, pub_len = 0;
	char *pub_path = NULL;
	struct stat st;
	int r;

	if (!k->priv)
		return cmn_error(ctx, CVMF_E_INVAL, "cannot write '%s': the key has no private part",
				  path);
	if (asprintf(&pub_path, "%s.pub", path) < 0)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	/* Neither file may exist: a key is never overwritten. */
	for (const char *p = path; p; p = p == path ? pub_path : NULL)
		if (lstat(p, &st) == 0) {
			r = cmn_error(ctx, CVMF_E_INVAL, "'%s' exists; a key is never overwritten",
				       p);
			goto out;
		}
	if ((r = encode(ctx, k, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", &priv, &priv_len)) < 0 ||
	    (r = encode(ctx, k, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", &pub,
			&pub_len)) < 0)
		goto out;
	if ((r = cmn_write_file(ctx, "private key", path, priv, priv_len,
				CMN_W_EXCL | CMN_W_PRIVATE | CMN_W_DURABLE)) < 0)
		goto out;
	if ((r = cmn_write_file(ctx, "public key", pub_path, pub, pub_len,
				CMN_W_EXCL | CMN_W_DURABLE)) < 0) {
		/* Whole or nothing: the private key this call wrote goes too. */
		unlink(path);
		goto out;
	}
	r = 0;
out:
	if (priv)
		OPENSSL_cleanse(priv, priv_len);
	free(priv);
	free(pub);
	free(pub_path);
	return r;
}

EVP_PKEY *cmn_key_pkey(const struct cmn_key *k)
{
	return k->pkey;
}

enum cmn_key_type cmn_key_type(const struct cmn_key *k)
{
	return k->type;
}

bool cmn_key_is_private(const struct cmn_key *k)
{
	return k->priv;
}

int cmn_key_fingerprint(cvmf_ctx *ctx, const struct cmn_key *k, uint8_t out[32])
{
	uint8_t *der = NULL;
	size_t len = 0;
	int r = cmn_key_public_der(ctx, k, &der, &len);
	if (r < 0)
		return r;
	if (!EVP_Digest(der, len, out, NULL, EVP_sha256(), NULL))
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot hash the public key");
	free(der);
	return r;
}

/* ECDSA signs a SHA-384 digest; Ed25519 signs the message itself. */
static const char *sig_digest(const struct cmn_key *k)
{
	return k->type == CMN_KEY_ECDSA_P384 ? "SHA384" : NULL;
}

int cmn_key_sign(cvmf_ctx *ctx, const struct cmn_key *k, const void *msg, size_t len,
		 uint8_t **ret_sig, size_t *ret_len)
{
	char why[160];
	uint8_t *sig = NULL;
	size_t slen = 0;
	int r;

	if (!k->priv)
		return cmn_error(ctx, CVMF_E_INVAL, "cannot sign with a public key");
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	if (!mctx)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory signing");
	if (EVP_DigestSignInit_ex(mctx, NULL, sig_digest(k), NULL, NULL, k->pkey, NULL) != 1 ||
	    EVP_DigestSign(mctx, NULL, &slen, msg, len) != 1) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot sign with the %s key: %s",
			       cmn_key_type_name(k->type), ossl_reason(why, sizeof(why)));
		goto out;
	}
	sig = malloc(slen);
	if (!sig) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory signing");
		goto out;
	}
	if (EVP_DigestSign(mctx, sig, &slen, msg, len) != 1) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot sign with the %s key: %s",
			       cmn_key_type_name(k->type), ossl_reason(why, sizeof(why)));
		goto out;
	}
	*ret_sig = sig;
	*ret_len = slen;
	sig = NULL;
	r = 0;
out:
	free(sig);
	EVP_MD_CTX_free(mctx);
	return r;
}

int cmn_key_verify(cvmf_ctx *ctx, const struct cmn_key *k, const void *msg, size_t len,
		   const uint8_t *sig, size_t sig_len)
{
	char why[160];
	int r;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	if (!mctx)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory verifying");
	if (EVP_DigestVerifyInit_ex(mctx, NULL, sig_digest(k), NULL, NULL, k->pkey, NULL) != 1) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot verify with the %s key: %s",
			       cmn_key_type_name(k->type), ossl_reason(why, sizeof(why)));
		goto out;
	}
	int v = EVP_DigestVerify(mctx, sig, sig_len, msg, len);
	ERR_clear_error();
	if (v == 1)
		r = 0;
	else if (v == 0)
		r = cmn_error(ctx, CVMF_E_CRYPTO, "%s signature does not verify",
			       cmn_key_type_name(k->type));
	else
		r = cmn_error(ctx, CVMF_E_CRYPTO,
			       "%s signature is malformed (%zu bytes) and does not verify",
			       cmn_key_type_name(k->type), sig_len);
out:
	EVP_MD_CTX_free(mctx);
	return r;
}

static int check_note_name(cvmf_ctx *ctx, const char *name)
{
	if (!name || !*name)
		return cmn_error(ctx, CVMF_E_INVAL, "a signed-note key name must not be empty");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '+')
			return cmn_error(ctx, CVMF_E_INVAL,
					  "signed-note key name '%s' holds '%c' at offset %td: "
					  "names have no '+', spaces or control characters", name,
					  *p >= 0x20 && *p < 0x7f ? *p : '?',
					  (const char *)p - name);
	return 0;
}

/* The 33 bytes TYPE || Ed25519 public key (TYPE 0x01: a signature key;
 * 0x04: a tlog-cosignature/v1 witness key). */
static int note_pub(cvmf_ctx *ctx, const struct cmn_key *k, uint8_t type, uint8_t out[33])
{
	size_t n = 32;
	if (k->type != CMN_KEY_ED25519)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "signed-note verifier keys are Ed25519; this key is %s",
				  cmn_key_type_name(k->type));
	out[0] = type;
	if (EVP_PKEY_get_raw_public_key(k->pkey, out + 1, &n) != 1 || n != 32) {
		ERR_clear_error();
		return cmn_error(ctx, CVMF_E_CRYPTO, "cannot read the Ed25519 public key");
	}
	return 0;
}

static int note_keyid(cvmf_ctx *ctx, const struct cmn_key *k, const char *name, uint8_t type,
		      uint8_t out[4])
{
	uint8_t pub[33], md[32];
	int r = check_note_name(ctx, name);
	if (r < 0)
		return r;
	r = note_pub(ctx, k, type, pub);
	if (r < 0)
		return r;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	if (!mctx)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	if (EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(mctx, name, strlen(name)) != 1 ||
	    EVP_DigestUpdate(mctx, "\n", 1) != 1 ||
	    EVP_DigestUpdate(mctx, pub, sizeof(pub)) != 1 ||
	    EVP_DigestFinal_ex(mctx, md, NULL) != 1)
		r = cmn_error(ctx, CVMF_E_CRYPTO, "cannot hash the signed-note key id");
	EVP_MD_CTX_free(mctx);
	if (r == 0)
		memcpy(out, md, 4);
	return r;
}

int cmn_key_note_keyid(cvmf_ctx *ctx, const struct cmn_key *k, const char *name,
		       uint8_t out[4])
{
	return note_keyid(ctx, k, name, 0x01, out);
}

int cmn_key_note_vkey_type(cvmf_ctx *ctx, const struct cmn_key *k, const char *name,
			   uint8_t type, char **ret_str)
{
	uint8_t pub[33], id[4];
	char idhex[9], b64[4 * ((sizeof(pub) + 2) / 3) + 1];
	int r = note_keyid(ctx, k, name, type, id);
	if (r < 0)
		return r;
	r = note_pub(ctx, k, type, pub);
	if (r < 0)
		return r;
	cvmf_hex(id, sizeof(id), idhex);
	cvmf_base64(pub, sizeof(pub), b64);
	size_t n = strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
	char *s = malloc(n);
	if (!s)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	snprintf(s, n, "%s+%s+%s", name, idhex, b64);
	*ret_str = s;
	return 0;
}

int cmn_key_note_vkey(cvmf_ctx *ctx, const struct cmn_key *k, const char *name, char **ret_str)
{
	return cmn_key_note_vkey_type(ctx, k, name, 0x01, ret_str);
}

void cmn_key_free(struct cmn_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
