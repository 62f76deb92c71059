/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces between the measurement modules. */
#ifndef CVMF_MEASURE_H
#define CVMF_MEASURE_H

#include "common/internal.h"
#include "cvmforge/cvmforge.h"

/* measure/ovmf.c: read and parse an image, keeping its bytes. With
 * whole_pages, a size that is not a multiple of 4 KiB is refused first. */
int msr_ovmf_read_image(cvmf_ctx *ctx, const char *what, const char *path, bool whole_pages,
			 uint8_t **ret_buf, size_t *ret_len, struct cvmf_ovmf **ret);

/* measure/tdvf.c: fill o->tdvf_sections, or o->tdx_err/tdx_errmsg. */
void msr_tdvf_parse(const uint8_t *buf, size_t len, struct cvmf_ovmf *o);

/* measure/sev_hashes.c: the 176-byte padded SEV hashes table. */
#define MSR_SEV_HASHES_TABLE_LEN 168
#define MSR_SEV_HASHES_PADDED_LEN 176
void msr_sev_hashes_table(const uint8_t cmdline[32], const uint8_t initrd[32],
			   const uint8_t kernel[32], uint8_t out[MSR_SEV_HASHES_PADDED_LEN]);

/* measure/vmsa.c: the initial VMSA page of one vCPU. */
enum msr_vmsa_kind {
	MSR_VMSA_RESET,   /* OVMF reset state: BSP at 0xFFFFFFF0, APs at reset EIP */
	MSR_VMSA_SVSM,    /* Coconut-SVSM entry in 32-bit protected mode */
};
void msr_vmsa_build(uint8_t page[4096], enum msr_vmsa_kind kind, enum cvmf_vmm vmm,
		     uint32_t eip, uint32_t sig, uint64_t sev_features);

/* measure/pe.c: the Authenticode digest of a PE/COFF image, computed as
 * edk2 does when it measures an image (HashPeImage): headers without the
 * CheckSum and the Certificate Table entry, the sections with raw data in
 * file order, then any trailing bytes before the certificate table. The
 * image is read through `src` in bounded chunks, so memory stays constant
 * for any size; every hasher gets the same bytes (one pass, several banks). */
struct msr_pe_source {
	uint64_t size;
	/* Read exactly len bytes at off into buf: 0, or a CVMF_E_* code with
	 * the message set in ctx. */
	int (*read)(void *u, cvmf_ctx *ctx, uint64_t off, uint8_t *buf, size_t len);
	void *u;
};
/* what: how messages name the image ("kernel 'vmlinuz'"). Each hasher is
 * reset first; out[i] receives hasher i's digest. */
int msr_authenticode(cvmf_ctx *ctx, const char *what, const struct msr_pe_source *src,
		      struct cmn_hasher *const *hashers, size_t n_hashers, uint8_t *const *out);
/* A source over a buffer in memory (u = the struct itself). */
struct msr_pe_mem {
	struct msr_pe_source src;
	const uint8_t *buf;
};
void msr_pe_mem_init(struct msr_pe_mem *m, const uint8_t *buf, size_t len);

/* measure/eventlog.c: the hash behind a TCG algorithm ID; CVMF_E_UNSUPPORTED
 * for one we do not know. */
int msr_tcg_alg_hash(uint16_t alg, enum cmn_hash_alg *ret);

/* measure/uefi.c: the UEFI events OVMF and the Linux EFI stub log during a
 * QEMU direct kernel boot, one constructor per event, shared by the TDX
 * (RTMR) and TPM (PCR) predictions. Every event is given as the PCR that
 * edk2 measures into; a CCEL log stores the TDX MR index instead (edk2's
 * TdxMeasurementMapPcrToMrIndex), a TPM log the PCR. Digests are computed
 * for every bank of the log (SHA-256 and SHA-384 are supported). */
