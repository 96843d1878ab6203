#!/usr/bin/env bash
# The second results campaign (see results/README.md): tuning on the development protocol sa_a2jr_dev, the main
# tables of eight protocols at the parity `cpu` presets and at the tuned presets, the S²Former ablations, the shots
# and pretraining-source sweeps, the machine check, the bias audit, then every table, figure and the HTML report.
# Records that exist are reused, so an interrupted campaign resumes where it stopped. Table lines marked
# `# pending` read records the campaign has not made yet (results/README.md, "Cuts"): run their stage, then
# remove the mark.
# Usage: bash results/make_campaign.sh [OUT [STAGE…]]   OUT defaults to results/; stages (default: all, in this
#        order): tune main sweeps audit report
set -euo pipefail
out=${1:-results}
shift || true
stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=(tune main sweeps audit report)
tuned="$out/presets/{method}-sa_a2jr_dev.toml"
# the README's headline protocols first, then the rest: a campaign cut short still has its main tables
MAIN_PROTOCOLS=(jr2sa_a muufl2sa_a sa_a_r2l sa_a av2sa_a pusub2sa_a urban2sa_a multi2sa_a)
# seeds of the secondary sweeps (the main tables always run all ten; the audit runs 5): cut here first.
# Each ablation variant that changes pretraining pretrains once per protocol (~7.5 min of one core at `cpu`).
declare -A ABLATION_RUNS=([jr2sa_a]=10 [muufl2sa_a]=5)
SHOTS_RUNS=5

methods_of() {  # the methods a protocol can run: DCFSL and finetune need one labelled source
    case $1 in
        jr2sa_a|sa_a_r2l) echo s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune ;;
        *) echo s2former,mae,svm,cnn3d,ssftt ;;
    esac
}

stage_tune() {
    bash results/campaign/tune.sh "$out"
}

stage_main() {
    for protocol in "${MAIN_PROTOCOLS[@]}"; do
        hsibench run --methods "$(methods_of "$protocol")" --protocol "$protocol" --preset cpu --out "$out"
        hsibench run --methods "$(methods_of "$protocol")" --protocol "$protocol" --preset "$tuned" --out "$out"
    done
    # the pretraining-source table's "no pretraining" rows (same targets, seeds and budgets)
    hsibench run --method s2former-no-pretrain --protocol jr2sa_a --preset cpu --out "$out"
    hsibench run --method s2former-no-pretrain --protocol sa_a_r2l --preset cpu --out "$out"
    hsibench sweep --method mae --protocol jr2sa_a --preset cpu --sweep pretrain_steps=0 --out "$out"
    hsibench sweep --method mae --protocol sa_a_r2l --preset cpu --sweep pretrain_steps=0 --out "$out"
}

stage_sweeps() {
    for protocol in jr2sa_a muufl2sa_a; do
        hsibench ablate --protocol "$protocol" --preset cpu --runs "${ABLATION_RUNS[$protocol]}" --out "$out"
        hsibench sweep --method s2former --protocol "$protocol" --preset cpu --runs "${ABLATION_RUNS[$protocol]}" \
            --sweep band_alignment=linear,wavelength --out "$out"
    done
    hsibench sweep --methods s2former,mae,svm --protocol jr2sa_a --preset cpu --runs "$SHOTS_RUNS" \
        --sweep shots=1,2,3,4,5 --out "$out"
    # the machine check (results/README.md, "The machine is a source of noise"): parity rows and the ablation of
    # jr2sa_a again, all on one machine. On the AVX2 machine of 2026-12-07 the ablation variants it had run into
    # jr2sa_a/ were copied here first (byte-identical records), so only the full model, ema-cold, lr0-warmup and
    # no-pretrain ran anew; on any other machine both lines run everything: a same-machine set of that machine.
    hsibench run --methods s2former,svm,ssftt,cnn3d --protocol jr2sa_a --preset cpu --out "$out/campaign/machine-avx2" --no-maps
    hsibench ablate --protocol jr2sa_a --preset cpu --runs 10 --out "$out/campaign/machine-avx2" --no-maps
    hsibench sweep --method s2former --protocol jr2sa_a --preset cpu --runs 10 \
        --sweep band_alignment=linear,wavelength --out "$out/campaign/machine-avx2" --no-maps
}

