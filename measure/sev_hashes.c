/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV hashes table that OVMF checks kernel, initrd and cmdline against
 * (QEMU's SevHashTable, all fields packed):
 *   GUID 9438d606-4f22-4cc9-b479-a793d411fd21, u16 length = 168,
 *   then three entries of GUID, u16 length = 50, SHA-256[32],
 *   IN THIS ORDER: cmdline, initrd, kernel -- do not reorder,
 * padded with zeros to 176 bytes (a multiple of 16).
 */
#include "common/internal.h"
#include "measure/measure.h"

static const uint8_t GUID_TABLE[16] = {
	0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
	0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21 };
static const uint8_t GUID_CMDLINE[16] = {
	0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
	0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a };
static const uint8_t GUID_INITRD[16] = {
	0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
	0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d };
static const uint8_t GUID_KERNEL[16] = {
	0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
	0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b };

#define ENTRY_LEN 50

static uint8_t *put_entry(uint8_t *p, const uint8_t guid[16], const uint8_t hash[32])
{
	memcpy(p, guid, 16);
	cmn_put_le16(p + 16, ENTRY_LEN);
	memcpy(p + 18, hash, 32);
	return p + ENTRY_LEN;
}

void msr_sev_hashes_table(const uint8_t cmdline[32], const uint8_t initrd[32],
			   const uint8_t kernel[32], uint8_t out[MSR_SEV_HASHES_PADDED_LEN])
{
	_Static_assert(16 + 2 + 3 * ENTRY_LEN == MSR_SEV_HASHES_TABLE_LEN, "table layout");
	memset(out, 0, MSR_SEV_HASHES_PADDED_LEN);
	memcpy(out, GUID_TABLE, 16);
	cmn_put_le16(out + 16, MSR_SEV_HASHES_TABLE_LEN);
	uint8_t *p = out + 18;
	p = put_entry(p, GUID_CMDLINE, cmdline);
	p = put_entry(p, GUID_INITRD, initrd);
	put_entry(p, GUID_KERNEL, kernel);
}
