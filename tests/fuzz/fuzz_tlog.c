/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the log's parsers: signed notes (log/note.c),
 * checkpoints (log/checkpoint.c), verifier and signer keys, and tlog-proof
 * files (log/proof.c, verified against a fixed log key and a witness key).
 * Nothing may crash, hang or leak; a parse that succeeds must be consistent.
 */
#include <stdlib.h>
#include <string.h>

#include "log/tlog.h"

#define LOG_VKEY "example.com/testlog+aa158d86+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
#define WIT_VKEY "example.org/witness+cacf2e50+BGbguFjkYqYJ5m/nE3DIFtiEb/ED1UmaIqf+w3/bxCSn"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tlg_verifier *v[2];
	if (!v[0] && (tlg_vkey_parse(NULL, "log", LOG_VKEY, &v[0]) ||
		      tlg_vkey_parse(NULL, "witness", WIT_VKEY, &v[1])))
		abort();
	cvmf_ctx *ctx = cvmf_ctx_new();
	struct tlg_note *n = NULL;
	if (tlg_note_parse(ctx, "fuzz", data, size, &n) == 0) {
		if (!n->n_sigs || n->text[n->text_len - 1] != '\n' ||
		    strlen(n->text) != n->text_len)
			abort();
		bool ok[2];
		uint64_t times[2];
		size_t count;
		(void)tlg_note_verify(ctx, "fuzz", n, v, 2, ok, times, &count);
		struct tlg_checkpoint c = { 0 };
		if (tlg_checkpoint_parse(ctx, "fuzz", n->text, n->text_len, &c) == 0) {
			if (!c.origin || c.size > INT64_MAX)
				abort();
			tlg_checkpoint_clear(&c);
		}
		tlg_note_free(n);
	}
	/* The first line as a verifier key and a signer key. */
	char line[256];
	size_t l = 0;
	while (l < size && l < sizeof(line) - 1 && data[l] != '\n')
		l++;
	memcpy(line, data, l);
	line[l] = '\0';
	struct tlg_verifier *kv = NULL;
	if (tlg_vkey_parse(ctx, "fuzz", line, &kv) == 0)
		tlg_verifier_free(kv);
	char *name = NULL;
	EVP_PKEY *pk = NULL;
	if (tlg_skey_parse(ctx, "fuzz", line, &name, &pk) == 0) {
		free(name);
		EVP_PKEY_free(pk);
	}
	/* The whole input as a tlog-proof, with and without a witness quorum. */
	const char *w[1] = { WIT_VKEY };
	struct cvmf_log_verify_opts o = { .vkey = LOG_VKEY, .witnesses = w, .n_witnesses = 1,
					  .quorum = size & 1 };
	struct cvmf_log_verified res;
	if (cvmf_log_verify_proof(ctx, data, size, &o, &res) == 0)
		cvmf_log_verified_clear(&res);
	cvmf_ctx_free(ctx);
	return 0;
}
