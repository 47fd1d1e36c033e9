#!/bin/bash
# `piiwatch policy check` as an operator runs it: every error of a file on
# standard error as FILE:LINE, nothing on standard output and exit status
# 1; a valid file whose protected path does not exist yet gives a
# FILE:LINE warning, the OK line and exit status 0.
. "$(dirname "$0")/../lib.sh"
pw_setup

PW=$PW_BUILD/piiwatch
MISSING=$PW_TMP/not-yet/customers

# policy_check FILE: its standard output, standard error and exit status
# in OUT, ERR and RC.
policy_check() {
	RC=0
	"$PW" policy check "$1" >"$PW_TMP/out" 2>"$PW_TMP/err" || RC=$?
	OUT=$(cat "$PW_TMP/out")
	ERR=$(cat "$PW_TMP/err")
}

BAD=$PW_TMP/bad.conf
cat >"$BAD" <<EOF
[store]
retention = 5 weeks

[daemon]
keep_attached = sometimes

[dataset customers]
path = relative/dir
path = $MISSING

[output syslog]
port = 6514

[rule bulk-read]
max_bytes = lots
EOF
policy_check "$BAD"
check_eq "a file with errors: exit status 1" "$RC" 1
check_eq "... nothing on standard output" "$OUT" ""
check_eq "... every error on standard error, each with FILE:LINE" "$ERR" \
"$BAD:2: error: retention: expected a duration like 500ms, 30s, 10m, 2h or 90d, got '5 weeks'
$BAD:5: error: keep_attached: expected yes or no, got 'sometimes'
$BAD:8: error: path: expected an absolute path, got 'relative/dir'
$BAD:15: error: max_bytes: expected a size like 100M or 2G, got 'lots'
$BAD:11: error: [output syslog] has no host: name the receiver"

GOOD=$PW_TMP/good.conf
cat >"$GOOD" <<EOF
[daemon]
keep_attached = yes
[dataset customers]
path = $PW_TMP
path = $MISSING
[honeytokens]
path = $PW_TMP/good.conf
EOF
policy_check "$GOOD"
check_eq "a valid file with a missing path: exit status 0" "$RC" 0
check_eq "... the OK line on standard output" "$OUT" "$GOOD: OK: 1 datasets, 1 honeytokens"
check_eq "... a warning with FILE:LINE on standard error" "$ERR" \
	"$GOOD:5: warning: customers path $MISSING: No such file or directory (not protected until it exists)"

policy_check "$PW_TMP/absent.conf"
check_eq "a file that is not there: exit status 1" "$RC" 1
check_eq "... and the reason, naming the file" "$ERR" \
	"$PW_TMP/absent.conf: error: cannot open: No such file or directory"
done_testing
