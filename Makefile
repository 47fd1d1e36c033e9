# piiwatch build.  `make` builds everything into $(OUT); `make check` runs the
# whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   make [V=1] [SANITIZE=1]   build (SANITIZE=1 builds into build/san)
#   make check                install deps, build, run the suite (sanitized)
#                             (its builds use JOBS=$(nproc) jobs, or make's own -j)
#   make check-plain          the suite against the unsanitized build
#   make demo                 the main job: daemon in the foreground on the demo data
#   make bench-pam            time what pam_piiwatch adds to a session (BENCH_ARGS=)
#   make eval-scenarios       the detector over a dealer month with attacks (EVAL_ARGS=)
#   make bench-probes         what the kernel probes cost, next to auditd (BENCH_ARGS=)
#   make bench-daemon         what piiwatchd takes in, its CPU and memory (BENCH_ARGS=)
#   make fuzz                 every libFuzzer target FUZZ_SECONDS (300) each
#   make soak                 ten minutes of mixed load, then the books (SOAK_SECONDS=)
#   make vmlinux              regenerate bpf/vmlinux.h from the running kernel
#   make install DESTDIR= prefix=
#   make deb                  the Debian package into build/deb/, checked by lintian

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
OUT ?= build/san
else
OUT ?= build
endif

prefix ?= /usr
sbindir ?= $(prefix)/sbin
bindir ?= $(prefix)/bin
mandir ?= $(prefix)/share/man
sysconfdir ?= /etc
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)
pamdir ?= /lib/$(MULTIARCH)/security
unitdir ?= /lib/systemd/system

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# clang -target bpf does not search the host's multiarch include directory,
# where Debian keeps asm/types.h: hand clang's own search list over.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wno-unused-parameter
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -fstack-protector-strong -fPIC
CPPFLAGS += -I$(OUT) -Ibpf -Iuserspace -I/usr/include/json-c
LDLIBS_COMMON := -ljson-c

ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
else
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean check check-plain demo vmlinux install deps test-build bench-pam programs deb

LIB_SRCS := userspace/util.c userspace/policy.c userspace/session_record.c userspace/ancestors.c \
	userspace/store.c userspace/event_text.c
# The output side: ECS records, alerts, JSON Lines, syslog.
LIB_SRCS += userspace/alert.c userspace/ecs.c userspace/ecs_line.c userspace/output_jsonl.c userspace/output_syslog.c
# The detector: pure, shared by the daemon and `piiwatch replay`.
LIB_SRCS += userspace/detector.c
LIB_OBJS := $(patsubst userspace/%.c,$(OUT)/%.o,$(LIB_SRCS))

DAEMON_SRCS := userspace/piiwatchd.c userspace/probes.c userspace/collector.c userspace/log.c \
	userspace/pam_listener.c userspace/spool.c userspace/ringbuf.c userspace/outputs.c
# What each process runs and its parent chain, from exec events and /proc.
DAEMON_SRCS += userspace/proc_cache.c
# Alerts into the audit trail: libaudit, which only the daemon links.
DAEMON_SRCS += userspace/output_audit.c
# Whether the kernel takes 32-bit system calls at all.
DAEMON_SRCS += userspace/compat_entry.c
DAEMON_OBJS := $(patsubst userspace/%.c,$(OUT)/%.o,$(DAEMON_SRCS))

CLI_SRCS := userspace/piiwatch.c userspace/cli_common.c userspace/report_html.c
# `piiwatch replay`: the detector over JSON Lines.
CLI_SRCS += userspace/replay.c
CLI_OBJS := $(patsubst userspace/%.c,$(OUT)/%.o,$(CLI_SRCS))

PAM_SRCS := pam_module/pam_piiwatch.c
PAM_LIB_OBJS := $(OUT)/pam/util.o $(OUT)/pam/session_record.o $(OUT)/pam/spool.o

TEST_BINS := $(OUT)/tests/test_policy $(OUT)/tests/test_session_record \
	$(OUT)/tests/test_util $(OUT)/tests/test_pam_module $(OUT)/tests/pw-session-run $(OUT)/tests/pw-evade

TEST_BINS += $(OUT)/tests/test_ecs $(OUT)/tests/test_output_jsonl $(OUT)/tests/test_output_syslog \
	$(OUT)/tests/pw-syslog-send $(OUT)/tests/test_output_audit $(OUT)/tests/pw-audit-alert

