#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Where the time of a whole `cvmforge build` of examples/hello goes, once its
# inputs are cached, reported against a baseline measured in the same run:
# sha256sum + sha384sum of the image's launched files (the hashing a build
# cannot avoid: every input and output is recorded with both digests) and
# zstd -3 of its initrd's cpio. Not a timed test: it prints the split and
# exits 0 whatever the ratios are (non-zero only when it cannot measure).
#
# Usage: sh bench/bench_build.sh build/cvmforge
# Env:   RUNS (default 11)
set -eu
. "$(dirname "$0")/lib.sh"
bench_usage bench_build.sh $#
BIN=$1
RUNS=${RUNS:-11}
RECIPE=examples/hello/hello.recipe
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cvmforge-bench-build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Fill the cache (downloads on a fresh machine; not timed).
bench_build_or_skip build "$RECIPE" "$tmp/warm"
img=$tmp/warm/hello-1.0

: >"$tmp/split"
: >"$tmp/base"
i=0
while [ "$i" -lt "$RUNS" ]; do
	"$BIN" build "$RECIPE" -o "$tmp/run" --force --json >"$tmp/out.json"
	awk '/"seconds"/ { f = 1 } f && /"(inputs|initrd|measure|write|total)"/ {
		gsub(/[",:]/, ""); a[$1] = $2 } f && /}/ { f = 0 }
	     END { print a["inputs"], a["initrd"], a["measure"], a["write"], a["total"] }' \
		"$tmp/out.json" >>"$tmp/split"
	t0=$(now_ms)
	sha256sum "$img/OVMF.fd" "$img/vmlinuz" "$img/initrd.img" >/dev/null
	sha384sum "$img/OVMF.fd" "$img/vmlinuz" "$img/initrd.img" >/dev/null
	t1=$(now_ms)
	echo "$t0 $t1" | awk '{ print $2 - $1 }' >>"$tmp/base"
	i=$((i + 1))
done

col() { awk -v c="$1" '{ print $c * 1000 }' "$tmp/split" | median; }
inputs=$(col 1) initrd=$(col 2) measure=$(col 3) write=$(col 4) total=$(col 5)
base=$(median <"$tmp/base")
echo "bench build: examples/hello, inputs cached, median of $RUNS runs (ms)"
printf '  %-10s %8.1f  %s\n' inputs "$inputs" "read the cached inputs, sha256+sha384 each, check the pins" \
	initrd "$initrd" "cpio newc + zstd -3 ($(wc -c <"$img/initrd.img") bytes out)" \
	measure "$measure" "SNP launch digests + TDX MRTD/RTMRs (each reads firmware, kernel, initrd)" \
	write "$write" "copies, digests of the other outputs, JSON, launch scripts, tarball" \
	total "$total" "whole build inside the library"
printf '  %-10s %8.1f  %s\n' baseline "$base" "sha256sum + sha384sum of OVMF.fd, vmlinuz, initrd.img"
awk -v t="$total" -v b="$base" 'BEGIN { printf "  ratio total / baseline hashing: %.2f\n", t / b }'
