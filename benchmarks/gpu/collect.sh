#!/usr/bin/env bash
# Wait (at most SECONDS) for the runs under runs/gpu/ to end, then send back what is needed to ship them: the
# logs, histories and curves of every run, and the best checkpoints of the runs named (a chosen subset keeps the
# transfer under $OUT's limits), as a tar split into 15 MiB parts ($OUT/results.tar.part-*).
#   bash benchmarks/gpu/collect.sh SECONDS RUN_NAME...     (RUN_NAME "auto-resnet": the better resnet18 run)
set -u
wait_s=$1
shift
bash benchmarks/gpu/watch.sh "$wait_s"
out=${OUT:-runs/gpu/out}
files=()
for name in "$@"; do
  if [ "$name" = auto-resnet ]; then
    name=$(python3 - <<'PY'
import csv, pathlib
runs = list(pathlib.Path("runs/gpu").glob("*resnet18*/history.csv"))
best = max(runs, key=lambda p: max(float(r["val_acc"]) for r in csv.DictReader(p.open())))
print(best.parent.name)
PY
)
  fi
  echo "sending runs/gpu/$name/best.safetensors"
  files+=("runs/gpu/$name/best.safetensors")
done
tar cf - runs/gpu/epochs.txt runs/gpu/*.log runs/gpu/*/history.csv runs/gpu/*/summary.json runs/gpu/*/config.yaml \
  runs/gpu/*/curves.png "${files[@]}" 2>/dev/null | split -b 15M - "$out/results.tar.part-"
ls -la "$out"
