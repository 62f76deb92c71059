/* SPDX-License-Identifier: Apache-2.0 */
/*
 * c2sp.org/signed-note v1.0.0: parse, verify (Ed25519 type 0x01 and
 * cosignature/v1 type 0x04), sign; verifier keys and key IDs.
 *
 *   <text, ending in "\n">
 *   "\n"
 *   "— " <key name> " " base64(key ID (4, big-endian) || signature) "\n"   (1 or more)
 *
 * The separator is the LAST "\n\n" of the note; the signed bytes are the text
 * including its final "\n". Unknown (name, ID) pairs are ignored; a known pair
 * whose signature does not verify rejects the whole note.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "common/encode.h"
#include "common/key.h"
#include "log/tlog.h"

#define EM_DASH "\xe2\x80\x94"

/* ---- UTF-8 and key names ---- */

/* The code point at s (length *adv), or -1 if not valid UTF-8. */
static long utf8_next(const unsigned char *s, size_t len, size_t *adv)
{
	unsigned char c = s[0];
	long cp;
	size_t n;
	if (c < 0x80) {
		*adv = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if (len < n)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*adv = n;
	return cp;
}

static bool unicode_space(long cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool tlg_key_name_ok(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0, adv; i < len; i += adv) {
		long cp = utf8_next((const unsigned char *)name + i, len - i, &adv);
		if (cp < 0x20 || cp == 0x7f || cp == '+' || unicode_space(cp))
			return false;
	}
	return true;
}

uint32_t tlg_key_id(const char *name, uint8_t type, const uint8_t *pub, size_t pub_len)
{
	uint8_t d[32];
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t nl = '\n';
	uint32_t id = 0;
	if (m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(m, name, strlen(name)) && EVP_DigestUpdate(m, &nl, 1) &&
	    EVP_DigestUpdate(m, &type, 1) && EVP_DigestUpdate(m, pub, pub_len) &&
	    EVP_DigestFinal_ex(m, d, NULL))
		id = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	EVP_MD_CTX_free(m);
	return id;
}

/* ---- notes ---- */

void tlg_note_free(struct tlg_note *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_sigs; i++) {
		free(n->sigs[i].name);
		free(n->sigs[i].sig);
	}
	free(n->sigs);
	free(n->text);
	free(n);
}

int tlg_note_parse(cvmf_ctx *ctx, const char *what, const void *buf, size_t len,
		   struct tlg_note **ret)
{
	const unsigned char *b = buf;
	struct tlg_note *n = NULL;
	int r = 0;
	if (len > TLG_MAX_NOTE)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %zu bytes, a note may have at most %u",
				  what, len, TLG_MAX_NOTE);
	for (size_t i = 0, adv; i < len; i += adv) {
		long cp = utf8_next(b + i, len - i, &adv);
		if (cp < 0)
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: offset %zu: invalid UTF-8", what, i);
		if ((cp < 0x20 && cp != '\n') || cp == 0x7f)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: offset %zu: control character 0x%02lx", what, i, cp);
	}
	size_t sep = 0;
	bool found = false;
	for (size_t i = len; i >= 2; i--)
		if (b[i - 2] == '\n' && b[i - 1] == '\n') {
			sep = i - 2;
			found = true;
			break;
		}
	if (!found)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: no blank line between the text and the signatures", what);
	if (sep + 2 == len || b[len - 1] != '\n')
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: the signature block is empty or does not end in a newline",
				  what);
	n = calloc(1, sizeof(*n));
	if (!n || !(n->text = malloc(sep + 2))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "%s: out of memory", what);
		goto out;
	}
	memcpy(n->text, b, sep + 1);
	n->text[sep + 1] = '\0';
	n->text_len = sep + 1;
	size_t line_no = 0;
	for (size_t p = sep + 2; p < len; line_no++) {
		const unsigned char *nl = memchr(b + p, '\n', len - p);
		size_t ll = (size_t)(nl - (b + p));
		const char *line = (const char *)b + p;
		size_t off = p;
		p += ll + 1;
		if (n->n_sigs == TLG_MAX_SIGS) {
			r = cmn_error(ctx, CVMF_E_FORMAT, "%s: more than %u signatures", what,
				       TLG_MAX_SIGS);
			goto out;
		}
		if (ll < 4 || memcmp(line, EM_DASH " ", 4)) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "%s: offset %zu: signature line %zu does not start with \"— \"",
				       what, off, line_no + 1);
			goto out;
		}
		const char *name = line + 4;
		const char *sp = memchr(name, ' ', ll - 4);
		if (!sp || !tlg_key_name_ok(name, (size_t)(sp - name))) {
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "%s: offset %zu: signature line %zu has no valid key name", what,
				       off, line_no + 1);
			goto out;
		}
		uint8_t *raw = NULL;
		size_t raw_len = 0;
		r = cmn_base64_decode(ctx, what, sp + 1, ll - (size_t)(sp + 1 - line), &raw, &raw_len);
		if (r)
			goto out;
		if (raw_len < 5) {
			free(raw);
			r = cmn_error(ctx, CVMF_E_FORMAT,
				       "%s: offset %zu: signature line %zu is shorter than a key ID and "
				       "a signature",
				       what, off, line_no + 1);
			goto out;
		}
		struct tlg_sig *ns = realloc(n->sigs, (n->n_sigs + 1) * sizeof(*ns));
		char *nm = strndup(name, (size_t)(sp - name));
		uint8_t *sig = malloc(raw_len - 4);
		if (!ns || !nm || !sig) {
			if (ns)
				n->sigs = ns;
			free(nm);
			free(sig);
			free(raw);
			r = cmn_error(ctx, CVMF_E_NOMEM, "%s: out of memory", what);
			goto out;
		}
		n->sigs = ns;
		memcpy(sig, raw + 4, raw_len - 4);
		ns[n->n_sigs++] = (struct tlg_sig){
			nm, (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3],
			sig, raw_len - 4 };
		free(raw);
	}
	*ret = n;
	n = NULL;
