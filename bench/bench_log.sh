#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of the embedded transparency log. Not a timed test: it prints the
# measured rates and ratios, "goal met" / "goal NOT met" per goal, and exits 0
# whatever the goals say (non-zero only when it cannot measure).
#
#   1. append  100,000 entries through `cvmforge log add` in batches of 1,000
#              (one process per batch, each fsyncs its tiles, bundles, tree
#              state and checkpoint): >= 50,000 entries/s.
#   2. proof   `cvmf_log_proof` (what `log proof` runs) for random entries of a
#              1,000,000-entry log, in-process: p99 < 1 ms.
#   3. size    the log of goal 1 on disk (allocated blocks, du) within 1.2x of
#              its entries plus their tiles (2 bytes of length per entry, 32
#              bytes per hash at every level).
#
# Entries are 256..1791 bytes, deterministic. Scratch space is under build/,
# removed on exit.
#
# Usage: sh bench/bench_log.sh build/cvmforge
# Env:   ENTRIES (100000), BATCH (1000), PROOF_ENTRIES (1000000), PROOFS (10000)
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: bench_log.sh path/to/cvmforge (built)" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ENTRIES=${ENTRIES:-100000}
BATCH=${BATCH:-1000}
PROOF_ENTRIES=${PROOF_ENTRIES:-1000000}
PROOFS=${PROOFS:-10000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/..
LIB=$(dirname "$BIN")/libcvmforge.a
if [ ! -f "$LIB" ]; then
	echo "bench log: $LIB is missing; run make first" >&2
	exit 2
fi
mkdir -p "$ROOT/build"
WORK=$(mktemp -d "$ROOT/build/bench-log.XXXXXX")
# shellcheck disable=SC2317  # called from the traps
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# shellcheck disable=SC2046  # pkg-config output is a word list
cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/include" -o "$WORK/bench_log" "$HERE/bench_log.c" "$LIB" \
	$(pkg-config --libs openssl libarchive libzstd zlib libelf inih jansson libcurl) -pthread

now() { date +%s.%N; }

# ---- 1. append through the CLI ----
mkdir "$WORK/e"
"$WORK/bench_log" entries "$WORK/e" "$ENTRIES" 7 >"$WORK/entries.txt"
ENTRY_BYTES=$(sed -n 's/^entry_bytes //p' "$WORK/entries.txt")
"$BIN" log init "$WORK/log" --origin bench.example/cli >/dev/null
# Argument lists per batch, made before the clock starts.
i=0
while [ "$i" -lt "$ENTRIES" ]; do
	end=$((i + BATCH))
	[ "$end" -le "$ENTRIES" ] || end=$ENTRIES
	seq "$i" $((end - 1)) | sed "s|^|$WORK/e/e|" >"$WORK/batch.$i"
	i=$end
done
sync
t0=$(now)
(
	i=0
	while [ "$i" -lt "$ENTRIES" ]; do
		# shellcheck disable=SC2046
		"$BIN" log add "$WORK/log" $(cat "$WORK/batch.$i") >/dev/null
		i=$((i + BATCH))
	done
	times >"$WORK/times"
)
t1=$(now)
# times: the children's user and system CPU time on its second line ("0m1.5s 0m2.0s").
CPU=$(sed -n 2p "$WORK/times" | awk '{ t = 0; for (f = 1; f <= 2; f++) { split($f, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%.2f", t }')
RATE=$(awk -v n="$ENTRIES" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo "log add: $ENTRIES entries in batches of $BATCH: ${SECS}s, $RATE entries/s (goal >= 50000); load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
echo "  CPU time of the log add processes: ${CPU}s (user + system), $(awk -v n="$ENTRIES" -v c="$CPU" 'BEGIN { printf "%.0f", n / c }') entries per CPU-second"
if [ "$RATE" -ge 50000 ]; then echo "  goal met"; else echo "  goal NOT met"; fi

# ---- 3. size on disk ----
HASHES=$(awk -v n="$ENTRIES" 'BEGIN { t = 0; while (n >= 1) { t += n; n = int(n / 256) } print t }')
IDEAL=$((ENTRY_BYTES + 2 * ENTRIES + 32 * HASHES))
DISK=$(($(du -sk "$WORK/log" | cut -f1) * 1024))
APPARENT=$(du -sb "$WORK/log" | cut -f1)
SIZE_RATIO=$(awk -v d="$DISK" -v i="$IDEAL" 'BEGIN { printf "%.3f", d / i }')
APP_RATIO=$(awk -v d="$APPARENT" -v i="$IDEAL" 'BEGIN { printf "%.3f", d / i }')
echo "size: entries + tiles = $IDEAL bytes; on disk $DISK bytes (${SIZE_RATIO}x, goal <= 1.2x); apparent $APPARENT bytes (${APP_RATIO}x; partial tiles of every checkpoint are kept, as tlog-tiles requires)"
if awk -v r="$SIZE_RATIO" 'BEGIN { exit !(r <= 1.2) }'; then echo "  goal met"; else echo "  goal NOT met"; fi

# ---- 2. proofs in a 1,000,000-entry log ----
"$WORK/bench_log" proofs "$WORK/big" "$PROOF_ENTRIES" 10000 "$PROOFS" >"$WORK/proofs.txt"
P99=$(sed -n 's/^proof_p99_ms //p' "$WORK/proofs.txt")
P50=$(sed -n 's/^proof_p50_ms //p' "$WORK/proofs.txt")
BUILD=$(sed -n 's/^build_seconds //p' "$WORK/proofs.txt")
CP50=$(sed -n 's/^proof_cpu_p50_ms //p' "$WORK/proofs.txt")
CP99=$(sed -n 's/^proof_cpu_p99_ms //p' "$WORK/proofs.txt")
echo "log proof: $PROOFS random entries of a $PROOF_ENTRIES-entry log (built in ${BUILD}s in-process): wall p50 ${P50} ms, p99 ${P99} ms (goal < 1 ms); CPU time p50 ${CP50} ms, p99 ${CP99} ms; load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores"
if awk -v p="$P99" 'BEGIN { exit !(p < 1) }'; then echo "  goal met"; else echo "  goal NOT met"; fi