stage_audit() {  # runs, then audit.{md,tex,csv} and figures/audit.*, under results/campaign/audit/<protocol>/
    hsibench audit jr2sa_a --methods s2former,ssftt,dcfsl --preset cpu --runs 5 --out "$out/campaign"
    hsibench audit sa_a_r2l --methods s2former,ssftt,dcfsl --preset cpu --runs 5 --out "$out/campaign"
}

stage_report() {  # literal lines: tests/test_committed_results.py regenerates every table from them
    # main tables: parity `cpu` presets, then the tuned presets (main-tuned-sa_a2jr_dev.*); each also as its OA row
    # alone (main-OA*: the Holm family is the six comparisons with S²Former, not all 54 cells)
    hsibench table main --protocol jr2sa_a --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol jr2sa_a --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol jr2sa_a --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol jr2sa_a --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol muufl2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol muufl2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol muufl2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol muufl2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a_r2l --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a_r2l --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a_r2l --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a_r2l --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol av2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol av2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol av2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol av2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol pusub2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol pusub2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol pusub2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol pusub2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol urban2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol urban2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol urban2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol urban2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol multi2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write > /dev/null
    hsibench table main --protocol multi2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table main --protocol multi2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --out "$out" --write > /dev/null
    hsibench table main --protocol multi2sa_a --methods s2former,mae,svm,cnn3d,ssftt --preset "$out/presets/{method}-sa_a2jr_dev.toml" --metric OA --out "$out" --write > /dev/null
    # the pretraining-source table (results/sources.*), the ablations, band alignment and shots
    hsibench table sources --protocol jr2sa_a,av2sa_a,muufl2sa_a,pusub2sa_a,urban2sa_a,multi2sa_a,sa_a,sa_a_r2l --methods s2former,mae --preset cpu --out "$out" --write > /dev/null
    hsibench table ablation --protocol jr2sa_a --preset cpu --out "$out" --write > /dev/null
    hsibench table ablation --protocol jr2sa_a --preset cpu --metric OA --out "$out" --write > /dev/null
    hsibench table sweep --protocol jr2sa_a --key band_alignment --methods s2former --preset cpu --out "$out" --write > /dev/null
    hsibench table ablation --protocol jr2sa_a --preset cpu --out "$out/campaign/machine-avx2" --write > /dev/null
    hsibench table ablation --protocol jr2sa_a --preset cpu --metric OA --out "$out/campaign/machine-avx2" --write > /dev/null
    hsibench table sweep --protocol jr2sa_a --key band_alignment --methods s2former --preset cpu --out "$out/campaign/machine-avx2" --write > /dev/null
    # pending (the campaign resumes here): hsibench table ablation --protocol muufl2sa_a --preset cpu --out "$out" --write > /dev/null
    # pending (the campaign resumes here): hsibench table ablation --protocol muufl2sa_a --preset cpu --metric OA --out "$out" --write > /dev/null
    # pending (the campaign resumes here): hsibench table sweep --protocol muufl2sa_a --key band_alignment --methods s2former --preset cpu --out "$out" --write > /dev/null
    hsibench table shots --protocol jr2sa_a --methods s2former,mae,svm --preset cpu --out "$out" --write > /dev/null
    # figures and the HTML report
    hsibench figure maps --protocol jr2sa_a --seed 1330 --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset cpu --out "$out" --write
    hsibench figure maps --protocol muufl2sa_a --seed 1330 --methods s2former,mae,svm,cnn3d,ssftt --preset cpu --out "$out" --write
    hsibench figure maps --protocol sa_a_r2l --seed 1330 --methods s2former,mae,svm,cnn3d,ssftt,dcfsl,finetune --preset cpu --out "$out" --write
    hsibench figure ablation --protocol jr2sa_a --preset cpu --out "$out" --write
    hsibench figure ablation --protocol jr2sa_a --preset cpu --out "$out/campaign/machine-avx2" --write
    # pending (the campaign resumes here): hsibench figure ablation --protocol muufl2sa_a --preset cpu --out "$out" --write
    hsibench figure shots --protocol jr2sa_a --methods s2former,mae,svm --preset cpu --out "$out" --write
    hsibench report --out "$out/campaign/report" --results "$out" --preset cpu jr2sa_a muufl2sa_a sa_a_r2l sa_a av2sa_a pusub2sa_a urban2sa_a multi2sa_a
}

for stage in "${stages[@]}"; do
    started=$(date +%s)
    "stage_$stage"
    echo "stage $stage finished in $(( $(date +%s) - started )) s"
done
