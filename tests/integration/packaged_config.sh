#!/bin/bash
# The policy the package installs (packaging/piiwatch.conf) against the
# parser and piiwatch.conf(5): as shipped it passes `piiwatch policy
# check`; with every setting it leaves out ("#key = value", "#[section]")
# taken in it still does; and the keys it shows, section by section, are
# exactly those the man page documents, which are exactly those the parser
# (userspace/policy.c) accepts.  tests/unit/test_policy.c checks that the
# values it gives as defaults are the parser's.
. "$(dirname "$0")/../lib.sh"
pw_setup

CONF=$PW_SRC/packaging/piiwatch.conf
MAN=$PW_SRC/man/piiwatch.conf.5

rc=0
out=$("$PW_BUILD/piiwatch" policy check "$CONF" 2>&1) || rc=$?
check_eq "the packaged policy passes piiwatch policy check, without a warning" \
	"$rc:$out" "0:$CONF: OK: 0 datasets, 0 honeytokens"

sed 's/^#\([^ #]\)/\1/' "$CONF" >"$PW_TMP/all.conf"
rc=0
"$PW_BUILD/piiwatch" policy check "$PW_TMP/all.conf" >"$PW_TMP/all.out" 2>&1 || rc=$?
check_eq "with every setting it leaves out taken in, it still passes" "$rc" 0
check_eq "... with warnings only for the example paths" \
	"$(grep -v ': warning: .* path /srv/.*: No such file or directory' "$PW_TMP/all.out")" \
	"$PW_TMP/all.conf: OK: 2 datasets, 1 honeytokens"

# "SECTION KEY" lines; a section's name is its kind: [dataset NAME] and
# [rule ID] are "dataset" and "rule", [output jsonl] is "output jsonl".
awk '
	/^\[/ { s = $0; gsub(/[][]/, "", s); if (s ~ /^(dataset|rule) /) sub(/ .*/, "", s); next }
	/^[a-z0-9_]+ = / { print s " " $1 }
' "$PW_TMP/all.conf" | LC_ALL=C sort -u >"$PW_TMP/config.keys"
# In the man page a key is the term of a .TP paragraph under .SH [SECTION]:
# ".B key", or ".BR key1 \", \" key2".
awk '
	/^\.SH \[/ { s = $0; sub(/^\.SH /, "", s); gsub(/[][]/, "", s); sub(/ (NAME|ID)$/, "", s); next }
	/^\.SH / { s = ""; next }
	/^\.TP/ { term = 1; next }
	term && s != "" && /^\.BR? / {
		n = split($0, w, " ")
		for (i = 2; i <= n; i++) if (w[i] ~ /^[a-z0-9_]+$/) print s " " w[i]
	}
	{ term = 0 }
' "$MAN" | LC_ALL=C sort -u >"$PW_TMP/man.keys"
check "the man page documents keys in every section" test "$(wc -l <"$PW_TMP/man.keys")" -gt 30
if diff -u "$PW_TMP/man.keys" "$PW_TMP/config.keys" >"$PW_TMP/keys.diff"; then
	ok "the packaged policy shows every key of piiwatch.conf(5) in its section, and no other"
else
	not_ok "the packaged policy shows every key of piiwatch.conf(5) in its section, and no other" \
		"$(cat "$PW_TMP/keys.diff")"
fi
grep -o 'strcmp(key, "[a-z0-9_]*")' "$PW_SRC/userspace/policy.c" | sed 's/.*"\(.*\)".*/\1/' |
	LC_ALL=C sort -u >"$PW_TMP/parser.keys"
cut -d' ' -f2- "$PW_TMP/man.keys" | awk '{ print $NF }' | LC_ALL=C sort -u >"$PW_TMP/man.names"
if diff -u "$PW_TMP/parser.keys" "$PW_TMP/man.names" >"$PW_TMP/names.diff"; then
	ok "piiwatch.conf(5) documents every key the parser accepts, and no other"
else
	not_ok "piiwatch.conf(5) documents every key the parser accepts, and no other" \
		"$(cat "$PW_TMP/names.diff")"
fi
done_testing
