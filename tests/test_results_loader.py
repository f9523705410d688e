"""summary.json read back (`classpulse.results.summary_from_json`): the same records that were written,
and a clear error naming the place for anything else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classpulse.insights.markers import Marker
from classpulse.results import MomentKind, SummaryError, load_summary, summary_from_json, summary_json
from tests.helpers.reports import make_report_data


def test_a_written_summary_reads_back_equal(tmp_path: Path) -> None:
    summary = make_report_data(markers=(Marker(0.0, None, "Intro"), Marker(60.0, None, "Exercise"))).summary
    assert summary.audience.moments and summary.insights.flags and summary.faces[0].pulse.series
    path = tmp_path / "summary.json"
    path.write_text(summary_json(summary))
    back = load_summary(path)
    assert back == summary
    assert isinstance(back.audience.moments[0].kind, MomentKind)
    assert (
        isinstance(back.faces[0].box, tuple) and back.faces[0].emotions[0].t == summary.faces[0].emotions[0].t
    )


def _broken(change) -> str:
    data = json.loads(summary_json(make_report_data().summary))
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (_broken(lambda d: d.pop("session")), "summary: missing session"),
        (
            _broken(lambda d: d["session"].update(date=20250314)),
            "summary.session.date: expected str, got int",
        ),
        (_broken(lambda d: d["video"].update(duration_s="long")), "summary.video.duration_s: expected float"),
        (_broken(lambda d: d["audience"]["moments"][0].update(kind="boredom")), "unknown value 'boredom'"),
        (
            _broken(lambda d: d["audience"]["per_second"][3].append(1)),
            "summary.audience.per_second[3]: expected",
        ),
    ],
)
def test_anything_else_raises_naming_the_place(text: str, message: str) -> None:
    with pytest.raises(SummaryError, match=re.escape(message)):
        summary_from_json(text)