out:
	tlg_note_free(n);
	return r;
}

/* ---- keys ---- */

void tlg_verifier_free(struct tlg_verifier *v)
{
	if (!v)
		return;
	free(v->name);
	EVP_PKEY_free(v->pkey);
	free(v);
}

int tlg_vkey_parse(cvmf_ctx *ctx, const char *what, const char *vkey,
		   struct tlg_verifier **ret)
{
	struct tlg_verifier *v = NULL;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int r = 0;
	const char *p1 = strchr(vkey, '+');
	const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	if (!p2)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: not a verifier key (NAME+KEYID+BASE64): '%.80s'", what, vkey);
	if (!tlg_key_name_ok(vkey, (size_t)(p1 - vkey)))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: invalid key name '%.*s'", what,
				  (int)(p1 - vkey), vkey);
	uint32_t id = 0;
	if (p2 - p1 - 1 != 8)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: the key ID must be 8 hex digits", what);
	for (const char *h = p1 + 1; h < p2; h++) {
		int x = (*h >= '0' && *h <= '9') ? *h - '0' : (*h >= 'a' && *h <= 'f') ? *h - 'a' + 10 : -1;
		if (x < 0)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: the key ID must be 8 lowercase hex digits", what);
		id = id << 4 | (uint32_t)x;
	}
	r = cmn_base64_decode(ctx, what, p2 + 1, strlen(p2 + 1), &raw, &raw_len);
	if (r)
		goto out;
	if (raw_len != 33 || (raw[0] != TLG_SIG_ED25519 && raw[0] != TLG_SIG_COSIG_V1)) {
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
			       "%s: key type 0x%02x with %zu bytes: only Ed25519 (0x01) and "
			       "cosignature/v1 (0x04) keys are supported",
			       what, raw_len ? raw[0] : 0, raw_len ? raw_len - 1 : 0);
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->name = strndup(vkey, (size_t)(p1 - vkey)))) {
		r = cmn_error(ctx, CVMF_E_NOMEM, "%s: out of memory", what);
		goto out;
	}
	v->type = raw[0];
	memcpy(v->pub, raw + 1, 32);
	v->id = tlg_key_id(v->name, v->type, v->pub, 32);
	if (v->id != id) {
		r = cmn_error(ctx, CVMF_E_FORMAT,
			       "%s: key ID %08x does not match the key (its ID is %08x)", what, id,
			       v->id);
		goto out;
	}
	v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, v->pub, 32);
	if (!v->pkey) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "%s: not a valid Ed25519 public key", what);
		goto out;
	}
	*ret = v;
	v = NULL;
out:
	free(raw);
	tlg_verifier_free(v);
	return r;
}

