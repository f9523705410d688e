"""Where uploads and outputs live under the data directory, and how they are erased.

    <data_dir>/uploads/.incoming/<random>/<name>   an upload being received (not yet a job)
    <data_dir>/uploads/<job_id>/<name>             the accepted recording (deleted after success by default)
    <data_dir>/outputs/<job_id>/                   the five outputs of a succeeded job
    <data_dir>/outputs/.staging-<job_id>-<lease>/  an attempt's outputs, renamed to outputs/<job_id> when done

Archive recordings are read where they are and are never deleted: erasure only touches paths inside the
data directory.
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from classpulse.results import OUTPUT_FILES

log = logging.getLogger(__name__)


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def strip_control_characters(text: str) -> str:
    """`text` without control and format characters (Unicode category C: NUL, escapes, bidi overrides).

    PostgreSQL refuses NUL in text, and the others make names that display differently from what they are.
    """
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))


def safe_filename(name: str | None, default: str = "upload") -> str:
    """A client-supplied file name reduced to a harmless base name (no directories, no control characters)."""
    name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    name = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if not name:
        return default
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{stem[:100] or default}.{ext}"
    return name[:100]


@dataclass(frozen=True)
class Layout:
    """Paths under one data directory."""

    data_dir: Path

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def incoming(self) -> Path:
        return self.uploads / ".incoming"

    @property
    def outputs(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def beat_schedule(self) -> Path:
        return self.data_dir / "celerybeat-schedule"

    def ensure(self) -> None:
        """Create the folders, owner-only (0700): they hold recordings of people and results about them.

        A data directory made by an earlier version (0755 under umask 022) is tightened too."""
        for path in (self.incoming, self.outputs):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (self.data_dir, self.uploads, self.incoming, self.outputs):
            path.chmod(0o700)

    def upload_path(self, job_id: str, filename: str) -> Path:
        return self.uploads / job_id / safe_filename(filename)

    def output_dir(self, job_id: str) -> Path:
        return self.outputs / job_id

    def staging_dir(self, job_id: str, lease: str) -> Path:
        return self.outputs / f".staging-{job_id}-{lease}"

    def staging_dirs(self, job_id: str) -> list[Path]:
        return sorted(self.outputs.glob(f".staging-{job_id}-*"))

    def output_file(self, job_id: str, name: str) -> Path:
        if name not in OUTPUT_FILES:
            raise ValueError(f"unknown output {name!r}; valid: {', '.join(OUTPUT_FILES)}")
        return self.output_dir(job_id) / name

    def owns(self, path: Path) -> bool:
        """True for paths inside the data directory (the only ones this service may delete)."""
        try:
            return path.resolve().is_relative_to(self.data_dir.resolve())
        except OSError:
            return False

    def remove_upload(self, source_path: str | None) -> None:
        """Delete an uploaded recording and its per-job folder; archive files (outside data_dir) are kept."""
        if not source_path:
            return
        path = Path(source_path)
        if not self.owns(path) or not path.resolve().is_relative_to(self.uploads.resolve()):
            return
        folder = path.parent
        if folder.parent.resolve() == self.uploads.resolve():
            remove_tree(folder)
        else:
            path.unlink(missing_ok=True)

    def erase_job(self, job_id: str, source_path: str | None) -> None:
        """Right to erasure: the upload, the outputs and every attempt's staging folder."""
        self.remove_upload(source_path)
        remove_tree(self.uploads / job_id)
        remove_tree(self.output_dir(job_id))
        for staging in self.staging_dirs(job_id):
            remove_tree(staging)


def remove_tree(path: Path) -> None:
    """Delete a file or folder if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)
