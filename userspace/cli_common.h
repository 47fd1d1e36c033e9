/* SPDX-License-Identifier: GPL-2.0 */
/* What the piiwatch CLI's verbs share: filters, time input, tables. */
#ifndef PW_CLI_COMMON_H
#define PW_CLI_COMMON_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes, as documented in piiwatch(1). */
enum {
	PW_EXIT_OK = 0,
	PW_EXIT_FOUND = 1,      /* alerts: some matched (0: none) */
	PW_EXIT_USAGE = 2,
	PW_EXIT_STORE = 3,      /* store or daemon unreachable, corrupt, wrong schema */
	PW_EXIT_DENIED = 4,     /* needs root */
};

struct pw_filter {
	int64_t since_ns;       /* 0: no lower bound */
	int64_t until_ns;       /* 0: no upper bound */
	const char *user;
	const char *dataset;
	const char *file;       /* a path, a directory (everything below) or a glob */
	const char *host;       /* remote host of the session */
	int severity;           /* alerts at least this severe; 0: any */
};

/*
 * Every listing's WHERE clause uses the same parameters, bound by
 * pw_cli_bind_filter(): ?1 since, ?2 until, ?3 user, ?4 dataset, ?5 file,
 * ?6 host, ?7 limit (unused ones are NULL).
 */
void pw_cli_bind_filter(sqlite3_stmt *q, const struct pw_filter *f, uint64_t limit);

/* A path column matches --file as the path itself, as a directory holding
 * it, or as a glob. */
#define PW_FILE_MATCH(col)                                                                \
	"(?5 IS NULL OR " col " = ?5 OR substr(" col ", 1, length(rtrim(?5, '/')) + 1) = "  \
	"rtrim(?5, '/') || '/' OR " col " GLOB ?5)"

/*
 * Parse --since/--until: "2h", "30m", "7d", "90s" ago; "@EPOCH"; or a local
 * date and time "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]", "YYYY-MM-DDTHH:MM[:SS]",
 * with a trailing "Z" for UTC.  Returns 0 or -1 with a message in err.
 */
int pw_parse_when(const char *s, int64_t now_ns, int64_t *out_ns, char *err, size_t err_size);

/* Open the store read-only, with a clear message for a missing, locked,
 * corrupt or wrong-version store.  NULL on failure (message on stderr). */
sqlite3 *pw_cli_open_store(const char *path);

/* Does the store have this table (older stores lack some)? */
bool pw_cli_has_table(sqlite3 *db, const char *table);

/* Colour only on a terminal and never with NO_COLOR set. */
bool pw_cli_colour(void);
const char *pw_cli_severity_colour(int severity);
#define PW_COLOUR_RESET "\033[0m"

/* Terminal width of standard output (COLUMNS when set), 0 when it is
 * not a terminal. */
int pw_cli_width(void);

/*
 * An aligned text table: add rows of n cells, then print.  On a terminal
 * narrower than the table, the flex column (-1: none) and the columns
 * given to pw_table_shrink() are shortened with "…", from the left
 * (keeping the end of a path) unless keep_start; if that is not enough,
 * the columns given to pw_table_drop() are left out in that order.  Off a
 * terminal every cell is printed whole.
 */
struct pw_table;
struct pw_table *pw_table_new(int ncols, const char *const *headers, int flex_col);
void pw_table_shrink(struct pw_table *t, int col, int min_width, bool keep_start);
void pw_table_drop(struct pw_table *t, const int *cols, int n);
void pw_table_add(struct pw_table *t, const char *const *cells, const char *colour);
void pw_table_print(struct pw_table *t, FILE *out);
void pw_table_free(struct pw_table *t);

/* "12.5 MiB", or "-" for 0 when dash is set. */
const char *pw_cli_bytes(uint64_t n, char *buf, size_t size);
/* Local "YYYY-MM-DD HH:MM:SS" of a realtime ns stamp, "-" for 0. */
const char *pw_cli_time(int64_t ns, char *buf, size_t size);

#endif
