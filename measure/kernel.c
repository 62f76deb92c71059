/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The -kernel image as OVMF measures it: the file, with QEMU's setup-header
 * patch laid over its first bytes when the QEMU x OVMF pair measures the
 * patched image (measure/bzimage.c), hashed with Authenticode in one pass
 * for every bank asked for. Shared by the TDX and TPM predictions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/file.h"
#include "measure/measure.h"

#define KERNEL_HDR 4096

/* The kernel file, with the patched header over its first bytes. */
struct kernel_src {
	struct msr_pe_source src;
	int fd;
	const char *path;
	const uint8_t *hdr;
	size_t hdr_len;
};

static int kernel_read(void *u, cvmf_ctx *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct kernel_src *k = u;
	int r = cmn_file_pread(ctx, "kernel", k->path, k->fd, off, buf, len);
	if (!r && k->hdr && off < k->hdr_len) {
		size_t n = k->hdr_len - off < len ? (size_t)(k->hdr_len - off) : len;
		memcpy(buf, k->hdr + off, n);
	}
	return r;
}

int msr_kernel_measure(cvmf_ctx *ctx, const char *path, const struct msr_qemu_linux *q,
			bool patched, bool sha256_too, struct msr_kernel_image *ret)
{
	struct msr_kernel_image k = { .patched = patched };
	int fd = cmn_input_open(ctx, "kernel", path, CMN_MAX_KERNEL, 0, &k.size);
	if (fd < 0)
		return fd;
	uint8_t hdr[KERNEL_HDR], orig[KERNEL_HDR];
	size_t hdr_len = k.size < KERNEL_HDR ? (size_t)k.size : KERNEL_HDR;
	char what[300];
	snprintf(what, sizeof(what), "kernel '%s'", path);
	int r = cmn_file_pread(ctx, "kernel", path, fd, 0, hdr, hdr_len);
	/* The patch is computed either way, so that an image QEMU would refuse
	 * (an initrd too large, say) is refused here too. */
	if (!r) {
		memcpy(orig, hdr, hdr_len);
		r = msr_qemu_patch_setup(ctx, what, hdr, hdr_len, k.size, q, &k.patch);
		k.patch_changes_bytes = memcmp(orig, hdr, hdr_len) != 0;
	}
	struct cmn_hasher *h[2] = { NULL, NULL };
	if (!r)
		r = cmn_hasher_new(ctx, CMN_SHA384, &h[0]);
	if (!r && sha256_too)
		r = cmn_hasher_new(ctx, CMN_SHA256, &h[1]);
	if (!r) {
		struct kernel_src s = {
			.src = { .size = k.size, .read = kernel_read },
			.fd = fd,
			.path = path,
			.hdr = patched ? hdr : NULL,
			.hdr_len = hdr_len,
		};
		s.src.u = &s;
		uint8_t *out[2] = { k.authenticode.sha384, k.authenticode.sha256 };
		r = msr_authenticode(ctx, what, &s.src, h, sha256_too ? 2 : 1, out);
	}
	close(fd);
	uint8_t *outs[2] = { k.file.sha384, k.file.sha256 };
	if (!r && !sha256_too)
		r = cmn_hasher_new(ctx, CMN_SHA256, &h[1]);
	if (!r)
		r = cmn_hash_input(ctx, "kernel", path, CMN_MAX_KERNEL, 0, h, 2, outs, &k.file.size);
	k.file.present = !r;
	cmn_hasher_free(h[0]);
	cmn_hasher_free(h[1]);
	if (r)
		return r;
	*ret = k;
	return 0;
}

int msr_kernel_check(cvmf_ctx *ctx, const char *path, const struct msr_qemu_linux *q,
		      bool has_initrd, uint64_t *ret_size)
{
	uint64_t size;
	int fd = cmn_input_open(ctx, "kernel", path, CMN_MAX_KERNEL, 0, &size);
	if (fd < 0)
		return fd;
	uint8_t hdr[KERNEL_HDR];
	size_t hdr_len = size < KERNEL_HDR ? (size_t)size : KERNEL_HDR;
	char what[300];
	snprintf(what, sizeof(what), "kernel '%s'", path);
	int r = cmn_file_pread(ctx, "kernel", path, fd, 0, hdr, hdr_len);
	close(fd);
	struct msr_qemu_patch p;
	if (!r && q)
		r = msr_qemu_patch_setup(ctx, what, hdr, hdr_len, size, q, &p);
	else if (!r)
		r = msr_bzimage_check(ctx, what, hdr, hdr_len, size, has_initrd, NULL);
	if (!r && ret_size)
		*ret_size = size;
	return r;
}
