/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Measurement: OVMF firmware images, the SEV / SEV-ES / SEV-SNP launch digests,
 * TCG2 event logs, Intel TDX MRTD and RTMRs, vTPM PCRs.
 * Part of the public API; include <cvmforge/cvmforge.h>. The rules stated
 * in cvmforge/core.h hold for every function here.
 */
#ifndef CVMFORGE_MEASURE_H
#define CVMFORGE_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvmforge/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ------------------------------------------------------------------------
 * OVMF firmware images: the footer GUID table, SEV metadata, TDX metadata.
 */

enum cvmf_snp_section_type {
	CVMF_SNP_SEC_MEM = 1,
	CVMF_SNP_SECRETS = 2,
	CVMF_SNP_CPUID = 3,
	CVMF_SNP_SVSM_CAA = 4,
	CVMF_SNP_KERNEL_HASHES = 0x10,
};

struct cvmf_guid_entry {
	uint8_t guid[16];      /* as stored (EFI mixed-endian) */
	size_t data_offset;    /* file offset of the entry's data */
	size_t data_len;
};

struct cvmf_snp_section {
	uint32_t gpa;
	uint32_t len;
	uint32_t type;         /* enum cvmf_snp_section_type */
};

struct cvmf_tdvf_section {
	uint32_t data_offset;
	uint32_t raw_size;
	uint64_t gpa;
	uint64_t mem_size;
	uint32_t type;         /* 0 BFV, 1 CFV, 2 TD_HOB, 3 TempMem, ... */
	uint32_t attributes;   /* bit 0 MR.EXTEND, bit 1 PAGE.AUG */
};

struct cvmf_ovmf {
	size_t size;                   /* file size in bytes */
	uint64_t gpa;                  /* 4 GiB - size: where the image is mapped */

	bool has_table;                /* the footer GUID table was found */
	size_t n_entries;              /* in table order, last in file first */
	struct cvmf_guid_entry *entries;

	bool has_reset_eip;            /* SEV_ES_RESET_BLOCK */
	uint32_t reset_eip;
	bool has_hashes_rv;            /* SEV_HASH_TABLE_RV */
	uint32_t hashes_base, hashes_size;
	bool has_secret_block;         /* SEV_SECRET_BLOCK */
	uint32_t secret_base, secret_size;
	bool has_svsm_info;            /* SVSM_INFO (SVSM images only) */
	uint32_t svsm_entry_offset;

	bool has_sev_metadata;         /* OVMF_SEV_METADATA -> "ASEV" */
	size_t sev_metadata_offset;    /* file offset of the ASEV header */
	size_t n_sections;             /* SEV metadata sections, table order */
	struct cvmf_snp_section *sections;

	bool has_tdx_metadata;         /* TDX_METADATA entry present */
	size_t tdx_metadata_offset;    /* file offset of "TDVF" descriptor */
	int tdx_err;                   /* 0, or why the TDVF data was refused */
	char tdx_errmsg[160];
	size_t n_tdvf_sections;
	struct cvmf_tdvf_section *tdvf_sections;
};

/* Parse an image held in memory. A firmware without a footer table parses
 * (has_table false); malformed tables, metadata and sections are errors.
 * Broken TDX metadata does not fail the parse: it is reported in tdx_err. */
int cvmf_ovmf_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
		    struct cvmf_ovmf **ret);
void cvmf_ovmf_free(struct cvmf_ovmf *o);
/* Read and parse a firmware file (at most 64 MiB, not empty). Messages name
 * the file. */
int cvmf_ovmf_read(cvmf_ctx *ctx, const char *path, struct cvmf_ovmf **ret);

/* Whether a parsed image is laid out as every OVMF is, SEV/TDX support or
 * not: firmware volumes ("_FVH") back to back from offset 0 to the end, the
 * reset vector's "VTF" signature, the footer GUID table. CVMF_E_FORMAT with
 * what is missing and where (the caller names the file). */
int cvmf_ovmf_validate(cvmf_ctx *ctx, const uint8_t *buf, size_t len, const struct cvmf_ovmf *o);

