#!/bin/bash
# Soak: SOAK_SECONDS of mixed load against piiwatchd, then the books are
# balanced.  The load:
#   - two readers reading protected files whole at SOAK_RATE reads/s in
#     all, each logging every read it completed;
#   - a login through the real PAM stack (pam_loginuid, pam_piiwatch)
#     every half second, reading a file of another dataset inside it;
#   - a policy reload every 5 s, alternating two policies;
#   - at 30 % of the time, a restart with keep_attached.
# The checks: the daemon's resident memory is stable after warm-up, the
# store holds every read exactly once with its bytes and every login,
# nothing was lost in the kernel, the store passes PRAGMA integrity_check,
# and the daemon stops cleanly with nothing left attached.
#
#   tests/soak.sh                 SOAK_SECONDS (default 600), SOAK_RATE (1000)
#   PW_BUILD=build/san tests/soak.sh
#
# make soak runs it for ten minutes against build/; the suite's
# tests/integration/soak.sh for a minute against the build under test.
PW_BUILD=${PW_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
. "$(dirname "$0")/lib.sh"
pw_setup
pw_ensure_user

SECONDS_TOTAL=${SOAK_SECONDS:-600}
RATE=${SOAK_RATE:-1000}
# ASan keeps up to 256 MiB of freed memory in quarantine by design, which
# would read as growth: a small quarantine keeps the measure meaningful.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=16"

A=$PW_TMP/data/customers
B=$PW_TMP/data/service
C=$PW_TMP/data/archive
mkdir -p "$A" "$B" "$C"
for i in $(seq -w 1 50); do head -c $((4096 + 10#$i * 1217)) /dev/urandom >"$A/c$i.csv"; done
for i in 1 2 3; do head -c 20000 /dev/urandom >"$B/s$i.csv"; done
echo "old" >"$C/old.csv"
chmod -R a+rX "$PW_TMP/data"
# Two policies that differ in a dataset and a honeytoken; the reader's and
# the logins' datasets are in both.
write_policy() {
	pw_write_policy "$1" <<EOF2
[dataset customers]
path = $A
[dataset service]
path = $B
$2
EOF2
	sed -i "/^\[daemon\]/a keep_attached = yes" "$1"
}
write_policy "$PW_TMP/policy-a.conf" ""
write_policy "$PW_TMP/policy-b.conf" "[dataset archive]
path = $C
[honeytokens]
path = $A/c01.csv"
cp "$PW_TMP/policy-a.conf" "$PW_TMP/policy.conf"
PIIWATCH=("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock")

check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"
start=$(date +%s)
restart_at=$((start + SECONDS_TOTAL * 3 / 10))
end=$((start + SECONDS_TOTAL))

"$PW_BUILD/tests/pw-read-loop" -r "$((RATE / 2))" -l "$PW_TMP/reads1.log" "$A"/c0*.csv "$A"/c1*.csv \
	"$A"/c2*.csv >"$PW_TMP/reader1.out" &
reader1=$!
"$PW_BUILD/tests/pw-read-loop" -r "$((RATE / 2))" -l "$PW_TMP/reads2.log" "$A"/c3*.csv "$A"/c4*.csv \
	"$A"/c50.csv >"$PW_TMP/reader2.out" &
reader2=$!
on_cleanup "kill $reader1 $reader2 2>/dev/null"

pw_pam_service pwtest-soak \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool timeout_ms=1000"
(
	n=0
	while [ "$(date +%s)" -lt "$end" ]; do
		n=$((n + 1))
		if "$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-soak \
			-u "$PW_TEST_USER" -r 198.51.100.$((n % 200 + 1)) -- \
			cat "$B/s$((n % 3 + 1)).csv" >/dev/null 2>>"$PW_TMP/logins.err"; then
			echo ok >>"$PW_TMP/logins.log"
		fi
		sleep 0.5
	done
) &
logins=$!
on_cleanup "kill $logins 2>/dev/null"

# The daemon's memory every 2 s: "T PID VmRSS RssAnon RssFile RssShmem" (kB).
rss_log=$PW_TMP/rss.log
reloads=0
reload_fail=0
next_reload=$((start + 5))
restarted=0
while [ "$(date +%s)" -lt "$end" ]; do
	now=$(date +%s)
	if [ -n "$DAEMON_PID" ]; then
		kb=$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ {printf " %s", $2}' \
			"/proc/$DAEMON_PID/status" 2>/dev/null)
		[ -n "$kb" ] && echo "$((now - start)) $DAEMON_PID$kb" >>"$rss_log"
	fi
	if [ "$restarted" -eq 0 ] && [ "$now" -ge "$restart_at" ]; then
		pw_stop_daemon TERM
		check_eq "a stop with keep_attached under load is clean" "$DAEMON_STATUS" 0
		sleep 1
		rm -f "$PW_TMP/pam.sock" "$PW_TMP/control.sock"
		check "piiwatchd starts again and takes the probes over" \
			pw_start_daemon "$PW_TMP/policy.conf"
		restarted=1
		second_start=$(date +%s)
	fi
	if [ "$now" -ge "$next_reload" ]; then
		if [ $((reloads % 2)) -eq 0 ]; then
			cp "$PW_TMP/policy-b.conf" "$PW_TMP/policy.conf"
		else
			cp "$PW_TMP/policy-a.conf" "$PW_TMP/policy.conf"
		fi
		"${PIIWATCH[@]}" reload >/dev/null 2>>"$PW_TMP/reload.err" || reload_fail=$((reload_fail + 1))
		reloads=$((reloads + 1))
		next_reload=$((now + 5))
	fi
	sleep 2
done
kill -TERM "$reader1" "$reader2"
wait "$reader1" "$reader2"
wait "$logins"
sleep 3

# ---- the books ----
cat "$PW_TMP/reads1.log" "$PW_TMP/reads2.log" >"$PW_TMP/reads.log"
reads=$(wc -l <"$PW_TMP/reads.log")
n_logins=$(wc -l <"$PW_TMP/logins.log" 2>/dev/null || echo 0)
check "the readers completed $reads reads ($((reads / SECONDS_TOTAL)) a second)" \
	test "$reads" -gt $((RATE * SECONDS_TOTAL / 2))
check_eq "$reloads reloads, none refused" "$reload_fail" 0
check_eq "the daemon took the probes over at the restart" \
	"$(grep -c 'took over' "$PW_TMP/daemon.err")" 1
got=$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path LIKE '$A/%' AND closed_ns IS NOT NULL" \
	"$reads")
check_eq "every read is in the store exactly once" "$got" "$reads"
check_eq "every access names its dataset and path" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE dataset = '?' OR path LIKE '<%'")" 0
check_eq "none is left open" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path LIKE '$A/%' AND closed_ns IS NULL")" 0
check_eq "every byte is counted" \
	"$(pw_sql "SELECT sum(bytes_read) FROM accesses WHERE path LIKE '$A/%'")" \
	"$(awk '{s += $2} END {printf "%.0f\n", s}' "$PW_TMP/reads.log")"
for f in c01 c27 c50; do
	check_eq "$f.csv: reads and bytes match the readers' logs" \
		"$(pw_sql "SELECT count(*), sum(bytes_read) FROM accesses WHERE path = '$A/$f.csv'")" \
		"$(awk -v f="$A/$f.csv" '$1 == f {n++; s += $2} END {print n "|" s}' "$PW_TMP/reads.log")"
done
check "$n_logins logins ran" test "$n_logins" -gt $((SECONDS_TOTAL / 2))
check_eq "every login is in the store, opened and closed" \
	"$(pw_wait_sql "SELECT count(*) FROM sessions WHERE rhost LIKE '198.51.100.%' AND closed_ns IS NOT NULL" "$n_logins")" \
	"$n_logins"
check_eq "and every read inside them" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path LIKE '$B/%' AND session_id IS NOT NULL")" \
	"$n_logins"
status=$("${PIIWATCH[@]}" status --json)
lost=$(echo "$status" | sed -n 's/.*"lost_events":\([0-9]*\).*/\1/p')
untracked=$(echo "$status" | sed -n 's/.*"untracked_opens":\([0-9]*\).*/\1/p')
check_eq "no kernel event was lost, no open went untracked" "$lost $untracked" "0 0"
check "no BLIND SPOT was logged" bash -c "! grep -q 'BLIND SPOT' '$PW_TMP/daemon.err'"

# Memory: the second daemon's samples after 15 % of the run as warm-up;
# the median of the last quarter against the median of the first.
awk -v pid="$DAEMON_PID" -v from="$((second_start - start + SECONDS_TOTAL * 15 / 100))" \
	'$2 == pid && $1 >= from {print $3}' "$rss_log" >"$PW_TMP/rss.kb"
n=$(wc -l <"$PW_TMP/rss.kb")
q=$((n / 4))
[ "$q" -lt 1 ] && q=1
first=$(head -n "$q" "$PW_TMP/rss.kb" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
last=$(tail -n "$q" "$PW_TMP/rss.kb" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
max=$(sort -n "$PW_TMP/rss.kb" | tail -1)
check "resident memory is stable after warm-up: $first kB, then $last kB (max $max, $n samples)" \
	awk -v a="${first:-0}" -v b="${last:-999999999}" 'BEGIN { exit !(a > 0 && b <= a * 1.10 + 2048) }'
# A timeline of the second daemon, ten points: seconds, VmRSS (anon+file+shmem).
awk -v pid="$DAEMON_PID" '$2 == pid' "$rss_log" |
	awk '{l[NR] = $0} END {for (i = 1; i <= 10; i++) {split(l[int(NR * i / 10)], f, " ");
		printf "%s %ss %skB(%s+%s+%s)", i == 1 ? "# memory:" : ",", f[1], f[3], f[4], f[5], f[6]}
		print ""}'
store_kb=$(($(stat -c %s "$PW_TMP/store.db") / 1024))
check_eq "the store is consistent ($store_kb KiB)" "$(pw_sql "PRAGMA integrity_check")" ok
echo "# soak: ${SECONDS_TOTAL} s, $reads reads ($((reads / SECONDS_TOTAL))/s), $n_logins logins," \
	"$reloads reloads, 1 restart; daemon RSS ${first} -> ${last} kB (max $max); store $store_kb KiB"

ours=$(pw_daemon_prog_ids)
pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
check "piiwatchd --detach removes the probes" "$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach
check_eq "no program is left loaded" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
done_testing
