/* SPDX-License-Identifier: Apache-2.0 */
/* QEMU -cpu models of AMD EPYC and the CPUID(1).EAX signature they report. */
#include "common/internal.h"

/* In the order sev-snp-measure lists them (its error message shows it). */
static const struct cvmf_cpu_type cpu_types[] = {
	{ "EPYC", 23, 1, 2 },        { "EPYC-v1", 23, 1, 2 },
	{ "EPYC-v2", 23, 1, 2 },     { "EPYC-IBPB", 23, 1, 2 },
	{ "EPYC-v3", 23, 1, 2 },     { "EPYC-v4", 23, 1, 2 },
	{ "EPYC-Rome", 23, 49, 0 },  { "EPYC-Rome-v1", 23, 49, 0 },
	{ "EPYC-Rome-v2", 23, 49, 0 }, { "EPYC-Rome-v3", 23, 49, 0 },
	{ "EPYC-Milan", 25, 1, 1 },  { "EPYC-Milan-v1", 25, 1, 1 },
	{ "EPYC-Milan-v2", 25, 1, 1 }, { "EPYC-Genoa", 25, 17, 0 },
	{ "EPYC-Genoa-v1", 25, 17, 0 }, { "EPYC-Turin", 26, 0, 0 },
};

size_t cvmf_cpu_types(const struct cvmf_cpu_type **ret)
{
	*ret = cpu_types;
	return CMN_ARRAY_SIZE(cpu_types);
}

const struct cvmf_cpu_type *cvmf_cpu_type_find(const char *name)
{
	for (size_t i = 0; i < CMN_ARRAY_SIZE(cpu_types); i++)
		if (!strcmp(cpu_types[i].name, name))
			return &cpu_types[i];
	return NULL;
}

/* CPUID Fn0000_0001_EAX: extended family/model above the base fields. */
uint32_t cvmf_cpu_sig(unsigned family, unsigned model, unsigned stepping)
{
	unsigned fam_lo = family, fam_hi = 0;
	if (family > 0xf) {
		fam_lo = 0xf;
		fam_hi = (family - 0xf) & 0xff;
	}
	return (uint32_t)fam_hi << 20 | (uint32_t)((model >> 4) & 0xf) << 16 |
	       (uint32_t)(fam_lo & 0xf) << 8 | (uint32_t)(model & 0xf) << 4 |
	       (stepping & 0xf);
}
