#!/bin/bash
# ENTRYPOINT of the locally built apache/spark image, with the contract of the upstream image's
# /opt/entrypoint.sh: `driver` and `executor` start Spark-on-Kubernetes processes (under tini, as the
# `spark` user when started as root, classpath from SPARK_HOME/jars, HADOOP_CONF_DIR and SPARK_CONF_DIR);
# any other command runs as it is. The manifests override it with `command:` and run spark-class.
set -eo pipefail

if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
fi

cp="${SPARK_CLASSPATH:-}:${SPARK_HOME}/jars/*"
[ -n "${SPARK_EXTRA_CLASSPATH:-}" ] && cp="$cp:$SPARK_EXTRA_CLASSPATH"
[ -n "${HADOOP_CONF_DIR+x}" ] && cp="$HADOOP_CONF_DIR:$cp"
if [ -n "${SPARK_CONF_DIR+x}" ]; then cp="$SPARK_CONF_DIR:$cp"; else cp="$SPARK_HOME/conf:$cp"; fi
cp="$cp:$PWD"
[ -n "${PYSPARK_PYTHON+x}" ] && export PYSPARK_PYTHON
[ -n "${PYSPARK_DRIVER_PYTHON+x}" ] && export PYSPARK_DRIVER_PYTHON

as_spark=()
if [ "$(id -u)" -eq 0 ]; then
  as_spark=(setpriv --reuid=spark --regid=spark --init-groups --)
fi

java_opts=()
for v in "${!SPARK_JAVA_OPT_@}"; do
  java_opts+=("${!v}")
done

case "${1:-}" in
  driver)
    shift
    exec "${as_spark[@]}" /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
      --deploy-mode client "$@"
    ;;
  executor)
    shift
    exec "${as_spark[@]}" /usr/bin/tini -s -- "$JAVA_HOME/bin/java" "${java_opts[@]}" \
      -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
      -cp "$cp:${SPARK_DIST_CLASSPATH:-}" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \
      --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \
      --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" --podName "$SPARK_EXECUTOR_POD_NAME"
    ;;
  *)
    exec "$@"
    ;;
esac
