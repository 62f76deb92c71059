#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of cvmforge's start-up, reported as ratios against `openssl
# version` measured in the same run on the same machine. This is not a timed
# test: it prints PASS/FAIL per goal and a summary, and exits 0 whatever the
# goals say (non-zero only when it cannot measure, e.g. a command fails).
#
#   1. version  `cvmforge --version` vs `openssl version`: ratio <= 1.3
#   2. inspect  `cvmforge inspect ovmf SMALLFW` (a 64 KiB synthetic OVMF with
#               a reset block, a hashes table and 7 ASEV sections, written
#               here like tests/unit/testlib.h's fw_amdsev_like) vs
#               `openssl version`: ratio <= 1.3
#
# Both are what every verb pays before doing any work: loading and
# relocating shared objects. Verbs that neither download nor unpack must not
# load libcurl or libarchive (common/lazy.h); the number of shared objects
# each command loads (LD_DEBUG=files, besides the program itself, ld.so and
# the vDSO) and its peak RSS are printed beside its time.
#
# Timings come from bench/benchrun.c (compiled here): the commands run
# interleaved (A, B, C, A, B, C, ...) after warm-up rounds, stdout to
# /dev/null; the medians count.
#
# Usage: sh bench/bench_startup.sh build/cvmforge
# Env:   RUNS (default 51, at least 21), WARMUP (default 5),
#        BASELINE=path/to/an/older/cvmforge: measured in the same run, to
#        show a before/after (e.g. one built from main in /tmp).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: bench_startup.sh path/to/cvmforge" >&2
	exit 2
fi
BIN=$1
BASELINE=${BASELINE:-}
RUNS=${RUNS:-51}
WARMUP=${WARMUP:-5}
[ "$RUNS" -ge 21 ] || RUNS=21

case $BIN$BASELINE in
*[[:space:]]*)
	echo "bench startup: paths with blanks are not supported: '$BIN' '$BASELINE'" >&2
	exit 2
	;;
esac
for b in "$BIN" $BASELINE; do
	if [ ! -x "$b" ]; then
		echo "bench startup: $b is not an executable; run make first" >&2
		exit 2
	fi
done
for tool in cc awk dd grep; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench startup: $tool not found" >&2
		exit 2
	fi
done
if ! command -v openssl >/dev/null 2>&1; then
	echo "bench startup: skipped: openssl(1), the baseline, is not installed"
	exit 0
fi

# Scratch space in the repository's git-ignored build directory.
HERE=$(dirname "$0")
WORK=$HERE/../build/bench
mkdir -p "$WORK"
RUNNER=$WORK/benchrun
cc -O2 -o "$RUNNER" "$HERE/benchrun.c"

# ---- the small firmware ----

# bytes B...: write each decimal byte value
bytes() {
	for b in "$@"; do
		# shellcheck disable=SC2059
		printf "\\$(printf '%03o' "$b")"
	done
}
le16() { bytes $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { bytes $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
zeros() { [ "$1" -eq 0 ] || dd if=/dev/zero bs="$1" count=1 2>/dev/null; }
# GUIDs as stored in firmware (EFI mixed-endian), as in tests/unit/testlib.h
G_FOOTER="222 130 181 150 178 31 247 69 186 234 163 102 197 90 8 45"
G_RESET="222 113 247 0 126 26 203 79 137 14 104 199 126 47 180 78"
G_HASHES="31 55 85 114 59 58 4 75 146 123 29 166 239 168 212 84"
G_SEV_META="102 101 136 220 74 152 152 71 167 94 85 133 167 191 103 204"

# A LEN-byte image: ASEV block at LEN - 0x1000; from the footer down, the
# SEV-ES reset block, the hashes table and the SEV metadata entry.
make_fw() { # path
	len=65536
	asev=$((len - 4096))
	table=88   # 3 entries (22 + 26 + 22 bytes) + the 18-byte footer
	{
		zeros "$asev"
		printf 'ASEV'
		le32 $((16 + 12 * 7)); le32 1; le32 7
		for s in "0x800000 0x9000 1" "0x80a000 0x3000 1" "0x80d000 0x1000 2" \
			"0x80e000 0x1000 3" "0x80f000 0x1000 4" "0x811000 0x3000 1" \
			"0x810000 0x1000 16"; do
			# shellcheck disable=SC2086
			set -- $s
			le32 $(($1)); le32 $(($2)); le32 "$3"
		done
		zeros $((len - 32 - 18 - (table - 18) - asev - 100))
		le32 4096; le16 22; bytes $G_SEV_META                  # SEV metadata
		le32 $((0x810c00)); le32 $((0x400)); le16 26; bytes $G_HASHES
		le32 $((0x80b004)); le16 22; bytes $G_RESET            # SEV-ES reset block
		le16 "$table"; bytes $G_FOOTER
		zeros 32
	} >"$1"
}
FW=$WORK/small-ovmf.fd
make_fw "$FW"
if [ "$(wc -c <"$FW")" -ne 65536 ] || ! "$BIN" inspect ovmf "$FW" >/dev/null; then
	echo "bench startup: the synthetic firmware $FW is not accepted by '$BIN inspect ovmf'" >&2
	exit 1
fi

# ---- helpers ----

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'
}
ratio_le() {
	awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(a + 0 <= l * b) }'
}
# objects CMD ARGS...: shared objects the loader maps for one run
objects() {
	LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'generating link map' || true
}

