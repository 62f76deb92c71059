/* SPDX-License-Identifier: Apache-2.0 */
/*
 * measurements.json: every launch value of an image, each with the
 * parameters that produced it, computed from the image's files alone.
 * build writes it; verify recomputes it from the same function.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/image.h"

/* ---- strict readers of the params objects (measurements.json is input to verify) ---- */

static int want(cvmf_ctx *ctx, json_t *o, const char *plat, const char *key, json_type t,
		json_t **ret)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_typeof(v) != t)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.params.%s is missing or not a%s %s",
				  IMG_MEASUREMENTS, plat, key, t == JSON_ARRAY ? "n" : "",
				  t == JSON_ARRAY ? "array" : t == JSON_STRING ? "string" :
				  t == JSON_OBJECT ? "object" : "value of the right type");
	*ret = v;
	return 0;
}

static int want_bool(cvmf_ctx *ctx, json_t *o, const char *plat, const char *key, bool *ret)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_boolean(v))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.params.%s is missing or not a boolean",
				  IMG_MEASUREMENTS, plat, key);
	*ret = json_is_true(v);
	return 0;
}

static int want_u64(cvmf_ctx *ctx, json_t *v, const char *what, uint64_t max, uint64_t *ret)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max) {
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		unsigned long long x = strtoull(s, &end, 0);
		if (*s && *s != '-' && !*end && !errno && x <= max) {
			*ret = x;
			return 0;
		}
	}
	return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s is not a number in 0..%" PRIu64,
			  IMG_MEASUREMENTS, what, max);
}

static int read_cmdline(cvmf_ctx *ctx, const char *dir, char **ret)
{
	char path[4200];
	img_pathf(path, sizeof(path), "%s/%s", dir, IMG_CMDLINE);
	uint8_t *buf;
	size_t len;
	int rc = cmn_read_file(ctx, "cmdline", path, 65536, &buf, &len);
	if (rc)
		return rc;
	if (memchr(buf, 0, len)) {
		free(buf);
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: contains a NUL byte", path);
	}
	char *s = malloc(len + 1);
	if (!s) {
		free(buf);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	memcpy(s, buf, len);
	s[len] = 0;
	free(buf);
	*ret = s;
	return 0;
}

/* ---- SEV-SNP ---- */

struct snp_walk {
	json_t *list;
	const char *const *cpu_names;
	size_t n_cpus;
};

static int snp_cell(void *user, const struct cvmf_sev_launch *l, size_t sig_index,
		    const struct cvmf_digest *d)
{
	struct snp_walk *w = user;
	json_t *m = json_object();
	json_object_set_new(m, "vmm", json_string(cvmf_vmm_name(l->vmm)));
	json_object_set_new(m, "vcpus", json_integer(l->vcpus));
	json_object_set_new(m, "cpu-type", json_string(w->cpu_names[sig_index]));
	char sig[16];
	snprintf(sig, sizeof(sig), "0x%08" PRIx32, l->vcpu_sig);
	json_object_set_new(m, "vcpu-sig", json_string(sig));
	json_object_set_new(m, "guest-features", cmn_json_hex_u64(l->guest_features));
	json_object_set_new(m, "launch-digest", cmn_json_hex(d->bytes, d->len));
	return json_array_append_new(w->list, m) ? CVMF_E_NOMEM : 0;
}

static int measure_snp(cvmf_ctx *ctx, const char *dir, json_t *p, const char *cmdline,
		       json_t *out)
{
	json_t *a_vmm = NULL, *a_vcpus = NULL, *a_cpu = NULL, *a_feat = NULL;
	bool hashes = false;
	int rc;
	if ((rc = want_bool(ctx, p, "snp", "kernel-hashes", &hashes)) ||
	    (rc = want(ctx, p, "snp", "vmm-types", JSON_ARRAY, &a_vmm)) ||
	    (rc = want(ctx, p, "snp", "vcpus", JSON_ARRAY, &a_vcpus)) ||
	    (rc = want(ctx, p, "snp", "cpu-types", JSON_ARRAY, &a_cpu)) ||
	    (rc = want(ctx, p, "snp", "guest-features", JSON_ARRAY, &a_feat)))
		return rc;
	size_t nv = json_array_size(a_vmm), nc = json_array_size(a_vcpus),
	       nt = json_array_size(a_cpu), nf = json_array_size(a_feat);
	if (!nv || !nc || !nt || !nf || nv > 8 || nc > 4096 || nt > 64 || nf > 64)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: snp.params lists must be non-empty (and at most 8 VMMs, "
				  "4096 vCPU counts, 64 CPU types, 64 feature sets)", IMG_MEASUREMENTS);
	enum cvmf_vmm vmms[8];
	unsigned *vcpus = calloc(nc, sizeof(*vcpus));
	uint32_t sigs[64];
	uint64_t feats[64];
	const char *names[64];
	if (!vcpus)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	for (size_t i = 0; i < nv && !rc; i++) {
		const char *s = json_string_value(json_array_get(a_vmm, i));
		if (!s || cvmf_vmm_parse(s, &vmms[i]))
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: snp.params.vmm-types[%zu] is not "
					"QEMU, ec2 or gce", IMG_MEASUREMENTS, i);
	}
	for (size_t i = 0; i < nc && !rc; i++) {
		uint64_t v;
		char what[64];
		snprintf(what, sizeof(what), "snp.params.vcpus[%zu]", i);
		rc = want_u64(ctx, json_array_get(a_vcpus, i), what, 4096, &v);
		if (!rc && !v)
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: %s is 0", IMG_MEASUREMENTS, what);
		vcpus[i] = (unsigned)v;
	}
	for (size_t i = 0; i < nt && !rc; i++) {
		const char *s = json_string_value(json_array_get(a_cpu, i));
		const struct cvmf_cpu_type *t = s ? cvmf_cpu_type_find(s) : NULL;
		if (!t)
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: snp.params.cpu-types[%zu] is not a "
					"known QEMU CPU model", IMG_MEASUREMENTS, i);
		else {
			sigs[i] = cvmf_cpu_sig(t->family, t->model, t->stepping);
			names[i] = t->name;
		}
	}
	for (size_t i = 0; i < nf && !rc; i++) {
		char what[64];
		snprintf(what, sizeof(what), "snp.params.guest-features[%zu]", i);
		rc = want_u64(ctx, json_array_get(a_feat, i), what, UINT64_MAX, &feats[i]);
	}
	if (rc) {
		free(vcpus);
		return rc;
	}

	char fw[4200], kernel[4200], initrd[4200];
	img_pathf(fw, sizeof(fw), "%s/%s", dir, IMG_FIRMWARE);
	img_pathf(kernel, sizeof(kernel), "%s/%s", dir, IMG_KERNEL);
	img_pathf(initrd, sizeof(initrd), "%s/%s", dir, IMG_INITRD);
	struct cvmf_sev_spec spec = {
		.mode = CVMF_MODE_SNP,
		.ovmf_path = fw,
		.kernel_path = hashes ? kernel : NULL,
		.initrd_path = hashes ? initrd : NULL,
		.append = hashes ? cmdline : NULL,
	};
	struct cvmf_sev_inputs *in = NULL;
	json_t *list = json_array();
	if ((rc = cvmf_sev_load(ctx, &spec, &in)))
		goto out;
	struct cvmf_sev_matrix m = {
		.vmms = vmms, .n_vmms = nv, .vcpu_sigs = sigs, .n_vcpu_sigs = nt,
		.guest_features = feats, .n_guest_features = nf, .vcpus = vcpus, .n_vcpus = nc,
	};
	struct snp_walk w = { .list = list, .cpu_names = names, .n_cpus = nt };
	if ((rc = cvmf_sev_measure_matrix(ctx, in, &m, snp_cell, &w)))
		goto out;
	json_t *o = json_object();
	json_object_set(o, "params", p);
	json_object_set_new(o, "algorithm", json_string(CVMF_SNP_ALGORITHM));
	json_object_set_new(o, "mode", json_string("snp"));
	json_object_set(o, "measurements", list);
	json_t *warn = json_array();
	if (!hashes)
		json_array_append_new(warn, json_string(
			"kernel-hashes = no: the SNP launch digest covers the firmware and the "
			"vCPU state only, not the kernel, initrd or cmdline"));
	json_object_set_new(o, "warnings", warn);
	json_object_set_new(out, "snp", o);
