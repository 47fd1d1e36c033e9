#!/bin/bash
# A real sshd with pam_loginuid and pam_piiwatch in its PAM stack: a key
# login that reads a protected file is attributed to its ssh session (user,
# service, remote host, audit session id, exact bytes), and a quarantined
# user is refused.  Then logins with the daemon stopped (keep_attached):
# they are not held up, their session records wait in the spool, and the
# restarted daemon ties the reads the kernel side queued meanwhile to the
# spooled sessions, also when a session's close reaches it before its open.
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

SERVICE=pwtest-sshd
PAM_FILE=/etc/pam.d/$SERVICE
TIMEOUT_MS=1000

D=$PW_TMP/data/customers
mkdir -p "$D"
for i in $(seq 1 700); do
	printf 'C%05d,Test Customer %d,test%d@example.invalid,000-0000-%04d\n' "$i" "$i" "$i" "$i"
done >"$D/first.csv"
head -c 54321 /dev/urandom >"$D/second.csv"
head -c 7777 /dev/urandom >"$D/third.csv"
chmod -R a+rX "$PW_TMP/data"
size1=$(stat -c %s "$D/first.csv")
size2=$(stat -c %s "$D/second.csv")
size3=$(stat -c %s "$D/third.csv")

pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $D
EOF2
# keep_attached belongs in the [daemon] section pw_write_policy opens.
sed -i "/^\[daemon\]/a keep_attached = yes" "$PW_TMP/policy.conf"

# --- sshd under a service name of its own, with a PAM stack of its own ---
mkdir -p "$PW_TMP/bin" "$PW_TMP/keys"
cp /usr/sbin/sshd "$PW_TMP/bin/$SERVICE"
on_cleanup "rm -f '$PAM_FILE'"
PW_MODULE="$PW_PLAIN_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool timeout_ms=$TIMEOUT_MS"
# The stack docs/pam.md asks for.  A key login runs no auth stack, but
# account and session.
cat >"$PAM_FILE" <<EOF2
# Written by piiwatch's tests/integration/sshd_login.sh; removed when it ends.
@include common-auth
@include common-account
account required $PW_MODULE
session required pam_loginuid.so
session required pam_unix.so
session required $PW_MODULE
EOF2

if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd
	on_cleanup "rmdir /run/sshd 2>/dev/null"
fi
ssh-keygen -q -N '' -t ed25519 -f "$PW_TMP/keys/host_ed25519"
ssh-keygen -q -N '' -t ed25519 -f "$PW_TMP/keys/user_ed25519"
# A key file of the test's own instead of ~pwtest/.ssh/authorized_keys:
# nothing in the account to restore, and tests running side by side do not
# edit one file.
mkdir -p "$PW_TMP/authorized_keys"
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

# start_sshd PORT: 0 when it listens, 1 when it exited (port taken?).
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
	"$PW_TMP/bin/$SERVICE" -D -e -f "$PW_TMP/sshd_config" 2>>"$PW_TMP/sshd.err" &
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
for p in $(seq 22222 22261); do
	ss -Htln "sport = :$p" | grep -q . && continue
	if start_sshd "$p"; then
		PORT=$p
		break
	fi
done
if [ -z "$PORT" ]; then
	not_ok "sshd starts on a free port on 127.0.0.1" "$(sed 's/^/  /' "$PW_TMP/sshd.err")"
	done_testing
	exit 1
fi
ok "sshd ($SERVICE) listens on 127.0.0.1 port $PORT"

