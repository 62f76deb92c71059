/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge attest show|verify`: the relying party's side. `show` prints
 * every field of a raw SEV-SNP report or a TDX quote; `verify` runs the
 * library's one verification call (chain, signature, policy).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

/* ---- the parsed fields, as JSON (show --json, and verify --json) ---- */

static json_t *tcb_obj(const struct cvmf_snp_tcb *t, enum cvmf_snp_product p)
{
	json_t *o = json_object();
	json_object_set_new(o, "raw", cli_hexj(t->raw, 8));
	json_object_set_new(o, "bootloader", json_integer(t->bootloader));
	json_object_set_new(o, "tee", json_integer(t->tee));
	json_object_set_new(o, "snp", json_integer(t->snp));
	json_object_set_new(o, "microcode", json_integer(t->microcode));
	if (p == CVMF_SNP_TURIN)
		json_object_set_new(o, "fmc", json_integer(t->fmc));
	return o;
}

static const char *signer_name(enum cvmf_snp_signer s)
{
	return s == CVMF_SNP_SIGNER_VCEK ? "VCEK" : s == CVMF_SNP_SIGNER_VLEK ? "VLEK" : "none";
}

static const struct { uint64_t bit; const char *name; } snp_policy_bits[] = {
	{ CVMF_SNP_POLICY_SMT, "smt" },
	{ CVMF_SNP_POLICY_MIGRATE_MA, "migrate_ma" },
	{ CVMF_SNP_POLICY_DEBUG, "debug" },
	{ CVMF_SNP_POLICY_SINGLE_SOCKET, "single_socket" },
	{ CVMF_SNP_POLICY_CXL_ALLOW, "cxl_allow" },
	{ CVMF_SNP_POLICY_MEM_AES_256_XTS, "mem_aes_256_xts" },
	{ CVMF_SNP_POLICY_RAPL_DIS, "rapl_dis" },
	{ CVMF_SNP_POLICY_CIPHERTEXT_HIDING, "ciphertext_hiding" },
	{ CVMF_SNP_POLICY_PAGE_SWAP_DISABLE, "page_swap_disable" },
};

static const struct { uint64_t bit; const char *name; } platform_bits[] = {
	{ 1u << 0, "smt_enabled" }, { 1u << 1, "tsme_enabled" }, { 1u << 2, "ecc_enabled" },
	{ 1u << 3, "rapl_disabled" }, { 1u << 4, "ciphertext_hiding_enabled" },
	{ 1u << 5, "alias_check_complete" },
};

static const struct { uint64_t bit; const char *name; } td_attr_bits[] = {
	{ CVMF_TD_ATTR_DEBUG, "debug" }, { CVMF_TD_ATTR_SEPT_VE_DISABLE, "sept_ve_disable" },
	{ CVMF_TD_ATTR_PKS, "pks" }, { CVMF_TD_ATTR_KL, "kl" }, { CVMF_TD_ATTR_PERFMON, "perfmon" },
};

#define BITS_OBJ(o, tbl, v) do { \
	for (size_t i_ = 0; i_ < sizeof(tbl) / sizeof(tbl[0]); i_++) \
		json_object_set_new(o, tbl[i_].name, json_boolean(((v) & tbl[i_].bit) != 0)); \
} while (0)

static json_t *snp_json(const struct cvmf_snp_report *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("sev-snp"));
	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	json_t *pol = json_object();
	json_object_set_new(pol, "raw", cli_hex_str(r->policy));
	json_object_set_new(pol, "abi_major", json_integer((r->policy >> 8) & 0xff));
	json_object_set_new(pol, "abi_minor", json_integer(r->policy & 0xff));
	BITS_OBJ(pol, snp_policy_bits, r->policy);
	json_object_set_new(o, "policy", pol);
	json_object_set_new(o, "family_id", cli_hexj(r->family_id, 16));
	json_object_set_new(o, "image_id", cli_hexj(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "signature_algo", json_integer(r->signature_algo));
	json_t *pi = json_object();
	json_object_set_new(pi, "raw", cli_hex_str(r->platform_info));
	BITS_OBJ(pi, platform_bits, r->platform_info);
	json_object_set_new(o, "platform_info", pi);
	json_t *si = json_object();
	json_object_set_new(si, "raw", cli_hex_str(r->signer_info));
	json_object_set_new(si, "author_key_en", json_boolean(r->author_key_en));
	json_object_set_new(si, "mask_chip_key", json_boolean(r->mask_chip_key));
	json_object_set_new(si, "signing_key", json_string(signer_name(r->signer)));
	json_object_set_new(o, "signer_info", si);
	json_object_set_new(o, "report_data", cli_hexj(r->report_data, 64));
	json_object_set_new(o, "measurement", cli_hexj(r->measurement, 48));
	json_object_set_new(o, "host_data", cli_hexj(r->host_data, 32));
	json_object_set_new(o, "id_key_digest", cli_hexj(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest", cli_hexj(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", cli_hexj(r->report_id, 32));
	json_object_set_new(o, "report_id_ma", cli_hexj(r->report_id_ma, 32));
	json_object_set_new(o, "product", json_string(cvmf_snp_product_name(r->product)));
	json_object_set_new(o, "product_from", json_string(r->product_from_cpuid ? "cpuid" :
		r->product ? "chip_id (a guess)" : "none"));
	json_object_set_new(o, "current_tcb", tcb_obj(&r->current_tcb, r->product));
	json_object_set_new(o, "reported_tcb", tcb_obj(&r->reported_tcb, r->product));
	json_object_set_new(o, "committed_tcb", tcb_obj(&r->committed_tcb, r->product));
	json_object_set_new(o, "launch_tcb", tcb_obj(&r->launch_tcb, r->product));
	if (r->has_cpuid) {
		json_t *c = json_object();
		json_object_set_new(c, "family", json_integer(r->cpuid_fam));
		json_object_set_new(c, "model", json_integer(r->cpuid_mod));
		json_object_set_new(c, "stepping", json_integer(r->cpuid_step));
		json_object_set_new(o, "cpuid", c);
	}
	json_object_set_new(o, "chip_id", cli_hexj(r->chip_id, 64));
	char b[32];
	snprintf(b, sizeof(b), "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
	json_object_set_new(o, "current_version", json_string(b));
	snprintf(b, sizeof(b), "%u.%u.%u", r->committed_major, r->committed_minor,
		 r->committed_build);
	json_object_set_new(o, "committed_version", json_string(b));
	if (r->has_mitigations) {
		json_object_set_new(o, "launch_mit_vector", cli_hex_str(r->launch_mit_vector));
		json_object_set_new(o, "current_mit_vector", cli_hex_str(r->current_mit_vector));
	}
	json_t *sig = json_object();
	json_object_set_new(sig, "r", cli_hexj(r->sig_r, 72));
	json_object_set_new(sig, "s", cli_hexj(r->sig_s, 72));
	json_object_set_new(o, "signature", sig);
	return o;
}

static json_t *tdx_json(const struct cvmf_tdx_quote *q)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("tdx"));
	json_object_set_new(o, "version", json_integer(q->version));
	json_object_set_new(o, "att_key_type", json_integer(q->att_key_type));
	json_object_set_new(o, "tee_type", cli_hex_str(q->tee_type));
	json_object_set_new(o, "qe_svn", json_integer(q->qe_svn));
	json_object_set_new(o, "pce_svn", json_integer(q->pce_svn));
	json_object_set_new(o, "qe_vendor_id", cli_hexj(q->qe_vendor_id, 16));
	json_object_set_new(o, "user_data", cli_hexj(q->user_data, 20));
	json_object_set_new(o, "body", json_string(q->body_type == 3 ? "TD 1.5" : "TD 1.0"));
	json_object_set_new(o, "tee_tcb_svn", cli_hexj(q->tee_tcb_svn, 16));
	json_object_set_new(o, "mrseam", cli_hexj(q->mrseam, 48));
	json_object_set_new(o, "mrsignerseam", cli_hexj(q->mrsignerseam, 48));
	json_object_set_new(o, "seam_attributes", cli_hex_str(q->seam_attributes));
	json_t *ta = json_object();
	json_object_set_new(ta, "raw", cli_hex_str(q->td_attributes));
	BITS_OBJ(ta, td_attr_bits, q->td_attributes);
	json_object_set_new(o, "td_attributes", ta);
	json_object_set_new(o, "xfam", cli_hex_str(q->xfam));
	json_object_set_new(o, "mrtd", cli_hexj(q->mrtd, 48));
	json_object_set_new(o, "mrconfigid", cli_hexj(q->mrconfigid, 48));
	json_object_set_new(o, "mrowner", cli_hexj(q->mrowner, 48));
	json_object_set_new(o, "mrownerconfig", cli_hexj(q->mrownerconfig, 48));
	for (int i = 0; i < 4; i++) {
		char k[8];
		snprintf(k, sizeof(k), "rtmr%d", i);
		json_object_set_new(o, k, cli_hexj(q->rtmr[i], 48));
	}
	json_object_set_new(o, "report_data", cli_hexj(q->report_data, 64));
	if (q->body_type == 3) {
		json_object_set_new(o, "tee_tcb_svn2", cli_hexj(q->tee_tcb_svn2, 16));
		json_object_set_new(o, "mrservicetd", cli_hexj(q->mrservicetd, 48));
	}
	json_object_set_new(o, "signature", cli_hexj(q->signature, 64));
	json_object_set_new(o, "attestation_key", cli_hexj(q->att_key, 64));
	json_t *cd = json_object();
	json_object_set_new(cd, "type", json_integer(q->cert_type));
	json_object_set_new(cd, "size", json_integer(q->cert_size));
	if (q->has_qe) {
		json_t *qe = json_object();
		json_object_set_new(qe, "cpusvn", cli_hexj(q->qe_cpusvn, 16));
		json_object_set_new(qe, "miscselect", cli_hex_str(q->qe_miscselect));
		json_object_set_new(qe, "attributes", cli_hexj(q->qe_attributes, 16));
		json_object_set_new(qe, "mrenclave", cli_hexj(q->qe_mrenclave, 32));
		json_object_set_new(qe, "mrsigner", cli_hexj(q->qe_mrsigner, 32));
		json_object_set_new(qe, "isvprodid", json_integer(q->qe_isvprodid));
		json_object_set_new(qe, "isvsvn", json_integer(q->qe_isvsvn));
		json_object_set_new(qe, "report_data", cli_hexj(q->qe_report_data, 64));
		json_object_set_new(qe, "signature", cli_hexj(q->qe_report_sig, 64));
		json_object_set_new(cd, "qe_report", qe);
		/* QE auth data may be longer than the 64 bytes cli_hexj takes */
		char *h = malloc(2 * (size_t)q->qe_auth_len + 1);
		if (h) {
			cvmf_hex(q->qe_auth_data, q->qe_auth_len, h);
			json_object_set_new(cd, "qe_auth_data", json_string(h));
			free(h);
		}
		json_object_set_new(cd, "pck_cert_type", json_integer(q->pck_cert_type));
		json_object_set_new(cd, "pck_chain_size", json_integer(q->pck_chain_len));
		if (q->pck_cert_type == 5)
			json_object_set_new(cd, "pck_chain_pem",
					    json_stringn((const char *)q->pck_chain, q->pck_chain_len));
	}
	json_object_set_new(o, "certification_data", cd);
	return o;
}

static json_t *att_json(const struct cvmf_attestation *a)
{
	return a->kind == CVMF_ATT_SNP ? snp_json(a->snp) : tdx_json(a->tdx);
}

/* Text: one "name: value" line per leaf of the JSON object, nested names
 * joined with '.', in the order the fields were added. */
static void print_text(const char *prefix, json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		char name[128];
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (json_is_object(v)) {
			print_text(name, v);
		} else if (json_is_string(v)) {
			const char *s = json_string_value(v);
			if (strchr(s, '\n'))
				printf("%s:\n%s", name, s);
			else
				printf("%-32s %s\n", name, s);
		} else if (json_is_boolean(v)) {
			printf("%-32s %s\n", name, json_is_true(v) ? "yes" : "no");
		} else if (json_is_integer(v)) {
			printf("%-32s %lld\n", name, (long long)json_integer_value(v));
		}
	}
}

static void print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* ---- show ---- */

static const char show_usage[] = "FILE [--json]";

static int attest_show(const char *prog, int argc, char **argv)
{
	enum { OPT_HELP = 1, OPT_JSON };
	static const struct opt options[] = {
		{ "help", 'h', false, OPT_HELP },
		{ "json", 0, false, OPT_JSON },
		{ NULL, 0, false, 0 },
	};
	struct opt_parser p = { .prog = prog, .usage = show_usage, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	bool json = false;
	const char *v;
	int id;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Print every field of a raw SEV-SNP attestation report (1184 bytes,\n"
			       "versions 2 to 5) or a TDX quote (v4, v5 with TD 1.0 or TD 1.5 body),\n"
			       "detected from its bytes. Nothing is verified: see `attest verify`.\n\n"
			       "  --json   one JSON object; digests as lowercase hex\n",
			       prog, show_usage);
			return EXIT_OK_;
		case OPT_JSON: json = true; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional != 1)
		return usage_error(prog, show_usage, "the following arguments are required: FILE");
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	struct cvmf_attestation *a = NULL;
	int rc = EXIT_OK_;
	if (cvmf_attestation_read(ctx, p.positional[0], &a)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
	} else {
		json_t *o = att_json(a);
		if (json)
			print_json(o);
		else
			print_text("", o);
		json_decref(o);
	}
	cvmf_attestation_free(a);
	cvmf_ctx_free(ctx);
	return rc;
}

static const struct verb attest_verbs[] = {
	{ "show", attest_show, "show FILE [--json]", "print every field of an SNP report or TDX quote" },
};

static const struct verb_table attest_table = {
	.prog = "cvmforge attest",
	.metavar = "SUBCOMMAND",
	.heading = "Subcommands",
	.about = "Parse and verify hardware attestation: SEV-SNP reports and TDX quotes.\n",
	.verbs = attest_verbs,
	.n = sizeof(attest_verbs) / sizeof(attest_verbs[0]),
	.sub_prog = true,
};

int cmd_attest(const char *prog, int argc, char **argv)
{
	(void)prog;
	return cli_dispatch(&attest_table, argc, argv);
}
