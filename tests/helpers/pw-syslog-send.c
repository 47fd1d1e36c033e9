// SPDX-License-Identifier: GPL-2.0
/*
 * Drive the syslog output from a test script, the way piiwatchd's epoll
 * loop would: the output's descriptor and standard input share one epoll
 * set, so connecting and reconnecting go on between commands.
 *
 *   pw-syslog-send --free-port
 *   pw-syslog-send HOST PORT [--queue N] [--backoff-max MS] [--facility NAME]
 *                  [--sd-id ID] [--hostname NAME] [--expect FILE]
 *
 * Commands on standard input, one reply line each on standard output:
 *   access N | alert N | session N   send N ECS records ("ok"); with
 *                                    --expect, each MSG is appended to FILE
 *   health                           connected=.. queued=.. sent=.. dropped=..
 *                                    connects=.. failures=.. error=..
 *   wait-connected MS | wait-disconnected MS | drain MS   "ok" or "timeout"
 *   quit
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "ecs.h"
#include "output_syslog.h"
#include "util.h"

#define BOOT "cd96f4e1-e314-4c16-ada5-0b1c2f89ad47"

static struct pw_syslog *out;
static FILE *expect;
static unsigned long long seq;

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("free port");
		return 1;
	}
	printf("%u\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

/* Send one ECS record; its MSG also goes to the --expect file. */
static int emit(json_object *o, int severity, const char *msgid,
		const struct pw_syslog_param *params, size_t n_params, uint64_t time_ns)
{
	char *line = o ? pw_ecs_to_line(o) : NULL;
	int rc = -1;

	if (line && pw_syslog_send(out, severity, msgid, params, n_params, line, time_ns) == 0) {
		rc = 0;
		if (expect) {
			fprintf(expect, "%s\n", line);
			fflush(expect);
		}
	}
	free(line);
	json_object_put(o);
	return rc;
}

static int send_access(void)
{
	struct pw_access a = { 0 };
	char path[128];

	snprintf(a.boot_id, sizeof(a.boot_id), BOOT);
	a.access_id = ++seq;
	a.session_id = 42;
	a.audit_session = 17;
	a.loginuid = 1001;
	a.uid = 1001;
	a.pid = 5295;
	a.ppid = 5290;
	snprintf(a.comm, sizeof(a.comm), "tar");
	/* What a line must survive intact: UTF-8, quotes, a backslash,
	 * slashes, spaces. */
	a.user = "田中";
	a.exe = "/usr/bin/tar";
	a.args = "tar czf \"/tmp/out put.tgz\" C:\\x5cdms";
	a.ancestors = "5290 /usr/bin/bash\n5289 /usr/sbin/sshd\n1 /usr/lib/systemd/systemd";
	a.dataset = "customers";
	snprintf(path, sizeof(path), "/srv/dms/customers/顧客 %llu.csv", seq);
	a.path = path;
	a.dev = (8ULL << 20) | 1;
	a.ino = 1000 + seq;
	a.opened_ns = 1795578906000000000ULL + seq * 1000;
	a.last_ns = a.closed_ns = a.opened_ns + 500;
	a.bytes_read = seq * 4096;
	a.reads = seq;
	a.service = "sshd";
	a.rhost = "203.0.113.7";
	return emit(pw_ecs_from_access(&a, "dms01"), LOG_INFO, "access", NULL, 0, a.last_ns);
}

static int send_alert(void)
{
	static const enum pw_severity sev[] = { PW_SEV_LOW, PW_SEV_MEDIUM, PW_SEV_HIGH,
						PW_SEV_CRITICAL };
	struct pw_alert al = { .audit_session = 17, .session_id = 42, .score = 2.5 };
	struct pw_syslog_param params[2];

	seq++;
	al.severity = sev[seq % 4];
	al.time_ns = 1795578906000000000ULL + seq * 1000;
	snprintf(al.rule_id, sizeof(al.rule_id), "bulk-read");
	snprintf(al.user, sizeof(al.user), "田中");
	snprintf(al.reason, sizeof(al.reason), "alert %llu: read [\"everything\"] \\ fast", seq);
	params[0] = (struct pw_syslog_param){ "rule", al.rule_id };
	params[1] = (struct pw_syslog_param){ "severity", pw_severity_name(al.severity) };
	return emit(pw_ecs_from_alert(&al, "dms01"), pw_severity_to_syslog(al.severity), "alert",
		    params, 2, al.time_ns);
}

static int send_session(void)
{
	struct pw_session_record r = { .type = PW_REC_SESSION_OPEN };

	seq++;
	snprintf(r.id, sizeof(r.id), "%020llu-4242-abcdef", seq);
	snprintf(r.user, sizeof(r.user), "tanaka");
	snprintf(r.service, sizeof(r.service), "sshd");
	snprintf(r.rhost, sizeof(r.rhost), "198.51.100.7");
	snprintf(r.boot_id, sizeof(r.boot_id), BOOT);
	r.uid = 1001;
	r.pid = 4242;
	r.loginuid = 1001;
	r.sessionid = 17;
	r.time_ns = 1795578906000000000ULL + seq * 1000;
	return emit(pw_ecs_from_session(&r, "dms01"), LOG_INFO, "session", NULL, 0, r.time_ns);
}

