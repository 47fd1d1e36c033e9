// SPDX-License-Identifier: GPL-2.0
/*
 * pw-native-only PROGRAM [ARGS...]: run PROGRAM under a seccomp filter that
 * lets through the native ABI's system calls only and kills the process on
 * any other (a 32-bit call), as systemd's SystemCallArchitectures=native
 * does.  Needs no_new_privs (set before, e.g. by setpriv --no-new-privs) or
 * CAP_SYS_ADMIN; it never sets no_new_privs itself, which would change what
 * PROGRAM may do.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "native_only.h"

#ifndef PW_NATIVE_AUDIT_ARCH
#error "pw-native-only: no native audit arch for this machine"
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pw-native-only PROGRAM [ARGS...]\n");
		return 2;
	}
	if (pw_native_only() != 0) {
		fprintf(stderr, "pw-native-only: cannot install the filter: %s%s\n", strerror(errno),
			errno == EACCES ? " (set no_new_privs first, or run with CAP_SYS_ADMIN)" : "");
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "pw-native-only: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
}
