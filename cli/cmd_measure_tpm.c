/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cvmforge measure tpm`: the vTPM PCRs (1-7, 9; sha256 and sha384) of a
 * QEMU + OVMF direct kernel boot, and the TPM event log it writes.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/json.h"

static const char usage_line[] =
	"--ovmf FILE [--vars FILE] --kernel FILE [--initrd FILE] [--append CMDLINE] "
	"[--memory SIZE] [--machine q35|pc] [--qemu-version X.Y] [--ovmf-release YYYY.MM] "
	"[--qemu-kernel-patch|--no-qemu-kernel-patch] [--secure-boot --signer-cert FILE] "
	"[--secure-boot-var absent|0|1] [--acpi-loader FILE --acpi-rsdp FILE --acpi-tpm-log FILE "
	"--acpi-tables FILE] [--json] [--eventlog FILE] [--tcg-log FILE]";

enum {
	OPT_HELP = 1, OPT_OVMF, OPT_VARS, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_MEMORY,
	OPT_MACHINE, OPT_QEMU, OPT_RELEASE, OPT_PATCH, OPT_NO_PATCH, OPT_SB, OPT_CERT, OPT_SBVAR,
	OPT_LOADER, OPT_RSDP, OPT_TPMLOG, OPT_TABLES, OPT_JSON, OPT_EVENTLOG, OPT_TCGLOG,
};
static const struct opt options[] = {
	{ "help", 'h', false, OPT_HELP },
	{ "ovmf", 0, true, OPT_OVMF },
	{ "vars", 0, true, OPT_VARS },
	{ "kernel", 0, true, OPT_KERNEL },
	{ "initrd", 0, true, OPT_INITRD },
	{ "append", 0, true, OPT_APPEND },
	{ "memory", 0, true, OPT_MEMORY },
	{ "machine", 0, true, OPT_MACHINE },
	{ "qemu-version", 0, true, OPT_QEMU },
	{ "ovmf-release", 0, true, OPT_RELEASE },
	{ "qemu-kernel-patch", 0, false, OPT_PATCH },
	{ "no-qemu-kernel-patch", 0, false, OPT_NO_PATCH },
	{ "secure-boot", 0, false, OPT_SB },
	{ "signer-cert", 0, true, OPT_CERT },
	{ "secure-boot-var", 0, true, OPT_SBVAR },
	{ "acpi-loader", 0, true, OPT_LOADER },
	{ "acpi-rsdp", 0, true, OPT_RSDP },
	{ "acpi-tpm-log", 0, true, OPT_TPMLOG },
	{ "acpi-tables", 0, true, OPT_TABLES },
	{ "json", 0, false, OPT_JSON },
	{ "eventlog", 0, true, OPT_EVENTLOG },
	{ "tcg-log", 0, true, OPT_TCGLOG },
	{ NULL, 0, false, 0 },
};

#define DEFAULT_QEMU "7.2"
#define DEFAULT_RELEASE "2022.11"

struct args {
	struct cvmf_tpm_spec spec;
	const char *memory_arg, *qemu_arg, *release_arg, *sbvar_arg, *machine_arg;
	const char *eventlog_path, *tcglog_path;
	unsigned qemu, release;
	int patch_flag;
	char patch_source[128];
	bool json;
};

static void print_help(const char *prog)
{
	printf("usage: %s %s\n\n", prog, usage_line);
	printf("Predict the vTPM PCRs 1-7 and 9 (sha256 and sha384 banks) of a QEMU direct kernel\n"
	       "boot under OVMF, and the TPM event log. PCR 0 is not predictable from files (it\n"
	       "hashes a firmware volume after early code wrote into it) and is not printed.\n\n"
	       "  --ovmf FILE          the code image: -bios OVMF.fd, or pflash unit 0 (OVMF_CODE*.fd)\n"
	       "  --vars FILE          pflash unit 1 as QEMU starts with it (default: the store\n"
	       "                       inside --ovmf, if it has one; else none)\n"
	       "  --kernel, --initrd, --append   as given to QEMU (the cmdline is measured byte by\n"
	       "                       byte, widened to UTF-16)\n"
	       "  --memory SIZE        guest RAM: 1024M, 4G, bytes (default 2G)\n"
	       "  --machine q35|pc     default q35\n"
	       "  --qemu-version X.Y   default " DEFAULT_QEMU " (Debian 12)\n"
	       "  --ovmf-release REL   the OVMF's edk2 release, default " DEFAULT_RELEASE " (Debian 12);\n"
	       "                       decides SecureBoot's default, ACPI in PCR 1, and with the QEMU\n"
	       "                       version whether QEMU's patched kernel header is measured\n"
	       "  --[no-]qemu-kernel-patch  override that rule\n"
	       "  --secure-boot --signer-cert FILE  keys enrolled in --vars verify the kernel; FILE\n"
	       "                       is the db certificate (DER or PEM) that verifies it\n"
	       "  --secure-boot-var absent|0|1  the SecureBoot variable as measured (default: 0 up\n"
	       "                       to OVMF 2022.11, absent after; 1 with --secure-boot)\n"
	       "  --acpi-loader/--acpi-rsdp/--acpi-tpm-log/--acpi-tables FILE  QEMU's fw_cfg blobs;\n"
	       "                       OVMF >= 2023 measures them into PCR 1 (without them PCR 1 is\n"
	       "                       not computed)\n"
	       "  --json               {\"pcr1\": {\"sha256\": .., \"sha384\": ..}, ..., \"params\": {..}}\n"
	       "  --eventlog FILE      the expected events as JSON lines\n"
	       "  --tcg-log FILE       the expected TPM event log (TCG2 crypto-agile, both banks)\n\n"
	       "See docs/measure-tpm.md.\n");
}

static int parse_args(const char *prog, int argc, char **argv, struct args *a)
{
	struct opt_parser p = { .prog = prog, .usage = usage_line, .opts = options,
				.argc = argc, .argv = argv, .i = 1 };
	const char *v;
	int id;
	a->patch_flag = -1;
	while ((id = opt_next(&p, &v)) > 0) {
		switch (id) {
		case OPT_HELP:
			print_help(prog);
			exit(EXIT_OK_);
		case OPT_OVMF: a->spec.ovmf_path = v; break;
		case OPT_VARS: a->spec.vars_path = v; break;
		case OPT_KERNEL: a->spec.kernel_path = v; break;
		case OPT_INITRD: a->spec.initrd_path = v; break;
		case OPT_APPEND: a->spec.append = v; break;
		case OPT_MEMORY: a->memory_arg = v; break;
		case OPT_MACHINE: a->machine_arg = v; break;
		case OPT_QEMU: a->qemu_arg = v; break;
		case OPT_RELEASE: a->release_arg = v; break;
		case OPT_PATCH: a->patch_flag = 1; break;
		case OPT_NO_PATCH: a->patch_flag = 0; break;
		case OPT_SB: a->spec.secure_boot = true; break;
		case OPT_CERT: a->spec.signer_cert_path = v; break;
		case OPT_SBVAR: a->sbvar_arg = v; break;
		case OPT_LOADER: a->spec.acpi_loader_path = v; break;
		case OPT_RSDP: a->spec.acpi_rsdp_path = v; break;
		case OPT_TPMLOG: a->spec.acpi_tpm_log_path = v; break;
		case OPT_TABLES: a->spec.acpi_tables_path = v; break;
		case OPT_JSON: a->json = true; break;
		case OPT_EVENTLOG: a->eventlog_path = v; break;
		case OPT_TCGLOG: a->tcglog_path = v; break;
		}
	}
	if (id < 0)
		return EXIT_USAGE;
	if (!a->spec.ovmf_path || !a->spec.kernel_path)
		return usage_error(prog, usage_line, "the following arguments are required: %s",
				   !a->spec.ovmf_path ? "--ovmf" : "--kernel");
	if (cli_parse_memory(prog, usage_line, a->memory_arg, &a->spec.memory))
		return EXIT_USAGE;
	a->spec.q35 = true;
	if (a->machine_arg) {
		if (strcmp(a->machine_arg, "q35") && strcmp(a->machine_arg, "pc"))
			return usage_error(prog, usage_line,
					   "argument --machine: invalid choice: '%s' (choose from 'q35', 'pc')",
					   a->machine_arg);
		a->spec.q35 = !strcmp(a->machine_arg, "q35");
	}
	if (cli_parse_qemu_version(a->qemu_arg ? a->qemu_arg : DEFAULT_QEMU, &a->qemu))
		return usage_error(prog, usage_line,
				   "argument --qemu-version: '%s' is not a version like 7.2 or 10.0.1",
				   a->qemu_arg);
	if (cvmf_edk2_release_parse(a->release_arg ? a->release_arg : DEFAULT_RELEASE, &a->release))
		return usage_error(prog, usage_line,
				   "argument --ovmf-release: '%s' is not an edk2 release like 2025.02",
				   a->release_arg);
	struct cvmf_tpm_rules rules;
	cvmf_ctx *rctx = cvmf_ctx_new();
	if (!rctx)
		return fail("out of memory");
	int bad = cvmf_tpm_rules_for_release(rctx, a->release, &rules);
	if (bad)
		bad = usage_error(prog, usage_line, "argument --ovmf-release: %s",
				  cvmf_ctx_errmsg(rctx));
	cvmf_ctx_free(rctx);
	if (bad)
		return bad;
	if (a->spec.secure_boot != (a->spec.signer_cert_path != NULL))
		return usage_error(prog, usage_line, "--secure-boot and --signer-cert go together");
	int n_acpi = !!a->spec.acpi_loader_path + !!a->spec.acpi_rsdp_path +
		     !!a->spec.acpi_tpm_log_path + !!a->spec.acpi_tables_path;
	if (n_acpi && n_acpi != 4)
		return usage_error(prog, usage_line,
				   "the ACPI blobs go together: --acpi-loader, --acpi-rsdp, --acpi-tpm-log and --acpi-tables");
	a->spec.acpi_in_pcr1 = rules.acpi_in_pcr1;
	if (n_acpi && !a->spec.acpi_in_pcr1)
		return usage_error(prog, usage_line,
				   "OVMF %u.%02u does not measure ACPI blobs; drop --acpi-* or give --ovmf-release",
				   a->release / 100, a->release % 100);
	a->spec.secure_boot_var = rules.secure_boot_var;
	if (a->sbvar_arg) {
		if (!strcmp(a->sbvar_arg, "absent"))
			a->spec.secure_boot_var = -1;
		else if (!strcmp(a->sbvar_arg, "0") || !strcmp(a->sbvar_arg, "1"))
			a->spec.secure_boot_var = a->sbvar_arg[0] - '0';
		else
			return usage_error(prog, usage_line,
					   "argument --secure-boot-var: invalid choice: '%s' (choose from 'absent', '0', '1')",
					   a->sbvar_arg);
	}
	if (a->patch_flag >= 0) {
		a->spec.kernel_header_patch = a->patch_flag;
		snprintf(a->patch_source, sizeof(a->patch_source), "%s",
			 a->patch_flag ? "--qemu-kernel-patch" : "--no-qemu-kernel-patch");
	} else {
		cvmf_ctx *ctx = cvmf_ctx_new();
		bool patched = true;
		int r = ctx ? cvmf_qemu_kernel_patched(ctx, a->qemu, a->release, NULL, false, &patched)
			    : CVMF_E_NOMEM;
		cvmf_ctx_free(ctx);
		if (r)
			return fail("cannot decide the kernel-header rule");
		a->spec.kernel_header_patch = patched;
		snprintf(a->patch_source, sizeof(a->patch_source), "rule: QEMU %u.%u, OVMF %u.%02u",
			 a->qemu / 100, a->qemu % 100, a->release / 100, a->release % 100);
	}
	return EXIT_OK_;
}

static json_t *params_obj(const struct args *a, const struct cvmf_tpm_result *r)
{
	const struct cvmf_tpm_spec *s = &a->spec;
	json_t *p = json_object();
	char b[32];
	json_object_set_new(p, "tool", json_string("cvmforge " CVMF_VERSION));
	json_object_set_new(p, "firmware", cli_file_obj(s->ovmf_path, &r->firmware));
	json_object_set_new(p, "vars", r->vars_from_image ? json_string("the store inside the firmware")
						     : cli_file_obj(s->vars_path, &r->vars));
	json_t *k = cli_file_obj(s->kernel_path, &r->kernel);
	json_t *ac = json_object();
	json_object_set_new(ac, "sha256", cmn_json_hex(r->kernel_authenticode256, 32));
	json_object_set_new(ac, "sha384", cmn_json_hex(r->kernel_authenticode384, 48));
	json_object_set_new(k, "authenticode", ac);
	snprintf(b, sizeof(b), "%u.%02u", r->kernel_protocol >> 8, r->kernel_protocol & 0xff);
	json_object_set_new(k, "boot_protocol", json_string(b));
	if (s->kernel_header_patch) {
		json_object_set_new(k, "patched_cmd_line_ptr", cmn_json_hex_u64(r->cmdline_addr));
		json_object_set_new(k, "patched_ramdisk_image",
				    s->initrd_path ? cmn_json_hex_u64(r->initrd_addr) : json_null());
	}
	json_object_set_new(p, "kernel", k);
	json_object_set_new(p, "initrd", cli_file_obj(s->initrd_path, &r->initrd));
	json_object_set_new(p, "cmdline", cli_cmdline_obj(s->append));
	json_object_set_new(p, "memory_bytes", json_integer((json_int_t)s->memory));
	json_object_set_new(p, "memory_source", json_string(a->memory_arg ? "--memory" : "default"));
	json_object_set_new(p, "below_4g_bytes", json_integer((json_int_t)r->below_4g));
	json_object_set_new(p, "machine", json_string(s->q35 ? "q35" : "pc"));
	snprintf(b, sizeof(b), "%u.%u", a->qemu / 100, a->qemu % 100);
	json_object_set_new(p, "qemu_version", json_string(b));
	json_object_set_new(p, "qemu_version_source", json_string(a->qemu_arg ? "--qemu-version" : "default"));
	snprintf(b, sizeof(b), "%u.%02u", a->release / 100, a->release % 100);
	json_object_set_new(p, "ovmf_release", json_string(b));
	json_object_set_new(p, "ovmf_release_source", json_string(a->release_arg ? "--ovmf-release" : "default"));
	json_object_set_new(p, "qemu_kernel_header_patch", json_boolean(s->kernel_header_patch));
	json_object_set_new(p, "qemu_kernel_header_patch_source", json_string(a->patch_source));
	json_object_set_new(p, "secure_boot", json_boolean(s->secure_boot));
	json_object_set_new(p, "secure_boot_var",
			    s->secure_boot ? json_string("1") :
			    s->secure_boot_var < 0 ? json_string("absent") :
			    json_string(s->secure_boot_var ? "1" : "0"));
	json_object_set_new(p, "acpi_in_pcr1", json_boolean(s->acpi_in_pcr1));
	json_object_set_new(p, "legacy_loader_fallback", json_boolean(r->legacy_fallback));
	if (!r->have_pcr[1])
		json_object_set_new(p, "pcr1_not_computed",
				    json_string("this OVMF measures QEMU's ACPI blobs into PCR 1: give --acpi-loader, --acpi-rsdp, --acpi-tpm-log and --acpi-tables"));
	json_object_set_new(p, "pcr0_not_computed",
			    json_string("PCR 0 hashes the PEI firmware volume after early code wrote into it"));
	return p;
}

int cmd_measure_tpm(const char *prog, int argc, char **argv)
{
	struct args a = { 0 };
	int rc = parse_args(prog, argc, argv, &a);
	if (rc)
		return rc;
	cvmf_ctx *ctx = cvmf_ctx_new();
	if (!ctx)
		return fail("out of memory");
	struct cvmf_tpm_result *r = NULL;
	if (cvmf_tpm_measure(ctx, &a.spec, &r)) {
		rc = fail("%s", cvmf_ctx_errmsg(ctx));
		goto out;
	}
	if (r->warning[0])
		fprintf(stderr, "warning: %s\n", r->warning);
	if (a.eventlog_path && (rc = cli_write_eventlog_json(a.eventlog_path, r->log)))
		goto out;
	if (a.tcglog_path && (rc = cli_write_tcg_log(a.tcglog_path, r->log)))
		goto out;
	if (a.json) {
		json_t *o = json_object();
		for (int i = 0; i < 24; i++) {
			if (!r->have_pcr[i])
				continue;
			char k[16];
			snprintf(k, sizeof(k), "pcr%d", i);
			json_t *b = json_object();
			json_object_set_new(b, "sha256", cmn_json_hex(r->sha256[i], 32));
			json_object_set_new(b, "sha384", cmn_json_hex(r->sha384[i], 48));
			json_object_set_new(o, k, b);
		}
		json_object_set_new(o, "params", params_obj(&a, r));
		if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS))
			rc = EXIT_FAILURE_;
		putchar('\n');
		json_decref(o);
	} else {
		char h[97];
		for (int i = 0; i < 24; i++) {
			if (!r->have_pcr[i])
				continue;
			cvmf_hex(r->sha256[i], 32, h);
			printf("pcr%d sha256 %s\n", i, h);
			cvmf_hex(r->sha384[i], 48, h);
			printf("pcr%d sha384 %s\n", i, h);
		}
		if (!r->have_pcr[1])
			fprintf(stderr, "note: pcr1 not computed: this OVMF measures QEMU's ACPI blobs into it; give --acpi-*\n");
	}
out:
	cvmf_tpm_result_free(r);
	cvmf_ctx_free(ctx);
	return rc;
}
