#!/usr/bin/env bash
# Reproduce the model card's evaluation figures (docs/model-card.md):
#   (a) the shipped model on a synthetic test set of a seed never used in training,
#   (b) the shipped model on AITEX, zero-shot (all images, and the validation part of the split),
#   (c) the shipped model fine-tuned on the training part of an AITEX split, on the validation part.
# AITEX images are read in place and linked (never copied) into runs/; the fine-tuned model stays in
# runs/ (git-ignored): never commit AITEX images or a model trained on them.
#
#   benchmarks/eval_aitex.sh                 # all three
#   STEPS="a b" benchmarks/eval_aitex.sh     # some of them
#   MODEL=runs/X/model.onnx INIT=runs/X/weights.pt FINETUNE=runs/X-aitex RESULTS=runs/X-eval \
#     benchmarks/eval_aitex.sh                # a candidate model instead of the shipped one
#   for f in 0 1 2; do FOLD=$f STEPS=c benchmarks/eval_aitex.sh; done   # (c) cross-validated
#   SEED=1 FOLD=0 STEPS=c benchmarks/eval_aitex.sh   # (c) fine-tuned with --seed 1 (files tagged _s1)
#
# Results: benchmarks/results/eval_{synthetic,aitex_zeroshot,aitex_zeroshot_val,aitex_finetuned_val}.json
# (+ _roc/_pr/_pro.png beside them); with FOLD=0 or 2, (c) uses that fold of the split
# (benchmarks/aitex_split.py --fold) and writes eval_aitex_finetuned_val_f0.json (or _f2); fold 1 is
# the default split; `python benchmarks/aitex_cv.py F0.json F1.json F2.json` sums the three up.
# Fine-tuning takes about 15 s per epoch on 2 CPU cores (30: 8 min).
set -euo pipefail
cd "$(dirname "$0")/.."

AITEX=${AITEX:-../shared/data/aitex}
FI=${FI:-.venv/bin/fabric-inspect}
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs}
RESULTS=${RESULTS:-benchmarks/results}
STEPS=${STEPS:-a b c}
EPOCHS=${EPOCHS:-30}              # the finetune preset's
THREADS=${THREADS:-2}
SYN=${SYN:-$RUNS/syn-test-9999}
MODEL=${MODEL:-}                   # .onnx scored in a and b; empty: the shipped model
INIT=${INIT:-default}              # checkpoint fine-tuned in c
# how train holds out its own validation images in c: by image within each fabric, as the split
# itself is made (the default "auto" would hold out whole fabrics' defect images; docs/model-card.md)
SPLIT=${SPLIT:-image_within_fabric}
FOLD=${FOLD:-1}                    # which third of each fabric's images (c) validates on: 0, 1 or 2
if [ "$FOLD" = 1 ]; then TAG=""; DIR_TAG=""; else TAG="_f$FOLD"; DIR_TAG="-f$FOLD"; fi
SPLIT_DIR=$RUNS/aitex-split$DIR_TAG
SEED=${SEED:-}                     # (c)'s --seed; empty: the finetune preset's
SEED_OPT=()
if [ -n "$SEED" ]; then SEED_OPT=(--seed "$SEED"); TAG="${TAG}_s$SEED"; DIR_TAG="${DIR_TAG}-s$SEED"; fi
FINETUNE=${FINETUNE:-$RUNS/aitex-finetune$DIR_TAG}
MODEL_OPT=()
[ -z "$MODEL" ] || MODEL_OPT=(--model "$MODEL")

mkdir -p "$RUNS" "$RESULTS"

for step in $STEPS; do
  case $step in
    a)
      [ -f "$SYN/classes.txt" ] || "$FI" synth images --out "$SYN" --count 300 --size 512 --seed 9999
      "$FI" eval "${MODEL_OPT[@]}" --data "$SYN" --threads "$THREADS" --json "$RESULTS/eval_synthetic.json"
      ;;
    b)
      "$FI" eval "${MODEL_OPT[@]}" --data "$AITEX" --threads "$THREADS" --json "$RESULTS/eval_aitex_zeroshot.json"
      "$PY" benchmarks/aitex_split.py "$AITEX" "$RUNS/aitex-split"
      "$FI" eval "${MODEL_OPT[@]}" --data "$RUNS/aitex-split/val" --threads "$THREADS" \
        --json "$RESULTS/eval_aitex_zeroshot_val.json"
      ;;
    c)
      "$PY" benchmarks/aitex_split.py "$AITEX" "$SPLIT_DIR" --fold "$FOLD"
      "$FI" train --data "$SPLIT_DIR/train" --init "$INIT" --preset finetune --epochs "$EPOCHS" \
        --split "$SPLIT" --threads "$THREADS" "${SEED_OPT[@]}" --out "$FINETUNE"
      "$FI" eval --model "$FINETUNE/model.onnx" --data "$SPLIT_DIR/val" \
        --threads "$THREADS" --json "$RESULTS/eval_aitex_finetuned_val$TAG.json"
      ;;
    *)
      echo "error: unknown step '$step' in STEPS; use a, b and/or c" >&2
      exit 2
      ;;
  esac
done
