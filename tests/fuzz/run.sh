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

# get_le FILE OFF N: the N-byte little-endian integer at OFF.
get_le()
{
	od -An -tu1 -v -j "$2" -N "$3" "$1" |
		awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
		     END { v = 0; for (i = n - 1; i >= 0; i--) v = v * 256 + b[i]; printf "%d\n", v }'
}

# put_le FILE OFF N VALUE: overwrite N little-endian bytes at OFF in place.
put_le()
{
	pl_fmt=
	pl_k=0
	while [ "$pl_k" -lt "$3" ]; do
		pl_fmt="$pl_fmt$(printf '\\%03o' $(($4 >> (8 * pl_k) & 255)))"
		pl_k=$((pl_k + 1))
	done
	printf "$pl_fmt" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# seed_pe_clip FILE: make a 64 KiB kernel head valid again, with every
# section's raw data cut to what is left of it and no certificate table.
seed_pe_clip()
{
	pe=$(get_le "$1" 60 4)
	nsec=$(get_le "$1" $((pe + 6)) 2)
	sopt=$(get_le "$1" $((pe + 20)) 2)
	opt=$((pe + 24))
	size=$(wc -c <"$1")
	if [ "$(get_le "$1" "$opt" 2)" -eq 523 ]; then dirs=$((opt + 112)); else dirs=$((opt + 96)); fi
	[ $((dirs + 40)) -le $((opt + sopt)) ] && put_le "$1" $((dirs + 32)) 8 0
	i=0
	while [ "$i" -lt "$nsec" ] && [ "$i" -lt 64 ]; do
		s=$((opt + sopt + 40 * i))
		rs=$(get_le "$1" $((s + 16)) 4)
		rp=$(get_le "$1" $((s + 20)) 4)
		if [ "$rp" -ge "$size" ]; then
			put_le "$1" $((s + 16)) 4 0
		elif [ $((rp + rs)) -gt "$size" ]; then
			put_le "$1" $((s + 16)) 4 $((size - rp))
		fi
		i=$((i + 1))
	done
}

# seed_pe_tiny FILE: a 1.5 KiB PE32+ image: 0x200 bytes of headers, one
# section, 0x100 trailing bytes, then a 0x100-byte certificate table.
seed_pe_tiny()
{
	head -c 1536 /dev/zero | tr '\0' '\125' >"$1"
	put_le "$1" 0 2 23117                 # "MZ"
	put_le "$1" 60 4 64                   # e_lfanew
	put_le "$1" 64 4 17744                # "PE\0\0"
	put_le "$1" 68 2 34404                # Machine x86-64
	put_le "$1" 70 2 1                    # NumberOfSections
	put_le "$1" 84 2 240                  # SizeOfOptionalHeader
	put_le "$1" 88 2 523                  # PE32+
	put_le "$1" 144 4 8192                # SizeOfImage
	put_le "$1" 148 4 512                 # SizeOfHeaders
	put_le "$1" 196 4 16                  # NumberOfRvaAndSizes
	put_le "$1" 232 8 1099511629056       # Certificate Table 0x500 + 0x100
	put_le "$1" 328 8 0                   # section name
	put_le "$1" 340 4 4096                # VirtualAddress
	put_le "$1" 344 4 512                 # SizeOfRawData
	put_le "$1" 348 4 512                 # PointerToRawData
}

seed_pe()
{
	dir=$1
	found=0
	seed_pe_tiny "$dir/seed-tiny-pe"
	if [ -d "$SHARED" ]; then
		for f in "$SHARED"/inputs/vmlinuz*; do
			[ -f "$f" ] || continue
			base=$(basename "$f")
			head -c 65536 "$f" >"$dir/seed-$base-head64k"
			cp "$dir/seed-$base-head64k" "$dir/seed-$base-head64k-clipped"
			seed_pe_clip "$dir/seed-$base-head64k-clipped"
			found=$((found + 1))
		done
	fi
	if [ "$found" -eq 0 ]; then
		echo "fuzz: $SHARED has no kernels; seeding fuzz_pe with a tiny synthetic PE only"
	else
		echo "fuzz: seeded fuzz_pe from the first 64 KiB of $found kernels in $SHARED"
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

# unhex HEX: the bytes a hex string spells (spaces ignored), on stdout.
unhex()
{
	uh_h=$(printf '%s' "$1" | tr -d ' ')
	while [ -n "$uh_h" ]; do
		uh_rest=${uh_h#??}
		printf "$(printf '\\%03o' "0x${uh_h%"$uh_rest"}")"
		uh_h=$uh_rest
	done
}

# seed_eventlog DIR: the dstack CCEL (whole, and its first 2 KiB), a small
# TPM log with two banks and an EV_NO_ACTION at index -1, and a small CCEL
# ending in 0xFF fill.
seed_eventlog()
{
	dir=$1
	sep256=df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119
	sep384=394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0
	zero20=0000000000000000000000000000000000000000
	specid=53706563204944204576656e74303300   # "Spec ID Event03\0"
	# TPM: index 0, event size 37, version 2.0, errata 2, uintnSize 2,
	# banks sha256 + sha384; a PCR7 separator; EV_NO_ACTION at index -1.
	hdr="00000000 03000000 $zero20 25000000 $specid 00000000 00 02 02 02 02000000"
	hdr="$hdr 0b00 2000 0c00 3000 00"
	ev1="07000000 04000000 02000000 0b00 $sep256 0c00 $sep384 04000000 00000000"
	ev2="ffffffff 03000000 02000000 0b00 $sep256 0c00 $sep384 05000000 616761696e"
	unhex "$hdr $ev1 $ev2" >"$dir/seed-tpm-two-banks"
	# CCEL: index 1, event size 33, errata 0, sha384; an RTMR1 separator, fill.
	hdr="01000000 03000000 $zero20 21000000 $specid 00000000 00 02 00 02 01000000"
	hdr="$hdr 0c00 3000 00"
	ev1="02000000 04000000 01000000 0c00 $sep384 04000000 00000000"
	unhex "$hdr $ev1 ffffffffffffffffffffffffffffffff" >"$dir/seed-ccel-fill"
	if [ -f "$SHARED/fixtures/tdx-upstream/dstack-ccel-sample.bin" ]; then
		rm -f "$dir/seed-dstack-ccel"
		cat "$SHARED/fixtures/tdx-upstream/dstack-ccel-sample.bin" >"$dir/seed-dstack-ccel"
		head -c 2048 "$dir/seed-dstack-ccel" >"$dir/seed-dstack-ccel-2k"
		echo "fuzz: seeded fuzz_eventlog with the dstack CCEL from $SHARED and two small logs"
	else
		echo "fuzz: $SHARED has no CCEL sample; seeding fuzz_eventlog with two small logs only"
	fi
}

# seed_tdvf DIR: inputs of fuzz_tdvf (a parameter byte, then a TDVF
# descriptor): two small synthetic layouts (64 KiB image, 2 GiB and 4 GiB
# RAM, one with a TempMem above 4 GiB) and the real descriptors of the
# firmware in $SHARED (4 MiB image, 2 GiB and 16 MiB RAM).
seed_tdvf()
{
	dir=$1
	found=0
	# "TDVF", length, version 1, count; sections: offset, raw size, GPA,
	# memory size, type, attributes.
	bfv="00800000 00400000 0080ffff00000000 0080000000000000 00000000 01000000"
	cfv="00000000 00800000 0000ffff00000000 0080000000000000 01000000 00000000"
	tmp1="00000000 00000000 0000800000000000 0060000000000000 03000000 00000000"
	hob="00000000 00000000 0090800000000000 0020000000000000 02000000 00000000"
	tmp2="00000000 00000000 00b0800000000000 0020000000000000 03000000 02000000"
	high="00000000 00000000 0000000001000000 0010000000000000 03000000 00000000"
	unhex "02 54445646 b0000000 01000000 05000000 $bfv $cfv $tmp1 $hob $tmp2" \
		>"$dir/seed-tdvf-synthetic"
	unhex "0c 54445646 d0000000 01000000 06000000 $bfv $cfv $tmp1 $hob $tmp2 $high" \
		>"$dir/seed-tdvf-synthetic-high"
	if [ -d "$SHARED" ]; then
		for f in "$SHARED"/inputs/*.fd; do
			[ -f "$f" ] || continue
			# The TDVF metadata GUID; the descriptor follows it.
			g=$(LC_ALL=C grep -obUaP '\xf3\xf9\xea\xe9\x8e\x16\xd5\x44\xa8\xeb\x7f\x4d\x87\x38\xf6\xae' \
				"$f" 2>/dev/null | head -n 1 | cut -d: -f1)
			[ -n "$g" ] || continue
			at=$((g + 16))
			len=$(get_le "$f" $((at + 4)) 4)
			[ "$len" -ge 16 ] && [ "$len" -le 4096 ] || continue
			base=$(basename "$f")
			{ unhex 32; tail -c +$((at + 1)) "$f" | head -c "$len"; } >"$dir/seed-tdvf-$base"
			{ unhex 30; tail -c +$((at + 1)) "$f" | head -c "$len"; } >"$dir/seed-tdvf-$base-16m"
			found=$((found + 1))
		done
	fi
	echo "fuzz: seeded fuzz_tdvf with 2 synthetic descriptors and $found from the firmware in $SHARED"
}

# seed_acpi DIR: the first 16 KiB of the quex etc/acpi/tables dumps (the
# tables end before 8.1 KiB) and a 288-byte blob: FACS, DSDT, a 148-byte
# FACP (with X_DSDT), an RSDT with one entry, no padding.
seed_acpi()
{
	dir=$1
	found=0
	facs="46414353 40000000 $(printf '%0112d' 0)"
	hdr="01 00 424f43485320 424f43485350434e 01000000 42585043 01000000"
	dsdt="44534454 24000000 $hdr"
	facp="46414350 94000000 $hdr $(printf '%0224d' 0)"
	rsdt="52534454 28000000 $hdr 00000000"
	unhex "$facs $dsdt $facp $rsdt" >"$dir/seed-acpi-tiny"
	if [ -d "$SHARED" ]; then
		for f in "$SHARED"/fixtures/tdx-upstream/quex-acpi-tables-*.bin; do
			[ -f "$f" ] || continue
			head -c 16384 "$f" >"$dir/seed-$(basename "$f" .bin)-16k"
			found=$((found + 1))
		done
	fi
	echo "fuzz: seeded fuzz_acpi with a tiny synthetic blob and $found quex dumps from $SHARED"
}

# seed_recipe DIR: the example recipes and locks of the repository.
seed_recipe()
{
	n=0
	for f in examples/*/*.recipe examples/*/*.lock; do
		[ -f "$f" ] || continue
		cp "$f" "$1/seed-$(basename "$f")"
		n=$((n + 1))
	done
	echo "fuzz: seeded fuzz_recipe with $n example recipes and locks"
}

# seed_modinfo DIR: a small object with a .modinfo section (made by cc) and
# the setup header of a real kernel from $SHARED.
seed_modinfo()
{
	printf '__attribute__((section(".modinfo"),used)) static const char m[] = '\
'"license=GPL\\0vermagic=6.1.0-50-amd64 SMP preempt mod_unload ";\n' >"$1/.m.c"
	cc -c -o "$1/seed-module.o" "$1/.m.c" 2>/dev/null || true
	rm -f "$1/.m.c"
	# The module compressed as the kernel's modules_install does it.
	if [ -f "$1/seed-module.o" ]; then
		command -v xz >/dev/null 2>&1 &&
			xz --check=crc32 --lzma2=dict=1MiB -c "$1/seed-module.o" >"$1/seed-module.ko.xz"
		command -v zstd >/dev/null 2>&1 && zstd -q -c "$1/seed-module.o" >"$1/seed-module.ko.zst"
		gzip -n -c "$1/seed-module.o" >"$1/seed-module.ko.gz"
	fi
	[ -f "$SHARED/inputs/vmlinuz-6.1.0-50" ] &&
		head -c 32768 "$SHARED/inputs/vmlinuz-6.1.0-50" >"$1/seed-bzimage-head"
	echo "fuzz: seeded fuzz_modinfo with a cc-built module (plain, xz, zstd, gzip) and a kernel header"
}

# seed_cpio DIR: two small deterministic initrds built by cvmforge itself.
seed_cpio()
{
	bin=build/cvmforge
	[ -x "$bin" ] || return 0
	t=$(mktemp -d)
	mkdir -p "$t/tree/etc" && echo hi >"$t/tree/etc/x" && ln -s x "$t/tree/etc/y"
	"$bin" initrd --quiet --tree "$t/tree" --compress none -o "$t/a" >/dev/null 2>&1 &&
		cat "$t/a" "$t/a" >"$1/seed-cpio-twice"
	"$bin" initrd --quiet --tree "$t/tree" --compress zstd -o "$t/b" >/dev/null 2>&1 &&
		cp "$t/b" "$1/seed-cpio-zstd"
	rm -rf "$t"
	echo "fuzz: seeded fuzz_cpio with initrds written by $bin"
}

# seed_fv DIR: for fuzz_fv, from each firmware in $SHARED: its first 64 KiB
# (volume and file headers, the start of the LZMA stream) and the first
# 64 KiB of its decoded DXE stream (the target also uses each input as the
# contents of an LZMA section), decoded with xz's .lzma reader.
seed_fv()
{
	found=0
	if [ -d "$SHARED" ]; then
		for f in "$SHARED"/inputs/OVMF*.fd; do
			[ -f "$f" ] || continue
			base=$(basename "$f")
			head -c 65536 "$f" >"$1/seed-$base-head64k"
			# The LZMA GUID; the stream starts 20 bytes after it.
			off=$(LC_ALL=C grep -obUaP '\x98\x58\x4e\xee\x14\x39\x59\x42\x9d\x6e\xdc\x7b' "$f" |
				head -n 1 | cut -d: -f1)
			if [ -n "$off" ] && command -v xz >/dev/null 2>&1; then
				tail -c +$((off + 21)) "$f" | xz --format=lzma -dc 2>/dev/null |
					head -c 65536 >"$1/seed-$base-dxe64k"
			fi
			found=$((found + 1))
		done
	fi
	printf '_FVH' >"$1/seed-tiny"
	echo "fuzz: seeded fuzz_fv from $found firmware images in $SHARED"
}

# seed_json DIR: a JSON document, a canonical one, a manifest-like one (first
# byte 0), and base64 of several lengths (first byte 1).
seed_json()
{
	printf '\000{"b": [1, -2, {"x": null}], "a": "caf\303\251 \\u00e9", "r": 1.5}' >"$1/seed-json"
	printf '\000{"a":["0a0b0c0d",null],"n":7}' >"$1/seed-json-shape"
	printf '\000{"format": "cvmforge-manifest/1", "inputs": [{"role": "kernel", "line": 3}], "outputs": {}}' \
		>"$1/seed-json-manifest"
	printf '\001Zm9vYmFy' >"$1/seed-b64-6"
	printf '\001Zm9vYg==' >"$1/seed-b64-4"
	printf '\001Zm9vYmE=' >"$1/seed-b64-5"
	echo "fuzz: seeded fuzz_json with 3 documents and 3 base64 strings"
}

# seed_dsse DIR: a small statement, an envelope around it (not signed by the
# target's key: the structure is what is explored), and the envelopes of the
# demo image when `make demo` has signed it.
seed_dsse()
{
	stmt='{"_type":"https://in-toto.io/Statement/v1","predicate":{"a":1},'\
'"predicateType":"https://cvmforge.dev/measurements/v1","subject":[{"digest":{"sha256":'\
'"0000000000000000000000000000000000000000000000000000000000000000"},"name":"OVMF.fd"}]}'
	printf '%s' "$stmt" >"$1/seed-statement"
	printf '{"payload":"%s","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"00","sig":"AAAA"}]}' \
		"$(printf '%s' "$stmt" | base64 -w0)" >"$1/seed-envelope"
	n=0
	for f in build/demo/*/*.dsse.json; do
		[ -f "$f" ] || continue
		cp "$f" "$1/seed-demo-$(basename "$f")"
		n=$((n + 1))
	done
	echo "fuzz: seeded fuzz_dsse with a statement, an envelope and $n demo envelopes"
}

# seed_serve DIR: read-API paths (first byte 0), the recorded Rekor v2 answer
# (first byte 1) and a bundle-shaped document around it (first byte 2).
seed_serve()
{
	n=0
	for p in checkpoint tile/0/000 tile/0/x001/x234/067.p/8 tile/entries/x123/x456/789 \
		tile/entries/000.p/255 tile/63/x018/x446/x744/x073/x709/x551/615 tile/../checkpoint; do
		n=$((n + 1))
		printf '\000%s' "$p" >"$1/seed-path-$n"
	done
	r=$SHARED/fixtures/tlog-upstream/rekor-v2/rekor-local-create-entry-response.json
	if [ -f "$r" ]; then
		{ printf '\001'; cat "$r"; } >"$1/seed-rekor-tle"
		{ printf '\002{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",'
		  printf '"verificationMaterial":{"publicKey":{"hint":"AAAA"},"tlogEntries":['
		  cat "$r"
		  printf ']},"messageSignature":{"messageDigest":{"algorithm":"SHA2_384","digest":'
		  printf '"dyj4ednYHjN4/zsjjBeeLahS9slp97Z67LTAVxjrjXw="},"signature":"AAAA"}}'; } >"$1/seed-rekor-bundle"
		n=$((n + 2))
	fi
	echo "fuzz: seeded fuzz_serve with $n paths and Rekor documents"
}

# seed_tlog DIR: the notes and checkpoints of $SHARED's tlog fixtures, and a
# tlog-proof of the golden log written by cvmforge itself.
seed_tlog()
{
	n=0
	for f in "$SHARED"/fixtures/tlog-upstream/notes/* "$SHARED"/fixtures/tlog-upstream/golden-log-1000/checkpoint*; do
		[ -f "$f" ] || continue
		cat "$f" >"$1/seed-$(basename "$f")"
		n=$((n + 1))
	done
	bin=build/cvmforge
	g=$SHARED/fixtures/tlog-upstream/golden-log-1000
	if [ -x "$bin" ] && [ -d "$g" ]; then
		t=$(mktemp -d)
		cp -r "$g" "$t/log"
		chmod -R u+w "$t/log"
		mkdir -p "$t/log/.state"
		# a proof needs only the checkpoint and the tiles
		"$bin" log proof "$t/log" 777 -o "$1/seed-golden-777.tlog-proof" 2>/dev/null && n=$((n + 1))
		rm -rf "$t"
	fi
	echo "fuzz: seeded fuzz_tlog with $n notes, checkpoints and proofs"
}

# seed_attest DIR: the real SNP reports and TDX quotes (selector bytes 0 and
# 1), each fixture certificate (192), the VCEK's hwID and SPL values (64+),
# and the collateral JSON (160).
seed_attest()
{
	dir=$1
	fx=$SHARED/fixtures/attest-upstream
	found=0
	for f in "$fx"/snp/*/report.bin "$fx"/tdx/*.dat; do
		[ -f "$f" ] || continue
		b=$(basename "$(dirname "$f")")-$(basename "$f")
		{ unhex 00; cat "$f"; } >"$dir/seed-$b"
		{ unhex 01; cat "$f"; } >"$dir/seed-$b-snp"
		found=$((found + 1))
	done
	for f in "$fx"/snp/*/*.pem "$fx"/tdx/trusted_root.pem; do
		[ -f "$f" ] || continue
		{ unhex c0; cat "$f"; } >"$dir/seed-cert-$(basename "$(dirname "$f")")-$(basename "$f")"
	done
	[ -f "$fx/tdx/sample_tcbInfo_response" ] &&
		{ unhex a0; cat "$fx/tdx/sample_tcbInfo_response"; } >"$dir/seed-tcbinfo"
	# byte 0 picks the arc: (byte % 10) indexes the list in fuzz_attest.c
	unhex "41 020200db" >"$dir/seed-spl-ucode"        # 3.8 = 0xdb
	unhex "42 020118" >"$dir/seed-spl-small"          # 3.9 = 0x18
	unhex "46 020101" >"$dir/seed-version"            # 1 = 1
	unhex "47 16084d696c616e2d4230" >"$dir/seed-name" # 2 = "Milan-B0"
	unhex "43 4ffb5cb4fd594f3f" >"$dir/seed-hwid8"    # 4, Turin's 8 bytes
	echo "fuzz: seeded fuzz_attest with $found reports and quotes from $SHARED and their certificates"
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
	fuzz_eventlog) seed_eventlog "$corpus" ;;
	fuzz_pe) seed_pe "$corpus" ;;
	fuzz_tdvf) seed_tdvf "$corpus" ;;
	fuzz_acpi) seed_acpi "$corpus" ;;
	fuzz_recipe) seed_recipe "$corpus" ;;
	fuzz_modinfo) seed_modinfo "$corpus" ;;
	fuzz_cpio) seed_cpio "$corpus" ;;
	fuzz_fv) seed_fv "$corpus" ;;
	fuzz_json) seed_json "$corpus" ;;
	fuzz_tlog) seed_tlog "$corpus" ;;
	fuzz_serve) seed_serve "$corpus" ;;
	fuzz_dsse) seed_dsse "$corpus" ;;
	fuzz_attest) seed_attest "$corpus" ;;
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
