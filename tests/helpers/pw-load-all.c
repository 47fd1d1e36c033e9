// SPDX-License-Identifier: GPL-2.0
/*
 * pw-load-all: load every program of piiwatch's BPF object on this
 * kernel, including those its daemon leaves out here (the 32-bit
 * dispatchers and their programs on a kernel without the 32-bit entry),
 * route the tail-called 32-bit programs into their tables as the daemon
 * does, and unload (pw_probes_verify_all).  A machine that attaches only
 * some programs would otherwise never have the verifier look at the
 * others.  Prints "loaded N absent A vpid yes|no routed M" (A: programs
 * whose hook this kernel lacks, left out; vpid: whether the programs that
 * call bpf_task_from_vpid were loaded); exits 1 with the reason if the
 * kernel refuses any.
 */
#include <stdio.h>

#include "log.h"
#include "probes.h"

int main(void)
{
	char err[512];
	int loaded = 0, absent = 0, routed = 0;
	bool vpid = false;

	if (pw_probes_verify_all(&loaded, &absent, &vpid, &routed, err, sizeof(err))) {
		fprintf(stderr, "pw-load-all: %s\n", err);
		return 1;
	}
	printf("loaded %d absent %d vpid %s routed %d\n", loaded, absent, vpid ? "yes" : "no",
	       routed);
	return 0;
}
