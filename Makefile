# SPDX-License-Identifier: Apache-2.0
# cvmforge: one non-recursive Makefile.
#
#   make            libcvmforge (static + shared) and build/cvmforge
#   make check      unit tests, known-answer vectors, CLI tests, ASan+UBSan run
#   make demo       build examples/hello from Debian packages, verify, boot it
#   make bench      speed and memory ratios against baselines, printed
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each, default 60)
#   make deps       install the Debian packages (also run by make and make check)

VERSION := 0.1.0
CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
PKG_CONFIG ?= pkg-config
SHARED ?= ../shared
FUZZ_SECONDS ?= 60

# The library: OpenSSL (hashes), and for the builder libarchive (cpio, tar,
# .deb), libzstd and zlib (initrd compression), libelf (modules), inih
# (recipes), jansson (manifests), libcurl (package downloads, log clients)
# and libmicrohttpd (log serve).
LIB_PKGS := openssl libarchive libzstd zlib liblzma libelf inih jansson libcurl libmicrohttpd
# Loaded on first use with dlopen (common/lazy*.c), not linked, so that verbs
# which do not download or unpack do not load their ~38 shared objects: only
# their headers come from pkg-config. A library added here needs a
# common/lazy_NAME.c (see common/lazy.h).
LAZY_PKGS := libarchive libcurl libmicrohttpd
LINK_PKGS := $(filter-out $(LAZY_PKGS),$(LIB_PKGS))
PKGS := $(LIB_PKGS)
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# dlopen is in libc since glibc 2.34; -ldl keeps older C libraries working.
DL_LIBS := -ldl
LIB_LIBS = $(shell $(PKG_CONFIG) --libs $(LINK_PKGS) 2>/dev/null) $(DL_LIBS) -pthread
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(LINK_PKGS) 2>/dev/null) $(DL_LIBS)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -I. -Iinclude $(WARN) $(CFLAGS) $(PKG_CFLAGS) -pthread
LDLIBS_ALL = $(PKG_LIBS) -pthread

B := build
LIB_SRCS := $(sort $(wildcard common/*.c measure/*.c builder/*.c recipes/*.c sign/*.c log/*.c attest/*.c))
CLI_SRCS := $(sort $(wildcard cli/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
HDRS := $(wildcard include/cvmforge/*.h common/*.h measure/*.h builder/*.h recipes/*.h sign/*.h log/*.h attest/*.h cli/*.h tests/unit/*.h)

LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB_PIC_OBJS := $(LIB_SRCS:%.c=$(B)/pic/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

# The sanitizer build: the same sources, its own object tree.
SAN := $(B)/asan
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LIB_OBJS := $(LIB_SRCS:%.c=$(SAN)/obj/%.o)
SAN_CLI_OBJS := $(CLI_SRCS:%.c=$(SAN)/obj/%.o)
# test_tpm_boot boots QEMU (tests/boot); it runs once, in the plain run.
SAN_UNIT_BINS := $(filter-out $(SAN)/tests/test_tpm_boot,$(UNIT_SRCS:tests/unit/%.c=$(SAN)/tests/%))

.PHONY: all deps deps-check deps-fuzz check demo bench fuzz clean

all: $(B)/cvmforge $(B)/sev-snp-measure $(B)/libcvmforge.a $(B)/libcvmforge.so | deps

deps:
	@sh scripts/deps.sh build
# After deps, never beside it: two apt-get runs at once fail on apt's lock
# (make check -j2 on a fresh machine wants both).
deps-check: deps
	@sh scripts/deps.sh check

$(B)/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(B)/pic/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/libcvmforge.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(B)/libcvmforge.so: $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libcvmforge.so.0 -Wl,--as-needed -o $@ $^ $(LIB_LIBS)
$(B)/cvmforge: $(CLI_OBJS) $(B)/libcvmforge.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(B)/libcvmforge.a $(LDLIBS_ALL)
# Called by this name it is a drop-in sev-snp-measure.
$(B)/sev-snp-measure: $(B)/cvmforge
	ln -sf cvmforge $@

$(B)/tests/%: tests/unit/%.c $(B)/libcvmforge.a $(HDRS) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libcvmforge.a $(CMOCKA_LIBS) $(LDLIBS_ALL)

# The dump initrd writer of the vTPM boot oracle (tests/boot).
$(B)/tests/mkinitrd: tests/boot/mkinitrd.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# The synthetic SEV-SNP report and test chain maker of `make demo` (there is no
# SNP hardware here): OpenSSL only. test_attest_chain includes its source.
$(B)/tests/mkreport: tests/tools/mkreport.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null)
$(B)/tests/test_attest_chain $(SAN)/tests/test_attest_chain: tests/tools/mkreport.c

# ---- sanitizer build ----
$(SAN)/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@
$(SAN)/libcvmforge.a: $(SAN_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(SAN)/cvmforge: $(SAN_CLI_OBJS) $(SAN)/libcvmforge.a
	$(CC) $(SAN_FLAGS) -o $@ $(SAN_CLI_OBJS) $(SAN)/libcvmforge.a $(LDLIBS_ALL)
$(SAN)/sev-snp-measure: $(SAN)/cvmforge
	ln -sf cvmforge $@
$(SAN)/tests/%: tests/unit/%.c $(SAN)/libcvmforge.a $(HDRS) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN)/libcvmforge.a $(CMOCKA_LIBS) $(LDLIBS_ALL)

# ---- tests ----
# Every suite reports through tests/run.sh, which prints one closing line
# "N passed, N failed, N skipped" and fails if anything failed.
check: all $(UNIT_BINS) $(B)/tests/mkinitrd $(SAN)/cvmforge $(SAN)/sev-snp-measure $(SAN_UNIT_BINS) | deps-check
	@CVMFORGE_BIN=$(abspath $(B)/cvmforge) SAN_BIN=$(abspath $(SAN)/cvmforge) \
	 MKINITRD=$(abspath $(B)/tests/mkinitrd) SHARED=$(SHARED) sh tests/run.sh $(UNIT_BINS) -- $(SAN_UNIT_BINS)

demo: all $(B)/tests/mkreport
	@sh scripts/deps.sh demo
	@SHARED=$(SHARED) MKREPORT=$(B)/tests/mkreport sh examples/demo.sh $(B)/cvmforge

bench: all
	@sh scripts/deps.sh bench
	@SHARED=$(SHARED) sh bench/bench_snp.sh $(B)/cvmforge
	@SHARED=$(SHARED) sh bench/bench_tdx.sh $(B)/cvmforge
	@sh bench/bench_initrd.sh $(B)/cvmforge
	@sh bench/bench_build.sh $(B)/cvmforge
	@SHARED=$(SHARED) sh bench/bench_startup.sh $(B)/cvmforge
	@sh bench/bench_sign.sh $(B)/cvmforge
	@sh bench/bench_log.sh $(B)/cvmforge
	@SHARED=$(SHARED) sh bench/bench_attest.sh $(B)/cvmforge
	@sh bench/bench_serve.sh $(B)/cvmforge

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# clang is installed once, before the targets, not by each (make fuzz -j2).
deps-fuzz: deps
	@sh scripts/deps.sh fuzz
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(HDRS) | deps-fuzz
	@mkdir -p $(dir $@)
	clang -std=c17 -D_GNU_SOURCE -I. -Iinclude -g -O1 -fsanitize=fuzzer,address,undefined \
		$(PKG_CFLAGS) -o $@ $< $(LIB_SRCS) $(PKG_LIBS) -pthread
fuzz: $(FUZZ_TARGETS)
	@SHARED=$(SHARED) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

clean:
	rm -rf $(B)
