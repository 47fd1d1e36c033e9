// SPDX-License-Identifier: GPL-2.0
/*
 * piiwatch: review what piiwatchd recorded.  Opens the store read-only.
 */
#include <errno.h>
#include <getopt.h>
#include <json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "event_text.h"
#include "policy.h"
#include "store.h"
#include "util.h"

#define PW_VERSION "0.1.0"

struct cli {
	const char *store_path;
	const char *control_path;
	bool json;
	const char *user;
	uint64_t limit;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: piiwatch [OPTION]... COMMAND [ARG]...\n"
		"Review who read or changed protected customer data.\n"
		"\n"
		"Commands:\n"
		"  accesses            accesses to protected files, newest last\n"
		"  sessions            login sessions recorded through pam_piiwatch\n"
		"  policy check FILE   validate a policy file; errors and warnings as FILE:LINE\n"
		"  status              the daemon's health: hook mode, events/s, lost events, store\n"
		"  reload              make the daemon re-read its policy (root only)\n"
		"\n"
		"Options:\n"
		"      --store PATH    the store (default %s)\n"
		"      --control-socket PATH  the daemon's control socket (default %s)\n"
		"      --user USER     only this login user\n"
		"  -n, --limit N       at most N rows (default 1000)\n"
		"      --json          one JSON object per line instead of text\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 nothing found or the policy has errors, 2 bad usage,\n"
		"3 the store or the daemon cannot be reached.\n",
		PW_DEFAULT_STORE, PW_DEFAULT_CONTROL_SOCKET);
}

static const char *col_text(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : NULL;
}

