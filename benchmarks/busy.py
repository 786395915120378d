"""Run a command while another process keeps part of one core busy, as a second program on the
inspection PC (or a slow minute of a shared VM) would (run by hand).

    .venv/bin/python benchmarks/busy.py --share 0.5 -- .venv/bin/fabric-inspect bench --synthetic \
        --sizes 1920x1080 --modes live --seconds 60 --camera-codec mjpg --json OUT.json

The busy process works for `share` of every 10 ms and sleeps for the rest, on one core, from just
before the command starts until it ends. The figures of two commands run this way compare how much
margin each leaves, which the VM's own minute-to-minute drift (docs/bench.md) otherwise hides.
Exits with the command's exit status.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time

PERIOD_S = 0.010


def burn(share: float, stop) -> None:  # stop: multiprocessing.Event
    while not stop.is_set():
        start = time.perf_counter()
        while time.perf_counter() - start < share * PERIOD_S:
            pass
        time.sleep(max(0.0, (1.0 - share) * PERIOD_S))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=0.5, help="share of one core kept busy (0..1)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if not 0.0 < args.share <= 1.0:
        parser.error(f"--share must be in (0, 1], got {args.share}")
    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=burn, args=(args.share, stop), daemon=True)
    busy.start()
    try:
        return subprocess.call(command)
    finally:
        stop.set()
        busy.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
