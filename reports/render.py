"""Render the engagement report: `summary.json` + `timeline.json` -> self-contained HTML -> PDF.

The HTML carries its stylesheet and SVG charts inline, so `report.html` opens anywhere and the PDF is
made from exactly the same document. Rendering fetches nothing: WeasyPrint gets a URL fetcher that
refuses every URL. Faces are numbered, never named, and no face image is ever embedded.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import UNREADABLE
from classpulse.pulse.heart_rate import (
    REASON_FACE_TOO_SMALL,
    REASON_LOW_QUALITY,
    REASON_OFF_TRACK,
    REASON_TOO_FEW_SAMPLES,
)

from . import charts, formatting

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE_NAME = "report.html.j2"
STYLESHEET = TEMPLATES / "report.css"

# Words for each reason a pulse window gives for having no heart rate (tests/reports checks every reason
# has its words). Unknown reasons are shown as given, underscores as spaces.
PULSE_REASONS: dict[str, str] = {
    REASON_TOO_FEW_SAMPLES: "face missing or unusable for too much of the measuring window",
    REASON_FACE_TOO_SMALL: "face too small in the picture",
    REASON_LOW_QUALITY: "pulse signal too weak or noisy (movement, lighting or compression)",
    REASON_OFF_TRACK: "a peak in this window alone, unlike the windows around it",
}
NO_REASON = "no reason recorded"

# How each pulse method (classpulse.pulse.methods.PULSE_METHODS) is named and cited in the method section.
PULSE_METHODS: dict[str, str] = {
    "pos": "plane-orthogonal-to-skin method (POS; Wang et al., 2017)",
    "chrom": "chrominance method (CHROM; de Haan and Jeanne, 2013)",
    "green": "green-channel method (Verkruysse et al., 2008)",
}

MOMENT_KINDS: dict[str, str] = {
    "negative peak": "Peak of negative expressions",
    "surprise peak": "Peak of surprise",
}

MAX_LISTED = 8  # most moments / unreliable stretches / stress windows listed in words per section


def reason_words(code: object) -> str:
    """A pulse `reason` code in plain words."""
    if code is None or str(code).strip() == "":
        return NO_REASON
    text = str(code).strip()
    return PULSE_REASONS.get(text.lower(), text.replace("_", " "))


# ------------------------------------------------------------------------------------------- context
def _spans(
    rows: Sequence[tuple[float, object]],
    step: float,
    *,
    same_value: bool = False,
) -> list[tuple[float, float, list[object]]]:
    """Consecutive `(t, value)` rows (no more than 1.5 steps apart) -> `(start, end, values)` runs.

    With `same_value`, a change of value also starts a new run.
    """
    out: list[tuple[float, float, list[object]]] = []
    for t, value in rows:
        joins = out and t - out[-1][1] <= 0.5 * step + 1e-6
        if joins and (not same_value or out[-1][2][-1] == value):
            out[-1] = (out[-1][0], t + step, [*out[-1][2], value])
        else:
            out.append((t, t + step, [value]))
    return out


def _pulse_context(pulse: Mapping, duration: float | None) -> dict:
    """Plain-words facts about one face's heart-rate estimate (seconds, bpm)."""
    series = sorted((r for r in pulse.get("series") or () if r), key=lambda r: float(r[0]))
    step = charts.sample_step([float(r[0]) for r in series])
    unreliable = [(float(r[0]), reason_words(r[3] if len(r) > 3 else None)) for r in series if r[1] is None]
    stressed = [(float(r[0]), r[1]) for r in series if len(r) > 4 and r[4] and r[1] is not None]

    reasons = Counter(words for _, words in unreliable)
    stretches = [
        {"start": s, "end": e, "reason": words[0]}
        for s, e, words in _spans(unreliable, step, same_value=True)
    ]
    stress = [
        {"start": s, "end": e, "peak": max(float(b) for b in bpms)} for s, e, bpms in _spans(stressed, step)
    ]

    mean_bpm, baseline = pulse.get("mean_bpm"), pulse.get("baseline_bpm")
    return {
        "mean_bpm": mean_bpm,
        "baseline_bpm": baseline,
        "reliable": mean_bpm is not None,
        "accepted_windows": pulse.get("accepted_windows"),
        "track_bpm": pulse.get("track_bpm"),
        "track_quality_db": pulse.get("track_quality_db"),
        "track_min_quality_db": pulse.get("track_min_quality_db"),
        "track_windows": pulse.get("track_windows"),
        "method": pulse.get("method"),
        "covered_s": len(series) * step,
        "unreliable_s": len(unreliable) * step,
        "reasons": [(words, n * step) for words, n in reasons.most_common()],
        "stretches": sorted(stretches, key=lambda x: x["start"]) if len(stretches) <= MAX_LISTED else [],
        "more_stretches": max(0, len(stretches) - MAX_LISTED),
        "stress": stress[:MAX_LISTED],
        "more_stress": max(0, len(stress) - MAX_LISTED),
        "stress_s": sum(x["end"] - x["start"] for x in stress),
        "chart": Markup(charts.heart_rate_chart(series, duration, baseline)),
    }


