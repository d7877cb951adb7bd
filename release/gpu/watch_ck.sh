#!/usr/bin/env bash
# Third step of a GPU run: wait (at most SECONDS) for the CK+48 CV that finish.sh started, then write out its
# cv.json files, log and the RESULTS.md section it appended ($OUT/ck.tgz).
#   bash release/gpu/watch_ck.sh SECONDS
set -u
end=$(($(date +%s) + $1))
out=${OUT:-runs/gpu/out}
mkdir -p "$out"
while [ "$(date +%s)" -lt "$end" ] && pgrep -f "^python3 studies/ckplus_cv.py" >/dev/null; do sleep 5; done
tr '\r' '\n' <runs/gpu/ck.log | tail -n 25
tar czf "$out/ck.tgz" runs/gpu/ck.log benchmarks/RESULTS.md $(find runs/gpu/ck -name '*.json' -o -name '*.csv') 2>/dev/null
ls -la "$out"
