#!/usr/bin/env bash
# Run the whole suite. pytest's exit code 5 ("no tests collected") means the
# suite is broken, not green: report it as such.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: the suite is broken" >&2
    exit 1
fi
exit "$status"
