# pipesfs — see README.md.  `make deps` once (as root), then `make check`.
#
# Out-of-tree objects go to $(BUILD); `make SAN=1 ...` builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer into build-san/.

CC      ?= cc
PKG     ?= pkg-config
SAN     ?= 0
# `make fuzz` builds the libraries again with clang, libFuzzer's coverage
# and the same sanitizers into build-fuzz/ (FUZZ=1), and the fuzz targets
# of tests/fuzz/ against them.
ifeq ($(FUZZ),1)
BUILD   ?= build-fuzz
FUZZ_CC ?= clang
override CC := $(FUZZ_CC)
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
else ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD   ?= build
SANFLAGS =
endif

# Quiet by default; `make V=1` shows every command.
ifeq ($(V),1)
Q =
quiet = @true
else
Q = @
quiet = @echo
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -MMD -MP \
           -I. -Iinclude $(SANFLAGS)
LDFLAGS += -pthread $(SANFLAGS)

CHECK_CFLAGS := $(shell $(PKG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG) --libs check 2>/dev/null)
# DPDK's flags force -march=corei7 and other includes; only the benchmark
# that compares against rte_ring needs them.
DPDK_CFLAGS  := $(shell $(PKG) --cflags libdpdk 2>/dev/null)
DPDK_LIBS    := $(shell $(PKG) --libs libdpdk 2>/dev/null)
PCAP_LIBS    := $(shell $(PKG) --libs libpcap 2>/dev/null)
URCU_LIBS    := $(shell $(PKG) --libs liburcu-qsbr 2>/dev/null)
FUSE_CFLAGS  := $(shell $(PKG) --cflags fuse3 2>/dev/null)
FUSE_LIBS    := $(shell $(PKG) --libs fuse3 2>/dev/null)

