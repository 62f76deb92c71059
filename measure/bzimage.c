/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux setup header as QEMU's x86_load_linux() leaves it.
 *
 * With -kernel, QEMU (before 10.2 for confidential guests; always for the
 * legacy fw_cfg items) writes boot-loader fields into the kernel's setup
 * header before handing it to the firmware, and OVMF measures the image it
 * receives. The fields, with `proto` the u16 at 0x206 when "HdrS" is at
 * 0x202 (else 0):
 *
 *   real/cmdline: 0x10000/0x20000 if proto >= 0x202 and loadflags (0x211)
 *     bit 0; else 0x90000 / 0x9a000 - ((strlen(cmdline) + 16) & ~15)
 *   proto >= 0x202: u32 cmd_line_ptr (0x228) = cmdline; else u16 0x20 =
 *     0xA33F and u16 0x22 = cmdline - real
 *   "vga=" in the command line: u16 vid_mode (0x1FA)
 *   proto >= 0x200: type_of_loader (0x210) = 0xB0
 *   proto >= 0x201: loadflags |= 0x80; u16 heap_end_ptr (0x224) =
 *     cmdline - real - 0x200
 *   with an initrd (needs proto >= 0x200): initrd_max = 0xFFFFFFFF if
 *     proto >= 0x20C and xloadflags (0x236) has bit 1, else u32 0x22C if
 *     proto >= 0x203, else 0x37FFFFFF; capped at below_4g - acpi_data_size
 *     - 1; u32 ramdisk_image (0x218) = (initrd_max - size) & ~4095 and u32
 *     ramdisk_size (0x21C) = size.
 */
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

#define HDR_END 0x240   /* every field QEMU writes lies below this */

uint64_t msr_qemu_below_4g(uint64_t ram, bool q35)
{
	/* hw/i386/pc_q35.c and pc_piix.c, without max-ram-below-4g. */
	uint64_t threshold = q35 ? 0xB0000000ull : 0xE0000000ull;
	uint64_t low = q35 ? 0x80000000ull : 0xC0000000ull;
	return ram >= threshold ? low : ram;
}

static void vga_mode(const char *cmdline, uint8_t *hdr)
{
	const char *v = strstr(cmdline, "vga=");
	if (!v)
		return;
	v += 4;
	long mode;
	if (!strncmp(v, "normal", 6))
		mode = 0xffff;
	else if (!strncmp(v, "ext", 3))
		mode = 0xfffe;
	else if (!strncmp(v, "ask", 3))
		mode = 0xfffd;
	else
		mode = strtol(v, NULL, 0);
	cmn_put_le16(hdr + 0x1fa, (uint16_t)mode);
}

int msr_bzimage_check(cvmf_ctx *ctx, const char *what, const uint8_t *hdr, size_t hdr_len,
		       uint64_t file_size, bool has_initrd, uint16_t *ret_protocol)
{
	if (hdr_len < HDR_END)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s is %llu bytes, too short for a Linux setup header", what,
				  (unsigned long long)file_size);
	uint16_t protocol = 0;
	if (!memcmp(hdr + 0x202, "HdrS", 4))
		protocol = cmn_le16(hdr + 0x206);
	unsigned sects = hdr[0x1f1] ? hdr[0x1f1] : 4;
	size_t setup_len = (size_t)(sects + 1) * 512;
	if (setup_len > file_size)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: setup_sects %u (%zu bytes) exceeds the %llu-byte file", what,
				  hdr[0x1f1], setup_len, (unsigned long long)file_size);
	if (has_initrd && protocol < 0x200)
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "%s has boot protocol %#x: QEMU cannot pass it an initrd",
				  what, protocol);
	if (ret_protocol)
		*ret_protocol = protocol;
	return 0;
}

int msr_qemu_patch_setup(cvmf_ctx *ctx, const char *what, uint8_t *hdr, size_t hdr_len,
			  uint64_t file_size, const struct msr_qemu_linux *q,
			  struct msr_qemu_patch *ret)
{
	struct msr_qemu_patch p = { 0 };
	int r = msr_bzimage_check(ctx, what, hdr, hdr_len, file_size, q->has_initrd, &p.protocol);
	if (r)
		return r;
	unsigned sects = hdr[0x1f1] ? hdr[0x1f1] : 4;
	p.setup_len = (size_t)(sects + 1) * 512;
	const char *cmdline = q->cmdline ? q->cmdline : "";
	if (p.protocol < 0x202 || !(hdr[0x211] & 1)) {
		p.real_addr = 0x90000;
		p.cmdline_addr = 0x9a000 - (uint32_t)((strlen(cmdline) + 16) & ~(size_t)15);
	} else {
		p.real_addr = 0x10000;
		p.cmdline_addr = 0x20000;
	}
	if (p.protocol >= 0x20c && (cmn_le16(hdr + 0x236) & 0x2))
		p.initrd_max = 0xffffffffu;
	else if (p.protocol >= 0x203)
		p.initrd_max = cmn_le32(hdr + 0x22c);
	else
		p.initrd_max = 0x37ffffff;
	uint64_t acpi = q->acpi_data_size ? q->acpi_data_size : 0x28000;
	if (q->below_4g <= acpi)
		return cmn_error(ctx, CVMF_E_INVAL, "%llu bytes of RAM below 4 GiB cannot hold QEMU's ACPI data",
				  (unsigned long long)q->below_4g);
	if (p.initrd_max >= q->below_4g - acpi)
		p.initrd_max = (uint32_t)(q->below_4g - acpi - 1);

	if (p.protocol >= 0x202) {
		cmn_put_le32(hdr + 0x228, p.cmdline_addr);
	} else {
		cmn_put_le16(hdr + 0x20, 0xa33f);
		cmn_put_le16(hdr + 0x22, (uint16_t)(p.cmdline_addr - p.real_addr));
	}
	vga_mode(cmdline, hdr);
	if (p.protocol >= 0x200)
		hdr[0x210] = 0xb0;
	if (p.protocol >= 0x201) {
		hdr[0x211] |= 0x80;
		cmn_put_le16(hdr + 0x224, (uint16_t)(p.cmdline_addr - p.real_addr - 0x200));
	}
	if (q->has_initrd) {
		if (q->initrd_size >= p.initrd_max)
			return cmn_error(ctx, CVMF_E_INVAL,
					  "the %llu-byte initrd does not fit below the kernel's initrd limit 0x%x (QEMU refuses it)",
					  (unsigned long long)q->initrd_size, p.initrd_max);
		p.initrd_addr = (uint32_t)((p.initrd_max - q->initrd_size) & ~(uint64_t)4095);
		cmn_put_le32(hdr + 0x218, p.initrd_addr);
		cmn_put_le32(hdr + 0x21c, (uint32_t)q->initrd_size);
	}
	*ret = p;
	return 0;
}
