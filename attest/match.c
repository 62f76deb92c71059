/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matching a report against published measurements (an image's
 * measurements.json), and explaining a mismatch: the measurement matrix run
 * backwards over the launch parameters (SNP: vCPUs x CPU types x VMMs x
 * guest features; TDX: memory sizes x page orders), naming the parameters
 * that reproduce the reported value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "attest/att.h"
#include "common/json.h"

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

/* The measurements.json of an expect path, and its image directory (or ""). */
static int load_published(cvmf_ctx *ctx, const char *path, json_t **ret, char *dir, size_t n)
{
	struct stat st;
	char file[4200];
	dir[0] = 0;
	if (stat(path, &st))
		return cmn_error(ctx, CVMF_E_IO, "--expect '%s': no such file or directory", path);
	if (S_ISDIR(st.st_mode)) {
		snprintf(file, sizeof(file), "%s/measurements.json", path);
		snprintf(dir, n, "%s", path);
	} else {
		snprintf(file, sizeof(file), "%s", path);
	}
	json_t *j = NULL;
	int rc = cmn_json_read_file(ctx, "measurements", file, 64u << 20, &j);
	if (rc) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s", cvmf_ctx_errmsg(ctx));
		if (!S_ISDIR(st.st_mode) && strstr(msg, "':1:1:"))
			return cmn_error(ctx, CVMF_E_UNSUPPORTED, "--expect '%s': not a "
					  "measurements.json; signed statements (--pubkey) and tlog "
					  "proofs (--vkey) are not matched by this build yet", path);
		return rc;
	}
	const char *fmt = json_string_value(json_object_get(j, "format"));
	if (!fmt || strncmp(fmt, "cvmforge-measurements/", 22)) {
		json_decref(j);
		return cmn_error(ctx, CVMF_E_UNSUPPORTED, "--expect '%s': not a cvmforge "
				  "measurements.json (format \"%s\"); signed statements and tlog "
				  "proofs are not matched by this build yet", file, fmt ? fmt : "");
	}
	*ret = j;
	return 0;
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

int cvmf_attest_match(cvmf_ctx *ctx, const struct cvmf_attestation *a,
		      const char *const *expect, size_t n_expect, bool explain,
		      struct cvmf_attest_match *ret)
{
	struct cvmf_attest_match res;
	memset(&res, 0, sizeof(res));
	int rc = 0;
	json_t *docs[16] = { 0 };
	char dirs[16][4000];
	if (n_expect > 16)
		return cmn_error(ctx, CVMF_E_INVAL, "at most 16 --expect paths");
	for (size_t e = 0; e < n_expect && !rc; e++)
		rc = load_published(ctx, expect[e], &docs[e], dirs[e], sizeof(dirs[e]));
	for (size_t e = 0; e < n_expect && !rc && !res.matched; e++) {
		json_t *m;
		size_t i;
		if (a->kind == CVMF_ATT_SNP) {
			json_t *list = json_object_get(json_object_get(docs[e], "snp"),
						       "measurements");
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
			json_t *list = json_object_get(json_object_get(docs[e], "tdx"),
						       "measurements");
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
		if (res.matched)
			snprintf(res.source, sizeof(res.source), "%s", expect[e]);
	}
	if (!rc && !res.matched && explain) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t e = 0; e < n_expect && !rc && !res.explained; e++) {
			if (!dirs[e][0])
				continue;   /* a bare measurements.json: no files to search */
			if (a->kind == CVMF_ATT_SNP) {
				json_t *snp = json_object_get(docs[e], "snp");
				if (!snp)
					continue;
				res.searched = true;
				struct snp_search s = { 0 };
				rc = snp_search(ctx, dirs[e], snp, a->snp->measurement, &s);
				res.n_searched += s.tried;
				if (!rc && s.found) {
					res.explained = true;
					res.explanation = s.hit;
					snprintf(res.explain_source, sizeof(res.explain_source), "%s",
						 expect[e]);
				}
			} else {
				json_t *tdx = json_object_get(docs[e], "tdx");
				if (!tdx)
					continue;
				res.searched = true;
				rc = tdx_search(ctx, dirs[e], tdx, a->tdx, &res);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		res.search_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	for (size_t e = 0; e < n_expect; e++)
		json_decref(docs[e]);
	if (!rc)
		*ret = res;
	return rc;
}
