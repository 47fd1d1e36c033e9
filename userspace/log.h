/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's log: stderr, which systemd hands to the journal. */
#ifndef PW_LOG_H
#define PW_LOG_H

#include <syslog.h>

/* Messages above this syslog level are dropped (LOG_INFO by default). */
void pw_log_set_level(int level);
void pw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
