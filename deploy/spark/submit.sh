#!/usr/bin/env bash
# Run a Yuliao build on Spark through Beam's portable Spark runner.
# 1) Start Beam's Spark job server next to your cluster (Spark 3.x):
#      docker run --net=host apache/beam_spark3_job_server:2.77.0 --spark-master-url=spark://MASTER:7077
#    or without Docker:
#      java -jar beam-runners-spark-3-job-server-2.77.0.jar --spark-master-url=spark://MASTER:7077
# 2) Submit (workers run the Python SDK harness from the image built by deploy/dataflow/Dockerfile,
#    or EXTERNAL/PROCESS environments on hosts that have yuliao installed):
#      JOB_ENDPOINT=localhost:8099 deploy/spark/submit.sh --input 'hdfs:///crawl/*.warc.gz' --output hdfs:///corpus/v1
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/yuliao build "$@" \
  --runner PortableRunner --job_endpoint "${JOB_ENDPOINT:-localhost:8099}" \
  --environment_type "${ENVIRONMENT_TYPE:-DOCKER}" \
  --environment_config "${ENVIRONMENT_CONFIG:-yuliao-worker:latest}"
