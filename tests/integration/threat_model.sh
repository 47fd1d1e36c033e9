#!/bin/bash
# docs/threat-model.md, what root can do to the kernel side and how it
# shows: each check below is one claim of that page.
. "$(dirname "$0")/../lib.sh"
pw_setup

D=$PW_TMP/data/customers
mkdir -p "$D"
for i in $(seq 1 9); do head -c $((3000 + i)) /dev/urandom >"$D/f$i.csv"; done
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $D
EOF2
sed -i "/^\[daemon\]/a keep_attached = yes" "$PW_TMP/policy.conf"
PIN=$(pw_pin_dir)
PIIWATCH=("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock")
# recorded N FILE: the store holds N accesses of FILE (waits up to 10 s).
recorded() { pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$D/$2'" "$1" >/dev/null; }
restart() {
	rm -f "$PW_TMP/pam.sock" "$PW_TMP/control.sock"
	pw_start_daemon "$PW_TMP/policy.conf"
}
n_links() { find "$PIN/links" -mindepth 1 2>/dev/null | wc -l; }

check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"
links=$(n_links)
check "its probes are pinned ($links links)" test "$links" -gt 10

# Claim: an attached probe cannot be detached from outside.
detached=0
for l in "$PIN"/links/*; do
	id=$(bpftool link show pinned "$l" | sed -n 's/^\([0-9]*\): .*/\1/p')
	bpftool link detach id "$id" 2>/dev/null && detached=$((detached + 1))
done
check_eq "bpftool link detach is refused for every probe (tracepoint and tp_btf links)" \
	"$detached" 0

# Claim: removing the pins is noticed within a second, reported, and undone.
rm -rf "$PIN/links" "$PIN/events"
cat "$D/f1.csv" >/dev/null
for i in $(seq 1 30); do
	grep -q "BLIND SPOT: .* pinned probe objects were removed" "$PW_TMP/daemon.err" && break
	sleep 0.1
done
check "the daemon logs a BLIND SPOT for the removed pins" \
	grep -q "BLIND SPOT: $((links + 1)) pinned probe objects were removed from $PIN" \
	"$PW_TMP/daemon.err"
check_eq "and pins them again" "$(n_links)" "$links"
restored=$("${PIIWATCH[@]}" status --json | sed -n 's/.*"pins_restored":\([0-9]*\).*/\1/p')
check_eq "piiwatch status reports pins_restored" "$restored" "$((links + 1))"
check_eq "the store holds an 'unpinned' loss event" \
	"$(pw_wait_sql "SELECT count FROM events WHERE kind = 'loss' AND action = 'unpinned'" \
		"$((links + 1))")" "$((links + 1))"
check "a read right after the removal is recorded" recorded 1 f1.csv
check_eq "the detector raises a blind-spot alert" \
	"$(pw_wait_sql "SELECT count(*) > 0 FROM alerts WHERE rule_id = 'blind-spot' AND reason LIKE '%unpinned%'" 1)" 1

# Claim: so a restart with keep_attached still loses nothing.
pw_stop_daemon TERM
check_eq "the daemon stops cleanly" "$DAEMON_STATUS" 0
cat "$D/f2.csv" >/dev/null
check "the next daemon starts" restart
check "and takes the probes over" grep -q "took over $links BPF links" \
	"$PW_TMP/daemon.err"
check "the read made while no daemon ran is recorded" recorded 1 f2.csv

# Claim: a daemon that took the probes over holds their links too.
rm -rf "$PIN/links"
cat "$D/f3.csv" >/dev/null
check "a read after the pins of taken-over probes are removed is recorded" recorded 1 f3.csv
for i in $(seq 1 30); do
	[ "$(grep -c "BLIND SPOT: .* pinned probe objects were removed" "$PW_TMP/daemon.err")" = 2 ] &&
		break
	sleep 0.1
done
check_eq "and the removal is reported again" \
	"$(grep -c "BLIND SPOT: .* pinned probe objects were removed" "$PW_TMP/daemon.err")" 2
check_eq "and undone" "$(n_links)" "$links"

# Claim: killing the daemon does not detach the probes.
pw_stop_daemon KILL
cat "$D/f4.csv" >/dev/null
check "a daemon started after SIGKILL" restart
check "takes the probes over" test "$(grep -c "took over" "$PW_TMP/daemon.err")" -eq 2
check "and records the read made while none ran" recorded 1 f4.csv

# Claim: SIGKILL and removing the pins detaches everything (root can);
# the next start reports how long nothing was watched.
ours=$(pw_daemon_prog_ids)
pw_stop_daemon KILL
rm -rf "$PIN"
check_eq "the probes are gone" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
cat "$D/f5.csv" >/dev/null
sleep 2
check "a daemon starts again" restart
check "with new probes (nothing to take over)" test "$(grep -c "took over" "$PW_TMP/daemon.err")" -eq 2
unwatched=$(pw_wait_sql "SELECT count(*) > 0 FROM events WHERE kind = 'loss' AND action = 'unwatched' AND count >= 2" 1)
check_eq "the store holds an 'unwatched' loss event covering the gap" "$unwatched" 1
check_eq "and a blind-spot alert that says so" \
	"$(pw_wait_sql "SELECT count(*) > 0 FROM alerts WHERE rule_id = 'blind-spot' AND reason LIKE '%without its probes attached%'" 1)" 1
check_eq "the read in the gap is not recorded (the blind spot it names)" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$D/f5.csv'")" 0
cat "$D/f6.csv" >/dev/null
check "reads are recorded again" recorded 1 f6.csv

ours=$(pw_daemon_prog_ids)
pw_stop_daemon TERM
check_eq "the daemon stops cleanly" "$DAEMON_STATUS" 0
check "piiwatchd --detach removes what keep_attached left" \
	"$PW_BUILD/piiwatchd" -c "$PW_TMP/policy.conf" --detach
check_eq "no program is left loaded" "$(pw_wait_gone "$ours" pw_bpf_prog_ids)" ""
done_testing
