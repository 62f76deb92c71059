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

#endif
