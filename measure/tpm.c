/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vTPM PCRs of a QEMU + OVMF direct kernel boot, from the UEFI events of
 * measure/uefi.c mapped to PCRs. The log order is the one OVMF writes
 * (../shared/docs/vtpm.md §6.2):
 *
 *   PCR 0   S-CRTM version, PEIFV, DXEFV (not predictable: not emitted)
 *   PCR 1   [OVMF >= 2023: table-loader, rsdp, tpm/log, tables]
 *   PCR 7   SecureBoot, PK, KEK, db, dbx [, dbt], separator
 *   PCR 7   [secure boot: the db authority that verified the kernel]
 *   PCR 4   the kernel (Authenticode)           [not after a legacy fallback]
 *   PCR 1   BootOrder 0000, Boot0000 UiApp
 *   PCR 4   "Calling EFI Application from Boot Option"
 *   PCR 0..6  separators
 *   PCR 9   LoadOptions [not after a legacy fallback], initrd
 *   PCR 5   "Exit Boot Services Invocation", "... Returned with Success"
 *
 * PCR values are the replay of that log, per bank.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/file.h"
#include "measure/measure.h"

#define MAX_VARS (16u << 20)
#define MAX_BLOB (16u << 20)

void cvmf_tpm_result_free(struct cvmf_tpm_result *r)
{
	if (!r)
		return;
	cvmf_eventlog_free(r->log);
	free(r);
}

int cvmf_tpm_rules_for_release(cvmf_ctx *ctx, unsigned release, struct cvmf_tpm_rules *ret)
{
	if (release >= 202505)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "OVMF %u.%02u is not modelled: edk2 >= 202505 adds fw_cfg, SMBIOS and boot-manager events",
				  release / 100, release % 100);
	/* OVMF measures QEMU's ACPI blobs into PCR 1 from its 2023 releases on
	 * (seen on 2025.02, not on 2022.11); SecureBoot = 0 is measured up to
	 * 2022.11, and the variable is absent after. */
	ret->acpi_in_pcr1 = release >= 202302;
	ret->secure_boot_var = release <= 202211 ? 0 : -1;
	return 0;
}

/* The signer certificate as DER, from a DER or PEM file. */
static int read_cert(cvmf_ctx *ctx, const char *path, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf;
	size_t len;
	int r = cmn_read_file(ctx, "signer certificate", path, 1u << 20, &buf, &len);
	if (r)
		return r;
	X509 *x = NULL;
	const unsigned char *p = buf;
	if (len > 0 && buf[0] == 0x30)
		x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	}
	free(buf);
	if (!x)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "signer certificate '%s' is neither a DER nor a PEM X.509 certificate",
				  path);
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0)
		return cmn_error(ctx, CVMF_E_CRYPTO, "cannot encode signer certificate '%s'", path);
	*ret = malloc((size_t)n);
	if (!*ret) {
		OPENSSL_free(der);
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	}
	memcpy(*ret, der, (size_t)n);
	*ret_len = (size_t)n;
	OPENSSL_free(der);
	return 0;
}

static int check_spec(cvmf_ctx *ctx, const struct cvmf_tpm_spec *s)
{
	if (!s->ovmf_path || !s->kernel_path)
		return cmn_error(ctx, CVMF_E_INVAL, "a firmware image and a kernel are required");
	if (s->memory == 0 || s->memory % CMN_PAGE_SIZE)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "the guest memory size must be a non-zero multiple of 4 KiB, not %llu bytes",
				  (unsigned long long)s->memory);
	if (s->secure_boot && !s->signer_cert_path)
		return cmn_error(ctx, CVMF_E_INVAL,
				  "secure boot needs the certificate in db that verifies the kernel");
	if (s->acpi_in_pcr1 && s->acpi_tables_path &&
	    (!s->acpi_loader_path || !s->acpi_rsdp_path || !s->acpi_tpm_log_path))
		return cmn_error(ctx, CVMF_E_INVAL,
				  "PCR 1 on this OVMF measures four fw_cfg blobs: give the table loader, the RSDP, the TPM log area and the tables, as dumped from QEMU");
	return 0;
}

/* The firmware, refused unless it is laid out as OVMF is: its bytes are
 * not measured into the PCRs given here, so nothing else would notice. */
