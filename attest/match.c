/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matching a report against published measurements (an image's
 * measurements.json, or the same values signed: a measurement statement
 * checked by sign/, a tlog-proof checked by log/ whose entry is that
 * statement), and explaining a mismatch: the measurement matrix run
 * backwards over the launch parameters (SNP: vCPUs x CPU types x VMMs x
 * guest features; TDX: memory sizes x page orders), naming the parameters
 * that reproduce the reported value.
 */
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "attest/att.h"
#include "common/json.h"
#include "log/tlog.h"
#include "sign/sgn.h"

#define SEARCH_MAX_VCPUS 512

static bool hex_eq(json_t *v, const uint8_t *want, size_t n)
{
	uint8_t b[64];
	const char *s = json_string_value(v);
	return s && strlen(s) == 2 * n && !cvmf_unhex(s, b, n) && !memcmp(b, want, n);
}

static uint64_t hex_u64(json_t *v)
{
	const char *s = json_string_value(v);
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	return s ? strtoull(s, NULL, 0) : 0;
}

static void copy_str(char *dst, size_t n, json_t *v)
{
	const char *s = json_string_value(v);
	snprintf(dst, n, "%s", s ? s : "");
}

/* ---- the published values: opening one --expect ---- */

#define PROOF_MAGIC "c2sp.org/tlog-proof@v1\n"
#define MAX_PUBLISHED (64u << 20)

struct source {
	json_t *doc;                /* a cvmforge-measurements document */
	char dir[4000];             /* the image directory the search may read, or "" */
	struct sgn_statement st;    /* a signed source: its subjects (st.root set) */
};

static void source_clear(struct source *s)
{
	json_decref(s->doc);
	sgn_statement_clear(&s->st);
	memset(s, 0, sizeof(*s));
}

struct mrun {
	cvmf_ctx *ctx;
	const struct cvmf_attest_match_opts *o;
	struct cvmf_attest_match *res;
};

/* Report a check of the expectation itself; a failure stops the matching
 * (the first is the one named). Returns ok. */
