// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the policy file parser, pw_policy_parse(), on any bytes,
 * with every diagnostic it produces printed as the daemon and
 * `piiwatch policy check` would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "we");
	return devnull ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_diags diags;
	struct pw_policy *p;

	p = pw_policy_parse("fuzz.conf", (const char *)data, size, &diags);
	/* A policy comes back exactly when no error was reported. */
	if ((p != NULL) != (diags.errors == 0))
		abort();
	if (p) {
		size_t i;

		for (i = 0; i <= p->n_datasets; i++)
			fputs(pw_policy_dataset_name(p, (uint32_t)i), devnull);
	}
	pw_diags_print(&diags, devnull);
	pw_policy_free(p);
	pw_diags_free(&diags);
	return 0;
}
