#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make demo`: measure real Debian firmware and a real Debian kernel.
#
# With ../shared present it uses the reference inputs there (Debian 12/13/sid
# OVMF builds and a Debian 12 kernel); without it, the OVMF that Debian's
# `ovmf` package installs in /usr/share/ovmf (make demo installs it).
set -eu
cvmforge=${1:-build/cvmforge}
shared=${SHARED:-../shared}
in=$shared/inputs

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

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
else
	fw=/usr/share/ovmf/OVMF.fd
	echo "No $in: using Debian's installed $fw"
	run "$cvmforge" inspect ovmf "$fw"
	run "$cvmforge" measure snp --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf "$fw" --json
fi
