/* SPDX-License-Identifier: GPL-2.0 */
/* One readable line per access, for the daemon's --print and the CLI. */
#ifndef PW_EVENT_TEXT_H
#define PW_EVENT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* The effective user's name when it is not the login user's (a program
 * run through su, sudo or a setuid program), else NULL: the lines below
 * add " as EUSER" after the session. */
const char *pw_other_user(const char *user, const char *euser);

/* "TIME USER session N (SERVICE from RHOST) EXE[PID] read N of PATH [DATASET]",
 * the time being when the access ended (or was last seen). */
void pw_access_format_line(const struct pw_access *a, char *out, size_t out_size);

/* The same without time and person: "EXE[PID] read N of PATH [DATASET]";
 * with_chain: "init[1] > sshd[812] > bash[901] > EXE[PID] read ...", the
 * program at the end of its parent chain (`piiwatch show`). */
void pw_access_format_what(const struct pw_access *a, bool with_chain, char *out,
			   size_t out_size);

#endif
