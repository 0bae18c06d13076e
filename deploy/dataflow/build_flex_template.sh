#!/usr/bin/env bash
# Build and register the flex template (image from deploy/dataflow/Dockerfile), then run it:
#   gcloud dataflow flex-template run yuliao-$(date +%s) --region $REGION \
#     --template-file-gcs-location gs://$BUCKET/templates/yuliao.json \
#     --parameters input=gs://…/*.warc.gz,output=gs://…/corpus,recipe=zh_heavy
set -euo pipefail
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${IMAGE:?}"
cd "$(dirname "$0")/../.."
docker build -f deploy/dataflow/Dockerfile -t "$IMAGE" . && docker push "$IMAGE"
gcloud dataflow flex-template build "gs://$BUCKET/templates/yuliao.json" \
  --image "$IMAGE" --sdk-language PYTHON --metadata-file deploy/dataflow/metadata.json
