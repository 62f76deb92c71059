#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of `cvmforge log serve`. Not a timed test: it prints the measured
# rates, "goal met" / "goal NOT met" per goal, and exits 0 whatever the goals
# say (non-zero only when it cannot measure).
#
#   1. throughput  ENTRIES (100,000) entries POSTed to /add by CLIENTS (64)
#                  concurrent loopback clients, one connection per request;
#                  every answer is a tlog-proof sent once a signed checkpoint
#                  covers the entry: entries/s (goal >= 10,000/s) and the
#                  p50/p99 latency of a POST.
#   2. memory      the server's RSS sampled every 0.5 s during (1): first,
#                  largest and last sample (goal: flat).
#   3. proof GETs  a log grown to PROOF_ENTRIES (1,000,000) entries, served;
#                  for PROOFS (2,000) random entries, GET every tile of an
#                  inclusion proof, warm: p99 of one tile GET (goal < 1 ms)
#                  and of a proof's set of tiles; the RSS after.
#
# Scratch space is under build/, removed on exit.
#
# Usage: sh bench/bench_serve.sh build/cvmforge
# Env:   ENTRIES, CLIENTS, PROOF_ENTRIES, PROOFS
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: bench_serve.sh path/to/cvmforge (built)" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ENTRIES=${ENTRIES:-100000}
CLIENTS=${CLIENTS:-64}
PROOF_ENTRIES=${PROOF_ENTRIES:-1000000}
PROOFS=${PROOFS:-2000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/..
LIB=$(dirname "$BIN")/libcvmforge.a
if [ ! -f "$LIB" ]; then
	echo "bench serve: $LIB is missing; run make first" >&2
	exit 2
fi
mkdir -p "$ROOT/build"
WORK=$(mktemp -d "$ROOT/build/bench-serve.XXXXXX")
SPID=
# shellcheck disable=SC2317  # called from the traps
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# shellcheck disable=SC2046  # pkg-config output is a word list
cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/include" -o "$WORK/bench_serve" "$HERE/bench_serve.c" \
	"$LIB" $(pkg-config --libs openssl libzstd zlib libelf inih jansson) -ldl -pthread

echo tok-$$ >"$WORK/token"
chmod 600 "$WORK/token"

# serve DIR [TOKEN]: start the server, set SPID and PORT
serve() {
	if [ $# -gt 1 ]; then
		"$BIN" log serve "$1" --listen 127.0.0.1:0 --token-file "$2" >"$WORK/serve.out" 2>"$WORK/serve.err" &
	else
		"$BIN" log serve "$1" --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
	fi
	SPID=$!
	i=0
	while ! grep -q '^serving' "$WORK/serve.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$SPID" 2>/dev/null; then
			echo "bench serve: the server did not start: $(cat "$WORK/serve.err")" >&2
			exit 1
		fi
		sleep 0.05
	done
	PORT=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$WORK/serve.out")
}
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
goal() { if [ "$1" = 1 ]; then echo "goal met"; else echo "goal NOT met"; fi; }

echo "bench serve: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1 and 2: throughput, RSS while the log grows ----
"$BIN" log init "$WORK/log" --origin bench.example/serve >/dev/null
serve "$WORK/log" "$WORK/token"
(
	while kill -0 "$SPID" 2>/dev/null; do
		echo "$(rss "$SPID") $(sed -n 2p "$WORK/log/checkpoint")"
		sleep 0.5
	done
) >"$WORK/rss" 2>/dev/null &
SAMPLER=$!
"$WORK/bench_serve" post "$PORT" "$(cat "$WORK/token")" "$CLIENTS" "$ENTRIES" 1 >"$WORK/post"
stop
wait "$SAMPLER" 2>/dev/null || true
v() { sed -n "s/^$1 //p" "$2"; }
RATE=$(v rate "$WORK/post")
echo "throughput: $(v entries "$WORK/post") entries from $CLIENTS clients in $(v seconds "$WORK/post") s:" \
	"$RATE entries/s (goal >= 10,000/s: $(goal "$(awk -v r="$RATE" 'BEGIN { print (r >= 10000) }')")); POST latency" \
	"p50 $(v p50_ms "$WORK/post") ms, p99 $(v p99_ms "$WORK/post") ms; $(v failed "$WORK/post") failed," \
	"$(v busy_503 "$WORK/post") answered 503 and retried"
awk 'NF == 2 { if (!n++) { f = $1; fs = $2 } if ($1 > m) { m = $1; ms = $2 } l = $1; ls = $2 }
     END { printf "memory: server RSS %.1f MiB at %d entries, largest %.1f MiB (at %d), last %.1f MiB at %d entries (%d samples)\n",
	   f / 1024, fs, m / 1024, ms, l / 1024, ls, n }' "$WORK/rss"

# ---- 3: proof tiles from a large log ----
"$BIN" log init "$WORK/big" --origin bench.example/big >/dev/null
t0=$(date +%s.%N)
"$WORK/bench_serve" grow "$WORK/big" "$PROOF_ENTRIES"
t1=$(date +%s.%N)
echo "grown: $PROOF_ENTRIES entries through cvmf_log_add in batches of 10,000 in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
serve "$WORK/big"
R0=$(rss "$SPID")
"$WORK/bench_serve" proofget "$PORT" "$PROOF_ENTRIES" 200 9 >/dev/null      # warm-up
"$WORK/bench_serve" proofget "$PORT" "$PROOF_ENTRIES" "$PROOFS" 7 >"$WORK/get"
R1=$(rss "$SPID")
stop
P99=$(v tile_p99_ms "$WORK/get")
echo "proof GETs on a $PROOF_ENTRIES-entry log: $(v tile_gets "$WORK/get") tile GETs for $PROOFS proofs," \
	"one connection each: tile p50 $(v tile_p50_ms "$WORK/get") ms, p99 $P99 ms" \
	"(goal < 1 ms: $(goal "$(awk -v r="$P99" 'BEGIN { print (r < 1) }')")); a whole proof's tiles" \
	"p50 $(v proof_p50_ms "$WORK/get") ms, p99 $(v proof_p99_ms "$WORK/get") ms; $(v failed "$WORK/get") failed;" \
	"server RSS $(awk -v a="$R0" -v b="$R1" 'BEGIN { printf "%.1f MiB before, %.1f MiB after", a / 1024, b / 1024 }')"