struct msr_bank_digests {
	uint8_t sha256[32];
	uint8_t sha384[48];
};
struct msr_uefi_emit {
	cvmf_ctx *ctx;
	struct cvmf_eventlog *log;
	struct cmn_hasher *h[CVMF_EVLOG_MAX_ALGS];
};
int msr_uefi_emit_init(cvmf_ctx *ctx, struct msr_uefi_emit *e, struct cvmf_eventlog *log);
void msr_uefi_emit_fini(struct msr_uefi_emit *e);
/* PCR -> CC MR index (1 = RTMR0); PCR 0 -> 0 (MRTD). */
uint32_t msr_pcr_to_mr_index(uint32_t pcr);
/* An event whose digest is H(pre) (pre NULL: H(data)). */
int msr_uefi_ev(struct msr_uefi_emit *e, uint32_t pcr, uint32_t type, const void *pre,
		 size_t pre_len, const void *data, size_t len, const char *what);
/* An event whose digests were computed elsewhere (files, images). */
int msr_uefi_ev_digests(struct msr_uefi_emit *e, uint32_t pcr, uint32_t type,
			 const struct msr_bank_digests *d, const void *data, size_t len,
			 bool runtime, const char *what);
int msr_uefi_separator(struct msr_uefi_emit *e, uint32_t pcr);
int msr_uefi_action(struct msr_uefi_emit *e, uint32_t pcr, const char *action);
/* The ReadyToBoot action of a boot option (PCR 4), and the two
 * ExitBootServices actions (PCR 5). */
int msr_uefi_calling_boot_option(struct msr_uefi_emit *e);
int msr_uefi_exit_boot_services(struct msr_uefi_emit *e);
/* The five secure-boot variables (SecureBoot, PK, KEK, db, dbx) as
 * EV_EFI_VARIABLE_DRIVER_CONFIG, all without keys; secure_boot < 0 means
 * the SecureBoot variable is absent (measured with empty data), else its
 * one-byte value. PK, KEK, db, dbx (and dbt, if present) carry their data
 * from `store` when given. */
struct msr_varstore;
int msr_uefi_secure_boot_vars(struct msr_uefi_emit *e, uint32_t pcr, int secure_boot,
			       const struct msr_varstore *store);
/* EV_EFI_VARIABLE_AUTHORITY (PCR 7) for the db entry that verified an image. */
int msr_uefi_authority(struct msr_uefi_emit *e, const uint8_t *sigdata, size_t len);
/* BootOrder = 0000 and Boot0000 = UiApp, as OVMF <= 202502 measures them
 * at ReadyToBoot of a -kernel boot (EV_EFI_VARIABLE_BOOT, PCR 1). */
int msr_uefi_boot_vars_direct(struct msr_uefi_emit *e);
/* The -kernel image (EV_EFI_BOOT_SERVICES_APPLICATION, PCR 4). */
int msr_uefi_kernel(struct msr_uefi_emit *e, const struct msr_bank_digests *authenticode,
		     uint64_t image_len);
/* The Linux stub's LoadOptions (nothing when the options are empty) and
 * initrd events (EV_EVENT_TAG, PCR 9). */
int msr_uefi_load_options(struct msr_uefi_emit *e, const char *append, bool initrd);
int msr_uefi_initrd(struct msr_uefi_emit *e, const struct msr_bank_digests *d);

/* measure/acpi.c: QEMU's etc/acpi/rsdp and etc/table-loader, derived from
 * etc/acpi/tables for the x86 layout QEMU builds (RSDP rev 0 -> RSDT). */
#define MSR_ACPI_RSDP_LEN 20
int msr_acpi_derive_rsdp(cvmf_ctx *ctx, const char *what, const uint8_t *tables, size_t len,
			  uint8_t out[MSR_ACPI_RSDP_LEN]);
int msr_acpi_derive_loader(cvmf_ctx *ctx, const char *what, const uint8_t *tables, size_t len,
			    uint8_t **ret, size_t *ret_len);

/* measure/bzimage.c: the setup-header fields QEMU's x86_load_linux writes
 * before it hands the kernel to the firmware. */