TEST_BINS += $(OUT)/tests/test_store $(OUT)/tests/test_ancestors
# The collector's process cache, against a /proc the test makes.
TEST_BINS += $(OUT)/tests/test_proc_cache
# pw_parse_when() and the CLI's other shared parsing.
TEST_BINS += $(OUT)/tests/test_cli_common
# Talks to the daemon's sockets as a hostile local user would.
TEST_BINS += $(OUT)/tests/pw-sock
# The soak test's reader.
TEST_BINS += $(OUT)/tests/pw-read-loop
# Runs a program under a native-ABI-only seccomp filter, as the unit does.
TEST_BINS += $(OUT)/tests/pw-native-only

# The CLI's tests load a fixed store from ECS JSON Lines.
TEST_BINS += $(OUT)/tests/pw-load-store
# Has the kernel verify every BPF program, those this machine leaves out too.
TEST_BINS += $(OUT)/tests/pw-load-all

TEST_BINS += $(OUT)/tests/test_detector
# The collector's session join, with the outputs and probes stubbed.
TEST_BINS += $(OUT)/tests/test_collector
# The kernel command line's ia32_emulation= and the int $0x80 probe.
TEST_BINS += $(OUT)/tests/test_compat_entry
# The evasion test's 32-bit caller (x86 only; its rule is by pw-evade's).
ifeq ($(ARCH),x86)
TEST_BINS += $(OUT)/tests/pw-evade32
endif

# What `make install` and the package ship.
PROGRAMS := $(OUT)/pam_piiwatch.so $(OUT)/piiwatchd $(OUT)/piiwatch

all: $(PROGRAMS) $(TEST_BINS)

programs: $(PROGRAMS)

$(OUT) $(OUT)/pam $(OUT)/tests $(OUT)/bench:
	$(Q)mkdir -p $@

# Kernel side: .bpf.c -> .bpf.o -> .skel.h, then user space includes it.
$(OUT)/piiwatch.bpf.o: bpf/piiwatch.bpf.c bpf/piiwatch.h bpf/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
		-Wall -Werror -Ibpf $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUT)/piiwatch.skel.h: $(OUT)/piiwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name piiwatch_bpf > $@

$(OUT)/probes.o: $(OUT)/piiwatch.skel.h

