// SPDX-License-Identifier: GPL-2.0
#include "policy.h"
#include "alert.h"
#include "util.h"

#include <arpa/inet.h>
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
	SEC_HOURS,
	SEC_NETWORKS,
	SEC_DETECTOR,
	SEC_RULE,
	SEC_UNKNOWN,
};

/* The settings a [rule ID] section may hold besides enabled, severity
 * and action. */
enum rule_key {
	RK_MAX_BYTES = 1 << 0,
	RK_MAX_FILES = 1 << 1,
	RK_MIN_BYTES = 1 << 2,
	RK_WINDOW = 1 << 3,
	RK_MIN_DAYS = 1 << 4,
	RK_FACTOR = 1 << 5,
	RK_PREFIX = 1 << 6,
	RK_PROGRAMS = 1 << 7,
};

static const struct rule_def {
	const char *id;
	enum pw_severity severity;
	unsigned keys;
	uint64_t max_bytes, max_files, min_bytes, window_ns, min_days, factor;
	const char *programs;
} rule_defs[PW_RULE_COUNT] = {
	[PW_RULE_HONEYTOKEN] = { "honeytoken", PW_SEV_CRITICAL, 0 },
	[PW_RULE_BULK_READ] = { "bulk-read", PW_SEV_HIGH,
				RK_MAX_BYTES | RK_MAX_FILES | RK_WINDOW | RK_MIN_DAYS | RK_FACTOR,
				.max_bytes = 64ULL << 20, .max_files = 1000,
				.window_ns = 3600ULL * 1000000000ULL, .min_days = 5, .factor = 5 },
	[PW_RULE_ENUMERATION] = { "enumeration", PW_SEV_HIGH, RK_MAX_FILES | RK_WINDOW,
				  .max_files = 200, .window_ns = 60ULL * 1000000000ULL },
	[PW_RULE_OFF_HOURS] = { "off-hours", PW_SEV_MEDIUM, RK_MIN_DAYS, .min_days = 3 },
	[PW_RULE_NEW_SOURCE] = { "new-source", PW_SEV_MEDIUM, RK_PREFIX },
	[PW_RULE_FIRST_TOUCH] = { "first-touch", PW_SEV_LOW, 0 },
	[PW_RULE_STAGING] = { "staging", PW_SEV_HIGH, RK_MIN_BYTES | RK_PROGRAMS,
			      .min_bytes = 16384,
			      .programs = "tar gzip gunzip pigz bzip2 pbzip2 xz lzma zstd lz4 zip "
					  "7z 7za 7zr rar cpio" },
	[PW_RULE_EXFIL_CHAIN] = { "exfil-chain", PW_SEV_CRITICAL, RK_WINDOW,
				  .window_ns = 600ULL * 1000000000ULL },
	[PW_RULE_NO_SESSION] = { "no-session", PW_SEV_MEDIUM, 0 },
	[PW_RULE_PRIVILEGE_CHANGE] = { "privilege-change", PW_SEV_MEDIUM, RK_WINDOW | RK_PROGRAMS,
				       .window_ns = 3600ULL * 1000000000ULL,
				       .programs = "su sudo sudoedit pkexec doas run0" },
	[PW_RULE_DESTRUCTION] = { "destruction", PW_SEV_HIGH, RK_MAX_FILES | RK_WINDOW,
				  .max_files = 20, .window_ns = 60ULL * 1000000000ULL },
	[PW_RULE_BLIND_SPOT] = { "blind-spot", PW_SEV_HIGH, 0 },
};