int tlg_vkey_format(cvmf_ctx *ctx, const char *name, uint8_t type, EVP_PKEY *pkey, char **ret)
{
	/* The log's name rule (UTF-8, no Unicode space) is stricter than the
	 * key's; the string itself is formed by the one key module. */
	if (!tlg_key_name_ok(name, strlen(name)))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "key name '%s' is empty or has a space or a '+'", name);
	struct cmn_key *k = NULL;
	int r = cmn_key_from_pkey(ctx, "the log key", pkey, &k);
	if (!r)
		r = cmn_key_note_vkey_type(ctx, k, name, type, ret);
	cmn_key_free(k);
	return r;
}

int tlg_skey_parse(cvmf_ctx *ctx, const char *what, const char *skey, char **ret_name,
		   EVP_PKEY **ret_pkey)
{
	static const char prefix[] = "PRIVATE+KEY+";
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	char *name = NULL;
	EVP_PKEY *k = NULL;
	int r;
	size_t len = strlen(skey);
	while (len && (skey[len - 1] == '\n' || skey[len - 1] == '\r'))
		len--;
	if (strncmp(skey, prefix, sizeof(prefix) - 1))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: not a PRIVATE+KEY+ signer key", what);
	const char *nm = skey + sizeof(prefix) - 1;
	const char *p1 = memchr(nm, '+', len - (size_t)(nm - skey));
	const char *p2 = p1 ? memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - skey)) : NULL;
	if (!p2 || p2 - p1 != 9 || !tlg_key_name_ok(nm, (size_t)(p1 - nm)))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: malformed signer key (PRIVATE+KEY+NAME+KEYID+BASE64)", what);
	r = cmn_base64_decode(ctx, what, p2 + 1, len - (size_t)(p2 + 1 - skey), &raw, &raw_len);
	if (r)
		goto out;
	if (raw_len != 33 || raw[0] != TLG_SIG_ED25519) {
		r = cmn_error(ctx, CVMF_E_UNSUPPORTED,
			       "%s: only Ed25519 (type 0x01) signer keys are supported", what);
		goto out;
	}
	name = strndup(nm, (size_t)(p1 - nm));
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	if (!name || !k) {
		r = cmn_error(ctx, CVMF_E_CRYPTO, "%s: cannot make an Ed25519 key", what);
		goto out;
	}
	uint8_t pub[32];
	size_t pl = 32;
	char hex[9];
	EVP_PKEY_get_raw_public_key(k, pub, &pl);
	snprintf(hex, sizeof(hex), "%08x", tlg_key_id(name, TLG_SIG_ED25519, pub, 32));
	if (memcmp(hex, p1 + 1, 8)) {
		r = cmn_error(ctx, CVMF_E_FORMAT, "%s: key ID %.8s does not match the key (%s)",
			       what, p1 + 1, hex);
		goto out;
	}
	*ret_name = name;
	*ret_pkey = k;
	name = NULL;
	k = NULL;
out:
	OPENSSL_cleanse(raw, raw_len);
	free(raw);
	free(name);
	EVP_PKEY_free(k);
	return r;
}

/* ---- verify and sign ---- */