BUFS_SRC  := $(wildcard bufs/*.c)
BUFS_OBJ  := $(BUFS_SRC:%.c=$(BUILD)/%.o)
BUFS_LIB  := $(BUILD)/libbufs.a

FILTERS_SRC := $(wildcard filters/*.c filters/graph/*.c filters/sources/*.c)
FILTERS_OBJ := $(FILTERS_SRC:%.c=$(BUILD)/%.o)
FILTERS_LIB := $(BUILD)/libfilters.a

FS_SRC    := $(wildcard fs/*.c)
FS_OBJ    := $(FS_SRC:%.c=$(BUILD)/%.o)
PIPESFS   := $(BUILD)/pipesfs

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

BENCH_BIN := $(BUILD)/bench/bufs

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps check unit integration bench demo demo-live fuzz clean
.SECONDARY: $(FUZZ_BIN)
all: $(PIPESFS) $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUFS_LIB): $(BUFS_OBJ)
	$(quiet) "  AR      $@"
	$(Q)$(AR) rcs $@ $^

$(FILTERS_LIB): $(FILTERS_OBJ)
	$(quiet) "  AR      $@"
	$(Q)$(AR) rcs $@ $^

# Only the files that use DPDK see its headers (they force -march and more):
# the live source, and bpf with the EAL it needs.
DPDK_OBJ := $(addprefix $(BUILD)/filters/,sources/dpdk.o bpf.o eal.o)
$(DPDK_OBJ): $(BUILD)/filters/%.o: filters/%.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $< (DPDK)"
	$(Q)$(CC) $(CFLAGS) $(DPDK_CFLAGS) -DALLOW_EXPERIMENTAL_API -c -o $@ $<

$(BUILD)/fs/%.o: fs/%.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(FUSE_CFLAGS) -c -o $@ $<

$(PIPESFS): $(FS_OBJ) $(FILTERS_LIB) $(BUFS_LIB)
	$(quiet) "  LD      $@"
	$(Q)$(CC) -o $@ $(FS_OBJ) $(FILTERS_LIB) $(BUFS_LIB) $(LDFLAGS) $(FUSE_LIBS) \
		$(URCU_LIBS) $(PCAP_LIBS) $(DPDK_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(FILTERS_LIB) $(BUFS_LIB)
	@mkdir -p $(dir $@)
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(FILTERS_LIB) $(BUFS_LIB) $(LDFLAGS) $(CHECK_LIBS) \
		$(URCU_LIBS) $(PCAP_LIBS) $(DPDK_LIBS)

# A fuzz target links what a unit test links, with libFuzzer's main.
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FILTERS_LIB) $(BUFS_LIB)
	@mkdir -p $(dir $@)
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(FILTERS_LIB) $(BUFS_LIB) $(LDFLAGS) \
		$(URCU_LIBS) $(PCAP_LIBS) $(DPDK_LIBS)

$(BUILD)/bench/bufs: bench/bufs.c $(BUFS_LIB)
	@mkdir -p $(dir $@)
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -O3 $(DPDK_CFLAGS) -o $@ $< $(BUFS_LIB) $(LDFLAGS) $(DPDK_LIBS)

deps:
	scripts/install-deps.sh

# Unit tests print Check's summary line each; any failure fails the target.
# The captures every filter is run on, made from the demo trace; CORPUS
# (PFS_CORPUS for the unit tests) names another directory, such as
# tcpdump's own test captures.
OWN_CORPUS := $(BUILD)/corpus
CORPUS ?= $(abspath $(OWN_CORPUS))
$(OWN_CORPUS)/.made: tests/tools/mkcorpus.py examples/demo.pcap
	@mkdir -p $(dir $@)
	$(quiet) "  CORPUS  $(dir $@)"
	$(Q)python3 tests/tools/mkcorpus.py examples/demo.pcap $(dir $@) && touch $@

unit: $(UNIT_BIN) $(OWN_CORPUS)/.made
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; PFS_CORPUS=$(CORPUS) $$t; done

# Integration tests mount a real filesystem (root and /dev/fuse needed).
integration: $(PIPESFS) $(OWN_CORPUS)/.made
	CORPUS=$(CORPUS) OWN_CORPUS=$(abspath $(OWN_CORPUS)) tests/integration/run.sh $(abspath $(PIPESFS))

check: unit integration

# The benchmarks measure on BENCH_TRACE, else on an HTTP trace recorded once
# (nginx under wrk's load) and kept. Every benchmark runs even after one
# failed; any failure fails the target (README, "Tests and benchmarks").
BENCH_OWN_TRACE := $(BUILD)/bench/http.pcap
$(BENCH_OWN_TRACE): scripts/mktrace.sh
	@mkdir -p $(dir $@)
	scripts/mktrace.sh -n 300000 $@

bench: $(BENCH_BIN) $(PIPESFS) $(if $(BENCH_TRACE),,$(BENCH_OWN_TRACE))
	@st=0; $(BENCH_BIN) || st=1; \
	for b in fs filters http live; do echo; \
		bench/$$b.sh $(abspath $(PIPESFS)) $(abspath $(or $(BENCH_TRACE),$(BENCH_OWN_TRACE))) || st=1; \
	done; exit $$st

# `make fuzz`: every target of tests/fuzz/ for a fixed number of inputs
# (about a minute in all on two cores), from seeds made from the demo trace
# and crafted streams, plus what earlier runs found (build-fuzz/fuzz/corpus/).
# Any crash or failed invariant fails the target; the input that did it is
# kept in build-fuzz/fuzz/artifacts/ (`build-fuzz/fuzz/TARGET FILE` runs
# it again).  FUZZ_RUNS=N runs every target N inputs instead; FUZZ_FLAGS
# adds libFuzzer options (-seed=N, -max_total_time=S ...).  A new target
# is a tests/fuzz/fuzz_*.c with seeds from tests/fuzz/mkseeds.py.
FUZZ_RUNS  ?=
FUZZ_FLAGS ?=
# Inputs per target, for 10 to 20 seconds each (httpframe's inputs are
# streams of up to 80 KiB, fed three ways: a few hundred a second).
FUZZ_RUNS_fuzz_httpframe   := 4000
FUZZ_RUNS_fuzz_tcpreasm    := 20000
FUZZ_RUNS_fuzz_http_stage  := 20000
FUZZ_RUNS_fuzz_pcap_stream := 30000
# The longest input of each target: a stream (repeated up to 128 KiB by
# the target), a script of segments, a capture file.
FUZZ_MAX_LEN_fuzz_httpframe   := 4096
FUZZ_MAX_LEN_fuzz_tcpreasm    := 8192
FUZZ_MAX_LEN_fuzz_http_stage  := 16384
FUZZ_MAX_LEN_fuzz_pcap_stream := 16384
FUZZ_SEEDS := $(BUILD)/fuzz/seeds
$(FUZZ_SEEDS)/.made: tests/fuzz/mkseeds.py tests/tools/mkcorpus.py examples/demo.pcap
	@mkdir -p $(dir $@)
	$(quiet) "  SEEDS   $(dir $@)"
	$(Q)python3 tests/fuzz/mkseeds.py examples/demo.pcap $(dir $@) && touch $@

ifeq ($(FUZZ),1)
fuzz: $(FUZZ_BIN:$(BUILD)/fuzz/%=fuzz-run-%)
fuzz-run-%: $(BUILD)/fuzz/% $(FUZZ_SEEDS)/.made
	@mkdir -p $(BUILD)/fuzz/corpus/$* $(BUILD)/fuzz/artifacts
	@printf '  FUZZ    %-20s ' $*
	@if $< -runs=$(or $(FUZZ_RUNS),$(FUZZ_RUNS_$*),10000) -max_len=$(or $(FUZZ_MAX_LEN_$*),4096) \
		-artifact_prefix=$(BUILD)/fuzz/artifacts/$*- $(FUZZ_FLAGS) \
		$(BUILD)/fuzz/corpus/$* $(FUZZ_SEEDS)/$* > $(BUILD)/fuzz/$*.log 2>&1; then \
		grep -o 'Done [0-9]* runs in [0-9]* second(s)' $(BUILD)/fuzz/$*.log | tr '\n' ' '; \
		grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/]*[a-zA-Z]*' $(BUILD)/fuzz/$*.log | tail -1; \
	else echo FAILED; tail -50 $(BUILD)/fuzz/$*.log; \
		echo "fuzz: $* failed (log: $(BUILD)/fuzz/$*.log; input: $(BUILD)/fuzz/artifacts/$*-*)"; \
		exit 1; \
	fi
else
fuzz:
	$(MAKE) FUZZ=1 fuzz
endif

demo: $(PIPESFS)
	scripts/demo.sh $(abspath $(PIPESFS))

demo-live: $(PIPESFS)
	scripts/demo-live.sh $(abspath $(PIPESFS))

# `make install` copies the daemon and its manual page under PREFIX, as GNU
# packages do (`make install PREFIX=/usr DESTDIR=/tmp/stage` for a package);
# `make uninstall`, with the same PREFIX and DESTDIR, removes exactly those
# files (not the directories, which others share).  INSTALL_PIPESFS installs
# another build of the daemon as it is, without making it
# (INSTALL_PIPESFS=build-san/pipesfs).  Each INSTALL_* list is what goes
# into one directory: a new kind of file (the client library, its header)
# is a list and a line in each rule.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
MAN1DIR ?= $(MANDIR)/man1
INSTALL ?= install
INSTALL_PIPESFS ?= $(PIPESFS)
INSTALL_BIN  = $(INSTALL_PIPESFS)
INSTALL_MAN1 = man/pipesfs.1

# $(call install-files,MODE,DIR,FILES): FILES into $(DESTDIR)DIR, with MODE.
define install-files
$(quiet) "  INSTALL $(addprefix $(DESTDIR)$(2)/,$(notdir $(3)))"
$(Q)$(INSTALL) -d "$(DESTDIR)$(2)"
$(Q)$(INSTALL) -m $(1) $(3) "$(DESTDIR)$(2)/"
endef
# $(call uninstall-files,DIR,FILES): what install-files put there.
define uninstall-files
$(quiet) "  RM      $(addprefix $(DESTDIR)$(1)/,$(notdir $(2)))"
$(Q)rm -f $(foreach f,$(notdir $(2)),"$(DESTDIR)$(1)/$(f)")
endef

.PHONY: install uninstall
install: $(INSTALL_BIN) $(INSTALL_MAN1)
	$(call install-files,755,$(BINDIR),$(INSTALL_BIN))
	$(call install-files,644,$(MAN1DIR),$(INSTALL_MAN1))

uninstall:
	$(call uninstall-files,$(BINDIR),$(INSTALL_BIN))
	$(call uninstall-files,$(MAN1DIR),$(INSTALL_MAN1))

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
