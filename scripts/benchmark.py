"""Benchmark `classpulse analyze` on the shared videos: realtime factor and peak memory per clip.

Each clip runs in its own process with the default options, so the peak RSS the pipeline records is
that clip's alone (models included). Prints a Markdown table and writes the raw numbers as JSON.

    .venv/bin/python scripts/benchmark.py [--videos ../shared/data/videos] [--json out/benchmark.json]
    .venv/bin/python scripts/benchmark.py --long 1 10   # memory vs length: a real clip looped to 1 and 10 min
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi"}


def run_one(video: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "classpulse.cli", "analyze", str(video), "--out", tmp, "--quiet", *extra],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return {
                "video": video.name,
                "error": proc.stderr.strip().splitlines()[-1],
                "wall_s": round(wall, 1),
            }
        summary = json.loads((Path(tmp) / "summary.json").read_text())
    duration = summary["video"]["duration_s"]
    pulses = [f["pulse"]["mean_bpm"] for f in summary["faces"] if f["pulse"]["mean_bpm"] is not None]
    return {
        "video": video.name,
        "duration_s": duration,
        "resolution": f"{summary['video']['width']}x{summary['video']['height']}",
        "faces": len(summary["faces"]),
        "wall_s": round(wall, 1),
        "pipeline_wall_s": summary["processing"]["wall_s"],
        "realtime_factor": round(duration / wall, 3),
        "peak_rss_mb": summary["processing"]["peak_rss_mb"],
        "mean_bpm": [round(b, 1) for b in pulses],
    }


def looped(clip: Path, minutes: float, folder: Path) -> Path:
    """`clip` repeated (stream copy, no re-encode) until it lasts `minutes`."""
    out = folder / f"{clip.stem}_looped_{minutes:g}min{clip.suffix}"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
            str(clip),
            "-t",
            str(minutes * 60),
            "-c",
            "copy",
            str(out),
        ],
        check=True,
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--videos", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/videos"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--long",
        type=float,
        nargs="+",
        metavar="MIN",
        help="instead: the 4-person classroom clip looped to these lengths (minutes)",
    )
    parser.add_argument("extra", nargs="*", help="extra options for classpulse analyze (after --)")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    if args.long:
        clip = args.videos / "classroom_4people_270p_3s.mp4"
        videos = [looped(clip, minutes, Path(scratch.name)) for minutes in args.long]
    else:
        videos = sorted(p for p in args.videos.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    rows = []
    print("| clip | duration s | resolution | faces | wall s | realtime x | peak RSS MB | mean bpm |")
    print("|---|---|---|---|---|---|---|---|")
    for video in videos:
        row = run_one(video, args.extra)
        rows.append(row)
        if "error" in row:
            print(f"| {row['video']} | error: {row['error']} |||||||", flush=True)
            continue
        print(
            f"| {row['video']} | {row['duration_s']:.1f} | {row['resolution']} | {row['faces']} "
            f"| {row['wall_s']} | {row['realtime_factor']:.2f} | {row['peak_rss_mb']} "
            f"| {row['mean_bpm'] or '-'} |",
            flush=True,
        )
    scratch.cleanup()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
