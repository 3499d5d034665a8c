#!/usr/bin/env bash
# `make verify`: every check of tests/verify/ at full size (fault injection against
# real server processes, a compressed soak, schema fuzzing, the authorisation
# matrix, the secret scan, adversarial templates), then one table of what held.
set -uo pipefail
cd "$(dirname "$0")/.."
export FLEETWARD_VERIFY=full
# One process: the load and soak figures are then the checks' own.
export FLEETWARD_TEST_WORKERS=0
started=$(date +%s)
./scripts/run-tests.sh tests/verify -p no:cacheprovider --timeout=1800 "$@"
status=$?
echo "make verify took $(( $(date +%s) - started )) s"
exit "$status"
