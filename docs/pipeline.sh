#!/usr/bin/env bash
# register -> gates -> approve -> promote -> export, as a CI job would run it.
# Run in an empty directory: with no mlops.toml the CLI uses ./.mlops (the local profile).
# mlops-cli/tests/pipeline_snippet.rs runs this file verbatim.
set -euo pipefail

# Training side (CI): a stand-in for `python train.py`, then register the artifact.
echo "model weights" > model.pkl
VERSION=$(mlops -q --as service:ci models register fraud-detector \
  --artifact model.pkl --metric auc=0.91 --metric loss=0.12 \
  --model-format sklearn --tag git_sha=0123abc)
REQUEST=$(mlops -q --as service:ci models request fraud-detector \
  --version "$VERSION" --env staging --reason "nightly build")

# Gates: the version's metrics against thresholds, attached to the request (exit 1 if unmet).
mlops --as service:ci models gate fraud-detector --version "$VERSION" --request "$REQUEST" \
  --check quality --metric 'auc>=0.85' --metric 'loss<0.2'

# Deployment side: two approvers (staging needs two, never the requester), then promote.
mlops --as user:dana models approve fraud-detector --version "$VERSION" --request "$REQUEST" --comment "metrics ok"
mlops --as user:lee models approve fraud-detector --version "$VERSION" --request "$REQUEST" --comment "canary ok"
mlops --as service:deployer models promote fraud-detector --version "$VERSION" --request "$REQUEST"

# GitOps: write what is deployed; Argo CD syncs the directory once it is committed.
mlops models export-manifest --env staging --format kserve --out deploy/staging/models.yaml
mlops --json models list
