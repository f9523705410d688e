"""Hand-written SVG charts for the engagement report.

Every public function is pure: records of `classpulse.results` in, one `<svg>` string out. The root element
carries `data-chart="<kind>"` (and a matching class) so tests and CSS can find each chart. All charts use a
`viewBox` in CSS pixels and are scaled to the column width by the stylesheet; the time axis of the
full-width charts shares one left and right margin, so charts stacked on a page line up in time.

Long recordings are binned before drawing (at most `MAX_BINS` columns per chart), so the SVG of a two-hour
video is no bigger than that of a six-minute one. Any text placed in a chart is XML-escaped.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import NamedTuple

from classpulse.emotion.labels import EMOTION_LABELS
from classpulse.faces.readability import UNREADABLE
from classpulse.insights.affect import POLARITY_GROUPS
from classpulse.results import AudienceSecond, EmotionSample, Moment, PulsePoint, SecondCounts, Segment
from classpulse.summary import READABLE_LABEL

from .formatting import clock

# Okabe & Ito (2008) colour-blind-safe palette; neutral is grey so that it recedes. The only place emotion
# colours are defined: the template's swatches read this dict too.
EMOTION_COLOURS: dict[str, str] = {
    "angry": "#D55E00",  # vermillion
    "disgust": "#009E73",  # bluish green
    "fear": "#CC79A7",  # reddish purple
    "happy": "#E69F00",  # orange
    "sad": "#0072B2",  # blue
    "surprise": "#56B4E9",  # sky blue
    "neutral": "#BBBBBB",  # grey
}
if set(EMOTION_COLOURS) != set(EMOTION_LABELS):  # pragma: no cover - guards a label rename in the model
    raise RuntimeError("EMOTION_COLOURS must name exactly the labels in EMOTION_LABELS")

# Pattern fills that read in grayscale and print: `(tile size, tile SVG)` by name. Charts fill with
# `url(#<name>)`; `_svg` defines each pattern a chart uses in that chart, under an id unique to the chart
# (one HTML document holds many charts, and an id defined twice is ambiguous).
# Moments whose expression could not be read: diagonal dark-grey hatching on white, told apart from every
# colour (and from neutral's grey). The compact view's positive share: dark dots on light orange; its
# negative share: white stripes on blue.
HATCH_ID = "unreadable-hatch"
POSITIVE_ID = "positive-dots"
NEGATIVE_ID = "negative-stripes"
PATTERNS: dict[str, tuple[int, str]] = {
    HATCH_ID: (
        5,
        '<rect width="5" height="5" fill="#FFFFFF"/>'
        '<path d="M-1,1 L1,-1 M0,5 L5,0 M4,6 L6,4" stroke="#555555" stroke-width="1.2"/>',
    ),
    POSITIVE_ID: (
        4,
        '<rect width="4" height="4" fill="#F3C677"/><circle cx="2" cy="2" r="0.9" fill="#5C3B00"/>',
    ),
    NEGATIVE_ID: (
        4,
        '<rect width="4" height="4" fill="#0072B2"/><path d="M0,2 H4" stroke="#FFFFFF" stroke-width="1"/>',
    ),
}
UNREADABLE_FILL = f"url(#{HATCH_ID})"
UNREADABLE_WORDS = "not readable"
MIX_FILLS: dict[str, str] = {**EMOTION_COLOURS, UNREADABLE: UNREADABLE_FILL}  # the mix charts' stack order
# Policy no-emotion: faces are only readable (facing the camera) or not, in the presence chart.
READABLE_COLOUR = "#0072B2"
READABLE_WORDS = "facing the camera"
PRESENCE_FILLS: dict[str, str] = {READABLE_LABEL: READABLE_COLOUR, UNREADABLE: UNREADABLE_FILL}
# The compact positive / neutral / negative view (groups of `classpulse.insights.affect.POLARITY_GROUPS`).
POLARITY_FILLS: dict[str, str] = {
    "positive": f"url(#{POSITIVE_ID})",
    "neutral": "#DADADA",
    "negative": f"url(#{NEGATIVE_ID})",
    UNREADABLE: UNREADABLE_FILL,
}
if set(POLARITY_FILLS) - {UNREADABLE} != set(POLARITY_GROUPS):  # pragma: no cover - guards a regrouping
    raise RuntimeError("POLARITY_FILLS must name exactly the groups in POLARITY_GROUPS")

INK = "#222222"
MUTED = "#666666"
GRID = "#E3E3E3"
NOT_VISIBLE = "#F0F0F0"
UNRELIABLE = "#C8C8C8"
STRESS = "#D55E00"
ATTENTION_COLOUR = "#0072B2"
SEGMENT_INK = "#444444"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
FONT_SIZE = 11
CHAR_W = 6.6  # mean advance of a DejaVu Sans character at FONT_SIZE, for laying out legends

MAX_BINS = 360  # most time columns drawn in one chart
WIDE = 720  # viewBox width of the full-width charts
LEFT, RIGHT = 46, 14  # plot margins of the full-width charts
SEGMENT_BAND = 13.0  # height kept above a time chart's plot for the segment numbers
SEGMENT_SIZE = 8.5  # font size of the segment numbers and labels

_TIME_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14400)


# ---------------------------------------------------------------------------------------------- helpers
def _f(value: float) -> str:
    """Compact coordinate: one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(kind: str, width: float, height: float, label: str, body: Iterable[str], uid: str = "") -> str:
    """The chart's root element; pattern ids derive from its kind, `uid` and content, so charts that
    can look alike in one document (two faces' strips) stay apart when given different `uid`s."""
    content = "".join(body)
    suffix = f"{zlib.crc32(f'{kind}{uid}{content}'.encode()):08x}"
    defs = []
    for name, (size, tile) in PATTERNS.items():
        if f"url(#{name})" in content:
            defs.append(
                f'<pattern id="{name}-{suffix}" patternUnits="userSpaceOnUse" width="{size}" height="{size}">'
                f"{tile}</pattern>"
            )
            content = content.replace(f"url(#{name})", f"url(#{name}-{suffix})")
    if defs:
        content = "<defs>" + "".join(defs) + "</defs>" + content
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" data-chart="{kind}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
        f'role="img" aria-label="{escape(label)}" font-family="{FONT}" font-size="{FONT_SIZE}">'
        + content
        + "</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: float | None = None,
    fill: str = INK,
    weight: str | None = None,
) -> str:
    extra = f' font-size="{_f(size)}"' if size else ""
    extra += f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>'
        f"{escape(str(text))}</text>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return (
        f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max(w, 0.0))}" height="{_f(max(h, 0.0))}" '
        f'fill="{fill}"{extra}/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = "") -> str:
    return f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="{stroke}"{extra}/>'


