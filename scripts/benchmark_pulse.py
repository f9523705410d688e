"""Run `classpulse evaluate pulse` over every shared clip with a reference heart rate and print a table.

    PYTHONPATH=. .venv/bin/python scripts/benchmark_pulse.py [--videos ../shared/data/videos]

The selfie is analysed as a tracked face; the skin-only ROI clips with --whole-frame. Each clip runs in
its own `classpulse` process, exactly as a user would run it.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

GROUND_TRUTH = (("rppg_selfie_ground_truth.csv", False), ("rppg_roi_ground_truth.csv", True))


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "—" if x is None else format(x, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=Path("../shared/data/videos"))
    args = parser.parse_args()
    rows = []
    for truth_name, whole_frame in GROUND_TRUTH:
        truth = args.videos / truth_name
        with truth.open(newline="") as fh:
            files = [row["file"] for row in csv.DictReader(fh)]
        for name in files:
            command = [sys.executable, "-m", "classpulse.cli", "evaluate", "pulse", str(args.videos / name),
                       "--truth", str(truth)]
            done = subprocess.run(command + ["--whole-frame"] * whole_frame, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name}: {done.stderr.strip()}", file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout))
    print("| clip | reference | track estimate (quality / gate dB) | error | windows reported | "
          "window MAE | face mean | own-SNR gate passed |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        quality = f"{_fmt(r['track_quality_db'])} / {_fmt(r['track_min_quality_db'])}"
        print(f"| {r['video']} | {r['truth_bpm']:.1f} | {_fmt(r['track_bpm'])} ({quality}) | "
              f"{_fmt(r['track_error_bpm'], '+.1f')} | {r['accepted_windows']} of {r['windows']} | "
              f"{_fmt(r['window_mae_bpm'])} | {_fmt(r['mean_bpm'])} | {r['window_gate_passed']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
