"""All insights of one recording: the audience curves and totals, the segments and the flags."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from classpulse.insights import attention, flags
from classpulse.insights.affect import CIRCUMPLEX
from classpulse.insights.markers import Marker
from classpulse.insights.measures import (
    CURVE_SMOOTHING_S,
    ENGAGEMENT_WEIGHTS,
    affect_of,
    attention_of,
    audience_seconds,
    engagement_of,
    expression_share,
)
from classpulse.insights.seconds import FaceSeconds, Grid
from classpulse.insights.segments import WINDOW_S, plan_segments
from classpulse.results import (
    Affect,
    Attention,
    Engagement,
    Flag,
    InsightRules,
    Insights,
    Moment,
    Pulse,
    Segment,
)


def face_insights(face: FaceSeconds, *, expressions: bool) -> tuple[Attention, Affect | None, Engagement]:
    """One face over the whole recording; its presence counts against the recording's length."""
    grid = Grid.of([face], len(face.present))
    return (
        attention_of(grid),
        affect_of(grid) if expressions else None,
        engagement_of(grid, 1, expressions=expressions),
    )


def rules(segment_source: str, negative_stretch_min: float, *, expressions: bool) -> InsightRules:
    """The constants; no circumplex (no expression names at all) when no expression was inferred."""
    return InsightRules(
        attention_max_abs_yaw=attention.MAX_ABS_YAW,
        attention_max_abs_yaw_deg=attention.MAX_ABS_YAW_DEG,
        attention_min_pitch=attention.MIN_PITCH,
        attention_max_pitch=attention.MAX_PITCH,
        attention_max_pitch_down_deg=attention.MAX_PITCH_DOWN_DEG,
        attention_max_pitch_up_deg=attention.MAX_PITCH_UP_DEG,
        attention_min_face_px=attention.MIN_FACE_PX,
        circumplex=CIRCUMPLEX if expressions else None,
        curve_smoothing_s=CURVE_SMOOTHING_S,
        engagement_weights=ENGAGEMENT_WEIGHTS,
        segment_source=segment_source,
        segment_window_s=WINDOW_S,
        negative_stretch_min=negative_stretch_min,
        negative_stretch_share=flags.NEGATIVE_SHARE,
        negative_stretch_max_gap_s=flags.MAX_GAP_S,
        attention_drop_below=flags.ATTENTION_BELOW,
        attention_drop_min_s=flags.ATTENTION_MIN_S,
        attention_drop_min_faces=flags.ATTENTION_MIN_FACES,
    )


def build_insights(
    faces: Sequence[FaceSeconds],
    n_seconds: int,
    duration_s: float,
    *,
    markers: Sequence[Marker],
    moments: Sequence[Moment],
    pulses: Mapping[int, Pulse],
    negative_stretch_min: float,
    expressions: bool,
    per_face: bool,
) -> Insights:
    """`pulses`: each face's pulse, for the heart-rate flags. Without `per_face` (policy aggregate) only the
    audience's flags are raised; without `expressions` (policy no-emotion) affect and the index are None."""
    grid = Grid.of(faces, n_seconds)
    room = len(faces)
    per_second = audience_seconds(grid, expressions=expressions)
    spans, source = plan_segments(markers, duration_s)
    segments = []
    for index, span in enumerate(spans, 1):
        window = grid.window(int(span.start_s), min(math.ceil(span.end_s), n_seconds))
        share, unreadable = expression_share(window)
        segments.append(
            Segment(
                index=index,
                label=span.label,
                start_s=round(span.start_s, 3),
                end_s=round(span.end_s, 3),
                faces=int(window.present.any(1).sum()),
                attention=attention_of(window),
                affect=affect_of(window) if expressions else None,
                engagement=engagement_of(window, room, expressions=expressions),
                expression_share=share if expressions else {},
                unreadable_share=unreadable,
                moments=tuple(m for m in moments if span.start_s <= m.t < span.end_s),
            )
        )
    raised: list[Flag] = flags.attention_drops(per_second)
    if per_face:
        for face in faces:
            if expressions:
                raised += flags.negative_stretches(face, negative_stretch_min)
            if face.face_id in pulses:
                raised += flags.heart_rate_rises(face.face_id, pulses[face.face_id])
    raised.sort(key=lambda f: (f.start_s, f.face_id or 0))
    return Insights(
        per_second=per_second,
        attention=attention_of(grid),
        affect=affect_of(grid) if expressions else None,
        engagement=engagement_of(grid, room, expressions=expressions),
        segments=tuple(segments),
        flags=tuple(raised),
        rules=rules(source, negative_stretch_min, expressions=expressions),
    )