def _legend(items: Sequence[tuple[str, str, str]], x: float, y: float, max_x: float) -> tuple[str, float]:
    """Legend entries `(label, style, colour)` laid out in rows from (x, y); style is box, line or dash
    (a box's colour may be `UNREADABLE_FILL`, the hatching).

    Returns the SVG and the y of the baseline of the last row.
    """
    out, cx, cy = [], x, y
    for label, style, colour in items:
        width = 16 + len(label) * CHAR_W
        if cx > x and cx + width > max_x:
            cx, cy = x, cy + 15
        if style == "box":
            out.append(_rect(cx, cy - 9, 11, 11, colour, f' stroke="{MUTED}" stroke-width="0.4"'))
        else:
            dash = ' stroke-dasharray="4 3"' if style == "dash" else ""
            out.append(_line(cx, cy - 3.5, cx + 12, cy - 3.5, colour, f' stroke-width="2"{dash}'))
        out.append(_text(cx + 16, cy, label))
        cx += width + 14
    return '<g class="legend">' + "".join(out) + "</g>", cy


def emotion_legend_items() -> list[tuple[str, str, str]]:
    return [(label, "box", EMOTION_COLOURS[label]) for label in EMOTION_LABELS]


def mix_legend_items() -> list[tuple[str, str, str]]:
    """The seven expressions and the hatching for moments whose expression could not be read."""
    return [*emotion_legend_items(), (UNREADABLE_WORDS, "box", UNREADABLE_FILL)]


@dataclass(frozen=True)
class _TimeFrame:
    """Maps seconds to x in a plot spanning [left, width - right] of a `width`-wide viewBox."""

    duration: float
    width: float = WIDE
    left: float = LEFT
    right: float = RIGHT

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    def x(self, t: float) -> float:
        return self.left + min(max(t, 0.0), self.duration) / self.duration * self.plot_w


def _duration(duration_s: float, *ends: float) -> float:
    """A positive chart duration: the recording's, stretched to cover any data drawn past it."""
    return max(1.0, duration_s, *ends)


def _time_step(duration: float, max_ticks: int = 9) -> int:
    return next((s for s in _TIME_STEPS if duration / s <= max_ticks), _TIME_STEPS[-1])


