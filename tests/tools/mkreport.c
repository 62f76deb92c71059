/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkreport: a synthetic SEV-SNP attestation report and the test chain that
 * signs it, for `make demo` and the tests, where there is no SNP hardware.
 * OpenSSL only (no libcvmforge), so that what it makes is checked by code it
 * does not share with the verifier.
 *
 *   mkreport --measurement HEX -o DIR [--product Milan|Genoa|Turin]
 *
 * writes into DIR (which must exist):
 *   ark.pem     a self-signed "ARK-<product>", RSA-2048, RSA-PSS SHA-384
 *   ask.pem     "SEV-<product>", RSA-2048, signed by the ARK (RSA-PSS)
 *   vcek.pem    "SEV-VCEK", ECDSA P-384, signed by the ASK, with AMD's
 *               extensions (struct version, product name, the bootloader,
 *               TEE, SNP, microcode (and Turin FMC) SPLs, hwID = chip id)
 *   report.bin  a version 3 report (1184 bytes) with that measurement, the
 *               product's CPUID, reported = launch TCB = the VCEK's SPLs,
 *               policy 0x30000 (no DEBUG), signed by the VCEK over bytes
 *               0x000-0x29F with R and S little-endian
 * Verify with `cvmforge attest verify DIR/report.bin --certs DIR/vcek.pem
 * --certs DIR/ask.pem --trust-root DIR/ark.pem`. Not a product verb: it is
 * built for `make demo` and `make check` only.
 *
 * tests/unit/test_attest_chain.c includes this file with MKREPORT_NO_MAIN.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define MKR_REPORT_SIZE 1184
#define MKR_SIGNED_LEN 0x2a0

struct mkr_spec {
	const char *product;         /* "Milan", "Genoa", "Turin" */
	uint8_t measurement[48];
	unsigned bl, tee, snp, ucode, fmc;   /* the TCB: report and VCEK alike */
};

/* RSA-PSS (SHA-384, salt 48) as AMD signs, for certificates. */
static bool mkr_sign_cert(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = mc && EVP_DigestSignInit(mc, &pc, EVP_sha384(), NULL, key) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) == 1 &&
		  EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) == 1 && X509_sign_ctx(x, mc) > 0;
	EVP_MD_CTX_free(mc);
	return ok;
}

static bool mkr_add_ext(X509 *x, const char *oid, const uint8_t *der, size_t n)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	bool ok = o && s && ASN1_OCTET_STRING_set(s, der, (int)n) &&
		  (e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, s)) && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(s);
	ASN1_OBJECT_free(o);
	return ok;
}

/* An SPL: a DER INTEGER 0..255 under 1.3.6.1.4.1.3704.1.<arc>. */
static bool mkr_add_spl(X509 *x, const char *arc, unsigned v)
{
	char oid[64];
	uint8_t der[4] = { 0x02, 1, (uint8_t)v };
	size_t n = 3;
	snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", arc);
	if (v >= 0x80) {
		der[1] = 2;
		der[2] = 0;
		der[3] = (uint8_t)v;
		n = 4;
	}
	return mkr_add_ext(x, oid, der, n);
}

