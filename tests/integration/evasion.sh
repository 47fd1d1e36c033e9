#!/bin/bash
# Every way to read, move or change a protected file that an attacker
# could try to slip past piiwatch: the access must be attributed to the
# right session and process with the exact byte count.
. "$(dirname "$0")/../lib.sh"
pw_setup
pw_ensure_user

D=$PW_TMP/data/customers
O=$PW_TMP/out
mkdir -p "$D" "$PW_TMP/other" "$O" "$PW_TMP/bind"
EVADE="$PW_BUILD/tests/pw-evade"
SIMPLE="read pread readv preadv preadv2 dup dup2 dup3 fcntl dup2-over fork scm sendfile splice
	mmap exit-no-close exec-cloexec close-range uring-read uring-open"
OTHERS="copy stage hardlink symlink relative bind connect hold chg mv ln rm"
i=0
for t in $SIMPLE $OTHERS; do
	i=$((i + 1))
	head -c $((20000 + i * 37)) /dev/urandom >"$D/t_$t.csv"
done
for n in $(seq 1 50); do echo "unprotected $n" >"$PW_TMP/other/u$n.txt"; done
echo "incoming" >"$PW_TMP/other/in.csv"
ln "$D/t_hardlink.csv" "$PW_TMP/other/hardlink.csv" # made before piiwatch starts
chmod -R a+rX "$PW_TMP/data" "$PW_TMP/other"
chown "$PW_TEST_USER" "$O"
size() { stat -c %s "$D/t_$1.csv"; }

pw_write_policy "$PW_TMP/policy.conf" <<EOF2
[dataset customers]
path = $D
EOF2
check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"

mount --bind "$D" "$PW_TMP/bind"
on_cleanup "umount '$PW_TMP/bind'"

pw_pam_service pwtest-evasion \
	"session required pam_loginuid.so" \
	"session required $PW_BUILD/pam_piiwatch.so socket=$PW_TMP/pam.sock spool=$PW_TMP/spool timeout_ms=2000"
session() {
	local user=$1
	shift
	"$PW_BUILD/tests/pw-session-run" -d "$PW_TMP/pam.d" -s pwtest-evasion -u "$user" \
		-r 203.0.113.9 -- "$@"
}

# A long-held file: its bytes must show while it is still open.
session "$PW_TEST_USER" "$EVADE" hold "$D/t_hold.csv" 5 >/dev/null &
hold_pid=$!
sleep 3
held=$(pw_sql "SELECT bytes_read, closed_ns IS NULL FROM accesses WHERE path = '$D/t_hold.csv'")
check_eq "a file held open shows its bytes within seconds, before close" "$held" "$(size hold)|1"
wait "$hold_pid"

cat >"$PW_TMP/reads.sh" <<EOF2
set -e
for t in $(echo $SIMPLE); do "$EVADE" \$t "$D/t_\$t.csv" >/dev/null; done
"$EVADE" copy_file_range "$D/t_copy.csv" "$O/copy.out" >/dev/null
"$EVADE" stage "$D/t_stage.csv" "$O/stage.out" >/dev/null
cat "$PW_TMP/other/hardlink.csv" >/dev/null
ln -s "$D/t_symlink.csv" "$O/sym" && cat "$O/sym" >/dev/null
(cd "$D" && cat ./t_relative.csv >/dev/null)
cat "$PW_TMP/bind/t_bind.csv" >/dev/null
"$EVADE" connect "$D/t_connect.csv" 9 >/dev/null
cat /proc/self/sessionid
EOF2
ses=$(session "$PW_TEST_USER" bash "$PW_TMP/reads.sh" 2>"$PW_TMP/reads.err")
check_eq "the reading session ran every technique" "$?" 0
sed 's/^/# /' "$PW_TMP/reads.err"

cat >"$PW_TMP/changes.sh" <<EOF2
set -e
chmod 600 "$D/t_chg.csv"
chown "$PW_TEST_USER" "$D/t_chg.csv"
truncate -s 10 "$D/t_chg.csv"
mv "$D/t_mv.csv" "$PW_TMP/other/moved.csv"
cat "$PW_TMP/other/moved.csv" >/dev/null
ln "$D/t_ln.csv" "$PW_TMP/other/linked.csv"
cat "$PW_TMP/other/linked.csv" >/dev/null
rm "$D/t_rm.csv"
mv "$PW_TMP/other/in.csv" "$D/in.csv"
cat /proc/self/sessionid
EOF2
mv_size=$(size mv)
ln_size=$(size ln)
ses2=$(session root bash "$PW_TMP/changes.sh" 2>"$PW_TMP/changes.err")
check_eq "the changing session ran" "$?" 0
sed 's/^/# /' "$PW_TMP/changes.err"

# Let the last events arrive: the final accesses of both sessions closed.
pw_wait_sql "SELECT count(*) FROM events WHERE kind = 'change' AND action = 'rename' AND audit_session = $ses2" 2 >/dev/null
pw_wait_sql "SELECT count(*) FROM accesses WHERE closed_ns IS NULL" 0 >/dev/null

