# shellcheck shell=bash
# Helpers for integration tests.  Each test prints TAP lines ("ok N - ...",
# "not ok N - ...") that tests/run counts.  A test cleans up everything it
# started or created, by PID and by path, also when it fails.

set -u

PW_BUILD=${PW_BUILD:?PW_BUILD must name the build directory}
PW_PLAIN_BUILD=${PW_PLAIN_BUILD:-$PW_BUILD}
PW_TEST_USER=${PW_TEST_USER:-pwtest}
PW_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

_tap_n=0
_tap_failed=0
PW_TMP=""
DAEMON_PID=""
_cleanup_hooks=()

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	local l
	for l in "$@"; do
		echo "#   $l"
	done
}

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}

# check_eq DESCRIPTION ACTUAL EXPECTED
check_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $3" "actual:   $2"
	fi
}

on_cleanup() {
	_cleanup_hooks+=("$1")
}

_pw_cleanup() {
	local i
	for ((i = ${#_cleanup_hooks[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_hooks[$i]}" || true
	done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ -n "$PW_TMP" ] && [ -d "$(pw_pin_dir)" ]; then
		"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach 2>/dev/null ||
			rm -rf "$(pw_pin_dir)"
	fi
	if [ -n "$PW_TMP" ] && [ -d "$PW_TMP" ]; then
		rm -rf "$PW_TMP"
	fi
}

# done_testing: print the plan and exit non-zero if anything failed.
done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

pw_setup() {
	trap _pw_cleanup EXIT
	"$PW_SRC/scripts/mount-kernel-fs.sh"
	PW_TMP=$(mktemp -d /tmp/pwtest.XXXXXX)
	chmod 755 "$PW_TMP"
}

# pw_ensure_user NAME: a local account for tests, created once.
pw_ensure_user() {
	local u=${1:-$PW_TEST_USER}
	if ! getent passwd "$u" >/dev/null; then
		useradd --create-home --shell /bin/bash "$u"
	fi
}

# The test's own bpffs directory (bpffs refuses '.' in names).
pw_pin_dir() {
	echo "/sys/fs/bpf/$(basename "$PW_TMP" | tr . _)"
}

# pw_write_policy FILE: a policy using the test directory's sockets and
# store; extra lines come from standard input.
pw_write_policy() {
	{
		echo "[store]"
		echo "path = $PW_TMP/store.db"
		echo "[daemon]"
		echo "pam_socket = $PW_TMP/pam.sock"
		echo "control_socket = $PW_TMP/control.sock"
		echo "spool = $PW_TMP/spool"
		echo "pin_dir = $(pw_pin_dir)"
		echo "delta_interval = 1s"
		cat
	} >"$1"
}

# Words put before piiwatchd's path by pw_start_daemon: a wrapper such as
# setpriv, which must exec piiwatchd in its own place (DAEMON_PID is its).
PW_DAEMON_WRAPPER=()

# pw_start_daemon POLICY [ARGS...]: start piiwatchd, wait for its socket.
pw_start_daemon() {
	local policy=$1 started
	shift
	# A daemon started before in this test logged its own "watching".
	started=$(grep -c "watching" "$PW_TMP/daemon.err" 2>/dev/null)
	"${PW_DAEMON_WRAPPER[@]}" "$PW_BUILD/piiwatchd" -c "$policy" "$@" \
		>>"$PW_TMP/daemon.out" 2>>"$PW_TMP/daemon.err" &
	DAEMON_PID=$!
	local i
	# Loading takes the verifier a few seconds (3-7 s on the machines
	# seen so far): see docs/kernel-probes.md, "Start-up".  The margin
	# is for slow machines.
	for i in $(seq 1 300); do
		if [ -S "$PW_TMP/pam.sock" ] &&
			[ "$(grep -c "watching" "$PW_TMP/daemon.err")" -gt "${started:-0}" ]; then
			return 0
		fi
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "# piiwatchd exited early:" >&2
			sed 's/^/#   /' "$PW_TMP/daemon.err" >&2
			DAEMON_PID=""
			return 1
		fi
		sleep 0.1
	done
	echo "# piiwatchd did not come up in 30 s" >&2
	return 1
}

# pw_stop_daemon [SIGNAL]: stop it by PID and wait; its exit status is
# left in DAEMON_STATUS (not a subshell: only this shell can wait for it).
DAEMON_STATUS=""
pw_stop_daemon() {
	local sig=${1:-TERM}
	DAEMON_STATUS=255
	[ -n "$DAEMON_PID" ] || return 0
	kill "-$sig" "$DAEMON_PID"
	DAEMON_STATUS=0
	wait "$DAEMON_PID" || DAEMON_STATUS=$?
	DAEMON_PID=""
}

# pw_status_of KEY: one value of `piiwatch status` from the test's daemon.
pw_status_of() {
	"$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" status 2>&1 |
		awk -v k="$1" '$1 == k { print $2 }'
}

# pw_sql QUERY: run a query on the test store.
pw_sql() {
	sqlite3 -cmd ".timeout 5000" "$PW_TMP/store.db" "$1"
}

# pw_wait_sql QUERY EXPECTED: poll until the query returns EXPECTED (10 s).
pw_wait_sql() {
	local i out=""
	for i in $(seq 1 100); do
		out=$(pw_sql "$1" 2>/dev/null)
		[ "$out" == "$2" ] && { echo "$out"; return 0; }
		sleep 0.1
	done
	echo "$out"
	return 1
}

# This kernel should let tracepoint programs call kfunc bpf_task_from_vpid
# (it is Linux 6.13 or later and its BTF has the kfunc): the daemon's
# blind spot for another process's memory must then not be taken.
pw_vpid_expected() {
	local v maj min
	v=$(uname -r)
	maj=${v%%.*}
	v=${v#*.}
	min=${v%%[!0-9]*}
	{ [ "$maj" -gt 6 ] || { [ "$maj" -eq 6 ] && [ "${min:-0}" -ge 13 ]; }; } &&
		bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null |
		grep -q "^\[[0-9]*\] FUNC 'bpf_task_from_vpid'"
}

# IDs of loaded BPF programs and links, to tell what a test left behind.
# Sorted as text: comm(1) compares them so.
pw_bpf_prog_ids() {
	bpftool prog list 2>/dev/null | sed -n 's/^\([0-9]\+\): .*/\1/p' | sort
}

# IDs of the programs and links the test's daemon attached, from its pins
# (one program may be behind several links).
pw_daemon_prog_ids() {
	local l
	for l in "$(pw_pin_dir)"/links/*; do
		bpftool link show pinned "$l" 2>/dev/null | sed -n 's/.*prog \([0-9]\+\).*/\1/p'
	done | sort -u
}

# pw_wait_gone IDS LISTER: wait (up to 5 s: the kernel frees programs
# after an RCU grace period) until none of IDS is listed; prints the rest.
pw_wait_gone() {
	local ids=$1 lister=$2 left="" i
	for i in $(seq 1 50); do
		left=$(comm -12 <(echo "$ids") <($lister))
		[ -z "$left" ] && break
		sleep 0.1
	done
	echo "$left"
}

pw_daemon_link_ids() {
	local l
	for l in "$(pw_pin_dir)"/links/*; do
		bpftool link show pinned "$l" 2>/dev/null | sed -n 's/^\([0-9]\+\): .*/\1/p'
	done | sort
}

pw_bpf_link_ids() {
	bpftool link list 2>/dev/null | sed -n 's/^\([0-9]\+\): .*/\1/p' | sort
}

# pw_pam_service NAME LINES...: a PAM service file in the test's confdir.
pw_pam_service() {
	local name=$1
	shift
	mkdir -p "$PW_TMP/pam.d"
	printf '%s\n' "$@" >"$PW_TMP/pam.d/$name"
}

