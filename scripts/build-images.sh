#!/usr/bin/env bash
# build-images.sh - build, on this machine and without any container registry, the images that the
# Kubernetes manifests (manifests/*.yaml) reference, under exactly the references the manifests use.
#
# Each image reproduces the interface of the upstream image that the manifests rely on (paths,
# entrypoint behaviour, environment variables, users): see images/README.md. Nothing is pulled:
#   - a Debian root filesystem is made with debootstrap (--variant=minbase, the running release, the
#     mirror read from this machine's apt sources at run time) and shared by every image as its base;
#   - packages come from Debian (apt-get in a chroot of the image being built), PyPI (pip) for awscli;
#   - Trino, the Hive standalone metastore, SeaweedFS and the Spark jars come from the project's own cache
#     (lakehouse_sdk.local.artifacts, formerly .components: Maven, the Go module proxy, pip), fetched the
#     project's way when missing; Hadoop 3.1.0 for the metastore through `mvn dependency:copy-dependencies`;
#     the Trino JDK (24+) is the one the project's local runtime uses (e.g. Temurin 25 in /usr/lib/jvm).
#
# Output, in $LAKEHOUSE_IMAGES_DIR (default ${LAKEHOUSE_CACHE_DIR:-~/.cache/lakehouse-sdk}/images):
#   <name>.tar        one docker-archive per image, tagged with the manifest's reference; loads with
#                     `ctr -n k8s.io images import <file>` and `podman load -i <file>`
#   images.tsv        reference, archive file, image id, size in bytes (one line per image)
#   maven/            the jars the manifests' init containers download, in a Maven repository layout
#                     (for a local jar server, issue 10 point 3)
# The images are also left tagged in the local containers storage (podman/buildah, as root).
#
# Cached: an image is rebuilt only when its inputs changed (its recipe below, its files in images/<name>/,
# its parent, the component files it copies); a warm run takes seconds.
#
# Usage: scripts/build-images.sh [--force] [--list] [IMAGE...]
#   IMAGE     short names to build (default: all): base jre17 postgres curl aws-cli seaweedfs trino hive spark
#   --force   rebuild the named (or all) images even if their inputs did not change
#   --list    print the short names and references, then exit
# Env: LAKEHOUSE_CACHE_DIR, LAKEHOUSE_IMAGES_DIR, PYTHON (an interpreter with lakehouse_sdk importable;
#   default .venv/bin/python of the repo, then python3), IMAGES_NICE (nice level, default 10).
# Needs root (buildah mount, chroot). buildah and debootstrap are installed with apt-get when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${LAKEHOUSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-sdk}
OUT=${LAKEHOUSE_IMAGES_DIR:-$CACHE_ROOT/images}
WORK=$OUT/build
NICE=(nice -n "${IMAGES_NICE:-10}")
BUILD_NS=localhost/lakehouse-images   # intermediate and build tags in the local storage

# short name -> the reference the manifests use (kept in step with stack/config.py by tests/images)
declare -A REF=(
  [postgres]=docker.io/library/postgres:15
  [curl]=docker.io/curlimages/curl:8.17.0
  [aws-cli]=docker.io/amazon/aws-cli:2.31.13
  [seaweedfs]=docker.io/chrislusf/seaweedfs:4.48
  [trino]=docker.io/trinodb/trino:476
  [hive]=docker.io/apache/hive:3.1.3
  [spark]=docker.io/apache/spark:4.1.4
)
declare -A PARENT=([base]="" [jre17]=base [postgres]=base [curl]=base [aws-cli]=base [seaweedfs]=base
  [trino]=base [hive]=jre17 [spark]=jre17)
ORDER=(base jre17 postgres curl aws-cli seaweedfs trino hive spark)
FINAL=(postgres curl aws-cli seaweedfs trino hive spark)

# pinned inputs
AWSCLI_VERSION=1.46.3          # PyPI awscli (v1: honours AWS_ENDPOINT_URL, as the v2 image does)
HADOOP_FOR_HIVE=3.1.0          # the Hadoop of the upstream apache/hive:3.1.3 image (hadoop-aws 3.1.0)
SPARK_VERSION=4.1.4
TRINO_VERSION=476

