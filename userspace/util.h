/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the daemon, the CLI and the PAM module. */
#ifndef PW_UTIL_H
#define PW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PW_BOOT_ID_LEN 37 /* 36 characters and NUL */

/* snprintf into an error buffer, keeping errno as it was. */
void pw_set_err(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse a whole decimal string into [0, max].  "12abc", "", "-1" and values
 * above max are errors: returns -1 with errno EINVAL or ERANGE. */
int pw_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Parse a duration such as "250ms", "5s", "10m", "2h", "7d" (a bare number
 * means seconds) into nanoseconds. */
int pw_parse_duration_ns(const char *s, uint64_t *out_ns);

/* Parse a size such as "512", "64K", "10M", "2G" (powers of 1024). */
int pw_parse_size(const char *s, uint64_t *out);

/* The kernel's internal dev_t encoding (major << 20 | minor), as BPF
 * programs read it from super_block.s_dev. */
uint64_t pw_dev_to_kernel(dev_t dev);

/*
 * One line of /proc/self/mountinfo, split in place: the device numbers,
 * the mount point and the source, their \ooo escapes undone (a space is
 * \040, a newline \012).  0, or -1 for a line not of that shape (no " - "
 * separator, fields missing, numbers not numbers).
 */
struct pw_mountinfo {
	unsigned major, minor;
	char *mount_point;
	char *source;
};
int pw_mountinfo_parse(char *line, struct pw_mountinfo *m);

/* /proc/sys/kernel/random/boot_id, or "unknown". */
void pw_read_boot_id(char out[PW_BOOT_ID_LEN]);

/* Nanoseconds of CLOCK_REALTIME and CLOCK_MONOTONIC. */
uint64_t pw_now_realtime_ns(void);
uint64_t pw_now_monotonic_ns(void);

/*
 * Copy untrusted bytes into out as printable, valid UTF-8: control
 * characters (C0, DEL and C1, byte by byte), backslash and bytes that are
 * not part of a valid UTF-8 sequence become \xNN.  At most in_len bytes of
 * in are read (stopping at a NUL); the result is cut at a character
 * boundary to fit out_size.
 * Returns true when the input was copied unchanged and whole.
 */
bool pw_escape_untrusted(const char *in, size_t in_len, char *out, size_t out_size);

/* True when s holds only valid UTF-8 without C0, DEL or C1 controls. */
bool pw_is_clean_utf8(const char *s);

/*
 * Append s to the string of length len (< out_size) in out, cut to fit as
 * snprintf() cuts it; the result is always terminated.  Returns its
 * length.  For hot paths, where snprintf("%s") costs its format parsing.
 */
size_t pw_str_append(char *out, size_t out_size, size_t len, const char *s);

/* "1.5 MiB"-style human size into out. */
void pw_format_bytes(uint64_t bytes, char *out, size_t out_size);

/* Local time "YYYY-MM-DD HH:MM:SS" of a realtime nanosecond stamp. */
void pw_format_time(uint64_t realtime_ns, char *out, size_t out_size);

/* Directory levels and entries pw_find_inode() looks at, at most. */
#define PW_FIND_DEPTH 64

/*
 * Look for a non-directory with inode number ino below the directory dir,
 * on dir's own file system (mount points below it are not entered), by
 * reading directory entries (nothing below is opened but directories).
 * At most max_entries entries are read.
 * Returns 1 with the path below dir ("a/b/f", raw bytes) in rel; 0 when
 * it is not there; -1 when the search could not finish: errno ERANGE when
 * max_entries, PW_FIND_DEPTH or rel_size were not enough, else the error
 * of opening dir.  Subdirectories that cannot be read are skipped.
 */
int pw_find_inode(const char *dir, uint64_t ino, size_t max_entries, char *rel, size_t rel_size);

#endif
