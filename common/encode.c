/* SPDX-License-Identifier: Apache-2.0 */
/* Hex and base64: the only text forms a digest takes. */
#include <openssl/evp.h>

#include "internal.h"

void cvmf_hex(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void cvmf_base64(const uint8_t *data, size_t len, char *out)
{
	/* EVP_EncodeBlock writes no newlines and NUL-terminates. */
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

int cvmf_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cvmf_unhex(const char *s, uint8_t *out, size_t len)
{
	if (strlen(s) != 2 * len)
		return CVMF_E_INVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = cvmf_hexval(s[2 * i]), lo = cvmf_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CVMF_E_INVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
