#!/usr/bin/env bash
# The offline unit suite (pytest tests/unit) under each other supported Python (LAKEHOUSE_TEST_PYTHONS, default
# 3.10 3.12 3.13), in the venvs of scripts/setup-pythons.sh. The versions run side by side: the suite spends
# most of its time waiting on sockets, timeouts and subprocesses, not on the CPU. Each log is kept in
# .venv-py<version>/unit.log; the first failure prints its end and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=()
for version in ${LAKEHOUSE_TEST_PYTHONS-3.10 3.12 3.13}; do
  python=".venv-py$version/bin/python"
  [ -x "$python" ] || { echo "[test] no $python: run scripts/setup-pythons.sh" >&2; exit 1; }
  echo "[test] pytest tests/unit under Python $version"
  "$python" -m pytest tests/unit -q -p no:cacheprovider "$@" >".venv-py$version/unit.log" 2>&1 &
  runs+=("$!:$version")
done
status=0
for run in ${runs[@]+"${runs[@]}"}; do
  version=${run#*:}
  if wait "${run%%:*}"; then
    echo "[test] Python $version: $(tail -n 1 ".venv-py$version/unit.log")"
  else
    tail -n 60 ".venv-py$version/unit.log"
    echo "[test] the unit suite failed under Python $version (log: .venv-py$version/unit.log)" >&2
    status=1
  fi
done
exit $status
