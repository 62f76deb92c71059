#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run the libFuzzer targets for a fixed time each and fail if any crashes.
# Corpora live in build/fuzz/corpus/NAME and grow from run to run; the OVMF
# target is seeded with the tails of the real firmware in $SHARED (the footer
# table and the SEV/TDX metadata live in the last few KiB). Nothing from
# $SHARED is written anywhere but build/, which git ignores.
#
# Usage: sh tests/fuzz/run.sh TARGET...
#   FUZZ_SECONDS  time per target (default 60)
#   SHARED        reference material (default ../shared)
set -u

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SHARED=${SHARED:-../shared}
OUT=build/fuzz

if [ $# -eq 0 ]; then
	echo "usage: sh tests/fuzz/run.sh TARGET..." >&2
	exit 2
fi

# seed_tail FILE DIR: the last 4 KiB and 8 KiB of FILE (or all of it) as seeds.
seed_tail()
{
	base=$(basename "$1")
	size=$(wc -c <"$1")
	for n in 4096 8192; do
		[ "$n" -eq 4096 ] || [ "$size" -gt $((n / 2)) ] || continue
		tail -c "$n" "$1" >"$2/seed-$base-tail$n"
	done
}

seed_ovmf()
{
	dir=$1
	found=0
	if [ -d "$SHARED" ]; then
		for f in "$SHARED"/inputs/*.fd "$SHARED"/fixtures/snp-upstream/*.bin \
			 "$SHARED"/fixtures/snp-upstream/*.fd; do
			[ -f "$f" ] || continue
			seed_tail "$f" "$dir"
			found=$((found + 1))
		done
	fi
	if [ "$found" -eq 0 ]; then
		echo "fuzz: $SHARED has no firmware; seeding fuzz_ovmf with a few bytes only"
		printf 'ASEV\001\000\000\000' >"$dir/seed-tiny"
	else
		echo "fuzz: seeded fuzz_ovmf from the tails of $found firmware files in $SHARED"
	fi
}

seed_cli_int()
{
	dir=$1
	i=0
	for s in 0 1 -1 17 017 0x1F -0X_ff 0o17 0b1_0 1_000_000 ' 42 ' \
		 18446744073709551615 18446744073709551616 0xffffffffffffffff; do
		i=$((i + 1))
		printf '%s' "$s" >"$dir/seed-$i"
	done
}

# hexdump_ends FILE: all of FILE in hex, or its first 64 and last 256 bytes.
hexdump_ends()
{
	if [ "$(wc -c <"$1")" -le 512 ]; then
		od -An -tx1 -v "$1" | tr -d ' \n'
	else
		printf '%s ... %s' "$(head -c 64 "$1" | od -An -tx1 -v | tr -d ' \n')" \
			"$(tail -c 256 "$1" | od -An -tx1 -v | tr -d ' \n')"
	fi
}

# final_stat NAME LOG: the value of libFuzzer's "stat::NAME:" final line.
final_stat()
{
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

passed=0
failed=0
for target in "$@"; do
	name=$(basename "$target")
	corpus=$OUT/corpus/$name
	artifacts=$OUT/artifacts/$name
	log=$OUT/$name.log
	mkdir -p "$corpus" "$artifacts"

	if [ ! -x "$target" ]; then
		echo "fuzz: $name: FAIL (no executable $target)"
		failed=$((failed + 1))
		continue
	fi
	case $name in
	fuzz_ovmf) seed_ovmf "$corpus" ;;
	fuzz_cli_int) seed_cli_int "$corpus" ;;
	esac

	"$target" -max_total_time="$FUZZ_SECONDS" -max_len=1048576 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" >"$log.$$" 2>&1
	rc=$?
	mv -f "$log.$$" "$log"   # whole, even if another run shares build/

	execs=$(final_stat number_of_executed_units "$log")
	speed=$(final_stat average_exec_per_sec "$log")
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	units=$(find "$corpus" -type f | wc -l)
	summary="${execs:-?} execs (${speed:-?}/s), cov ${cov:-?}, corpus $units files, ${FUZZ_SECONDS}s"
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $name: ok: $summary"
		passed=$((passed + 1))
	else
		echo "fuzz: $name: FAIL (exit $rc): $summary; log $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY:|artifact_prefix|Test unit written)' "$log" |
			sed 's/^/    /'
		grep -E '^ +#[0-9]+ ' "$log" |
			grep -v -E 'fuzzer::|__sanitizer_|libc\.so|__libc_| in (_start|main) ' |
			head -n 12 | sed 's/^ */      /'
		sed -n 's/.*Test unit written to //p' "$log" | while read -r a; do
			[ -f "$a" ] || continue
			echo "    input $a ($(wc -c <"$a") bytes): $(hexdump_ends "$a")"
		done
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
