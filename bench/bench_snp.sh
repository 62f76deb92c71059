#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of `cvmforge measure snp`, reported as ratios against baselines
# measured in the same run on the same machine, so the numbers mean the same
# thing on a laptop and on a loaded CI runner. This is not a timed test: it
# prints PASS/FAIL per goal and a summary, and exits 0 whatever the goals say
# (it exits non-zero only when it cannot measure, e.g. a command fails).
#
#   1. speed   one SNP digest with kernel/initrd/cmdline vs sha384sum of the
#              same three files: an SNP digest must not cost more than reading
#              and hashing its inputs once with the stock tool (ratio <= 1.0).
#   2. memory  peak RSS of the same digest with a 512 MiB kernel and a 1 GiB
#              initrd: kernel-side inputs are streamed, so RSS must stay small
#              whatever their size (< 32 MiB); sha384sum's RSS is shown beside.
#   3. matrix  1-512 vCPUs x 16 CPU types x 3 VMMs (24576 JSON lines) vs the
#              single digest with --json: the matrix shares the firmware and
#              metadata work, so it must cost little more than one (<= 3.0).
#
# Timings come from bench/benchrun.c (compiled here): commands run interleaved
# (A, B, A, B, ...) after warm-up rounds so the page cache is warm for both,
# stdout to /dev/null; the median wall time and the largest ru_maxrss count.
#
# Usage: SHARED=../shared sh bench/bench_snp.sh build/cvmforge
# Env:   RUNS (default 21, at least 21 for goals 1 and 3), WARMUP (default 3).
set -eu

. "$(dirname "$0")/lib.sh"
bench_usage bench_snp.sh $#
BIN=$1
SHARED=${SHARED:-../shared}
IN=$SHARED/inputs
RUNS=${RUNS:-21}
WARMUP=${WARMUP:-3}
[ "$RUNS" -ge 21 ] || RUNS=21

if [ ! -d "$IN" ]; then
	echo "bench: skipped: $IN not found"
	exit 0
fi
for f in OVMF.amdsev.fd vmlinuz initrd.img; do
	if [ ! -r "$IN/$f" ]; then
		echo "bench: skipped: $IN/$f not found"
		exit 0
	fi
done
# Commands are built as word lists below, so paths must not contain blanks.
case $BIN$IN in
*[[:space:]]*)
	echo "bench: paths with blanks are not supported: '$BIN', '$IN'" >&2
	exit 2
	;;
esac
if [ ! -x "$BIN" ]; then
	echo "bench: $BIN is not an executable; run make first" >&2
	exit 2
fi
for tool in sha384sum wc awk dd; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool not found (coreutils/awk are required)" >&2
		exit 2
	fi
done

# Scratch space in the repository's git-ignored build directory.
HERE=$(dirname "$0")
WORK=$HERE/../build/bench
mkdir -p "$WORK"
RUNNER=$WORK/benchrun
cc -O2 -o "$RUNNER" "$HERE/benchrun.c"

OVMF=$IN/OVMF.amdsev.fd
KERNEL=$IN/vmlinuz
INITRD=$IN/initrd.img
APPEND=console=ttyS0

# ---- helpers ----

