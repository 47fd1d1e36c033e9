#!/bin/bash
# The piiwatch CLI against a fixed store built from tests/fixtures/events.jsonl:
# golden output of every listing, text and JSON, in Tokyo time; filters and
# their edge cases; a daylight-saving change; colour and terminal width
# under a pty; the exit status and message of every store problem; a
# reviewer in group piiwatch who is not root; and the HTML report in
# headless Chromium.
#
# PW_UPDATE_GOLDEN=1 rewrites the expected files in tests/golden/ from what
# the CLI prints now: read the diff before committing it.
. "$(dirname "$0")/../lib.sh"
pw_setup

CLI=$PW_BUILD/piiwatch
FIXTURE=$PW_SRC/tests/fixtures/events.jsonl
GOLDEN=$PW_SRC/tests/golden
STORE=$PW_TMP/lib/piiwatch.db
OUT=$PW_TMP/out
ERR=$PW_TMP/err
export TZ=Asia/Tokyo NO_COLOR=1 LC_ALL=C.UTF-8
unset COLUMNS

# The store as the daemon keeps it: root:piiwatch, 0750 and 0640.
getent group piiwatch >/dev/null || groupadd --system piiwatch
mkdir -p "$PW_TMP/lib"
chown root:piiwatch "$PW_TMP/lib"
chmod 0750 "$PW_TMP/lib"
"$PW_BUILD/tests/pw-load-store" "$STORE" "$FIXTURE" 2>"$ERR"
check_eq "the fixture loads into a store" "$?:$(cat "$ERR")" "0:"
check_eq "every fixture line is stored" \
	"$(sqlite3 "$STORE" "SELECT (SELECT count(*) FROM accesses) || ' ' || (SELECT count(*) FROM sessions)
		|| ' ' || (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM alerts)")" \
	"18 7 4 2"
check_eq "the access that came before its session's open record is joined to it" \
	"$(sqlite3 "$STORE" "SELECT s.user FROM accesses a JOIN sessions s ON s.id = a.session_id WHERE a.access_id = 19")" \
	"sato"

# cli DESC EXPECTED_RC ARGS...: run the CLI (stdout not a terminal).
cli() {
	"$CLI" --store "$STORE" "$@" >"$OUT" 2>"$ERR"
}

# golden NAME ARGS...: exit 0, nothing on stderr, stdout as tests/golden/NAME.
golden() {
	local name=$1 rc
	shift
	cli "$@"
	rc=$?
	if [ -n "${PW_UPDATE_GOLDEN:-}" ] && [ "$rc" -eq 0 ]; then
		cp "$OUT" "$GOLDEN/$name"
	fi
	if [ "$rc" -ne 0 ] || [ -s "$ERR" ]; then
		not_ok "$name: piiwatch $*" "exit status $rc" "$(head -3 "$ERR")"
	elif ! diff -u "$GOLDEN/$name" "$OUT" >"$PW_TMP/diff"; then
		not_ok "$name: piiwatch $*" "differs from tests/golden/$name:" \
			"$(head -40 "$PW_TMP/diff")"
	else
		ok "$name: piiwatch $*"
	fi
}

# fails DESC RC MESSAGE ARGS...: exit RC, MESSAGE on stderr, nothing on stdout.
fails() {
	local desc=$1 want=$2 msg=$3 rc
	shift 3
	cli "$@"
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -qF -- "$msg" "$ERR" && [ ! -s "$OUT" ]; then
		ok "$desc"
	else
		not_ok "$desc" "piiwatch $*" "exit status $rc (expected $want)" \
			"stderr: $(head -2 "$ERR")" "stdout: $(head -2 "$OUT")"
	fi
}

# same_as DESC ARGS_A -- ARGS_B: both succeed with the same output.
same_as() {
	local desc=$1 a=() b
	shift
	while [ "$1" != "--" ]; do
		a+=("$1")
		shift
	done
	shift
	cli "${a[@]}" && cp "$OUT" "$PW_TMP/a" && cli "$@" && cmp -s "$PW_TMP/a" "$OUT"
	check_eq "$desc" "$?" 0
}

rows() {
	cli "$@" && tail -n +2 "$OUT" | grep -c .
}

# ---- every listing, text and JSON ----
for verb in accesses events sessions top; do
	golden "$verb.txt" "$verb"
	golden "$verb.jsonl" --json "$verb"
