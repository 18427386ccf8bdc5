# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# libFuzzer targets (tests/fuzz/fuzz_*.c), included by the root Makefile.
#
#   make fuzz            build them into $(BUILD)/fuzz/ (make all does too)
#   tests/fuzz/run.sh    run them (tests/fuzz/README.md)
#
# clang with libFuzzer, ASan and UBSan (aborting on the first report, so the
# fuzzer keeps the input). The agent's sources a target exercises are
# compiled again here with the same sanitizers: build/libbpfix.a is gcc's,
# uninstrumented, and libFuzzer could neither see its coverage nor ASan its
# overflows. Only the parsers and formatters are linked (FUZZ_AGENT), so
# nothing here needs libbpf, the skeletons or root.
#
# libFuzzer's runtime is libclang-rt-dev on Debian 12 (a Recommends of
# clang only, so tools/deps.sh names it). Without it `make all` leaves the
# fuzzers out and tests/fuzz/run.sh skips; `make fuzz` says what is missing.

FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))
FUZZ_AGENT  := clock community_id config errline ipfix links netflow output output_text
FUZZ_OBJS   := $(patsubst %,$(FUZZ_DIR)/obj/%.o,$(FUZZ_AGENT))
FUZZ_RT     := $(wildcard $(shell $(CLANG) -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-$(shell uname -m).a)

FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-Wall -Wextra -Werror -std=gnu11 -Iinclude -Iuser -D_GNU_SOURCE

.PHONY: fuzz

ifneq ($(FUZZ_RT),)
all: $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
else
fuzz:
	@echo "make fuzz: libFuzzer's runtime (libclang_rt.fuzzer) is not installed; run tools/deps.sh" >&2
	@exit 1
endif

# -fsanitize=fuzzer-no-link: coverage counters and comparison hooks in the
# agent's code, without a second main().
$(FUZZ_OBJS): $(FUZZ_DIR)/obj/%.o: user/%.c $(USER_HDRS) tests/fuzz/fuzz.mk | $(FUZZ_DIR)/obj
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The targets' own code (the checks, the JSON parser) is left without
# coverage: its branches are no news about the agent, and tracing its
# comparisons cost fuzz_format half its speed.
$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS) | $(FUZZ_DIR)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@.o
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $@.o $(FUZZ_OBJS) -o $@
	$(Q)rm -f $@.o

$(FUZZ_DIR) $(FUZZ_DIR)/obj:
	$(Q)mkdir -p $@
