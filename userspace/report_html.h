/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `piiwatch report --html FILE`: one self-contained HTML file (inline CSS,
 * SVG charts written here, no scripts, no fetches) with a summary, the
 * alerts and their reasons, per-user volume over time, an hour-of-week
 * heat map of access, and the top files and programs.
 */
#ifndef PW_REPORT_HTML_H
#define PW_REPORT_HTML_H

#include <sqlite3.h>
#include <stdio.h>

#include "cli_common.h"

/* 0, or -1 after a store error (message on stderr). */
int pw_report_html(sqlite3 *db, const struct pw_filter *f, FILE *out);

#endif
