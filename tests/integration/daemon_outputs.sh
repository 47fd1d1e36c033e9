#!/bin/bash
# piiwatchd's outputs end to end: a login and a read become ECS JSON Lines
# in a file and RFC 5424 messages at a real rsyslog; status reports the
# outputs' health; a reload with errors keeps the running policy.  Then the
# session join where it is hard, in the store and in both outputs: a login
# that spans a restart of the daemon (keep_attached), and a session record
# that comes after the first events of an access still open (the record
# waited in a spool).
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

RS=$PW_TMP/rsyslog
D=$PW_TMP/data/customers
mkdir -p "$RS/work" "$D"
head -c 7777 /dev/urandom >"$D/export.csv"
for f in held after late; do head -c 6000 /dev/urandom >"$D/$f.csv"; done
chmod -R a+rX "$PW_TMP/data"

port=$("$PW_BUILD/tests/pw-syslog-send" --free-port)
cat >"$RS/rsyslog.conf" <<EOF2
global(workDirectory="$RS/work" maxMessageSize="64k")
module(load="imtcp")
template(name="pw_line" type="string" string="%msgid%|%app-name%|%msg%\n")
ruleset(name="pw") { action(type="omfile" file="$RS/received.txt" template="pw_line") }
input(type="imtcp" address="127.0.0.1" port="$port" ruleset="pw" supportOctetCountedFraming="on")
EOF2
rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >"$RS/out" 2>&1 &
rsyslog_pid=$!
on_cleanup "kill $rsyslog_pid; wait $rsyslog_pid"
for i in $(seq 1 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done

write_policy() {
	pw_write_policy "$PW_TMP/policy.conf" <<EOF2
keep_attached = yes
[dataset customers]
path = $D
[output jsonl]
path = $PW_TMP/events.jsonl
max_size = 10M
[output syslog]
host = 127.0.0.1
port = $port
facility = local3
$1
EOF2
}
write_policy ""
check "piiwatchd starts with JSON Lines and syslog outputs" pw_start_daemon "$PW_TMP/policy.conf"

pw_pam_service pwtest-out \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool"
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-out -u "$PW_TEST_USER" \
	-r 192.0.2.44 -- cat "$D/export.csv" >/dev/null
check_eq "the session ran" "$?" 0

for i in $(seq 1 50); do grep -q '"piiwatch.access"' "$PW_TMP/events.jsonl" 2>/dev/null && break; sleep 0.1; done
access=$(grep '"piiwatch.access"' "$PW_TMP/events.jsonl")
check "the access is one ECS JSON line" test "$(grep -c . <<<"$access")" -eq 1
check "it names the file" grep -qF "\"path\":\"$D/export.csv\"" <<<"$access"
check "it names the user" grep -qF "\"name\":\"$PW_TEST_USER\"" <<<"$access"
check "it names the source address" grep -qF '"ip":"192.0.2.44"' <<<"$access"
check "it gives the exact bytes" grep -qF '"bytes_read":7777' <<<"$access"
parent="\"parent\":{\"pid\":[0-9]*,\"executable\":\"$PW_BUILD/tests/pw-session-run\"}"
check "it names the reader's parent program" grep -q "$parent" <<<"$access"
check "the session is a JSON line too" grep -qF '"piiwatch.session"' "$PW_TMP/events.jsonl"
check "every line is valid JSON for a SIEM" \
	sh -c "! grep -v '^{.*}\$' '$PW_TMP/events.jsonl'"

for i in $(seq 1 50); do grep -q '^access|' "$RS/received.txt" 2>/dev/null && break; sleep 0.1; done
check "rsyslog received the access over TCP" grep -q "^access|piiwatch|.*$D/export.csv" "$RS/received.txt"
check "with the reader's parent program" grep -q "^access|piiwatch|.*$parent" "$RS/received.txt"
check "rsyslog received the session" grep -q '^session|piiwatch|' "$RS/received.txt"

status=$("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" --json status)
check "status reports the syslog output connected" grep -qF '"syslog":{"connected":true' <<<"$status"
check "status reports the JSON Lines output" grep -q '"jsonl":{"lines":[1-9]' <<<"$status"
check "status reports no record that could not be serialised" grep -qF '"encode_failed":0' <<<"$status"
check "status reports the hook mode" grep -qF '"hook_mode":"tracepoint"' <<<"$status"

# A reload with an error keeps the running policy and says so.
write_policy "nonsense line"
"$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" reload 2>"$PW_TMP/reload.err"
check_eq "a reload of a policy with errors is refused" "$?" 1
check "the daemon logs where the error is" grep -q "policy.conf:[0-9]*: expected 'key = value'" "$PW_TMP/daemon.err"
cat "$D/export.csv" >/dev/null
check_eq "the running policy stays in force" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE closed_ns IS NOT NULL" 2)" 2
write_policy ""
check "a good policy reloads" "$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" reload
kill -HUP "$DAEMON_PID"
sleep 0.5
check "SIGHUP reloads too" grep -q "reloaded $PW_TMP/policy.conf" "$PW_TMP/daemon.err"

EVADE=$PW_BUILD/tests/pw-evade
# No daemon listens on this socket: the records wait in a spool of their
# own, which the test hands to the daemon when it chooses.
pw_pam_service pwtest-late \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/absent.sock spool=$PW_TMP/held"

# syslog_json: the JSON of the access messages rsyslog received.
syslog_json() {
	sed -n 's/^access|piiwatch|//p' "$RS/received.txt"
}

# final_record PATH [FILE]: user, source ip, session id, audit session and
# bytes of the final record of the access to PATH in FILE (the JSON Lines),
# or standard input.
final_record() {
	jq -r --arg p "$1" 'select(.event.dataset == "piiwatch.access" and .file.path == $p and
		.event.end != null) | [.user.name, .source.ip, .piiwatch.session_id,
		.piiwatch.audit_session, .piiwatch.bytes_read] | map(tostring) | join("|")' ${2:+"$2"}
}

