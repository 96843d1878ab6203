#!/usr/bin/env bash
# Regenerates results/demo/ from nothing: every method, the S²Former ablation grid and a shots sweep on the
# synthetic `demo` protocol (its default preset is `smoke`), through the Ray runner, then the tables and figures.
# Usage: bash results/make_demo.sh [OUT]   (OUT defaults to results/; records that exist are skipped)
set -euo pipefail
out=${1:-results}
started=$(date +%s)
for method in s2former mae svm cnn3d ssftt dcfsl finetune; do
    hsibench run --method "$method" --protocol demo --out "$out"
done
hsibench ablate --protocol demo --out "$out"
hsibench sweep --protocol demo --method s2former --method mae --method svm --sweep shots=1,2,3,4,5 --out "$out"
hsibench table main --protocol demo --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --out "$out" --write > /dev/null
hsibench table ablation --protocol demo --out "$out" --write > /dev/null
hsibench table shots --protocol demo --methods s2former,mae,svm --out "$out" --write > /dev/null
hsibench figure maps --protocol demo --seed 1330 --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --out "$out" --write
hsibench figure ablation --protocol demo --out "$out" --write
hsibench figure shots --protocol demo --methods s2former,mae,svm --out "$out" --write
echo "results/demo regenerated in $(( $(date +%s) - started )) s"
