#!/usr/bin/env bash
# build-kube-node.sh - build what a real single-node Kubernetes cluster needs on top of build-kube-tools.sh.
#
# Produces, in "$KUBE_BIN_DIR" (default ${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse-sdk}/kube/bin):
#   kubelet kube-proxy        k8s.io/kubernetes $KUBE_VERSION (the same wrapper-module approach and pins as
#                             build-kube-tools.sh, in a wrapper of its own: the kubelet needs more go.sum lines)
#   coredns                   github.com/coredns/coredns $COREDNS_VERSION, with only the plugins the harness uses
#   crictl                    sigs.k8s.io/cri-tools (the harness's stop() removes pods through the CRI with it)
#   pause                     gcc -static of build/pause/linux/pause.c from the k8s.io/kubernetes module
# and, in "$KUBE_DIR/images", OCI image archives (loadable with `ctr -n k8s.io images import`):
#   pause.oci.tar     localhost/lakehouse/pause:<KUBE_VERSION>     the sandbox ("infra") image
#   busybox.oci.tar   localhost/lakehouse/busybox:<debian version> Debian's static busybox, for test pods
#   coredns.oci.tar   localhost/lakehouse/coredns:<COREDNS_VERSION>
# Debian packages the node needs (containerd, runc, CNI plugins, iptables, conntrack, busybox-static, gcc)
# are installed with apt-get when missing.
#
# Idempotent: anything whose version already matches the pins is skipped; a warm run takes under a second.
#
# Usage: scripts/build-kube-node.sh [--force] [--print-bin-dir] [--no-apt]
#   --force           rebuild everything even if the versions match
#   --print-bin-dir   print the bin dir and exit
#   --no-apt          do not install Debian packages (fail if they are missing)
#   --only=a,b        build only these parts (pause, kube, coredns, crictl, images)
# Env: LAKEHOUSE_CACHE_DIR, KUBE_BIN_DIR, KUBE_BUILD_NICE (default 10), and the usual Go variables.
set -euo pipefail

# ---------------------------------------------------------------- pinned versions
KUBE_VERSION=v1.36.1          # k8s.io/kubernetes, as in build-kube-tools.sh
KUBE_STAGING_VERSION=v0.36.1
COREDNS_VERSION=v1.15.0       # github.com/coredns/coredns (go 1.26.0)
CRICTL_VERSION=v1.34.0        # sigs.k8s.io/cri-tools (v1.35.0 is not served by the module proxy)
MIN_GO=1.26.0
FALLBACK_TOOLCHAIN=go1.26.8

# ---------------------------------------------------------------- paths / options
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE_ROOT=${LAKEHOUSE_CACHE_DIR:-$HOME/.cache/lakehouse-sdk}
KUBE_DIR=$CACHE_ROOT/kube
BIN_DIR=${KUBE_BIN_DIR:-$KUBE_DIR/bin}
BUILD_DIR=$KUBE_DIR/build
IMAGE_DIR=$KUBE_DIR/images
NICE=${KUBE_BUILD_NICE:-10}
FORCE=0
APT=1
ONLY=""

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --no-apt) APT=0 ;;
    --only=*) ONLY=",${arg#--only=}," ;;
    --print-bin-dir) echo "$BIN_DIR"; exit 0 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[build-kube-node] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- Debian packages
