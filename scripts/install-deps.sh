#!/bin/sh
# Install piiwatch's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are not fetched again, and apt's
# index is refreshed only when something is missing.  The CLI's tests use
# script(1) for a pseudo-terminal, jq, and headless Chromium with a Japanese
# font to render the HTML report; the evasion test makes an xfs file system
# (xfsprogs) to try reflinks on.
set -eu

PKGS="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
libpam0g-dev libpam-modules libaudit-dev libsqlite3-dev sqlite3 libjson-c-dev
libsystemd-dev libcmocka-dev uthash-dev liburing-dev libpam-wrapper libpamtest0-dev pamtester
libclang-rt-14-dev openssh-server openssh-client auditd rsyslog passwd
util-linux procps xfsprogs acl attr
debhelper dpkg-dev fakeroot lintian
bsdutils jq chromium fonts-ipafont-gothic"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install packages" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Services pulled in (sshd, auditd, rsyslog) must not start on install:
	# the tests run their own instances with their own configuration.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends $missing </dev/null
fi