struct parser {
	struct pw_policy *p;
	struct pw_diags *diags;
	enum section sec;
	struct pw_dataset *ds;
	struct pw_rule_cfg *rule;
	const struct rule_def *rule_def;
	bool rule_programs_set;      /* programs given: the defaults are dropped */
	/* An output's key given, even with a bad value (reported there). */
	bool jsonl_path_set, syslog_host_set, audit_alerts_set;
	size_t total_paths;
	int line;
	int hours_line;
	int networks_line;
	int detector_line;
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

static int strlist_add(struct pw_strlist *l, const char *s, int line)
{
	char **n = realloc(l->items, (l->n + 1) * sizeof(*n));
	int *lines;

	if (!n)
		return -1;
	l->items = n;
	lines = realloc(l->lines, (l->n + 1) * sizeof(*lines));
	if (!lines)
		return -1;
	l->lines = lines;
	l->lines[l->n] = line;
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
	free(l->lines);
	l->items = NULL;
	l->lines = NULL;
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

const char *pw_rule_name(enum pw_rule_id id)
{
	return (unsigned)id < PW_RULE_COUNT ? rule_defs[id].id : "?";
}

int pw_rule_from_name(const char *name)
{
	int i;

	for (i = 0; i < PW_RULE_COUNT; i++)
		if (strcmp(name, rule_defs[i].id) == 0)
			return i;
	return -1;
}

static void begin_rule(struct parser *ps, const char *id)
{
	char known[512];
	size_t o = 0;
	int i = id ? pw_rule_from_name(id) : -1;

	if (i < 0) {
		for (i = 0; i < PW_RULE_COUNT && o < sizeof(known); i++)
			o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s", i ? ", " : "",
					      rule_defs[i].id);
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "expected [rule ID] with ID one of %s",
		     known);
		return;
	}
	if (ps->p->rules[i].line) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "rule '%s' already configured at line %d",
		     id, ps->p->rules[i].line);
		return;
	}
	ps->rule = &ps->p->rules[i];
	ps->rule_def = &rule_defs[i];
	ps->rule->line = ps->line;
	ps->rule_programs_set = false;
	ps->sec = SEC_RULE;
}

/* One section per output: a second would silently replace the first. */
static void begin_output(struct parser *ps, const char *kind)
{
	struct pw_outputs_cfg *o = &ps->p->out;
	enum section sec = SEC_UNKNOWN;
	int *header = NULL;

	if (kind && strcmp(kind, "jsonl") == 0) {
		sec = SEC_OUT_JSONL;
		header = &o->jsonl_line;
	} else if (kind && strcmp(kind, "syslog") == 0) {
		sec = SEC_OUT_SYSLOG;
		header = &o->syslog_line;
	} else if (kind && strcmp(kind, "audit") == 0) {
		sec = SEC_OUT_AUDIT;
		header = &o->audit_line;
	}
	if (!header) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "expected [output jsonl], [output syslog] or [output audit]");
		return;
	}
	if (*header) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "[output %s] already configured at line %d",
		     kind, *header);
		return;
	}
	*header = ps->line;
	ps->sec = sec;
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
	ps->rule = NULL;
	ps->sec = SEC_UNKNOWN;
	if (strcmp(name, "dataset") == 0) {
		if (!arg || !valid_dataset_name(arg)) {
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "expected [dataset NAME] with NAME of letters, digits, '-', '_' or '.' (at most %d)",
			     PW_DATASET_NAME_MAX - 1);
			return;
		}
		/* The names records give honeytoken and staging accesses. */
		if (strcmp(arg, "honeytoken") == 0 || strcmp(arg, "staging") == 0) {
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "dataset name '%s' is reserved: records use it for %s", arg,
			     arg[0] == 'h' ? "honeytokens ([honeytokens])" :
					     "files written after protected reads");
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
		begin_output(ps, arg);
		return;
	}
	if (strcmp(name, "rule") == 0) {
		begin_rule(ps, arg);
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
	else if (strcmp(name, "hours") == 0)
		ps->sec = SEC_HOURS;
	else if (strcmp(name, "networks") == 0)
		ps->sec = SEC_NETWORKS;
	else if (strcmp(name, "detector") == 0)
		ps->sec = SEC_DETECTOR;
	else
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "unknown section [%s]: expected [store], [daemon], [dataset NAME], [honeytokens], "
		     "[output NAME], [hours], [networks], [detector] or [rule ID]",
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
		char least[48] = "";

		if (min_ns % 1000000000ULL == 0 && min_ns)
			snprintf(least, sizeof(least), " (not below %llus)",
				 (unsigned long long)(min_ns / 1000000000ULL));
		else if (min_ns)
			snprintf(least, sizeof(least), " (not below %llums)",
				 (unsigned long long)(min_ns / 1000000ULL));
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "%s: expected a duration like 500ms, 30s, 10m, 2h or 90d%s, got '%s'", key, least,
		     v);
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
	if (strlist_add(l, v, ps->line))
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

