#!/bin/bash
# The detector live and replayed: piiwatchd with [output jsonl] watches an
# attack from a login session (a honeytoken, a bulk read, an archiver,
# outside the policy's working hours, from a new address); its alerts reach
# the store, the JSON Lines and --print within two seconds of the access
# that triggers them; the honeytoken rule's quarantine makes pam_piiwatch
# refuse the user's next login; `piiwatch replay` of the JSON Lines raises
# exactly the same alerts.
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

D=$PW_TMP/data/customers
mkdir -p "$D"
# Clearly fake records: 40 files of 256 KiB, and the honeytoken among them.
for i in $(seq -w 1 40); do
	head -c 262144 /dev/urandom | base64 -w 100 | head -c 262144 >"$D/customers-$i.csv"
done
echo "C99999,VIP Test Customer,vip@example.invalid" >"$D/zz_vip_customers.csv"
head -c 6291456 /dev/zero >"$D/archive-2019.csv"
chmod -R a+rX "$PW_TMP/data"

# Working time is only the day after tomorrow: now is outside it, even if
# the test runs across midnight.
workday=$(LC_ALL=C date -d '+2 days' +%a)
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $D
[honeytokens]
path = $D/zz_vip_customers.csv
[hours]
working = $workday 00:00-24:00
[networks]
trusted = 10.0.0.0/8
[detector]
learning = 0
[rule bulk-read]
max_bytes = 4M
[rule honeytoken]
action = quarantine
[output jsonl]
path = $PW_TMP/events.jsonl
EOF2
check "piiwatchd starts with the detector and JSON Lines" \
	pw_start_daemon "$PW_TMP/policy.conf" --print

pw_pam_service pwtest-det \
	"account required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool" \
	"account required pam_permit.so" \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool timeout_ms=2000"
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-det -u "$PW_TEST_USER" --account \
	-- true 2>"$PW_TMP/account.err"
check_eq "$PW_TEST_USER may log in before the attack" "$?" 0

now_ns() { date +%s%N; }