done
golden show-4.txt show 4
golden show-4.jsonl --json show 4
golden show-3.txt show 3
golden show-7.txt show 7
# What --json prints is what the daemon writes: its parser reads it back.
cat "$GOLDEN/sessions.jsonl" "$GOLDEN/accesses.jsonl" "$GOLDEN/events.jsonl" >"$PW_TMP/replay.jsonl"
"$PW_BUILD/tests/pw-load-store" "$PW_TMP/replay.db" "$PW_TMP/replay.jsonl" 2>"$ERR"
check_eq "--json of sessions, accesses and events reads back through pw_ecs_parse_line" \
	"$?:$(cat "$ERR")" "0:"
for verb in accesses events; do
	STORE=$PW_TMP/replay.db cli "$verb"
	check "the store read back lists the same $verb" cmp -s "$GOLDEN/$verb.txt" "$OUT"
done
check "every JSON line is one object" \
	sh -c "cat '$GOLDEN'/*.jsonl | jq -e -c 'type == \"object\"' >/dev/null"
check_eq "show lists a session's lines in time order" \
	"$(cut -c1-19 "$GOLDEN/show-4.txt" | sort -c && echo sorted)" "sorted"

# ---- filters ----
# 2026-03-28 00:00 to 23:59:59 UTC: tanaka's tar, on Sunday night in Tokyo.
golden accesses-epoch.txt --since @1774656000 --until @1774742399 accesses
same_as "a local time in Tokyo and the same instant in UTC with Z select the same" \
	--since "2026-03-28 09:00" --until "2026-03-29 02:16" accesses -- \
	--since 2026-03-28T00:00Z --until "2026-03-28 17:16:00Z" accesses
# The backup opened service-0001.csv at 03:00:00.000 on Saturday.
check_eq "--since and --until include their bounds" \
	"$(rows --since "2026-03-28 03:00" --until "2026-03-28 03:00" accesses)" 1
check_eq "--until a second before leaves it out" \
	"$(rows --since "2026-03-28 02:00" --until "2026-03-28 02:59:59" accesses)" 0
check_eq "--since a second after leaves it out" \
	"$(rows --since "2026-03-28 03:00:01" --until "2026-03-28 03:00:01" accesses)" 0
now=$(date +%s)
if [ "$now" -gt 1774900000 ]; then
	same_as "an age (--since Ns) is counted back from now" \
		--since "$((now - 1774742400))s" accesses -- --since @1774742400 accesses
	check_eq "--since 1h: nothing recorded in the last hour" "$(rows --since 1h accesses)" 0
	check_eq "--until 1d: everything before yesterday" "$(rows --until 1d accesses)" 18
else
	ok "# SKIP this clock is before the fixture's last day"
fi
fails "--until before --since is an error" 2 "is before --since" \
	--since 2026-03-29 --until 2026-03-28 accesses
golden accesses-user.txt --user suzuki accesses
golden accesses-dataset.txt --dataset service-history accesses
golden accesses-host.txt --host 203.0.113.7 accesses
golden sessions-user.txt --user sato sessions
golden sessions-host.txt --host 2001:db8::5 sessions
golden events-dataset.txt --dataset customers events
golden top-user.txt --user tanaka top
check_eq "--file PATH: that file, with a space in its name" \
	"$(rows --file "/srv/dms/customers/export 2026-03.csv" accesses)" 2
check_eq "--file PATH: a UTF-8 name" \
	"$(rows --file "/srv/dms/customers/顧客リスト_渋谷店.csv" accesses)" 2
check_eq "--file PATH: a name with a newline, as the daemon escapes it" \
	"$(rows --file '/srv/dms/service-history/notes\x0aq1.txt' accesses)" 1
golden accesses-dir.txt --file /srv/dms/service-history accesses
same_as "--file DIR/ is the same as --file DIR" \
	--file /srv/dms/service-history accesses -- --file /srv/dms/service-history/ accesses
check_eq "--file /srv/dms/cust matches nothing in /srv/dms/customers" \
	"$(rows --file /srv/dms/cust accesses)" 0
check_eq "--file /srv/dms/service matches nothing in /srv/dms/service-history" \
	"$(rows --file /srv/dms/service accesses)" 0
check_eq "--file /srv/dms/customers matches only that directory" \
	"$(rows --file /srv/dms/customers accesses)" 10
check_eq "--file GLOB" "$(rows --file '/srv/dms/*/service-000?.csv' accesses)" 5
check_eq "--file GLOB: * crosses directories" "$(rows --file '*.tgz' accesses)" 1
check_eq "filters combine" \
	"$(rows --user tanaka --dataset customers --since 2026-03-29 accesses)" 5
