#!/usr/bin/env bash
# The synthetic training job for a GPU machine (issue #3): the shipped recipe (`make model`'s train
# step) for each preset in PRESETS, on CUDA with WORKERS processes rendering the fabric, each scored on
# the model card's synthetic test set (a). The rendering, not the GPU, is the limit: on 2 CPU cores a
# step of the small preset takes 0.19 s of network work and 0.07 s per core of rendering
# (benchmarks/results/train_throughput_cpu.json), so 15 workers should bring one 150-epoch run
# (22,500 steps) to a few minutes. The throughput measured there comes back first (throughput.json),
# so a run that would not fit shows before its time is spent.
#
# On the device machine (its image has torch, onnx, onnxruntime, OpenCV, typer and rich, but no
# albumentations: run `benchmarks/gpu_wheels.sh` here first and carry .whl):
#   run(command="benchmarks/gpu_train.sh", carry=[".whl"], timeout_s=580)
# Here, as a check of the script itself on the CPU (minutes):
#   DEVICE=cpu WORKERS=2 EPOCHS=1 STEPS=3 COUNT=20 PRESETS=small OUT=/tmp/gpu-check PY=.venv/bin/python \
#     benchmarks/gpu_train.sh
#
# What comes back in $OUT (at most 8 files): throughput.json, and per preset P: eval_P.json (the
# test-set figures at the model's calibrated threshold), metrics_P.json (the per-epoch history) and
# weights_P.pt (synthetic fabric only; `fabric-inspect export weights_P.pt` rebuilds the model here).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/gpu-out}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-$(($(nproc) - 1))}
PRESETS=${PRESETS:-small wide}
EPOCHS=${EPOCHS:-150}             # the shipped recipe's
STEPS=${STEPS:-}                  # steps per epoch; empty: the preset's (150)
COUNT=${COUNT:-300}               # test images, as in the model card's (a)
RUNS=${RUNS:-runs}
mkdir -p "$OUT" "$RUNS"

if [ -d .whl ] && ! "$PY" -c "import albumentations" 2>/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
FI=("$PY" -m fabric_inspect)
SECONDS=0

"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
"$PY" benchmarks/train_throughput.py --device "$DEVICE" --workers "0,$WORKERS" --steps 40 \
    --json "$OUT/throughput.json"
echo "throughput measured at ${SECONDS} s"

SYN=$RUNS/syn-test-9999
if [ ! -f "$SYN/annotations.json" ]; then
    "${FI[@]}" synth images --out "$SYN" --count "$COUNT" --size 512 --seed 9999
fi
for preset in $PRESETS; do
    run=$RUNS/gpu-$preset
    "${FI[@]}" train --synthetic --out "$run" --preset "$preset" --epochs "$EPOCHS" ${STEPS:+--steps "$STEPS"} \
        --patience 99 --seed 3 --lr 3e-3 --keep last --model-version "gpu-$preset" \
        --device "$DEVICE" --workers "$WORKERS" --no-progress
    echo "$preset trained at ${SECONDS} s"
    "${FI[@]}" eval --model "$run/model.onnx" --data "$SYN" --json "$OUT/eval_$preset.json" \
        --plots "$run/plots" --no-progress
    cp "$run/metrics.json" "$OUT/metrics_$preset.json"
    cp "$run/weights.pt" "$OUT/weights_$preset.pt"
    echo "$preset evaluated at ${SECONDS} s"
done
