"""Ours against each peer, alternately frame by frame on the same frames: a quick, load-robust ratio.

    .venv/bin/python benchmarks/peers/bench_peers.py --model runs/default/model.onnx \
        --sizes 640x480,1280x720 --frames 20 --threads 2 --json benchmarks/results/peers_paired.json

The full side-by-side (every mode, every frame, fps and latency) is `fabric-inspect bench --peers`;
this script runs only its paired comparison (`fabric_inspect.bench.side_by_side.paired`), which takes
a minute or two where the full run takes a quarter of an hour on 2 cores. Runs in the product's venv
(onnxruntime only); the peers come from `make peers`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from fabric_inspect.bench.clips import make_clips, parse_sizes
from fabric_inspect.bench.measure import machine_info
from fabric_inspect.bench.peers import PeerModel, choose, require_peers
from fabric_inspect.bench.side_by_side import TARGET_OVER_YOLO, ours_step, paired
from fabric_inspect.models.runtime import RuntimeConfig, load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="our ONNX model (default: the shipped one)")
    parser.add_argument("--peers", type=Path, default=Path("benchmarks/peers/models"))
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--frames", type=int, default=20, help="frames per size and peer")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads, ours and the peers'")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    peers = require_peers(args.peers)
    model = load_model(args.model, RuntimeConfig(threads=args.threads))
    result: dict = {"machine": machine_info(args.threads), "model": f"{model.info.name} {model.info.version}"}
    result["machine"]["load_avg_before"] = [round(v, 2) for v in os.getloadavg()]
    result["paired"] = {}
    with tempfile.TemporaryDirectory(prefix="fabric-inspect-peers-") as scratch:
        clips = make_clips(parse_sizes(args.sizes), Path(scratch), max(args.frames, 2))
        for clip in clips:
            step = ours_step(model, clip)
            for peer in choose(peers, clip.width, clip.height):
                pair = paired(step, PeerModel(peer, args.threads), clip, args.frames)
                result["paired"].setdefault(clip.size, {})[peer.name] = pair
                target = " (target >= 10x)" if peer.name == "yolov8n" else ""
                print(
                    f"{clip.size:>10} ours {pair['ours_ms_p50']:7.1f} ms  {peer.name} ({peer.size}) "
                    f"{pair['peer_ms_p50']:7.1f} ms  -> {pair['ours_over_peer']:g}x{target}  "
                    f"load {pair['load_avg_1m']}"
                )
    result["machine"]["load_avg_after"] = [round(v, 2) for v in os.getloadavg()]
    result["target_ours_over_yolov8n"] = TARGET_OVER_YOLO
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"results: {args.json}")


if __name__ == "__main__":
    main()
