#!/bin/bash
# The main job, for a first look: piiwatchd in the foreground on the
# demo policy (packaging/demo.conf), which protects generated demo records
# under /srv/piiwatch-demo, with its store at /var/lib/piiwatch/piiwatch.db.
# It prints one line per access.  A few sample accesses run inside a PAM
# session a moment after start; Ctrl-C stops everything and detaches.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CONF=${PIIWATCH_CONF:-packaging/demo.conf}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (loading BPF programs needs it)" >&2
	exit 1
fi
./scripts/mount-kernel-fs.sh
./scripts/gen-demo-data.sh /srv/piiwatch-demo

work=$(mktemp -d /tmp/piiwatch-demo.XXXXXX)
sample_pid=""
cleanup() {
	if [ -n "$sample_pid" ]; then
		kill "$sample_pid" 2>/dev/null || true
		wait "$sample_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
# Ctrl-C reaches piiwatchd, which stops cleanly; this script then exits.
trap ':' INT

# Sample accesses from a login session through the real PAM stack, as an
# administrator connecting from 192.0.2.10 (a documentation address) would.
mkdir -p "$work/pam.d"
cat >"$work/pam.d/piiwatch-demo" <<EOF2
session required pam_loginuid.so
session optional $PWD/$BUILD/pam_piiwatch.so
EOF2
sample_accesses() {
	local i
	for i in $(seq 1 100); do
		[ -S /run/piiwatch/pam.sock ] && break
		sleep 0.1
	done
	sleep 1
	"$BUILD/tests/pw-session-run" -d "$work/pam.d" -s piiwatch-demo -u root \
		-r 192.0.2.10 -t demo -- sh -c '
		head -n 20 /srv/piiwatch-demo/customers/customers-0001.csv >/dev/null
		wc -l /srv/piiwatch-demo/service-history/service-0002.csv >/dev/null
		tar -cf - /srv/piiwatch-demo/customers 2>/dev/null | cat >/dev/null' || true
}

echo "piiwatch demo: protected data in /srv/piiwatch-demo; store /var/lib/piiwatch/piiwatch.db"
echo "Read a protected file from another terminal to see it recorded, e.g."
echo "  cat /srv/piiwatch-demo/customers/customers-0003.csv"
echo "Press Ctrl-C to stop: the BPF programs are detached and nothing stays loaded."
echo
sample_accesses &
sample_pid=$!
"$BUILD/piiwatchd" -c "$CONF" --print || true
