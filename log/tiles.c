/* SPDX-License-Identifier: Apache-2.0 */
/*
 * c2sp.org/tlog-tiles: tile paths, widths, and hashing inside a tile.
 *
 *   tile/<L>/<N>[.p/<W>]        hash tile, level L, 256 hashes (8192 bytes) when full
 *   tile/entries/<N>[.p/<W>]    entry bundle: entries, each after a big-endian uint16 length
 *
 * <N> is written in 3-digit groups, most significant first, every group but the
 * last prefixed with "x": 1234067 -> x001/x234/067. W (1..255) only for partial tiles.
 */
#include <stdio.h>

#include "log/tlog.h"

int tlg_tile_path(char *buf, size_t n, int level, uint64_t index, unsigned width)
{
	unsigned groups[7];
	int ng = 0;
	do {
		groups[ng++] = (unsigned)(index % 1000);
		index /= 1000;
	} while (index);
	int w = level == TLG_LEVEL_ENTRIES ? snprintf(buf, n, "tile/entries/")
					   : snprintf(buf, n, "tile/%d/", level);
	size_t p = w > 0 ? (size_t)w : n;
	for (int g = ng - 1; g >= 0 && p < n; g--) {
		w = snprintf(buf + p, n - p, g ? "x%03u/" : "%03u", groups[g]);
		p = w > 0 ? p + (size_t)w : n;
	}
	if (p < n && width > 0 && width < TLG_TILE_WIDTH) {
		w = snprintf(buf + p, n - p, ".p/%u", width);
		p = w > 0 ? p + (size_t)w : n;
	}
	return p < n ? 0 : CVMF_E_INVAL;
}

unsigned tlg_tile_width(int level, uint64_t index, uint64_t size)
{
	unsigned shift = level == TLG_LEVEL_ENTRIES ? 0 : 8u * (unsigned)level;
	if (shift >= 64)
		return 0;
	uint64_t h = size >> shift;          /* hashes at this level */
	if (index >= h / TLG_TILE_WIDTH + 1)
		return 0;
	if (index < h / TLG_TILE_WIDTH)
		return TLG_TILE_WIDTH;
	return (unsigned)(h - index * TLG_TILE_WIDTH);
}

int tlg_tile_subtree(const uint8_t *hashes, unsigned start, unsigned r, uint8_t out[TLG_HASH])
{
	uint8_t buf[128][TLG_HASH];
	unsigned n = 1u << r;
	if (r == 0) {
		memcpy(out, hashes + (size_t)start * TLG_HASH, TLG_HASH);
		return 0;
	}
	/* The first pairing reads the tile, the others work in place. */
	for (unsigned i = 0; i < n / 2; i++)
		if (tlg_node_hash(hashes + (size_t)(start + 2 * i) * TLG_HASH,
				  hashes + (size_t)(start + 2 * i + 1) * TLG_HASH, buf[i]))
			return CVMF_E_CRYPTO;
	for (n /= 2; n > 1; n /= 2)
		for (unsigned i = 0; i < n / 2; i++)
			if (tlg_node_hash(buf[2 * i], buf[2 * i + 1], buf[i]))
				return CVMF_E_CRYPTO;
	memcpy(out, buf[0], TLG_HASH);
	return 0;
}
