#!/bin/bash
# Restart without loss: while a process reads protected files without
# pause, piiwatchd is stopped and started five times (once with SIGKILL)
# with keep_attached: every access is recorded exactly once, in the store
# and in the JSON Lines file, and the store stays consistent.
. "$(dirname "$0")/../lib.sh"
pw_setup

D=$PW_TMP/data/customers
mkdir -p "$D"
for i in $(seq 0 19); do head -c $((1000 + i * 101)) /dev/urandom >"$D/f$i.csv"; done
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
keep_attached = yes
[dataset customers]
path = $D
[output jsonl]
path = $PW_TMP/events.jsonl
EOF2
# The [daemon] lines pw_write_policy writes come before the dataset: keep
# keep_attached in that section.
sed -i "/^keep_attached/d; /^\[daemon\]/a keep_attached = yes" "$PW_TMP/policy.conf"

check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"

# The reader logs every access it completes: file and bytes.
cat >"$PW_TMP/reader.sh" <<EOF2
i=0
while [ ! -e "$PW_TMP/stop" ]; do
	f="$D/f\$((i % 20)).csv"
	n=\$("$PW_BUILD/tests/pw-evade" read "\$f") && echo "\$f \$n" >>"$PW_TMP/reads.log"
	i=\$((i + 1))
done
EOF2
bash "$PW_TMP/reader.sh" &
reader=$!
on_cleanup "kill $reader 2>/dev/null"

for round in 1 2 3 4 5; do
	sleep 1.5
	sig=TERM
	[ "$round" -eq 3 ] && sig=KILL
	pw_stop_daemon "$sig"
	[ "$sig" = TERM ] && check_eq "round $round: SIGTERM stop is clean" "$DAEMON_STATUS" 0
	check "round $round: the probes stay pinned while no daemon runs" test -d "$(pw_pin_dir)/links"
	sleep 0.7
	rm -f "$PW_TMP/pam.sock" "$PW_TMP/control.sock"
	check "round $round: piiwatchd starts again and takes over" pw_start_daemon "$PW_TMP/policy.conf"
done
sleep 1
touch "$PW_TMP/stop"
wait "$reader"
sleep 1.5

expected=$(wc -l <"$PW_TMP/reads.log")
check "the reader completed many accesses" test "$expected" -gt 100
got=$(pw_wait_sql "SELECT count(*) FROM accesses WHERE closed_ns IS NOT NULL" "$expected")
check_eq "every access is recorded exactly once" "$got" "$expected"
check_eq "no access is left open" "$(pw_sql "SELECT count(*) FROM accesses WHERE closed_ns IS NULL")" 0
check_eq "every byte is counted" "$(pw_sql "SELECT sum(bytes_read) FROM accesses")" \
	"$(awk '{s += $2} END {print s}' "$PW_TMP/reads.log")"
for i in 0 7 19; do
	check_eq "f$i.csv: reads and bytes match the reader's log" \
		"$(pw_sql "SELECT count(*), sum(bytes_read) FROM accesses WHERE path = '$D/f$i.csv'")" \
		"$(awk -v f="$D/f$i.csv" '$1 == f {n++; s += $2} END {print n "|" s}' "$PW_TMP/reads.log")"
done
check_eq "the daemon took over the pinned probes" \
	"$(grep -c 'took over' "$PW_TMP/daemon.err")" 5
check_eq "the store is consistent" "$(pw_sql "PRAGMA integrity_check")" ok
# The last line of each access is the one with its end; lines a killed
# daemon wrote after its last commit were cut by the next one.
ended=$(grep '"dataset":"piiwatch.access"' "$PW_TMP/events.jsonl" | grep '"end":"' |
	grep -o '"access_id":[0-9]*')
check_eq "every access ends once in JSON Lines" \
	"$(sort -u <<<"$ended" | wc -l) $(sort <<<"$ended" | uniq -d | wc -l)" "$expected 0"
grep '^piiwatchd: info: jsonl: cut' "$PW_TMP/daemon.err" | sed 's/^/# /'

rc=0
"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach 2>"$PW_TMP/detach.err" || rc=$?
check_eq "piiwatchd --detach is refused while a daemon runs" "$rc" 1
check "... saying why" grep -q "a piiwatchd is running (it answers on $PW_TMP/control.sock)" \
	"$PW_TMP/detach.err"
check "... and leaves every pinned object in place" \
	test -d "$(pw_pin_dir)/links" -a -e "$(pw_pin_dir)/events" -a -e "$(pw_pin_dir)/protected_inodes"

pw_stop_daemon TERM
check_eq "the last stop is clean" "$DAEMON_STATUS" 0

# A daemon that dies between writing lines and committing them: the next
# one cuts them off, since it writes them again from the kernel's queue.
before=$(stat -c %s "$PW_TMP/events.jsonl")
echo '{"written":"after the last commit"}' >>"$PW_TMP/events.jsonl"
rm -f "$PW_TMP/pam.sock" "$PW_TMP/control.sock"
check "piiwatchd starts again" pw_start_daemon "$PW_TMP/policy.conf"
check_eq "the line written after the last commit is cut off" \
	"$(stat -c %s "$PW_TMP/events.jsonl")" "$before"
check "and the daemon says so" grep -q "jsonl: cut 36 bytes that the last daemon wrote to" \
	"$PW_TMP/daemon.err"
pw_stop_daemon TERM
ours=$(pw_daemon_prog_ids)
check "piiwatchd --detach removes what keep_attached left" \
	"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach
check "nothing is left pinned" test ! -e "$(pw_pin_dir)"
check_eq "no program is left loaded" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
check "piiwatchd --detach with nothing pinned succeeds (a package's prerm runs it anyway)" \
	"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach
done_testing
