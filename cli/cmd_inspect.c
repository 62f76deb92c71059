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

static json_t *jhex(uint64_t v)
{
	return json_string(hexs(v));
}

static int print_json(const char *path, const struct cvmf_ovmf *o)
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
			       "order, the kernel-hashes table area and the TDX (TDVF) sections.\n", usage_line);
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
	int r;
	if (!ctx)
		r = fail("out of memory");
	else if (cvmf_ovmf_read(ctx, path, &o))
		r = fail("%s", cvmf_ctx_errmsg(ctx));
	else if (json)
		r = print_json(path, o);
	else {
		print_text(path, o);
		r = EXIT_OK_;
	}
	cvmf_ovmf_free(o);
	cvmf_ctx_free(ctx);
	return r;
}
