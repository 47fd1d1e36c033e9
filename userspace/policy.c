// SPDX-License-Identifier: GPL-2.0
#include "policy.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PW_POLICY_MAX_FILE (4u << 20)

enum section {
	SEC_NONE,
	SEC_STORE,
	SEC_DAEMON,
	SEC_DATASET,
	SEC_HONEYTOKENS,
	SEC_OUT_JSONL,
	SEC_OUT_SYSLOG,
	SEC_OUT_AUDIT,
	SEC_UNKNOWN,
};

struct parser {
	struct pw_policy *p;
	struct pw_diags *diags;
	enum section sec;
	struct pw_dataset *ds;
	size_t total_paths;
	int line;
};

static void diag(struct pw_diags *d, enum pw_diag_level level, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag(struct pw_diags *d, enum pw_diag_level level, int line, const char *fmt, ...)
{
	struct pw_diag *n;
	va_list ap;

	if (level == PW_DIAG_ERROR)
		d->errors++;
	n = realloc(d->items, (d->n + 1) * sizeof(*n));
	if (!n)
		return;
	d->items = n;
	n = &d->items[d->n++];
	n->level = level;
	n->line = line;
	va_start(ap, fmt);
	vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
	va_end(ap);
}

static int strlist_add(struct pw_strlist *l, const char *s)
{
	char **n = realloc(l->items, (l->n + 1) * sizeof(*n));

	if (!n)
		return -1;
	l->items = n;
	l->items[l->n] = strdup(s);
	if (!l->items[l->n])
		return -1;
	l->n++;
	return 0;
}

static void strlist_free(struct pw_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static bool valid_dataset_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= PW_DATASET_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static void begin_section(struct parser *ps, char *hdr)
{
	char *name, *arg;
	size_t i;

	name = trim(hdr);
	arg = strpbrk(name, " \t");
	if (arg) {
		*arg++ = '\0';
		arg = trim(arg);
	}
	ps->ds = NULL;
	ps->sec = SEC_UNKNOWN;
	if (strcmp(name, "dataset") == 0) {
		if (!arg || !valid_dataset_name(arg)) {
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "expected [dataset NAME] with NAME of letters, digits, '-', '_' or '.' (at most %d)",
			     PW_DATASET_NAME_MAX - 1);
			return;
		}
		for (i = 0; i < ps->p->n_datasets; i++) {
			if (strcmp(ps->p->datasets[i].name, arg) == 0) {
				diag(ps->diags, PW_DIAG_ERROR, ps->line,
				     "dataset '%s' already defined at line %d", arg,
				     ps->p->datasets[i].line);
				return;
			}
		}
		if (ps->p->n_datasets >= PW_POLICY_MAX_DATASETS) {
			diag(ps->diags, PW_DIAG_ERROR, ps->line, "more than %d datasets",
			     PW_POLICY_MAX_DATASETS);
			return;
		}
		{
			struct pw_dataset *n = realloc(ps->p->datasets,
						       (ps->p->n_datasets + 1) * sizeof(*n));
			if (!n) {
				diag(ps->diags, PW_DIAG_ERROR, ps->line, "out of memory");
				return;
			}
			ps->p->datasets = n;
			ps->ds = &n[ps->p->n_datasets++];
			memset(ps->ds, 0, sizeof(*ps->ds));
			snprintf(ps->ds->name, sizeof(ps->ds->name), "%s", arg);
			ps->ds->line = ps->line;
		}
		ps->sec = SEC_DATASET;
		return;
	}
	if (strcmp(name, "output") == 0) {
		if (arg && strcmp(arg, "jsonl") == 0)
			ps->sec = SEC_OUT_JSONL;
		else if (arg && strcmp(arg, "syslog") == 0)
			ps->sec = SEC_OUT_SYSLOG;
		else if (arg && strcmp(arg, "audit") == 0)
			ps->sec = SEC_OUT_AUDIT;
		else
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "expected [output jsonl], [output syslog] or [output audit]");
		if (ps->sec != SEC_UNKNOWN && !ps->p->out.line)
			ps->p->out.line = ps->line;
		return;
	}
	if (arg) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "section [%s] takes no name", name);
		return;
	}
	if (strcmp(name, "store") == 0)
		ps->sec = SEC_STORE;
	else if (strcmp(name, "daemon") == 0)
		ps->sec = SEC_DAEMON;
	else if (strcmp(name, "honeytokens") == 0)
		ps->sec = SEC_HONEYTOKENS;
	else
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "unknown section [%s]: expected [store], [daemon], [dataset NAME], [honeytokens] "
		     "or [output NAME]",
		     name);
}

