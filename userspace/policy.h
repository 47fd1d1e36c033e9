/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy file (piiwatch.conf(5)): INI-style sections of "key = value"
 * lines.  The parser reads untrusted text: every problem becomes a
 * diagnostic with file:line, and parsing goes on to report them all.
 */
#ifndef PW_POLICY_H
#define PW_POLICY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define PW_POLICY_MAX_LINE 4096
#define PW_POLICY_MAX_DATASETS 64
#define PW_POLICY_MAX_PATHS 4096     /* protected paths, all datasets together */
#define PW_POLICY_MAX_ALLOW 256      /* allowed programs per dataset */
#define PW_DATASET_NAME_MAX 64

#define PW_DEFAULT_CONFIG "/etc/piiwatch/piiwatch.conf"
#define PW_DEFAULT_STORE "/var/lib/piiwatch/piiwatch.db"
#define PW_DEFAULT_PAM_SOCKET "/run/piiwatch/pam.sock"
#define PW_DEFAULT_SPOOL "/var/spool/piiwatch"
#define PW_DEFAULT_CONTROL_SOCKET "/run/piiwatch/control.sock"
#define PW_DEFAULT_PIN_DIR "/sys/fs/bpf/piiwatch"
#define PW_DEFAULT_MAX_OPEN_FILES 65536
#define PW_MAX_OPEN_FILES_LIMIT 4194304  /* entries take about 160 bytes of kernel memory */
#define PW_DEFAULT_MAX_PROTECTED 65536
#define PW_MAX_PROTECTED_LIMIT 4194304   /* entries take about 90 bytes of kernel memory */
#define PW_DEFAULT_RING_BYTES (16ULL << 20)
#define PW_MIN_RING_BYTES (1ULL << 20)
#define PW_MAX_RING_BYTES (1ULL << 30)

struct pw_strlist {
	char **items;
	int *lines;                  /* where each item is in the file, 0: a default */
	size_t n;
};

struct pw_dataset {
	char name[PW_DATASET_NAME_MAX];
	struct pw_strlist paths;
	struct pw_strlist allow;
	int line;
};

/* An IPv4 or IPv6 network, address in network byte order. */
struct pw_cidr {
	uint8_t family;              /* AF_INET or AF_INET6 */
	uint8_t prefix;              /* 0..32 or 0..128 */
	uint8_t addr[16];
};

/* The detector's rules (docs/rules.md); [rule ID] sections configure them. */
enum pw_rule_id {
	PW_RULE_HONEYTOKEN,
	PW_RULE_BULK_READ,
	PW_RULE_ENUMERATION,
	PW_RULE_OFF_HOURS,
	PW_RULE_NEW_SOURCE,
	PW_RULE_FIRST_TOUCH,
	PW_RULE_STAGING,
	PW_RULE_EXFIL_CHAIN,
	PW_RULE_NO_SESSION,
	PW_RULE_PRIVILEGE_CHANGE,
	PW_RULE_DESTRUCTION,
	PW_RULE_BLIND_SPOT,
	PW_RULE_COUNT,
};

enum pw_rule_action {
	PW_ACTION_ALERT,
	PW_ACTION_QUARANTINE,        /* alert, and refuse the user's next logins */
};

/* One rule's settings; which thresholds a rule reads is in docs/rules.md. */
struct pw_rule_cfg {
	int enabled;
	int severity;                /* enum pw_severity */
	int action;                  /* enum pw_rule_action */
	uint64_t max_bytes;          /* bulk-read: bytes read */
	uint64_t max_files;          /* bulk-read, enumeration, destruction: distinct files */
	uint64_t min_bytes;          /* staging: bytes written */
	uint64_t window_ns;          /* how far back the rule looks */
	uint64_t min_days;           /* bulk-read, off-hours: active days before a habit counts */
	uint64_t factor;             /* bulk-read: how far above the user's usual high */
	uint64_t prefix4;            /* new-source: IPv4 network size */
	uint64_t prefix6;            /* new-source: IPv6 network size */
	struct pw_strlist programs;  /* staging: archivers; privilege-change: su, sudo ... */
	int line;                    /* of the [rule ID] header, 0: defaults */
};

