"""`classpulse compare` and `classpulse analyze --course` through the real command line: bad folders are
one line on stderr and exit 2 with nothing written; a real analysis carries its course into summary.json
and into the comparison."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from classpulse.results import summary_json
from tests.helpers.reports import make_report_data


def _cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _run_dir(root: Path, name: str, text: str | None) -> Path:
    folder = root / name
    folder.mkdir()
    if text is not None:
        (folder / "summary.json").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ((), "compare needs at least one analysis folder"),
        (("missing",), "missing: no such folder"),
        (("empty",), "empty: no summary.json"),
        (("garbage",), "garbage: summary.json is not usable (not JSON"),
        (("good", "old"), "old: summary.json is not usable (summary: missing session"),
    ],
)
def test_bad_folders_exit_2_with_one_line_and_write_nothing(tmp_path: Path, runs, message) -> None:
    good = summary_json(make_report_data().summary)
    old = json.loads(good)
    del old["session"], old["insights"]  # as written before the course view existed
    _run_dir(tmp_path, "empty", None)
    _run_dir(tmp_path, "garbage", "{")
    _run_dir(tmp_path, "good", good)
    _run_dir(tmp_path, "old", json.dumps(old))
    out = tmp_path / "out"
    result = _cli("compare", *(tmp_path / run for run in runs), "--out", out)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not out.exists()


def test_compare_writes_the_report_of_the_given_folders(tmp_path: Path) -> None:
    runs = [
        _run_dir(tmp_path, f"s{n}", summary_json(make_report_data(seed=n, session_date=d, title=t).summary))
        for n, (d, t) in enumerate([("2025-03-14", "Second talk"), ("2025-03-07", "First talk")])
    ]
    out = tmp_path / "out"
    result = _cli("compare", *runs, "--out", out, "--title", "Spring term")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["compare.html", "compare.pdf"]
    text = " ".join(page.extract_text() for page in PdfReader(out / "compare.pdf").pages)
    assert "Spring term" in text and text.index("First talk") < text.index("Second talk")


@pytest.mark.slow
def test_the_course_label_goes_from_the_command_line_to_summary_and_comparison(
    tmp_path: Path, videos_dir: Path
) -> None:
    clip = videos_dir / "classroom_4people_270p_3s.mp4"
    run = tmp_path / "run"
    result = _cli("analyze", clip, "--out", run, "--course", "  Physics 101 ", "--quiet")
    assert result.returncode == 0, result.stderr
    session = json.loads((run / "summary.json").read_text())["session"]
    assert session["course"] == "Physics 101" and session["date_source"] in ("recording", "analysed")
    result = _cli("compare", run, "--out", tmp_path / "cmp")
    assert result.returncode == 0, result.stderr
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "cmp" / "compare.pdf").pages)
    assert "Physics 101" in text


def test_a_course_label_that_does_not_print_exits_2(tmp_path: Path, videos_dir: Path) -> None:
    clip = videos_dir / "classroom_4people_270p_3s.mp4"
    result = _cli("analyze", clip, "--out", tmp_path / "run", "--course", "Physics\u2028101", "--quiet")
    assert result.returncode == 2 and result.stderr.strip() == "classpulse: the course must be printable text"
    assert not (tmp_path / "run").exists()