check_eq "a filter that matches nothing prints the header alone" \
	"$(cli --user nobody accesses && cat "$OUT")" \
	"OPENED  USER  SES  FROM  PROGRAM  PID  READ  WRITTEN  DATASET  FILE"
fails "--since nonsense" 2 "'yesterday' is not a time" --since yesterday accesses
fails "--since 12abc" 2 "'12abc' is not a time" --since 12abc accesses
fails "--since a day that does not exist" 2 "'2026-02-30' does not exist" --since 2026-02-30 accesses
fails "--until a UTC day that does not exist" 2 "'2026-02-29Z' does not exist" --until 2026-02-29Z accesses
fails "--file with a relative path" 2 "expected an absolute path" --file customers accesses
fails "--file with nothing" 2 "expected an absolute path" --file "" accesses
fails "--user with nothing" 2 "--user: expected a name" --user "" accesses
fails "--limit 0" 2 "--limit: expected a number from 1" --limit 0 accesses
fails "--limit 10x" 2 "--limit: expected a number from 1" --limit 10x accesses
fails "show with no number" 2 "expected a session number" show tanaka
fails "show of a session that is not there" 2 "no session 99" show 99
fails "an unknown command" 2 "unknown command" sessionz
fails "a listing with an argument" 2 "wrong arguments" accesses 4
golden accesses-limit.txt --limit 3 accesses

# ---- a daylight-saving change: Europe/Berlin moved to CEST at 01:00 UTC ----
TZ=Europe/Berlin golden accesses-berlin.txt --since 2026-03-29T00:00Z --until 2026-03-29T02:00Z accesses
TZ=Europe/Berlin golden sessions-berlin.txt sessions
TZ=Europe/Berlin same_as "Berlin: 01:59:59 CET and 03:00 CEST are one second apart" \
	--since "2026-03-29 01:59:59" accesses -- --since "2026-03-29 03:00" accesses
TZ=Europe/Berlin fails "Berlin: 02:30 on the night clocks go forward does not exist" 2 \
	"'2026-03-29 02:30' does not exist in local time" --since "2026-03-29 02:30" accesses

# ---- colour and width on a terminal ----
# pty CMD: run CMD under script(1)'s pseudo-terminal; output without CRs.
pty() {
	script -q -e -c "$1" /dev/null </dev/null | tr -d '\r'
}
plain() {
	sed 's/\x1b\[[0-9;]*m//g'
}
"$CLI" --store "$STORE" accesses | env -u NO_COLOR cat >"$OUT"
check "no colour into a pipe" sh -c "! grep -q \$'\\x1b' '$OUT'"
env -u NO_COLOR "$CLI" --store "$STORE" accesses >"$OUT"
check "no colour into a file, NO_COLOR unset" sh -c "! grep -q \$'\\x1b' '$OUT'"
pty "stty cols 200; env -u NO_COLOR '$CLI' --store '$STORE' accesses" >"$OUT"
check_eq "on a terminal without NO_COLOR the honeytoken row is red" \
	"$(grep -c $'^\x1b\\[31m.*zz_vip_customers.csv\x1b\\[0m$' "$OUT")" 1
check_eq "on a terminal 200 wide the table is whole" "$(plain <"$OUT")" "$(cat "$GOLDEN/accesses.txt")"
pty "stty cols 200; NO_COLOR=1 '$CLI' --store '$STORE' accesses" >"$OUT"
check "on a terminal with NO_COLOR set there is no colour" sh -c "! grep -q \$'\\x1b' '$OUT'"
pty "stty cols 80; env -u NO_COLOR '$CLI' --store '$STORE' accesses" | plain >"$OUT"
check_eq "80 columns: every line fits" "$(wc -L <"$OUT")" 80
check_eq "80 columns: every access is there" "$(tail -n +2 "$OUT" | grep -c .)" 18
check "80 columns: FILE keeps the end of the name, shortened from the left with …" \
	grep -q '…ustomers-0001.csv$' "$OUT"
check "80 columns: a UTF-8 name is cut between characters" grep -q '…リスト_渋谷店.csv$' "$OUT"
check_eq "80 columns: PID, SES, FROM and DATASET are left out" "$(head -1 "$OUT")" \
	"OPENED               USER    PROGRAM     READ       WRITTEN   FILE"
