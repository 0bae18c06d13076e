#!/usr/bin/env bash
# Launch a Yuliao build on Google Cloud Dataflow from this machine with the custom worker container.
#   PROJECT=my-proj REGION=us-central1 BUCKET=my-bucket IMAGE=us-central1-docker.pkg.dev/my-proj/yuliao/worker:0.1.0 \
#   deploy/dataflow/launch.sh --input 'gs://my-bucket/crawl/*.warc.gz' --output gs://my-bucket/corpus/v1 [--recipe zh_heavy]
# Needs `pip install 'yuliao[gcp]'` locally. Models and word lists ship inside the container; to use your own,
# put them on GCS and pass --set langid.model_path=gs://… --set tokenize.tokenizer_path=gs://….
# Fixed machine type, no Dataflow Prime: Prime sizes workers itself and refuses --worker_machine_type.
set -euo pipefail
: "${PROJECT:?set PROJECT}" "${REGION:?set REGION}" "${BUCKET:?set BUCKET}" "${IMAGE:?set IMAGE}"
MAX_WORKERS=${MAX_WORKERS:-100}
MACHINE=${MACHINE:-n2-highmem-4}   # dedup shuffles and shard writing like memory; 8 GB/vCPU
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/../.."
ARGS=(
  --runner DataflowRunner
  --project "$PROJECT" --region "$REGION"
  --temp_location "gs://$BUCKET/tmp" --staging_location "gs://$BUCKET/staging"
  --sdk_container_image "$IMAGE" --sdk_location container
  --job_name "yuliao-$(date -u +%Y%m%d-%H%M%S)"
  --worker_machine_type "$MACHINE" --max_num_workers "$MAX_WORKERS"
  --autoscaling_algorithm THROUGHPUT_BASED
  --disk_size_gb 100
  --experiments use_runner_v2 --experiments shuffle_mode=service
)
"$PYTHON" deploy/validate_options.py dataflow "${ARGS[@]}"
if [[ "${DRY_RUN:-0}" == 1 ]]; then printf '%s\n' "${ARGS[@]}"; exit 0; fi  # validated options only (CI)
exec "$PYTHON" -m pipelines.cli build "$@" "${ARGS[@]}"
