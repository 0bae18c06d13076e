#!/usr/bin/env bash
# Build the launcher+worker image (deploy/dataflow/Dockerfile), push it, and register the flex template.
#   PROJECT=my-proj REGION=us-central1 BUCKET=my-bucket \
#   IMAGE=us-central1-docker.pkg.dev/my-proj/yuliao/worker:0.1.0 deploy/dataflow/build_flex_template.sh
# Then run it (sdk_container_image: workers use the same image; the launcher exits once the job is submitted):
#   gcloud dataflow flex-template run "yuliao-$(date +%s)" --region "$REGION" \
#     --template-file-gcs-location "gs://$BUCKET/templates/yuliao.json" \
#     --temp-location "gs://$BUCKET/tmp" --staging-location "gs://$BUCKET/staging" \
#     --worker-machine-type n2-highmem-4 --max-workers 100 \
#     --additional-experiments use_runner_v2 \
#     --parameters "input=gs://…/*.warc.gz,output=gs://…/corpus,recipe=zh_heavy,sdk_container_image=$IMAGE,sdk_location=container"
# and once the job has succeeded, render the dataset card from its stats (the launcher does not wait):
#   yuliao card gs://…/corpus
set -euo pipefail
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${IMAGE:?}"
cd "$(dirname "$0")/../.."
docker build -f deploy/dataflow/Dockerfile -t "$IMAGE" .
docker push "$IMAGE"
gcloud dataflow flex-template build "gs://$BUCKET/templates/yuliao.json" \
  --project "$PROJECT" --image "$IMAGE" --sdk-language PYTHON --metadata-file deploy/dataflow/metadata.json
