#!/usr/bin/env bash
# Run a Yuliao build on Flink through Beam's portable Flink runner.
# 1) Start the job server for your Flink version (1.18 shown):
#      docker run --net=host apache/beam_flink1.18_job_server:2.77.0 --flink-master=FLINK_JOBMANAGER:8081
# 2) Submit:
#      JOB_ENDPOINT=localhost:8099 deploy/flink/submit.sh --input 's3://bucket/crawl/*.warc.gz' --output s3://bucket/corpus/v1
#    (s3:// needs apache-beam[aws] in the worker image; gs:// needs apache-beam[gcp].)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/yuliao build "$@" \
  --runner PortableRunner --job_endpoint "${JOB_ENDPOINT:-localhost:8099}" \
  --environment_type "${ENVIRONMENT_TYPE:-DOCKER}" \
  --environment_config "${ENVIRONMENT_CONFIG:-yuliao-worker:latest}" \
  --parallelism "${PARALLELISM:-16}"
