#!/bin/sh
# Entry point of the locally built curlimages/curl image, with the upstream image's contract:
# arguments that start with "-" (or that are not a command) are arguments of curl; a command runs as is.
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1; then
  set -- curl "$@"
fi
exec "$@"
