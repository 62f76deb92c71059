/* SPDX-License-Identifier: Apache-2.0 */
/* Text encodings of bytes (common/encode.c). Internal, not installed.
 * Hex is cvmf_hex()/cvmf_unhex() in the public header and cmn_hexval() in
 * common/internal.h. */
#ifndef CMN_ENCODE_H
#define CMN_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "cvmforge/cvmforge.h"

/* Strict base64 (RFC 4648 section 4, the standard alphabet): the length a
 * multiple of 4, '=' padding required and only at the end, the unused bits of
 * the last character zero (one encoding per byte string), no whitespace, line
 * breaks, NUL or other characters. Errors (CVMF_E_FORMAT) name WHAT and the
 * offset. *ret is malloc'd (never NULL on success, even for 0 bytes). */
int cmn_base64_decode(cvmf_ctx *ctx, const char *what, const char *s, size_t len,
		      uint8_t **ret, size_t *ret_len);
/* Standard base64 with padding, no line breaks: malloc'd, NUL-terminated;
 * NULL when out of memory. */
char *cmn_base64_encode(const uint8_t *b, size_t n);

#endif
