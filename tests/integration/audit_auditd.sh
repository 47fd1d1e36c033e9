#!/bin/bash
# Alerts in the Linux audit trail: the audit output against a real auditd
# that the test starts with its own configuration and log file
# (tests/auditd.sh); ausearch must find every alert with its fields.
. "$(dirname "$0")/../lib.sh"
pw_setup

. "$(dirname "$0")/../auditd.sh"

HELPER=$PW_BUILD/tests/pw-audit-alert
pw_auditd_prepare xxd
if pw_host_auditd_running; then
	ok "# SKIP another auditd (pid $AUDIT_PID_BEFORE) holds the kernel's audit connection"
	done_testing
	exit
fi
if [ "$AUDIT_ENABLED_BEFORE" = 2 ]; then
	ok "# SKIP the kernel's audit configuration is locked (enabled 2)"
	done_testing
	exit
fi
pw_auditd_start
LOG=$AUDIT_LOG

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

pw_auditd_stop
check_eq "auditd is stopped and unregistered" "$(pw_audit_status pid)" 0
pw_audit_restore_enabled
check_eq "the kernel's enabled flag is back to $AUDIT_ENABLED_BEFORE" \
	"$(pw_audit_status enabled)" "$AUDIT_ENABLED_BEFORE"
done_testing
