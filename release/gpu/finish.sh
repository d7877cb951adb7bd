#!/usr/bin/env bash
# Second step of a GPU run: wait (at most SECONDS) for the FER2013 runs under runs/gpu/ to end; then start, in its
# own process session, the CK+48 fine-tuning CV of the better ResNet-18 run (runs/gpu/ck/, log runs/gpu/ck.log)
# and write out every run's logs, histories and best checkpoint (release/gpu/pack.sh all). A third command
# collects the CV with `bash release/gpu/watch_ck.sh SECONDS`.
#   bash release/gpu/finish.sh SECONDS CKPLUS_DATA
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
bash release/gpu/watch.sh "$1"
if pgrep -f "^python3 -m ferkit train" >/dev/null; then echo "training still going on: no CV started"; exit 0; fi
best=$(python3 release/gpu/best_run.py) || exit 1
echo "CK+ fine-tuning CV from runs/gpu/$best/best.safetensors"
setsid nohup python3 studies/ckplus_cv.py --data "$2" --init-from "runs/gpu/$best/best.safetensors" \
  --skip-scratch --run-dir runs/gpu/ck --quiet >runs/gpu/ck.log 2>&1 </dev/null &
exec bash release/gpu/pack.sh all
