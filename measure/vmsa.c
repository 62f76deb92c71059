/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The initial VMSA (SEV-ES save area) page of a vCPU, as KVM builds it from
 * the VMM's reset state. Only the fields below are non-zero; the offsets are
 * those of the AMD APM "VMSA layout" table (see docs/measure-snp.md).
 */
#include "common/internal.h"
#include "measure/measure.h"

/* Save-area offsets. */
enum {
	VMSA_ES = 0x000, VMSA_CS = 0x010, VMSA_SS = 0x020, VMSA_DS = 0x030,
	VMSA_FS = 0x040, VMSA_GS = 0x050, VMSA_GDTR = 0x060, VMSA_LDTR = 0x070,
	VMSA_IDTR = 0x080, VMSA_TR = 0x090,
	VMSA_EFER = 0x0d0, VMSA_CR4 = 0x148, VMSA_CR0 = 0x158, VMSA_DR7 = 0x160,
	VMSA_DR6 = 0x168, VMSA_RFLAGS = 0x170, VMSA_RIP = 0x178, VMSA_G_PAT = 0x268,
	VMSA_RDX = 0x310, VMSA_SEV_FEATURES = 0x3b0, VMSA_XCR0 = 0x3e8,
	VMSA_MXCSR = 0x408, VMSA_X87_FCW = 0x410,
};

#define BSP_EIP 0xfffffff0u

/* A segment register: u16 selector, u16 attrib, u32 limit, u64 base. */
static void put_seg(uint8_t *p, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
	cmn_put_le16(p, sel);
	cmn_put_le16(p + 2, attr);
	cmn_put_le32(p + 4, limit);
	cmn_put_le64(p + 8, base);
}

void msr_vmsa_build(uint8_t page[4096], enum msr_vmsa_kind kind, enum cvmf_vmm vmm,
		     uint32_t eip, uint32_t sig, uint64_t sev_features)
{
	memset(page, 0, 4096);
	const bool qemu = vmm == CVMF_VMM_QEMU, ec2 = vmm == CVMF_VMM_EC2;

	if (kind == MSR_VMSA_SVSM) {
		/* Coconut-SVSM starts in flat 32-bit protected mode. */
		put_seg(page + VMSA_ES, 0x10, 0xc93, 0xffffffff, 0);
		put_seg(page + VMSA_CS, 0x08, 0xc9b, 0xffffffff, 0);
		put_seg(page + VMSA_SS, 0x10, 0xc93, 0xffffffff, 0);
		put_seg(page + VMSA_DS, 0x10, 0xc93, 0xffffffff, 0);
		put_seg(page + VMSA_FS, 0x10, 0xc93, 0xffffffff, 0);
		put_seg(page + VMSA_GS, 0, 0x93, 0xffff, 0);
		put_seg(page + VMSA_GDTR, 0, 0, 0xffff, 0);
		put_seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
		put_seg(page + VMSA_IDTR, 0, 0, 0xffff, 0);
		put_seg(page + VMSA_TR, 0, 0x8b, 0xffff, 0);
		cmn_put_le64(page + VMSA_CR0, 0x11);
		cmn_put_le64(page + VMSA_RIP, eip);
		cmn_put_le64(page + VMSA_G_PAT, 0x0007040600070406ull);
		cmn_put_le64(page + VMSA_RDX, sig);
		/* Through a keyword typo the reference never sets x87_fcw here;
		 * its published values depend on it (docs/measure-snp.md). */
		cmn_put_le64(page + VMSA_SEV_FEATURES, sev_features);
		cmn_put_le32(page + VMSA_MXCSR, 0x1f80);
	} else {
		/* Real-mode reset state; cs.base/rip split the reset EIP. */
		const uint16_t cs_attr = ec2 && eip == BSP_EIP ? 0x9a : 0x9b;
		put_seg(page + VMSA_ES, 0, 0x93, 0xffff, 0);
		put_seg(page + VMSA_CS, 0xf000, cs_attr, 0xffff, eip & 0xffff0000u);
		put_seg(page + VMSA_SS, 0, ec2 ? 0x92 : 0x93, 0xffff, 0);
		put_seg(page + VMSA_DS, 0, 0x93, 0xffff, 0);
		put_seg(page + VMSA_FS, 0, 0x93, 0xffff, 0);
		put_seg(page + VMSA_GS, 0, 0x93, 0xffff, 0);
		put_seg(page + VMSA_GDTR, 0, 0, 0xffff, 0);
		put_seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
		put_seg(page + VMSA_IDTR, 0, 0, 0xffff, 0);
		put_seg(page + VMSA_TR, 0, ec2 ? 0x83 : 0x8b, 0xffff, 0);
		cmn_put_le64(page + VMSA_CR0, 0x10);
		cmn_put_le64(page + VMSA_RIP, eip & 0xffffu);
		cmn_put_le64(page + VMSA_G_PAT, vmm == CVMF_VMM_GCE ? 0x00070106ull
								       : 0x0007040600070406ull);
		/* QEMU puts CPUID(1).EAX in EDX at reset; EC2 and GCE use 0x600. */
		cmn_put_le64(page + VMSA_RDX, cvmf_vmm_uses_vcpu_sig(vmm) ? sig : 0x600);
		cmn_put_le64(page + VMSA_SEV_FEATURES, sev_features);
		if (qemu) {
			/* KVM_SEV_INIT2 hosts initialise the FPU state. */
			cmn_put_le32(page + VMSA_MXCSR, 0x1f80);
			cmn_put_le16(page + VMSA_X87_FCW, 0x37f);
		}
	}
	cmn_put_le64(page + VMSA_EFER, 0x1000);
	cmn_put_le64(page + VMSA_CR4, 0x40);
	cmn_put_le64(page + VMSA_DR7, 0x400);
	cmn_put_le64(page + VMSA_DR6, 0xffff0ff0);
	cmn_put_le64(page + VMSA_RFLAGS, 0x2);
	cmn_put_le64(page + VMSA_XCR0, 0x1);
}
