#!/usr/bin/env bash
# Every figure a candidate model is judged on before it replaces the shipped one (docs/model-card.md,
# "Before a model ships"), into one folder, then summed up beside any other checked model:
#
#   benchmarks/candidate.sh runs/X/model.onnx runs/X/weights.pt runs/X-checks
#   benchmarks/candidate.sh src/fabric_inspect/models/default.onnx src/fabric_inspect/models/default.pt \
#       runs/shipped-checks                       # the shipped model through the same steps
#   .venv/bin/python benchmarks/candidate_summary.py runs/shipped-checks runs/X-checks
#   CHECKS="syn edge" benchmarks/candidate.sh ...  # some of the steps
#
# Steps (CHECKS, default all, in this order; each writes OUT/<name>.json):
#   video  the video threshold, set as `make model` sets it (calibrate --roll, 5 synthetic rolls,
#          20 m of defect-free 1280x720 fabric at 30 fps): OUT/model.onnx, which the later steps score
#   syn    (a) seed 9999 (300 images), the selection sets of seeds 777 (400) and 4242 (1000):
#          syn_S.json (`eval`) and kinds_S.json (benchmarks/fabric_kinds.py)
#   aitex  (b) AITEX zero-shot, all 148 images: aitex_zeroshot.json
#   edge   the edge probe (benchmarks/edge_position.py): edge.json
#   rolls  the whole pipeline at the model's video threshold on the nine demo-camera rolls (seeds 7-9,
#          13-18, 1280x720 at 30 fps) and on the tests' 320x240 rolls: rolls_demo.json, rolls_small.json
#   cv     (c) AITEX fine-tuned from WEIGHTS, three folds x SEEDS (default "0 1 2"; about 8 minutes a
#          run on 2 threads): cv_sS.json (benchmarks/aitex_cv.py), the fine-tuned models in
#          runs/ (git-ignored: never commit a model trained on AITEX)
#
# On 2 cores (2026-12-06): without cv, 5-6 minutes once the three synthetic sets exist in RUNS (the
# first run renders them too); cv about 22 minutes a seed, so all of it about 75 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 3 ]; then
  echo "usage: benchmarks/candidate.sh MODEL.onnx WEIGHTS.pt OUT_DIR" >&2
  exit 2
fi
MODEL=$1
WEIGHTS=$2
OUT=$3
[ -f "$MODEL" ] || { echo "error: model $MODEL is not a file" >&2; exit 2; }
[ -f "$WEIGHTS" ] || { echo "error: weights $WEIGHTS is not a file" >&2; exit 2; }
FI=${FI:-.venv/bin/fabric-inspect}
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs}
THREADS=${THREADS:-2}
CHECKS=${CHECKS:-video syn aitex edge rolls cv}
SEEDS=${SEEDS:-0 1 2}
mkdir -p "$OUT"

scored() {  # what the steps score: the candidate with its video threshold (step video), else as given
  if [ -f "$OUT/model.onnx" ]; then echo "$OUT/model.onnx"; else echo "$MODEL"; fi
}

synth_set() {  # seed count folder
  [ -f "$3/classes.txt" ] || "$FI" synth images --out "$3" --count "$2" --size 512 --seed "$1"
}

for step in $CHECKS; do
  echo "== $step  $(date -u +%H:%M:%S)" >&2
  case $step in
    video)
      "$FI" calibrate --roll --synthetic --model "$MODEL" --size 1280x720 --fps 30 --speed 20 \
        --metres 20 --rolls 5 --out "$OUT/model.onnx"
      ;;
    syn)
      for set in 9999:300:syn-test-9999 777:400:syn-sel-777 4242:1000:syn-sel-4242; do
        IFS=: read -r seed count name <<< "$set"
        synth_set "$seed" "$count" "$RUNS/$name"
        "$FI" eval --model "$(scored)" --data "$RUNS/$name" --threads "$THREADS" --no-progress \
          --json "$OUT/syn_$seed.json" > "$OUT/syn_$seed.txt"
        "$PY" benchmarks/fabric_kinds.py "$OUT/syn_$seed.json" --seed "$seed" --data "$RUNS/$name" \
          --json "$OUT/kinds_$seed.json" > /dev/null
      done
      ;;
    aitex)
      "$FI" eval --model "$(scored)" --data "${AITEX:-../shared/data/aitex}" --threads "$THREADS" \
        --no-progress --json "$OUT/aitex_zeroshot.json" > "$OUT/aitex_zeroshot.txt"
      ;;
    edge)
      "$PY" benchmarks/edge_position.py --model "$(scored)" --json "$OUT/edge.json" > /dev/null
      ;;
    rolls)
      video=$("$PY" -c "import sys; from fabric_inspect.models.runtime import load_model
info = load_model(sys.argv[1]).info
print(info.roll_threshold or info.threshold)" "$(scored)")
      "$PY" benchmarks/roll_thresholds.py --camera demo --seeds 7,8,9,13,14,15,16,17,18 \
        --model "$(scored)" --thresholds "$video" --out "$OUT/rolls_demo.json"
      "$PY" benchmarks/roll_thresholds.py --camera small --model "$(scored)" --thresholds "$video" \
        --out "$OUT/rolls_small.json"
      ;;
    cv)
      name=$(basename "$OUT")
      for seed in $SEEDS; do
        for fold in 0 1 2; do
          FOLD=$fold SEED=$seed STEPS=c INIT=$WEIGHTS THREADS=$THREADS RUNS=$RUNS \
            FINETUNE="$RUNS/$name-cv-f$fold-s$seed" RESULTS="$OUT/cv" benchmarks/eval_aitex.sh
        done
        "$PY" benchmarks/aitex_cv.py "$OUT/cv/eval_aitex_finetuned_val_f0_s$seed.json" \
          "$OUT/cv/eval_aitex_finetuned_val_s$seed.json" "$OUT/cv/eval_aitex_finetuned_val_f2_s$seed.json" \
          --json "$OUT/cv_s$seed.json"
      done
      ;;
    *)
      echo "error: unknown step '$step' in CHECKS; use video, syn, aitex, edge, rolls and/or cv" >&2
      exit 2
      ;;
  esac
done
echo "== done  $(date -u +%H:%M:%S); sum up with: $PY benchmarks/candidate_summary.py $OUT" >&2