/* Why a firmware cannot take QEMU's SEV hashes table (kernel-hashes=on), as
 * a set of reasons; 0 means it can. The SECTION reasons matter for SNP only;
 * each caller reports them in its own order. */
enum cvmf_kernel_hashes_problem {
	CVMF_KH_NO_AREA = 1u << 0,          /* SEV_HASH_TABLE_RV missing or at 0 */
	CVMF_KH_AREA_TOO_SMALL = 1u << 1,   /* < 176 bytes, or crosses its page */
	CVMF_KH_NO_SECTION = 1u << 2,       /* no SNP_KERNEL_HASHES section */
	CVMF_KH_SECTION_NOT_PAGE = 1u << 3, /* that section is not one 4 KiB page */
};
/* ret_section (may be NULL) gets the SNP_KERNEL_HASHES section, or NULL. */
unsigned cvmf_ovmf_kernel_hashes(const struct cvmf_ovmf *o,
				 const struct cvmf_snp_section **ret_section);
/* Name of a well-known footer GUID, or NULL. */
const char *cvmf_ovmf_guid_name(const uint8_t guid[16]);
const char *cvmf_snp_section_name(uint32_t type);
const char *cvmf_tdvf_section_name(uint32_t type);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" from EFI byte order; out >= 37 bytes. */
void cvmf_guid_format(const uint8_t guid[16], char *out);

/* ------------------------------------------------------------------------
 * What an OVMF image carries inside its firmware volumes (measure/fv.c):
 * every FFS file (driver) of every volume, the LZMA-compressed volumes
 * decoded (liblzma), the measurement drivers found and the version string
 * the build embedded. docs/inspect.md describes the model.
 */

/* Measurement support, as a set of flags. */
enum cvmf_fw_feature {
	CVMF_FW_TCG2 = 1u << 0,        /* Tcg2Dxe: TPM 2.0 (vTPM PCRs) */
	CVMF_FW_TDX_MEASURE = 1u << 1, /* TdTcg2Dxe: EFI_CC_MEASUREMENT_PROTOCOL, RTMRs and CCEL */
	CVMF_FW_SEV_HASHES = 1u << 2,  /* QemuKernelLoaderFsDxe with BlobVerifierLibSevHashes */
};

struct cvmf_fw_file {
	uint8_t guid[16];              /* the FFS file name: the INF's FILE_GUID (EFI byte order) */
	uint8_t type;                  /* EFI_FV_FILETYPE_* */
	unsigned depth;                /* 0: in a volume of the image; 1+: in a decoded volume */
	char name[48];                 /* its user-interface section (ASCII view), "" if none */
};

#define CVMF_FW_MAX_VERSIONS 4
struct cvmf_fw_info {
	bool known;                    /* a DXE core was found: the driver list is complete */
	char error[200];               /* why the volumes could not be read, "" if they could */
	size_t n_volumes;              /* FFS volumes walked, decoded ones included */
	size_t n_decoded;              /* compressed sections decoded */
	size_t decoded_bytes;          /* their total decoded size */
	size_t n_undecoded;            /* sections left encoded (unknown GUID, Tiano compression) */
	size_t n_files;                /* in walk order */
	struct cvmf_fw_file *files;
	unsigned features;             /* enum cvmf_fw_feature, meaningful when known */
	/* Firmware version strings (PcdFirmwareVersionString, UTF-16 "YYYY.MM..."
	 * in the drivers that use it): distinct values, in walk order. */
	size_t n_versions;
	char versions[CVMF_FW_MAX_VERSIONS][64];
	char version_module[CVMF_FW_MAX_VERSIONS][48];  /* the driver each was first found in */
	unsigned release;              /* YYYYMM from the one version string, 0 if none or several */
	/* Bounds from drivers that edk2 added or dropped in a known release (0 = none). */
	unsigned release_min, release_max;
	char release_min_module[48], release_max_module[48];
};

/* Walk the firmware volumes of an image in memory. Malformed volumes do not
 * fail the call: they leave known false and the reason in error. Only an
 * allocation failure is an error. Results are cached per image (SHA-256),
 * so that measuring the same firmware again does not decode it again. */
