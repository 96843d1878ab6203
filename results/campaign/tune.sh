#!/usr/bin/env bash
# Stage 1 of the second results campaign: tune every method on the development protocol `sa_a2jr_dev`
# (Salinas-A → Jasper Ridge, clean split, five validation pixels per class; no reported protocol targets
# Jasper Ridge). Every method gets the same chance: 8 sampled configs from its search space
# (methods/search_spaces.py) around its parity `cpu` preset, each scored on the mean validation OA of the
# protocol's three seeds, ASHA stopping, sampler seed 0, fp32, one CPU per trial. The self-supervised
# methods (s2former, mae) search their fine-tuning keys, not the mask ratio or the pretraining schedule. One
# exception is built into S²Former's config: its `weight_decay` is one key for pretraining and fine-tuning, so
# its tuned preset also pretrains with the tuned decay (same budget in samples; one more pretraining per
# source), while MAE's `pretrain_weight_decay` stays at the parity value. A preset file that exists is kept
# (delete it to tune again).
# Usage: bash results/campaign/tune.sh [OUT]   (OUT defaults to results/)
set -euo pipefail
out=${1:-results}
mkdir -p "$out/presets"
declare -A keys=(
    [s2former]=finetune_lr,weight_decay,daft_weight,probe_fraction,finetune_epochs
    [mae]=learning_rate,weight_decay,epochs
)
for method in svm cnn3d ssftt mae s2former finetune dcfsl; do
    preset="$out/presets/$method-sa_a2jr_dev.toml"
    [[ -f "$preset" ]] && { echo "kept $preset"; continue; }
    started=$(date +%s)
    hsibench tune --method "$method" --protocol sa_a2jr_dev --preset cpu --trials 8 --sampler-seed 0 \
        --precision fp32 ${keys[$method]:+--keys "${keys[$method]}"} --out "$preset"
    echo "tuned $method in $(( $(date +%s) - started )) s"
done
