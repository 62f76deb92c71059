#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One boot of the vTPM oracle (docs: vtpm.md §3.3, §4): Debian's QEMU (TCG)
# + OVMF + swtpm, direct kernel boot of the dump initrd (tests/boot/mkinitrd),
# then the serial log parsed into
#   RUNDIR/pcrs.txt      "pcrN BANK hex" (lowercase), every PCR the guest printed
#   RUNDIR/eventlog.bin  the binary TPM event log, its SHA-256 checked
#   RUNDIR/cmdline.txt   the guest's /proc/cmdline (no trailing newline)
#   RUNDIR/versions.txt  QEMU, OVMF and swtpm package versions
#
#   sh tests/boot/boot.sh RUNDIR --firmware pflash4m|bios2m --memory MIB \
#       --machine q35|pc --kernel K --initrd I --append STRING
#
# Exit codes: 0 ok; 77 the machine cannot run the test (reason on stderr);
# 2 infrastructure failure or usage error (tails of the serial log, QEMU's
# stderr and the swtpm log on stderr).
#
# Environment: BOOT_TIMEOUT (seconds, default 180); OVMF_CODE_4M,
# OVMF_VARS_4M, OVMF_2M override Debian's firmware paths.
set -u

OVMF_CODE_4M=${OVMF_CODE_4M:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS_4M=${OVMF_VARS_4M:-/usr/share/OVMF/OVMF_VARS_4M.fd}
OVMF_2M=${OVMF_2M:-/usr/share/ovmf/OVMF.fd}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}

usage() {
	echo "boot.sh: $*" >&2
	echo "usage: boot.sh RUNDIR --firmware pflash4m|bios2m --memory MIB --machine q35|pc" \
		"--kernel K --initrd I --append STRING" >&2
	exit 2
}
skip() {
	echo "boot.sh: cannot run the boot test: $*" >&2
	exit 77
}

[ $# -ge 1 ] || usage "no RUNDIR"
run=$1
shift
firmware= memory= machine= kernel= initrd= append= have_append=0
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage "option $1 needs a value"
	case $1 in
	--firmware) firmware=$2 ;;
	--memory) memory=$2 ;;
	--machine) machine=$2 ;;
	--kernel) kernel=$2 ;;
	--initrd) initrd=$2 ;;
	--append) append=$2 have_append=1 ;;
	*) usage "unknown option $1" ;;
	esac
	shift 2
done
case $firmware in pflash4m | bios2m) ;; *) usage "--firmware must be pflash4m or bios2m" ;; esac
case $machine in q35 | pc) ;; *) usage "--machine must be q35 or pc" ;; esac
case $memory in '' | *[!0-9]*) usage "--memory must be a number of MiB" ;; esac
[ "$have_append" = 1 ] || usage "--append is required (it may be empty)"
[ -n "$kernel" ] && [ -r "$kernel" ] || usage "kernel '$kernel' not readable"
[ -n "$initrd" ] && [ -r "$initrd" ] || usage "initrd '$initrd' not readable"
case $run in *,*) usage "RUNDIR must not contain a comma (QEMU option syntax)" ;; esac

# ---- can this machine run it at all? ----
for tool in qemu-system-x86_64 swtpm swtpm_setup timeout base64 sha256sum awk; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "$tool not found (Debian: sh scripts/deps.sh boot)"
done
if [ "$firmware" = pflash4m ]; then
	[ -r "$OVMF_CODE_4M" ] || skip "$OVMF_CODE_4M not readable (Debian package ovmf)"
	[ -r "$OVMF_VARS_4M" ] || skip "$OVMF_VARS_4M not readable (Debian package ovmf)"
else
	[ -r "$OVMF_2M" ] || skip "$OVMF_2M not readable (Debian package ovmf)"
fi

mkdir -p "$run" || exit 2
run=$(cd "$run" && pwd) || exit 2
parent=$(dirname "$run")
rm -rf "$run/tpm"
rm -f "$run/pcrs.txt" "$run/eventlog.bin" "$run/eventlog.b64" "$run/eventlog.sha256" \
	"$run/cmdline.txt" "$run/serial.log" "$run/serial.txt" "$run/qemu.out" \
	"$run/swtpm.log" "$run/vars.fd" "$run/done" "$run/versions.txt"

# ---- the TPM state template: once per RUNDIR parent (vtpm.md §4.1) ----
tpl=$parent/tpm-template
if [ ! -f "$tpl/tpm2-00.permall" ]; then
	new=$(mktemp -d "$parent/tpm-template.XXXXXX") || exit 2
	if ! swtpm_setup --tpm2 --tpmstate "$new" --pcr-banks sha256,sha384 --overwrite \
		>"$new/setup.log" 2>&1 || [ ! -f "$new/tpm2-00.permall" ]; then
		echo "boot.sh: swtpm_setup failed:" >&2
		cat "$new/setup.log" >&2
		rm -rf "$new"
		exit 2
	fi
	# Atomic: a concurrent boot.sh may have won; then keep its template.
	mv -T "$new" "$tpl" 2>/dev/null || rm -rf "$new"
fi

dpkg-query -W -f='${Package} ${Version}\n' qemu-system-x86 ovmf swtpm >"$run/versions.txt" 2>/dev/null ||
	qemu-system-x86_64 --version | head -n 1 >"$run/versions.txt"

