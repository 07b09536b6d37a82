#!/usr/bin/env bash
# The project's demo command (README): set up the machine, start the local stack, and run the quickstart,
# which prints a table written by Spark and queried by Trino. Stop the stack afterwards with
# `.venv/bin/lakehouse down` (add --purge to delete its data).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LAKEHOUSE_VENV:-$PWD/.venv}
LAKEHOUSE_SKIP_KUBE_TOOLS=${LAKEHOUSE_SKIP_KUBE_TOOLS:-1} scripts/setup.sh
echo "[demo] lakehouse up --local"
"$VENV/bin/lakehouse" up --local
echo "[demo] python examples/quickstart.py"
exec "$VENV/bin/python" examples/quickstart.py "$@"
