#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of `cvmforge measure tdx`, reported as ratios against a baseline
# measured in the same run on the same machine. This is not a timed test: it
# prints "goal met" / "goal NOT met" per goal and a summary, and exits 0
# whatever the goals say (non-zero only when it cannot measure, e.g. a
# command fails).
#
#   1. speed   MRTD + RTMR0..3 for OVMF.trixie.fd + vmlinuz-6.1.0-50 + a
#              64 MiB initrd + the quex ACPI tables vs sha384sum of the same
#              three files (firmware, kernel, initrd): ratio <= 1.5.
#   2. memory  peak RSS of the same measurement < 32 MiB, with the 64 MiB
#              initrd and with a 1 GiB one: the initrd is streamed, so RSS
#              must not grow with its size.
#
# The initrds are deterministic pseudo-random bytes (splitmix64, fixed seed)
# written by a tiny generator compiled here, in a temporary directory under
# build/ that is deleted on exit. Timings come from bench/benchrun.c: the
# commands run interleaved after warm-up rounds (page cache warm for both),
# stdout to /dev/null; the median wall time and the largest ru_maxrss count.
#
# Usage: SHARED=../shared sh bench/bench_tdx.sh build/cvmforge
# Env:   RUNS (default 21, at least 21 for goal 1), WARMUP (default 3).
set -eu

. "$(dirname "$0")/lib.sh"
bench_usage bench_tdx.sh $#
GOAL_MET="goal met" GOAL_NOT_MET="goal NOT met"
BIN=$1
SHARED=${SHARED:-../shared}
IN=$SHARED/inputs
RUNS=${RUNS:-21}
WARMUP=${WARMUP:-3}
[ "$RUNS" -ge 21 ] || RUNS=21

if [ ! -d "$SHARED" ]; then
	echo "bench tdx: skipped: $SHARED not found (set SHARED to the reference material)"
	exit 0
fi
OVMF=$IN/OVMF.trixie.fd
KERNEL=$IN/vmlinuz-6.1.0-50
ACPI=$SHARED/fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin
for f in "$OVMF" "$KERNEL" "$ACPI"; do
	if [ ! -r "$f" ]; then
		echo "bench tdx: skipped: $f not found"
		exit 0
	fi
done
# Commands are built as word lists below, so paths must not contain blanks.
case $BIN$SHARED in
*[[:space:]]*)
	echo "bench tdx: paths with blanks are not supported: '$BIN', '$SHARED'" >&2
	exit 2
	;;
esac
if [ ! -x "$BIN" ]; then
	echo "bench tdx: $BIN is not an executable; run make first" >&2
	exit 2
fi
for tool in sha384sum sha256sum wc awk cc mktemp; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench tdx: $tool not found (coreutils/awk/cc are required)" >&2
		exit 2
	fi
done

# Scratch space in the repository's git-ignored build directory, removed on
# exit whatever happens (the 1 GiB initrd must not be left behind).
HERE=$(dirname "$0")
mkdir -p "$HERE/../build"
WORK=$(mktemp -d "$HERE/../build/bench-tdx.XXXXXX")
# shellcheck disable=SC2317  # called from the traps
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

RUNNER=$WORK/benchrun
cc -O2 -o "$RUNNER" "$HERE/benchrun.c"

# gen BYTES > FILE: deterministic pseudo-random bytes (splitmix64, seed 42).
cat >"$WORK/gen.c" <<'EOF'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	static uint64_t buf[1 << 17];   /* 1 MiB */
	unsigned long long left = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
	uint64_t x = 42;
	while (left) {
		for (size_t i = 0; i < sizeof(buf) / 8; i++) {
			uint64_t z = (x += 0x9e3779b97f4a7c15ull);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			buf[i] = z ^ (z >> 31);
		}
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		left -= n;
	}
	return fflush(stdout) != 0;
}
EOF
cc -O2 -o "$WORK/gen" "$WORK/gen.c"
INITRD=$WORK/initrd-64M
BIGI=$WORK/initrd-1G
"$WORK/gen" 67108864 >"$INITRD"

# ---- helpers ----

mibps() { # MiB ms -> MiB/s
	awk -v m="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", m * 1000 / t; else print "inf" }'
}