pty "stty cols 200; COLUMNS=80 '$CLI' --store '$STORE' accesses" >"$OUT"
check_eq "COLUMNS=80 on a wider terminal: every line fits 80" "$(wc -L <"$OUT")" 80
pty "stty cols 80; COLUMNS=80 '$CLI' --store '$STORE' events" >"$OUT"
check "80 columns: events keep what happened first, shortened on the right" \
	grep -q '  connect 198.51.100.9 port 22$' "$OUT"

# ---- store problems: exit 3 and a message that says what is wrong ----
bad=$PW_TMP/bad
mkdir -p "$bad"
STORE=$bad/none.db fails "no store" 3 "no store at $bad/none.db" accesses
head -c 65536 /dev/urandom >"$bad/garbage.db"
STORE=$bad/garbage.db fails "garbage bytes" 3 "file is not a database (damaged" accesses
head -c 20000 "$STORE" >"$bad/truncated.db"
for verb in accesses sessions events top "show 4"; do
	# shellcheck disable=SC2086
	STORE=$bad/truncated.db fails "a truncated store: $verb" 3 "database disk image is malformed" $verb
done
: >"$bad/empty.db"
STORE=$bad/empty.db fails "an empty file" 3 "is not a piiwatch store" accesses
mkdir "$bad/dir.db"
STORE=$bad/dir.db fails "a directory" 3 "is not a file" accesses
sqlite3 "$bad/v1.db" "PRAGMA user_version = 1;
CREATE TABLE sessions (id INTEGER PRIMARY KEY, boot_id TEXT NOT NULL, audit_session INTEGER,
 loginuid INTEGER, user TEXT NOT NULL, uid INTEGER, service TEXT, rhost TEXT, ruser TEXT,
 tty TEXT, pid INTEGER, opened_ns INTEGER, closed_ns INTEGER, open_record TEXT UNIQUE,
 close_record TEXT UNIQUE);
CREATE TABLE accesses (id INTEGER PRIMARY KEY, boot_id TEXT NOT NULL, access_id INTEGER NOT NULL,
 session_id INTEGER, audit_session INTEGER, loginuid INTEGER, uid INTEGER, user TEXT, pid INTEGER,
 ppid INTEGER, comm TEXT, exe TEXT, args TEXT, dataset TEXT, path TEXT, dev INTEGER, ino INTEGER,
 honeytoken INTEGER NOT NULL DEFAULT 0, open_flags INTEGER, opened_ns INTEGER, last_ns INTEGER,
 closed_ns INTEGER, bytes_read INTEGER NOT NULL DEFAULT 0, bytes_written INTEGER NOT NULL DEFAULT 0,
 reads INTEGER NOT NULL DEFAULT 0, writes INTEGER NOT NULL DEFAULT 0, UNIQUE (boot_id, access_id));
CREATE TABLE quarantine (user TEXT PRIMARY KEY, since_ns INTEGER NOT NULL, reason TEXT NOT NULL);"
STORE=$bad/v1.db fails "a store of schema 1" 3 "store schema version 1 is older than this piiwatch" accesses
check "and the message says how to migrate it" grep -q "start piiwatchd once to migrate it" "$ERR"
sqlite3 "$bad/v99.db" "PRAGMA user_version = 99; CREATE TABLE sessions (id INTEGER);"
STORE=$bad/v99.db fails "a store from a newer piiwatch" 3 "store schema version 99 is newer" sessions

# hold_lock DB SQL: a sqlite3 that runs SQL and keeps its transaction open
# until release_lock closes its input.
lock_pid=""
on_cleanup 'if [ -n "$lock_pid" ]; then exec 9>&-; kill "$lock_pid"; wait "$lock_pid"; fi'
hold_lock() {
	rm -f "$PW_TMP/lock.fifo" "$PW_TMP/lock.out"
	mkfifo "$PW_TMP/lock.fifo"
	sqlite3 "$1" <"$PW_TMP/lock.fifo" >"$PW_TMP/lock.out" 2>&1 &
	lock_pid=$!
	exec 9>"$PW_TMP/lock.fifo"
	echo "$2 SELECT 'held';" >&9
	for _ in $(seq 1 50); do
		grep -q held "$PW_TMP/lock.out" && return 0
		sleep 0.1
	done
	return 1
}
release_lock() {
	exec 9>&-
	wait "$lock_pid"
	lock_pid=""
}
# WAL, the daemon's mode: a writer in the middle of a transaction does not
# block readers, who see what was committed before it.
cp "$STORE" "$bad/wal.db"
hold_lock "$bad/wal.db" "BEGIN EXCLUSIVE; DELETE FROM accesses;"
check_eq "a writer holds a WAL store" "$?" 0
STORE=$bad/wal.db golden accesses.txt accesses
release_lock
# What does block: a store in rollback-journal mode held EXCLUSIVE, or a
# WAL store whose writer took locking_mode EXCLUSIVE.  After the 5 s busy
# timeout the CLI says so.
cp "$STORE" "$bad/journal.db"
sqlite3 "$bad/journal.db" "PRAGMA journal_mode = DELETE;" >/dev/null
hold_lock "$bad/journal.db" "BEGIN EXCLUSIVE;"
STORE=$bad/journal.db fails "a rollback-journal store held EXCLUSIVE" 3 \
	"database is locked (another process holds it locked)" accesses
