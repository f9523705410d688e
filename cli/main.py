"""`classpulse` command line: a thin adapter over the pipeline, training and evaluation functions.

Errors a user can fix print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from classpulse.chunks import CHUNK_OVERLAP_S, DEFAULT_CHUNK_MINUTES
from classpulse.insights.markers import read_markers
from classpulse.options import AnalysisOptions
from classpulse.policy import Policy, Purpose, check_job, effective_policy
from cli import service

EXIT_USAGE = 2


def _analyze(args: argparse.Namespace) -> int:
    from classpulse.video.probe import InputError, probe

    try:
        info = probe(args.video)  # fail fast, before torch and the models are loaded
    except InputError as exc:
        print(f"classpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from cli.progress import ProgressBar
    from reports.outputs import analyze_to_dir
    from service.settings import get_settings

    out_dir: Path = args.out
    created = not out_dir.exists()
    try:
        settings = get_settings()
        options = AnalysisOptions(
            detect_every_s=args.detect_every,
            search_every_s=args.search_every,
            emotion_every_s=args.emotion_every,
            max_side=args.max_side,
            max_fps=args.max_fps,
            pulse=not args.no_pulse,
            pulse_method=args.pulse_method,
            title=args.title,
            course=args.course,
            policy=effective_policy(settings.policy, args.policy),
            purpose=args.purpose,
            consent=args.consent,
            markers=read_markers(args.markers) if args.markers else (),
            session_date=args.session_date,
            negative_stretch_min=(
                settings.negative_stretch_minutes if args.negative_minutes is None else args.negative_minutes
            ),
        )
        check_job(
            options.policy,
            options.purpose,
            options.consent,
            jurisdiction=settings.jurisdiction,
            require_consent=settings.require_consent,
        )
        if args.workers < 1:
            raise ValueError("--workers must be at least 1")
        if args.chunk_minutes * 60 <= CHUNK_OVERLAP_S:
            raise ValueError(f"--chunk-minutes must be longer than the {CHUNK_OVERLAP_S:g} s chunk overlap")
    except ValueError as exc:
        print(f"classpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    bar = None if args.quiet else ProgressBar()
    try:
        summary = analyze_to_dir(
            info, out_dir, options, on_progress=bar, workers=args.workers, chunk_minutes=args.chunk_minutes
        )
    except InputError as exc:
        if created and out_dir.exists() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        print(f"classpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if bar:
            bar.close()
    if summary.video.warning:
        print(f"classpulse: warning: {args.video.name}: {summary.video.warning}", file=sys.stderr)
    if not args.quiet:
        p = summary.processing
        print(
            f"{len(summary.faces)} faces, {summary.video.duration_s:.1f} s of video "
            f"in {p.wall_s:.1f} s "
            f"({p.realtime_factor:.2f}x realtime) -> {out_dir}/report.pdf",
            file=sys.stderr,
        )
    return 0


def _compare(args: argparse.Namespace) -> int:
    from classpulse.results import SummaryError, load_summary
    from reports.compare_report import write_comparison

    if not args.runs:
        print("classpulse: compare needs at least one analysis folder", file=sys.stderr)
        return EXIT_USAGE
    summaries = []
    for run in args.runs:
        path = run / "summary.json"
        if not run.is_dir():
            problem = "no such folder"
        elif not path.is_file():
            problem = "no summary.json (not an output folder of classpulse analyze)"
        else:
            try:
                summaries.append(load_summary(path))
                continue
            except (OSError, SummaryError) as exc:
                problem = f"summary.json is not usable ({exc})"
        print(f"classpulse: {run}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    written = write_comparison(summaries, args.out, args.title)
    n = len(summaries)
    print(f"{n} session{'' if n == 1 else 's'} compared -> {written[-1]}", file=sys.stderr)
    return 0


def _train_emotion(args: argparse.Namespace) -> int:
    from classpulse.emotion.train import TrainConfig, load_fer2013, train
    from cli.progress import ProgressBar

    data = load_fer2013(args.data, votes=args.votes)
    defaults = TrainConfig()
    cfg = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        widths=tuple(args.widths),
        init_from=str(args.init_from) if args.init_from else None,
        votes=str(args.votes) if args.votes else None,
        teachers=tuple(str(run / "best.pt") for run in args.teacher),
        distill=args.distill,
        bf16=defaults.bf16 and not args.fp32,
        seed=args.seed,
        threads=args.threads or defaults.threads,
    )
    bar = ProgressBar()
    try:
        best = train(data, args.out, cfg, on_progress=lambda e, n, f: bar(f"epoch {e + 1}/{n}", f))
    except ValueError as exc:  # e.g. --widths narrower than the --init-from run
        print(f"classpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        bar.close()
    print(json.dumps(best))
    return 0


def _export_emotion(args: argparse.Namespace) -> int:
    from classpulse.emotion.classifier import EmotionClassifier
    from classpulse.emotion.evaluate import evaluate_file
    from classpulse.emotion.train import export_model, load_fer2013, record_photo_check

    checkpoints = [run / "best.pt" for run in args.runs]
    missing = [str(c.parent) for c in checkpoints if not c.is_file()]
    if missing:
        print(f"classpulse: no best.pt in {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    data = load_fer2013(args.data, votes=args.votes)
    manifest = export_model(checkpoints, data, args.to, version=args.version)
    print(json.dumps(manifest["public_test"]))
    if args.photos:
        report = evaluate_file(args.photos, classifier=EmotionClassifier.load(args.to))
        manifest = record_photo_check(args.to, report, source=str(args.photos))
        print(json.dumps(manifest["photos"]))
    return 0


def _evaluate_emotion(args: argparse.Namespace) -> int:
    from classpulse.emotion.evaluate import EvaluationInputError, evaluate_file

    try:
        report = evaluate_file(args.data, split=args.split, predictions=args.predictions)
    except EvaluationInputError as exc:
        print(f"classpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(report))
    return 0


def _evaluate_pulse(args: argparse.Namespace) -> int:
    from classpulse.pulse.evaluate import evaluate_pulse
    from classpulse.video.probe import InputError

    try:
        report = evaluate_pulse(
            args.video,
            truth=args.truth,
            whole_frame=args.whole_frame,
            method=args.method,
            max_fps=args.max_fps,
        )
    except (InputError, ValueError) as exc:
        print(f"classpulse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classpulse", description="Classpulse: engagement reports for recorded lectures."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="analyse one recording into a report folder")
    analyze.add_argument("video", type=Path)
    analyze.add_argument("--out", type=Path, required=True, help="output folder")
    analyze.add_argument(
        "--detect-every",
        type=float,
        default=AnalysisOptions.detect_every_s,
        help="seconds between re-checks of the tracked faces",
    )
    analyze.add_argument(
        "--search-every",
        type=float,
        default=AnalysisOptions.search_every_s,
        help="seconds between full-frame searches for new faces",
    )
    analyze.add_argument(
        "--emotion-every",
        type=float,
        default=AnalysisOptions.emotion_every_s,
        help="seconds between expression samples",
    )
    analyze.add_argument(
        "--max-fps",
        type=float,
        default=AnalysisOptions.max_fps,
        help="analysis frame rate cap (frames per second)",
    )
    analyze.add_argument(
        "--max-side",
        type=int,
        default=AnalysisOptions.max_side,
        help="analysis resolution cap (long side, px)",
    )
    analyze.add_argument("--no-pulse", action="store_true", help="skip the heart-rate estimate")
    analyze.add_argument(
        "--pulse-method",
        default=AnalysisOptions.pulse_method,
        help="pulse method: pos, chrom or green (default %(default)s)",
    )
    analyze.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes: with more than 1, a recording longer than --chunk-minutes is analysed in chunks",
    )
    analyze.add_argument(
        "--chunk-minutes",
        type=float,
        default=DEFAULT_CHUNK_MINUTES,
        help="chunk length with --workers (minutes)",
    )
    analyze.add_argument("--title", help="title printed on the report")
    analyze.add_argument(
        "--course", help="course label: sessions of one course can be compared (classpulse compare)"
    )
    analyze.add_argument(
        "--policy",
        choices=[p.value for p in Policy],
        help="privacy policy; CLASSPULSE_POLICY wins when stricter (default: that setting, else full)",
    )
    analyze.add_argument(
        "--purpose",
        choices=[p.value for p in Purpose],
        help="why the recording is analysed (required under eu)",
    )
    analyze.add_argument(
        "--consent", action="store_true", help="assert that the people recorded were informed and agreed"
    )
    analyze.add_argument(
        "--markers",
        type=Path,
        metavar="FILE",
        help="CSV of lecture segments: start,label or start,end,label (seconds or mm:ss)",
    )
    analyze.add_argument(
        "--session-date",
        metavar="YYYY-MM-DD",
        help="date of the session (default: the recording's own, else the day it is analysed)",
    )
    analyze.add_argument(
        "--negative-minutes",
        type=float,
        metavar="N",
        help="minutes a person must look negative before it is flagged "
        f"(default: CLASSPULSE_NEGATIVE_STRETCH_MINUTES, else {AnalysisOptions.negative_stretch_min:g})",
    )
    analyze.add_argument("--quiet", action="store_true", help="no progress bar")
    analyze.set_defaults(handler=_analyze)

    compare = sub.add_parser("compare", help="compare analysed sessions of a course in one report")
    compare.add_argument(
        "runs", type=Path, nargs="*", metavar="RUN_DIR", help="classpulse analyze output folders"
    )
    compare.add_argument("--out", type=Path, required=True, help="folder for compare.html and compare.pdf")
    compare.add_argument("--title", help="report title (default: the sessions' course)")
    compare.set_defaults(handler=_compare)

    train = sub.add_parser("train", help="train a model").add_subparsers(dest="model", required=True)
    emotion = train.add_parser("emotion", help="train the expression classifier on FER2013")
    emotion.add_argument("--data", type=Path, required=True, help="fer2013_train_publictest.npz")
    emotion.add_argument(
        "--out", type=Path, required=True, help="run folder (resumes if it has a checkpoint)"
    )
    emotion.add_argument("--epochs", type=int, default=40)
    emotion.add_argument("--lr", type=float, default=0.05, help="peak learning rate of the cosine schedule")
    emotion.add_argument(
        "--widths", type=int, nargs=4, default=[32, 64, 128, 256], help="channels of the four stages"
    )
    emotion.add_argument("--init-from", type=Path, help="start from the weights of this best.pt")
    emotion.add_argument(
        "--votes", type=Path, help="ferplus_votes_train_publictest.npz: train on the FER+ vote distributions"
    )
    emotion.add_argument(
        "--teacher", type=Path, action="append", default=[], help="a run folder to distil from (repeatable)"
    )
    emotion.add_argument("--distill", type=float, default=0.5, help="weight of the teachers in the target")
    emotion.add_argument("--fp32", action="store_true", help="no bfloat16 autocast even where the CPU has it")
    emotion.add_argument("--seed", type=int, default=0)
    emotion.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = all cores)")
    emotion.set_defaults(handler=_train_emotion)

    export = sub.add_parser("export", help="package trained runs as a shippable model").add_subparsers(
        dest="model", required=True
    )
    ex = export.add_parser("emotion", help="fp16 weights + manifest; several runs ship as an ensemble")
    ex.add_argument("runs", type=Path, nargs="+", help="training run folders (their best.pt is exported)")
    ex.add_argument("--data", type=Path, required=True, help="fer2013_train_publictest.npz, for PublicTest")
    ex.add_argument("--votes", type=Path, help="FER+ votes npz: also measure against, and calibrate on, them")
    ex.add_argument("--to", type=Path, required=True, help="model folder, e.g. classpulse/emotion/weights")
    ex.add_argument("--version", required=True, help="version recorded in the manifest")
    ex.add_argument("--photos", type=Path, help="also measure on this <label>/ photo folder (manifest)")
    ex.set_defaults(handler=_export_emotion)

    evaluate = sub.add_parser("evaluate", help="evaluate a model").add_subparsers(dest="model", required=True)
    ev = evaluate.add_parser("emotion", help="accuracy of the shipped expression model on labelled crops")
    ev.add_argument(
        "data",
        type=Path,
        help="npz with x (N,H,W) uint8 and y (N,), the FER2013 file, or a folder of <label>/ photo folders",
    )
    ev.add_argument(
        "--split", choices=["x", "val", "train"], default="x", help="which arrays: x/y, val_x/val_y, ..."
    )
    ev.add_argument("--predictions", type=Path, help="write predicted class indices (int array) here")
    ev.set_defaults(handler=_evaluate_emotion)
    evp = evaluate.add_parser("pulse", help="heart rate of the largest face (or whole frame), vs a reference")
    evp.add_argument("video", type=Path)
    evp.add_argument("--truth", help="reference bpm, or a ground-truth CSV with a row for this file")
    evp.add_argument("--whole-frame", action="store_true", help="the whole frame is skin (skin-only clips)")
    evp.add_argument("--method", default="pos", help="pulse method: pos, chrom or green")
    evp.add_argument(
        "--max-fps",
        type=float,
        default=AnalysisOptions.max_fps,
        help="frame rate cap of the analysis and the pulse trace (default %(default)s)",
    )
    evp.set_defaults(handler=_evaluate_pulse)

    service.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    return args.handler(args)