/* The kernel's ring buffer: a power of two, as BPF ring buffers are. */
static void set_ring_size(struct parser *ps, const char *v)
{
	uint64_t n = 0;

	if (pw_parse_size(v, &n) || n < PW_MIN_RING_BYTES || n > PW_MAX_RING_BYTES || (n & (n - 1)))
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "ring_size: expected a power of two from 1M to 1G, like 16M or 64M, got '%s'",
		     v);
	else
		ps->p->ring_bytes = n;
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

static const char *const day_names[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

static int day_index(const char *s, size_t n)
{
	int i;

	for (i = 0; i < 7; i++)
		if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "H:MM" or "HH:MM" into minutes of the day; 24:00 only as an end. */
static int parse_clock(const char *s, size_t n, bool end, unsigned *out)
{
	unsigned h = 0, m;
	size_t i, colon = n;

	for (i = 0; i < n; i++)
		if (s[i] == ':')
			colon = i;
	if (colon == 0 || colon > 2 || n - colon != 3)
		return -1;
	for (i = 0; i < n; i++) {
		if (i == colon)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -1;
	}
	for (i = 0; i < colon; i++)
		h = h * 10 + (unsigned)(s[i] - '0');
	m = (unsigned)(s[colon + 1] - '0') * 10 + (unsigned)(s[colon + 2] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
		return -1;
	*out = h * 60 + m;
	return 0;
}

static void set_working(struct pw_policy *p, unsigned from, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++) {
		unsigned m = (from + i) % PW_WEEK_MINUTES;

		p->working[m / 8] |= (uint8_t)(1u << (m % 8));
	}
}

/* "Mon-Fri 08:00-19:00", "Sat,Sun 10:00-14:00", "Fri 22:00-06:00" (into
 * Saturday morning). */
static void add_working_hours(struct parser *ps, const char *v)
{
	bool days[7] = { false };
	const char *sp = strpbrk(v, " \t"), *p, *dash, *times;
	unsigned from, to;
	int d;

	if (!sp)
		goto bad;
	for (p = v; p < sp;) {
		const char *comma = memchr(p, ',', (size_t)(sp - p));
		const char *item_end = comma ? comma : sp;
		int a, b;

		dash = memchr(p, '-', (size_t)(item_end - p));
		a = day_index(p, (size_t)((dash ? dash : item_end) - p));
		b = dash ? day_index(dash + 1, (size_t)(item_end - dash - 1)) : a;
		if (a < 0 || b < 0)
			goto bad;
		for (d = a;; d = (d + 1) % 7) {
			days[d] = true;
			if (d == b)
				break;
		}
		p = comma ? comma + 1 : sp;
	}
	times = sp;
	while (*times == ' ' || *times == '\t')
		times++;
	dash = strchr(times, '-');
	if (!dash || parse_clock(times, (size_t)(dash - times), false, &from) ||
	    parse_clock(dash + 1, strlen(dash + 1), true, &to))
		goto bad;
	if (from == to) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "working: the time range %s is empty (use 00:00-24:00 for a whole day)", times);
		return;
	}
	for (d = 0; d < 7; d++)
		if (days[d])
			set_working(ps->p, (unsigned)d * 1440 + from,
				    to > from ? to - from : 1440 - from + to);
	ps->p->have_hours = 1;
	return;
bad:
	diag(ps->diags, PW_DIAG_ERROR, ps->line,
	     "working: expected DAYS HH:MM-HH:MM such as 'Mon-Fri 08:00-19:00' or "
	     "'Sat,Sun 09:00-13:00', got '%s'",
	     v);
}

