/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge measure PLATFORM ...`: one launch-measurement model per platform. */
#include <stdio.h>

#include "cli/cli.h"

static const struct verb platforms[] = {
	{ "snp", cmd_measure_snp, "snp", "AMD SEV / SEV-ES / SEV-SNP launch digest (sev-snp-measure compatible)" },
	{ "tpm", cmd_measure_tpm, "tpm", "vTPM PCRs 1-7 and 9 (sha256, sha384) of a QEMU + OVMF direct boot" },
	{ "tdx", cmd_measure_tdx, "tdx", "Intel TDX MRTD and RTMR0..3 of a QEMU + TDVF direct boot" },
};

int cmd_measure(const char *prog, int argc, char **argv)
{
	char name[64];
	snprintf(name, sizeof(name), "%s measure", prog);
	const struct verb_table t = {
		.prog = name,
		.metavar = "PLATFORM",
		.heading = "Platforms",
		.epilog = "Run 'cvmforge measure PLATFORM --help' for a platform's options.\n",
		.verbs = platforms,
		.n = sizeof(platforms) / sizeof(platforms[0]),
		.sub_prog = true,
	};
	return cli_dispatch(&t, argc, argv);
}