log() { printf '[build-images %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

FORCE=0
WANT=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --list) for n in "${FINAL[@]}"; do printf '%s\t%s\n' "$n" "${REF[$n]}"; done; exit 0 ;;
    -h | --help) sed -n '2,35p' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) [ -n "${PARENT[$arg]+x}" ] || die "unknown image $arg (one of: ${ORDER[*]})"; WANT+=("$arg") ;;
  esac
done
[ ${#WANT[@]} -gt 0 ] || WANT=("${FINAL[@]}")

[ "$(id -u)" = 0 ] || die "run as root (buildah mount and chroot need it)"

ensure_tools() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v mvn >/dev/null || missing+=(maven)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

python_bin() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  local p
  for p in "$ROOT/.venv/bin/python" "$(command -v python3)"; do
    if [ -x "$p" ] && "$p" -c 'import lakehouse_sdk' 2>/dev/null; then echo "$p"; return; fi
  done
  die "no Python with lakehouse_sdk found: set PYTHON (e.g. the repo's .venv/bin/python after scripts/setup.sh)"
}

# -- Debian release and mirror, from this machine ---------------------------------------------------------

SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$SUITE" ] || die "no VERSION_CODENAME in /etc/os-release: not a Debian machine?"

# The apt source entries of this machine for $SUITE, $SUITE-updates and $SUITE-security, as deb822
# paragraphs (read from sources.list, *.list and *.sources); only held in memory and in the chroot.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$SUITE" '$1 == "deb" {
        i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i+1) == s || $(i+1) == s"-updates" || $(i+1) == s"-security") {
          printf "Types: deb\nURIs: %s\nSuites: %s\nComponents:", $i, $(i+1)
          for (j = i + 2; j <= NF; j++) printf " %s", $j
          printf "\n\n"
        }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$SUITE" 'BEGIN { RS = ""; ORS = "\n\n" } {
        ok = 0; deb = 0; off = 0; n = split($0, L, "\n"); out = ""
        for (i = 1; i <= n; i++) {
          if (L[i] ~ /^#/) continue
          if (L[i] ~ /^Types:/ && L[i] ~ /[ \t]deb([ \t]|$)/) deb = 1
          if (L[i] ~ /^Enabled:[ \t]*no/) off = 1
          if (L[i] ~ /^Suites:/) { m = split(L[i], w, /[ \t]+/); for (j = 2; j <= m; j++)
            if (w[j] == s || w[j] == s"-updates" || w[j] == s"-security") ok = 1 }
          if (L[i] ~ /^Types:/) L[i] = "Types: deb"
          out = out L[i] "\n"
        }
        if (ok && deb && !off) print out
      }' "$f"
  done
}

debian_mirror() { # the first URI serving $SUITE itself
  apt_sources | awk -v s="$SUITE" 'BEGIN { RS = "" } {
      uri = ""; ok = 0; n = split($0, L, "\n")
      for (i = 1; i <= n; i++) {
        if (L[i] ~ /^URIs:/) { split(L[i], w, /[ \t]+/); uri = w[2] }
        if (L[i] ~ /^Suites:/) { m = split(L[i], w, /[ \t]+/); for (j = 2; j <= m; j++) if (w[j] == s) ok = 1 }
      }
      if (ok && uri != "") { print uri; exit }
    }'
}

# -- chroot helpers ----------------------------------------------------------------------------------------

MOUNTED=()
CONTAINERS=()
cleanup() {
  local c i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTED[$i]}" 2>/dev/null || true; done
  for c in "${CONTAINERS[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

chroot_enter() { # mount /proc and /dev, give it DNS, the apt sources and no service starts
  local mnt=$1
  mount -t proc proc "$mnt/proc" && MOUNTED+=("$mnt/proc")
  mount --bind /dev "$mnt/dev" && MOUNTED+=("$mnt/dev")
  cp -L /etc/resolv.conf "$mnt/etc/resolv.conf"
  apt_sources >"$mnt/etc/apt/sources.list.d/build.sources"
  printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
  chmod 755 "$mnt/usr/sbin/policy-rc.d"
  # the host's CA bundle, for pip behind the same TLS setup as the host
  cp -L /etc/ssl/certs/ca-certificates.crt "$mnt/tmp/host-ca.crt" 2>/dev/null || true
}

