"""`ferkit predict SOURCE... [--model M] [--detector NAME] [--save DIR] [--json FILE] [--csv FILE] [--show] ...`."""

from __future__ import annotations

import argparse
import sys

from ferkit.commands._common import add_backend, add_device, add_recognizer, recognizer_kwargs


def register(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="recognise facial emotions in photos, folders, globs, videos or a webcam",
        description="Detect faces, classify their emotion, print one line per face "
        "(source, frame, box x,y,w,h, label, confidence). SOURCE is an image, folder, glob, video file or "
        "webcam index (0 is the first webcam). Exit status 1 when some item could not be read.",
    )
    p.add_argument("source", nargs="+", help="image, folder, glob, video file or webcam index")
    add_recognizer(p)
    _add_outputs(p)
    p.add_argument("--show", action="store_true", help="live window with FPS (needs a display; q quits)")
    p.add_argument(
        "--smooth", type=float, default=0.0, metavar="ALPHA", help="video smoothing, 0..1 (0 = off)"
    )
    p.add_argument(
        "--margin", type=float, metavar="F", help="extra context around the face (fraction, default 0)"
    )
    p.add_argument("--stride", type=int, default=1, metavar="N", help="use every N-th video frame")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop each video / webcam after N frames")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_device(p)
    add_backend(p)
    p.set_defaults(func=_run)


def _add_outputs(p) -> None:
    """The files a run writes: annotated media, JSON, CSV and the per-person outputs of videos."""
    p.add_argument(
        "--save",
        metavar="DIR",
        help="write annotated images / videos to DIR as <name>.jpg / <name>.mp4 (replacing earlier outputs); "
        "a name that is one of the inputs (e.g. --save is the photos' own folder) becomes <name>.annotated.jpg",
    )
    p.add_argument("--json", metavar="FILE", help="write all results as a JSON list")
    p.add_argument("--csv", metavar="FILE", help="write one CSV row per face")
    p.add_argument(
        "--summary",
        metavar="FILE",
        help="videos: one row per person (track) with time on screen, dominant emotion, mean probabilities and "
        "share of time per emotion; JSON for .json, else CSV",
    )
    p.add_argument(
        "--timeline", metavar="DIR", help="videos: one PNG per video, each person's emotions over time"
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        help="videos: an HTML report (timeline, summary table, snapshots per person)",
    )
    p.add_argument(
        "--track-gap",
        type=float,
        metavar="S",
        help="seconds a person's track survives without a detection (default 0.5); away longer means a new id",
    )


def _run(args: argparse.Namespace) -> int:
    from ferkit.predict import load
    from ferkit.predict.run import run_predict

    recognizer = load(**recognizer_kwargs(args, "smooth", "margin", "track_gap"))
    source = args.source[0] if len(args.source) == 1 else list(args.source)
    summary = run_predict(source, recognizer, _sinks(args), stride=args.stride, max_frames=args.max_frames)
    if not args.quiet:
        extra = f", {len(summary.errors)} unreadable" if summary.errors else ""
        print(f"{summary.frames} frame(s), {summary.faces} face(s){extra}", file=sys.stderr)
        for path in summary.written:
            print(f"wrote {path}", file=sys.stderr)
    return 1 if summary.errors else 0


def _sinks(args: argparse.Namespace) -> list:
    """One sink per output the options ask for, in the order they open: the live window first (no file is made
    when there is no display), the annotated files last (their folder is made once every other output opened)."""
    from ferkit.predict import sinks

    chosen: list = [] if args.quiet else [sinks.PrintLines()]
    if args.show:
        chosen.append(sinks.LiveWindow())
    if args.json:
        chosen.append(sinks.JsonWriter(args.json))
    if args.csv:
        chosen.append(sinks.CsvWriter(args.csv))
    if args.summary or args.timeline or args.report:
        chosen.append(sinks.PeopleWriter(args.summary, args.timeline, args.report))
    if args.save:
        chosen.append(sinks.AnnotatedSaver(args.save))
    return chosen
