#!/bin/bash
# A hostile local user, with a real unprivileged account (pwhostile) and
# read access to a protected dataset, against the daemon:
#   1. cannot submit or erase session records: the PAM socket refuses the
#      connection, and a non-root process that gets past its mode
#      (CAP_DAC_OVERRIDE) is refused by the daemon and logged;
#   2. cannot read the store, the spool or the pinned probes, nor feed the
#      daemon records through a spool directory left writable;
#   3. cannot make root's session records late or lost by flooding the
#      sockets;
#   4. malformed messages (sent as root, the only peer served) do not stop
#      the daemon from running and recording;
#   5. cannot hide reads by filling the kernel's open-file map: that is
#      reported as a blind spot;
# and after all of it the daemon stops cleanly (no leak, no undefined
# behaviour under the sanitizers).
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user
HOSTILE=pwhostile
pw_ensure_user "$HOSTILE"
hostile_uid=$(id -u "$HOSTILE")
# Reviewers' group, as packaging/piiwatch.sysusers declares it.
getent group piiwatch >/dev/null || groupadd --system piiwatch
as_hostile() { runuser -u "$HOSTILE" -- "$@"; }
# The same user with CAP_DAC_OVERRIDE: file modes no longer stop it.
as_capable() {
	setpriv --reuid="$HOSTILE" --regid="$HOSTILE" --init-groups --inh-caps=+dac_override \
		--ambient-caps=+dac_override -- "$@"
}
SOCK="$PW_BUILD/tests/pw-sock"
PIIWATCH=("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock")

D=$PW_TMP/data/customers
mkdir -p "$D"
for i in $(seq -w 1 40); do
	printf 'C%05d,Test Customer,test@example.invalid\n' $(seq 1 50) >"$D/c$i.csv"
done
chmod -R a+rX "$PW_TMP/data"
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $D
EOF2
# The store in a directory of its own that the daemon creates, and an
# open-file map far smaller than what the hostile user will hold open.
sed -i "s|^path = $PW_TMP/store.db|path = $PW_TMP/lib/store.db|; /^\[daemon\]/a max_open_files = 16" \
	"$PW_TMP/policy.conf"
STORE=$PW_TMP/lib/store.db
sql() { sqlite3 -cmd ".timeout 5000" "$STORE" "$1"; }
wait_sql() {
	local i out=""
	for i in $(seq 1 100); do
		out=$(sql "$1" 2>/dev/null)
		[ "$out" == "$2" ] && break
		sleep 0.1
	done
	echo "$out"
}
alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }

check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"

pw_pam_service pwtest-hostile \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool timeout_ms=250"
# session RHOST COMMAND...: a login of the test user whose pam_piiwatch
# (running as root, as in sshd) reports to the daemon.
session() {
	local rhost=$1
	shift
	"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-hostile -u "$PW_TEST_USER" \
		-r "$rhost" --timing -- "$@"
}
spooled() { grep -c "ingested spooled" "$PW_TMP/daemon.err"; }

# ---- 1. no forged or erased session records -------------------------------
session 192.0.2.10 sleep 4 2>"$PW_TMP/victim.err" &
victim=$!
on_cleanup "kill $victim 2>/dev/null"
for i in $(seq 1 30); do
	victim_ses=$(sql "SELECT audit_session FROM sessions WHERE rhost = '192.0.2.10'" 2>/dev/null)
	[ -n "$victim_ses" ] && break
	sleep 0.1
done
check "root's login is recorded as open" test -n "$victim_ses"
boot=$(cat /proc/sys/kernel/random/boot_id)
record() { # TYPE ID USER RHOST SESSIONID
	printf '{"v":1,"type":"%s","id":"%s","user":"%s","service":"sshd","rhost":"%s","ruser":"",' \
		"$1" "$2" "$3" "$4"
	printf '"tty":"ssh","uid":0,"pid":1,"loginuid":0,"sessionid":%s,"altered":0,' "$5"
	printf '"boot_id":"%s","time_ns":1795578900000000000,"mono_ns":1}' "$boot"
}
check_eq "the PAM socket is root's alone" "$(stat -c '%U %a' "$PW_TMP/pam.sock")" "root 600"
forged=$(record session_open 00001795578900000000-1-forged ceo 203.0.113.66 4000000 |
	as_hostile "$SOCK" send "$PW_TMP/pam.sock")
check_eq "$HOSTILE cannot even connect to send a forged session_open" "$forged" \
	"connect: Permission denied"
forged=$(record session_open 00001795578900000000-2-forged ceo 203.0.113.66 4000000 |
	as_capable "$SOCK" send "$PW_TMP/pam.sock")
check_eq "with CAP_DAC_OVERRIDE it connects, and the daemon refuses the record" "$forged" \
	'{"ok":false,"error":"only root may use this socket"}'
erase=$(record session_close 00001795578900000000-1-erase "$PW_TEST_USER" 192.0.2.10 "$victim_ses" |
	as_capable "$SOCK" send "$PW_TMP/pam.sock")
