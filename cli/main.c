/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge: one binary, a table of verbs (dispatched by cli/dispatch.c, as
 * every sub-verb table is), one file per verb.
 *
 * Invoked as "sev-snp-measure" (a symlink), it is exactly that tool's
 * command line: `cvmforge measure snp` under another name.
 */
#include <signal.h>
#include <string.h>

#include "cli/cli.h"
#include "common/write.h"

static int cmd_help(const char *prog, int argc, char **argv);
static int cmd_version(const char *prog, int argc, char **argv);

static const struct verb verbs[] = {
	{ "build", cmd_build, "build RECIPE -o OUT [--lock] [--json]",
	  "build a CVM image from a recipe, with its launch measurements" },
	{ "verify", cmd_verify, "verify IMAGE [--pubkey PUB] [--json]",
	  "recompute an image's measurements from its own files" },
	{ "reproduce", cmd_reproduce, "reproduce RECIPE --against IMAGE",
	  "rebuild a recipe and compare it with an image, bit for bit" },
	{ "measure", cmd_measure, "measure snp|tdx|tpm [OPTIONS]",
	  "compute launch measurements (SEV-SNP, TDX, vTPM) of given files" },
	{ "inspect", cmd_inspect, "inspect ovmf FILE [--json]",
	  "show what a firmware image declares: GUID table, SEV and TDX metadata" },
	{ "initrd", cmd_initrd, "initrd -o OUT [--tree DIR[:PREFIX]]...|diff A B", "build a deterministic initrd, or compare two" },
	{ "eventlog", cmd_eventlog, "eventlog replay|show|diff ...", "replay, list and compare TPM and CCEL event logs" },
	{ "key", cmd_key, "key generate|show ...", "generate a signing key, or show a key's fingerprint" },
	{ "sign", cmd_sign, "sign IMAGE --key KEY | sign id-block ...", "sign an image's measurements and provenance; SNP ID blocks" },
	{ "publish", cmd_publish, "publish IMAGE --log DIR", "log a signed image's measurement statement; write IMAGE.tlog-proof" },
	{ "log", cmd_log, "log init|add|proof|verify|monitor|serve ...", "the embedded transparency log: tiles, checkpoints, offline proofs" },
	{ "attest", cmd_attest, "attest show|verify FILE ...", "parse and verify an SEV-SNP report or TDX quote" },
	{ "help", cmd_help, "help [VERB]", "show this help, or a verb's" },
	{ "version", cmd_version, "version", "print the version" },
};

static const struct verb_table top = {
	.prog = "cvmforge",
	.metavar = "VERB",
	.heading = "Verbs",
	.about = "cvmforge builds Confidential VM images and precomputes their launch measurements.\n",
	.epilog = "Run 'cvmforge VERB --help' for a verb's options.\n"
		  "Exit codes: 0 success, 1 failure, 2 usage error, 3 a compared value differs.\n",
	.verbs = verbs,
	.n = sizeof(verbs) / sizeof(verbs[0]),
};

static int cmd_help(const char *prog, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "help")) {
		const struct verb *v = cli_dispatch_find(&top, argv[1]);
		if (!v)   /* the dispatch's own "invalid choice" */
			return cli_dispatch(&top, 2, (char *[]){ argv[0], argv[1], NULL });
		char *args[] = { argv[1], "--help", NULL };
		return v->run(prog, 2, args);
	}
	cli_dispatch_help(&top, stdout);
	return EXIT_OK_;
}

static int cmd_version(const char *prog, int argc, char **argv)
{
	(void)prog;
	(void)argc;
	(void)argv;
	printf("cvmforge %s (SEV/SNP model: %s)\n", CVMF_VERSION, CVMF_SNP_ALGORITHM);
	return EXIT_OK_;
}

/* SIGINT, SIGTERM, SIGHUP: remove the registered temporaries (a build's
 * directory, an extracted tarball, a half-written output) with
 * async-signal-safe calls only, then die of the signal, so that the exit
 * status still says which. SA_RESETHAND restores the default action; the
 * re-raised signal stays blocked until the handler returns. */
static void on_signal(int sig)
{
	cmn_tmp_remove_all();
	raise(sig);
}

static void install_signal_cleanup(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
		sigemptyset(&sa.sa_mask);
		for (size_t j = 0; j < sizeof(sigs) / sizeof(sigs[0]); j++)
			sigaddset(&sa.sa_mask, sigs[j]);
		/* An ignored signal (nohup) stays ignored. */
		if (!sigaction(sigs[i], NULL, &old) && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

int main(int argc, char **argv)
{
	install_signal_cleanup();
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "sev-snp-measure"))
		return cmd_measure_snp("sev-snp-measure", argc, argv);

	if (argc > 1 && !strcmp(argv[1], "--version"))
		return cmd_version("cvmforge", 1, argv + 1);
	return cli_dispatch(&top, argc, argv);
}
