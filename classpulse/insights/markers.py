"""Lecture markers: a CSV of `start,label` or `start,end,label` lines (slide changes, an exercise, Q&A)
that split the report into segments.

Times are seconds (`75`, `75.5`), `mm:ss` or `h:mm:ss`. Blank lines and lines starting with `#` are skipped;
a first line whose first cell is not a time (`start,label`) is a header. A marker without an end lasts until
the next marker starts, the last one until the recording ends. Every mistake is reported with its line
number, so a customer can fix the file. `decode_markers` and `read_markers` turn the bytes of an upload
or a file into markers the same way for the command line, the API and archive sidecars.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

MAX_MARKERS = 500
MAX_LABEL_CHARS = 80
#: Far beyond 500 markers of 80 characters; a larger file is not a marker file.
MAX_MARKER_BYTES = 64 * 1024
_TIME = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?)$")


class Marker(NamedTuple):
    """A segment's start (s), end (s; None: until the next marker or the end of the recording), label."""

    start_s: float
    end_s: float | None
    label: str


class MarkerError(ValueError):
    """A marker file that cannot be used; the message names the line."""


class MarkersTooLarge(MarkerError):
    """A marker file over `MAX_MARKER_BYTES` (the API answers 413, not 422)."""


def parse_time(text: str) -> float:
    """`75`, `75.5`, `1:15`, `1:01:15` -> seconds. ValueError when it is none of these."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a time (seconds, mm:ss or h:mm:ss)")
    hours, minutes, seconds = match.groups()
    if (hours or minutes) and float(seconds) >= 60:
        raise ValueError(f"{text.strip()!r} has {seconds} seconds in a minute")
    if hours and int(minutes) >= 60:
        raise ValueError(f"{text.strip()!r} has {minutes} minutes in an hour")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def parse_markers(text: str) -> tuple[Marker, ...]:
    """The markers of a CSV text, in time order. MarkerError ("line N: ...") on the first bad line, on
    overlapping or unordered markers, and on a file with no marker at all."""
    markers: list[tuple[int, Marker]] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not markers and number == _first_line(text) and not _TIME.match(cells[0]):
            continue  # a header
        markers.append((number, _marker(number, cells)))
        if len(markers) > MAX_MARKERS:
            raise MarkerError(f"line {number}: more than {MAX_MARKERS} markers")
    if not markers:
        raise MarkerError("no markers: expected lines of start,label or start,end,label")
    for (_, previous), (number, marker) in itertools.pairwise(markers):
        if marker.start_s < previous.start_s:
            raise MarkerError(f"line {number}: starts at {marker.start_s:g} s, before the marker above it")
        if previous.end_s is not None and marker.start_s < previous.end_s:
            raise MarkerError(f"line {number}: starts at {marker.start_s:g} s, inside the segment above it")
    return tuple(marker for _, marker in markers)


def decode_markers(data: bytes) -> tuple[Marker, ...]:
    """The markers of a file's bytes: UTF-8 with or without a byte-order mark, at most `MAX_MARKER_BYTES`.
    Control characters other than line breaks and tabs are dropped (labels end up in reports and JSON)."""
    if len(data) > MAX_MARKER_BYTES:
        raise MarkersTooLarge(f"the marker file is larger than {MAX_MARKER_BYTES // 1024} kB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise MarkerError(f"line {line}: not UTF-8 text") from None
    text = "".join(ch for ch in text if ch in "\n\r\t" or not unicodedata.category(ch).startswith("C"))
    return parse_markers(text)


def read_markers(path: Path) -> tuple[Marker, ...]:
    """The markers in the file at `path`; MarkerError naming the file (and the line) when it cannot be
    read or used. Reads at most one byte beyond the size limit."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_MARKER_BYTES + 1)
    except OSError as error:
        raise MarkerError(f"{path.name}: cannot be read ({error.strerror or error})") from None
    try:
        return decode_markers(data)
    except MarkerError as error:
        raise type(error)(f"{path.name}: {error}") from None


def _first_line(text: str) -> int:
    """Number of the first line that is neither blank nor a comment."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.strip().startswith("#"):
            return number
    return 0


def _marker(number: int, cells: list[str]) -> Marker:
    if len(cells) not in (2, 3):
        raise MarkerError(f"line {number}: expected start,label or start,end,label, got {len(cells)} fields")
    label = cells[-1]
    if not label:
        raise MarkerError(f"line {number}: the label is empty")
    if len(label) > MAX_LABEL_CHARS:
        raise MarkerError(f"line {number}: the label is longer than {MAX_LABEL_CHARS} characters")
    try:
        start = parse_time(cells[0])
        end = parse_time(cells[1]) if len(cells) == 3 else None
    except ValueError as error:
        raise MarkerError(f"line {number}: {error}") from None
    if end is not None and end <= start:
        raise MarkerError(f"line {number}: ends at {end:g} s, not after its start {start:g} s")
    return Marker(start, end, label)