release_lock
cp "$STORE" "$bad/exclusive.db"
hold_lock "$bad/exclusive.db" "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM events;"
STORE=$bad/exclusive.db fails "a WAL store whose writer has locking_mode EXCLUSIVE" 3 \
	"database is locked (another process holds it locked)" sessions
release_lock

# ---- a reviewer in group piiwatch, not root ----
id pwreview >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin pwreview
id -nG pwreview | grep -qw piiwatch || usermod -a -G piiwatch pwreview
check_eq "the store is root:piiwatch 0640 in a 0750 directory" \
	"$(stat -c '%U:%G %a' "$PW_TMP/lib" "$STORE")" "root:piiwatch 750
root:piiwatch 640"
check_eq "its -wal and -shm files stay, group-readable, after the writer closed" \
	"$(stat -c '%U:%G %a' "$STORE-wal" "$STORE-shm")" "root:piiwatch 640
root:piiwatch 640"
mkdir -p "$PW_TMP/rev"
chown pwreview "$PW_TMP/rev"
# as_reviewer NAME ARGS...: the reviewer's output, compared with the golden.
as_reviewer() {
	local name=$1
	shift
	(cd "$PW_TMP/rev" && runuser -u pwreview -- "$CLI" --store "$STORE" "$@") \
		>"$PW_TMP/rev/out" 2>"$PW_TMP/rev/err"
	if [ "$?" -eq 0 ] && [ ! -s "$PW_TMP/rev/err" ] && cmp -s "$GOLDEN/$name" "$PW_TMP/rev/out"; then
		ok "pwreview: piiwatch $*"
	else
		not_ok "pwreview: piiwatch $*" "$(head -3 "$PW_TMP/rev/err")"
	fi
}
as_reviewer accesses.txt accesses
as_reviewer accesses.jsonl --json accesses
as_reviewer events.txt events
as_reviewer sessions.txt sessions
as_reviewer top.txt top
as_reviewer show-4.txt show 4
(cd "$PW_TMP/rev" && runuser -u pwreview -- "$CLI" --store "$STORE" report --html "$PW_TMP/rev/report.html") 2>"$ERR"
check_eq "pwreview: piiwatch report --html" "$?" 0
(cd "$PW_TMP/rev" && runuser -u pwreview -- "$CLI" --store "$STORE" reload) 2>"$ERR"
check_eq "pwreview: reload exits 4" "$?" 4
check "pwreview: reload says to run it as root" grep -q "run it as root" "$ERR"
check_eq "the reviewer's reads left the store as it was" \
	"$(stat -c '%U:%G %a' "$PW_TMP/lib" "$STORE" "$STORE-wal" "$STORE-shm" | sort -u)" \
	"root:piiwatch 640
root:piiwatch 750"
# A store an older piiwatchd left without its -wal and -shm: the reviewer
# is told why, and root's first read puts them back.
rm "$STORE-wal" "$STORE-shm"
(cd "$PW_TMP/rev" && runuser -u pwreview -- "$CLI" --store "$STORE" sessions) >"$OUT" 2>"$ERR"
check_eq "pwreview: without -wal and -shm the store cannot be read" "$?" 3
check "pwreview: and the message names them" grep -q "the store's -wal and -shm files" "$ERR"
cli sessions
check_eq "root's read puts them back, root:piiwatch 0640" \
	"$(stat -c '%U:%G %a' "$STORE-wal" "$STORE-shm")" "root:piiwatch 640
root:piiwatch 640"
as_reviewer sessions.txt sessions

