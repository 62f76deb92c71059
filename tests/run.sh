#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every test suite of `make check` and prints one closing line,
# "N passed, N failed, N skipped", with the reason of every skip.
#
#   sh tests/run.sh UNIT_BIN... -- SANITIZER_UNIT_BIN...
#
# Environment: CVMFORGE_BIN (the CLI under test), SAN_BIN (the ASan+UBSan
# build of it, used by the sanitizer suites), SHARED (../shared).
set -u

pass=0 fail=0 skip=0
failed_suites=
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_suite() {   # label binary
	label=$1 bin=$2
	"$bin" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	s=$(grep -c '^not ok .*# SKIP' "$log")
	f=$(grep '^not ok ' "$log" | grep -vc '# SKIP')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1   # crashed or failed outside a test
	fi
	pass=$((pass + p)) skip=$((skip + s)) fail=$((fail + f))
	printf '%-28s %3d passed, %d failed, %d skipped\n' "$label" "$p" "$f" "$s"
	grep '^# SKIP reason:' "$log" | sort -u | sed 's/^# SKIP reason:/    skipped:/'
	if [ "$f" -ne 0 ]; then
		failed_suites="$failed_suites $label"
		sed 's/^/    | /' "$log"
	fi
}

sanitizer=0
for bin in "$@"; do
	if [ "$bin" = "--" ]; then
		sanitizer=1
		continue
	fi
	name=$(basename "$bin")
	if [ "$sanitizer" = 1 ]; then
		CVMFORGE_BIN=$SAN_BIN run_suite "asan+ubsan/$name" "$bin"
	else
		run_suite "$name" "$bin"
	fi
done

echo
[ -n "$failed_suites" ] && echo "failed suites:$failed_suites"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
