#!/usr/bin/env bash
# The prepared GPU check: bash benchmarks/gpu_check.sh OUT_DIR [--allow-cpu] [--tiny] [...]
# Needs a Python with torch (the repository's .venv when present, else python3); no Ray, no network.
# Writes OUT_DIR/gpu_check.md and OUT_DIR/gpu_check.json (also when cut short); stops after 480 s.
# Exit code: 0 all checks met, 1 a check failed, 2 no CUDA, 124 the 480 s limit was reached.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: bash benchmarks/gpu_check.sh OUT_DIR [--allow-cpu] [--tiny] [--budget S] [--compile-backend B]" >&2
    exit 64
fi
out_dir=$(mkdir -p "$1" && cd "$1" && pwd)  # absolute: the module runs from the repository root
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=""
for candidate in "$root/.venv/bin/python" python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch" >/dev/null 2>&1; then
        python=$candidate
        break
    fi
done
if [[ -z "$python" ]]; then
    echo "FAIL: no Python with torch found (tried $root/.venv/bin/python, python3, python)" >&2
    exit 3
fi

cd "$root"
export HSIBENCH_OFFLINE=1
export PYTHONUNBUFFERED=1
echo "python: $(command -v "$python") ($("$python" -c 'import torch; print("torch", torch.__version__)'))"
exec timeout 480 "$python" -m benchmarks.gpu_check "$out_dir" "$@"
