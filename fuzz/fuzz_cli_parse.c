// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what the CLI and the policy accept as times, ages,
 * durations, sizes and numbers: pw_parse_when(), pw_parse_duration_ns(),
 * pw_parse_size() and pw_parse_u64(), each on the same string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Local times depend on the zone: fix one with a daylight-saving
	 * past so that results are reproducible. */
	setenv("TZ", "America/New_York", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t nows[] = { 0, 1795578906000000000LL, INT64_MAX };
	static const uint64_t maxes[] = { 0, 65535, INT64_MAX, UINT64_MAX };
	char *s, err[256];
	uint64_t v;
	int64_t t;
	size_t i;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
		if (pw_parse_when(s, nows[i], &t, err, sizeof(err)) != 0 && err[0] == '\0')
			abort();
	pw_parse_duration_ns(s, &v);
	pw_parse_size(s, &v);
	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		if (pw_parse_u64(s, maxes[i], &v) == 0 && v > maxes[i])
			abort();
	free(s);
	return 0;
}
