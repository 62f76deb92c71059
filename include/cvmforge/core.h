/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge: reproducible Confidential VM images and their launch measurements.
 *
 * The core of the public API of libcvmforge: context, errors, encodings
 * and the types every part shares. Rules that hold for every function here:
 *   - the library never prints; a failing call returns a negative CVMF_E_*
 *     code and leaves a one-line message in the context (cvmf_ctx_errmsg);
 *   - ret_* out-parameters are written only on success;
 *   - every *_free() accepts NULL.
 */
#ifndef CVMFORGE_CORE_H
#define CVMFORGE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared in include/cvmforge/, and only this, is exported from
 * libcvmforge.so (the library is built with -fvisibility=hidden). */
#pragma GCC visibility push(default)

#define CVMF_VERSION "0.1.0"

/* The SEV/SNP algorithm revision we reproduce (see docs/measure-snp.md). */
#define CVMF_SNP_ALGORITHM "sev-snp-measure 0.0.13+8f2b337"

/* Error codes: values are part of the ABI, do not reorder. */
enum cvmf_err {
	CVMF_OK = 0,
	CVMF_E_NOMEM = -1,       /* allocation failed */
	CVMF_E_IO = -2,          /* a file could not be opened or read */
	CVMF_E_FORMAT = -3,      /* an input file is malformed */
	CVMF_E_INVAL = -4,       /* a parameter is out of range or inconsistent */
	CVMF_E_UNSUPPORTED = -5, /* well-formed, but cannot do what was asked */
	CVMF_E_CRYPTO = -6,      /* the crypto library failed */
};

typedef struct cvmf_ctx cvmf_ctx;

cvmf_ctx *cvmf_ctx_new(void);
void cvmf_ctx_free(cvmf_ctx *ctx);
/* The message of the last failure, "" if none. Valid until the next call. */
const char *cvmf_ctx_errmsg(const cvmf_ctx *ctx);
const char *cvmf_strerror(int err);

/* Encodings. out must hold 2*len+1 (hex) or 4*((len+2)/3)+1 (base64) bytes. */
void cvmf_hex(const uint8_t *data, size_t len, char *out);
void cvmf_base64(const uint8_t *data, size_t len, char *out);
/* Decode exactly `len` bytes of hex (either case); 0 or CVMF_E_INVAL. */
int cvmf_unhex(const char *s, uint8_t *out, size_t len);

struct cvmf_file_digest {
	bool present;
	bool derived;                   /* computed by cvmforge, not read */
	uint64_t size;
	uint8_t sha256[32], sha384[48];
};

/* A long step's progress: `what` names it ("initrd", "download ovmf"); total
 * is 0 when unknown. */
typedef void (*cvmf_progress_fn)(void *user, const char *what, uint64_t done, uint64_t total);

/* One comparison made by verify or reproduce: `what` names the file,
 * measurement or entry, `detail` says what differs (or "" when ok). */
typedef void (*cvmf_check_fn)(void *user, const char *what, bool ok, const char *detail);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CVMFORGE_CORE_H */
