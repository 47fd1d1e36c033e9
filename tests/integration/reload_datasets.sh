#!/bin/bash
# A reload that drops or reorders datasets: every access keeps its own
# dataset and path, also for what the kernel still knows by the old
# policy (a protected file moved out of its directory stays protected
# with the dataset id it had).
. "$(dirname "$0")/../lib.sh"
pw_setup

F=$PW_TMP/data/first
S=$PW_TMP/data/second
mkdir -p "$F" "$S" "$PW_TMP/outside"
echo "first" >"$F/a.csv"
head -c 5000 /dev/urandom >"$S/moved.csv"
head -c 3000 /dev/urandom >"$S/b.csv"
policy() {
	pw_write_policy "$PW_TMP/policy.conf"
}
policy <<EOF2
[dataset first]
path = $F
[dataset second]
path = $S
EOF2
check "piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"
mv "$S/moved.csv" "$PW_TMP/outside/moved.csv"
cat "$S/b.csv" >/dev/null
check_eq "before the reload, a read of second is dataset second" \
	"$(pw_wait_sql "SELECT dataset FROM accesses WHERE path = '$S/b.csv'" second)" second

# 'first' goes: 'second' is now the policy's first dataset.
policy <<EOF2
[dataset second]
path = $S
[honeytokens]
path = $F/a.csv
EOF2
check "the reload is accepted" "$PW_BUILD/piiwatch" --control-socket "$PW_TMP/control.sock" reload
cat "$PW_TMP/outside/moved.csv" >/dev/null
cat "$S/b.csv" >/dev/null
check_eq "the moved file, protected since before the reload, is still dataset second" \
	"$(pw_wait_sql "SELECT dataset FROM accesses WHERE path LIKE '%moved.csv'" second)" second
check_eq "and a new read of second is too" \
	"$(pw_wait_sql "SELECT count(*) FROM accesses WHERE path = '$S/b.csv' AND dataset = 'second'" 2)" 2
cat "$F/a.csv" >/dev/null
check_eq "the new honeytoken is one" \
	"$(pw_wait_sql "SELECT dataset, honeytoken FROM accesses WHERE path = '$F/a.csv'" "honeytoken|1")" \
	"honeytoken|1"
check_eq "no access lost its dataset or its path" \
	"$(pw_sql "SELECT count(*) FROM accesses WHERE dataset = '?' OR path LIKE '<%'")" 0
pw_stop_daemon TERM
check_eq "piiwatchd stops cleanly" "$DAEMON_STATUS" 0
done_testing
