#!/usr/bin/env bash
# The project's test command (README, .ci/run): set up the machine, lint, type-check, run the offline unit
# suite under each other supported Python (scripts/test-pythons.sh; LAKEHOUSE_TEST_PYTHONS, default
# "3.10 3.12 3.13"), then the unit, integration (real local stack) and Kubernetes (real API server) tests
# together under the main one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${LAKEHOUSE_VENV:-$PWD/.venv}
echo "[test] ruff"
"$VENV/bin/ruff" check
"$VENV/bin/ruff" format --check
echo "[test] mypy --strict"
"$VENV/bin/mypy"
scripts/test-pythons.sh
echo "[test] pytest"
exec "$VENV/bin/pytest" --durations=15 "$@"
