/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge attest show|verify`: the relying party's side. `show` prints
 * every field of a raw SEV-SNP report or a TDX quote; `verify` runs the
 * library's one verification call (chain, signature, policy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/json.h"

/* ---- the parsed fields, as JSON (show --json, and verify --json) ---- */

static json_t *tcb_obj(const struct cvmf_snp_tcb *t, enum cvmf_snp_product p)
{
	json_t *o = json_object();
	json_object_set_new(o, "raw", cmn_json_hex(t->raw, 8));
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
	json_object_set_new(pol, "raw", cmn_json_hex_u64(r->policy));
	json_object_set_new(pol, "abi_major", json_integer((r->policy >> 8) & 0xff));
	json_object_set_new(pol, "abi_minor", json_integer(r->policy & 0xff));
	BITS_OBJ(pol, snp_policy_bits, r->policy);
	json_object_set_new(o, "policy", pol);
	json_object_set_new(o, "family_id", cmn_json_hex(r->family_id, 16));
	json_object_set_new(o, "image_id", cmn_json_hex(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "signature_algo", json_integer(r->signature_algo));
	json_t *pi = json_object();
	json_object_set_new(pi, "raw", cmn_json_hex_u64(r->platform_info));
	BITS_OBJ(pi, platform_bits, r->platform_info);
	json_object_set_new(o, "platform_info", pi);
	json_t *si = json_object();
	json_object_set_new(si, "raw", cmn_json_hex_u64(r->signer_info));
	json_object_set_new(si, "author_key_en", json_boolean(r->author_key_en));
	json_object_set_new(si, "mask_chip_key", json_boolean(r->mask_chip_key));
	json_object_set_new(si, "signing_key", json_string(signer_name(r->signer)));
	json_object_set_new(o, "signer_info", si);
	json_object_set_new(o, "report_data", cmn_json_hex(r->report_data, 64));
	json_object_set_new(o, "measurement", cmn_json_hex(r->measurement, 48));
	json_object_set_new(o, "host_data", cmn_json_hex(r->host_data, 32));
	json_object_set_new(o, "id_key_digest", cmn_json_hex(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest", cmn_json_hex(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", cmn_json_hex(r->report_id, 32));
	json_object_set_new(o, "report_id_ma", cmn_json_hex(r->report_id_ma, 32));
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
	json_object_set_new(o, "chip_id", cmn_json_hex(r->chip_id, 64));
	char b[32];
	snprintf(b, sizeof(b), "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
	json_object_set_new(o, "current_version", json_string(b));
	snprintf(b, sizeof(b), "%u.%u.%u", r->committed_major, r->committed_minor,
		 r->committed_build);
	json_object_set_new(o, "committed_version", json_string(b));
	if (r->has_mitigations) {
		json_object_set_new(o, "launch_mit_vector", cmn_json_hex_u64(r->launch_mit_vector));
		json_object_set_new(o, "current_mit_vector", cmn_json_hex_u64(r->current_mit_vector));
	}
	json_t *sig = json_object();
	json_object_set_new(sig, "r", cmn_json_hex(r->sig_r, 72));
	json_object_set_new(sig, "s", cmn_json_hex(r->sig_s, 72));
	json_object_set_new(o, "signature", sig);
	return o;
}

static json_t *tdx_json(const struct cvmf_tdx_quote *q)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("tdx"));
	json_object_set_new(o, "version", json_integer(q->version));
	json_object_set_new(o, "att_key_type", json_integer(q->att_key_type));
	json_object_set_new(o, "tee_type", cmn_json_hex_u64(q->tee_type));
	json_object_set_new(o, "qe_svn", json_integer(q->qe_svn));
	json_object_set_new(o, "pce_svn", json_integer(q->pce_svn));
	json_object_set_new(o, "qe_vendor_id", cmn_json_hex(q->qe_vendor_id, 16));
	json_object_set_new(o, "user_data", cmn_json_hex(q->user_data, 20));
	json_object_set_new(o, "body", json_string(q->body_type == 3 ? "TD 1.5" : "TD 1.0"));
	json_object_set_new(o, "tee_tcb_svn", cmn_json_hex(q->tee_tcb_svn, 16));
	json_object_set_new(o, "mrseam", cmn_json_hex(q->mrseam, 48));
	json_object_set_new(o, "mrsignerseam", cmn_json_hex(q->mrsignerseam, 48));
	json_object_set_new(o, "seam_attributes", cmn_json_hex_u64(q->seam_attributes));
	json_t *ta = json_object();
	json_object_set_new(ta, "raw", cmn_json_hex_u64(q->td_attributes));
	BITS_OBJ(ta, td_attr_bits, q->td_attributes);
	json_object_set_new(o, "td_attributes", ta);
	json_object_set_new(o, "xfam", cmn_json_hex_u64(q->xfam));
	json_object_set_new(o, "mrtd", cmn_json_hex(q->mrtd, 48));
	json_object_set_new(o, "mrconfigid", cmn_json_hex(q->mrconfigid, 48));
	json_object_set_new(o, "mrowner", cmn_json_hex(q->mrowner, 48));
	json_object_set_new(o, "mrownerconfig", cmn_json_hex(q->mrownerconfig, 48));
	for (int i = 0; i < 4; i++) {
		char k[16];
		snprintf(k, sizeof(k), "rtmr%d", i);
		json_object_set_new(o, k, cmn_json_hex(q->rtmr[i], 48));
	}
	json_object_set_new(o, "report_data", cmn_json_hex(q->report_data, 64));
	if (q->body_type == 3) {
		json_object_set_new(o, "tee_tcb_svn2", cmn_json_hex(q->tee_tcb_svn2, 16));
		json_object_set_new(o, "mrservicetd", cmn_json_hex(q->mrservicetd, 48));
	}
	json_object_set_new(o, "signature", cmn_json_hex(q->signature, 64));
	json_object_set_new(o, "attestation_key", cmn_json_hex(q->att_key, 64));
	json_t *cd = json_object();
	json_object_set_new(cd, "type", json_integer(q->cert_type));
	json_object_set_new(cd, "size", json_integer(q->cert_size));
	if (q->has_qe) {
		json_t *qe = json_object();
		json_object_set_new(qe, "cpusvn", cmn_json_hex(q->qe_cpusvn, 16));
		json_object_set_new(qe, "miscselect", cmn_json_hex_u64(q->qe_miscselect));
		json_object_set_new(qe, "attributes", cmn_json_hex(q->qe_attributes, 16));
		json_object_set_new(qe, "mrenclave", cmn_json_hex(q->qe_mrenclave, 32));
		json_object_set_new(qe, "mrsigner", cmn_json_hex(q->qe_mrsigner, 32));
		json_object_set_new(qe, "isvprodid", json_integer(q->qe_isvprodid));
		json_object_set_new(qe, "isvsvn", json_integer(q->qe_isvsvn));
		json_object_set_new(qe, "report_data", cmn_json_hex(q->qe_report_data, 64));
		json_object_set_new(qe, "signature", cmn_json_hex(q->qe_report_sig, 64));
		json_object_set_new(cd, "qe_report", qe);
		json_object_set_new(cd, "qe_auth_data", cmn_json_hex(q->qe_auth_data, q->qe_auth_len));
		json_object_set_new(cd, "pck_cert_type", json_integer(q->pck_cert_type));
		json_object_set_new(cd, "pck_chain_size", json_integer(q->pck_chain_len));
		if (q->pck_cert_type == 5) {
			size_t n = q->pck_chain_len;
			while (n && !q->pck_chain[n - 1])   /* the chain is NUL-terminated */
				n--;
			json_object_set_new(cd, "pck_chain_pem",
					    json_stringn((const char *)q->pck_chain, n));
		}
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



static json_t *params_json(const struct cvmf_attest_params *p, bool snp)
{
	json_t *o = json_object();
	if (snp) {
		json_object_set_new(o, "vcpus", json_integer(p->vcpus));
		json_object_set_new(o, "vcpu_type", p->cpu_type[0] ? json_string(p->cpu_type) :
				    json_null());
		json_object_set_new(o, "vmm", json_string(p->vmm));
		json_object_set_new(o, "guest_features", cmn_json_hex_u64(p->guest_features));
	} else {
		json_object_set_new(o, "memory", p->memory ? json_integer((json_int_t)p->memory) :
				    json_null());
		json_object_set_new(o, "page_order", json_string(p->page_order));
	}
	return o;
}

static void params_text(const struct cvmf_attest_params *p, bool snp, char *out, size_t n)
{
	if (snp)
		snprintf(out, n, "%u vCPU%s%s%s, %s, guest features 0x%llx", p->vcpus,
			 p->vcpus == 1 ? "" : "s", p->cpu_type[0] ? " of " : "", p->cpu_type,
			 p->vmm, (unsigned long long)p->guest_features);
	else if (p->memory)
		snprintf(out, n, "memory %lluM, %s", (unsigned long long)(p->memory >> 20),
			 p->page_order);
	else
		snprintf(out, n, "%s (memory not determined: RTMR0 is not predicted)",
			 p->page_order);
}

/* The match lines: first when it failed, since the first line names the failure. */
static void print_match(const struct cvmf_attestation *a, const struct cvmf_attest_match *m,
			size_t n_expect)
{
	bool snp = a->kind == CVMF_ATT_SNP;
	char pt[160], hex[97];
	cvmf_hex(snp ? a->snp->measurement : a->tdx->mrtd, 48, hex);
	if (m->failed_check[0]) {
		printf("FAILED %s: %s\n", m->failed_check, m->failed_detail);
		return;
	}
	if (m->matched) {
		params_text(&m->params, snp, pt, sizeof(pt));
		printf("matched: %s%s: %s\n", m->source, m->source_signed ? "" : " (unsigned)", pt);
		if (!snp)
			for (int k = 0; k < 4; k++)
				printf("  rtmr%d %s\n", k, m->rtmr_checked[k] ? "matched" :
				       "unchecked (not predicted)");
		return;
	}
	printf("FAILED match: the %s %s is none of the %zu value%s published in %zu "
	       "--expect\n", snp ? "measurement" : "MRTD/RTMRs with MRTD", hex, m->n_published,
	       m->n_published == 1 ? "" : "s", n_expect);
	if (m->explained) {
		params_text(&m->explanation, snp, pt, sizeof(pt));
		printf("  explanation: this report is the image %s with %s%s%s (searched %zu "
		       "combinations in %.0f ms)\n", m->explain_source, pt,
		       m->published[0] ? "; the published values are " : "", m->published,
		       m->n_searched, m->search_ms);
	} else if (m->searched) {
		printf("  explanation: none of %zu launch parameter combinations of the image "
		       "reproduces it, so the firmware, kernel, initrd or cmdline differ\n",
		       m->n_searched);
	} else if (m->not_searched[0]) {
		printf("  explanation: not searched: %s\n", m->not_searched);
	}
}

/* ---- verify ---- */

static const char verify_usage[] =
	"FILE [--certs FILE]... [--trust-root FILE]... [--at-time RFC3339] [--crl FILE]... "
	"[--collateral DIR] [--policy FILE] [--expect PATH]... [--pubkey PUB] [--vkey VKEY] "
	"[--json]";

#define MAX_INPUTS 16

struct file_list {
	struct cvmf_blob b[MAX_INPUTS];
	size_t n;
};

static void file_list_free(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((void *)l->b[i].data);
	l->n = 0;
}

/* Read a whole file (at most max bytes) for the library. */
static int read_all(const char *path, size_t max, void **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail("cannot open '%s': %s", path, strerror(errno));
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int rc = EXIT_OK_;
	while (buf) {
		if (len == cap) {
			if (cap >= max) {
				rc = fail("'%s' is larger than %zu bytes", path, max);
				break;
			}
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				break;
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f))
				rc = fail("cannot read '%s': %s", path, strerror(errno));
			break;
		}
	}
	fclose(f);
	if (!buf)
		return fail("out of memory reading '%s'", path);
	if (rc) {
		free(buf);
		return rc;
	}
	*ret = buf;
	*ret_len = len;
	return EXIT_OK_;
}

static int file_list_add(const char *prog, struct file_list *l, const char *opt, const char *path)
{
	if (l->n == MAX_INPUTS)
		return usage_error(prog, verify_usage, "argument --%s: at most %d files", opt,
				   MAX_INPUTS);
	void *d;
	size_t n;
	int rc = read_all(path, 1u << 22, &d, &n);
	if (rc)
		return rc;
	l->b[l->n++] = (struct cvmf_blob){ d, n, path };
	return EXIT_OK_;
}

/* RFC 3339: 2025-06-01T12:00:00Z, fractional seconds and +hh:mm allowed. */
static bool parse_rfc3339(const char *s, time_t *ret)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		e = strptime(s, "%Y-%m-%dt%H:%M:%S", &tm);
	if (!e)
		return false;
	if (*e == '.') {
		e++;
		if (*e < '0' || *e > '9')
			return false;
		while (*e >= '0' && *e <= '9')
			e++;
	}
	long off = 0;
	if (!strcmp(e, "Z") || !strcmp(e, "z")) {
		off = 0;
	} else if ((*e == '+' || *e == '-') && strlen(e) == 6 && e[3] == ':' &&
		   e[1] >= '0' && e[1] <= '2' && e[2] >= '0' && e[2] <= '9' &&
		   e[4] >= '0' && e[4] <= '5' && e[5] >= '0' && e[5] <= '9') {
		off = ((e[1] - '0') * 10 + (e[2] - '0')) * 3600 + ((e[4] - '0') * 10 + (e[5] - '0')) * 60;
		if (*e == '-')
			off = -off;
	} else {
		return false;
	}
	*ret = timegm(&tm) - off;
	return true;
}

struct verify_out {
	bool json;
	json_t *checks;
};

static void verify_check(void *user, const char *what, bool ok, const char *detail)
{
	struct verify_out *v = user;
	json_t *o = json_object();
	json_object_set_new(o, "check", json_string(what));
	json_object_set_new(o, "ok", json_boolean(ok));
	json_object_set_new(o, "detail", json_string(detail));
	json_array_append_new(v->checks, o);
}

static int attest_verify(const char *prog, int argc, char **argv)
{
	enum { OPT_HELP = 1, OPT_JSON, OPT_CERTS, OPT_ROOT, OPT_TIME, OPT_CRL, OPT_COLL,
	       OPT_POLICY, OPT_EXPECT, OPT_PUBKEY, OPT_VKEY };
	static const struct opt options[] = {
		{ "help", 'h', false, OPT_HELP },
		{ "json", 0, false, OPT_JSON },
		{ "certs", 0, true, OPT_CERTS },
		{ "trust-root", 0, true, OPT_ROOT },
		{ "at-time", 0, true, OPT_TIME },
		{ "crl", 0, true, OPT_CRL },
		{ "collateral", 0, true, OPT_COLL },
		{ "policy", 0, true, OPT_POLICY },
		{ "expect", 0, true, OPT_EXPECT },
		{ "pubkey", 0, true, OPT_PUBKEY },
		{ "vkey", 0, true, OPT_VKEY },
		{ NULL, 0, false, 0 },
	};
	struct opt_parser p = { .prog = prog, .usage = verify_usage, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 1 };
	struct file_list certs = { 0 }, roots = { 0 }, crls = { 0 };
	struct cvmf_attest_opts o = { 0 };
	struct cvmf_attest_policy pol = { 0 };
	bool have_policy = false;
	struct verify_out vo = { 0 };
	const char *policy_path = NULL, *pubkey_path = NULL, *vkey_arg = NULL;
	cvmf_key *pub = NULL;
	char *vkey = NULL;
	const char *expect[MAX_INPUTS];
	size_t n_expect = 0;
	cvmf_ctx *ctx = NULL;
	struct cvmf_attestation *a = NULL;
	const char *v;
	int id, rc = EXIT_OK_;
	while (!rc && (id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			printf("usage: %s %s\n\n"
			       "Verify an SEV-SNP attestation report or a TDX quote: the hardware\n"
			       "certificate chain to AMD's pinned ARK (Milan, Genoa, Turin) or the\n"
			       "pinned Intel SGX Root CA, the report's signature, the VCEK's TCB and\n"
			       "hwID against the report, the QE report and binding (TDX), then the\n"
			       "policy. Checks stop at the first failure; the first line names it.\n\n"
			       "  --certs FILE       VCEK/VLEK, ASK/ASVK, ARK: PEM or DER, any order\n"
			       "                     (repeatable)\n"
			       "  --trust-root FILE  trust these roots instead of the pinned ones\n"
			       "  --at-time T        check certificates, CRLs and collateral at T\n"
			       "                     (RFC 3339, e.g. 2025-06-01T00:00:00Z); default now\n"
			       "  --crl FILE         a CRL (PEM or DER), applied to the certificates\n"
			       "                     its issuer signed (repeatable)\n"
			       "  --collateral DIR   TDX: tcb_info.json, qe_identity.json and\n"
			       "                     tcb_signing_chain.pem, as Intel PCS serves them\n"
			       "  --policy FILE      JSON: allow_debug, min_tcb, report_data,\n"
			       "                     host_data, vmpl, min_guest_svn, chip_ids,\n"
			       "                     allowed_tcb_status (docs/attest.md)\n"
			       "  --expect PATH      published values that must contain the report's:\n"
			       "                     an image directory, its measurements.json, its\n"
			       "                     signed statement (measurements.dsse.json) or\n"
			       "                     its tlog-proof (IMAGE.tlog-proof); if none\n"
			       "                     matches, the image's launch parameters are\n"
			       "                     searched for the reported value (repeatable)\n"
			       "  --pubkey PUB       check signed statements under this release key;\n"
			       "                     with it, an image directory means its\n"
			       "                     measurements.dsse.json, and every --expect must\n"
			       "                     be signed\n"
			       "  --vkey VKEY        check tlog-proofs offline under the log's verifier\n"
			       "                     key (or a file holding it); with it, an image\n"
			       "                     directory means IMAGE.tlog-proof beside it\n"
			       "  --json             one JSON object with every check and the fields\n\n"
			       "Exit codes: 0 verified (and matched), 3 does not verify, fails the\n"
			       "policy, matches nothing, or a statement or proof does not verify, 1 the\n"
			       "report or material cannot be read, 2 usage error.\n",
			       prog, verify_usage);
			goto out;
		case OPT_JSON: vo.json = true; break;
		case OPT_CERTS: rc = file_list_add(prog, &certs, "certs", v); break;
		case OPT_ROOT: rc = file_list_add(prog, &roots, "trust-root", v); break;
		case OPT_CRL: rc = file_list_add(prog, &crls, "crl", v); break;
		case OPT_TIME:
			if (!parse_rfc3339(v, &o.at_time)) {
				rc = usage_error(prog, verify_usage, "argument --at-time: not an RFC "
						 "3339 time (2025-06-01T00:00:00Z): '%s'", v);
				break;
			}
			o.has_time = true;
			break;
		case OPT_COLL: o.collateral_dir = v; break;
		case OPT_POLICY: policy_path = v; break;
		case OPT_EXPECT:
			if (n_expect == MAX_INPUTS) {
				rc = usage_error(prog, verify_usage, "argument --expect: at most %d",
						 MAX_INPUTS);
				break;
			}
			expect[n_expect++] = v;
			break;
		case OPT_PUBKEY: pubkey_path = v; break;
		case OPT_VKEY: vkey_arg = v; break;
		}
	}
	if (rc)
		goto out;
	if (id < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (p.n_positional != 1) {
		rc = usage_error(prog, verify_usage, "the following arguments are required: FILE");
		goto out;
	}
	if ((pubkey_path || vkey_arg) && !n_expect) {
		rc = usage_error(prog, verify_usage, "--pubkey and --vkey check what --expect names: "
				 "give --expect");
		goto out;
	}
	if (!(ctx = cvmf_ctx_new()) || !(vo.checks = json_array())) {
		rc = fail("out of memory");
		goto out;
	}
	if (policy_path) {
		void *d;
		size_t n;
		if ((rc = read_all(policy_path, 1u << 20, &d, &n)))
			goto out;
		int e = cvmf_attest_policy_parse(ctx, policy_path, d, n, &pol);
		free(d);
		if (e) {
			rc = fail("%s", cvmf_ctx_errmsg(ctx));
			goto out;
		}
		have_policy = true;
		o.policy = &pol;
	}
	if (pubkey_path && cvmf_key_load_public(ctx, pubkey_path, &pub)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	if (vkey_arg && !(vkey = cli_vkey_arg(vkey_arg))) {
		rc = EXIT_FAILURE_;
		goto out;
	}
	if (cvmf_attestation_read(ctx, p.positional[0], &a)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	o.certs = certs.b;
	o.n_certs = certs.n;
	o.trust_roots = roots.b;
	o.n_trust_roots = roots.n;
	o.crls = crls.b;
	o.n_crls = crls.n;
	struct cvmf_attest_result res;
	if (cvmf_attest_verify(ctx, a, &o, verify_check, &vo, &res)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	struct cvmf_attest_match m = { 0 };
	struct cvmf_attest_match_opts mopts = { .pubkey = pub, .vkey = vkey, .explain = true,
					     .check = verify_check, .user = &vo };
	if (res.verified && n_expect &&
	    cvmf_attest_match_ex(ctx, a, expect, n_expect, &mopts, &m)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	rc = res.verified && (!n_expect || m.matched) ? EXIT_OK_ : EXIT_MISMATCH;
	/* the first failure: the report's, the expectation's own, or the match */
	const char *fcheck = !res.verified ? res.failed_check : m.failed_check[0] ?
			     m.failed_check : n_expect && !m.matched ? "match" : NULL;
	char mdetail[300];
	if (fcheck && !strcmp(fcheck, "match")) {
		char hex[97];
		cvmf_hex(a->kind == CVMF_ATT_SNP ? a->snp->measurement : a->tdx->mrtd, 48, hex);
		snprintf(mdetail, sizeof(mdetail), "the %s %s is none of the %zu values published "
			 "in %zu --expect", a->kind == CVMF_ATT_SNP ? "measurement" : "MRTD", hex,
			 m.n_published, n_expect);
	}
	const char *fdetail = !fcheck ? NULL : !res.verified ? res.failed_detail :
			      m.failed_check[0] ? m.failed_detail : mdetail;
	const char *kind = a->kind == CVMF_ATT_SNP ? "SEV-SNP report" : "TDX quote";
	if (vo.json) {
		json_t *j = json_object();
		json_object_set_new(j, "verified", json_boolean(res.verified));
		json_object_set_new(j, "matched", json_boolean(m.matched));
		if (m.matched) {
			json_t *mo = params_json(&m.params, a->kind == CVMF_ATT_SNP);
			json_object_set_new(mo, "source", json_string(m.source));
			json_object_set_new(mo, "signed", json_boolean(m.source_signed));
			if (a->kind == CVMF_ATT_TDX) {
				json_t *rt = json_object();
				for (int k = 0; k < 4; k++) {
					char key[8] = "rtmr0";
					key[4] = (char)('0' + k);
					json_object_set_new(rt, key, json_string(m.rtmr_checked[k] ?
							    "matched" : "unchecked"));
				}
				json_object_set_new(mo, "rtmrs", rt);
			}
			json_object_set_new(j, "match", mo);
		}
		if (m.explained) {
			json_t *eo = params_json(&m.explanation, a->kind == CVMF_ATT_SNP);
			json_object_set_new(eo, "source", json_string(m.explain_source));
			if (m.published[0])
				json_object_set_new(eo, "published", json_string(m.published));
			json_object_set_new(j, "explanation", eo);
		}
		if (m.searched) {
			json_t *so = json_object();
			json_object_set_new(so, "combinations", json_integer((json_int_t)m.n_searched));
			json_object_set_new(so, "ms", json_real(m.search_ms));
			json_object_set_new(so, "explained", json_boolean(m.explained));
			json_object_set_new(j, "search", so);
		} else if (m.not_searched[0]) {
			json_t *so = json_object();
			json_object_set_new(so, "not_searched", json_string(m.not_searched));
			json_object_set_new(j, "search", so);
		}
		json_object_set_new(j, "failed_check", fcheck ? json_string(fcheck) : json_null());
		json_object_set_new(j, "failed_detail", fcheck ? json_string(fdetail) : json_null());
		json_object_set_new(j, "file", json_string(p.positional[0]));
		if (a->kind == CVMF_ATT_SNP)
			json_object_set_new(j, "product", json_string(cvmf_snp_product_name(res.product)));
		else
			json_object_set_new(j, "tcb_status", json_string(res.tcb_status));
		json_object_set(j, "checks", vo.checks);
		json_object_set_new(j, "report", att_json(a));
		print_json(j);
		json_decref(j);
	} else {
		if (res.verified && n_expect)
			print_match(a, &m, n_expect);
		size_t n_ok = 0, i;
		json_t *c;
		json_array_foreach(vo.checks, i, c)
			n_ok += json_is_true(json_object_get(c, "ok"));
		if (res.verified)
			printf("verified: %s: %s%s%s, %zu checks passed\n", p.positional[0], kind,
			       a->kind == CVMF_ATT_SNP ? ", " : "",
			       a->kind == CVMF_ATT_SNP ? cvmf_snp_product_name(res.product) : "",
			       n_ok);
		else
			printf("FAILED %s: %s\n", res.failed_check, res.failed_detail);
		json_array_foreach(vo.checks, i, c) {
			bool ok = json_is_true(json_object_get(c, "ok"));
			const char *d = json_string_value(json_object_get(c, "detail"));
			printf("  %-6s %-20s %s\n", ok ? "ok" : "FAILED",
			       json_string_value(json_object_get(c, "check")), d ? d : "");
		}
	}
out:
	if (have_policy)
		cvmf_attest_policy_clear(&pol);
	cvmf_attestation_free(a);
	cvmf_key_free(pub);
	free(vkey);
	json_decref(vo.checks);
	file_list_free(&certs);
	file_list_free(&roots);
	file_list_free(&crls);
	cvmf_ctx_free(ctx);
	return rc;
}

static const struct verb attest_verbs[] = {
	{ "show", attest_show, "show FILE [--json]", "print every field of an SNP report or TDX quote" },
	{ "verify", attest_verify, "verify FILE [--certs FILE]... [OPTIONS]",
	  "verify the chain, signature and policy of an SNP report or TDX quote" },
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