chroot_leave() { # undo chroot_enter and drop apt's caches
  local mnt=$1
  rm -f "$mnt/etc/apt/sources.list.d/build.sources" "$mnt/usr/sbin/policy-rc.d" "$mnt/tmp/host-ca.crt"
  : >"$mnt/etc/resolv.conf"
  rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/apt/archives/*.deb \
    "$mnt"/var/log/apt/* "$mnt"/var/log/dpkg.log "$mnt"/root/.cache
  umount -l "$mnt/dev" "$mnt/proc"
  MOUNTED=()
}

in_chroot() { # run a command in the chroot with a clean environment
  local mnt=$1
  shift
  local envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root
    DEBIAN_FRONTEND=noninteractive)
  local v
  for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL PIP_EXTRA_INDEX_URL; do
    [ -n "${!v:-}" ] && envs+=("$v=${!v}")
  done
  "${NICE[@]}" chroot "$mnt" /usr/bin/env -i "${envs[@]}" "$@"
}

apt_install() { # apt_install MNT PACKAGE...
  local mnt=$1
  shift
  chroot_enter "$mnt"
  in_chroot "$mnt" apt-get update -qq
  in_chroot "$mnt" apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "$@" >/dev/null
  chroot_leave "$mnt"
}

# -- the recipes -------------------------------------------------------------------------------------------
# Each build_<name> gets a working container $CTR mounted at $MNT (from its parent image) and configures
# it; the caller commits it. Their text is part of the cache key.

build_base() {
  local mirror
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no apt source for $SUITE in this machine's apt configuration"
  log "debootstrap --variant=minbase $SUITE (mirror from the apt sources)"
  "${NICE[@]}" debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$MNT" "$mirror" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  # the mirror stays out of the image: apt sources are written only while an image is being built
  rm -f "$MNT/etc/apt/sources.list"
  : >"$MNT/etc/resolv.conf"
  : >"$MNT/etc/hostname"
  cat >"$MNT/etc/dpkg/dpkg.cfg.d/01-lakehouse-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
EOF
  cat >"$MNT/etc/apt/apt.conf.d/01-lakehouse" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
  find "$MNT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$MNT"/usr/share/man/* "$MNT"/usr/share/info/* "$MNT"/var/cache/apt/archives/*.deb \
    "$MNT"/var/lib/apt/lists/* "$MNT"/var/log/* "$MNT"/var/cache/debconf/*-old
  find "$MNT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  mkdir -p "$MNT/usr/share/man/man1"   # OpenJDK's alternatives want it
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd '["bash"]' "$CTR"
}

build_jre17() {
  apt_install "$MNT" openjdk-17-jre-headless procps
  buildah config --env JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 "$CTR"
}

build_postgres() {
  # the official image's postgres user and group: 999
  in_chroot "$MNT" groupadd -r -g 999 postgres
  in_chroot "$MNT" useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/bash postgres
  mkdir -p "$MNT/etc/postgresql-common"
  echo 'create_main_cluster = false' >"$MNT/etc/postgresql-common/createcluster.conf"
  apt_install "$MNT" postgresql-15 gosu
  install -m 0755 "$ROOT/images/postgres/docker-entrypoint.sh" "$MNT/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$MNT/docker-entrypoint-initdb.d" "$MNT/var/lib/postgresql/data" "$MNT/var/run/postgresql"
  chown -R 999:999 "$MNT/var/lib/postgresql" "$MNT/var/run/postgresql"
  chmod 1777 "$MNT/var/lib/postgresql/data"
  chmod 3777 "$MNT/var/run/postgresql"
  buildah config --env PG_MAJOR=15 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin \
    --env PGDATA=/var/lib/postgresql/data --volume /var/lib/postgresql/data \
    --entrypoint '["docker-entrypoint.sh"]' --cmd '["postgres"]' --stop-signal SIGINT --port 5432 "$CTR"
}

build_curl() {
  apt_install "$MNT" curl
  in_chroot "$MNT" groupadd -g 101 curl_group
  in_chroot "$MNT" useradd -u 100 -g curl_group -d /home/curl_user -m -s /bin/sh curl_user
  install -m 0755 "$ROOT/images/curl/entrypoint.sh" "$MNT/entrypoint.sh"
  buildah config --user curl_user --workingdir /home/curl_user --entrypoint '["/entrypoint.sh"]' \
    --cmd '["curl"]' "$CTR"
}

build_aws_cli() {
  apt_install "$MNT" python3 python3-venv less groff-base
  chroot_enter "$MNT"
  in_chroot "$MNT" python3 -m venv /usr/local/aws-cli
  in_chroot "$MNT" env PIP_CERT=/tmp/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /usr/local/aws-cli/bin/pip install -q --no-cache-dir "awscli==$AWSCLI_VERSION"
  chroot_leave "$MNT"
  install -m 0755 "$ROOT/images/aws-cli/aws" "$MNT/usr/local/bin/aws"
  find "$MNT/usr/local/aws-cli" -name __pycache__ -prune -exec rm -rf {} +
  mkdir -p "$MNT/aws"
  buildah config --workingdir /aws --entrypoint '["/usr/local/bin/aws"]' --cmd '[]' "$CTR"
}

build_seaweedfs() {
  install -m 0755 "$WEED" "$MNT/usr/bin/weed"
  install -m 0755 "$ROOT/images/seaweedfs/entrypoint.sh" "$MNT/entrypoint.sh"
  mkdir -p "$MNT/etc/seaweedfs" "$MNT/data/filerldb2"
  install -m 0644 "$ROOT/images/seaweedfs/filer.toml" "$MNT/etc/seaweedfs/filer.toml"
  in_chroot "$MNT" groupadd -g 1000 seaweed
  in_chroot "$MNT" useradd -u 1000 -g seaweed -M -d /data -s /usr/sbin/nologin seaweed
  chown -R 1000:1000 "$MNT/data" "$MNT/etc/seaweedfs"
  local p ports=()
  for p in 18080 8080 18888 8888 19333 9333 8333 7333; do ports+=(--port "$p"); done
  buildah config --workingdir /data --volume /data --entrypoint '["/entrypoint.sh"]' \
    --cmd '["mini", "-dir=/data"]' "${ports[@]}" "$CTR"
}

build_trino() {
  # the launcher of Trino 476 is a native binary: no Python (the upstream image still installs python3)
  apt_install "$MNT" curl less
  # Trino 476 needs Java 24+: the machine's JDK 24+ (copied without sources and headers)
  mkdir -p "$MNT/usr/lib/jvm"
  cp -a "$TRINO_JDK" "$MNT/usr/lib/jvm/jdk"
  rm -rf "$MNT/usr/lib/jvm/jdk/lib/src.zip" "$MNT/usr/lib/jvm/jdk/include" "$MNT/usr/lib/jvm/jdk/man" \
    "$MNT/usr/lib/jvm/jdk/demo" "$MNT/usr/lib/jvm/jdk/sample"
  in_chroot "$MNT" groupadd -g 1000 trino
  in_chroot "$MNT" useradd -u 1000 -g trino -m -s /bin/bash trino
  # the distribution only: a local stack run from the same cache writes var/ into it
  mkdir -p "$MNT/usr/lib/trino"
  cp -a "$TRINO_HOME"/{bin,lib,plugin,secrets-plugin,NOTICE,README.txt} "$MNT/usr/lib/trino/"
  install -m 0755 "$ROOT/images/trino/run-trino" "$ROOT/images/trino/health-check" "$MNT/usr/lib/trino/bin/"
  mkdir -p "$MNT/etc/trino/catalog" "$MNT/data/trino"
  cp "$ROOT"/images/trino/etc/*.properties "$ROOT"/images/trino/etc/jvm.config "$MNT/etc/trino/"
  chown -R 1000:1000 "$MNT/usr/lib/trino" "$MNT/data/trino" "$MNT/etc/trino"
  buildah config --env JAVA_HOME=/usr/lib/jvm/jdk \
    --env PATH=/usr/lib/jvm/jdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --user trino:trino --port 8080 --cmd '["/usr/lib/trino/bin/run-trino"]' "$CTR"
}

build_hive() {
  mkdir -p "$MNT/opt/hive" "$MNT/opt/hadoop/share/hadoop/common/lib"
  cp -a "$HIVE_HOME_SRC/." "$MNT/opt/hive/"
  rm -rf "$MNT/opt/hive/hadoop-lib" "$MNT/opt/hive/.complete" "$MNT/opt/hive/bin"
  # the upstream image ships no JDBC driver and no S3A: the manifests mount them into /opt/hive/lib
  rm -f "$MNT"/opt/hive/lib/postgresql-*.jar
  mkdir -p "$MNT/opt/hive/bin" "$MNT/opt/hive/data/warehouse"
  install -m 0755 "$ROOT/images/hive/hive" "$ROOT/images/hive/schematool" "$MNT/opt/hive/bin/"
  install -m 0644 "$ROOT/images/hive/metastore-log4j2.properties" "$MNT/opt/hive/conf/"
  rm -f "$MNT/opt/hive/conf/metastore-site.xml"   # defaults apply (embedded Derby), as upstream
  cp "$HADOOP_LIB"/*.jar "$MNT/opt/hadoop/share/hadoop/common/lib/"
  install -m 0755 "$ROOT/images/hive/entrypoint.sh" "$MNT/entrypoint.sh"
  in_chroot "$MNT" useradd -u 1000 -U -M -d /opt/hive -s /bin/bash hive
  chown 1000 "$MNT/opt/hive" "$MNT/opt/hive/conf" "$MNT/opt/hadoop" "$MNT/opt/hive/data/warehouse"
  buildah config --env HADOOP_HOME=/opt/hadoop --env HIVE_HOME=/opt/hive --env HIVE_VER=3.1.3 \
    --env PATH=/opt/hive/bin:/opt/hadoop/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --user hive --workingdir /opt/hive --port 9083 --entrypoint '["sh", "-c", "/entrypoint.sh"]' --cmd '[]' \
    "$CTR"
}

build_spark() {
  # python3: the upstream 4.1 tags are the python3 variant (PySpark executors run Python workers)
  apt_install "$MNT" tini libnss-wrapper python3
  in_chroot "$MNT" groupadd --system --gid 185 spark
  in_chroot "$MNT" useradd --system --uid 185 --gid spark -d /nonexistent spark
  mkdir -p "$MNT/opt/spark/work-dir" "$MNT/opt/spark/python" "$MNT/opt/spark/conf"
  cp -a "$PYSPARK_DIR/jars" "$PYSPARK_DIR/bin" "$PYSPARK_DIR/sbin" "$MNT/opt/spark/"
  cp -a "$PYSPARK_DIR" "$MNT/opt/spark/python/pyspark"
  rm -rf "$MNT/opt/spark/python/pyspark/jars" "$MNT/opt/spark/python/pyspark/bin" \
    "$MNT/opt/spark/python/pyspark/sbin"
  find "$MNT/opt/spark/python" -name __pycache__ -prune -exec rm -rf {} +
  # what spark-submit and the Python workers put on PYTHONPATH: python/lib/pyspark.zip and the py4j zip
  local py4j_version
  py4j_version=$(sed -n "s/^__version__[^'\"]*['\"]\([^'\"]*\)['\"].*/\1/p" "$PY4J_DIR/version.py")
  mkdir -p "$MNT/opt/spark/python/lib"
  (cd "$MNT/opt/spark/python" && python3 -m zipfile -c lib/pyspark.zip pyspark)
  (cd "$(dirname "$PY4J_DIR")" && python3 -m zipfile -c "$MNT/opt/spark/python/lib/py4j-$py4j_version-src.zip" py4j)
  echo "Spark $SPARK_VERSION (jars and scripts of the pyspark $SPARK_VERSION wheel)" >"$MNT/opt/spark/RELEASE"
  chmod 0755 "$MNT"/opt/spark/bin/* "$MNT"/opt/spark/sbin/*
  chmod g+w "$MNT/opt/spark/work-dir"
  install -m 0755 "$ROOT/images/spark/entrypoint.sh" "$MNT/opt/entrypoint.sh"
  chown -R 185:185 "$MNT/opt/spark"
  buildah config --env SPARK_HOME=/opt/spark --user spark --workingdir /opt/spark/work-dir \
    --entrypoint '["/opt/entrypoint.sh"]' --cmd '[]' "$CTR"
}

# -- inputs ------------------------------------------------------------------------------------------------

# Component paths from the project's cache (fetched the project's way when missing).
resolve_components() {
  local py
  py=$(python_bin)
  log "components from the project's cache ($CACHE_ROOT), fetched when missing"
  local out
  out=$(LAKEHOUSE_LOCAL__CACHE_DIR="$CACHE_ROOT" "${NICE[@]}" "$py" - "$@" <<'EOF'
import importlib.util
import sys
from pathlib import Path

from lakehouse_sdk.settings import LakehouseSettings

try:  # renamed from components to artifacts on main
    from lakehouse_sdk.local.artifacts import Artifacts as Components
except ImportError:
    from lakehouse_sdk.local.components import Components

c = Components(LakehouseSettings())
for what in sys.argv[1:]:
    path = {
        "trino": c.trino_home,
        "trino-jdk": c.trino_java_home,
        "hive": c.hive_home,
        "weed": c.weed,
        "pyspark": c.spark_home,
        # py4j: installed with pyspark, Spark's Python side needs it as python/lib/py4j-<version>-src.zip
        "py4j": lambda: Path(importlib.util.find_spec("py4j").origin).parent,
    }[what]()
    print(f"{what}\t{path}")
EOF
  ) || die "the project's components could not be found or fetched (see above)"
  local what path
  while IFS=$'\t' read -r what path; do
    case "$what" in
      trino) TRINO_HOME=$path ;;
      trino-jdk) TRINO_JDK=$path ;;
      hive) HIVE_HOME_SRC=$path ;;
      weed) WEED=$path ;;
      pyspark) PYSPARK_DIR=$path ;;
      py4j) PY4J_DIR=$path ;;
    esac
  done <<<"$out"
}

mvn_args() { echo -B -q -Dstyle.color=never --strict-checksums "-Dmaven.repo.local=${MAVEN_REPO:-$HOME/.m2/repository}"; }

# Hadoop $HADOOP_FOR_HIVE client jars for the metastore (hadoop-common with its runtime dependencies, minus
# what the standalone metastore brings or does not need, plus mapreduce-client-core and hdfs-client).
hadoop_for_hive() {
  HADOOP_LIB=$WORK/hadoop-$HADOOP_FOR_HIVE/lib
  [ -f "$HADOOP_LIB/.complete" ] && return
  log "Hadoop $HADOOP_FOR_HIVE jars for the metastore (mvn dependency:copy-dependencies)"
  local pom=$WORK/hadoop-$HADOOP_FOR_HIVE/pom.xml
  mkdir -p "$(dirname "$pom")"
  local ex='' g
  for g in org.slf4j log4j ch.qos.reload4j org.eclipse.jetty com.sun.jersey javax.servlet.jsp \
    org.apache.zookeeper org.apache.curator org.apache.kerby com.jcraft org.apache.avro; do
    ex+="<exclusion><groupId>$g</groupId><artifactId>*</artifactId></exclusion>"
  done
  local one='<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>'
  cat >"$pom" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lakehouse-sdk</groupId><artifactId>hive-image-hadoop</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-common</artifactId>
      <version>$HADOOP_FOR_HIVE</version><exclusions>$ex</exclusions></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-mapreduce-client-core</artifactId>
      <version>$HADOOP_FOR_HIVE</version>$one</dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-hdfs-client</artifactId>
      <version>$HADOOP_FOR_HIVE</version>$one</dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$HADOOP_LIB"
  # shellcheck disable=SC2046
  (cd "$(dirname "$pom")" && "${NICE[@]}" mvn $(mvn_args) dependency:copy-dependencies \
    -DoutputDirectory="$HADOOP_LIB" -DincludeScope=runtime) >"$WORK/mvn.log" 2>&1 ||
    { tail -20 "$WORK/mvn.log" >&2; die "fetching Hadoop $HADOOP_FOR_HIVE failed"; }
  touch "$HADOOP_LIB/.complete"
}

# The jars the manifests' init containers download (their repository paths are read from the manifests),
# into $OUT/maven in a Maven repository layout, for a local jar server.
init_container_jars() {
  local path g a v group
  grep -ho 'maven2/[^ ]*\.jar' "$ROOT"/manifests/*.yaml | sed 's!^maven2/!!' | sort -u | while read -r path; do
    [ -s "$OUT/maven/$path" ] && continue
    v=$(basename "$(dirname "$path")")
    a=$(basename "$(dirname "$(dirname "$path")")")
    group=$(dirname "$(dirname "$(dirname "$path")")")
    g=${group//\//.}
    log "init-container jar $g:$a:$v (mvn dependency:get)"
    # shellcheck disable=SC2046
    "${NICE[@]}" mvn $(mvn_args) dependency:get -Dtransitive=false "-Dartifact=$g:$a:$v" >"$WORK/mvn.log" 2>&1 ||
      { tail -20 "$WORK/mvn.log" >&2; die "mvn dependency:get $g:$a:$v failed"; }
    mkdir -p "$(dirname "$OUT/maven/$path")"
    cp "${MAVEN_REPO:-$HOME/.m2/repository}/$path" "$OUT/maven/$path.part"
    mv "$OUT/maven/$path.part" "$OUT/maven/$path"
  done
}

# Identity of the inputs of one image (file contents for small inputs, size+mtime listings for big trees).
tree_id() { # tree_id DIR SUBDIR...: names, sizes and mtimes of the files below the subdirectories
  local dir=$1
  shift
  (cd "$dir" && find "$@" \( -type f -o -type l \) -printf '%p %s %T@\n' | LC_ALL=C sort | sha256sum | cut -c1-16)
}
tree_names_sizes() { # as tree_id without mtimes: for pinned wheels, which every new venv unpacks anew
  local dir=$1
  shift
  (cd "$dir" && find "$@" \( -type f -o -type l \) -not -path '*/__pycache__/*' -printf '%p %s\n' |
    LC_ALL=C sort | sha256sum | cut -c1-16)
}

inputs_of() {
  case "$1" in
    base) echo "suite=$SUITE" ;;
    seaweedfs) sha256sum "$WEED" | cut -c1-64 ;;
    trino) echo "trino=$(tree_id "$TRINO_HOME" bin lib plugin secrets-plugin) jdk=$(sha256sum <"$TRINO_JDK/release")" ;;
    hive) echo "hive=$(tree_id "$HIVE_HOME_SRC" bin conf lib scripts) hadoop=$(tree_id "$HADOOP_LIB" .)" ;;
    spark) echo "pyspark=$(tree_names_sizes "$PYSPARK_DIR" .) py4j=$(tree_names_sizes "$PY4J_DIR" .)" ;;
    aws-cli) echo "awscli=$AWSCLI_VERSION" ;;
  esac
}

declare -A KEY=()
compute_key() { # recipe text, image files, inputs, parent's key (run in this shell: KEY is memoised)
  local name=$1 fn=build_${1//-/_}
  [ -z "${KEY[$name]:-}" ] || return 0
  local parent=${PARENT[$name]}
  [ -z "$parent" ] || compute_key "$parent"
  KEY[$name]=$({
    declare -f "$fn"
    if [ -d "$ROOT/images/$name" ]; then
      (cd "$ROOT/images/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    fi
    inputs_of "$name"
    echo "parent=${parent:+${KEY[$parent]}}"
  } | sha256sum | cut -c1-16)
}
key_of() { echo "${KEY[$1]:?no key computed for $1}"; }

archive_of() { echo "$OUT/$1.tar"; }

# what an archive's .key file holds: the image's key and the text of the export step
stamp_of() { echo "$(key_of "$1")-$(declare -f export_archive | sha256sum | cut -c1-8)"; }

fresh() { # the archive of a final image matches its key
  local name=$1
  [ "$FORCE" = 0 ] && [ -s "$(archive_of "$name")" ] && [ "$(cat "$(archive_of "$name").key" 2>/dev/null)" = "$(stamp_of "$name")" ]
}

in_storage() { buildah inspect --type image "$BUILD_NS/$1:$(key_of "$1")" >/dev/null 2>&1; }

declare -A BUILT=()
build() { # build NAME: commit $BUILD_NS/NAME:KEY (parents first, when not in the storage)
  local name=$1 parent=${PARENT[$1]} key start
  key=$(key_of "$name")
  if in_storage "$name" && { [ "$FORCE" = 0 ] || [ -n "${BUILT[$name]:-}" ]; }; then return; fi
  if [ -n "$parent" ]; then build "$parent"; fi
  start=$(date +%s)
  log "building $name (key $key)"
  if [ -z "$parent" ]; then
    CTR=$(buildah from scratch)
  else
    CTR=$(buildah from --pull-never "$BUILD_NS/$parent:$(key_of "$parent")")
  fi
  CONTAINERS+=("$CTR")
  MNT=$(buildah mount "$CTR")
  "build_${name//-/_}"
  buildah umount "$CTR" >/dev/null
  buildah config --label "org.opencontainers.image.title=$name" \
    --label "io.lakehouse-sdk.image.key=$key" --label "io.lakehouse-sdk.image.built-from=scripts/build-images.sh" \
    --created-by "scripts/build-images.sh ($name)" "$CTR"
  buildah commit -q --rm "$CTR" "$BUILD_NS/$name:$key" >/dev/null
  CONTAINERS=("${CONTAINERS[@]/$CTR/}")
  BUILT[$name]=1
  log "built $name in $(($(date +%s) - start))s"
  echo "$name build $(($(date +%s) - start))" >>"$WORK/times.log"
}

export_archive() { # tag with the manifest's reference and write the docker-archive
  local name=$1 ref=${REF[$1]} key file start
  key=$(key_of "$name")
  file=$(archive_of "$name")
  start=$(date +%s)
  buildah tag "$BUILD_NS/$name:$key" "$ref"
  rm -f "$file" "$file.part" "$file.key"
  # pushed by id, so that the archive names the manifest's reference only
  local id
  id=$(buildah inspect --type image --format '{{.FromImageID}}' "$BUILD_NS/$name:$key")
  "${NICE[@]}" buildah push -q "$id" "docker-archive:$file.part:$ref" >/dev/null
  mv "$file.part" "$file"
  stamp_of "$name" >"$file.key"
  log "wrote $file ($(du -h "$file" | cut -f1)) in $(($(date +%s) - start))s"
}

# -- main --------------------------------------------------------------------------------------------------

main() {
  local t0 name
  t0=$(date +%s)
  mkdir -p "$WORK"
  # one build at a time (a test session and a developer may start one together)
  exec 9>"$OUT/.lock"
  flock 9
  ensure_tools

  # which inputs the wanted images (and their parents) need
  local need=() n
  for n in "${WANT[@]}"; do
    case "$n" in
      trino) need+=(trino trino-jdk) ;;
      hive) need+=(hive) ;;
      seaweedfs) need+=(weed) ;;
      spark) need+=(pyspark py4j) ;;
    esac
  done
  [ ${#need[@]} -eq 0 ] || resolve_components "${need[@]}"
  if [[ " ${WANT[*]} " == *" hive "* ]]; then hadoop_for_hive; fi
  if [ -n "${PYSPARK_DIR:-}" ]; then
    local have
    have=$(sed -n "s/^__version__[^'\"]*['\"]\([^'\"]*\)['\"].*/\1/p" "$PYSPARK_DIR/version.py")
    [ "$have" = "$SPARK_VERSION" ] || die "pyspark at $PYSPARK_DIR is $have, not $SPARK_VERSION"
  fi
  if [[ " ${WANT[*]} " == *" trino "* ]]; then
    grep -q "^$TRINO_VERSION\$" "$TRINO_HOME/.complete" 2>/dev/null || die "$TRINO_HOME is not Trino $TRINO_VERSION"
  fi
  init_container_jars
  for name in "${WANT[@]}"; do compute_key "$name"; done

  for name in "${WANT[@]}"; do
    if [ -z "${REF[$name]:-}" ]; then build "$name"; continue; fi
    if fresh "$name"; then
      log "$name is up to date ($(archive_of "$name"))"
      continue
    fi
    build "$name"
    export_archive "$name"
  done

  # drop this script's older builds of the same images from the storage (other images are not touched)
  local tag
  for name in "${!KEY[@]}"; do
    # awk, not grep: no older build (or none at all, when the archive came from another storage) is not
    # an error under pipefail
    buildah images --format '{{.Name}}:{{.Tag}}' | awk -v p="$BUILD_NS/$name:" 'index($0, p) == 1' |
      while read -r tag; do
        [ "$tag" = "$BUILD_NS/$name:${KEY[$name]}" ] || buildah rmi "$tag" >/dev/null 2>&1 || true
      done
  done

  # the list of archives
  local list=$OUT/images.tsv
  : >"$list.part"
  for name in "${FINAL[@]}"; do
    local file
    file=$(archive_of "$name")
    [ -s "$file" ] || continue
    printf '%s\t%s\t%s\t%s\n' "${REF[$name]}" "$(basename "$file")" \
      "$(buildah inspect --type image --format '{{.FromImageID}}' "${REF[$name]}" 2>/dev/null || echo -)" \
      "$(stat -c %s "$file")" >>"$list.part"
  done
  mv "$list.part" "$list"
  log "done in $(($(date +%s) - t0))s: $list"
}

main
