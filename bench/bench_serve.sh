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
#   2. memory      the same clients go on POSTing until the served log has
#                  MEM_ENTRIES (1,000,000) entries; the server's RSS, sampled
#                  every 0.5 s from the start of (1), at 0, at ENTRIES, the
#                  largest and at MEM_ENTRIES (goal: flat).
#   3. proof GETs  the same server, warm, on the log of (2): for PROOFS
#                  (2,000) random entries, GET every tile of an inclusion
#                  proof: p99 of one tile GET (goal < 1 ms) and of a proof's
#                  set of tiles; the RSS after.
#
# Scratch space is under build/, removed on exit.
#
# Usage: sh bench/bench_serve.sh build/cvmforge
# Env:   ENTRIES, CLIENTS, MEM_ENTRIES, PROOFS
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: bench_serve.sh path/to/cvmforge (built)" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ENTRIES=${ENTRIES:-100000}
CLIENTS=${CLIENTS:-64}
MEM_ENTRIES=${MEM_ENTRIES:-1000000}
PROOFS=${PROOFS:-2000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/..
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

cc -O2 -std=c17 -D_GNU_SOURCE -o "$WORK/bench_serve" "$HERE/bench_serve.c" -pthread

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

# ---- 1: throughput; 2: RSS while the log grows; 3: proof GETs ----
if [ "$MEM_ENTRIES" -lt "$ENTRIES" ]; then MEM_ENTRIES=$ENTRIES; fi
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
v() { sed -n "s/^$1 //p" "$2"; }
RATE=$(v rate "$WORK/post")
echo "throughput: $(v entries "$WORK/post") entries from $CLIENTS clients in $(v seconds "$WORK/post") s:" \
	"$RATE entries/s (goal >= 10,000/s: $(goal "$(awk -v r="$RATE" 'BEGIN { print (r >= 10000) }')")); POST latency" \
	"p50 $(v p50_ms "$WORK/post") ms, p99 $(v p99_ms "$WORK/post") ms; $(v failed "$WORK/post") failed," \
	"$(v busy_503 "$WORK/post") answered 503 and retried"
if [ "$MEM_ENTRIES" -gt "$ENTRIES" ]; then
	"$WORK/bench_serve" post "$PORT" "$(cat "$WORK/token")" "$CLIENTS" $((MEM_ENTRIES - ENTRIES)) 2 >"$WORK/post2"
	echo "growing on: $(v entries "$WORK/post2") more entries in $(v seconds "$WORK/post2") s: $(v rate "$WORK/post2") entries/s;" \
		"POST latency p50 $(v p50_ms "$WORK/post2") ms, p99 $(v p99_ms "$WORK/post2") ms; $(v failed "$WORK/post2") failed"
fi
echo "$(rss "$SPID") $(sed -n 2p "$WORK/log/checkpoint")" >>"$WORK/rss"
awk -v mid="$ENTRIES" 'NF == 2 { if (!n++) { f = $1; fs = $2 } if ($1 > m) { m = $1; ms = $2 }
	if (!a && $2 >= mid) { a = $1; as = $2 } l = $1; ls = $2 }
     END { printf "memory: server RSS %.1f MiB at %d entries, %.1f MiB at %d, largest %.1f MiB (at %d), %.1f MiB at %d entries (%d samples); last / at %d: %.2f (goal: flat)\n",
	   f / 1024, fs, a / 1024, as, m / 1024, ms, l / 1024, ls, n, as, l / a }' "$WORK/rss"
SIZE=$(sed -n 2p "$WORK/log/checkpoint")
"$WORK/bench_serve" proofget "$PORT" "$SIZE" 200 9 >/dev/null      # warm-up
R0=$(rss "$SPID")
"$WORK/bench_serve" proofget "$PORT" "$SIZE" "$PROOFS" 7 >"$WORK/get"
R1=$(rss "$SPID")
stop
wait "$SAMPLER" 2>/dev/null || true
P99=$(v tile_p99_ms "$WORK/get")
echo "proof GETs on the served $SIZE-entry log: $(v tile_gets "$WORK/get") tile GETs for $PROOFS proofs," \
	"one connection each: tile p50 $(v tile_p50_ms "$WORK/get") ms, p99 $P99 ms" \
	"(goal < 1 ms: $(goal "$(awk -v r="$P99" 'BEGIN { print (r < 1) }')")); a whole proof's tiles" \
	"p50 $(v proof_p50_ms "$WORK/get") ms, p99 $(v proof_p99_ms "$WORK/get") ms; $(v failed "$WORK/get") failed;" \
	"server RSS $(awk -v a="$R0" -v b="$R1" 'BEGIN { printf "%.1f MiB before, %.1f MiB after", a / 1024, b / 1024 }')"
echo "disk: the log directory holds $(du -sm "$WORK/log" | cut -f1) MiB for $SIZE entries"
