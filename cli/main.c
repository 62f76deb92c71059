/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvmforge: one binary, a table of verbs (dispatched by cli/dispatch.c, as
 * every sub-verb table is), one file per verb.
 *
 * Invoked as "sev-snp-measure" (a symlink), it is exactly that tool's
 * command line: `cvmforge measure snp` under another name.
 */
#include <string.h>

#include "cli/cli.h"

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

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "sev-snp-measure"))
		return measure_snp("sev-snp-measure", argc, argv);

	if (argc > 1 && !strcmp(argv[1], "--version"))
		return cmd_version("cvmforge", 1, argv + 1);
	return cli_dispatch(&top, argc, argv);
}
