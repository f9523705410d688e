"""Render the engagement report: a `classpulse.results.Summary` -> self-contained HTML -> PDF.

The HTML carries its stylesheet and SVG charts inline, so `report.html` opens anywhere and the PDF is
made from exactly the same document. Rendering fetches nothing: WeasyPrint gets a URL fetcher that
refuses every URL. Faces are numbered, never named, and no face image is ever embedded.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.insights.affect import CIRCUMPLEX_ANGLES, POLARITY_GROUPS
from classpulse.insights.measures import ranked_shares
from classpulse.policy import Policy
from classpulse.pulse.heart_rate import (
    REASON_FACE_TOO_SMALL,
    REASON_LOW_QUALITY,
    REASON_OFF_TRACK,
    REASON_TOO_FEW_SAMPLES,
)
from classpulse.results import (
    Face,
    Flag,
    FlagKind,
    InsightRules,
    Moment,
    MomentKind,
    Pulse,
    PulseModel,
    Segment,
    Summary,
)

from . import charts, formatting

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE_NAME = "report.html.j2"
STYLESHEET = TEMPLATES / "report.css"

# Words for each reason a pulse window gives for having no heart rate (tests/reports checks every reason
# has its words).
PULSE_REASONS: dict[str, str] = {
    REASON_TOO_FEW_SAMPLES: "face missing or unusable for too much of the measuring window",
    REASON_FACE_TOO_SMALL: "face too small in the picture",
    REASON_LOW_QUALITY: "pulse signal too weak or noisy (movement, lighting or compression)",
    REASON_OFF_TRACK: "a peak in this window alone, unlike the windows around it",
}

# How each pulse method (classpulse.pulse.methods.PULSE_METHODS) is named and cited in the method section.
PULSE_METHODS: dict[str, str] = {
    "pos": "plane-orthogonal-to-skin method (POS; Wang et al., 2017)",
    "chrom": "chrominance method (CHROM; de Haan and Jeanne, 2013)",
    "green": "green-channel method (Verkruysse et al., 2008)",
}

MOMENT_KINDS: dict[MomentKind, str] = {
    MomentKind.NEGATIVE_PEAK: "Peak of negative expressions",
    MomentKind.SURPRISE_PEAK: "Peak of surprise",
}

# How the report's first page names each policy.
POLICY_WORDS: dict[Policy, str] = {
    Policy.FULL: "full: per-face results, expressions and heart rate",
    Policy.AGGREGATE: "aggregate: audience-level results only, no per-face results",
    Policy.NO_EMOTION: "no emotion: audience presence and readability only, no expression inference",
}

# Flags are observations, never verdicts: their titles say what was measured.
FLAG_KINDS: dict[FlagKind, str] = {
    FlagKind.NEGATIVE_STRETCH: "Mostly negative expressions",
    FlagKind.ATTENTION_DROP: "Audience attention below the threshold",
    FlagKind.HEART_RATE_RISE: "Heart rate above own baseline",
}

# Where the session date came from (`Session.date_source`).
DATE_SOURCES: dict[str, str] = {
    "given": "given with the job",
    "recording": "from the recording's metadata",
    "analysed": "the day of the analysis: neither given nor in the recording",
}

MAX_LISTED = 8  # most moments / unreliable stretches / stress windows listed in words per section


def reason_words(code: str) -> str:
    """Why a pulse window has no heart rate, in plain words."""
    return PULSE_REASONS[code]


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


def _pulse_context(pulse: Pulse, duration: float, segments: Sequence[Segment]) -> dict:
    """Plain-words facts about one face's heart-rate estimate (seconds, bpm)."""
    series = pulse.series
    step = charts.sample_step([point.t for point in series])
    unreliable = [(point.t, reason_words(point.reason)) for point in series if point.bpm is None]
    stressed = [(point.t, point.bpm) for point in series if point.stress]

    reasons = Counter(words for _, words in unreliable)
    stretches = [
        {"start": s, "end": e, "reason": words[0]}
        for s, e, words in _spans(unreliable, step, same_value=True)
    ]
    stress = [{"start": s, "end": e, "peak": max(bpms)} for s, e, bpms in _spans(stressed, step)]
    return {
        "mean_bpm": pulse.mean_bpm,
        "baseline_bpm": pulse.baseline_bpm,
        "reliable": pulse.mean_bpm is not None,
        "accepted_windows": pulse.accepted_windows,
        "track_bpm": pulse.track_bpm,
        "track_quality_db": pulse.track_quality_db,
        "track_min_quality_db": pulse.track_min_quality_db,
        "track_windows": pulse.track_windows,
        "covered_s": len(series) * step,
        "unreliable_s": len(unreliable) * step,
        "reasons": [(words, n * step) for words, n in reasons.most_common()],
        "stretches": stretches if len(stretches) <= MAX_LISTED else [],
        "more_stretches": max(0, len(stretches) - MAX_LISTED),
        "stress": stress[:MAX_LISTED],
        "more_stress": max(0, len(stress) - MAX_LISTED),
        "stress_s": sum(x["end"] - x["start"] for x in stress),
        "chart": Markup(charts.heart_rate_chart(series, duration, pulse.baseline_bpm, segments)),
    }


