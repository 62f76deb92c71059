#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages cvmforge needs; a no-op when they are present.
# Usage: scripts/deps.sh [build|check|boot|fuzz|bench|demo]...
set -eu

BUILD="make gcc pkg-config libssl-dev libjansson-dev libarchive-dev libzstd-dev zlib1g-dev liblzma-dev libelf-dev libinih-dev libcurl4-openssl-dev libmicrohttpd-dev"
CHECK="libcmocka-dev cpio zstd openssl"
CHECK="$CHECK golang-go golang-golang-x-mod-dev"   # ../shared/tools/tlogcheck audits the logs tests make
CHECK="$CHECK apt gpg dpkg-dev debian-archive-keyring"   # test_repos signs a local repository; the hello recipes' keyring
FUZZ="clang"
BENCH="gcc cpio zstd findutils openssl" # bench/benchrun.c is compiled by the benchmark itself; openssl(1) is bench_startup.sh's baseline
DEMO="ovmf qemu-system-x86 apt debian-archive-keyring"
BOOT="qemu-system-x86 swtpm swtpm-tools ovmf busybox-static"   # tests/boot: the vTPM oracle

want=$BUILD
for what in "$@"; do
	case $what in
	build) ;;
	check) want="$want $CHECK $BOOT" ;;
	boot) want="$want $BOOT" ;;
	fuzz) want="$want $FUZZ" ;;
	bench) want="$want $BENCH" ;;
	demo) want="$want $DEMO" ;;
	*) echo "deps.sh: unknown set '$what'" >&2; exit 2 ;;
	esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: not a Debian system; install the equivalents of: $want" >&2
	exit 0
fi

missing=
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $status in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps.sh: not root and no sudo; run: apt-get install$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
