#!/usr/bin/env bash
# Regenerates results/audit/: how much the field's evaluation habits (test-set checkpoint selection, scene-wide
# statistics, no spatial buffer, RNG chaining, one seed) move the numbers of the SVM and SSFTT on the real
# Salinas-A spatial shift (sa_a_r2l), each habit alone against the clean reference, ten seeds, `cpu` presets.
# About 2.5 minutes on 2 CPU cores. Needs the Salinas-A file (downloaded on first use, or HSIBENCH_MIRROR=DIR).
# Usage: bash results/make_audit.sh [OUT]   (OUT defaults to results/; the records go to OUT/audit/)
set -euo pipefail
out=${1:-results}
started=$(date +%s)
hsibench audit sa_a_r2l --method svm --method ssftt --preset cpu --out "$out" > /dev/null
echo "results/audit regenerated in $(( $(date +%s) - started )) s"
