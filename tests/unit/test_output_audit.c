// SPDX-License-Identifier: GPL-2.0
/* The audit record's text, the "no audit here" and "no capability" paths.
 * Sending to a real auditd is tests/integration/audit_auditd.sh. */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "output_audit.h"

static void fill(struct pw_alert *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->rule_id, sizeof(a->rule_id), "bulk-read");
	a->severity = PW_SEV_HIGH;
	snprintf(a->user, sizeof(a->user), "tanaka");
	a->audit_session = 17;
	a->session_id = 42;
	a->time_ns = 1795578906131502917ULL;
	a->score = 206;
	snprintf(a->reason, sizeof(a->reason), "read 412 MB of customers");
}

static void hex(const char *s, char *out)
{
	for (; *s; s++, out += 2)
		sprintf(out, "%02X", (unsigned char)*s);
	*out = '\0';
}

static void test_text(void **state)
{
	struct pw_alert a;
	char want[512], h[128];
	char *t;

	fill(&a);
	t = pw_audit_alert_text(&a);
	assert_non_null(t);
	hex(a.reason, h);
	snprintf(want, sizeof(want),
		 "op=piiwatch-alert rule=\"bulk-read\" severity=high acct=\"tanaka\" login_ses=17 "
		 "session_id=42 score=206.000 reason=%s", h);
	assert_string_equal(t, want);
	free(t);

	/* No user, no login session, no stored session. */
	a.user[0] = '\0';
	a.audit_session = PW_NO_ID;
	a.session_id = 0;
	a.severity = PW_SEV_CRITICAL;
	snprintf(a.reason, sizeof(a.reason), "plain");
	t = pw_audit_alert_text(&a);
	assert_string_equal(t, "op=piiwatch-alert rule=\"bulk-read\" severity=critical "
			       "login_ses=4294967295 session_id=0 score=206.000 reason=\"plain\"");
	free(t);
}

/* A user name or reason crafted to forge fields or to end the record's
 * msg='...' must come out as one hex-encoded value. */
static void test_hostile_strings(void **state)
{
	struct pw_alert a;
	char h[256], field[300], *t, *tok, *save;

	fill(&a);
	snprintf(a.user, sizeof(a.user), "x\" uid=0 auid=0 ses=1 '");
	snprintf(a.reason, sizeof(a.reason), "a' res=failed\nuid=0 田中");
	t = pw_audit_alert_text(&a);
	assert_non_null(t);
	assert_int_equal(strncmp(t, "op=", 3), 0);
	assert_null(strchr(t, '\''));
	assert_null(strchr(t, '\n'));
	hex(a.user, h);
	snprintf(field, sizeof(field), " acct=%s ", h);
	assert_non_null(strstr(t, field));
	hex(a.reason, h);
	snprintf(field, sizeof(field), " reason=%s", h);
	assert_non_null(strstr(t, field));
	for (tok = strtok_r(t, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		assert_true(strncmp(tok, "uid=", 4) != 0);
		assert_true(strncmp(tok, "auid=", 5) != 0);
		assert_true(strncmp(tok, "ses=", 4) != 0);
		assert_true(strncmp(tok, "pid=", 4) != 0);
		assert_true(strncmp(tok, "res=", 4) != 0);
	}
	free(t);
}

static void test_invalid_rule(void **state)
{
	struct pw_alert a;
	char err[256] = "";

	fill(&a);
	snprintf(a.rule_id, sizeof(a.rule_id), "bulk read");
	assert_null(pw_audit_alert_text(&a));
	assert_int_equal(pw_audit_log_alert(&a, err, sizeof(err)), PW_AUDIT_ERROR);
	assert_non_null(strstr(err, "invalid rule id"));
}

/* Run body in a child, so that what it changes of its process stays
 * there; its exit status 0 passes, 77 skips. */
static void in_child(int (*body)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(body());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int log_outside_initial_namespace(void)
{
	struct pw_alert a;
	char err[256];

	if (unshare(CLONE_NEWUSER) < 0)
		return 77;
	fill(&a);
	return pw_audit_log_alert(&a, err, sizeof(err)) == PW_AUDIT_UNAVAILABLE ? 0 : 1;
}

/* Outside the initial user namespace the kernel refuses audit records the
 * way a kernel without audit does: that is not an error. */
static void test_no_audit_is_not_an_error(void **state)
{
	in_child(log_outside_initial_namespace);
}

static int log_without_capability(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	struct pw_alert a;
	char err[256] = "";

	if (syscall(SYS_capget, &h, d) != 0 ||
	    !(d[CAP_AUDIT_WRITE / 32].effective & (1u << (CAP_AUDIT_WRITE % 32))))
		return 77;
	d[CAP_AUDIT_WRITE / 32].effective &= ~(1u << (CAP_AUDIT_WRITE % 32));
	if (syscall(SYS_capset, &h, d) != 0)
		return 2;
	fill(&a);
	if (pw_audit_log_alert(&a, err, sizeof(err)) != PW_AUDIT_ERROR)
		return 3;
	return strstr(err, "no CAP_AUDIT_WRITE") ? 0 : 4;
}

/* Without CAP_AUDIT_WRITE the kernel refuses the record and libaudit
 * answers as if there were no audit: that is an error, said as such
 * (skipped when the test does not have the capability to drop). */
static void test_no_capability_is_an_error(void **state)
{
	in_child(log_without_capability);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_invalid_rule),
		cmocka_unit_test(test_no_audit_is_not_an_error),
		cmocka_unit_test(test_no_capability_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
