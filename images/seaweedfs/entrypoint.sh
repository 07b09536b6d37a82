#!/bin/sh
# Entry point of the locally built chrislusf/seaweedfs image. Same contract as the upstream image's
# docker/entrypoint.sh: the first argument names the role (master, volume, server, mini, filer, s3,
# shell) and gets the upstream defaults (-dir=/data for mini unless -dir is given, ...); anything else
# runs `weed` with the arguments as they are. Started as root, it hands /data to the `seaweed` user
# (uid 1000) and re-executes itself as that user. Written for this project.

export GODEBUG="${GODEBUG:+$GODEBUG,}fips140=on"

if [ "$(id -u)" = 0 ]; then
  if [ "$(stat -c %u:%g /data 2>/dev/null)" != "$(id -u seaweed):$(id -g seaweed)" ]; then
    chown -R seaweed:seaweed /data || echo "warning: could not hand /data to seaweed" >&2
  fi
  exec setpriv --reuid=seaweed --regid=seaweed --init-groups -- "$0" "$@"
fi

has_flag() { # has_flag NAME ARGS...: -NAME / --NAME, with or without =value
  name=$1
  shift
  for a in "$@"; do
    case "$a" in
      "-$name" | "--$name" | "-$name="* | "--$name="*) return 0 ;;
    esac
  done
  return 1
}

role=${1:-}
[ $# -gt 0 ] && shift
case "$role" in
  master) exec /usr/bin/weed -logtostderr=true master -mdir=/data -volumeSizeLimitMB=1024 "$@" ;;
  volume)
    if has_flag max "$@"; then exec /usr/bin/weed -logtostderr=true volume -dir=/data "$@"; fi
    exec /usr/bin/weed -logtostderr=true volume -dir=/data -max=0 "$@" ;;
  server)
    if has_flag volume.max "$@"; then
      exec /usr/bin/weed -logtostderr=true server -dir=/data -master.volumeSizeLimitMB=1024 "$@"
    fi
    exec /usr/bin/weed -logtostderr=true server -dir=/data -volume.max=0 -master.volumeSizeLimitMB=1024 "$@" ;;
  mini)
    if has_flag dir "$@"; then exec /usr/bin/weed -logtostderr=true mini "$@"; fi
    exec /usr/bin/weed -logtostderr=true mini -dir=/data "$@" ;;
  filer) exec /usr/bin/weed -logtostderr=true filer "$@" ;;
  s3)
    exec /usr/bin/weed -logtostderr=true s3 -domainName="${S3_DOMAIN_NAME:-}" -key.file="${S3_KEY_FILE:-}" \
      -cert.file="${S3_CERT_FILE:-}" "$@" ;;
  shell)
    echo "$@" | exec /usr/bin/weed -logtostderr=true shell -cluster="${SHELL_CLUSTER:-}" -filer="${SHELL_FILER:-}" \
      -filerGroup="${SHELL_FILER_GROUP:-}" -master="${SHELL_MASTER:-}" -options="${SHELL_OPTIONS:-}" ;;
  "") exec /usr/bin/weed ;;
  *) exec /usr/bin/weed "$role" "$@" ;;
esac