int cvmf_fw_scan(cvmf_ctx *ctx, const uint8_t *buf, size_t len, struct cvmf_fw_info **ret);
/* Read a firmware file (at most 64 MiB) and scan it. Messages name the file. */
int cvmf_fw_read(cvmf_ctx *ctx, const char *path, struct cvmf_fw_info **ret);
void cvmf_fw_info_free(struct cvmf_fw_info *fi);
/* Whether an edk2 release (YYYYMM) someone claims for the image agrees with
 * it: 0, or CVMF_E_INVAL with a message naming the image's evidence (its
 * version string, or the driver that bounds the release). */
int cvmf_fw_check_release(cvmf_ctx *ctx, const struct cvmf_fw_info *fi, unsigned release);
/* "DRIVER", "PEIM", "APPLICATION"...; "0xNN" for others (buf >= 8 bytes). */
const char *cvmf_fw_file_type_name(uint8_t type, char *buf);
/* The name cvmforge knows a file GUID by (TdTcg2Dxe...), or NULL. */
const char *cvmf_fw_known_file(const uint8_t guid[16]);

/* ------------------------------------------------------------------------
 * AMD SEV / SEV-ES / SEV-SNP launch digests.
 */

enum cvmf_sev_mode {
	CVMF_MODE_SEV,
	CVMF_MODE_SEV_ES,
	CVMF_MODE_SNP,
	CVMF_MODE_SNP_OVMF_HASH,  /* the firmware-pages prefix of the SNP chain */
	CVMF_MODE_SNP_SVSM,
};

enum cvmf_vmm {
	CVMF_VMM_QEMU,
	CVMF_VMM_EC2,
	CVMF_VMM_GCE,
};

#define CVMF_MAX_VCPUS 4096

/* Which modes measure VMSA pages (and so take vCPU counts). */
bool cvmf_sev_mode_has_vmsas(enum cvmf_sev_mode m);
/* The sev_features a VMSA carries for a requested --guest-features value:
 * as given for SNP, fixed at SNPActive for snp:svsm, 0 otherwise. */
uint64_t cvmf_sev_vmsa_features(enum cvmf_sev_mode m, uint64_t requested);
/* Whether the VMM puts the vCPU signature in the VMSA (only QEMU does). */
bool cvmf_vmm_uses_vcpu_sig(enum cvmf_vmm v);

const char *cvmf_sev_mode_name(enum cvmf_sev_mode m);    /* "snp", ... */
int cvmf_sev_mode_parse(const char *s, enum cvmf_sev_mode *ret);
const char *cvmf_vmm_name(enum cvmf_vmm v);              /* "QEMU", "ec2", "gce" */
int cvmf_vmm_parse(const char *s, enum cvmf_vmm *ret);   /* case-sensitive */

/* QEMU -cpu models and their CPUID(1).EAX signature. */
struct cvmf_cpu_type {
	const char *name;
	unsigned family, model, stepping;
};
size_t cvmf_cpu_types(const struct cvmf_cpu_type **ret);
const struct cvmf_cpu_type *cvmf_cpu_type_find(const char *name);
uint32_t cvmf_cpu_sig(unsigned family, unsigned model, unsigned stepping);

/* What the guest is launched from. Paths are opened by cvmf_sev_load. */
struct cvmf_sev_spec {
	enum cvmf_sev_mode mode;
	const char *ovmf_path;
	const char *kernel_path;        /* NULL: no measured direct boot */
	const char *initrd_path;        /* NULL: SHA-256 of "" */
	const char *append;             /* NULL or "": SHA-256 of "\0" */
	bool have_ovmf_hash;            /* --snp-ovmf-hash: seed, skip fw pages */
	uint8_t ovmf_hash[48];
	const char *svsm_path;          /* snp:svsm */
	uint64_t vars_size;             /* snp:svsm: OVMF_VARS size in bytes */
	bool want_file_digests;         /* also SHA-256 the firmware (for reports) */
};

/* The loaded, hashed, launch-independent inputs of a measurement. */
struct cvmf_sev_inputs;

int cvmf_sev_load(cvmf_ctx *ctx, const struct cvmf_sev_spec *spec,
		  struct cvmf_sev_inputs **ret);