static sqlite3 *open_store(const struct cli *c)
{
	char err[512];
	struct pw_store *s;
	sqlite3 *db = NULL;

	/* Validates the schema version first, with a clear message. */
	s = pw_store_open(c->store_path, true, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "piiwatch: %s\n", err);
		return NULL;
	}
	pw_store_close(s);
	if (sqlite3_open_v2(c->store_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: cannot open %s: %s\n", c->store_path,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void json_add_text(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void json_add_int(json_object *o, const char *k, sqlite3_stmt *q, int i)
{
	if (sqlite3_column_type(q, i) != SQLITE_NULL)
		json_object_object_add(o, k, json_object_new_int64(sqlite3_column_int64(q, i)));
}

static int cmd_accesses(const struct cli *c)
{
	static const char sql[] =
		"SELECT * FROM (SELECT a.id, a.opened_ns, a.last_ns, a.closed_ns, "
		"coalesce(s.user, a.user), a.audit_session, a.session_id, s.service, s.rhost, "
		"a.pid, a.comm, a.exe, a.args, a.dataset, a.path, a.bytes_read, a.bytes_written, "
		"a.reads, a.writes, a.honeytoken, a.uid "
		"FROM accesses a LEFT JOIN sessions s ON s.id = a.session_id "
		"WHERE (?1 IS NULL OR coalesce(s.user, a.user) = ?1) "
		"ORDER BY a.opened_ns DESC, a.id DESC LIMIT ?2) ORDER BY 2, 1";
	sqlite3 *db = open_store(c);
	sqlite3_stmt *q = NULL;
	int found = 0;

	if (!db)
		return 3;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: %s: %s\n", c->store_path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 3;
	}
	if (c->user)
		sqlite3_bind_text(q, 1, c->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)c->limit);
	while (sqlite3_step(q) == SQLITE_ROW) {
		found++;
		if (c->json) {
			json_object *o = json_object_new_object();

			json_add_int(o, "id", q, 0);
			json_add_int(o, "opened_ns", q, 1);
			json_add_int(o, "last_ns", q, 2);
			json_add_int(o, "closed_ns", q, 3);
			json_add_text(o, "user", col_text(q, 4));
			json_add_int(o, "audit_session", q, 5);
			json_add_int(o, "session_id", q, 6);
			json_add_text(o, "service", col_text(q, 7));
			json_add_text(o, "rhost", col_text(q, 8));
			json_add_int(o, "pid", q, 9);
			json_add_text(o, "comm", col_text(q, 10));
			json_add_text(o, "exe", col_text(q, 11));
			json_add_text(o, "args", col_text(q, 12));
			json_add_text(o, "dataset", col_text(q, 13));
			json_add_text(o, "path", col_text(q, 14));
			json_add_int(o, "bytes_read", q, 15);
			json_add_int(o, "bytes_written", q, 16);
			json_add_int(o, "reads", q, 17);
			json_add_int(o, "writes", q, 18);
			json_object_object_add(o, "honeytoken",
					       json_object_new_boolean(sqlite3_column_int(q, 19)));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			struct pw_access a = { 0 };
			char line[10240];

			a.opened_ns = (uint64_t)sqlite3_column_int64(q, 1);
			a.last_ns = (uint64_t)sqlite3_column_int64(q, 2);
			a.closed_ns = (uint64_t)sqlite3_column_int64(q, 3);
			a.user = (char *)col_text(q, 4);
			a.audit_session = sqlite3_column_type(q, 5) == SQLITE_NULL ?
						  PW_NO_ID : (uint32_t)sqlite3_column_int64(q, 5);
			a.session_id = sqlite3_column_int64(q, 6);
			a.service = (char *)col_text(q, 7);
			a.rhost = (char *)col_text(q, 8);
			a.pid = (uint32_t)sqlite3_column_int64(q, 9);
			snprintf(a.comm, sizeof(a.comm), "%s", col_text(q, 10) ? col_text(q, 10) : "?");
			a.exe = (char *)col_text(q, 11);
			a.dataset = (char *)col_text(q, 13);
			a.path = (char *)col_text(q, 14);
			a.bytes_read = (uint64_t)sqlite3_column_int64(q, 15);
			a.bytes_written = (uint64_t)sqlite3_column_int64(q, 16);
			a.honeytoken = sqlite3_column_int(q, 19);
			a.uid = (uint32_t)sqlite3_column_int64(q, 20);
			pw_access_format_line(&a, line, sizeof(line));
			printf("%s\n", line);
		}
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return found ? 0 : 1;
}

static int cmd_sessions(const struct cli *c)
{
	static const char sql[] =
		"SELECT * FROM (SELECT id, boot_id, audit_session, loginuid, user, uid, service, "
		"rhost, ruser, tty, pid, opened_ns, closed_ns FROM sessions "
		"WHERE (?1 IS NULL OR user = ?1) ORDER BY id DESC LIMIT ?2) ORDER BY 1";
	sqlite3 *db = open_store(c);
	sqlite3_stmt *q = NULL;
	int found = 0;

	if (!db)
		return 3;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "piiwatch: %s: %s\n", c->store_path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 3;
	}
	if (c->user)
		sqlite3_bind_text(q, 1, c->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)c->limit);
	while (sqlite3_step(q) == SQLITE_ROW) {
		found++;
		if (c->json) {
			json_object *o = json_object_new_object();

			json_add_int(o, "id", q, 0);
			json_add_text(o, "boot_id", col_text(q, 1));
			json_add_int(o, "audit_session", q, 2);
			json_add_int(o, "loginuid", q, 3);
			json_add_text(o, "user", col_text(q, 4));
			json_add_int(o, "uid", q, 5);
			json_add_text(o, "service", col_text(q, 6));
			json_add_text(o, "rhost", col_text(q, 7));
			json_add_text(o, "ruser", col_text(q, 8));
			json_add_text(o, "tty", col_text(q, 9));
			json_add_int(o, "pid", q, 10);
			json_add_int(o, "opened_ns", q, 11);
			json_add_int(o, "closed_ns", q, 12);
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			char opened[32], closed[32] = "open";

			pw_format_time((uint64_t)sqlite3_column_int64(q, 11), opened, sizeof(opened));
			if (sqlite3_column_type(q, 12) != SQLITE_NULL)
				pw_format_time((uint64_t)sqlite3_column_int64(q, 12), closed,
					       sizeof(closed));
			printf("%-6lld %-12s %-10s %-16s session %-8s %s .. %s\n",
			       (long long)sqlite3_column_int64(q, 0), col_text(q, 4),
			       col_text(q, 6) ? col_text(q, 6) : "?",
			       col_text(q, 7) ? col_text(q, 7) : "-",
			       col_text(q, 2) ? col_text(q, 2) : "none", opened, closed);
		}
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return found ? 0 : 1;
}

