/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded transparency log (docs/log.md): a c2sp.org/tlog-tiles log in a
 * plain directory, checkpoints signed as c2sp.org/signed-note with Ed25519,
 * c2sp.org/tlog-proof files verified offline, and a monitor. Included by
 * cvmforge/cvmforge.h; the same rules hold (no printing, negative CVMF_E_*
 * codes with a message in the context, ret_* written only on success).
 */
#ifndef CVMFORGE_LOG_H
#define CVMFORGE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvmforge/core.h"
#include "cvmforge/measure.h"
#include "cvmforge/build.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

#define CVMF_LOG_MAX_ENTRY 65535u       /* bytes; tlog-tiles' uint16 length prefix */

/* Create a log in DIR (absent or empty) for `origin`, signed by the Ed25519 key
 * at key_path: an existing key (PKCS#8/PEM, or a golang.org/x/mod
 * "PRIVATE+KEY+origin+..." signer key) is used, an absent one is generated
 * there (0600, with KEY.pub). key_path NULL means DIR.key beside DIR. The key
 * may not lie inside DIR (the served tree). *ret_vkey gets the verifier key
 * "origin+keyid+base64" (malloc'd). An empty checkpoint is signed. */
int cvmf_log_init(cvmf_ctx *ctx, const char *dir, const char *origin, const char *key_path,
		  char **ret_vkey);

/* Append entries (each 0..65535 bytes) in one batch under the log's lock, integrate them, commit the tree state and sign one
 * new checkpoint. *ret_first gets the index of the first entry; the others
 * follow in order. Nothing is appended if any entry is refused. */
int cvmf_log_add(cvmf_ctx *ctx, const char *dir, const uint8_t *const *entries,
		 const size_t *lens, size_t n, uint64_t *ret_first);
/* The same for files (each read whole, refused above 65535 bytes, naming it). */
int cvmf_log_add_files(cvmf_ctx *ctx, const char *dir, const char *const *paths, size_t n,
		       uint64_t *ret_first);

/* The log's origin, and the size and root of its published checkpoint. */
struct cvmf_log_state {
	char origin[256];
	uint64_t size;
	uint8_t root[32];
};
int cvmf_log_state(cvmf_ctx *ctx, const char *dir, struct cvmf_log_state *ret);

/* A c2sp.org/tlog-proof for entry `index` against the current checkpoint, with
 * the entry in its "extra" line (malloc'd text). */
int cvmf_log_proof(cvmf_ctx *ctx, const char *dir, uint64_t index, char **ret, size_t *ret_len);

struct cvmf_log_verify_opts {
	const char *vkey;               /* the log's verifier key (required) */
	const char *const *witnesses;   /* cosignature/v1 verifier keys */
	size_t n_witnesses;
	size_t quorum;                  /* witnesses that must have cosigned */
	const uint8_t *entry;           /* the entry; NULL: the proof's extra line */
	size_t entry_len;
};

struct cvmf_log_verified {
	char origin[256];
	uint64_t index, size;
	uint8_t root[32], leaf[32];
	size_t n_cosigned;              /* distinct witnesses whose cosignature verified */
	uint8_t *entry;                 /* the entry that was proven (malloc'd) */
	size_t entry_len;
};

/* Verify a tlog-proof offline: the checkpoint signed by the log key, the
 * witnesses' cosignatures up to the quorum, the inclusion of the entry. Any
 * failure to verify is CVMF_E_CRYPTO; malformed input CVMF_E_FORMAT. */
int cvmf_log_verify_proof(cvmf_ctx *ctx, const void *proof, size_t len,
			  const struct cvmf_log_verify_opts *opts, struct cvmf_log_verified *ret);
void cvmf_log_verified_clear(struct cvmf_log_verified *v);

/* The monitor: the log's newest checkpoint, proven consistent with the one in
 * the state file (absent: first run, the whole log is checked), every entry
 * added since checked against the new root and passed to `entry`. The state
 * file is replaced only when everything verified. */
enum cvmf_log_alert {
	CVMF_LOG_OK = 0,
	CVMF_LOG_ROLLBACK = 1,          /* the log is smaller than the last checkpoint seen */
	CVMF_LOG_SPLIT_VIEW = 2,        /* a checkpoint inconsistent with the last one seen */
};
typedef int (*cvmf_log_entry_fn)(void *user, uint64_t index, const uint8_t *entry, size_t len);
struct cvmf_log_monitor_result {
	enum cvmf_log_alert alert;
	char detail[512];               /* what the alert is about */
	bool first;                     /* no state file yet */
	uint64_t old_size, new_size;
	uint8_t old_root[32], new_root[32];
};
int cvmf_log_monitor(cvmf_ctx *ctx, const char *dir, const char *vkey, const char *state_path,
		     cvmf_log_entry_fn entry, void *user, struct cvmf_log_monitor_result *ret);

/* Publish a signed image (cvmforge sign): its measurement statement envelope
 * (measurements.dsse.json, in the image directory or beside a tarball) becomes
 * one entry, and the tlog-proof is written beside the image as IMAGE.tlog-proof
 * (*ret_proof_path, malloc'd). An existing IMAGE.tlog-proof is not replaced. */
int cvmf_log_publish(cvmf_ctx *ctx, const char *image, const char *log_dir,
		     char **ret_proof_path, uint64_t *ret_index);
/* Verify IMAGE.tlog-proof offline, the entry being the image's envelope (opts'
 * entry is ignored). The envelope's own signature is cvmf_verify_signatures'. */
int cvmf_log_check_image(cvmf_ctx *ctx, const char *image, const struct cvmf_log_verify_opts *opts,
			 struct cvmf_log_verified *ret);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CVMFORGE_LOG_H */
