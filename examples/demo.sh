#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make demo`: build the hello image from Debian 12's own packages, show its
# measurements, verify and reproduce it, sign it and verify the signatures,
# publish it to a transparency log and verify the proof offline, and boot it. Then measure the reference firmware and kernels of ../shared, when
# present.
set -eu
cvmforge=${1:-build/cvmforge}
shared=${SHARED:-../shared}
in=$shared/inputs
out=${DEMO_OUT:-build/demo}

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

echo "cvmforge builds a CVM image from a recipe, bit for bit, with its launch measurements."
echo "The recipes: examples/hello/hello.recipe (SEV-SNP, measured direct boot on sid's"
echo "ovmf-amdsev) and hello-tdx.recipe (TDX on trixie's ovmf), each pinned by its .lock."
run "$cvmforge" build examples/hello/hello.recipe -o "$out" --force
run "$cvmforge" build examples/hello/hello-tdx.recipe -o "$out" --force
run "$cvmforge" verify --quiet "$out/hello-tdx-1.0"
image=$out/hello-1.0
say "ls -l $image $image/launch"
ls -l "$image" "$image/launch"
run "$cvmforge" verify --quiet "$image"
run "$cvmforge" reproduce --quiet examples/hello/hello.recipe --against "$image/hello-1.0.tar"
echo
echo "Sign the image with a release key, and verify it as an auditor would (docs/sign.md)."
key=$out/release.key
rm -f "$key" "$key.pub" "$out/id.key" "$out/id.key.pub"   # the demo's own keys, made afresh
run "$cvmforge" key generate --type ed25519 -o "$key"
run "$cvmforge" sign "$image" --key "$key" --recipe examples/hello/hello.recipe
run "$cvmforge" verify --quiet "$image" --pubkey "$key.pub"
echo
echo "Publish the signed statement to an embedded transparency log, and check the proof"
echo "offline (docs/log.md)."
log=$out/log
rm -rf "$log" "$log.key" "$log.key.pub" "$image.tlog-proof" "$out/log-monitor.state"   # made afresh
say "$cvmforge log init $log --origin demo.cvmforge.example/log"
vkey=$("$cvmforge" log init "$log" --origin demo.cvmforge.example/log)
echo "$vkey"
run "$cvmforge" publish "$image" --log "$log"
run "$cvmforge" verify --quiet "$image" --pubkey "$key.pub" --vkey "$vkey"
run "$cvmforge" log monitor "$log" --vkey "$vkey" --state "$out/log-monitor.state"
echo
echo "Serve the same log over HTTP on loopback (log serve: the tlog-tiles read API and"
echo "POST /add), publish the image again through it, check the proof, and monitor the"
echo "log over HTTP."
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$out/log.token"
echo >>"$out/log.token"
chmod 600 "$out/log.token"
say "$cvmforge log serve $log --listen 127.0.0.1:0 --token-file $out/log.token &"
"$cvmforge" log serve "$log" --listen 127.0.0.1:0 --token-file "$out/log.token" >"$out/log-serve.out" &
serve_pid=$!
i=0
while ! grep -q '^serving' "$out/log-serve.out" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cat "$out/log-serve.out"
url=$(sed -n 's/^serving .* on //p' "$out/log-serve.out")
rm -f "$image.tlog-proof"
run "$cvmforge" publish "$image" --log "$url" --token-file "$out/log.token"
run "$cvmforge" log verify "$image.tlog-proof" --vkey "$vkey" --entry "$image/measurements.dsse.json"
run "$cvmforge" log monitor "$url" --vkey "$vkey" --state "$out/log-monitor.state"
kill "$serve_pid"
wait "$serve_pid" || true
run "$cvmforge" key generate --type ecdsa-p384 -o "$out/id.key"
say "$cvmforge sign id-block --image $image --id-key $out/id.key | cut -c1-110"
"$cvmforge" sign id-block --image "$image" --id-key "$out/id.key" | cut -c1-110
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	# OVMF.amdsev.fd boots only under SEV: the SNP image's kernel, initrd and
	# cmdline boot under hello-tdx's plain OVMF.fd (as tests/unit/test_hello.c does).
	say "qemu-system-x86_64 ... -bios $out/hello-tdx-1.0/OVMF.fd -kernel $image/vmlinuz ...   # QEMU (TCG)"
	timeout 180 qemu-system-x86_64 -machine q35,accel=tcg -m 1024 -nographic -no-reboot \
		-bios "$out/hello-tdx-1.0/OVMF.fd" -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
		-append "$(cat "$image/cmdline.txt")" 2>&1 |
		sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' | grep -a "cvmforge hello\|CVMFORGE-HELLO" || true