out:
	json_decref(list);
	cvmf_sev_inputs_free(in);
	free(vcpus);
	return rc;
}

/* ---- TDX ---- */

static int measure_tdx(cvmf_ctx *ctx, const char *dir, json_t *p, const char *cmdline,
		       json_t *out)
{
	json_t *a_mem = NULL, *a_order = NULL, *j_layout = NULL;
	json_t *j_acpi = json_object_get(p, "acpi-tables");
	bool patch = false, stub_cc = false;
	int rc;
	if ((rc = want(ctx, p, "tdx", "memory", JSON_ARRAY, &a_mem)) ||
	    (rc = want(ctx, p, "tdx", "page-orders", JSON_ARRAY, &a_order)) ||
	    (rc = want(ctx, p, "tdx", "ovmf-event-layout", JSON_STRING, &j_layout)) ||
	    (rc = want_bool(ctx, p, "tdx", "kernel-header-patch", &patch)) ||
	    (rc = want_bool(ctx, p, "tdx", "stub-cc", &stub_cc)))
		return rc;
	if (j_acpi && !json_is_null(j_acpi) &&
	    !(json_is_string(j_acpi) && !strcmp(json_string_value(j_acpi), IMG_ACPI)))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: tdx.params.acpi-tables must be null or "
				  "\"%s\"", IMG_MEASUREMENTS, IMG_ACPI);
	bool acpi = j_acpi && json_is_string(j_acpi);
	size_t nm = json_array_size(a_mem), no = json_array_size(a_order);
	if (!nm || !no || nm > 64 || no > 2)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: tdx.params.memory (1..64 sizes) and "
				  "page-orders (1..2) must be non-empty", IMG_MEASUREMENTS);
	struct cvmf_tdx_spec spec = { 0 };
	if ((rc = cvmf_tdx_layout_parse(ctx, json_string_value(j_layout), &spec.layout)))
		return rc;
	char fw[4200], kernel[4200], initrd[4200], tables[4200];
	img_pathf(fw, sizeof(fw), "%s/%s", dir, IMG_FIRMWARE);
	img_pathf(kernel, sizeof(kernel), "%s/%s", dir, IMG_KERNEL);
	img_pathf(initrd, sizeof(initrd), "%s/%s", dir, IMG_INITRD);
	img_pathf(tables, sizeof(tables), "%s/%s", dir, IMG_ACPI);
	spec.ovmf_path = fw;
	spec.kernel_path = kernel;
	spec.initrd_path = initrd;
	spec.append = cmdline;
	spec.kernel_header_patch = patch;
	spec.stub_cc = stub_cc;
	spec.acpi_tables_path = acpi ? tables : NULL;

	json_t *list = json_array();
	for (size_t o = 0; o < no && !rc; o++) {
		const char *os = json_string_value(json_array_get(a_order, o));
		if (!os || cvmf_tdx_page_order_parse(os, &spec.page_order)) {
			rc = cmn_error(ctx, CVMF_E_FORMAT, "%s: tdx.params.page-orders[%zu] is "
					"not single-pass or two-pass", IMG_MEASUREMENTS, o);
			break;
		}
		for (size_t i = 0; i < nm && !rc; i++) {
			char what[64];
			snprintf(what, sizeof(what), "tdx.params.memory[%zu]", i);
			if ((rc = want_u64(ctx, json_array_get(a_mem, i), what, 1ull << 46,
					   &spec.memory)))
				break;
			struct cvmf_tdx_result *r = NULL;
			if ((rc = cvmf_tdx_measure(ctx, &spec, &r)))
				break;
			json_t *m = json_object();
			json_object_set_new(m, "memory", json_integer((json_int_t)spec.memory));
			json_object_set_new(m, "page-order",
					    json_string(cvmf_tdx_page_order_name(spec.page_order)));
			json_object_set_new(m, "mrtd", cmn_json_hex(r->mrtd, 48));
			for (int k = 0; k < 4; k++) {
				const char key[] = { 'r', 't', 'm', 'r', (char)('0' + k), 0 };
				json_object_set_new(m, key, r->have_rtmr[k] ? cmn_json_hex(r->rtmr[k], 48)
									  : json_null());
			}
			json_object_set_new(m, "kernel-authenticode-sha384",
					    cmn_json_hex(r->kernel_authenticode, 48));
			json_array_append_new(list, m);
			cvmf_tdx_result_free(r);
		}
	}
	if (!rc) {
		json_t *o = json_object();
		json_object_set(o, "params", p);
		json_object_set(o, "measurements", list);
		json_t *warn = json_array();
		if (!acpi)
			json_array_append_new(warn, json_string(
				"rtmr0 is not computed: it measures QEMU's ACPI tables; set "
				"acpi-tables in [tdx]"));
		json_object_set_new(o, "warnings", warn);
		json_object_set_new(out, "tdx", o);
	}
	json_decref(list);
	return rc;
}

