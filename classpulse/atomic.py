"""All-or-nothing output: files are written under temporary names and renamed only when all succeeded.

The one way files are written atomically here: an analysis's outputs, a model's weights and manifest,
training checkpoints and prediction files all go through `atomic_outputs`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_outputs(out_dir: Path, names: Iterable[str]) -> Iterator[dict[str, Path]]:
    """Yield a hidden temporary path in `out_dir` for each name; on success each is renamed to its name.

    If the block raises, every temporary file is removed and earlier files of the same names are left
    as they were, so a reader sees either the old set or the new one, never a half-written file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{uuid.uuid4().hex[:12]}"
    temps = {name: out_dir / f".{name}.{tag}.partial" for name in names}
    try:
        yield temps
        for name, tmp in temps.items():
            os.replace(tmp, out_dir / name)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


def write_text_synced(path: Path, text: str) -> None:
    """Write UTF-8 text and fsync it, so a rename after a crash never exposes an empty file."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
