"""Run `classpulse evaluate pulse` over every shared clip with a reference heart rate and print a table.

    PYTHONPATH=. .venv/bin/python scripts/benchmark_pulse.py [--videos ../shared/data/videos] [--max-fps 30]
    PYTHONPATH=. .venv/bin/python scripts/benchmark_pulse.py --synthetic DIR [--seeds 0 1 2 3] [--max-fps 30]

The selfie is analysed as a tracked face; the skin-only ROI clips with --whole-frame. Each clip runs in
its own `classpulse` process, exactly as a user would run it, at the analysis frame rate cap `--max-fps`
(default: the product's). With --synthetic, a 60 s synthetic lecture
(tests/synthetic_video.py: three faces at 66 / 78 / 90 bpm, 1 % pulse, H.264 crf 23, the third face gone
from 20 s to 30 s) is built in that folder, analysed with `classpulse analyze`, and each face's share of
visible seconds with a reported rate and their error are printed. Each `--seeds` value is another plan
(which photos, pulse phases, drifts): how much of a face's pulse survives H.264 depends on its photo, so
one plan alone says little about coverage.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from classpulse.options import AnalysisOptions

GROUND_TRUTH = (("rppg_selfie_ground_truth.csv", False), ("rppg_roi_ground_truth.csv", True))


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "—" if x is None else format(x, spec)


SYNTHETIC = {
    "duration_s": 60.0,
    "absent_s": (20.0, 30.0),
    "pulse_amplitude": 0.01,
    "size": (960, 540),
    "face_px": 180,
}
SYNTHETIC_CRF = 23


def synthetic(folder: Path, faces: Path, max_fps: float, seed: int) -> tuple[float, float]:
    """Build, analyse and score the synthetic lecture of plan `seed` (see the module docstring); prints
    its table and returns (reported, visible) face-seconds."""
    from tests.synthetic_video import build_synthetic_lecture

    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"lecture-seed{seed}.mp4"
    truth = build_synthetic_lecture(video, faces, crf=SYNTHETIC_CRF, seed=seed, **SYNTHETIC)
    report = folder / f"report-seed{seed}-{max_fps:g}fps"
    analyze = [
        "analyze",
        str(video),
        "--out",
        str(report),
        "--quiet",
        "--max-fps",
        str(max_fps),
    ]
    subprocess.run([sys.executable, "-m", "cli", *analyze], check=True)
    summary = json.loads((report / "summary.json").read_text())
    tiles = np.array([f.tile_box for f in truth.faces], dtype=float)
    print(
        "| face | truth | track estimate (quality / gate dB) | visible s | reported s | share | MAE | "
        "max error |"
    )
    print("|---|---|---|---|---|---|---|---|")
    total_visible = total_reported = 0.0
    for face in summary["faces"]:
        i = int(np.argmin(np.abs(tiles - np.array(face["box"])).sum(axis=1)))
        pulse, bpm = face["pulse"], truth.faces[i].bpm
        errors = np.array([abs(row[1] - bpm) for row in pulse["series"] if row[1] is not None])
        total_visible += face["visible_s"]
        total_reported += len(errors)
        quality = f"{_fmt(pulse['track_quality_db'])} / {_fmt(pulse['track_min_quality_db'])}"
        print(
            f"| {face['face_id']} | {bpm:.0f} | {_fmt(pulse['track_bpm'])} ({quality}) | "
            f"{face['visible_s']:.0f} | {len(errors)} | {len(errors) / face['visible_s']:.0%} | "
            f"{_fmt(errors.mean() if len(errors) else None, '.2f')} | "
            f"{_fmt(errors.max() if len(errors) else None)} |"
        )
    print(
        f"\nseed {seed}: reported {total_reported:.0f} of {total_visible:.0f} visible face-seconds "
        f"({total_reported / total_visible:.0%})\n"
    )
    return total_reported, total_visible


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=Path("../shared/data/videos"))
    parser.add_argument("--synthetic", type=Path, help="build and score the synthetic lecture in this folder")
    parser.add_argument("--faces", type=Path, default=Path("../shared/data/faces/images"))
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="synthetic lecture plans (faces, phases) to run"
    )
    parser.add_argument(
        "--max-fps", type=float, default=AnalysisOptions.max_fps, help="analysis frame rate cap"
    )
    args = parser.parse_args()
    if args.synthetic:
        totals = np.array([synthetic(args.synthetic, args.faces, args.max_fps, seed) for seed in args.seeds])
        reported, visible = totals.sum(axis=0)
        print(f"all {len(args.seeds)} lectures: {reported:.0f} of {visible:.0f} ({reported / visible:.0%})")
        return 0
    rows = []
    for truth_name, whole_frame in GROUND_TRUTH:
        truth = args.videos / truth_name
        with truth.open(newline="") as fh:
            files = [row["file"] for row in csv.DictReader(fh)]
        for name in files:
            command = [
                sys.executable,
                "-m",
                "cli",
                "evaluate",
                "pulse",
                str(args.videos / name),
                "--truth",
                str(truth),
                "--max-fps",
                str(args.max_fps),
            ]
            done = subprocess.run(command + ["--whole-frame"] * whole_frame, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name}: {done.stderr.strip()}", file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout))
    print(
        "| clip | reference | track estimate (quality / gate dB) | error | windows reported | "
        "window MAE | face mean | own-SNR gate passed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        quality = f"{_fmt(r['track_quality_db'])} / {_fmt(r['track_min_quality_db'])}"
        print(
            f"| {r['video']} | {r['truth_bpm']:.1f} | {_fmt(r['track_bpm'])} ({quality}) | "
            f"{_fmt(r['track_error_bpm'], '+.1f')} | {r['accepted_windows']} of {r['windows']} | "
            f"{_fmt(r['window_mae_bpm'])} | {_fmt(r['mean_bpm'])} | {r['window_gate_passed']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
