/* SPDX-License-Identifier: Apache-2.0 */
/*
 * edk2's authenticated variable store, as in OVMF_VARS*.fd (and at the start
 * of the combined OVMF.fd), and the signature lists in db.
 *
 *   firmware volume header: u16 HeaderLength at offset 48, "_FVH" at 40
 *   VARIABLE_STORE_HEADER (28 bytes) at HeaderLength: GUID
 *     aaf32c78-947b-439a-a180-2e144ec37792 (authenticated), u32 Size,
 *     u8 Format, u8 State, 6 reserved bytes
 *   AUTHENTICATED_VARIABLE_HEADER (60 bytes), each 4-byte aligned:
 *     u16 StartId 0x55AA, u8 State, u8 reserved, u32 Attributes,
 *     u64 MonotonicCount, EFI_TIME (16), u32 PubKeyIndex, u32 NameSize,
 *     u32 DataSize, GUID VendorGuid; then the UTF-16 name with its NUL and
 *     the data. The store ends at the first header without 0x55AA; only
 *     variables in state VAR_ADDED (0x3F) are live.
 *   EFI_SIGNATURE_LIST: GUID SignatureType, u32 ListSize, u32 HeaderSize,
 *     u32 SignatureSize, header, then SignatureSize-byte entries
 *     (EFI_SIGNATURE_DATA: 16-byte owner GUID + payload).
 */
#include <stdlib.h>

#include "common/internal.h"
#include "measure/measure.h"

static const uint8_t GUID_AUTH_VAR_STORE[16] = {
	0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
	0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };

#define STORE_HDR 28
#define VAR_HDR 60
#define VAR_ADDED 0x3f

void msr_varstore_free(struct msr_varstore *s)
{
	free(s->vars);
	s->vars = NULL;
	s->n = 0;
}

int msr_varstore_parse(cvmf_ctx *ctx, const char *what, const uint8_t *buf, size_t len,
			struct msr_varstore *ret)
{
	struct msr_varstore s = { 0 };
	if (len < 56 || memcmp(buf + 40, "_FVH", 4))
		return cmn_error(ctx, CVMF_E_FORMAT, "%s does not start with a firmware volume",
				  what);
	size_t at = cmn_le16(buf + 48);
	if (at < 56 || at > len || len - at < STORE_HDR)
		return cmn_error(ctx, CVMF_E_FORMAT, "%s: firmware volume header length %zu is wrong",
				  what, at);
	if (memcmp(buf + at, GUID_AUTH_VAR_STORE, 16))
		return cmn_error(ctx, CVMF_E_UNSUPPORTED,
				  "%s: the variable store at offset 0x%zx is not an authenticated store",
				  what, at);
	uint32_t size = cmn_le32(buf + at + 16);
	size_t end = size > len - at ? len : at + size;
	size_t cap = 0;
	for (size_t p = at + STORE_HDR; p + VAR_HDR <= end;) {
		const uint8_t *h = buf + p;
		if (cmn_le16(h) != 0x55aa)
			break;
		uint32_t nsz = cmn_le32(h + 36), dsz = cmn_le32(h + 40);
		if (nsz > end - p - VAR_HDR || dsz > end - p - VAR_HDR - nsz) {
			msr_varstore_free(&s);
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: variable at offset 0x%zx runs past the store", what, p);
		}
		if (h[2] == VAR_ADDED) {
			if (s.n == cap) {
				cap = cap ? 2 * cap : 16;
				struct msr_efi_var *nv = realloc(s.vars, cap * sizeof(*nv));
				if (!nv) {
					msr_varstore_free(&s);
					return cmn_error(ctx, CVMF_E_NOMEM, "out of memory");
				}
				s.vars = nv;
			}
			struct msr_efi_var *v = &s.vars[s.n++];
			memset(v, 0, sizeof(*v));
			memcpy(v->guid, h + 44, 16);
			/* The name as ASCII; other characters become '?'. */
			size_t k = 0;
			for (size_t i = 0; i + 1 < nsz && k + 1 < sizeof(v->name); i += 2) {
				uint16_t c = cmn_le16(h + VAR_HDR + i);
				if (!c)
					break;
				v->name[k++] = c < 0x80 ? (char)c : '?';
			}
			v->data = h + VAR_HDR + nsz;
			v->len = dsz;
		}
		size_t next = p + VAR_HDR + nsz + dsz;
		p = (next + 3) & ~(size_t)3;
	}
	*ret = s;
	return 0;
}

const struct msr_efi_var *msr_varstore_find(const struct msr_varstore *s,
					      const uint8_t guid[16], const char *name)
{
	const struct msr_efi_var *hit = NULL;
	for (size_t i = 0; i < s->n; i++)   /* the last live copy wins */
		if (!memcmp(s->vars[i].guid, guid, 16) && !strcmp(s->vars[i].name, name))
			hit = &s->vars[i];
	return hit;
}

int msr_siglist_find(const uint8_t *db, size_t len, const uint8_t *payload, size_t plen,
		      const uint8_t **ret, size_t *ret_len)
{
	size_t p = 0;
	while (len - p >= 28) {
		uint32_t list = cmn_le32(db + p + 16), hdr = cmn_le32(db + p + 20),
			 sig = cmn_le32(db + p + 24);
		if (list < 28 || list > len - p || hdr > list - 28 || sig < 16)
			return CVMF_E_FORMAT;
		for (size_t e = p + 28 + hdr; e + sig <= p + list; e += sig)
			if (sig - 16 == plen && !memcmp(db + e + 16, payload, plen)) {
				*ret = db + e;
				*ret_len = sig;
				return 0;
			}
		p += list;
	}
	return CVMF_E_UNSUPPORTED;
}
