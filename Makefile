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

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -MMD -MP \
           -Iinclude -Ibufs $(SANFLAGS)
LDFLAGS += -pthread $(SANFLAGS)

CHECK_CFLAGS := $(shell $(PKG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG) --libs check 2>/dev/null)
# DPDK's flags force -march=corei7 and other includes; only the benchmark
# that compares against rte_ring needs them.
DPDK_CFLAGS  := $(shell $(PKG) --cflags libdpdk 2>/dev/null)
DPDK_LIBS    := $(shell $(PKG) --libs libdpdk 2>/dev/null)

BUFS_SRC  := $(wildcard bufs/*.c)
BUFS_OBJ  := $(BUFS_SRC:%.c=$(BUILD)/%.o)
BUFS_LIB  := $(BUILD)/libbufs.a

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

BENCH_BIN := $(BUILD)/bench/bufs

.PHONY: all deps check unit bench demo clean
all: $(BUFS_LIB) $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUFS_LIB): $(BUFS_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUFS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(BUFS_LIB) $(LDFLAGS) $(CHECK_LIBS)

$(BUILD)/bench/bufs: bench/bufs.c $(BUFS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 $(DPDK_CFLAGS) -o $@ $< $(BUFS_LIB) $(LDFLAGS) $(DPDK_LIBS)

deps:
	scripts/install-deps.sh

# Unit tests print Check's summary line each; any failure fails the target.
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check: unit

bench: $(BENCH_BIN)
	$(BENCH_BIN)

demo:
	scripts/demo.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
