#!/usr/bin/env bash
# The GPU scaling figure in one command on a GPU machine: `ferkit batch` with N one-CPU detect actors and one GPU
# classify actor, images/s for N = 1, 2, 4, 8, 14 (benchmarks/batch_scaling.py --gpu). About 3-4 minutes.
# Ray is not in the GPU machine's image and nothing can be installed there, so it travels as a pack.
# Before the call, on the CPU machine:
#   bash release/gpu/ray_pack.sh         # runs/gpu_ray: site.tar.xz (~32 MB, CPython 3.12) and photos/
#   mkdir -p /tmp/w && mv src/ferkit/weights/*.onnx src/ferkit/weights/ferplus.safetensors /tmp/w   # 64 MiB
# Then, with runs/gpu_ray copied beside the repository on the GPU machine: bash release/gpu/batch_scaling.sh; paste
# the output folder's batch_scaling.md ($OUT, else runs/gpu/out) into benchmarks/RESULTS.md (section "ferkit batch on Ray Data:
# detect actors against images/s, GPU classify actor").
# Smoke test here (a 3.11 pack, the CPU as the "GPU"):
#   bash release/gpu/ray_pack.sh 3.11 /tmp/ray311 && PATH=$PWD/.venv/bin:$PATH PACK_DIR=/tmp/ray311 IMAGES=20 \
#     bash release/gpu/batch_scaling.sh --device cpu --gpus 0 --actors-list 1
set -u
pack=${PACK_DIR:-runs/gpu_ray}
site=$(mktemp -d)
out=${OUT:-runs/gpu_ray/out}
mkdir -p "$out" "$site"
python3 - "$pack/site.tar.xz" "$site" <<'PY' || exit 1
import sys, tarfile
with tarfile.open(sys.argv[1]) as tar:
    tar.extractall(sys.argv[2], filter="data")
PY
export PYTHONPATH=$site:$PWD/src PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"; nproc; } | tee "$out/machine.txt"
python3 -c 'import ray, ferkit; print("ray", ray.__version__, "from", ray.__file__)' | tee -a "$out/machine.txt" || exit 1
set -o pipefail
python3 benchmarks/batch_scaling.py --gpu --images "${IMAGES:-500}" --photos "$pack/photos" \
  --write "$out/batch_scaling.md" --no-record "$@" 2>&1 | tee "$out/batch_scaling.log"
