#!/bin/bash
# Whether the daemon watches 32-bit system calls follows whether the kernel
# takes them (docs/kernel-probes.md, "Hook modes"): its int $0x80 probe
# answers for itself; under a native-only seccomp filter, as the unit's
# SystemCallArchitectures=native, the probe is not tried (it would be
# killed, and the kill logged) and the kernel command line decides.  The
# command line is changed for the daemon alone, by a bind mount over
# /proc/cmdline in a mount namespace of its own.
. "$(dirname "$0")/../lib.sh"
pw_setup

D=$PW_TMP/customers
mkdir -p "$D"
echo 32 >"$PW_TMP/probe.txt"
if [ "$(uname -m)" != x86_64 ] || [ "$("$PW_BUILD/tests/pw-evade" int80 "$PW_TMP/probe.txt" 2>/dev/null)" != 3 ]; then
	ok "# SKIP this machine takes no 32-bit system calls"
	done_testing
	exit
fi
head -c 12345 /dev/urandom >"$D/a.csv"
head -c 23456 /dev/urandom >"$D/b.csv"
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $D
EOF2
echo "quiet ia32_emulation=0 -- init-arg" >"$PW_TMP/cmdline-off"
NATIVE_ONLY=(setpriv --no-new-privs "$PW_BUILD/tests/pw-native-only")
BEFORE=$(pw_bpf_prog_ids)

# Whether the daemon attached the 32-bit entry dispatcher (its link's pin).
has_dispatcher() {
	bpftool link show pinned "$(pw_pin_dir)/links/handle_compat_enter" >/dev/null 2>&1
}

# with_cmdline FILE: the wrapper that shows the daemon FILE as its
# /proc/cmdline, then runs the rest.
with_cmdline() {
	PW_DAEMON_WRAPPER=(unshare --mount --propagation private sh -c
		'mount --bind "$0" /proc/cmdline && exec "$@"' "$1")
}

# 1. Native-only filter, command line ia32_emulation=0: no dispatchers
# (kernels before 6.7 ignore the parameter, and so does the daemon there).
kver=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if [ "$kver" -lt 6007 ]; then
	echo "# kernel $(uname -r) reads no ia32_emulation=: the command-line case left out"
else
	with_cmdline "$PW_TMP/cmdline-off"
	PW_DAEMON_WRAPPER+=("${NATIVE_ONLY[@]}")
	check "a daemon under a native-only filter, told ia32_emulation=0, starts" pw_start_daemon "$PW_TMP/policy.conf"
	check "its log says why the 32-bit dispatchers are left out" \
		grep -q "no 32-bit system calls on this kernel (/proc/cmdline says ia32_emulation=off): handle_compat_enter not loaded" \
		"$PW_TMP/daemon.err"
	check "its programs are attached" test -n "$(pw_daemon_link_ids)"
	check_eq "none of them is a 32-bit dispatcher" "$(ls "$(pw_pin_dir)/links" | grep -c compat)" 0
	check_eq "piiwatch status says no 32-bit system calls are watched" "$(pw_status_of compat_syscalls)" none
	cat "$D/a.csv" >/dev/null
	check_eq "a native read is recorded" \
		"$(pw_wait_sql "SELECT sum(bytes_read) FROM accesses WHERE path = '$D/a.csv' AND closed_ns IS NOT NULL" 12345)" 12345
	pw_stop_daemon
	check_eq "it stops cleanly" "$DAEMON_STATUS" 0
fi

# 2. No filter, the same command line: the probe's answer outweighs it.
with_cmdline "$PW_TMP/cmdline-off"
check "a daemon with no filter, told ia32_emulation=0, starts" pw_start_daemon "$PW_TMP/policy.conf"
check "it loads the 32-bit dispatchers: its probe's call answered" has_dispatcher
pw_stop_daemon
check_eq "it stops cleanly" "$DAEMON_STATUS" 0

# 3. Native-only filter, a command line that does not say: dispatchers,
# and a 32-bit read by another process is counted.
PW_DAEMON_WRAPPER=("${NATIVE_ONLY[@]}")
check "a daemon under a native-only filter, the command line silent, starts" \
	pw_start_daemon "$PW_TMP/policy.conf"
check "it loads the 32-bit dispatchers" has_dispatcher
check_eq "piiwatch status says 32-bit system calls are watched" "$(pw_status_of compat_syscalls)" watched
n=$("$PW_BUILD/tests/pw-evade" int80 "$D/b.csv")
check_eq "a 32-bit read elsewhere is recorded, exact bytes" \
	"$(pw_wait_sql "SELECT sum(bytes_read) FROM accesses WHERE path = '$D/b.csv' AND closed_ns IS NOT NULL" "$n")" 23456
pw_stop_daemon
check_eq "it stops cleanly" "$DAEMON_STATUS" 0

check_eq "no program is left loaded" "$(pw_wait_gone "$(comm -13 <(echo "$BEFORE") <(pw_bpf_prog_ids))" pw_bpf_prog_ids)" ""
check "nothing is left pinned" test ! -e "$(pw_pin_dir)/links"
done_testing