void cvmf_sev_inputs_free(struct cvmf_sev_inputs *in);

/* Read-only views of the loaded inputs, for reports. */
struct cvmf_sev_input_info {
	enum cvmf_sev_mode mode;
	const struct cvmf_ovmf *ovmf;   /* parsed --ovmf */
	const struct cvmf_ovmf *svsm;   /* parsed --svsm, or NULL */
	size_t ovmf_size, svsm_size;
	bool have_fw_sha256;
	uint8_t ovmf_sha256[32], svsm_sha256[32];
	bool have_kernel;
	uint8_t kernel_sha256[32], initrd_sha256[32], cmdline_sha256[32];
	uint64_t kernel_size, initrd_size;
	bool have_ovmf_hash;
	uint8_t ovmf_hash[48];          /* the SNP firmware-pages prefix used */
	uint64_t vars_size;
	const uint8_t *hashes_table;    /* 176-byte padded table, or NULL */
};
void cvmf_sev_input_info(const struct cvmf_sev_inputs *in,
			 struct cvmf_sev_input_info *ret);

/* The launch-time parameters of one measurement. */
struct cvmf_sev_launch {
	enum cvmf_vmm vmm;
	unsigned vcpus;                 /* 1 .. CVMF_MAX_VCPUS */
	uint32_t vcpu_sig;              /* CPUID(1).EAX; QEMU only */
	uint64_t guest_features;        /* VMSA sev_features (SNP only) */
};

struct cvmf_digest {
	size_t len;                     /* 48 for SNP, 32 for SEV and SEV-ES */
	uint8_t bytes[48];
};

int cvmf_sev_measure(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
		     const struct cvmf_sev_launch *launch,
		     struct cvmf_digest *ret);

/* The VMSA page of vCPU `index` for this launch, exactly as measured.
 * Fails for modes without VMSAs (sev, snp:ovmf-hash). */
int cvmf_sev_vmsa(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
		  const struct cvmf_sev_launch *launch, unsigned index,
		  uint8_t ret_page[4096]);

/* A measurement matrix: every combination of the listed values. The
 * firmware, metadata and hashes-table part of the chain is computed once per
 * VMM and its state reused; vCPU counts are reached by extending one chain.
 * The callback runs once per combination, nested in the order
 * vmm, guest_features, vcpu_sig, vcpus (each as listed); a non-zero return
 * stops the walk and is returned. */
struct cvmf_sev_matrix {
	const enum cvmf_vmm *vmms;       size_t n_vmms;
	const uint32_t *vcpu_sigs;       size_t n_vcpu_sigs;
	const uint64_t *guest_features;  size_t n_guest_features;
	const unsigned *vcpus;           size_t n_vcpus;
};
typedef int (*cvmf_sev_matrix_cb)(void *userdata,
				  const struct cvmf_sev_launch *launch,
				  size_t sig_index,
				  const struct cvmf_digest *digest);
int cvmf_sev_measure_matrix(cvmf_ctx *ctx, const struct cvmf_sev_inputs *in,
			    const struct cvmf_sev_matrix *m,
			    cvmf_sev_matrix_cb cb, void *userdata);

/* ------------------------------------------------------------------------
 * TCG2 crypto-agile event logs: TPM logs (binary_bios_measurements) and the
 * TDX CCEL. One representation serves logs read from guests and logs the
 * measurement model predicts, so the two can be replayed and compared.
 */

/* TPM2 algorithm IDs used in logs. */
enum cvmf_tcg_alg {
	CVMF_TCG_SHA1 = 0x0004,
	CVMF_TCG_SHA256 = 0x000B,
	CVMF_TCG_SHA384 = 0x000C,
	CVMF_TCG_SHA512 = 0x000D,
};