# bench RUNS WARMUP CMD ARGS... [::: CMD ARGS...]...: runs them interleaved;
# for command k (1-based) sets Mk (median ms), Lk (min), Hk (max), Pk (peak
# RSS KiB).
bench() {
	n=$1 w=$2
	shift 2
	out=$("$RUNNER" -n "$n" -w "$w" -- "$@") || {
		echo "bench tdx: error: a benchmarked command failed (see above)" >&2
		exit 1
	}
	k=0
	# shellcheck disable=SC2086
	set -- $out
	while [ $# -ge 4 ]; do
		k=$((k + 1))
		eval "M$k=\$1 L$k=\$2 H$k=\$3 P$k=\$4"
		shift 4
	done
}

# ---- machine context ----

if command -v nproc >/dev/null 2>&1; then
	NPROC=$(nproc)
else
	NPROC=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
fi
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
if grep -qw sha_ni /proc/cpuinfo 2>/dev/null; then SHANI=yes; else SHANI=no; fi
echo "== cvmforge TDX benchmark =="
echo "machine:  nproc=$NPROC, cpu=${CPU:-unknown}, sha_ni=$SHANI"
echo "tool:     $("$BIN" --version 2>/dev/null || echo "$BIN")"
echo "inputs:   OVMF.trixie.fd, vmlinuz-6.1.0-50, initrd of 64 MiB (generated), quex-acpi-tables-1cpu-2048M-1disk.bin"
echo "method:   median of $RUNS interleaved runs after $WARMUP warm-up rounds; stdout to /dev/null"
echo

MEASURE="$BIN measure tdx --ovmf $OVMF --kernel $KERNEL --append console=ttyS0 --memory 2G --acpi-tables $ACPI"

# ---- 1. speed ----

# shellcheck disable=SC2086
bench "$RUNS" "$WARMUP" \
	$MEASURE --initrd "$INITRD" ::: \
	sha384sum "$OVMF" "$KERNEL" "$INITRD"
FULL_MS=$M1 FULL_RSS=$P1 SHA_MS=$M2 SHA_RSS=$P2
ra=$(ratio "$FULL_MS" "$SHA_MS")
if ratio_le "$FULL_MS" "$SHA_MS" 1.5; then goal speed 0; else goal speed 1; fi
printf '1. speed   measure tdx %8.2f ms | sha384sum %8.2f ms | ratio %s (goal <= 1.50): %s\n' \
	"$FULL_MS" "$SHA_MS" "$ra" "$V"
printf '           (measure min/max %.2f/%.2f ms; sha384sum min/max %.2f/%.2f ms)\n' \
	"$L1" "$H1" "$L2" "$H2"

# ---- 2. memory ----

"$WORK/gen" 1073741824 >"$BIGI"
# Each round hashes 1 GiB per command: a few rounds suffice for a peak RSS.
# shellcheck disable=SC2086
bench 3 1 \
	$MEASURE --initrd "$BIGI" ::: \
	sha384sum "$OVMF" "$KERNEL" "$BIGI"
BIG_RSS=$P1
PEAK=$FULL_RSS
lt "$PEAK" "$BIG_RSS" && PEAK=$BIG_RSS
if lt "$PEAK" 32768; then goal memory 0; else goal memory 1; fi
printf '2. memory  measure tdx peak RSS %s MiB (64 MiB initrd), %s MiB (1 GiB initrd) (goal < 32 MiB): %s\n' \
	"$(mib "$FULL_RSS")" "$(mib "$BIG_RSS")" "$V"
printf '           growth 64 MiB -> 1 GiB initrd: %+d KiB; sha384sum peak RSS %s / %s MiB\n' \
	"$((BIG_RSS - FULL_RSS))" "$(mib "$SHA_RSS")" "$(mib "$P2")"
printf '           1 GiB initrd took %.0f ms (sha384sum %.0f ms, ratio %s)\n' \
	"$M1" "$M2" "$(ratio "$M1" "$M2")"
rm -f "$BIGI"

# ---- where the time goes (informational, no goal) ----

# shellcheck disable=SC2086
bench "$RUNS" "$WARMUP" \
	$MEASURE --initrd "$INITRD" ::: \
	"$BIN" measure tdx --ovmf "$OVMF" ::: \
	$MEASURE ::: \
	sha384sum "$INITRD" ::: \
	sha256sum "$INITRD" ::: \
	sha384sum "$OVMF" "$KERNEL" ::: \
	"$BIN" --version
echo
echo "breakdown (medians, same interleaved method):"
printf '  full measurement (goal 1 command)              %8.2f ms\n' "$M1"
printf '  MRTD only (--ovmf alone)                       %8.2f ms\n' "$M2"
printf '  MRTD + RTMR0..3 without --initrd               %8.2f ms\n' "$M3"
printf '  sha384sum of the 64 MiB initrd                 %8.2f ms  (%s MiB/s)\n' "$M4" "$(mibps 64 "$M4")"
printf '  sha256sum of the 64 MiB initrd                 %8.2f ms  (%s MiB/s)\n' "$M5" "$(mibps 64 "$M5")"
printf '  sha384sum of firmware + kernel                 %8.2f ms\n' "$M6"
printf '  process start-up (cvmforge --version)          %8.2f ms\n' "$M7"
printf '  => initrd cost in measure tdx (full - no initrd) %6.2f ms (%s x sha384sum of it)\n' \
	"$(awk -v a="$M1" -v b="$M3" 'BEGIN { printf "%.2f", a - b }')" \
	"$(ratio "$(awk -v a="$M1" -v b="$M3" 'BEGIN { print a - b }')" "$M4")"

# ---- summary ----

echo
if [ "$FAILED" -eq 0 ]; then
	echo "bench tdx: summary: all $PASSED goals met"
else
	echo "bench tdx: summary: $PASSED goal(s) met, $FAILED NOT met:$FAILED_NAMES"
fi
exit 0