# ---- the HTML report in headless Chromium ----
REPORT=$PW_TMP/report.html
cli report --html "$REPORT"
check_eq "report --html writes the file" "$?:$(cat "$ERR")" "0:piiwatch: report written to $REPORT"
# No network: every name resolves to nothing and every request would go
# to a closed local port.
chromium_run() {
	local profile
	profile=$(mktemp -d "$PW_TMP/chromium.XXXXXX")
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--host-resolver-rules="MAP * ~NOTFOUND" --proxy-server=127.0.0.1:9 \
		--user-data-dir="$profile" "$@"
}
chromium_run --enable-logging=stderr --v=0 --dump-dom "file://$REPORT" \
	>"$PW_TMP/dom.html" 2>"$PW_TMP/chromium.err"
check_eq "Chromium loads the report" "$?" 0
check_eq "no console messages" "$(grep -c ':CONSOLE' "$PW_TMP/chromium.err")" 0
# The check above would see an error: a page that logs one.
printf '<!DOCTYPE html><title>t</title><script>console.error("pw-check")</script>\n' >"$PW_TMP/bad.html"
chromium_run --enable-logging=stderr --v=0 --dump-dom "file://$PW_TMP/bad.html" \
	>/dev/null 2>"$PW_TMP/chromium-bad.err"
check "a page's console error would be seen" grep -q ':CONSOLE.*"pw-check"' "$PW_TMP/chromium-bad.err"
volume=$(sed -n '/<svg[^>]*id="volume-chart"/,/<\/svg>/p' "$PW_TMP/dom.html")
check_eq "svg#volume-chart: one polyline per user" "$(grep -o '<polyline' <<<"$volume" | wc -l)" 4
check_eq "svg#volume-chart: a legend entry per user" \
	"$(grep -o 'class="lbl">[a-z]*</text>' <<<"$volume" | sed 's/.*">//; s/<.*//' | tr '\n' ' ')" \
	"tanaka suzuki root sato "
heat=$(sed -n '/<svg[^>]*id="heatmap-chart"/,/<\/svg>/p' "$PW_TMP/dom.html")
check_eq "svg#heatmap-chart: 168 cells" "$(grep -o '<rect class="cell"' <<<"$heat" | wc -l)" 168
check "the heat map puts the tar at 02:00 on Sunday, Tokyo time" \
	grep -q '<title>Sun 02:00: 6 accesses</title>' <<<"$heat"
summary=$(sed -n '/<section id="summary">/,/<\/section>/p' "$PW_TMP/dom.html" | tr -d '\n')
for kv in "Period</dt><dd>2026-03-26 09:20:11 – 2026-03-29 10:00:30" \
	"Accesses to protected files</dt><dd>16" "Bytes read</dt><dd>398.5 MiB" \
	"Users</dt><dd>4" "Files</dt><dd>9" "Login sessions with access</dt><dd>5" \
	"Accesses with no login session</dt><dd>2" "Honeytoken accesses</dt><dd class=\"bad\">1"; do
	check "summary: ${kv//<\/dt><dd*>/ = }" grep -qF "<dt>$kv</dd>" <<<"$summary"
done
alerts=$(sed -n '/<section id="alerts">/,/<\/section>/p' "$PW_TMP/dom.html")
check_eq "the report lists the fixture's two alerts in time order" \
	"$(grep -o '<tr class="sev-[a-z]*"><td>[^<]*</td><td>[a-z]*</td><td>[a-z-]*' <<<"$alerts" |
		sed 's/<tr class="//; s/"><td>/ /; s/<\/td><td>/ /g')" \
	"sev-critical 2026-03-29 02:19:31 critical honeytoken
sev-high 2026-03-29 02:19:32 high staging"
check "the UTF-8 file name is in the report" grep -qF '/srv/dms/customers/顧客リスト_渋谷店.csv' "$REPORT"
check_eq "no URL but the SVG namespace" \
	"$(grep -oE 'https?://[^" ]*' "$REPORT" | sort -u)" "http://www.w3.org/2000/svg"
check "no scripts, stylesheets, images or frames to fetch" \
	sh -c "! grep -qiE '<script|<link|<img|<iframe|<object|<embed|src=|href=|url\\(|@import' '$REPORT'"
chromium_run --screenshot="$PW_TMP/report.png" --window-size=1200,2200 "file://$REPORT" \
	>/dev/null 2>&1
check_eq "a screenshot of the report is taken" \
	"$(head -c 8 "$PW_TMP/report.png" | od -An -tx1 | tr -d ' ')" "89504e470d0a1a0a"

done_testing
