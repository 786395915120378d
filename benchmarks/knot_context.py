"""Experiment (run by hand): how a defect's score depends on the fabric around it.

    .venv/bin/fabric-inspect synth images --count 400 --size 512 --seed 777 --out runs/syn-val-777
    .venv/bin/python benchmarks/knot_context.py [--model M.onnx] [--stems synth_00144,synth_00068,...]

For each image, the model's highest score inside the first defect's box: on the whole image; with
everything outside a 224 px (and a 96 px) window around the defect painted black, at the same size;
and on that 224 px window reflected out to the image's size (no black border anywhere). The shipped
model's high-visibility knots score as in a small crop only when a black border is within its
receptive field (docs/model-experiments.md, "training on camera-sized crops as well").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.models.runtime import RuntimeConfig, load_model

KNOTS = "synth_00144,synth_00068,synth_00300,synth_00065"


def _window(centre: tuple[int, int], side: int, shape: tuple[int, ...]) -> tuple[int, int]:
    (cx, cy), (h, w) = centre, shape[:2]
    return int(np.clip(cy - side // 2, 0, h - side)), int(np.clip(cx - side // 2, 0, w - side))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/syn-val-777", help="synthetic image folder")
    parser.add_argument("--model", default=None, help="model .onnx (default: the shipped one)")
    parser.add_argument("--stems", default=KNOTS, help="comma-separated image names")
    args = parser.parse_args()
    data = Path(args.data)
    boxes = json.loads((data / "annotations.json").read_text())
    model = load_model(args.model, RuntimeConfig(threads=2))
    for stem in args.stems.split(","):
        image = cv2.imread(str(data / "images" / f"{stem}.png"))
        x0, y0, x1, y1 = boxes[stem][0]["bbox"]

        def at(frame: np.ndarray, x0=x0, y0=y0, x1=x1, y1=y1) -> float:
            score = model.predict(np.ascontiguousarray(frame)).score
            return float(score[y0 // 8 : y1 // 8 + 1, x0 // 8 : x1 // 8 + 1].max())

        row = {"whole": at(image)}
        for side in (224, 96):
            top, left = _window(((x0 + x1) // 2, (y0 + y1) // 2), side, image.shape)
            black = np.zeros_like(image)
            black[top : top + side, left : left + side] = image[top : top + side, left : left + side]
            row[f"black outside {side}"] = at(black)
            if side == 224:
                h, w = image.shape[:2]
                crop = image[top : top + side, left : left + side]
                pads = (top, h - side - top, left, w - side - left)
                row["224 reflected"] = at(cv2.copyMakeBorder(crop, *pads, cv2.BORDER_REFLECT_101))
        print(stem, boxes[stem][0]["class"], {k: round(v, 2) for k, v in row.items()})


if __name__ == "__main__":
    main()
