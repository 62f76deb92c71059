/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inputs, opened one way (common/file.c). Every file a verb reads is opened
 * through cmn_input_open (directly, or through cmn_read_file,
 * cmn_hash_file, cmn_sha256_file and cmn_file_open, which use it):
 *   - regular files only: a directory, character or block device (/dev/zero),
 *     FIFO or socket is refused with a message naming the role and the path;
 *     the open never blocks (O_NONBLOCK until fstat has said what it is);
 *   - symlinks are followed unless CMN_IN_NOFOLLOW (image files);
 *   - the size cap is checked with fstat before any byte is read or hashed,
 *     and a file that grows past its fstat size while read is an error.
 * Internal.
 */
#ifndef CMN_FILE_H
#define CMN_FILE_H

#include <stdint.h>

#include "common/internal.h"

/* The caps (docs/architecture.md, "Memory"). */
/* -kernel: QEMU keeps the kernel's size in 32 bits (and no bzImage is near it). */
#define CMN_MAX_KERNEL ((uint64_t)UINT32_MAX)
/* -initrd: the setup header's ramdisk_size is a u32; QEMU's limit is lower still. */
#define CMN_MAX_INITRD ((uint64_t)UINT32_MAX)
/* Any other streamed input (image files, tree files, packages, tarballs). */
#define CMN_MAX_STREAM ((uint64_t)64 << 30)

enum {
	CMN_IN_NOFOLLOW = 1u << 0, /* a symlink is refused, not followed */
};

/* Open an input for reading: an fd (>= 0, blocking, close-on-exec) or a
 * CVMF_E_* code with the message set. *ret_size (may be NULL) is its size. */
int cmn_input_open(cvmf_ctx *ctx, const char *what, const char *path, uint64_t max,
		   unsigned flags, uint64_t *ret_size);

/* cmn_hash_file with a cap and flags. */
int cmn_hash_input(cvmf_ctx *ctx, const char *what, const char *path, uint64_t max,
		   unsigned flags, struct cmn_hasher *const *h, size_t n_hashers,
		   uint8_t *const *out, uint64_t *ret_size);

/* Compare two inputs by streaming them side by side (constant memory). *ret_same
 * is true when their bytes are equal; otherwise *ret_off is the offset of the
 * first difference (the shorter size when one is a prefix of the other). Sizes
 * are returned in ret_size_a/_b (either may be NULL). */
int cmn_compare_inputs(cvmf_ctx *ctx, const char *what_a, const char *path_a,
		       const char *what_b, const char *path_b, uint64_t max, unsigned flags,
		       bool *ret_same, uint64_t *ret_off, uint64_t *ret_size_a,
		       uint64_t *ret_size_b);

#endif
