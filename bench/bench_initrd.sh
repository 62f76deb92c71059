#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of `cvmforge initrd`, reported as a ratio against a baseline
# measured in the same run on the same machine. This is not a timed test: it
# prints "goal met" / "goal NOT met" per goal and a summary, and exits 0
# whatever the goals say (non-zero only when it cannot measure, e.g. a
# command fails).
#
#   1. speed   cvmforge initrd --tree DIR --compress zstd --level 3 vs
#              `find . | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0
#              | zstd -T2 -3` of the same tree: ratio <= 1.0.
#   2. memory  peak RSS of cvmforge initrd on that tree < 64 MiB: files are
#              streamed, so RSS must not follow the tree's size.
#
# The tree (about 20,000 files and 300 MB, like a root file system: many
# small files, a few large ones; text, binary-like and incompressible
# content; some symlinks and executables) is written by a tiny generator
# compiled here, deterministic (splitmix64, fixed seed), in a temporary
# directory under build/ that is deleted on exit. Timings come from
# bench/benchrun.c: the two commands run interleaved after a warm-up round
# (page cache warm for both); the median wall time and the largest
# ru_maxrss count.
#
# Usage: sh bench/bench_initrd.sh build/cvmforge
# Env:   RUNS (default 7), WARMUP (default 1), FILES (default 20000),
#        MBYTES (default 300).
set -eu

. "$(dirname "$0")/lib.sh"
bench_usage bench_initrd.sh $#
GOAL_MET="goal met" GOAL_NOT_MET="goal NOT met"
BIN=$1
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
FILES=${FILES:-20000}
MBYTES=${MBYTES:-300}

case $BIN in
*[[:space:]]*)
	echo "bench initrd: paths with blanks are not supported: '$BIN'" >&2
	exit 2
	;;
esac
if [ ! -x "$BIN" ]; then
	echo "bench initrd: $BIN is not an executable; run make first" >&2
	exit 2
fi
for tool in cpio zstd find sort awk cc mktemp; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench initrd: $tool not found (cpio, zstd, findutils, awk and cc are required)" >&2
		exit 2
	fi
done
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# Scratch space in the repository's git-ignored build directory, removed on
# exit whatever happens.
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$HERE/../build"
WORK=$(mktemp -d "$HERE/../build/bench-initrd.XXXXXX")
# shellcheck disable=SC2317  # called from the traps
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
case $WORK in
*[[:space:]]*)
	echo "bench initrd: the work directory '$WORK' has blanks" >&2
	exit 2
	;;
esac

RUNNER=$WORK/benchrun
cc -O2 -o "$RUNNER" "$HERE/benchrun.c"