for t in $SIMPLE copy hardlink symlink relative bind connect hold; do
	expect=$(size "$t")
	# Reads through a mapping are not syscalls: nothing can count them.
	[ "$t" = mmap ] && expect=0
	want_ses=$ses
	[ "$t" = hold ] && want_ses=$(pw_sql "SELECT max(audit_session) FROM accesses WHERE path = '$D/t_hold.csv'")
	row=$(pw_sql "SELECT sum(bytes_read), count(DISTINCT audit_session), max(audit_session),
		count(*) - count(closed_ns) FROM accesses WHERE path = '$D/t_$t.csv'")
	check_eq "$t: exact bytes, one session, every access closed" "$row" "$expect|1|$want_ses|0"
done
check_eq "the program is named with its executable" \
	"$(pw_sql "SELECT DISTINCT exe FROM accesses WHERE path = '$D/t_read.csv'")" "$EVADE"
check_eq "reads are joined to the PAM session" \
	"$(pw_sql "SELECT DISTINCT s.user || '@' || s.rhost FROM accesses a JOIN sessions s ON s.id = a.session_id WHERE a.path LIKE '$D/t_%' AND a.audit_session = $ses")" \
	"$PW_TEST_USER@203.0.113.9"
check_eq "mmap: the mapping is reported with its length (bytes cannot be counted)" \
	"$(pw_sql "SELECT e.count FROM events e JOIN accesses a ON a.access_id = e.access_id WHERE e.kind = 'mmap' AND a.path = '$D/t_mmap.csv'")" \
	"$(size mmap)"
check_eq "io_uring reads are flagged as such" \
	"$(pw_sql "SELECT flags & 64 FROM accesses WHERE path = '$D/t_uring-read.csv'")" 64
check_eq "copy_file_range: the copy is a staging file with every byte written" \
	"$(pw_sql "SELECT staging, bytes_written, audit_session FROM accesses WHERE path = '$O/copy.out'")" \
	"1|$(size copy)|$ses"
check_eq "staging: a file written after protected reads is recorded with its bytes" \
	"$(pw_sql "SELECT staging, dataset, bytes_written FROM accesses WHERE path = '$O/stage.out'")" \
	"1|staging|$(size stage)"
check_eq "connect after protected reads is recorded with its destination" \
	"$(pw_sql "SELECT dest_ip, dest_port, audit_session FROM events WHERE kind = 'connect'")" \
	"127.0.0.1|9|$ses"
for op in chmod chown truncate; do
	check_eq "$op of a protected file is recorded" \
		"$(pw_sql "SELECT count(*) FROM events WHERE kind = 'change' AND action = '$op' AND path = '$D/t_chg.csv' AND audit_session = $ses2")" 1
done
check_eq "rename out of the protected directory is recorded" \
	"$(pw_sql "SELECT count(*) FROM events WHERE action = 'rename' AND path = '$D/t_mv.csv'")" 1
check_eq "the renamed file stays protected at its new place" \
	"$(pw_sql "SELECT sum(bytes_read), min(dataset) FROM accesses WHERE path = '$PW_TMP/other/moved.csv'")" \
	"$mv_size|customers"
check_eq "a hard link made out of the protected directory is recorded" \
	"$(pw_sql "SELECT count(*) FROM events WHERE action = 'link' AND path = '$D/t_ln.csv'")" 1
check_eq "reads through the new hard link are recorded" \
	"$(pw_sql "SELECT sum(bytes_read) FROM accesses WHERE path = '$PW_TMP/other/linked.csv' AND audit_session = $ses2")" \
	"$ln_size"
check_eq "unlink is recorded" \
	"$(pw_sql "SELECT count(*) FROM events WHERE action = 'unlink' AND path = '$D/t_rm.csv'")" 1
check_eq "rename into the protected directory is recorded" \
	"$(pw_sql "SELECT count(*) FROM events WHERE action = 'rename' AND path2 LIKE '%other/in.csv -> $D/in.csv'")" 1

# Names as an open record carries them, in as few bytes as they need: a
# deep path keeps its last twelve components, an overlong name is cut and
# marked, a shallow path is whole.
deep=$D/n1/n2/n3/n4/n5/n6/n7/n8/n9/n10/n11/n12/n13/n14
long=$(printf 'x%.0s' $(seq 1 100))
mkdir -p "$deep"
echo deep >"$deep/deep.csv"
echo long >"$D/$long.csv"
echo shallow >"$D/n1/shallow.csv"
cat "$deep/deep.csv" "$D/$long.csv" "$D/n1/shallow.csv" >/dev/null
pw_wait_sql "SELECT count(*) FROM accesses WHERE comm = 'cat' AND bytes_read < 10" 3 >/dev/null
check_eq "a path 15 names deep keeps the last twelve" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$D/.../n4/n5/n6/n7/n8/n9/n10/n11/n12/n13/n14/deep.csv' AND comm = 'cat'")" 1
check_eq "a name longer than 63 bytes is cut and marked" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$D/${long:0:63}...' AND comm = 'cat'")" 1
check_eq "a file two names below the root is named in full" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE path = '$D/n1/shallow.csv' AND comm = 'cat'")" 1

# Released where no hook sees it: closed while mapped, then unmapped, by a
# process that stays alive.  The daemon's sweep ends the access.
head -c 5000 /dev/urandom >"$D/t_unmap.csv"
"$EVADE" unmap-late "$D/t_unmap.csv" 6 >"$PW_TMP/unmap.out" &
unmap_pid=$!
check_eq "a file closed while mapped, then unmapped, is ended while its process lives" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$D/t_unmap.csv' AND comm = 'pw-evade' AND closed_ns IS NOT NULL AND flags & 32 = 32" 1)" 1
check "the process was still alive then" kill -0 "$unmap_pid"
wait "$unmap_pid"

# Unprotected files: nothing reaches user space.
before=$("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" --json status)
for f in "$PW_TMP"/other/u*.txt; do "$EVADE" read "$f" >/dev/null; done
after=$("$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" --json status)
n_before=$(sed -n 's/.*"kernel_access_events":\([0-9]*\).*/\1/p' <<<"$before")
n_after=$(sed -n 's/.*"kernel_access_events":\([0-9]*\).*/\1/p' <<<"$after")
check "the status reports kernel submissions" test -n "$n_before"
check_eq "reading 50 unprotected files submits no access event" "$n_after" "$n_before"

pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
