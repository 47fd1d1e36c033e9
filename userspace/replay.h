/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `piiwatch replay`: the detector over piiwatchd's JSON Lines, offline,
 * with time taken from the records.  What it prints for a file is what the
 * daemon raised live when it wrote that file, given the same policy and
 * the same time zone (TZ): the records are fed in order through the same
 * library (userspace/detector.c).
 */
#ifndef PW_REPLAY_H
#define PW_REPLAY_H

/* argv[0] is "replay"; returns the exit status. */
int pw_cli_replay(int argc, char **argv);

#endif