int pw_cidr_contains(const struct pw_cidr *c, int family, const uint8_t *addr)
{
	unsigned bits = c->prefix, i;

	if (c->family != family)
		return 0;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (c->addr[i] != addr[i])
			return 0;
	return bits == 0 || ((c->addr[i] ^ addr[i]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

int pw_policy_is_trusted(const struct pw_policy *p, int family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < p->n_trusted; i++)
		if (pw_cidr_contains(&p->trusted[i], family, addr))
			return 1;
	return 0;
}

static void add_trusted_one(struct parser *ps, const char *tok)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(tok, '/');
	size_t n = slash ? (size_t)(slash - tok) : strlen(tok);
	struct pw_cidr c = { 0 }, *grown;
	uint64_t prefix;
	unsigned i, max;
	bool masked = false;

	if (n == 0 || n >= sizeof(addr))
		goto bad;
	memcpy(addr, tok, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, c.addr) == 1)
		c.family = AF_INET6;
	else
		goto bad;
	max = c.family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash && pw_parse_u64(slash + 1, max, &prefix))
		goto bad;
	c.prefix = (uint8_t)prefix;
	for (i = 0; i < max / 8; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? (unsigned)prefix - i * 8 : 0;
		uint8_t mask = (uint8_t)(0xff00 >> keep);

		if (c.addr[i] & ~mask)
			masked = true;
		c.addr[i] &= mask;
	}
	if (masked)
		diag(ps->diags, PW_DIAG_WARNING, ps->line,
		     "trusted: %s has bits set beyond its /%u prefix; they are ignored", tok,
		     c.prefix);
	grown = realloc(ps->p->trusted, (ps->p->n_trusted + 1) * sizeof(*grown));
	if (!grown) {
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "out of memory");
		return;
	}
	ps->p->trusted = grown;
	grown[ps->p->n_trusted++] = c;
	return;
bad:
	diag(ps->diags, PW_DIAG_ERROR, ps->line,
	     "trusted: expected an IPv4 or IPv6 network such as 10.0.0.0/8 or fd00::/8, got '%s'",
	     tok);
}

/* Apply fn to each word of a list separated by spaces or commas. */
static void each_word(struct parser *ps, const char *v, void (*fn)(struct parser *, const char *))
{
	char buf[PW_POLICY_MAX_LINE + 1], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save))
		fn(ps, tok);
}

static void add_rule_program(struct parser *ps, const char *tok)
{
	if (ps->rule->programs.n >= PW_POLICY_MAX_ALLOW)
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "programs: more than %d programs",
		     PW_POLICY_MAX_ALLOW);
	else if (tok[0] != '/' && strchr(tok, '/'))
		diag(ps->diags, PW_DIAG_ERROR, ps->line,
		     "programs: expected a program name or an absolute path, got '%s'", tok);
	else if (strlist_add(&ps->rule->programs, tok, ps->line))
		diag(ps->diags, PW_DIAG_ERROR, ps->line, "out of memory");
}