/* Event types (TCG PC Client PFP and UEFI). */
enum cvmf_ev_type {
	CVMF_EV_NO_ACTION = 0x3,
	CVMF_EV_SEPARATOR = 0x4,
	CVMF_EV_EVENT_TAG = 0x6,
	CVMF_EV_S_CRTM_VERSION = 0x8,
	CVMF_EV_PLATFORM_CONFIG_FLAGS = 0xA,
	CVMF_EV_IPL = 0xD,
	CVMF_EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001,
	CVMF_EV_EFI_VARIABLE_BOOT = 0x80000002,
	CVMF_EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003,
	CVMF_EV_EFI_BOOT_SERVICES_DRIVER = 0x80000004,
	CVMF_EV_EFI_GPT_EVENT = 0x80000006,
	CVMF_EV_EFI_ACTION = 0x80000007,
	CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x80000008,
	CVMF_EV_EFI_HANDOFF_TABLES = 0x80000009,
	CVMF_EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000000A,
	CVMF_EV_EFI_HANDOFF_TABLES2 = 0x8000000B,
	CVMF_EV_EFI_VARIABLE_AUTHORITY = 0x800000E0,
};

/* "EV_SEPARATOR", ... or NULL for a type we do not name. */
const char *cvmf_ev_type_name(uint32_t type);
/* Accepts the names above and numbers (0x..., decimal). */
int cvmf_ev_type_parse(const char *s, uint32_t *ret);
/* "sha256", ... or NULL; and the digest size in bytes (0 if unknown). */
const char *cvmf_tcg_alg_name(uint16_t alg);
size_t cvmf_tcg_alg_size(uint16_t alg);

enum cvmf_evlog_kind {
	CVMF_EVLOG_AUTO,   /* parse only: CCEL if the Spec ID record has index 1 */
	CVMF_EVLOG_TPM,    /* index = PCR; Spec ID record at PCR 0, errata 2 */
	CVMF_EVLOG_CCEL,   /* index = MR index (RTMR n is n + 1); Spec ID at 1 */
};

#define CVMF_EVLOG_MAX_ALGS 4

struct cvmf_event_digest {
	uint16_t alg;              /* enum cvmf_tcg_alg */
	uint16_t len;
	uint8_t bytes[64];
};

struct cvmf_event {
	uint32_t index;            /* PCR, or MR index (CCEL), exactly as logged */
	uint32_t type;             /* enum cvmf_ev_type */
	unsigned n_digests;
	struct cvmf_event_digest digests[CVMF_EVLOG_MAX_ALGS];
	size_t data_len;
	uint8_t *data;             /* owned by the log */
	bool data_runtime;         /* predicted data holds run-time values (load
	                              addresses): compare digests, not data */
	uint64_t offset;           /* parsed: byte offset of the record */
	const char *what;          /* predicted: what was measured, static
	                              string ("TD HOB", "kernel"); parsed: NULL */
};

struct cvmf_eventlog {
	enum cvmf_evlog_kind kind;
	uint32_t spec_index;       /* index field of the Spec ID record */
	uint8_t spec_errata;
	uint8_t spec_uintn_size;
	unsigned n_algs;           /* banks declared by the Spec ID event */
	struct { uint16_t alg, len; } algs[CVMF_EVLOG_MAX_ALGS];
	size_t n_events;           /* records after the Spec ID record, including
	                              further EV_NO_ACTION records */
	struct cvmf_event *events;
	uint64_t end;              /* parsed: bytes of records consumed */
	bool fill_end;             /* parsed: stopped at 0xFF fill (CCEL) */
	bool truncated;            /* parsed: the last record was cut off */
	size_t cap_;               /* internal */
};

/* Parse a log held in memory. Malformed headers are errors; a record cut
 * off at the end sets `truncated` and keeps the records before it. */
int cvmf_eventlog_parse(cvmf_ctx *ctx, const uint8_t *buf, size_t len,
			enum cvmf_evlog_kind kind, struct cvmf_eventlog **ret);
int cvmf_eventlog_read(cvmf_ctx *ctx, const char *path, enum cvmf_evlog_kind kind,
		       struct cvmf_eventlog **ret);
void cvmf_eventlog_free(struct cvmf_eventlog *log);

/* An empty log for building a prediction: kind TPM or CCEL, with these
 * banks (sizes from cvmf_tcg_alg_size). */
