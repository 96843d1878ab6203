#!/usr/bin/env bash
# SUPERSEDED by results/make_campaign.sh (kept with the records it made, results/superseded/sa_a*/). Give it an
# OUT of your own: by default it would write into results/, beside the campaign's records of the same protocols.
# Regenerated results/sa_a/ and results/sa_a_r2l/ from nothing: the first results on REAL spectra (the
# Salinas-A AVIRIS cube, 83×86, 204 corrected bands). Every method at its `cpu` preset through the Ray
# runner, ten seeds; on sa_a_r2l also the methods that use source labels, the S²Former ablation grid and a
# shots sweep; then every table and figure. Needs the Salinas-A file (downloaded on first use, 1.5 MB, or
# a mirror: HSIBENCH_MIRROR=DIR). About 75 minutes on 2 CPU cores.
# Usage: bash results/superseded/make_salinas_a.sh OUT   (records that exist are skipped)
set -euo pipefail
out=${1:?give an OUT folder (the campaign owns results/sa_a*/)}
started=$(date +%s)
for method in s2former mae svm cnn3d ssftt; do
    hsibench run --method "$method" --protocol sa_a --preset cpu --out "$out"
done
for method in s2former mae svm cnn3d ssftt dcfsl finetune; do
    hsibench run --method "$method" --protocol sa_a_r2l --preset cpu --out "$out"
done
hsibench ablate --protocol sa_a_r2l --preset cpu --out "$out"
hsibench sweep --protocol sa_a_r2l --method s2former --method mae --method svm --preset cpu --sweep shots=1,2,3,4,5 --out "$out"
hsibench table main --protocol sa_a --methods s2former,mae,svm,cnn3d,ssftt --out "$out" --write > /dev/null
hsibench table main --protocol sa_a_r2l --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --out "$out" --write > /dev/null
hsibench table ablation --protocol sa_a_r2l --out "$out" --write > /dev/null
hsibench table shots --protocol sa_a_r2l --methods s2former,mae,svm --out "$out" --write > /dev/null
hsibench figure maps --protocol sa_a --seed 1330 --methods s2former,mae,svm,cnn3d,ssftt --out "$out" --write
hsibench figure maps --protocol sa_a_r2l --seed 1330 --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --out "$out" --write
hsibench figure ablation --protocol sa_a_r2l --out "$out" --write
hsibench figure shots --protocol sa_a_r2l --methods s2former,mae,svm --out "$out" --write
echo "results/sa_a and results/sa_a_r2l regenerated in $(( $(date +%s) - started )) s"
