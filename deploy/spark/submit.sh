#!/usr/bin/env bash
# Run a Yuliao build on a Spark 3 cluster with Beam's portable Spark runner, submitted as an uber jar through
# the Spark master's REST submission endpoint (spark.master.rest.enabled=true, port 6066): the runner puts
# the pipeline into Beam's Spark 3 job-server jar and submits it; no job server process to keep running.
#   SPARK_REST_URL=http://spark-master:6066 IMAGE=REGISTRY/yuliao-worker:TAG deploy/spark/submit.sh \
#     --input 'hdfs:///crawl/*.warc.gz' --output hdfs:///corpus/v1
# Beam 2.77 publishes Spark 3 only (SparkRunnerOptions --spark_version choices: 3). The jar
# (beam-runners-spark-3-job-server-2.77.0.jar) is fetched from Maven Central on first use and cached in
# ~/.apache_beam/cache/jars; offline, download it once and pass SPARK_JOB_SERVER_JAR=/path/to/jar. Workers run
# the SDK harness from IMAGE (deploy/worker/build.sh), or ENVIRONMENT_TYPE=EXTERNAL with a Beam worker pool.
# Job-server alternative: docker run --net=host apache/beam_spark3_job_server:2.77.0 --spark-master-url=spark://MASTER:7077
# then --runner PortableRunner --job_endpoint localhost:8099.
set -euo pipefail
: "${SPARK_REST_URL:?set SPARK_REST_URL (http://master:6066)}"
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/../.."
ARGS=(
  --runner SparkRunner --spark_version 3 --spark_submit_uber_jar --spark_rest_url "$SPARK_REST_URL"
  --environment_type "${ENVIRONMENT_TYPE:-DOCKER}"
  --environment_config "${ENVIRONMENT_CONFIG:-${IMAGE:?set IMAGE (deploy/worker/build.sh) or ENVIRONMENT_CONFIG}}"
)
[[ -n "${SPARK_JOB_SERVER_JAR:-}" ]] && ARGS+=(--spark_job_server_jar "$SPARK_JOB_SERVER_JAR")
"$PYTHON" deploy/validate_options.py spark "${ARGS[@]}"
if [[ "${DRY_RUN:-0}" == 1 ]]; then printf '%s\n' "${ARGS[@]}"; exit 0; fi  # validated options only (CI)
exec "$PYTHON" -m pipelines.cli build "$@" "${ARGS[@]}"
