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

# libpipesfs: the client library (lib/) with bufs' readers, and the
# examples built on it.  The static library holds the objects the daemon
# is built from; the shared one the same sources compiled again as
# position-independent code into $(BUILD)/pic/, exporting only the API
# (pipesfs_*, lib/libpipesfs.map).  LIBPFS_VERSION is its version
# (pipesfs.pc's too); its first number, the soname's, changes with the ABI.
LIBPFS_VERSION := 0.1
LIBPFS_SONAME  := libpipesfs.so.$(firstword $(subst ., ,$(LIBPFS_VERSION)))
LIBPFS      := $(BUILD)/libpipesfs.a
LIBPFS_SO   := $(BUILD)/libpipesfs.so.$(LIBPFS_VERSION)
LIBPFS_PIC  := $(BUILD)/pic/lib/pipesfs.o $(BUFS_SRC:%.c=$(BUILD)/pic/%.o)
EXAMPLE_BIN := $(BUILD)/examples/zerocopy-count
# Test programs built on libpipesfs: made with the build they test (its
# sanitizers included), unlike tests/tools' others, which tests compile.
CLIENT_TOOL_BIN := $(BUILD)/tests/tools/zcpoll

BENCH_BIN := $(BUILD)/bench/bufs

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps check unit integration bench demo demo-live fuzz clean
.SECONDARY: $(FUZZ_BIN)
all: $(PIPESFS) $(UNIT_BIN) $(LIBPFS) $(LIBPFS_SO) $(EXAMPLE_BIN) $(CLIENT_TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUFS_LIB): $(BUFS_OBJ)
	$(quiet) "  AR      $@"
	$(Q)$(AR) rcs $@ $^

$(LIBPFS): $(BUILD)/lib/pipesfs.o $(BUFS_OBJ)
	$(quiet) "  AR      $@"
	$(Q)$(AR) rcs $@ $^

# bufs' own symbols are hidden as they are compiled, so that its calls
# within the library bind directly; the version script hides anything
# else but the API.  -z defs: the library needs nothing but libc (not
# with sanitizers, whose runtime the program brings).
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $< (PIC)"
	$(Q)$(CC) $(CFLAGS) -fPIC -c -o $@ $<
$(BUILD)/pic/bufs/%.o: CFLAGS += -fvisibility=hidden

$(LIBPFS_SO): $(LIBPFS_PIC) lib/libpipesfs.map
	$(quiet) "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,$(LIBPFS_SONAME) -Wl,--version-script=lib/libpipesfs.map \
		$(if $(SANFLAGS),,-Wl,-z,defs) -o $@ $(LIBPFS_PIC) $(LDFLAGS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(LIBPFS_SONAME)
	$(Q)ln -sf $(LIBPFS_SONAME) $(BUILD)/libpipesfs.so

$(BUILD)/examples/%: examples/%.c $(LIBPFS)
	@mkdir -p $(dir $@)
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBPFS) $(LDFLAGS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBPFS)
	@mkdir -p $(dir $@)
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBPFS) $(LDFLAGS)

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

# The socket's fuzz target runs the daemon's socket thread: fs/ too (not
# its main), and libfuse.
FS_LIB_OBJ := $(filter-out $(BUILD)/fs/main.o,$(FS_OBJ))
$(BUILD)/fuzz/fuzz_socket: tests/fuzz/fuzz_socket.c tests/fuzz/fuzz.h $(FS_LIB_OBJ) \
		$(FILTERS_LIB) $(BUFS_LIB)
	@mkdir -p $(dir $@)
	$(quiet) "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(FUSE_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FS_LIB_OBJ) $(FILTERS_LIB) \
		$(BUFS_LIB) $(LDFLAGS) $(FUSE_LIBS) $(URCU_LIBS) $(PCAP_LIBS) $(DPDK_LIBS)

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

# Each suite is a target of its own, so `make -j` runs them side by side
# (`-O` keeps each one's output together).
UNIT_RUN := $(UNIT_BIN:%=%.run)
.PHONY: $(UNIT_RUN)
unit: $(UNIT_RUN)
$(UNIT_RUN): %.run: % $(OWN_CORPUS)/.made
	@echo "== $<"; PFS_CORPUS=$(CORPUS) $<