need_pkgs=()
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have_cmd containerd || need_pkgs+=(containerd)
have_cmd runc || need_pkgs+=(runc)
[ -x /usr/lib/cni/bridge ] || need_pkgs+=(containernetworking-plugins)
have_cmd iptables || need_pkgs+=(iptables)
have_cmd conntrack || need_pkgs+=(conntrack)
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need_pkgs+=(busybox-static)
have_cmd gcc || need_pkgs+=(gcc libc6-dev)
have_cmd ip || need_pkgs+=(iproute2)
have_cmd nsenter || need_pkgs+=(util-linux)
if ((${#need_pkgs[@]})); then
  [ "$APT" = 1 ] || die "missing Debian packages: ${need_pkgs[*]} (run without --no-apt, or apt-get install them)"
  log "installing Debian packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  fi
fi

# ---------------------------------------------------------------- Go toolchain
command -v go >/dev/null 2>&1 || die "go is not on PATH (scripts/setup.sh installs it)"
version_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }
LOCAL_GO=$(go env GOVERSION | sed 's/^go//; s/[^0-9.].*$//')
if ! version_ge "$LOCAL_GO" "$MIN_GO"; then
  log "local go $LOCAL_GO < $MIN_GO; using GOTOOLCHAIN=$FALLBACK_TOOLCHAIN (fetched via the module proxy)"
  export GOTOOLCHAIN=$FALLBACK_TOOLCHAIN
fi
export CGO_ENABLED=0
case " ${GOFLAGS:-} " in *" -buildvcs="*) ;; *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac
GO=(nice -n "$NICE" go)

mkdir -p "$BIN_DIR" "$BUILD_DIR" "$IMAGE_DIR"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$KUBE_DIR/.build-node.lock"
  flock 9
fi

# ---------------------------------------------------------------- helpers
# have_version, timed, write_if_changed
# shellcheck source-path=SCRIPTDIR source=lib/kube-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/kube-build.sh"

tidy_if_needed() { # tidy_if_needed DIR CHANGED
  local dir=$1 changed=$2
  if [ "$changed" = 1 ] || [ ! -s "$dir/go.sum" ] || [ ! -f "$dir/go.mod" ]; then
    log "resolving wrapper module in $dir"
    cp "$dir/go.mod.in" "$dir/go.mod"
    rm -f "$dir/go.sum"
    timed "go mod tidy ($(basename "$dir"))" bash -c 'cd "$1" && shift && "$@" >&2' _ "$dir" "${GO[@]}" mod tidy
  fi
}
kube_module_dir() { # the extracted k8s.io/kubernetes module (for pause.c and the staging list)
  (cd "$BUILD_DIR" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION") \
    | sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p"
}

# ---------------------------------------------------------------- kubelet, kube-proxy
NODE_CMDS=(kubelet kube-proxy)
build_kube_node() {
  local c todo=()
  for c in "${NODE_CMDS[@]}"; do
    have_version "$c" "Kubernetes $KUBE_VERSION" --version || todo+=("$c")
  done
  ((${#todo[@]})) || return 0
  local dir=$BUILD_DIR/kubernetes-node-$KUBE_VERSION
  mkdir -p "$dir"
  local gomod staging
  gomod=$(kube_module_dir GoMod)
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$KUBE_VERSION"
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" | sort -u)
  [ -n "$staging" ] || die "no staging replaces found in $gomod"
  local mod="module lakehouse.local/kube-node-build

go $MIN_GO

require k8s.io/kubernetes $KUBE_VERSION

replace (" m
  for m in $staging; do mod+=$'\n'"	$m => $m $KUBE_STAGING_VERSION"; done
  mod+=$'\n'")"
  local tools="//go:build tools

// Package tools pins the commands built by build-kube-node.sh.
package tools

import ("
  for c in "${NODE_CMDS[@]}"; do tools+=$'\n'"	_ \"k8s.io/kubernetes/cmd/$c\""; done
  tools+=$'\n'")"
  local changed=0
  write_if_changed "$dir/go.mod.in" "$mod" && changed=1
  write_if_changed "$dir/tools.go" "$tools" && changed=1
  tidy_if_needed "$dir" "$changed"
  local minor=${KUBE_VERSION#v*.}; minor=${minor%%.*}
  local major=${KUBE_VERSION#v}; major=${major%%.*}
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.gitCommit=module-proxy"
  done
  for c in "${todo[@]}"; do
    log "$c: building $KUBE_VERSION"
    timed "$c" bash -c 'cd "$1" && shift && "$@"' _ "$dir" \
      "${GO[@]}" build -trimpath -ldflags "$ld" -o "$BIN_DIR/.$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv -f "$BIN_DIR/.$c.tmp" "$BIN_DIR/$c"
  done
}

# ---------------------------------------------------------------- CoreDNS
# Only the plugins the harness's Corefile uses: no forward/grpc/etcd/cloud plugins, so the binary cannot
# be configured to send a query outside the cluster, and it builds in a fraction of the full time.
COREDNS_PLUGINS=(errors health ready log cache loadbalance reload kubernetes template)
build_coredns() {
  have_version coredns "CoreDNS-${COREDNS_VERSION#v}" -version && return 0
  local dir=$BUILD_DIR/coredns-$COREDNS_VERSION
  mkdir -p "$dir"
  local mod="module lakehouse.local/coredns-build

go $MIN_GO

require github.com/coredns/coredns $COREDNS_VERSION"
  local main="// Command coredns is upstream CoreDNS (coremain) with a reduced plugin set, built by build-kube-node.sh.
package main

import (
	\"github.com/coredns/coredns/coremain\"
" p
  for p in "${COREDNS_PLUGINS[@]}"; do main+=$'\n'"	_ \"github.com/coredns/coredns/plugin/$p\""; done
  main+=$'\n'")

func main() { coremain.Run() }"
  local changed=0
  write_if_changed "$dir/go.mod.in" "$mod" && changed=1
  write_if_changed "$dir/main.go" "$main" && changed=1
  tidy_if_needed "$dir" "$changed"
  log "coredns: building $COREDNS_VERSION"
  timed coredns bash -c 'cd "$1" && shift && "$@"' _ "$dir" \
    "${GO[@]}" build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=module-proxy" \
      -o "$BIN_DIR/.coredns.tmp" .
  mv -f "$BIN_DIR/.coredns.tmp" "$BIN_DIR/coredns"
}

# ---------------------------------------------------------------- crictl
build_crictl() {
  have_version crictl "crictl version $CRICTL_VERSION" --version && return 0
  local tmp=$BUILD_DIR/gobin-crictl
  rm -rf "$tmp"; mkdir -p "$tmp"
  timed crictl env GOBIN="$tmp" "${GO[@]}" install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  mv -f "$tmp/crictl" "$BIN_DIR/crictl"
  rm -rf "$tmp"
}

# ---------------------------------------------------------------- pause
build_pause() {
  local stamp=$BIN_DIR/.pause.version
  if [ "$FORCE" = 0 ] && [ -x "$BIN_DIR/pause" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$KUBE_VERSION" ]; then
    log "pause: up to date ($KUBE_VERSION)"
    return 0
  fi
  local src
  src=$(kube_module_dir Dir)/build/pause/linux/pause.c
  [ -f "$src" ] || die "pause.c not found at $src"
  log "pause: gcc -static $src"
  nice -n "$NICE" gcc -Os -static -Wall -Werror -DVERSION="$KUBE_VERSION-lakehouse" -o "$BIN_DIR/.pause.tmp" "$src"
  strip "$BIN_DIR/.pause.tmp" 2>/dev/null || true
  mv -f "$BIN_DIR/.pause.tmp" "$BIN_DIR/pause"
  echo "$KUBE_VERSION" >"$stamp"
}

# ---------------------------------------------------------------- OCI archives
# tests/kube/realnode.py writes the archive (stdlib only: tar + sha256 + JSON); a stamp holds the inputs'
# checksums so an unchanged image is not rewritten.
oci_archive() { # oci_archive NAME REF [realnode.py oci-archive options] HOSTFILE:PATH...
  local name=$1 ref=$2; shift 2
  local out=$IMAGE_DIR/$name.oci.tar stamp=$IMAGE_DIR/$name.stamp s want
  want=$ref
  for s in "$@"; do
    if [ -f "${s%%:*}" ]; then want+=$'\n'"$s $(sha256sum "${s%%:*}" | cut -d' ' -f1)"; else want+=$'\n'"$s"; fi
  done
  want+=$'\n'"$(sha256sum "$HERE/../tests/kube/realnode.py" | cut -d' ' -f1)"
  if [ "$FORCE" = 0 ] && [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "image $ref: up to date"
    return 0
  fi
  python3 "$HERE/../tests/kube/realnode.py" oci-archive --out "$out.tmp" --ref "$ref" "$@"
  mv -f "$out.tmp" "$out"
  printf '%s\n' "$want" >"$stamp"
  log "image $ref: $out"
}

# ---------------------------------------------------------------- main
want() { [ -z "$ONLY" ] || [[ $ONLY == *",$1,"* ]]; }
T0=$SECONDS
want pause && build_pause
want kube && build_kube_node
want coredns && build_coredns
want crictl && build_crictl
want images || { log "done ($((SECONDS - T0))s)"; exit 0; }
BUSYBOX_VERSION=$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null | sed 's/^[0-9]*://; s/-.*//')
# entrypoints as in the upstream images: pause and coredns have one, busybox only CMD ["sh"]
oci_archive pause "localhost/lakehouse/pause:$KUBE_VERSION" --entrypoint '["/pause"]' "$BIN_DIR/pause:/pause"
# every applet as a symlink to /bin/busybox, as in the upstream busybox image
/bin/busybox --list-full | sed 's#^#/#; s#$# /bin/busybox#' | grep -v '^/bin/busybox ' >"$IMAGE_DIR/busybox.links"
# Static glibc cannot resolve host names by itself (getaddrinfo dlopens the NSS modules: without them
# wget/nc fail with "bad address", or crash): the image carries the same glibc's NSS libraries.
# (busybox's nslookup has its own resolver and works without them.)
printf 'hosts: files dns\n' >"$IMAGE_DIR/busybox.nsswitch.conf"
NSS_FILES=()
for lib in libc.so.6 libnss_files.so.2 libnss_dns.so.2 libresolv.so.2; do
  NSS_FILES+=("$(readlink -f "/lib/x86_64-linux-gnu/$lib"):/lib/x86_64-linux-gnu/$lib")
done
NSS_FILES+=("$(readlink -f /lib64/ld-linux-x86-64.so.2):/lib64/ld-linux-x86-64.so.2")
oci_archive busybox "localhost/lakehouse/busybox:${BUSYBOX_VERSION:-static}" --cmd '["sh"]' \
  --symlinks-from "$IMAGE_DIR/busybox.links" /bin/busybox:/bin/busybox \
  "$IMAGE_DIR/busybox.nsswitch.conf:/etc/nsswitch.conf" "${NSS_FILES[@]}"
oci_archive coredns "localhost/lakehouse/coredns:$COREDNS_VERSION" --entrypoint '["/coredns"]' \
  "$BIN_DIR/coredns:/coredns"
log "node binaries ready in $BIN_DIR, images in $IMAGE_DIR ($((SECONDS - T0))s)"
echo "$BIN_DIR"
