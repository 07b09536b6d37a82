#!/bin/bash
# ENTRYPOINT of the locally built apache/hive:3.1.3 image (standalone metastore 3.1.3). It keeps the
# contract of the upstream image's /entrypoint.sh for the metastore:
#   SERVICE_NAME=metastore     run the metastore (HiveServer2 is not in this image)
#   DB_DRIVER (default derby)  the -dbType given to schematool
#   IS_RESUME=true             skip the schema step (upstream: SKIP_SCHEMA_INIT is set from IS_RESUME)
#   SCHEMA_COMMAND             schematool command for Hive < 4 (default initSchema; upgradeSchema to upgrade)
#   HIVE_CUSTOM_CONF_DIR       every regular file below it is linked into $HIVE_HOME/conf, which then is
#                              also HADOOP_CONF_DIR and TEZ_CONF_DIR
#   SERVICE_OPTS               JVM options (e.g. -Dkey=value configuration), after -Xmx1G
#   METASTORE_PORT             Thrift port (default 9083)
#   VERBOSE=true               --verbose for schematool and the service
# As upstream, a failed schema step exits 1 (so -initSchema against an initialised database fails).
set -x

: "${DB_DRIVER:=derby}"
SKIP_SCHEMA_INIT="${IS_RESUME:-false}"
if [[ "${VERBOSE:-}" == "true" ]]; then VERBOSE_MODE="--verbose"; else VERBOSE_MODE=""; fi

export HIVE_CONF_DIR=$HIVE_HOME/conf
if [ -d "${HIVE_CUSTOM_CONF_DIR:-}" ]; then
  # ConfigMap volumes hold the files in a timestamped directory behind symlinks: -type f finds those
  find "${HIVE_CUSTOM_CONF_DIR}" -type f -exec ln -sfn {} "${HIVE_CONF_DIR}"/ \;
  export HADOOP_CONF_DIR=$HIVE_CONF_DIR
  export TEZ_CONF_DIR=$HIVE_CONF_DIR
fi

export HADOOP_CLIENT_OPTS="${HADOOP_CLIENT_OPTS:-} -Xmx1G ${SERVICE_OPTS:-}"

if [[ "${SKIP_SCHEMA_INIT}" == "false" ]]; then
  # shellcheck disable=SC2086
  if "$HIVE_HOME/bin/schematool" -dbType "$DB_DRIVER" "-${SCHEMA_COMMAND:-initSchema}" $VERBOSE_MODE; then
    echo "Initialized schema successfully.."
  else
    echo "Schema initialization failed!"
    exit 1
  fi
fi

case "${SERVICE_NAME:-}" in
  metastore)
    export METASTORE_PORT=${METASTORE_PORT:-9083}
    # shellcheck disable=SC2086
    exec "$HIVE_HOME/bin/hive" --skiphadoopversion --skiphbasecp $VERBOSE_MODE --service metastore
    ;;
  *)
    echo "SERVICE_NAME=${SERVICE_NAME:-} is not served by this image: it has the standalone metastore only" >&2
    exit 1
    ;;
esac