int cvmf_eventlog_new(cvmf_ctx *ctx, enum cvmf_evlog_kind kind, const uint16_t *algs,
		      unsigned n_algs, struct cvmf_eventlog **ret);
/* Append an event: digests in the log's bank order (n = log->n_algs); data
 * is copied. */
int cvmf_eventlog_add(cvmf_ctx *ctx, struct cvmf_eventlog *log, uint32_t index,
		      uint32_t type, const uint8_t *const *digests, const void *data,
		      size_t data_len, bool data_runtime, const char *what);
/* Serialise as a TCG2 crypto-agile log: the Spec ID record, then every
 * event. ret_buf is malloc'ed. */
int cvmf_eventlog_write(cvmf_ctx *ctx, const struct cvmf_eventlog *log,
			uint8_t **ret_buf, size_t *ret_len);

/* Replay: extend every non-EV_NO_ACTION event of bank `alg` into
 * regs[index] (CCEL: regs[mr_index - 1], that is RTMR n in regs[n]), each
 * starting from zero. n_regs registers of 64 bytes; an event whose register
 * is out of range is an error naming it. */
int cvmf_eventlog_replay(cvmf_ctx *ctx, const struct cvmf_eventlog *log, uint16_t alg,
			 uint8_t (*regs)[64], unsigned n_regs);

/* A one-line summary of an event's data, as `cvmforge eventlog show` prints
 * it: StartupLocality, a separator's bytes, an event tag, a firmware blob or
 * handoff table (description, base, length), a UEFI variable (quoted name,
 * GUID, data size), a loaded image (address, length, File() path nodes), a
 * printable ASCII or UTF-16 string (quoted, at most 64 characters), else
 * "N bytes"; "" for an event without data. Cut to fit out (n bytes) and
 * always NUL-terminated when n > 0. */
void cvmf_eventlog_describe(const struct cvmf_event *e, char *out, size_t n);

/* Remove the events of some registers from a log (they and their data are
 * freed): bit r of `registers` for PCR r in a TPM log, for RTMR r (MR index
 * r + 1) in a CCEL. EV_NO_ACTION records and registers above 31 stay. */
void cvmf_eventlog_drop_registers(struct cvmf_eventlog *log, uint32_t registers);

/* Compare an expected log with an actual one, register by register: the
 * k-th measured event of a register in one is matched with the k-th of the
 * same register in the other. */
enum cvmf_evdiff_what {
	CVMF_EVDIFF_SAME = 0,      /* every register's events agree */
	CVMF_EVDIFF_TYPE,          /* same position, another event type */
	CVMF_EVDIFF_DIGEST,        /* same type, another digest */
	CVMF_EVDIFF_MISSING,       /* expected has an event actual lacks */
	CVMF_EVDIFF_EXTRA,         /* actual has an event expected lacks */
};
struct cvmf_evdiff {
	enum cvmf_evdiff_what what;
	uint32_t index;            /* register (log index) of the first difference */
	size_t position;           /* k: its position among that register's events */
	const struct cvmf_event *expected;  /* NULL for EXTRA */
	const struct cvmf_event *actual;    /* NULL for MISSING */
	size_t expected_number;    /* 0-based record number in each log, or SIZE_MAX */
	size_t actual_number;
	uint16_t alg;              /* the bank compared (shared by both logs) */
	const char *hint;          /* the host parameter that usually causes it */
};
/* "First" means first in the expected log's order (then actual's order for
 * EXTRA events). Fails if the logs are of different kinds (CCEL and TPM) or
 * share no bank. */
int cvmf_eventlog_diff(cvmf_ctx *ctx, const struct cvmf_eventlog *expected,
		       const struct cvmf_eventlog *actual, struct cvmf_evdiff *ret);

/* ------------------------------------------------------------------------
 * Intel TDX: MRTD and RTMR0..3 for QEMU + TDVF (OVMF) direct kernel boot.
 * The model and every parameter are described in docs/measure-tdx.md.
 */

