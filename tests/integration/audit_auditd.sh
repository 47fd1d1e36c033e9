#!/bin/bash
# Alerts in the Linux audit trail: the audit output against a real auditd
# that the test starts with its own configuration and log file (auditd -n
# -c DIR); ausearch must find every alert with its fields.  The kernel
# talks to one audit daemon at a time: the test takes that place only when
# nobody holds it, stops its auditd by PID and gives the kernel's
# "enabled" flag back as it found it.
. "$(dirname "$0")/../lib.sh"
pw_setup

HELPER=$PW_BUILD/tests/pw-audit-alert
AD=${PW_TMP:?}/audit
LOG=$AD/audit.log
mkdir -p "$AD/plugins.d"

for c in auditd auditctl ausearch xxd; do
	if ! command -v "$c" >/dev/null; then
		not_ok "$c is installed (scripts/install-deps.sh installs auditd)"
		done_testing
		exit
	fi
done

# Tests that run an auditd of their own take this lock first.
exec {lock_fd}>/run/lock/piiwatch-test-auditd.lock
if ! flock -w 300 "$lock_fd"; then
	not_ok "no other test's auditd within 5 minutes"
	done_testing
	exit
fi

audit_status() {
	auditctl -s | awk -v k="$1" '$1 == k { print $2 }'
}
enabled_before=$(audit_status enabled)
pid_before=$(audit_status pid)
if [ -z "$enabled_before" ]; then
	ok "# SKIP the kernel answers no audit status (no audit in this kernel)"
	done_testing
	exit
fi
if [ "$pid_before" != 0 ] && kill -0 "$pid_before" 2>/dev/null; then
	ok "# SKIP another auditd (pid $pid_before) holds the kernel's audit connection"
	done_testing
	exit
fi
if [ "$enabled_before" = 2 ]; then
	ok "# SKIP the kernel's audit configuration is locked (enabled 2)"
	done_testing
	exit
fi

cat >"$AD/auditd.conf" <<EOF
local_events = yes
write_logs = yes
log_file = $LOG
log_format = RAW
flush = DATA
freq = 0
max_log_file = 8
num_logs = 1
max_log_file_action = IGNORE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
q_depth = 2000
overflow_action = IGNORE
plugin_dir = $AD/plugins.d
end_of_event_timeout = 2
EOF
# auditd refuses a configuration others could change.
chmod 600 "$AD/auditd.conf"

AUDITD_PID=""
stop_auditd() {
	[ -n "$AUDITD_PID" ] || return 0
	kill -TERM "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	AUDITD_PID=""
}
# auditd switches auditing on at start and leaves it on.
restore_enabled() {
	auditctl -e "$enabled_before" >/dev/null
}
on_cleanup restore_enabled
on_cleanup stop_auditd

auditd -n -c "$AD" >"$AD/auditd.out" 2>&1 &
AUDITD_PID=$!
for i in $(seq 1 100); do
	[ "$(audit_status pid)" = "$AUDITD_PID" ] && break
	kill -0 "$AUDITD_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$(audit_status pid)" != "$AUDITD_PID" ]; then
	not_ok "auditd registers with the kernel" "$(cat "$AD/auditd.out")"
	done_testing
	exit
fi
ok "auditd registers with the kernel (pid $AUDITD_PID, log $LOG)"

reason1="tanaka read 412.0 MiB of dataset customers in 10 min"
user2=$'evil" uid=0 auid=0 \'x'
reason2=$'it\'s 田中: res=failed\nuid=0'
check_eq "an alert is logged" \
	"$("$HELPER" bulk-read high tanaka 17 42 206 "$reason1")" logged
check_eq "an alert with hostile strings is logged" \
	"$("$HELPER" honeytoken critical "$user2" 4294967295 0 1.5 "$reason2")" logged

n=0
for i in $(seq 1 100); do
	n=$(ausearch -if "$LOG" -m ANOM_ACCESS_FS --raw 2>/dev/null | grep -c 'op=piiwatch-alert')
	[ "$n" -ge 2 ] && break
	sleep 0.1
done
check_eq "ausearch -m ANOM_ACCESS_FS finds both alerts" "$n" 2

raw=$(ausearch -if "$LOG" -m ANOM_ACCESS_FS --raw 2>/dev/null)
first=$(grep 'rule="bulk-read"' <<<"$raw")
second=$(grep 'rule="honeytoken"' <<<"$raw")
fields='op=piiwatch-alert rule="bulk-read" severity=high acct="tanaka" login_ses=17 session_id=42 score=206.000 reason='
if [[ $first == "type=ANOM_ACCESS_FS msg=audit("*"msg='$fields"* ]]; then
	ok "the record has the alert's fields, op= first"
else
	not_ok "the record has the alert's fields, op= first" "record: $first"
fi
hex=$(sed -n 's/.* reason=\([0-9A-F]*\) .*/\1/p' <<<"$first")
check_eq "the reason reads back" "$(xxd -r -p <<<"$hex")" "$reason1"
check_eq "libaudit adds the program and the result" \
	"$(grep -o "exe=\"[^\"]*\" hostname=? addr=? terminal=? res=success'" <<<"$first")" \
	"exe=\"$(realpath "$HELPER")\" hostname=? addr=? terminal=? res=success'"
check_eq "uid= is only the kernel's" "$(grep -o ' uid=' <<<"$second" | wc -l)" 1
check_eq "auid= is only the kernel's" "$(grep -o ' auid=' <<<"$second" | wc -l)" 1
check_eq "the hostile record is one line" "$(grep -c . <<<"$second")" 1
check_eq "ausearch -i decodes the hostile account name" \
	"$(ausearch -if "$LOG" -m ANOM_ACCESS_FS -i 2>/dev/null | grep -F -c "acct=$user2 ")" 1
hex=$(sed -n 's/.* reason=\([0-9A-F]*\) .*/\1/p' <<<"$second")
check_eq "the hostile reason reads back whole" "$(xxd -r -p <<<"$hex")" "$reason2"
check "an unset login session is written as the kernel writes one" \
	grep -q ' login_ses=4294967295 session_id=0 ' <<<"$second"

stop_auditd
check_eq "auditd is stopped and unregistered" "$(audit_status pid)" 0
restore_enabled
check_eq "the kernel's enabled flag is back to $enabled_before" \
	"$(audit_status enabled)" "$enabled_before"
done_testing