# The attack: the honeytoken first (its open is the finding), then
# everything else with cat and tar, from an address never seen.  The
# session prints when it opened the honeytoken.
t_honey=$("$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-det -u "$PW_TEST_USER" \
	-r 203.0.113.9 -- sh -c "
	date +%s%N
	exec 4<'$D/zz_vip_customers.csv'
	sleep 1.5
	cat '$D'/customers-*.csv >/dev/null
	tar cf - -C '$D' . | wc -c >/dev/null
	" 2>"$PW_TMP/session.err")
check_eq "the attack session ran" "$?" 0

# A second session reads 5 MiB of a file in one process that keeps it
# open: no close and no exit flushes the counts, the bytes reach the
# detector as a progress report (delta_interval, here 1 s).  It prints
# when the 5 MiB were read.
t_bulk=$("$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-det -u "$PW_TEST_USER" \
	-r 203.0.113.9 -- perl -MTime::HiRes=time -e '
	open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!";
	my $got = 0;
	while ($got < 5242880) { my $n = sysread($f, my $buf, 65536) or die; $got += $n; }
	printf("%d\n", time() * 1e9);
	sleep 4;' "$D/archive-2019.csv" 2>>"$PW_TMP/session.err")
check_eq "the held-open read ran" "$?" 0

rules=$(pw_wait_sql "SELECT count(DISTINCT rule_id) FROM alerts WHERE rule_id IN
	('honeytoken', 'bulk-read', 'off-hours', 'new-source', 'staging')" 5)
check_eq "the attack raised honeytoken, bulk-read, off-hours, new-source and staging" "$rules" 5
check_eq "bulk-read alerted in both sessions" \
	"$(pw_wait_sql "SELECT count(*) FROM alerts WHERE rule_id = 'bulk-read'" 2)" 2

# Time to alert: from the access to the alert in the store.
pw_sql "SELECT rule_id, audit_session, (stored_ns - time_ns) / 1000000, reason FROM alerts" |
	sed 's/^/# alert: /'
honey_ms=$(pw_sql "SELECT (stored_ns - $t_honey) / 1000000 FROM alerts
	WHERE rule_id = 'honeytoken'")
echo "# honeytoken: alert stored ${honey_ms} ms after the session began to open it"
check "the honeytoken alert came within 2 s" test "$honey_ms" -lt 2000
ses2=$(pw_sql "SELECT max(audit_session) FROM alerts WHERE rule_id = 'bulk-read'")
bulk_ms=$(pw_sql "SELECT (stored_ns - $t_bulk) / 1000000 FROM alerts
	WHERE rule_id = 'bulk-read' AND audit_session = $ses2")
echo "# bulk-read of a file held open: alert stored ${bulk_ms} ms after the 5 MiB were read"
check "the bulk-read alert came within 2 s, with the file still open" test "$bulk_ms" -lt 2000

reason=$(pw_sql "SELECT reason FROM alerts WHERE rule_id = 'bulk-read' AND audit_session = $ses2")
check "the bulk-read reason gives the numbers" \
	grep -qE "^$PW_TEST_USER \(session $ses2 from 203\.0\.113\.9\) read 5\.0 MiB \(1 files\) of dataset customers in [0-9]+ s of this session; no baseline yet \(0 of 5 active days\); the cap is 4\.0 MiB$" <<<"$reason"
check "--print shows the alerts" grep -q "ALERT critical honeytoken (risk [0-9.]*)  $PW_TEST_USER" \
	"$PW_TMP/daemon.out"
check "the log names them" grep -q "ALERT high bulk-read" "$PW_TMP/daemon.err"

check_eq "the honeytoken rule put $PW_TEST_USER in quarantine" \
	"$(pw_sql "SELECT count(*) FROM quarantine q JOIN alerts a ON a.user = q.user
		WHERE q.user = '$PW_TEST_USER' AND q.reason LIKE 'honeytoken: %' AND
		a.rule_id = 'honeytoken' AND a.quarantined = 1")" 1
"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-det -u "$PW_TEST_USER" --account \
	-- true 2>"$PW_TMP/account.err"
check_eq "pam_piiwatch refuses the quarantined user's next login" "$?" 125

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
check "the baselines were saved" test "$(pw_sql "SELECT count(*) FROM baselines")" -gt 0

# Replay the daemon's own JSON Lines with the same policy.
"$PW_BUILD/piiwatch" replay --policy "$PW_TMP/policy.conf" --json "$PW_TMP/events.jsonl" \
	>"$PW_TMP/replay.jsonl" 2>"$PW_TMP/replay.err"
check_eq "piiwatch replay reads every line" "$?" 0
sed 's/^/# /' "$PW_TMP/replay.err"

# The same alerts, field by field and in order: against the live JSON Lines
# (time included) and against the store.
fields='[.["@timestamp"], .rule.id, .piiwatch.severity, (.user.name // ""),
	(.piiwatch.audit_session // "none"), (.piiwatch.session_id // "none"),
	.event.risk_score, .event.reason] | @tsv'
jq -r "select(.event.dataset == \"piiwatch.alert\") | $fields" "$PW_TMP/events.jsonl" \
	>"$PW_TMP/live.tsv"
jq -r "$fields" "$PW_TMP/replay.jsonl" >"$PW_TMP/replayed.tsv"
n=$(wc -l <"$PW_TMP/live.tsv")
check "the live JSON Lines hold the alerts" test "$n" -ge 5
if diff "$PW_TMP/live.tsv" "$PW_TMP/replayed.tsv" >"$PW_TMP/diff.out"; then
	ok "replayed alerts are the live ones ($n, same order, times, scores and reasons)"
else
	not_ok "replayed alerts are the live ones" "$(head -c 2000 "$PW_TMP/diff.out")"
fi
pw_sql "SELECT rule_id, severity, coalesce(user, ''), coalesce(audit_session, 'none'),
	coalesce(session_id, 'none'), printf('%.1f', score), reason FROM alerts ORDER BY id" \
	| tr '|' '\t' >"$PW_TMP/store.tsv"
jq -r '[.rule.id, .piiwatch.severity, (.user.name // ""), (.piiwatch.audit_session // "none"),
	(.piiwatch.session_id // "none"), (.event.risk_score | tostring |
	if test("\\.") then . else . + ".0" end), .event.reason] | @tsv' \
	"$PW_TMP/replay.jsonl" >"$PW_TMP/replayed_store.tsv"
if diff "$PW_TMP/store.tsv" "$PW_TMP/replayed_store.tsv" >"$PW_TMP/diff2.out"; then
	ok "replayed alerts are the store's"
else
	not_ok "replayed alerts are the store's" "$(head -c 2000 "$PW_TMP/diff2.out")"
fi
text=$("$PW_BUILD/piiwatch" replay -c "$PW_TMP/policy.conf" "$PW_TMP/events.jsonl" 2>/dev/null)
check_eq "the text form has one line per alert" "$(grep -c ' ALERT ' <<<"$text")" "$n"
done_testing