/* One request to the daemon's control socket; the reply is returned
 * parsed, or NULL with a message on stderr. */
static json_object *control_request(const struct cli *c, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	char req[64], buf[8192];
	json_object *reply = NULL;
	ssize_t n;
	int fd;

	if (strlen(c->control_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "piiwatch: control socket path too long\n");
		return NULL;
	}
	memcpy(sa.sun_path, c->control_path, strlen(c->control_path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "piiwatch: cannot reach piiwatchd at %s: %s%s\n", c->control_path,
			strerror(errno), errno == EACCES ? " (needs root or group piiwatch)" :
			errno == ENOENT || errno == ECONNREFUSED ? " (is piiwatchd running?)" : "");
		goto cleanup;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}", cmd);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 || (n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0) {
		fprintf(stderr, "piiwatch: no answer from piiwatchd at %s\n", c->control_path);
		goto cleanup;
	}
	buf[n] = '\0';
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		fprintf(stderr, "piiwatch: malformed answer from piiwatchd\n");
		json_object_put(reply);
		reply = NULL;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return reply;
}

static int reply_ok(json_object *r)
{
	json_object *v;

	return json_object_object_get_ex(r, "ok", &v) && json_object_get_boolean(v);
}

static int cmd_status(const struct cli *c)
{
	json_object *r = control_request(c, "status");

	if (!r)
		return 3;
	if (c->json) {
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	} else {
		json_object_object_foreach(r, key, val) {
			if (strcmp(key, "ok") == 0)
				continue;
			printf("%-22s %s\n", key, json_object_get_string(val));
		}
	}
	json_object_put(r);
	return 0;
}

static int cmd_reload(const struct cli *c)
{
	json_object *r = control_request(c, "reload"), *e;
	int rc;

	if (!r)
		return 3;
	rc = reply_ok(r) ? 0 : 1;
	if (rc == 0)
		printf("policy reloaded\n");
	else
		fprintf(stderr, "piiwatch: reload: %s\n",
			json_object_object_get_ex(r, "error", &e) ? json_object_get_string(e) :
								    "refused");
	json_object_put(r);
	return rc;
}

static int cmd_policy_check(const char *file)
{
	struct pw_diags diags;
	struct pw_policy *p = pw_policy_load(file, &diags);
	int rc = p ? 0 : 1;

	pw_diags_print(&diags, stderr);
	if (p)
		printf("%s: OK: %zu datasets, %zu honeytokens\n", file, p->n_datasets,
		       p->honeytokens.n);
	pw_policy_free(p);
	pw_diags_free(&diags);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "control-socket", required_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct cli c = { .store_path = PW_DEFAULT_STORE, .control_path = PW_DEFAULT_CONTROL_SOCKET,
			 .limit = 1000 };
	const char *verb;
	int opt;

	while ((opt = getopt_long(argc, argv, "+n:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.store_path = optarg;
			break;
		case 'C':
			c.control_path = optarg;
			break;
		case 'u':
			c.user = optarg;
			break;
		case 'n':
			if (pw_parse_u64(optarg, 1000000000, &c.limit) || c.limit == 0) {
				fprintf(stderr, "piiwatch: --limit: expected a number from 1, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("piiwatch %s\n", PW_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	verb = argv[optind++];
	if (strcmp(verb, "accesses") == 0 && optind == argc)
		return cmd_accesses(&c);
	if (strcmp(verb, "sessions") == 0 && optind == argc)
		return cmd_sessions(&c);
	if (strcmp(verb, "status") == 0 && optind == argc)
		return cmd_status(&c);
	if (strcmp(verb, "reload") == 0 && optind == argc)
		return cmd_reload(&c);
	if (strcmp(verb, "policy") == 0 && optind + 2 == argc && strcmp(argv[optind], "check") == 0)
		return cmd_policy_check(argv[optind + 1]);
	fprintf(stderr, "piiwatch: unknown command or wrong arguments: %s\n", verb);
	usage(stderr);
	return 2;
}