static void assign_rule(struct parser *ps, const char *key, const char *v)
{
	struct pw_rule_cfg *r = ps->rule;
	unsigned keys = ps->rule_def->keys;
	char expected[256];
	enum pw_severity sev;

	if (strcmp(key, "enabled") == 0) {
		parse_yes_no(ps, key, v, &r->enabled);
	} else if (strcmp(key, "severity") == 0) {
		if (pw_severity_from_name(v, &sev))
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "severity: expected low, medium, high or critical, got '%s'", v);
		else
			r->severity = sev;
	} else if (strcmp(key, "action") == 0) {
		if (strcmp(v, "alert") == 0)
			r->action = PW_ACTION_ALERT;
		else if (strcmp(v, "quarantine") == 0)
			r->action = PW_ACTION_QUARANTINE;
		else
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "action: expected alert or quarantine, got '%s'", v);
	} else if ((keys & RK_MAX_BYTES) && strcmp(key, "max_bytes") == 0) {
		if (pw_parse_size(v, &r->max_bytes) || r->max_bytes == 0)
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "max_bytes: expected a size like 100M or 2G, got '%s'", v);
	} else if ((keys & RK_MIN_BYTES) && strcmp(key, "min_bytes") == 0) {
		if (pw_parse_size(v, &r->min_bytes))
			diag(ps->diags, PW_DIAG_ERROR, ps->line,
			     "min_bytes: expected a size like 16K or 1M, got '%s'", v);
	} else if ((keys & RK_MAX_FILES) && strcmp(key, "max_files") == 0) {
		set_number(ps, &r->max_files, key, v, 1, 1000000000);
	} else if ((keys & RK_WINDOW) && strcmp(key, "window") == 0) {
		set_duration(ps, &r->window_ns, key, v, 1000000000ULL);
	} else if ((keys & RK_MIN_DAYS) && strcmp(key, "min_days") == 0) {
		set_number(ps, &r->min_days, key, v, 1, 366);
	} else if ((keys & RK_FACTOR) && strcmp(key, "factor") == 0) {
		set_number(ps, &r->factor, key, v, 1, 1000);
	} else if ((keys & RK_PREFIX) && strcmp(key, "prefix4") == 0) {
		set_number(ps, &r->prefix4, key, v, 0, 32);
	} else if ((keys & RK_PREFIX) && strcmp(key, "prefix6") == 0) {
		set_number(ps, &r->prefix6, key, v, 0, 128);
	} else if ((keys & RK_PROGRAMS) && strcmp(key, "programs") == 0) {
		if (!ps->rule_programs_set) {
			strlist_free(&r->programs);
			ps->rule_programs_set = true;
		}
		each_word(ps, v, add_rule_program);
	} else {
		snprintf(expected, sizeof(expected), "enabled, severity, action%s%s%s%s%s%s%s%s",
			 keys & RK_MAX_BYTES ? ", max_bytes" : "",
			 keys & RK_MAX_FILES ? ", max_files" : "",
			 keys & RK_MIN_BYTES ? ", min_bytes" : "", keys & RK_WINDOW ? ", window" : "",
			 keys & RK_MIN_DAYS ? ", min_days" : "", keys & RK_FACTOR ? ", factor" : "",
			 keys & RK_PREFIX ? ", prefix4, prefix6" : "",
			 keys & RK_PROGRAMS ? ", programs" : "");
		unknown_key(ps, key, expected);
	}
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
		else if (strcmp(key, "max_open_files") == 0)
			set_number(ps, &ps->p->max_open_files, key, v, 1, PW_MAX_OPEN_FILES_LIMIT);
		else if (strcmp(key, "max_protected_inodes") == 0)
			set_number(ps, &ps->p->max_protected, key, v, 1, PW_MAX_PROTECTED_LIMIT);
		else if (strcmp(key, "ring_size") == 0)
			set_ring_size(ps, v);
		else
			unknown_key(ps, key,
				    "pam_socket, control_socket, spool, pin_dir, keep_attached, "
				    "delta_interval, max_open_files, max_protected_inodes or ring_size");
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
			else if (strlist_add(&ps->ds->allow, v, ps->line))
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
			ps->jsonl_path_set = true;
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
			ps->syslog_host_set = true;
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
		if (strcmp(key, "alerts") == 0) {
			parse_yes_no(ps, key, v, &ps->p->out.audit);
			ps->audit_alerts_set = true;
		} else {
			unknown_key(ps, key, "alerts");
		}
		return;
	case SEC_HOURS:
		if (strcmp(key, "working") == 0)
			add_working_hours(ps, v);
		else
			unknown_key(ps, key, "working");
		return;
	case SEC_NETWORKS:
		if (strcmp(key, "trusted") == 0)
			each_word(ps, v, add_trusted_one);
		else
			unknown_key(ps, key, "trusted");
		return;
	case SEC_DETECTOR:
		if (strcmp(key, "learning") == 0)
			set_duration(ps, &ps->p->learning_ns, key, v, 0);
		else if (strcmp(key, "baseline_days") == 0)
			set_number(ps, &ps->p->baseline_days, key, v, 1, 366);
		else if (strcmp(key, "repeat") == 0)
			set_duration(ps, &ps->p->repeat_ns, key, v, 1000000000ULL);
		else
			unknown_key(ps, key, "learning, baseline_days or repeat");
		return;
	case SEC_RULE:
		assign_rule(ps, key, v);
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

