#!/bin/bash
# LeakSanitizer really watches the daemon the suite tests: a sanitized
# piiwatchd that leaks exits non-zero with a leak report, so every test
# that requires a clean stop (status 0) also requires no leak.  The leak is
# put in from outside, by a preloaded library, not by piiwatch's code.
. "$(dirname "$0")/../lib.sh"

if ! ldd "$PW_BUILD/piiwatchd" | grep -q libasan; then
	echo "ok 1 - # SKIP $PW_BUILD is not a sanitized build"
	echo "1..1"
	exit 0
fi
pw_setup
pw_write_policy "$PW_TMP/policy.conf" </dev/null

# A clean start and stop: status 0 and no report.
check "the sanitized piiwatchd starts" pw_start_daemon "$PW_TMP/policy.conf"
pw_stop_daemon TERM
check_eq "it stops with status 0" "$DAEMON_STATUS" 0
check "and reports no leak" bash -c "! grep -q LeakSanitizer '$PW_TMP/daemon.err'"

# The same daemon with four blocks of 4242 bytes allocated and forgotten
# at start.
cat >"$PW_TMP/leak.c" <<'EOF2'
#include <stdlib.h>
#include <string.h>
__attribute__((constructor)) static void forget(void)
{
	for (int i = 0; i < 4; i++) {
		char *p = malloc(4242);
		memset(p, i, 4242);
	}
}
EOF2
gcc -shared -fPIC -O0 "$PW_TMP/leak.c" -o "$PW_TMP/leak.so"
: >"$PW_TMP/daemon.err"
# Only the daemon gets the library (libasan must come first in the list);
# exec keeps the PID the helpers wait for.
mkdir "$PW_TMP/leaky"
printf '#!/bin/sh\nLD_PRELOAD="%s %s" exec %s "$@"\n' "$(gcc -print-file-name=libasan.so)" \
	"$PW_TMP/leak.so" "$PW_BUILD/piiwatchd" >"$PW_TMP/leaky/piiwatchd"
chmod 755 "$PW_TMP/leaky/piiwatchd"
PW_BUILD=$PW_TMP/leaky pw_start_daemon "$PW_TMP/policy.conf"
check "the leaking piiwatchd starts" test -n "$DAEMON_PID"
pw_stop_daemon TERM
check "it exits non-zero ($DAEMON_STATUS)" test "$DAEMON_STATUS" -ne 0
check "with a LeakSanitizer report of the four leaked blocks" \
	grep -q "Direct leak of 16968 byte(s) in 4 object(s)" "$PW_TMP/daemon.err"
done_testing
