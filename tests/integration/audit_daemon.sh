#!/bin/bash
# piiwatchd's alerts in the Linux audit trail, end to end: a daemon with
# [output audit] alerts = yes, a honeytoken read in a login session by a
# program with a hostile name, and ausearch finds the one ANOM_ACCESS_FS
# record with the fields docs/outputs.md promises, strings encoded as
# libaudit encodes untrusted ones.  The record goes to the test's own
# auditd (tests/auditd.sh), or, when the host's auditd holds the kernel's
# connection, into the host's trail, where ausearch finds it the same way.
. "$(dirname "$0")/../lib.sh"
pw_setup
. "$(dirname "$0")/../auditd.sh"
pw_ensure_user

pw_auditd_prepare xxd
if pw_host_auditd_running; then
	if [ "$AUDIT_ENABLED_BEFORE" = 0 ]; then
		# The kernel drops user records then, and the host's setting is
		# not the test's to change.
		ok "# SKIP the host's auditd (pid $AUDIT_PID_BEFORE) runs with auditing off"
		done_testing
		exit
	fi
	AUDIT_LOG=$(pw_host_audit_log)
	if [ -z "$AUDIT_LOG" ]; then
		ok "# SKIP the host's auditd (pid $AUDIT_PID_BEFORE) writes no log for ausearch"
		done_testing
		exit
	fi
	ok "the host's auditd (pid $AUDIT_PID_BEFORE) takes the records, log $AUDIT_LOG"
elif [ "$AUDIT_ENABLED_BEFORE" = 2 ]; then
	ok "# SKIP the kernel's audit configuration is locked (enabled 2) and no auditd runs"
	done_testing
	exit
else
	pw_auditd_start
fi

H=$PW_TMP/data/zz_vip_customers.csv
mkdir -p "$PW_TMP/data" "$PW_TMP/bin"
echo "0001,Tanaka Taro,090-0000-0000" >"$H"
# Its name reaches the alert's reason: quotes, a field of its own and a
# line break must stay inside the one encoded value.
reader=$PW_TMP/bin/$'cat "x\' 田中\nuid=0 res=failed'
cp /bin/cat "$reader"
chmod -R a+rX "$PW_TMP/data" "$PW_TMP/bin"

pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[honeytokens]
path = $H
[output audit]
alerts = yes
EOF2
check "piiwatchd starts with the audit output" pw_start_daemon "$PW_TMP/policy.conf"

pw_pam_service pwtest-audit \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool"
started=$(date +%s)
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-audit -u "$PW_TEST_USER" \
	-r 192.0.2.45 -- "$reader" "$H" >/dev/null
check_eq "the test user read the honeytoken in a login session" "$?" 0

alert=$(pw_wait_sql "SELECT count(*) FROM alerts WHERE rule_id = 'honeytoken'" 1)
check_eq "the daemon raised one honeytoken alert" "$alert" 1
IFS='|' read -r severity user login_ses session_id score <<<"$(pw_sql \
	"SELECT severity, user, audit_session, session_id, printf('%.3f', score)
	 FROM alerts WHERE rule_id = 'honeytoken'")"
reason=$(pw_sql "SELECT reason FROM alerts WHERE rule_id = 'honeytoken'")
IFS='|' read -r pid exe <<<"$(pw_sql "SELECT pid, exe FROM accesses WHERE path = '$H'")"

# The daemon's records: the kernel writes the sender's pid.
records() {
	ausearch -if "$AUDIT_LOG" -m ANOM_ACCESS_FS --raw 2>/dev/null |
		awk -v pid="$DAEMON_PID" -v t="$started" '
			index($0, " pid=" pid " ") && index($0, "op=piiwatch-alert") {
				s = $0; sub(/^[^(]*\(/, "", s); sub(/\..*/, "", s)
				if (s + 0 >= t) print
			}'
}
for i in $(seq 1 100); do
	rec=$(records)
	[ -n "$rec" ] && break
	sleep 0.1
done
check_eq "ausearch finds one alert record of piiwatchd" "$(grep -c . <<<"$rec")" 1
fields="op=piiwatch-alert rule=\"honeytoken\" severity=$severity acct=\"$user\" login_ses=$login_ses session_id=$session_id score=$score reason="
if [[ $rec == "type=ANOM_ACCESS_FS msg=audit("*"): pid=$DAEMON_PID uid=0 "*"msg='$fields"* ]]; then
	ok "it has the alert's rule, severity, user, sessions and score, op= first"
else
	not_ok "it has the alert's rule, severity, user, sessions and score, op= first" \
		"expected: ...msg='$fields..." "record:   $rec"
fi
check_eq "the alert is critical and the test user's" "$severity $user" "critical $PW_TEST_USER"
check "its login session is the reader's, its session a row of the store" \
	test "$login_ses" != 4294967295 -a "$session_id" -gt 0
check_eq "the login session is the one the access was recorded in" "$login_ses" \
	"$(pw_sql "SELECT audit_session FROM accesses WHERE path = '$H'")"
hex=$(sed -n 's/.* reason=\([0-9A-F]*\) .*/\1/p' <<<"$rec")
check "the reason is hexadecimal, as libaudit encodes a value with spaces" test -n "$hex"
decoded=$(xxd -r -p <<<"$hex")
check_eq "the reason reads back as the store has it" "$decoded" "$reason"
check "it names the honeytoken's path, the program and its pid" \
	grep -qF "the honeytoken $H with $exe (pid $pid)" <<<"$decoded"
check "the program's hostile name reached the reason, escaped" \
	grep -qF 'cat "x'"'"' 田中\x0auid=0 res=failed' <<<"$exe"
check_eq "uid= is only the kernel's" "$(grep -o ' uid=' <<<"$rec" | wc -l)" 1
check_eq "res= is only libaudit's" "$(grep -o ' res=' <<<"$rec" | wc -l)" 1
check_eq "libaudit names piiwatchd as the program" \
	"$(grep -o "exe=\"[^\"]*\" hostname=? addr=? terminal=? res=success'" <<<"$rec")" \
	"exe=\"$(realpath "$PW_BUILD/piiwatchd")\" hostname=? addr=? terminal=? res=success'"
check "ausearch -i decodes the account" \
	sh -c "ausearch -if '$AUDIT_LOG' -m ANOM_ACCESS_FS -i 2>/dev/null |
		grep -F 'pid=$DAEMON_PID ' | grep -qF ' acct=$user '"
status=$("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" --json status)
check "piiwatch status counts the record sent, none failed" \
	grep -qF '"audit":{"sent":1,"failed":0,"unavailable":0}' <<<"$status"
check "the daemon logged no audit trail error" \
	sh -c "! grep -q 'audit trail' '$PW_TMP/daemon.err'"

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
if [ -n "$AUDITD_PID" ]; then
	pw_auditd_stop
	check_eq "the test's auditd is stopped and unregistered" "$(pw_audit_status pid)" 0
	pw_audit_restore_enabled
	check_eq "the kernel's enabled flag is back to $AUDIT_ENABLED_BEFORE" \
		"$(pw_audit_status enabled)" "$AUDIT_ENABLED_BEFORE"
fi
done_testing