# Integration tests mount a real filesystem (root and /dev/fuse needed).
integration: $(PIPESFS) $(LIBPFS) $(LIBPFS_SO) $(EXAMPLE_BIN) $(CLIENT_TOOL_BIN) $(OWN_CORPUS)/.made
	CORPUS=$(CORPUS) OWN_CORPUS=$(abspath $(OWN_CORPUS)) tests/integration/run.sh $(abspath $(PIPESFS))

# The integration tests after the unit tests, never beside them (some
# judge rates of live traffic), even under `make -j`.
check: unit
	$(MAKE) integration

# The benchmarks measure on BENCH_TRACE, else on an HTTP trace recorded once
# (nginx under wrk's load) and kept. bench/run.sh runs every one (even after
# one failed; any failure fails the target), keeps their results in
# build/bench/ and writes BENCHMARKS.md and bench/ratios.png (README, "Tests
# and benchmarks"); runs=N sets every benchmark's number of runs.
BENCH_OWN_TRACE := $(BUILD)/bench/http.pcap
$(BENCH_OWN_TRACE): scripts/mktrace.sh
	@mkdir -p $(dir $@)
	scripts/mktrace.sh -n 300000 $@

bench: $(BENCH_BIN) $(PIPESFS) $(EXAMPLE_BIN) $(if $(BENCH_TRACE),,$(BENCH_OWN_TRACE))
	bench/run.sh $(abspath $(PIPESFS)) $(abspath $(or $(BENCH_TRACE),$(BENCH_OWN_TRACE))) $(abspath $(BUILD)/bench)

# `make fuzz`: every target of tests/fuzz/ for a fixed number of inputs
# (a minute and a half in all on two cores), from seeds made from the demo
# trace, crafted inputs and FUZZ_CORPUS (below), plus what earlier runs
# found (build-fuzz/fuzz/corpus/).
# Any crash or failed invariant fails the target; the input that did it is
# kept in build-fuzz/fuzz/artifacts/ (`build-fuzz/fuzz/TARGET FILE` runs
# it again).  FUZZ_RUNS=N runs every target N inputs instead; FUZZ_FLAGS
# adds libFuzzer options (-seed=N, -max_total_time=S ...).  A new target
# is a tests/fuzz/fuzz_*.c with seeds from tests/fuzz/mkseeds.py.
FUZZ_RUNS  ?=
FUZZ_FLAGS ?=
# Inputs per target, for 5 to 20 seconds each (httpframe's inputs are
# streams of up to 80 KiB, fed three ways: a few hundred a second; a
# pcap_file input is a whole replay, a source's thread and all).
FUZZ_RUNS_fuzz_httpframe   := 4000
FUZZ_RUNS_fuzz_tcpreasm    := 20000
FUZZ_RUNS_fuzz_http_stage  := 20000
FUZZ_RUNS_fuzz_pcap_stream := 30000
FUZZ_RUNS_fuzz_socket      := 500
FUZZ_RUNS_fuzz_classify    := 20000
FUZZ_RUNS_fuzz_spec        := 3000
FUZZ_RUNS_fuzz_pcap_file   := 1000
# The longest input of each target: a stream (repeated up to 128 KiB by
# the target), a script of segments, a capture file, a frame, a spec (a
# bpf= expression over 1 KiB takes libpcap's optimiser long).
FUZZ_MAX_LEN_fuzz_httpframe   := 4096
FUZZ_MAX_LEN_fuzz_tcpreasm    := 8192
FUZZ_MAX_LEN_fuzz_http_stage  := 16384
FUZZ_MAX_LEN_fuzz_pcap_stream := 16384
FUZZ_MAX_LEN_fuzz_socket      := 8192
FUZZ_MAX_LEN_fuzz_classify    := 4096
FUZZ_MAX_LEN_fuzz_spec        := 1024
FUZZ_MAX_LEN_fuzz_pcap_file   := 16384
# More libFuzzer options of a target: those that change the graph free
# what it lets go of after a grace period, on liburcu's thread, so their
# inputs end with more allocations than frees; libFuzzer would look for
# leaks after each (a scan of the heap), LeakSanitizer does at exit.
FUZZ_FLAGS_fuzz_spec       := -detect_leaks=0
FUZZ_FLAGS_fuzz_pcap_file  := -detect_leaks=0
# Captures whose frames and small files seed the frame and capture file
# targets: by default those tests/tools/mkcorpus.py makes from the demo
# trace; FUZZ_CORPUS=DIR takes DIR's instead (CI: tcpdump's test captures).
FUZZ_CORPUS ?=
FUZZ_SEEDS := $(BUILD)/fuzz/seeds
# Made again when the corpus named changes (the stamp's name holds it).
FUZZ_SEEDS_MADE := $(FUZZ_SEEDS)/.made$(subst /,_,$(abspath $(FUZZ_CORPUS)))
$(FUZZ_SEEDS_MADE): tests/fuzz/mkseeds.py tests/tools/mkcorpus.py examples/demo.pcap \
		$(FUZZ_CORPUS)
	$(quiet) "  SEEDS   $(FUZZ_SEEDS)/$(if $(FUZZ_CORPUS), (and $(FUZZ_CORPUS)))"
	$(Q)rm -rf $(FUZZ_SEEDS) && mkdir -p $(FUZZ_SEEDS)
	$(Q)python3 tests/fuzz/mkseeds.py examples/demo.pcap $(FUZZ_SEEDS) $(FUZZ_CORPUS) && touch $@