PASSED=0
FAILED=0
FAILED_NAMES=
goal() {
	if [ "$2" -eq 0 ]; then
		PASSED=$((PASSED + 1))
		V=PASS
	else
		FAILED=$((FAILED + 1))
		FAILED_NAMES="$FAILED_NAMES $1"
		V=FAIL
	fi
}

# ---- machine context ----

if command -v nproc >/dev/null 2>&1; then NPROC=$(nproc); else NPROC="?"; fi
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "== cvmforge start-up benchmark =="
echo "machine:  nproc=$NPROC, cpu=${CPU:-unknown}, load average $LOAD"
echo "openssl:  $(openssl version 2>/dev/null)"
echo "tool:     $("$BIN" --version 2>/dev/null || echo "$BIN")"
[ -z "$BASELINE" ] || echo "baseline: $BASELINE ($("$BASELINE" --version 2>/dev/null || echo "?"))"
echo "firmware: $FW (65536 bytes, synthetic)"
echo "method:   median of $RUNS interleaved runs after $WARMUP warm-up rounds; stdout to /dev/null"
echo

# ---- measure ----

set -- openssl version ::: "$BIN" --version ::: "$BIN" inspect ovmf "$FW"
[ -z "$BASELINE" ] || set -- "$@" ::: "$BASELINE" --version ::: "$BASELINE" inspect ovmf "$FW"
out=$("$RUNNER" -n "$RUNS" -w "$WARMUP" -- "$@") || {
	echo "bench startup: error: a benchmarked command failed (see above)" >&2
	exit 1
}
# one line per command: median min max rss; keep the medians and the RSS
# shellcheck disable=SC2086
set -- $(printf '%s\n' "$out" | awk '{ print $1 }')
OSSL=$1 VER=$2 INS=$3 BVER=${4:-} BINS=${5:-}
# shellcheck disable=SC2086
set -- $(printf '%s\n' "$out" | awk '{ printf "%.1f\n", $4 / 1024 }')
M_OSSL=$1 M_VER=$2 M_INS=$3 M_BVER=${4:-} M_BINS=${5:-}

O_OSSL=$(objects openssl version)
O_VER=$(objects "$BIN" --version)
O_INS=$(objects "$BIN" inspect ovmf "$FW")

row() { # label median objects rss-mib [goal-verdict]
	printf '  %-31s %6.2f ms  ratio %5s  %3s shared objects  %5s MiB  %s\n' "$1" "$2" \
		"$(ratio "$2" "$OSSL")" "$3" "$4" "${5:-}"
}
echo "medians (ratio against openssl version), shared objects loaded, peak RSS:"
row "openssl version" "$OSSL" "$O_OSSL" "$M_OSSL"
if ratio_le "$VER" "$OSSL" 1.3; then goal version 0; else goal version 1; fi
row "cvmforge --version" "$VER" "$O_VER" "$M_VER" "(goal <= 1.30) $V"
if ratio_le "$INS" "$OSSL" 1.3; then goal inspect 0; else goal inspect 1; fi
row "cvmforge inspect ovmf (64 KiB)" "$INS" "$O_INS" "$M_INS" "(goal <= 1.30) $V"
if [ -n "$BASELINE" ]; then
	row "baseline --version" "$BVER" "$(objects "$BASELINE" --version)" "$M_BVER"
	row "baseline inspect ovmf (64 KiB)" "$BINS" "$(objects "$BASELINE" inspect ovmf "$FW")" \
		"$M_BINS"
	printf '  speed-up against the baseline: --version %sx, inspect ovmf %sx\n' \
		"$(ratio "$BVER" "$VER")" "$(ratio "$BINS" "$INS")"
fi

echo
if [ "$FAILED" -eq 0 ]; then
	echo "bench startup: summary: all $PASSED goals met"
else
	echo "bench startup: summary: $PASSED goal(s) met, $FAILED FAILED:$FAILED_NAMES"
fi
exit 0