# bench RUNS WARMUP CMD ARGS... [::: CMD ARGS...]...: runs them interleaved
# and sets R1..R4 (median_ms min_ms max_ms max_rss_kib) for the first
# command, S1..S4 for the second, and the medians T1 and U1 for the third
# and fourth.
bench() {
	n=$1 w=$2
	shift 2
	out=$("$RUNNER" -n "$n" -w "$w" -- "$@") || {
		echo "bench: error: a benchmarked command failed (see above)" >&2
		exit 1
	}
	# shellcheck disable=SC2086
	set -- $out
	R1=$1 R2=$2 R3=$3 R4=$4
	shift 4
	S1=${1:-} S2=${2:-} S3=${3:-} S4=${4:-}
	[ $# -lt 4 ] || shift 4
	T1=${1:-}
	[ $# -lt 4 ] || shift 4
	U1=${1:-}
}

# ---- machine context ----

if command -v nproc >/dev/null 2>&1; then
	NPROC=$(nproc)
else
	NPROC=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
fi
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
if grep -qw sha_ni /proc/cpuinfo 2>/dev/null; then SHANI=yes; else SHANI=no; fi
if command -v openssl >/dev/null 2>&1; then
	OSSL=$(openssl version 2>/dev/null || echo "openssl present, version unknown")
else
	OSSL="openssl(1) not installed"
fi
echo "== cvmforge SNP benchmark =="
echo "machine:  nproc=$NPROC, cpu=${CPU:-unknown}, sha_ni=$SHANI"
echo "openssl:  $OSSL"
echo "tool:     $("$BIN" --version 2>/dev/null || echo "$BIN")"
echo "inputs:   $IN (OVMF.amdsev.fd, vmlinuz, initrd.img)"
echo "method:   median of $RUNS interleaved runs after $WARMUP warm-up rounds; stdout to /dev/null"
echo

MEASURE="$BIN measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf $OVMF"

# ---- 1. speed ----

# shellcheck disable=SC2086
bench "$RUNS" "$WARMUP" \
	$MEASURE --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" ::: \
	sha384sum "$OVMF" "$KERNEL" "$INITRD"
ra=$(ratio "$R1" "$S1")
if ratio_le "$R1" "$S1" 1; then goal speed 0; else goal speed 1; fi
SMALL_RSS=$R4
printf '1. speed   measure %9.2f ms | sha384sum %9.2f ms | ratio %5s (goal <= 1.00) %s\n' \
	"$R1" "$S1" "$ra" "$V"
printf '           (measure min/max %.2f/%.2f ms; sha384sum min/max %.2f/%.2f ms)\n' \
	"$R2" "$R3" "$S2" "$S3"

# ---- 2. memory ----

# Sparse files with 1 MiB of random data at the front, made with POSIX dd:
# hashing reads every byte, so they cost the same CPU as dense files but no
# disk. Kept between runs; remade when the size is wrong.
make_big() { # path MiB
	want=$(($2 * 1048576))
	have=0
	[ ! -f "$1" ] || have=$(wc -c <"$1")
	if [ "$have" -ne "$want" ]; then
		dd if=/dev/urandom of="$1" bs=1048576 count=1 2>/dev/null
		dd if=/dev/null of="$1" bs=1048576 seek="$2" count=0 2>/dev/null
	fi
}
BIGK=$WORK/big-kernel
BIGI=$WORK/big-initrd
make_big "$BIGK" 512
make_big "$BIGI" 1024
# Each round hashes 1.5 GiB per command: a few rounds suffice for a peak RSS.
# shellcheck disable=SC2086
bench 3 1 \
	$MEASURE --kernel "$BIGK" --initrd "$BIGI" --append "$APPEND" ::: \
	sha384sum "$OVMF" "$BIGK" "$BIGI"
ra=$(ratio "$R4" "$S4")
if lt "$R4" 32768; then goal memory 0; else goal memory 1; fi
printf '2. memory  measure %6s MiB peak RSS (512 MiB kernel + 1 GiB initrd) | sha384sum %s MiB | ratio %s (goal < 32 MiB) %s\n' \
	"$(mib "$R4")" "$(mib "$S4")" "$ra" "$V"
printf '           small inputs: measure %s MiB peak RSS; large inputs took %.0f ms (sha384sum %.0f ms, ratio %s)\n' \
	"$(mib "$SMALL_RSS")" "$R1" "$S1" "$(ratio "$R1" "$S1")"

# ---- 3. matrix ----

MATRIX="$BIN measure snp --mode snp --vcpus 1-512 --vcpu-type all --vmm-type all --ovmf $OVMF"
# shellcheck disable=SC2086
LINES=$($MATRIX --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" --json | wc -l)
LINES=$((LINES + 0))
# shellcheck disable=SC2086
bench "$RUNS" "$WARMUP" \
	$MATRIX --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" --json ::: \
	$MEASURE --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" --json
ra=$(ratio "$R1" "$S1")
if ratio_le "$R1" "$S1" 3 && [ "$LINES" -eq 24576 ]; then goal matrix 0; else goal matrix 1; fi
printf '3. matrix  24576-digest matrix %9.2f ms | single --json %9.2f ms | ratio %5s (goal <= 3.00) %s\n' \
	"$R1" "$S1" "$ra" "$V"
if [ "$LINES" -eq 24576 ]; then lines_ok=OK; else lines_ok="WRONG (counts as FAIL)"; fi
printf '           matrix output: %s lines (expected 24576) %s; matrix peak RSS %s MiB\n' \
	"$LINES" "$lines_ok" "$(mib "$R4")"

# ---- where the time goes (informational, no goal) ----

FWHASH=$("$BIN" measure snp --mode snp:ovmf-hash --ovmf "$OVMF")
# shellcheck disable=SC2086
bench "$RUNS" "$WARMUP" \
	$MEASURE --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" ::: \
	"$BIN" measure snp --mode snp:ovmf-hash --ovmf "$OVMF" ::: \
	$MEASURE --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND" --snp-ovmf-hash "$FWHASH" ::: \
	"$BIN" --version
echo
echo "breakdown (medians, same interleaved method):"
printf '  full digest (goal 1 command)                 %8.2f ms\n' "$R1"
printf '  firmware page chain only (snp:ovmf-hash)     %8.2f ms\n' "$S1"
printf '  full digest seeded with --snp-ovmf-hash      %8.2f ms  (kernel/initrd SHA-256 + metadata + VMSAs)\n' "$T1"
printf '  process start-up (cvmforge --version)        %8.2f ms\n' "$U1"

# ---- summary ----

echo
if [ "$FAILED" -eq 0 ]; then
	echo "bench: summary: all $PASSED goals met"
else
	echo "bench: summary: $PASSED goal(s) met, $FAILED FAILED:$FAILED_NAMES"
fi
exit 0
