#!/usr/bin/env bash
# Run a Yuliao build on a Flink cluster with Beam's portable Flink runner, submitted as an uber jar (no job
# server process to keep running): the runner puts the pipeline into Beam's Flink job-server jar for
# FLINK_VERSION and POSTs it to the JobManager's REST endpoint.
#   FLINK_MASTER=jobmanager:8081 IMAGE=REGISTRY/yuliao-worker:TAG deploy/flink/submit.sh \
#     --input 's3://bucket/crawl/*.warc.gz' --output s3://bucket/corpus/v1
# FLINK_VERSION must be one Beam 2.77 publishes a job server for: 1.19, 1.20, 2.0, 2.1 or 2.2
# (FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS). The jar (beam-runners-flink-<v>-job-server-2.77.0.jar) is
# fetched from Maven Central on first use and cached in ~/.apache_beam/cache/jars; offline, download it once
# and pass FLINK_JOB_SERVER_JAR=/path/to/jar. Workers run the SDK harness from IMAGE (deploy/worker/build.sh)
# with --environment_type DOCKER; or ENVIRONMENT_TYPE=EXTERNAL ENVIRONMENT_CONFIG=host:50000 for a Beam
# worker pool (python -m apache_beam.runners.worker.worker_pool_main) on hosts with yuliao installed.
# Job-server alternative: docker run --net=host apache/beam_flink1.20_job_server:2.77.0 --flink-master=$FLINK_MASTER
# then --runner PortableRunner --job_endpoint localhost:8099.
set -euo pipefail
: "${FLINK_MASTER:?set FLINK_MASTER (host:port of the JobManager REST endpoint)}"
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/../.."
ARGS=(
  --runner FlinkRunner --flink_master "$FLINK_MASTER" --flink_version "${FLINK_VERSION:-1.20}"
  --flink_submit_uber_jar
  --environment_type "${ENVIRONMENT_TYPE:-DOCKER}"
  --environment_config "${ENVIRONMENT_CONFIG:-${IMAGE:?set IMAGE (deploy/worker/build.sh) or ENVIRONMENT_CONFIG}}"
  --parallelism "${PARALLELISM:-16}"
)
[[ -n "${FLINK_JOB_SERVER_JAR:-}" ]] && ARGS+=(--flink_job_server_jar "$FLINK_JOB_SERVER_JAR")
"$PYTHON" deploy/validate_options.py flink "${ARGS[@]}"
if [[ "${DRY_RUN:-0}" == 1 ]]; then printf '%s\n' "${ARGS[@]}"; exit 0; fi  # validated options only (CI)
exec "$PYTHON" -m pipelines.cli build "$@" "${ARGS[@]}"
