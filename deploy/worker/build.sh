#!/usr/bin/env bash
# Build (and optionally push) the Flink/Spark worker image from deploy/worker/Dockerfile.
#   IMAGE=registry.example.com/yuliao-worker:0.1.0 [EXTRAS=aws|gcp] [PUSH=1] deploy/worker/build.sh
# The Beam version in the image must equal the submitter's (the SDK harness and the runner talk Fn API).
set -euo pipefail
: "${IMAGE:?set IMAGE}"
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/../.."
BEAM_VERSION=$("$PYTHON" -c "import apache_beam; print(apache_beam.__version__)")
docker build -f deploy/worker/Dockerfile --build-arg BEAM_VERSION="$BEAM_VERSION" \
  --build-arg EXTRAS="${EXTRAS:-aws}" -t "$IMAGE" .
if [[ "${PUSH:-0}" == 1 ]]; then docker push "$IMAGE"; fi