static bool check_abs_path(struct parser *ps, const char *key, const char *v)
{
	if (v[0] != '/') {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "%s: expected an absolute path, got '%s'",
		     key, v);
		return false;
	}
	if (strlen(v) >= 4096) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "%s: path longer than 4095 bytes", key);
		return false;
	}
	return true;
}

static void set_string(struct parser *ps, char **dst, const char *key, const char *v)
{
	if (!check_abs_path(ps, key, v))
		return;
	free(*dst);
	*dst = strdup(v);
}

static void set_duration(struct parser *ps, uint64_t *dst, const char *key, const char *v,
			 uint64_t min_ns)
{
	uint64_t ns;

	if (pw_parse_duration_ns(v, &ns) || ns < min_ns) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "%s: expected a duration like 500ms, 30s, 10m, 2h or 90d%s, got '%s'", key,
		     min_ns ? " (not below 100ms)" : "", v);
		return;
	}
	*dst = ns;
}

static void add_protected(struct parser *ps, struct pw_strlist *l, const char *key, const char *v)
{
	if (!check_abs_path(ps, key, v))
		return;
	if (ps->total_paths >= PW_POLICY_MAX_PATHS) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "more than %d protected paths",
		     PW_POLICY_MAX_PATHS);
		return;
	}
	ps->total_paths++;
	if (strlist_add(l, v))
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "out of memory");
}

static int parse_yes_no(struct parser *ps, const char *key, const char *v, int *dst)
{
	if (strcmp(v, "yes") == 0)
		*dst = 1;
	else if (strcmp(v, "no") == 0)
		*dst = 0;
	else {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "%s: expected yes or no, got '%s'", key, v);
		return -1;
	}
	return 0;
}

static void set_number(struct parser *ps, uint64_t *dst, const char *key, const char *v,
		       uint64_t min, uint64_t max)
{
	uint64_t n;

	if (pw_parse_u64(v, max, &n) || n < min)
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "%s: expected a whole number from %llu to %llu, got '%s'", key,
		     (unsigned long long)min, (unsigned long long)max, v);
	else
		*dst = n;
}

static const char *const facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
	"local2", "local3", "local4", "local5", "local6", "local7",
};

static void unknown_key(struct parser *ps, const char *key, const char *expected)
{
	diag(ps->diags, PW_DIAG_ERROR, ps->line, "unknown key '%s': expected %s", key, expected);
}