ifeq ($(FUZZ),1)
fuzz: $(FUZZ_BIN:$(BUILD)/fuzz/%=fuzz-run-%)
fuzz-run-%: $(BUILD)/fuzz/% $(FUZZ_SEEDS_MADE)
	@mkdir -p $(BUILD)/fuzz/corpus/$* $(BUILD)/fuzz/artifacts
	@printf '  FUZZ    %-20s ' $*
	@if $< -runs=$(or $(FUZZ_RUNS),$(FUZZ_RUNS_$*),10000) -max_len=$(or $(FUZZ_MAX_LEN_$*),4096) \
		-artifact_prefix=$(BUILD)/fuzz/artifacts/$*- $(FUZZ_FLAGS_$*) $(FUZZ_FLAGS) \
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

# `make install` copies the daemon, the client library and their manual
# pages under PREFIX, as GNU packages do (`make install PREFIX=/usr
# DESTDIR=/tmp/stage` for a package); `make uninstall`, with the same
# PREFIX and DESTDIR, removes exactly those files (not the directories,
# which others share).  INSTALL_PIPESFS installs another build of the
# daemon as it is, without making it (INSTALL_PIPESFS=build-san/pipesfs);
# INSTALL_LIBPIPESFS, the static and shared library of another build
# (build-san/libpipesfs.a build-san/libpipesfs.so.0.1).  Each INSTALL_*
# list is what goes into one directory: a new kind of file is a list and
# a line in each rule.  pipesfs.pc is made as it is installed, from
# lib/pipesfs.pc.in with the directories given (LIBDIR=/usr/lib64 ...).
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR  ?= $(PREFIX)/share/man
MAN1DIR ?= $(MANDIR)/man1
MAN3DIR ?= $(MANDIR)/man3
INSTALL ?= install
INSTALL_PIPESFS ?= $(PIPESFS)
INSTALL_LIBPIPESFS ?= $(LIBPFS) $(LIBPFS_SO)
INSTALL_BIN  = $(INSTALL_PIPESFS)
INSTALL_LIB_A  = $(filter %.a,$(INSTALL_LIBPIPESFS))
INSTALL_LIB_SO = $(filter %.so.$(LIBPFS_VERSION),$(INSTALL_LIBPIPESFS))
# The shared library's other names, symbolic links: the soname (programs
# load it by that) and the bare name (-lpipesfs links it).
INSTALL_LIB_LINKS = $(LIBPFS_SONAME) libpipesfs.so
INSTALL_INCLUDE = include/pipesfs.h include/pipesfs_record.h
INSTALL_PC   = lib/pipesfs.pc.in
INSTALL_MAN1 = man/pipesfs.1
INSTALL_MAN3 = man/libpipesfs.3

