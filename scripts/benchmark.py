"""Benchmark the analysis: realtime factor per stage, peak memory, and quality on synthetic lectures.

Each recording runs in its own process (this script with `--one`), so its peak RSS is its own, models
included. Beside the pipeline, ffmpeg's decode of the same file to raw RGB at the same size and rate is
timed in the same run, as the floor no analysis can beat. On the synthetic lectures (generated on the
fly from the shared face photos, exact ground truth) it also prints ids per person, expression agreement
and pulse error, so a faster pipeline can be checked for lost quality. Time on an idle machine only.

    .venv/bin/python scripts/benchmark.py                 # the lecture cases and the shared clips
    .venv/bin/python scripts/benchmark.py --cases gallery720
    CLASSPULSE_FP32=1 .venv/bin/python scripts/benchmark.py   # float32, as CPUs without native bf16 run
    .venv/bin/python scripts/benchmark.py --long 1 10     # memory against length: a clip looped
    .venv/bin/python scripts/benchmark.py --long 10 --long-clip lecture.mp4 --workers 2 --chunk-minutes 5
                                                          # a long recording in chunks, 2 processes
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi"}
# name -> build_synthetic_lecture keyword arguments
LECTURES = {
    "gallery720": {  # a video-call gallery: 9 tiles of ~200 px, one camera off for 10 s
        "n_faces": 9,
        "duration_s": 60.0,
        "fps": 30.0,
        "size": (1280, 720),
        "face_px": 200,
        "bpm": (60, 66, 72, 78, 84, 90, 96, 70, 80),
        "absent_face": 4,
        "absent_s": (20.0, 30.0),
        "crf": 23,
    },
    "gallery1080": {  # a larger call: 24 tiles of ~200 px
        "n_faces": 24,
        "duration_s": 30.0,
        "fps": 30.0,
        "size": (1920, 1080),
        "face_px": 200,
        "bpm": tuple(60 + 2 * i for i in range(24)),
        "absent_face": None,
        "crf": 23,
    },
    "classroom1080": {  # a classroom camera: 24 faces of 64 px
        "n_faces": 24,
        "duration_s": 30.0,
        "fps": 25.0,
        "size": (1920, 1080),
        "face_px": 64,
        "bpm": tuple(60 + 2 * i for i in range(24)),
        "absent_face": None,
        "crf": 23,
        "drift_px": 2,
    },
}


def decode_only_s(video: Path) -> float:
    """Wall seconds for ffmpeg to decode `video` to raw RGB at the analysis rate and size (as
    `classpulse.video.decode` asks for them), discarded."""
    from classpulse.options import AnalysisOptions
    from classpulse.video.decode import analysis_rate, analysis_size
    from classpulse.video.probe import probe

    info, options = probe(video), AnalysisOptions()
    width, height = analysis_size(info, options.max_side)
    filters = f"fps={analysis_rate(info, cap=options.max_fps)},scale={width}:{height}:flags=area"
    start = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(video), "-vf", filters, "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-y", "/dev/null"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def run_one(video: Path, truth: Path | None, workers: int = 1, chunk_minutes: float = 10.0) -> dict:
    """Analyse `video` in this process (report included; chunks in `workers` processes when it is longer
    than `chunk_minutes`) and return the measurements."""
    from classpulse.options import AnalysisOptions
    from reports.outputs import analyze_to_dir

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        summary = analyze_to_dir(
            video, Path(tmp), AnalysisOptions(), workers=workers, chunk_minutes=chunk_minutes
        )
        timeline = json.loads((Path(tmp) / "timeline.json").read_text())
    total = time.perf_counter() - start
    p = summary.processing
    row = {
        "video": video.name,
        "duration_s": summary.video.duration_s,
        "resolution": f"{summary.video.width}x{summary.video.height}",
        "faces": len(summary.faces),
        "precision": summary.models.emotion.precision,
        "pipeline_s": p.wall_s,
        "with_report_s": round(total, 2),
        "stage_s": {**p.stage_s, "report": round(total - p.wall_s, 3)},
        "peak_rss_mb": p.peak_rss_mb,
    }
    if truth:
        from tests.synthetic_video import FaceTruth, GroundTruth, score_analysis

        raw = json.loads(truth.read_text())
        gt = GroundTruth(**{**raw, "faces": tuple(FaceTruth(**f) for f in raw["faces"])})
        row["quality"] = score_analysis(summary, timeline, gt)
    return row


def measure(video: Path, truth: Path | None = None, workers: int = 1, chunk_minutes: float = 10.0) -> dict:
    """`run_one` in a fresh process (for its own peak RSS and import cost), plus ffmpeg's decode time."""
    start = time.perf_counter()
    cmd = [sys.executable, __file__, "--one", str(video), "--workers", str(workers)]
    cmd += ["--chunk-minutes", str(chunk_minutes)] + (["--truth", str(truth)] if truth else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    process_s = time.perf_counter() - start
    if proc.returncode != 0:
        return {"video": video.name, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    row = json.loads(proc.stdout)
    row["process_s"] = round(process_s, 2)
    row["decode_only_s"] = round(decode_only_s(video), 2)
    return row


def build_lecture(name: str, folder: Path) -> tuple[Path, Path]:
    from tests.synthetic_video import build_synthetic_lecture

    faces = REPO.parent / "shared/data/faces/images"
    video, truth = folder / f"{name}.mp4", folder / f"{name}.truth.json"
    truth.write_text(build_synthetic_lecture(video, faces, **LECTURES[name]).to_json())
    return video, truth


def looped(clip: Path, minutes: float, folder: Path) -> Path:
    """`clip` repeated (stream copy, no re-encode) until it lasts `minutes`."""
    out = folder / f"{clip.stem}_looped_{minutes:g}min{clip.suffix}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip), "-t", str(minutes * 60),
         "-c", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


def print_row(row: dict) -> None:
    if "error" in row:
        print(f"| {row['video']} | error: {row['error']} |", flush=True)
        return
    d, stages = row["duration_s"], row["stage_s"]
    stage_text = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
    quality = row.get("quality")
    q = (
        f"ids/person {max(quality['ids_per_person'])}, shared {quality['shared_ids']}, "
        f"expr {quality['expression_agreement']:.3f}, pulse MAE {quality['pulse_mae_bpm']} "
        f"({quality['pulse_coverage']:.0%})"
        if quality
        else "-"
    )
    print(
        f"| {row['video']} | {d:.1f} | {row['resolution']} | {row['faces']} | {row['precision']} "
        f"| {row['pipeline_s']:.1f} | {d / row['pipeline_s']:.2f} | {d / row['process_s']:.2f} "
        f"| {row['decode_only_s']:.1f} ({d / row['decode_only_s']:.1f}x) | {row['peak_rss_mb']:.0f} "
        f"| {stage_text} | {q} |",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=REPO.parent / "shared/data/videos")
    parser.add_argument("--cases", nargs="*", default=[*LECTURES, "shared"], help="lectures and/or 'shared'")
    parser.add_argument("--long", type=float, nargs="+", metavar="MIN", help="instead: a looped clip")
    parser.add_argument("--long-clip", type=Path, help="the clip --long loops (default: the classroom clip)")
    parser.add_argument("--workers", type=int, default=1, help="processes for recordings in chunks")
    parser.add_argument("--chunk-minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.truth, args.workers, args.chunk_minutes)))
        return 0
    scratch = tempfile.TemporaryDirectory()
    folder = Path(scratch.name)
    jobs: list[tuple[Path, Path | None]] = []
    if args.long:
        clip = args.long_clip or args.videos / "classroom_4people_270p_3s.mp4"
        jobs = [(looped(clip, minutes, folder), None) for minutes in args.long]
    else:
        jobs = [build_lecture(name, folder) for name in args.cases if name in LECTURES]
        if "shared" in args.cases:
            jobs += [(p, None) for p in sorted(args.videos.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
    print(
        "| recording | length s | size | faces | precision | pipeline s | realtime x (pipeline) "
        "| realtime x (process) | ffmpeg decode-only s | peak RSS MB | stage s | quality |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for video, truth in jobs:
        rows.append(measure(video, truth, args.workers, args.chunk_minutes))
        print_row(rows[-1])
    scratch.cleanup()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