static bool mcheck(struct mrun *m, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool mcheck(struct mrun *m, const char *name, bool ok, const char *fmt, ...)
{
	char d[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	if (m->o->check)
		m->o->check(m->o->user, name, ok, d);
	if (!ok && !m->res->failed_check[0]) {
		snprintf(m->res->failed_check, sizeof(m->res->failed_check), "%s", name);
		snprintf(m->res->failed_detail, sizeof(m->res->failed_detail), "%s", d);
	}
	return ok;
}

/* The document must be a cvmforge measurements document. */
static bool is_measurements(json_t *j)
{
	const char *fmt = json_string_value(json_object_get(j, "format"));
	return fmt && !strncmp(fmt, "cvmforge-measurements/", 22);
}

/* A signed measurement statement (DSSE), checked by sign/ under the pubkey. */
static int open_statement(struct mrun *m, const char *what, const uint8_t *env, size_t len,
			  struct source *s)
{
	static const char name[] = "statement_signature";
	uint8_t *payload = NULL, fp[32];
	size_t plen = 0;
	char hex[65];
	if (!m->o->pubkey) {
		mcheck(m, name, false, "%s is a signed measurement statement, and no --pubkey was "
		       "given to check its signature", what);
		return 0;
	}
	int rc = cvmf_dsse_verify(m->ctx, what, m->o->pubkey, CVMF_DSSE_PAYLOAD_TYPE, env, len,
				  &payload, &plen);
	if (!rc)
		rc = sgn_statement_parse(m->ctx, what, payload, plen, &s->st);
	free(payload);
	if (rc) {
		if (rc == CVMF_E_NOMEM)
			return rc;
		mcheck(m, name, false, "%s", cvmf_ctx_errmsg(m->ctx));
		return 0;
	}
	if (strcmp(s->st.predicate_type, CVMF_PREDICATE_MEASUREMENTS)) {
		mcheck(m, name, false, "%s: predicateType is \"%.100s\", expected \"%s\"", what,
		       s->st.predicate_type, CVMF_PREDICATE_MEASUREMENTS);
		return 0;
	}
	if (!is_measurements(s->st.predicate)) {
		mcheck(m, name, false, "%s: the signed predicate is not a cvmforge measurements "
		       "document", what);
		return 0;
	}
	if ((rc = cvmf_key_fingerprint(m->ctx, m->o->pubkey, fp)))
		return rc;
	cvmf_hex(fp, 32, hex);
	s->doc = json_incref(s->st.predicate);
	mcheck(m, name, true, "%s: a measurement statement of %zu files, signed by key %.16s...",
	       what, s->st.n_subjects, hex);
	return 0;
}

/* A tlog-proof, checked offline by log/ under the vkey; its entry is a
 * signed statement. */
static int open_proof(struct mrun *m, const char *path, const uint8_t *buf, size_t len,
		      struct source *s)
{
	static const char name[] = "tlog_proof";
	if (!m->o->vkey) {
		mcheck(m, name, false, "%s is a tlog-proof, and no --vkey was given to check it",
		       path);
		return 0;
	}
	struct cvmf_log_verify_opts lo = { .vkey = m->o->vkey };
	struct cvmf_log_verified v = { 0 };
	uint8_t *env = NULL;
	size_t env_len = 0;
	int rc = 0;
	/* A proof without its entry (no extra line): the envelope beside it,
	 * as publish leaves it, is the entry. */
	if (!memmem(buf, len, "\nextra ", 7) && s->dir[0]) {
		char ep[4200];
		snprintf(ep, sizeof(ep), "%.4000s/%s", s->dir, CVMF_SIGN_MEASUREMENTS_FILE);
		if (!cmn_read_file(m->ctx, "signed statement", ep, CVMF_LOG_MAX_ENTRY, &env,
				    &env_len)) {
			lo.entry = env;
			lo.entry_len = env_len;
		}
	}
	rc = cvmf_log_verify_proof(m->ctx, buf, len, &lo, &v);
	free(env);
	if (rc) {
		if (rc == CVMF_E_NOMEM)
			return rc;
		mcheck(m, name, false, "%s: %s", path, cvmf_ctx_errmsg(m->ctx));
		return 0;
	}
	mcheck(m, name, true, "%s: entry %llu of %s (tree size %llu): the checkpoint is signed "
	       "by the log key and includes the entry", path, (unsigned long long)v.index,
	       v.origin, (unsigned long long)v.size);
	char what[300];
	snprintf(what, sizeof(what), "entry %llu of %.200s", (unsigned long long)v.index,
		 v.origin);
	rc = open_statement(m, what, v.entry, v.entry_len, s);
	cvmf_log_verified_clear(&v);
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* Open one --expect: an image directory, a measurements.json, a signed
 * statement or a tlog-proof. A failed check leaves s->doc NULL (and the
 * failure in m->res); an error is returned only when it cannot be read. */
static int open_source(struct mrun *m, const char *path, struct source *s)
{
	cvmf_ctx *ctx = m->ctx;
	bool keyed = m->o->pubkey || m->o->vkey;
	char file[4200];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = 0;
	struct stat st;
	memset(s, 0, sizeof(*s));
	if (stat(path, &st))
		return cmn_error(ctx, CVMF_E_IO, "--expect '%s': no such file or directory", path);
	if (S_ISDIR(st.st_mode)) {
		/* with keys, the image's signed forms; without, measurements.json */
		snprintf(s->dir, sizeof(s->dir), "%s", path);
		for (size_t n = strlen(s->dir); n > 1 && s->dir[n - 1] == '/'; n--)
			s->dir[n - 1] = 0;   /* "out/hello-1.0/": its proof is out/hello-1.0.tlog-proof */
		snprintf(file, sizeof(file), "%.3980s%s", s->dir, m->o->vkey ? ".tlog-proof" :
			 m->o->pubkey ? "/" CVMF_SIGN_MEASUREMENTS_FILE : "/measurements.json");
	} else {
		snprintf(file, sizeof(file), "%s", path);
		/* the image beside a proof, or around a statement, for the search */
		size_t n = strlen(path);
		char *copy = strdup(path);
		if (!copy)
			return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		if (n > 11 && !strcmp(path + n - 11, ".tlog-proof")) {
			copy[n - 11] = 0;
			if (is_dir(copy))
				snprintf(s->dir, sizeof(s->dir), "%s", copy);
		} else if (!strcmp(basename(copy), CVMF_SIGN_MEASUREMENTS_FILE)) {
			free(copy);
			if (!(copy = strdup(path)))
				return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
			snprintf(s->dir, sizeof(s->dir), "%s", dirname(copy));
		}
		free(copy);
	}
	if ((rc = cmn_read_file(ctx, "--expect", file, MAX_PUBLISHED, &buf, &len)))
		return rc;
	if (len >= sizeof(PROOF_MAGIC) - 1 && !memcmp(buf, PROOF_MAGIC, sizeof(PROOF_MAGIC) - 1)) {
		rc = open_proof(m, file, buf, len, s);
		goto out;
	}
	json_t *j = NULL;
	if (!cmn_json_parse(ctx, file, (const char *)buf, len, &j) && json_is_object(j) &&
	    json_object_get(j, "payloadType")) {
		json_decref(j);
		if (m->o->vkey)   /* a log key: every value must be proven in the log */
			mcheck(m, "tlog_proof", false, "%s is a signed statement without its "
			       "tlog-proof: with --vkey every --expect must be a proof (or an image "
			       "directory with IMAGE.tlog-proof beside it)", file);
		else
			rc = open_statement(m, file, buf, len, s);
		goto out;
	}
	if (!j || !is_measurements(j)) {
		json_decref(j);
		rc = cmn_error(ctx, CVMF_E_UNSUPPORTED, "--expect '%s': neither an image "
				"directory, a cvmforge measurements.json, a signed measurement "
				"statement (DSSE) nor a tlog-proof", path);
		goto out;
	}
	if (keyed) {
		json_decref(j);
		mcheck(m, m->o->vkey ? "tlog_proof" : "statement_signature", false, "%s is an "
		       "unsigned measurements.json: with --pubkey or --vkey every --expect must be "
		       "signed", file);
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		s->dir[0] = 0;   /* a bare measurements.json: no files to search */
	s->doc = j;
out:
	free(buf);
	return rc;
}

/* Before a search reads an image's files: they are there and, for a signed
 * source, have the digests the statement signs. */
static bool search_inputs_ok(cvmf_ctx *ctx, const struct source *s, char *why, size_t n)
{
	static const char *const files[] = { "OVMF.fd", "vmlinuz", "initrd.img", "cmdline.txt",
					     "acpi-tables.bin" };
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%.4000s/OVMF.fd", s->dir);
	if (stat(path, &st)) {
		snprintf(why, n, "%.250s has no OVMF.fd to search with", s->dir);
		return false;
	}
	if (!s->st.root)
		return true;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%.4000s/%s", s->dir, files[i]);
		if (stat(path, &st))
			continue;
		const struct sgn_subject *sub = NULL;
		for (size_t k = 0; k < s->st.n_subjects && !sub; k++)
			if (!strcmp(s->st.subjects[k].name, files[i]))
				sub = &s->st.subjects[k];
		uint8_t d[32];
		if (!sub) {
			snprintf(why, n, "%.250s is not a subject of the signed statement", path);
			return false;
		}
		if (cmn_sha256_file(ctx, "image file", path, d, NULL) || memcmp(d, sub->sha256, 32)) {
			snprintf(why, n, "%.250s does not have the sha256 the statement signs", path);
			return false;
		}
	}
	return true;
}

/* Append v to a ", "-separated list unless it is there already. */
static void list_add(char *dst, size_t cap, const char *v)
{
	if (!v || !*v)
		return;
	for (const char *p = dst; (p = strstr(p, v)); p++) {
		size_t l = strlen(v);
		if ((p == dst || p[-1] == ' ') && (p[l] == ',' || !p[l]))
			return;
	}
	size_t l = strlen(dst);
	if (l + strlen(v) + 3 < cap)
		snprintf(dst + l, cap - l, "%s%s", l ? ", " : "", v);
}

/* "1-4 vCPUs of EPYC-v4, EPYC-Milan; QEMU": what an SNP source lists. */
static void snp_summary(json_t *list, char *out, size_t n)
{
	unsigned lo = 0, hi = 0;
	char cpus[100] = "", vmms[40] = "";
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		unsigned v = (unsigned)json_integer_value(json_object_get(m, "vcpus"));
		lo = !lo || v < lo ? v : lo;
		hi = v > hi ? v : hi;
		list_add(cpus, sizeof(cpus), json_string_value(json_object_get(m, "cpu-type")));
		list_add(vmms, sizeof(vmms), json_string_value(json_object_get(m, "vmm")));
	}
	if (!json_array_size(list))
		snprintf(out, n, "no SEV-SNP values");
	else if (lo == hi)
		snprintf(out, n, "%u vCPU%s%s%s, %s", lo, lo == 1 ? "" : "s", *cpus ? " of " : "",
			 cpus, vmms);
	else
		snprintf(out, n, "%u-%u vCPUs%s%s, %s", lo, hi, *cpus ? " of " : "", cpus, vmms);
}

static void snp_params(json_t *m, struct cvmf_attest_params *p)
{
	memset(p, 0, sizeof(*p));
	p->snp = true;
	copy_str(p->vmm, sizeof(p->vmm), json_object_get(m, "vmm"));
	copy_str(p->cpu_type, sizeof(p->cpu_type), json_object_get(m, "cpu-type"));
	p->vcpus = (unsigned)json_integer_value(json_object_get(m, "vcpus"));
	p->vcpu_sig = (uint32_t)hex_u64(json_object_get(m, "vcpu-sig"));
	p->guest_features = hex_u64(json_object_get(m, "guest-features"));
}

/* ---- the SNP search ---- */

struct snp_search {
	const uint8_t *want;
	const char *const *sig_names;
	size_t tried;
	bool found;
	struct cvmf_attest_params hit;
};

static int snp_cell(void *user, const struct cvmf_sev_launch *l, size_t sig_index,
		    const struct cvmf_digest *d)
{
	struct snp_search *s = user;
	s->tried++;
	if (d->len != 48 || memcmp(d->bytes, s->want, 48))
		return 0;
	s->found = true;
	memset(&s->hit, 0, sizeof(s->hit));
	s->hit.snp = true;
	snprintf(s->hit.vmm, sizeof(s->hit.vmm), "%s", cvmf_vmm_name(l->vmm));
	snprintf(s->hit.cpu_type, sizeof(s->hit.cpu_type), "%s",
		 cvmf_vmm_uses_vcpu_sig(l->vmm) ? s->sig_names[sig_index] : "");
	s->hit.vcpu_sig = cvmf_vmm_uses_vcpu_sig(l->vmm) ? l->vcpu_sig : 0;
	s->hit.vcpus = l->vcpus;
	s->hit.guest_features = l->guest_features;
	return 1;   /* stop */
}

static int read_cmdline(cvmf_ctx *ctx, const char *dir, char **ret)
{
	char path[4200];
	snprintf(path, sizeof(path), "%.4000s/cmdline.txt", dir);
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = cmn_read_file(ctx, "cmdline", path, 65536, &b, &n);
	if (rc)
		return rc;
	char *s = malloc(n + 1);
	if (!s) {
		free(b);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	memcpy(s, b, n);
	s[n] = 0;
	free(b);
	*ret = s;
	return 0;
}

static int snp_search(cvmf_ctx *ctx, const char *dir, json_t *snp, const uint8_t want[48],
		      struct snp_search *s)
{
	json_t *params = json_object_get(snp, "params");
	bool hashes = json_is_true(json_object_get(params, "kernel-hashes"));
	char fw[4200], kernel[4200], initrd[4200];
	char *cmdline = NULL;
	snprintf(fw, sizeof(fw), "%.4000s/OVMF.fd", dir);
	snprintf(kernel, sizeof(kernel), "%.4000s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%.4000s/initrd.img", dir);
	int rc = 0;
	if (hashes && (rc = read_cmdline(ctx, dir, &cmdline)))
		return rc;
	struct cvmf_sev_spec spec = { .mode = CVMF_MODE_SNP, .ovmf_path = fw,
				      .kernel_path = hashes ? kernel : NULL,
				      .initrd_path = hashes ? initrd : NULL,
				      .append = hashes ? cmdline : NULL };
	struct cvmf_sev_inputs *in = NULL;
	unsigned *vcpus = malloc(SEARCH_MAX_VCPUS * sizeof(*vcpus));
	/* the recipe's guest features, then the common ones */
	uint64_t feats[66];
	size_t nf = 0;
	json_t *f;
	size_t i;
	json_array_foreach(json_object_get(params, "guest-features"), i, f) {
		if (nf < 64)
			feats[nf++] = hex_u64(f);
	}
	static const uint64_t common[] = { 0x1, 0x21 };
	for (size_t k = 0; k < 2; k++) {
		bool dup = false;
		for (size_t j = 0; j < nf; j++)
			dup = dup || feats[j] == common[k];
		if (!dup)
			feats[nf++] = common[k];
	}
	/* one CPU type per distinct signature (the first name that has it) */
	const struct cvmf_cpu_type *types;
	size_t nt = cvmf_cpu_types(&types);
	uint32_t sigs[64];
	const char *names[64];
	size_t ns = 0;
	for (size_t k = 0; k < nt && ns < 64; k++) {
		uint32_t sg = cvmf_cpu_sig(types[k].family, types[k].model, types[k].stepping);
		bool dup = false;
		for (size_t j = 0; j < ns; j++)
			dup = dup || sigs[j] == sg;
		if (!dup) {
			sigs[ns] = sg;
			names[ns++] = types[k].name;
		}
	}
	if (!vcpus) {
		rc = cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
		goto out;
	}
	for (unsigned v = 0; v < SEARCH_MAX_VCPUS; v++)
		vcpus[v] = v + 1;
	if ((rc = cvmf_sev_load(ctx, &spec, &in)))
		goto out;
	s->want = want;
	s->sig_names = names;
	static const enum cvmf_vmm qemu[] = { CVMF_VMM_QEMU };
	static const enum cvmf_vmm others[] = { CVMF_VMM_EC2, CVMF_VMM_GCE };
	struct cvmf_sev_matrix m = { .vmms = qemu, .n_vmms = 1, .vcpu_sigs = sigs,
				     .n_vcpu_sigs = ns, .guest_features = feats,
				     .n_guest_features = nf, .vcpus = vcpus,
				     .n_vcpus = SEARCH_MAX_VCPUS };
	rc = cvmf_sev_measure_matrix(ctx, in, &m, snp_cell, s);
	if (rc == 0) {
		/* ec2 and gce do not put the signature in the VMSA: one is enough */
		m.vmms = others;
		m.n_vmms = 2;
		m.n_vcpu_sigs = 1;
		rc = cvmf_sev_measure_matrix(ctx, in, &m, snp_cell, s);
	}
	if (rc == 1)
		rc = 0;
out:
	cvmf_sev_inputs_free(in);
	free(vcpus);
	free(cmdline);
	return rc;
}

/* ---- the TDX search ---- */

static int tdx_search(cvmf_ctx *ctx, const char *dir, json_t *tdx,
		      const struct cvmf_tdx_quote *q, struct cvmf_attest_match *res)
{
	json_t *p = json_object_get(tdx, "params");
	struct cvmf_tdx_spec spec = { 0 };
	char fw[4200], kernel[4200], initrd[4200], tables[4200];
	char *cmdline = NULL;
	int rc = read_cmdline(ctx, dir, &cmdline);
	if (rc)
		return rc;
	const char *layout = json_string_value(json_object_get(p, "ovmf-event-layout"));
	if (!layout || (rc = cvmf_tdx_layout_parse(ctx, layout, &spec.layout))) {
		free(cmdline);
		return rc ? rc : cmn_error(ctx, CVMF_E_FORMAT, "%s/measurements.json: "
					    "tdx.params.ovmf-event-layout is missing", dir);
	}
	snprintf(fw, sizeof(fw), "%.4000s/OVMF.fd", dir);
	snprintf(kernel, sizeof(kernel), "%.4000s/vmlinuz", dir);
	snprintf(initrd, sizeof(initrd), "%.4000s/initrd.img", dir);
	snprintf(tables, sizeof(tables), "%.4000s/acpi-tables.bin", dir);
	spec.ovmf_path = fw;
	spec.kernel_path = kernel;
	spec.initrd_path = initrd;
	spec.append = cmdline;
	spec.kernel_header_patch = json_is_true(json_object_get(p, "kernel-header-patch"));
	spec.stub_cc = json_is_true(json_object_get(p, "stub-cc"));
	spec.acpi_tables_path = json_is_string(json_object_get(p, "acpi-tables")) ? tables : NULL;
	static const uint64_t mib[] = { 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288,
					16384, 24576, 32768, 49152, 65536 };
	static const enum cvmf_tdx_page_order orders[] = { CVMF_TDX_SINGLE_PASS,
							   CVMF_TDX_TWO_PASS };
	/* Without ACPI tables there is no RTMR0, and the memory size shows
	 * nowhere else: search the page orders only, and say the memory is
	 * not determined (0). */
	size_t n_mem = spec.acpi_tables_path ? sizeof(mib) / sizeof(mib[0]) : 1;
	for (size_t o = 0; o < 2 && !rc && !res->explained; o++) {
		spec.page_order = orders[o];
		for (size_t i = 0; i < n_mem && !rc; i++) {
			spec.memory = spec.acpi_tables_path ? mib[i] << 20 : 2048ull << 20;
			struct cvmf_tdx_result *r = NULL;
			if ((rc = cvmf_tdx_measure(ctx, &spec, &r)))
				break;
			res->n_searched++;
			bool ok = !memcmp(r->mrtd, q->mrtd, 48);
			for (int k = 0; k < 4 && ok; k++)
				ok = !r->have_rtmr[k] || !memcmp(r->rtmr[k], q->rtmr[k], 48);
			cvmf_tdx_result_free(r);
			if (ok) {
				res->explained = true;
				res->explanation.memory = spec.acpi_tables_path ? spec.memory : 0;
				snprintf(res->explanation.page_order, sizeof(res->explanation.page_order),
					 "%s", cvmf_tdx_page_order_name(spec.page_order));
				snprintf(res->explain_source, sizeof(res->explain_source), "%.511s", dir);
				break;
			}
		}
	}
	free(cmdline);
	return rc;
}

int cvmf_attest_match_ex(cvmf_ctx *ctx, const struct cvmf_attestation *a,
			 const char *const *expect, size_t n_expect,
			 const struct cvmf_attest_match_opts *opts, struct cvmf_attest_match *ret)
{
	static const struct cvmf_attest_match_opts none = { 0 };
	const struct cvmf_attest_match_opts *o = opts ? opts : &none;
	struct cvmf_attest_match res;
	memset(&res, 0, sizeof(res));
	struct mrun mr = { .ctx = ctx, .o = o, .res = &res };
	int rc = 0;
	struct source *src = NULL;
	if (n_expect > 16)
		return cmn_error(ctx, CVMF_E_INVAL, "at most 16 --expect paths");
	if (o->vkey) {   /* a malformed key is a usage problem, not a failed proof */
		struct tlg_verifier *v = NULL;
		if ((rc = tlg_vkey_parse(ctx, "--vkey", o->vkey, &v)))
			return rc;
		tlg_verifier_free(v);
	}
	if (!(src = calloc(n_expect ? n_expect : 1, sizeof(*src))))
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	/* Every source is opened, and its signatures checked, before any value
	 * is believed: the first failure stops everything. */
	for (size_t e = 0; e < n_expect && !rc && !res.failed_check[0]; e++)
		rc = open_source(&mr, expect[e], &src[e]);
	if (rc || res.failed_check[0])
		goto out;
	for (size_t e = 0; e < n_expect && !res.matched; e++) {
		json_t *m;
		size_t i;
		json_t *doc = src[e].doc;
		if (a->kind == CVMF_ATT_SNP) {
			json_t *list = json_object_get(json_object_get(doc, "snp"), "measurements");
			res.n_published += json_array_size(list);
			json_array_foreach(list, i, m) {
				if (hex_eq(json_object_get(m, "launch-digest"), a->snp->measurement,
					   48)) {
					res.matched = true;
					snp_params(m, &res.params);
					break;
				}
			}
		} else {
			const struct cvmf_tdx_quote *q = a->tdx;
			json_t *list = json_object_get(json_object_get(doc, "tdx"), "measurements");
			res.n_published += json_array_size(list);
			json_array_foreach(list, i, m) {
				bool ok = hex_eq(json_object_get(m, "mrtd"), q->mrtd, 48);
				bool checked[4] = { false };
				for (int k = 0; k < 4 && ok; k++) {
					char key[8] = "rtmr0";
					key[4] = (char)('0' + k);
					json_t *v = json_object_get(m, key);
					if (!v || json_is_null(v))
						continue;   /* not predicted: unchecked */
					checked[k] = true;
					ok = hex_eq(v, q->rtmr[k], 48);
				}
				if (ok) {
					res.matched = true;
					memcpy(res.rtmr_checked, checked, sizeof(checked));
					res.params.memory = (uint64_t)json_integer_value(
						json_object_get(m, "memory"));
					copy_str(res.params.page_order, sizeof(res.params.page_order),
						 json_object_get(m, "page-order"));
					break;
				}
			}
		}
		if (res.matched) {
			snprintf(res.source, sizeof(res.source), "%s", expect[e]);
			res.source_signed = src[e].st.root != NULL;
		}
	}
	if (!res.matched && o->explain) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t e = 0; e < n_expect && !rc && !res.explained; e++) {
			struct source *s = &src[e];
			json_t *plat = json_object_get(s->doc, a->kind == CVMF_ATT_SNP ? "snp" : "tdx");
			if (!s->dir[0] || !plat)
				continue;   /* no files to search, or nothing of this platform */
			char why[320];
			if (!search_inputs_ok(ctx, s, why, sizeof(why))) {
				if (!res.not_searched[0])
					snprintf(res.not_searched, sizeof(res.not_searched), "%s", why);
				continue;
			}
			res.searched = true;
			if (a->kind == CVMF_ATT_SNP) {
				struct snp_search ss = { 0 };
				rc = snp_search(ctx, s->dir, plat, a->snp->measurement, &ss);
				res.n_searched += ss.tried;
				if (!rc && ss.found) {
					res.explained = true;
					res.explanation = ss.hit;
					snprintf(res.explain_source, sizeof(res.explain_source), "%s",
						 s->dir);
					snp_summary(json_object_get(plat, "measurements"), res.published,
						    sizeof(res.published));
				}
			} else {
				rc = tdx_search(ctx, s->dir, plat, a->tdx, &res);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		res.search_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
out:
	for (size_t e = 0; e < n_expect; e++)
		source_clear(&src[e]);
	free(src);
	if (!rc)
		*ret = res;
	return rc;
}

int cvmf_attest_match(cvmf_ctx *ctx, const struct cvmf_attestation *a,
		      const char *const *expect, size_t n_expect, bool explain,
		      struct cvmf_attest_match *ret)
{
	struct cvmf_attest_match_opts o = { .explain = explain };
	return cvmf_attest_match_ex(ctx, a, expect, n_expect, &o, ret);
}
