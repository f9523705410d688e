"""Marker files as bytes: the one decoding step the command line, the API and archive sidecars share."""

from __future__ import annotations

from pathlib import Path

import pytest

from classpulse.insights.markers import (
    MAX_MARKER_BYTES,
    Marker,
    MarkerError,
    MarkersTooLarge,
    decode_markers,
    read_markers,
)


def test_a_spreadsheet_export_decodes_with_its_bom_crlf_and_header() -> None:
    data = "\ufeffstart,end,label\r\n0,Intro\r\n1:00,2:30,Exercise\r\n# break\r\n1:02:00,Q&A\r\n".encode()
    assert decode_markers(data) == (
        Marker(0, None, "Intro"),
        Marker(60, 150, "Exercise"),
        Marker(3720, None, "Q&A"),
    )


def test_control_characters_are_dropped_from_labels() -> None:
    assert decode_markers("0,In\x00tro\u202e\n".encode()) == (Marker(0, None, "Intro"),)


def test_bytes_that_are_not_utf8_are_reported_by_line() -> None:
    with pytest.raises(MarkerError, match=r"^line 3: not UTF-8 text$"):
        decode_markers(b"0,Intro\n10,Talk\n20,Caf\xe9\n")


def test_the_size_limit_is_its_own_error() -> None:
    decode_markers(b"0,Intro\n".ljust(MAX_MARKER_BYTES, b"\n"))
    with pytest.raises(MarkersTooLarge, match="larger than 64 kB"):
        decode_markers(b"0,Intro\n".ljust(MAX_MARKER_BYTES + 1, b"\n"))


def test_a_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "week1.markers.csv"
    with pytest.raises(MarkerError, match=r"^week1\.markers\.csv: cannot be read"):
        read_markers(path)
    path.write_text("0,Intro\n5\n")
    with pytest.raises(MarkerError, match=r"^week1\.markers\.csv: line 2: expected start,label"):
        read_markers(path)
