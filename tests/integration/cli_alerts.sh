#!/bin/bash
# piiwatch alerts, show alert and quarantine on the fixture store of
# cli_golden.sh: listing and filters, the exit status scripts rely on,
# JSON, a session's story with its alerts, and letting a quarantined user
# back in with and without a running daemon.
. "$(dirname "$0")/../lib.sh"
pw_setup

CLI=$PW_BUILD/piiwatch
STORE=$PW_TMP/store.db
export TZ=Asia/Tokyo NO_COLOR=1 LC_ALL=C.UTF-8
"$PW_BUILD/tests/pw-load-store" "$STORE" "$PW_SRC/tests/fixtures/events.jsonl"
check_eq "the fixture loads" "$?" 0

out=$("$CLI" --store "$STORE" alerts)
check_eq "alerts exits 1 when alerts match (for scripts)" "$?" 1
check "alerts lists the honeytoken alert with its reason" \
	grep -q "critical  honeytoken  tanaka .*read the honeytoken /srv/dms/customers/zz_vip_customers.csv" <<<"$out"
check "alerts lists the staging alert" grep -q "high      staging     tanaka" <<<"$out"
check_eq "--severity critical keeps one" "$("$CLI" --store "$STORE" --severity critical alerts | grep -c honeytoken)" 1
check_eq "--severity critical drops the high one" "$("$CLI" --store "$STORE" --severity critical alerts | grep -c staging)" 0
"$CLI" --store "$STORE" --user suzuki alerts >/dev/null
check_eq "no matching alert: exit 0" "$?" 0
"$CLI" --store "$STORE" --severity urgent alerts 2>"$PW_TMP/err"
check_eq "a bad severity is a usage error" "$?" 2
check "and says what is expected" grep -q "expected low, medium, high or critical" "$PW_TMP/err"
json=$("$CLI" --store "$STORE" --json alerts)
check_eq "--json: one ECS line per alert" "$(grep -c '"dataset":"piiwatch.alert"' <<<"$json")" 2
check "--json keeps the rule id" grep -q '"rule":{"id":"honeytoken"}' <<<"$json"

id=$("$CLI" --store "$STORE" --severity critical alerts | awk 'NR == 2 {print $1}')
story=$("$CLI" --store "$STORE" show alert "$id")
check_eq "show alert exits 0" "$?" 0
check "show alert states the alert" grep -q "^alert $id: critical honeytoken" <<<"$story"
check "and tells its session's story with the alert in it" grep -q "ALERT critical honeytoken" <<<"$story"
check "the story has the login" grep -q "login: tanaka" <<<"$story"
"$CLI" --store "$STORE" show alert 9999 2>"$PW_TMP/err"
check_eq "show alert of an unknown id: exit 2" "$?" 2

# Quarantine: no daemon, so release writes the store itself (root).
sqlite3 "$STORE" "INSERT INTO quarantine (user, since_ns, reason) VALUES ('tanaka', 1774718371000000000, 'honeytoken read')"
check "quarantine list shows the user and the reason" \
	sh -c "'$CLI' --store '$STORE' quarantine list | grep -q 'tanaka .*honeytoken read'"
pw_ensure_user
runuser -u "$PW_TEST_USER" -- "$CLI" --store "$STORE" quarantine release tanaka 2>"$PW_TMP/err"
check_eq "release needs root (exit 4)" "$?" 4
check "and says so" grep -q "run it as root" "$PW_TMP/err"
"$CLI" --store "$STORE" --control-socket "$PW_TMP/none.sock" quarantine release tanaka >/dev/null
check_eq "release without a daemon writes the store" "$?" 0
check_eq "the user is no longer quarantined" "$(sqlite3 "$STORE" "SELECT count(*) FROM quarantine")" 0
"$CLI" --store "$STORE" --control-socket "$PW_TMP/none.sock" quarantine release tanaka 2>"$PW_TMP/err"
check_eq "releasing a user who is not quarantined: exit 1" "$?" 1

# With a daemon running, release goes through its control socket.
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $PW_TMP
EOF2
sed -i "s|^path = $PW_TMP/store.db|path = $STORE|" "$PW_TMP/policy.conf"
check "piiwatchd starts on the fixture store" pw_start_daemon "$PW_TMP/policy.conf"
sqlite3 "$STORE" "INSERT INTO quarantine (user, since_ns, reason) VALUES ('sato', 1774718371000000000, 'bulk read')"
"$CLI" --store "$STORE" --control-socket "$PW_TMP/control.sock" quarantine release sato >"$PW_TMP/out"
check_eq "release through the daemon" "$?" 0
check "it confirms" grep -q "sato released from quarantine" "$PW_TMP/out"
check_eq "the daemon removed the quarantine" "$(sqlite3 "$STORE" "SELECT count(*) FROM quarantine")" 0
check "the daemon logs who released it" grep -q "quarantine of sato released" "$PW_TMP/daemon.err"
pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