int img_measure(cvmf_ctx *ctx, const char *dir, const char *image_name, json_t *platforms,
		json_t **ret)
{
	if (!json_is_object(platforms))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: the platforms are not an object",
				  IMG_MEASUREMENTS);
	const char *key;
	json_t *val;
	json_object_foreach(platforms, key, val) {
		if (strcmp(key, "snp") && strcmp(key, "tdx"))
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: unknown platform '%s'",
					  IMG_MEASUREMENTS, key);
		if (!json_is_object(val))
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: %s.params is not an object",
					  IMG_MEASUREMENTS, key);
	}
	char *cmdline = NULL;
	int rc = read_cmdline(ctx, dir, &cmdline);
	if (rc)
		return rc;
	json_t *out = json_object();
	json_object_set_new(out, "format", json_string(IMG_MEASUREMENTS_FORMAT));
	json_object_set_new(out, "image", json_string(image_name));
	json_object_set_new(out, "tool", json_string("cvmforge " CVMF_VERSION));
	json_t *files = json_object();
	static const char *const names[] = { IMG_FIRMWARE, IMG_KERNEL, IMG_INITRD, IMG_CMDLINE,
					     IMG_ACPI };
	for (size_t i = 0; i < CMN_ARRAY_SIZE(names) && !rc; i++) {
		char path[4200];
		img_pathf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (i == 4 && access(path, F_OK))
			continue;
		struct cvmf_file_digest d;
		if (!(rc = img_digest_file(ctx, path, &d)))
			json_object_set_new(files, names[i], cmn_json_digest(&d));
	}
	json_object_set_new(out, "files", files);
	json_t *snp = json_object_get(platforms, "snp"), *tdx = json_object_get(platforms, "tdx");
	if (!rc && snp)
		rc = measure_snp(ctx, dir, snp, cmdline, out);
	if (!rc && tdx)
		rc = measure_tdx(ctx, dir, tdx, cmdline, out);
	free(cmdline);
	if (rc) {
		json_decref(out);
		return rc;
	}
	*ret = out;
	return 0;
}
