"""Which of the project's top-level packages may import which, read from the AST of every module (imports
inside functions count too). The analysis library depends on no other part; the reports depend on the
library only; the service parts build on both; the command line composes everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Each package and the project packages it must never import.
FORBIDDEN: dict[str, set[str]] = {
    "classpulse": {"reports", "service", "storage", "worker", "api", "cli"},
    "reports": {"service", "storage", "worker", "api", "cli"},
    "service": {"reports", "storage", "worker", "api", "cli"},
    "storage": {"reports", "service", "worker", "api", "cli"},
    "worker": {"api", "cli"},
    "api": {"reports", "cli"},
    "cli": set(),
}
#: The API uses the worker only to enqueue: the Celery app, the queue and the enqueue helper.
API_MAY_IMPORT_FROM_WORKER = {"worker", "worker.app", "worker.queue", "worker.enqueue"}
#: The one report the API renders itself: the course comparison, made on request from summaries the
#: workers already wrote (no analysis, nothing queued), so a worker round trip would only add latency.
API_MAY_IMPORT_FROM_REPORTS = {"reports.compare_report"}


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _imported(path: Path) -> Iterator[tuple[str, int]]:
    """(dotted module, line) for every import in `path`; `from a import b` yields a and a.b (b may be a
    module); relative imports are resolved against the module's package."""
    package = path.relative_to(REPO).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, `level - 1` packages up
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *filter(None, [node.module])])
            else:
                base = node.module or ""
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def test_every_top_level_package_has_a_rule() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages == set(FORBIDDEN)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_in_the_allowed_direction(package: str) -> None:
    violations = []
    for path in _modules(package):
        for module, line in _imported(path):
            top = module.split(".")[0]
            wrong = top in FORBIDDEN[package]
            if package == "api" and top == "worker":
                wrong = ".".join(module.split(".")[:2]) not in API_MAY_IMPORT_FROM_WORKER
            if package == "api" and top == "reports":
                wrong = ".".join(module.split(".")[:2]) not in API_MAY_IMPORT_FROM_REPORTS
            if wrong:
                violations.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert not violations, "\n".join(violations)
