/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge measure tdx`: MRTD and RTMR0..3 of a QEMU + TDVF direct boot,
 * with every host parameter on the command line or printed as a default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/json.h"

static const char usage_line[] =
	"--ovmf FILE [--kernel FILE] [--initrd FILE] [--append CMDLINE] [--memory SIZE] "
	"[--acpi-tables FILE [--acpi-rsdp FILE] [--acpi-loader FILE]] "
	"[--page-order single-pass|two-pass] [--ovmf-layout edk2-pre-2024.11|edk2-2024.11] "
	"[--ovmf-release YYYY.MM] [--qemu-version X.Y] [--qemu-kernel-patch|--no-qemu-kernel-patch] "
	"[--stub-cc|--no-stub-cc] [--json] [--eventlog FILE] [--ccel FILE]";

enum {
	OPT_HELP = 1, OPT_OVMF, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_MEMORY, OPT_TABLES,
	OPT_RSDP, OPT_LOADER, OPT_ORDER, OPT_LAYOUT, OPT_RELEASE, OPT_QEMU, OPT_PATCH,
	OPT_NO_PATCH, OPT_STUB, OPT_NO_STUB, OPT_JSON, OPT_EVENTLOG, OPT_CCEL,
};
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "ovmf", 0, true, OPT_OVMF },
	{ "kernel", 0, true, OPT_KERNEL },
	{ "initrd", 0, true, OPT_INITRD },
	{ "append", 0, true, OPT_APPEND },
	{ "memory", 0, true, OPT_MEMORY },
	{ "acpi-tables", 0, true, OPT_TABLES },
	{ "acpi-rsdp", 0, true, OPT_RSDP },
	{ "acpi-loader", 0, true, OPT_LOADER },
	{ "page-order", 0, true, OPT_ORDER },
	{ "ovmf-layout", 0, true, OPT_LAYOUT },
	{ "ovmf-release", 0, true, OPT_RELEASE },
	{ "qemu-version", 0, true, OPT_QEMU },
	{ "qemu-kernel-patch", 0, false, OPT_PATCH },
	{ "no-qemu-kernel-patch", 0, false, OPT_NO_PATCH },
	{ "stub-cc", 0, false, OPT_STUB },
	{ "no-stub-cc", 0, false, OPT_NO_STUB },
	{ "json", 0, false, OPT_JSON },
	{ "eventlog", 0, true, OPT_EVENTLOG },
	{ "ccel", 0, true, OPT_CCEL },
	{ NULL, 0, false, 0 },
};


struct args {
	struct cvmf_tdx_spec spec;
	const char *memory_arg, *layout_arg, *release_arg, *qemu_arg;
	const char *eventlog_path, *ccel_path;
	unsigned release, qemu;
	int patch_flag;      /* -1 unset, 0 --no-qemu-kernel-patch, 1 --qemu-kernel-patch */
	char layout_source[160], patch_source[160];
	struct cvmf_fw_info *fw;   /* what the firmware's volumes say */
	char release_text[16], release_source[160];   /* release_text "" if unknown */
	bool json;
};

static void print_help(const char *prog)
{
	printf("usage: %s %s\n\n", prog, usage_line);
	printf("Compute the Intel TDX MRTD and RTMR0..3 of a QEMU direct kernel boot under TDVF\n"
	       "(OVMF), and the event log the guest should show. Every parameter that changes a\n"
	       "value is an option here; defaults are printed in --json's \"params\".\n\n"
	       "inputs:\n"
	       "  --ovmf FILE           the TDVF image QEMU loads with -bios (required); alone: MRTD only\n"
	       "  --kernel FILE         the -kernel image (a PE/EFI-stub bzImage); enables RTMR1..3\n"
	       "  --initrd FILE         the -initrd file, measured as given\n"
	       "  --append CMDLINE      the -append bytes (measured widened to UTF-16, byte by byte)\n"
	       "  --memory SIZE         guest RAM: bytes, or with K/M/G/T (binary): 2G, 2048M (default 2G)\n"
	       "  --acpi-tables FILE    QEMU's fw_cfg etc/acpi/tables; enables RTMR0\n"
	       "  --acpi-rsdp FILE      etc/acpi/rsdp (default: derived from the tables)\n"
	       "  --acpi-loader FILE    etc/table-loader (default: derived from the tables)\n\n"
	       "host parameters:\n"
	       "  --page-order ORDER    single-pass (KVM >= 6.16, default) or two-pass (QEMU 8.2 TDX stacks)\n"
	       "  --ovmf-layout LAYOUT  edk2-2024.11 (202411..202502, default) or edk2-pre-2024.11\n"
	       "  --ovmf-release REL    the OVMF's edk2 release (2025.02, edk2-stable202408): sets the layout\n"
	       "                        and, with --qemu-version, the kernel-header rule (default: read\n"
	       "                        from the image's version string; must agree with the image)\n"
	       "  --qemu-version X.Y    sets the kernel-header patch from the rule: patched before QEMU 10.0\n"
	       "                        or with OVMF < 2025.02; never from QEMU 10.2 (TDX guests)\n"
	       "  --[no-]qemu-kernel-patch  measure QEMU's patched setup header or the plain file\n"
	       "                        (overrides the rule; default: patched)\n"
	       "  --[no-]stub-cc        the kernel's EFI stub logs LoadOptions and initrd to RTMR2\n"
	       "                        (Linux >= 6.9; default: yes)\n\n"
	       "output:\n"
	       "  --json                one JSON object with the registers and every parameter\n"
	       "  --eventlog FILE       the expected events as JSON lines\n"
	       "  --ccel FILE           the expected events as a CCEL (TCG2 crypto-agile, SHA-384) log\n\n"
	       "Not modelled: OVMF >= edk2-stable202505 (refused), UKI and disk boot, QEMU's ACPI tables\n"
	       "(give them as files). See docs/measure-tdx.md.\n");
}

static int parse_args(const char *prog, int argc, char **argv, struct args *a)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1 };
	const char *v;
	int id;
	a->patch_flag = -1;
	a->spec.stub_cc = true;
	a->spec.page_order = CVMF_TDX_SINGLE_PASS;
	int stub_flag = -1;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			print_help(prog);
			exit(EXIT_OK_);
		case OPT_OVMF: a->spec.ovmf_path = v; break;
		case OPT_KERNEL: a->spec.kernel_path = v; break;
		case OPT_INITRD: a->spec.initrd_path = v; break;
		case OPT_APPEND: a->spec.append = v; break;
		case OPT_MEMORY: a->memory_arg = v; break;
		case OPT_TABLES: a->spec.acpi_tables_path = v; break;
		case OPT_RSDP: a->spec.acpi_rsdp_path = v; break;
		case OPT_LOADER: a->spec.acpi_loader_path = v; break;
		case OPT_ORDER:
			if (cvmf_tdx_page_order_parse(v, &a->spec.page_order))
				return usage_error(prog, usage_line,
						   "argument --page-order: invalid choice: '%s' (choose from 'single-pass', 'two-pass')",
						   v);
			break;
		case OPT_LAYOUT: a->layout_arg = v; break;
		case OPT_RELEASE: a->release_arg = v; break;
		case OPT_QEMU: a->qemu_arg = v; break;
		case OPT_PATCH: a->patch_flag = 1; break;
		case OPT_NO_PATCH: a->patch_flag = 0; break;
		case OPT_STUB: stub_flag = 1; break;
		case OPT_NO_STUB: stub_flag = 0; break;
		case OPT_JSON: a->json = true; break;
		case OPT_EVENTLOG: a->eventlog_path = v; break;
		case OPT_CCEL: a->ccel_path = v; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (stub_flag >= 0)
		a->spec.stub_cc = stub_flag;
	if (!a->spec.ovmf_path)
		return usage_error(prog, usage_line, "the following arguments are required: --ovmf");
	const char *needs_kernel = a->spec.initrd_path ? "--initrd" :
				   a->spec.append ? "--append" :
				   a->spec.acpi_tables_path ? "--acpi-tables" :
				   a->eventlog_path ? "--eventlog" : a->ccel_path ? "--ccel" : NULL;
	if (needs_kernel && !a->spec.kernel_path)
		return usage_error(prog, usage_line,
				   "%s needs --kernel: without a kernel only MRTD is computed",
				   needs_kernel);
	if ((a->spec.acpi_rsdp_path || a->spec.acpi_loader_path) && !a->spec.acpi_tables_path)
		return usage_error(prog, usage_line, "%s needs --acpi-tables, the blob it belongs to",
				   a->spec.acpi_rsdp_path ? "--acpi-rsdp" : "--acpi-loader");
	if ((a->eventlog_path || a->ccel_path) && !a->spec.acpi_tables_path)
		return usage_error(prog, usage_line,
				   "%s needs --acpi-tables: a log without RTMR0's events would not match any guest's",
				   a->eventlog_path ? "--eventlog" : "--ccel");

	if (cli_parse_memory(prog, usage_line, a->memory_arg, &a->spec.memory))
		return EXIT_USAGE;
	if (a->qemu_arg && cli_parse_qemu_version(a->qemu_arg, &a->qemu))
		return usage_error(prog, usage_line,
				   "argument --qemu-version: '%s' is not a version like 9.2 or 10.1.0",
				   a->qemu_arg);
	if (a->release_arg && cvmf_edk2_release_parse(a->release_arg, &a->release))
		return usage_error(prog, usage_line,
				   "argument --ovmf-release: '%s' is not an edk2 release like 2025.02 or edk2-stable202408",
				   a->release_arg);

	/* The event layout: given, from the release, or the default. */
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	int rc = EXIT_OK_;
	enum cvmf_tdx_layout from_release = CVMF_TDX_LAYOUT_2024_11;
	if (a->release_arg && cvmf_tdx_layout_for_release(ctx, a->release, &from_release)) {
		rc = usage_error(prog, usage_line, "argument --ovmf-release: %s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	if (a->layout_arg && cvmf_tdx_layout_parse(ctx, a->layout_arg, &a->spec.layout)) {
		rc = usage_error(prog, usage_line, "argument --ovmf-layout: %s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	if (a->layout_arg && a->release_arg && a->spec.layout != from_release) {
		rc = usage_error(prog, usage_line,
				 "--ovmf-layout %s contradicts --ovmf-release %s, whose layout is %s",
				 a->layout_arg, a->release_arg, cvmf_tdx_layout_name(from_release));
		goto out;
	}

	/* The OVMF release is read from the image (its version string, or the
	 * drivers that bound it); --ovmf-release must agree with it. */
	if (cvmf_fw_read(ctx, a->spec.ovmf_path, &a->fw)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	const struct cvmf_fw_info *fw = a->fw;
	const bool fw_measures = !fw->known || (fw->features & CVMF_FW_TDX_MEASURE);
	if (a->release_arg) {
		if (cvmf_fw_check_release(ctx, fw, a->release)) {
			rc = fail("--ovmf-release %s contradicts firmware '%s': %s", a->release_arg,
				  a->spec.ovmf_path, cvmf_ctx_errmsg(ctx));
			goto out;
		}
		snprintf(a->release_text, sizeof(a->release_text), "%s", a->release_arg);
		snprintf(a->release_source, sizeof(a->release_source), "--ovmf-release");
	} else if (fw->release) {
		a->release = fw->release;
		snprintf(a->release_text, sizeof(a->release_text), "%u.%02u", fw->release / 100,
			 fw->release % 100);
		snprintf(a->release_source, sizeof(a->release_source),
			 "firmware: version string '%s' in %s", fw->versions[0], fw->version_module[0]);
		/* Only a firmware that measures into the RTMRs needs a modelled layout. */
		if (fw_measures && cvmf_tdx_layout_for_release(ctx, a->release, &from_release)) {
			rc = fail("firmware '%s' is OVMF %s (version '%s'): %s", a->spec.ovmf_path,
				  a->release_text, fw->versions[0], cvmf_ctx_errmsg(ctx));
			goto out;
		}
	}
	if (a->layout_arg) {
		if (a->release && !a->release_arg && fw_measures && a->spec.layout != from_release) {
			rc = fail("--ovmf-layout %s contradicts firmware '%s', which is OVMF %s (version '%s'), whose layout is %s",
				  a->layout_arg, a->spec.ovmf_path, a->release_text, fw->versions[0],
				  cvmf_tdx_layout_name(from_release));
			goto out;
		}
		snprintf(a->layout_source, sizeof(a->layout_source), "--ovmf-layout");
	} else if (!fw_measures) {
		a->spec.layout = CVMF_TDX_LAYOUT_2024_11;
		snprintf(a->layout_source, sizeof(a->layout_source),
			 "unused: the firmware has no TDX measurement driver");
	} else if (a->release) {
		a->spec.layout = from_release;
		snprintf(a->layout_source, sizeof(a->layout_source), "%s %s",
			 a->release_arg ? "--ovmf-release" : "firmware release", a->release_text);
	} else {
		a->spec.layout = CVMF_TDX_LAYOUT_2024_11;
		snprintf(a->layout_source, sizeof(a->layout_source), "default");
	}

	/* The kernel-header patch: a flag, the QEMU x OVMF rule, or the default. */
	if (a->patch_flag >= 0) {
		a->spec.kernel_header_patch = a->patch_flag;
		snprintf(a->patch_source, sizeof(a->patch_source), "%s",
			 a->patch_flag ? "--qemu-kernel-patch" : "--no-qemu-kernel-patch");
	} else if (a->qemu_arg) {
		/* Without the exact release, the image's bounds may decide the rule,
		 * whose line is 2025.02 (OVMF reads etc/boot/kernel from then on). */
		unsigned rule_release = a->release;
		char bound[96] = "";
		if (!rule_release && fw->release_max && fw->release_max < 202502) {
			rule_release = fw->release_max;
			snprintf(bound, sizeof(bound), ", OVMF <= %u.%02u (carries %s)",
				 fw->release_max / 100, fw->release_max % 100, fw->release_max_module);
		} else if (!rule_release && fw->release_min >= 202502) {
			rule_release = fw->release_min;
			snprintf(bound, sizeof(bound), ", OVMF >= %u.%02u (carries %s)",
				 fw->release_min / 100, fw->release_min % 100, fw->release_min_module);
		}
		bool patched;
		if (cvmf_qemu_kernel_patched(ctx, a->qemu, rule_release,
					     a->layout_arg ? &a->spec.layout : NULL, true, &patched)) {
			rc = usage_error(prog, usage_line, "%s", cvmf_ctx_errmsg(ctx));
			goto out;
		}
		a->spec.kernel_header_patch = patched;
		snprintf(a->patch_source, sizeof(a->patch_source), "rule: QEMU %s%s%s%s",
			 a->qemu_arg, a->release ? ", OVMF " : "", a->release_text, bound);
	} else {
		a->spec.kernel_header_patch = true;
		snprintf(a->patch_source, sizeof(a->patch_source), "default");
	}
out:
	cvmf_ctx_free(ctx);
	return rc;
}

/* ---- output ---- */

static json_t *params_obj(const struct args *a, const struct cvmf_tdx_result *r)
{
	const struct cvmf_tdx_spec *s = &a->spec;
	json_t *p = json_object();
	json_object_set_new(p, "tool", json_string("cvmforge " CVMF_VERSION));
	json_object_set_new(p, "page_add_order", json_string(cvmf_tdx_page_order_name(s->page_order)));
	json_object_set_new(p, "firmware", cli_file_obj(s->ovmf_path, &r->firmware));
	const struct cvmf_fw_info *fw = a->fw;
	json_object_set_new(p, "firmware_version",
			    fw->n_versions ? json_string(fw->versions[0]) : json_null());
	if (fw->known) {
		json_t *d = json_object();
		json_object_set_new(d, "tcg2", json_boolean(fw->features & CVMF_FW_TCG2));
		json_object_set_new(d, "tdx", json_boolean(fw->features & CVMF_FW_TDX_MEASURE));
		json_object_set_new(d, "sev_hashes", json_boolean(fw->features & CVMF_FW_SEV_HASHES));
		json_object_set_new(p, "firmware_measurement_drivers", d);
	} else {
		json_object_set_new(p, "firmware_measurement_drivers", json_null());
		json_object_set_new(p, "firmware_drivers_unknown", json_string(fw->error));
	}
	if (!s->kernel_path)
		return p;
	if (r->fw_known && !r->fw_tdx_measure)
		json_object_set_new(p, "rtmr_not_extended",
				    json_string("the firmware has no TDX measurement driver (TdTcg2Dxe): "
						"it extends no RTMR and writes no CCEL, so rtmr0..rtmr2 are null"));
	json_object_set_new(p, "memory_bytes", json_integer((json_int_t)s->memory));
	json_object_set_new(p, "memory_source", json_string(a->memory_arg ? "--memory" : "default"));
	json_object_set_new(p, "below_4g_bytes", json_integer((json_int_t)r->below_4g));
	json_object_set_new(p, "ovmf_event_layout", json_string(cvmf_tdx_layout_name(s->layout)));
	json_object_set_new(p, "ovmf_event_layout_source", json_string(a->layout_source));
	json_object_set_new(p, "ovmf_release", a->release ? json_string(a->release_text) : json_null());
	json_object_set_new(p, "ovmf_release_source",
			    a->release ? json_string(a->release_source) : json_null());
	json_object_set_new(p, "qemu_version", a->qemu_arg ? json_string(a->qemu_arg) : json_null());
	json_object_set_new(p, "qemu_kernel_header_patch", json_boolean(s->kernel_header_patch));
	json_object_set_new(p, "qemu_kernel_header_patch_source", json_string(a->patch_source));
	json_object_set_new(p, "qemu_acpi_data_size",
			    json_integer(s->acpi_data_size ? (json_int_t)s->acpi_data_size : 0x28000));
	json_object_set_new(p, "linux_stub_measures_into_cc", json_boolean(s->stub_cc));
	json_object_set_new(p, "secure_boot_vars", json_string("absent (measured with empty data)"));
	json_object_set_new(p, "boot_order", json_string("0000"));
	json_object_set_new(p, "boot0000", json_string("UiApp"));

	json_t *k = cli_file_obj(s->kernel_path, &r->kernel);
	json_object_set_new(k, "authenticode_sha384", cmn_json_hex(r->kernel_authenticode, 48));
	char proto[8];
	snprintf(proto, sizeof(proto), "%u.%02u", r->kernel_protocol >> 8, r->kernel_protocol & 0xff);
	json_object_set_new(k, "boot_protocol", json_string(proto));
	if (s->kernel_header_patch) {
		json_object_set_new(k, "patched_cmd_line_ptr", cmn_json_hex_u64(r->cmdline_addr));
		json_object_set_new(k, "patched_ramdisk_image",
				    s->initrd_path ? cmn_json_hex_u64(r->initrd_addr) : json_null());
	}
	json_object_set_new(p, "kernel", k);
	json_object_set_new(p, "initrd", cli_file_obj(s->initrd_path, &r->initrd));
	json_object_set_new(p, "cmdline", cli_cmdline_obj(s->append));
	json_object_set_new(p, "acpi_tables", cli_file_obj(s->acpi_tables_path, &r->acpi_tables));
	json_object_set_new(p, "acpi_rsdp", cli_file_obj(s->acpi_rsdp_path, &r->acpi_rsdp));
	json_object_set_new(p, "acpi_table_loader", cli_file_obj(s->acpi_loader_path, &r->acpi_loader));
	if (s->acpi_tables_path) {
		json_t *h = json_object();
		json_object_set_new(h, "gpa", cmn_json_hex_u64(r->td_hob_gpa));
		json_object_set_new(h, "measured_bytes", json_integer((json_int_t)r->td_hob_len));
		json_object_set_new(p, "td_hob", h);
	} else if (r->have_rtmr[1]) {
		json_object_set_new(p, "rtmr0_not_computed",
				    json_string("RTMR0 measures QEMU's ACPI tables: give --acpi-tables"));
	}
	return p;
}

static int print_json(const struct args *a, const struct cvmf_tdx_result *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "mrtd", cmn_json_hex(r->mrtd, 48));
	if (a->spec.kernel_path)
		for (int i = 0; i < 4; i++) {
			char k[16];
			snprintf(k, sizeof(k), "rtmr%d", i);
			json_object_set_new(o, k, r->have_rtmr[i] ? cmn_json_hex(r->rtmr[i], 48) : json_null());
		}
	json_object_set_new(o, "params", params_obj(a, r));
	int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) ? EXIT_FAILURE_ : EXIT_OK_;
	putchar('\n');
	json_decref(o);
	return rc;
}

static void print_plain(const struct args *a, const struct cvmf_tdx_result *r)
{
	char h[97];
	cvmf_hex(r->mrtd, 48, h);
	printf("mrtd %s\n", h);
	if (!a->spec.kernel_path)
		return;
	for (int i = 0; i < 4; i++) {
		if (!r->have_rtmr[i])
			continue;
		cvmf_hex(r->rtmr[i], 48, h);
		printf("rtmr%d %s\n", i, h);
	}
	if (!r->have_rtmr[1])
		fprintf(stderr, "note: rtmr0, rtmr1, rtmr2 not given: firmware '%s' has no TDX measurement driver (TdTcg2Dxe), so it extends no RTMR and writes no CCEL\n",
			a->spec.ovmf_path);
	else if (!r->have_rtmr[0])
		fprintf(stderr, "note: rtmr0 not computed: it measures QEMU's ACPI tables; give --acpi-tables\n");
	if (!a->fw->known)
		fprintf(stderr, "note: the drivers of firmware '%s' could not be read (%s): the RTMRs assume it measures as OVMF's TdTcg2Dxe does\n",
			a->spec.ovmf_path, a->fw->error);
}

int cmd_measure_tdx(const char *prog, int argc, char **argv)
{
	struct args a = { 0 };
	int rc = parse_args(prog, argc, argv, &a);
	if (rc) {
		cvmf_fw_info_free(a.fw);
		return rc;
	}
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	struct cvmf_tdx_result *r = NULL;
	if (cvmf_tdx_measure(ctx, &a.spec, &r)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	if ((a.eventlog_path || a.ccel_path) && !r->log) {
		rc = fail("firmware '%s' has no TDX measurement driver (TdTcg2Dxe): it writes no CCEL, so there is no event log to predict for %s",
			  a.spec.ovmf_path, a.eventlog_path ? "--eventlog" : "--ccel");
		goto out;
	}
	/* Files first: a failure leaves no output on stdout. */
	if (a.eventlog_path && (rc = cli_write_eventlog_json(a.eventlog_path, r->log)))
		goto out;
	if (a.ccel_path && (rc = cli_write_tcg_log(a.ccel_path, r->log)))
		goto out;
	if (a.json)
		rc = print_json(&a, r);
	else
		print_plain(&a, r);
out:
	cvmf_tdx_result_free(r);
	cvmf_ctx_free(ctx);
	cvmf_fw_info_free(a.fw);
	return rc;
}
