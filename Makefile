# berth: plain Makefile (conmon style).  `make` builds ./berth;
# `make check` runs the whole test command; see README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
BUILDDIR ?= build
CC ?= cc

PKGS := libcurl jansson libarchive libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl, libarchive and libsubid are loaded on first use (lib/lazy.h)
PKG_LIBS := $(shell pkg-config --libs jansson libseccomp 2>/dev/null) -lpthread -lm
# unit tests build their fixtures with libarchive directly
TEST_LIBS := $(shell pkg-config --libs libarchive 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wswitch-default -Wno-format-nonliteral
CFLAGS ?= -O2 -g
override CFLAGS += -std=c17 $(WARN) -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS ?=

VERSION := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
override CFLAGS += -DBERTH_VERSION='"$(VERSION)"' -DBERTH_COMMIT='"$(GIT_COMMIT)"'

RUNTIME_MAIN := runtime/berth-runtime-main.c
INIT_MAIN := runtime/berth-init-main.c
LIB_SRCS := $(filter-out $(RUNTIME_MAIN) $(INIT_MAIN),$(wildcard lib/*.c image/*.c storage/*.c rootless/*.c netns/*.c runtime/*.c))
CMD_SRCS := $(wildcard cmd/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILDDIR)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILDDIR)/%.o)
# cmd/ code other than main.c is testable too (format engine, flag parser)
CMD_LIB_OBJS := $(filter-out $(BUILDDIR)/cmd/main.o,$(CMD_OBJS))
# The per-container monitor: its own binary, libc only and static (its
# memory is paid once per container); never linked into berth.
MONITOR_SRCS := $(wildcard monitor/*.c)
MONITOR_OBJS := $(MONITOR_SRCS:%.c=$(BUILDDIR)/%.o)
MONITOR_LIB_OBJS := $(filter-out $(BUILDDIR)/monitor/main.o,$(MONITOR_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILDDIR)/tests/%)
HELPER_SRCS := $(wildcard tests/unit/helper-*.c)
HELPER_OBJS := $(HELPER_SRCS:%.c=$(BUILDDIR)/%.o)

.PHONY: all clean deps install uninstall unit check asan-unit bench fmt test-system
all: berth berth-monitor berth-runtime berth-init

berth: $(LIB_OBJS) $(CMD_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The built-in runtime on its own: linked from an archive with --as-needed,
# it pulls in only the objects (and libraries) the runtime uses, so the
# monitor's create/start/delete do not pay for libcurl and libarchive.
$(BUILDDIR)/libberth.a: $(LIB_OBJS) $(CMD_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

berth-runtime: $(BUILDDIR)/$(RUNTIME_MAIN:.c=.o) $(BUILDDIR)/libberth.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS)

# run --init's PID 1: libc only, static, bind-mounted into containers
berth-init: $(BUILDDIR)/$(INIT_MAIN:.c=.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^

berth-monitor: $(MONITOR_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^

$(BUILDDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILDDIR)/tests/test-%: $(BUILDDIR)/tests/unit/test-%.o $(LIB_OBJS) $(CMD_LIB_OBJS) $(HELPER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

# tests/unit/test-monitor*.c test monitor/ code (not in LIB_OBJS)
$(filter $(BUILDDIR)/tests/test-monitor%,$(UNIT_BINS)): $(MONITOR_LIB_OBJS)

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

# The same unit tests under AddressSanitizer and UBSan, in their own tree.
asan-unit:
	$(MAKE) BUILDDIR=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" unit

check:
	tests/run-all.sh

test-system: berth
	tests/run-system.sh

deps:
	tests/deps.sh

bench: all
	bench/pull-bench.sh
	bench/run-bench.sh
	bench/net-bench.sh

install: all
	install -D -m 0755 berth $(DESTDIR)$(BINDIR)/berth
	install -D -m 0755 berth-monitor $(DESTDIR)$(PREFIX)/libexec/berth/berth-monitor
	install -D -m 0755 berth-runtime $(DESTDIR)$(PREFIX)/libexec/berth/berth-runtime
	install -D -m 0755 berth-init $(DESTDIR)$(PREFIX)/libexec/berth/berth-init
	install -D -m 0644 completions/berth.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/berth
	install -D -m 0644 completions/_berth $(DESTDIR)$(DATADIR)/zsh/site-functions/_berth
	install -D -m 0644 completions/berth.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/berth.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/berth $(DESTDIR)$(PREFIX)/libexec/berth/berth-monitor $(DESTDIR)$(PREFIX)/libexec/berth/berth-runtime $(DESTDIR)$(PREFIX)/libexec/berth/berth-init $(DESTDIR)$(DATADIR)/bash-completion/completions/berth \
	      $(DESTDIR)$(DATADIR)/zsh/site-functions/_berth $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/berth.fish

fmt:
	clang-format -i $(LIB_SRCS) $(CMD_SRCS) $(MONITOR_SRCS) $(wildcard */*.h)

clean:
	rm -rf $(BUILDDIR) build-asan berth berth-monitor berth-runtime berth-init

-include $(shell find $(BUILDDIR) build-asan -name '*.d' 2>/dev/null)
