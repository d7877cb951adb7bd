#!/usr/bin/env bash
# Wait until the runs under runs/gpu/ end or SECONDS pass, then print each run's last epochs and save the logs,
# histories and summaries to $OUT (runs/gpu/out when $OUT is unset).
#   bash release/gpu/watch.sh SECONDS
set -u
end=$(($(date +%s) + $1))
out=${OUT:-runs/gpu/out}
mkdir -p "$out"
while [ "$(date +%s)" -lt "$end" ] && pgrep -f "^python3 -m ferkit train" >/dev/null; do sleep 10; done
for f in runs/gpu/*.log; do
  echo "== $f"
  tr '\r' '\n' <"$f" | grep -a -E "^epoch [0-9]+:|best epoch|Error|error|Traceback" | tail -n 3
done
nvidia-smi --query-gpu=utilization.gpu,memory.used,temperature.gpu --format=csv
pgrep -fa "^python3 -m ferkit train" | cut -c1-200 || echo "no run is going on"
tar czf "$out/histories.tgz" runs/gpu/epochs.txt runs/gpu/*.log runs/gpu/*/history.csv runs/gpu/*/summary.json \
  runs/gpu/*/config.yaml runs/gpu/*/curves.png 2>/dev/null
exit 0
