# ember: one multi-call binary, its applet symlinks, tests and benchmarks.
#
#   make                 build $(BUILD)/ember
#   make install         binary + one symlink per applet (PREFIX, DESTDIR)
#   make check           every test this machine can run; ends "N passed, N failed, N skipped"
#   make check-asan      the same suite on an AddressSanitizer + UBSan build
#   make check-kernel    the device-mapper tests, inside a Debian kernel under QEMU
#   make bench           benchmark figures (never fails on a time)
#   make standin         the Firecracker stand-in for the tests ($(BUILD)/standin/firecracker)
#   make demo            the demonstration (scripts/demo)

BUILD ?= build
PREFIX ?= /usr/local
CC ?= cc
CFLAGS ?= -O2 -g
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

PKGS := sqlite3 libcjson
# Headers only: libcurl and libdevmapper are loaded with dlopen, never linked.
DLOPEN_PKGS := libcurl devmapper

APPLETS := $(shell sed -n 's/^APPLET(\([a-z]*\))$$/\1/p' applets/applets.def)
SRCS := $(sort $(wildcard applets/*.c lib/*.c platform/*.c))
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(filter $(BUILD)/lib/% $(BUILD)/platform/%,$(OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# pkg-config is asked only when a build rule needs its answer, and then once
# (each X = $(eval X := ...)$(X) replaces itself by its value): `make check`
# and `make demo` on a fresh machine run scripts/install-deps first, and
# nothing asks pkg-config about packages that are not installed yet.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS) $(DLOPEN_PKGS)))$(PKG_CFLAGS)
EMBER_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-iquote lib -iquote platform -iquote applets -DEMBER_VERSION='"$(VERSION)"' \
	$(PKG_CFLAGS)
# SQLite is linked statically where libsqlite3.a exists: the dynamic link of
# libsqlite3.so costs every applet start about 0.15 ms (tests/bench/startup.sh).
SQLITE_A = $(eval SQLITE_A := $$(wildcard $$(shell pkg-config --variable=libdir sqlite3)/libsqlite3.a))$(SQLITE_A)
SQLITE_STATIC := -Wl,-Bstatic -lsqlite3 -Wl,-Bdynamic -lm -lpthread
SQLITE_LIBS = $(if $(SQLITE_A),$(SQLITE_STATIC),$(shell pkg-config --libs sqlite3))
CJSON_LIBS = $(eval CJSON_LIBS := $$(shell pkg-config --libs libcjson))$(CJSON_LIBS)
EMBER_LDLIBS = -Wl,--as-needed $(SQLITE_LIBS) $(CJSON_LIBS) -ldl

.PHONY: all install uninstall check check-all check-unit check-cli check-kernel check-asan bench demo \
	clean format fuzz standin
all: $(BUILD)/ember

$(BUILD)/ember: $(OBJS) Makefile
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(EMBER_LDLIBS)

$(BUILD)/%.o: %.c $(wildcard lib/*.h platform/*.h applets/*.h) applets/applets.def
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EMBER_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EMBER_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(EMBER_LDLIBS) -lcmocka

# The agent's test client (tests/agent/), on the same lib objects as ember-vm.
$(BUILD)/tests/agent-client: tests/agent/agent-client.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EMBER_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(EMBER_LDLIBS)

# The Firecracker stand-in for the tests (tests/firecracker/README); never installed.
STANDIN_SRCS := $(sort $(wildcard tests/firecracker/*.c))
standin: $(BUILD)/standin/firecracker
$(BUILD)/standin/firecracker: $(STANDIN_SRCS) tests/firecracker/standin.h tests/firecracker/schema.json Makefile
	@mkdir -p $(dir $@)
	cp tests/firecracker/schema.json $(BUILD)/standin/schema.json
	$(CC) $(CFLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-DSTANDIN_SCHEMA='"$(abspath tests/firecracker/schema.json)"' $(shell pkg-config --cflags libcjson) \
		$(LDFLAGS) -o $@ $(STANDIN_SRCS) $(shell pkg-config --libs libcjson) -pthread

install: $(BUILD)/ember
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/ember $(DESTDIR)$(PREFIX)/bin/ember
	for a in $(APPLETS); do ln -sf ember $(DESTDIR)$(PREFIX)/bin/ember-$$a; done
	for s in ember-up ember-down; do \
		[ ! -f scripts/$$s ] || install -m 0755 scripts/$$s $(DESTDIR)$(PREFIX)/bin/$$s; done
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)/etc/cron.d
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/ember-reconcile.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/ember-reconcile.service
	install -m 0644 scripts/ember-reconcile.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/ember-reconcile.timer
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/ember-reconcile.cron >$(DESTDIR)/etc/cron.d/ember-reconcile

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ember $(APPLETS:%=$(DESTDIR)$(PREFIX)/bin/ember-%)
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/ember-reconcile.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/ember-reconcile.timer $(DESTDIR)/etc/cron.d/ember-reconcile

# check and demo install what they need first (scripts/install-deps), then run
# in a fresh make, whose pkg-config flags see the new packages.
check:
	@scripts/install-deps
	@$(MAKE) --no-print-directory check-all

demo:
	@scripts/install-deps
	@$(MAKE) --no-print-directory $(BUILD)/ember $(BUILD)/standin/firecracker >/dev/null
	@EMBER=$(abspath $(BUILD)/ember) scripts/demo

# The groups make check runs: unit tests, CLI tests, then the kernel tests.
KERNEL_GROUP := $(if $(SKIP_KERNEL),'skip:kernel tests: $(SKIP_KERNEL)','scripts/kernel-test $(BUILD)')
check-all: $(BUILD)/ember $(UNIT_BINS) $(BUILD)/standin/firecracker $(BUILD)/tests/agent-client
	@EMBER=$(abspath $(BUILD)/ember) BUILD=$(BUILD) tests/run $(UNIT_BINS) \
		$(sort $(wildcard tests/cli/*.sh)) $(if $(wildcard scripts/kernel-test),$(KERNEL_GROUP))

check-unit: $(UNIT_BINS)
	@tests/run $(UNIT_BINS)

check-cli: $(BUILD)/ember $(BUILD)/standin/firecracker
	@EMBER=$(abspath $(BUILD)/ember) tests/run $(sort $(wildcard tests/cli/*.sh))

check-kernel: $(BUILD)/ember $(BUILD)/standin/firecracker $(BUILD)/tests/agent-client
	@EMBER=$(abspath $(BUILD)/ember) BUILD=$(BUILD) tests/run 'scripts/kernel-test $(BUILD)'

# The sanitizer build runs the whole suite but the kernel group: the initramfs
# carries no sanitizer runtime (check-kernel runs the plain build there).
check-asan:
	@scripts/install-deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" \
		SKIP_KERNEL="the initramfs carries no sanitizer runtime; make check-kernel runs them" check-all

bench: $(BUILD)/ember
	@EMBER=$(abspath $(BUILD)/ember) BUILD=$(BUILD) tests/bench/run

# libFuzzer targets for the parsers (tests/fuzz/fuzz_*.c), each run for
# FUZZ_SECONDS. Needs clang and its runtime (scripts/install-deps).
FUZZ_SECONDS ?= 20
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined
fuzz:
	@scripts/install-deps
	@rm -rf build-fuzz && mkdir -p build-fuzz
	@set -e; for f in $(FUZZ_SRCS); do \
		n=$$(basename $$f .c); \
		clang $(FUZZ_FLAGS) $(EMBER_CFLAGS) -Wno-strict-prototypes -o build-fuzz/$$n $$f \
			$(filter-out applets/%,$(SRCS)) $(shell pkg-config --libs $(PKGS)) -ldl; \
		mkdir -p build-fuzz/$$n.corpus; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		build-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build-fuzz/$$n.corpus 2>build-fuzz/$$n.log \
			|| { tail -30 build-fuzz/$$n.log; exit 1; }; \
		grep -E '^Done|^#[0-9]+.*DONE' build-fuzz/$$n.log | tail -1; \
	done

format:
	clang-format -i $(SRCS) $(wildcard lib/*.h platform/*.h applets/*.h tests/unit/*.c)

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJS:.o=.d)