# access_records PATH: how many JSON Lines records the access to PATH has.
access_records() {
	jq -r --arg p "$1" 'select(.event.dataset == "piiwatch.access" and .file.path == $p) | 1' \
		"$PW_TMP/events.jsonl" | wc -l
}

# stored_join PATH: the stored access's session: user, remote host, audit
# session, session id, and the access's bytes.
stored_join() {
	pw_sql "SELECT s.user, s.rhost, a.audit_session, s.id, a.bytes_read FROM accesses a
		JOIN sessions s ON s.id = a.session_id WHERE a.path = '$1'"
}

# wait_for_line FILE: until FILE has a line (10 s).
wait_for_line() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_syslog PATH EXPECTED: until rsyslog has the final record of PATH.
wait_syslog() {
	local i out=""
	for i in $(seq 1 50); do
		out=$(syslog_json | final_record "$1")
		[ "$out" == "$2" ] && break
		sleep 0.1
	done
	echo "$out"
}

# A login opens, the daemon restarts, then the login's processes read: one
# access opened before the restart and finished after it, one opened after.
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-out -u "$PW_TEST_USER" \
	-r 198.51.100.23 -- sh -c "cat /proc/self/sessionid; echo
		'$EVADE' pause '$D/held.csv' '$PW_TMP/go-a' >/dev/null &
		i=0
		while [ ! -e '$PW_TMP/go-a' ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
		'$EVADE' read '$D/after.csv' >/dev/null
		wait" >"$PW_TMP/ses-a" 2>"$PW_TMP/ses-a.err" &
sess_a=$!
on_cleanup "touch '$PW_TMP/go-a'; wait $sess_a"
wait_for_line "$PW_TMP/ses-a"
ses_a=$(head -n 1 "$PW_TMP/ses-a")
check "the restart's login has an audit session id" test -n "$ses_a" -a "$ses_a" != 4294967295
# pam_piiwatch's open returns once the daemon has stored the record.
sid_a=$(pw_sql "SELECT id FROM sessions WHERE audit_session = $ses_a AND closed_ns IS NULL")
check "its open record is stored before the restart" test -n "$sid_a"
check_eq "the access begun before the restart is stored" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$D/held.csv'" 1)" 1
pw_stop_daemon TERM
check_eq "SIGTERM stops the daemon cleanly" "$DAEMON_STATUS" 0
check "the probes stay attached" test -d "$(pw_pin_dir)/links"
check "piiwatchd starts again" pw_start_daemon "$PW_TMP/policy.conf"
touch "$PW_TMP/go-a"
wait "$sess_a"
check_eq "the login ran its commands" "$?" 0
check_eq "both accesses end in the store" "$(pw_wait_sql "SELECT count(*) FROM accesses
	WHERE path IN ('$D/held.csv', '$D/after.csv') AND closed_ns IS NOT NULL" 2)" 2
for f in held after; do
	want="$PW_TEST_USER|198.51.100.23|$sid_a|$ses_a|6000"
	check_eq "$f.csv: the stored access is joined to the login from before the restart" \
		"$(stored_join "$D/$f.csv")" "$PW_TEST_USER|198.51.100.23|$ses_a|$sid_a|6000"
	check_eq "$f.csv: its final JSON Lines record carries that session" \
		"$(final_record "$D/$f.csv" "$PW_TMP/events.jsonl")" "$want"
	check_eq "$f.csv: so does its syslog message" "$(wait_syslog "$D/$f.csv" "$want")" "$want"
done

# The session record comes after the access's first events: the daemon
# holds the access in memory, then the record arrives from the spool.
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-late -u "$PW_TEST_USER" \
	-r 203.0.113.45 -- sh -c "cat /proc/self/sessionid; echo
		exec '$EVADE' pause '$D/late.csv' '$PW_TMP/go-b'" \
	>"$PW_TMP/ses-b" 2>"$PW_TMP/ses-b.err" &
sess_b=$!
on_cleanup "touch '$PW_TMP/go-b'; wait $sess_b"
wait_for_line "$PW_TMP/ses-b"
ses_b=$(head -n 1 "$PW_TMP/ses-b")
check "the late login has an audit session id" test -n "$ses_b" -a "$ses_b" != 4294967295
check_eq "its open record waits in the spool" "$(ls "$PW_TMP/held" | grep -c '\.rec$')" 1
# delta_interval = 1s: a progress record of the open access goes out
# before the session is known.
for i in $(seq 1 50); do
	[ "$(access_records "$D/late.csv")" -ge 1 ] && break
	sleep 0.1
done
before=$(jq -r --arg p "$D/late.csv" 'select(.file.path == $p) |
	[.user.name, (.source.ip // "none"), (.piiwatch.session_id // "none"),
	.piiwatch.audit_session] | map(tostring) | join("|")' "$PW_TMP/events.jsonl" | head -n 1)
check_eq "a progress record before the session record has the login user but no session" \
	"$before" "$PW_TEST_USER|none|none|$ses_b"
check_eq "the stored access is not joined yet" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$D/late.csv' AND session_id IS NULL
		AND audit_session = $ses_b")" 1
shipped=$(access_records "$D/late.csv")
mv "$PW_TMP"/held/*.rec "$PW_TMP/spool/"
check_eq "the spooled record joins the stored access" "$(pw_wait_sql "SELECT count(*)
	FROM accesses a JOIN sessions s ON s.id = a.session_id WHERE a.path = '$D/late.csv'" 1)" 1
sid_b=$(pw_sql "SELECT id FROM sessions WHERE audit_session = $ses_b")
check_eq "records shipped before the join are not shipped again" \
	"$(access_records "$D/late.csv")" "$shipped"
touch "$PW_TMP/go-b"
wait "$sess_b"
check_eq "the late login ran its command" "$?" 0
check_eq "the access ends in the store" "$(pw_wait_sql "SELECT count(*) FROM accesses
	WHERE path = '$D/late.csv' AND closed_ns IS NOT NULL" 1)" 1
want="$PW_TEST_USER|203.0.113.45|$sid_b|$ses_b|6000"
check_eq "the stored access carries the late session" \
	"$(stored_join "$D/late.csv")" "$PW_TEST_USER|203.0.113.45|$ses_b|$sid_b|6000"
check_eq "its final JSON Lines record carries the late session" \
	"$(final_record "$D/late.csv" "$PW_TMP/events.jsonl")" "$want"
check_eq "so does its syslog message" "$(wait_syslog "$D/late.csv" "$want")" "$want"

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
ours=$(pw_daemon_prog_ids)
check "piiwatchd --detach removes what keep_attached left" \
	"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach
check "nothing is left pinned" test ! -e "$(pw_pin_dir)"
check_eq "no program is left loaded" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
done_testing
