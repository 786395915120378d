#!/usr/bin/env bash
# The wheels that `benchmarks/gpu_train.sh` needs on the GPU machine and that its image lacks
# (albumentations and what it pulls in; torch, onnx, onnxruntime, OpenCV and rich are there), and
# this project's typer, whose version there is unknown.
# That machine reaches no package index, so they travel with the working tree in .whl/ (git-ignored;
# about 8 MB): run this here once, then name .whl in the run's `carry`.
# The versions are this project's venv's, for the GPU image's Python 3.12 on x86-64.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${DEST:-.whl}
WHEELS=(
    albumentations==2.0.8 albucore==0.0.24 pydantic==2.14.4 pydantic-core==2.50.5
    annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0
    simsimd==6.5.16 stringzilla==5.3.2 typer==0.29.2
)
PLATFORMS=()
for n in 17 24 27 28 31 34 35; do PLATFORMS+=(--platform "manylinux_2_${n}_x86_64"); done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${PLATFORMS[@]}" --platform manylinux2014_x86_64 -d "$DEST" "${WHEELS[@]}"
ls -l "$DEST"
