"""Print the name of the run under runs/gpu/ whose history has the highest val_acc among those matching a glob.

python3 release/gpu/best_run.py ["*resnet18*"]
"""

import csv
import pathlib
import sys

pattern = sys.argv[1] if len(sys.argv) > 1 else "*resnet18*"
runs = list(pathlib.Path("runs/gpu").glob(f"{pattern}/history.csv"))
if not runs:
    sys.exit(f"no run under runs/gpu/ matches {pattern!r}")
best = max(runs, key=lambda p: max(float(r["val_acc"]) for r in csv.DictReader(p.open())))
print(best.parent.name)