check_eq "and a session_close for root's open login" "$erase" \
	'{"ok":false,"error":"only root may use this socket"}'
sleep 0.3
check_eq "nothing of the forged record is stored" \
	"$(sql "SELECT count(*) FROM sessions WHERE user = 'ceo' OR rhost = '203.0.113.66'")" 0
check_eq "root's login is still open" \
	"$(sql "SELECT count(*) FROM sessions WHERE audit_session = $victim_ses AND closed_ns IS NULL")" 1
check "the refusals are logged with the uid" grep -q "refused request from uid $hostile_uid" \
	"$PW_TMP/daemon.err"
refused=$("${PIIWATCH[@]}" status --json | sed -n 's/.*"refused_pam_requests":\([0-9]*\).*/\1/p')
check "piiwatch status counts them ($refused)" test "${refused:-0}" -ge 2
wait "$victim"
check_eq "root's login closes normally afterwards" \
	"$(wait_sql "SELECT count(*) FROM sessions WHERE audit_session = $victim_ses AND closed_ns IS NOT NULL" 1)" 1
check "nor can $HOSTILE put a record in the spool" \
	bash -c "! runuser -u $HOSTILE -- touch '$PW_TMP/spool/0000-forged.rec' 2>/dev/null"
# An administrator's mistake: the spool left writable by all.
chmod 1777 "$PW_TMP/spool"
record session_open 00001795578900000000-3-forged ceo 203.0.113.67 4000002 |
	as_hostile tee "$PW_TMP/spool/0000-forged.rec" >/dev/null
sleep 2.5
check_eq "a record planted in a spool others can write to is not read" \
	"$(sql "SELECT count(*) FROM sessions WHERE rhost = '203.0.113.67'")" 0
check "the daemon says why" grep -q "spool directory .* must be owned by root .*: not reading it" \
	"$PW_TMP/daemon.err"
rm -f "$PW_TMP/spool/0000-forged.rec"
chmod 0700 "$PW_TMP/spool"

# ---- 2. what the daemon creates is private ---------------------------------
check_eq "the store is root:piiwatch 0640" "$(stat -c '%U:%G %a' "$STORE")" "root:piiwatch 640"
check_eq "its directory is root:piiwatch 0750" "$(stat -c '%U:%G %a' "$PW_TMP/lib")" "root:piiwatch 750"
check_eq "no file beside it (WAL, shared memory) is readable by others" \
	"$(find "$PW_TMP/lib" -perm /o=rwx | wc -l)" 0
check "$HOSTILE cannot read the store" bash -c "! runuser -u $HOSTILE -- cat '$STORE' >/dev/null 2>&1"
check "nor open it with sqlite3" \
	bash -c "! runuser -u $HOSTILE -- sqlite3 -readonly '$STORE' 'SELECT count(*) FROM sessions' >/dev/null 2>&1"
check "nor list its directory" bash -c "! runuser -u $HOSTILE -- ls '$PW_TMP/lib' >/dev/null 2>&1"
check_eq "the spool is root-only 0700" "$(stat -c '%U %a' "$PW_TMP/spool")" "root 700"
check "$HOSTILE cannot list the spool" bash -c "! runuser -u $HOSTILE -- ls '$PW_TMP/spool' >/dev/null 2>&1"
check "nor the pinned probes" bash -c "! runuser -u $HOSTILE -- ls '$(pw_pin_dir)' >/dev/null 2>&1"
check "nor ask the daemon's status (control socket: root and group piiwatch)" \
	bash -c "! runuser -u $HOSTILE -- ${PIIWATCH[*]} status >/dev/null 2>&1"

# ---- 3. flooding the sockets delays no record of root's --------------------
as_hostile "$SOCK" flood "$PW_TMP/pam.sock" 12 >"$PW_TMP/flood-pam.out" &
flood1=$!
as_hostile "$SOCK" flood "$PW_TMP/control.sock" 12 >"$PW_TMP/flood-control.out" &
flood2=$!
on_cleanup "kill $flood1 $flood2 2>/dev/null"
sleep 1
spooled_before=$(spooled)
for i in $(seq 1 20); do
	session 192.0.2.77 true 2>>"$PW_TMP/timing.err" >/dev/null
done
wait "$flood1" "$flood2"
check_eq "the kernel refuses every connection of the flood to the PAM socket" \
	"$(sed 's/[0-9]* connects refused//' "$PW_TMP/flood-pam.out")" "0 connections, "
check_eq "and to the control socket" \
	"$(sed 's/[0-9]* connects refused//' "$PW_TMP/flood-control.out")" "0 connections, "
check "all 20 logins are recorded, opened and closed, during the flood" \
	test "$(wait_sql "SELECT count(*) FROM sessions WHERE rhost = '192.0.2.77' AND closed_ns IS NOT NULL" 20)" = 20
check_eq "none of them had to wait in the spool" "$(spooled)" "$spooled_before"
worst=$(sed -n 's/open_ms=\([0-9.]*\) close_ms=\([0-9.]*\)/\1\n\2/p' "$PW_TMP/timing.err" | sort -n | tail -1)
check "each was answered within timeout_ms=250 (slowest call ${worst} ms)" \
	awk -v w="${worst:-999}" 'BEGIN { exit !(w < 250) }'