static bool mkr_add_nid(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	bool ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* A certificate for key, valid from a year ago for 25 years, signed by the
 * issuer (itself when NULL). hwid: a VCEK's extensions. */
static X509 *mkr_cert(const char *cn, long serial, X509 *issuer, EVP_PKEY *issuer_key,
		      EVP_PKEY *key, bool ca, const struct mkr_spec *sp, const uint8_t *hwid,
		      size_t hwid_len)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	bool ok = x && nm;
	ok = ok && X509_set_version(x, 2) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	     X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
					(const unsigned char *)"Advanced Micro Devices", -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					-1, 0) &&
	     X509_set_subject_name(x, nm) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -365L * 86400) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 25L * 365 * 86400) && X509_set_pubkey(x, key);
	X509_NAME_free(nm);
	ok = ok && mkr_add_nid(x, issuer ? issuer : x, NID_basic_constraints,
			       ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ca)
		ok = ok && mkr_add_nid(x, issuer ? issuer : x, NID_key_usage,
				       "critical,keyCertSign,cRLSign");
	if (hwid) {
		uint8_t one[3] = { 0x02, 0x01, 0x01 }, ia5[40] = { 0x16 };
		size_t pl = strlen(sp->product);
		ia5[1] = (uint8_t)pl;
		memcpy(ia5 + 2, sp->product, pl);
		ok = ok && mkr_add_ext(x, "1.3.6.1.4.1.3704.1.1", one, 3) &&
		     mkr_add_ext(x, "1.3.6.1.4.1.3704.1.2", ia5, 2 + pl) &&
		     mkr_add_spl(x, "3.1", sp->bl) && mkr_add_spl(x, "3.2", sp->tee) &&
		     mkr_add_spl(x, "3.3", sp->snp) && mkr_add_spl(x, "3.8", sp->ucode) &&
		     (strcmp(sp->product, "Turin") || mkr_add_spl(x, "3.9", sp->fmc)) &&
		     mkr_add_ext(x, "1.3.6.1.4.1.3704.1.4", hwid, hwid_len);
	}
	ok = ok && mkr_sign_cert(x, issuer_key ? issuer_key : key);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static void mkr_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The report's TCB bytes in the product's layout. */
static void mkr_tcb(const struct mkr_spec *sp, uint8_t out[8])
{
	memset(out, 0, 8);
	if (!strcmp(sp->product, "Turin")) {
		out[0] = (uint8_t)sp->fmc;
		out[1] = (uint8_t)sp->bl;
		out[2] = (uint8_t)sp->tee;
		out[3] = (uint8_t)sp->snp;
	} else {
		out[0] = (uint8_t)sp->bl;
		out[1] = (uint8_t)sp->tee;
		out[6] = (uint8_t)sp->snp;
	}
	out[7] = (uint8_t)sp->ucode;
}

/* Fill and sign a v3 report (rep: MKR_REPORT_SIZE bytes). */
static bool mkr_report(const struct mkr_spec *sp, const uint8_t chip[64], EVP_PKEY *vcek_key,
		       uint8_t *rep)
{
	bool turin = !strcmp(sp->product, "Turin"), genoa = !strcmp(sp->product, "Genoa");
	uint8_t tcb[8];
	memset(rep, 0, MKR_REPORT_SIZE);
	mkr_le32(rep + 0x000, 3);                   /* version */
	mkr_le32(rep + 0x008, 0x30000);             /* policy: SMT, reserved bit 17 */
	mkr_le32(rep + 0x034, 1);                   /* signature algo: ECDSA P-384 SHA-384 */
	memcpy(rep + 0x090, sp->measurement, 48);
	mkr_tcb(sp, tcb);
	memcpy(rep + 0x038, tcb, 8);                /* current */
	memcpy(rep + 0x180, tcb, 8);                /* reported */
	memcpy(rep + 0x1e0, tcb, 8);                /* committed */
	memcpy(rep + 0x1f0, tcb, 8);                /* launch */
	rep[0x188] = turin ? 0x1a : 0x19;           /* CPUID family, model, stepping */
	rep[0x189] = genoa ? 0x11 : turin ? 0x02 : 0x01;
	rep[0x18a] = 1;
	memcpy(rep + 0x1a0, chip, 64);
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t der[160];
	size_t n = sizeof(der);
	bool ok = mc && EVP_DigestSignInit(mc, NULL, EVP_sha384(), NULL, vcek_key) == 1 &&
		  EVP_DigestSign(mc, der, &n, rep, MKR_SIGNED_LEN) == 1;
	EVP_MD_CTX_free(mc);
	const unsigned char *p = der;
	ECDSA_SIG *sig = ok ? d2i_ECDSA_SIG(NULL, &p, (long)n) : NULL;
	ok = sig && BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), rep + 0x2a0, 72) == 72 &&
	     BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), rep + 0x2e8, 72) == 72;
	ECDSA_SIG_free(sig);
	return ok;
}

