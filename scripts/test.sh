#!/usr/bin/env bash
# The project's test command (README, .ci/run): set up the machine, lint, type-check, and run the unit,
# integration (real local stack) and Kubernetes (real API server) tests together.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${LAKEHOUSE_VENV:-$PWD/.venv}
echo "[test] ruff"
"$VENV/bin/ruff" check
"$VENV/bin/ruff" format --check
echo "[test] mypy --strict"
"$VENV/bin/mypy"
echo "[test] pytest"
exec "$VENV/bin/pytest" --durations=15 "$@"