static bool connected(void)
{
	struct pw_syslog_health h;

	pw_syslog_get_health(out, &h);
	return h.connected;
}

/* Run the output for up to ms (commands wait meanwhile), until want()
 * gives value. */
static bool loop_until(int ms, bool (*want)(void), bool value)
{
	uint64_t end = pw_now_monotonic_ns() + (uint64_t)ms * 1000000ULL;

	while (want() != value) {
		struct pollfd p = { .fd = pw_syslog_fd(out), .events = POLLIN };
		uint64_t now = pw_now_monotonic_ns();

		if (now >= end)
			return false;
		if (poll(&p, 1, (int)((end - now) / 1000000ULL) + 1) > 0)
			pw_syslog_tick(out);
	}
	return true;
}

static void command(char *line, bool *quit)
{
	char word[32];
	long n = 0;
	int rc = 0;

	if (sscanf(line, "%31s %ld", word, &n) < 1) {
		printf("error: empty command\n");
		return;
	}
	if (strcmp(word, "access") == 0 || strcmp(word, "alert") == 0 ||
	    strcmp(word, "session") == 0) {
		for (; n > 0 && rc == 0; n--)
			rc = word[1] == 'c' ? send_access() : word[1] == 'l' ? send_alert() :
					      send_session();
		printf(rc ? "error: send failed\n" : "ok\n");
	} else if (strcmp(word, "health") == 0) {
		struct pw_syslog_health h;

		pw_syslog_get_health(out, &h);
		printf("connected=%d queued=%zu sent=%llu dropped=%llu connects=%llu failures=%llu "
		       "error=%s\n", h.connected, h.queued, (unsigned long long)h.sent,
		       (unsigned long long)h.dropped, (unsigned long long)h.connects,
		       (unsigned long long)h.connect_failures, h.last_error);
	} else if (strcmp(word, "wait-connected") == 0) {
		printf(loop_until((int)n, connected, true) ? "ok\n" : "timeout\n");
	} else if (strcmp(word, "wait-disconnected") == 0) {
		printf(loop_until((int)n, connected, false) ? "ok\n" : "timeout\n");
	} else if (strcmp(word, "drain") == 0) {
		printf(pw_syslog_drain(out, (int)n) == 0 ? "ok\n" : "timeout\n");
	} else if (strcmp(word, "quit") == 0) {
		*quit = true;
		printf("ok\n");
	} else {
		printf("error: unknown command %s\n", word);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct pw_syslog_config cfg = { .sd_id = "piiwatch@32473" };
	struct epoll_event ev = { .events = EPOLLIN };
	char err[256], buf[4096];
	size_t have = 0;
	bool quit = false;
	int i, epfd, rc = 1;

	if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
		return free_port();
	if (argc < 3) {
		fprintf(stderr, "usage: pw-syslog-send HOST PORT [options]\n");
		return 2;
	}
	cfg.host = argv[1];
	cfg.port = argv[2];
	for (i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--queue") == 0)
			cfg.queue_max = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--backoff-max") == 0)
			cfg.backoff_max_ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--facility") == 0)
			cfg.facility = pw_syslog_facility_from_name(argv[i + 1]);
		else if (strcmp(argv[i], "--sd-id") == 0)
			cfg.sd_id = argv[i + 1];
		else if (strcmp(argv[i], "--hostname") == 0)
			cfg.hostname = argv[i + 1];
		else if (strcmp(argv[i], "--expect") == 0 && !expect)
			expect = fopen(argv[i + 1], "a");
		else
			break;
	}
	if (i != argc) {
		fprintf(stderr, "pw-syslog-send: bad option %s\n", argv[i]);
		return 2;
	}
	cfg.backoff_min_ms = 50;
	out = pw_syslog_new(&cfg, err, sizeof(err));
	if (!out) {
		fprintf(stderr, "pw-syslog-send: %s\n", err);
		goto cleanup;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = STDIN_FILENO;
	epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
	ev.data.fd = pw_syslog_fd(out);
	ev.events = pw_syslog_events();
	epoll_ctl(epfd, EPOLL_CTL_ADD, pw_syslog_fd(out), &ev);
	while (!quit) {
		char *nl;
		ssize_t n;

		if (epoll_wait(epfd, &ev, 1, -1) < 1)
			continue;
		if (ev.data.fd != STDIN_FILENO) {
			pw_syslog_tick(out);
			continue;
		}
		n = read(STDIN_FILENO, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while (!quit && (nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			command(buf, &quit);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
	}
	close(epfd);
	rc = 0;
cleanup:
	pw_syslog_free(out);
	if (expect)
		fclose(expect);
	return rc;
}