fi
echo
echo "The image is in $image/ (and $image/hello-1.0.tar); its measurements in"
echo "$image/measurements.json, its inputs and outputs in $image/manifest.json."

if [ -r "$in/OVMF.amdsev.fd" ] && [ -r "$in/vmlinuz" ]; then
	fw=$in/OVMF.amdsev.fd
	echo "Inputs: $in (Debian sid ovmf-amdsev, Debian 12 linux-image-6.1.0-56-amd64)"
	run "$cvmforge" inspect ovmf "$fw"
	run "$cvmforge" measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan \
		--ovmf "$fw" --kernel "$in/vmlinuz" --initrd "$in/initrd.img" \
		--append "console=ttyS0 root=/dev/vda1 ro"
	run "$cvmforge" measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan \
		--ovmf "$fw" --kernel "$in/vmlinuz" --initrd "$in/initrd.img" \
		--append "console=ttyS0 root=/dev/vda1 ro" --json
	say "$cvmforge measure snp --mode snp --vcpus 1-64 --vcpu-type all --vmm-type all ... | wc -l"
	"$cvmforge" measure snp --mode snp --vcpus 1-64 --vcpu-type all --vmm-type all \
		--ovmf "$fw" --kernel "$in/vmlinuz" --initrd "$in/initrd.img" | wc -l
	# Debian 12's own OVMF cannot measure a kernel: show the refusal, not a wrong digest.
	say "$cvmforge measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf $in/OVMF.fd --kernel $in/vmlinuz"
	"$cvmforge" measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan \
		--ovmf "$in/OVMF.fd" --kernel "$in/vmlinuz" || echo "(exit $?: as expected)"
fi
tdx_tables=$shared/fixtures/tdx-upstream/quex-acpi-tables-1cpu-2048M-1disk.bin
if [ -r "$in/OVMF.trixie.fd" ] && [ -r "$in/vmlinuz-6.1.0-50" ] && [ -r "$tdx_tables" ]; then
	echo
	echo "Intel TDX: Debian 13 OVMF, Debian 12 kernel, QEMU's ACPI tables for 1 vCPU / 2 GiB"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	run "$cvmforge" measure tdx --ovmf "$in/OVMF.trixie.fd" --kernel "$in/vmlinuz-6.1.0-50" \
		--initrd "$in/initrd-tiny.cpio" --append "console=ttyS0 ro" --memory 2G \
		--acpi-tables "$tdx_tables" --ccel "$tmp/expected.ccel"
	# The classic mistake: the TD ran with 1 GiB. The diff says which event and why.
	"$cvmforge" measure tdx --ovmf "$in/OVMF.trixie.fd" --kernel "$in/vmlinuz-6.1.0-50" \
		--initrd "$in/initrd-tiny.cpio" --append "console=ttyS0 ro" --memory 1G \
		--acpi-tables "$tdx_tables" --ccel "$tmp/actual.ccel" >/dev/null
	say "$cvmforge eventlog diff expected.ccel actual.ccel   # actual: a TD with 1 GiB"
	"$cvmforge" eventlog diff "$tmp/expected.ccel" "$tmp/actual.ccel" || echo "(exit $?: the logs differ)"
