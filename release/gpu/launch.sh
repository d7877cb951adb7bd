#!/usr/bin/env bash
# Train several configs side by side on one GPU so that all end within a time budget, then watch them.
#   bash release/gpu/launch.sh BUDGET_S WATCH_S DATA CONFIG...
# BUDGET_S: seconds the runs may take together (probe.py turns it into an epoch count); WATCH_S: seconds this
# command waits before it returns (the runs go on in their own process groups, so later commands can watch them);
# DATA: the dataset (a packed .npz.xz travels best). Runs go to runs/gpu/<config name>/, logs beside them.
set -u
budget=$1 watch=$2 data=$3
shift 3
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
mkdir -p runs/gpu
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' || exit 1
python3 release/gpu/probe.py --budget "$budget" "$@" | tee runs/gpu/epochs.txt
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
while read -r cfg epochs _; do
  name=$(basename "$cfg" .yaml)
  setsid nohup python3 -m ferkit train -c "$cfg" --data "$data" --run-dir "runs/gpu/$name" --exist-ok \
    --set "train.epochs=$epochs" >"runs/gpu/$name.log" 2>&1 </dev/null &
done <runs/gpu/epochs.txt
echo "launched after $(($(date +%s) - t0)) s"
exec bash release/gpu/watch.sh $((watch - ($(date +%s) - t0)))
