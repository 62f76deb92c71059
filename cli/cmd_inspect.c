/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge inspect ovmf FILE [--json]`: what a firmware image declares. */
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static const char usage_line[] = "ovmf FILE [--json]";

enum { OPT_HELP = 1, OPT_JSON };
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "json", 0, false, OPT_JSON },
	{ NULL, 0, false, 0 },
};

/* "0x..." in one of 8 rotating buffers: enough for any one printf below. */
static char *hexs(uint64_t v)
{
	static char buf[8][24];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "0x%llx", (unsigned long long)v);
	return buf[k];
}

/* The decoded value of a known entry, for the text view. */
static void entry_value(const struct cvmf_ovmf *o, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	if (!name)
		return;
	if (!strcmp(name, "SEV_ES_RESET_BLOCK"))
		snprintf(out, n, "AP reset EIP %s", hexs(o->reset_eip));
	else if (!strcmp(name, "SEV_HASH_TABLE_RV"))
		snprintf(out, n, "base %s size %s", hexs(o->hashes_base), hexs(o->hashes_size));
	else if (!strcmp(name, "SEV_SECRET_BLOCK"))
		snprintf(out, n, "base %s size %s", hexs(o->secret_base), hexs(o->secret_size));
	else if (!strcmp(name, "OVMF_SEV_METADATA"))
		snprintf(out, n, "ASEV header at file offset %s", hexs(o->sev_metadata_offset));
	else if (!strcmp(name, "TDX_METADATA"))
		snprintf(out, n, "TDVF descriptor at file offset %s", hexs(o->tdx_metadata_offset));
	else if (!strcmp(name, "SVSM_INFO"))
		snprintf(out, n, "entry offset %s", hexs(o->svsm_entry_offset));
}

/* Can this firmware take QEMU's SEV hashes table (kernel-hashes=on)? The
 * rule is the library's; measure snp --kernel refuses on the same reasons. */
static const char *hashes_verdict(const struct cvmf_ovmf *o)
{
	if (!o->has_table)
		return "no: no OVMF footer table";
	const unsigned why = cvmf_ovmf_kernel_hashes(o, NULL);
	if (why & CVMF_KH_NO_AREA)
		return "no: the hashes-table area is empty (QEMU: \"hashes table area is invalid\")";
	if (why & CVMF_KH_AREA_TOO_SMALL)
		return "no: the hashes-table area cannot hold the 176-byte table within one page";
	if (why & CVMF_KH_SECTION_NOT_PAGE)
		return "SEV/SEV-ES only: the SNP_KERNEL_HASHES section is not one 4 KiB page";
	if (why & CVMF_KH_NO_SECTION)
		return "SEV/SEV-ES only: no SNP_KERNEL_HASHES metadata section";
	return "yes (SEV, SEV-ES and SNP)";
}

static void print_text(const char *path, const struct cvmf_ovmf *o)
{
	printf("file: %s\nsize: %zu bytes, mapped at %s..0xffffffff\n", path, o->size, hexs(o->gpa));
	if (!o->has_table) {
		printf("footer GUID table: none (not an OVMF image, or one without SEV/TDX support)\n"
		       "measured direct boot (kernel hashes): %s\n", hashes_verdict(o));
		return;
	}
	printf("footer GUID table: %zu entries\n", o->n_entries);
	for (size_t i = 0; i < o->n_entries; i++) {
		const struct cvmf_guid_entry *e = &o->entries[i];
		char g[37], val[128];
		const char *name = cvmf_ovmf_guid_name(e->guid);
		cvmf_guid_format(e->guid, g);
		entry_value(o, name, val, sizeof(val));
		printf("  %-20s %s  data at %s, %zu bytes%s%s\n", name ? name : "(unknown)", g,
		       hexs(e->data_offset), e->data_len, val[0] ? ": " : "", val);
	}
	if (o->has_sev_metadata) {
		printf("SEV metadata: ASEV v1 at file offset %s, %zu sections (measured in this order)\n",
		       hexs(o->sev_metadata_offset), o->n_sections);
		for (size_t i = 0; i < o->n_sections; i++) {
			const struct cvmf_snp_section *s = &o->sections[i];
			printf("  %2zu %-18s GPA 0x%08x length 0x%x (%u page%s)\n", i,
			       cvmf_snp_section_name(s->type), s->gpa, s->len, s->len / 4096,
			       s->len == 4096 ? "" : "s");
		}
	} else {
		printf("SEV metadata: none (QEMU cannot launch this firmware as an SNP guest)\n");
	}
	if (o->has_hashes_rv)
		printf("hashes table: GPA %s size %s (page %s, offset %s)\n", hexs(o->hashes_base),
		       hexs(o->hashes_size), hexs(o->hashes_base & ~0xfffu), hexs(o->hashes_base & 0xfff));
	printf("measured direct boot (kernel hashes): %s\n", hashes_verdict(o));
	if (!o->has_tdx_metadata) {
		printf("TDX metadata: none\n");
	} else if (o->tdx_err) {
		printf("TDX metadata: invalid: %s\n", o->tdx_errmsg);
	} else {
		printf("TDX metadata: TDVF v1 at file offset %s, %zu sections\n",
		       hexs(o->tdx_metadata_offset), o->n_tdvf_sections);
		for (size_t i = 0; i < o->n_tdvf_sections; i++) {
			const struct cvmf_tdvf_section *t = &o->tdvf_sections[i];
			printf("  %2zu %-8s data %s+%s GPA %s size %s attr %s%s\n", i,
			       cvmf_tdvf_section_name(t->type), hexs(t->data_offset), hexs(t->raw_size),
			       hexs(t->gpa), hexs(t->mem_size), hexs(t->attributes),
			       t->attributes & 1 ? " (MR.EXTEND)" : "");
		}
	}
}

static const char *yes_no(const struct cvmf_fw_info *fi, unsigned feature)
{
	return !fi->known ? "unknown" : fi->features & feature ? "yes" : "no";
}

/* "2025.02" from YYYYMM, in one of 4 rotating buffers. */
static const char *release_str(unsigned r)
{
	static char buf[4][16];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%u.%02u", r / 100, r % 100);
	return buf[k];
}

/* What the firmware volumes hold (measure/fv.c). */
static void print_fw_text(const struct cvmf_fw_info *fi)
{
	if (fi->error[0] && !fi->n_files) {
		printf("firmware volumes: not read: %s\n", fi->error);
		return;
	}
	printf("firmware volumes: %zu with FFS files, %zu LZMA section%s decoded (%zu bytes)%s, %zu files\n",
	       fi->n_volumes, fi->n_decoded, fi->n_decoded == 1 ? "" : "s", fi->decoded_bytes,
	       fi->n_undecoded ? " (some sections left encoded)" : "", fi->n_files);
	if (fi->error[0])
		printf("  incomplete: %s\n", fi->error);
	if (!fi->n_versions)
		printf("firmware version: none embedded\n");
	for (size_t i = 0; i < fi->n_versions; i++)
		printf("firmware version: %s (in %s)\n", fi->versions[i], fi->version_module[i]);
	if (fi->release)
		printf("edk2 release: %s (from the version string)\n", release_str(fi->release));
	else
		printf("edk2 release: %s\n", fi->n_versions > 1 ? "unknown (several version strings)"
							 : "unknown (no version string)");
	if (fi->release_min)
		printf("  at least %s: carries %s\n", release_str(fi->release_min),
		       fi->release_min_module);
	if (fi->release_max)
		printf("  at most %s: carries %s\n", release_str(fi->release_max),
		       fi->release_max_module);
	printf("measurement drivers:\n"
	       "  TPM 2.0 PCRs (Tcg2Dxe): %s\n"
	       "  TDX RTMRs and CCEL (TdTcg2Dxe): %s\n"
	       "  SEV kernel hashes (QemuKernelLoaderFsDxe with BlobVerifierLibSevHashes): %s\n",
	       yes_no(fi, CVMF_FW_TCG2), yes_no(fi, CVMF_FW_TDX_MEASURE),
	       yes_no(fi, CVMF_FW_SEV_HASHES));
	printf("files (FFS name GUID, type, name; + inside a decoded volume):\n");
	for (size_t i = 0; i < fi->n_files; i++) {
		const struct cvmf_fw_file *f = &fi->files[i];
		char g[37], t[8];
		cvmf_guid_format(f->guid, g);
		printf("  %s %s %-*s%s\n", f->depth ? "+" : " ", g, f->name[0] ? 22 : 0,
		       cvmf_fw_file_type_name(f->type, t), f->name);
	}
}

static json_t *jhex(uint64_t v)
{
	return json_string(hexs(v));
}

static json_t *release_obj(unsigned r, const char *module)
{
	if (!r)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "release", json_string(release_str(r)));
	json_object_set_new(o, "module", json_string(module));
	return o;
}

static json_t *fw_json(const struct cvmf_fw_info *fi)
{
	json_t *r = json_object();
	json_object_set_new(r, "error", fi->error[0] ? json_string(fi->error) : json_null());
	json_object_set_new(r, "volumes", json_integer((json_int_t)fi->n_volumes));
	json_object_set_new(r, "decoded_sections", json_integer((json_int_t)fi->n_decoded));
	json_object_set_new(r, "decoded_bytes", json_integer((json_int_t)fi->decoded_bytes));
	json_object_set_new(r, "undecoded_sections", json_integer((json_int_t)fi->n_undecoded));
	json_t *v = json_array();
	for (size_t i = 0; i < fi->n_versions; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "version", json_string(fi->versions[i]));
		json_object_set_new(e, "module", json_string(fi->version_module[i]));
		json_array_append_new(v, e);
	}
	json_object_set_new(r, "versions", v);
	json_object_set_new(r, "release", fi->release ? json_string(release_str(fi->release))
						      : json_null());
	json_object_set_new(r, "release_min", release_obj(fi->release_min, fi->release_min_module));
	json_object_set_new(r, "release_max", release_obj(fi->release_max, fi->release_max_module));
	if (fi->known) {
		json_t *m = json_object();
		json_object_set_new(m, "tcg2", json_boolean(fi->features & CVMF_FW_TCG2));
		json_object_set_new(m, "tdx", json_boolean(fi->features & CVMF_FW_TDX_MEASURE));
		json_object_set_new(m, "sev_hashes", json_boolean(fi->features & CVMF_FW_SEV_HASHES));
		json_object_set_new(r, "measurement_drivers", m);
	} else {
		json_object_set_new(r, "measurement_drivers", json_null());
	}
	json_t *files = json_array();
	for (size_t i = 0; i < fi->n_files; i++) {
		const struct cvmf_fw_file *f = &fi->files[i];
		char g[37], t[8];
		cvmf_guid_format(f->guid, g);
		json_t *e = json_object();
		json_object_set_new(e, "guid", json_string(g));
		json_object_set_new(e, "type", json_string(cvmf_fw_file_type_name(f->type, t)));
		json_object_set_new(e, "name", f->name[0] ? json_string(f->name) : json_null());
		json_object_set_new(e, "depth", json_integer(f->depth));
		json_array_append_new(files, e);
	}
	json_object_set_new(r, "files", files);
	return r;
}

static int print_json(const char *path, const struct cvmf_ovmf *o, const struct cvmf_fw_info *fi)
{
	json_t *r = json_object();
	json_object_set_new(r, "path", json_string(path));
	json_object_set_new(r, "size", json_integer((json_int_t)o->size));
	json_object_set_new(r, "gpa", jhex(o->gpa));
	json_t *entries = json_array();
	for (size_t i = 0; i < o->n_entries; i++) {
		const struct cvmf_guid_entry *e = &o->entries[i];
		char g[37];
		cvmf_guid_format(e->guid, g);
		const char *name = cvmf_ovmf_guid_name(e->guid);
		json_t *j = json_object();
		json_object_set_new(j, "guid", json_string(g));
		json_object_set_new(j, "name", name ? json_string(name) : json_null());
		json_object_set_new(j, "offset", json_integer((json_int_t)e->data_offset));
		json_object_set_new(j, "length", json_integer((json_int_t)e->data_len));
		json_array_append_new(entries, j);
	}
	json_object_set_new(r, "footer_table", o->has_table ? entries : (json_decref(entries), json_null()));
	json_object_set_new(r, "sev_es_reset_eip", o->has_reset_eip ? jhex(o->reset_eip) : json_null());
	if (o->has_hashes_rv) {
		json_t *h = json_object();
		json_object_set_new(h, "base", jhex(o->hashes_base));
		json_object_set_new(h, "size", jhex(o->hashes_size));
		json_object_set_new(r, "hashes_table", h);
	} else {
		json_object_set_new(r, "hashes_table", json_null());
	}
	json_object_set_new(r, "kernel_hashes", json_string(hashes_verdict(o)));
	if (o->has_sev_metadata) {
		json_t *m = json_object(), *secs = json_array();
		json_object_set_new(m, "offset", json_integer((json_int_t)o->sev_metadata_offset));
		for (size_t i = 0; i < o->n_sections; i++) {
			json_t *s = json_object();
			json_object_set_new(s, "type", json_string(cvmf_snp_section_name(o->sections[i].type)));
			json_object_set_new(s, "gpa", jhex(o->sections[i].gpa));
			json_object_set_new(s, "length", jhex(o->sections[i].len));
			json_array_append_new(secs, s);
		}
		json_object_set_new(m, "sections", secs);
		json_object_set_new(r, "sev_metadata", m);
	} else {
		json_object_set_new(r, "sev_metadata", json_null());
	}
	if (o->has_tdx_metadata) {
		json_t *t = json_object();
		json_object_set_new(t, "offset", json_integer((json_int_t)o->tdx_metadata_offset));
		json_object_set_new(t, "error", o->tdx_err ? json_string(o->tdx_errmsg) : json_null());
		json_t *secs = json_array();
		for (size_t i = 0; i < o->n_tdvf_sections; i++) {
			const struct cvmf_tdvf_section *x = &o->tdvf_sections[i];
			json_t *s = json_object();
			json_object_set_new(s, "type", json_string(cvmf_tdvf_section_name(x->type)));
			json_object_set_new(s, "data_offset", jhex(x->data_offset));
			json_object_set_new(s, "raw_size", jhex(x->raw_size));
			json_object_set_new(s, "gpa", jhex(x->gpa));
			json_object_set_new(s, "mem_size", jhex(x->mem_size));
			json_object_set_new(s, "attributes", jhex(x->attributes));
			json_array_append_new(secs, s);
		}
		json_object_set_new(t, "sections", secs);
		json_object_set_new(r, "tdx_metadata", t);
	} else {
		json_object_set_new(r, "tdx_metadata", json_null());
	}
	json_object_set_new(r, "firmware_volumes", fw_json(fi));
	int rc = json_dumpf(r, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(r);
	printf("\n");
	return rc ? fail("cannot write JSON") : EXIT_OK_;
}

int cmd_inspect(const char *prog, int argc, char **argv)
{
	struct opt_parser p = { .prog = "cvmforge inspect", .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1, .max_positional = 2 };
	const char *v;
	bool json = false;
	int id;
	(void)prog;
	while ((id = opt_next(&p, &v)) > 0) {
		if (id == OPT_HELP) {
			printf("usage: cvmforge inspect %s\n\n"
			       "Show the OVMF footer GUID table, the SEV metadata sections in measurement\n"
			       "order, the kernel-hashes table area, the TDX (TDVF) sections, and what the\n"
			       "firmware volumes hold: the drivers (the compressed DXE volume decoded), the\n"
			       "measurement drivers among them and the version string.\n", usage_line);
			return EXIT_OK_;
		}
		json |= id == OPT_JSON;
	}
	if (id < 0)
		return EXIT_USAGE;
	if (p.n_positional < 1)
		return usage_error(p.prog, usage_line, "the following arguments are required: KIND FILE");
	if (strcmp(p.positional[0], "ovmf"))
		return usage_error(p.prog, usage_line, "unknown kind '%s' (choose from 'ovmf')",
				   p.positional[0]);
	if (p.n_positional < 2)
		return usage_error(p.prog, usage_line, "the following arguments are required: FILE");
	const char *path = p.positional[1];
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct cvmf_ovmf *o = NULL;
	struct cvmf_fw_info *fi = NULL;
	int r;
	if (!ctx)
		r = fail("out of memory");
	else if (cvmf_ovmf_read(ctx, path, &o) || cvmf_fw_read(ctx, path, &fi))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	else if (json)
		r = print_json(path, o, fi);
	else {
		print_text(path, o);
		print_fw_text(fi);
		r = EXIT_OK_;
	}
	cvmf_fw_info_free(fi);
	cvmf_ovmf_free(o);
	cvmf_ctx_free(ctx);
	return r;
}