static void assign(struct parser *ps, const char *key, const char *v)
{
	switch (ps->sec) {
	case SEC_NONE:
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "'%s' outside any section: start with a [section] header", key);
		return;
	case SEC_UNKNOWN:
		return; /* already reported at the header */
	case SEC_STORE:
		if (strcmp(key, "path") == 0)
			set_string(ps, &ps->p->store_path, key, v);
		else if (strcmp(key, "retention") == 0)
			set_duration(ps, &ps->p->retention_ns, key, v, 0);
		else if (strcmp(key, "max_size") == 0) {
			if (pw_parse_size(v, &ps->p->store_max_bytes))
				diag(ps->diags, PW_DIAG_ERROR, ps->line,
				     "max_size: expected a size like 500M or 2G, got '%s'", v);
		} else
			unknown_key(ps, key, "path, retention or max_size");
		return;
	case SEC_DAEMON:
		if (strcmp(key, "pam_socket") == 0)
			set_string(ps, &ps->p->pam_socket, key, v);
		else if (strcmp(key, "control_socket") == 0)
			set_string(ps, &ps->p->control_socket, key, v);
		else if (strcmp(key, "pin_dir") == 0) {
			if (strncmp(v, "/sys/fs/bpf/", 12) != 0 || strchr(v + 12, '.'))
				diag(ps->diags, PW_DIAG_ERROR, ps->line,
				     "pin_dir: expected a directory below /sys/fs/bpf/ without '.' "
				     "(bpffs refuses it in names), got '%s'", v);
			else
				set_string(ps, &ps->p->pin_dir, key, v);
		} else if (strcmp(key, "keep_attached") == 0) {
			parse_yes_no(ps, key, v, &ps->p->keep_attached);
		}
		else if (strcmp(key, "spool") == 0)
			set_string(ps, &ps->p->spool_dir, key, v);
		else if (strcmp(key, "delta_interval") == 0)
			set_duration(ps, &ps->p->delta_interval_ns, key, v, 100000000ULL);
		else
			unknown_key(ps, key,
				    "pam_socket, control_socket, spool, pin_dir, keep_attached or delta_interval");
		return;
	case SEC_DATASET:
		if (strcmp(key, "path") == 0)
			add_protected(ps, &ps->ds->paths, key, v);
		else if (strcmp(key, "allow") == 0) {
			if (!check_abs_path(ps, key, v))
				return;
			if (ps->ds->allow.n >= PW_POLICY_MAX_ALLOW)
				diag(ps->diags, PW_DIAG_ERROR, ps->line,
				     "more than %d allowed programs", PW_POLICY_MAX_ALLOW);
			else if (strlist_add(&ps->ds->allow, v))
				diag(ps->diags, PW_DIAG_ERROR, ps->line, "out of memory");
		} else
			unknown_key(ps, key, "path or allow");
		return;
	case SEC_HONEYTOKENS:
		if (strcmp(key, "path") == 0)
			add_protected(ps, &ps->p->honeytokens, key, v);
		else
			unknown_key(ps, key, "path");
		return;
	case SEC_OUT_JSONL:
		if (strcmp(key, "path") == 0) {
			if (strcmp(v, "-") != 0 && !check_abs_path(ps, key, v))
				return;
			free(ps->p->out.jsonl_path);
			ps->p->out.jsonl_path = strdup(v);
		} else if (strcmp(key, "max_size") == 0) {
			if (pw_parse_size(v, &ps->p->out.jsonl_max_bytes))
				diag(ps->diags, PW_DIAG_ERROR, ps->line,
				     "max_size: expected a size like 100M, got '%s'", v);
		} else if (strcmp(key, "keep") == 0) {
			uint64_t n = ps->p->out.jsonl_keep;

			set_number(ps, &n, key, v, 1, 100);
			ps->p->out.jsonl_keep = (unsigned)n;
		} else
			unknown_key(ps, key, "path, max_size or keep");
		return;
	case SEC_OUT_SYSLOG:
		if (strcmp(key, "host") == 0) {
			free(ps->p->out.syslog_host);
			ps->p->out.syslog_host = strdup(v);
		} else if (strcmp(key, "port") == 0) {
			uint64_t n = 0;

			set_number(ps, &n, key, v, 1, 65535);
			if (n) {
				free(ps->p->out.syslog_port);
				ps->p->out.syslog_port = strdup(v);
			}
		} else if (strcmp(key, "facility") == 0) {
			size_t i;

			for (i = 1; i < sizeof(facilities) / sizeof(facilities[0]); i++)
				if (strcmp(v, facilities[i]) == 0)
					break;
			if (i == sizeof(facilities) / sizeof(facilities[0]))
				diag(ps->diags, PW_DIAG_ERROR, ps->line,
				     "facility: expected a syslog facility such as authpriv or local3, got '%s'",
				     v);
			else
				ps->p->out.syslog_facility = (int)i;
		} else if (strcmp(key, "queue") == 0) {
			set_number(ps, &ps->p->out.syslog_queue, key, v, 1, 10000000);
		} else
			unknown_key(ps, key, "host, port, facility or queue");
		return;
	case SEC_OUT_AUDIT:
		if (strcmp(key, "alerts") == 0)
			parse_yes_no(ps, key, v, &ps->p->out.audit);
		else
			unknown_key(ps, key, "alerts");
		return;
	}
}

static void parse_line(struct parser *ps, char *raw)
{
	char *s = trim(raw), *eq, *key, *val;

	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	if (!pw_is_clean_utf8(s)) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "line is not valid UTF-8 text or holds control characters");
		return;
	}
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close || *trim(close + 1) != '\0') {
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "expected a section header like [dataset customers]");
			return;
		}
		*close = '\0';
		begin_section(ps, s + 1);
		return;
	}
	eq = strchr(s, '=');
	if (!eq) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "expected 'key = value'");
		return;
	}
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (*key == '\0') {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "missing key before '='");
		return;
	}
	if (*val == '\0') {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "%s: missing value after '='", key);
		return;
	}
	assign(ps, key, val);
}

static int set_defaults(struct pw_policy *p)
{
	if (!p->store_path)
		p->store_path = strdup(PW_DEFAULT_STORE);
	if (!p->pam_socket)
		p->pam_socket = strdup(PW_DEFAULT_PAM_SOCKET);
	if (!p->spool_dir)
		p->spool_dir = strdup(PW_DEFAULT_SPOOL);
	if (!p->control_socket)
		p->control_socket = strdup(PW_DEFAULT_CONTROL_SOCKET);
	if (!p->pin_dir)
		p->pin_dir = strdup(PW_DEFAULT_PIN_DIR);
	if (!p->out.syslog_port)
		p->out.syslog_port = strdup("514");
	if (!p->out.syslog_facility)
		p->out.syslog_facility = 10; /* authpriv: who accessed what is sensitive */
	if (!p->out.syslog_queue)
		p->out.syslog_queue = 10000;
	if (!p->out.jsonl_keep)
		p->out.jsonl_keep = 5;
	if (!p->delta_interval_ns)
		p->delta_interval_ns = 5000000000ULL;
	return p->store_path && p->pam_socket && p->spool_dir && p->control_socket && p->pin_dir &&
			       p->out.syslog_port ? 0 : -1;
}

