#!/usr/bin/env bash
# Pack Ray for a GPU machine without a package registry (Python 3.12 there, files of at most 64 MiB). Ray's
# wheel is 79 MB, 32 MB of it Java jars that Python never loads. This downloads Ray (the version installed here)
# and the packages that machine's image lacks (jsonschema and its three), installs them into a folder for that
# Python, drops ray/jars and RLlib, and writes DIR/site.tar.xz (about 32 MB). It copies the wild photos
# benchmarks/batch_scaling.py uses to DIR/photos (../shared does not travel).
#   bash release/gpu/ray_pack.sh [PYTHON_VERSION=3.12] [DIR=runs/gpu_ray]
# Then run release/gpu/batch_scaling.sh on the GPU machine with DIR copied beside the repository.
set -euo pipefail
py=${1:-3.12}
dir=${2:-runs/gpu_ray}
python=.venv/bin/python
ray_version=$($python -c 'import ray; print(ray.__version__)')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target=(--only-binary=:all: --python-version "$py" --implementation cp)
for p in manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64; do target+=(--platform "$p"); done
$python -m pip download -q --no-deps "${target[@]}" -d "$work/whl" \
  "ray==$ray_version" jsonschema jsonschema-specifications referencing rpds-py
$python -m pip install -q --no-deps --no-index --no-compile "${target[@]}" --target "$work/site" "$work"/whl/*.whl
rm -rf "$work/site/ray/jars" "$work/site/ray/rllib" "$work/site/bin"
mkdir -p "$dir/photos"
tar -C "$work/site" -cf - . | xz -T1 -6 > "$dir/site.tar.xz"
$python - "$dir/photos" <<'PY'
import shutil, sys
sys.path.insert(0, "benchmarks")
from batch_scaling import PHOTOS, WILD
for name in PHOTOS:
    if (WILD / name).is_file():
        shutil.copy(WILD / name, sys.argv[1])
PY
du -sh "$dir"/*
echo "Ray $ray_version for CPython $py in $dir"