static bool mkr_write(const char *dir, const char *name, X509 *x, const uint8_t *d, size_t n)
{
	char path[4200];
	snprintf(path, sizeof(path), "%.4000s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = x ? PEM_write_X509(f, x) == 1 : fwrite(d, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

/* Make the chain and the report into dir; false (and a message) on failure. */
static bool mkr_make(const char *dir, const struct mkr_spec *sp)
{
	char cn[64];
	uint8_t chip[64], rep[MKR_REPORT_SIZE];
	bool turin = !strcmp(sp->product, "Turin");
	for (int i = 0; i < 64; i++)
		chip[i] = turin && i >= 8 ? 0 : (uint8_t)(0x40 + i);
	EVP_PKEY *ark_key = EVP_RSA_gen(2048), *ask_key = EVP_RSA_gen(2048);
	EVP_PKEY *vcek_key = EVP_EC_gen("P-384");
	X509 *ark = NULL, *ask = NULL, *vcek = NULL;
	bool ok = ark_key && ask_key && vcek_key;
	snprintf(cn, sizeof(cn), "ARK-%s", sp->product);
	ok = ok && (ark = mkr_cert(cn, 1, NULL, NULL, ark_key, true, sp, NULL, 0));
	snprintf(cn, sizeof(cn), "SEV-%s", sp->product);
	ok = ok && (ask = mkr_cert(cn, 2, ark, ark_key, ask_key, true, sp, NULL, 0));
	ok = ok && (vcek = mkr_cert("SEV-VCEK", 3, ask, ask_key, vcek_key, false, sp, chip,
				    turin ? 8 : 64));
	ok = ok && mkr_report(sp, chip, vcek_key, rep) &&
	     mkr_write(dir, "ark.pem", ark, NULL, 0) && mkr_write(dir, "ask.pem", ask, NULL, 0) &&
	     mkr_write(dir, "vcek.pem", vcek, NULL, 0) &&
	     mkr_write(dir, "report.bin", NULL, rep, sizeof(rep));
	if (!ok)
		fprintf(stderr, "mkreport: could not make the chain or the report in '%s'\n", dir);
	X509_free(ark);
	X509_free(ask);
	X509_free(vcek);
	EVP_PKEY_free(ark_key);
	EVP_PKEY_free(ask_key);
	EVP_PKEY_free(vcek_key);
	return ok;
}

#ifndef MKREPORT_NO_MAIN
static bool mkr_unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct mkr_spec sp = { .product = "Genoa", .bl = 3, .tee = 0, .snp = 8, .ucode = 115 };
	const char *dir = NULL;
	bool have_m = false;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--measurement") && v) {
			if (!mkr_unhex(v, sp.measurement, 48)) {
				fprintf(stderr, "mkreport: --measurement: 96 hex digits: '%s'\n", v);
				return 2;
			}
			have_m = true;
			i++;
		} else if (!strcmp(argv[i], "-o") && v) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--product") && v &&
			   (!strcmp(v, "Milan") || !strcmp(v, "Genoa") || !strcmp(v, "Turin"))) {
			sp.product = argv[++i];
		} else {
			fprintf(stderr, "usage: mkreport --measurement HEX -o DIR "
				"[--product Milan|Genoa|Turin]\n");
			return 2;
		}
	}
	if (!have_m || !dir) {
		fprintf(stderr, "usage: mkreport --measurement HEX -o DIR "
			"[--product Milan|Genoa|Turin]\n");
		return 2;
	}
	return mkr_make(dir, &sp) ? 0 : 1;
}
#endif
