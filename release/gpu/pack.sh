#!/usr/bin/env bash
# Write out the logs, histories and curves of every run under runs/gpu/ and the best checkpoints of the runs
# named ("auto-resnet": the better resnet18 run; "all": every run), as a tar split into 15 MiB parts
# ($OUT/results.tar.part-*; runs/gpu/out when $OUT is unset).
#   bash release/gpu/pack.sh RUN_NAME...
set -u
out=${OUT:-runs/gpu/out}
mkdir -p "$out"
files=()
for name in "$@"; do
  case "$name" in
    all) files+=(runs/gpu/*/best.safetensors); continue ;;
    auto-resnet) name=$(python3 release/gpu/best_run.py) || exit 1 ;;
  esac
  files+=("runs/gpu/$name/best.safetensors")
done
echo "sending ${files[*]}"
tar cf - runs/gpu/epochs.txt runs/gpu/*.log runs/gpu/*/history.csv runs/gpu/*/summary.json runs/gpu/*/config.yaml \
  runs/gpu/*/curves.png "${files[@]}" 2>/dev/null | split -b 15M - "$out/results.tar.part-"
ls -la "$out"
