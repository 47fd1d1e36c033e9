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

if ! command -v xxd >/dev/null; then
	not_ok "xxd is installed"
	done_testing
	exit
fi
rc=0
pw_auditd_start "$PW_TMP/audit" || rc=$?
if [ "$rc" -eq 1 ]; then
	ok "# SKIP $AUDITD_WHY"
	done_testing
	exit
elif [ "$rc" -ne 0 ]; then
	not_ok "$AUDITD_WHY"
	done_testing
	exit
fi
ok "auditd registers with the kernel (pid $AUDITD_PID, log $AUDITD_LOG)"
LOG=$AUDITD_LOG
enabled_before=$AUDIT_ENABLED_BEFORE

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
check_eq "the kernel's enabled flag is back to $enabled_before" \
	"$(pw_audit_status enabled)" "$enabled_before"
done_testing
