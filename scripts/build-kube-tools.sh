#!/usr/bin/env bash
# build-kube-tools.sh - build a local Kubernetes control plane + kwok from the Go module proxy.
#
# Produces, in "$KUBE_BIN_DIR" (default ${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse-sdk}/kube/bin):
#   kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl
#
# Only Go (>= the "go" line of the pinned modules, see MIN_GO) and the Go module proxy are needed:
# no Docker, no GitHub release downloads, no dl.k8s.io.  Binaries whose reported version already
# matches the pins are skipped, so a second run is a no-op (a few seconds).
#
# Usage: scripts/build-kube-tools.sh [--force] [--print-bin-dir]
#   --force           rebuild everything even if the versions match
#   --print-bin-dir   print the bin dir and exit (handy for test fixtures)
# Env:
#   LAKEHOUSE_CACHE_DIR   cache root (default ~/.cache/lakehouse-sdk)
#   KUBE_BIN_DIR          override the output dir (default $LAKEHOUSE_CACHE_DIR/kube/bin)
#   KUBE_BUILD_NICE       nice level for the go builds (default 10)
#   GOFLAGS, GOCACHE, GOMODCACHE, GOPROXY are honoured as usual.
#
# Why wrapper modules: k8s.io/kubernetes uses `replace k8s.io/<staging> => ./staging/...` so
# `go install k8s.io/kubernetes/cmd/...@v1.x` is refused.  A tiny wrapper module that requires
# k8s.io/kubernetes and replaces every staging module with its published v0.x tag builds fine.
# etcd's server module has relative replaces too, so it gets a wrapper main calling etcdmain.Main.
set -euo pipefail

# ---------------------------------------------------------------- pinned versions
# kwok v0.8.0 lists 1.36.1 first in supported_releases.txt and uses it as its default
# KubeVersion; kwok's etcd table maps k8s 1.34-1.36 to etcd 3.6.x.
KUBE_VERSION=v1.36.1          # k8s.io/kubernetes
KUBE_STAGING_VERSION=v0.36.1  # k8s.io/api, k8s.io/apiserver, ... (all staging modules)
ETCD_VERSION=v3.6.16          # go.etcd.io/etcd/server/v3
KWOK_VERSION=v0.8.0           # sigs.k8s.io/kwok (kwok + kwokctl)
MIN_GO=1.26.0                 # highest "go" directive among the modules above
# If the local Go is older than MIN_GO, this toolchain is fetched through the module proxy.
FALLBACK_TOOLCHAIN=go1.26.8

# ---------------------------------------------------------------- paths / options
CACHE_ROOT=${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse-sdk}
KUBE_DIR=$CACHE_ROOT/kube
BIN_DIR=${KUBE_BIN_DIR:-$KUBE_DIR/bin}
BUILD_DIR=$KUBE_DIR/build
NICE=${KUBE_BUILD_NICE:-10}
FORCE=0

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --print-bin-dir) echo "$BIN_DIR"; exit 0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[build-kube-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH"

# ---------------------------------------------------------------- Go toolchain
version_ge() { # version_ge A B  -> A >= B (dotted numeric versions)
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}
LOCAL_GO=$(go env GOVERSION | sed 's/^go//; s/[^0-9.].*$//')
if ! version_ge "$LOCAL_GO" "$MIN_GO"; then
  log "local go $LOCAL_GO < $MIN_GO; using GOTOOLCHAIN=$FALLBACK_TOOLCHAIN (fetched via the module proxy)"
  export GOTOOLCHAIN=$FALLBACK_TOOLCHAIN
fi

export CGO_ENABLED=0
# Keep the user's GOFLAGS, but make sure VCS stamping never trips over the wrapper dirs.
case " ${GOFLAGS:-} " in *" -buildvcs="*) ;; *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac

GO=(nice -n "$NICE" go)

mkdir -p "$BIN_DIR" "$BUILD_DIR"

# Serialise concurrent runs (e.g. several pytest workers calling this at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$KUBE_DIR/.build.lock"
  flock 9
fi

# ---------------------------------------------------------------- helpers
# have_version, timed, write_if_changed
# shellcheck source-path=SCRIPTDIR source=lib/kube-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/kube-build.sh"

# ---------------------------------------------------------------- kubernetes
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

kube_needs_build() {
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    have_version "$c" "Kubernetes $KUBE_VERSION" --version || return 0
  done
  have_version kubectl "Client Version: $KUBE_VERSION" version --client || return 0
  return 1
}