def _face_context(face: Face, duration: float, segments: Sequence[Segment]) -> dict:
    share, dominant = face.emotion_share, face.dominant_emotion
    return {
        "attention": face.attention,
        "affect": face.affect,
        "engagement": face.engagement,
        "id": face.face_id,
        "visible_s": face.visible_s,
        "visible_fraction": face.visible_s / duration if duration else None,
        "first_s": face.first_s,
        "last_s": face.last_s,
        "dominant": dominant,
        "dominant_share": share[dominant] if dominant else None,
        "unreadable_share": face.unreadable_share,
        "unreadable_reasons": sorted(
            ((reason, v) for reason, v in face.unreadable_reasons.items() if v), key=lambda rv: -rv[1]
        ),
        "confidence": face.confidence,
        "pulse": _pulse_context(face.pulse, duration, segments),
        "strip": Markup(
            charts.emotion_strip(
                face.emotions, duration, legend=False, segments=segments, uid=f"face-{face.face_id}"
            )
        ),
        "shares": Markup(charts.emotion_share_bars(share)),
    }


def _moments(moments: Sequence[Moment]) -> list[dict]:
    return [
        {"number": number, "t": m.t, "title": MOMENT_KINDS[m.kind], "share": m.share, "faces": m.faces}
        for number, m in enumerate(moments, start=1)
    ]


def flag_rule(kind: FlagKind, rules: InsightRules, pulse: PulseModel) -> str:
    """When a flag of `kind` is raised, in words with its thresholds (the flag list and the method)."""
    pct, num = formatting.percent, formatting.compact
    if kind is FlagKind.NEGATIVE_STRETCH:
        return (
            f"raised when at least {pct(rules.negative_stretch_share)} of a person's readable seconds show a "
            f"negative expression for at least {num(rules.negative_stretch_min)} min, with no two negative "
            f"seconds more than {num(rules.negative_stretch_max_gap_s)} s apart"
        )
    if kind is FlagKind.ATTENTION_DROP:
        return (
            f"raised when the audience's attention stays below {pct(rules.attention_drop_below)} for at "
            f"least {num(rules.attention_drop_min_s)} s with at least {rules.attention_drop_min_faces} faces "
            "judged"
        )
    return (
        f"raised when a person's estimated heart rate is more than {num(pulse.stress_rise_bpm)} bpm and more "
        f"than {pct(pulse.stress_rise_fraction)} above their own baseline"
    )


def _flags(flags: Sequence[Flag], rules: InsightRules, pulse: PulseModel, policy: Policy) -> list[dict]:
    """The flags the policy may show (no per-face flag without per-face results), with their rule."""
    return [
        {
            "title": FLAG_KINDS[flag.kind],
            "who": "the audience" if flag.face_id is None else f"Face {flag.face_id}",
            "start": flag.start_s,
            "end": flag.end_s,
            "evidence": flag.evidence,
            "rule": flag_rule(flag.kind, rules, pulse),
        }
        for flag in flags
        if policy.per_face or flag.face_id is None
    ]


def _segments(segments: Sequence[Segment], moments: Sequence[Moment]) -> list[dict]:
    """The segment table's rows: each segment's measures, its three most common expressions and its
    moments by their number in the summary's list."""
    number = {(m.t, m.kind): n for n, m in enumerate(moments, start=1)}
    return [
        {
            "segment": segment,
            "top": ranked_shares(segment.expression_share)[:3],
            "moments": [(number[(m.t, m.kind)], m.t) for m in segment.moments],
        }
        for segment in segments
    ]


def _circumplex(rules: InsightRules) -> list[dict]:
    """Each expression's point on the circumplex, with the word and angle it was taken from."""
    if rules.circumplex is None:
        return []
    rows = []
    for label in EMOTION_LABELS:
        word, angle = CIRCUMPLEX_ANGLES.get(label, (None, None))
        rows.append({"label": label, "word": word, "angle": angle, "point": rules.circumplex[label]})
    return rows