def _time_axis(frame: _TimeFrame, y: float, *, title: bool = True) -> str:
    """Ticks and m:ss labels along y, plus the axis title."""
    step = _time_step(frame.duration)
    hours = frame.duration >= 3600
    out = [_line(frame.left, y, frame.width - frame.right, y, MUTED, ' stroke-width="0.8"')]
    for i in range(int(frame.duration // step) + 1):
        t = i * step
        x = frame.x(t)
        out.append(_line(x, y, x, y + 4, MUTED, ' stroke-width="0.8"'))
        anchor = "start" if i == 0 else "middle"
        if x > frame.width - frame.right - 12:
            anchor = "end"
        label = clock(t, hours=True)[:-3] if hours else clock(t)  # ticks are whole minutes past an hour
        out.append(_text(x, y + 15, label, anchor=anchor, fill=MUTED, size=10))
    if title:
        out.append(
            _text(
                frame.width - frame.right,
                y + 29,
                "time (h:mm)" if hours else "time (m:ss)",
                anchor="end",
                fill=MUTED,
                size=10,
            )
        )
    return "".join(out)


def sample_step(times: Sequence[float], default: float = 1.0) -> float:
    """Typical spacing of sample times (seconds): the median positive difference."""
    diffs = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return diffs[len(diffs) // 2] if diffs else default


def _bin_width(duration: float, step: float) -> float:
    """Width (s) of the time columns drawn: the sample step, or a round number giving at most MAX_BINS."""
    if duration / step <= MAX_BINS:
        return step
    return float(next((s for s in _TIME_STEPS if duration / s <= MAX_BINS), _TIME_STEPS[-1]))


def _message(frame: _TimeFrame, top: float, height: float, text: str) -> str:
    return _text(frame.left + frame.plot_w / 2, top + height / 2 + 4, text, anchor="middle", fill=MUTED)


# ------------------------------------------------------------------------------------------- segments
def _segment_band(segments: Sequence[Segment]) -> float:
    """Height to keep above a time chart's plot for the segment numbers (none without segments)."""
    return SEGMENT_BAND if segments else 0.0


def segment_marks(segments: Sequence[Segment], frame: _TimeFrame, top: float, bottom: float) -> str:
    """The one way every time chart marks the lecture's segments: a thin solid line at each boundary from
    `top` to `bottom` (none at the start or in the last second of the recording), and above `top`, in the band
    `_segment_band` keeps, each segment's number with its label where the label fits inside the segment
    (the report's segment table is the key). Numbers that would collide with the previous one are left
    out."""
    if not segments:
        return ""
    out = []
    bounds = sorted({t for seg in segments for t in (seg.start_s, seg.end_s)})
    for t in bounds:
        x = frame.x(t)
        if 0 < t < frame.duration - 1:  # the frame ends up to 1 s after the recording: its last second
            out.append(_line(x, top - SEGMENT_BAND + 2, x, bottom, SEGMENT_INK, ' stroke-width="0.9"'))
    char_w = CHAR_W * SEGMENT_SIZE / FONT_SIZE
    free_from = -math.inf
    for seg in segments:
        x0, x1 = frame.x(seg.start_s), frame.x(seg.end_s)
        if x0 + 2 < free_from:
            continue
        text = f"{seg.index} {seg.label}"
        if len(text) * char_w > x1 - x0 - 6:
            text = str(seg.index)
        out.append(_text(x0 + 3, top - 3, text, size=SEGMENT_SIZE, fill=SEGMENT_INK, weight="bold"))
        free_from = x0 + 3 + len(text) * char_w + 4
    return '<g class="segment-marks">' + "".join(out) + "</g>"


# ------------------------------------------------------------------------------------- binned series
class _Cell(NamedTuple):
    """One time column of a series: [start, end) seconds and its value (None: no value there)."""

    start: float
    end: float
    value: float | None


def _series_cells(points: Sequence[tuple[float, float | None]], duration: float) -> list[_Cell]:
    """`(t, value)` samples -> time columns, binned to at most MAX_BINS: a binned column holds the mean of
    its values when at least half its samples have one, else None."""
    if not points:
        return []
    step = sample_step([t for t, _ in points])
    width = _bin_width(duration, step)
    if width == step:
        return [_Cell(t, t + step, None if v is None else float(v)) for t, v in points]
    groups: dict[int, list[float | None]] = {}
    for t, v in points:
        groups.setdefault(int(t // width), []).append(v)
    cells = []
    for key in sorted(groups):
        members = groups[key]
        valid = [float(v) for v in members if v is not None]
        value = sum(valid) / len(valid) if len(valid) >= 0.5 * len(members) else None
        cells.append(_Cell(key * width, (key + 1) * width, value))
    return cells


def _runs(cells: Sequence, predicate) -> list[tuple[float, float]]:
    """Contiguous time spans of cells (anything with `start` and `end`) for which `predicate(cell)` holds."""
    spans: list[tuple[float, float]] = []
    for c in cells:
        if not predicate(c):
            continue
        if spans and c.start - spans[-1][1] < 1e-6:
            spans[-1] = (spans[-1][0], c.end)
        else:
            spans.append((c.start, c.end))
    return spans


def _series_line(
    cells: Sequence[_Cell],
    frame: _TimeFrame,
    scale: _Scale,
    colour: str = INK,
    *,
    width: float = 1.5,
    dash: str | None = None,
) -> list[str]:
    """A line through the columns' middles, broken wherever a value is missing; a lone point is a dot."""
    out: list[str] = []
    path: list[tuple[float, float]] = []
    style = f' stroke-width="{_f(width)}"' + (f' stroke-dasharray="{dash}"' if dash else "")

    def flush() -> None:
        if len(path) == 1:
            out.append(f'<circle cx="{_f(path[0][0])}" cy="{_f(path[0][1])}" r="1.6" fill="{colour}"/>')
        elif path:
            out.append(
                f'<polyline fill="none" stroke="{colour}"{style} stroke-linejoin="round" '
                'points="' + " ".join(f"{_f(x)},{_f(y)}" for x, y in path) + '"/>'
            )
        path.clear()

    previous_end = None
    for c in cells:
        if c.value is None or (previous_end is not None and c.start - previous_end > 1e-6):
            flush()
        if c.value is not None:
            path.append((frame.x((c.start + c.end) / 2), scale.y(c.value)))
        previous_end = c.end
    flush()
    return out


def _shade_missing(cells: Sequence[_Cell], frame: _TimeFrame, scale: _Scale) -> list[str]:
    """Grey over the stretches without a value."""
    out = []
    for start, end in _runs(cells, lambda c: c.value is None):
        x0, x1 = frame.x(start), frame.x(end)
        out.append(_rect(x0, scale.top, x1 - x0, scale.height, UNRELIABLE, ' fill-opacity="0.7"'))
    return out


# ----------------------------------------------------------------------------------------- audience mix
@dataclass(frozen=True)
class _Bin:
    start: float
    end: float
    faces: float  # faces in view (mean per second once rebinned)
    counts: dict[str, float]  # face-seconds per emotion label and UNREADABLE

    @property
    def total(self) -> float:
        return sum(self.counts.values())


def _audience_bins(per_second: Sequence[SecondCounts], fills: Mapping[str, str]) -> tuple[list[_Bin], float]:
    """`audience.per_second` -> one bin per second (counts of the labels in `fills`), and the sample step
    in seconds."""
    step = sample_step([second.t for second in per_second])
    bins = []
    for t, counts in per_second:
        c = {k: float(counts[k]) for k in fills}
        bins.append(_Bin(float(t), t + step, sum(c.values()), c))
    return bins, step


def _rebin(bins: list[_Bin], width: float, fills: Mapping[str, str]) -> list[_Bin]:
    """Merge bins into columns `width` seconds wide (face counts averaged over time, emotions summed)."""
    groups: dict[int, list[_Bin]] = {}
    for b in bins:
        groups.setdefault(int(b.start // width), []).append(b)
    merged = []
    for key in sorted(groups):
        members = groups[key]
        counts = {k: sum(b.counts[k] for b in members) for k in fills}
        covered = sum(b.end - b.start for b in members)
        faces = sum(b.faces * (b.end - b.start) for b in members) / covered if covered else 0.0
        merged.append(_Bin(key * width, (key + 1) * width, faces, counts))
    return merged


@dataclass(frozen=True)
class _Scale:
    """Maps values in [lo, hi] to y in a plot of `height` starting at `top` (hi at the top, clamped)."""

    top: float
    height: float
    lo: float = 0.0
    hi: float = 1.0

    def y(self, value: float) -> float:
        return self.top + self.height * (
            1.0 - (min(max(value, self.lo), self.hi) - self.lo) / (self.hi - self.lo)
        )


def _mix_polygons(
    bins: Sequence[_Bin], frame: _TimeFrame, scale: _Scale, fills: Mapping[str, str]
) -> list[str]:
    """One step-shaped polygon per label per contiguous run of bins that contain faces; none without faces."""
    runs: list[list[_Bin]] = []
    for b in bins:
        if b.total <= 0:
            continue
        if runs and b.start - runs[-1][-1].end < 1e-6:
            runs[-1].append(b)
        else:
            runs.append([b])
    out = []
    for run in runs:
        lower = [0.0] * len(run)
        for label, fill in fills.items():
            upper = [lo + b.counts[label] / b.total for lo, b in zip(lower, run, strict=True)]
            if any(u - lo > 1e-9 for u, lo in zip(upper, lower, strict=True)):
                pts = []
                for b, u in zip(run, upper, strict=True):
                    pts += [(frame.x(b.start), scale.y(u)), (frame.x(b.end), scale.y(u))]
                for b, lo in zip(reversed(run), reversed(lower), strict=True):
                    pts += [(frame.x(b.end), scale.y(lo)), (frame.x(b.start), scale.y(lo))]
                out.append(
                    f'<polygon fill="{fill}" points="' + " ".join(f"{_f(x)},{_f(y)}" for x, y in pts) + '"/>'
                )
            lower = upper
    return out


def _faces_band(bins: Sequence[_Bin], frame: _TimeFrame, top: float, height: float) -> list[str]:
    """The thin band under the mix: how many faces were in view, scaled to the most at once."""
    max_faces = max((b.faces for b in bins), default=0.0)
    frame_style = f' stroke="{GRID}" stroke-width="0.8"'
    out = [
        _rect(LEFT, top, frame.plot_w, height, "#FAFAFA", frame_style),
        _text(LEFT - 5, top + 8, "faces", anchor="end", fill=MUTED, size=9),
        _text(LEFT - 5, top + 17, f"max {max_faces:.0f}", anchor="end", fill=MUTED, size=8),
    ]
    if max_faces > 0:
        for b in bins:
            if b.faces > 0:
                h = height * b.faces / max_faces
                out.append(
                    _rect(frame.x(b.start), top + height - h, frame.x(b.end) - frame.x(b.start), h, "#8C8C8C")
                )
    return out


def _moment_markers(moments: Sequence[Moment], frame: _TimeFrame, scale: _Scale) -> list[str]:
    """A dashed line per moment, numbered in order; numbers that would collide with the previous one are
    left out."""
    out = []
    last_label_x = -math.inf
    for number, moment in enumerate(moments, start=1):
        x = frame.x(moment.t)
        out.append(
            _line(x, scale.top, x, scale.top + scale.height, INK, ' stroke-width="1" stroke-dasharray="3 2"')
        )
        if x - last_label_x >= 16:
            out.append(
                f'<circle cx="{_f(x)}" cy="{_f(scale.top + 9)}" r="7" fill="white" stroke="{INK}" '
                f'stroke-width="1"/>'
            )
            out.append(_text(x, scale.top + 12.5, str(number), anchor="middle", size=9, weight="bold"))
            last_label_x = x
    return out


def audience_mix_chart(
    per_second: Sequence[SecondCounts],
    duration_s: float,
    moments: Sequence[Moment] = (),
    segments: Sequence[Segment] = (),
) -> str:
    """Stacked emotion mix of all faces in view over time, with numbered notable moments.

    `per_second` is `audience.per_second` (the label "unreadable" counts faces whose expression could not
    be read). Unreadable face-time is stacked on top, hatched. Seconds with no face are left blank. Below
    the mix a thin band shows how many faces were in view. `moments` are `audience.moments`, in time
    order, marked by number; `segments` (`insights.segments`) are marked as in every time chart.
    """
    return _stacked_chart(
        per_second,
        duration_s,
        MIX_FILLS,
        mix_legend_items(),
        moments,
        segments,
        "audience-mix",
        "Audience expression mix",
    )


def presence_chart(
    per_second: Sequence[SecondCounts], duration_s: float, segments: Sequence[Segment] = ()
) -> str:
    """Policy no-emotion: the share of the faces in view facing the camera (readable) and not readable
    over time, with the faces-in-view band; `per_second` counts READABLE_LABEL and UNREADABLE."""
    legend = [(READABLE_WORDS, "box", READABLE_COLOUR), (UNREADABLE_WORDS, "box", UNREADABLE_FILL)]
    return _stacked_chart(
        per_second, duration_s, PRESENCE_FILLS, legend, (), segments, "presence", "Audience presence"
    )


def polarity_legend_items() -> list[tuple[str, str, str]]:
    """The compact view's groups with the labels each holds, and the hatching for unreadable faces."""
    groups = [
        (f"{group} ({', '.join(labels)})", "box", POLARITY_FILLS[group])
        for group, labels in POLARITY_GROUPS.items()
    ]
    return [*groups, (UNREADABLE_WORDS, "box", UNREADABLE_FILL)]


def polarity_chart(
    per_second: Sequence[SecondCounts], duration_s: float, segments: Sequence[Segment] = ()
) -> str:
    """The compact view: the shares of the faces in view showing a positive, neutral or negative
    expression (`POLARITY_GROUPS` of the labels `audience.per_second` counts), stacked over time with
    pattern fills that stay apart in grayscale, unreadable faces hatched on top."""
    grouped = [
        SecondCounts(
            t,
            {
                **{
                    group: sum(counts[label] for label in labels) for group, labels in POLARITY_GROUPS.items()
                },
                UNREADABLE: counts[UNREADABLE],
            },
        )
        for t, counts in per_second
    ]
    return _stacked_chart(
        grouped,
        duration_s,
        POLARITY_FILLS,
        polarity_legend_items(),
        (),
        segments,
        "polarity",
        "Positive, neutral and negative expressions",
        height=100.0,
    )


def _stacked_chart(
    per_second: Sequence[SecondCounts],
    duration_s: float,
    fills: Mapping[str, str],
    legend_items: Sequence[tuple[str, str, str]],
    moments: Sequence[Moment],
    segments: Sequence[Segment],
    kind: str,
    what: str,
    *,
    height: float = 150.0,
) -> str:
    """Shares of the labels in `fills` (stacked in that order) among the faces in view, per time column."""
    bins, step = _audience_bins(per_second, fills)
    frame = _TimeFrame(_duration(duration_s, max((b.end for b in bins), default=0.0)))
    bins = _rebin(bins, _bin_width(frame.duration, step), fills) if bins else []

    legend, legend_y = _legend(legend_items, LEFT, 12, WIDE - RIGHT)
    scale = _Scale(top=legend_y + 12 + _segment_band(segments), height=height)
    faces_top, faces_h = scale.top + scale.height + 8, 18.0
    axis_y = faces_top + faces_h + 4
    out = [legend]
    for pct in (0, 25, 50, 75, 100):
        y = scale.y(pct / 100)
        out.append(_line(LEFT, y, WIDE - RIGHT, y, GRID, ' stroke-width="0.8"'))
        out.append(_text(LEFT - 5, y + 3.5, f"{pct}%", anchor="end", fill=MUTED, size=10))
    polygons = _mix_polygons(bins, frame, scale, fills)
    out += polygons or [_message(frame, scale.top, scale.height, "No faces were detected in this recording.")]
    out += _faces_band(bins, frame, faces_top, faces_h)
    out.append(_time_axis(frame, axis_y))
    out.append(segment_marks(segments, frame, scale.top, faces_top + faces_h))
    out += _moment_markers(moments, frame, scale)
    return _svg(kind, WIDE, axis_y + 34, f"{what} over time", out)


# ------------------------------------------------------------------------------------- audience curves
def _curve_frame(per_second: Sequence[AudienceSecond], duration_s: float) -> _TimeFrame:
    return _TimeFrame(_duration(duration_s, max((float(s.t) + 1 for s in per_second), default=0.0)))


def attention_chart(
    per_second: Sequence[AudienceSecond],
    duration_s: float,
    segments: Sequence[Segment] = (),
    flag_below: float | None = None,
) -> str:
    """The audience's attention over time: of the present faces whose head pose could be judged, the
    share facing the camera (`insights.per_second`, already smoothed). Grey where no face was judged
    (nobody in view, or every face too small); `flag_below` draws the attention-drop flag's threshold."""
    frame = _curve_frame(per_second, duration_s)
    cells = _series_cells([(float(s.t), s.attention) for s in per_second], frame.duration)
    items = [
        ("facing the camera (share of the faces judged)", "line", ATTENTION_COLOUR),
        ("no face judged", "box", UNRELIABLE),
    ]
    if flag_below is not None:
        items.append(("flag threshold", "dash", STRESS))
    legend, legend_y = _legend(items, LEFT, 12, WIDE - RIGHT)
    scale = _Scale(top=legend_y + 12 + _segment_band(segments), height=90.0)
    out = [legend]
    for pct in (0, 50, 100):
        y = scale.y(pct / 100)
        out.append(_line(LEFT, y, WIDE - RIGHT, y, GRID, ' stroke-width="0.8"'))
        out.append(_text(LEFT - 5, y + 3.5, f"{pct}%", anchor="end", fill=MUTED, size=10))
    out += _shade_missing(cells, frame, scale)
    if flag_below is not None:
        y = scale.y(flag_below)
        out.append(_line(LEFT, y, WIDE - RIGHT, y, STRESS, ' stroke-width="1.1" stroke-dasharray="5 3"'))
    out.append(
        _rect(LEFT, scale.top, frame.plot_w, scale.height, "none", f' stroke="{GRID}" stroke-width="0.8"')
    )
    out += _series_line(cells, frame, scale, ATTENTION_COLOUR, width=1.8)
    if not any(c.value is not None for c in cells):
        out.append(_message(frame, scale.top, scale.height, "No face was judged in this recording."))
    out.append(_time_axis(frame, scale.top + scale.height))
    out.append(segment_marks(segments, frame, scale.top, scale.top + scale.height))
    return _svg("attention", WIDE, scale.top + scale.height + 34, "Audience attention over time", out)


def affect_chart(
    per_second: Sequence[AudienceSecond], duration_s: float, segments: Sequence[Segment] = ()
) -> str:
    """The audience's valence (solid) and arousal (dashed) over time, -1..1 (`insights.per_second`,
    already smoothed); the scale is ±0.5 when every value fits, so small swings stay visible. Grey where
    no face was readable."""
    frame = _curve_frame(per_second, duration_s)
    valence = _series_cells([(float(s.t), s.valence) for s in per_second], frame.duration)
    arousal = _series_cells([(float(s.t), s.arousal) for s in per_second], frame.duration)
    values = [abs(c.value) for c in (*valence, *arousal) if c.value is not None]
    limit = 0.5 if max(values, default=0.0) <= 0.5 else 1.0
    items = [
        ("valence (unpleasant \N{MINUS SIGN} / pleasant +)", "line", INK),
        ("arousal (calm \N{MINUS SIGN} / activated +)", "dash", ATTENTION_COLOUR),
        ("no readable face", "box", UNRELIABLE),
    ]
    legend, legend_y = _legend(items, LEFT, 12, WIDE - RIGHT)
    scale = _Scale(top=legend_y + 12 + _segment_band(segments), height=90.0, lo=-limit, hi=limit)
    out = [legend]
    for tick in (-limit, 0.0, limit):
        y = scale.y(tick)
        out.append(_line(LEFT, y, WIDE - RIGHT, y, MUTED if tick == 0 else GRID, ' stroke-width="0.8"'))
        label = f"{tick:+.1f}".replace("-", "\N{MINUS SIGN}") if tick else "0"
        out.append(_text(LEFT - 5, y + 3.5, label, anchor="end", fill=MUTED, size=10))
    out += _shade_missing(valence, frame, scale)
    out += _series_line(valence, frame, scale, INK)
    out += _series_line(arousal, frame, scale, ATTENTION_COLOUR, dash="5 3")
    if not values:
        out.append(_message(frame, scale.top, scale.height, "No face was readable in this recording."))
    out.append(
        _rect(LEFT, scale.top, frame.plot_w, scale.height, "none", f' stroke="{GRID}" stroke-width="0.8"')
    )
    out.append(_time_axis(frame, scale.top + scale.height))
    out.append(segment_marks(segments, frame, scale.top, scale.top + scale.height))
    return _svg("affect", WIDE, scale.top + scale.height + 34, "Audience valence and arousal over time", out)


# ---------------------------------------------------------------------------------------- emotion strip
def _strip_segments(emotions: Sequence[EmotionSample], duration: float) -> list[tuple[float, float, str]]:
    """Per-second samples -> `(start, end, label)` runs; gaps stay gaps."""
    samples = [(float(e.t), e.label) for e in emotions]
    if not samples:
        return []
    step = sample_step([t for t, _ in samples])
    width = _bin_width(duration, step)
    cells: list[tuple[float, float, str]]
    if width == step:
        cells = [(t, t + step, label) for t, label in samples]
    else:  # modal label per column; a column counts as visible if the face is there half of it
        groups: dict[int, Counter] = {}
        for t, label in samples:
            groups.setdefault(int(t // width), Counter())[label] += 1
        need = 0.5 * width / step
        cells = [
            (k * width, (k + 1) * width, c.most_common(1)[0][0])
            for k, c in sorted(groups.items())
            if c.total() >= need
        ]
    segments: list[tuple[float, float, str]] = []
    for start, end, label in cells:
        if segments and segments[-1][2] == label and start - segments[-1][1] < 0.5 * step:
            segments[-1] = (segments[-1][0], end, label)
        else:
            segments.append((start, end, label))
    return segments


def emotion_strip(
    emotions: Sequence[EmotionSample],
    duration_s: float,
    *,
    legend: bool = True,
    segments: Sequence[Segment] = (),
    uid: str = "",
) -> str:
    """One face's expression over time: coloured segments, hatched where it could not be read, blank
    where the face was not visible; `uid` (the face) keeps its pattern id apart from another face's.

    `emotions` is a face's `emotions` (one sample per second while visible); `duration_s` is the
    recording's length in seconds. Without `legend` the strip is 40 units shorter, for pages that already
    show the colour key next to it.
    """
    frame = _TimeFrame(_duration(duration_s, max((float(e.t) + 1 for e in emotions), default=0.0)))
    items = [*mix_legend_items(), ("not visible", "box", NOT_VISIBLE)]
    key, legend_y = _legend(items, LEFT, 12, WIDE - RIGHT) if legend else ("", 0.0)
    top, bar_h = legend_y + 8 + _segment_band(segments), 22.0
    out = [key, _rect(LEFT, top, frame.plot_w, bar_h, NOT_VISIBLE)]
    out.append(_text(LEFT - 5, top + bar_h / 2 + 4, "face", anchor="end", fill=MUTED, size=10))
    for start, end, label in _strip_segments(emotions, frame.duration):
        out.append(_rect(frame.x(start), top, frame.x(end) - frame.x(start), bar_h, MIX_FILLS[label]))
    out.append(_rect(LEFT, top, frame.plot_w, bar_h, "none", f' stroke="{MUTED}" stroke-width="0.6"'))
    out.append(_time_axis(frame, top + bar_h + 2, title=False))
    out.append(segment_marks(segments, frame, top, top + bar_h))
    return _svg("emotion-strip", WIDE, top + bar_h + 22, "Expression over time", out, uid)


# ------------------------------------------------------------------------------------------ share bars
def emotion_share_bars(share: Mapping[str, float]) -> str:
    """Horizontal bars: the fraction of time (0 to 1) in each of the seven expressions, on a 0-100% scale."""
    width, label_w, bar_x, bar_w = 300.0, 60.0, 66.0, 196.0
    row_h, top = 16.0, 4.0
    out = []
    bottom = top + row_h * len(EMOTION_LABELS)
    for pct in (0, 25, 50, 75, 100):
        x = bar_x + bar_w * pct / 100
        out.append(_line(x, top, x, bottom, GRID, ' stroke-width="0.8"'))
        out.append(_text(x, bottom + 13, f"{pct}%", anchor="middle", fill=MUTED, size=9))
    for i, label in enumerate(EMOTION_LABELS):
        fraction = min(max(float(share[label]), 0.0), 1.0)
        y = top + i * row_h
        out.append(_text(label_w, y + 12, label, anchor="end"))
        out.append(
            _rect(
                bar_x,
                y + 3,
                bar_w * fraction,
                row_h - 5,
                EMOTION_COLOURS[label],
                f' stroke="{MUTED}" stroke-width="0.4"' if fraction > 0 else "",
            )
        )
        out.append(_text(bar_x + bar_w * fraction + 4, y + 12, f"{100 * fraction:.0f}%", fill=MUTED, size=10))
    return _svg("emotion-share", width, bottom + 18, "Share of time in each expression", out)


# ------------------------------------------------------------------------------------------ heart rate
@dataclass(frozen=True)
class _PulseCell:
    start: float
    end: float
    bpm: float | None
    stress: bool


def _pulse_cells(series: Sequence[PulsePoint], duration: float) -> list[_PulseCell]:
    """A face's pulse windows -> time cells, binned if long (`_series_cells`): a binned cell is flagged
    for stress when any of its samples is."""
    bpm = _series_cells([(point.t, point.bpm) for point in series], duration)
    stress = _series_cells([(point.t, 1.0 if point.stress else 0.0) for point in series], duration)
    return [_PulseCell(c.start, c.end, c.value, bool(s.value)) for c, s in zip(bpm, stress, strict=True)]


def _bpm_ticks(values: Sequence[float]) -> list[int]:
    lo, hi = (min(values), max(values)) if values else (60.0, 100.0)
    lo, hi = math.floor((lo - 4) / 10) * 10, math.ceil((hi + 4) / 10) * 10
    while hi - lo < 40:
        lo, hi = lo - 10 if lo > 40 else lo, hi + 10
    step = 10 if hi - lo <= 60 else 20
    lo, hi = lo // step * step, math.ceil(hi / step) * step
    return list(range(int(lo), int(hi) + 1, step))


def _pulse_shading(cells: Sequence[_PulseCell], frame: _TimeFrame, scale: _Scale) -> list[str]:
    """Grey where there is no reliable estimate; a light vermillion band with a strip along the top where the
    stress flag is raised."""
    out = _shade_missing([_Cell(c.start, c.end, c.bpm) for c in cells], frame, scale)
    for start, end in _runs(cells, lambda c: c.stress):
        x0, x1 = frame.x(start), frame.x(end)
        out.append(_rect(x0, scale.top, x1 - x0, scale.height, STRESS, ' fill-opacity="0.12"'))
        out.append(_rect(x0, scale.top, x1 - x0, 6, STRESS))
    return out


def _no_estimate(cells: Sequence[_PulseCell], frame: _TimeFrame, scale: _Scale) -> list[str]:
    """The message across a heart-rate chart without a single estimate."""
    message = (
        "No heart-rate data for this face." if not cells else "No reliable heart-rate estimate for this face."
    )
    backdrop = ' fill-opacity="0.85"'
    middle = scale.top + scale.height / 2
    return [
        _rect(frame.x(0) + frame.plot_w / 2 - 150, middle - 11, 300, 20, "white", backdrop),
        _message(frame, scale.top, scale.height, message),
    ]


def heart_rate_chart(
    series: Sequence[PulsePoint],
    duration_s: float,
    baseline_bpm: float | None = None,
    segments: Sequence[Segment] = (),
) -> str:
    """Estimated heart rate (bpm) over time for one face.

    `series` is `pulse.series`, t in seconds. Stretches without a reliable estimate (bpm None) are shaded
    grey, stress-flagged stretches get a vermillion band along the top, and the person's own baseline is
    a dashed line.
    """
    frame = _TimeFrame(_duration(duration_s, max((point.t + 1 for point in series), default=0.0)))
    cells = _pulse_cells(series, frame.duration)
    valid = [c.bpm for c in cells if c.bpm is not None]
    ticks = _bpm_ticks([*valid, *([baseline_bpm] if baseline_bpm is not None and valid else [])])

    items = [
        ("heart rate (bpm)", "line", INK),
        ("own baseline", "dash", MUTED),
        ("no reliable estimate", "box", UNRELIABLE),
        ("stress flag (above own baseline)", "box", STRESS),
    ]
    legend, legend_y = _legend(items, LEFT, 12, WIDE - RIGHT)
    scale = _Scale(top=legend_y + 12 + _segment_band(segments), height=76.0, lo=ticks[0], hi=ticks[-1])
    out = [legend]
    for tick in ticks if valid else ():  # no scale without a single estimate
        y = scale.y(tick)
        out.append(_line(LEFT, y, WIDE - RIGHT, y, GRID, ' stroke-width="0.8"'))
        out.append(_text(LEFT - 5, y + 3.5, str(tick), anchor="end", fill=MUTED, size=10))
    if valid:
        out.append(_text(12, scale.top + scale.height / 2, "bpm", anchor="middle", fill=MUTED, size=10))
    out += _pulse_shading(cells, frame, scale)
    if baseline_bpm is not None and valid:
        y = scale.y(float(baseline_bpm))
        out.append(_line(LEFT, y, WIDE - RIGHT, y, MUTED, ' stroke-width="1.2" stroke-dasharray="5 3"'))
    out += _series_line([_Cell(c.start, c.end, c.bpm) for c in cells], frame, scale)
    if not valid:
        out += _no_estimate(cells, frame, scale)
    out.append(
        _rect(LEFT, scale.top, frame.plot_w, scale.height, "none", f' stroke="{GRID}" stroke-width="0.8"')
    )
    out.append(_time_axis(frame, scale.top + scale.height))
    out.append(segment_marks(segments, frame, scale.top, scale.top + scale.height))
    return _svg("heart-rate", WIDE, scale.top + scale.height + 34, "Estimated heart rate over time", out)


# ------------------------------------------------------------------------------- course comparison
# The compare report (`reports.compare_report`): one mark per session, labelled with its value, so every
# number can be read without telling colours apart (print, grayscale, colour-blind readers).
SESSION_BAR = "#0072B2"
TREND_INK = "#D55E00"


def _label_on_bar(x: float, y: float, text: str) -> str:
    """A value printed on a filled bar, on a white backing so it reads on any fill or pattern."""
    w = len(text) * 6.4 + 6
    return _rect(x - w / 2, y - 10, w, 13, "#FFFFFF", ' fill-opacity="0.9" rx="2"') + _text(
        x, y, text, anchor="middle", size=10.5
    )


def engagement_sessions_chart(
    sessions: Sequence[tuple[str, str]],
    values: Sequence[float | None],
    trend: tuple[float, float] | None = None,
) -> str:
    """The engagement index (0-100) of each session as a bar with its value printed above it.

    `sessions` are `(number, date)` labels in session order, `values` their indices (None: not measured,
    said in words); `trend` the fitted index at the first and last session, drawn as a dashed line.
    """
    n = max(1, len(sessions))
    left, right, width = 46.0, 14.0, float(WIDE)
    plot_w = width - left - right
    slot = plot_w / n
    items = [("engagement index (0-100)", "box", SESSION_BAR)]
    if trend is not None:
        items.append(("trend (least-squares line)", "dash", TREND_INK))
    legend, legend_y = _legend(items, left, 12, width - right)
    scale = _Scale(top=legend_y + 18, height=150.0, lo=0.0, hi=100.0)
    base = scale.y(0)
    out = [legend]
    for tick in (0, 25, 50, 75, 100):
        y = scale.y(tick)
        out.append(_line(left, y, width - right, y, GRID, ' stroke-width="0.8"'))
        out.append(_text(left - 5, y + 3.5, str(tick), anchor="end", fill=MUTED, size=10))
    bar_w = min(56.0, slot * 0.62)
    show_dates = slot >= 11 * CHAR_W * 0.85
    labels = []  # drawn last, on a white backing, so the trend line never crosses a value
    for i, ((number, date), value) in enumerate(zip(sessions, values, strict=True)):
        cx = left + slot * (i + 0.5)
        if value is None:
            out.append(_text(cx, base - 6, "no index", anchor="middle", fill=MUTED, size=9))
        else:
            y = scale.y(value)
            out.append(_rect(cx - bar_w / 2, y, bar_w, base - y, SESSION_BAR))
            labels.append(_label_on_bar(cx, y - 4, f"{value:.0f}"))
        out.append(_text(cx, base + 14, number, anchor="middle", size=10))
        if show_dates:
            out.append(_text(cx, base + 26, date, anchor="middle", fill=MUTED, size=9))
    if trend is not None and len(sessions) > 1:
        x0, x1 = left + slot * 0.5, left + slot * (len(sessions) - 0.5)
        out.append(
            _line(
                x0,
                scale.y(trend[0]),
                x1,
                scale.y(trend[1]),
                TREND_INK,
                ' stroke-width="2" stroke-dasharray="6 4"',
            )
        )
    out += labels
    out.append(_line(left, base, width - right, base, MUTED, ' stroke-width="0.8"'))
    return _svg("engagement-sessions", width, base + 32, "Engagement index per session", out)


def polarity_bars(sessions: Sequence[str], shares: Sequence[tuple[float, float, float] | None]) -> str:
    """One 100 % bar per session split into its positive, neutral and negative shares of readable
    face-time, each part labelled with its percentage when wide enough (and distinct in grayscale).

    `sessions` are row labels in session order; `shares` the (positive, neutral, negative) fractions, or
    None for a session without a readable expression or without expression analysis ("not measured").
    """
    width, label_w, bar_x = float(WIDE), 150.0, 156.0
    bar_w = width - bar_x - RIGHT
    groups = {group: POLARITY_FILLS[group] for group in POLARITY_GROUPS}
    legend, legend_y = _legend(
        [(name, "box", fill) for name, fill in groups.items()], bar_x, 12, width - RIGHT
    )
    row_h, top = 26.0, legend_y + 10
    out = [legend]
    for i, (label, parts) in enumerate(zip(sessions, shares, strict=True)):
        y = top + i * row_h
        out.append(_text(label_w, y + 16, label, anchor="end"))
        if parts is None:
            out.append(_text(bar_x + 4, y + 16, "not measured", fill=MUTED, size=10))
            continue
        x = bar_x
        for fill, fraction in zip(groups.values(), parts, strict=True):
            w = bar_w * min(max(fraction, 0.0), 1.0)
            out.append(
                _rect(x, y + 2, w, row_h - 5, fill, f' stroke="{MUTED}" stroke-width="0.4"' if w else "")
            )
            if w >= 36:
                out.append(_label_on_bar(x + w / 2, y + 16, f"{100 * fraction:.0f}%"))
            x += w
    bottom = top + row_h * len(sessions)
    for pct in (0, 50, 100):
        x = bar_x + bar_w * pct / 100
        out.append(_text(x, bottom + 12, f"{pct}%", anchor="middle", fill=MUTED, size=9))
    return _svg(
        "polarity-sessions", width, bottom + 18, "Positive, neutral and negative shares per session", out
    )
