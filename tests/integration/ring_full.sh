#!/bin/bash
# A daemon that falls behind loses kernel events only once the ring it
# reads is full, and then says so: the loss is counted, logged as a BLIND
# SPOT, stored as a loss event with its count and raised as an alert, and
# what was queued before is all stored.  [daemon] ring_size sizes the ring.
. "$(dirname "$0")/../lib.sh"
pw_setup

D=$PW_TMP/data/customers
mkdir -p "$D"
for n in $(seq 1 64); do head -c 4096 /dev/urandom >"$D/c$n.csv"; done

pw_write_policy "$PW_TMP/policy.conf" <<EOF2
ring_size = 1M
[dataset customers]
path = $D
EOF2
check "piiwatchd starts with ring_size = 1M" pw_start_daemon "$PW_TMP/policy.conf"
check_eq "the kernel's ring is 1 MiB" \
	"$(bpftool -j map show pinned "$(pw_pin_dir)/events" | sed -n 's/.*"max_entries":\([0-9]*\).*/\1/p')" \
	1048576
status() { "$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" --json status; }
lost() { status | sed -n 's/.*"lost_events":\([0-9]*\).*/\1/p'; }
check_eq "nothing is lost at the start" "$(lost)" 0

# A few accesses the daemon takes in before it stalls.
for n in 1 2 3; do cat "$D/c$n.csv" >/dev/null; done
check_eq "three reads are stored while the daemon keeps up" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE comm = 'cat' AND closed_ns IS NOT NULL" 3)" 3

# The daemon stalls (stopped by its PID); 100 rounds over 64 files is far
# more than 1 MiB of records.
kill -STOP "$DAEMON_PID"
for r in $(seq 1 100); do cat "$D"/c*.csv >/dev/null; done
kill -CONT "$DAEMON_PID"

for i in $(seq 1 100); do [ "$(lost)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
n_lost=$(lost)
check "piiwatch status reports the lost events ($n_lost)" test "${n_lost:-0}" -gt 0
check_eq "the loss is stored as an event with its count" \
	"$(pw_wait_sql "SELECT sum(count) FROM events WHERE kind = 'loss' AND action = 'ring-full'" "$n_lost")" \
	"$n_lost"
check_eq "and raised as a blind-spot alert" \
	"$(pw_wait_sql "SELECT count(*) > 0 FROM alerts WHERE rule_id = 'blind-spot'" 1)" 1
check "the daemon logs a BLIND SPOT with the count" \
	grep -q "BLIND SPOT: [0-9]* kernel events lost (ring buffer full)" "$PW_TMP/daemon.err"
stored=$(pw_sql "SELECT count(*) FROM accesses WHERE comm = 'cat'")
check "what the ring held was stored: $stored of 6403 accesses" test "$stored" -gt 1000
check "and no more than were made" test "$stored" -le 6403
check "piiwatchd keeps running" kill -0 "$DAEMON_PID"

# It keeps up again afterwards.
cat "$D/c1.csv" >/dev/null
check_eq "a read after the stall is stored" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE comm = 'cat'" $((stored + 1)))" $((stored + 1))

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
