#!/usr/bin/env bash
# Run the whole suite, on FLEETWARD_TEST_WORKERS processes (default 2, the
# machine's cores; 0 runs in this process). pytest's exit code 5 ("no tests
# collected") means the suite is broken, not green: report it as such.
set -uo pipefail
cd "$(dirname "$0")/.."
workers="${FLEETWARD_TEST_WORKERS:-2}"
started=$(date +%s)
.venv/bin/pytest -n "$workers" "$@"
status=$?
echo "tests took $(( $(date +%s) - started )) s on $workers workers"
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: the suite is broken" >&2
    exit 1
fi
exit "$status"
