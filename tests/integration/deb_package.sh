#!/bin/bash
# The Debian package on this host, end to end.  `make deb` builds it (make
# rebuilds it only when a source changed); dpkg installs it without
# touching the PAM stack; `pam-auth-update --enable piiwatch` puts
# pam_piiwatch into common-account and common-session, and the daemon,
# started as its unit's ExecStart line, records an ssh login through those
# lines with the protected file it read, and its stop leaves the probes
# attached (keep_attached).  Then the profile is disabled and the package
# removed (the probes are detached, the records stay) and purged (nothing
# stays); a second install is purged at once with its profile enabled.
# /etc/pam.d, pam-auth-update's state and every path of the package end as
# they began.  A host's own piiwatch state (a demo's store) is set aside
# and put back.
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

export DEBIAN_FRONTEND=noninteractive
SERVICE=pwtest-pkgsshd
PAM_FILE=/etc/pam.d/$SERVICE
UNIT=/lib/systemd/system/piiwatchd.service
CONF=/etc/piiwatch/piiwatch.conf
STORE=/var/lib/piiwatch/piiwatch.db
PIN_DIR=/sys/fs/bpf/piiwatch
# What the package's postrm deletes on purge, and its conffile directory.
STATE_PATHS="/var/lib/piiwatch /var/spool/piiwatch /var/log/piiwatch /run/piiwatch $PIN_DIR /etc/piiwatch"
SAVED=.pwtest-saved

fail_early() {
	not_ok "$@"
	done_testing
	exit 1
}

# Runs of this test exclude each other: they share dpkg's piiwatch and
# /etc/pam.d.  The lock is on /etc/pam.d itself, so it leaves no file; the
# test's background processes do not inherit it (9<&-).
exec 9</etc/pam.d
flock -w 300 9 || fail_early "no other run of this test holds /etc/pam.d for 5 minutes"

# --- the package -------------------------------------------------------------
if env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$PW_SRC" --no-print-directory deb \
	>"$PW_TMP/make-deb.log" 2>&1 9<&-; then
	ok "make deb builds the package"
else
	fail_early "make deb builds the package" "$(tail -n 30 "$PW_TMP/make-deb.log")"
fi
deb=$(find "$PW_SRC/build/deb" -maxdepth 1 -name 'piiwatch_*_amd64.deb' | head -n 1)
[ -f "$deb" ] || fail_early "make deb leaves piiwatch_VERSION_amd64.deb in build/deb"
# A copy of its own: another `make deb` or `make clean` may run meanwhile.
cp "$deb" "$PW_TMP/piiwatch.deb"
check_eq "lintian reports no error" \
	"$(grep -c '^E:' "$PW_SRC/build/deb/lintian.txt" 2>/dev/null)" 0

# Every path the package holds, files and directories.
dpkg-deb --fsys-tarfile "$PW_TMP/piiwatch.deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' |
	grep -v '^$' | grep -v '^\.$' | LC_ALL=C sort >"$PW_TMP/pkg-paths"
pkg_files=$(dpkg-deb --fsys-tarfile "$PW_TMP/piiwatch.deb" | tar -t | grep -v '/$' | sed 's|^\./|/|')
for f in $pkg_files; do
	[ ! -e "$f" ] || fail_early "none of the package's files is on the host yet ($f is)"
done

# --- what must not be there, and what to set aside ------------------------
st=$(dpkg-query -W -f='${db:Status-Status}' piiwatch 2>/dev/null)
[ -z "$st" ] || [ "$st" = not-installed ] ||
	fail_early "piiwatch is not installed on this host (it is $st: the test would remove it)"
if ss -Hxl | grep -q ' /run/piiwatch/'; then
	fail_early "no piiwatchd serves /run/piiwatch (one does: the test would take its place)"
fi
[ ! -e "$PIN_DIR" ] || fail_early "no piiwatchd left probes pinned in $PIN_DIR"
for p in $STATE_PATHS; do
	[ ! -e "$p$SAVED" ] || fail_early "no $p$SAVED from an interrupted run (put it back by hand)"
