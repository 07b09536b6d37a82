#!/usr/bin/env bash
# One venv per other supported Python version (.venv-py3.10, .venv-py3.12, .venv-py3.13), for the offline unit
# suite that scripts/test-pythons.sh runs. The main environment (.venv, scripts/setup.sh) is the one the stack,
# the integration tests and mypy use. Each venv gets the same extras and pins as .venv (scripts/constraints.txt
# holds the 3.10 pins under markers); the interpreter is python3.X on PATH, else a pyenv build.
# LAKEHOUSE_TEST_PYTHONS picks the versions ("" for none). Idempotent: a venv that is up to date is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TEST_PYTHONS=${LAKEHOUSE_TEST_PYTHONS-3.10 3.12 3.13}

log() { printf '[setup-pythons %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

find_python() {  # an interpreter of version $1 (3.X) that really is that version, or nothing
  local candidate
  for candidate in "$(command -v "python$1" 2>/dev/null)" \
      $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$1".*/bin/python 2>/dev/null | sort -rV); do
    [ -n "$candidate" ] || continue
    "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$1'.split('.'))))" \
      2>/dev/null && { echo "$candidate"; return 0; }
  done
  return 1
}

for version in $TEST_PYTHONS; do
  venv="$ROOT/.venv-py$version"
  if [ ! -x "$venv/bin/python" ]; then
    interpreter=$(find_python "$version") || {
      echo "setup: no Python $version (python$version on PATH or a pyenv build); install it, or set" \
           "LAKEHOUSE_TEST_PYTHONS to the versions to test (now: '$TEST_PYTHONS')" >&2
      exit 1
    }
    log "creating $venv ($interpreter)"
    "$interpreter" -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import lakehouse_sdk, pyspark, trino, pytest, hypothesis" 2>/dev/null \
     || [ scripts/constraints.txt -nt "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
    log "installing lakehouse-sdk[all,dev] for Python $version (pinned by scripts/constraints.txt)"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -c scripts/constraints.txt -e ".[all,dev]"
    touch "$venv/.installed"
  fi
done