#define PW_WEEK_MINUTES (7 * 24 * 60)

/* Where events and alerts are shipped besides the store. */
struct pw_outputs_cfg {
	char *jsonl_path;            /* NULL: off; "-": standard output */
	uint64_t jsonl_max_bytes;    /* rotate past this size; 0: never */
	unsigned jsonl_keep;         /* rotated files kept */
	char *syslog_host;           /* NULL: off */
	char *syslog_port;
	int syslog_facility;
	uint64_t syslog_queue;       /* messages held while the receiver is away */
	int audit;                   /* alerts into the Linux audit trail */
	int jsonl_line;              /* each section's header, 0: none */
	int syslog_line;
	int audit_line;
};

struct pw_policy {
	struct pw_dataset *datasets;
	size_t n_datasets;
	struct pw_strlist honeytokens;
	char *store_path;
	uint64_t retention_ns;       /* 0: keep forever */
	uint64_t store_max_bytes;    /* 0: no size cap */
	char *pam_socket;
	char *control_socket;
	char *spool_dir;
	char *pin_dir;
	int keep_attached;           /* leave the probes attached when the daemon stops */
	uint64_t delta_interval_ns;
	uint64_t max_open_files;     /* open protected files the kernel side can follow */
	uint64_t max_protected;      /* (dev, ino) entries of the kernel's protected map */
	uint64_t ring_bytes;         /* the kernel's ring buffer: a power of two */
	struct pw_outputs_cfg out;
	/* [hours]: minute of the week (Monday 00:00 is 0, local time) set
	 * when it is working time. */
	uint8_t working[PW_WEEK_MINUTES / 8];
	int have_hours;
	struct pw_cidr *trusted;     /* [networks] trusted */
	size_t n_trusted;
	uint64_t learning_ns;        /* [detector] learning */
	uint64_t baseline_days;      /* [detector] baseline_days */
	uint64_t repeat_ns;          /* [detector] repeat */
	struct pw_rule_cfg rules[PW_RULE_COUNT];
};

enum pw_diag_level { PW_DIAG_WARNING, PW_DIAG_ERROR };

struct pw_diag {
	enum pw_diag_level level;
	int line;                    /* 0: about the file as a whole */
	char msg[256];
};

struct pw_diags {
	char *file;
	struct pw_diag *items;
	size_t n;
	size_t errors;
};

/* Parse a policy held in memory; name is used in diagnostics.  Returns the
 * policy, or NULL when there were errors (all of them are in diags). */
struct pw_policy *pw_policy_parse(const char *name, const char *buf, size_t len,
				  struct pw_diags *diags);

/* Read and parse a file.  Paths that do not exist are warnings. */
struct pw_policy *pw_policy_load(const char *path, struct pw_diags *diags);

void pw_policy_free(struct pw_policy *p);
void pw_diags_free(struct pw_diags *d);

/* Write every diagnostic as "file:line: error: message" lines. */
void pw_diags_print(const struct pw_diags *d, FILE *out);

/* Dataset id used in the kernel map for honeytoken files: one past the
 * datasets. */
static inline uint32_t pw_policy_honeytoken_id(const struct pw_policy *p)
{
	return (uint32_t)p->n_datasets;
}

/* A rule's id ("bulk-read"), and the reverse (-1: unknown). */
const char *pw_rule_name(enum pw_rule_id id);
int pw_rule_from_name(const char *name);

/* True when minute_of_week (0: Monday 00:00) is working time. */
static inline int pw_policy_is_working(const struct pw_policy *p, unsigned minute_of_week)
{
	return minute_of_week < PW_WEEK_MINUTES &&
	       (p->working[minute_of_week / 8] >> (minute_of_week % 8)) & 1;
}

/* True when the address (4 or 16 bytes, network order) is in a trusted
 * network. */
int pw_policy_is_trusted(const struct pw_policy *p, int family, const uint8_t *addr);

/* True when the CIDR holds the address. */
int pw_cidr_contains(const struct pw_cidr *c, int family, const uint8_t *addr);

/* Name of a dataset id as the kernel reports it, "?" when unknown. */
const char *pw_policy_dataset_name(const struct pw_policy *p, uint32_t id);

#endif
