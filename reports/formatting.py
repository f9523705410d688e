"""Number and time formatting shared by the charts and the report template.

Every function accepts `None` (an absent optional field in `summary.json`) and returns a dash, so the
template never has to special-case missing data.
"""

from __future__ import annotations

import math
from datetime import datetime

from classpulse.insights.segments import clock as insight_clock

DASH = "—"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def clock(seconds: float | None, *, hours: bool = False) -> str:
    """Seconds -> "m:ss", or "h:mm:ss" when `seconds` reaches an hour or `hours` is set."""
    return DASH if _missing(seconds) else insight_clock(seconds, hours=hours)


def span(seconds: float | None) -> str:
    """A length of time in words: "45 s", "2 min 05 s", "1 h 03 min"."""
    if _missing(seconds):
        return DASH
    total = round(max(0.0, float(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def percent(fraction: float | None, digits: int = 0) -> str:
    """0.456 -> "46%"."""
    if _missing(fraction):
        return DASH
    return f"{100.0 * float(fraction):.{digits}f}%"


def number(value: float | None, digits: int = 0, unit: str = "") -> str:
    """A rounded number with an optional unit ("72 bpm"); a dash when absent."""
    if _missing(value):
        return DASH
    text = f"{float(value):,.{digits}f}"
    return f"{text} {unit}" if unit else text


def compact(value: float | None, digits: int = 3) -> str:
    """Up to `digits` decimals without trailing zeros: 25.0 -> "25", 23.976 -> "23.976"."""
    if _missing(value):
        return DASH
    text = f"{float(value):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def timestamp(iso: str | None) -> str:
    """ISO 8601 time -> "2025-03-14 10:22 UTC+01:00"; unparseable text is returned as given."""
    if not iso:
        return DASH
    try:
        when = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    text = when.strftime("%Y-%m-%d %H:%M")
    if when.tzinfo is not None:
        offset = when.strftime("%z")
        text += " UTC" if offset in ("+0000", "-0000") else f" UTC{offset[:3]}:{offset[3:]}"
    return text
