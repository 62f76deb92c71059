#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The time of `cvmforge sign` and `cvmforge verify --pubkey` on the hello
# image (inputs cached), against a baseline measured in the same run:
# sha256sum of every file of the image (the hashing signing cannot avoid:
# every file is a subject). verify --pubkey also recomputes every SNP and TDX
# measurement, so it is shown beside plain verify. Not a timed test: it prints
# the figures and exits 0 whatever the ratios are (non-zero only when it
# cannot measure).
#
# Usage: sh bench/bench_sign.sh build/cvmforge
# Env:   RUNS (default 11)
set -eu
. "$(dirname "$0")/lib.sh"
bench_usage bench_sign.sh $#
BIN=$1
RUNS=${RUNS:-11}
RECIPE=examples/hello/hello.recipe
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cvmforge-bench-sign-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bench_build_or_skip sign "$RECIPE" "$tmp/out"
img=$tmp/out/hello-1.0
(umask 077 && "$BIN" key generate --type ed25519 -o "$tmp/ed.key" >/dev/null &&
	"$BIN" key generate --type ecdsa-p384 -o "$tmp/ec.key" >/dev/null)

# timed FILE CMD...: append the milliseconds CMD takes to FILE.
timed()
{
	f=$1
	shift
	t0=$(now_ms)
	"$@" >/dev/null
	t1=$(now_ms)
	echo "$t0 $t1" | awk '{ print $2 - $1 }' >>"$f"
}

for f in base sign_ed sign_ec verify_ed verify_plain; do : >"$tmp/$f"; done
i=0
while [ "$i" -lt "$RUNS" ]; do
	timed "$tmp/base" sh -c "cd '$img' && find . -type f ! -name '*.dsse.json' | sort | xargs sha256sum"
	timed "$tmp/sign_ec" "$BIN" sign "$img" --key "$tmp/ec.key" --force
	timed "$tmp/sign_ed" "$BIN" sign "$img" --key "$tmp/ed.key" --force
	timed "$tmp/verify_ed" "$BIN" verify "$img" --pubkey "$tmp/ed.key.pub" --quiet
	timed "$tmp/verify_plain" "$BIN" verify "$img" --quiet
	i=$((i + 1))
done

base=$(median <"$tmp/base")
files=$(cd "$img" && find . -type f ! -name '*.dsse.json' | wc -l)
bytes=$(cd "$img" && find . -type f ! -name '*.dsse.json' -exec cat {} + | wc -c)
echo "bench sign: examples/hello ($files files, $bytes bytes), median of $RUNS runs (ms)"
for f in sign_ed sign_ec verify_ed verify_plain; do
	m=$(median <"$tmp/$f")
	case $f in
	sign_ed) what="sign --key (Ed25519): both statements, every file hashed" ;;
	sign_ec) what="sign --key (ECDSA P-384)" ;;
	verify_ed) what="verify --pubkey: signatures, subjects, manifest, measurements recomputed" ;;
	verify_plain) what="verify (no --pubkey), for comparison" ;;
	esac
	printf '  %-13s %8.1f  %5.2fx baseline  %s\n' "$f" "$m" \
		"$(echo "$m $base" | awk '{ printf "%.2f", $1 / $2 }')" "$what"
done
printf '  %-13s %8.1f  %5s           %s\n' baseline "$base" "1.00x" "sha256sum of every file of the image"