/* The order in which the host adds and measures TDVF pages (MRTD). */
enum cvmf_tdx_page_order {
	CVMF_TDX_SINGLE_PASS,   /* per page: ADD, then its 16 EXTENDs (KVM >= 6.16) */
	CVMF_TDX_TWO_PASS,      /* per section: all ADDs, then all EXTENDs (QEMU 8.2 TDX) */
};
/* Where OVMF puts its events: the two documented layouts. */
enum cvmf_tdx_layout {
	CVMF_TDX_LAYOUT_PRE_2024_11,   /* edk2 <= 202408.01: ReadyToBoot separator in RTMR0 */
	CVMF_TDX_LAYOUT_2024_11,       /* edk2 202411 .. 202502: separator in RTMR1 */
};
const char *cvmf_tdx_page_order_name(enum cvmf_tdx_page_order o);
int cvmf_tdx_page_order_parse(const char *s, enum cvmf_tdx_page_order *ret);
const char *cvmf_tdx_layout_name(enum cvmf_tdx_layout l);
/* Accepts the names, and "edk2-2024.11..2025.02" for the newer one. A
 * layout newer than 2025.02 is refused with CVMF_E_UNSUPPORTED. */
int cvmf_tdx_layout_parse(cvmf_ctx *ctx, const char *s, enum cvmf_tdx_layout *ret);

/* An edk2 release as YYYYMM (202502), from "2025.02", "202502" or
 * "edk2-stable202502[.NN]". */
int cvmf_edk2_release_parse(const char *s, unsigned *ret);
/* The event layout of an OVMF release; CVMF_E_UNSUPPORTED (with the reason
 * in ctx) for releases whose TDX events are not modelled (>= 202505). */
int cvmf_tdx_layout_for_release(cvmf_ctx *ctx, unsigned release, enum cvmf_tdx_layout *ret);

/* Whether OVMF measures the kernel with QEMU's patched setup header (true)
 * or the plain file (false), for a QEMU version (major*100 + minor, e.g.
 * 902) and an OVMF release (YYYYMM, 0 if unknown; then `layout`, if not
 * NULL, bounds it). QEMU >= 10.2 does not patch confidential guests; QEMU
 * >= 10.0 with OVMF >= 202502 measures the unpatched etc/boot/kernel.
 * CVMF_E_INVAL with the reason in ctx when the inputs do not decide it. */
int cvmf_qemu_kernel_patched(cvmf_ctx *ctx, unsigned qemu_version, unsigned ovmf_release,
			     const enum cvmf_tdx_layout *layout, bool confidential, bool *ret);

struct cvmf_tdx_spec {
	const char *ovmf_path;
	const char *kernel_path;        /* NULL: MRTD only */
	const char *initrd_path;        /* NULL: no initrd */
	const char *append;             /* raw bytes of -append; NULL = "" */
	uint64_t memory;                /* guest RAM in bytes */
	const char *acpi_tables_path;   /* QEMU etc/acpi/tables; NULL: no RTMR0 */
	const char *acpi_rsdp_path;     /* NULL: derived from the tables */
	const char *acpi_loader_path;   /* NULL: derived from the tables */
	enum cvmf_tdx_page_order page_order;
	enum cvmf_tdx_layout layout;
	bool kernel_header_patch;       /* measure QEMU's patched setup header */
	bool stub_cc;                   /* the kernel's EFI stub logs to RTMR2 */
	uint64_t acpi_data_size;        /* QEMU's acpi_data_size; 0 = 0x28000 */
};

struct cvmf_tdx_result {
	uint8_t mrtd[48];
	bool have_rtmr[4];              /* RTMR0 needs ACPI tables; 1..3 a kernel */
	uint8_t rtmr[4][48];
	struct cvmf_eventlog *log;      /* predicted CCEL events (NULL: MRTD only);
	                                   RTMR0's events only with ACPI tables */
	struct cvmf_file_digest firmware, kernel, initrd, acpi_tables, acpi_rsdp,
		acpi_loader;
	uint8_t kernel_authenticode[48];  /* SHA-384 of the image OVMF measures */
	uint64_t td_hob_gpa;
	size_t td_hob_len;              /* measured bytes (without END) */
	uint64_t below_4g;              /* RAM QEMU maps below 4 GiB */
	uint32_t initrd_addr;           /* patched header: ramdisk_image, or 0 */
	uint32_t cmdline_addr;          /* patched header: cmd_line_ptr, or 0 */
	uint16_t kernel_protocol;       /* boot protocol of the setup header */
	/* With a kernel: what the firmware's volumes say (cvmf_fw_scan()). When
	 * fw_known and not fw_tdx_measure, the firmware has no TDX measurement
	 * driver: it extends no RTMR and writes no CCEL, so have_rtmr[0..2] are
	 * false and log is NULL (a value it would never produce is not given). */
	bool fw_known;
	bool fw_tdx_measure;
};

