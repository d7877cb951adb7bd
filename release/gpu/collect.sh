#!/usr/bin/env bash
# Wait (at most SECONDS) for the runs under runs/gpu/ to end, then write out what is needed to ship them: the
# logs, histories and curves of every run, and the best checkpoints of the runs named (a chosen subset keeps the
# transfer in parts of at most 15 MiB), as a tar split into 15 MiB parts ($OUT/results.tar.part-*).
#   bash release/gpu/collect.sh SECONDS RUN_NAME...     (RUN_NAME "auto-resnet": the better resnet18 run)
set -u
bash release/gpu/watch.sh "$1"
shift
exec bash release/gpu/pack.sh "$@"
