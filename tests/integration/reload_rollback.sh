#!/bin/bash
# A reload whose policy does not fit the kernel's protected-inode map
# ([daemon] max_protected_inodes = 4) fails half-way: the entries it had
# added are removed, the values it had replaced put back, the entry the
# kernel side added for a file moved out of a protected directory kept,
# and the daemon goes on under the running policy, in the kernel too.
. "$(dirname "$0")/../lib.sh"
pw_setup

# On a tmpfs of its own: no block device for the daemon to protect as a
# raw device, so the map holds what the policy names and nothing else.
R=$PW_TMP/fs
mkdir "$R"
mount -t tmpfs -o size=1m pwtest-rollback "$R"
on_cleanup "umount '$R'"
O=$R/data/old
N=$R/data/new
OUT=$R/outside
H=$R/data/token.csv
mkdir -p "$O" "$N" "$OUT"
echo "old" >"$O/a.csv"
echo "moved" >"$O/moved.csv"
echo "new" >"$N/new.csv"
echo "token" >"$H"
echo "t1" >"$R/data/t1.csv"
echo "t2" >"$R/data/t2.csv"
CTL=(--control-socket "$PW_TMP/control.sock")

# The first line goes into pw_write_policy's [daemon] section.
pw_write_policy "$PW_TMP/policy.conf" <<EOF2
max_protected_inodes = 4
[dataset old]
path = $O
[honeytokens]
path = $H
EOF2
check "piiwatchd starts with room for 4 protected inodes" pw_start_daemon "$PW_TMP/policy.conf"

# The kernel side protects the moved file where it lands: a third entry.
mv "$O/moved.csv" "$OUT/moved.csv"
cat "$OUT/moved.csv" >/dev/null
check_eq "the moved file is protected, dataset old" \
	"$(pw_wait_sql "SELECT dataset FROM accesses WHERE path LIKE '%/moved.csv'" old)" old

# Five entries: old (replaced), new (added: the map is full), the moved
# file (replaced), the honeytoken (replaced), t1 does not fit.
good_policy() {
	pw_write_policy "$PW_TMP/policy.conf" <<EOF2
max_protected_inodes = 4
[dataset renamed]
path = $O
[dataset new]
path = $N
path = $OUT/moved.csv
[honeytokens]
path = $H
$1
EOF2
}
good_policy "path = $R/data/t1.csv
path = $R/data/t2.csv"
"$PW_BUILD/piiwatch" "${CTL[@]}" reload 2>"$PW_TMP/reload.err"
check_eq "piiwatch reload fails with exit status 1" "$?" 1
check_eq "and says why" "$(cat "$PW_TMP/reload.err")" \
	"piiwatch: reload: cannot protect $R/data/t1.csv: the kernel's protected-inode map is full (it holds 4 entries: [daemon] max_protected_inodes)"
check "the daemon logs the reason and that the running policy stays" \
	grep -qF "reload refused: cannot protect $R/data/t1.csv: the kernel's protected-inode map is full" \
	"$PW_TMP/daemon.err"
check "the daemon keeps running" kill -0 "$DAEMON_PID"

cat "$N/new.csv" >/dev/null
cat "$OUT/moved.csv" >/dev/null
cat "$O/a.csv" >/dev/null
cat "$H" >/dev/null
check_eq "a read of the running policy's honeytoken is recorded" \
	"$(pw_wait_sql "SELECT dataset, honeytoken FROM accesses WHERE path = '$H'" "honeytoken|1")" \
	"honeytoken|1"
# The honeytoken was read last: what came before it is in the store.  (A
# root the daemon does not know would be named "<protected inode ...>".)
check_eq "a read in a directory only the failed policy named is not recorded" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path LIKE '%/new.csv' OR dataset = 'new'")" 0
check_eq "a read in the running policy's directory is recorded with its dataset" \
	"$(pw_sql "SELECT dataset FROM accesses WHERE path = '$O/a.csv'")" old
check_eq "the moved file's kernel entry is back as it was, not removed" \
	"$(pw_sql "SELECT group_concat(dataset) FROM accesses WHERE path LIKE '%/moved.csv'")" old,old

# With the entries it had added gone, a policy that fits reloads.
good_policy ""
check "a policy that fits reloads" "$PW_BUILD/piiwatch" "${CTL[@]}" reload
cat "$N/new.csv" >/dev/null
check_eq "and protects its new directory" \
	"$(pw_wait_sql "SELECT dataset FROM accesses WHERE path = '$N/new.csv'" new)" new

# SIGHUP takes the same path: refused, logged, the running policy kept.
good_policy "path = $R/data/t1.csv"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 50); do
	[ "$(grep -c "reload refused" "$PW_TMP/daemon.err")" -ge 2 ] && break
	sleep 0.1
done
check_eq "a reload by SIGHUP that does not fit is refused and logged" \
	"$(grep -c "reload refused: cannot protect $R/data/t1.csv" "$PW_TMP/daemon.err")" 2
cat "$R/data/t1.csv" >/dev/null
cat "$N/new.csv" >/dev/null
check_eq "the policy in force is still the one that fitted" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$N/new.csv'" 2)" 2
check_eq "and the file only the refused policy named is not recorded" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$R/data/t1.csv'")" 0

# A policy file with errors: the caller learns where.
good_policy "nonsense line"
"$PW_BUILD/piiwatch" "${CTL[@]}" reload 2>"$PW_TMP/reload.err"
check_eq "a policy with errors is refused with exit status 1" "$?" 1
line=$(grep -n '^nonsense line$' "$PW_TMP/policy.conf" | cut -d: -f1)
check "and piiwatch reload names the file and line" \
	grep -qF "piiwatch: reload: $PW_TMP/policy.conf:$line: expected 'key = value'" \
	"$PW_TMP/reload.err"

# Whoever can write to a protected directory can make hard links; they
# never crowd the policy's own paths out of the map.  The running policy
# fills it: no room is left for a multiply-linked file.
good_policy ""
ln "$O/a.csv" "$OUT/a-link.csv"
check "a policy whose directory holds a hard link the map has no room for reloads" \
	"$PW_BUILD/piiwatch" "${CTL[@]}" reload
check "and the daemon logs the link's names as a blind spot" \
	grep -qF "BLIND SPOT: $O: too many multiply-linked files" "$PW_TMP/daemon.err"

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