def _face_context(face: Mapping, duration: float | None) -> dict:
    share = face.get("emotion_share") or {}
    emotions = sorted((e for e in face.get("emotions") or () if e), key=lambda e: float(e[0]))
    dominant = face.get("dominant_emotion")
    if "dominant_emotion" not in face and share:  # null means never readable, not missing
        dominant = max(share, key=share.get)
    pulse = _pulse_context(face.get("pulse") or {}, duration)
    visible = face.get("visible_s")
    return {
        "id": face.get("face_id"),
        "visible_s": visible,
        "visible_fraction": visible / duration if visible is not None and duration else None,
        "first_s": face.get("first_s"),
        "last_s": face.get("last_s"),
        "dominant": dominant,
        "dominant_share": share.get(dominant) if dominant else None,
        "unreadable_share": face.get("unreadable_share"),
        "unreadable_reasons": sorted(
            ((r, v) for r, v in (face.get("unreadable_reasons") or {}).items() if v), key=lambda rv: -rv[1]
        ),
        "confidence": face.get("confidence") or {},
        "pulse": pulse,
        "strip": Markup(charts.emotion_strip(emotions, duration, legend=False)),
        "shares": Markup(charts.emotion_share_bars(share)),
    }


def _per_second(summary: Mapping, timeline: Sequence) -> list:
    """`audience.per_second`, or the same counts rebuilt from the timeline when it is absent."""
    per_second = (summary.get("audience") or {}).get("per_second")
    if per_second:
        return list(per_second)
    rows = []
    for t, faces in timeline or ():
        rows.append([t, dict(Counter(str(emotion) for _, emotion in faces or ()))])
    return rows


def _overall_share(summary: Mapping, per_second: Sequence) -> dict[str, float]:
    share = (summary.get("audience") or {}).get("overall_share")
    if share:
        return dict(share)
    totals = Counter()
    for _, counts in per_second:
        totals.update({k: v for k, v in (counts or {}).items() if k in EMOTION_LABELS})
    total = sum(totals.values())
    return {k: totals[k] / total for k in EMOTION_LABELS} if total else {}


def _unreadable_share(summary: Mapping, per_second: Sequence) -> float | None:
    """`audience.unreadable_share`, or the share of face-seconds counted as unreadable per second."""
    share = (summary.get("audience") or {}).get("unreadable_share")
    if share is not None:
        return float(share)
    total = sum(sum((counts or {}).values()) for _, counts in per_second)
    return sum((counts or {}).get(UNREADABLE, 0) for _, counts in per_second) / total if total else None


def _moments(moments: Iterable[Mapping] | None) -> list[dict]:
    out = []
    for number, m in enumerate(charts.sorted_moments(moments), start=1):
        kind = str(m.get("kind") or "notable moment")
        out.append(
            {
                "number": number,
                "t": m.get("t"),
                "kind": kind,
                "title": MOMENT_KINDS.get(kind, kind[:1].upper() + kind[1:]),
                "share": m.get("share"),
                "faces": m.get("faces"),
            }
        )
    return out