spid= qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
}
trap 'cleanup; exit 2' INT TERM HUP

fail() {   # infrastructure failure: say why, show the evidence
	echo "boot.sh: infrastructure failure: $*" >&2
	if [ -f "$run/serial.log" ]; then
		echo "---- serial log (last 40 lines, $run/serial.log) ----" >&2
		tr -d '\r\033' <"$run/serial.log" | tail -n 40 >&2
		echo >&2
	fi
	echo "---- QEMU stderr ($run/qemu.out) ----" >&2
	[ -f "$run/qemu.out" ] && cat "$run/qemu.out" >&2
	echo "---- swtpm log ($run/swtpm.log) ----" >&2
	[ -f "$run/swtpm.log" ] && tail -n 40 "$run/swtpm.log" >&2
	exit 2
}

# ---- swtpm: a fresh copy of the state per boot ----
mkdir -p "$run/tpm" && cp "$tpl/tpm2-00.permall" "$run/tpm/" || fail "cannot copy the TPM state"
sock=$run/tpm/swtpm-sock
swtpm socket --tpm2 --tpmstate dir="$run/tpm" --ctrl type=unixio,path="$sock" \
	--terminate --log file="$run/swtpm.log",level=1 >"$run/swtpm.out" 2>&1 &
spid=$!
i=0
while [ ! -S "$sock" ]; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$spid" 2>/dev/null; then
		cat "$run/swtpm.out" >&2
		fail "the swtpm socket did not appear within 5 s"
	fi
	sleep 0.1
done

# ---- QEMU (vtpm.md §4.2, §4.3) ----
if [ "$firmware" = pflash4m ]; then
	cp "$OVMF_VARS_4M" "$run/vars.fd" || fail "cannot copy $OVMF_VARS_4M"
	set -- -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE_4M" \
		-drive "if=pflash,format=raw,unit=1,file=$run/vars.fd"
else
	set -- -bios "$OVMF_2M"
fi
t0=$(date +%s.%N)
timeout -k 10 "$BOOT_TIMEOUT" qemu-system-x86_64 -machine "$machine" -accel tcg -cpu max \
	-smp 1 -m "$memory" "$@" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-chardev "socket,id=chrtpm,path=$sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
	-device tpm-tis,tpmdev=tpm0 -nic none -display none -monitor none \
	-serial "file:$run/serial.log" -no-reboot </dev/null >"$run/qemu.out" 2>&1 &
qpid=$!
wait "$qpid"
qrc=$?
qpid=
t1=$(date +%s.%N)
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
spid=
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "$secs" >"$run/qemu-seconds"
echo "boot.sh: QEMU ran ${secs} s (exit $qrc)" >&2

[ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ] && fail "QEMU timed out after $BOOT_TIMEOUT s"
[ "$qrc" -eq 0 ] || fail "QEMU exited with status $qrc"
[ -f "$run/serial.log" ] || fail "no serial log"

# ---- the serial log (vtpm.md §3.3) ----
tr -d '\r' <"$run/serial.log" >"$run/serial.txt"
: >"$run/pcrs.txt"
: >"$run/eventlog.b64"
LC_ALL=C awk -v dir="$run" '
	inlog && /^===EVENTLOG-END===$/ { inlog = 0; next }
	inlog { if ($0 ~ /^[A-Za-z0-9+\/=]+$/) print > (dir "/eventlog.b64"); next }
	/^===EVENTLOG-BEGIN===$/ { inlog = 1; next }
	/^PCR [A-Za-z0-9_]+ [0-9]+ [0-9A-Fa-f]+$/ {
		printf "pcr%d %s %s\n", $3, $2, tolower($4) > (dir "/pcrs.txt")
		next
	}
	/^===EVENTLOG-SHA256=== [0-9a-f]+ / { print $2 > (dir "/eventlog.sha256"); next }
	/^===CMDLINE=== / { printf "%s", substr($0, 15) > (dir "/cmdline.txt"); next }
	/^===DONE===$/ { print "" > (dir "/done") }
' "$run/serial.txt" || fail "cannot parse the serial log"

[ -f "$run/done" ] || fail "no ===DONE=== in the serial log"
grep -q '^===NO-EVENTLOG===$' "$run/serial.txt" && fail "the guest has no TPM event log"
[ -f "$run/eventlog.sha256" ] || fail "no ===EVENTLOG-SHA256=== line"
[ -f "$run/cmdline.txt" ] || fail "no ===CMDLINE=== line"
# Every bank the guest printed must be whole (24 PCRs): a kernel message
# interleaved with a PCR line would otherwise drop that PCR silently.
LC_ALL=C awk '{ n[$2]++ } END { k = 0; for (b in n) { k++; if (n[b] != 24) exit 1 }; exit k == 0 }' \
	"$run/pcrs.txt" || fail "PCR lines missing or mangled in the serial log"
base64 -d <"$run/eventlog.b64" >"$run/eventlog.bin" 2>/dev/null ||
	fail "the event log is not valid base64"
want=$(cat "$run/eventlog.sha256")
got=$(sha256sum "$run/eventlog.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] ||
	fail "event log SHA-256 mismatch (serial corruption): guest $want, decoded $got"
rm -f "$run/eventlog.b64" "$run/eventlog.sha256" "$run/done" "$run/swtpm.out"
exit 0
