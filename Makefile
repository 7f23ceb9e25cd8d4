# pipesfs — see README.md.  `make deps` once (as root), then `make check`.
#
# Out-of-tree objects go to $(BUILD); `make SAN=1 ...` builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer into build-san/.

CC      ?= cc
PKG     ?= pkg-config
SAN     ?= 0
ifeq ($(SAN),1)
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

.PHONY: all deps check unit integration bench demo demo-live clean
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
	for b in fs filters live; do echo; \
		bench/$$b.sh $(abspath $(PIPESFS)) $(abspath $(or $(BENCH_TRACE),$(BENCH_OWN_TRACE))) || st=1; \
	done; exit $$st

demo: $(PIPESFS)
	scripts/demo.sh $(abspath $(PIPESFS))

demo-live: $(PIPESFS)
	scripts/demo-live.sh $(abspath $(PIPESFS))

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
