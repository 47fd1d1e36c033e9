#!/bin/bash
# The syslog output against a real rsyslog: RFC 5424 over TCP with
# octet-counted framing to an rsyslogd of the test's own (own config, work
# directory, pid file, a free port on 127.0.0.1), which writes what it
# receives to files.  Messages must arrive intact and in order, also across
# a restart of rsyslog, and the queue bound must hold while it is down.
. "$(dirname "$0")/../lib.sh"
pw_setup

SENDER=$PW_BUILD/tests/pw-syslog-send
RS=${PW_TMP:?}/rsyslog
QUEUE=50
mkdir -p "$RS/work"

if ! command -v rsyslogd >/dev/null; then
	not_ok "rsyslogd is installed (scripts/install-deps.sh installs rsyslog)"
	done_testing
	exit
fi

port=$("$SENDER" --free-port)
cat >"$RS/rsyslog.conf" <<EOF
global(workDirectory="$RS/work" maxMessageSize="64k")
module(load="imtcp")
template(name="pw_msg" type="string" string="%msg%\n")
template(name="pw_meta" type="string"
	string="%pri%|%syslogfacility-text%|%syslogseverity-text%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%timereported:::date-rfc3339%\n")
ruleset(name="pw") {
	action(type="omfile" file="$RS/msg.txt" template="pw_msg")
	action(type="omfile" file="$RS/meta.txt" template="pw_meta")
}
input(type="imtcp" address="127.0.0.1" port="$port" ruleset="pw"
	supportOctetCountedFraming="on")
EOF

RSYSLOG_PID=""
start_rsyslog() {
	rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >>"$RS/rsyslogd.out" 2>&1 &
	RSYSLOG_PID=$!
	local i
	for i in $(seq 1 100); do
		if ss -Hltn "sport = :$port" | grep -q .; then
			return 0
		fi
		kill -0 "$RSYSLOG_PID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/#   /' "$RS/rsyslogd.out"
	return 1
}

stop_rsyslog() {
	[ -n "$RSYSLOG_PID" ] || return 0
	kill -TERM "$RSYSLOG_PID" 2>/dev/null
	wait "$RSYSLOG_PID" 2>/dev/null
	RSYSLOG_PID=""
}
on_cleanup stop_rsyslog

# The sender runs as a coprocess: one command in, one reply line out.
SENDER_PID=""
stop_sender() {
	[ -n "$SENDER_PID" ] || return 0
	kill -TERM "$SENDER_PID" 2>/dev/null
	wait "$SENDER_PID" 2>/dev/null
	SENDER_PID=""
}
on_cleanup stop_sender

say() {
	local reply=""
	echo "$*" >&"${SND[1]}"
	read -r -t 60 reply <&"${SND[0]}"
	echo "$reply"
}

# wait_lines FILE N: until FILE has N lines (10 s).
wait_lines() {
	local i n=0
	for i in $(seq 1 100); do
		n=$(cat "$1" 2>/dev/null | wc -l)
		[ "$n" -ge "$2" ] && break
		sleep 0.1
	done
	echo "$n"
}

health_field() {
	sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"
}

check "rsyslogd accepts the test configuration" rsyslogd -N1 -f "$RS/rsyslog.conf" 2>"$RS/check.out"
check "rsyslogd starts on 127.0.0.1:$port" start_rsyslog

coproc SND { exec "$SENDER" 127.0.0.1 "$port" --queue "$QUEUE" --backoff-max 200 \
	--hostname dms01 --expect "$RS/sent.txt" 2>"$RS/sender.err"; }
SENDER_PID=$SND_PID
sender_pid=$SND_PID

check_eq "the output connects" "$(say wait-connected 5000)" ok
check_eq "100 accesses queued" "$(say access 100)" ok
check_eq "5 alerts queued" "$(say alert 5)" ok
check_eq "5 sessions queued" "$(say session 5)" ok
check_eq "the queue drains" "$(say drain 5000)" ok
check_eq "rsyslog wrote 110 messages" "$(wait_lines "$RS/msg.txt" 110)" 110

# rsyslog goes away: the output notices the closed connection by itself.
stop_rsyslog
check_eq "the lost connection is noticed" "$(say wait-disconnected 5000)" ok
check_eq "120 accesses while rsyslog is down" "$(say access 120)" ok
sleep 0.5
h=$(say health)
check_eq "the queue holds its bound ($QUEUE)" "$(health_field queued "$h")" "$QUEUE"
check_eq "the 70 oldest were dropped and counted" "$(health_field dropped "$h")" 70
check_eq "not connected" "$(health_field connected "$h")" 0
if [ "$(health_field failures "$h")" -ge 1 ] && grep -q "Connection refused" <<<"$h"; then
	ok "reconnection attempts fail and say why"
else
	not_ok "reconnection attempts fail and say why" "health: $h"
fi

check "rsyslogd starts again on the same port" start_rsyslog
check_eq "the output reconnects and drains the queue" "$(say drain 10000)" ok
check_eq "20 more accesses" "$(say access 20)" ok
check_eq "and they drain" "$(say drain 5000)" ok
check_eq "rsyslog wrote 180 messages in all" "$(wait_lines "$RS/msg.txt" 180)" 180
h=$(say health)
check_eq "two connections were made" "$(health_field connects "$h")" 2
check_eq "180 messages sent" "$(health_field sent "$h")" 180
check_eq "the sender quits" "$(say quit)" ok
status=0
wait "$SENDER_PID" || status=$?
SENDER_PID=""
check_eq "the sender exits cleanly (no leaks)" "$status" 0
[ "$status" -eq 0 ] || sed 's/^/#   /' "$RS/sender.err"

# What arrived: everything sent while connected, and the newest $QUEUE of
# what was sent while rsyslog was down, byte for byte and in order.
{ sed -n '1,110p' "$RS/sent.txt"; sed -n '181,250p' "$RS/sent.txt"; } >"$RS/expected.txt"
if cmp -s "$RS/expected.txt" "$RS/msg.txt"; then
	ok "messages arrive intact and in order"
else
	not_ok "messages arrive intact and in order" \
		"$(diff "$RS/expected.txt" "$RS/msg.txt" | head -5)"
fi
check_eq "every message is one JSON object" "$(jq -s length "$RS/msg.txt")" 180

meta1=$(sed -n 1p "$RS/meta.txt")
check_eq "PRI, facility, severity, HOSTNAME, APP-NAME, MSGID, SD, TIMESTAMP" \
	"$(cut -d'|' -f1-5,7-9 <<<"$meta1")" \
	"86|authpriv|info|dms01|piiwatch|access|-|2026-11-25T03:55:06.000001Z"
check_eq "PROCID is the sender's pid" "$(cut -d'|' -f6 <<<"$meta1")" "$sender_pid"
check_eq "alerts carry their rule and severity as structured data" \
	"$(grep -c '|alert|\[piiwatch@32473 rule="bulk-read" severity="\(low\|medium\|high\|critical\)"\]|' "$RS/meta.txt")" 5
check_eq "an alert's syslog severity follows its own (high: err)" \
	"$(grep -c '^83|authpriv|err|.*|alert|.*severity="high"' "$RS/meta.txt")" 1
check_eq "sessions have MSGID session" "$(grep -c '|session|-|' "$RS/meta.txt")" 5

rsyslog_pid=$RSYSLOG_PID
stop_rsyslog
if kill -0 "$rsyslog_pid" 2>/dev/null; then not_ok "rsyslogd is stopped"; else ok "rsyslogd is stopped"; fi
done_testing