done

# The store of `make demo` lives where the package's does: renamed beside
# itself for the test's time (same file system, nothing copied).
SET_ASIDE=""
restore_host_state() {
	local p
	for p in $SET_ASIDE; do
		rm -rf "$p"
		mv "$p$SAVED" "$p"
	done
}
on_cleanup restore_host_state
for p in $STATE_PATHS; do
	if [ -e "$p" ]; then
		mv "$p" "$p$SAVED" || fail_early "$p can be set aside"
		SET_ASIDE="$SET_ASIDE $p"
	fi
done

# Debian leaves system groups on purge, so does this package: the test
# deletes the group only if it made it.
if ! getent group piiwatch >/dev/null; then
	on_cleanup "getent group piiwatch >/dev/null && groupdel piiwatch"
fi

# tree_state DIR: names, types, modes, owners and content hashes below DIR.
tree_state() {
	[ -d "$1" ] || { echo "$1 absent"; return; }
	(cd "$1" && find . -printf '%p %y %m %u:%g\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}
# paths_state: the package's paths, its state and its traces in dpkg's and
# systemd's records.
paths_state() {
	local p
	for p in $(cat "$PW_TMP/pkg-paths") $STATE_PATHS; do
		if [ -e "$p" ]; then
			echo "$p $(stat -c '%F %a %U:%G' "$p")"
		else
			echo "$p absent"
		fi
	done
	find /var/lib/dpkg/info /etc/systemd/system -name 'piiwatch*'
	tree_state /var/lib/systemd/deb-systemd-helper-enabled
	tree_state /var/lib/systemd/deb-systemd-helper-masked
}
# pam_state: the PAM stack and pam-auth-update's own record of it.
pam_state() {
	tree_state /etc/pam.d
	tree_state /var/lib/pam
	debconf-show libpam-runtime 2>/dev/null | grep 'libpam-runtime/profiles'
}
# same_state DESCRIPTION BEFORE NOW
same_state() {
	if diff -u "$2" "$3" >"$PW_TMP/state.diff"; then
		ok "$1"
	else
		not_ok "$1" "$(head -n 40 "$PW_TMP/state.diff")"
	fi
}
paths_state >"$PW_TMP/paths.before"
tree_state /etc/pam.d >"$PW_TMP/pamd.before"
pam_state >"$PW_TMP/pam.before"

# pkg_dpkg ARGS...: dpkg, retried while another dpkg or apt holds its lock.
pkg_dpkg() {
	local i rc=0
	for i in $(seq 1 120); do
		rc=0
		dpkg "$@" >"$PW_TMP/dpkg.out" 2>&1 9<&- || rc=$?
		cat "$PW_TMP/dpkg.out" >>"$PW_TMP/dpkg.log"
		if [ "$rc" -eq 0 ] || ! grep -q 'locked by another process' "$PW_TMP/dpkg.out"; then
			break
		fi
		sleep 1
	done
	return "$rc"
}
# pkg_status: ii installed, rc removed with its conffiles left, un unknown.
pkg_status() {
	local s
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' piiwatch 2>/dev/null | tr -d ' ')
	echo "${s:-un}"
}
# Whatever happened, the package goes with a purge: its prerm takes the
# profile out of /etc/pam.d first.
purge_package() {
	[ -n "$(pkg_status)" ] && [ "$(pkg_status)" != un ] && pkg_dpkg --purge piiwatch
	local p
	for p in $STATE_PATHS; do
		rm -rf "$p"
	done
}
on_cleanup purge_package

# --- 1: installing changes nothing that runs ------------------------------
if pkg_dpkg -i "$PW_TMP/piiwatch.deb"; then
	ok "dpkg -i installs the package"
else
	fail_early "dpkg -i installs the package" "$(tail -n 20 "$PW_TMP/dpkg.log")"
fi
check_eq "it is installed and configured" "$(pkg_status)" ii
tree_state /etc/pam.d >"$PW_TMP/pamd.now"
same_state "installing leaves /etc/pam.d as it was (the profile is Default: no)" \
	"$PW_TMP/pamd.before" "$PW_TMP/pamd.now"
check "the PAM module is in the multiarch security directory" \
	test -f "/lib/$(gcc -print-multiarch)/security/pam_piiwatch.so"
check "piiwatchd and piiwatch are installed" test -x /usr/sbin/piiwatchd -a -x /usr/bin/piiwatch
check "the pam-auth-update profile is installed" test -f /usr/share/pam-configs/piiwatch
check "the policy is a conffile" \
	grep -q "^ $CONF [0-9a-f]*$" <(dpkg-query -W -f='${Conffiles}\n' piiwatch)
check_eq "the installed policy protects nothing" \
	"$(/usr/bin/piiwatch policy check "$CONF" 2>&1)" "$CONF: OK: 0 datasets, 0 honeytokens"
check "the man pages are installed" test -f /usr/share/man/man8/piiwatchd.8.gz \
	-a -f /usr/share/man/man8/pam_piiwatch.8.gz -a -f /usr/share/man/man5/piiwatch.conf.5.gz \
	-a -f /usr/share/man/man1/piiwatch.1.gz
check_eq "sysusers made the piiwatch group" "$(getent group piiwatch | cut -d: -f1)" piiwatch
check_eq "tmpfiles made the store, spool, socket and log directories" \
	"$(stat -c '%n %a %U:%G' /var/lib/piiwatch /var/spool/piiwatch /run/piiwatch /var/log/piiwatch 2>&1)" \
	"/var/lib/piiwatch 750 root:piiwatch
/var/spool/piiwatch 700 root:root
/run/piiwatch 755 root:root
/var/log/piiwatch 750 root:piiwatch"
check "the unit is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/piiwatchd.service
verify=$(systemd-analyze verify "$UNIT" 2>&1)
vrc=$?
check_eq "systemd-analyze verify passes the installed unit" "$vrc:$verify" "0:"

# --- 2: the administrator enables the profile -----------------------------
if pam-auth-update --enable piiwatch >"$PW_TMP/pam-auth-update.out" 2>&1 9<&-; then
	ok "pam-auth-update --enable piiwatch"
else
	not_ok "pam-auth-update --enable piiwatch" "$(cat "$PW_TMP/pam-auth-update.out")"
fi
# The Additional blocks: after pam_unix and the pam_permit that gives the
# stack its success, so pam_piiwatch is never the only account module.
check_eq "common-account ends with the account line, after pam_permit" \
	"$(sed -n '/^account/p' /etc/pam.d/common-account | tail -n 2 | tr -s '\t ' ' ' | sed 's/ $//')" \
	"account required pam_permit.so
account required pam_piiwatch.so"
check "common-session has the session line" \
	grep -Eq '^session[[:space:]]+required[[:space:]]+pam_piiwatch.so' /etc/pam.d/common-session
check "common-session-noninteractive has not (cron, sudo)" \
	test -z "$(grep pam_piiwatch /etc/pam.d/common-session-noninteractive)"

# --- 3: a login over ssh through the common-* lines -------------------------
DATA=$(mktemp -d /srv/pwtest-deb.XXXXXX)
on_cleanup "rm -rf '$DATA'"
D=$DATA/customers
mkdir -p "$D"
for i in $(seq 1 500); do
	printf 'C%05d,Test Customer %d,test%d@example.invalid\n' "$i" "$i" "$i"
done >"$D/first.csv"
chmod -R a+rX "$DATA"
size1=$(stat -c %s "$D/first.csv")

# The administrator's edit of the policy: a dataset.
cp -p "$CONF" "$PW_TMP/piiwatch.conf.orig"
check "the installed policy keeps the probes attached across restarts" \
	grep -q '^keep_attached = yes$' "$CONF"
printf '\n[dataset customers]\npath = %s\n' "$D" >>"$CONF"
check_eq "piiwatch policy check accepts the edited policy" \
	"$(/usr/bin/piiwatch policy check "$CONF" 2>&1)" "$CONF: OK: 1 datasets, 0 honeytokens"

# The unit's own command line; its UMask too.  Standard output and error
# are what the journal would get.
EXEC_START=$(sed -n 's/^ExecStart=//p' "$UNIT")
PKG_DAEMON_PID=""
PKG_DAEMON_STATUS=""
start_pkg_daemon() {
	: >"$PW_TMP/daemon.err"
	# shellcheck disable=SC2086 # the unit's command line, split as systemd does
	(umask 0027 && exec $EXEC_START) >"$PW_TMP/daemon.out" 2>"$PW_TMP/daemon.err" 9<&- &
	PKG_DAEMON_PID=$!
	local i
	for i in $(seq 1 300); do
		[ -S /run/piiwatch/pam.sock ] && grep -q watching "$PW_TMP/daemon.err" && return 0
		if ! kill -0 "$PKG_DAEMON_PID" 2>/dev/null; then
			sed 's/^/#   /' "$PW_TMP/daemon.err" >&2
			PKG_DAEMON_PID=""
			return 1
		fi
		sleep 0.1
	done
	return 1
}
stop_pkg_daemon() {
	[ -n "$PKG_DAEMON_PID" ] || return 0
	kill -TERM "$PKG_DAEMON_PID"
	PKG_DAEMON_STATUS=0
	wait "$PKG_DAEMON_PID" || PKG_DAEMON_STATUS=$?
	PKG_DAEMON_PID=""
}
on_cleanup stop_pkg_daemon

check_eq "the unit starts $EXEC_START" "$EXEC_START" "/usr/sbin/piiwatchd -c $CONF"
check "piiwatchd starts on the edited policy" start_pkg_daemon
check_eq "it is the installed binary" "$(readlink "/proc/$PKG_DAEMON_PID/exe" 2>&1)" /usr/sbin/piiwatchd

# sshd under a service name of its own whose PAM file includes the
# common-* files as Debian's /etc/pam.d/sshd does: only the profile's lines
# bring pam_piiwatch in.
mkdir -p "$PW_TMP/bin" "$PW_TMP/keys" "$PW_TMP/authorized_keys"
cp /usr/sbin/sshd "$PW_TMP/bin/$SERVICE"
on_cleanup "rm -f '$PAM_FILE'"
cat >"$PAM_FILE" <<EOF2
# Written by piiwatch's tests/integration/deb_package.sh; removed when it ends.
@include common-auth
account required pam_nologin.so
@include common-account
session required pam_loginuid.so
@include common-session
EOF2
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd
	on_cleanup "rmdir /run/sshd 2>/dev/null"
fi
ssh-keygen -q -N '' -t ed25519 -f "$PW_TMP/keys/host_ed25519"
ssh-keygen -q -N '' -t ed25519 -f "$PW_TMP/keys/user_ed25519"
cp "$PW_TMP/keys/user_ed25519.pub" "$PW_TMP/authorized_keys/$PW_TEST_USER"
chmod 644 "$PW_TMP/authorized_keys/$PW_TEST_USER"

SSHD_PID=""
stop_sshd() {
	[ -n "$SSHD_PID" ] || return 0
	kill -TERM "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=""
}
on_cleanup stop_sshd
start_sshd() {
	cat >"$PW_TMP/sshd_config" <<EOF2
ListenAddress 127.0.0.1
Port $1
HostKey $PW_TMP/keys/host_ed25519
PidFile $PW_TMP/sshd.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $PW_TMP/authorized_keys/%u
StrictModes no
AllowUsers $PW_TEST_USER
PrintMotd no
PrintLastLog no
EOF2
	: >"$PW_TMP/sshd.err"
	"$PW_TMP/bin/$SERVICE" -D -e -f "$PW_TMP/sshd_config" 2>>"$PW_TMP/sshd.err" 9<&- &
	SSHD_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q "Server listening on 127.0.0.1 port $1" "$PW_TMP/sshd.err" && return 0
		if ! kill -0 "$SSHD_PID" 2>/dev/null; then
			wait "$SSHD_PID" 2>/dev/null
			SSHD_PID=""
			return 1
		fi
		sleep 0.1
	done
	stop_sshd
	return 1
}
PORT=""
for p in $(seq 22300 22339); do
	ss -Htln "sport = :$p" | grep -q . && continue
	if start_sshd "$p"; then
		PORT=$p
		break
	fi
done
[ -n "$PORT" ] || fail_early "sshd starts on a free port on 127.0.0.1" "$(cat "$PW_TMP/sshd.err")"
ok "sshd ($SERVICE) listens on 127.0.0.1 port $PORT"

ssh_run() {
	SSH_OUT=$(ssh -F /dev/null -i "$PW_TMP/keys/user_ed25519" -o IdentitiesOnly=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$PW_TMP/known_hosts" \
		-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 \
		-p "$PORT" -b 127.0.0.1 "$PW_TEST_USER@127.0.0.1" "$1" 2>>"$PW_TMP/ssh.err")
	SSH_RC=$?
}
pkg_sql() {
	sqlite3 -cmd ".timeout 5000" "$STORE" "$1"
}
pkg_wait_sql() {
	local i out=""
	for i in $(seq 1 100); do
		out=$(pkg_sql "$1" 2>/dev/null)
		[ "$out" == "$2" ] && break
		sleep 0.1
	done
	echo "$out"
}

ssh_run "cat '$D/first.csv' >/dev/null && cat /proc/self/sessionid"
check_eq "ssh login as $PW_TEST_USER runs the command" "$SSH_RC" 0
[ "$SSH_RC" -eq 0 ] || { sed 's/^/#   ssh: /' "$PW_TMP/ssh.err"; tail -n 20 "$PW_TMP/sshd.err" | sed 's/^/#   sshd: /'; }
ses=$SSH_OUT
check "the ssh session has an audit session id (pam_loginuid came first)" \
	test -n "$ses" -a "$ses" != 4294967295
got=$(pkg_wait_sql "SELECT user, service, rhost, audit_session, closed_ns IS NOT NULL FROM sessions" \
	"$PW_TEST_USER|$SERVICE|127.0.0.1|$ses|1")
check_eq "the profile's session line records the session: user, service, remote host, audit session, closed" \
	"$got" "$PW_TEST_USER|$SERVICE|127.0.0.1|$ses|1"
sid=$(pkg_sql "SELECT id FROM sessions WHERE audit_session = '$ses'")
got=$(pkg_wait_sql "SELECT session_id, user, exe, bytes_read, dataset FROM accesses
	WHERE path = '$D/first.csv' AND closed_ns IS NOT NULL" "$sid|$PW_TEST_USER|/usr/bin/cat|$size1|customers")
check_eq "the read is recorded with that session, the program and the exact bytes" \
	"$got" "$sid|$PW_TEST_USER|/usr/bin/cat|$size1|customers"
check "piiwatch accesses shows it from the default store" \
	grep -q "$D/first.csv" <(/usr/bin/piiwatch accesses 2>&1)
check "piiwatch status answers through the default control socket" \
	grep -Eq "^store_path +$STORE\$" <(/usr/bin/piiwatch status 2>&1)

# The profile's account line asks the daemon about quarantine.
pkg_sql "INSERT INTO quarantine (user, since_ns, reason) VALUES ('$PW_TEST_USER', 0, 'deb_package test')"
ssh_run "true"
check "the profile's account line refuses a quarantined $PW_TEST_USER" test "$SSH_RC" -ne 0
pkg_sql "DELETE FROM quarantine WHERE user = '$PW_TEST_USER'"
stop_sshd

stop_pkg_daemon
check_eq "piiwatchd stops cleanly on SIGTERM" "$PKG_DAEMON_STATUS" 0
ours=$(for l in "$PIN_DIR"/links/*; do
	bpftool link show pinned "$l" 2>/dev/null | sed -n 's/.*prog \([0-9]\+\).*/\1/p'
done | sort -u)
check "the installed policy's keep_attached left its probes pinned in $PIN_DIR" test -n "$ours"

# --- 4: off again, removed, purged -----------------------------------------
pam-auth-update --disable piiwatch >"$PW_TMP/pam-auth-update.out" 2>&1 9<&-
rm -f "$PAM_FILE"
tree_state /etc/pam.d >"$PW_TMP/pamd.now"
same_state "pam-auth-update --disable piiwatch gives /etc/pam.d back as it was" \
	"$PW_TMP/pamd.before" "$PW_TMP/pamd.now"
cp -p "$PW_TMP/piiwatch.conf.orig" "$CONF"
check_eq "the policy is the conffile as shipped again" \
	"$(md5sum <"$CONF" | cut -d' ' -f1)" \
	"$(dpkg-query -W -f='${Conffiles}\n' piiwatch | awk -v f="$CONF" '$1 == f { print $2 }')"

check "dpkg --remove removes the package" pkg_dpkg --remove piiwatch
check_eq "its configuration files remain" "$(pkg_status)" rc
left=""
for f in $pkg_files; do
	[ "$f" = "$CONF" ] || [ ! -e "$f" ] || left="$left $f"
done
check_eq "no file of the package but the conffile is left" "$left" ""
tree_state /etc/pam.d >"$PW_TMP/pamd.now"
same_state "/etc/pam.d is as it was" "$PW_TMP/pamd.before" "$PW_TMP/pamd.now"
check_eq "a remove keeps what was recorded" \
	"$(pkg_sql "SELECT count(*) FROM sessions WHERE audit_session = '$ses'")" 1
check "... the spool directory" test -d /var/spool/piiwatch
check "... and the policy" test -f "$CONF"
check "the remove ran piiwatchd --detach" \
	grep -q "detached the probes pinned in $PIN_DIR" "$PW_TMP/dpkg.out"
check "nothing is left pinned in $PIN_DIR" test ! -e "$PIN_DIR"
check_eq "the probes are detached" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""

check "dpkg --purge purges it" pkg_dpkg --purge piiwatch
check_eq "dpkg knows it no more" "$(pkg_status)" un
left=""
for p in $STATE_PATHS; do
	[ ! -e "$p" ] || left="$left $p"
done
check_eq "the purge deletes the store, spool, logs, sockets and policy" "$left" ""
paths_state >"$PW_TMP/paths.now"
same_state "every path of the package is as before" "$PW_TMP/paths.before" "$PW_TMP/paths.now"
pam_state >"$PW_TMP/pam.now"
same_state "/etc/pam.d, /var/lib/pam and pam-auth-update's choice are as before" \
	"$PW_TMP/pam.before" "$PW_TMP/pam.now"

# --- 5: purged straight from installed, with the profile on -----------------
check "dpkg -i installs it again" pkg_dpkg -i "$PW_TMP/piiwatch.deb"
pam-auth-update --enable piiwatch >"$PW_TMP/pam-auth-update.out" 2>&1 9<&-
check "the profile is on again" grep -q pam_piiwatch /etc/pam.d/common-session
: >/var/spool/piiwatch/left-by-test
check "dpkg --purge purges it while the profile is on" pkg_dpkg --purge piiwatch
check_eq "dpkg knows it no more" "$(pkg_status)" un
pam_state >"$PW_TMP/pam.now"
same_state "prerm took the profile out: /etc/pam.d and pam-auth-update's state are as before" \
	"$PW_TMP/pam.before" "$PW_TMP/pam.now"
paths_state >"$PW_TMP/paths.now"
same_state "no path of the package and none of its state is left" \
	"$PW_TMP/paths.before" "$PW_TMP/paths.now"
done_testing
