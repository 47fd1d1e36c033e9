# shellcheck shell=bash
# The audit trail for integration tests, sourced after lib.sh and
# pw_setup.  The kernel talks to one audit daemon at a time: a test runs
# an auditd of its own (auditd -n -c DIR, its own configuration and log
# file) only when nobody holds that place, stops it by PID and gives the
# kernel's "enabled" flag back as it found it.  Tests that do take this
# lock first, so that two of them never race for the place.

# pw_auditd_prepare COMMANDS...: check the tools and take the lock; on
# failure the test reports it and ends.
pw_auditd_prepare() {
	local c
	for c in auditd auditctl ausearch "$@"; do
		if ! command -v "$c" >/dev/null; then
			not_ok "$c is installed (scripts/install-deps.sh installs auditd)"
			done_testing
			exit
		fi
	done
	exec {_pw_auditd_lock_fd}>/run/lock/piiwatch-test-auditd.lock
	if ! flock -w 300 "$_pw_auditd_lock_fd"; then
		not_ok "no other test's auditd within 5 minutes"
		done_testing
		exit
	fi
	AUDIT_ENABLED_BEFORE=$(pw_audit_status enabled)
	AUDIT_PID_BEFORE=$(pw_audit_status pid)
	if [ -z "$AUDIT_ENABLED_BEFORE" ]; then
		ok "# SKIP the kernel answers no audit status (no audit in this kernel)"
		done_testing
		exit
	fi
}

# pw_audit_status KEY: a value of auditctl -s ("enabled", "pid").
pw_audit_status() {
	auditctl -s | awk -v k="$1" '$1 == k { print $2 }'
}

# True when an auditd other than the test's holds the kernel's connection.
pw_host_auditd_running() {
	[ "$AUDIT_PID_BEFORE" != 0 ] && kill -0 "$AUDIT_PID_BEFORE" 2>/dev/null
}

# pw_host_audit_log: the log file of the auditd that holds the kernel's
# connection, from the configuration it was started with (-c DIR, or
# /etc/audit); prints nothing when it writes no log.
pw_host_audit_log() {
	local conf=/etc/audit/auditd.conf prev="" a
	while IFS= read -r -d '' a; do
		[ "$prev" = "-c" ] && conf=$a/auditd.conf
		prev=$a
	done <"/proc/$AUDIT_PID_BEFORE/cmdline"
	awk -F= '
		{ k = $1; v = $2; gsub(/[ \t]/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v) }
		k == "log_file" { file = v }
		k == "write_logs" { write = tolower(v) }
		END { if (write != "no") print (file == "" ? "/var/log/audit/audit.log" : file) }
	' "$conf"
}

# pw_auditd_start: start the test's own auditd, logging RAW records to
# AUDIT_LOG ($PW_TMP/audit/audit.log), and wait until the kernel talks
# to it.  Sets AUDITD_PID; pw_auditd_stop and the cleanup stop it.
AUDITD_PID=""
pw_auditd_start() {
	local ad=$PW_TMP/audit i
	AUDIT_LOG=$ad/audit.log
	mkdir -p "$ad/plugins.d"
	cat >"$ad/auditd.conf" <<EOF
local_events = yes
write_logs = yes
log_file = $AUDIT_LOG
log_format = RAW
flush = DATA
freq = 0
max_log_file = 8
num_logs = 1
max_log_file_action = IGNORE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
q_depth = 2000
overflow_action = IGNORE
plugin_dir = $ad/plugins.d
end_of_event_timeout = 2
EOF
	# auditd refuses a configuration others could change.
	chmod 600 "$ad/auditd.conf"
	on_cleanup pw_audit_restore_enabled
	on_cleanup pw_auditd_stop
	auditd -n -c "$ad" >"$ad/auditd.out" 2>&1 &
	AUDITD_PID=$!
	for i in $(seq 1 100); do
		[ "$(pw_audit_status pid)" = "$AUDITD_PID" ] && break
		kill -0 "$AUDITD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$(pw_audit_status pid)" != "$AUDITD_PID" ]; then
		not_ok "auditd registers with the kernel" "$(cat "$ad/auditd.out")"
		done_testing
		exit
	fi
	ok "auditd registers with the kernel (pid $AUDITD_PID, log $AUDIT_LOG)"
}

pw_auditd_stop() {
	[ -n "$AUDITD_PID" ] || return 0
	kill -TERM "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	AUDITD_PID=""
}

# auditd switches auditing on at start and leaves it on.
pw_audit_restore_enabled() {
	auditctl -e "$AUDIT_ENABLED_BEFORE" >/dev/null
}