fi
if [ -r "$in/vmlinuz" ] && [ -r /usr/share/OVMF/OVMF_CODE_4M.fd ]; then
	echo
	echo "vTPM: Debian 12 OVMF (4 MiB pflash pair) on QEMU 7.2, 1 GiB, the same kernel"
	run "$cvmforge" measure tpm --ovmf /usr/share/OVMF/OVMF_CODE_4M.fd \
		--vars /usr/share/OVMF/OVMF_VARS_4M.fd --kernel "$in/vmlinuz" \
		--initrd "$in/initrd.img" --append "console=ttyS0 loglevel=3" --memory 1024M
fi
if [ ! -r "$in/OVMF.amdsev.fd" ] || [ ! -r "$in/vmlinuz" ]; then
	fw=/usr/share/ovmf/OVMF.fd
	echo "No $in: using Debian's installed $fw"
	run "$cvmforge" inspect ovmf "$fw"
	run "$cvmforge" measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf "$fw" --json
	run "$cvmforge" measure tdx --ovmf "$fw"
fi

# The relying party's check (docs/attest.md): the end of the chain.
echo
echo "The relying party: before it releases a secret to a CVM, it verifies the CVM's SEV-SNP"
echo "report (AMD's certificate chain, the signature, the policy) and finds its measurement"
echo "in the published proof: log checkpoint -> inclusion -> signed statement -> the value."
echo "There is no SNP hardware here, so the reports are SYNTHETIC: tests/tools/mkreport signs"
echo "them with a test ARK/ASK/VCEK chain made with OpenSSL, which --trust-root trusts in place"
echo "of AMD's pinned roots. Their measurements are the hello image's real launch digests."
mkreport=${MKREPORT:-build/tests/mkreport}
if [ -x "$mkreport" ]; then
	rp=$out/relying-party
	rm -rf "$rp"   # made afresh
	mkdir -p "$rp/2vcpus" "$rp/7vcpus"
	# What the hardware measures: the image's firmware, and with its kernel hashes
	# its kernel, initrd and command line.
	launch="--ovmf $image/OVMF.fd --kernel $image/vmlinuz --initrd $image/initrd.img"
	# shellcheck disable=SC2086  # $launch is a word list of plain paths
	ld=$("$cvmforge" measure snp --mode snp --vcpus 2 --vcpu-type EPYC-v4 $launch \
		--append "$(cat "$image/cmdline.txt")")
	say "$mkreport --measurement \$(cvmforge measure snp ... --vcpus 2 --vcpu-type EPYC-v4) -o $rp/2vcpus"
	"$mkreport" --measurement "$ld" -o "$rp/2vcpus"
	run "$cvmforge" attest verify "$rp/2vcpus/report.bin" --certs "$rp/2vcpus/vcek.pem" \
		--certs "$rp/2vcpus/ask.pem" --trust-root "$rp/2vcpus/ark.pem" \
		--expect "$image.tlog-proof" --vkey "$vkey" --pubkey "$key.pub"
	echo
	echo "A report of the same image launched with 7 vCPUs of EPYC-Genoa, which nobody published:"
	# shellcheck disable=SC2086
	ld=$("$cvmforge" measure snp --mode snp --vcpus 7 --vcpu-type EPYC-Genoa $launch \
		--append "$(cat "$image/cmdline.txt")")
	"$mkreport" --measurement "$ld" -o "$rp/7vcpus"
	say "$cvmforge attest verify $rp/7vcpus/report.bin --certs ... --trust-root ... --expect $image.tlog-proof --vkey ... --pubkey $key.pub"
	st=0
	"$cvmforge" attest verify "$rp/7vcpus/report.bin" --certs "$rp/7vcpus/vcek.pem" \
		--certs "$rp/7vcpus/ask.pem" --trust-root "$rp/7vcpus/ark.pem" \
		--expect "$image.tlog-proof" --vkey "$vkey" --pubkey "$key.pub" \
		> "$rp/7vcpus/result.txt" || st=$?
	head -3 "$rp/7vcpus/result.txt"
	echo "(exit $st: no secret for this CVM; the explanation says which launch it is)"
else
	echo "skipped: $mkreport is not built (make build/tests/mkreport)"
fi
