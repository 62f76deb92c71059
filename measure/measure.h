/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces between the measurement modules. */
#ifndef CVMF_MEASURE_H
#define CVMF_MEASURE_H

#include "cvmforge/cvmforge.h"

/* measure/ovmf.c: read and parse an image, keeping its bytes. With
 * whole_pages, a size that is not a multiple of 4 KiB is refused first. */
int cvmf_ovmf_read_image(cvmf_ctx *ctx, const char *what, const char *path, bool whole_pages,
			 uint8_t **ret_buf, size_t *ret_len, struct cvmf_ovmf **ret);

/* measure/tdvf.c: fill o->tdvf_sections, or o->tdx_err/tdx_errmsg. */
void cvmf_tdvf_parse(const uint8_t *buf, size_t len, struct cvmf_ovmf *o);

/* measure/sev_hashes.c: the 176-byte padded SEV hashes table. */
#define CVMF_SEV_HASHES_TABLE_LEN 168
#define CVMF_SEV_HASHES_PADDED_LEN 176
void cvmf_sev_hashes_table(const uint8_t cmdline[32], const uint8_t initrd[32],
			   const uint8_t kernel[32], uint8_t out[CVMF_SEV_HASHES_PADDED_LEN]);

/* measure/vmsa.c: the initial VMSA page of one vCPU. */
enum cvmf_vmsa_kind {
	CVMF_VMSA_RESET,   /* OVMF reset state: BSP at 0xFFFFFFF0, APs at reset EIP */
	CVMF_VMSA_SVSM,    /* Coconut-SVSM entry in 32-bit protected mode */
};
void cvmf_vmsa_build(uint8_t page[4096], enum cvmf_vmsa_kind kind, enum cvmf_vmm vmm,
		     uint32_t eip, uint32_t sig, uint64_t sev_features);

/* measure/pe.c: the Authenticode digest of a PE/COFF image, computed as
 * edk2 does when it measures an image (HashPeImage): headers without the
 * CheckSum and the Certificate Table entry, the sections with raw data in
 * file order, then any trailing bytes before the certificate table. The
 * image is read through `src` in bounded chunks, so memory stays constant
 * for any size; every hasher gets the same bytes (one pass, several banks). */
struct cvmf_pe_source {
	uint64_t size;
	/* Read exactly len bytes at off into buf: 0, or a CVMF_E_* code with
	 * the message set in ctx. */
	int (*read)(void *u, cvmf_ctx *ctx, uint64_t off, uint8_t *buf, size_t len);
	void *u;
};
struct cvmf_hasher;
/* what: how messages name the image ("kernel 'vmlinuz'"). Each hasher is
 * reset first; out[i] receives hasher i's digest. */
int cvmf_authenticode(cvmf_ctx *ctx, const char *what, const struct cvmf_pe_source *src,
		      struct cvmf_hasher *const *hashers, size_t n_hashers, uint8_t *const *out);
/* A source over a buffer in memory (u = the struct itself). */
struct cvmf_pe_mem {
	struct cvmf_pe_source src;
	const uint8_t *buf;
};
void cvmf_pe_mem_init(struct cvmf_pe_mem *m, const uint8_t *buf, size_t len);

#endif