static int read_firmware(cvmf_ctx *ctx, const char *path, uint8_t **ret, size_t *ret_len)
{
	struct cvmf_ovmf *o = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = msr_ovmf_read_image(ctx, "firmware", path, true, &buf, &len, &o);
	if (!r && (r = cvmf_ovmf_validate(ctx, buf, len, o))) {
		char msg[sizeof(ctx->msg)];
		snprintf(msg, sizeof(msg), "%s", ctx->msg);
		r = cmn_error(ctx, r, "firmware '%s' is not an OVMF image: %s", path, msg);
	}
	cvmf_ovmf_free(o);
	if (r) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

struct blob {
	const char *what, *path;
	uint8_t *buf;
	size_t len;
};

static int acpi_events(struct msr_uefi_emit *e, const struct cvmf_tpm_spec *s)
{
	struct blob b[4] = {
		{ "etc/table-loader", s->acpi_loader_path, NULL, 0 },
		{ "etc/acpi/rsdp", s->acpi_rsdp_path, NULL, 0 },
		{ "etc/tpm/log", s->acpi_tpm_log_path, NULL, 0 },
		{ "etc/acpi/tables", s->acpi_tables_path, NULL, 0 },
	};
	int r = 0;
	for (int i = 0; !r && i < 4; i++)
		r = cmn_read_file(e->ctx, b[i].what, b[i].path, MAX_BLOB, &b[i].buf, &b[i].len);
	for (int i = 0; !r && i < 4; i++)
		r = msr_uefi_ev(e, 1, CVMF_EV_PLATFORM_CONFIG_FLAGS, b[i].buf, b[i].len,
				 "ACPI DATA", 9, b[i].what);
	for (int i = 0; i < 4; i++)
		free(b[i].buf);
	return r;
}

int cvmf_tpm_measure(cvmf_ctx *ctx, const struct cvmf_tpm_spec *spec, struct cvmf_tpm_result **ret)
{
	int r = check_spec(ctx, spec);
	if (r)
		return r;
	struct cvmf_tpm_result *res = calloc(1, sizeof(*res));
	if (!res)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	uint8_t *fw = NULL, *vars = NULL, *cert = NULL;
	size_t fw_len = 0, vars_len = 0, cert_len = 0;
	struct msr_varstore store = { 0 };
	bool have_store = false;
	struct msr_uefi_emit e = { 0 };

	/* Firmware and variable store. */
	r = read_firmware(ctx, spec->ovmf_path, &fw, &fw_len);
	if (!r)
		r = cmn_digest_both(ctx, fw, fw_len, &res->firmware);
	if (r)
		goto out;
	if (spec->vars_path) {
		char what[300];
		snprintf(what, sizeof(what), "variable store '%s'", spec->vars_path);
		r = cmn_read_file(ctx, "variable store", spec->vars_path, MAX_VARS, &vars, &vars_len);
		if (!r)
			r = cmn_digest_both(ctx, vars, vars_len, &res->vars);
		if (!r)
			r = msr_varstore_parse(ctx, what, vars, vars_len, &store);
		if (r)
			goto out;
		have_store = true;
	} else {
		/* A combined image (OVMF.fd) starts with its store; a code-only
		 * image does not, and then no key is enrolled. */
		cvmf_ctx *quiet = cvmf_ctx_new();
		if (quiet && !msr_varstore_parse(quiet, "firmware", fw, fw_len, &store)) {
			have_store = true;
			res->vars_from_image = true;
		}
		cvmf_ctx_free(quiet);
	}

	/* Kernel and initrd. */
	uint64_t initrd_size = 0;
	struct cmn_hasher *h[2] = { NULL, NULL };
	uint8_t initrd256[32], initrd384[48];
	res->below_4g = msr_qemu_below_4g(spec->memory, spec->q35);
	struct msr_qemu_linux q = {
		.below_4g = res->below_4g,
		.acpi_data_size = spec->acpi_data_size,
		.cmdline = spec->append ? spec->append : "",
		.has_initrd = spec->initrd_path != NULL,
	};
	if (spec->initrd_path) {
		/* The size and the kernel's header first: an initrd QEMU would
		 * refuse is not hashed for nothing. */
		int fd = cmn_input_open(ctx, "initrd", spec->initrd_path, CMN_MAX_INITRD, 0,
					&q.initrd_size);
		if (fd < 0) {
			r = fd;
			goto out;
		}
		close(fd);
		if ((r = msr_kernel_check(ctx, spec->kernel_path, &q, true, NULL)))
			goto out;
		uint8_t *outs[2] = { initrd256, initrd384 };
		r = cmn_hasher_new(ctx, CMN_SHA256, &h[0]);
		if (!r)
			r = cmn_hasher_new(ctx, CMN_SHA384, &h[1]);
		if (!r)
			r = cmn_hash_input(ctx, "initrd", spec->initrd_path, CMN_MAX_INITRD, 0, h, 2,
					   outs, &initrd_size);
		cmn_hasher_free(h[0]);
		cmn_hasher_free(h[1]);
		if (r)
			goto out;
		res->initrd.present = true;
		res->initrd.size = initrd_size;
		memcpy(res->initrd.sha256, initrd256, 32);
		memcpy(res->initrd.sha384, initrd384, 48);
	}
	q.initrd_size = initrd_size;
	struct msr_kernel_image k;
	r = msr_kernel_measure(ctx, spec->kernel_path, &q, spec->kernel_header_patch, true, &k);
	if (r)
		goto out;
	res->kernel = k.file;
	res->kernel_protocol = k.patch.protocol;
	memcpy(res->kernel_authenticode256, k.authenticode.sha256, 32);
	memcpy(res->kernel_authenticode384, k.authenticode.sha384, 48);
	if (spec->kernel_header_patch) {
		res->cmdline_addr = k.patch.cmdline_addr;
		res->initrd_addr = k.patch.initrd_addr;
	}

	/* Secure boot: the db entry of the signer, and whether the signature
	 * survives QEMU's patch. */
	const uint8_t *sigdata = NULL;
	size_t sig_len = 0;
	if (spec->secure_boot) {
		r = read_cert(ctx, spec->signer_cert_path, &cert, &cert_len);
		if (r)
			goto out;
		const uint8_t dbguid[16] = { 0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
					     0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
		const struct msr_efi_var *db = have_store ? msr_varstore_find(&store, dbguid, "db") : NULL;
		if (!db) {
			r = cmn_error(ctx, CVMF_E_INVAL,
				       "secure boot: the variable store has no db to verify the kernel with");
			goto out;
		}
		int f = msr_siglist_find(db->data, db->len, cert, cert_len, &sigdata, &sig_len);
		if (f) {
			r = cmn_error(ctx, f == CVMF_E_FORMAT ? CVMF_E_FORMAT : CVMF_E_INVAL,
				       f == CVMF_E_FORMAT ? "secure boot: db in the variable store is not a valid signature list"
							  : "secure boot: certificate '%s' is not in db, so it cannot have verified the kernel",
				       spec->signer_cert_path);
			goto out;
		}
		if (spec->kernel_header_patch && k.patch_changes_bytes) {
			res->legacy_fallback = true;
			snprintf(res->warning, sizeof(res->warning),
				 "secure boot with a QEMU/OVMF pair that measures the patched kernel header: the patch breaks the kernel's signature and OVMF falls back to its legacy loader, which neither verifies nor measures the kernel (sign a pre-patched kernel, or use QEMU >= 10.0 with OVMF >= 2025.02)");
		}
	}

	/* The log. */
	static const uint16_t algs[] = { CVMF_TCG_SHA256, CVMF_TCG_SHA384 };
	r = cvmf_eventlog_new(ctx, CVMF_EVLOG_TPM, algs, 2, &res->log);
	if (!r)
		r = msr_uefi_emit_init(ctx, &e, res->log);
	if (r)
		goto out;
	bool pcr1 = !spec->acpi_in_pcr1 || spec->acpi_tables_path;
	if (spec->acpi_in_pcr1 && spec->acpi_tables_path)
		r = acpi_events(&e, spec);
	int sb = spec->secure_boot ? 1 : spec->secure_boot_var;
	if (!r)
		r = msr_uefi_secure_boot_vars(&e, 7, sb, have_store ? &store : NULL);
	if (!r)
		r = msr_uefi_separator(&e, 7);
	if (!r && spec->secure_boot && !res->legacy_fallback)
		r = msr_uefi_authority(&e, sigdata, sig_len);
	if (!r && !res->legacy_fallback)
		r = msr_uefi_kernel(&e, &k.authenticode, k.size);
	if (!r)
		r = msr_uefi_boot_vars_direct(&e);
	if (!r)
		r = msr_uefi_calling_boot_option(&e);
	for (uint32_t p = 0; !r && p <= 6; p++)
		r = msr_uefi_separator(&e, p);
	if (!r && !res->legacy_fallback)
		r = msr_uefi_load_options(&e, spec->append, spec->initrd_path != NULL);
	if (!r && spec->initrd_path) {
		struct msr_bank_digests d;
		memcpy(d.sha256, initrd256, 32);
		memcpy(d.sha384, initrd384, 48);
		r = msr_uefi_initrd(&e, &d);
	}
	if (!r)
		r = msr_uefi_exit_boot_services(&e);

	/* PCRs: the replay of the log, per bank. */
	uint8_t regs[24][64];
	if (!r)
		r = cvmf_eventlog_replay(ctx, res->log, CVMF_TCG_SHA256, regs, 24);
	for (int i = 0; !r && i < 24; i++)
		memcpy(res->sha256[i], regs[i], 32);
	if (!r)
		r = cvmf_eventlog_replay(ctx, res->log, CVMF_TCG_SHA384, regs, 24);
	for (int i = 0; !r && i < 24; i++)
		memcpy(res->sha384[i], regs[i], 48);
	for (int i = 1; !r && i <= 9; i++)
		res->have_pcr[i] = i != 8 && (i != 1 || pcr1);
out:
	msr_uefi_emit_fini(&e);
	msr_varstore_free(&store);
	free(fw);
	free(vars);
	free(cert);
	if (r) {
		cvmf_tpm_result_free(res);
		return r;
	}
	*ret = res;
	return 0;
}
