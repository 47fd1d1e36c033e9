#!/bin/bash
# The soak test (tests/soak.sh) for a minute: reads at 1000 a second,
# logins, reloads and a restart, then the books balanced.  `make soak`
# runs it for ten minutes.
SOAK_SECONDS=${PW_SOAK_SECONDS:-60} exec bash "$(dirname "$0")/../soak.sh"