int cvmf_tdx_measure(cvmf_ctx *ctx, const struct cvmf_tdx_spec *spec,
		     struct cvmf_tdx_result **ret);
void cvmf_tdx_result_free(struct cvmf_tdx_result *r);

/* ------------------------------------------------------------------------
 * vTPM PCRs of a QEMU + OVMF direct kernel boot (docs/measure-tpm.md). The
 * UEFI events are the same as those behind the TDX RTMRs; only the register
 * mapping and the firmware-specific events differ.
 */
struct cvmf_tpm_spec {
	const char *ovmf_path;          /* the code image (-bios or pflash unit 0) */
	const char *vars_path;          /* pflash unit 1; NULL: the image's own store */
	const char *kernel_path;
	const char *initrd_path;        /* NULL: no initrd */
	const char *append;             /* raw -append bytes; NULL = "" */
	uint64_t memory;                /* guest RAM in bytes */
	bool q35;                       /* machine q35 (else pc/i440fx) */
	bool kernel_header_patch;       /* measure QEMU's patched setup header */
	int secure_boot_var;            /* the SecureBoot variable: -1 absent, 0, 1 */
	bool secure_boot;               /* enrolled keys verify the kernel */
	const char *signer_cert_path;   /* with secure_boot: the db certificate */
	/* OVMF >= 2023 measures QEMU's ACPI blobs into PCR1, in the loader's
	 * order; without them PCR1 is not computed. */
	bool acpi_in_pcr1;
	const char *acpi_loader_path, *acpi_rsdp_path, *acpi_tpm_log_path, *acpi_tables_path;
	uint64_t acpi_data_size;        /* 0 = 0x28000 */
};

/* What an OVMF release (YYYYMM) does to the vTPM log, as the model knows
 * it: the defaults of the spec fields of the same names. */
struct cvmf_tpm_rules {
	bool acpi_in_pcr1;              /* >= 202302: QEMU's ACPI blobs in PCR 1 */
	int secure_boot_var;            /* without --secure-boot: 0 up to 202211, else -1 (absent) */
};
/* CVMF_E_UNSUPPORTED, with the reason in ctx, for releases whose events are
 * not modelled (>= 202505). */
int cvmf_tpm_rules_for_release(cvmf_ctx *ctx, unsigned release, struct cvmf_tpm_rules *ret);

struct cvmf_tpm_result {
	bool have_pcr[24];              /* PCR 0 and 8 are never computed */
	uint8_t sha256[24][32];
	uint8_t sha384[24][48];
	struct cvmf_eventlog *log;      /* TPM log, sha256 + sha384 banks; no PCR 0
	                                   events except its separator */
	struct cvmf_file_digest firmware, vars, kernel, initrd;
	bool vars_from_image;           /* the store was read from the firmware */
	uint8_t kernel_authenticode256[32], kernel_authenticode384[48];
	uint64_t below_4g;
	uint32_t initrd_addr, cmdline_addr;
	uint16_t kernel_protocol;
	/* Secure boot with a kernel whose signature QEMU's header patch breaks:
	 * OVMF falls back to its legacy loader, which neither verifies nor
	 * measures the kernel, and the stub measures no LoadOptions. */
	bool legacy_fallback;
	char warning[320];              /* "" or a one-line warning for the user */
};

int cvmf_tpm_measure(cvmf_ctx *ctx, const struct cvmf_tpm_spec *spec,
		     struct cvmf_tpm_result **ret);
void cvmf_tpm_result_free(struct cvmf_tpm_result *r);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CVMFORGE_MEASURE_H */
