/* SPDX-License-Identifier: Apache-2.0 */
/* Hex and base64: the only text forms a digest takes. */
#include <limits.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "common/encode.h"
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

int cmn_hexval(char c)
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
		int hi = cmn_hexval(s[2 * i]), lo = cmn_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CVMF_E_INVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* EVP_EncodeBlock/EVP_DecodeBlock take an int length: larger buffers go
 * through in chunks that keep the 3-byte / 4-character grouping. */
#define B64_CHUNK_IN (3u << 20)
#define B64_CHUNK_TEXT (4u << 20)

char *cmn_base64_encode(const uint8_t *b, size_t n)
{
	if (n / 3 >= (SIZE_MAX - 8) / 4)
		return NULL;
	size_t out_len = (n + 2) / 3 * 4;
	char *out = malloc(out_len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i += B64_CHUNK_IN) {
		size_t k = n - i < B64_CHUNK_IN ? n - i : B64_CHUNK_IN;
		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, b + i, (int)k);
	}
	out[o] = 0;
	return out;
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* The 6-bit value of an alphabet character. */
static unsigned b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0' + 52);
	return c == '+' ? 62 : 63;
}

int cmn_base64_decode(cvmf_ctx *ctx, const char *what, const char *s, size_t len,
		      uint8_t **ret, size_t *ret_len)
{
	if (len % 4)
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: invalid base64: %zu characters, not a multiple of 4 (padding is required)",
				  what, len);
	size_t pad = 0;
	if (len && s[len - 1] == '=')
		pad = len >= 2 && s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++) {
		if (b64_char(s[i]))
			continue;
		unsigned char c = (unsigned char)s[i];
		if (c == '=')
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: invalid base64: '=' at offset %zu, before the end", what, i);
		if (c > 0x20 && c < 0x7f)
			return cmn_error(ctx, CVMF_E_FORMAT,
					  "%s: invalid base64: character '%c' at offset %zu", what, c, i);
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: invalid base64: byte 0x%02x at offset %zu", what, c, i);
	}
	/* One encoding per byte string: the bits after the last byte are zero. */
	if (pad && (b64_val(s[len - pad - 1]) & (pad == 1 ? 0x3u : 0xfu)))
		return cmn_error(ctx, CVMF_E_FORMAT,
				  "%s: invalid base64: non-zero unused bits at offset %zu (non-canonical)",
				  what, len - pad - 1);
	size_t n = len / 4 * 3;
	uint8_t *out = malloc(n ? n : 1);
	if (!out)
		return cmn_error(ctx, CVMF_E_NOMEM, "%s: out of memory decoding base64", what);
	size_t o = 0;
	for (size_t i = 0; i < len; i += B64_CHUNK_TEXT) {
		size_t k = len - i < B64_CHUNK_TEXT ? len - i : B64_CHUNK_TEXT;
		int got = EVP_DecodeBlock(out + o, (const unsigned char *)s + i, (int)k);
		if (got < 0 || (size_t)got != k / 4 * 3) {
			free(out);
			return cmn_error(ctx, CVMF_E_FORMAT, "%s: invalid base64 near offset %zu",
					  what, i);
		}
		o += (size_t)got;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	*ret_len = o - pad;
	*ret = out;
	return 0;
}
