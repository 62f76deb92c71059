/* SPDX-License-Identifier: Apache-2.0 */
/* What the libFuzzer targets share: the entry point's prototype, and CHECK,
 * which traps (a crash libFuzzer reports with its input) when cond is false. */
#ifndef CVMF_FUZZ_H
#define CVMF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                           \
	do {                                  \
		if (!(cond))                  \
			__builtin_trap();     \
	} while (0)

#endif