# With CAP_DAC_OVERRIDE the flood reaches the daemon: it must not flood
# the log (ten lines, then one a minute) nor stop the daemon.
lines_before=$(wc -l <"$PW_TMP/daemon.err")
as_capable "$SOCK" flood "$PW_TMP/pam.sock" 5 >"$PW_TMP/flood-capable.out"
conns=$(awk '{print $1}' "$PW_TMP/flood-capable.out")
log_lines=$(($(wc -l <"$PW_TMP/daemon.err") - lines_before))
check "a flood past the socket's mode ($conns connections) adds $log_lines log lines, not more than 10" \
	test "${conns:-0}" -gt 1000 -a "$log_lines" -le 10
check "piiwatchd is still running" alive

# ---- 4. malformed messages from root ---------------------------------------
good=$(record session_open 00001795578900000000-1-probe "$PW_TEST_USER" 192.0.2.99 4000001)
send_root() { "$SOCK" send "$1" 2>&1; }
mal=0
for kind in junk huge truncated nested nested-object utf8 nul wrong-types big-numbers empty; do
	case $kind in
	junk) head -c 3000 /dev/urandom ;;
	huge) head -c 200000 /dev/zero | tr '\0' 'A' ;;
	truncated) printf '%s' "${good:0:90}" ;;
	nested) head -c 100000 /dev/zero | tr '\0' '[' ;;
	nested-object) for j in $(seq 1 2000); do printf '{"a":'; done ;;
	utf8) printf '%s' "$good" | sed 's/"user":"[^"]*"/"user":"\xff\xfe\xc3\x28"/' ;;
	nul) printf '{"v":1,"type":"session_open\0","id":"x"}' ;;
	wrong-types) printf '{"v":"1","type":7,"id":[],"user":{},"uid":"0"}' ;;
	big-numbers) printf '%s' "$good" | sed 's/"pid":1/"pid":18446744073709551616/' ;;
	empty) : ;;
	esac >"$PW_TMP/msg-$kind"
	r1=$(send_root "$PW_TMP/pam.sock" <"$PW_TMP/msg-$kind")
	r2=$(send_root "$PW_TMP/control.sock" <"$PW_TMP/msg-$kind")
	if ! alive; then
		not_ok "piiwatchd survives a $kind message" "pam: $r1" "control: $r2"
		mal=1
		break
	fi
	case $r1 in '{"ok":false'*|"no reply") ;; *) not_ok "a $kind record is refused" "reply: $r1"; mal=1 ;; esac
done
[ "$mal" -eq 0 ] && ok "junk, huge, truncated, deeply nested, invalid UTF-8 and NUL messages are refused"
check "piiwatchd is still running after them" alive
check_eq "none of them stored anything" \
	"$(sql "SELECT count(*) FROM sessions WHERE rhost = '192.0.2.99'")" 0
"$SOCK" hold "$PW_TMP/pam.sock" 80 6 >"$PW_TMP/hold.out" &
holder=$!
sleep 1
check_eq "root's 80 silent connections all connect" "$(cat "$PW_TMP/hold.out")" "80 connected"
session 192.0.2.88 true 2>"$PW_TMP/after.err" >/dev/null
check_eq "a login while they hang is still recorded" \
	"$(wait_sql "SELECT count(*) FROM sessions WHERE rhost = '192.0.2.88' AND closed_ns IS NOT NULL" 1)" 1
check_eq "without the spool" "$(spooled)" "$spooled_before"
wait "$holder"

# ---- 5. a full open-file map is a reported blind spot ----------------------
as_hostile bash -c "for f in '$D'/*.csv; do exec {fd}<\"\$f\"; done; echo held; sleep 5" \
	>"$PW_TMP/held.out" &
holder=$!
for i in $(seq 1 50); do grep -q held "$PW_TMP/held.out" && break; sleep 0.1; done
check "$HOSTILE holds 40 protected files open (the map holds 16)" grep -q held "$PW_TMP/held.out"
for i in $(seq 1 40); do
	grep -q "BLIND SPOT: .* protected opens not tracked" "$PW_TMP/daemon.err" && break
	sleep 0.1
done
check "the daemon logs a BLIND SPOT for the untracked opens" \
	grep -q "BLIND SPOT: [0-9]* protected opens not tracked (open-file map full)" "$PW_TMP/daemon.err"
untracked=$("${PIIWATCH[@]}" status --json | sed -n 's/.*"untracked_opens":\([0-9]*\).*/\1/p')
check "piiwatch status --json reports untracked_opens ($untracked)" test "${untracked:-0}" -ge 24
check_eq "every one of the 40 opens is still in the store" \
	"$(wait_sql "SELECT count(*) FROM accesses WHERE uid = $hostile_uid" 40)" 40
wait "$holder"

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly after all of it (no leak, no undefined behaviour)" \
	"$DAEMON_STATUS" 0
done_testing