# $(call install-files,MODE,DIR,FILES): FILES into $(DESTDIR)DIR, with MODE.
define install-files
$(quiet) "  INSTALL $(addprefix $(DESTDIR)$(2)/,$(notdir $(3)))"
$(Q)$(INSTALL) -d "$(DESTDIR)$(2)"
$(Q)$(INSTALL) -m $(1) $(3) "$(DESTDIR)$(2)/"
endef
# $(call install-link,DIR,TARGET,LINK): LINK in $(DESTDIR)DIR, a symbolic
# link to TARGET.
define install-link
$(quiet) "  LN      $(DESTDIR)$(1)/$(3) -> $(2)"
$(Q)ln -sfn $(2) "$(DESTDIR)$(1)/$(3)"
endef
# $(call install-pc,DIR,FILE.pc.in): FILE.pc into $(DESTDIR)DIR, 644, with
# the installation's directories (under ${prefix} where they are).
pc-dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
define install-pc
$(quiet) "  GEN     $(DESTDIR)$(1)/$(basename $(notdir $(2)))"
$(Q)$(INSTALL) -d "$(DESTDIR)$(1)"
$(Q)sed -e 's|@prefix@|$(PREFIX)|g' -e 's|@libdir@|$(call pc-dir,$(LIBDIR))|g' \
	-e 's|@includedir@|$(call pc-dir,$(INCLUDEDIR))|g' -e 's|@version@|$(LIBPFS_VERSION)|g' \
	$(2) >"$(DESTDIR)$(1)/$(basename $(notdir $(2)))"
$(Q)chmod 644 "$(DESTDIR)$(1)/$(basename $(notdir $(2)))"
endef
# $(call uninstall-files,DIR,FILES): what install-files put there.
define uninstall-files
$(quiet) "  RM      $(addprefix $(DESTDIR)$(1)/,$(notdir $(2)))"
$(Q)rm -f $(foreach f,$(notdir $(2)),"$(DESTDIR)$(1)/$(f)")
endef

.PHONY: install uninstall
install: $(INSTALL_BIN) $(INSTALL_LIBPIPESFS) $(INSTALL_INCLUDE) $(INSTALL_PC) $(INSTALL_MAN1) \
	$(INSTALL_MAN3)
	$(call install-files,755,$(BINDIR),$(INSTALL_BIN))
	$(call install-files,644,$(LIBDIR),$(INSTALL_LIB_A))
	$(call install-files,755,$(LIBDIR),$(INSTALL_LIB_SO))
	$(call install-link,$(LIBDIR),$(notdir $(LIBPFS_SO)),$(LIBPFS_SONAME))
	$(call install-link,$(LIBDIR),$(LIBPFS_SONAME),libpipesfs.so)
	$(call install-files,644,$(INCLUDEDIR),$(INSTALL_INCLUDE))
	$(call install-pc,$(PKGCONFIGDIR),$(INSTALL_PC))
	$(call install-files,644,$(MAN1DIR),$(INSTALL_MAN1))
	$(call install-files,644,$(MAN3DIR),$(INSTALL_MAN3))

uninstall:
	$(call uninstall-files,$(BINDIR),$(INSTALL_BIN))
	$(call uninstall-files,$(LIBDIR),$(INSTALL_LIB_A) $(INSTALL_LIB_SO) $(INSTALL_LIB_LINKS))
	$(call uninstall-files,$(INCLUDEDIR),$(INSTALL_INCLUDE))
	$(call uninstall-files,$(PKGCONFIGDIR),$(basename $(INSTALL_PC)))
	$(call uninstall-files,$(MAN1DIR),$(INSTALL_MAN1))
	$(call uninstall-files,$(MAN3DIR),$(INSTALL_MAN3))

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
