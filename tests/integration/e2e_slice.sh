#!/bin/bash
# The foundation slice: a login through a real PAM stack (pam_loginuid +
# pam_piiwatch), a read of a protected file inside that session, and the
# daemon's record of who read how much of what; then nothing left attached.
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

mkdir -p "$PW_TMP/data/customers/2019" "$PW_TMP/other"
# Clearly fake records of a known size.
for i in $(seq 1 1000); do
	printf 'C%05d,Test Customer %d,test%d@example.invalid,000-0000-%04d\n' "$i" "$i" "$i" "$i"
done >"$PW_TMP/data/customers/2019/export.csv"
size=$(stat -c %s "$PW_TMP/data/customers/2019/export.csv")
echo "not customer data" >"$PW_TMP/other/notes.txt"
chmod -R a+rX "$PW_TMP/data" "$PW_TMP/other"

pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $PW_TMP/data/customers
EOF2

check "piiwatchd starts on the test policy" pw_start_daemon "$PW_TMP/policy.conf" --print
ours=$(pw_daemon_prog_ids)
our_links=$(pw_daemon_link_ids)
check "the daemon's programs are attached while it runs" test -n "$ours" -a -n "$our_links"

pw_pam_service pwtest-e2e \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool timeout_ms=2000"

# The shell says who it and its parent (pw-session-run) are: the reader's
# parent chain is checked against them below.  The session stays until
# the access is stored (at most 10 s), so that what ran it is still there
# when the daemon looks for the reader's ancestors.
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-e2e -u "$PW_TEST_USER" \
	-r 198.51.100.7 -t pts/9 -- \
	/bin/sh -c "echo \$\$ \$PPID && cat '$PW_TMP/data/customers/2019/export.csv' >/dev/null &&
	       cat '$PW_TMP/other/notes.txt' >/dev/null && i=0 &&
	       while [ ! -e '$PW_TMP/stored' ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done &&
	       cat /proc/self/sessionid" >"$PW_TMP/session.out" 2>"$PW_TMP/session.err" &
session=$!
on_cleanup 'touch "$PW_TMP/stored"; wait "$session"'
n=$(pw_wait_sql "SELECT count(*) FROM accesses WHERE closed_ns IS NOT NULL" 1)
touch "$PW_TMP/stored"
wait "$session"
rc=$?
check_eq "the session ran its commands" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$PW_TMP/session.err"
read -r sh_pid runner_pid <"$PW_TMP/session.out"
ses=$(tail -n 1 "$PW_TMP/session.out")
check "the session has an audit session id" test -n "$ses" -a "$ses" != 4294967295

check_eq "exactly one access recorded (the unprotected read is not)" "$n" 1

row=$(pw_sql "SELECT s.user, s.service, s.rhost, a.audit_session, a.comm, a.exe, a.path,
	a.bytes_read, a.dataset, a.uid, a.euser FROM accesses a JOIN sessions s ON s.id = a.session_id")
IFS='|' read -r user service rhost audit comm exe path bytes dataset uid euser <<<"$row"
check_eq "user name" "$user" "$PW_TEST_USER"
check_eq "the effective user, by number and name" "$uid|$euser" "$(id -u "$PW_TEST_USER")|$PW_TEST_USER"
check_eq "PAM service" "$service" pwtest-e2e
check_eq "remote host" "$rhost" 198.51.100.7
check_eq "audit session id" "$audit" "$ses"
check_eq "program" "$comm" cat
check_eq "executable path" "$exe" /usr/bin/cat
check_eq "file path" "$path" "$PW_TMP/data/customers/2019/export.csv"
check_eq "bytes read, exactly" "$bytes" "$size"
check_eq "dataset" "$dataset" customers
# The reader's ancestors, from its parent up: the shell and pw-session-run
# from their execs, then the shell running this test, which started
# before the daemon and so comes from /proc, checked against its start.
chain=$(pw_sql "SELECT c.ancestors FROM accesses a JOIN chains c ON c.id = a.chain_id")
check_eq "the reader's parent is the shell that ran it" "$(sed -n 1p <<<"$chain")" "$sh_pid /bin/sh"
check_eq "and its parent pw-session-run" "$(sed -n 2p <<<"$chain")" \
	"$runner_pid $PW_BUILD/tests/pw-session-run"
check "further up, this test's shell, found in /proc" grep -qx "$$ /usr/bin/bash" <<<"$chain"
check_eq "the store names the parent's program for queries" \
	"$(pw_sql "SELECT c.parent_exe FROM accesses a JOIN chains c ON c.id = a.chain_id")" /bin/sh
check_eq "nothing recorded for the unprotected file" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path LIKE '%notes.txt'")" 0
closed=$(pw_wait_sql "SELECT count(*) FROM sessions WHERE closed_ns IS NOT NULL" 1)
check_eq "the session's close is recorded" "$closed" 1

line=$(grep -F "export.csv" "$PW_TMP/daemon.out")
check "the printed line names user, session, program, file and bytes" \
	grep -qF "$PW_TEST_USER session $ses (pwtest-e2e from 198.51.100.7)  /usr/bin/cat[" <<<"$line"
check "the printed line gives the byte count" grep -qF "($size B) of $PW_TMP/data/customers/2019/export.csv [customers]" <<<"$line"

json=$("$PW_BUILD/piiwatch" --store "$PW_TMP/store.db" --json accesses)
check "the CLI reads the store and reports the same read" \
	grep -qF "\"bytes_read\":$size" <<<"$json"
check "and the reader's parent, as ECS names it" \
	grep -qF "\"parent\":{\"pid\":$sh_pid,\"executable\":\"/bin/sh\"}" <<<"$json"
check "and its chain, parent first" grep -qF "\"ancestors\":[{\"pid\":$sh_pid,\"executable\":\"/bin/sh\"},{\"pid\":$runner_pid,\"executable\":\"$PW_BUILD/tests/pw-session-run\"}," <<<"$json"
check "and the effective user, as ECS names it" \
	grep -qF "\"command_line\":\"cat $PW_TMP/data/customers/2019/export.csv\",\"user\":{\"id\":\"$(id -u "$PW_TEST_USER")\",\"name\":\"$PW_TEST_USER\"}" <<<"$json"
story=$("$PW_BUILD/piiwatch" --store "$PW_TMP/store.db" show "$(pw_sql "SELECT id FROM sessions")")
check "piiwatch show gives the reader at the end of its chain" \
	grep -qF "pw-session-run[$runner_pid] > sh[$sh_pid] > /usr/bin/cat[" <<<"$story"

# A root login whose reader runs with the test user's rights (setpriv, as
# su or a service account's wrapper would): the login user stays root,
# the effective user is the test user.
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-e2e -u root -r 198.51.100.8 \
	-t pts/8 -- setpriv --reuid="$PW_TEST_USER" --regid="$PW_TEST_USER" --init-groups \
	cat "$PW_TMP/data/customers/2019/export.csv" >/dev/null 2>"$PW_TMP/session2.err"
check_eq "a root session runs a reader as $PW_TEST_USER" "$?" 0
got=$(pw_wait_sql "SELECT s.user || '|' || a.uid || '|' || a.euser FROM accesses a
	JOIN sessions s ON s.id = a.session_id WHERE s.rhost = '198.51.100.8' AND a.closed_ns IS NOT NULL" \
	"root|$(id -u "$PW_TEST_USER")|$PW_TEST_USER")
check_eq "its access names the login user and the effective user apart" "$got" \
	"root|$(id -u "$PW_TEST_USER")|$PW_TEST_USER"
check "the printed line says whose rights the reader used" \
	grep -qF "(pwtest-e2e from 198.51.100.8) as $PW_TEST_USER  /usr/bin/cat[" "$PW_TMP/daemon.out"

pw_stop_daemon TERM
check_eq "piiwatchd exits cleanly on SIGTERM" "$DAEMON_STATUS" 0
check_eq "no BPF link of the daemon left attached" "$(pw_wait_gone "$our_links" pw_bpf_link_ids)" ""
check_eq "no BPF program of the daemon left loaded" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
check "nothing left pinned" test ! -e "$(pw_pin_dir)"
check "the PAM socket is removed" test ! -e "$PW_TMP/pam.sock"

done_testing