static bool ed25519_verify(EVP_PKEY *k, const uint8_t *sig, size_t sig_len, const void *msg,
			   size_t len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	bool ok = m && sig_len == 64 && EVP_DigestVerifyInit(m, NULL, NULL, NULL, k) == 1 &&
		  EVP_DigestVerify(m, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

static int ed25519_sign(cvmf_ctx *ctx, EVP_PKEY *k, const void *msg, size_t len,
			uint8_t sig[64])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t sl = 64;
	bool ok = m && EVP_DigestSignInit(m, NULL, NULL, NULL, k) == 1 &&
		  EVP_DigestSign(m, sig, &sl, msg, len) == 1 && sl == 64;
	EVP_MD_CTX_free(m);
	return ok ? 0 : cmn_error(ctx, CVMF_E_CRYPTO, "Ed25519 signing failed (OpenSSL)");
}

static char *cosig_message(const char *text, size_t len, uint64_t t, size_t *ret_len)
{
	char *m = NULL;
	int n = asprintf(&m, "cosignature/v1\ntime %llu\n%.*s", (unsigned long long)t, (int)len,
			 text);
	if (n < 0)
		return NULL;
	*ret_len = (size_t)n;
	return m;
}

int tlg_note_verify(cvmf_ctx *ctx, const char *what, const struct tlg_note *n,
		    struct tlg_verifier *const *v, size_t nv, bool *ok, uint64_t *times,
		    size_t *ret_n)
{
	size_t count = 0;
	for (size_t j = 0; j < nv; j++) {
		if (ok)
			ok[j] = false;
	}
	for (size_t i = 0; i < n->n_sigs; i++) {
		const struct tlg_sig *s = &n->sigs[i];
		for (size_t j = 0; j < nv; j++) {
			if (v[j]->id != s->id || strcmp(v[j]->name, s->name))
				continue;
			bool good;
			uint64_t t = 0;
			if (v[j]->type == TLG_SIG_COSIG_V1) {
				good = s->sig_len == 72;
				for (int b = 0; good && b < 8; b++)
					t = t << 8 | s->sig[b];
				good = good && t <= INT64_MAX;
				size_t ml = 0;
				char *m = good ? cosig_message(n->text, n->text_len, t, &ml) : NULL;
				good = m && ed25519_verify(v[j]->pkey, s->sig + 8, 64, m, ml);
				free(m);
			} else {
				good = ed25519_verify(v[j]->pkey, s->sig, s->sig_len, n->text,
						      n->text_len);
			}
			if (!good)
				return cmn_error(ctx, CVMF_E_CRYPTO,
						  "%s: the signature of '%s' (key ID %08x) does not verify",
						  what, s->name, s->id);
			bool *seen = ok ? &ok[j] : NULL;
			if (!seen || !*seen)
				count++;
			if (seen)
				*seen = true;
			if (times)
				times[j] = t;
		}
	}
	*ret_n = count;
	return 0;
}

static int sig_line(cvmf_ctx *ctx, const char *name, uint32_t id, const uint8_t *sig,
		    size_t sig_len, char **ret)
{
	uint8_t raw[4 + 72];
	raw[0] = (uint8_t)(id >> 24);
	raw[1] = (uint8_t)(id >> 16);
	raw[2] = (uint8_t)(id >> 8);
	raw[3] = (uint8_t)id;
	memcpy(raw + 4, sig, sig_len);
	char *b = cmn_base64_encode(raw, 4 + sig_len);
	char *s = NULL;
	if (!b || asprintf(&s, EM_DASH " %s %s\n", name, b) < 0) {
		free(b);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	free(b);
	*ret = s;
	return 0;
}

static int pub_of(cvmf_ctx *ctx, EVP_PKEY *k, uint8_t pub[32])
{
	size_t pl = 32;
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 ||
	    !EVP_PKEY_get_raw_public_key(k, pub, &pl) || pl != 32)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "the signing key is not an Ed25519 key");
	return 0;
}

int tlg_note_sign(cvmf_ctx *ctx, const char *text, size_t len, const char *name,
		  EVP_PKEY *key, char **ret)
{
	uint8_t pub[32], sig[64];
	char *line = NULL, *note = NULL;
	int r;
	if (!len || text[len - 1] != '\n' || !tlg_key_name_ok(name, strlen(name)))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "note: the text must end in a newline and the key name be valid");
	if ((r = pub_of(ctx, key, pub)) || (r = ed25519_sign(ctx, key, text, len, sig)) ||
	    (r = sig_line(ctx, name, tlg_key_id(name, TLG_SIG_ED25519, pub, 32), sig, 64, &line)))
		return r;
	if (asprintf(&note, "%.*s\n%s", (int)len, text, line) < 0)
		r = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	else
		*ret = note;
	free(line);
	return r;
}

int tlg_cosign_line(cvmf_ctx *ctx, const char *text, size_t len, const char *name,
		    EVP_PKEY *key, uint64_t t, char **ret)
{
	uint8_t pub[32], sig[72];
	size_t ml = 0;
	int r = pub_of(ctx, key, pub);
	if (r)
		return r;
	if (t > INT64_MAX)
		return cmn_error(ctx, CVMF_E_INVAL, "cosignature time %llu is too large",
				  (unsigned long long)t);
	char *m = cosig_message(text, len, t, &ml);
	if (!m)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	for (int b = 0; b < 8; b++)
		sig[b] = (uint8_t)(t >> (56 - 8 * b));
	r = ed25519_sign(ctx, key, m, ml, sig + 8);
	free(m);
	if (!r)
		r = sig_line(ctx, name, tlg_key_id(name, TLG_SIG_COSIG_V1, pub, 32), sig, 72, ret);
	return r;
}
