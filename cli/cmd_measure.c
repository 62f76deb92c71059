/* SPDX-License-Identifier: Apache-2.0 */
/* `cvmforge measure PLATFORM ...`: one launch-measurement model per platform. */
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*run)(const char *prog, int argc, char **argv);
	const char *help;
} platforms[] = {
	{ "snp", measure_snp, "AMD SEV / SEV-ES / SEV-SNP launch digest (sev-snp-measure compatible)" },
	{ "tpm", measure_tpm, "vTPM PCRs 1-7 and 9 (sha256, sha384) of a QEMU + OVMF direct boot" },
	{ "tdx", measure_tdx, "Intel TDX MRTD and RTMR0..3 of a QEMU + TDVF direct boot" },
};

int cmd_measure(const char *prog, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: %s measure PLATFORM [OPTIONS]\n\nPlatforms:\n", prog);
		for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++)
			fprintf(f, "  %-6s %s\n", platforms[i].name, platforms[i].help);
		if (argc < 2)
			fprintf(f, "%s measure: error: a platform is required\n", prog);
		return argc < 2 ? EXIT_USAGE : EXIT_OK_;
	}
	for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++)
		if (!strcmp(platforms[i].name, argv[1])) {
			char name[64];
			snprintf(name, sizeof(name), "%s measure %s", prog, platforms[i].name);
			return platforms[i].run(name, argc - 1, argv + 1);
		}
	return usage_error(prog, "measure PLATFORM [OPTIONS]",
			   "unknown platform '%s' (choose from 'snp', 'tdx', 'tpm')", argv[1]);
}
