// SPDX-License-Identifier: GPL-2.0
/*
 * pw-session-run: open a PAM session through the real Linux-PAM with a
 * service file from a test directory, run a command inside it as the
 * session's user, then close the session.  What pam_loginuid sets in this
 * process (loginuid, audit session id) the command inherits, as a login
 * shell would.
 *
 *   pw-session-run -d CONFDIR -s SERVICE -u USER [-r RHOST] [-t TTY]
 *                  [--account] [--timing] -- COMMAND [ARG]...
 *
 * --timing prints "open_ms=N close_ms=N" on standard error: how long
 * pam_open_session and pam_close_session took.
 */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	int i;

	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	if (!*resp)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_ERROR_MSG || msg[i]->msg_style == PAM_TEXT_INFO)
			fprintf(stderr, "pam: %s\n", msg[i]->msg);
	return PAM_SUCCESS;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_as(const char *user, char **cmd)
{
	struct passwd *pw = getpwnam(user);
	pid_t pid;
	int status;

	if (!pw) {
		fprintf(stderr, "pw-session-run: no such user %s\n", user);
		return 127;
	}
	pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		if (initgroups(user, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
			perror("pw-session-run: dropping privileges");
			_exit(127);
		}
		execvp(cmd[0], cmd);
		perror("pw-session-run: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "confdir", required_argument, NULL, 'd' },
		{ "service", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "rhost", required_argument, NULL, 'r' },
		{ "tty", required_argument, NULL, 't' },
		{ "account", no_argument, NULL, 'a' },
		{ "timing", no_argument, NULL, 'T' },
		{ 0 },
	};
	const char *confdir = NULL, *service = NULL, *user = NULL, *rhost = NULL, *tty = NULL;
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int account = 0, timing = 0, c, r, rc;
	double t0, open_ms, close_ms;

	while ((c = getopt_long(argc, argv, "+d:s:u:r:t:aT", opts, NULL)) != -1) {
		switch (c) {
		case 'd': confdir = optarg; break;
		case 's': service = optarg; break;
		case 'u': user = optarg; break;
		case 'r': rhost = optarg; break;
		case 't': tty = optarg; break;
		case 'a': account = 1; break;
		case 'T': timing = 1; break;
		default: return 2;
		}
	}
	if (!confdir || !service || !user || optind >= argc) {
		fprintf(stderr, "usage: pw-session-run -d CONFDIR -s SERVICE -u USER [-r RHOST] "
				"[-t TTY] [--account] [--timing] -- COMMAND [ARG]...\n");
		return 2;
	}
	r = pam_start_confdir(service, user, &pc, confdir, &pamh);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pw-session-run: pam_start: %s\n", pam_strerror(pamh, r));
		return 126;
	}
	if (rhost)
		pam_set_item(pamh, PAM_RHOST, rhost);
	if (tty)
		pam_set_item(pamh, PAM_TTY, tty);
	if (account) {
		r = pam_acct_mgmt(pamh, 0);
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "pw-session-run: account: %s\n", pam_strerror(pamh, r));
			pam_end(pamh, r);
			return 125;
		}
	}
	t0 = now_ms();
	r = pam_open_session(pamh, 0);
	open_ms = now_ms() - t0;
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pw-session-run: open_session: %s\n", pam_strerror(pamh, r));
		pam_end(pamh, r);
		return 126;
	}
	rc = run_as(user, argv + optind);
	t0 = now_ms();
	r = pam_close_session(pamh, 0);
	close_ms = now_ms() - t0;
	if (r != PAM_SUCCESS)
		fprintf(stderr, "pw-session-run: close_session: %s\n", pam_strerror(pamh, r));
	if (timing)
		fprintf(stderr, "open_ms=%.1f close_ms=%.1f\n", open_ms, close_ms);
	pam_end(pamh, r);
	return rc;
}