/* An output section without what it needs would be silently off. */
static void check_outputs(struct parser *ps)
{
	const struct pw_outputs_cfg *o = &ps->p->out;

	if (o->jsonl_line && !ps->jsonl_path_set)
		diag(ps->diags, PW_DIAG_ERROR, o->jsonl_line,
		     "[output jsonl] has no path: name the file, or - for standard output");
	if (o->syslog_line && !ps->syslog_host_set)
		diag(ps->diags, PW_DIAG_ERROR, o->syslog_line,
		     "[output syslog] has no host: name the receiver");
	if (o->audit_line && !ps->audit_alerts_set)
		diag(ps->diags, PW_DIAG_ERROR, o->audit_line,
		     "[output audit] has no alerts line: alerts = yes sends alerts to the audit trail");
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
	/* Also how soon the detector sees bytes read through a file held open. */
	if (!p->delta_interval_ns)
		p->delta_interval_ns = 1000000000ULL;
	if (!p->max_open_files)
		p->max_open_files = PW_DEFAULT_MAX_OPEN_FILES;
	if (!p->max_protected)
		p->max_protected = PW_DEFAULT_MAX_PROTECTED;
	if (!p->ring_bytes)
		p->ring_bytes = PW_DEFAULT_RING_BYTES;
	return p->store_path && p->pam_socket && p->spool_dir && p->control_socket && p->pin_dir &&
			       p->out.syslog_port ? 0 : -1;
}

/* Set before parsing, since 0 is a value a policy may choose (learning = 0). */
static int set_detector_defaults(struct pw_policy *p)
{
	char buf[256], *save = NULL, *tok;
	int i;

	p->learning_ns = 14ULL * 86400 * 1000000000ULL;
	p->baseline_days = 30;
	p->repeat_ns = 3600ULL * 1000000000ULL;
	for (i = 0; i < PW_RULE_COUNT; i++) {
		const struct rule_def *d = &rule_defs[i];
		struct pw_rule_cfg *r = &p->rules[i];

		r->enabled = 1;
		r->severity = d->severity;
		r->action = PW_ACTION_ALERT;
		r->max_bytes = d->max_bytes;
		r->max_files = d->max_files;
		r->min_bytes = d->min_bytes;
		r->window_ns = d->window_ns;
		r->min_days = d->min_days;
		r->factor = d->factor;
		r->prefix4 = 24;
		r->prefix6 = 64;
		if (!d->programs)
			continue;
		snprintf(buf, sizeof(buf), "%s", d->programs);
		for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (strlist_add(&r->programs, tok, 0))
				return -1;
	}
	return 0;
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
	if (!ps.p || set_detector_defaults(ps.p)) {
		diag(diags, PW_DIAG_ERROR, 0, "out of memory");
		pw_policy_free(ps.p);
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
	check_outputs(&ps);
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
			diag(diags, PW_DIAG_WARNING, l->lines[i],
			     "%s path %s: %s (not protected until it exists)",
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
	for (i = 0; i < PW_RULE_COUNT; i++)
		strlist_free(&p->rules[i].programs);
	free(p->trusted);
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
