#!/bin/bash
# piiwatchd's outputs end to end: a login and a read become ECS JSON Lines
# in a file and RFC 5424 messages at a real rsyslog; status reports the
# outputs' health; a reload with errors keeps the running policy.
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

RS=$PW_TMP/rsyslog
D=$PW_TMP/data/customers
mkdir -p "$RS/work" "$D"
head -c 7777 /dev/urandom >"$D/export.csv"
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

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
