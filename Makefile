# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
#   make          build/bpfix, the BPF objects and skeletons, and the test,
#                 benchmark and fuzz binaries (so it needs libcmocka-dev:
#                 tools/deps.sh installs everything)
#   make run      build and run bpfix on IFACE (default: the default route's)
#   make test     every test suite (packet tests, unit tests, namespace tests)
#   make bench    benchmarks; figures go to BENCHMARKS.md
#   make soak     long reliability runs (SOAK=1); figures go to RELIABILITY.md
#   make static   build/bpfix-static: one static binary, no --metrics (small devices)
#   make cross-arm64  build/arm64/bpfix-static, the same for arm64
#   make test-deploy  systemd unit, container image, DaemonSet, arm64 (minutes)
#   make V=1      show the commands
#
# run, test and bench need root: as root they run directly, otherwise they
# re-run themselves through sudo. Missing Debian packages are installed by
# tools/deps.sh first.

BUILD    ?= build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= gcc
IFACE    ?= $(shell ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($$i == "dev") { print $$(i + 1); exit }}')
ARGS     ?=

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/')

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -DBPF_NO_PRESERVE_ACCESS_INDEX \
	-Wall -Werror -I$(BUILD) -Iinclude -Ibpf
# CFLAGS is the user's (make CFLAGS=-O0); what the build needs is added
# with override, so a CFLAGS on the command line does not drop it.
CFLAGS   ?= -O2 -g
override CFLAGS += -Wall -Wextra -Werror -std=gnu11 -I$(BUILD) -Iinclude -Iuser \
	-D_GNU_SOURCE $(shell pkg-config --cflags libbpf 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
# --metrics: libmicrohttpd (README, "Metrics and health"), in a thread of its own
override CFLAGS += $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd) -pthread

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(BPF_OBJS:.bpf.o=.skel.h)
BPF_HDRS   := $(wildcard bpf/*.bpf.h) $(wildcard include/*.h)

# metrics_none.c stands in for metrics_http.c in the static build only
AGENT_SRCS := $(filter-out user/main.c user/metrics_none.c,$(wildcard user/*.c))
AGENT_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(AGENT_SRCS))
AGENT_LIB  := $(BUILD)/libbpfix.a
USER_HDRS  := $(wildcard user/*.h) $(wildcard include/*.h)

TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_BINS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# Other owners' programs and a TCX tool for tests/ns/test_coexist.sh
TEST_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/%.bpf.o,$(wildcard tests/bpf/*.bpf.c))
TEST_TOOLS := $(BUILD)/tests/tcx_tool
BENCH_SRCS := $(wildcard tests/bench_*.c)
BENCH_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(BENCH_SRCS))

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all deps run test bench soak clean as-root-run as-root-test as-root-bench as-root-soak
.PHONY: static cross-arm64 test-deploy deps-deploy as-root-test-deploy

all: $(BUILD)/bpfix $(BPF_OBJS) $(TEST_BINS) $(BENCH_BINS) $(TEST_BPF_OBJS) $(TEST_TOOLS)

# ---- root wrappers ---------------------------------------------------------
ifeq ($(shell id -u),0)
AS_ROOT :=
else
AS_ROOT := sudo --preserve-env=PATH,IFACE,ARGS,V
endif

run:
	$(Q)$(AS_ROOT) $(MAKE) --no-print-directory as-root-run
test:
	$(Q)$(AS_ROOT) $(MAKE) --no-print-directory as-root-test
bench:
	$(Q)$(AS_ROOT) $(MAKE) --no-print-directory as-root-bench
soak:
	$(Q)$(AS_ROOT) $(MAKE) --no-print-directory as-root-soak

deps:
	$(Q)tools/deps.sh
deps-deploy:
	$(Q)tools/deps.sh --deploy

as-root-run: deps
	$(Q)$(MAKE) --no-print-directory all
	@[ -n "$(IFACE)" ] || { echo "make run: no default route; say IFACE=name" >&2; exit 2; }
	$(BUILD)/bpfix -i $(IFACE) $(ARGS)

as-root-test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh $(BUILD)

# Each benchmark script owns one section of BENCHMARKS.md (between its
# markers) and leaves the others alone.
BENCH_SCRIPTS := tools/bench.sh $(filter-out tools/bench.sh,$(sort $(wildcard tools/bench_*.sh)))

as-root-bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)for s in $(BENCH_SCRIPTS); do $$s $(BUILD) || exit 1; done

# The long variants of the reliability tests; tools/soak.sh writes the
# table in RELIABILITY.md from their "reliability:" lines.
as-root-soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/soak.sh $(BUILD)

# ---- BPF objects and skeletons ----------------------------------------------
$(BUILD)/vmlinux.h: vmlinux-gen/gen.sh | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)vmlinux-gen/gen.sh $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h Makefile | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# ---- agent -------------------------------------------------------------------
$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(AGENT_LIB): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bpfix: $(BUILD)/user/main.o $(AGENT_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# ---- static and cross builds (tools/deploy/) ---------------------------------
# Every library LDLIBS names, with what each needs in turn (pkg-config
# --static: a libelf built with zstd lists libzstd there; bookworm's is
# -lelf -lz). ld warns that a static getaddrinfo needs glibc's NSS modules
# at run time: glibc 2.36 has "files" and "dns" built in (collector names
# from /etc/hosts and DNS resolve in the scratch image), so the warning is
# filtered and every other one shown.
PKG_CONFIG    ?= pkg-config
# No --metrics there: Debian's libmicrohttpd needs gnutls' p11-kit and
# libunistring, which have no static archives (user/metrics_none.c).
STATIC_LDLIBS  = $(shell $(PKG_CONFIG) --static --libs libbpf libelf zlib) -pthread
STATIC_OBJS    = $(filter-out $(BUILD)/user/metrics_http.o,$(AGENT_OBJS)) \
		 $(BUILD)/user/metrics_none.o

static: $(BUILD)/bpfix-static

$(BUILD)/bpfix-static: $(BUILD)/user/main.o $(STATIC_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ $(STATIC_LDLIBS) -o $@ 2>$@.log || { cat $@.log >&2; exit 1; }
	$(Q)grep -v -e "Using 'getaddrinfo' in statically linked" -e ': in function ' $@.log >&2 || true

# arm64 with Debian's cross toolchain and multiarch libraries (tools/deps.sh
# --deploy). The BPF objects are the same bytecode on every architecture;
# only the agent around them is cross-compiled.
ARM64_BUILD := $(BUILD)/arm64
cross-arm64:
	$(Q)$(MAKE) --no-print-directory BUILD=$(ARM64_BUILD) ARCH=arm64 \
		CC=aarch64-linux-gnu-gcc \
		PKG_CONFIG="env PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config" \
		$(ARM64_BUILD)/bpfix-static

test-deploy:
	$(Q)$(AS_ROOT) $(MAKE) --no-print-directory as-root-test-deploy

as-root-test-deploy: deps-deploy
	$(Q)$(MAKE) --no-print-directory $(BUILD)/bpfix static cross-arm64
	$(Q)tests/deploy/run.sh $(BUILD)

# libFuzzer targets (tests/fuzz/)
-include tests/fuzz/fuzz.mk

# ---- tests and benchmarks -----------------------------------------------------
$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(USER_HDRS) $(SKELS) $(AGENT_LIB) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(AGENT_LIB) $(LDLIBS) -lcmocka -lm -o $@

$(BUILD)/tests/%.bpf.o: tests/bpf/%.bpf.c $(BUILD)/vmlinux.h Makefile | $(BUILD)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD) $(BUILD)/user $(BUILD)/tests:
	$(Q)mkdir -p $@

clean:
	$(Q)rm -rf $(BUILD)
