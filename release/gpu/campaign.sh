#!/usr/bin/env bash
# The whole GPU model campaign in ONE command (at most 9 minutes): train the four campaign runs side by
# side and write everything worth keeping to the output folder ($OUT) as it is produced (release/gpu/campaign.py).
# Before the call, on the CPU machine:
#   python release/gpu/campaign_data.py          # runs/campaign/faces.npz.xz (~50 MiB) + teachers/*.logits.npz
#   mkdir -p /tmp/w && mv src/ferkit/weights/*.safetensors src/ferkit/weights/*.onnx /tmp/w   # 64 MiB tree limit
# Then, with runs/campaign/faces.npz.xz and runs/campaign/teachers copied to the GPU machine:
#   bash release/gpu/campaign.sh. Unpack the results with
#   cat weights.tar.part-* | tar x ; tar xzf progress.tar.gz
# BUDGET (seconds, default 420) is the training time: preparing, probing, teacher logits and packing take the rest.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
out=${OUT:-runs/campaign/out}
nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi: running on the CPU"
exec python3 release/gpu/campaign.py run --faces runs/campaign/faces.npz.xz --teachers runs/campaign/teachers \
  --budget "${BUDGET:-420}" --out "$out" "$@"