struct msr_qemu_linux {
	uint64_t below_4g;          /* RAM mapped below 4 GiB */
	uint64_t acpi_data_size;    /* 0x28000 for current machine types */
	const char *cmdline;        /* -append, "" if none */
	bool has_initrd;
	uint64_t initrd_size;
};
struct msr_qemu_patch {
	uint16_t protocol;          /* 0 without "HdrS" */
	size_t setup_len;           /* (setup_sects + 1) * 512 */
	uint32_t real_addr, cmdline_addr;
	uint32_t initrd_max, initrd_addr;   /* initrd_addr 0 without an initrd */
};
/* hdr: the first hdr_len bytes of the kernel file (at least 0x240 or the
 * whole file), patched in place. */
int msr_qemu_patch_setup(cvmf_ctx *ctx, const char *what, uint8_t *hdr, size_t hdr_len,
			  uint64_t file_size, const struct msr_qemu_linux *q,
			  struct msr_qemu_patch *ret);
/* The checks of the header alone that QEMU's x86_load_linux makes before it
 * loads a kernel ("invalid kernel header"; an initrd for a protocol below
 * 2.00): the first part of msr_qemu_patch_setup. */
int msr_bzimage_check(cvmf_ctx *ctx, const char *what, const uint8_t *hdr, size_t hdr_len,
		       uint64_t file_size, bool has_initrd, uint16_t *ret_protocol);
/* RAM QEMU maps below 4 GiB on q35 (pc: false), without max-ram-below-4g. */
uint64_t msr_qemu_below_4g(uint64_t ram, bool q35);

/* measure/kernel.c: the -kernel image as OVMF measures it. */
struct msr_kernel_image {
	uint64_t size;
	bool patched;                  /* the patched header was measured */
	bool patch_changes_bytes;      /* QEMU's patch alters the file's header */
	struct msr_qemu_patch patch;  /* computed whether measured or not */
	struct msr_bank_digests authenticode;
	struct cvmf_file_digest file;  /* the plain file's sha256/sha384 */
};
int msr_kernel_measure(cvmf_ctx *ctx, const char *path, const struct msr_qemu_linux *q,
			bool patched, bool sha256_too, struct msr_kernel_image *ret);
/* Before any hashing: the kernel's header as QEMU checks it, with q's
 * settings (msr_qemu_patch_setup), or the header alone when q is NULL
 * (msr_bzimage_check; has_initrd then says whether an initrd is passed).
 * Its size is capped at CMN_MAX_KERNEL. */
int msr_kernel_check(cvmf_ctx *ctx, const char *path, const struct msr_qemu_linux *q,
		      bool has_initrd, uint64_t *ret_size);

/* measure/varstore.c: edk2's authenticated variable store. Variables point
 * into the parsed buffer. */
struct msr_efi_var {
	uint8_t guid[16];
	char name[64];              /* ASCII view of the UTF-16 name */
	const uint8_t *data;
	uint32_t len;
};
struct msr_varstore {
	size_t n;
	struct msr_efi_var *vars;
};
int msr_varstore_parse(cvmf_ctx *ctx, const char *what, const uint8_t *buf, size_t len,
			struct msr_varstore *ret);
void msr_varstore_free(struct msr_varstore *s);
const struct msr_efi_var *msr_varstore_find(const struct msr_varstore *s,
					      const uint8_t guid[16], const char *name);
/* The EFI_SIGNATURE_DATA (owner GUID + payload) in a signature-list
 * database whose payload is `payload`: 0, CVMF_E_UNSUPPORTED if none,
 * CVMF_E_FORMAT for a malformed list. */
int msr_siglist_find(const uint8_t *db, size_t len, const uint8_t *payload, size_t plen,
		      const uint8_t **ret, size_t *ret_len);

/* measure/tdx.c: the TD HOB QEMU writes (hw/i386/tdvf-hob.c), without its
 * END HOB, for a firmware's TDVF sections and a RAM size. */
int msr_tdx_td_hob(cvmf_ctx *ctx, const struct cvmf_ovmf *o, uint64_t ram, uint8_t **ret,
		    size_t *ret_len, uint64_t *ret_gpa);
/* MRTD of a firmware image in memory. */
int msr_tdx_mrtd(cvmf_ctx *ctx, const uint8_t *image, size_t len, const struct cvmf_ovmf *o,
		  enum cvmf_tdx_page_order order, uint8_t out[48]);

#endif