prepare_kube_module() {
  local dir=$BUILD_DIR/kubernetes-$KUBE_VERSION
  mkdir -p "$dir"
  # Discover the staging modules from k8s.io/kubernetes' own go.mod (its `=> ./staging/...` lines).
  local gomod
  gomod=$(cd "$BUILD_DIR" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
          | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$KUBE_VERSION"
  local staging
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" | sort -u)
  [ -n "$staging" ] || die "no staging replaces found in $gomod"

  local mod
  mod="module lakehouse.local/kube-tools-build

go $MIN_GO

require k8s.io/kubernetes $KUBE_VERSION

replace ("
  local m
  for m in $staging; do mod+=$'\n'"	$m => $m $KUBE_STAGING_VERSION"; done
  mod+=$'\n'")"

  local tools="//go:build tools

// Package tools pins the commands built by build-kube-tools.sh.
package tools

import ("
  local c
  for c in "${KUBE_CMDS[@]}"; do tools+=$'\n'"	_ \"k8s.io/kubernetes/cmd/$c\""; done
  tools+=$'\n'")"

  local changed=0
  write_if_changed "$dir/go.mod.in" "$mod" && changed=1
  write_if_changed "$dir/tools.go" "$tools" && changed=1
  if [ "$changed" = 1 ] || [ ! -s "$dir/go.sum" ] || [ ! -f "$dir/go.mod" ]; then
    log "kubernetes: resolving wrapper module in $dir"
    cp "$dir/go.mod.in" "$dir/go.mod"
    rm -f "$dir/go.sum"
    timed "go mod tidy ($(basename "$dir"))" bash -c 'cd "$1" && shift && "$@" >&2' _ "$dir" "${GO[@]}" mod tidy
  fi
  echo "$dir"
}

build_kube() {
  kube_needs_build || return 0
  local dir
  dir=$(prepare_kube_module)
  local minor=${KUBE_VERSION#v*.}; minor=${minor%%.*}
  local major=${KUBE_VERSION#v}; major=${major%%.*}
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.gitCommit=module-proxy"
  done
  for c in "${KUBE_CMDS[@]}"; do
    if [ "$c" = kubectl ]; then
      have_version kubectl "Client Version: $KUBE_VERSION" version --client && continue
    else
      have_version "$c" "Kubernetes $KUBE_VERSION" --version && continue
    fi
    log "$c: building $KUBE_VERSION"
    timed "$c" bash -c 'cd "$1" && shift && "$@"' _ "$dir" \
      "${GO[@]}" build -trimpath -ldflags "$ld" -o "$BIN_DIR/.$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv -f "$BIN_DIR/.$c.tmp" "$BIN_DIR/$c"
  done
}

# ---------------------------------------------------------------- etcd
build_etcd() {
  local want=${ETCD_VERSION#v}
  have_version etcd "etcd Version: $want" --version && return 0
  local dir=$BUILD_DIR/etcd-$ETCD_VERSION
  mkdir -p "$dir"
  local mod="module lakehouse.local/etcd-build

go $MIN_GO

require (
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)"
  local main='// Command etcd is upstream etcd (go.etcd.io/etcd/server/v3/etcdmain), built from the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }'
  local changed=0
  write_if_changed "$dir/go.mod.in" "$mod" && changed=1
  write_if_changed "$dir/main.go" "$main" && changed=1
  if [ "$changed" = 1 ] || [ ! -s "$dir/go.sum" ] || [ ! -f "$dir/go.mod" ]; then
    log "etcd: resolving wrapper module in $dir"
    cp "$dir/go.mod.in" "$dir/go.mod"
    rm -f "$dir/go.sum"
    timed "go mod tidy ($(basename "$dir"))" bash -c 'cd "$1" && shift && "$@" >&2' _ "$dir" "${GO[@]}" mod tidy
  fi
  log "etcd: building $ETCD_VERSION"
  timed etcd bash -c 'cd "$1" && shift && "$@"' _ "$dir" \
    "${GO[@]}" build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-proxy" \
      -o "$BIN_DIR/.etcd.tmp" .
  mv -f "$BIN_DIR/.etcd.tmp" "$BIN_DIR/etcd"
}

# ---------------------------------------------------------------- kwok / kwokctl
build_kwok() {
  local want=${KWOK_VERSION#v} c  # kwok prints "kwok version v0.8.0 go1.x (linux/amd64)"
  # kwokctl's default Kubernetes version follows the pinned one (only used for defaults/downloads,
  # which we never trigger because every binary is passed explicitly).
  local ld="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$want -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBE_VERSION#v}"
  for c in kwok kwokctl; do
    have_version "$c" "$c version $KWOK_VERSION" --version && continue
    log "$c: building $KWOK_VERSION"
    local tmp=$BUILD_DIR/gobin-$c
    rm -rf "$tmp"; mkdir -p "$tmp"
    # `go install pkg@version` ignores any go.mod around it; kwok has no replace directives.
    timed "$c" env GOBIN="$tmp" "${GO[@]}" install -trimpath -ldflags "$ld" \
      "sigs.k8s.io/kwok/cmd/$c@$KWOK_VERSION"
    mv -f "$tmp/$c" "$BIN_DIR/$c"
    rm -rf "$tmp"
  done
}

# ---------------------------------------------------------------- main
T0=$SECONDS
build_etcd
build_kube
build_kwok
log "all tools ready in $BIN_DIR ($((SECONDS - T0))s)"
echo "$BIN_DIR"