# ssh_run COMMAND: run COMMAND as the test user over ssh; its output in
# SSH_OUT, exit status in SSH_RC, wall time in SSH_MS.
ssh_run() {
	local t0 t1
	t0=$(date +%s%N)
	SSH_OUT=$(ssh -F /dev/null -i "$PW_TMP/keys/user_ed25519" -o IdentitiesOnly=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$PW_TMP/known_hosts" \
		-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 \
		-p "$PORT" -b 127.0.0.1 "$PW_TEST_USER@127.0.0.1" "$1" 2>>"$PW_TMP/ssh.err")
	SSH_RC=$?
	t1=$(date +%s%N)
	SSH_MS=$(((t1 - t0) / 1000000))
}

show_logs() {
	sed 's/^/#   ssh: /' "$PW_TMP/ssh.err"
	tail -n 20 "$PW_TMP/sshd.err" | sed 's/^/#   sshd: /'
}

# --- 1: the daemon runs -------------------------------------------------
check "piiwatchd starts on the test policy" pw_start_daemon "$PW_TMP/policy.conf"

ssh_run "cat '$D/first.csv' >/dev/null && cat /proc/self/sessionid"
up_ms=$SSH_MS
check_eq "ssh login as $PW_TEST_USER runs the command" "$SSH_RC" 0
[ "$SSH_RC" -eq 0 ] || show_logs
ses1=$SSH_OUT
check "the ssh session has an audit session id" test -n "$ses1" -a "$ses1" != 4294967295

got=$(pw_wait_sql "SELECT user, service, rhost, audit_session, closed_ns IS NOT NULL
	FROM sessions" "$PW_TEST_USER|$SERVICE|127.0.0.1|$ses1|1")
check_eq "one session: user, PAM service, remote host, audit session, closed" \
	"$got" "$PW_TEST_USER|$SERVICE|127.0.0.1|$ses1|1"
sid1=$(pw_sql "SELECT id FROM sessions WHERE audit_session = '$ses1'")

got=$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$D/first.csv' AND closed_ns IS NOT NULL" 1)
check_eq "the read of first.csv is recorded once" "$got" 1
row=$(pw_sql "SELECT session_id, audit_session, exe, bytes_read, dataset
	FROM accesses WHERE path = '$D/first.csv'")
check_eq "it is attributed to the ssh session: session, audit session, program, exact bytes" \
	"$row" "$sid1|$ses1|/usr/bin/cat|$size1|customers"

# The account phase asks the daemon: quarantined, the same key is refused.
pw_sql "INSERT INTO quarantine (user, since_ns, reason) VALUES ('$PW_TEST_USER', 0, 'sshd_login test')"
ssh_run "cat '$D/first.csv' >/dev/null"
check "a quarantined $PW_TEST_USER is refused" test "$SSH_RC" -ne 0
check "by the account phase" \
	grep -q "Access denied for user $PW_TEST_USER by PAM account configuration" "$PW_TMP/sshd.err"
pw_sql "DELETE FROM quarantine WHERE user = '$PW_TEST_USER'"
check_eq "the refused login opened no session and read nothing" \
	"$(pw_sql "SELECT (SELECT count(*) FROM sessions) || ' ' || (SELECT count(*) FROM accesses)")" "1 1"

# --- 2: the daemon is away ----------------------------------------------
pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly on SIGTERM" "$DAEMON_STATUS" 0
check "keep_attached leaves the probes pinned" test -d "$(pw_pin_dir)/links"

ssh_run "cat '$D/second.csv' >/dev/null && cat /proc/self/sessionid"
down_ms=$SSH_MS
check_eq "ssh login works while the daemon is away (quarantine gate fails open)" "$SSH_RC" 0
[ "$SSH_RC" -eq 0 ] || show_logs
ses2=$SSH_OUT
check "the second session has another audit session id" \
	test -n "$ses2" -a "$ses2" != 4294967295 -a "$ses2" != "$ses1"
# pam_piiwatch may spend timeout_ms at most on each of account, open and
# close; a login it held up would show it.  Slack for a busy machine.
check "the login is not held up: ${down_ms} ms, ${up_ms} ms with the daemon up" \
	test "$down_ms" -le $((up_ms + TIMEOUT_MS + 2000))

# spool_count N: wait (5 s) until the spool holds N records; prints the count.
spool_count() {
	local i n=0
	for i in $(seq 1 50); do
		n=$(find "$PW_TMP/spool" -maxdepth 1 -name '*.rec' 2>/dev/null | wc -l)
		[ "$n" -eq "$1" ] && break
		sleep 0.1
	done
	echo "$n"
}
# The close record is written after the client has gone: wait for it.
check_eq "the session's open and close wait in the spool" "$(spool_count 2)" 2

# A third login, whose open record is then held back: as if it had been
# spooled while its close was delivered, the daemon gets the close first.
ssh_run "cat '$D/third.csv' >/dev/null && cat /proc/self/sessionid"
check_eq "a third login while the daemon is away" "$SSH_RC" 0
ses3=$SSH_OUT
check_eq "its open and close wait in the spool too" "$(spool_count 4)" 4
check_eq "no spool file was found bad" \
	"$(find "$PW_TMP/spool" -maxdepth 1 -name 'bad-*' | wc -l)" 0
open3=$(grep -l '"type":"session_open"' "$PW_TMP/spool"/*.rec | xargs grep -l "\"sessionid\":$ses3,")
check "the third session's open record is in the spool" test -f "$open3"
mkdir "$PW_TMP/held"
[ -f "$open3" ] && mv "$open3" "$PW_TMP/held/"

# --- 3: the daemon comes back --------------------------------------------
rm -f "$PW_TMP/pam.sock" "$PW_TMP/control.sock"
check "piiwatchd starts again and takes over the pinned probes" pw_start_daemon "$PW_TMP/policy.conf"
got=$(pw_wait_sql "SELECT user, service, rhost, closed_ns IS NOT NULL FROM sessions
	WHERE audit_session = '$ses2'" "$PW_TEST_USER|$SERVICE|127.0.0.1|1")
check_eq "the spooled session arrives: user, service, remote host, closed" \
	"$got" "$PW_TEST_USER|$SERVICE|127.0.0.1|1"
check_eq "the spooled session's open and close are one row" \
	"$(pw_sql "SELECT count(*) FROM sessions WHERE audit_session = '$ses2'")" 1
sid2=$(pw_sql "SELECT id FROM sessions WHERE audit_session = '$ses2'")

got=$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$D/second.csv' AND closed_ns IS NOT NULL" 1)
check_eq "the read made while the daemon was away is recorded once" "$got" 1
row=$(pw_sql "SELECT session_id, audit_session, exe, bytes_read
	FROM accesses WHERE path = '$D/second.csv'")
check_eq "it is attributed to the spooled session, with exact bytes" \
	"$row" "$sid2|$ses2|/usr/bin/cat|$size2"

got=$(pw_wait_sql "SELECT count(*), opened_ns IS NULL, closed_ns IS NOT NULL FROM sessions
	WHERE audit_session = '$ses3'" "1|1|1")
check_eq "a close that comes before its open is kept" "$got" "1|1|1"
sid3=$(pw_sql "SELECT id FROM sessions WHERE audit_session = '$ses3'")
mv "$PW_TMP/held/$(basename "$open3")" "$PW_TMP/spool/"
got=$(pw_wait_sql "SELECT count(*), id, user, service, rhost, opened_ns < closed_ns
	FROM sessions WHERE audit_session = '$ses3'" "1|$sid3|$PW_TEST_USER|$SERVICE|127.0.0.1|1")
check_eq "the open that comes later completes that session" \
	"$got" "1|$sid3|$PW_TEST_USER|$SERVICE|127.0.0.1|1"
got=$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$D/third.csv' AND closed_ns IS NOT NULL" 1)
check_eq "the third session's read is recorded once" "$got" 1
row=$(pw_sql "SELECT session_id, audit_session, bytes_read FROM accesses WHERE path = '$D/third.csv'")
check_eq "it is attributed to the third session, with exact bytes" "$row" "$sid3|$ses3|$size3"

check_eq "three sessions in all" "$(pw_sql "SELECT count(*) FROM sessions")" 3
check_eq "nothing else was recorded" "$(pw_sql "SELECT count(*) FROM accesses")" 3
check_eq "the spool is empty" "$(spool_count 0)" 0
check_eq "nothing in the spool is left over or bad" \
	"$(find "$PW_TMP/spool" -mindepth 1 | wc -l)" 0

# --- 4: leave nothing behind -------------------------------------------
stop_sshd
check "sshd is stopped" test ! -e "$PW_TMP/sshd.pid"
pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
ours=$(pw_daemon_prog_ids)
check "piiwatchd --detach removes what keep_attached left" \
	"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach
check "nothing is left pinned" test ! -e "$(pw_pin_dir)"
check_eq "no program is left loaded" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
done_testing
