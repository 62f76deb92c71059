/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The UEFI boot events of a QEMU direct kernel boot (-kernel/-initrd/-append)
 * under OVMF, one constructor per event. The TDX prediction (RTMRs, CCEL)
 * and the vTPM prediction (PCRs, TPM log) both build their logs from these
 * constructors; only the sequence and the register mapping differ.
 *
 * Event data layouts (all integers little-endian):
 *
 *   UEFI_VARIABLE_DATA   GUID VariableName(16) | u64 name length in CHAR16,
 *                        no NUL | u64 data length | UTF-16LE name | data
 *   UEFI_IMAGE_LOAD_EVENT  u64 ImageLocationInMemory | u64 ImageLengthInMemory
 *                        | u64 ImageLinkTimeAddress | u64 LengthOfDevicePath
 *                        | device path
 *   tagged event (EV_EVENT_TAG)  u32 tag | u32 size | size bytes
 *
 * Variable events of the secure-boot database (EV_EFI_VARIABLE_DRIVER_CONFIG)
 * are hashed over the whole UEFI_VARIABLE_DATA; boot variables
 * (EV_EFI_VARIABLE_BOOT) over the variable's data only.
 */
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

/* EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c */
static const uint8_t GUID_GLOBAL_VARIABLE[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
/* EFI_IMAGE_SECURITY_DATABASE d719b2cb-3d3a-4596-a3bc-dad00e67656f */
static const uint8_t GUID_IMAGE_SECURITY_DB[16] = {
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
	0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
/* QEMU's kernel-loader vendor media path 1428f772-b64a-441e-b8c3-9ebdd7f893c7 */
static const uint8_t GUID_QEMU_KERNEL_LOADER_FS[16] = {
	0x72, 0xf7, 0x28, 0x14, 0x4a, 0xb6, 0x1e, 0x44,
	0xb8, 0xc3, 0x9e, 0xbd, 0xd7, 0xf8, 0x93, 0xc7 };
/* OVMF's DXE firmware volume 7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1 */
static const uint8_t GUID_OVMF_DXEFV[16] = {
	0xc9, 0xbd, 0xb8, 0x7c, 0xeb, 0xf8, 0x34, 0x4f,
	0xaa, 0xea, 0x3e, 0xe4, 0xaf, 0x65, 0x16, 0xa1 };
/* UiApp 462caa21-7614-4503-836e-8ab6f4662331 */
static const uint8_t GUID_UIAPP[16] = {
	0x21, 0xaa, 0x2c, 0x46, 0x14, 0x76, 0x03, 0x45,
	0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31 };

#define TAG_LOAD_OPTIONS 0x8F3B22EDu
#define TAG_LINUX_INITRD 0x8F3B22ECu

uint32_t msr_pcr_to_mr_index(uint32_t pcr)
{
	if (pcr == 0)
		return 0;
	if (pcr == 1 || pcr == 7)
		return 1;
	if (pcr >= 2 && pcr <= 6)
		return 2;
	if (pcr >= 8 && pcr <= 15)
		return 3;
	return 4;
}

int msr_uefi_emit_init(cvmf_ctx *ctx, struct msr_uefi_emit *e, struct cvmf_eventlog *log)
{
	memset(e, 0, sizeof(*e));
	e->ctx = ctx;
	e->log = log;
	for (unsigned i = 0; i < log->n_algs; i++) {
		enum cmn_hash_alg a;
		if (log->algs[i].alg == CVMF_TCG_SHA256)
			a = CMN_SHA256;
		else if (log->algs[i].alg == CVMF_TCG_SHA384)
			a = CMN_SHA384;
		else {
			msr_uefi_emit_fini(e);
			return cmn_error(ctx, CVMF_E_UNSUPPORTED,
					  "predicted logs support the sha256 and sha384 banks, not 0x%04x",
					  log->algs[i].alg);
		}
		int r = cmn_hasher_new(ctx, a, &e->h[i]);
		if (r) {
			msr_uefi_emit_fini(e);
			return r;
		}
	}
	return 0;
}

void msr_uefi_emit_fini(struct msr_uefi_emit *e)
{
	for (unsigned i = 0; i < CVMF_EVLOG_MAX_ALGS; i++) {
		cmn_hasher_free(e->h[i]);
		e->h[i] = NULL;
	}
}

static uint32_t log_index(const struct msr_uefi_emit *e, uint32_t pcr)
{
	return e->log->kind == CVMF_EVLOG_CCEL ? msr_pcr_to_mr_index(pcr) : pcr;
}

int msr_uefi_ev(struct msr_uefi_emit *e, uint32_t pcr, uint32_t type, const void *pre,
		 size_t pre_len, const void *data, size_t len, const char *what)
{
	uint8_t d[CVMF_EVLOG_MAX_ALGS][64];
	const uint8_t *dp[CVMF_EVLOG_MAX_ALGS];
	if (!pre) {
		pre = data;
		pre_len = len;
	}
	for (unsigned i = 0; i < e->log->n_algs; i++) {
		if (cmn_hasher_oneshot(e->h[i], pre, pre_len, d[i]))
			return cmn_error(e->ctx, CVMF_E_CRYPTO, "hashing the %s event failed", what);
		dp[i] = d[i];
	}
	return cvmf_eventlog_add(e->ctx, e->log, log_index(e, pcr), type, dp, data, len, false,
				 what);
}

int msr_uefi_ev_digests(struct msr_uefi_emit *e, uint32_t pcr, uint32_t type,
			 const struct msr_bank_digests *d, const void *data, size_t len,
			 bool runtime, const char *what)
{
	const uint8_t *dp[CVMF_EVLOG_MAX_ALGS];
	for (unsigned i = 0; i < e->log->n_algs; i++)
		dp[i] = e->log->algs[i].alg == CVMF_TCG_SHA256 ? d->sha256 : d->sha384;
	return cvmf_eventlog_add(e->ctx, e->log, log_index(e, pcr), type, dp, data, len, runtime,
				 what);
}

int msr_uefi_separator(struct msr_uefi_emit *e, uint32_t pcr)
{
	static const uint8_t zero[4];
	return msr_uefi_ev(e, pcr, CVMF_EV_SEPARATOR, NULL, 0, zero, sizeof(zero), "separator");
}

int msr_uefi_action(struct msr_uefi_emit *e, uint32_t pcr, const char *action)
{
	return msr_uefi_ev(e, pcr, CVMF_EV_EFI_ACTION, NULL, 0, action, strlen(action), action);
}

int msr_uefi_calling_boot_option(struct msr_uefi_emit *e)
{
	return msr_uefi_action(e, 4, "Calling EFI Application from Boot Option");
}

int msr_uefi_exit_boot_services(struct msr_uefi_emit *e)
{
	int r = msr_uefi_action(e, 5, "Exit Boot Services Invocation");
	if (!r)
		r = msr_uefi_action(e, 5, "Exit Boot Services Returned with Success");
	return r;
}

/* UEFI_VARIABLE_DATA for an ASCII name. *ret is malloc'ed. */
static int variable_data(cvmf_ctx *ctx, const uint8_t guid[16], const char *name,
			 const void *data, size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t nlen = strlen(name);
	size_t total = 16 + 8 + 8 + 2 * nlen + len;
	uint8_t *b = malloc(total);
	if (!b)
		return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
	memcpy(b, guid, 16);
	cmn_put_le64(b + 16, nlen);
	cmn_put_le64(b + 24, len);
	for (size_t i = 0; i < nlen; i++)
		cmn_put_le16(b + 32 + 2 * i, (uint8_t)name[i]);
	if (len)
		memcpy(b + 32 + 2 * nlen, data, len);
	*ret = b;
	*ret_len = total;
	return 0;
}

static int variable_event(struct msr_uefi_emit *e, uint32_t pcr, uint32_t type,
			  const uint8_t guid[16], const char *name, const void *data, size_t len,
			  bool hash_data_only, const char *what)
{
	uint8_t *b = NULL;
	size_t blen = 0;
	int r = variable_data(e->ctx, guid, name, data, len, &b, &blen);
	if (r)
		return r;
	if (hash_data_only)
		r = msr_uefi_ev(e, pcr, type, data ? data : "", len, b, blen, what);
	else
		r = msr_uefi_ev(e, pcr, type, NULL, 0, b, blen, what);
	free(b);
	return r;
}

int msr_uefi_secure_boot_vars(struct msr_uefi_emit *e, uint32_t pcr, int secure_boot,
			       const struct msr_varstore *store)
{
	uint8_t sb = (uint8_t)(secure_boot > 0);
	static const struct {
		const char *name;
		const uint8_t *guid;
	} vars[] = {
		{ "PK", GUID_GLOBAL_VARIABLE },
		{ "KEK", GUID_GLOBAL_VARIABLE },
		{ "db", GUID_IMAGE_SECURITY_DB },
		{ "dbx", GUID_IMAGE_SECURITY_DB },
	};
	int r = variable_event(e, pcr, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG, GUID_GLOBAL_VARIABLE,
			       "SecureBoot", &sb, secure_boot < 0 ? 0 : 1, false, "SecureBoot");
	/* Absent variables are measured with empty data. */
	for (size_t i = 0; !r && i < CMN_ARRAY_SIZE(vars); i++) {
		const struct msr_efi_var *v = store ? msr_varstore_find(store, vars[i].guid,
									  vars[i].name) : NULL;
		r = variable_event(e, pcr, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG, vars[i].guid,
				   vars[i].name, v ? v->data : NULL, v ? v->len : 0, false,
				   vars[i].name);
	}
	/* dbt only when the store holds it. */
	const struct msr_efi_var *dbt = store ? msr_varstore_find(store, GUID_IMAGE_SECURITY_DB,
								    "dbt") : NULL;
	if (!r && dbt && dbt->len)
		r = variable_event(e, pcr, CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG,
				   GUID_IMAGE_SECURITY_DB, "dbt", dbt->data, dbt->len, false, "dbt");
	return r;
}

int msr_uefi_authority(struct msr_uefi_emit *e, const uint8_t *sigdata, size_t len)
{
	/* UEFI_VARIABLE_DATA(db GUID, "db", the EFI_SIGNATURE_DATA that verified
	 * the image), hashed whole. */
	return variable_event(e, 7, CVMF_EV_EFI_VARIABLE_AUTHORITY, GUID_IMAGE_SECURITY_DB, "db",
			      sigdata, len, false, "db authority");
}

int msr_uefi_boot_vars_direct(struct msr_uefi_emit *e)
{
	static const uint8_t boot_order[2] = { 0, 0 };
	/* EFI_LOAD_OPTION: u32 attributes, u16 device-path length, UTF-16
	 * description, device path FvFile(DXEFV, UiApp). */
	uint8_t opt[62], *p = opt;
	cmn_put_le32(p, 0x109);   /* ACTIVE | HIDDEN | CATEGORY_APP */
	cmn_put_le16(p + 4, 44);
	p += 6;
	for (const char *s = "UiApp"; ; s++) {
		cmn_put_le16(p, (uint8_t)*s);
		p += 2;
		if (!*s)
			break;
	}
	static const uint8_t fv_hdr[4] = { 0x04, 0x07, 0x14, 0x00 };
	static const uint8_t file_hdr[4] = { 0x04, 0x06, 0x14, 0x00 };
	static const uint8_t end[4] = { 0x7f, 0xff, 0x04, 0x00 };
	memcpy(p, fv_hdr, 4);
	memcpy(p + 4, GUID_OVMF_DXEFV, 16);
	memcpy(p + 20, file_hdr, 4);
	memcpy(p + 24, GUID_UIAPP, 16);
	memcpy(p + 40, end, 4);
	int r = variable_event(e, 1, CVMF_EV_EFI_VARIABLE_BOOT, GUID_GLOBAL_VARIABLE, "BootOrder",
			       boot_order, sizeof(boot_order), true, "BootOrder");
	if (!r)
		r = variable_event(e, 1, CVMF_EV_EFI_VARIABLE_BOOT, GUID_GLOBAL_VARIABLE,
				   "Boot0000", opt, sizeof(opt), true, "Boot0000");
	return r;
}

int msr_uefi_kernel(struct msr_uefi_emit *e, const struct msr_bank_digests *authenticode,
		     uint64_t image_len)
{
	/* The load address is a run-time value: a predicted log carries 0 there
	 * and marks the data as not comparable. */
	uint8_t b[32 + 42], *dp = b + 32;
	memset(b, 0, 32);
	cmn_put_le64(b + 8, image_len);
	cmn_put_le64(b + 24, 42);
	static const uint8_t ven[4] = { 0x04, 0x03, 0x14, 0x00 };
	static const uint8_t file[4] = { 0x04, 0x04, 0x12, 0x00 };
	static const uint8_t end[4] = { 0x7f, 0xff, 0x04, 0x00 };
	memcpy(dp, ven, 4);
	memcpy(dp + 4, GUID_QEMU_KERNEL_LOADER_FS, 16);
	memcpy(dp + 20, file, 4);
	for (int i = 0; i < 7; i++)
		cmn_put_le16(dp + 24 + 2 * i, (uint8_t)"kernel"[i]);
	memcpy(dp + 38, end, 4);
	return msr_uefi_ev_digests(e, 4, CVMF_EV_EFI_BOOT_SERVICES_APPLICATION, authenticode, b,
				    sizeof(b), true, "kernel");
}

static int tagged_event(struct msr_uefi_emit *e, uint32_t tag, const char *desc,
			const void *pre, size_t pre_len, const struct msr_bank_digests *d,
			const char *what)
{
	uint8_t b[64];
	size_t dlen = strlen(desc) + 1;
	cmn_put_le32(b, tag);
	cmn_put_le32(b + 4, (uint32_t)dlen);
	memcpy(b + 8, desc, dlen);
	if (d)
		return msr_uefi_ev_digests(e, 9, CVMF_EV_EVENT_TAG, d, b, 8 + dlen, false, what);
	return msr_uefi_ev(e, 9, CVMF_EV_EVENT_TAG, pre, pre_len, b, 8 + dlen, what);
}

int msr_uefi_load_options(struct msr_uefi_emit *e, const char *append, bool initrd)
{
	/* OVMF builds LoadOptions from the fw_cfg command line, appending
	 * " initrd=initrd" when QEMU passed an initrd, and widens every byte to
	 * a CHAR16 (it does not decode UTF-8); the stub measures those bytes
	 * with the terminating NUL. Empty options are a NULL pointer: nothing is
	 * measured. */
	static const char suffix[] = " initrd=initrd";
	size_t alen = append ? strlen(append) : 0;
	size_t n = alen + (initrd ? sizeof(suffix) - 1 : 0);
	if (n == 0)
		return 0;
	uint8_t *w = malloc(2 * n + 2);
	if (!w)
		return cmn_error(e->ctx, CVMF_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)(i < alen ? append[i] : suffix[i - alen]);
		w[2 * i] = c;
		w[2 * i + 1] = 0;
	}
	w[2 * n] = w[2 * n + 1] = 0;
	int r = tagged_event(e, TAG_LOAD_OPTIONS, "LOADED_IMAGE::LoadOptions", w, 2 * n + 2, NULL,
			     "LoadOptions");
	free(w);
	return r;
}

int msr_uefi_initrd(struct msr_uefi_emit *e, const struct msr_bank_digests *d)
{
	return tagged_event(e, TAG_LINUX_INITRD, "Linux initrd", NULL, 0, d, "initrd");
}