struct pw_policy *pw_policy_parse(const char *name, const char *buf, size_t len,
				  struct pw_diags *diags)
{
	struct parser ps = { 0 };
	char line[PW_POLICY_MAX_LINE + 1];
	size_t i = 0;

	memset(diags, 0, sizeof(*diags));
	diags->file = strdup(name ? name : "<policy>");
	ps.diags = diags;
	ps.p = calloc(1, sizeof(*ps.p));
	if (!ps.p) {
		diag(diags, PW_DIAG_ERROR, 0, "out of memory");
		return NULL;
	}
	while (i < len) {
		size_t n = 0;
		bool too_long = false, nul = false;

		ps.line++;
		while (i < len && buf[i] != '\n') {
			if (buf[i] == '\0')
				nul = true;
			if (n < PW_POLICY_MAX_LINE)
				line[n++] = buf[i];
			else
				too_long = true;
			i++;
		}
		i++; /* the newline */
		line[n] = '\0';
		if (nul)
			diag(diags, PW_DIAG_ERROR, ps.line, "line holds a NUL byte");
		else if (too_long)
			diag(diags, PW_DIAG_ERROR, ps.line, "line longer than %d bytes",
			     PW_POLICY_MAX_LINE);
		else
			parse_line(&ps, line);
	}
	if (set_defaults(ps.p))
		diag(diags, PW_DIAG_ERROR, 0, "out of memory");
	for (i = 0; i < ps.p->n_datasets; i++)
		if (ps.p->datasets[i].paths.n == 0)
			diag(diags, PW_DIAG_ERROR, ps.p->datasets[i].line,
			     "dataset '%s' has no path", ps.p->datasets[i].name);
	if (diags->errors) {
		pw_policy_free(ps.p);
		return NULL;
	}
	return ps.p;
}

static void warn_missing(const struct pw_strlist *l, const char *what, struct pw_diags *diags)
{
	struct stat st;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (stat(l->items[i], &st) != 0)
			diag(diags, PW_DIAG_WARNING, 0, "%s path %s: %s (not protected until it exists)",
			     what, l->items[i], strerror(errno));
}

struct pw_policy *pw_policy_load(const char *path, struct pw_diags *diags)
{
	struct pw_policy *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		int err = errno;

		memset(diags, 0, sizeof(*diags));
		diags->file = strdup(path);
		diag(diags, PW_DIAG_ERROR, 0, "cannot open: %s", strerror(err));
		return NULL;
	}
	buf = malloc(PW_POLICY_MAX_FILE + 1);
	if (buf)
		len = fread(buf, 1, PW_POLICY_MAX_FILE + 1, f);
	if (!buf || ferror(f) || len > PW_POLICY_MAX_FILE) {
		memset(diags, 0, sizeof(*diags));
		diags->file = strdup(path);
		diag(diags, PW_DIAG_ERROR, 0, "%s",
		     !buf ? "out of memory" :
		     ferror(f) ? "read error" : "file larger than 4 MiB");
		goto cleanup;
	}
	p = pw_policy_parse(path, buf, len, diags);
	if (p) {
		size_t i;

		for (i = 0; i < p->n_datasets; i++)
			warn_missing(&p->datasets[i].paths, p->datasets[i].name, diags);
		warn_missing(&p->honeytokens, "honeytoken", diags);
	}
cleanup:
	free(buf);
	fclose(f);
	return p;
}

void pw_policy_free(struct pw_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_datasets; i++) {
		strlist_free(&p->datasets[i].paths);
		strlist_free(&p->datasets[i].allow);
	}
	free(p->datasets);
	strlist_free(&p->honeytokens);
	free(p->store_path);
	free(p->pam_socket);
	free(p->control_socket);
	free(p->pin_dir);
	free(p->out.jsonl_path);
	free(p->out.syslog_host);
	free(p->out.syslog_port);
	free(p->spool_dir);
	free(p);
}

void pw_diags_free(struct pw_diags *d)
{
	free(d->file);
	free(d->items);
	memset(d, 0, sizeof(*d));
}

void pw_diags_print(const struct pw_diags *d, FILE *out)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct pw_diag *g = &d->items[i];
		const char *lvl = g->level == PW_DIAG_ERROR ? "error" : "warning";

		if (g->line)
			fprintf(out, "%s:%d: %s: %s\n", d->file, g->line, lvl, g->msg);
		else
			fprintf(out, "%s: %s: %s\n", d->file, lvl, g->msg);
	}
}

const char *pw_policy_dataset_name(const struct pw_policy *p, uint32_t id)
{
	if (id < p->n_datasets)
		return p->datasets[id].name;
	if (id == pw_policy_honeytoken_id(p))
		return "honeytoken";
	return "?";
}