# gentree DIR FILES MBYTES: the tree. File sizes are log-uniform, 64 B..64 KiB
# for all but 1 in 200 files, which take what is left of the total (scaled);
# content is a per-file choice of text (45%), binary-like (30%: small
# integers, repeats) and random bytes (25%); 1 in 8 files is executable and
# 1 in 40 entries a symlink.
cat >"$WORK/gentree.c" <<'EOF'
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t x = 0x5eed;
static uint64_t rnd(void)
{
	uint64_t z = (x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static const char *words[] = { "the ", "of ", "and ", "module ", "kernel ", "return ",
	"static ", "int ", "struct ", "if (", ") {\n", "}\n", "\t", "config ", "= ", "0x1f",
	"#include <", ">\n", "error ", "device ", "memory ", "license ", "GNU ", "free ",
	"software ", "usr/lib/", ".so.6", "printf(\"%s\", ", "NULL", "; ", "\n" };

static void fill(unsigned char *p, size_t n, int kind)
{
	size_t i = 0;
	if (kind == 0) {
		while (i < n) {
			const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
			while (*w && i < n)
				p[i++] = (unsigned char)*w++;
		}
	} else if (kind == 1) {
		while (i < n) {
			uint64_t r = rnd();
			size_t k = 16;
			if (k > n - i)
				k = n - i;
			if ((r & 3) == 0 && i >= 4096) {
				memcpy(p + i, p + i - 16 * (1 + (r >> 8) % 256), k);
			} else if ((r & 3) == 1) {
				memset(p + i, 0, k);
			} else {
				for (size_t j = 0; j < k; j++)
					p[i + j] = (unsigned char)((r >> (8 + 3 * j)) & ((r & 3) == 2 ? 0x0f : 0xff));
			}
			i += k;
		}
	} else {
		while (i < n) {
			uint64_t r = rnd();
			for (int j = 0; j < 8 && i < n; j++)
				p[i++] = (unsigned char)(r >> (8 * j));
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const char *dir = argv[1];
	long files = atol(argv[2]);
	double target = atof(argv[3]) * 1e6;
	double *size = malloc(sizeof(double) * (size_t)files);
	double small = 0, large = 0;
	for (long i = 0; i < files; i++) {
		bool big = i % 200 == 7;
		size[i] = big ? exp(log(65536.0) + unif() * (log(16.0 * 1048576) - log(65536.0)))
			      : exp(log(64.0) + unif() * (log(65536.0) - log(64.0)));
		if (big)
			large += size[i];
		else
			small += size[i];
	}
	double scale = target > small && large > 0 ? (target - small) / large : 1;
	unsigned char *buf = malloc(64u << 20);
	char path[4096];
	if (chdir(dir))
		return 1;
	for (int a = 0; a < 20; a++) {
		snprintf(path, sizeof(path), "d%02d", a);
		mkdir(path, 0755);
		for (int b = 0; b < 10; b++) {
			snprintf(path, sizeof(path), "d%02d/s%d", a, b);
			mkdir(path, 0755);
		}
	}
	for (long i = 0; i < files; i++) {
		size_t n = (size_t)(i % 200 == 7 ? size[i] * scale : size[i]);
		if (n > (64u << 20))
			n = 64u << 20;
		snprintf(path, sizeof(path), "d%02ld/s%ld/f%05ld%s", i % 20, (i / 20) % 10, i,
			 i % 3 ? ".so" : ".txt");
		if (i % 40 == 39) {
			char target_path[64];
			snprintf(target_path, sizeof(target_path), "../../d%02ld/s%ld/f%05ld.so",
				 (i - 1) % 20, ((i - 1) / 20) % 10, i - 1);
			if (symlink(target_path, path))
				return 1;
			continue;
		}
		double k = unif();
		fill(buf, n, k < 0.45 ? 0 : k < 0.75 ? 1 : 2);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, n, f) != n || fclose(f))
			return 1;
		chmod(path, i % 8 == 0 ? 0755 : 0644);
	}
	return 0;
}
EOF
cc -O2 -o "$WORK/gentree" "$WORK/gentree.c" -lm
TREE=$WORK/tree
mkdir "$TREE"
"$WORK/gentree" "$TREE" "$FILES" "$MBYTES"
N_FILES=$(find "$TREE" -type f | wc -l)
N_LINKS=$(find "$TREE" -type l | wc -l)
TREE_KB=$(du -sk --apparent-size "$TREE" | awk '{ print $1 }')

# ---- helpers ----

# bench RUNS WARMUP CMD ARGS... [::: CMD ARGS...]...: runs them interleaved;
# for command k (1-based) sets Mk (median ms), Lk (min), Hk (max), Pk (peak
# RSS KiB).
bench() {
	n=$1 w=$2
	shift 2
	out=$("$RUNNER" -n "$n" -w "$w" -- "$@") || {
		echo "bench initrd: error: a benchmarked command failed (see above)" >&2
		exit 1
	}
	k=0
	# shellcheck disable=SC2086
	set -- $out
	while [ $# -ge 4 ]; do
		k=$((k + 1))
		eval "M$k=\$1 L$k=\$2 H$k=\$3 P$k=\$4"
		shift 4
	done
}

# ---- machine context ----

if command -v nproc >/dev/null 2>&1; then
	NPROC=$(nproc)
else
	NPROC=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
fi
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "== cvmforge initrd benchmark =="
echo "machine:  nproc=$NPROC, cpu=${CPU:-unknown}"
echo "tool:     $("$BIN" --version 2>/dev/null || echo "$BIN"); $(cpio --version | head -n 1); $(zstd --version)"
echo "input:    generated tree: $N_FILES files, $N_LINKS symlinks, 210 directories, $(mib "$TREE_KB") MiB"
echo "method:   median of $RUNS interleaved runs after $WARMUP warm-up round(s); output files in the same directory"
echo

OURS=$WORK/ours.cpio.zst
BASE=$WORK/base.cpio.zst
BASELINE="cd $TREE && find . | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet | zstd -T2 -3 -q -f -o $BASE"

# ---- 1. speed and 2. memory ----

bench "$RUNS" "$WARMUP" \
	"$BIN" initrd --tree "$TREE" -o "$OURS" --compress zstd --level 3 --quiet ::: \
	sh -c "$BASELINE"
OUR_MS=$M1 OUR_RSS=$P1 BASE_MS=$M2 BASE_RSS=$P2
ra=$(ratio "$OUR_MS" "$BASE_MS")
if ratio_le "$OUR_MS" "$BASE_MS" 1.0; then goal speed 0; else goal speed 1; fi
printf '1. speed   cvmforge initrd %8.1f ms | find|sort|cpio|zstd -T2 %8.1f ms | ratio %s (goal <= 1.00): %s\n' \
	"$OUR_MS" "$BASE_MS" "$ra" "$V"
printf '           (ours min/max %.1f/%.1f ms; baseline min/max %.1f/%.1f ms)\n' \
	"$L1" "$H1" "$L2" "$H2"
if lt "$OUR_RSS" 65536; then goal memory 0; else goal memory 1; fi
printf '2. memory  cvmforge initrd peak RSS %s MiB for a %s MiB tree (goal < 64 MiB): %s\n' \
	"$(mib "$OUR_RSS")" "$(mib "$TREE_KB")" "$V"
printf '           baseline pipeline peak RSS (largest process) %s MiB\n' "$(mib "$BASE_RSS")"

# ---- what came out (informational) ----

OUR_SIZE=$(wc -c <"$OURS")
BASE_SIZE=$(wc -c <"$BASE")
RAW_SIZE=$(zstd -dc "$OURS" | wc -c)
echo
echo "output:   ours $OUR_SIZE bytes, baseline $BASE_SIZE bytes (uncompressed cpio $RAW_SIZE bytes)"
echo "          (the baseline's archive also holds '.', GNU's inode/nlink conventions and 512-byte padding)"

# ---- summary ----

echo
if [ "$FAILED" -eq 0 ]; then
	echo "bench initrd: summary: all $PASSED goals met"
else
	echo "bench initrd: summary: $PASSED goal(s) met, $FAILED NOT met:$FAILED_NAMES"
fi
exit 0