def _insights_context(summary: Summary, policy: Policy) -> dict:
    """The attention and engagement section, the segment table, the flags and the method's constants."""
    insights, duration = summary.insights, summary.video.duration_s
    rules, segments = insights.rules, insights.segments
    expressions = policy.infers_emotions
    per_second = insights.per_second
    return {
        "insights": insights,
        "rules": rules,
        "affect": insights.affect if expressions else None,
        "attention_chart": Markup(
            charts.attention_chart(per_second, duration, segments, rules.attention_drop_below)
        ),
        "affect_chart": Markup(charts.affect_chart(per_second, duration, segments)) if expressions else None,
        "polarity_chart": (
            Markup(charts.polarity_chart(summary.audience.per_second, duration, segments))
            if expressions
            else None
        ),
        "segments": _segments(segments, summary.audience.moments),
        "flags": _flags(insights.flags, rules, summary.models.pulse, policy),
        "flag_rules": {
            kind: flag_rule(kind, rules, summary.models.pulse)
            for kind in FlagKind
            if (kind is FlagKind.ATTENTION_DROP or policy.per_face)
            and (kind is not FlagKind.NEGATIVE_STRETCH or expressions)
        },
        "circumplex": _circumplex(rules),
        "polarity_groups": POLARITY_GROUPS,
        "date_source": DATE_SOURCES.get(summary.session.date_source, summary.session.date_source),
    }


def build_context(summary: Summary) -> dict:
    """Everything the template shows, with charts already drawn."""
    video, processing, models, audience = summary.video, summary.processing, summary.models, summary.audience
    duration = video.duration_s
    share = audience.overall_share
    ranked = ranked_shares(share)
    moments = audience.moments
    segments = summary.insights.segments
    faces = [_face_context(face, duration, segments) for face in summary.faces]
    emotion_model = models.emotion
    accuracy = (
        None
        if emotion_model is None
        else emotion_model.public_test_accuracy
        if emotion_model.public_test_ferplus_accuracy is None
        else emotion_model.public_test_ferplus_accuracy
    )
    policy = Policy(summary.privacy.policy)
    audience_chart = (
        charts.audience_mix_chart(audience.per_second, duration, moments, segments)
        if policy.infers_emotions
        else charts.presence_chart(audience.per_second, duration, segments)
    )
    title = (video.title or "").strip() or video.file
    css = STYLESHEET.read_text(encoding="utf-8")
    return {
        **_insights_context(summary, policy),
        "session": summary.session,
        "privacy": summary.privacy,
        "policy_words": POLICY_WORDS[policy],
        "expressions": policy.infers_emotions,
        "per_face": policy.per_face,
        "faces_seen": audience.faces_seen,
        "title": title,
        "file": video.file,
        "has_title": title != video.file,
        "video": video,
        "analysis_fps": processing.analysis_fps,
        "frames_analysed": processing.frames_analysed,
        "pulse_enabled": processing.pulse,
        "processing": processing,
        "emotion_model": emotion_model,
        "detector": models.face_detector,
        "tracker": models.tracker,
        "moment_rule": audience.moment_rule,
        "pulse_model": models.pulse,
        "pulse_method": PULSE_METHODS[models.pulse.method],
        "model_error": None if accuracy is None else 1.0 - accuracy,
        "duration": duration,
        "faces": faces,
        "max_faces_at_once": max(sum(second.counts.values()) for second in audience.per_second),
        "stressed_faces": sum(1 for f in faces if f["pulse"]["stress"]),
        "reliable_pulse_faces": sum(1 for f in faces if f["pulse"]["reliable"]),
        "top_emotions": ranked[:3],
        "unreadable_share": audience.unreadable_share,
        "readability": models.readability,
        "hatch_words": charts.UNREADABLE_WORDS,
        "overall_chart": Markup(charts.emotion_share_bars(share)) if policy.infers_emotions else None,
        "audience_chart": Markup(audience_chart),
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


def render_html(summary: Summary) -> str:
    """The whole report as one self-contained HTML document (inline CSS and SVG, no external URLs)."""
    return _environment().get_template(TEMPLATE_NAME).render(**build_context(summary))


# ---------------------------------------------------------------------------------------------- output
class OfflineFetcher(URLFetcher):
    """Refuses every URL: the report is self-contained, so a fetch attempt is a bug, never a download."""

    def fetch(self, url, headers=None):
        raise ValueError(f"the report renderer fetches nothing; refused {url}")


def _document(html: str) -> HTML:
    """`html` for WeasyPrint, offline (relative URLs resolve to the templates)."""
    return HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=OfflineFetcher())


def pdf_bytes(html: str) -> bytes:
    """`html` printed as PDF, in memory (a report served without being stored)."""
    return _document(html).write_pdf()


def html_to_pdf(html: str, target: Path) -> None:
    """Write `html` as PDF to `target`, synced to disk."""
    with open(target, "wb") as fh:
        _document(html).write_pdf(fh)
        fh.flush()
        os.fsync(fh.fileno())