$(OUT)/%.o: userspace/%.c $(wildcard userspace/*.h) bpf/piiwatch.h | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUT)/piiwatchd: $(DAEMON_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lbpf -lelf -lz -lsqlite3 -lsystemd -laudit $(LDLIBS_COMMON)

$(OUT)/piiwatch: $(CLI_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lsqlite3 $(LDLIBS_COMMON)

# The PAM module gets its own copies of the shared objects: they are built
# with hidden visibility so that only pam_sm_* leave the .so.
$(OUT)/pam/%.o: userspace/%.c $(wildcard userspace/*.h) | $(OUT)/pam
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -c $< -o $@

$(OUT)/pam/pam_piiwatch.o: $(PAM_SRCS) $(wildcard userspace/*.h) | $(OUT)/pam
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUT)/pam_piiwatch.so: $(OUT)/pam/pam_piiwatch.o $(PAM_LIB_OBJS) pam_module/pam_piiwatch.map
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,--version-script=pam_module/pam_piiwatch.map \
		-Wl,-z,relro,-z,now,-z,defs $(OUT)/pam/pam_piiwatch.o $(PAM_LIB_OBJS) -o $@ \
		-lpam -laudit $(LDLIBS_COMMON)

$(OUT)/tests/%.o: tests/unit/%.c $(wildcard userspace/*.h) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUT)/tests/test_%: $(OUT)/tests/test_%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lcmocka -lsqlite3 $(LDLIBS_COMMON)

# The PAM module's test drives libpam through libpamtest under pam_wrapper,
# whose own test modules (pam_set_items, pam_get_items) it puts in its stacks.
$(OUT)/tests/test_pam_module.o: CPPFLAGS += \
	-DPW_PAM_WRAPPER_MODULES='"/usr/lib/$(MULTIARCH)/pam_wrapper"'

$(OUT)/tests/test_pam_module: $(OUT)/tests/test_pam_module.o $(OUT)/session_record.o $(OUT)/util.o \
		$(OUT)/pam_piiwatch.so
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) -o $@ -lpamtest -lpam -lcmocka -lpthread $(LDLIBS_COMMON)

$(OUT)/tests/pw-session-run: tests/helpers/pw-session-run.c | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@ -lpam

$(OUT)/tests/pw-evade: tests/helpers/pw-evade.c | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@ -luring

# A 32-bit program without libc, for the evasion test of 32-bit callers:
# the GNU assembler's and linker's i386 modes, on x86 only.
ifeq ($(ARCH),x86)
$(OUT)/tests/pw-evade32: tests/helpers/pw-evade32.S | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)as --32 -o $@.o $< && ld -m elf_i386 -o $@ $@.o
endif

$(OUT)/tests/pw-sock: tests/helpers/pw-sock.c | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUT)/tests/pw-read-loop: tests/helpers/pw-read-loop.c | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUT)/tests/pw-native-only: tests/helpers/pw-native-only.c | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUT)/tests/pw-syslog-send: tests/helpers/pw-syslog-send.c $(LIB_OBJS) $(wildcard userspace/*.h) | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) -o $@ -lsqlite3 $(LDLIBS_COMMON)

$(OUT)/tests/pw-load-store: tests/helpers/pw-load-store.c $(LIB_OBJS) $(wildcard userspace/*.h) | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) -o $@ -lsqlite3 $(LDLIBS_COMMON)

$(OUT)/tests/pw-load-all: tests/helpers/pw-load-all.c $(OUT)/probes.o $(OUT)/log.o \
		$(OUT)/compat_entry.o $(OUT)/ringbuf.o $(LIB_OBJS) $(wildcard userspace/*.h) | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) -o $@ -lbpf -lelf -lz \
		-lsqlite3 $(LDLIBS_COMMON)

$(OUT)/bench/pam_session_bench: bench/pam_session_bench.c $(OUT)/session_record.o $(OUT)/util.o \
		$(wildcard userspace/*.h) | $(OUT)/bench
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(OUT)/session_record.o $(OUT)/util.o -o $@ \
		-lpam -lpthread $(LDLIBS_COMMON)

# The real piiwatchd takes part, so the kernel file systems must be there.
bench-pam: $(OUT)/bench/pam_session_bench $(OUT)/pam_piiwatch.so $(OUT)/piiwatchd
	$(Q)./scripts/mount-kernel-fs.sh
	$(OUT)/bench/pam_session_bench $(BENCH_ARGS)

# The kernel side's benchmark (bench/probe_overhead.c).  bench_empty.bpf.c
# puts programs that return at once on piiwatch's hooks: the floor of the
# hooks themselves.  Built for the benchmark only, never by `all`.
.PHONY: bench-probes
BENCH_LIB := bench/bench_lib.c bench/bench_lib.h bench/bench_reader.h

$(OUT)/bench_empty.bpf.o: bpf/bench_empty.bpf.c bpf/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
		-Wall -Werror -Ibpf $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUT)/bench_empty.skel.h: $(OUT)/bench_empty.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bench_empty_bpf > $@

$(OUT)/bench/bench_reader: bench/bench_reader.c bench/bench_reader.h | $(OUT)/bench
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUT)/bench/bench_empty: bench/bench_empty.c $(OUT)/bench_empty.skel.h $(OUT)/piiwatch.skel.h \
		bpf/piiwatch.h userspace/shared_progs.h $(OUT)/compat_entry.o $(OUT)/util.o | $(OUT)/bench
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(OUT)/compat_entry.o $(OUT)/util.o -o $@ \
		-lbpf -lelf -lz $(LDLIBS_COMMON)

$(OUT)/bench/probe_overhead: bench/probe_overhead.c $(BENCH_LIB) $(OUT)/piiwatch.skel.h \
		$(OUT)/util.o $(OUT)/compat_entry.o $(wildcard userspace/*.h) | $(OUT)/bench
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< bench/bench_lib.c $(OUT)/util.o \
		$(OUT)/compat_entry.o -o $@ \
		-lbpf -lelf -lz -lsqlite3 $(LDLIBS_COMMON)

bench-probes: $(OUT)/bench/probe_overhead $(OUT)/bench/bench_empty $(OUT)/bench/bench_reader \
		$(OUT)/piiwatchd $(OUT)/piiwatch
	$(Q)./scripts/mount-kernel-fs.sh
	$(OUT)/bench/probe_overhead $(BENCH_ARGS)

# The daemon's benchmark (bench/daemon_throughput.c): the store layer alone,
# then piiwatchd against the reader.
.PHONY: bench-daemon
$(OUT)/bench/daemon_throughput: bench/daemon_throughput.c $(BENCH_LIB) $(LIB_OBJS) \
		$(wildcard userspace/*.h) | $(OUT)/bench
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< bench/bench_lib.c $(LIB_OBJS) -o $@ \
		-lbpf -lsqlite3 $(LDLIBS_COMMON)

bench-daemon: $(OUT)/bench/daemon_throughput $(OUT)/bench/bench_reader $(OUT)/piiwatchd \
		$(OUT)/piiwatch
	$(Q)./scripts/mount-kernel-fs.sh
	$(OUT)/bench/daemon_throughput $(BENCH_ARGS)

$(OUT)/tests/test_cli_common: $(OUT)/tests/test_cli_common.o $(OUT)/cli_common.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lcmocka -lsqlite3 $(LDLIBS_COMMON)

$(OUT)/tests/test_collector: $(OUT)/tests/test_collector.o $(OUT)/collector.o $(OUT)/proc_cache.o \
		$(OUT)/log.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lcmocka -lsqlite3 $(LDLIBS_COMMON)

$(OUT)/tests/test_compat_entry: $(OUT)/tests/test_compat_entry.o $(OUT)/compat_entry.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lcmocka -lsqlite3 -lbpf $(LDLIBS_COMMON)

$(OUT)/tests/test_proc_cache: $(OUT)/tests/test_proc_cache.o $(OUT)/proc_cache.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lcmocka -lsqlite3 $(LDLIBS_COMMON)

$(OUT)/tests/test_output_audit: $(OUT)/tests/test_output_audit.o $(OUT)/output_audit.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -lcmocka -laudit -lsqlite3 $(LDLIBS_COMMON)

$(OUT)/tests/pw-audit-alert: tests/helpers/pw-audit-alert.c $(OUT)/output_audit.o $(LIB_OBJS) \
		$(wildcard userspace/*.h) | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) -o $@ -laudit -lsqlite3 \
		$(LDLIBS_COMMON)

# The detector's offline evaluation (tests/scenarios/README.md): a dealer
# month as piiwatchd's JSON Lines, attacks injected on top, scored from
# `piiwatch replay --json`.  The suite runs a short month
# (tests/integration/scenarios.sh); `make eval-scenarios` the full month
# over every seed (EVAL_ARGS= for evaluate.sh's options).
.PHONY: eval-scenarios
SCENARIO_BINS := $(OUT)/tests/pw-scenario-gen $(OUT)/tests/pw-scenario-score

all: $(SCENARIO_BINS)

$(OUT)/tests/pw-scenario-%: tests/scenarios/scenario_%.c $(LIB_OBJS) $(wildcard userspace/*.h) \
		| $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) -o $@ -lm -lsqlite3 \
		$(LDLIBS_COMMON)

eval-scenarios: $(OUT)/piiwatch $(SCENARIO_BINS)
	./tests/scenarios/evaluate.sh --build $(OUT) $(EVAL_ARGS)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

deps:
	@./scripts/install-deps.sh

# The builds of check, check-plain and demo use every core (JOBS), unless
# make was given -j itself.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
SUBMAKE = $(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

# The suite's sanitized build, plus the plain build whose PAM module is
# loaded by programs that are not sanitized themselves (sshd, pamtester).
check: deps
	$(Q)$(SUBMAKE) all
	$(Q)$(SUBMAKE) SANITIZE=1 all
	$(Q)$(SUBMAKE) fuzz-build
	./tests/run build/san

check-plain: deps
	$(Q)$(SUBMAKE) all
	$(Q)$(SUBMAKE) fuzz-build
	./tests/run build

demo: deps
	$(Q)$(SUBMAKE) all
	./scripts/demo.sh

install: $(PROGRAMS)
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(pamdir) \
		$(DESTDIR)$(sysconfdir)/piiwatch $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5 \
		$(DESTDIR)$(mandir)/man8 $(DESTDIR)$(unitdir) $(DESTDIR)$(prefix)/lib/sysusers.d \
		$(DESTDIR)$(prefix)/lib/tmpfiles.d $(DESTDIR)$(prefix)/lib/modules-load.d \
		$(DESTDIR)$(prefix)/share/pam-configs
	install -m 0755 $(OUT)/piiwatchd $(DESTDIR)$(sbindir)/piiwatchd
	install -m 0755 $(OUT)/piiwatch $(DESTDIR)$(bindir)/piiwatch
	install -m 0644 $(OUT)/pam_piiwatch.so $(DESTDIR)$(pamdir)/pam_piiwatch.so
	install -m 0644 packaging/piiwatch.conf $(DESTDIR)$(sysconfdir)/piiwatch/piiwatch.conf
	install -m 0644 man/piiwatch.1 $(DESTDIR)$(mandir)/man1/piiwatch.1
	install -m 0644 man/piiwatch.conf.5 $(DESTDIR)$(mandir)/man5/piiwatch.conf.5
	install -m 0644 man/piiwatchd.8 $(DESTDIR)$(mandir)/man8/piiwatchd.8
	install -m 0644 man/pam_piiwatch.8 $(DESTDIR)$(mandir)/man8/pam_piiwatch.8
	install -m 0644 packaging/piiwatchd.service $(DESTDIR)$(unitdir)/piiwatchd.service
	install -m 0644 packaging/piiwatch.sysusers $(DESTDIR)$(prefix)/lib/sysusers.d/piiwatch.conf
	install -m 0644 packaging/piiwatch.tmpfiles $(DESTDIR)$(prefix)/lib/tmpfiles.d/piiwatch.conf
	install -m 0644 packaging/piiwatch.modules-load $(DESTDIR)$(prefix)/lib/modules-load.d/piiwatch.conf
	install -m 0644 packaging/pam-configs/piiwatch $(DESTDIR)$(prefix)/share/pam-configs/piiwatch

# The Debian package (packaging/debian), built by dpkg-buildpackage from a
# copy of the sources in build/deb/src, so that the tree stays clean and the
# package gets a plain build of its own whatever SANITIZE or OUT say.
# Rebuilt only when a source changed; lintian must find no error.
DEB_DIR := build/deb
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/debian/changelog)
DEB := $(DEB_DIR)/piiwatch_$(DEB_VERSION)_amd64.deb
DEB_TREE := Makefile bpf pam_module userspace man packaging
DEB_SRCS := Makefile $(wildcard bpf/* pam_module/* userspace/* man/*) $(shell find packaging -type f)

deb: $(DEB)

$(DEB): $(DEB_SRCS)
	$(call msg,DEB,$@)
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)tar -cf - $(DEB_TREE) | tar -xf - -C $(DEB_DIR)/src
	$(Q)cp -R packaging/debian $(DEB_DIR)/src/debian
	$(Q)cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
		dpkg-buildpackage -b -us -uc -Jauto >../build.log 2>&1 || \
		{ tail -n 40 ../build.log >&2; exit 1; }
	$(Q)lintian --fail-on error $@ >$(DEB_DIR)/lintian.txt 2>&1 || \
		{ cat $(DEB_DIR)/lintian.txt >&2; exit 1; }
	$(Q)sed '/^running with root privileges is not recommended!$$/d' $(DEB_DIR)/lintian.txt


clean:
	rm -rf build

# libFuzzer targets, one per parser of outside input (fuzz/).  Built with
# clang whatever CC is, with ASan and UBSan, into their own directory; the
# suite runs each briefly (tests/integration/fuzz.sh), `make fuzz` longer.
.PHONY: fuzz fuzz-build
FUZZ_OUT := build/fuzz
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 300
FUZZ_LIB_OBJS := $(patsubst userspace/%.c,$(FUZZ_OUT)/lib/%.o,\
	$(LIB_SRCS) userspace/spool.c userspace/cli_common.c)
# gcc's -Werror build checks the warnings; clang's differ (it flags `{ 0 }`).
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE $(filter-out -Werror,$(WARN)) \
	-Wno-missing-field-initializers -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined

$(FUZZ_OUT)/lib:
	$(Q)mkdir -p $@

$(FUZZ_OUT)/lib/%.o: userspace/%.c $(wildcard userspace/*.h) bpf/piiwatch.h | $(FUZZ_OUT)/lib
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) -Ibpf -Iuserspace -I/usr/include/json-c $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJS) $(wildcard userspace/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) -Ibpf -Iuserspace -I/usr/include/json-c $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		$(filter %.c %.o,$^) -o $@ -lsqlite3 $(LDLIBS_COMMON)

fuzz-build: $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_TARGETS))

# make fuzz FUZZ_SECONDS=N: each target N seconds; finds stay in build/fuzz.
fuzz: fuzz-build
	./fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Ten minutes of mixed load against build/'s daemon (tests/soak.sh):
# make soak SOAK_SECONDS=N SOAK_RATE=READS_PER_SECOND
.PHONY: soak
SOAK_SECONDS ?= 600
SOAK_RATE ?= 1000
soak: all
	$(Q)./scripts/mount-kernel-fs.sh
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_RATE=$(SOAK_RATE) PW_BUILD=$(abspath $(OUT)) ./tests/soak.sh
