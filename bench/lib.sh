# SPDX-License-Identifier: Apache-2.0
# What the bench scripts share; sourced (`. "$(dirname "$0")/lib.sh"`), not run.

# bench_usage NAME ARGC: exit 2 with the usage unless there is one argument
# (the cvmforge binary).
bench_usage() {
	if [ "$2" -ne 1 ]; then
		echo "usage: $1 path/to/cvmforge" >&2
		exit 2
	fi
}

# median: the median of the numbers on stdin, one a line
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# now_ms: a wall-clock time in milliseconds
now_ms() { date +%s%N | awk '{ printf "%.3f\n", $1 / 1e6 }'; }

# ratio A B: A/B with two decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'
}
# ratio_le A B LIMIT: succeeds when A/B <= LIMIT (unrounded)
ratio_le() {
	awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(a + 0 <= l * b) }'
}
# lt A B: succeeds when A < B
lt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'
}
# mib KIB: KiB as MiB with one decimal
mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

PASSED=0
FAILED=0
FAILED_NAMES=
GOAL_MET=PASS
GOAL_NOT_MET=FAIL
# goal NAME OK: count a goal (OK 0 = met) and set V to $GOAL_MET or
# $GOAL_NOT_MET (PASS and FAIL unless the script sets them after sourcing).
goal() {
	if [ "$2" -eq 0 ]; then
		PASSED=$((PASSED + 1))
		V=$GOAL_MET
	else
		FAILED=$((FAILED + 1))
		FAILED_NAMES="$FAILED_NAMES $1"
		V=$GOAL_NOT_MET
	fi
}

# bench_build_or_skip NAME RECIPE OUT: build RECIPE into OUT (not timed; it
# fills the cache), or say why not ("bench NAME: skipped: ...") and exit 0.
# Needs $BIN and the scratch directory $tmp.
bench_build_or_skip() {
	if ! "$BIN" build "$2" -o "$3" --quiet >/dev/null 2>"$tmp/err"; then
		echo "bench $1: skipped: the hello image cannot be built here:"
		sed 's/^/  /' "$tmp/err"
		exit 0
	fi
}
