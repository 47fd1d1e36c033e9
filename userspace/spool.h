/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The spool: session records that could not be handed to the daemon, one
 * file per record, written to a temporary name, synced and renamed into
 * place so that a crash leaves either a whole record or none.  Names sort
 * in the order the records were made.
 */
#ifndef PW_SPOOL_H
#define PW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define PW_SPOOL_SUFFIX ".rec"
#define PW_SPOOL_DEFAULT_MAX_RECORDS 10000
#define PW_SPOOL_MAX_RECORD 65536

/* Create dir (mode 0700) if it is missing, then require a directory owned
 * by root that neither group nor others can write.  -1 and a reason in err
 * otherwise. */
int pw_spool_prepare(const char *dir, char *err, size_t err_size);

/* Store one record named id.  Fails with errno ENOSPC when the spool holds
 * max_records already. */
int pw_spool_write(const char *dir, const char *id, const char *data, size_t len,
		   uint64_t max_records, char *err, size_t err_size);

/*
 * Hand every record to cb in name order.  cb returns 0 when the record is
 * safely stored (the file is then removed), 1 when the record is invalid
 * (it is renamed to "bad-NAME" and kept for inspection) or -1 to stop.
 * Returns the number of records handed over, or -1 on a directory error.
 */
typedef int (*pw_spool_cb)(const char *name, const char *data, size_t len, void *arg);
int pw_spool_drain(const char *dir, pw_spool_cb cb, void *arg);

/* Number of records waiting. */
long pw_spool_count(const char *dir);

#endif