def build_context(summary: Mapping, timeline: Sequence) -> dict:
    """Everything the template shows, with charts already drawn; absent optional fields become None."""
    video = summary.get("video") or {}
    processing = summary.get("processing") or {}
    models = summary.get("models") or {}
    audience = summary.get("audience") or {}
    duration = video.get("duration_s")
    faces_raw = [
        {"face_id": i, **f} if f.get("face_id") is None else f
        for i, f in enumerate(summary.get("faces") or (), start=1)
    ]
    faces_raw.sort(key=lambda f: f["face_id"])

    per_second = _per_second(summary, timeline)
    data = per_second or audience.get("per_minute") or []
    share = _overall_share(summary, per_second)
    ranked = sorted(((k, v) for k, v in share.items() if v), key=lambda kv: -kv[1])
    moments = audience.get("moments") or []
    faces = [_face_context(f, duration) for f in faces_raw]
    emotion_model = models.get("emotion") or {}
    accuracy = emotion_model.get("public_test_ferplus_accuracy") or emotion_model.get("public_test_accuracy")
    file_name = video.get("file") or "recording"
    title = (video.get("title") or "").strip() or file_name
    css = STYLESHEET.read_text(encoding="utf-8")
    return {
        "title": title,
        "file": file_name,
        "has_title": title != file_name,
        "video": video,
        "analysis_fps": video.get("analysis_fps") or processing.get("analysis_fps"),
        "frames_analysed": video.get("frames_analysed", processing.get("frames_analysed")),
        "pulse_enabled": processing.get("pulse") is not False,
        "processing": processing,
        "emotion_model": emotion_model,
        "detector": models.get("face_detector") or {},
        "tracker": models.get("tracker"),
        "moment_rule": audience.get("moment_rule"),
        "pulse_model": models.get("pulse") or {},
        "pulse_method": PULSE_METHODS.get(
            str((models.get("pulse") or {}).get("method") or "pos").lower(),
            f"{(models.get('pulse') or {}).get('method')} method",
        ),
        "model_error": None if accuracy is None else 1.0 - float(accuracy),
        "duration": duration,
        "faces": faces,
        "max_faces_at_once": max((sum((c or {}).values()) for _, c in per_second), default=None),
        "stressed_faces": sum(1 for f in faces if f["pulse"]["stress"]),
        "reliable_pulse_faces": sum(1 for f in faces if f["pulse"]["reliable"]),
        "top_emotions": ranked[:3],
        "unreadable_share": _unreadable_share(summary, per_second),
        "readability": models.get("readability"),
        "hatch_words": charts.UNREADABLE_WORDS,
        "overall_chart": Markup(charts.emotion_share_bars(share)) if share else None,
        "audience_chart": Markup(charts.audience_mix_chart(data, duration, moments)),
        "moments": _moments(moments)[: 3 * MAX_LISTED],
        "moment_count": len(moments),
        "more_moments": max(0, len(moments) - 3 * MAX_LISTED),
        "colours": charts.EMOTION_COLOURS,
        "not_visible_colour": charts.NOT_VISIBLE,
        "labels": EMOTION_LABELS,
        "css": Markup(css),
    }


def _breakable(text: object) -> Markup:
    """Escaped text with line-break opportunities (`<wbr>`) after _ . - /, for long file names."""
    out = str(escape(text))
    for mark in "_.-/":
        out = out.replace(mark, mark + "<wbr>")
    return Markup(out)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        clock=formatting.clock,
        span=formatting.span,
        percent=formatting.percent,
        number=formatting.number,
        compact=formatting.compact,
        timestamp=formatting.timestamp,
        breakable=_breakable,
    )
    return env


def render_html(summary: dict, timeline: list) -> str:
    """The whole report as one self-contained HTML document (inline CSS and SVG, no external URLs)."""
    return _environment().get_template(TEMPLATE_NAME).render(**build_context(summary, timeline))


# ---------------------------------------------------------------------------------------------- output
class OfflineFetcher(URLFetcher):
    """Refuses every URL: the report is self-contained, so a fetch attempt is a bug, never a download."""

    def fetch(self, url, headers=None):
        raise ValueError(f"the report renderer fetches nothing; refused {url}")


def html_to_pdf(html: str, target: Path) -> None:
    """Write `html` as PDF to `target` with WeasyPrint, offline (relative URLs resolve to the templates)."""
    document = HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=OfflineFetcher())
    with open(target, "wb") as fh:
        document.write_pdf(fh)
        fh.flush()
        os.fsync(fh.fileno())
